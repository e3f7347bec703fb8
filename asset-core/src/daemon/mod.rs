//! The daemon: schedules and automations in one long-lived process.
//!
//! Each pass (every second by default) asks the [`Evaluator`] what is due
//! and starts each [`Launch`] as an ordinary run of the existing
//! [`Materializer`] (its leases keep two builds of one asset-partition
//! apart), one after another. A failed run is recorded and the daemon goes
//! on. A schedule tick is *taken* in the catalog before its run starts (one
//! row per tick, refused the second time), so a restarted daemon never runs
//! a tick twice and resumes a catch-up where it stopped; a lock row in the
//! catalog keeps a second daemon on the same catalog out.
//!
//! After the launches, each pass checks the SLA deadlines
//! ([`SlaMonitor`]) and sends the `sla_at_risk` / `sla_breached` alerts and
//! recovery notices due.
//!
//! Time comes from a [`Clock`]: the system clock in production, a
//! [`ManualClock`] in tests (which never sleep).

pub mod clock;
pub mod evaluate;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::catalog::{DaemonLock, TickStatus, UnattendedStore, instant_text};
use crate::error::Error;
use crate::graph::Selection;
use crate::materialize::{MaterializeOptions, Materializer, PartitionSelection, RunReport};

pub use clock::{Clock, ManualClock, SystemClock};
pub use evaluate::{Decisions, Evaluator, Launch, Trigger, schedule_timezone};

use crate::freshness::SlaMonitor;

/// How long the daemon lock lasts unless renewed (each pass renews it).
pub const LOCK_TTL: Duration = Duration::from_secs(30);

/// The default pause between passes.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// How one launch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchStatus {
    /// Its run succeeded (or had nothing stale to do).
    Succeeded,
    /// Its run failed, or could not be planned.
    Failed,
    /// A tick with nothing to run.
    Skipped,
    /// A tick already taken (by this daemon before a restart, or another).
    AlreadyTaken,
    /// Not started: the daemon is shutting down.
    Cancelled,
}

/// One launch and what became of it.
#[derive(Debug)]
pub struct LaunchOutcome {
    /// What was launched.
    pub launch: Launch,
    /// How it ended.
    pub status: LaunchStatus,
    /// Its run's report, if it ran.
    pub report: Option<RunReport>,
    /// Why it failed or was skipped.
    pub message: Option<String>,
}

/// What one pass did.
#[derive(Debug)]
pub struct PassReport {
    /// The pass's time.
    pub at: DateTime<Utc>,
    /// How long deciding took (without running anything).
    pub evaluation: Duration,
    /// Each launch, in order.
    pub outcomes: Vec<LaunchOutcome>,
    /// The SLA alerts and recovery notices the deadline check raised after
    /// the launches (already recorded, and sent if alerts are routed).
    pub sla_alerts: Vec<crate::alert::Alert>,
}

impl PassReport {
    /// The outcomes of launches for `asset`.
    pub fn of(&self, asset: &str) -> impl Iterator<Item = &LaunchOutcome> {
        self.outcomes
            .iter()
            .filter(move |o| o.launch.asset == asset)
    }
}

/// Runs the schedules and automations of a materializer's graph.
pub struct Daemon {
    materializer: Materializer,
    store: Arc<UnattendedStore>,
    clock: Arc<dyn Clock>,
    holder: String,
    evaluator: Evaluator,
    sla: SlaMonitor,
    jobs: usize,
    alerts: Option<crate::alert::Deliverer>,
}

impl Daemon {
    /// A daemon running `materializer` (which has its catalog, IO managers
    /// and configuration) and keeping its state in `store`.
    pub fn new(
        materializer: Materializer,
        store: Arc<UnattendedStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let evaluator = Evaluator::new(materializer.graph());
        let sla = SlaMonitor::new(materializer.graph());
        // A per-process counter too: two daemons made in one millisecond
        // (tests, embedders) must not share a lock holder.
        static DAEMONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let holder = format!(
            "daemon-{}@{}-{}-{}",
            std::process::id(),
            host_name(),
            Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            DAEMONS.fetch_add(1, Ordering::Relaxed)
        );
        Self {
            materializer,
            store,
            clock,
            holder,
            evaluator,
            sla,
            jobs: num_cpus::get().max(1),
            alerts: None,
        }
    }

    /// Sends the alerts of every launched run through `deliverer`
    /// (deduplicated in the daemon's catalog).
    pub fn with_alerts(mut self, deliverer: crate::alert::Deliverer) -> Self {
        self.alerts = Some(deliverer);
        self
    }

    /// Stops sending alerts: waits up to the sinks' timeouts for the queued
    /// ones and returns those that could not be delivered (each logged).
    pub fn finish_alerts(&mut self) -> Vec<crate::alert::Undelivered> {
        self.alerts.take().map_or_else(Vec::new, |deliverer| {
            let wait = deliverer.default_wait();
            deliverer.finish(wait)
        })
    }

    /// Runs at most `jobs` steps at once in each run.
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// This daemon's id in the lock and the ticks it takes.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The materializer it launches runs with.
    pub fn materializer(&self) -> &Materializer {
        &self.materializer
    }

    /// How many schedules and automation conditions each pass evaluates.
    pub fn conditions(&self) -> usize {
        self.evaluator.conditions(self.materializer.graph())
    }

    /// How many assets with an SLA each pass checks the deadlines of.
    pub fn sla_assets(&self) -> usize {
        self.sla.assets()
    }

    /// Checks every SLA deadline now: the alerts and recovery notices due,
    /// already recorded in the catalog (not sent: a pass sends them).
    pub fn check_deadlines(&mut self) -> Result<Vec<crate::alert::Alert>, Error> {
        let now = self.clock.now();
        self.sla.check(&self.materializer, &self.store, now)
    }

    /// Takes (or renews) the daemon lock; another live daemon on the same
    /// catalog is a usage error naming it.
    pub fn lock(&self) -> Result<(), Error> {
        match self
            .store
            .acquire_daemon_lock(&self.holder, self.clock.now(), LOCK_TTL)
            .map_err(|e| Error::Catalog(e.to_string()))?
        {
            DaemonLock::Acquired => Ok(()),
            DaemonLock::HeldBy {
                holder,
                acquired_at,
                expires_at,
            } => Err(Error::Usage(format!(
                "another daemon ({holder}, since {acquired_at}) runs on catalog {}; stop it first (its lock lapses at {} if it died)",
                self.store.path().display(),
                instant_text(expires_at)
            ))),
        }
    }

    /// Gives the lock up (at shutdown).
    pub fn unlock(&self) {
        if let Err(e) = self.store.release_daemon_lock(&self.holder) {
            tracing::warn!("could not release the daemon lock: {e}");
        }
    }

    /// Decides what is due now, without running it (and without taking
    /// ticks): what a pass would launch.
    pub fn evaluate(&mut self) -> Result<Decisions, Error> {
        let now = self.clock.now();
        self.evaluator
            .evaluate(&self.materializer, &self.store, now)
    }

    /// One pass: renew the lock, decide, run each launch in order. A failed
    /// run is an outcome, not an error; errors are the catalog's.
    pub async fn pass(&mut self, cancel: Option<&Arc<AtomicBool>>) -> Result<PassReport, Error> {
        self.lock()?;
        let at = self.clock.now();
        let started = Instant::now();
        let decisions = self
            .evaluator
            .evaluate(&self.materializer, &self.store, at)?;
        let evaluation = started.elapsed();
        // Runs may outlast the lock: keep renewing it while they go on, so
        // a second daemon never takes over from a busy one.
        let renewal = (!decisions.launches.is_empty()).then(|| {
            let (store, holder, clock) =
                (self.store.clone(), self.holder.clone(), self.clock.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LOCK_TTL / 3).await;
                    if let Err(e) = store.acquire_daemon_lock(&holder, clock.now(), LOCK_TTL) {
                        tracing::warn!("could not renew the daemon lock: {e}");
                    }
                }
            })
        });
        let mut outcomes = Vec::with_capacity(decisions.launches.len());
        for launch in decisions.launches {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                outcomes.push(LaunchOutcome {
                    launch,
                    status: LaunchStatus::Cancelled,
                    report: None,
                    message: None,
                });
                continue;
            }
            match self.launch(launch, cancel).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    if let Some(renewal) = renewal {
                        renewal.abort();
                    }
                    return Err(e);
                }
            }
        }
        if let Some(renewal) = renewal {
            renewal.abort();
        }
        if let Some(cursor) = decisions.eager_cursor {
            self.store
                .set_cursor(evaluate::EAGER_CURSOR, cursor)
                .map_err(|e| Error::Catalog(e.to_string()))?;
        }
        // After the launches: what they materialized meets its deadline.
        let sla_alerts = self.sla.check(&self.materializer, &self.store, at)?;
        if let Some(deliverer) = &self.alerts {
            sla_alerts.iter().for_each(|a| deliverer.send(a.clone()));
        }
        Ok(PassReport {
            at,
            evaluation,
            outcomes,
            sla_alerts,
        })
    }

    /// Runs one launch (taking its tick first, for a schedule).
    async fn launch(
        &self,
        launch: Launch,
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Result<LaunchOutcome, Error> {
        let catalog_error = |e: crate::catalog::CatalogError| Error::Catalog(e.to_string());
        let partition_text = match &launch.partitions {
            PartitionSelection::None => None,
            PartitionSelection::One(key) => Some(key.clone()),
            PartitionSelection::Range { from, to } => Some(format!("{from}..{to}")),
        };
        let tick = match launch.trigger {
            Trigger::Tick(at) => Some(at),
            _ => None,
        };
        if let Some(at) = tick {
            let taken = self
                .store
                .take_tick(
                    &launch.asset,
                    at,
                    partition_text.as_deref(),
                    &self.holder,
                    self.clock.now(),
                )
                .map_err(catalog_error)?;
            if !taken {
                return Ok(LaunchOutcome {
                    launch,
                    status: LaunchStatus::AlreadyTaken,
                    report: None,
                    message: None,
                });
            }
            if let Some(why) = &launch.skip {
                tracing::info!("{}: {} skipped: {why}", launch.asset, launch.trigger);
                self.store
                    .finish_tick(
                        &launch.asset,
                        at,
                        TickStatus::Skipped,
                        None,
                        Some(why),
                        self.clock.now(),
                    )
                    .map_err(catalog_error)?;
                return Ok(LaunchOutcome {
                    message: launch.skip.clone(),
                    launch,
                    status: LaunchStatus::Skipped,
                    report: None,
                });
            }
        }
        tracing::info!(
            "{}{}: {}",
            launch.asset,
            partition_text
                .as_deref()
                .map_or_else(String::new, |p| format!(" {p}")),
            launch.trigger
        );
        let result = self.run(&launch, cancel).await;
        let (status, report, message) = match result {
            Ok(report) if report.succeeded() => (LaunchStatus::Succeeded, Some(report), None),
            Ok(report) => {
                let failed = report
                    .steps
                    .iter()
                    .find(|s| s.status == crate::materialize::StepStatus::Failed)
                    .and_then(|s| s.message.clone())
                    .unwrap_or_else(|| "a step failed".into());
                (LaunchStatus::Failed, Some(report), Some(failed))
            }
            Err(e) => (LaunchStatus::Failed, None, Some(e.to_string())),
        };
        if let (Some(deliverer), Some(report)) = (&self.alerts, &report) {
            // Alert bookkeeping never fails a launch: it is logged.
            match crate::alert::alerts_from_run(
                self.materializer.graph(),
                &self.store,
                report,
                self.clock.now(),
            ) {
                Ok(alerts) => alerts.into_iter().for_each(|a| deliverer.send(a)),
                Err(e) => tracing::error!("cannot record the alerts of run {}: {e}", report.run_id),
            }
        }
        if status == LaunchStatus::Failed {
            tracing::warn!(
                "{}: {} failed: {}",
                launch.asset,
                launch.trigger,
                message.as_deref().unwrap_or("")
            );
        }
        if let Some(at) = tick {
            let tick_status = if status == LaunchStatus::Succeeded {
                TickStatus::Succeeded
            } else {
                TickStatus::Failed
            };
            self.store
                .finish_tick(
                    &launch.asset,
                    at,
                    tick_status,
                    report.as_ref().map(|r| r.run_id.as_str()),
                    message.as_deref(),
                    self.clock.now(),
                )
                .map_err(catalog_error)?;
        }
        Ok(LaunchOutcome {
            launch,
            status,
            report,
            message,
        })
    }

    /// The materializer run for `launch`.
    async fn run(
        &self,
        launch: &Launch,
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Result<RunReport, Error> {
        let select = if launch.with_upstream {
            format!("+{}", launch.asset)
        } else {
            launch.asset.clone()
        };
        let (partition, from, to) = match &launch.partitions {
            PartitionSelection::None => (None, None, None),
            PartitionSelection::One(key) => (Some(key.clone()), None, None),
            PartitionSelection::Range { from, to } => (None, Some(from.clone()), Some(to.clone())),
        };
        let options = MaterializeOptions {
            selection: Selection::parse(&select)?,
            partition,
            from,
            to,
            now: Some(launch.now),
            jobs: self.jobs,
            cancel: cancel.cloned(),
            ..MaterializeOptions::default()
        };
        self.materializer.run(&options).await
    }

    /// Passes every `interval` until `cancel` is set (Ctrl-C, SIGTERM):
    /// then the running steps finish and are recorded, nothing new starts,
    /// and the lock is released. A pass that fails (the catalog is busy) is
    /// logged and the next one tries again.
    pub async fn run_until(
        &mut self,
        interval: Duration,
        cancel: Arc<AtomicBool>,
    ) -> Result<(), Error> {
        self.lock()?;
        tracing::info!(
            "daemon {} started: {} schedules and conditions, a pass every {}",
            self.holder,
            self.conditions(),
            crate::materialize::report::format_duration(interval)
        );
        while !cancel.load(Ordering::Relaxed) {
            match self.pass(Some(&cancel)).await {
                Ok(_) => {}
                // Another daemon took the lock over (this one stalled past
                // its lease): stop rather than run ticks twice.
                Err(e @ Error::Usage(_)) => {
                    self.unlock();
                    return Err(e);
                }
                Err(e) => tracing::warn!("daemon pass failed (retrying next pass): {e}"),
            }
            let deadline = Instant::now() + interval;
            while !cancel.load(Ordering::Relaxed) && Instant::now() < deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                tokio::time::sleep(left.min(Duration::from_millis(50))).await;
            }
        }
        self.unlock();
        tracing::info!("daemon {} stopped", self.holder);
        Ok(())
    }
}

/// This machine's name, for the lock holder (`localhost` if unknown).
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "localhost".into())
}
