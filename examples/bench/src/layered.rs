//! Layered DAG: 10 layers x 20 assets of 1,000 rows through the Parquet IO
//! manager, as a whole cold process, and the framework's share of it.

use std::process::Command;
use std::time::{Duration, Instant};

use asset_core::cli::App;
use bytes::Bytes;
use io_managers::ParquetOptions;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::graphs::{self, Work};
use crate::measure::{median, ms};

const LAYERS: usize = 10;
const WIDTH: usize = 20;
const ROWS: usize = 1_000;
const RUNS: usize = 7;

/// Times `RUNS` cold processes, each materializing the graph into a fresh root.
pub fn run() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let started = Instant::now();
        let status = Command::new(&exe)
            .arg("child-layered")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        samples.push(started.elapsed());
        if !status.success() {
            return Err(format!("layered child failed: {status}"));
        }
    }
    let total = median(&mut samples);
    let parquet = parquet_cost()?;
    let assets = (LAYERS * WIDTH) as f64;
    let overhead = total.saturating_sub(parquet);
    println!(
        "layered DAG: {LAYERS} layers x {WIDTH} assets x {ROWS} rows, Parquet IO, cold process, median of {RUNS}"
    );
    println!("  whole process           {}", ms(total));
    println!(
        "  raw Parquet encode+decode of the same tables (in process) {}",
        ms(parquet)
    );
    println!(
        "  framework overhead      {} per asset-partition (total minus Parquet)",
        ms(overhead.div_f64(assets))
    );
    Ok(())
}

/// The child: the whole CLI, as a user runs it.
pub fn child(root: &str) -> Result<(), String> {
    let code = App::from_assets(graphs::layered(LAYERS, WIDTH, Work::Rows(ROWS))).run_with_args([
        "bench",
        "--root",
        root,
        "-q",
        "materialize",
    ]);
    if code == std::process::ExitCode::SUCCESS {
        Ok(())
    } else {
        Err("materialize failed".into())
    }
}

/// Encoding every table once and decoding every input once with arrow-rs directly.
fn parquet_cost() -> Result<Duration, String> {
    let props = ParquetOptions::default().writer_properties();
    let batch = graphs::table(ROWS, 0).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut encoded = Bytes::new();
    for _ in 0..LAYERS * WIDTH {
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props.clone()))
            .map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
        w.close().map_err(|e| e.to_string())?;
        encoded = Bytes::from(buf);
    }
    let reads = (LAYERS - 1) * WIDTH * 2;
    for _ in 0..reads {
        let reader = ParquetRecordBatchReaderBuilder::try_new(encoded.clone())
            .and_then(|b| b.build())
            .map_err(|e| e.to_string())?;
        for b in reader {
            b.map_err(|e| e.to_string())?;
        }
    }
    Ok(started.elapsed())
}
