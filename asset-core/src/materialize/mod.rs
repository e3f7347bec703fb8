//! The materializer: plan the selected asset-partitions, run them in
//! dependency order (concurrently up to `jobs`), record provenance, report.

mod audit;
mod coverage;
mod execute;
mod io_set;
pub mod lease;
pub mod listener;
mod plan;
pub mod record;
pub mod report;
mod snapshot;
mod summary;
pub mod tagged_io;

use std::sync::Arc;
use std::time::Instant;

use crate::catalog::{Catalog, RunStatus};
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::{AssetGraph, Selection};
use crate::partition::{KeySpace, PartitionsDef};

pub use coverage::LeftOut;
pub use io_set::IoManagers;
pub use listener::{RunListener, SharedListener};
pub use plan::{ParamInputs, PartitionOrder, PartitionSelection, Plan, Step, StepInputSpec};
pub use record::MaterializationRecord;
pub use report::{RunReport, StepReport, StepStatus};

/// Called after every step with its report (progress bars, log lines).
pub type Observer = Arc<dyn Fn(&StepReport) + Send + Sync>;

/// What to materialize and how.
#[derive(Clone)]
pub struct MaterializeOptions {
    /// Which assets.
    pub selection: Selection,
    /// The partition key for partitioned assets (`--partition`).
    pub partition: Option<String>,
    /// The first partition of a backfill (`--from`, with `to`).
    pub from: Option<String>,
    /// The last partition of a backfill, inclusive (`--to`, with `from`).
    pub to: Option<String>,
    /// Which independent partitions start first (`--order`).
    pub order: PartitionOrder,
    /// The time partitions are judged complete against (`None`: now).
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many steps at once.
    pub jobs: usize,
    /// Recompute even what is up to date.
    pub force: bool,
    /// Read every value that would be skipped back and rehash it against
    /// its recorded data version: a value changed or damaged on disk is
    /// recomputed (`--verify`). Without it only its presence and size are
    /// checked.
    pub verify: bool,
    /// The most steps one run may plan (`--max-steps`); a bigger plan is
    /// refused before anything is expanded.
    pub max_steps: u64,
    /// Only report what would run.
    pub dry_run: bool,
    /// Told about each finished step.
    pub observer: Option<Observer>,
    /// Set to stop the run: no further step starts, the ones running finish
    /// and are recorded, the rest are reported skipped, and the run ends as
    /// cancelled (the CLI sets it on Ctrl-C). Rerunning the same command
    /// resumes.
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Bytes of step outputs kept in memory for downstream steps of the same
    /// run (saving a read and a decode); outputs that do not fit are reloaded
    /// from storage. 0 turns the cache off.
    pub memory_budget: usize,
}

/// Default [`MaterializeOptions::max_steps`]: a million asset-partitions.
pub const DEFAULT_MAX_STEPS: u64 = 1_000_000;

/// Default [`MaterializeOptions::memory_budget`]: 256 MiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

impl Default for MaterializeOptions {
    fn default() -> Self {
        Self {
            selection: Selection::all(),
            partition: None,
            from: None,
            to: None,
            order: PartitionOrder::default(),
            now: None,
            jobs: num_cpus::get().max(1),
            force: false,
            verify: false,
            max_steps: DEFAULT_MAX_STEPS,
            dry_run: false,
            observer: None,
            cancel: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// Runs selections of a graph against a set of IO managers.
#[derive(Clone)]
pub struct Materializer {
    graph: Arc<AssetGraph>,
    io: IoManagers,
    catalog: Option<Arc<dyn Catalog>>,
    config: Arc<ConfigFile>,
    tag: Option<Arc<str>>,
    leases: lease::LeaseSettings,
    listener: Option<SharedListener>,
}

impl Materializer {
    /// A materializer for `graph`, storing values with `io`.
    pub fn new(graph: AssetGraph, io: IoManagers) -> Self {
        Self {
            graph: Arc::new(graph),
            io,
            catalog: None,
            config: Arc::new(ConfigFile::empty(crate::config::CONFIG_FILE_NAME)),
            tag: None,
            leases: lease::LeaseSettings::from_env_or_default(),
            listener: None,
        }
    }

    /// Reads `Config<C>` parameters from `config` (an `assets.toml`).
    pub fn with_config(mut self, config: ConfigFile) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The configuration file in use.
    pub fn config(&self) -> &ConfigFile {
        &self.config
    }

    /// Records runs, materializations and failures in `catalog`, and decides
    /// freshness from it (without a catalog, from the sidecars).
    pub fn with_catalog(mut self, catalog: Arc<dyn Catalog>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// How long leases on asset-partitions last and how long a step waits
    /// for one another process holds (used with a catalog; see
    /// [`lease`]). Default: [`LeaseSettings::from_env`](lease::LeaseSettings::from_env).
    pub fn with_leases(mut self, leases: lease::LeaseSettings) -> Self {
        self.leases = leases;
        self
    }

    /// Records materializations in the tagged namespace `tag` (the IO
    /// managers must write there too: see
    /// [`TaggedIoManager`](tagged_io::TaggedIoManager)).
    pub fn with_tag(mut self, tag: Option<&str>) -> Self {
        self.tag = tag.map(Arc::from);
        self
    }

    /// Tells `listener` about every run, and every step that computes (see
    /// [`listener`]); daemon runs go through here too.
    pub fn with_listener(mut self, listener: SharedListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The tagged namespace, `None` for production.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The catalog, if any.
    pub fn catalog(&self) -> Option<&Arc<dyn Catalog>> {
        self.catalog.as_ref()
    }

    /// The graph.
    pub fn graph(&self) -> &AssetGraph {
        &self.graph
    }

    /// The IO managers.
    pub fn io_managers(&self) -> &IoManagers {
        &self.io
    }

    /// Uses `io` to store and load values.
    pub fn with_io_managers(mut self, io: IoManagers) -> Self {
        self.io = io;
        self
    }

    /// Checks that `options` plan: the selection, the partitions and the
    /// configuration, without checking IO managers (for refusing bad input
    /// before storage is opened).
    ///
    /// Cheap whatever the range: keys are checked, not expanded into steps
    /// (the plan is built once, by [`plan`](Self::plan)).
    pub fn plan_only(&self, options: &MaterializeOptions) -> Result<(), Error> {
        let (selected, partitions, space) = self.resolve(options)?;
        Plan::check_partitions(&self.graph, &selected, &partitions, &space)?;
        Plan::check_size(
            &self.graph,
            &selected,
            &partitions,
            &space,
            options.max_steps,
        )?;
        self.check_config(&selected)
    }

    /// Plans the selection: steps in dependency order. Usage errors (unknown
    /// asset, bad partition key, missing IO manager) are returned here, before
    /// anything runs.
    pub fn plan(&self, options: &MaterializeOptions) -> Result<Plan, Error> {
        let plan = self.plan_steps(options)?;
        self.io.check(&self.graph, &plan)?;
        Ok(plan)
    }

    /// [`plan`](Self::plan) without the IO managers' check.
    fn plan_steps(&self, options: &MaterializeOptions) -> Result<Plan, Error> {
        let (selected, partitions, space) = self.resolve(options)?;
        Plan::check_size(
            &self.graph,
            &selected,
            &partitions,
            &space,
            options.max_steps,
        )?;
        let plan = Plan::build(&self.graph, &selected, &partitions, &space, options.order)?;
        self.check_config(&selected)?;
        Ok(plan)
    }

    /// The selected assets (in topological order), the partitions asked
    /// for, and what partitions exist.
    fn resolve(
        &self,
        options: &MaterializeOptions,
    ) -> Result<(Vec<usize>, PartitionSelection, KeySpace), Error> {
        let selected = options.selection.resolve(&self.graph)?;
        let partitions = PartitionSelection::from_args(
            options.partition.as_deref(),
            options.from.as_deref(),
            options.to.as_deref(),
        )?;
        let space = self.key_space(&selected, options.now)?;
        Ok((selected, partitions, space))
    }

    /// A section that does not fit its asset is found before anything runs.
    fn check_config(&self, selected: &[usize]) -> Result<(), Error> {
        for &i in selected {
            let def = self.graph.asset(i);
            if def.takes_config {
                def.check_config(&self.config.config_for(&def.key))?;
            }
        }
        Ok(())
    }

    /// What partitions exist for the assets of `selected` and their
    /// upstreams: the time `now` (default: the clock) and the keys of every
    /// dynamic partition set they use, read from the catalog (none without
    /// one).
    pub fn key_space(
        &self,
        selected: &[usize],
        now: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<KeySpace, Error> {
        let now = now.unwrap_or_else(chrono::Utc::now);
        match &self.catalog {
            Some(catalog) => key_space(&self.graph, catalog.as_ref(), selected, now),
            None => Ok(KeySpace::at(now)),
        }
    }

    /// Plans and runs. A failed step does not stop independent ones; the
    /// report has every step's outcome.
    pub async fn run(&self, options: &MaterializeOptions) -> Result<RunReport, Error> {
        let plan = self.plan(options)?;
        self.run_plan(plan, options).await
    }

    /// Runs `plan` (made by [`plan`](Self::plan) with the same `options`).
    pub async fn run_plan(
        &self,
        plan: Plan,
        options: &MaterializeOptions,
    ) -> Result<RunReport, Error> {
        let started = Instant::now();
        let run_id = new_run_id();
        let snapshot = match &self.catalog {
            Some(catalog) => Some(Arc::new(
                snapshot::load(catalog.clone(), &self.graph, &plan, self.tag.clone()).await?,
            )),
            None => None,
        };
        let steps = if options.dry_run {
            execute::dry_run(
                &self.graph,
                &self.io,
                &plan,
                execute::Rerun {
                    force: options.force,
                    verify: options.verify,
                },
                snapshot.as_deref(),
                &self.config,
            )
            .await
        } else {
            if let Some(catalog) = &self.catalog {
                snapshot::begin_run(catalog.clone(), &run_id, self.tag.clone()).await?;
            }
            let run = |at| listener::RunInfo {
                run_id: &run_id,
                tag: self.tag.as_deref(),
                at,
            };
            if let Some(to) = &self.listener {
                to.run_started(&run(chrono::Utc::now()));
            }
            let steps = execute::execute(
                self.graph.clone(),
                self.io.clone(),
                Arc::new(plan),
                execute::RunSettings {
                    run_id: Arc::from(run_id.as_str()),
                    jobs: options.jobs.max(1),
                    rerun: execute::Rerun {
                        force: options.force,
                        verify: options.verify,
                    },
                    observer: options.observer.clone(),
                    memory_budget: options.memory_budget,
                    catalog: self.catalog.clone(),
                    snapshot,
                    config: self.config.clone(),
                    tag: self.tag.clone(),
                    leases: self.leases,
                    cancel: options.cancel.clone(),
                    listener: self.listener.clone(),
                },
            )
            .await;
            let status = if is_cancelled(options.cancel.as_deref()) {
                RunStatus::Cancelled
            } else if steps.iter().any(|s| s.status == StepStatus::Failed) {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            };
            if let Some(catalog) = &self.catalog {
                snapshot::end_run(catalog.clone(), &run_id, status).await?;
            }
            if let Some(to) = &self.listener {
                to.run_finished(&run(chrono::Utc::now()), status);
            }
            steps
        };
        Ok(RunReport {
            run_id,
            steps,
            duration: started.elapsed(),
            dry_run: options.dry_run,
        })
    }
}

/// What partitions exist for `assets` and their direct upstreams as of
/// `now`: the keys of every dynamic partition set they use are read from
/// `catalog`.
pub fn key_space(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    assets: &[usize],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<KeySpace, Error> {
    let mut space = KeySpace::at(now);
    let mut sets = std::collections::BTreeSet::new();
    for &i in assets {
        for &a in std::iter::once(&i).chain(graph.upstream_of(i)) {
            if let PartitionsDef::Dynamic(set) = &graph.asset(a).partitions {
                sets.insert(set.name().to_owned());
            }
        }
    }
    for set in sets {
        let keys = catalog
            .partition_keys(&set)
            .map_err(|e| Error::Catalog(e.to_string()))?;
        space = space.with_dynamic(&set, keys)?;
    }
    Ok(space)
}

/// Whether `cancel` was set.
pub(crate) fn is_cancelled(cancel: Option<&std::sync::atomic::AtomicBool>) -> bool {
    cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
}

/// A run id: time, process and a per-process counter, so two runs started in
/// the same millisecond (by one process, or by two) still differ. Used in
/// provenance only, never in paths.
fn new_run_id() -> String {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = chrono::Utc::now();
    format!(
        "{}-{:x}-{n}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_of_one_process_never_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| super::new_run_id()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
