//! `tags`, `promote --tag` and `discard --tag`: the life of a tagged
//! namespace written by `materialize --tag NAME`.
//!
//! Promoting copies each tagged asset-partition's files into production
//! (data, then its provenance sidecar, each published atomically) and only
//! then makes its catalog record production's latest, so the catalog never
//! points at a file that is not there. A promotion interrupted half-way is
//! finished by running it again: what was promoted is promoted again to the
//! same bytes.

use std::process::ExitCode;

use io_managers::StorageRoot;

use crate::catalog::{Catalog, promoted_record};
use crate::cli::output::{out, outln};
use crate::cli::table::render;
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::IoManagers;

fn catalog_error(e: impl std::fmt::Display) -> Error {
    Error::Catalog(e.to_string())
}

/// The tag, if the catalog has it; a usage error naming it otherwise.
fn known_tag(catalog: &dyn Catalog, tag: &str) -> Result<(), Error> {
    io_managers::validate_key("tag", tag)?;
    let tags = catalog.tags().map_err(catalog_error)?;
    if tags.iter().any(|t| t.name == tag) {
        Ok(())
    } else {
        let known: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        Err(Error::Usage(format!(
            "unknown tag {tag:?}: no tagged namespace of that name (known: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )))
    }
}

/// `tags`: every tagged namespace with its counts and last run.
pub(super) fn list(catalog: &dyn Catalog) -> Result<ExitCode, Error> {
    let tags = catalog.tags().map_err(catalog_error)?;
    if tags.is_empty() {
        outln!("no tagged namespaces (write one with `materialize --tag NAME`)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ["tag", "asset-partitions", "failed", "last run"]
            .map(String::from)
            .to_vec(),
    ];
    for tag in tags {
        rows.push(vec![
            tag.name,
            tag.asset_partitions.to_string(),
            tag.failed.to_string(),
            tag.last_run.map_or_else(
                || "-".into(),
                |r| format!("{} ({})", r.started_at, r.status),
            ),
        ]);
    }
    out!("{}", render(&rows));
    Ok(ExitCode::SUCCESS)
}

/// `promote --tag NAME`: every asset-partition materialized in the tag
/// becomes production's, one by one, each atomically.
pub(super) fn promote(
    graph: &AssetGraph,
    io: &IoManagers,
    catalog: &dyn Catalog,
    tag: &str,
) -> Result<ExitCode, Error> {
    known_tag(catalog, tag)?;
    let assets: Vec<&str> = graph
        .registry()
        .assets()
        .iter()
        .map(|d| d.key.as_str())
        .collect();
    let records = catalog
        .latest_for_assets(&assets, Some(tag))
        .map_err(catalog_error)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let mut promoted = 0u64;
    for tagged in &records {
        let Some(def) = graph.registry().get(&tagged.asset) else {
            continue;
        };
        let io_manager = io.get(&def.io_manager).ok_or_else(|| Error::BadIoManager {
            asset: def.key.clone(),
            reason: format!("IO manager {:?} is not registered", def.io_manager),
        })?;
        let location = def.location(tagged.partition.as_deref())?;
        let record = promoted_record(tagged, &io_manager.uri(&location));
        let sidecar = record
            .to_json()
            .map_err(|e| Error::Internal(format!("cannot encode provenance: {e}")))?;
        let receipt = runtime
            .block_on(io_manager.promote_from_tag(tag, &location, &sidecar))
            .map_err(|e| Error::Internal(format!("cannot promote {location}: {e}")))?;
        catalog
            .promote(
                tag,
                &tagged.asset,
                tagged.partition.as_deref(),
                &receipt.uri,
                Some(receipt.bytes),
            )
            .map_err(catalog_error)?;
        promoted += 1;
    }
    catalog.flush().map_err(catalog_error)?;
    outln!("promoted {promoted} asset-partitions from tag {tag:?} to production");
    Ok(ExitCode::SUCCESS)
}

/// `discard --tag NAME`: the tag's catalog entries and files are dropped;
/// production is untouched.
pub(super) fn discard(
    root: &StorageRoot,
    catalog: &dyn Catalog,
    tag: &str,
) -> Result<ExitCode, Error> {
    known_tag(catalog, tag)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    // Files first: a refused delete (a folder linked out of the root) leaves
    // the tag whole, catalog entries included, to be fixed and discarded again.
    let files = runtime
        .block_on(root.delete_tag(tag))
        .map_err(|e| Error::Internal(format!("cannot delete the files of tag {tag:?}: {e}")))?;
    let entries = catalog.discard_tag(tag).map_err(catalog_error)?;
    outln!("discarded tag {tag:?}: {entries} catalog entries, {files} files");
    Ok(ExitCode::SUCCESS)
}
