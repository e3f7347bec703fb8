//! The root and catalog of the commands that only read (`status`, `why`,
//! `lineage`, `history`, `partitions`, `tags`, `dlq`, `schedules`): opened read-only, so
//! they create nothing, change nothing and work on a read-only root.
//!
//! Over a root where nothing was materialized yet (no folder, or no catalog
//! in it) they say so on stderr and answer from an empty catalog kept in a
//! temporary file outside the root and removed afterwards: `status` still
//! lists every asset as missing, and a misspelt asset is still an error.

use std::path::Path;

use io_managers::StorageRoot;

use crate::catalog::{Catalog, SqliteCatalog};
use crate::cli::commands::catalog_path;
use crate::error::Error;

/// A catalog opened for reading: the root's own, or an empty stand-in.
pub(super) enum ReadCatalog {
    /// The root's catalog, opened read-only.
    Existing(SqliteCatalog),
    /// Nothing materialized yet: an empty catalog in a temporary folder
    /// (dropped with it).
    Empty {
        /// The empty catalog.
        catalog: SqliteCatalog,
        /// Its folder, removed when dropped.
        _folder: tempfile::TempDir,
    },
}

impl ReadCatalog {
    /// The catalog.
    pub(super) fn get(&self) -> &dyn Catalog {
        match self {
            ReadCatalog::Existing(catalog) | ReadCatalog::Empty { catalog, .. } => catalog,
        }
    }
}

/// The catalog file of `root` (`--catalog`, or the default file in it) if
/// it exists: `schedules` reads its ticks without opening anything else.
pub(super) fn existing_catalog_file(
    root: &str,
    explicit: Option<&Path>,
) -> Result<Option<std::path::PathBuf>, Error> {
    let path = match (StorageRoot::parse_existing(root)?, explicit) {
        (_, Some(explicit)) => Some(explicit.to_path_buf()),
        (Some(root), None) => Some(catalog_path(&root, None)),
        (None, None) => None,
    };
    Ok(path.filter(|p| p.exists()))
}

/// Opens `root` (as given) and its catalog (`--catalog`, or the default
/// file in the root) for reading.
pub(super) fn open(
    root: &str,
    explicit: Option<&Path>,
) -> Result<(StorageRoot, ReadCatalog), Error> {
    let parsed = StorageRoot::parse_existing(root)?;
    let path = match (&parsed, explicit) {
        (_, Some(explicit)) => Some(explicit.to_path_buf()),
        (Some(root), None) => Some(catalog_path(root, None)),
        (None, None) => None,
    };
    // A root that is gone: every value reads as missing.
    let storage = parsed.unwrap_or_else(StorageRoot::memory);
    if let Some(path) = path.filter(|p| p.exists()) {
        let catalog =
            SqliteCatalog::open_read_only(&path).map_err(|e| Error::Catalog(e.to_string()))?;
        return Ok((storage, ReadCatalog::Existing(catalog)));
    }
    eprintln!("nothing materialized yet under {root}");
    let dir = tempfile::tempdir()
        .map_err(|e| Error::Internal(format!("cannot make a temporary folder: {e}")))?;
    let catalog = SqliteCatalog::open(dir.path().join(crate::catalog::DEFAULT_FILE_NAME))
        .map_err(|e| Error::Catalog(e.to_string()))?;
    Ok((
        storage,
        ReadCatalog::Empty {
            catalog,
            _folder: dir,
        },
    ))
}
