//! Backfills: planning 100 assets x 3,650 daily partitions, and
//! materializing 10 assets (2 layers x 5, each of the second layer reading
//! two upstreams, 1,000 rows) x 365 daily partitions from scratch, each as a
//! whole cold process (the second through the CLI, as a user runs it).

use std::process::Command;
use std::time::{Duration, Instant};

use asset_core::cli::App;
use asset_core::graph::{AssetGraph, Selection};
use asset_core::materialize::{IoManagers, MaterializeOptions, Materializer};
use asset_core::{AssetDef, PartitionsDef, Registry};

use crate::graphs::{self, Work};
use crate::measure::{median, ms, peak_rss_mib};

/// Planned: assets x days.
const PLAN_LAYERS: usize = 2;
const PLAN_WIDTH: usize = 50;
const PLAN_FROM: &str = "2014-01-01";
const PLAN_TO: &str = "2023-12-29";

/// Materialized: assets x days.
const RUN_LAYERS: usize = 2;
const RUN_WIDTH: usize = 5;
const RUN_FROM: &str = "2024-01-01";
const RUN_TO: &str = "2024-12-30";
const ROWS: usize = 1_000;
const RUNS: usize = 3;

/// The layered graph, every asset daily from `start`.
fn daily_layered(
    layers: usize,
    width: usize,
    rows: usize,
    start: &str,
) -> Result<Vec<AssetDef>, String> {
    let daily = PartitionsDef::daily(start).map_err(|e| e.to_string())?;
    Ok(graphs::layered(layers, width, Work::Rows(rows))
        .into_iter()
        .map(|d| d.with_partitions(daily.clone()))
        .collect())
}

/// Runs both measurements, each in child processes.
pub fn run() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;

    let out = Command::new(&exe)
        .arg("child-plan")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "plan child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));

    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let root = dir.path().to_str().ok_or("temp dir is not UTF-8")?;
        let started = Instant::now();
        let status = Command::new(&exe)
            .args(["child-backfill", root])
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        if !status.success() {
            return Err(format!("backfill child failed: {status}"));
        }
    }
    let total = median(&mut samples);
    let steps = (RUN_LAYERS * RUN_WIDTH * 365) as u32;
    println!(
        "backfill: {RUN_LAYERS} layers x {RUN_WIDTH} assets x 365 daily partitions x {ROWS} rows, from scratch, cold CLI process with the SQLite catalog, median of {RUNS}"
    );
    println!(
        "  whole process           {} ({} per asset-partition)",
        ms(total),
        ms(total / steps)
    );
    Ok(())
}

/// The planning child: plans the 365,000-step backfill and reports time
/// and peak memory.
pub fn child_plan() -> Result<(), String> {
    let before = peak_rss_mib();
    let defs = daily_layered(PLAN_LAYERS, PLAN_WIDTH, 1, PLAN_FROM)?;
    let graph = AssetGraph::build(Registry::from_defs(defs).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let materializer = Materializer::new(
        graph,
        IoManagers::defaults(&io_managers::StorageRoot::memory()),
    );
    let options = MaterializeOptions {
        selection: Selection::all(),
        from: Some(PLAN_FROM.into()),
        to: Some(PLAN_TO.into()),
        ..MaterializeOptions::default()
    };
    let mut samples: Vec<Duration> = Vec::new();
    let mut steps = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let plan = materializer.plan(&options).map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        steps = plan.len();
        drop(plan);
    }
    println!(
        "backfill plan: {} assets x {} daily partitions = {steps} asset-partitions (each reading two upstreams), median of {RUNS}",
        PLAN_LAYERS * PLAN_WIDTH,
        steps / (PLAN_LAYERS * PLAN_WIDTH)
    );
    println!(
        "  planning                {}, peak RSS {:.0} MiB (process before planning: {:.0} MiB)",
        ms(median(&mut samples)),
        peak_rss_mib(),
        before
    );
    Ok(())
}

/// The backfill child: the whole CLI, as a user runs it.
pub fn child_backfill(root: &str) -> Result<(), String> {
    let defs = daily_layered(RUN_LAYERS, RUN_WIDTH, ROWS, RUN_FROM)?;
    let code = App::from_assets(defs).run_with_args([
        "bench",
        "--root",
        root,
        "-q",
        "materialize",
        "--from",
        RUN_FROM,
        "--to",
        RUN_TO,
    ]);
    if code == std::process::ExitCode::SUCCESS {
        Ok(())
    } else {
        Err("materialize failed".into())
    }
}
