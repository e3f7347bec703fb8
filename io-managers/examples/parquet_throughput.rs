//! Write and read throughput of [`ParquetIoManager`] against raw arrow-rs
//! (`ArrowWriter` to a file, `ParquetRecordBatchReader` from it) on a table
//! `id int64, value float64, key utf8`.
//!
//! ```text
//! cargo run --release -p io-managers --example parquet_throughput -- [rows] [runs]
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::StreamExt;
use io_managers::{
    IoManager, Location, ParquetIoManager, ParquetOptions, Payload, StorageRoot, TableData,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn table(rows: usize) -> TableData {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("key", DataType::Utf8, false),
    ]));
    let batch_rows = 65_536;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let batches = (0..rows)
        .step_by(batch_rows)
        .map(|start| {
            let end = (start + batch_rows).min(rows);
            let ids = Int64Array::from_iter_values(start as i64..end as i64);
            let values = Float64Array::from_iter_values((start..end).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 1_000_000) as f64 / 100.0
            }));
            let keys =
                StringArray::from_iter_values((start..end).map(|i| format!("key-{}", i % 50_000)));
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(ids), Arc::new(values), Arc::new(keys)],
            )
            .expect("batch")
        })
        .collect();
    TableData::new(schema, batches)
}

fn best(times: &[Duration]) -> f64 {
    times
        .iter()
        .map(Duration::as_secs_f64)
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let data = table(rows);
    let tmp = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let options = ParquetOptions::default();

    let uncompressed = ParquetOptions {
        compression: parquet::basic::Compression::UNCOMPRESSED,
        ..options.clone()
    };
    for (label, threads, options) in [
        ("io-manager (parallel)", 0, &options),
        ("io-manager (1 thread)", 1, &options),
        ("io-manager (uncompr.)", 0, &uncompressed),
    ] {
        let io = ParquetIoManager::with_options(
            StorageRoot::local(tmp.path().join(label.replace([' ', '(', ')', '.'], "_")))
                .expect("root"),
            ParquetOptions {
                write_threads: threads,
                read_threads: threads,
                ..options.clone()
            },
        );
        let location = Location::new("bench", None).expect("location");
        let payload = Payload::Table(data.clone());
        let mut writes = Vec::new();
        let mut reads = Vec::new();
        let mut streams = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            bytes = runtime
                .block_on(io.store(&location, &payload))
                .expect("store")
                .bytes;
            writes.push(t.elapsed());
            let t = Instant::now();
            let loaded = runtime.block_on(io.load(&location)).expect("load");
            reads.push(t.elapsed());
            assert_eq!(loaded.num_rows(), rows as u64);
            drop(loaded);
            let t = Instant::now();
            let n = runtime.block_on(async {
                let mut stream = io.load_batches(&location).await.expect("open");
                let mut n = 0;
                while let Some(b) = stream.next().await {
                    n += b.expect("batch").num_rows();
                }
                n
            });
            streams.push(t.elapsed());
            assert_eq!(n, rows);
        }
        println!(
            "{label:24} write {:.3}s  load {:.3}s  stream {:.3}s  ({} MB)",
            best(&writes),
            best(&reads),
            best(&streams),
            bytes / 1_000_000
        );
    }

    for (label, props) in [
        ("raw arrow-rs (snappy)", options.writer_properties()),
        ("raw arrow-rs (defaults)", Default::default()),
    ] {
        let file = tmp.path().join("raw.parquet");
        let mut writes = Vec::new();
        let mut reads = Vec::new();
        let mut streams = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let f = std::fs::File::create(&file).expect("create");
            let mut writer =
                ArrowWriter::try_new(f, data.schema.clone(), Some(props.clone())).expect("writer");
            for b in &data.batches {
                writer.write(b).expect("write");
            }
            writer.close().expect("close");
            writes.push(t.elapsed());
            let t = Instant::now();
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).expect("open"))
                    .expect("reader")
                    .with_batch_size(8192)
                    .build()
                    .expect("build");
            let batches: Vec<RecordBatch> = reader.map(|b| b.expect("batch")).collect();
            reads.push(t.elapsed());
            assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), rows);
            drop(batches);
            let t = Instant::now();
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).expect("open"))
                    .expect("reader")
                    .with_batch_size(8192)
                    .build()
                    .expect("build");
            let n: usize = reader.map(|b| b.expect("batch").num_rows()).sum();
            streams.push(t.elapsed());
            assert_eq!(n, rows);
        }
        let size = std::fs::metadata(&file).expect("meta").len();
        println!(
            "{label:24} write {:.3}s  load {:.3}s  stream {:.3}s  ({} MB)",
            best(&writes),
            best(&reads),
            best(&streams),
            size / 1_000_000
        );
    }
}
