//! The catalog's SQLite schema and its migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version`; `PRAGMA
//! application_id` marks the file as an assetflow catalog. Opening a catalog
//! applies the migrations it lacks, in order, in one `IMMEDIATE` transaction
//! (so two processes opening a new catalog at once migrate it once). A
//! catalog whose version is newer than [`SCHEMA_VERSION`] is refused: an old
//! assetflow must not write into a schema it does not know.
//!
//! Conventions of the tables:
//! - a missing partition (unpartitioned asset) and a missing tag (production)
//!   are stored as `''` in `NOT NULL` columns, so keys and `UNIQUE`
//!   constraints need no `NULL` special case (`''` is never a valid key);
//! - times are RFC 3339 text, as in the provenance records;
//! - `u64` counts are stored as SQLite integers (two's complement, so values
//!   past `i64::MAX` read back unchanged);
//! - schemas, long and repeated for every partition of an asset, are stored
//!   once in `schemas` and referenced by id;
//! - a materialization is stored as columns (for queries) and once more as
//!   a compact blob (for fast reads, see `codec.rs`) in
//!   `materialization_records`.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};

use super::error::CatalogError;

/// `PRAGMA application_id` of an assetflow catalog ("AFLW").
pub const APPLICATION_ID: i32 = 0x4146_4c57;

/// The migrations, in order: `MIGRATIONS[i]` takes a catalog from version
/// `i` to `i + 1`. Append only; never edit a released one.
const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The newest schema version this build knows (and writes).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: runs, materializations with their inputs, the latest
/// materialization and last attempt per key, failed attempts, check results.
pub(super) const V1: &str = r#"
CREATE TABLE runs (
    run_id      TEXT PRIMARY KEY NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    command     TEXT NOT NULL,
    tag         TEXT NOT NULL
);

CREATE TABLE schemas (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);

-- One row per materialization event, never updated.
CREATE TABLE materializations (
    id                INTEGER PRIMARY KEY,
    asset             TEXT NOT NULL,
    partition_key     TEXT NOT NULL,
    tag               TEXT NOT NULL,
    run_id            TEXT NOT NULL,
    code_version      TEXT NOT NULL,
    data_version      TEXT NOT NULL,
    uri               TEXT NOT NULL,
    row_count         INTEGER NOT NULL,
    byte_count        INTEGER NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT NOT NULL,
    framework_version TEXT NOT NULL,
    config_hash       TEXT,
    git_commit        TEXT NOT NULL,
    schema_id         INTEGER REFERENCES schemas(id)
);
CREATE INDEX materializations_by_key ON materializations (asset, partition_key, id);
CREATE INDEX materializations_by_run ON materializations (run_id);

-- The same record (but its schema) in compact binary form (codec.rs):
-- what reads decode, one value per row instead of some twenty columns and
-- a join on the inputs. A table of its own, so that reading the latest
-- records of a whole graph reads only these pages. The columns above are
-- for SQL queries and migrations.
CREATE TABLE materialization_records (
    materialization_id INTEGER PRIMARY KEY REFERENCES materializations(id) ON DELETE CASCADE,
    schema_id          INTEGER REFERENCES schemas(id),
    record             BLOB NOT NULL
);

-- The inputs a materialization read, in dependency order.
CREATE TABLE materialization_inputs (
    materialization_id INTEGER NOT NULL REFERENCES materializations(id) ON DELETE CASCADE,
    position           INTEGER NOT NULL,
    asset              TEXT NOT NULL,
    partition_key      TEXT NOT NULL,
    data_version       TEXT NOT NULL,
    PRIMARY KEY (materialization_id, position)
) WITHOUT ROWID;
-- Downstream lineage: who read this version of this asset-partition.
CREATE INDEX inputs_by_version ON materialization_inputs (asset, partition_key, data_version);

-- Failed attempts, one row each.
CREATE TABLE failures (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL,
    asset         TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    tag           TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    error         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT NOT NULL
);
CREATE INDEX failures_by_key ON failures (asset, partition_key, tag, id);

-- Per key: its latest materialization, its latest failure, and whether the
-- last thing recorded for it was a failure. Updated in the transaction that
-- records the event, so status queries never scan the history.
CREATE TABLE latest (
    tag                TEXT NOT NULL,
    asset              TEXT NOT NULL,
    partition_key      TEXT NOT NULL,
    materialization_id INTEGER REFERENCES materializations(id),
    failure_id         INTEGER REFERENCES failures(id),
    failed             INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tag, asset, partition_key)
) WITHOUT ROWID;

CREATE TABLE check_results (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL,
    asset         TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    tag           TEXT NOT NULL,
    name          TEXT NOT NULL,
    passed        INTEGER NOT NULL,
    severity      TEXT NOT NULL,
    message       TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX checks_by_key ON check_results (asset, partition_key, tag, id);
CREATE INDEX checks_by_run ON check_results (run_id);
"#;

/// Version 2: leases (who is materializing an asset-partition right now),
/// dynamic partition sets, and the tag a production materialization was
/// promoted from.
pub(crate) const V2: &str = r#"
-- One row per asset-partition being materialized: taken before a stale step
-- computes, renewed while it runs, deleted once its materialization is
-- recorded. A row whose `expires_at` (Unix milliseconds, the holder's
-- clock) has passed belongs to a holder that died and may be taken over.
CREATE TABLE leases (
    tag           TEXT NOT NULL,
    asset         TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    holder        TEXT NOT NULL,
    acquired_at   TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (tag, asset, partition_key)
) WITHOUT ROWID;
CREATE INDEX leases_by_holder ON leases (holder);

-- The keys of dynamic partition sets, in the order they were added (`id`).
CREATE TABLE dynamic_partitions (
    id            INTEGER PRIMARY KEY,
    set_name      TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    added_at      TEXT NOT NULL,
    UNIQUE (set_name, partition_key)
);
CREATE INDEX dynamic_partitions_in_order ON dynamic_partitions (set_name, id);

-- The tag whose materialization a production one was promoted from.
ALTER TABLE materializations ADD COLUMN promoted_from TEXT;
"#;

/// Version 3: unattended operation (`daemon`, alerts): schedule ticks taken,
/// the daemon's cursors and lock, and the alerts that are open.
const V3: &str = r#"
-- One row per schedule tick taken. Inserting the row is taking the tick
-- (the primary key refuses a second taker), so a restarted daemon never
-- runs a tick twice and two daemons never both run one. `status`:
-- started, succeeded, failed, skipped.
CREATE TABLE schedule_ticks (
    asset         TEXT NOT NULL,
    tick_at       TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    status        TEXT NOT NULL,
    run_id        TEXT,
    daemon        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    message       TEXT,
    PRIMARY KEY (asset, tick_at)
) WITHOUT ROWID;

-- How far each automation has read the event log (a materialization id).
CREATE TABLE daemon_cursors (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- At most one daemon works on a catalog: the holder renews `expires_at`
-- (Unix milliseconds) on every pass; an expired row may be taken over.
CREATE TABLE daemon_lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- Open alerts, one per asset-partition and cause: sent once, deleted (and
-- a recovery notice sent) when the cause clears.
CREATE TABLE open_alerts (
    asset         TEXT NOT NULL,
    partition_key TEXT NOT NULL,
    cause         TEXT NOT NULL,
    severity      TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    why           TEXT NOT NULL,
    opened_at     TEXT NOT NULL,
    PRIMARY KEY (asset, partition_key, cause)
) WITHOUT ROWID;
"#;

/// Brings the catalog at `path` (open on `conn`) to [`SCHEMA_VERSION`], or
/// refuses it: newer schema, not a catalog, corrupt.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), CatalogError> {
    let sql = |e| CatalogError::sqlite(path, e);
    // Fast path, no write lock: an up-to-date catalog (the usual case).
    let (version, app_id) = versions(conn).map_err(sql)?;
    check(path, version, app_id)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    // Again under the lock: another process may have migrated meanwhile.
    let (version, app_id) = versions(&tx).map_err(sql)?;
    check(path, version, app_id)?;
    if version == 0 {
        // A fresh catalog must be an empty database, not someone else's.
        let tables: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .map_err(sql)?;
        if tables > 0 {
            return Err(CatalogError::NotACatalog {
                path: path.to_owned(),
                detail: format!("it has {tables} tables or indexes and no catalog version"),
            });
        }
    }
    for migration in &MIGRATIONS[version as usize..] {
        tx.execute_batch(migration).map_err(sql)?;
    }
    tx.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(sql)?;
    tx.commit().map_err(sql)
}

/// For a catalog opened read-only: refuses a newer schema or another
/// application's database like [`migrate`], and an older schema too (it
/// cannot be migrated without writing; any writing command migrates it).
pub(crate) fn check_current(conn: &Connection, path: &Path) -> Result<(), CatalogError> {
    let (version, app_id) = versions(conn).map_err(|e| CatalogError::sqlite(path, e))?;
    check(path, version, app_id)?;
    if version < SCHEMA_VERSION {
        return Err(CatalogError::NotACatalog {
            path: path.to_owned(),
            detail: format!(
                "its schema version is {version}, this assetflow reads {SCHEMA_VERSION}; \
                 run a writing command (materialize) once to migrate it"
            ),
        });
    }
    Ok(())
}

/// `(user_version, application_id)` of the open database.
fn versions(conn: &Connection) -> rusqlite::Result<(i64, i32)> {
    let version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let app_id = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    Ok((version, app_id))
}

/// Refuses a newer schema or another application's database.
fn check(path: &Path, version: i64, app_id: i32) -> Result<(), CatalogError> {
    if version > SCHEMA_VERSION {
        return Err(CatalogError::NewerSchema {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version < 0 {
        return Err(CatalogError::NotACatalog {
            path: path.to_owned(),
            detail: format!("its user version is {version}"),
        });
    }
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(CatalogError::NotACatalog {
            path: path.to_owned(),
            detail: format!("its application id is {app_id:#010x}"),
        });
    }
    if version > 0 && app_id != APPLICATION_ID {
        return Err(CatalogError::NotACatalog {
            path: path.to_owned(),
            detail: format!("it has user version {version} but no assetflow application id"),
        });
    }
    Ok(())
}

/// The first bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Checks the file's header before SQLite touches it, so a file that is not
/// a database, or one cut short, is refused with a clear message instead of
/// failing later in some query (or being "repaired" by a write).
///
/// A missing or empty file is fine: it becomes a new catalog.
pub(crate) fn check_file(path: &Path) -> Result<(), CatalogError> {
    match inspect(path)? {
        Header::Fine => Ok(()),
        Header::Bad(detail) => Err(CatalogError::Corrupt {
            path: path.to_owned(),
            detail,
        }),
        Header::Short(detail) => {
            // A checkpoint (running in another process, or cut short by a
            // crash) writes the header, with the new page count, before the
            // pages that extend the file; the WAL still holds them all and
            // SQLite finishes the job. Only without a WAL is a short file
            // truncated for sure.
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            match std::fs::metadata(PathBuf::from(wal)) {
                Ok(meta) if meta.len() > 0 => Ok(()),
                _ => Err(CatalogError::Corrupt {
                    path: path.to_owned(),
                    detail,
                }),
            }
        }
    }
}

/// What the header says.
enum Header {
    /// Missing, empty, or a plausible database.
    Fine,
    /// Not a database.
    Bad(String),
    /// Shorter than its header says.
    Short(String),
}

fn inspect(path: &Path) -> Result<Header, CatalogError> {
    let io = |e: std::io::Error| CatalogError::Io {
        path: path.to_owned(),
        source: std::sync::Arc::new(e),
    };
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Header::Fine),
        Err(e) => return Err(io(e)),
    };
    let len = file.metadata().map_err(io)?.len();
    if len == 0 {
        return Ok(Header::Fine);
    }
    let mut header = Vec::with_capacity(100);
    file.by_ref()
        .take(100)
        .read_to_end(&mut header)
        .map_err(io)?;
    if !header.starts_with(&MAGIC[..header.len().min(16)]) {
        return Ok(Header::Bad(
            "not a SQLite database: the file does not start with the SQLite header".into(),
        ));
    }
    if header.len() < 100 {
        return Ok(Header::Bad(format!(
            "truncated: the file is {len} bytes, shorter than a SQLite header"
        )));
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        n => return Ok(Header::Bad(format!("invalid page size {n} in the header"))),
    };
    let change_counter = be32(24);
    let pages = u64::from(be32(28));
    let valid_for = be32(92);
    // The page count is only meaningful when written by a SQLite that
    // maintains it (then both counters agree).
    if pages > 0 && change_counter == valid_for && len < pages * page_size {
        return Ok(Header::Short(format!(
            "truncated: the file is {len} bytes, its header says {} ({pages} pages of {page_size})",
            pages * page_size
        )));
    }
    Ok(Header::Fine)
}
