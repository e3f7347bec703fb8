//! Per-step overhead: 5,000 no-op steps in 5 wide layers, with outputs kept
//! in memory (the framework alone) and as one-row Parquet files.

use std::sync::Arc;
use std::time::Instant;

use asset_core::Registry;
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
    let root = StorageRoot::parse(&dir.path().to_string_lossy()).map_err(|e| e.to_string())?;
    for (label, io) in [
        ("in-memory IO", memory),
        ("Parquet IO", IoManagers::defaults(&root)),
    ] {
        let materializer = Materializer::new(graph.clone(), io);
        let started = Instant::now();
        let report = runtime
            .block_on(materializer.run(&MaterializeOptions::default()))
            .map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if !report.succeeded() {
            return Err(format!("{label}: run failed"));
        }
        println!(
            "  {label:<14} {:.1} us per step ({:.2} s for {} steps)",
            elapsed.as_secs_f64() * 1e6 / steps,
            elapsed.as_secs_f64(),
            report.steps.len()
        );
    }
    Ok(())
}
