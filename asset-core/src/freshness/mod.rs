//! Freshness: whether each partition of an asset with an SLA
//! (`#[asset(sla = "6h")]`) was materialized in time.
//!
//! The rule, per asset-partition ([`sla`]): a time partition must be
//! materialized within the SLA after its window ends; the single value of
//! an unpartitioned asset (or each partition of a static or dynamic one)
//! within the SLA after each tick of its schedule; without a time window or
//! a schedule there is no deadline. A deadline not yet met is *on time*,
//! *at risk* when it is nearer than the time the asset usually takes (the
//! median of its recent materializations) plus that of its unfinished
//! upstream, and *breached* once it has passed.
//!
//! Only recent deadlines are looked at: those still ahead, and those passed
//! within [`sla::LOOKBACK`] (a week): a partition ten years old is history,
//! not news. An alert opened for a deadline is followed until its partition
//! is materialized, however old.
//!
//! What has been materialized and how long it took comes from
//! [`Observations`], read from the catalog once (`status`) or kept up to
//! date from the event log (the daemon's [`SlaMonitor`]), so the judgement
//! itself is pure and cheap.

pub mod monitor;
pub mod observed;
pub mod sla;

pub use monitor::SlaMonitor;
pub use observed::Observations;
pub use sla::{AssetFreshness, Deadline, Freshness, PartitionFreshness};

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::catalog::Catalog;
use crate::error::Error;
use crate::graph::AssetGraph;

/// The freshness at `now` of each asset among `selected` that has an SLA,
/// by asset key, read from `catalog` (what `status` shows).
pub fn of_assets(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    selected: &[usize],
    now: DateTime<Utc>,
) -> Result<HashMap<String, AssetFreshness>, Error> {
    let with_sla: Vec<usize> = selected
        .iter()
        .copied()
        .filter(|&i| graph.asset(i).unattended.sla.is_some())
        .collect();
    if with_sla.is_empty() {
        return Ok(HashMap::new());
    }
    let watched = crate::cli::inspect::with_upstream(graph, &with_sla);
    let observed =
        Observations::load(graph, catalog, &watched).map_err(|e| Error::Catalog(e.to_string()))?;
    let space = crate::materialize::key_space(graph, catalog, &watched, now)?;
    let mut remaining = sla::Remaining::new(graph, &space, &observed);
    Ok(with_sla
        .into_iter()
        .filter_map(|i| {
            let fresh = sla::assess(graph, i, &space, now, &observed, &mut remaining)?;
            Some((graph.asset(i).key.clone(), fresh))
        })
        .collect())
}

/// `status`'s three freshness cells: the state (with the partition at
/// fault), the deadline shown, and the time left (or how long ago it
/// passed).
pub fn columns(fresh: &AssetFreshness, now: DateTime<Utc>) -> [String; 3] {
    let state = match fresh.worst() {
        Some(p) if p.state != Freshness::OnTime => match p.deadline.partition_text() {
            Some(key) => format!("{} {key}", p.state),
            None => p.state.to_string(),
        },
        _ => Freshness::OnTime.to_string(),
    };
    let Some(deadline) = fresh.shown_deadline() else {
        return [state, "-".into(), "-".into()];
    };
    let left = deadline.due - now;
    let left = if left < chrono::TimeDelta::zero() {
        format!("{} ago", sla::human(left))
    } else {
        sla::human(left)
    };
    [
        state,
        deadline.due.format("%Y-%m-%d %H:%M UTC").to_string(),
        left,
    ]
}
