//! A million partitions: an hourly asset over a century (876,600 keys) and
//! a daily one reading it through `All` of each day's hours. Times the CLI
//! commands a user runs on it, each as a cold child process whose peak
//! memory is its own: `partitions` (the newest 1,000 keys), `materialize`
//! of one hour, and `status` over every partition.

use std::process::Command;
use std::time::Instant;

use asset_core::cli::App;
use asset_core::{AssetDef, PartitionMapping, PartitionsDef};

use crate::graphs::{self, Work};
use crate::measure::{ms, peak_rss_mib};

/// The hourly asset's first hour: a century before the end of 2025.
const START: &str = "1926-01-01";
const END: &str = "2026-01-01";

fn assets() -> Result<Vec<AssetDef>, String> {
    let hourly = PartitionsDef::hourly(START)
        .and_then(|p| p.with_end(END))
        .map_err(|e| e.to_string())?;
    let daily = PartitionsDef::daily(START)
        .and_then(|p| p.with_end(END))
        .map_err(|e| e.to_string())?;
    let mut defs = graphs::layered(1, 2, Work::Rows(10));
    let reading = defs.pop().ok_or("two assets")?;
    let meter = defs.pop().ok_or("two assets")?;
    Ok(vec![
        meter.with_partitions(hourly),
        AssetDef::new(reading.key.clone(), move |input| (reading.compute)(input))
            .with_partitions(daily)
            .with_mapped_dependency("l00_a0000", PartitionMapping::All),
    ])
}

const COMMANDS: [(&str, &[&str]); 3] = [
    (
        "partitions (newest 1,000 of 876,600 keys)",
        &["partitions", "l00_a0000"],
    ),
    (
        "materialize one hour",
        &[
            "materialize",
            "--select",
            "l00_a0000",
            "--partition",
            "2025-12-31-23:00",
        ],
    ),
    ("status over every partition of both assets", &["status"]),
];

/// Runs each command as a child process on one root.
pub fn run() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path().to_str().ok_or("temp dir is not UTF-8")?;
    println!(
        "a million partitions: an hourly asset from {START} to {END} (876,600 keys) and a daily one reading each day's hours (All)"
    );
    for (i, (what, _)) in COMMANDS.iter().enumerate() {
        let started = Instant::now();
        let out = Command::new(&exe)
            .args(["child-million", root, &i.to_string()])
            .output()
            .map_err(|e| e.to_string())?;
        let took = started.elapsed();
        if !out.status.success() {
            return Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let rss = String::from_utf8_lossy(&out.stderr)
            .lines()
            .find_map(|l| l.strip_prefix("peak-rss-mib "))
            .unwrap_or("?")
            .to_owned();
        println!("  {what:<46} {:>10}, peak RSS {rss} MiB", ms(took));
    }
    Ok(())
}

/// The child: command number `which` of [`COMMANDS`], then its peak memory
/// on stderr.
pub fn child(root: &str, which: &str) -> Result<(), String> {
    let which: usize = which.parse().map_err(|_| "command number")?;
    let (_, args) = COMMANDS.get(which).ok_or("no such command")?;
    let mut all = vec!["bench", "--root", root, "-q"];
    all.extend_from_slice(args);
    let code = App::from_assets(assets()?).run_with_args(all);
    eprintln!("peak-rss-mib {:.0}", peak_rss_mib());
    if code == std::process::ExitCode::SUCCESS {
        Ok(())
    } else {
        Err(format!("{args:?} failed"))
    }
}
