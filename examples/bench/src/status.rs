//! Status and planning from the catalog: 1,000 assets x 365 daily partitions
//! (365,000 asset-partitions, all materialized), then again after one root
//! asset's code changed. Also the catalog's own micro benchmark (recording
//! cost per step).

use std::collections::HashMap;
use std::time::Instant;

use asset_core::catalog::{Catalog, InputVersion, MaterializationRecord, SqliteCatalog};
use asset_core::graph::AssetGraph;
use asset_core::io::Payload;
use asset_core::staleness::{self, Inputs, State};
use asset_core::{AssetDef, PartitionsDef, Registry};

const LAYERS: usize = 10;
const WIDTH: usize = 100;
const DAYS: usize = 365;

fn name(k: usize, i: usize) -> String {
    format!("l{k:02}_a{i:03}")
}

/// 10 layers x 100 daily assets; asset i of layer k > 0 reads i and i+1 of layer k-1.
fn graph(start: &str, changed_root: bool) -> Result<AssetGraph, String> {
    let daily = PartitionsDef::daily(start).map_err(|e| e.to_string())?;
    let mut defs = Vec::new();
    for k in 0..LAYERS {
        for i in 0..WIDTH {
            let mut def = AssetDef::new(name(k, i), |_| Box::pin(async { Ok(Payload::Nothing) }))
                .with_partitions(daily.clone())
                .with_code_version(if changed_root && k == 0 && i == 0 {
                    "v2"
                } else {
                    "v1"
                });
            if k > 0 {
                def = def
                    .with_dependency(name(k - 1, i))
                    .with_dependency(name(k - 1, (i + 1) % WIDTH));
            }
            defs.push(def);
        }
    }
    AssetGraph::build(Registry::from_defs(defs).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())
}

fn version(asset: &str, day: &str) -> String {
    format!(
        "{:032x}",
        asset.len() * 1_000_003 + day.len() * 7 + asset.bytes().map(usize::from).sum::<usize>()
    )
}

/// Runs the benchmark and prints its figures.
pub fn run() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!("catalog micro benchmark (1,000 assets x 365 partitions, then 5,000 steps):");
    let figures =
        asset_core::catalog::bench(dir.path(), 1_000, DAYS, 5_000).map_err(|e| e.to_string())?;
    for line in figures.to_string().lines() {
        println!("  {line}");
    }

    let today = asset_core::chrono::Utc::now().date_naive();
    let start = today - asset_core::chrono::Days::new(DAYS as u64);
    let start_text = start.format("%Y-%m-%d").to_string();
    let g = graph(&start_text, false)?;
    let now = asset_core::chrono::Utc::now().naive_utc();
    let space = asset_core::partition::KeySpace::now();
    let steps: Vec<_> = g
        .topological_order()
        .iter()
        .flat_map(|&i| {
            g.asset(i)
                .partitions
                .keys_until(now)
                .map(move |k| (i, Some(k)))
        })
        .collect();

    let status_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = status_dir.path().join("_catalog.sqlite");
    let started = Instant::now();
    {
        let catalog = SqliteCatalog::open(&path).map_err(|e| e.to_string())?;
        for (i, partition) in &steps {
            let def = g.asset(*i);
            let day = partition.as_ref().map(|p| p.as_str().to_owned());
            let inputs = staleness::expected_inputs(&g, *i, partition.as_ref(), &space)
                .into_iter()
                .map(|(asset, p)| InputVersion {
                    data_version: version(&asset, p.as_deref().unwrap_or("")),
                    asset,
                    partition: p,
                })
                .collect();
            let record = MaterializationRecord {
                asset: def.key.clone(),
                partition: day.clone(),
                run_id: "bench".into(),
                code_version: "v1".into(),
                data_version: version(&def.key, day.as_deref().unwrap_or("")),
                inputs,
                uri: String::new(),
                rows: 1,
                bytes: 1,
                started_at: String::new(),
                finished_at: String::new(),
                framework_version: "0".into(),
                config_hash: None,
                git_commit: "unknown".into(),
                schema: None,
                tag: None,
                promoted_from: None,
            };
            catalog
                .record_materialization(&record)
                .map_err(|e| e.to_string())?;
        }
        catalog.flush().map_err(|e| e.to_string())?;
    }
    println!(
        "status: populated {} asset-partitions ({} assets x {} days) in {:.1} s",
        steps.len(),
        LAYERS * WIDTH,
        steps.len() / (LAYERS * WIDTH),
        started.elapsed().as_secs_f64()
    );

    for (label, changed) in [("all fresh", false), ("after one root's code change", true)] {
        let g = graph(&start_text, changed)?;
        let started = Instant::now();
        let catalog = SqliteCatalog::open(&path).map_err(|e| e.to_string())?;
        let keys: Vec<&str> = g
            .registry()
            .assets()
            .iter()
            .map(|a| a.key.as_str())
            .collect();
        let latest = catalog
            .latest_for_assets(&keys, None)
            .map_err(|e| e.to_string())?;
        let failed = HashMap::new();
        let loaded = started.elapsed();
        let assessed = staleness::assess(
            &g,
            &steps,
            &Inputs {
                latest: &latest,
                failed: &failed,
                config_hashes: &HashMap::new(),
                space: &space,
            },
        );
        let total = started.elapsed();
        let stale = assessed.iter().filter(|a| a.state != State::Fresh).count();
        println!(
            "  status, {label}: {:.3} s ({:.3} s reading the catalog), {} of {} stale",
            total.as_secs_f64(),
            loaded.as_secs_f64(),
            stale,
            assessed.len()
        );
    }
    Ok(())
}
