//! [`SlaMonitor`]: the daemon's deadline check, run on every pass.
//!
//! It reads the catalog once (the latest materializations and recent
//! durations of the assets with an SLA and their upstream), then only the
//! materializations recorded since. An asset's deadlines are judged again
//! only when something can have changed: a materialization was recorded,
//! or the clock reached the next instant at which one of its states turns
//! (an on-time deadline becomes at risk, an at-risk one is breached, a new
//! partition's window ends). So an idle pass costs one indexed query and a
//! comparison per asset. An asset-partition whose deadline is at
//! risk or breached opens an `sla_at_risk` or `sla_breached` alert, kept
//! open in the catalog (so a restart neither repeats nor forgets it); a
//! breach supersedes the at-risk alert (closed without a notice: nothing
//! recovered). When the partition gets materialized, its open SLA alert
//! closes with one recovery notice. SLA alerts carry no run id: no run
//! raised them.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::alert::{Alert, AlertKind, Cause};
use crate::catalog::{OpenAlert, UnattendedStore, instant_text};
use crate::error::Error;
use crate::freshness::Observations;
use crate::freshness::sla::{
    self, AssetFreshness, Freshness, PartitionFreshness, Remaining, Since, human,
};
use crate::graph::AssetGraph;
use crate::materialize::Materializer;
use crate::partition::PartitionsDef;

/// Materializations read from the event log per query.
const EVENTS_PER_READ: usize = 10_000;

/// An open SLA alert's identity: asset, partition (`""`: none), cause.
type AlertKey = (String, String, Cause);

/// The daemon's deadline check, with what it has read so far.
pub struct SlaMonitor {
    /// Assets with an SLA (by index).
    assets: Vec<usize>,
    /// Those and everything upstream of them: what is observed.
    watched: Vec<usize>,
    /// Loaded on the first pass.
    state: Option<State>,
    /// Per asset of `assets`: when it was last judged, and the first
    /// instant its freshness can change without a new materialization.
    quiet: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>>,
}

struct State {
    observed: Observations,
    /// The newest materialization taken in.
    cursor: i64,
    /// The open SLA alerts, as in the catalog.
    open: HashMap<AlertKey, OpenAlert>,
}

impl SlaMonitor {
    /// A monitor of the SLAs in `graph`.
    pub fn new(graph: &AssetGraph) -> Self {
        let assets: Vec<usize> = (0..graph.len())
            .filter(|&i| graph.asset(i).unattended.sla.is_some())
            .collect();
        let watched = crate::cli::inspect::with_upstream(graph, &assets);
        Self {
            quiet: vec![None; assets.len()],
            assets,
            watched,
            state: None,
        }
    }

    /// How many assets have an SLA.
    pub fn assets(&self) -> usize {
        self.assets.len()
    }

    /// Checks every deadline at `now`: returns the alerts and recovery
    /// notices to send (each already recorded in `store`).
    pub fn check(
        &mut self,
        materializer: &Materializer,
        store: &UnattendedStore,
        now: DateTime<Utc>,
    ) -> Result<Vec<Alert>, Error> {
        if self.assets.is_empty() {
            return Ok(Vec::new());
        }
        let Some(catalog) = materializer.catalog() else {
            return Ok(Vec::new());
        };
        let catalog_error = |e: crate::catalog::CatalogError| Error::Catalog(e.to_string());
        let graph = materializer.graph();
        let loading = self.state.is_none();
        if loading {
            // The cursor first: what is recorded while loading is read
            // again next, never missed.
            let cursor = store.newest_materialization_id().map_err(catalog_error)?;
            let observed = Observations::load(graph, catalog.as_ref(), &self.watched)
                .map_err(catalog_error)?;
            let open = store
                .open_alerts()
                .map_err(catalog_error)?
                .into_iter()
                .filter_map(|a| {
                    let cause = Cause::parse(&a.cause).filter(|c| is_sla(*c))?;
                    let key = (
                        a.asset.clone(),
                        a.partition.clone().unwrap_or_default(),
                        cause,
                    );
                    Some((key, a))
                })
                .collect();
            self.state = Some(State {
                observed,
                cursor,
                open,
            });
        }
        let Some(state) = &mut self.state else {
            return Ok(Vec::new());
        };
        let mut changed = loading;
        loop {
            let events = store
                .materializations_after(state.cursor, EVENTS_PER_READ)
                .map_err(catalog_error)?;
            for event in &events {
                state.observed.apply(graph, event);
            }
            changed |= !events.is_empty();
            match events.last() {
                Some(last) => state.cursor = last.id,
                None => break,
            }
            if events.len() < EVENTS_PER_READ {
                break;
            }
        }
        let at = instant_text(now);
        let mut alerts = Vec::new();
        if changed {
            // New durations and partitions: every estimate may move.
            self.quiet.iter_mut().for_each(|q| *q = None);
            alerts = recoveries(graph, store, state, &at)?;
        }
        let space = materializer.key_space(&self.watched, Some(now))?;
        let mut remaining = Remaining::new(graph, &space, &state.observed);
        for (&i, quiet) in self.assets.iter().zip(&mut self.quiet) {
            // Nothing can have turned since it was judged (a clock set
            // back is judged again).
            if quiet.is_some_and(|(judged, until)| judged <= now && now < until) {
                continue;
            }
            let Some(fresh) = sla::assess(graph, i, &space, now, &state.observed, &mut remaining)
            else {
                continue;
            };
            *quiet = Some((now, next_change(&fresh)));
            let def = graph.asset(i);
            for unmet in &fresh.unmet {
                let cause = match unmet.state {
                    Freshness::OnTime => continue,
                    Freshness::AtRisk => Cause::SlaAtRisk,
                    Freshness::Breached => Cause::SlaBreached,
                };
                let partition = unmet.deadline.partition_text().map(str::to_owned);
                let key = (
                    def.key.clone(),
                    partition.clone().unwrap_or_default(),
                    cause,
                );
                if state.open.contains_key(&key) {
                    continue;
                }
                if cause == Cause::SlaBreached {
                    // Superseded, not recovered: no notice.
                    store
                        .close_alert(&def.key, partition.as_deref(), Cause::SlaAtRisk.as_str())
                        .map_err(catalog_error)?;
                    state
                        .open
                        .remove(&(key.0.clone(), key.1.clone(), Cause::SlaAtRisk));
                }
                let why = why(unmet, fresh.sla, now);
                let open = OpenAlert {
                    asset: def.key.clone(),
                    partition: partition.clone(),
                    cause: cause.as_str().to_owned(),
                    severity: def.unattended.severity.as_str().to_owned(),
                    run_id: String::new(),
                    why: why.clone(),
                    opened_at: at.clone(),
                };
                let opened = store.open_alert(&open).map_err(catalog_error)?;
                state.open.insert(key, open);
                if opened {
                    alerts.push(Alert {
                        kind: AlertKind::Firing,
                        asset: def.key.clone(),
                        partition,
                        severity: def.unattended.severity,
                        cause,
                        run_id: None,
                        why,
                        at: at.clone(),
                    });
                }
            }
        }
        Ok(alerts)
    }
}

/// The first instant `fresh` can change without a new materialization:
/// an on-time deadline turns at risk, an at-risk one is breached, the next
/// partition's window ends (or the next tick comes).
fn next_change(fresh: &AssetFreshness) -> DateTime<Utc> {
    let mut next = fresh
        .next
        .as_ref()
        .map_or(DateTime::<Utc>::MAX_UTC, |d| d.since.at());
    for unmet in &fresh.unmet {
        let turns = match unmet.state {
            Freshness::OnTime => {
                let expected = TimeDelta::from_std(unmet.expected.unwrap_or_default())
                    .unwrap_or(TimeDelta::MAX);
                unmet
                    .deadline
                    .due
                    .checked_sub_signed(expected)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC)
            }
            Freshness::AtRisk => unmet.deadline.due,
            Freshness::Breached => continue,
        };
        next = next.min(turns);
    }
    next
}

fn is_sla(cause: Cause) -> bool {
    matches!(cause, Cause::SlaAtRisk | Cause::SlaBreached)
}

/// Closes the open SLA alerts whose partition has been materialized since
/// they opened, with one recovery notice each.
fn recoveries(
    graph: &AssetGraph,
    store: &UnattendedStore,
    state: &mut State,
    at: &str,
) -> Result<Vec<Alert>, Error> {
    let mut alerts = Vec::new();
    let mut closed = Vec::new();
    for (key, open) in &state.open {
        let Some(i) = graph.registry().index_of(&open.asset) else {
            continue;
        };
        let Some(finished) = state.observed.finished(i, open.partition.as_deref()) else {
            continue;
        };
        // Unmet when it opened: any materialization finished since meets
        // the deadline (late, for a breach).
        let opened = DateTime::parse_from_rfc3339(&open.opened_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let counts_from_ticks = !matches!(
            graph.asset(i).partitions,
            PartitionsDef::Time(_) | PartitionsDef::Multi(_)
        );
        if counts_from_ticks && finished < opened {
            // A value older than the alert (yesterday's) does not meet the
            // tick it was raised for.
            continue;
        }
        closed.push(key.clone());
        if store
            .close_alert(&open.asset, open.partition.as_deref(), &open.cause)
            .map_err(|e| Error::Catalog(e.to_string()))?
            .is_none()
        {
            // Closed elsewhere (another process): nothing to announce.
            continue;
        }
        alerts.push(Alert {
            kind: AlertKind::Recovered,
            asset: open.asset.clone(),
            partition: open.partition.clone(),
            severity: open
                .severity
                .parse()
                .unwrap_or(graph.asset(i).unattended.severity),
            cause: key.2,
            run_id: None,
            why: format!(
                "materialized at {} (alert opened {})",
                instant_text(finished),
                open.opened_at
            ),
            at: at.to_owned(),
        });
    }
    for key in closed {
        state.open.remove(&key);
    }
    alerts.sort_by(|a, b| (&a.asset, &a.partition).cmp(&(&b.asset, &b.partition)));
    Ok(alerts)
}

/// The alert's one line.
fn why(unmet: &PartitionFreshness, sla: std::time::Duration, now: DateTime<Utc>) -> String {
    let sla = human(TimeDelta::from_std(sla).unwrap_or(TimeDelta::MAX));
    let counted = match unmet.deadline.since {
        Since::WindowEnd(_) => format!("{sla} after its window ended"),
        Since::Tick(tick) => format!("{sla} after the schedule tick {}", instant_text(tick)),
    };
    let due = instant_text(unmet.deadline.due);
    match unmet.state {
        Freshness::Breached => format!(
            "not materialized by its deadline {due} ({counted}), {} ago",
            human(now - unmet.deadline.due)
        ),
        _ => format!(
            "due {due} ({counted}), {} left, and it usually takes {} with its unfinished upstream",
            human(unmet.deadline.due - now),
            human(
                TimeDelta::from_std(unmet.expected.unwrap_or_default()).unwrap_or(TimeDelta::MAX)
            )
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;
    use crate::freshness::sla::Deadline;
    use crate::partition::PartitionKey;

    fn utc(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, d, h, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn unmet(day: u32, state: Freshness, expected: Option<u64>) -> PartitionFreshness {
        PartitionFreshness {
            deadline: Deadline {
                partition: Some(PartitionKey::unchecked(format!("2024-01-{day:02}"))),
                since: Since::WindowEnd(utc(day + 1, 0)),
                due: utc(day + 1, 6),
            },
            state,
            expected: expected.map(|h| Duration::from_secs(h * 3600)),
        }
    }

    #[test]
    fn an_asset_is_judged_again_when_its_first_state_can_turn() {
        let next = Some(Deadline {
            partition: Some(PartitionKey::unchecked("2024-01-03".to_owned())),
            since: Since::WindowEnd(utc(4, 0)),
            due: utc(4, 6),
        });
        let fresh = |unmet| AssetFreshness {
            sla: Duration::from_secs(6 * 3600),
            checked: 2,
            unmet,
            next: next.clone(),
        };
        // All met: when the next partition's window ends.
        assert_eq!(next_change(&fresh(vec![])), utc(4, 0));
        // On time, usually 2h: at risk from 04:00 on the day it is due.
        assert_eq!(
            next_change(&fresh(vec![unmet(2, Freshness::OnTime, Some(2))])),
            utc(3, 4)
        );
        // At risk: breached at the deadline; breached: no further turn.
        assert_eq!(
            next_change(&fresh(vec![
                unmet(1, Freshness::Breached, None),
                unmet(2, Freshness::AtRisk, Some(2)),
            ])),
            utc(3, 6)
        );
    }
}
