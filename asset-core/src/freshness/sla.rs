//! The SLA judgement, pure: which deadlines an asset has at an instant,
//! whether each is met, and how close the unmet ones are.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::asset::definition::AssetDef;
use crate::daemon::schedule_timezone;
use crate::freshness::Observations;
use crate::graph::AssetGraph;
use crate::partition::mapping::{UpstreamKeys, upstream_keys};
use crate::partition::{KeySpace, PartitionKey, PartitionsDef};

/// How far back passed deadlines are still checked: a week. Older unmet
/// ones are history (`status` shows them as missing partitions); an alert
/// already open for one is still followed to its recovery.
pub const LOOKBACK: TimeDelta = TimeDelta::days(7);

/// How far the unfinished upstream of a deadline is followed (deeper
/// chains count as finished: the estimate only needs its order of
/// magnitude).
const MAX_UPSTREAM_DEPTH: usize = 64;

/// How an unmet deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Freshness {
    /// There is more time left than the asset usually takes.
    OnTime,
    /// The deadline is nearer than the asset (and its unfinished upstream)
    /// usually takes.
    AtRisk,
    /// The deadline has passed.
    Breached,
}

impl Freshness {
    /// `on time`, `at risk`, `breached`.
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::OnTime => "on time",
            Freshness::AtRisk => "at risk",
            Freshness::Breached => "breached",
        }
    }
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a deadline is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// The end of the partition's time window: any materialization of the
    /// partition meets it.
    WindowEnd(DateTime<Utc>),
    /// A schedule tick: a materialization finished at or after the tick
    /// meets it.
    Tick(DateTime<Utc>),
}

impl Since {
    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        match self {
            Since::WindowEnd(at) | Since::Tick(at) => at,
        }
    }
}

/// One asset-partition's deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The partition (`None`: unpartitioned).
    pub partition: Option<PartitionKey>,
    /// What the SLA counts from.
    pub since: Since,
    /// When it must be materialized by.
    pub due: DateTime<Utc>,
}

impl Deadline {
    /// Whether a materialization that finished at `finished` (`None`:
    /// never) meets it.
    pub fn is_met_by(&self, finished: Option<DateTime<Utc>>) -> bool {
        match (self.since, finished) {
            (_, None) => false,
            (Since::WindowEnd(_), Some(_)) => true,
            (Since::Tick(tick), Some(finished)) => finished >= tick,
        }
    }

    /// The partition as text (`None`: unpartitioned).
    pub fn partition_text(&self) -> Option<&str> {
        self.partition.as_ref().map(PartitionKey::as_str)
    }
}

/// An unmet deadline and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionFreshness {
    /// The deadline.
    pub deadline: Deadline,
    /// How it stands.
    pub state: Freshness,
    /// How long the asset and its unfinished upstream usually take
    /// (`None` when the deadline has passed: no estimate is needed).
    pub expected: Option<Duration>,
}

/// The freshness of one asset with an SLA at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetFreshness {
    /// Its SLA.
    pub sla: Duration,
    /// The deadlines checked.
    pub checked: usize,
    /// The unmet ones, oldest first.
    pub unmet: Vec<PartitionFreshness>,
    /// The next deadline after those checked (for "on time, next due").
    pub next: Option<Deadline>,
}

impl AssetFreshness {
    /// The unmet deadline that matters most: the worst state, then the
    /// earliest due.
    pub fn worst(&self) -> Option<&PartitionFreshness> {
        self.unmet
            .iter()
            .min_by_key(|p| (std::cmp::Reverse(p.state), p.deadline.due))
    }

    /// The asset's state: its worst unmet deadline's, or on time.
    pub fn state(&self) -> Freshness {
        self.worst().map_or(Freshness::OnTime, |p| p.state)
    }

    /// The deadline to show: the worst unmet one, or the next.
    pub fn shown_deadline(&self) -> Option<&Deadline> {
        self.worst().map(|p| &p.deadline).or(self.next.as_ref())
    }
}

/// How an unmet deadline due at `due` stands at `now`, for an asset that
/// (with its unfinished upstream) usually takes `expected`.
pub fn judge(due: DateTime<Utc>, now: DateTime<Utc>, expected: Duration) -> Freshness {
    if now >= due {
        return Freshness::Breached;
    }
    let expected = TimeDelta::from_std(expected).unwrap_or(TimeDelta::MAX);
    match now.checked_add_signed(expected) {
        Some(done) if done < due => Freshness::OnTime,
        _ => Freshness::AtRisk,
    }
}

/// The median of `durations` (zero for none): a typical run, unmoved by
/// one that hung or one that found nothing to do.
pub fn median(durations: impl IntoIterator<Item = Duration>) -> Duration {
    let mut all: Vec<Duration> = durations.into_iter().collect();
    if all.is_empty() {
        return Duration::ZERO;
    }
    all.sort_unstable();
    let mid = all.len() / 2;
    if all.len() % 2 == 1 {
        all[mid]
    } else {
        (all[mid - 1] + all[mid]) / 2
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// `at + by`, at most the last representable instant (an SLA of a billion
/// days is never due, not a panic).
fn plus(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The deadlines of `def` to check at `now`, oldest first: for time
/// partitions, each complete partition whose deadline is ahead or passed
/// within [`LOOKBACK`]; otherwise (unpartitioned, static, dynamic) each
/// partition against the newest tick of its schedule; none without an SLA,
/// or without a window or a schedule.
pub fn deadlines(def: &AssetDef, space: &KeySpace, now: DateTime<Utc>) -> Vec<Deadline> {
    let Some(sla) = def.unattended.sla.map(delta) else {
        return Vec::new();
    };
    match &def.partitions {
        PartitionsDef::Time(_) | PartitionsDef::Multi(_) => {
            let oldest_due = now.checked_sub_signed(LOOKBACK).unwrap_or(now);
            let keys = def.partitions.keys(space);
            let mut found = Vec::new();
            // Newest first, stopping at the first deadline out of reach:
            // the cost is the partitions checked, not the history.
            for i in (0..keys.len()).rev() {
                let Some(key) = keys.get(i) else { break };
                let Some(window) = def.partitions.window(&key) else {
                    break;
                };
                let due = plus(window.end, sla);
                if due < oldest_due {
                    break;
                }
                found.push(Deadline {
                    partition: Some(key),
                    since: Since::WindowEnd(window.end),
                    due,
                });
            }
            found.reverse();
            found
        }
        partitions => {
            let Some(schedule) = &def.unattended.schedule else {
                return Vec::new();
            };
            let Some(tick) = schedule
                .cron
                .latest_at_or_before(now, schedule_timezone(partitions))
            else {
                return Vec::new();
            };
            let since = Since::Tick(tick);
            let due = plus(tick, sla);
            if !partitions.is_partitioned() {
                return vec![Deadline {
                    partition: None,
                    since,
                    due,
                }];
            }
            partitions
                .keys(space)
                .iter()
                .map(|key| Deadline {
                    partition: Some(key),
                    since,
                    due,
                })
                .collect()
        }
    }
}

/// The first deadline after those [`deadlines`] returns at `now`: the next
/// window's, or the next tick's (`None` if there is none: the partitions
/// end, the schedule never ticks again).
pub fn next_deadline(def: &AssetDef, space: &KeySpace, now: DateTime<Utc>) -> Option<Deadline> {
    let sla = delta(def.unattended.sla?);
    match &def.partitions {
        PartitionsDef::Time(_) | PartitionsDef::Multi(_) => {
            let existing = def.partitions.keys(space).len();
            // The key after the newest complete one: made from a key space
            // far enough ahead to hold the next window of any period.
            let ahead = KeySpace::at(plus(now, TimeDelta::days(400)));
            let key = def.partitions.keys(&ahead).get(existing)?;
            let window = def.partitions.window(&key)?;
            Some(Deadline {
                partition: Some(key),
                since: Since::WindowEnd(window.end),
                due: plus(window.end, sla),
            })
        }
        partitions => {
            let schedule = def.unattended.schedule.as_ref()?;
            let tick = schedule
                .cron
                .next_after(now, schedule_timezone(partitions))?;
            Some(Deadline {
                partition: if partitions.is_partitioned() {
                    partitions.keys(space).last()
                } else {
                    None
                },
                since: Since::Tick(tick),
                due: plus(tick, sla),
            })
        }
    }
}

/// How long asset-partitions usually take to get materialized from where
/// they stand: their own typical duration plus the longest chain of their
/// unfinished (never materialized) upstream. Remembered per
/// asset-partition over one evaluation, so a deep, wide graph is walked
/// once.
pub struct Remaining<'a> {
    graph: &'a AssetGraph,
    space: &'a KeySpace,
    observed: &'a Observations,
    memo: HashMap<(usize, Option<String>), Duration>,
}

impl<'a> Remaining<'a> {
    /// Estimates over `graph`'s partitions in `space`, from what was
    /// `observed`.
    pub fn new(graph: &'a AssetGraph, space: &'a KeySpace, observed: &'a Observations) -> Self {
        Self {
            graph,
            space,
            observed,
            memo: HashMap::new(),
        }
    }

    /// The expected time until asset `i`'s partition `key` is materialized.
    pub fn of(&mut self, i: usize, key: Option<&PartitionKey>) -> Duration {
        self.walk(i, key, 0)
    }

    fn walk(&mut self, i: usize, key: Option<&PartitionKey>, depth: usize) -> Duration {
        let memo_key = (i, key.map(|k| k.as_str().to_owned()));
        if let Some(&known) = self.memo.get(&memo_key) {
            return known;
        }
        let (graph, space, observed) = (self.graph, self.space, self.observed);
        let own = observed.typical(i);
        let mut upstream = Duration::ZERO;
        if depth < MAX_UPSTREAM_DEPTH {
            let def = graph.asset(i);
            for (dep, &u) in def.dependencies.iter().zip(graph.upstream_of(i)) {
                if u == i {
                    // Its own earlier partitions: a run orders them, and
                    // their lateness is their own deadline's.
                    continue;
                }
                let up = &graph.asset(u).partitions;
                let unfinished = match upstream_keys(dep.mapping, &def.partitions, key, up, space) {
                    Ok(UpstreamKeys::Unpartitioned) => {
                        observed.finished(u, None).is_none().then_some(None)
                    }
                    Ok(UpstreamKeys::Keys(range)) => range
                        .iter()
                        .rev()
                        .find(|k| observed.finished(u, Some(k.as_str())).is_none())
                        .map(Some),
                    // A mapping the graph accepted always maps; if not, the
                    // estimate leaves that upstream out.
                    Err(_) => None,
                };
                if let Some(k) = unfinished {
                    upstream = upstream.max(self.walk(u, k.as_ref(), depth + 1));
                }
            }
        }
        let total = own.saturating_add(upstream);
        self.memo.insert(memo_key, total);
        total
    }
}

/// The freshness of asset `i` (which has an SLA) at `now`.
pub fn assess(
    graph: &AssetGraph,
    i: usize,
    space: &KeySpace,
    now: DateTime<Utc>,
    observed: &Observations,
    remaining: &mut Remaining<'_>,
) -> Option<AssetFreshness> {
    let def = graph.asset(i);
    let sla = def.unattended.sla?;
    let checked = deadlines(def, space, now);
    let mut unmet = Vec::new();
    for deadline in &checked {
        if deadline.is_met_by(observed.finished(i, deadline.partition_text())) {
            continue;
        }
        // A passed deadline needs no estimate: skip the upstream walk.
        let expected = (now < deadline.due).then(|| remaining.of(i, deadline.partition.as_ref()));
        let state = judge(deadline.due, now, expected.unwrap_or_default());
        unmet.push(PartitionFreshness {
            deadline: deadline.clone(),
            state,
            expected,
        });
    }
    Some(AssetFreshness {
        sla,
        checked: checked.len(),
        unmet,
        next: next_deadline(def, space, now),
    })
}

/// A duration for people, to the minute: `5h 20m`, `45m`, `2d 3h`,
/// `under a minute`.
pub fn human(d: TimeDelta) -> String {
    let minutes = d.num_minutes().abs();
    if minutes == 0 {
        return "under a minute".into();
    }
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;
    use crate::asset::registry::Registry;
    use crate::io::Payload;
    use crate::schedule::Schedule;

    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, d, h, m, 0).single().unwrap()
    }

    fn def(key: &str, deps: &[&str]) -> AssetDef {
        let mut def = AssetDef::new(key, |_| Box::pin(async { Ok(Payload::Nothing) }))
            .with_partitions(PartitionsDef::daily("2024-01-01").unwrap());
        for d in deps {
            def = def.with_dependency(*d);
        }
        def
    }

    /// `raw -> report`, daily; the report has a 6h SLA.
    fn graph() -> AssetGraph {
        let report = def("report", &["raw"]).with_sla(Duration::from_secs(6 * 3600));
        AssetGraph::build(Registry::from_defs(vec![def("raw", &[]), report]).unwrap()).unwrap()
    }

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[test]
    fn the_state_follows_the_time_left_against_the_typical_duration() {
        let due = utc(3, 6, 0);
        assert_eq!(judge(due, utc(3, 1, 0), minutes(60)), Freshness::OnTime);
        assert_eq!(judge(due, utc(3, 5, 0), minutes(60)), Freshness::AtRisk);
        assert_eq!(judge(due, utc(3, 5, 30), minutes(60)), Freshness::AtRisk);
        assert_eq!(judge(due, utc(3, 6, 0), minutes(0)), Freshness::Breached);
        assert_eq!(judge(due, utc(4, 0, 0), minutes(0)), Freshness::Breached);
        // Nothing known about its duration: on time until the deadline.
        assert_eq!(judge(due, utc(3, 5, 59), minutes(0)), Freshness::OnTime);
    }

    #[test]
    fn the_median_ignores_one_outlier() {
        assert_eq!(median([]), Duration::ZERO);
        assert_eq!(median([minutes(5), minutes(600), minutes(7)]), minutes(7));
        assert_eq!(median([minutes(4), minutes(8)]), minutes(6));
    }

    #[test]
    fn time_partitions_are_checked_back_a_week_only() {
        let graph = graph();
        let report = graph.asset(1);
        let now = utc(31, 12, 0);
        let found = deadlines(report, &KeySpace::at(now), now);
        // Complete: up to the 30th. Due 6h after their day: those due from
        // the 24th 12:00 on, i.e. the days 2024-01-24 .. 2024-01-30.
        let keys: Vec<_> = found.iter().map(|d| d.partition_text().unwrap()).collect();
        assert_eq!(keys.first(), Some(&"2024-01-24"));
        assert_eq!(keys.last(), Some(&"2024-01-30"));
        assert_eq!(found.len(), 7);
        assert_eq!(found[6].due, utc(31, 6, 0));
        let next = next_deadline(report, &KeySpace::at(now), now).unwrap();
        assert_eq!(next.partition_text(), Some("2024-01-31"));
        assert_eq!(next.due, Utc.with_ymd_and_hms(2024, 2, 1, 6, 0, 0).unwrap());
    }

    #[test]
    fn an_unpartitioned_asset_counts_from_its_newest_schedule_tick() {
        let scheduled = AssetDef::new("daily_report", |_| Box::pin(async { Ok(Payload::Nothing) }))
            .with_schedule(Schedule::cron("0 6 * * *").unwrap())
            .with_sla(Duration::from_secs(3600));
        let now = utc(3, 6, 30);
        let found = deadlines(&scheduled, &KeySpace::at(now), now);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].since, Since::Tick(utc(3, 6, 0)));
        assert_eq!(found[0].due, utc(3, 7, 0));
        assert!(!found[0].is_met_by(Some(utc(3, 5, 0))), "before the tick");
        assert!(found[0].is_met_by(Some(utc(3, 6, 10))));
        // Without a schedule there is nothing to count from.
        let unscheduled = AssetDef::new("x", |_| Box::pin(async { Ok(Payload::Nothing) }))
            .with_sla(Duration::from_secs(3600));
        assert!(deadlines(&unscheduled, &KeySpace::at(now), now).is_empty());
    }

    #[test]
    fn on_time_at_risk_and_breached_partitions_of_one_asset() {
        let graph = graph();
        let mut observed = Observations::empty(&graph);
        // The report usually takes 30 minutes, raw one hour.
        for _ in 0..3 {
            observed.record_duration(1, minutes(30));
            observed.record_duration(0, minutes(60));
        }
        // Every day up to the 28th is done, upstream and down.
        for d in 1..=28 {
            let key = format!("2024-01-{d:02}");
            observed.record_finished(0, Some(&key), utc(d + 1, 1, 0));
            observed.record_finished(1, Some(&key), utc(d + 1, 2, 0));
        }
        // The 29th's raw is done too; the 30th has nothing.
        observed.record_finished(0, Some("2024-01-29"), utc(30, 1, 0));
        // At 05:00 on the 31st: the 29th was due on the 30th at 06:00
        // (breached); the 30th is due at 06:00 today, in one hour, and needs
        // raw (1h) and the report (30m): at risk.
        let now = utc(31, 5, 0);
        let space = KeySpace::at(now);
        let mut remaining = Remaining::new(&graph, &space, &observed);
        let fresh = assess(&graph, 1, &space, now, &observed, &mut remaining).unwrap();
        let states: Vec<_> = fresh
            .unmet
            .iter()
            .map(|p| (p.deadline.partition_text().unwrap(), p.state, p.expected))
            .collect();
        assert_eq!(
            states,
            vec![
                ("2024-01-29", Freshness::Breached, None),
                ("2024-01-30", Freshness::AtRisk, Some(minutes(90))),
            ]
        );
        assert_eq!(fresh.state(), Freshness::Breached);
        assert_eq!(
            fresh.shown_deadline().unwrap().partition_text(),
            Some("2024-01-29")
        );
        // Earlier that night the 30th still had time: on time.
        let night = utc(31, 3, 0);
        let space = KeySpace::at(night);
        let mut remaining = Remaining::new(&graph, &space, &observed);
        let fresh = assess(&graph, 1, &space, night, &observed, &mut remaining).unwrap();
        assert_eq!(fresh.unmet[1].state, Freshness::OnTime);
        // Once everything is materialized: on time, showing the next one.
        observed.record_finished(1, Some("2024-01-29"), utc(31, 5, 10));
        observed.record_finished(1, Some("2024-01-30"), utc(31, 5, 20));
        let mut remaining = Remaining::new(&graph, &space, &observed);
        let fresh = assess(&graph, 1, &space, now, &observed, &mut remaining).unwrap();
        assert!(fresh.unmet.is_empty(), "{:?}", fresh.unmet);
        assert_eq!(fresh.state(), Freshness::OnTime);
        assert_eq!(
            fresh.shown_deadline().unwrap().partition_text(),
            Some("2024-01-31")
        );
    }

    #[test]
    fn durations_read_for_people() {
        assert_eq!(human(TimeDelta::minutes(320)), "5h 20m");
        assert_eq!(human(TimeDelta::minutes(-45)), "45m");
        assert_eq!(human(TimeDelta::minutes(60 * 51)), "2d 3h");
        assert_eq!(human(TimeDelta::seconds(20)), "under a minute");
    }
}
