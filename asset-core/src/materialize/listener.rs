//! A run's life as it happens, for whoever listens: a run starts, each step
//! that computes starts and then publishes or fails, the run ends.
//!
//! The materializer calls a [`RunListener`] at those points and nothing
//! else: what a listener does with them (OpenLineage events, see
//! [`crate::openlineage`]) lives beside it, not in the executor. A listener
//! is called on the step's task, so it must return at once: anything slow
//! (a network call, a disk write) goes to its own background thread.
//!
//! Steps found fresh compute nothing and are not announced; a step that
//! fails before it starts computing (an upstream value is missing) is
//! announced as started, then failed, so every failure has its start.

use std::sync::Arc;

use arrow_schema::Schema;
use chrono::{DateTime, Utc};

use crate::asset::definition::AssetDef;
use crate::catalog::RunStatus;
use crate::graph::AssetGraph;
use crate::materialize::io_set::IoManagers;
use crate::materialize::plan::Plan;
use crate::materialize::record::MaterializationRecord;
use crate::partition::TimeWindow;

/// Told about a run as it happens; every method must return quickly.
pub trait RunListener: Send + Sync {
    /// The run `run` begins (before any step).
    fn run_started(&self, run: &RunInfo<'_>);
    /// `step` begins computing.
    fn step_started(&self, step: &StepInfo<'_>);
    /// `step` published `output`.
    fn step_materialized(&self, step: &StepInfo<'_>, output: &StepOutput<'_>);
    /// `step` failed with `error` (after its last attempt).
    fn step_failed(&self, step: &StepInfo<'_>, error: &str);
    /// The run `run` ended with `status`.
    fn run_finished(&self, run: &RunInfo<'_>, status: RunStatus);
}

/// A shared listener.
pub type SharedListener = Arc<dyn RunListener>;

/// The run a listener hears about.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo<'a> {
    /// The run id (in every provenance record of the run).
    pub run_id: &'a str,
    /// The tagged namespace written to (`None` for production).
    pub tag: Option<&'a str>,
    /// When (now).
    pub at: DateTime<Utc>,
}

/// One stored dataset: an asset's folder, and the object of the partition
/// read or written in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetRef {
    /// The asset key.
    pub asset: String,
    /// The asset's folder under the storage root (`file:///data/sessions`,
    /// `s3://bucket/prefix/sessions`): the Hive dataset any Arrow tool reads.
    pub uri: String,
    /// The partitions of it this step reads or writes (`None`: unpartitioned).
    pub partitions: Vec<String>,
}

/// The step a listener hears about.
#[derive(Debug, Clone)]
pub struct StepInfo<'a> {
    /// The run the step belongs to.
    pub run_id: &'a str,
    /// The asset.
    pub asset: &'a AssetDef,
    /// The partition key (`None`: unpartitioned).
    pub partition: Option<&'a str>,
    /// The partition's time window, if it has one.
    pub window: Option<TimeWindow>,
    /// The tagged namespace written to (`None` for production).
    pub tag: Option<&'a str>,
    /// What it writes.
    pub output: DatasetRef,
    /// What it reads: one entry per upstream asset, in dependency order.
    pub inputs: Vec<DatasetRef>,
    /// When (now).
    pub at: DateTime<Utc>,
}

/// What a step published.
#[derive(Debug, Clone, Copy)]
pub struct StepOutput<'a> {
    /// Its provenance record (uri, rows, bytes, versions, commit).
    pub record: &'a MaterializationRecord,
    /// Its Arrow schema (tables only).
    pub schema: Option<&'a Schema>,
}

/// Describes step `s` of `plan` for listeners.
pub(super) fn step_info<'a>(
    graph: &'a AssetGraph,
    io: &IoManagers,
    plan: &'a Plan,
    s: usize,
    run_id: &'a str,
    tag: Option<&'a str>,
) -> StepInfo<'a> {
    let step = &plan.steps()[s];
    let def = graph.asset(step.asset);
    let dataset = |asset: usize, location: &io_managers::Location| {
        let def = graph.asset(asset);
        let uri = io
            .get(&def.io_manager)
            .map_or_else(|| location.to_string(), |io| io.uri(location));
        DatasetRef {
            asset: def.key.clone(),
            uri: dataset_uri(&uri, location),
            partitions: location
                .partition()
                .map(str::to_owned)
                .into_iter()
                .collect(),
        }
    };
    let mut inputs: Vec<DatasetRef> = Vec::new();
    for input in &step.inputs {
        let read = dataset(input.asset, &input.location);
        match inputs.iter_mut().find(|d| d.asset == read.asset) {
            Some(known) => known.partitions.extend(read.partitions),
            None => inputs.push(read),
        }
    }
    StepInfo {
        run_id,
        asset: def,
        partition: step.partition.as_ref().map(|p| p.as_str()),
        window: step
            .partition
            .as_ref()
            .and_then(|p| def.partitions.window(p)),
        tag,
        output: dataset(step.asset, &step.location),
        inputs,
        at: Utc::now(),
    }
}

/// The asset folder of `uri`, the URI of `location`'s object: everything up
/// to the asset's own path segment, found from the end (so an asset called
/// like a folder of the root does not confuse it). A URI of another shape
/// is returned whole.
pub fn dataset_uri(uri: &str, location: &io_managers::Location) -> String {
    let segments = location.segments();
    let Some((asset, partition)) = segments.split_first() else {
        return uri.to_owned();
    };
    let mut needle = format!("/{asset}");
    let whole = needle.len();
    for segment in partition {
        needle.push('/');
        needle.push_str(segment);
    }
    match uri.rfind(&needle) {
        Some(at)
            if uri[at + needle.len()..].is_empty() || uri[at + needle.len()..].starts_with('/') =>
        {
            uri[..at + whole].to_owned()
        }
        _ => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_is_the_assets_folder() {
        let day = io_managers::Location::new("sessions", Some("2024-01-01")).expect("valid");
        // `sessions/<dimension>=2024-01-01`, as the IO managers lay it out.
        let folders = day.segments().join("/");
        assert_eq!(
            dataset_uri(&format!("file:///data/{folders}/part-0.parquet"), &day),
            "file:///data/sessions"
        );
        assert_eq!(
            dataset_uri(&format!("memory://parquet/{folders}"), &day),
            "memory://parquet/sessions"
        );
        // A root folder named like the asset is not mistaken for it.
        assert_eq!(
            dataset_uri(&format!("s3://b/sessions/{folders}/part-0.parquet"), &day),
            "s3://b/sessions/sessions"
        );
        // Another partition's path is not this one's.
        assert_eq!(
            dataset_uri("file:///data/sessions/x/part-0.parquet", &day),
            "file:///data/sessions/x/part-0.parquet"
        );
        let whole = io_managers::Location::new("model", None).expect("valid");
        assert_eq!(
            dataset_uri("file:///data/model/part-0.parquet", &whole),
            "file:///data/model"
        );
        assert_eq!(dataset_uri("opaque", &whole), "opaque");
    }
}
