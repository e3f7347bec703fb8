//! Leases: one process at a time materializes an asset-partition.
//!
//! Two `materialize` processes on the same storage root and catalog may run
//! the same selection. Before a step that will write (a stale step, or one
//! whose published value the catalog has not recorded yet) goes on, it takes
//! the asset-partition's lease in the catalog
//! ([`Catalog::acquire_lease`]),
//! holder = its run id:
//!
//! - held by another live holder: the step waits, polling with backoff
//!   (20 ms doubling to 500 ms), at most [`LeaseSettings::max_wait`], then
//!   fails naming the holder;
//! - once taken, if the catalog's latest materialization of the
//!   asset-partition differs from the run's snapshot (another process
//!   recorded it meanwhile, most likely the one it waited for), the step
//!   decides freshness again from storage, and is usually fresh: it is not
//!   computed twice;
//! - while the step runs, a task renews the lease every third of its
//!   time-to-live; once the materialization is recorded the lease is
//!   released (queued behind the record, so the next holder sees it);
//! - a holder that dies (SIGKILL) stops renewing: after
//!   [`LeaseSettings::ttl`] (30 s by default) its lease expires and another
//!   process takes it over. Sooner when the catalog's processes all run on
//!   one machine (SQLite): a holder whose process is gone (its pid, part of
//!   the run id, no longer runs) is taken over at once, so rerunning right
//!   after a `kill -9` does not wait. A holder that is alive but stuck (a
//!   stopped process) is taken over only once its lease expires.
//!
//! Without a catalog there are no leases: two processes on one root without
//! a catalog may compute the same asset-partition twice (each write is still
//! atomic, so neither leaves a corrupt file).
//!
//! The holder of a lease also knows nobody else writes the asset-partition,
//! so it removes the staged uploads a killed process left there before
//! writing (`sweep_staged`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use io_managers::{IoManager, Location};

use crate::catalog::{Catalog, LeaseOutcome};
use crate::materialize::record::MaterializationRecord;
use crate::materialize::snapshot::Snapshot;
use crate::retry::parse_duration;
use crate::staleness::PartKey;

/// Environment variable overriding [`LeaseSettings::ttl`] (`30s`, `1500ms`).
pub const TTL_ENV: &str = "ASSETFLOW_LEASE_TTL";
/// Environment variable overriding [`LeaseSettings::max_wait`] (`15m`).
pub const MAX_WAIT_ENV: &str = "ASSETFLOW_LEASE_MAX_WAIT";

/// Staged uploads untouched for this long are swept even without a lease
/// (no catalog): no live upload goes that long without writing.
pub const ABANDONED_UPLOAD_AGE: Duration = Duration::from_secs(3600);

/// How long leases last and how long a step waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSettings {
    /// How long a lease lasts unless renewed: how long after its holder
    /// dies another process may take over. Renewed every third of it.
    /// Default 30 s.
    pub ttl: Duration,
    /// How long a step waits for a lease another process holds before it
    /// fails. Default 15 minutes.
    pub max_wait: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(30),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

impl LeaseSettings {
    /// The defaults, overridden by [`TTL_ENV`] and [`MAX_WAIT_ENV`].
    pub fn from_env() -> Result<Self, String> {
        Self::from_values(
            std::env::var(TTL_ENV).ok().as_deref(),
            std::env::var(MAX_WAIT_ENV).ok().as_deref(),
        )
    }

    /// The defaults, overridden by the given values (`250ms`, `30s`, `5m`).
    pub fn from_values(ttl: Option<&str>, max_wait: Option<&str>) -> Result<Self, String> {
        let parse = |name: &str, text: &str| {
            parse_duration(text.trim())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    format!(
                        "{name}={text:?} is not a duration (write a whole number and a unit: 1500ms, 30s, 5m)"
                    )
                })
        };
        let mut settings = Self::default();
        if let Some(text) = ttl {
            settings.ttl = parse(TTL_ENV, text)?;
        }
        if let Some(text) = max_wait {
            settings.max_wait = parse(MAX_WAIT_ENV, text)?;
        }
        Ok(settings)
    }

    /// The settings from the environment; on a bad value, a warning naming
    /// it and the defaults.
    pub(crate) fn from_env_or_default() -> Self {
        Self::from_env().unwrap_or_else(|e| {
            tracing::warn!("{e}; using the default lease settings");
            Self::default()
        })
    }
}

/// The asset-partition a lease is for.
pub(super) struct Target {
    /// The asset key.
    pub asset: String,
    /// The partition key, if partitioned.
    pub partition: Option<String>,
    /// The tagged namespace, `None` for production.
    pub tag: Option<String>,
    /// How messages name it (`sales [2024-01-01]`).
    pub name: String,
}

/// A lease this run holds: renewed in the background until dropped, then
/// released (queued behind everything this run recorded before).
pub(super) struct LeaseGuard {
    catalog: Arc<dyn Catalog>,
    target: Target,
    holder: Arc<str>,
    /// Renews this lease alone; `None` for a lease taken with the run's
    /// (renewed with all of them by [`RunLeases`]).
    renewer: Option<tokio::task::JoinHandle<()>>,
}

impl LeaseGuard {
    /// The guard of a lease [`RunLeases`] took for `target`.
    pub(super) fn claimed(catalog: Arc<dyn Catalog>, target: Target, holder: Arc<str>) -> Self {
        Self {
            catalog,
            target,
            holder,
            renewer: None,
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        if let Some(renewer) = &self.renewer {
            renewer.abort();
        }
        let t = &self.target;
        if let Err(e) = self.catalog.release_lease(
            &t.asset,
            t.partition.as_deref(),
            t.tag.as_deref(),
            &self.holder,
        ) {
            // It expires on its own.
            tracing::warn!("cannot release the lease on {}: {e}", t.name);
        }
    }
}

/// Whether a step decided `fresh` (or not) needs the lease: it will write
/// when stale, or when fresh but missing from the run's snapshot (its
/// published value gets recorded in the catalog).
pub(super) fn needed(fresh: bool, snapshot: Option<&Snapshot>, key: &PartKey) -> bool {
    !fresh || snapshot.is_some_and(|s| !s.latest.contains_key(key))
}

/// Whether the catalog's latest record in namespace `tag`, read when the
/// lease was taken, differs from the run's snapshot: then freshness must be
/// decided again. (A tagged run's snapshot also holds production records
/// where the tag has none; those are not the tag's.)
pub(super) fn changed(
    snapshot: Option<&Snapshot>,
    key: &PartKey,
    tag: Option<&str>,
    latest: Option<&MaterializationRecord>,
) -> bool {
    let before = snapshot
        .and_then(|s| s.latest.get(key))
        .filter(|r| r.tag.as_deref() == tag);
    match (before, latest) {
        (None, None) => false,
        (Some(a), Some(b)) => !same(a, b),
        _ => true,
    }
}

/// Whether two records describe the same materialization.
pub(super) fn same(a: &MaterializationRecord, b: &MaterializationRecord) -> bool {
    a.run_id == b.run_id && a.data_version == b.data_version && a.finished_at == b.finished_at
}

/// Takes the lease on `target` for `holder`, waiting while another live
/// holder has it (bounded by `settings.max_wait`). Returns the guard and the
/// catalog's latest materialization of the target at that moment.
pub(super) async fn acquire(
    catalog: Arc<dyn Catalog>,
    settings: LeaseSettings,
    target: Target,
    holder: Arc<str>,
) -> Result<(LeaseGuard, Option<MaterializationRecord>), String> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        let outcome = {
            let catalog = catalog.clone();
            let asset = target.asset.clone();
            let partition = target.partition.clone();
            let tag = target.tag.clone();
            let holder = holder.clone();
            tokio::task::spawn_blocking(move || {
                catalog.acquire_lease(
                    &asset,
                    partition.as_deref(),
                    tag.as_deref(),
                    &holder,
                    settings.ttl,
                )
            })
            .await
            .map_err(|e| format!("taking the lease on {} failed: {e}", target.name))?
            .map_err(|e| format!("cannot take the lease on {}: {e}", target.name))?
        };
        match outcome {
            LeaseOutcome::Acquired { latest } => {
                let renewer = tokio::spawn(renew(
                    catalog.clone(),
                    settings.ttl,
                    Target {
                        asset: target.asset.clone(),
                        partition: target.partition.clone(),
                        tag: target.tag.clone(),
                        name: target.name.clone(),
                    },
                    holder.clone(),
                ));
                let guard = LeaseGuard {
                    catalog,
                    target,
                    holder,
                    renewer: Some(renewer),
                };
                return Ok((guard, latest.map(|r| *r)));
            }
            LeaseOutcome::Held(info) => {
                if catalog.holders_share_this_machine() && process_gone(&info.holder) {
                    tracing::info!(
                        "run {} holding the lease on {} is gone (its process exited); taking over",
                        info.holder,
                        target.name
                    );
                    // Queued before the next attempt, which sees it.
                    catalog
                        .release_lease(
                            &target.asset,
                            target.partition.as_deref(),
                            target.tag.as_deref(),
                            &info.holder,
                        )
                        .map_err(|e| format!("cannot take the lease on {}: {e}", target.name))?;
                    continue;
                }
                let waited = started.elapsed();
                if waited >= settings.max_wait {
                    return Err(format!(
                        "{} is being materialized by run {} (its lease runs until {}); gave up after waiting {:.0} s",
                        target.name,
                        info.holder,
                        info.expires_at,
                        waited.as_secs_f64()
                    ));
                }
                tracing::debug!(
                    "{} is being materialized by run {}; waiting",
                    target.name,
                    info.holder
                );
                tokio::time::sleep(pause.min(settings.max_wait - waited)).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// Whether the process of run `holder` is known to be gone: its run id is
/// `<time>-<pid in hex>-<n>` and no process with that pid runs here. Unknown
/// formats, other systems than Linux and a reused pid all count as alive
/// (the lease then expires on its own).
fn process_gone(holder: &str) -> bool {
    let Some(pid) = holder
        .split('-')
        .nth(1)
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
    else {
        return false;
    };
    if pid == std::process::id() {
        return false;
    }
    cfg!(target_os = "linux")
        && matches!(
            std::fs::metadata(format!("/proc/{pid}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound
        )
}

/// Renews the lease every third of `ttl` until aborted (or lost).
async fn renew(catalog: Arc<dyn Catalog>, ttl: Duration, target: Target, holder: Arc<str>) {
    let period = (ttl / 3).max(Duration::from_millis(10));
    let target = Arc::new(target);
    loop {
        tokio::time::sleep(period).await;
        let catalog = catalog.clone();
        let t = target.clone();
        let h = holder.clone();
        let renewed = tokio::task::spawn_blocking(move || {
            catalog.renew_lease(&t.asset, t.partition.as_deref(), t.tag.as_deref(), &h, ttl)
        })
        .await;
        match renewed {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                tracing::warn!(
                    "the lease on {} expired while its step ran (was the process paused?): another process may be computing it too",
                    target.name
                );
                return;
            }
            Ok(Err(e)) => tracing::warn!("cannot renew the lease on {}: {e}", target.name),
            Err(e) => tracing::warn!("renewing the lease on {} failed: {e}", target.name),
        }
    }
}

/// Removes staged uploads a killed process left at `location` before the
/// step writes there: all of them when the caller holds the lease (nobody
/// else writes there), those untouched for [`ABANDONED_UPLOAD_AGE`]
/// otherwise. A failure is only logged: the step can still write.
pub(super) async fn sweep_staged(io: &dyn IoManager, location: &Location, leased: bool) {
    let age = if leased {
        Duration::ZERO
    } else {
        ABANDONED_UPLOAD_AGE
    };
    match io.sweep_staged(location, age).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("removed {n} staged upload(s) a killed run left at {location}"),
        Err(e) => tracing::warn!("cannot sweep staged uploads at {location}: {e}"),
    }
}

/// At most this many leases are taken in one transaction at run start.
const LEASES_PER_TRANSACTION: usize = 4096;

/// The leases a run takes at its start, in a few transactions, for the
/// steps it will surely write (never materialized, last attempt failed, or
/// forced): one transaction per step would cost more than a small step.
/// One task renews them all (and the run's other leases) every third of
/// their time-to-live; each step claims its own, and its guard releases it.
/// Leases no step claims (a step found fresh, or skipped) are released by
/// the step or when the run ends.
pub(super) struct RunLeases {
    catalog: Arc<dyn Catalog>,
    holder: Arc<str>,
    tag: Option<String>,
    /// Taken and not yet claimed: the key's latest record when taken.
    taken: std::sync::Mutex<std::collections::HashMap<PartKey, Option<MaterializationRecord>>>,
    renewer: tokio::task::JoinHandle<()>,
}

impl RunLeases {
    /// Takes the leases of `keys` for `holder` in namespace `tag`; keys
    /// another process holds are left to the per-step [`acquire`].
    pub(super) async fn take(
        catalog: Arc<dyn Catalog>,
        settings: LeaseSettings,
        holder: Arc<str>,
        tag: Option<String>,
        keys: Vec<PartKey>,
    ) -> Result<Self, String> {
        let mut taken = std::collections::HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(LEASES_PER_TRANSACTION) {
            let chunk = chunk.to_vec();
            let c = catalog.clone();
            let h = holder.clone();
            let t = tag.clone();
            let outcomes = tokio::task::spawn_blocking(move || {
                let refs: Vec<(&str, Option<&str>)> = chunk
                    .iter()
                    .map(|(a, p)| (a.as_str(), p.as_deref()))
                    .collect();
                c.acquire_leases(&refs, t.as_deref(), &h, settings.ttl)
                    .map(|outcomes| (chunk, outcomes))
            })
            .await
            .map_err(|e| format!("taking the run's leases failed: {e}"))?
            .map_err(|e| format!("cannot take the run's leases: {e}"))?;
            let (chunk, outcomes) = outcomes;
            for (key, outcome) in chunk.into_iter().zip(outcomes) {
                if let LeaseOutcome::Acquired { latest } = outcome {
                    taken.insert(key, latest.map(|r| *r));
                }
            }
        }
        let renewer = tokio::spawn(renew_all(catalog.clone(), settings.ttl, holder.clone()));
        Ok(Self {
            catalog,
            holder,
            tag,
            taken: std::sync::Mutex::new(taken),
            renewer,
        })
    }

    /// The lease of `target` if the run took it: its guard and the latest
    /// record when it was taken.
    pub(super) fn claim(
        &self,
        key: &PartKey,
        target: Target,
    ) -> Option<(LeaseGuard, Option<MaterializationRecord>)> {
        let latest = self.taken.lock().ok()?.remove(key)?;
        Some((
            LeaseGuard::claimed(self.catalog.clone(), target, self.holder.clone()),
            latest,
        ))
    }

    /// Gives back the lease of a step that turned out not to need it.
    pub(super) fn release_unclaimed(&self, key: &PartKey) {
        let was_taken = self
            .taken
            .lock()
            .ok()
            .and_then(|mut taken| taken.remove(key))
            .is_some();
        if was_taken
            && let Err(e) = self.catalog.release_lease(
                &key.0,
                key.1.as_deref(),
                self.tag.as_deref(),
                &self.holder,
            )
        {
            tracing::warn!("cannot release the lease on {} [{:?}]: {e}", key.0, key.1);
        }
    }
}

impl Drop for RunLeases {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

/// Renews every lease of `holder` every third of `ttl`.
async fn renew_all(catalog: Arc<dyn Catalog>, ttl: Duration, holder: Arc<str>) {
    let period = (ttl / 3).max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(period).await;
        let c = catalog.clone();
        let h = holder.clone();
        match tokio::task::spawn_blocking(move || c.renew_leases_of(&h, ttl)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("cannot renew the run's leases: {e}"),
            Err(e) => tracing::warn!("renewing the run's leases failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::catalog::SqliteCatalog;

    #[test]
    fn settings_default_to_thirty_seconds_and_read_durations() {
        assert_eq!(
            LeaseSettings::from_values(None, None).unwrap(),
            LeaseSettings::default()
        );
        assert_eq!(LeaseSettings::default().ttl, Duration::from_secs(30));
        let s = LeaseSettings::from_values(Some("1500ms"), Some("2m")).unwrap();
        assert_eq!(s.ttl, Duration::from_millis(1500));
        assert_eq!(s.max_wait, Duration::from_secs(120));
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for bad in ["", "10", "1.5s", "0s", "soon"] {
            let err = LeaseSettings::from_values(Some(bad), None).unwrap_err();
            assert!(err.contains(TTL_ENV), "{err}");
        }
        let err = LeaseSettings::from_values(None, Some("x")).unwrap_err();
        assert!(err.contains(MAX_WAIT_ENV), "{err}");
    }

    fn record(run: &str) -> MaterializationRecord {
        MaterializationRecord {
            asset: "a".into(),
            partition: None,
            run_id: run.into(),
            code_version: "c".into(),
            data_version: "d".into(),
            inputs: Vec::new(),
            uri: "file:///a".into(),
            rows: 1,
            bytes: 1,
            started_at: "s".into(),
            finished_at: "f".into(),
            framework_version: "0".into(),
            config_hash: None,
            git_commit: "unknown".into(),
            schema: None,
            tag: None,
            promoted_from: None,
        }
    }

    #[test]
    fn a_step_needs_the_lease_when_it_will_write() {
        let key: PartKey = ("a".into(), None);
        let mut snapshot = Snapshot::default();
        assert!(needed(false, None, &key), "stale steps write");
        assert!(
            !needed(true, None, &key),
            "fresh steps without a catalog do not"
        );
        assert!(
            needed(true, Some(&snapshot), &key),
            "an unrecorded value gets recorded"
        );
        snapshot.latest.insert(key.clone(), record("r1"));
        assert!(!needed(true, Some(&snapshot), &key));
    }

    #[test]
    fn freshness_is_decided_again_when_the_catalog_moved_on() {
        let key: PartKey = ("a".into(), None);
        let mut snapshot = Snapshot::default();
        assert!(!changed(Some(&snapshot), &key, None, None));
        assert!(changed(Some(&snapshot), &key, None, Some(&record("r2"))));
        snapshot.latest.insert(key.clone(), record("r1"));
        assert!(!changed(Some(&snapshot), &key, None, Some(&record("r1"))));
        assert!(changed(Some(&snapshot), &key, None, Some(&record("r2"))));
        assert!(changed(Some(&snapshot), &key, None, None));
        // A tagged run's snapshot shows production where the tag has
        // nothing: the tag's empty latest is no change.
        assert!(!changed(Some(&snapshot), &key, Some("bf"), None));
        let mut tagged = record("r3");
        tagged.tag = Some("bf".into());
        assert!(changed(Some(&snapshot), &key, Some("bf"), Some(&tagged)));
    }

    fn target() -> Target {
        Target {
            asset: "a".into(),
            partition: Some("2024-01-01".into()),
            tag: None,
            name: "a [2024-01-01]".into(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_step_gets_the_lease_once_released_and_sees_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> =
            Arc::new(SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap());
        let settings = LeaseSettings::default();
        let (first, latest) = acquire(catalog.clone(), settings, target(), Arc::from("r1"))
            .await
            .unwrap();
        assert_eq!(latest, None);
        let waiter = tokio::spawn(acquire(
            catalog.clone(),
            settings,
            target(),
            Arc::from("r2"),
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "the lease is held");
        let mut done = record("r1");
        done.partition = Some("2024-01-01".into());
        catalog.record_materialization(&done).unwrap();
        drop(first);
        let (_second, latest) = waiter.await.unwrap().unwrap();
        assert_eq!(latest, Some(done));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_lease_renews_past_its_ttl_and_waiting_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> =
            Arc::new(SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap());
        let settings = LeaseSettings {
            ttl: Duration::from_millis(150),
            max_wait: Duration::from_millis(400),
        };
        let (_held, _) = acquire(catalog.clone(), settings, target(), Arc::from("r1"))
            .await
            .unwrap();
        let started = Instant::now();
        let err = acquire(catalog.clone(), settings, target(), Arc::from("r2"))
            .await
            .err()
            .unwrap();
        // Still held after more than two TTLs: it was renewed.
        assert!(started.elapsed() >= Duration::from_millis(400));
        assert!(
            err.contains("a [2024-01-01] is being materialized by run r1"),
            "{err}"
        );
        assert!(err.contains("gave up after waiting"), "{err}");
    }

    #[test]
    fn only_holders_whose_process_is_gone_count_as_gone() {
        let me = format!("20240101T000000.000Z-{:x}-0", std::process::id());
        assert!(!process_gone(&me));
        assert!(!process_gone("dead"), "an id without a pid is not judged");
        assert!(!process_gone("x-zz-0"));
        if cfg!(target_os = "linux") {
            // Pids are below 2^22 on Linux: this one cannot run.
            assert!(process_gone("20240101T000000.000Z-7fffffff-0"));
            assert!(!process_gone("20240101T000000.000Z-1-0"), "init runs");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_holder_whose_process_is_gone_is_taken_over_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> =
            Arc::new(SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap());
        let t = target();
        let gone = "20240101T000000.000Z-7fffffff-0";
        catalog
            .acquire_lease(
                &t.asset,
                t.partition.as_deref(),
                None,
                gone,
                LeaseSettings::default().ttl,
            )
            .unwrap();
        let started = Instant::now();
        let (_guard, _) = acquire(
            catalog.clone(),
            LeaseSettings::default(),
            target(),
            Arc::from("r2"),
        )
        .await
        .unwrap();
        if cfg!(target_os = "linux") {
            assert!(started.elapsed() < Duration::from_secs(5));
        }
        assert_eq!(catalog.leases().unwrap()[0].holder, "r2");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lease_whose_holder_stopped_renewing_is_taken_over_after_its_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let catalog: Arc<dyn Catalog> =
            Arc::new(SqliteCatalog::open(dir.path().join("c.sqlite")).unwrap());
        let ttl = Duration::from_millis(200);
        // A holder that died: a lease row nobody renews.
        let t = target();
        catalog
            .acquire_lease(&t.asset, t.partition.as_deref(), None, "dead", ttl)
            .unwrap();
        let started = Instant::now();
        let settings = LeaseSettings {
            ttl,
            max_wait: Duration::from_secs(10),
        };
        let (_guard, _) = acquire(catalog, settings, target(), Arc::from("alive"))
            .await
            .unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }
}
