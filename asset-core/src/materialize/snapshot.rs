//! What the catalog knows at the start of a run: the latest materialization
//! and the failed last attempts of every asset-partition the plan touches,
//! read in two queries so that steps decide freshness without a query each.

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::{Catalog, RunInfo, RunStatus};
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::plan::Plan;
use crate::staleness::{LatestRecords, PartKey};

/// The catalog's view of the plan's asset-partitions at the start of a run.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    /// Latest materialization per asset-partition.
    pub latest: LatestRecords,
    /// The error of asset-partitions whose last attempt failed.
    pub failed: HashMap<PartKey, String>,
    /// Each asset's most recent materialization (any partition), by key in
    /// `latest`: what schema drift is judged against.
    pub newest: HashMap<String, PartKey>,
}

fn catalog_error(e: impl std::fmt::Display) -> Error {
    Error::Catalog(e.to_string())
}

/// Reads the snapshot for the plan's steps and their inputs, in namespace
/// `tag`: a tagged run sees the tag's records over production's (what it has
/// not recomputed, it reads from production), and the tag's failures only.
pub(crate) async fn load(
    catalog: Arc<dyn Catalog>,
    graph: &AssetGraph,
    plan: &Plan,
    tag: Option<Arc<str>>,
) -> Result<Snapshot, Error> {
    let mut assets: Vec<String> = plan
        .steps()
        .iter()
        .flat_map(|s| std::iter::once(s.asset).chain(s.inputs.iter().map(|i| i.asset)))
        .map(|i| graph.asset(i).key.clone())
        .collect();
    assets.sort();
    assets.dedup();
    blocking(move || {
        let keys: Vec<&str> = assets.iter().map(String::as_str).collect();
        let mut latest: LatestRecords = catalog
            .latest_for_assets(&keys, None)
            .map_err(catalog_error)?
            .into_iter()
            .map(|r| ((r.asset.clone(), r.partition.clone()), r))
            .collect();
        if let Some(tag) = tag.as_deref() {
            latest.extend(
                catalog
                    .latest_for_assets(&keys, Some(tag))
                    .map_err(catalog_error)?
                    .into_iter()
                    .map(|r| ((r.asset.clone(), r.partition.clone()), r)),
            );
        }
        let failed = catalog
            .failed_for_assets(&keys, tag.as_deref())
            .map_err(catalog_error)?
            .into_iter()
            .map(|f| ((f.asset, f.partition), f.error))
            .collect();
        let newest = crate::check::drift::newest_by_asset(&latest);
        Ok(Snapshot {
            latest,
            failed,
            newest,
        })
    })
    .await
}

/// Records the start of run `run_id`.
pub(crate) async fn begin_run(
    catalog: Arc<dyn Catalog>,
    run_id: &str,
    tag: Option<Arc<str>>,
) -> Result<(), Error> {
    let run = RunInfo {
        run_id: run_id.to_owned(),
        started_at: chrono::Utc::now().to_rfc3339(),
        finished_at: None,
        status: RunStatus::Running,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        tag: tag.map(|t| t.to_string()),
    };
    blocking(move || catalog.begin_run(&run).map_err(catalog_error)).await
}

/// Waits for the run's records to be committed, then records its end.
pub(crate) async fn end_run(
    catalog: Arc<dyn Catalog>,
    run_id: &str,
    status: RunStatus,
) -> Result<(), Error> {
    let run_id = run_id.to_owned();
    blocking(move || {
        catalog.flush().map_err(catalog_error)?;
        catalog
            .end_run(&run_id, status, &chrono::Utc::now().to_rfc3339())
            .map_err(catalog_error)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("catalog task failed: {e}")))?
}
