//! Per-step overhead: 5,000 no-op steps in 5 wide layers, with outputs kept
//! in memory (the framework alone) and as one-row Parquet files.

use std::sync::Arc;
use std::time::Instant;

use asset_core::Registry;
use asset_core::catalog::SqliteCatalog;
use asset_core::graph::AssetGraph;
use asset_core::materialize::{IoManagers, MaterializeOptions, Materializer};
use io_managers::{MemoryIoManager, PayloadKind, StorageRoot};

use crate::graphs::{self, Work};

const LAYERS: usize = 5;
const WIDTH: usize = 1_000;

/// Runs both variants and prints the time per step.
pub fn run() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let steps = (LAYERS * WIDTH) as f64;
    let started = Instant::now();
    let graph = AssetGraph::build(
        Registry::from_defs(graphs::layered(LAYERS, WIDTH, Work::Rows(1)))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let build = started.elapsed();
    println!("per-step overhead: {LAYERS} layers x {WIDTH} one-row steps (each reads 2 upstreams)");
    println!(
        "  registry + graph build  {:.2} us per asset",
        build.as_secs_f64() * 1e6 / steps
    );

    let memory = IoManagers::empty().with(Arc::new(MemoryIoManager::new(
        "parquet",
        PayloadKind::Table,
    )));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root =
        StorageRoot::parse(&dir.path().join("a").to_string_lossy()).map_err(|e| e.to_string())?;
    let root2 =
        StorageRoot::parse(&dir.path().join("b").to_string_lossy()).map_err(|e| e.to_string())?;
    // The catalog's cost per step is the difference between the first two.
    // Each variant has its own root and empty catalog, so every step runs.
    let catalog_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let catalog = |name: &str| -> Result<Arc<dyn asset_core::catalog::Catalog>, String> {
        let opened =
            SqliteCatalog::open(catalog_dir.path().join(name)).map_err(|e| e.to_string())?;
        Ok(Arc::new(opened))
    };
    let variants = [
        ("in-memory IO", memory.clone(), None),
        ("in-memory IO + catalog", memory, Some(catalog("a.sqlite")?)),
        ("Parquet IO", IoManagers::defaults(&root), None),
        (
            "Parquet IO + catalog",
            IoManagers::defaults(&root2),
            Some(catalog("b.sqlite")?),
        ),
    ];
    for (label, io, catalog) in variants {
        let mut materializer = Materializer::new(graph.clone(), io);
        if let Some(catalog) = catalog {
            materializer = materializer.with_catalog(catalog);
        }
        let started = Instant::now();
        let report = runtime
            .block_on(materializer.run(&MaterializeOptions::default()))
            .map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if !report.succeeded() {
            return Err(format!("{label}: run failed"));
        }
        println!(
            "  {label:<23} {:.1} us per step ({:.2} s for {} steps)",
            elapsed.as_secs_f64() * 1e6 / steps,
            elapsed.as_secs_f64(),
            report.steps.len()
        );
    }
    Ok(())
}
