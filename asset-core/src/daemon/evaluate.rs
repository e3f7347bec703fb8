//! One daemon pass's decisions: which schedule ticks are due, which
//! asset-partitions eager automation and `on_missing` want, as
//! [`Launch`]es. Nothing runs here (the daemon runs the launches through
//! the materializer), so a pass over a big graph is measured on its own.
//!
//! The work of a pass is proportional to what changed, not to the graph:
//! each schedule's next tick is kept in memory, so a schedule that is not
//! due costs one comparison; eager automation reads only the
//! materializations recorded since its cursor; `on_missing` looks at an
//! asset again only when a partition of it appeared or an upstream changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::catalog::{MaterializationEvent, UnattendedStore};
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::{Materializer, PartitionSelection};
use crate::partition::mapping::{UpstreamKeys, direct_key, upstream_keys};
use crate::partition::{KeySpace, PartitionKey, PartitionMapping, PartitionsDef};
use crate::schedule::Automation;

/// The cursor name of eager automation in the catalog.
pub const EAGER_CURSOR: &str = "eager";

/// At most this many new materializations are read per pass (the rest wait
/// for the next one).
const EVENTS_PER_PASS: usize = 10_000;

/// Why a launch happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A schedule tick at this instant.
    Tick(DateTime<Utc>),
    /// Eager automation: `upstream` got a new data version (the first of
    /// possibly several changes behind this launch).
    Eager {
        /// The upstream asset.
        upstream: String,
        /// Its partition.
        partition: Option<String>,
    },
    /// Partitions that exist but were never materialized.
    OnMissing,
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Tick(at) => write!(f, "schedule tick {}", crate::catalog::instant_text(*at)),
            Trigger::Eager {
                upstream,
                partition: Some(p),
            } => write!(f, "eager: {upstream} {p} has a new data version"),
            Trigger::Eager {
                upstream,
                partition: None,
            } => write!(f, "eager: {upstream} has a new data version"),
            Trigger::OnMissing => f.write_str("on_missing: never materialized"),
        }
    }
}

/// One run the daemon should start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The asset the trigger belongs to.
    pub asset: String,
    /// Why.
    pub trigger: Trigger,
    /// Which partitions of it.
    pub partitions: PartitionSelection,
    /// With its stale upstream (schedules) or alone (automation).
    pub with_upstream: bool,
    /// The time partitions are judged complete against (the tick, for a
    /// schedule: a catch-up tick materializes its own day, not today's).
    pub now: DateTime<Utc>,
    /// Set when there is nothing to run for a due tick (no complete
    /// partition yet): the tick is recorded as skipped.
    pub skip: Option<String>,
}

/// What one evaluation decided.
#[derive(Debug, Default)]
pub struct Decisions {
    /// The runs to start, in order.
    pub launches: Vec<Launch>,
    /// Eager automation's cursor once these launches have run.
    pub eager_cursor: Option<i64>,
    /// Materializations read from the event log.
    pub events_read: usize,
}

/// The evaluator's memory between passes.
pub struct Evaluator {
    /// Assets with a schedule, and when each is next due.
    schedules: Vec<ScheduleState>,
    /// Assets with eager automation (by index).
    eager: Vec<bool>,
    /// Assets with `on_missing` (by index), and how many partitions each
    /// had when last looked at (`None`: look again).
    on_missing: BTreeMap<usize, Option<u64>>,
    /// Eager automation's cursor (loaded on the first pass).
    eager_cursor: Option<i64>,
    loaded: bool,
}

struct ScheduleState {
    asset: usize,
    last: Option<DateTime<Utc>>,
    next_due: Option<DateTime<Utc>>,
}

/// The time zone an asset's schedule ticks in: its time partitions' zone,
/// UTC otherwise.
pub fn schedule_timezone(partitions: &PartitionsDef) -> Tz {
    match partitions {
        PartitionsDef::Time(t) => t.timezone(),
        PartitionsDef::Multi(m) => m.time().timezone(),
        _ => Tz::UTC,
    }
}

impl Evaluator {
    /// An evaluator for the schedules and automations of `graph`.
    pub fn new(graph: &AssetGraph) -> Self {
        let mut schedules = Vec::new();
        let mut eager = vec![false; graph.len()];
        let mut on_missing = BTreeMap::new();
        for (i, eager) in eager.iter_mut().enumerate() {
            let def = graph.asset(i);
            if def.unattended.schedule.is_some() {
                schedules.push(ScheduleState {
                    asset: i,
                    last: None,
                    next_due: None,
                });
            }
            match def.unattended.automation {
                Some(Automation::Eager) => *eager = true,
                Some(Automation::OnMissing) => {
                    on_missing.insert(i, None);
                }
                None => {}
            }
        }
        Self {
            schedules,
            eager,
            on_missing,
            eager_cursor: None,
            loaded: false,
        }
    }

    /// How many schedules and automation conditions it evaluates.
    pub fn conditions(&self, graph: &AssetGraph) -> usize {
        let eager_edges: usize = (0..graph.len())
            .filter(|&i| self.eager[i])
            .map(|i| graph.upstream_of(i).len().max(1))
            .sum();
        self.schedules.len() + eager_edges + self.on_missing.len()
    }

    /// Decides what is due at `now`.
    pub fn evaluate(
        &mut self,
        materializer: &Materializer,
        store: &UnattendedStore,
        now: DateTime<Utc>,
    ) -> Result<Decisions, Error> {
        let catalog_error = |e: crate::catalog::CatalogError| Error::Catalog(e.to_string());
        if !self.loaded {
            let last: HashMap<String, DateTime<Utc>> = store
                .last_ticks()
                .map_err(catalog_error)?
                .into_iter()
                .collect();
            for state in &mut self.schedules {
                state.last = last
                    .get(&materializer.graph().asset(state.asset).key)
                    .copied();
            }
            self.eager_cursor = store.cursor(EAGER_CURSOR).map_err(catalog_error)?;
            self.loaded = true;
        }
        let mut decisions = Decisions::default();
        self.due_ticks(materializer, now, &mut decisions)?;
        let changed = self.eager_changes(materializer, store, now, &mut decisions)?;
        self.missing(materializer, now, &changed, &mut decisions)?;
        Ok(decisions)
    }

    /// Schedule ticks due at `now`, oldest first per asset.
    fn due_ticks(
        &mut self,
        materializer: &Materializer,
        now: DateTime<Utc>,
        decisions: &mut Decisions,
    ) -> Result<(), Error> {
        let graph = materializer.graph();
        for state in &mut self.schedules {
            if state.next_due.is_some_and(|due| now < due) {
                continue;
            }
            let def = graph.asset(state.asset);
            let Some(schedule) = &def.unattended.schedule else {
                continue;
            };
            let tz = schedule_timezone(&def.partitions);
            for tick in schedule.due(state.last, now, tz) {
                decisions
                    .launches
                    .push(tick_launch(materializer, state.asset, tick)?);
                state.last = Some(tick);
            }
            // Not due again before the next tick after the newest seen (or
            // after now, if none has ever been).
            state.next_due = schedule
                .cron
                .next_after(state.last.unwrap_or(now).max(now), tz);
        }
        Ok(())
    }

    /// Eager automation: downstream partitions of new data versions. Returns
    /// the assets that got new data versions (for `on_missing`).
    fn eager_changes(
        &mut self,
        materializer: &Materializer,
        store: &UnattendedStore,
        now: DateTime<Utc>,
        decisions: &mut Decisions,
    ) -> Result<BTreeSet<usize>, Error> {
        let catalog_error = |e: crate::catalog::CatalogError| Error::Catalog(e.to_string());
        let mut changed = BTreeSet::new();
        let wants_events = self.eager.iter().any(|&e| e) || !self.on_missing.is_empty();
        if !wants_events {
            return Ok(changed);
        }
        let Some(cursor) = self.eager_cursor else {
            // First pass on this catalog: history does not trigger anything.
            let newest = store.newest_materialization_id().map_err(catalog_error)?;
            self.eager_cursor = Some(newest);
            decisions.eager_cursor = Some(newest);
            return Ok(changed);
        };
        let events = store
            .materializations_after(cursor, EVENTS_PER_PASS)
            .map_err(catalog_error)?;
        decisions.events_read = events.len();
        let Some(last) = events.last() else {
            return Ok(changed);
        };
        self.eager_cursor = Some(last.id);
        decisions.eager_cursor = Some(last.id);
        let graph = materializer.graph();
        // Per downstream asset: the partitions to run and the first cause.
        let mut wanted: BTreeMap<usize, (Wanted, MaterializationEvent)> = BTreeMap::new();
        let mut spaces: HashMap<usize, KeySpace> = HashMap::new();
        for event in &events {
            // Early cutoff: the same data version as before changes nothing.
            if event.previous_data_version.as_deref() == Some(event.data_version.as_str()) {
                continue;
            }
            let Some(u) = graph.registry().index_of(&event.asset) else {
                continue;
            };
            changed.insert(u);
            for &d in graph.downstream_of(u) {
                if d == u || !self.eager[d] {
                    continue;
                }
                let space = match spaces.get(&d) {
                    Some(space) => space,
                    None => {
                        let space = materializer.key_space(&[d], Some(now))?;
                        spaces.entry(d).or_insert(space)
                    }
                };
                let key = event.partition.as_deref().map(PartitionKey::unchecked);
                let affected = affected(graph, d, u, key.as_ref(), space)?;
                let entry = wanted
                    .entry(d)
                    .or_insert_with(|| (Wanted::default(), event.clone()));
                entry.0.add(affected);
            }
        }
        for (d, (want, cause)) in wanted {
            let def = graph.asset(d);
            let trigger = Trigger::Eager {
                upstream: cause.asset.clone(),
                partition: cause.partition.clone(),
            };
            let keys = def.partitions.keys(&spaces[&d]);
            for partitions in want.selections(def.partitions.is_partitioned(), &keys) {
                decisions.launches.push(Launch {
                    asset: def.key.clone(),
                    trigger: trigger.clone(),
                    partitions,
                    with_upstream: false,
                    now,
                    skip: None,
                });
            }
        }
        Ok(changed)
    }

    /// `on_missing`: partitions that exist, were never materialized, and
    /// whose upstream partitions all were.
    fn missing(
        &mut self,
        materializer: &Materializer,
        now: DateTime<Utc>,
        changed: &BTreeSet<usize>,
        decisions: &mut Decisions,
    ) -> Result<(), Error> {
        let graph = materializer.graph();
        let Some(catalog) = materializer.catalog() else {
            return Ok(());
        };
        let catalog_error = |e: crate::catalog::CatalogError| Error::Catalog(e.to_string());
        for (&d, seen) in &mut self.on_missing {
            let def = graph.asset(d);
            let space = materializer.key_space(&[d], Some(now))?;
            let keys = def.partitions.keys(&space);
            let upstream_changed = graph.upstream_of(d).iter().any(|u| changed.contains(u));
            if *seen == Some(keys.len()) && !upstream_changed {
                continue;
            }
            *seen = Some(keys.len());
            let done: BTreeSet<Option<String>> = catalog
                .latest_for_assets(&[def.key.as_str()], None)
                .map_err(catalog_error)?
                .into_iter()
                .map(|r| r.partition)
                .collect();
            let failed: BTreeSet<Option<String>> = catalog
                .failed_for_assets(&[def.key.as_str()], None)
                .map_err(catalog_error)?
                .into_iter()
                .map(|f| f.partition)
                .collect();
            let mut upstream_done: HashMap<usize, BTreeSet<Option<String>>> = HashMap::new();
            for &u in graph.upstream_of(d) {
                if u != d && !upstream_done.contains_key(&u) {
                    let have = catalog
                        .latest_for_assets(&[graph.asset(u).key.as_str()], None)
                        .map_err(catalog_error)?
                        .into_iter()
                        .map(|r| r.partition)
                        .collect();
                    upstream_done.insert(u, have);
                }
            }
            let ready = |key: Option<&PartitionKey>| -> Result<bool, Error> {
                for (dep, &u) in def.dependencies.iter().zip(graph.upstream_of(d)) {
                    if u == d {
                        // Its own earlier partitions: the run orders them.
                        continue;
                    }
                    let up = graph.asset(u);
                    let have = &upstream_done[&u];
                    match upstream_keys(dep.mapping, &def.partitions, key, &up.partitions, &space)?
                    {
                        UpstreamKeys::Unpartitioned => {
                            if !have.contains(&None) {
                                return Ok(false);
                            }
                        }
                        UpstreamKeys::Keys(range) => {
                            let may_be_empty = matches!(
                                dep.mapping,
                                PartitionMapping::Window(_) | PartitionMapping::Prev
                            );
                            if range.is_empty() && !may_be_empty {
                                return Ok(false);
                            }
                            if range
                                .iter()
                                .any(|k| !have.contains(&Some(k.as_str().to_owned())))
                            {
                                return Ok(false);
                            }
                        }
                    }
                }
                Ok(true)
            };
            let mut want = Wanted::default();
            if def.partitions.is_partitioned() {
                for (i, key) in keys.iter().enumerate() {
                    let text = Some(key.as_str().to_owned());
                    if !done.contains(&text) && !failed.contains(&text) && ready(Some(&key))? {
                        want.add(Affected::Keys(vec![i as u64]));
                    }
                }
            } else if !done.contains(&None) && !failed.contains(&None) && ready(None)? {
                want.add(Affected::Unpartitioned);
            }
            for partitions in want.selections(def.partitions.is_partitioned(), &keys) {
                decisions.launches.push(Launch {
                    asset: def.key.clone(),
                    trigger: Trigger::OnMissing,
                    partitions,
                    with_upstream: false,
                    now,
                    skip: None,
                });
            }
        }
        Ok(())
    }
}

/// The launch for the tick `tick` of asset `i`: its newest complete
/// partition at the tick (every partition for static and dynamic ones).
fn tick_launch(
    materializer: &Materializer,
    i: usize,
    tick: DateTime<Utc>,
) -> Result<Launch, Error> {
    let def = materializer.graph().asset(i);
    let mut launch = Launch {
        asset: def.key.clone(),
        trigger: Trigger::Tick(tick),
        partitions: PartitionSelection::None,
        with_upstream: true,
        now: tick,
        skip: None,
    };
    if !def.partitions.is_partitioned() {
        return Ok(launch);
    }
    let space = materializer.key_space(&[i], Some(tick))?;
    let keys = def.partitions.keys(&space);
    match &def.partitions {
        PartitionsDef::Time(_) => match keys.last() {
            Some(key) => launch.partitions = PartitionSelection::One(key.as_str().to_owned()),
            None => launch.skip = Some("no complete partition yet".into()),
        },
        _ => match (keys.first(), keys.last()) {
            (Some(first), Some(last)) if first == last => {
                launch.partitions = PartitionSelection::One(first.as_str().to_owned());
            }
            (Some(first), Some(last)) => {
                launch.partitions = PartitionSelection::Range {
                    from: first.as_str().to_owned(),
                    to: last.as_str().to_owned(),
                };
            }
            _ => launch.skip = Some("no partition exists yet".into()),
        },
    }
    Ok(launch)
}

/// Which partitions of a downstream asset one upstream change affects.
#[derive(Debug)]
enum Affected {
    /// The downstream is unpartitioned.
    Unpartitioned,
    /// Every partition of the downstream.
    All,
    /// These positions among the downstream's keys.
    Keys(Vec<u64>),
}

/// The downstream partitions of `d` that read partition `key` of `u`.
fn affected(
    graph: &AssetGraph,
    d: usize,
    u: usize,
    key: Option<&PartitionKey>,
    space: &KeySpace,
) -> Result<Affected, Error> {
    let down = graph.asset(d);
    let up = graph.asset(u);
    if !down.partitions.is_partitioned() {
        return Ok(Affected::Unpartitioned);
    }
    if !up.partitions.is_partitioned() {
        return Ok(Affected::All);
    }
    let keys = down.partitions.keys(space);
    let mut positions = Vec::new();
    for (dep, &upstream) in down.dependencies.iter().zip(graph.upstream_of(d)) {
        if upstream != u {
            continue;
        }
        if let (Some(Some(_)), Some(key)) = (
            direct_key(dep.mapping, &down.partitions, key, &up.partitions),
            key,
        ) {
            // Partitioned alike, same partition: no search.
            positions.extend(keys.position(key));
            continue;
        }
        if dep.mapping == PartitionMapping::Latest {
            positions.extend(keys.len().checked_sub(1));
            continue;
        }
        let Some(key) = key else { continue };
        for (i, candidate) in keys.iter().enumerate() {
            if let UpstreamKeys::Keys(range) = upstream_keys(
                dep.mapping,
                &down.partitions,
                Some(&candidate),
                &up.partitions,
                space,
            )? && range.contains(key)
            {
                positions.push(i as u64);
            }
        }
    }
    Ok(Affected::Keys(positions))
}

/// The partitions wanted of one asset, collected over a pass.
#[derive(Debug, Default)]
struct Wanted {
    unpartitioned: bool,
    all: bool,
    positions: BTreeSet<u64>,
}

impl Wanted {
    fn add(&mut self, affected: Affected) {
        match affected {
            Affected::Unpartitioned => self.unpartitioned = true,
            Affected::All => self.all = true,
            Affected::Keys(keys) => self.positions.extend(keys),
        }
    }

    /// One selection per run of consecutive partitions (a range runs only
    /// what is stale in it, so neighbours never run needlessly).
    fn selections(
        &self,
        partitioned: bool,
        keys: &crate::partition::KeyRange,
    ) -> Vec<PartitionSelection> {
        if !partitioned {
            return if self.unpartitioned || self.all || !self.positions.is_empty() {
                vec![PartitionSelection::None]
            } else {
                Vec::new()
            };
        }
        let runs: Vec<(u64, u64)> = if self.all {
            keys.len()
                .checked_sub(1)
                .map(|last| (0, last))
                .into_iter()
                .collect()
        } else {
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for &p in &self.positions {
                match runs.last_mut() {
                    Some((_, end)) if *end + 1 == p => *end = p,
                    _ => runs.push((p, p)),
                }
            }
            runs
        };
        runs.into_iter()
            .filter_map(|(from, to)| {
                let first = keys.get(from)?;
                let last = keys.get(to)?;
                Some(if from == to {
                    PartitionSelection::One(first.as_str().to_owned())
                } else {
                    PartitionSelection::Range {
                        from: first.as_str().to_owned(),
                        to: last.as_str().to_owned(),
                    }
                })
            })
            .collect()
    }
}
