//! The catalog: runs, materialization events with their provenance, failed
//! attempts and check results, queryable for status, history and lineage.
//!
//! [`Catalog`] is the interface; [`SqliteCatalog`] the embedded default (one
//! file under the storage root, [`DEFAULT_FILE_NAME`]). The sidecars written
//! beside the data remain the source of truth for what is published: a lost
//! or corrupt catalog is rebuilt from them with [`Catalog::replace_all`].
//!
//! # Keys
//!
//! Everything is keyed by asset, partition and tag. `None` partition means
//! an unpartitioned asset, `None` tag the production namespace; an empty
//! string is never a valid partition key or tag (records carrying one are
//! refused), so the two never mix.
//!
//! # Writes and ordering
//!
//! Writes that happen once per step ([`record_materialization`],
//! [`record_failure`], [`record_check`]) are queued and return at once; a
//! background writer commits them in batches, in the order they were
//! recorded. Writes that happen once per run ([`begin_run`], [`end_run`]) and
//! [`replace_all`] wait until committed and report their own errors. An error
//! committing a queued write is reported by the next [`flush`].
//!
//! Reads through a catalog see every write made through that same catalog
//! before the read began (a read waits for the queue to drain first), and
//! the writes of other processes committed by then.
//!
//! [`record_materialization`]: Catalog::record_materialization
//! [`record_failure`]: Catalog::record_failure
//! [`record_check`]: Catalog::record_check
//! [`begin_run`]: Catalog::begin_run
//! [`end_run`]: Catalog::end_run
//! [`replace_all`]: Catalog::replace_all
//! [`flush`]: Catalog::flush
//!
//! # Leases
//!
//! Two processes materializing the same selection on one catalog must not
//! compute the same asset-partition at once. Before a stale step computes,
//! its process takes a lease on the asset-partition
//! ([`acquire_lease`](Catalog::acquire_lease)): a row naming the holder (its
//! run id) and an expiry time, taken in a write transaction. Another holder
//! waits while the lease is held, and re-decides freshness once it gets the
//! lease (with the latest materialization the lease hands back). The holder
//! renews the lease while the step runs and releases it after recording the
//! materialization; release is queued behind that record, so whoever takes
//! the lease next sees the record. A holder killed mid-step stops renewing:
//! its lease expires and is taken over. Without a catalog there are no
//! leases (nothing shared to take them in).
//!
//! # Dynamic partitions and tags
//!
//! Dynamic partition sets keep their keys here, in the order they were
//! added ([`add_partitions`](Catalog::add_partitions)). Tagged namespaces
//! (`--tag NAME` runs) are listed by [`tags`](Catalog::tags), made production
//! one asset-partition at a time by [`promote`](Catalog::promote), and
//! dropped by [`discard_tag`](Catalog::discard_tag).

mod bench;
mod codec;
mod error;
mod schema;
mod sqlite;
#[cfg(test)]
mod tests;
mod unattended;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::materialize::record::{InputVersion, MaterializationRecord};
pub use bench::{BenchFigures, bench};
pub use error::CatalogError;
pub use schema::SCHEMA_VERSION;
pub use sqlite::SqliteCatalog;
pub use unattended::{
    DaemonLock, MaterializationEvent, OpenAlert, TickRecord, TickStatus, UnattendedStore,
    instant_text,
};

/// The catalog's file name under the storage root.
pub const DEFAULT_FILE_NAME: &str = "_catalog.sqlite";

/// One materialize (or other) command run, as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run id.
    pub run_id: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it ended (RFC 3339, UTC); `None` while running, or if the process
    /// died.
    pub finished_at: Option<String>,
    /// How it ended.
    pub status: RunStatus,
    /// The command line, as text, for people.
    pub command: String,
    /// The tagged namespace it wrote to (`None` for production).
    pub tag: Option<String>,
}

/// What one run recorded, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Asset-partitions materialized.
    pub materialized: u64,
    /// Asset-partitions whose last attempt in the run failed.
    pub failed: u64,
    /// Failed attempts, retried or not.
    pub failed_attempts: u64,
}

impl RunCounts {
    /// The counts of a run's materializations and failed attempts.
    pub fn of(materialized: &[MaterializationRecord], failures: &[FailureRecord]) -> Self {
        let built: std::collections::HashSet<(&str, Option<&str>, Option<&str>)> = materialized
            .iter()
            .map(|m| (m.asset.as_str(), m.partition.as_deref(), m.tag.as_deref()))
            .collect();
        let failed: std::collections::HashSet<(&str, Option<&str>, Option<&str>)> = failures
            .iter()
            .map(|f| (f.asset.as_str(), f.partition.as_deref(), f.tag.as_deref()))
            .filter(|key| !built.contains(key))
            .collect();
        Self {
            materialized: materialized.len() as u64,
            failed: failed.len() as u64,
            failed_attempts: failures.len() as u64,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Begun and not ended (or its process died).
    Running,
    /// Every step succeeded.
    Succeeded,
    /// At least one step failed.
    Failed,
    /// Stopped before the end (interrupted).
    Cancelled,
}

impl RunStatus {
    /// The stored text: `running`, `succeeded`, `failed`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            other => return Err(format!("unknown run status {other:?}")),
        })
    }
}

/// One failed attempt at materializing an asset-partition. Every attempt is
/// kept (a step retried three times before succeeding has three).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The run the attempt belonged to.
    pub run_id: String,
    /// The asset key.
    pub asset: String,
    /// The partition key, if partitioned.
    pub partition: Option<String>,
    /// The tagged namespace (`None` for production).
    pub tag: Option<String>,
    /// The attempt number within the run, from 1.
    pub attempt: u32,
    /// The error, as shown to the user.
    pub error: String,
    /// When the attempt started (RFC 3339, UTC).
    pub started_at: String,
    /// When it failed (RFC 3339, UTC).
    pub finished_at: String,
}

/// What a failing check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSeverity {
    /// A failure is recorded as a warning; the value is published anyway.
    Warn,
    /// A failure blocks publishing the value.
    Error,
}

impl CheckSeverity {
    /// The stored text: `warn` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckSeverity::Warn => "warn",
            CheckSeverity::Error => "error",
        }
    }

    /// Whether a failure blocks publishing.
    pub fn is_blocking(self) -> bool {
        self == CheckSeverity::Error
    }
}

impl fmt::Display for CheckSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckSeverity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "warn" => Ok(CheckSeverity::Warn),
            "error" => Ok(CheckSeverity::Error),
            other => Err(format!("unknown check severity {other:?}")),
        }
    }
}

/// The outcome of one check (or data contract) on one asset-partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The run that ran the check.
    pub run_id: String,
    /// The asset key.
    pub asset: String,
    /// The partition key, if partitioned.
    pub partition: Option<String>,
    /// The tagged namespace (`None` for production).
    pub tag: Option<String>,
    /// The check's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Whether a failure blocks publishing.
    pub severity: CheckSeverity,
    /// What it found, for people (empty when there is nothing to say).
    pub message: String,
    /// When it ran (RFC 3339, UTC).
    pub at: String,
}

/// A lease on an asset-partition: who is materializing it, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The asset key.
    pub asset: String,
    /// The partition key, if partitioned.
    pub partition: Option<String>,
    /// The tagged namespace (`None` for production).
    pub tag: Option<String>,
    /// Who holds it: the run id of the materializing run.
    pub holder: String,
    /// When the holder first took it (RFC 3339, UTC).
    pub acquired_at: String,
    /// When it lapses unless renewed (RFC 3339, UTC, millisecond precision).
    pub expires_at: String,
}

/// What [`Catalog::acquire_lease`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The lease is the caller's (new, taken over from a holder whose lease
    /// expired, or renewed because the caller already held it).
    Acquired {
        /// The asset-partition's latest materialization in the lease's
        /// namespace, read in the transaction that took the lease: what
        /// another holder recorded before releasing it is here, so the
        /// caller can tell whether the step is still stale.
        latest: Option<Box<MaterializationRecord>>,
    },
    /// Another holder has it and its lease has not expired.
    Held(LeaseInfo),
}

/// A tagged namespace, as [`Catalog::tags`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInfo {
    /// The tag.
    pub name: String,
    /// Asset-partitions materialized in the namespace (its latest entries).
    pub asset_partitions: u64,
    /// Asset-partitions of the namespace whose last attempt failed.
    pub failed: u64,
    /// The newest run begun with this tag, if any is recorded.
    pub last_run: Option<RunInfo>,
}

/// The production record that promoting `tagged` (the latest
/// materialization of an asset-partition in a tagged namespace) to
/// `production_uri` makes: the same data version, inputs, run, code, schema
/// and times, the production uri, no tag, and
/// [`promoted_from`](MaterializationRecord::promoted_from) naming the tag.
///
/// [`Catalog::promote`] records exactly this, so a caller can write the
/// promoted sidecar before recording the promotion. A record of production
/// (no tag) is returned unchanged but for the uri.
pub fn promoted_record(
    tagged: &MaterializationRecord,
    production_uri: &str,
) -> MaterializationRecord {
    MaterializationRecord {
        uri: production_uri.to_owned(),
        tag: None,
        promoted_from: tagged.tag.clone().or_else(|| tagged.promoted_from.clone()),
        ..tagged.clone()
    }
}

/// The catalog: where runs, materializations, failed attempts and check
/// results are recorded and queried.
///
/// Methods are synchronous (SQLite is): call them from async code through
/// `tokio::task::spawn_blocking`, except the queued writes
/// ([`record_materialization`](Catalog::record_materialization),
/// [`record_failure`](Catalog::record_failure),
/// [`record_check`](Catalog::record_check)), which only enqueue and are
/// cheap enough to call anywhere. See the [module docs](self) for ordering
/// and visibility.
///
/// Partition `None` is an unpartitioned asset; tag `None` is production.
pub trait Catalog: Send + Sync {
    /// Where the catalog is, for messages (a file path).
    fn location(&self) -> &str;

    /// Records the start of a run. Waits until committed; a run id already
    /// recorded is [`CatalogError::DuplicateRun`].
    fn begin_run(&self, run: &RunInfo) -> Result<(), CatalogError>;

    /// Records the end of a run begun with [`begin_run`](Catalog::begin_run).
    /// Waits until committed (with everything queued before it); an unknown
    /// run id is [`CatalogError::UnknownRun`].
    fn end_run(
        &self,
        run_id: &str,
        status: RunStatus,
        finished_at: &str,
    ) -> Result<(), CatalogError>;

    /// The last `limit` runs begun, newest first.
    fn runs(&self, limit: usize) -> Result<Vec<RunInfo>, CatalogError>;

    /// One run, if recorded.
    fn run(&self, run_id: &str) -> Result<Option<RunInfo>, CatalogError>;

    /// The last `limit` runs begun that ended as `status` (every run when
    /// `None`), newest first: `runs --status failed`. The default filters
    /// [`runs`](Catalog::runs).
    fn runs_with_status(
        &self,
        limit: usize,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunInfo>, CatalogError> {
        let all = self.runs(if status.is_some() { usize::MAX } else { limit })?;
        Ok(all
            .into_iter()
            .filter(|r| status.is_none_or(|s| r.status == s))
            .take(limit)
            .collect())
    }

    /// What a run recorded, counted: the `runs` listing. The default counts
    /// [`run_materializations`](Catalog::run_materializations) and
    /// [`run_failures`](Catalog::run_failures).
    fn run_counts(&self, run_id: &str) -> Result<RunCounts, CatalogError> {
        let materialized = self.run_materializations(run_id)?;
        let failures = self.run_failures(run_id)?;
        Ok(RunCounts::of(&materialized, &failures))
    }

    /// Records a materialization (and makes it its key's latest). Queued:
    /// returns at once, committed in the background; see
    /// [`flush`](Catalog::flush). A record with an empty partition key or tag
    /// is refused here.
    fn record_materialization(&self, record: &MaterializationRecord) -> Result<(), CatalogError>;

    /// Records a failed attempt (and marks its key's last attempt as
    /// failed, until a materialization of that key is recorded). Queued like
    /// [`record_materialization`](Catalog::record_materialization).
    fn record_failure(&self, failure: &FailureRecord) -> Result<(), CatalogError>;

    /// Records a check result. Queued like
    /// [`record_materialization`](Catalog::record_materialization).
    fn record_check(&self, check: &CheckResult) -> Result<(), CatalogError>;

    /// Waits until everything recorded so far through this catalog is
    /// committed (visible to every reader, and kept if the process dies),
    /// and reports the first error committing a queued write since the last
    /// flush, if any.
    fn flush(&self) -> Result<(), CatalogError>;

    /// The latest materialization of an asset-partition in a namespace.
    fn latest(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Option<MaterializationRecord>, CatalogError>;

    /// The latest materialization of every materialized partition of each
    /// asset in `assets`, in a namespace: grouped by asset in the order
    /// given, partitions in key order. Read from the `latest` index, never
    /// from the history: for `status` over big graphs.
    fn latest_for_assets(
        &self,
        assets: &[&str],
        tag: Option<&str>,
    ) -> Result<Vec<MaterializationRecord>, CatalogError>;

    /// Past materializations of an asset, newest first, at most `limit`:
    /// of one partition, or of all its partitions when `partition` is
    /// `None` (for an unpartitioned asset both are the same). Every tag.
    fn history(
        &self,
        asset: &str,
        partition: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MaterializationRecord>, CatalogError>;

    /// The materializations that read `data_version` of an asset-partition
    /// (downstream lineage), newest first, every tag.
    fn consumers(
        &self,
        asset: &str,
        partition: Option<&str>,
        data_version: &str,
    ) -> Result<Vec<MaterializationRecord>, CatalogError>;

    /// The materializations recorded by a run, in the order recorded.
    fn run_materializations(
        &self,
        run_id: &str,
    ) -> Result<Vec<MaterializationRecord>, CatalogError>;

    /// The latest failed attempt of an asset-partition, whether or not it
    /// was followed by a success.
    fn last_failure(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Option<FailureRecord>, CatalogError>;

    /// The failed attempts of an asset-partition, newest first, at most
    /// `limit`.
    fn failures(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FailureRecord>, CatalogError>;

    /// The failure, if the last attempt at an asset-partition failed: a
    /// failure recorded after its latest materialization (or with none).
    fn last_attempt_failed(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Option<FailureRecord>, CatalogError>;

    /// For each asset in `assets`, every partition whose last attempt failed,
    /// with that failure (grouped by asset in the order given, partitions in
    /// key order): the `failed` column of `status`.
    fn failed_for_assets(
        &self,
        assets: &[&str],
        tag: Option<&str>,
    ) -> Result<Vec<FailureRecord>, CatalogError>;

    /// Check results of an asset-partition, newest first, at most `limit`.
    fn checks(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CheckResult>, CatalogError>;

    /// Check results recorded by a run, in the order recorded.
    fn run_checks(&self, run_id: &str) -> Result<Vec<CheckResult>, CatalogError>;
    /// The first `limit` materializations recorded by a run, in the order
    /// recorded: a run's page shows a bounded timeline of a backfill of any
    /// size. The default reads them all and keeps the first `limit`.
    fn run_materializations_first(
        &self,
        run_id: &str,
        limit: usize,
    ) -> Result<Vec<MaterializationRecord>, CatalogError> {
        let mut all = self.run_materializations(run_id)?;
        all.truncate(limit);
        Ok(all)
    }
    /// The failed attempts recorded by a run, in the order recorded (a run's
    /// timeline shows them beside its materializations). The default knows
    /// none.
    fn run_failures(&self, run_id: &str) -> Result<Vec<FailureRecord>, CatalogError> {
        let _ = run_id;
        Ok(Vec::new())
    }

    /// Replaces every materialization (history, inputs, latest) with
    /// `records`, in one transaction: `catalog rebuild` from the sidecars.
    /// Returns how many were stored.
    ///
    /// When several records share a key, the last one given is its latest.
    /// Runs, failed attempts and check results are kept; a key's last
    /// attempt counts as failed when its latest failure finished after its
    /// rebuilt latest materialization (or it has none). Waits for queued
    /// writes first. A record with an empty partition key or tag fails the
    /// whole call, leaving the catalog as it was.
    fn replace_all(
        &self,
        records: &mut dyn Iterator<Item = MaterializationRecord>,
    ) -> Result<u64, CatalogError>;

    /// [`acquire_lease`](Catalog::acquire_lease) for many asset-partitions
    /// (`(asset, partition)` in namespace `tag`) in one write transaction:
    /// the outcome of each, in order. A run takes the leases of the steps it
    /// will surely write in one go, instead of one transaction per step.
    /// The default takes them one by one.
    fn acquire_leases(
        &self,
        keys: &[(&str, Option<&str>)],
        tag: Option<&str>,
        holder: &str,
        ttl: Duration,
    ) -> Result<Vec<LeaseOutcome>, CatalogError> {
        keys.iter()
            .map(|(asset, partition)| self.acquire_lease(asset, *partition, tag, holder, ttl))
            .collect()
    }

    /// Extends every lease `holder` has to `ttl` from now, in one write
    /// transaction; returns how many it has. The default renews nothing
    /// (holders then renew lease by lease).
    fn renew_leases_of(&self, holder: &str, ttl: Duration) -> Result<u64, CatalogError> {
        let _ = (holder, ttl);
        Ok(0)
    }

    /// Takes the lease on an asset-partition for `holder` (a run id) for
    /// `ttl`, in one write transaction, unless another holder's lease has
    /// not expired ([`LeaseOutcome::Held`]). A holder asking again renews
    /// its lease. Waits for the writes queued before it (so a release this
    /// catalog queued earlier is seen). See the [module docs](self#leases).
    fn acquire_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, CatalogError>;

    /// Extends `holder`'s lease to `ttl` from now. `false` if the holder no
    /// longer has it (it expired and another holder took it, or it was
    /// released): the step goes on, but another process may be computing
    /// the same asset-partition.
    fn renew_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, CatalogError>;

    /// Gives up `holder`'s lease (nothing if it does not hold it). Queued
    /// like [`record_materialization`](Catalog::record_materialization), and
    /// committed after everything recorded before it through this catalog:
    /// the next holder sees the materialization the holder recorded.
    fn release_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
    ) -> Result<(), CatalogError>;

    /// The leases that have not expired, by namespace, asset and partition.
    fn leases(&self) -> Result<Vec<LeaseInfo>, CatalogError>;

    /// Whether every process using this catalog runs on this machine, so a
    /// lease whose holder's process is gone can be taken over at once
    /// rather than after it expires. `false` by default (a catalog shared
    /// by several machines); SQLite's WAL mode works only between processes
    /// of one machine, so [`SqliteCatalog`] says `true`.
    fn holders_share_this_machine(&self) -> bool {
        false
    }

    /// Adds `keys` to the dynamic partition set `set`, after the keys it
    /// has, in the order given; keys already there keep their place (adding
    /// is idempotent). Returns how many were new. Every key is validated
    /// like a storage path segment first: one bad key adds nothing
    /// ([`CatalogError::InvalidRecord`] naming it).
    fn add_partitions(&self, set: &str, keys: &[&str]) -> Result<u64, CatalogError>;

    /// Removes `keys` from the dynamic partition set `set`; returns how many
    /// were there. Materializations of removed keys are kept (history).
    fn remove_partitions(&self, set: &str, keys: &[&str]) -> Result<u64, CatalogError>;

    /// The keys of the dynamic partition set `set`, in the order they were
    /// added (empty for an unknown set).
    fn partition_keys(&self, set: &str) -> Result<Vec<String>, CatalogError>;

    /// The tagged namespaces that have latest entries (materialized or
    /// failed asset-partitions), by name. A discarded tag is not listed.
    fn tags(&self) -> Result<Vec<TagInfo>, CatalogError>;

    /// Makes the latest materialization of an asset-partition in namespace
    /// `tag` the production latest, in one transaction: records
    /// [`promoted_record`] of it (published at `production_uri`) and returns
    /// it. The tag's entry stays until [`discard_tag`](Catalog::discard_tag).
    /// [`CatalogError::NothingToPromote`] if the tag has no materialization
    /// of it. Copy the files into production first (the catalog must never
    /// point at a file that is not there). `bytes`, when given, is the size
    /// of the production copy (it differs from the tagged file's when the
    /// record travels inside the value, as a Parquet footer).
    fn promote(
        &self,
        tag: &str,
        asset: &str,
        partition: Option<&str>,
        production_uri: &str,
        bytes: Option<u64>,
    ) -> Result<MaterializationRecord, CatalogError>;

    /// Removes every latest entry (materialized or failed) of namespace
    /// `tag`, so that it is no longer listed or read; the history, runs,
    /// failures and check results of the tag are kept. Returns how many
    /// entries were removed (0 for an unknown tag).
    fn discard_tag(&self, tag: &str) -> Result<u64, CatalogError>;
}
