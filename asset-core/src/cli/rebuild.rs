//! `catalog rebuild`: restore the catalog from the provenance records kept
//! with the values: the footers of the Parquet files (only the footer is
//! read, not the data), the `_provenance/` tree (documents, unit assets) and
//! the previous release's `_provenance.json` sidecars. Tagged namespaces
//! (`_tags/<tag>/...`) are read the same way; their records name their tag.

use std::path::Path;
use std::process::ExitCode;

use futures::StreamExt;
use io_managers::{PROVENANCE_KEY, ParquetIoManager, StorageRoot, parse_hive_segment};
use object_store::ObjectStoreExt;

use crate::catalog::{Catalog, SqliteCatalog};
use crate::check::DEAD_LETTER_SUFFIX;
use crate::cli::output::outln;
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
    let (records, unreadable) = runtime.block_on(read_records(root))?;
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
    outln!(
        "rebuilt {} from {root}: {restored} materializations restored, {unreadable} unreadable records skipped",
        catalog_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn fs_rename(from: &str, to: &str) -> Result<(), Error> {
    std::fs::rename(from, to)
        .map_err(|e| Error::Internal(format!("cannot move {from} to {to}: {e}")))
}

/// What one listed object is to the rebuild.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A record in a JSON file (the provenance tree, a legacy sidecar).
    JsonRecord,
    /// A Parquet value whose footer holds its record.
    ParquetValue,
    /// Not a record: a document, a legacy data file, a dead-letter table.
    Other,
    /// A value in a folder that is not `<dimension>=<key>`: skipped, and
    /// reported with the reason.
    Misplaced(String),
}

/// Classifies the store path `parts` (relative to the root, without the
/// `_tags/<tag>` prefix of a tagged namespace).
fn classify(parts: &[&str]) -> Found {
    let Some((file, folders)) = parts.split_last() else {
        return Found::Other;
    };
    if *file == StorageRoot::LEGACY_SIDECAR_FILE_NAME {
        return Found::JsonRecord;
    }
    if folders.first() == Some(&StorageRoot::PROVENANCE_FOLDER) {
        return if *file == StorageRoot::PROVENANCE_FILE_NAME {
            Found::JsonRecord
        } else {
            Found::Other
        };
    }
    if *file != ParquetIoManager::DATA_FILE_NAME {
        return Found::Other;
    }
    let Some((asset, partition)) = folders.split_first() else {
        return Found::Other;
    };
    // Dead-letter tables keep rejected rows, not materializations.
    if asset.ends_with(DEAD_LETTER_SUFFIX) {
        return Found::Other;
    }
    match partition
        .iter()
        .find(|folder| parse_hive_segment(folder).is_none())
    {
        Some(folder) => Found::Misplaced(format!(
            "its folder {folder:?} does not parse as <dimension>=<key>"
        )),
        None => Found::ParquetValue,
    }
}

/// Every readable record under the root, oldest first (so the newest of a
/// key is its latest), and how many were skipped as unreadable (each
/// reported on stderr with its URI and why).
async fn read_records(root: &StorageRoot) -> Result<(Vec<MaterializationRecord>, u64), Error> {
    let mut listing = root.store().list(Some(root.prefix()));
    let mut records = Vec::new();
    let mut unreadable = 0u64;
    let prefix_len = root.prefix().parts().count();
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| Error::Internal(format!("listing {root}: {e}")))?;
        let all: Vec<String> = meta
            .location
            .parts()
            .skip(prefix_len)
            .map(|p| p.as_ref().to_owned())
            .collect();
        let mut parts: Vec<&str> = all.iter().map(String::as_str).collect();
        if parts.first() == Some(&StorageRoot::TAGS_FOLDER) {
            parts.drain(..parts.len().min(2));
        }
        let uri = root.uri(&meta.location);
        let read = match classify(&parts) {
            Found::Other => continue,
            Found::Misplaced(why) => Err(why),
            Found::JsonRecord => read_json_record(root, &meta.location).await,
            Found::ParquetValue => read_footer_record(root, &meta.location, meta.size).await,
        };
        match read {
            Ok(record) => records.push(record),
            Err(why) => {
                eprintln!("warning: skipping {uri}: {why}");
                unreadable += 1;
            }
        }
    }
    records.sort_by(|a, b| a.finished_at.cmp(&b.finished_at));
    Ok((records, unreadable))
}

async fn read_json_record(
    root: &StorageRoot,
    path: &object_store::path::Path,
) -> Result<MaterializationRecord, String> {
    let fetched = match root.store().get(path).await {
        Ok(got) => got.bytes().await,
        Err(e) => Err(e),
    };
    let bytes = fetched.map_err(|e| e.to_string())?;
    MaterializationRecord::from_json(&bytes).map_err(|e| format!("it does not parse ({e})"))
}

async fn read_footer_record(
    root: &StorageRoot,
    path: &object_store::path::Path,
    size: u64,
) -> Result<MaterializationRecord, String> {
    let text = ParquetIoManager::read_footer_provenance(root, path)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("its footer has no {PROVENANCE_KEY:?} entry"))?;
    let mut record = MaterializationRecord::from_json(text.as_bytes())
        .map_err(|e| format!("its footer's {PROVENANCE_KEY:?} entry does not parse ({e})"))?;
    // Written before the file was complete, the record cannot know its size.
    record.bytes = size;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_are_told_apart() {
        assert_eq!(
            classify(&["events", "day=2024-01-01", "part-0.parquet"]),
            Found::ParquetValue
        );
        assert_eq!(classify(&["model", "part-0.parquet"]), Found::ParquetValue);
        assert_eq!(
            classify(&["_provenance", "model", "day=2024-01-01", "provenance.json"]),
            Found::JsonRecord
        );
        assert_eq!(
            classify(&["events", "2024-01-01", "_provenance.json"]),
            Found::JsonRecord
        );
        for other in [
            &["events", "2024-01-01", "data.parquet"][..],
            &["model", "day=2024-01-01", "part-0.json"],
            &["events.dead_letter", "day=2024-01-01", "part-0.parquet"],
        ] {
            assert_eq!(classify(other), Found::Other, "{other:?}");
        }
        match classify(&["events", "2024-01-01", "part-0.parquet"]) {
            Found::Misplaced(why) => assert_eq!(
                why,
                r#"its folder "2024-01-01" does not parse as <dimension>=<key>"#
            ),
            other => panic!("expected Misplaced, got {other:?}"),
        }
    }
}
