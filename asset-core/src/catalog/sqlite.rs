//! [`SqliteCatalog`]: the catalog in one embedded SQLite file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use super::codec;
use super::error::{CatalogError, is_busy};
use super::{
    Catalog, CheckResult, CheckSeverity, FailureRecord, LeaseInfo, LeaseOutcome,
    MaterializationRecord, RunCounts, RunInfo, RunStatus, TagInfo, promoted_record, schema,
};

/// How long SQLite itself waits for a lock before answering "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write keeps retrying a busy catalog before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(60);
/// At most this many queued commands are committed in one transaction.
const MAX_BATCH: usize = 4096;
/// Schemas whose ids the writer remembers (then it forgets them all).
const SCHEMA_CACHE: usize = 4096;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// The catalog in one SQLite file (bundled SQLite: nothing to install).
///
/// # Connections
///
/// - One write connection, owned by a background thread ("the writer") fed
///   by a channel. It takes every queued command waiting (up to 4,096) and
///   commits them in one `BEGIN IMMEDIATE` transaction, so a run recording
///   thousands of materializations pays one commit per batch, not per
///   record, and the caller never waits for SQLite.
/// - Read connections, pooled: each read is one transaction (one consistent
///   snapshot; WAL readers never block the writer nor each other).
///
/// # Concurrency between processes
///
/// Any number of processes (or `SqliteCatalog`s) may use one file. WAL
/// journal, a busy timeout of 10 s, and every write transaction `IMMEDIATE`
/// (it takes the write lock up front, so it never has to upgrade a read
/// snapshot, which SQLite refuses with "database is locked" without
/// waiting). A batch still refused after the timeout is retried for up to
/// a minute; only then is it [`CatalogError::Locked`]. Which of two
/// concurrent materializations of one key is its latest is decided by the
/// order of their commits.
///
/// # Durability
///
/// `synchronous = NORMAL`: a committed batch survives the process dying; a
/// power loss may lose the last batches (the sidecars still have them:
/// `catalog rebuild` restores them).
///
/// Dropping it waits for the queued writes to be committed (errors then
/// are logged: call [`flush`](Catalog::flush) or [`close`](Self::close)
/// to see them).
pub struct SqliteCatalog {
    path: PathBuf,
    location: String,
    sender: Option<Sender<Command>>,
    /// Commands sent to the writer so far.
    submitted: AtomicU64,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
    readers: Mutex<Vec<Connection>>,
    /// Opened with [`open_read_only`](SqliteCatalog::open_read_only): no
    /// writer, and read connections that cannot create or change anything.
    read_only: bool,
}

impl std::fmt::Debug for SqliteCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteCatalog")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What the writer tells the callers.
struct Shared {
    state: Mutex<WriterState>,
    changed: Condvar,
}

struct WriterState {
    /// Commands handled (committed or failed) so far.
    processed: u64,
    /// The first error of a queued write since the last flush.
    error: Option<CatalogError>,
    /// The writer thread has ended.
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WriterState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `target` commands are handled or the writer stopped.
    fn wait_for(&self, target: u64) -> MutexGuard<'_, WriterState> {
        let mut state = self.lock();
        while state.processed < target && !state.stopped {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
    }
}

/// A queued write.
struct Command {
    op: Op,
    /// Where to send the outcome; `None`: report errors at the next flush.
    reply: Option<SyncSender<Result<Reply, CatalogError>>>,
}

/// What a committed command answers.
#[derive(Clone)]
enum Reply {
    /// Nothing to say.
    Done,
    /// [`Op::AcquireLease`].
    Lease(LeaseOutcome),
    /// [`Op::AcquireLeases`], in order.
    Leases(Vec<LeaseOutcome>),
    /// [`Op::RenewLease`]: whether the holder still had the lease.
    Renewed(bool),
    /// How many rows the command added or removed.
    Count(u64),
    /// [`Op::Promote`]: the production record.
    Promoted(Box<MaterializationRecord>),
}

/// The key of a lease, as stored (`''` for no partition or tag).
struct LeaseKey {
    tag: String,
    asset: String,
    partition: String,
}

impl LeaseKey {
    fn new(asset: &str, partition: Option<&str>, tag: Option<&str>) -> Self {
        LeaseKey {
            tag: key(tag).to_owned(),
            asset: asset.to_owned(),
            partition: key(partition).to_owned(),
        }
    }
}

enum Op {
    Materialization(Box<MaterializationRecord>),
    Failure(Box<FailureRecord>),
    Check(Box<CheckResult>),
    BeginRun(Box<RunInfo>),
    EndRun {
        run_id: String,
        status: RunStatus,
        finished_at: String,
    },
    AcquireLease {
        key: LeaseKey,
        holder: String,
        ttl: Duration,
    },
    AcquireLeases {
        keys: Vec<LeaseKey>,
        holder: String,
        ttl: Duration,
    },
    RenewLease {
        key: LeaseKey,
        holder: String,
        ttl: Duration,
    },
    RenewLeasesOf {
        holder: String,
        ttl: Duration,
    },
    ReleaseLease {
        key: LeaseKey,
        holder: String,
    },
    AddPartitions {
        set: String,
        keys: Vec<String>,
        added_at: String,
    },
    RemovePartitions {
        set: String,
        keys: Vec<String>,
    },
    Promote {
        tag: String,
        asset: String,
        partition: Option<String>,
        uri: String,
        bytes: Option<u64>,
    },
    DiscardTag {
        tag: String,
    },
}

impl SqliteCatalog {
    /// Opens the catalog at `path`, creating it (and its folder) if missing,
    /// and migrating it to [`SCHEMA_VERSION`](super::SCHEMA_VERSION).
    ///
    /// Refuses, naming the file: a file that is not a SQLite database or is
    /// truncated ([`CatalogError::Corrupt`]), another application's database
    /// ([`CatalogError::NotACatalog`]), a catalog from a newer assetflow
    /// ([`CatalogError::NewerSchema`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref().to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| CatalogError::Io {
                path: path.clone(),
                source: Arc::new(e),
            })?;
        }
        schema::check_file(&path)?;
        let mut conn = open_connection(&path, false)?;
        retry_busy(&path, || {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), mode, "the catalog cannot use WAL");
            }
            Ok(())
        })?;
        let start = Instant::now();
        loop {
            match schema::migrate(&mut conn, &path) {
                Err(CatalogError::Sqlite { source, .. })
                    if is_busy(&source) && start.elapsed() < LOCK_PATIENCE =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(CatalogError::Sqlite { source, .. }) if is_busy(&source) => {
                    return Err(CatalogError::Locked {
                        path,
                        waited: start.elapsed(),
                    });
                }
                other => break other?,
            }
        }

        let shared = Arc::new(Shared {
            state: Mutex::new(WriterState {
                processed: 0,
                error: None,
                stopped: false,
            }),
            changed: Condvar::new(),
        });
        let (sender, receiver) = mpsc::channel();
        let writer = Writer {
            conn,
            path: path.clone(),
            schema_ids: HashMap::new(),
        };
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("assetflow-catalog".into())
            .spawn(move || writer.run(receiver, thread_shared))
            .map_err(|e| CatalogError::Io {
                path: path.clone(),
                source: Arc::new(e),
            })?;
        Ok(SqliteCatalog {
            location: path.display().to_string(),
            path,
            sender: Some(sender),
            submitted: AtomicU64::new(0),
            shared,
            writer: Some(handle),
            readers: Mutex::new(Vec::new()),
            read_only: false,
        })
    }

    /// Opens an existing catalog for reading only, for the commands that
    /// inspect (`status`, `why`, `lineage`, ...): nothing is created,
    /// migrated or written, so they work on a read-only root and leave a
    /// root exactly as they found it. Every write is refused
    /// ([`CatalogError::WriterStopped`]).
    ///
    /// A missing file is [`CatalogError::Io`] (not found); the refusals of
    /// [`open`](Self::open) apply, and a catalog of an older schema is
    /// refused too (migrating it would write).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref().to_owned();
        if let Err(e) = std::fs::metadata(&path) {
            return Err(CatalogError::Io {
                path,
                source: Arc::new(e),
            });
        }
        schema::check_file(&path)?;
        let conn = open_read_only_connection(&path)?;
        schema::check_current(&conn, &path)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(WriterState {
                processed: 0,
                error: None,
                stopped: true,
            }),
            changed: Condvar::new(),
        });
        Ok(SqliteCatalog {
            location: path.display().to_string(),
            path,
            sender: None,
            submitted: AtomicU64::new(0),
            shared,
            writer: None,
            readers: Mutex::new(vec![conn]),
            read_only: true,
        })
    }

    /// The catalog file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits what is queued, stops the writer and closes the file,
    /// reporting any error not yet reported.
    pub fn close(mut self) -> Result<(), CatalogError> {
        let flushed = self.flush();
        self.stop_writer();
        flushed
    }

    fn stop_writer(&mut self) {
        self.sender = None;
        if let Some(handle) = self.writer.take()
            && handle.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "the catalog writer panicked");
        }
    }

    /// Queues a write; with `wait`, waits for its outcome.
    fn submit(&self, op: Op, wait: bool) -> Result<Reply, CatalogError> {
        let stopped = || CatalogError::WriterStopped {
            path: self.path.clone(),
        };
        let sender = self.sender.as_ref().ok_or_else(stopped)?;
        let (reply, outcome) = if wait {
            let (tx, rx) = mpsc::sync_channel(1);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.submitted.fetch_add(1, Ordering::SeqCst);
        sender.send(Command { op, reply }).map_err(|_| stopped())?;
        match outcome {
            Some(rx) => rx.recv().map_err(|_| stopped())?,
            None => Ok(Reply::Done),
        }
    }

    /// Queues a write and waits for its outcome, expecting a count.
    fn submit_count(&self, op: Op) -> Result<u64, CatalogError> {
        self.ask(op, |reply| match reply {
            Reply::Count(n) => Some(n),
            _ => None,
        })
    }

    /// Submits `op`, waits for its reply, and takes the answer `pick` finds
    /// in it (a reply of another kind is a bug, reported as an error).
    fn ask<T>(&self, op: Op, pick: impl FnOnce(Reply) -> Option<T>) -> Result<T, CatalogError> {
        pick(self.submit(op, true)?).ok_or_else(|| self.unexpected_reply())
    }

    /// The writer answered a command with another command's kind of reply
    /// (a bug): reported rather than panicking.
    fn unexpected_reply(&self) -> CatalogError {
        CatalogError::InvalidRecord {
            path: self.path.clone(),
            what: "a command".into(),
            reason: "the catalog writer gave an unexpected reply".into(),
        }
    }

    /// Refuses a partition set name or key that is not a safe path segment
    /// (keys become storage folders), naming it.
    fn validate_partition_keys(&self, set: &str, keys: &[&str]) -> Result<(), CatalogError> {
        let what = || format!("the keys of dynamic partition set {set:?}");
        if set.is_empty() {
            return Err(self.invalid(what(), "the set name is empty"));
        }
        for key in keys {
            if let Err(e) = io_managers::validate_key("partition key", key) {
                return Err(self.invalid(what(), &e.to_string()));
            }
        }
        Ok(())
    }

    /// Refuses a lease that could not be told apart from another.
    fn validate_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
    ) -> Result<(), CatalogError> {
        let what = || format!("a lease on {asset}");
        self.validate_key(what, asset, partition, tag)?;
        if holder.is_empty() {
            return Err(self.invalid(what(), "the holder is empty"));
        }
        Ok(())
    }

    /// Waits until every write queued so far is handled (not consuming
    /// their errors: those are for `flush`).
    fn wait_queued(&self) {
        let target = self.submitted.load(Ordering::SeqCst);
        drop(self.shared.wait_for(target));
    }

    /// Runs `f` in a read transaction on a pooled read connection, after
    /// the queued writes; retries while the catalog is busy.
    fn read<T>(
        &self,
        mut f: impl FnMut(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CatalogError> {
        self.wait_queued();
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None if self.read_only => open_read_only_connection(&self.path)?,
            None => open_connection(&self.path, true)?,
        };
        let result = retry_busy(&self.path, || {
            let tx = conn.transaction()?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        });
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        result
    }

    fn invalid(&self, what: String, reason: &str) -> CatalogError {
        CatalogError::InvalidRecord {
            path: self.path.clone(),
            what,
            reason: reason.into(),
        }
    }

    /// Refuses keys that would not read back as given.
    fn validate_key(
        &self,
        what: impl FnOnce() -> String,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<(), CatalogError> {
        if asset.is_empty() {
            return Err(self.invalid(what(), "the asset key is empty"));
        }
        if partition == Some("") {
            return Err(self.invalid(what(), "the partition key is empty"));
        }
        if tag == Some("") {
            return Err(self.invalid(what(), "the tag is empty"));
        }
        Ok(())
    }

    fn validate_record(&self, record: &MaterializationRecord) -> Result<(), CatalogError> {
        let what = || {
            format!(
                "the materialization of {}{}",
                record.asset,
                record
                    .partition
                    .as_deref()
                    .map(|p| format!(" [{p}]"))
                    .unwrap_or_default()
            )
        };
        self.validate_key(
            what,
            &record.asset,
            record.partition.as_deref(),
            record.tag.as_deref(),
        )?;
        for input in &record.inputs {
            self.validate_key(what, &input.asset, input.partition.as_deref(), None)?;
        }
        match (&record.promoted_from, &record.tag) {
            (Some(from), _) if from.is_empty() => {
                Err(self.invalid(what(), "the tag it was promoted from is empty"))
            }
            (Some(_), Some(_)) => Err(self.invalid(
                what(),
                "a promoted record belongs to production, but it has a tag",
            )),
            _ => Ok(()),
        }
    }
}

impl Drop for SqliteCatalog {
    fn drop(&mut self) {
        let target = self.submitted.load(Ordering::SeqCst);
        let error = self.shared.wait_for(target).error.take();
        if let Some(error) = error {
            tracing::error!(%error, "catalog writes failed");
        }
        self.stop_writer();
    }
}

impl Catalog for SqliteCatalog {
    fn location(&self) -> &str {
        &self.location
    }

    fn begin_run(&self, run: &RunInfo) -> Result<(), CatalogError> {
        self.validate_key(
            || format!("run {}", run.run_id),
            "run",
            None,
            run.tag.as_deref(),
        )?;
        self.submit(Op::BeginRun(Box::new(run.clone())), true)
            .map(drop)
    }

    fn end_run(
        &self,
        run_id: &str,
        status: RunStatus,
        finished_at: &str,
    ) -> Result<(), CatalogError> {
        self.submit(
            Op::EndRun {
                run_id: run_id.to_owned(),
                status,
                finished_at: finished_at.to_owned(),
            },
            true,
        )
        .map(drop)
    }

    fn runs(&self, limit: usize) -> Result<Vec<RunInfo>, CatalogError> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{RUN_SELECT} ORDER BY rowid DESC LIMIT ?1"))?;
            stmt.query_map([sql_limit(limit)], run_from_row)?.collect()
        })
    }

    fn runs_with_status(
        &self,
        limit: usize,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunInfo>, CatalogError> {
        let Some(status) = status else {
            return self.runs(limit);
        };
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{RUN_SELECT} WHERE status = ?1 ORDER BY rowid DESC LIMIT ?2"
            ))?;
            stmt.query_map(params![status.as_str(), sql_limit(limit)], run_from_row)?
                .collect()
        })
    }

    fn run_counts(&self, run_id: &str) -> Result<RunCounts, CatalogError> {
        self.read(|conn| {
            let count = |sql: &str| -> rusqlite::Result<u64> {
                conn.prepare_cached(sql)?
                    .query_row([run_id], |r| r.get::<_, i64>(0))
                    .map(|n| u64::try_from(n).unwrap_or(0))
            };
            Ok(RunCounts {
                materialized: count("SELECT count(*) FROM materializations WHERE run_id = ?1")?,
                // A key whose failure was followed by a success in the same
                // run was retried, not failed.
                failed: count(
                    "SELECT count(*) FROM (SELECT DISTINCT asset, partition_key, tag
                     FROM failures f WHERE f.run_id = ?1 AND NOT EXISTS (
                         SELECT 1 FROM materializations m WHERE m.run_id = ?1
                         AND m.asset = f.asset AND m.partition_key = f.partition_key
                         AND m.tag = f.tag))",
                )?,
                failed_attempts: count("SELECT count(*) FROM failures WHERE run_id = ?1")?,
            })
        })
    }

    fn run(&self, run_id: &str) -> Result<Option<RunInfo>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{RUN_SELECT} WHERE run_id = ?1"))?
                .query_row([run_id], run_from_row)
                .optional()
        })
    }

    fn record_materialization(&self, record: &MaterializationRecord) -> Result<(), CatalogError> {
        self.validate_record(record)?;
        self.submit(Op::Materialization(Box::new(record.clone())), false)
            .map(drop)
    }

    fn record_failure(&self, failure: &FailureRecord) -> Result<(), CatalogError> {
        self.validate_key(
            || format!("a failure of {}", failure.asset),
            &failure.asset,
            failure.partition.as_deref(),
            failure.tag.as_deref(),
        )?;
        self.submit(Op::Failure(Box::new(failure.clone())), false)
            .map(drop)
    }

    fn record_check(&self, check: &CheckResult) -> Result<(), CatalogError> {
        self.validate_key(
            || format!("check {} of {}", check.name, check.asset),
            &check.asset,
            check.partition.as_deref(),
            check.tag.as_deref(),
        )?;
        self.submit(Op::Check(Box::new(check.clone())), false)
            .map(drop)
    }

    fn flush(&self) -> Result<(), CatalogError> {
        let target = self.submitted.load(Ordering::SeqCst);
        let mut state = self.shared.wait_for(target);
        if let Some(error) = state.error.take() {
            return Err(error);
        }
        if state.processed < target {
            return Err(CatalogError::WriterStopped {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    fn latest(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Option<MaterializationRecord>, CatalogError> {
        self.read(|conn| read_one_latest(conn, asset, partition, tag))
    }

    fn latest_for_assets(
        &self,
        assets: &[&str],
        tag: Option<&str>,
    ) -> Result<Vec<MaterializationRecord>, CatalogError> {
        self.read(|conn| read_latest(conn, assets, tag))
    }

    fn history(
        &self,
        asset: &str,
        partition: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MaterializationRecord>, CatalogError> {
        self.read(|conn| {
            let limit = sql_limit(limit);
            let mut records = Records::new(conn);
            let rows = match partition {
                Some(partition) => conn
                    .prepare_cached(&format!(
                        "{MAT_SELECT} WHERE m.asset = ?1 AND m.partition_key = ?2
                         ORDER BY m.id DESC LIMIT ?3"
                    ))?
                    .query(params![asset, partition, limit])?
                    .and_then(|row| records.decode(row))
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => conn
                    .prepare_cached(&format!(
                        "{MAT_SELECT} WHERE m.asset = ?1 ORDER BY m.id DESC LIMIT ?2"
                    ))?
                    .query(params![asset, limit])?
                    .and_then(|row| records.decode(row))
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            Ok(rows)
        })
    }

    fn consumers(
        &self,
        asset: &str,
        partition: Option<&str>,
        data_version: &str,
    ) -> Result<Vec<MaterializationRecord>, CatalogError> {
        self.read(|conn| {
            let mut records = Records::new(conn);
            conn.prepare_cached(&format!(
                "{MAT_SELECT} WHERE m.id IN (
                        SELECT materialization_id FROM materialization_inputs
                        WHERE asset = ?1 AND partition_key = ?2 AND data_version = ?3)
                     ORDER BY m.id DESC"
            ))?
            .query(params![asset, key(partition), data_version])?
            .and_then(|row| records.decode(row))
            .collect()
        })
    }

    fn run_materializations(
        &self,
        run_id: &str,
    ) -> Result<Vec<MaterializationRecord>, CatalogError> {
        self.read(|conn| {
            let mut records = Records::new(conn);
            conn.prepare_cached(&format!("{MAT_SELECT} WHERE m.run_id = ?1 ORDER BY m.id"))?
                .query([run_id])?
                .and_then(|row| records.decode(row))
                .collect()
        })
    }

    fn last_failure(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Option<FailureRecord>, CatalogError> {
        Ok(self.failures(asset, partition, tag, 1)?.pop())
    }

    fn failures(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FailureRecord>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{FAILURE_SELECT} WHERE f.asset = ?1 AND f.partition_key = ?2 AND f.tag = ?3
                 ORDER BY f.id DESC LIMIT ?4"
            ))?
            .query_map(
                params![asset, key(partition), key(tag), sql_limit(limit)],
                failure_from_row,
            )?
            .collect()
        })
    }

    fn last_attempt_failed(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Option<FailureRecord>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{FAILURE_SELECT} JOIN latest l ON l.failure_id = f.id
                 WHERE l.tag = ?1 AND l.asset = ?2 AND l.partition_key = ?3 AND l.failed = 1"
            ))?
            .query_row(params![key(tag), asset, key(partition)], failure_from_row)
            .optional()
        })
    }

    fn failed_for_assets(
        &self,
        assets: &[&str],
        tag: Option<&str>,
    ) -> Result<Vec<FailureRecord>, CatalogError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{FAILURE_SELECT} JOIN latest l ON l.failure_id = f.id
                 WHERE l.tag = ?1 AND l.asset = ?2 AND l.failed = 1
                 ORDER BY l.partition_key"
            ))?;
            let mut failures = Vec::new();
            for asset in assets {
                for failure in stmt.query_map(params![key(tag), asset], failure_from_row)? {
                    failures.push(failure?);
                }
            }
            Ok(failures)
        })
    }

    fn checks(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CheckResult>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{CHECK_SELECT} WHERE asset = ?1 AND partition_key = ?2 AND tag = ?3
                 ORDER BY id DESC LIMIT ?4"
            ))?
            .query_map(
                params![asset, key(partition), key(tag), sql_limit(limit)],
                check_from_row,
            )?
            .collect()
        })
    }

    fn run_materializations_first(
        &self,
        run_id: &str,
        limit: usize,
    ) -> Result<Vec<MaterializationRecord>, CatalogError> {
        self.read(|conn| {
            let mut records = Records::new(conn);
            conn.prepare_cached(&format!(
                "{MAT_SELECT} WHERE m.run_id = ?1 ORDER BY m.id LIMIT ?2"
            ))?
            .query(params![run_id, sql_limit(limit)])?
            .and_then(|row| records.decode(row))
            .collect()
        })
    }

    fn run_failures(&self, run_id: &str) -> Result<Vec<FailureRecord>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "{FAILURE_SELECT} WHERE f.run_id = ?1 ORDER BY f.id"
            ))?
            .query_map([run_id], failure_from_row)?
            .collect()
        })
    }

    fn run_checks(&self, run_id: &str) -> Result<Vec<CheckResult>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(&format!("{CHECK_SELECT} WHERE run_id = ?1 ORDER BY id"))?
                .query_map([run_id], check_from_row)?
                .collect()
        })
    }

    fn replace_all(
        &self,
        records: &mut dyn Iterator<Item = MaterializationRecord>,
    ) -> Result<u64, CatalogError> {
        self.wait_queued();
        let sql = |e| CatalogError::sqlite(&self.path, e);
        let mut conn = open_connection(&self.path, false)?;
        // Take the write lock before consuming the records: a busy retry
        // could not replay them.
        let start = Instant::now();
        let tx = loop {
            match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
                Ok(tx) => break tx,
                Err(e) if is_busy(&e) && start.elapsed() < LOCK_PATIENCE => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) if is_busy(&e) => {
                    return Err(CatalogError::Locked {
                        path: self.path.clone(),
                        waited: start.elapsed(),
                    });
                }
                Err(e) => return Err(sql(e)),
            }
        };
        tx.execute_batch(
            "DELETE FROM materialization_inputs;
             DELETE FROM materialization_records;
             DELETE FROM latest;
             DELETE FROM materializations;",
        )
        .map_err(sql)?;
        let mut schema_ids = HashMap::new();
        let mut count = 0u64;
        for record in records {
            self.validate_record(&record)?;
            insert_materialization(&tx, &record, &mut schema_ids).map_err(sql)?;
            count += 1;
        }
        restore_failures(&tx).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(count)
    }

    fn acquire_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseOutcome, CatalogError> {
        self.validate_lease(asset, partition, tag, holder)?;
        let op = Op::AcquireLease {
            key: LeaseKey::new(asset, partition, tag),
            holder: holder.to_owned(),
            ttl,
        };
        self.ask(op, |reply| match reply {
            Reply::Lease(outcome) => Some(outcome),
            _ => None,
        })
    }

    fn acquire_leases(
        &self,
        keys: &[(&str, Option<&str>)],
        tag: Option<&str>,
        holder: &str,
        ttl: Duration,
    ) -> Result<Vec<LeaseOutcome>, CatalogError> {
        for (asset, partition) in keys {
            self.validate_lease(asset, *partition, tag, holder)?;
        }
        let op = Op::AcquireLeases {
            keys: keys
                .iter()
                .map(|(asset, partition)| LeaseKey::new(asset, *partition, tag))
                .collect(),
            holder: holder.to_owned(),
            ttl,
        };
        self.ask(op, |reply| match reply {
            Reply::Leases(outcomes) => Some(outcomes),
            _ => None,
        })
    }

    fn renew_leases_of(&self, holder: &str, ttl: Duration) -> Result<u64, CatalogError> {
        let op = Op::RenewLeasesOf {
            holder: holder.to_owned(),
            ttl,
        };
        self.submit_count(op)
    }

    fn renew_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, CatalogError> {
        self.validate_lease(asset, partition, tag, holder)?;
        let op = Op::RenewLease {
            key: LeaseKey::new(asset, partition, tag),
            holder: holder.to_owned(),
            ttl,
        };
        self.ask(op, |reply| match reply {
            Reply::Renewed(held) => Some(held),
            _ => None,
        })
    }

    fn release_lease(
        &self,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
        holder: &str,
    ) -> Result<(), CatalogError> {
        self.validate_lease(asset, partition, tag, holder)?;
        let op = Op::ReleaseLease {
            key: LeaseKey::new(asset, partition, tag),
            holder: holder.to_owned(),
        };
        self.submit(op, false).map(drop)
    }

    /// WAL mode (shared memory) works only between processes of one machine.
    fn holders_share_this_machine(&self) -> bool {
        true
    }

    fn leases(&self) -> Result<Vec<LeaseInfo>, CatalogError> {
        let now = now_millis();
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT asset, partition_key, tag, holder, acquired_at, expires_at FROM leases
                 WHERE expires_at > ?1 ORDER BY tag, asset, partition_key",
            )?
            .query_map([now], lease_from_row)?
            .collect()
        })
    }

    fn add_partitions(&self, set: &str, keys: &[&str]) -> Result<u64, CatalogError> {
        self.validate_partition_keys(set, keys)?;
        self.submit_count(Op::AddPartitions {
            set: set.to_owned(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
            added_at: chrono::Utc::now().to_rfc3339(),
        })
    }

    fn remove_partitions(&self, set: &str, keys: &[&str]) -> Result<u64, CatalogError> {
        self.submit_count(Op::RemovePartitions {
            set: set.to_owned(),
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        })
    }

    fn partition_keys(&self, set: &str) -> Result<Vec<String>, CatalogError> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT partition_key FROM dynamic_partitions WHERE set_name = ?1 ORDER BY id",
            )?
            .query_map([set], |r| r.get(0))?
            .collect()
        })
    }

    fn tags(&self) -> Result<Vec<TagInfo>, CatalogError> {
        self.read(|conn| {
            let mut tags: Vec<TagInfo> = conn
                .prepare_cached(
                    "SELECT tag, count(materialization_id), sum(failed) FROM latest
                     WHERE tag <> '' GROUP BY tag ORDER BY tag",
                )?
                .query_map([], |r| {
                    Ok(TagInfo {
                        name: r.get(0)?,
                        asset_partitions: r.get::<_, i64>(1)? as u64,
                        failed: r.get::<_, Option<i64>>(2)?.unwrap_or(0) as u64,
                        last_run: None,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut last_run = conn.prepare_cached(&format!(
                "{RUN_SELECT} WHERE tag = ?1 ORDER BY rowid DESC LIMIT 1"
            ))?;
            for tag in &mut tags {
                tag.last_run = last_run.query_row([&tag.name], run_from_row).optional()?;
            }
            Ok(tags)
        })
    }

    fn promote(
        &self,
        tag: &str,
        asset: &str,
        partition: Option<&str>,
        production_uri: &str,
        bytes: Option<u64>,
    ) -> Result<MaterializationRecord, CatalogError> {
        self.validate_key(
            || format!("the promotion of {asset} from tag {tag:?}"),
            asset,
            partition,
            Some(tag),
        )?;
        let op = Op::Promote {
            tag: tag.to_owned(),
            asset: asset.to_owned(),
            partition: partition.map(str::to_owned),
            uri: production_uri.to_owned(),
            bytes,
        };
        self.ask(op, |reply| match reply {
            Reply::Promoted(record) => Some(*record),
            _ => None,
        })
    }

    fn discard_tag(&self, tag: &str) -> Result<u64, CatalogError> {
        self.validate_key(|| format!("tag {tag:?}"), "tag", None, Some(tag))?;
        self.submit_count(Op::DiscardTag {
            tag: tag.to_owned(),
        })
    }
}

/// Opens a connection with the catalog's settings.
fn open_connection(path: &Path, reader: bool) -> Result<Connection, CatalogError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| CatalogError::Open {
        path: path.to_owned(),
        source: Arc::new(e),
    })?;
    let configure = || -> rusqlite::Result<()> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Page caches (negative: KiB) big enough for the indexes a run
        // updates at random places (latest, by key, by input version), so
        // each batch does not reread them. The WAL is checkpointed every
        // 10,000 pages (40 MiB) rather than 1,000: a page updated by several
        // batches is copied once, and fsyncs are ten times rarer (this
        // halves the cost of recording a materialization).
        conn.execute_batch(if reader {
            "PRAGMA query_only = ON; PRAGMA cache_size = -16384;"
        } else {
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
             PRAGMA wal_autocheckpoint = 10000;"
        })
    };
    configure().map_err(|e| CatalogError::sqlite(path, e))?;
    Ok(conn)
}

/// A connection that can neither create nor change anything. A WAL
/// database read the ordinary way needs its `-wal` and `-shm` files, and
/// SQLite creates them (and, read-only, cannot remove them): so when there
/// is no `-wal` file (no writer is open, every change is in the database
/// file), the file is opened as immutable, which creates nothing. When a
/// writer has them open, they are shared as usual. A read-only folder
/// where they cannot be made falls back to immutable too.
pub(crate) fn open_read_only_connection(path: &Path) -> Result<Connection, CatalogError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let shared = || {
        Connection::open_with_flags(path, flags).and_then(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            // Touches the WAL index: fails here, not in the first query,
            // when the `-shm` file cannot be made.
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))?;
            Ok(conn)
        })
    };
    let opened = if Path::new(&wal).exists() {
        shared().ok()
    } else {
        None
    };
    let conn = match opened {
        Some(conn) => conn,
        None => {
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
            let mut uri = String::from("file:");
            for c in absolute.to_string_lossy().chars() {
                match c {
                    '%' => uri.push_str("%25"),
                    '?' => uri.push_str("%3f"),
                    '#' => uri.push_str("%23"),
                    c => uri.push(c),
                }
            }
            uri.push_str("?immutable=1");
            Connection::open_with_flags(&uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(|e| {
                CatalogError::Open {
                    path: path.to_owned(),
                    source: Arc::new(e),
                }
            })?
        }
    };
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -16384;")
        .map_err(|e| CatalogError::sqlite(path, e))?;
    Ok(conn)
}

/// Runs `f`, again while the catalog is busy, for up to [`LOCK_PATIENCE`].
fn retry_busy<T>(
    path: &Path,
    mut f: impl FnMut() -> rusqlite::Result<T>,
) -> Result<T, CatalogError> {
    let start = Instant::now();
    loop {
        match f() {
            Ok(value) => return Ok(value),
            Err(e) if is_busy(&e) && start.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) if is_busy(&e) => {
                return Err(CatalogError::Locked {
                    path: path.to_owned(),
                    waited: start.elapsed(),
                });
            }
            Err(e) => return Err(CatalogError::sqlite(path, e)),
        }
    }
}

/// The background writer: owns the write connection.
struct Writer {
    conn: Connection,
    path: PathBuf,
    /// Schema text -> id in `schemas`, for rows committed or in the open
    /// transaction (cleared on any rollback).
    schema_ids: HashMap<String, i64>,
}

/// Why applying one command failed.
enum ApplyError {
    /// SQLite failed (busy, IO...).
    Sql(rusqlite::Error),
    /// The command is wrong (duplicate or unknown run); nothing was written.
    Refused(CatalogError),
}

impl From<rusqlite::Error> for ApplyError {
    fn from(e: rusqlite::Error) -> Self {
        ApplyError::Sql(e)
    }
}

/// How a batch went, per command.
type Outcomes = Vec<Result<Reply, CatalogError>>;

impl Writer {
    fn run(mut self, commands: Receiver<Command>, shared: Arc<Shared>) {
        /// Marks the writer stopped however the thread ends (even by a panic),
        /// so nobody waits for it forever.
        struct Stopped(Arc<Shared>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.lock().stopped = true;
                self.0.changed.notify_all();
            }
        }
        let _stopped = Stopped(shared.clone());

        while let Ok(first) = commands.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            let handled = batch.len() as u64;
            let outcomes = match self.commit_with_retries(&batch) {
                Ok(outcomes) => outcomes,
                Err(error) => vec![Err(error); batch.len()],
            };
            let mut first_error = None;
            for (command, outcome) in batch.into_iter().zip(outcomes) {
                match command.reply {
                    // The caller may have gone (it panicked): nothing to do.
                    Some(reply) => drop(reply.send(outcome)),
                    None => {
                        if let Err(e) = outcome {
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
            let mut state = shared.lock();
            state.processed += handled;
            if let Some(error) = first_error {
                state.error.get_or_insert(error);
            }
            drop(state);
            shared.changed.notify_all();
        }
    }

    /// Commits `batch`, retrying while the catalog is busy.
    fn commit_with_retries(&mut self, batch: &[Command]) -> Result<Outcomes, CatalogError> {
        let start = Instant::now();
        let mut careful = false;
        loop {
            match self.commit(batch, careful) {
                Ok(outcomes) => return Ok(outcomes),
                Err(e) => {
                    // The transaction was rolled back: forget its schema ids.
                    self.schema_ids.clear();
                    if is_busy(&e) {
                        if start.elapsed() >= LOCK_PATIENCE {
                            return Err(CatalogError::Locked {
                                path: self.path.clone(),
                                waited: start.elapsed(),
                            });
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    } else if !careful {
                        // One command failed midway: redo the batch with a
                        // savepoint per command, to keep the others.
                        careful = true;
                    } else {
                        return Err(CatalogError::sqlite(&self.path, e));
                    }
                }
            }
        }
    }

    /// One attempt at committing `batch` in one transaction. Fast path: the
    /// commands applied one after the other, any SQLite error fails the
    /// batch. `careful`: each command in a savepoint, a command's failure
    /// undoes only that command.
    fn commit(&mut self, batch: &[Command], careful: bool) -> rusqlite::Result<Outcomes> {
        let Writer {
            conn,
            path,
            schema_ids,
        } = self;
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for command in batch {
            let outcome = if careful {
                let savepoint = tx.savepoint()?;
                match apply(&savepoint, path, &command.op, schema_ids) {
                    Ok(reply) => {
                        savepoint.commit()?;
                        Ok(reply)
                    }
                    Err(ApplyError::Sql(e)) if is_busy(&e) => return Err(e),
                    Err(ApplyError::Sql(e)) => {
                        drop(savepoint);
                        schema_ids.clear();
                        Err(CatalogError::sqlite(path, e))
                    }
                    Err(ApplyError::Refused(e)) => Err(e),
                }
            } else {
                match apply(&tx, path, &command.op, schema_ids) {
                    Ok(reply) => Ok(reply),
                    Err(ApplyError::Sql(e)) => return Err(e),
                    Err(ApplyError::Refused(e)) => Err(e),
                }
            };
            outcomes.push(outcome);
        }
        // Crash tests kill the process here: inside the transaction that
        // records materializations, before it commits.
        if batch.iter().any(|c| matches!(c.op, Op::Materialization(_))) {
            io_managers::failpoint::hit("catalog.before_commit");
        }
        tx.commit()?;
        Ok(outcomes)
    }
}

/// Applies one command in the open transaction.
fn apply(
    conn: &Connection,
    path: &Path,
    op: &Op,
    schema_ids: &mut HashMap<String, i64>,
) -> Result<Reply, ApplyError> {
    match op {
        Op::Materialization(record) => {
            insert_materialization(conn, record, schema_ids)?;
        }
        Op::Failure(failure) => {
            conn.prepare_cached(
                "INSERT INTO failures
                 (run_id, asset, partition_key, tag, attempt, error, started_at, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                failure.run_id,
                failure.asset,
                key(failure.partition.as_deref()),
                key(failure.tag.as_deref()),
                failure.attempt,
                failure.error,
                failure.started_at,
                failure.finished_at,
            ])?;
            let id = conn.last_insert_rowid();
            conn.prepare_cached(
                "INSERT INTO latest (tag, asset, partition_key, failure_id, failed)
                 VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (tag, asset, partition_key)
                 DO UPDATE SET failure_id = excluded.failure_id, failed = 1",
            )?
            .execute(params![
                key(failure.tag.as_deref()),
                failure.asset,
                key(failure.partition.as_deref()),
                id
            ])?;
        }
        Op::Check(check) => {
            conn.prepare_cached(
                "INSERT INTO check_results
                 (run_id, asset, partition_key, tag, name, passed, severity, message, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                check.run_id,
                check.asset,
                key(check.partition.as_deref()),
                key(check.tag.as_deref()),
                check.name,
                check.passed,
                check.severity.as_str(),
                check.message,
                check.at,
            ])?;
        }
        Op::BeginRun(run) => {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO runs (run_id, started_at, finished_at, status, command, tag)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run_id) DO NOTHING",
                )?
                .execute(params![
                    run.run_id,
                    run.started_at,
                    run.finished_at,
                    run.status.as_str(),
                    run.command,
                    key(run.tag.as_deref()),
                ])?;
            if inserted == 0 {
                return Err(ApplyError::Refused(CatalogError::DuplicateRun {
                    path: path.to_owned(),
                    run_id: run.run_id.clone(),
                }));
            }
        }
        Op::EndRun {
            run_id,
            status,
            finished_at,
        } => {
            let updated = conn
                .prepare_cached("UPDATE runs SET status = ?2, finished_at = ?3 WHERE run_id = ?1")?
                .execute(params![run_id, status.as_str(), finished_at])?;
            if updated == 0 {
                return Err(ApplyError::Refused(CatalogError::UnknownRun {
                    path: path.to_owned(),
                    run_id: run_id.clone(),
                }));
            }
            // A run that ended holds nothing any more (a step that did not
            // release its lease, e.g. cut short, must not block others).
            conn.prepare_cached("DELETE FROM leases WHERE holder = ?1")?
                .execute([run_id])?;
        }
        Op::AcquireLease { key, holder, ttl } => {
            return Ok(Reply::Lease(acquire_lease(conn, key, holder, *ttl)?));
        }
        Op::AcquireLeases { keys, holder, ttl } => {
            let outcomes = keys
                .iter()
                .map(|key| acquire_lease(conn, key, holder, *ttl))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            return Ok(Reply::Leases(outcomes));
        }
        Op::RenewLeasesOf { holder, ttl } => {
            let renewed = conn
                .prepare_cached("UPDATE leases SET expires_at = ?2 WHERE holder = ?1")?
                .execute(params![holder, expiry(*ttl)])?;
            return Ok(Reply::Count(renewed as u64));
        }
        Op::RenewLease { key, holder, ttl } => {
            let renewed = conn
                .prepare_cached(
                    "UPDATE leases SET expires_at = ?5
                     WHERE tag = ?1 AND asset = ?2 AND partition_key = ?3 AND holder = ?4",
                )?
                .execute(params![
                    key.tag,
                    key.asset,
                    key.partition,
                    holder,
                    expiry(*ttl)
                ])?;
            return Ok(Reply::Renewed(renewed > 0));
        }
        Op::ReleaseLease { key, holder } => {
            conn.prepare_cached(
                "DELETE FROM leases
                 WHERE tag = ?1 AND asset = ?2 AND partition_key = ?3 AND holder = ?4",
            )?
            .execute(params![key.tag, key.asset, key.partition, holder])?;
        }
        Op::AddPartitions {
            set,
            keys,
            added_at,
        } => {
            let mut insert = conn.prepare_cached(
                "INSERT INTO dynamic_partitions (set_name, partition_key, added_at)
                 VALUES (?1, ?2, ?3) ON CONFLICT (set_name, partition_key) DO NOTHING",
            )?;
            let mut added = 0u64;
            for key in keys {
                added += insert.execute(params![set, key, added_at])? as u64;
            }
            return Ok(Reply::Count(added));
        }
        Op::RemovePartitions { set, keys } => {
            let mut delete = conn.prepare_cached(
                "DELETE FROM dynamic_partitions WHERE set_name = ?1 AND partition_key = ?2",
            )?;
            let mut removed = 0u64;
            for key in keys {
                removed += delete.execute(params![set, key])? as u64;
            }
            return Ok(Reply::Count(removed));
        }
        Op::Promote {
            tag,
            asset,
            partition,
            uri,
            bytes,
        } => {
            let Some(tagged) = read_one_latest(conn, asset, partition.as_deref(), Some(tag))?
            else {
                return Err(ApplyError::Refused(CatalogError::NothingToPromote {
                    path: path.to_owned(),
                    tag: tag.clone(),
                    asset: asset.clone(),
                    partition: partition.clone(),
                }));
            };
            let mut record = promoted_record(&tagged, uri);
            if let Some(bytes) = bytes {
                record.bytes = *bytes;
            }
            insert_materialization(conn, &record, schema_ids)?;
            return Ok(Reply::Promoted(Box::new(record)));
        }
        Op::DiscardTag { tag } => {
            let removed = conn
                .prepare_cached("DELETE FROM latest WHERE tag = ?1")?
                .execute([tag])?;
            return Ok(Reply::Count(removed as u64));
        }
    }
    Ok(Reply::Done)
}

/// Takes the lease `key` for `holder` unless another holder's has not
/// expired; see [`Catalog::acquire_lease`].
fn acquire_lease(
    conn: &Connection,
    key: &LeaseKey,
    holder: &str,
    ttl: Duration,
) -> rusqlite::Result<LeaseOutcome> {
    let now = now_millis();
    // One statement: insert, take over an expired lease, or renew one's own;
    // a live lease of another holder is left alone (0 rows changed).
    let taken = conn
        .prepare_cached(
            "INSERT INTO leases (tag, asset, partition_key, holder, acquired_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (tag, asset, partition_key) DO UPDATE SET
                 acquired_at = CASE WHEN leases.holder = excluded.holder
                               THEN leases.acquired_at ELSE excluded.acquired_at END,
                 holder = excluded.holder,
                 expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?7",
        )?
        .execute(params![
            key.tag,
            key.asset,
            key.partition,
            holder,
            chrono::Utc::now().to_rfc3339(),
            expiry(ttl),
            now
        ])?;
    if taken == 0 {
        let held = conn
            .prepare_cached(
                "SELECT asset, partition_key, tag, holder, acquired_at, expires_at FROM leases
                 WHERE tag = ?1 AND asset = ?2 AND partition_key = ?3",
            )?
            .query_row(params![key.tag, key.asset, key.partition], lease_from_row)?;
        return Ok(LeaseOutcome::Held(held));
    }
    let latest = read_one_latest(
        conn,
        &key.asset,
        unkey_ref(&key.partition),
        unkey_ref(&key.tag),
    )?;
    Ok(LeaseOutcome::Acquired {
        latest: latest.map(Box::new),
    })
}

/// Milliseconds since the Unix epoch, by this machine's clock.
fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// When a lease taken or renewed now for `ttl` expires (Unix milliseconds).
fn expiry(ttl: Duration) -> i64 {
    now_millis().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// A lease row: asset, partition_key, tag, holder, acquired_at, expires_at.
fn lease_from_row(row: &Row<'_>) -> rusqlite::Result<LeaseInfo> {
    let expires_at: i64 = row.get(5)?;
    Ok(LeaseInfo {
        asset: row.get(0)?,
        partition: unkey(row.get(1)?),
        tag: unkey(row.get(2)?),
        holder: row.get(3)?,
        acquired_at: row.get(4)?,
        expires_at: chrono::DateTime::from_timestamp_millis(expires_at)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_else(|| expires_at.to_string()),
    })
}

/// The latest materialization of one key in a namespace.
fn read_one_latest(
    conn: &Connection,
    asset: &str,
    partition: Option<&str>,
    tag: Option<&str>,
) -> rusqlite::Result<Option<MaterializationRecord>> {
    let id: Option<i64> = conn
        .prepare_cached(
            "SELECT materialization_id FROM latest
             WHERE tag = ?1 AND asset = ?2 AND partition_key = ?3
               AND materialization_id IS NOT NULL",
        )?
        .query_row(params![key(tag), asset, key(partition)], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => conn
            .prepare_cached(&format!("{MAT_SELECT} WHERE m.id = ?1"))?
            .query_row([id], |row| Records::new(conn).decode(row))
            .optional(),
        None => Ok(None),
    }
}

/// Inserts a materialization with its inputs and makes it its key's latest.
fn insert_materialization(
    conn: &Connection,
    record: &MaterializationRecord,
    schema_ids: &mut HashMap<String, i64>,
) -> rusqlite::Result<i64> {
    let schema_id = match &record.schema {
        Some(text) => Some(schema_id(conn, text, schema_ids)?),
        None => None,
    };
    conn.prepare_cached(
        "INSERT INTO materializations
         (asset, partition_key, tag, run_id, code_version, data_version, uri, row_count,
          byte_count, started_at, finished_at, framework_version, config_hash, git_commit,
          schema_id, promoted_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        record.asset,
        key(record.partition.as_deref()),
        key(record.tag.as_deref()),
        record.run_id,
        record.code_version,
        record.data_version,
        record.uri,
        record.rows as i64,
        record.bytes as i64,
        record.started_at,
        record.finished_at,
        record.framework_version,
        record.config_hash,
        record.git_commit,
        schema_id,
        record.promoted_from,
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO materialization_records (materialization_id, schema_id, record)
         VALUES (?1, ?2, ?3)",
    )?
    .execute(params![id, schema_id, codec::encode(record)])?;
    if !record.inputs.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO materialization_inputs
             (materialization_id, position, asset, partition_key, data_version)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (position, input) in record.inputs.iter().enumerate() {
            insert.execute(params![
                id,
                position as i64,
                input.asset,
                key(input.partition.as_deref()),
                input.data_version,
            ])?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO latest (tag, asset, partition_key, materialization_id, failed)
         VALUES (?1, ?2, ?3, ?4, 0)
         ON CONFLICT (tag, asset, partition_key)
         DO UPDATE SET materialization_id = excluded.materialization_id, failed = 0",
    )?
    .execute(params![
        key(record.tag.as_deref()),
        record.asset,
        key(record.partition.as_deref()),
        id
    ])?;
    Ok(id)
}

/// The id of a schema text in `schemas`, inserting it if new.
fn schema_id(
    conn: &Connection,
    text: &str,
    cache: &mut HashMap<String, i64>,
) -> rusqlite::Result<i64> {
    if let Some(&id) = cache.get(text) {
        return Ok(id);
    }
    conn.prepare_cached("INSERT INTO schemas (text) VALUES (?1) ON CONFLICT (text) DO NOTHING")?
        .execute([text])?;
    let id = conn
        .prepare_cached("SELECT id FROM schemas WHERE text = ?1")?
        .query_row([text], |r| r.get(0))?;
    if cache.len() >= SCHEMA_CACHE {
        cache.clear();
    }
    cache.insert(text.to_owned(), id);
    Ok(id)
}

/// After a rebuild: marks the keys whose last attempt failed, from the
/// failures kept (a failure that finished after the rebuilt latest
/// materialization, or a key with no materialization).
fn restore_failures(conn: &Connection) -> rusqlite::Result<()> {
    let mut last_failures = conn.prepare(
        "SELECT f.id, f.tag, f.asset, f.partition_key, f.finished_at, m.finished_at
         FROM failures f
         LEFT JOIN latest l
           ON l.tag = f.tag AND l.asset = f.asset AND l.partition_key = f.partition_key
         LEFT JOIN materializations m ON m.id = l.materialization_id
         WHERE f.id IN (SELECT max(id) FROM failures GROUP BY tag, asset, partition_key)",
    )?;
    let mut mark = conn.prepare(
        "INSERT INTO latest (tag, asset, partition_key, failure_id, failed)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tag, asset, partition_key)
         DO UPDATE SET failure_id = excluded.failure_id, failed = excluded.failed",
    )?;
    let mut rows = last_failures.query([])?;
    while let Some(row) = rows.next()? {
        let failed_at: String = row.get(4)?;
        let materialized_at: Option<String> = row.get(5)?;
        let failed = materialized_at.is_none_or(|at| later(&failed_at, &at));
        mark.execute(params![
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, i64>(0)?,
            failed,
        ])?;
    }
    Ok(())
}

/// Whether RFC 3339 time `a` is after `b` (as text if either does not parse).
fn later(a: &str, b: &str) -> bool {
    use chrono::DateTime;
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}

/// The stored form of an optional key: `''` for none.
fn key(value: Option<&str>) -> &str {
    value.unwrap_or("")
}

/// The optional key a stored `''` stands for.
fn unkey(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// [`unkey`] of a borrowed stored key.
fn unkey_ref(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}

/// A `LIMIT` argument.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Materializations, as [`Records::decode`] reads them.
const MAT_SELECT: &str = "SELECT r.record, r.schema_id FROM materializations m
    JOIN materialization_records r ON r.materialization_id = m.id";

/// The latest records of `assets` in namespace `tag`, in asset then
/// partition order: one range of the `latest` index per asset, joined with
/// the encoded records (no history scanned, no column decoded).
fn read_latest(
    conn: &Connection,
    assets: &[&str],
    tag: Option<&str>,
) -> rusqlite::Result<Vec<MaterializationRecord>> {
    // Sized up front: growing a vector of 365,000 records would move them
    // all twice (counting costs a twentieth of the reading).
    let mut count = conn.prepare_cached(
        "SELECT count(materialization_id) FROM latest WHERE tag = ?1 AND asset = ?2",
    )?;
    let mut total = 0usize;
    for asset in assets {
        let n: i64 = count.query_row(params![key(tag), asset], |r| r.get(0))?;
        total += usize::try_from(n).unwrap_or(0);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT r.record, r.schema_id
         FROM latest l
         JOIN materialization_records r ON r.materialization_id = l.materialization_id
         WHERE l.tag = ?1 AND l.asset = ?2
         ORDER BY l.partition_key",
    )?;
    let mut records = Records::new(conn);
    let mut out = Vec::with_capacity(total);
    for asset in assets {
        let mut rows = stmt.query(params![key(tag), asset])?;
        while let Some(row) = rows.next()? {
            out.push(records.decode(row)?);
        }
    }
    Ok(out)
}

/// Decodes materializations read as `(record, schema_id)`, looking up each
/// distinct schema once.
struct Records<'c> {
    conn: &'c Connection,
    schemas: HashMap<i64, String>,
}

impl<'c> Records<'c> {
    fn new(conn: &'c Connection) -> Self {
        Records {
            conn,
            schemas: HashMap::new(),
        }
    }

    fn decode(&mut self, row: &Row<'_>) -> rusqlite::Result<MaterializationRecord> {
        let schema = match row.get::<_, Option<i64>>(1)? {
            Some(id) => Some(self.schema(id)?),
            None => None,
        };
        let bytes = row.get_ref(0)?.as_blob()?;
        codec::decode(bytes, schema).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, e.into())
        })
    }

    fn schema(&mut self, id: i64) -> rusqlite::Result<String> {
        if let Some(text) = self.schemas.get(&id) {
            return Ok(text.clone());
        }
        let text: String = self
            .conn
            .prepare_cached("SELECT text FROM schemas WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        self.schemas.insert(id, text.clone());
        Ok(text)
    }
}

const RUN_SELECT: &str = "SELECT run_id, started_at, finished_at, status, command, tag FROM runs";

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        run_id: row.get(0)?,
        started_at: row.get(1)?,
        finished_at: row.get(2)?,
        status: parse_column(row, 3)?,
        command: row.get(4)?,
        tag: unkey(row.get(5)?),
    })
}

const FAILURE_SELECT: &str = "SELECT f.run_id, f.asset, f.partition_key, f.tag, f.attempt,
    f.error, f.started_at, f.finished_at FROM failures f";

fn failure_from_row(row: &Row<'_>) -> rusqlite::Result<FailureRecord> {
    Ok(FailureRecord {
        run_id: row.get(0)?,
        asset: row.get(1)?,
        partition: unkey(row.get(2)?),
        tag: unkey(row.get(3)?),
        attempt: row.get(4)?,
        error: row.get(5)?,
        started_at: row.get(6)?,
        finished_at: row.get(7)?,
    })
}

const CHECK_SELECT: &str = "SELECT run_id, asset, partition_key, tag, name, passed, severity,
    message, at FROM check_results";

fn check_from_row(row: &Row<'_>) -> rusqlite::Result<CheckResult> {
    Ok(CheckResult {
        run_id: row.get(0)?,
        asset: row.get(1)?,
        partition: unkey(row.get(2)?),
        tag: unkey(row.get(3)?),
        name: row.get(4)?,
        passed: row.get(5)?,
        severity: parse_column::<CheckSeverity>(row, 6)?,
        message: row.get(7)?,
        at: row.get(8)?,
    })
}

/// A text column parsed with `FromStr`.
fn parse_column<T: std::str::FromStr<Err = String>>(
    row: &Row<'_>,
    at: usize,
) -> rusqlite::Result<T> {
    let text: String = row.get(at)?;
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(at, rusqlite::types::Type::Text, e.into())
    })
}
