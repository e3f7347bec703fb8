//! The lineage site (`book --no-build`) over 1,000 daily assets x 365
//! partitions (365,000 materializations in the catalog) and a run of
//! 1,000 steps: generation time, peak memory, overview and total size.
//! The generation runs in a child process, so its peak memory is its own.

use std::process::Command;
use std::time::Instant;

use asset_core::catalog::{
    Catalog, InputVersion, MaterializationRecord, RunInfo, RunStatus, SqliteCatalog,
};
use asset_core::cli::App;
use asset_core::io::Payload;
use asset_core::{AssetDef, PartitionsDef};

use crate::measure::{ms, peak_rss_mib};

const LAYERS: usize = 10;
const WIDTH: usize = 100;
const START: &str = "2023-01-01";
/// As of this day, 365 daily partitions exist.
const AS_OF: &str = "2024-01-01";

fn name(k: usize, i: usize) -> String {
    format!("l{k:02}_a{i:03}")
}

/// 10 layers x 100 daily assets; asset i of layer k > 0 reads i and i+1 of layer k-1.
fn assets() -> Result<Vec<AssetDef>, String> {
    let daily = PartitionsDef::daily(START).map_err(|e| e.to_string())?;
    let mut defs = Vec::new();
    for k in 0..LAYERS {
        for i in 0..WIDTH {
            let mut def = AssetDef::new(name(k, i), |_| Box::pin(async { Ok(Payload::Nothing) }))
                .with_partitions(daily.clone())
                .with_code_version("v1")
                .with_description(format!(
                    "Asset {i} of layer {k}: reads two of the layer before."
                ));
            if k > 0 {
                def = def
                    .with_dependency(name(k - 1, i))
                    .with_dependency(name(k - 1, (i + 1) % WIDTH));
            }
            defs.push(def);
        }
    }
    Ok(defs)
}

fn version(asset: &str, day: &str) -> String {
    format!(
        "{:016x}{:016x}",
        asset.len() * 1_000_003 + asset.bytes().map(u64::from).sum::<u64>() as usize,
        day.bytes().map(u64::from).sum::<u64>()
    )
}

/// Fills the catalog of `root`: every asset-partition materialized once,
/// by one run; the newest day's 1,000 steps are the run's steps.
fn populate(root: &std::path::Path) -> Result<usize, String> {
    let catalog = SqliteCatalog::open(root.join("_catalog.sqlite")).map_err(|e| e.to_string())?;
    let run = "20240101T000000.000Z-1-0";
    catalog
        .begin_run(&RunInfo {
            run_id: run.into(),
            started_at: "2024-01-01T00:00:00.000Z".into(),
            finished_at: None,
            status: RunStatus::Running,
            command: "materialize --from 2023-01-01 --to 2023-12-31".into(),
            tag: None,
        })
        .map_err(|e| e.to_string())?;
    let start = asset_core::chrono::NaiveDate::parse_from_str(START, "%Y-%m-%d")
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for d in 0..365u64 {
        let day = (start + asset_core::chrono::Days::new(d))
            .format("%Y-%m-%d")
            .to_string();
        for k in 0..LAYERS {
            for i in 0..WIDTH {
                let key = name(k, i);
                let inputs = if k == 0 {
                    Vec::new()
                } else {
                    [name(k - 1, i), name(k - 1, (i + 1) % WIDTH)]
                        .into_iter()
                        .map(|a| InputVersion {
                            data_version: version(&a, &day),
                            asset: a,
                            partition: Some(day.clone()),
                        })
                        .collect()
                };
                let second = (k * WIDTH + i) % 60;
                catalog
                    .record_materialization(&MaterializationRecord {
                        data_version: version(&key, &day),
                        asset: key,
                        partition: Some(day.clone()),
                        run_id: run.into(),
                        code_version: "v1".into(),
                        inputs,
                        uri: String::new(),
                        rows: 100 + d,
                        bytes: 4_096,
                        started_at: format!("2024-01-01T00:{:02}:{second:02}.000Z", k),
                        finished_at: format!("2024-01-01T00:{:02}:{second:02}.250Z", k),
                        framework_version: "0".into(),
                        config_hash: None,
                        git_commit: "unknown".into(),
                        schema: Some("id: Int64".into()),
                        tag: None,
                        promoted_from: None,
                    })
                    .map_err(|e| e.to_string())?;
                n += 1;
            }
        }
    }
    catalog
        .end_run(run, RunStatus::Succeeded, "2024-01-01T00:10:00.000Z")
        .map_err(|e| e.to_string())?;
    catalog.flush().map_err(|e| e.to_string())?;
    Ok(n)
}

/// Populates a catalog, then generates the site in a child process.
pub fn run() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path().join("data");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let n = populate(&root)?;
    println!(
        "site: {} assets x 365 days ({n} materializations) recorded in {:.1} s",
        LAYERS * WIDTH,
        started.elapsed().as_secs_f64()
    );
    let out = dir.path().join("site");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let (root_text, out_text) = (
        root.to_str().ok_or("temp dir is not UTF-8")?,
        out.to_str().ok_or("temp dir is not UTF-8")?,
    );
    let started = Instant::now();
    let child = Command::new(&exe)
        .args(["child-site", root_text, out_text])
        .output()
        .map_err(|e| e.to_string())?;
    let took = started.elapsed();
    if !child.status.success() {
        return Err(format!(
            "book failed: {}",
            String::from_utf8_lossy(&child.stderr)
        ));
    }
    let rss = String::from_utf8_lossy(&child.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-mib "))
        .unwrap_or("?")
        .to_owned();
    let overview = std::fs::metadata(out.join("src/overview.md"))
        .map_err(|e| e.to_string())?
        .len();
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut stack = vec![out.join("src")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files += 1;
                bytes += entry.metadata().map_err(|e| e.to_string())?.len();
            }
        }
    }
    println!(
        "  book --no-build (whole process): {}, peak RSS {rss} MiB; overview {:.1} KiB; {files} files, {:.1} MiB",
        ms(took),
        overview as f64 / 1024.0,
        bytes as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// The child: `book --no-build` over the populated root, then its peak memory.
pub fn child(root: &str, out: &str) -> Result<(), String> {
    let args = [
        "bench",
        "--root",
        root,
        "-q",
        "book",
        "--out",
        out,
        "--as-of",
        AS_OF,
        "--no-build",
    ];
    let code = App::from_assets(assets()?).run_with_args(args);
    eprintln!("peak-rss-mib {:.0}", peak_rss_mib());
    if code == std::process::ExitCode::SUCCESS {
        Ok(())
    } else {
        Err("book failed".into())
    }
}
