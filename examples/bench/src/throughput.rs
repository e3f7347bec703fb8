//! Raw throughput: 10 million rows written and read through the Parquet IO
//! manager versus arrow-rs's `ArrowWriter` / `ParquetRecordBatchReader`
//! directly, same data and writer settings. Each measurement runs in its own
//! process so its peak memory is its own.

use std::fs::File;
use std::process::Command;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use asset_core::io::{
    IoManager, Location, ParquetIoManager, ParquetOptions, Payload, StorageRoot, TableData,
};
use futures::StreamExt;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::graphs;
use crate::measure::{median, peak_rss_mib};

const ROWS: usize = 10_000_000;
const BATCH: usize = 1_000_000;
const RUNS: usize = 3;

/// Runs each mode `RUNS` times in child processes and prints medians.
pub fn run() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    println!(
        "throughput: {ROWS} rows (id int64, value float64, key utf8), SNAPPY, median of {RUNS}"
    );
    let mut results = Vec::new();
    for mode in ["raw-write", "io-write", "raw-read", "io-read"] {
        let mut times = Vec::new();
        let mut peak = 0.0f64;
        for _ in 0..RUNS {
            let out = Command::new(&exe)
                .args(["child-throughput", mode])
                .arg(dir.path())
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!("{mode}: {}", String::from_utf8_lossy(&out.stderr)));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut parts = text.split_whitespace();
            let secs: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
            let mib: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
            times.push(Duration::from_secs_f64(secs));
            peak = peak.max(mib);
        }
        let t = median(&mut times);
        println!(
            "  {mode:<9} {:.3} s  {:>7.1} M rows/s  peak RSS {peak:.0} MiB",
            t.as_secs_f64(),
            ROWS as f64 / t.as_secs_f64() / 1e6
        );
        results.push(t);
    }
    let ratio = |raw: Duration, io: Duration| raw.as_secs_f64() / io.as_secs_f64() * 100.0;
    println!(
        "  IO manager vs raw: write {:.0}%, read {:.0}% of raw throughput",
        ratio(results[0], results[1]),
        ratio(results[2], results[3])
    );
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "  file sizes: raw {} bytes, IO manager {} bytes",
        size(&dir.path().join("raw.parquet")),
        size(&dir.path().join("bench").join("part-0.parquet"))
    );
    Ok(())
}

fn data() -> Result<Vec<RecordBatch>, String> {
    (0..ROWS / BATCH)
        .map(|i| graphs::table(BATCH, (i * BATCH) as i64).map_err(|e| e.to_string()))
        .collect()
}

/// One measurement; prints `seconds peak_mib`.
pub fn child(mode: &str, dir: &str) -> Result<(), String> {
    let dir = std::path::Path::new(dir);
    let raw_path = dir.join("raw.parquet");
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let root = StorageRoot::parse(&dir.to_string_lossy()).map_err(|e| e.to_string())?;
    let io = ParquetIoManager::new(root);
    let location = Location::new("bench", None).map_err(|e| e.to_string())?;
    let elapsed = match mode {
        "raw-write" => {
            let batches = data()?;
            let started = Instant::now();
            let file = File::create(&raw_path).map_err(|e| e.to_string())?;
            let props = ParquetOptions::default().writer_properties();
            let mut w = ArrowWriter::try_new(file, graphs::schema(), Some(props))
                .map_err(|e| e.to_string())?;
            for b in &batches {
                w.write(b).map_err(|e| e.to_string())?;
            }
            w.close().map_err(|e| e.to_string())?;
            started.elapsed()
        }
        "io-write" => {
            let batches = data()?;
            let payload = Payload::Table(TableData::new(graphs::schema(), batches));
            let started = Instant::now();
            runtime
                .block_on(io.store(&location, &payload))
                .map_err(|e| e.to_string())?;
            started.elapsed()
        }
        "raw-read" => {
            let started = Instant::now();
            let file = File::open(&raw_path).map_err(|e| e.to_string())?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| e.to_string())?;
            let mut rows = 0;
            for b in reader {
                rows += b.map_err(|e| e.to_string())?.num_rows();
            }
            check_rows(rows)?;
            started.elapsed()
        }
        "io-read" => {
            let started = Instant::now();
            let rows = runtime.block_on(async {
                let mut stream = io
                    .load_batches(&location)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut rows = 0;
                while let Some(b) = stream.next().await {
                    rows += b.map_err(|e| e.to_string())?.num_rows();
                }
                Ok::<_, String>(rows)
            })?;
            check_rows(rows)?;
            started.elapsed()
        }
        other => return Err(format!("unknown mode {other}")),
    };
    println!("{} {}", elapsed.as_secs_f64(), peak_rss_mib());
    Ok(())
}

fn check_rows(rows: usize) -> Result<(), String> {
    if rows == ROWS {
        Ok(())
    } else {
        Err(format!("read {rows} rows, expected {ROWS}"))
    }
}
