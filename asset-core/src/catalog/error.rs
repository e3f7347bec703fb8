//! [`CatalogError`]: everything that can go wrong with a catalog, each message
//! one line naming the catalog file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A catalog error. Every variant names the catalog file, so a message read
/// alone tells which file is at fault and, where there is one, the fix.
///
/// Cheap to clone (sources are shared), so one failed batch can be reported
/// to every caller waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be opened or created (permissions, missing volume).
    #[error("cannot open catalog {}: {source}", .path.display())]
    Open {
        /// The catalog file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// Reading the file or creating its folder failed.
    #[error("cannot access catalog {}: {source}", .path.display())]
    Io {
        /// The catalog file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The file is not a SQLite database, or a damaged or truncated one.
    #[error(
        "catalog {} is corrupt ({detail}): move it aside and run `catalog rebuild` to restore it from the sidecars",
        .path.display()
    )]
    Corrupt {
        /// The catalog file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The file is a SQLite database, but not an assetflow catalog.
    #[error(
        "{} is a SQLite database but not an assetflow catalog ({detail}): point the catalog elsewhere, or move the file aside and run `catalog rebuild`",
        .path.display()
    )]
    NotACatalog {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        detail: String,
    },
    /// The catalog was written by a newer assetflow, with a schema this one
    /// does not know.
    #[error(
        "catalog {} has schema version {found}, this assetflow knows up to {known}: upgrade assetflow",
        .path.display()
    )]
    NewerSchema {
        /// The catalog file.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// Another process held the catalog's write lock for longer than the
    /// busy timeout, retries included.
    #[error(
        "catalog {} stayed locked by another process for {:.0} s: is a stuck assetflow process holding it?",
        .path.display(),
        .waited.as_secs_f64()
    )]
    Locked {
        /// The catalog file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
    /// A run id given to `begin_run` is already recorded.
    #[error("catalog {}: run {run_id:?} is already recorded", .path.display())]
    DuplicateRun {
        /// The catalog file.
        path: PathBuf,
        /// The run id.
        run_id: String,
    },
    /// A run id given to `end_run` was never begun.
    #[error("catalog {}: no run {run_id:?} was begun", .path.display())]
    UnknownRun {
        /// The catalog file.
        path: PathBuf,
        /// The run id.
        run_id: String,
    },
    /// A record the catalog cannot store faithfully (an empty partition key
    /// or tag, which would read back as "none").
    #[error("catalog {}: cannot record {what}: {reason}", .path.display())]
    InvalidRecord {
        /// The catalog file.
        path: PathBuf,
        /// Which record ("materialization of sales [2024-01-01]").
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `promote` of an asset-partition the tag has no materialization of.
    #[error(
        "catalog {}: tag {tag:?} has no materialization of {asset}{} to promote",
        .path.display(),
        .partition.as_deref().map(|p| format!(" [{p}]")).unwrap_or_default()
    )]
    NothingToPromote {
        /// The catalog file.
        path: PathBuf,
        /// The tag.
        tag: String,
        /// The asset key.
        asset: String,
        /// The partition key, if partitioned.
        partition: Option<String>,
    },
    /// Any other SQLite failure (disk full, IO error).
    #[error("catalog {}: {source}", .path.display())]
    Sqlite {
        /// The catalog file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: Arc<rusqlite::Error>,
    },
    /// The background writer stopped (it panicked): what was recorded after
    /// it stopped is lost from the catalog (the sidecars still have it).
    #[error(
        "catalog {}: the catalog writer stopped; recent records are missing from the catalog (run `catalog rebuild` to restore them from the sidecars)",
        .path.display()
    )]
    WriterStopped {
        /// The catalog file.
        path: PathBuf,
    },
}

impl CatalogError {
    /// The catalog file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            CatalogError::Open { path, .. }
            | CatalogError::Io { path, .. }
            | CatalogError::Corrupt { path, .. }
            | CatalogError::NotACatalog { path, .. }
            | CatalogError::NewerSchema { path, .. }
            | CatalogError::Locked { path, .. }
            | CatalogError::DuplicateRun { path, .. }
            | CatalogError::UnknownRun { path, .. }
            | CatalogError::InvalidRecord { path, .. }
            | CatalogError::NothingToPromote { path, .. }
            | CatalogError::Sqlite { path, .. }
            | CatalogError::WriterStopped { path } => path,
        }
    }

    /// Whether `catalog rebuild` is the way out (the file is damaged).
    pub fn needs_rebuild(&self) -> bool {
        matches!(self, CatalogError::Corrupt { .. })
    }

    /// Classifies a SQLite error about the catalog at `path`: corruption
    /// and "not a database" become [`CatalogError::Corrupt`], the rest
    /// [`CatalogError::Sqlite`].
    pub(crate) fn sqlite(path: &std::path::Path, error: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let corrupt = matches!(
            error.sqlite_error_code(),
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
        ) || matches!(
            error,
            // A stored value that does not decode as what was written.
            rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..)
        );
        if corrupt {
            CatalogError::Corrupt {
                path: path.to_owned(),
                detail: error.to_string(),
            }
        } else {
            CatalogError::Sqlite {
                path: path.to_owned(),
                source: Arc::new(error),
            }
        }
    }
}

/// Whether a SQLite error means "another connection holds the lock": the
/// operation can be retried.
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
