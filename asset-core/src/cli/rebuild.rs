//! `catalog rebuild`: restore the catalog from the provenance sidecars that
//! sit beside every published value.

use std::path::Path;
use std::process::ExitCode;

use futures::StreamExt;
use io_managers::StorageRoot;
use object_store::ObjectStoreExt;

use crate::catalog::{Catalog, SqliteCatalog};
use crate::error::Error;
use crate::materialize::record::MaterializationRecord;

/// Replaces the catalog's materializations with the sidecars under `root`.
/// A catalog file that cannot be opened (corrupt, truncated) is moved aside
/// to `<file>.corrupt` and a new one is made.
pub(super) fn rebuild(root: &StorageRoot, catalog_path: &Path) -> Result<ExitCode, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let (records, unreadable) = runtime.block_on(read_sidecars(root))?;
    let catalog = match SqliteCatalog::open(catalog_path) {
        Ok(catalog) => catalog,
        Err(e) => {
            let aside = catalog_path.with_extension("sqlite.corrupt");
            eprintln!(
                "warning: {e}; moving it to {} and starting a new catalog",
                aside.display()
            );
            for suffix in ["", "-wal", "-shm"] {
                let from = format!("{}{suffix}", catalog_path.display());
                let to = format!("{}{suffix}", aside.display());
                if Path::new(&from).exists() {
                    fs_rename(&from, &to)?;
                }
            }
            SqliteCatalog::open(catalog_path).map_err(|e| Error::Catalog(e.to_string()))?
        }
    };
    let restored = catalog
        .replace_all(&mut records.into_iter())
        .map_err(|e| Error::Catalog(e.to_string()))?;
    println!(
        "rebuilt {} from {root}: {restored} materializations restored, {unreadable} unreadable sidecars skipped",
        catalog_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn fs_rename(from: &str, to: &str) -> Result<(), Error> {
    std::fs::rename(from, to)
        .map_err(|e| Error::Internal(format!("cannot move {from} to {to}: {e}")))
}

/// Every parsable sidecar under the root, oldest first (so the newest of a
/// key is its latest), and how many did not parse.
async fn read_sidecars(root: &StorageRoot) -> Result<(Vec<MaterializationRecord>, u64), Error> {
    let mut listing = root.store().list(Some(root.prefix()));
    let mut records = Vec::new();
    let mut unreadable = 0u64;
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| Error::Internal(format!("listing {root}: {e}")))?;
        if meta.location.filename() != Some(StorageRoot::SIDECAR_FILE_NAME) {
            continue;
        }
        let uri = root.uri(&meta.location);
        let fetched = match root.store().get(&meta.location).await {
            Ok(got) => got.bytes().await,
            Err(e) => Err(e),
        };
        let bytes = match fetched {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("warning: skipping {uri}: {e}");
                unreadable += 1;
                continue;
            }
        };
        match MaterializationRecord::from_json(&bytes) {
            Ok(record) => records.push(record),
            Err(e) => {
                eprintln!("warning: skipping {uri}: it does not parse ({e})");
                unreadable += 1;
            }
        }
    }
    records.sort_by(|a, b| a.finished_at.cmp(&b.finished_at));
    Ok((records, unreadable))
}
