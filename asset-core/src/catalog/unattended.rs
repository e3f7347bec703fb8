//! [`UnattendedStore`]: the catalog tables of unattended operation (schema
//! version 3): schedule ticks, the daemon's cursors and lock, open alerts.
//!
//! These writes are rare (a few per tick) and must be answered at once (did
//! this daemon get the tick?), so they go through a connection of their
//! own with `IMMEDIATE` transactions instead of the catalog's batching
//! writer. It opens the same file as [`SqliteCatalog`](super::SqliteCatalog)
//! and migrates it the same way.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::error::CatalogError;
use super::schema;

/// How long SQLite waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of asking for the daemon lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonLock {
    /// This holder has it (newly, or renewed).
    Acquired,
    /// Another daemon holds it until `expires_at`.
    HeldBy {
        /// Its holder id (`daemon-<pid>@<host>-<time>`).
        holder: String,
        /// When it took the lock (RFC 3339).
        acquired_at: String,
        /// When the lock lapses unless renewed.
        expires_at: DateTime<Utc>,
    },
}

/// What became of a schedule tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickStatus {
    /// Taken; its run has not ended (or its daemon died).
    Started,
    /// Its run succeeded.
    Succeeded,
    /// Its run failed or could not start.
    Failed,
    /// Nothing to run (no complete partition yet).
    Skipped,
}

impl TickStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            TickStatus::Started => "started",
            TickStatus::Succeeded => "succeeded",
            TickStatus::Failed => "failed",
            TickStatus::Skipped => "skipped",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "succeeded" => TickStatus::Succeeded,
            "failed" => TickStatus::Failed,
            "skipped" => TickStatus::Skipped,
            _ => TickStatus::Started,
        }
    }
}

/// One recorded tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickRecord {
    /// The scheduled asset.
    pub asset: String,
    /// The tick's instant.
    pub tick_at: DateTime<Utc>,
    /// The partition it materialized (`None`: unpartitioned or all).
    pub partition: Option<String>,
    /// What became of it.
    pub status: TickStatus,
    /// The run it launched.
    pub run_id: Option<String>,
    /// Why it failed or was skipped.
    pub message: Option<String>,
}

/// A new materialization seen by an automation cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterializationEvent {
    /// Its id in the event log (cursors advance past it).
    pub id: i64,
    /// The asset.
    pub asset: String,
    /// The partition (`None`: unpartitioned).
    pub partition: Option<String>,
    /// Its data version.
    pub data_version: String,
    /// The data version of the materialization before it of the same
    /// asset-partition, if any: equal means early cutoff.
    pub previous_data_version: Option<String>,
    /// When its step started (RFC 3339).
    pub started_at: String,
    /// When it was recorded (RFC 3339).
    pub finished_at: String,
}

/// An alert that has fired and not recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAlert {
    /// The asset.
    pub asset: String,
    /// The partition (`None`: unpartitioned).
    pub partition: Option<String>,
    /// The cause's stored name (`retries_exhausted`, `sla_breached`...).
    pub cause: String,
    /// Its severity (`P0`..`P3`).
    pub severity: String,
    /// The run it was raised in (empty for an SLA alert: no run raised it).
    pub run_id: String,
    /// The one-line explanation sent.
    pub why: String,
    /// When it fired (RFC 3339).
    pub opened_at: String,
}

/// The catalog tables of unattended operation, on their own connection.
pub struct UnattendedStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for UnattendedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnattendedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Instants as stored: RFC 3339, UTC, whole seconds, so text order is time
/// order.
pub fn instant_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_instant(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

/// `''` for "no partition", as everywhere in the catalog.
fn key(partition: Option<&str>) -> &str {
    partition.unwrap_or("")
}

fn unkey(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl UnattendedStore {
    /// Opens (creating and migrating if needed) the catalog at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref().to_owned();
        schema::check_file(&path)?;
        let mut conn = Connection::open(&path).map_err(|e| CatalogError::Open {
            path: path.clone(),
            source: std::sync::Arc::new(e),
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| {
                conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            })
            .and_then(|_| conn.execute_batch("PRAGMA synchronous = NORMAL;"))
            .map_err(|e| CatalogError::sqlite(&path, e))?;
        schema::migrate(&mut conn, &path)?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// Opens the existing catalog at `path` for reading only (`schedules`):
    /// nothing is created or migrated, and a read-only root works. An
    /// older schema is refused like the other reading commands do.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref().to_owned();
        schema::check_file(&path)?;
        let conn = super::sqlite::open_read_only_connection(&path)?;
        schema::check_current(&conn, &path)?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The catalog file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, CatalogError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn).map_err(|e| CatalogError::sqlite(&self.path, e))
    }

    /// Takes the daemon lock for `holder` until `now + ttl`, or renews it;
    /// refused while another holder's lock has not expired.
    pub fn acquire_daemon_lock(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<DaemonLock, CatalogError> {
        let now_ms = now.timestamp_millis();
        let expires = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<(String, String, i64)> = tx
                .query_row(
                    "SELECT holder, acquired_at, expires_at FROM daemon_lock WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let outcome = match current {
                Some((other, acquired_at, until)) if other != holder && until > now_ms => {
                    DaemonLock::HeldBy {
                        holder: other,
                        acquired_at,
                        expires_at: DateTime::from_timestamp_millis(until).unwrap_or(now),
                    }
                }
                Some((other, _, _)) if other == holder => {
                    tx.execute(
                        "UPDATE daemon_lock SET expires_at = ?1 WHERE id = 1",
                        [expires],
                    )?;
                    DaemonLock::Acquired
                }
                _ => {
                    tx.execute(
                        "INSERT OR REPLACE INTO daemon_lock (id, holder, acquired_at, expires_at)
                         VALUES (1, ?1, ?2, ?3)",
                        params![holder, instant_text(now), expires],
                    )?;
                    DaemonLock::Acquired
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
    }

    /// Who holds the daemon lock, if anyone (expired or not).
    pub fn daemon_lock_holder(&self) -> Result<Option<String>, CatalogError> {
        self.with(|conn| {
            conn.query_row("SELECT holder FROM daemon_lock WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    /// Gives the daemon lock up, if `holder` has it.
    pub fn release_daemon_lock(&self, holder: &str) -> Result<(), CatalogError> {
        self.with(|conn| {
            conn.execute("DELETE FROM daemon_lock WHERE holder = ?1", [holder])
                .map(|_| ())
        })
    }

    /// The newest tick taken of each scheduled asset.
    pub fn last_ticks(&self) -> Result<Vec<(String, DateTime<Utc>)>, CatalogError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT asset, max(tick_at) FROM schedule_ticks GROUP BY asset ORDER BY asset",
            )?;
            let rows = stmt.query_map([], |r| {
                let at: String = r.get(1)?;
                Ok((r.get::<_, String>(0)?, parse_instant(&at)?))
            })?;
            rows.collect()
        })
    }

    /// Takes the tick `tick_at` of `asset`: `false` if it was taken before
    /// (by this daemon before a restart, or by another one).
    pub fn take_tick(
        &self,
        asset: &str,
        tick_at: DateTime<Utc>,
        partition: Option<&str>,
        daemon: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, CatalogError> {
        self.with(|conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO schedule_ticks
                 (asset, tick_at, partition_key, status, daemon, started_at)
                 VALUES (?1, ?2, ?3, 'started', ?4, ?5)",
                params![
                    asset,
                    instant_text(tick_at),
                    key(partition),
                    daemon,
                    instant_text(now)
                ],
            )?;
            Ok(inserted == 1)
        })
    }

    /// Records how a tick ended.
    pub fn finish_tick(
        &self,
        asset: &str,
        tick_at: DateTime<Utc>,
        status: TickStatus,
        run_id: Option<&str>,
        message: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), CatalogError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE schedule_ticks SET status = ?3, run_id = ?4, message = ?5, finished_at = ?6
                 WHERE asset = ?1 AND tick_at = ?2",
                params![
                    asset,
                    instant_text(tick_at),
                    status.as_str(),
                    run_id,
                    message,
                    instant_text(now)
                ],
            )
            .map(|_| ())
        })
    }

    /// The ticks of `asset` (every asset for `None`), newest first, at most
    /// `limit`.
    pub fn ticks(
        &self,
        asset: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TickRecord>, CatalogError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT asset, tick_at, partition_key, status, run_id, message FROM schedule_ticks
                 WHERE ?1 IS NULL OR asset = ?1 ORDER BY tick_at DESC, asset LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![asset, limit], |r| {
                let at: String = r.get(1)?;
                let status: String = r.get(3)?;
                Ok(TickRecord {
                    asset: r.get(0)?,
                    tick_at: parse_instant(&at)?,
                    partition: unkey(r.get(2)?),
                    status: TickStatus::parse(&status),
                    run_id: r.get(4)?,
                    message: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The cursor `name`, if set.
    pub fn cursor(&self, name: &str) -> Result<Option<i64>, CatalogError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT value FROM daemon_cursors WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Sets the cursor `name`.
    pub fn set_cursor(&self, name: &str, value: i64) -> Result<(), CatalogError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO daemon_cursors (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                params![name, value],
            )
            .map(|_| ())
        })
    }

    /// The id of the newest production materialization (0 if none).
    pub fn newest_materialization_id(&self) -> Result<i64, CatalogError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT coalesce(max(id), 0) FROM materializations WHERE tag = ''",
                [],
                |r| r.get(0),
            )
        })
    }

    /// Production materializations after `after_id`, oldest first, at most
    /// `limit`, each with the data version it replaced.
    pub fn materializations_after(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<MaterializationEvent>, CatalogError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT m.id, m.asset, m.partition_key, m.data_version,
                        (SELECT p.data_version FROM materializations p
                          WHERE p.asset = m.asset AND p.partition_key = m.partition_key
                            AND p.tag = '' AND p.id < m.id
                          ORDER BY p.id DESC LIMIT 1),
                        m.started_at, m.finished_at
                 FROM materializations m
                 WHERE m.id > ?1 AND m.tag = '' ORDER BY m.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after_id, limit], |r| {
                Ok(MaterializationEvent {
                    id: r.get(0)?,
                    asset: r.get(1)?,
                    partition: unkey(r.get(2)?),
                    data_version: r.get(3)?,
                    previous_data_version: r.get(4)?,
                    started_at: r.get(5)?,
                    finished_at: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Opens an alert: `false` if one for this asset-partition and cause is
    /// already open (deduplicated: nothing to send).
    pub fn open_alert(&self, alert: &OpenAlert) -> Result<bool, CatalogError> {
        self.with(|conn| {
            let inserted = conn.execute(
                "INSERT OR IGNORE INTO open_alerts
                 (asset, partition_key, cause, severity, run_id, why, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    alert.asset,
                    key(alert.partition.as_deref()),
                    alert.cause,
                    alert.severity,
                    alert.run_id,
                    alert.why,
                    alert.opened_at
                ],
            )?;
            Ok(inserted == 1)
        })
    }

    /// Closes the open alert for this asset-partition and cause, returning
    /// it (`None`: none was open, so no recovery notice is due).
    pub fn close_alert(
        &self,
        asset: &str,
        partition: Option<&str>,
        cause: &str,
    ) -> Result<Option<OpenAlert>, CatalogError> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let open = tx
                .query_row(
                    "SELECT asset, partition_key, cause, severity, run_id, why, opened_at
                     FROM open_alerts WHERE asset = ?1 AND partition_key = ?2 AND cause = ?3",
                    params![asset, key(partition), cause],
                    alert_from_row,
                )
                .optional()?;
            if open.is_some() {
                tx.execute(
                    "DELETE FROM open_alerts WHERE asset = ?1 AND partition_key = ?2 AND cause = ?3",
                    params![asset, key(partition), cause],
                )?;
            }
            tx.commit()?;
            Ok(open)
        })
    }

    /// Every open alert, by asset, partition and cause.
    pub fn open_alerts(&self) -> Result<Vec<OpenAlert>, CatalogError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT asset, partition_key, cause, severity, run_id, why, opened_at
                 FROM open_alerts ORDER BY asset, partition_key, cause",
            )?;
            let rows = stmt.query_map([], alert_from_row)?;
            rows.collect()
        })
    }
}

fn alert_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OpenAlert> {
    Ok(OpenAlert {
        asset: r.get(0)?,
        partition: unkey(r.get(1)?),
        cause: r.get(2)?,
        severity: r.get(3)?,
        run_id: r.get(4)?,
        why: r.get(5)?,
        opened_at: r.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 2, h, 0, 0).single().unwrap()
    }

    fn store() -> (tempfile::TempDir, UnattendedStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = UnattendedStore::open(dir.path().join("c.sqlite")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_tick_is_taken_once() {
        let (_dir, store) = store();
        assert!(
            store
                .take_tick("a", at(6), Some("2024-01-01"), "d1", at(6))
                .unwrap()
        );
        assert!(
            !store
                .take_tick("a", at(6), Some("2024-01-01"), "d2", at(6))
                .unwrap()
        );
        store
            .finish_tick(
                "a",
                at(6),
                TickStatus::Succeeded,
                Some("run-1"),
                None,
                at(7),
            )
            .unwrap();
        assert_eq!(store.last_ticks().unwrap(), [("a".to_owned(), at(6))]);
        let ticks = store.ticks(Some("a"), 10).unwrap();
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0].status, TickStatus::Succeeded);
        assert_eq!(ticks[0].partition.as_deref(), Some("2024-01-01"));
        assert_eq!(ticks[0].run_id.as_deref(), Some("run-1"));
    }

    #[test]
    fn the_daemon_lock_has_one_holder_until_it_expires_or_is_released() {
        let (_dir, store) = store();
        let ttl = Duration::from_secs(30);
        assert_eq!(
            store.acquire_daemon_lock("d1", at(1), ttl).unwrap(),
            DaemonLock::Acquired
        );
        assert!(matches!(
            store.acquire_daemon_lock("d2", at(1), ttl).unwrap(),
            DaemonLock::HeldBy { holder, .. } if holder == "d1"
        ));
        // Renewal by the holder.
        assert_eq!(
            store.acquire_daemon_lock("d1", at(1), ttl).unwrap(),
            DaemonLock::Acquired
        );
        // Expired: taken over.
        assert_eq!(
            store.acquire_daemon_lock("d2", at(2), ttl).unwrap(),
            DaemonLock::Acquired
        );
        assert_eq!(store.daemon_lock_holder().unwrap().as_deref(), Some("d2"));
        store.release_daemon_lock("d2").unwrap();
        assert_eq!(store.daemon_lock_holder().unwrap(), None);
        assert_eq!(
            store.acquire_daemon_lock("d3", at(2), ttl).unwrap(),
            DaemonLock::Acquired
        );
    }

    #[test]
    fn alerts_open_once_and_close_once() {
        let (_dir, store) = store();
        let alert = OpenAlert {
            asset: "a".into(),
            partition: Some("2024-01-01".into()),
            cause: "retries_exhausted".into(),
            severity: "P1".into(),
            run_id: "run-1".into(),
            why: "boom".into(),
            opened_at: instant_text(at(1)),
        };
        assert!(store.open_alert(&alert).unwrap());
        assert!(!store.open_alert(&alert).unwrap());
        assert_eq!(store.open_alerts().unwrap(), std::slice::from_ref(&alert));
        assert_eq!(
            store
                .close_alert("a", Some("2024-01-01"), "retries_exhausted")
                .unwrap(),
            Some(alert)
        );
        assert_eq!(
            store
                .close_alert("a", Some("2024-01-01"), "retries_exhausted")
                .unwrap(),
            None
        );
    }

    #[test]
    fn cursors_persist() {
        let (_dir, store) = store();
        assert_eq!(store.cursor("eager").unwrap(), None);
        store.set_cursor("eager", 7).unwrap();
        store.set_cursor("eager", 9).unwrap();
        assert_eq!(store.cursor("eager").unwrap(), Some(9));
        assert_eq!(store.newest_materialization_id().unwrap(), 0);
    }

    #[test]
    fn a_version_two_catalog_is_migrated_to_three() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::V1).unwrap();
            conn.execute_batch(schema::V2).unwrap();
            conn.execute_batch(&format!(
                "PRAGMA application_id = {}; PRAGMA user_version = 2;",
                schema::APPLICATION_ID
            ))
            .unwrap();
            conn.execute(
                "INSERT INTO runs (run_id, started_at, status, command, tag)
                 VALUES ('run-0', '2024-01-01T00:00:00Z', 'succeeded', 'materialize', '')",
                [],
            )
            .unwrap();
        }
        let store = UnattendedStore::open(&path).unwrap();
        assert!(store.take_tick("a", at(6), None, "d", at(6)).unwrap());
        drop(store);
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
        let runs: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(runs, 1, "the older tables keep their rows");
    }
}
