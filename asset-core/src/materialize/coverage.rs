//! Which partitions of each selected asset a run covers.
//!
//! `--partition KEY` and `--from A --to B` name keys; each selected asset
//! takes them as its own keys. A range may also be given in the *finest*
//! time partitions of the selection (`--from 2024-02-01 --to 2024-02-29`
//! over days and the month they make):
//!
//! 1. The reference is the selected asset with the finest time period
//!    (hourly, daily, weekly, monthly) among those whose keys `A` and `B`
//!    both are. The range spans from the start of `A`'s window to the end of
//!    `B`'s window in that asset.
//! 2. A selected asset with a coarser period covers exactly the partitions
//!    whose windows lie inside that span, each taken in its own time zone.
//!    A window the span only overlaps is left out (never built from part of
//!    its inputs) and reported, so the user sees why it did not run.
//! 3. Every other partitioned asset takes `A` and `B` as its own keys, as
//!    before, and refuses them if they are not.
//!
//! So the exact-key forms keep working (`--select m_month --from 2024-01-01
//! --to 2024-03-01` is three months), and one command builds a month with
//! its days.

use std::fmt;

use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::plan::PartitionSelection;
use crate::partition::{KeyRange, KeySpace, PartitionKey, Period, TimeSpan, TimeWindow};

/// A partition of a coarser asset that a range covers only in part, so the
/// run leaves it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// The asset key.
    pub asset: String,
    /// The partition left out.
    pub partition: PartitionKey,
    /// Its window.
    pub window: TimeWindow,
    /// The range as given (`--from 2024-02-10 --to 2024-03-05`).
    pub range: String,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "left out {} [{}]: {} covers only part of its window {} to {} ({}); give a range that spans the whole window to build it",
            self.asset,
            self.partition,
            self.range,
            self.window.local_start.format("%Y-%m-%d %H:%M"),
            self.window.local_end.format("%Y-%m-%d %H:%M"),
            self.window.timezone
        )
    }
}

/// The partitions a run covers, per selected asset.
pub(crate) struct Coverage {
    /// One entry per selected asset, in the selection's order: its keys,
    /// `None` for an unpartitioned asset.
    pub(crate) keys: Vec<Option<KeyRange>>,
    /// The partitions of coarser assets the range does not complete.
    pub(crate) left_out: Vec<LeftOut>,
}

/// The partitions of each of `selected` that `partitions` covers in
/// `space`, by the rules of the module.
pub(crate) fn resolve(
    graph: &AssetGraph,
    selected: &[usize],
    partitions: &PartitionSelection,
    space: &KeySpace,
) -> Result<Coverage, Error> {
    let span = match partitions {
        PartitionSelection::Range { from, to } => reference_span(graph, selected, from, to, space)?,
        _ => None,
    };
    let mut coverage = Coverage {
        keys: Vec::with_capacity(selected.len()),
        left_out: Vec::new(),
    };
    for &i in selected {
        let def = graph.asset(i);
        let coarser = span.and_then(|(period, span)| {
            let t = def.partitions.time_windows()?;
            (t.period() > period).then_some(span)
        });
        let keys =
            match (coarser, partitions) {
                (Some(span), PartitionSelection::Range { .. }) => {
                    let inside = def.partitions.inside(span, space).ok_or_else(|| {
                        Error::Internal(format!(
                            "asset {:?} has time windows but none inside",
                            def.key
                        ))
                    })?;
                    coverage.left_out.extend(inside.partial.into_iter().map(
                        |(partition, window)| LeftOut {
                            asset: def.key.clone(),
                            partition,
                            window,
                            range: partitions.describe(),
                        },
                    ));
                    Some(inside.keys)
                }
                _ => own_keys(graph, i, partitions, space)?,
            };
        coverage.keys.push(keys);
    }
    Ok(coverage)
}

/// The finest period among the selected time-partitioned assets that take
/// `from` and `to` as their own keys, and the span of time those keys cover
/// in it. `None` when no such asset exists (then every asset takes the keys
/// as its own) or the range runs backwards (refused by that asset).
fn reference_span(
    graph: &AssetGraph,
    selected: &[usize],
    from: &str,
    to: &str,
    space: &KeySpace,
) -> Result<Option<(Period, TimeSpan)>, Error> {
    let mut finest: Option<(Period, usize)> = None;
    for &i in selected {
        let def = graph.asset(i);
        let Some(t) = def.partitions.time_windows() else {
            continue;
        };
        let takes = |key: &str| def.partitions.validate_in(&def.key, key, space).is_ok();
        if finest.is_none_or(|(period, _)| t.period() < period) && takes(from) && takes(to) {
            finest = Some((t.period(), i));
        }
    }
    let Some((period, i)) = finest else {
        return Ok(None);
    };
    let def = graph.asset(i);
    let window = |key: &str| {
        let key = def.partitions.validate_in(&def.key, key, space)?;
        def.partitions.window(&key).ok_or_else(|| {
            Error::Internal(format!(
                "partition {key} of asset {:?} was validated but has no window",
                def.key
            ))
        })
    };
    let (first, last) = (window(from)?, window(to)?);
    if first.start >= last.end {
        // Backwards: the reference refuses it, naming both keys.
        def.partitions.range(&def.key, from, to, space)?;
        return Ok(None);
    }
    Ok(Some((
        period,
        TimeSpan {
            start: first.start,
            end: last.end,
        },
    )))
}

/// Asset `i`'s partitions named by `partitions` as its own keys; `None` for
/// an unpartitioned asset.
fn own_keys(
    graph: &AssetGraph,
    i: usize,
    partitions: &PartitionSelection,
    space: &KeySpace,
) -> Result<Option<KeyRange>, Error> {
    let def = graph.asset(i);
    if !def.partitions.is_partitioned() {
        return Ok(None);
    }
    match partitions {
        PartitionSelection::One(key) => {
            let key = def.partitions.validate_in(&def.key, key, space)?;
            def.partitions
                .range(&def.key, key.as_str(), key.as_str(), space)
                .map(Some)
        }
        PartitionSelection::Range { from, to } => {
            def.partitions.range(&def.key, from, to, space).map(Some)
        }
        PartitionSelection::None => Err(Error::PartitionRequired {
            asset: def.key.clone(),
            partitions: def.partitions.describe(),
        }),
    }
}
