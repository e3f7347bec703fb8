//! The page model: everything the pages show, gathered once from the
//! registry, the catalog and the IO managers, with the same assessment that
//! `status` and `why` use (so the site and the text commands never
//! disagree).

use std::collections::{HashMap, VecDeque};

use crate::catalog::{Catalog, CheckResult, FailureRecord, MaterializationRecord, RunInfo};
use crate::check::ROW_RULES_CHECK;
use crate::cli::inspect::{self, Partitions};
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::{IoManagers, key_space};
use crate::partition::PartitionKey;
use crate::site::SiteOptions;
use crate::site::svg::{Cells, Point};
use crate::staleness::{self, Assessment, PartKey, State};

/// An asset's state on the site: the partition states, plus "partly
/// materialized" for an asset some of whose partitions were never built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Health {
    /// Every partition up to date.
    Fresh,
    /// Some partitions materialized, others never (none stale or failed).
    Partial,
    /// Nothing materialized.
    Missing,
    /// Some partition is out of date.
    Stale,
    /// Some partition's last attempt failed.
    Failed,
}

impl Health {
    /// Every state, in the legend's order.
    pub const ALL: [Health; 5] = [
        Health::Fresh,
        Health::Partial,
        Health::Stale,
        Health::Failed,
        Health::Missing,
    ];

    /// The state of one partition.
    pub fn of(state: &State) -> Self {
        match state {
            State::Fresh => Health::Fresh,
            State::Stale => Health::Stale,
            State::Missing => Health::Missing,
            State::Failed => Health::Failed,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Health::Fresh => "fresh",
            Health::Partial => "partly materialized",
            Health::Missing => "missing",
            Health::Stale => "stale",
            Health::Failed => "failed",
        }
    }

    /// The colour of nodes and strip cells.
    pub fn fill(self) -> &'static str {
        match self {
            Health::Fresh => "#81c784",
            Health::Partial => "#90caf9",
            Health::Missing => "#e0e0e0",
            Health::Stale => "#ffd54f",
            Health::Failed => "#e57373",
        }
    }
}

/// Counts of partitions per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Up to date.
    pub fresh: u64,
    /// Out of date.
    pub stale: u64,
    /// Never materialized.
    pub missing: u64,
    /// Last attempt failed.
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, state: &State) {
        match state {
            State::Fresh => self.fresh += 1,
            State::Stale => self.stale += 1,
            State::Missing => self.missing += 1,
            State::Failed => self.failed += 1,
        }
    }

    /// Every partition counted.
    pub fn total(&self) -> u64 {
        self.fresh + self.stale + self.missing + self.failed
    }

    /// The asset's state from its partitions'.
    pub fn health(&self) -> Health {
        if self.total() == 0 || self.missing == self.total() {
            Health::Missing
        } else if self.failed > 0 {
            Health::Failed
        } else if self.stale > 0 {
            Health::Stale
        } else if self.missing > 0 {
            Health::Partial
        } else {
            Health::Fresh
        }
    }
}

/// A partition that is not fresh, with its reasons.
#[derive(Debug, Clone)]
pub struct NotFresh {
    /// The partition (`None`: unpartitioned).
    pub partition: Option<String>,
    /// Stale, missing or failed.
    pub state: State,
    /// Every reason, as `status` words them.
    pub reasons: Vec<String>,
}

/// The newest materializations of an asset's partitions, and what was
/// collapsed.
#[derive(Debug, Clone, Default)]
pub struct Latest {
    /// The latest record of each of the newest partitions, newest first.
    pub shown: Vec<MaterializationRecord>,
    /// Older materialized partitions not shown: first, last, how many.
    pub older: Option<(String, String, usize)>,
}

/// Check results and dead letters of one shown partition.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// The latest check results of the partition (by check name).
    pub checks: Vec<CheckResult>,
    /// Rows the row rules rejected in that audit, if the asset has them.
    pub rejected: Option<u64>,
}

/// Everything an asset's page shows.
#[derive(Debug, Clone)]
pub struct AssetView {
    /// The asset's index in the graph.
    pub index: usize,
    /// Partition counts per state (over the site's range).
    pub counts: Counts,
    /// The partition health strip.
    pub cells: Vec<Cells>,
    /// The asset's state.
    pub health: Health,
    /// The newest materializations.
    pub latest: Latest,
    /// Audits of [`Latest::shown`], in the same order.
    pub audits: Vec<Audit>,
    /// Rows and duration of every materialized partition, oldest first.
    pub points: Vec<Point>,
    /// The newest partitions that are not fresh, newest first.
    pub not_fresh: Vec<NotFresh>,
    /// Why the newest of them is not fresh, down to the root cause.
    pub why: Vec<String>,
    /// The storage location pattern (`{partition}` for the key).
    pub location: Option<String>,
    /// A sample partition key (the newest), for `{partition}`.
    pub sample_partition: Option<String>,
}

/// One step of a run, for its timeline.
#[derive(Debug, Clone)]
pub struct Step {
    /// The asset.
    pub asset: String,
    /// The partition.
    pub partition: Option<String>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339).
    pub finished_at: String,
    /// `None` when it succeeded; the error when the attempt failed.
    pub error: Option<String>,
    /// The attempt number of a failed attempt.
    pub attempt: Option<u32>,
    /// Rows written (succeeded steps).
    pub rows: u64,
}

/// A run's page.
#[derive(Debug, Clone)]
pub struct RunView {
    /// The run as recorded.
    pub info: RunInfo,
    /// Its steps, by start time.
    pub steps: Vec<Step>,
}

/// The whole site's content.
#[derive(Debug)]
pub struct Model {
    /// The selected assets, in topological order.
    pub assets: Vec<AssetView>,
    /// The newest runs, newest first.
    pub runs: Vec<RunView>,
}

fn catalog_error(e: impl std::fmt::Display) -> Error {
    Error::Catalog(e.to_string())
}

/// Per-asset state while assessments stream by.
struct Gathering {
    counts: Counts,
    cells: Vec<Cells>,
    not_fresh: VecDeque<Assessment>,
}

/// Gathers the model of the selected assets.
pub fn gather(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    config: &ConfigFile,
    io: &IoManagers,
    options: &SiteOptions,
) -> Result<Model, Error> {
    let selected = options.selection.resolve(graph)?;
    let latest = inspect::latest_with_upstream(graph, catalog, &selected)?;
    let partitions = Partitions {
        one: None,
        from: options.from.as_deref(),
        to: options.to.as_deref(),
        ..Partitions::default()
    };
    let limit = options.latest_per_asset.max(1);
    let mut gathering: HashMap<String, Gathering> = HashMap::new();
    // Every assessment that is not fresh, for the why-chains: fresh ones are
    // the many and explain nothing.
    let mut not_fresh_index: HashMap<PartKey, Assessment> = HashMap::new();
    inspect::assess_each_with_latest(
        inspect::Store { graph, catalog, io },
        config,
        &selected,
        partitions,
        &latest,
        options.now,
        |a| {
            let g = gathering
                .entry(a.asset.clone())
                .or_insert_with(|| Gathering {
                    counts: Counts::default(),
                    cells: Vec::new(),
                    not_fresh: VecDeque::new(),
                });
            g.counts.add(&a.state);
            let health = Health::of(&a.state);
            let key = a
                .partition
                .clone()
                .unwrap_or_else(|| "(unpartitioned)".into());
            match g.cells.last_mut() {
                Some(run) if run.state == health.name() => {
                    run.count += 1;
                    run.last = key;
                }
                _ => g.cells.push(Cells {
                    count: 1,
                    first: key.clone(),
                    last: key,
                    state: health.name(),
                    fill: health.fill(),
                }),
            }
            if a.state != State::Fresh {
                if g.not_fresh.len() == limit {
                    g.not_fresh.pop_front();
                }
                g.not_fresh.push_back(a.clone());
                not_fresh_index.insert((a.asset.clone(), a.partition.clone()), a);
            }
        },
    )?;
    let mut records: HashMap<&str, Vec<&MaterializationRecord>> = HashMap::new();
    for r in &latest {
        records.entry(r.asset.as_str()).or_default().push(r);
    }
    let space = key_space(graph, catalog, &selected, options.now)?;
    let history = |k: &PartKey| -> Vec<MaterializationRecord> {
        catalog
            .history(&k.0, k.1.as_deref(), 50)
            .unwrap_or_default()
    };
    let mut wanted = vec![false; graph.len()];
    for &i in &selected {
        wanted[i] = true;
    }
    let ordered: Vec<usize> = graph
        .topological_order()
        .iter()
        .copied()
        .filter(|&i| wanted[i])
        .collect();
    let mut assets = Vec::with_capacity(ordered.len());
    for i in ordered {
        let def = graph.asset(i);
        let g = gathering.remove(&def.key).unwrap_or(Gathering {
            counts: Counts::default(),
            cells: Vec::new(),
            not_fresh: VecDeque::new(),
        });
        let mut mine: Vec<&MaterializationRecord> =
            records.remove(def.key.as_str()).unwrap_or_default();
        // Only the partitions in the site's range (all of them by default).
        if def.partitions.is_partitioned() && (options.from.is_some() || options.to.is_some()) {
            let (from, to) = (options.from.as_deref(), options.to.as_deref());
            mine.retain(|r| {
                let p = r.partition.as_deref().unwrap_or("");
                from.is_none_or(|f| p >= f) && to.is_none_or(|t| p <= t)
            });
        }
        let points = mine
            .iter()
            .map(|r| Point {
                partition: r.partition.clone().unwrap_or_else(|| "-".into()),
                rows: r.rows,
                seconds: seconds_between(&r.started_at, &r.finished_at),
            })
            .collect();
        let shown: Vec<MaterializationRecord> = mine
            .iter()
            .rev()
            .take(limit)
            .map(|r| (*r).clone())
            .collect();
        let older = (mine.len() > limit).then(|| {
            let rest = &mine[..mine.len() - limit];
            let name = |r: &MaterializationRecord| r.partition.clone().unwrap_or_default();
            (name(rest[0]), name(rest[rest.len() - 1]), rest.len())
        });
        let audits = if def.checks.is_empty() {
            vec![Audit::default(); shown.len()]
        } else {
            shown
                .iter()
                .map(|r| audit(catalog, &def.key, r.partition.as_deref()))
                .collect::<Result<_, _>>()?
        };
        let not_fresh: Vec<NotFresh> = g
            .not_fresh
            .iter()
            .rev()
            .map(|a| NotFresh {
                partition: a.partition.clone(),
                state: a.state.clone(),
                reasons: a.reasons.iter().map(ToString::to_string).collect(),
            })
            .collect();
        // The chain of the newest stale or failed partition says most (a
        // missing one's only reason is that it is missing).
        let explained = not_fresh
            .iter()
            .find(|n| matches!(n.state, State::Stale | State::Failed))
            .or(not_fresh.first());
        let why = match explained {
            Some(n) => staleness::explain_with(
                &|k| not_fresh_index.get(k),
                &(def.key.clone(), n.partition.clone()),
                &history,
            ),
            None => Vec::new(),
        };
        let sample_partition = if def.partitions.is_partitioned() {
            def.partitions
                .keys(&space)
                .last()
                .map(|k| PartitionKey::as_str(&k).to_owned())
        } else {
            None
        };
        let location = location_pattern(io, &def.io_manager, &def.key, sample_partition.as_deref());
        assets.push(AssetView {
            index: i,
            health: g.counts.health(),
            counts: g.counts,
            cells: g.cells,
            latest: Latest { shown, older },
            audits,
            points,
            not_fresh,
            why,
            location,
            sample_partition,
        });
    }
    let runs = runs(catalog, options.runs)?;
    Ok(Model { assets, runs })
}

/// The storage location of an asset-partition as its IO manager writes it,
/// with the partition key shown as `{partition}`.
fn location_pattern(
    io: &IoManagers,
    manager: &str,
    asset: &str,
    sample: Option<&str>,
) -> Option<String> {
    let io = io.get(manager)?;
    let location = io_managers::Location::new(asset, sample).ok()?;
    let uri = io.uri(&location);
    Some(match sample {
        Some(key) => uri.replace(key, "{partition}"),
        None => uri,
    })
}

/// The latest audit of one asset-partition: its checks and dead letters.
fn audit(catalog: &dyn Catalog, asset: &str, partition: Option<&str>) -> Result<Audit, Error> {
    let checks = crate::check::results::latest_results(catalog, asset, partition, None)
        .map_err(catalog_error)?;
    let rejected = checks
        .iter()
        .find(|c| c.name == ROW_RULES_CHECK)
        .and_then(|c| rejected_rows(&c.message));
    Ok(Audit { checks, rejected })
}

/// The count at the start of a row-rules result: `3 of 120 rows rejected (2.5%)`.
fn rejected_rows(message: &str) -> Option<u64> {
    message.split_whitespace().next()?.parse().ok()
}

/// Seconds from `start` to `end` (RFC 3339); 0 when either does not parse.
pub fn seconds_between(start: &str, end: &str) -> f64 {
    match (
        chrono::DateTime::parse_from_rfc3339(start),
        chrono::DateTime::parse_from_rfc3339(end),
    ) {
        (Ok(s), Ok(e)) => (e - s).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6,
        _ => 0.0,
    }
}

/// Steps of a run read for its page (a year's backfill has hundreds of
/// thousands; its page shows the first ones and says so).
pub const STEPS_PER_RUN: usize = 2_000;

/// The newest `limit` runs with their steps (at most [`STEPS_PER_RUN`]
/// materializations each).
fn runs(catalog: &dyn Catalog, limit: usize) -> Result<Vec<RunView>, Error> {
    let mut out = Vec::new();
    for info in catalog.runs(limit).map_err(catalog_error)? {
        let mut steps: Vec<Step> = catalog
            .run_materializations_first(&info.run_id, STEPS_PER_RUN)
            .map_err(catalog_error)?
            .into_iter()
            .map(|r| Step {
                asset: r.asset,
                partition: r.partition,
                started_at: r.started_at,
                finished_at: r.finished_at,
                error: None,
                attempt: None,
                rows: r.rows,
            })
            .collect();
        steps.extend(
            catalog
                .run_failures(&info.run_id)
                .map_err(catalog_error)?
                .into_iter()
                .map(|f: FailureRecord| Step {
                    asset: f.asset,
                    partition: f.partition,
                    started_at: f.started_at,
                    finished_at: f.finished_at,
                    error: Some(f.error),
                    attempt: Some(f.attempt),
                    rows: 0,
                }),
        );
        // RFC 3339 UTC texts of one format sort as times do.
        steps.sort_by(|a, b| {
            (&a.started_at, &a.asset, &a.partition).cmp(&(&b.started_at, &b.asset, &b.partition))
        });
        out.push(RunView { info, steps });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_of_an_asset_follows_its_partitions() {
        let counts = |fresh, stale, missing, failed| Counts {
            fresh,
            stale,
            missing,
            failed,
        };
        assert_eq!(counts(3, 0, 0, 0).health(), Health::Fresh);
        assert_eq!(counts(2, 0, 1, 0).health(), Health::Partial);
        assert_eq!(counts(0, 0, 3, 0).health(), Health::Missing);
        assert_eq!(counts(1, 1, 1, 0).health(), Health::Stale);
        assert_eq!(counts(1, 1, 1, 1).health(), Health::Failed);
        // No partitions in range reads as missing, not fresh.
        assert_eq!(counts(0, 0, 0, 0).health(), Health::Missing);
    }

    #[test]
    fn rejected_rows_are_read_from_the_row_rules_message() {
        assert_eq!(rejected_rows("3 of 120 rows rejected (2.5%)"), Some(3));
        assert_eq!(rejected_rows("none"), None);
    }

    #[test]
    fn seconds_between_rfc3339_times() {
        let s = seconds_between("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:01.500Z");
        assert!((s - 1.5).abs() < 1e-9);
        assert_eq!(seconds_between("x", "y"), 0.0);
    }
}
