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

mod bench;
mod codec;
mod error;
mod schema;
mod sqlite;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use crate::materialize::record::{InputVersion, MaterializationRecord};
pub use bench::{BenchFigures, bench};
pub use error::CatalogError;
pub use schema::SCHEMA_VERSION;
pub use sqlite::SqliteCatalog;

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
}
