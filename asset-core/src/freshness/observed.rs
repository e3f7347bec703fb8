//! [`Observations`]: what the SLA judgement needs to know from the catalog,
//! held in memory: when each asset-partition was last materialized, and
//! how long an asset's recent materializations took.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::catalog::{Catalog, CatalogError, MaterializationEvent, MaterializationRecord};
use crate::freshness::sla::median;
use crate::graph::AssetGraph;

/// How many recent materializations an asset's typical duration is the
/// median of.
pub const RECENT_RUNS: usize = 20;

/// Materialization times and durations of some assets of a graph.
#[derive(Debug, Clone)]
pub struct Observations {
    /// Per asset (by index): partition (`""`: unpartitioned) to when its
    /// latest production materialization finished.
    finished: Vec<HashMap<String, DateTime<Utc>>>,
    /// Per asset: its most recent durations, oldest first.
    durations: Vec<VecDeque<Duration>>,
    /// Per asset: the median of `durations`.
    typical: Vec<Duration>,
}

/// An RFC 3339 time as the catalog writes it.
fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn took(started: &str, finished: &str) -> Option<Duration> {
    (parse(finished)? - parse(started)?).to_std().ok()
}

impl Observations {
    /// Nothing observed yet, for the assets of `graph`.
    pub fn empty(graph: &AssetGraph) -> Self {
        Self {
            finished: vec![HashMap::new(); graph.len()],
            durations: vec![VecDeque::new(); graph.len()],
            typical: vec![Duration::ZERO; graph.len()],
        }
    }

    /// Reads the production materializations of `assets` from `catalog`:
    /// the latest of each partition, and the durations of the
    /// [`RECENT_RUNS`] newest of each asset.
    pub fn load(
        graph: &AssetGraph,
        catalog: &dyn Catalog,
        assets: &[usize],
    ) -> Result<Self, CatalogError> {
        let mut observed = Self::empty(graph);
        let keys: Vec<&str> = assets
            .iter()
            .map(|&i| graph.asset(i).key.as_str())
            .collect();
        for record in catalog.latest_for_assets(&keys, None)? {
            observed.latest(graph, &record);
        }
        for &i in assets {
            let history = catalog.history(&graph.asset(i).key, None, RECENT_RUNS * 2)?;
            // Newest first, every tag: keep production's, oldest first.
            let mut recent: Vec<Duration> = history
                .iter()
                .filter(|r| r.tag.is_none())
                .take(RECENT_RUNS)
                .filter_map(|r| took(&r.started_at, &r.finished_at))
                .collect();
            recent.reverse();
            for d in recent {
                observed.record_duration(i, d);
            }
        }
        Ok(observed)
    }

    fn latest(&mut self, graph: &AssetGraph, record: &MaterializationRecord) {
        let (Some(i), Some(finished)) = (
            graph.registry().index_of(&record.asset),
            parse(&record.finished_at),
        ) else {
            return;
        };
        self.record_finished(i, record.partition.as_deref(), finished);
    }

    /// Takes in a materialization recorded since the load (the daemon reads
    /// them from the event log).
    pub fn apply(&mut self, graph: &AssetGraph, event: &MaterializationEvent) {
        let Some(i) = graph.registry().index_of(&event.asset) else {
            return;
        };
        if let Some(finished) = parse(&event.finished_at) {
            self.record_finished(i, event.partition.as_deref(), finished);
        }
        if let Some(d) = took(&event.started_at, &event.finished_at) {
            self.record_duration(i, d);
        }
    }

    /// Records that asset `i`'s `partition` was materialized, finishing at
    /// `finished`.
    pub fn record_finished(&mut self, i: usize, partition: Option<&str>, finished: DateTime<Utc>) {
        if let Some(map) = self.finished.get_mut(i) {
            map.insert(partition.unwrap_or("").to_owned(), finished);
        }
    }

    /// Records one materialization of asset `i` that took `took`.
    pub fn record_duration(&mut self, i: usize, took: Duration) {
        let (Some(recent), Some(typical)) = (self.durations.get_mut(i), self.typical.get_mut(i))
        else {
            return;
        };
        if recent.len() == RECENT_RUNS {
            recent.pop_front();
        }
        recent.push_back(took);
        *typical = median(recent.iter().copied());
    }

    /// When asset `i`'s partition was last materialized (`None`: never, or
    /// not observed).
    pub fn finished(&self, i: usize, partition: Option<&str>) -> Option<DateTime<Utc>> {
        self.finished.get(i)?.get(partition.unwrap_or("")).copied()
    }

    /// How long asset `i` usually takes: the median of its recent
    /// materializations (zero if none is known).
    pub fn typical(&self, i: usize) -> Duration {
        self.typical.get(i).copied().unwrap_or_default()
    }
}
