//! Alerts from the commands that run steps (`materialize`, `daemon`): the
//! routing is checked before anything runs, alerts go out on a background
//! thread while the command goes on, and the command waits a bounded time
//! for them at its end.

use std::path::Path;

use crate::alert::{AlertRoutes, Deliverer, alerts_from_run};
use crate::catalog::UnattendedStore;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::RunReport;

/// The routes of `[alerts]` in the file at `config` (a mistake is a usage
/// error naming file and line), and a deliverer running them.
pub(super) fn start(config: &Path) -> Result<Deliverer, Error> {
    // The routing is read whatever the assets take from the file: an
    // unattended run must not discover a broken route at 3 am.
    let file = ConfigFile::load_given(config)?;
    let routes = AlertRoutes::from_config(&file)?;
    Ok(Deliverer::start(routes))
}

/// Raises the alerts of `report` (deduplicated in the catalog at
/// `catalog`) and queues them. Bookkeeping that fails is logged: alerting
/// never changes a run's outcome.
pub(super) fn raise(graph: &AssetGraph, catalog: &Path, report: &RunReport, to: &Deliverer) {
    let raised = UnattendedStore::open(catalog)
        .and_then(|store| alerts_from_run(graph, &store, report, chrono::Utc::now()));
    match raised {
        Ok(alerts) => alerts.into_iter().for_each(|a| to.send(a)),
        Err(e) => tracing::error!(
            "cannot record the alerts of run {} in {}: {e}",
            report.run_id,
            catalog.display()
        ),
    }
}

/// Waits for the queued alerts (bounded by the sinks' timeouts); each
/// undelivered one is logged with its reason.
pub(super) fn finish(deliverer: Deliverer) {
    let wait = deliverer.default_wait();
    let undelivered = deliverer.finish(wait);
    if !undelivered.is_empty() {
        tracing::warn!(
            "{} alert deliveries failed (see the `alert undelivered` lines above)",
            undelivered.len()
        );
    }
}
