//! Write-audit-publish overhead: one step writing a 10-million-row table to
//! Parquet, with and without a typical data contract (column types, no
//! nulls, minimum rows, a value range, and a unique integer key).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::DataType;
use asset_core::check::{DataContract, evaluate};
use asset_core::graph::{AssetGraph, Selection};
use asset_core::materialize::{IoManagers, MaterializeOptions, Materializer};
use asset_core::{AssetDef, Registry};
use io_managers::{Payload, StorageRoot, TableData};

use crate::measure::{median, ms};

/// Rows in the table.
const ROWS: usize = 10_000_000;
/// Rows per record batch (what a streaming producer hands over).
const BATCH: usize = 1 << 20;
/// Runs per variant; the median is reported.
const RUNS: usize = 5;

/// The table: a unique ascending `id`, a `user_id`, an `amount` and a
/// unique but shuffled `key`.
fn table() -> Result<TableData, String> {
    let mut batches = Vec::new();
    let mut start = 0;
    while start < ROWS {
        let end = (start + BATCH).min(ROWS);
        let ids: Vec<i64> = (start as i64..end as i64).collect();
        let users: Vec<i64> = ids.iter().map(|i| i % 100_003).collect();
        let amounts: Vec<f64> = ids.iter().map(|i| (i % 1_000) as f64 * 0.5).collect();
        // A permutation of 0..ROWS: unique, dense, not sorted.
        let keys: Vec<i64> = ids.iter().map(|i| i * 7_919_993 % ROWS as i64).collect();
        batches.push(
            RecordBatch::try_from_iter([
                ("id", Arc::new(Int64Array::from(ids)) as ArrayRef),
                ("user_id", Arc::new(Int64Array::from(users)) as ArrayRef),
                ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
                ("key", Arc::new(Int64Array::from(keys)) as ArrayRef),
            ])
            .map_err(|e| e.to_string())?,
        );
        start = end;
    }
    Ok(TableData::new(batches[0].schema(), batches))
}

/// The contract a pipeline would typically put on such a table.
fn contract() -> DataContract {
    DataContract::new()
        .column("id", DataType::Int64)
        .column("user_id", DataType::Int64)
        .column("amount", DataType::Float64)
        .min_rows(1_000)
        .range("amount", 0.0, 1_000.0)
        .unique("id")
}

/// One asset returning `table`, with or without the contract.
fn asset(table: &TableData, with_contract: bool) -> AssetDef {
    let table = table.clone();
    let def = AssetDef::new("big", move |_| {
        let table = table.clone();
        Box::pin(async move { Ok(Payload::Table(table)) })
    });
    if with_contract {
        def.with_contract(contract())
    } else {
        def
    }
}

/// Runs the contract variants alternately and prints the medians.
pub fn run() -> Result<(), String> {
    let table = table()?;
    println!(
        "checks: one step writing {ROWS} rows ({} batches) to Parquet, median of {RUNS}",
        table.batches.len()
    );
    let started = Instant::now();
    let violations = evaluate(&contract(), &table);
    let contract_alone = started.elapsed();
    if !violations.is_empty() {
        return Err(format!(
            "the benchmark table breaks its contract: {violations:?}"
        ));
    }
    // Unsorted keys take the bitmap path instead of the ascending shortcut.
    let shuffled = DataContract::new().unique("key");
    let started = Instant::now();
    let violations = evaluate(&shuffled, &table);
    let shuffled_alone = started.elapsed();
    if !violations.is_empty() {
        return Err(format!("the shuffled keys are not unique: {violations:?}"));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut materializers = Vec::new();
    for (i, with_contract) in [false, true].into_iter().enumerate() {
        let root = StorageRoot::parse(&dir.path().join(i.to_string()).to_string_lossy())
            .map_err(|e| e.to_string())?;
        let graph = AssetGraph::build(
            Registry::from_defs(vec![asset(&table, with_contract)]).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        materializers.push(Materializer::new(graph, IoManagers::defaults(&root)));
    }
    let options = MaterializeOptions {
        selection: Selection::parse("big").map_err(|e| e.to_string())?,
        force: true,
        ..MaterializeOptions::default()
    };
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..RUNS {
        for (variant, materializer) in materializers.iter().enumerate() {
            let started = Instant::now();
            let report = runtime
                .block_on(materializer.run(&options))
                .map_err(|e| e.to_string())?;
            times[variant].push(started.elapsed());
            if !report.succeeded() {
                return Err(format!("run failed:\n{}", report.summary_table()));
            }
        }
    }
    let without = median(&mut times[0]);
    let with = median(&mut times[1]);
    let overhead = with.as_secs_f64() / without.as_secs_f64() - 1.0;
    println!("  step without contract  {}", ms(without));
    println!(
        "  step with contract     {} ({:+.1}%; target < 10%)",
        ms(with),
        overhead * 100.0
    );
    println!(
        "  contract alone         {} (types, nulls, min rows, range, unique id)",
        ms(contract_alone)
    );
    println!(
        "  unique on shuffled key {} (dense: one bit per possible value)",
        ms(shuffled_alone)
    );
    Ok(())
}
