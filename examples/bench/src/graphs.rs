//! The benchmark graphs, built at run time (asset factories).

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use asset_core::asset::definition::StepInput;
use asset_core::io::{Payload, TableData};
use asset_core::{AssetDef, AssetError};

/// `id int64, value float64, key utf8`.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("key", DataType::Utf8, false),
    ]))
}

/// `rows` rows of the benchmark schema, starting at `offset`.
pub fn table(rows: usize, offset: i64) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let ids = Int64Array::from_iter_values(offset..offset + rows as i64);
    let values = Float64Array::from_iter_values((0..rows).map(|i| (i as f64) * 0.5));
    let keys = StringArray::from_iter_values((0..rows).map(|i| format!("key-{:06}", i % 1000)));
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(ids) as ArrayRef,
            Arc::new(values) as ArrayRef,
            Arc::new(keys) as ArrayRef,
        ],
    )
}

/// What each asset of a layered graph does.
#[derive(Clone, Copy)]
pub enum Work {
    /// Load every input, return a table of this many rows.
    Rows(usize),
    /// Sleep this long (blocking, on the blocking pool), return one row.
    Sleep(Duration),
}

/// `layers` x `width` unpartitioned assets; asset i of layer k > 0 reads
/// assets i and (i + 1) mod width of layer k - 1 (one input if width is 1).
pub fn layered(layers: usize, width: usize, work: Work) -> Vec<AssetDef> {
    let name = |k: usize, i: usize| format!("l{k:02}_a{i:04}");
    let mut defs = Vec::with_capacity(layers * width);
    for k in 0..layers {
        for i in 0..width {
            let mut def = AssetDef::new(name(k, i), move |input: StepInput| {
                Box::pin(compute(input, work, i as i64))
            });
            if k > 0 {
                def = def.with_dependency(name(k - 1, i));
                if width > 1 {
                    def = def.with_dependency(name(k - 1, (i + 1) % width));
                }
            }
            defs.push(def);
        }
    }
    defs
}

async fn compute(input: StepInput, work: Work, offset: i64) -> Result<Payload, AssetError> {
    let mut rows_in = 0usize;
    for upstream in &input.inputs {
        rows_in += upstream.load_one().await?.num_rows() as usize;
    }
    let rows = match work {
        Work::Rows(rows) => rows,
        Work::Sleep(d) => {
            asset_core::asset::run::run_blocking(move || std::thread::sleep(d)).await?;
            1
        }
    };
    let _ = rows_in;
    Ok(Payload::Table(TableData::from(table(rows, offset)?)))
}
