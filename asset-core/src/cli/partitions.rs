//! `partitions ASSET [--from A --to B]`: an asset's keys with their time
//! windows; `partitions add|remove SET KEY...`: the keys of a dynamic set.
//!
//! Listing never builds the full key list: a range is counted by arithmetic
//! and only the keys shown are made, so an hourly asset over a century lists
//! as fast as a daily one over a week.

use std::process::ExitCode;

use crate::catalog::Catalog;
use crate::cli::args::{PartitionsAction, PartitionsArgs};
use crate::cli::output::{out, outln};
use crate::cli::table::render;
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::partition::{KeySpace, PartitionsDef, check_dynamic_key};

fn catalog_error(e: impl std::fmt::Display) -> Error {
    Error::Catalog(e.to_string())
}

/// Runs `partitions` with `catalog` (for dynamic sets; `None` when nothing
/// was materialized yet, for a listing: dynamic sets are then empty).
pub(super) fn run(
    graph: &AssetGraph,
    catalog: Option<&dyn Catalog>,
    args: &PartitionsArgs,
) -> Result<ExitCode, Error> {
    let writable = || {
        catalog.ok_or_else(|| Error::Internal("adding or removing keys needs the catalog".into()))
    };
    match (&args.action, &args.asset) {
        (Some(PartitionsAction::Add { set, keys }), _) => {
            known_set(graph, set)?;
            for key in keys {
                check_dynamic_key(set, key)?;
            }
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let added = writable()?
                .add_partitions(set, &keys)
                .map_err(catalog_error)?;
            outln!(
                "added {added} key{} to dynamic partitions {set:?} ({} already there)",
                plural(added),
                keys.len() as u64 - added
            );
            Ok(ExitCode::SUCCESS)
        }
        (Some(PartitionsAction::Remove { set, keys }), _) => {
            known_set(graph, set)?;
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let removed = writable()?
                .remove_partitions(set, &keys)
                .map_err(catalog_error)?;
            outln!(
                "removed {removed} key{} from dynamic partitions {set:?}",
                plural(removed)
            );
            Ok(ExitCode::SUCCESS)
        }
        (None, Some(asset)) => list(graph, catalog, asset, args),
        (None, None) => Err(Error::Usage(
            "partitions needs an ASSET to list, or `add`/`remove` SET KEY...".into(),
        )),
    }
}

/// Refuses a dynamic set name no asset uses (a typo would otherwise make a
/// set nobody reads), naming the sets that exist.
fn known_set(graph: &AssetGraph, set: &str) -> Result<(), Error> {
    if set.trim().is_empty() {
        return Err(Error::Usage(
            "the dynamic partition set name is empty: give the name used in dynamic(\"NAME\")"
                .into(),
        ));
    }
    let mut sets: Vec<&str> = graph
        .registry()
        .assets()
        .iter()
        .filter_map(|def| match &def.partitions {
            PartitionsDef::Dynamic(d) => Some(d.name()),
            _ => None,
        })
        .collect();
    sets.sort_unstable();
    sets.dedup();
    if sets.contains(&set) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "no asset uses dynamic partition set {set:?} (sets in use: {})",
        if sets.is_empty() {
            "none".to_owned()
        } else {
            sets.join(", ")
        }
    )))
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The listing of one asset's keys.
fn list(
    graph: &AssetGraph,
    catalog: Option<&dyn Catalog>,
    asset: &str,
    args: &PartitionsArgs,
) -> Result<ExitCode, Error> {
    let i = graph.registry().index_of(asset).ok_or_else(|| {
        Error::Usage(format!(
            "unknown asset {asset:?} (see `list` for the assets)"
        ))
    })?;
    let def = graph.asset(i);
    let mut space = KeySpace::now();
    if let PartitionsDef::Dynamic(set) = &def.partitions {
        let keys = match catalog {
            Some(catalog) => catalog.partition_keys(set.name()).map_err(catalog_error)?,
            None => Vec::new(),
        };
        space = space.with_dynamic(set.name(), keys)?;
    }
    if !def.partitions.is_partitioned() {
        return Err(Error::Usage(format!(
            "asset {asset:?} is not partitioned: it has one value"
        )));
    }
    let range = match (&args.from, &args.to) {
        (Some(from), Some(to)) => def.partitions.range(&def.key, from, to, &space)?,
        _ => def.partitions.keys(&space),
    };
    let total = range.len();
    // The newest `limit` keys when the range is larger.
    let shown = if total > args.limit {
        range.last_n(args.limit)
    } else {
        range
    };
    let timed = matches!(
        def.partitions,
        PartitionsDef::Time(_) | PartitionsDef::Multi(_)
    );
    let mut rows = vec![if timed {
        vec!["key".to_owned(), "window start".into(), "window end".into()]
    } else {
        vec!["key".to_owned()]
    }];
    for key in shown.iter() {
        let mut row = vec![key.as_str().to_owned()];
        if let Some(window) = def.partitions.window(&key) {
            let zone = window.timezone;
            row.push(format!(
                "{} {zone}",
                window.local_start.format("%Y-%m-%d %H:%M")
            ));
            row.push(format!(
                "{} {zone}",
                window.local_end.format("%Y-%m-%d %H:%M")
            ));
        }
        rows.push(row);
    }
    out!("{}", render(&rows));
    let omitted = total - shown.len();
    outln!(
        "{total} partition{} of {asset} ({}){}",
        plural(total),
        def.partitions.describe(),
        if omitted > 0 {
            format!("; the oldest {omitted} not shown (raise --limit)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
