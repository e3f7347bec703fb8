//! Values assets return: the [`Table`] trait and its conversions.

pub mod rows;

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use io_managers::TableData;

use crate::error::AssetError;

/// A value stored as a table (Parquet by default).
///
/// Derive it on a newtype over `RecordBatch`, `Vec<RecordBatch>` or
/// `Vec<Row>` where `Row: Serialize + DeserializeOwned`:
///
/// ```
/// use asset_core::prelude::*;
///
/// #[derive(Table)]
/// pub struct Events(RecordBatch);
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// pub struct User { pub id: i64, pub name: Option<String> }
///
/// #[derive(Table)]
/// pub struct Users(Vec<User>);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a table",
    label = "`{Self}` cannot be stored as a table",
    note = "derive it on a newtype: `#[derive(Table)] struct {Self}(RecordBatch)` (or `Vec<RecordBatch>`, or `Vec<Row>` with serde rows), or store it as JSON with `#[asset(io = \"json\")]`"
)]
pub trait Table: Sized + Send + 'static {
    /// Converts the value into record batches with their schema.
    fn into_table(self) -> Result<TableData, AssetError>;
    /// Rebuilds the value from record batches loaded by an IO manager.
    fn from_table(table: TableData) -> Result<Self, AssetError>;
    /// The Arrow fields of every value, when the type fixes them (serde
    /// rows, traced from the row type; `None` if it cannot be traced), for
    /// contracts and graph-time schema checks. `None` for Arrow batches.
    fn row_fields() -> Option<arrow_schema::Fields> {
        None
    }
}

/// A single batch as a table.
pub fn batch_into_table(batch: RecordBatch) -> Result<TableData, AssetError> {
    Ok(TableData::from(batch))
}

/// A table as one batch (batches are concatenated).
pub fn batch_from_table(table: TableData) -> Result<RecordBatch, AssetError> {
    match table.batches.len() {
        0 => Ok(RecordBatch::new_empty(table.schema)),
        1 => Ok(table
            .batches
            .into_iter()
            .next()
            .unwrap_or_else(unreachable_batch)),
        _ => Ok(arrow_select::concat::concat_batches(
            &table.schema,
            &table.batches,
        )?),
    }
}

// Only reached if a one-element Vec yields nothing, which cannot happen.
fn unreachable_batch() -> RecordBatch {
    RecordBatch::new_empty(Arc::new(Schema::empty()))
}

/// Batches as a table. With no batches the schema is empty (no columns).
pub fn batches_into_table(batches: Vec<RecordBatch>) -> Result<TableData, AssetError> {
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => Arc::new(Schema::empty()),
    };
    if let Some(bad) = batches.iter().position(|b| b.schema() != schema) {
        return Err(AssetError::msg(format!(
            "record batch {bad} has a different schema from batch 0"
        )));
    }
    Ok(TableData::new(schema, batches))
}

/// A table's batches.
pub fn batches_from_table(table: TableData) -> Result<Vec<RecordBatch>, AssetError> {
    Ok(table.batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;

    fn batch(values: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from(values.to_vec())) as arrow_array::ArrayRef,
        )])
        .expect("valid batch")
    }

    #[test]
    fn several_batches_concatenate_into_one() {
        let t = batches_into_table(vec![batch(&[1]), batch(&[2, 3])]).expect("table");
        let one = batch_from_table(t).expect("concat");
        assert_eq!(one, batch(&[1, 2, 3]));
    }

    #[test]
    fn empty_table_keeps_its_schema() {
        let empty = RecordBatch::new_empty(batch(&[]).schema());
        let t = batch_into_table(empty.clone()).expect("table");
        assert_eq!(
            batch_from_table(TableData::new(t.schema, vec![])).expect("b"),
            empty
        );
    }

    #[test]
    fn mixed_schemas_are_refused() {
        let other = RecordBatch::try_from_iter([(
            "y",
            Arc::new(Int64Array::from(vec![1])) as arrow_array::ArrayRef,
        )])
        .expect("valid");
        assert!(batches_into_table(vec![batch(&[1]), other]).is_err());
    }
}
