//! Per-call latency of [`ParquetIoManager`] on small tables (1,000 rows of
//! `id int64, value float64, key utf8`, the shape of the layered benchmark),
//! against the encoding and decoding alone.
//!
//! ```text
//! cargo run --release -p io-managers --example small_tables -- [dir] [calls]
//! ```
//!
//! `dir` is the storage root (default: a new directory under `$TMPDIR`);
//! every figure is the median of `calls` calls (default 500), one at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use io_managers::{
    IoManager, Location, ParquetIoManager, ParquetOptions, Payload, StorageRoot, TableData,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const ROWS: usize = 1_000;

fn table() -> TableData {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("key", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..ROWS as i64)),
            Arc::new(Float64Array::from_iter_values(
                (0..ROWS).map(|i| i as f64 * 0.5),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..ROWS).map(|i| format!("key-{:06}", i % 1000)),
            )),
        ],
    )
    .expect("batch");
    TableData::new(schema, vec![batch])
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e6
}

/// Times `calls` calls of `op(i)`, one at a time.
fn time<F, Fut>(runtime: &tokio::runtime::Runtime, calls: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let times = (0..calls)
        .map(|i| {
            let started = Instant::now();
            runtime.block_on(op(i));
            started.elapsed()
        })
        .collect();
    median(times)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = args
        .next()
        .map_or_else(|| tmp.path().join("root"), Into::into);
    let calls: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let io = ParquetIoManager::new(StorageRoot::local(&dir).expect("root"));
    let data = Payload::Table(table());
    let locations: Vec<Location> = (0..calls)
        .map(|i| Location::new(&format!("a{i:05}"), None).expect("location"))
        .collect();
    let missing = Location::new("missing", None).expect("location");
    let sidecar = vec![b'x'; 650];
    let (io, data, locations, missing, sidecar) = (&io, &data, &locations, &missing, &sidecar);

    println!(
        "{ROWS}-row tables, root {}, median of {calls} calls",
        dir.display()
    );
    let rows = [
        (
            "store (new folder)",
            time(&runtime, calls, |i| async move {
                io.store(&locations[i], data).await.expect("store");
            }),
        ),
        (
            "store (overwrite)",
            time(&runtime, calls, |i| async move {
                io.store(&locations[i], data).await.expect("store");
            }),
        ),
        (
            "load",
            time(&runtime, calls, |i| async move {
                io.load(&locations[i]).await.expect("load");
            }),
        ),
        (
            "store_sidecar",
            time(&runtime, calls, |i| async move {
                io.store_sidecar(&locations[i], sidecar)
                    .await
                    .expect("sidecar");
            }),
        ),
        (
            "load_sidecar",
            time(&runtime, calls, |i| async move {
                io.load_sidecar(&locations[i]).await.expect("sidecar");
            }),
        ),
        (
            "load_sidecar (none)",
            time(&runtime, calls, |_| async move {
                io.load_sidecar(missing).await.expect("sidecar");
            }),
        ),
    ];
    for (label, us) in rows {
        println!("  {label:<22} {us:>8.1} us");
    }

    // The same work without the IO manager: encoding and decoding in memory.
    let Payload::Table(table) = data else {
        unreachable!("a table")
    };
    let props = ParquetOptions::default().writer_properties();
    let mut encoded = Bytes::new();
    let encode = median(
        (0..calls)
            .map(|_| {
                let started = Instant::now();
                let mut buf = Vec::new();
                let mut writer =
                    ArrowWriter::try_new(&mut buf, table.schema.clone(), Some(props.clone()))
                        .expect("writer");
                for batch in &table.batches {
                    writer.write(batch).expect("write");
                }
                writer.close().expect("close");
                encoded = Bytes::from(buf);
                started.elapsed()
            })
            .collect(),
    );
    let decode = median(
        (0..calls)
            .map(|_| {
                let started = Instant::now();
                let reader = ParquetRecordBatchReaderBuilder::try_new(encoded.clone())
                    .and_then(|b| b.build())
                    .expect("reader");
                for batch in reader {
                    batch.expect("batch");
                }
                started.elapsed()
            })
            .collect(),
    );
    println!("  {:<22} {encode:>8.1} us", "raw encode (arrow-rs)");
    println!("  {:<22} {decode:>8.1} us", "raw decode (arrow-rs)");
    println!("  file size {} bytes", encoded.len());
}
