//! Tables of serde rows (`Vec<Row>`), converted with serde_arrow.

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use io_managers::TableData;
use serde::{Serialize, de::DeserializeOwned};
use serde_arrow::schema::{SchemaLike, TracingOptions};
use std::sync::Arc;

use crate::error::AssetError;

/// The Arrow fields of a row type, traced from its serde shape.
///
/// `Option<T>` fields become nullable, `Vec<T>` lists, strings `LargeUtf8`;
/// `chrono` date-times are stored as they serialize (RFC 3339 strings).
pub fn row_fields<R: Serialize + DeserializeOwned>() -> Result<Vec<FieldRef>, AssetError> {
    Ok(Vec::<FieldRef>::from_type::<R>(options())?)
}

/// [`row_fields`] as the [`Table`](crate::Table) derive reports them: `None`
/// when the type cannot be traced alone (it then traces from the rows).
pub fn traced_row_fields<R: Serialize + DeserializeOwned>() -> Option<arrow_schema::Fields> {
    row_fields::<R>().ok().map(arrow_schema::Fields::from)
}

fn options() -> TracingOptions {
    TracingOptions::default()
        .allow_null_fields(true)
        .enums_without_data_as_strings(true)
}

/// Rows as a table with the schema of their type (also when there are no rows).
///
/// Types whose serde form is not self-describing (chrono's `DateTime`, which
/// deserializes from any string) cannot be traced from the type alone; their
/// schema is then traced from the rows themselves, which needs at least one
/// row. Annotating such a field with `#[serde(with = "chrono::serde::ts_milliseconds")]`
/// makes it an integer that always traces.
pub fn rows_into_table<R: Serialize + DeserializeOwned>(
    rows: Vec<R>,
) -> Result<TableData, AssetError> {
    let fields = match row_fields::<R>() {
        Ok(fields) => fields,
        Err(by_type) if !rows.is_empty() => Vec::<FieldRef>::from_samples(&rows, options())
            .map_err(|by_samples| {
                AssetError::msg(format!(
                    "cannot derive an Arrow schema for {}: {by_type}; from the rows: {by_samples}",
                    std::any::type_name::<R>()
                ))
            })?,
        Err(by_type) => {
            return Err(AssetError::msg(format!(
                "cannot derive an Arrow schema for an empty table of {}: {by_type}",
                std::any::type_name::<R>()
            )));
        }
    };
    let batch = serde_arrow::to_record_batch(&fields, &rows)?;
    let schema = Arc::new(Schema::new(fields));
    Ok(TableData::new(schema, vec![batch]))
}

/// A table back into rows.
pub fn rows_from_table<R: Serialize + DeserializeOwned>(
    table: TableData,
) -> Result<Vec<R>, AssetError> {
    let mut rows = Vec::with_capacity(usize::try_from(table.num_rows()).unwrap_or(0));
    for batch in &table.batches {
        rows.extend(rows_of_batch::<R>(batch)?);
    }
    Ok(rows)
}

fn rows_of_batch<R: DeserializeOwned>(batch: &RecordBatch) -> Result<Vec<R>, AssetError> {
    Ok(serde_arrow::from_record_batch(batch)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        id: i64,
        name: Option<String>,
        tags: Vec<String>,
        score: f64,
    }

    #[test]
    fn rows_round_trip_through_record_batches() {
        let rows = vec![
            Row {
                id: 1,
                name: Some("a".into()),
                tags: vec!["x".into()],
                score: 0.5,
            },
            Row {
                id: 2,
                name: None,
                tags: vec![],
                score: -1.0,
            },
        ];
        let table = rows_into_table(rows).expect("to table");
        assert_eq!(table.num_rows(), 2);
        assert!(
            table
                .schema
                .field_with_name("name")
                .expect("name")
                .is_nullable()
        );
        let back: Vec<Row> = rows_from_table(table).expect("from table");
        assert_eq!(
            back[1],
            Row {
                id: 2,
                name: None,
                tags: vec![],
                score: -1.0
            }
        );
    }

    #[test]
    fn empty_rows_still_have_columns() {
        let table = rows_into_table(Vec::<Row>::new()).expect("to table");
        assert_eq!(table.num_rows(), 0);
        assert_eq!(table.schema.fields().len(), 4);
    }
}
