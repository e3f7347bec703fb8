//! Concurrency: 16 assets in 4 layers of 4, each sleeping 1 s, with 2 and 4
//! jobs; ideal runs take 8 s and 4 s.

use std::time::{Duration, Instant};

use asset_core::Registry;
use asset_core::graph::AssetGraph;
use asset_core::materialize::{IoManagers, MaterializeOptions, Materializer};
use io_managers::StorageRoot;

use crate::graphs::{self, Work};

/// Runs with 2 and 4 jobs and prints the distance to the ideal.
pub fn run() -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    println!("concurrency: 4 layers x 4 assets, each sleeping 1 s, Parquet IO");
    for jobs in [2usize, 4] {
        let graph = AssetGraph::build(
            Registry::from_defs(graphs::layered(4, 4, Work::Sleep(Duration::from_secs(1))))
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let root = StorageRoot::parse(&dir.path().to_string_lossy()).map_err(|e| e.to_string())?;
        let materializer = Materializer::new(graph, IoManagers::defaults(&root));
        let started = Instant::now();
        let report = runtime
            .block_on(materializer.run(&MaterializeOptions {
                jobs,
                ..MaterializeOptions::default()
            }))
            .map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if !report.succeeded() {
            return Err("concurrency run failed".into());
        }
        let ideal = 16.0 / jobs as f64;
        println!(
            "  --jobs {jobs}: {:.3} s (ideal {ideal:.0} s, +{:.2}%)",
            elapsed.as_secs_f64(),
            (elapsed.as_secs_f64() / ideal - 1.0) * 100.0
        );
    }
    Ok(())
}
