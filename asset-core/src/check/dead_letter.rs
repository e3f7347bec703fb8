//! Dead-letter tables: rows that a contract's row rules reject, kept with
//! the reason beside the asset instead of failing the whole step.
//!
//! The rejected rows of `clean_events` partition `2024-01-01` are stored by
//! the asset's own IO manager at asset key `clean_events.dead_letter`, same
//! partition (with the Parquet manager, a sibling folder), with one more
//! column, [`REASON_COLUMN`]. The table is rewritten on every attempt that
//! runs the rules, even when it rejects nothing, so it always describes the
//! latest attempt; `dlq ASSET --partition KEY` prints it.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use io_managers::{Location, TableData};

use crate::check::contract::RowRule;

/// The suffix of a dead-letter table's asset key: `clean_events.dead_letter`.
pub const DEAD_LETTER_SUFFIX: &str = ".dead_letter";

/// The column added to rejected rows: the reasons of the rules that
/// rejected the row, `; `-separated.
pub const REASON_COLUMN: &str = "rejection_reason";

/// Where the dead-letter table of the asset-partition `owner` is stored: an
/// asset of its own beside it, partitioned the same way (same dimension
/// names).
pub fn dead_letter_location(owner: &Location) -> Result<Location, io_managers::Error> {
    let asset = format!("{}{DEAD_LETTER_SUFFIX}", owner.asset());
    Location::new(&asset, owner.partition())?.with_dimensions(owner.dimensions())
}

/// A table split by row rules.
#[derive(Debug, Clone)]
pub struct Split {
    /// The rows no rule rejected: the value to publish.
    pub kept: TableData,
    /// The rejected rows with [`REASON_COLUMN`]: the dead-letter table.
    pub rejected: TableData,
    /// Rows in the table before the split.
    pub total_rows: u64,
    /// Rows rejected.
    pub rejected_rows: u64,
}

impl Split {
    /// The fraction of rows rejected (0 for an empty table).
    pub fn rejected_fraction(&self) -> f64 {
        if self.total_rows == 0 {
            0.0
        } else {
            self.rejected_rows as f64 / self.total_rows as f64
        }
    }
}

/// Why row rules could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The rule itself returned an error.
    #[error("row rule {rule:?} failed: {message}")]
    Failed {
        /// The rule.
        rule: String,
        /// Its error.
        message: String,
    },
    /// The rule's mask does not have one entry per row.
    #[error("row rule {rule:?} returned {got} flags for a batch of {rows} rows")]
    WrongLength {
        /// The rule.
        rule: String,
        /// Rows in the batch.
        rows: usize,
        /// Flags returned.
        got: usize,
    },
    /// The table already has the reason column.
    #[error("the table already has a column named {REASON_COLUMN}, which dead-letter tables add")]
    ReasonColumnTaken,
    /// Arrow refused to filter or build a batch.
    #[error("cannot split the rejected rows: {0}")]
    Arrow(String),
}

/// Applies `rules` to every batch of `table`: rows any rule marks go to the
/// rejected table (with the reasons), the others are kept, order preserved.
pub fn split(rules: &[RowRule], table: &TableData) -> Result<Split, RuleError> {
    if table.schema.column_with_name(REASON_COLUMN).is_some() {
        return Err(RuleError::ReasonColumnTaken);
    }
    let rejected_schema = rejected_schema(&table.schema);
    let mut kept = Vec::with_capacity(table.batches.len());
    let mut rejected = Vec::new();
    let mut rejected_rows = 0u64;
    for batch in &table.batches {
        let masks = rules
            .iter()
            .map(|rule| mask_of(rule, batch))
            .collect::<Result<Vec<_>, _>>()?;
        let Some(any) = masks.iter().cloned().reduce(|a, b| &a | &b) else {
            kept.push(batch.clone());
            continue;
        };
        let count = any.count_set_bits();
        if count == 0 {
            kept.push(batch.clone());
            continue;
        }
        rejected_rows += count as u64;
        let arrow = |e: arrow_schema::ArrowError| RuleError::Arrow(e.to_string());
        let keep = BooleanArray::new(!&any, None);
        kept.push(arrow_select::filter::filter_record_batch(batch, &keep).map_err(arrow)?);
        let reject = BooleanArray::new(any.clone(), None);
        let rows = arrow_select::filter::filter_record_batch(batch, &reject).map_err(arrow)?;
        let reasons: StringArray = any
            .set_indices()
            .map(|row| {
                let text: Vec<&str> = rules
                    .iter()
                    .zip(&masks)
                    .filter(|(_, mask)| mask.value(row))
                    .map(|(rule, _)| rule.reason.as_str())
                    .collect();
                Some(text.join("; "))
            })
            .collect();
        let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
        columns.push(Arc::new(reasons));
        rejected.push(RecordBatch::try_new(rejected_schema.clone(), columns).map_err(arrow)?);
    }
    Ok(Split {
        kept: TableData::new(table.schema.clone(), kept),
        rejected: TableData::new(rejected_schema, rejected),
        total_rows: table.num_rows(),
        rejected_rows,
    })
}

/// The schema of a dead-letter table for rows of `schema`.
pub fn rejected_schema(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(REASON_COLUMN, DataType::Utf8, false)));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The rows `rule` rejects in `batch`, a null flag counting as kept.
fn mask_of(rule: &RowRule, batch: &RecordBatch) -> Result<BooleanBuffer, RuleError> {
    let mask = (rule.reject)(batch).map_err(|message| RuleError::Failed {
        rule: rule.name.clone(),
        message,
    })?;
    if mask.len() != batch.num_rows() {
        return Err(RuleError::WrongLength {
            rule: rule.name.clone(),
            rows: batch.num_rows(),
            got: mask.len(),
        });
    }
    Ok(match mask.nulls() {
        Some(nulls) => mask.values() & nulls.inner(),
        None => mask.values().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::contract::DataContract;
    use arrow_array::Int64Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;

    fn table(batches: &[&[i64]]) -> TableData {
        let batches: Vec<RecordBatch> = batches
            .iter()
            .map(|b| {
                RecordBatch::try_from_iter([(
                    "amount",
                    Arc::new(Int64Array::from(b.to_vec())) as ArrayRef,
                )])
                .expect("batch")
            })
            .collect();
        TableData::new(batches[0].schema(), batches)
    }

    fn below(limit: i64) -> impl Fn(&RecordBatch) -> Result<BooleanArray, String> {
        move |b: &RecordBatch| {
            Ok(b.column(0)
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(|v| v < limit))
                .collect())
        }
    }

    fn rules(c: DataContract) -> Vec<RowRule> {
        c.row_rules().to_vec()
    }

    #[test]
    fn rejected_rows_leave_the_table_with_every_matching_reason() {
        let rules = rules(
            DataContract::new()
                .reject_rows("negative", "amount is negative", below(0))
                .reject_rows("small", "amount below 10", below(10)),
        );
        let split = split(&rules, &table(&[&[5, -1, 20], &[30, 40]])).expect("split");
        assert_eq!((split.total_rows, split.rejected_rows), (5, 2));
        assert_eq!(split.rejected_fraction(), 0.4);
        let kept: Vec<i64> = split
            .kept
            .batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(kept, [20, 30, 40]);
        let dead = &split.rejected.batches[0];
        assert_eq!(
            dead.column(0).as_primitive::<Int64Type>().values().to_vec(),
            [5, -1]
        );
        let reasons = dead.column(1).as_string::<i32>();
        assert_eq!(reasons.value(0), "amount below 10");
        assert_eq!(reasons.value(1), "amount is negative; amount below 10");
        assert_eq!(split.rejected.schema.field(1).name(), REASON_COLUMN);
    }

    #[test]
    fn a_null_flag_keeps_the_row() {
        let rules = rules(
            DataContract::new().reject_rows("n", "r", |b: &RecordBatch| {
                Ok(BooleanArray::from(vec![None; b.num_rows()]))
            }),
        );
        let split = split(&rules, &table(&[&[1, 2]])).expect("split");
        assert_eq!(split.rejected_rows, 0);
        assert_eq!(split.kept.num_rows(), 2);
        assert!(split.rejected.batches.is_empty());
    }

    #[test]
    fn a_mask_of_the_wrong_length_is_an_error_naming_the_rule() {
        let rules = rules(
            DataContract::new().reject_rows("short", "r", |_: &RecordBatch| {
                Ok(BooleanArray::from(vec![true]))
            }),
        );
        let err = split(&rules, &table(&[&[1, 2, 3]])).expect_err("wrong length");
        assert_eq!(
            err.to_string(),
            r#"row rule "short" returned 1 flags for a batch of 3 rows"#
        );
    }

    #[test]
    fn a_table_with_the_reason_column_is_refused() {
        let batch = RecordBatch::try_from_iter([(
            REASON_COLUMN,
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
        )])
        .expect("batch");
        let rules = rules(DataContract::new().reject_rows("r", "r", below(0)));
        assert_eq!(
            split(&rules, &TableData::from(batch)).expect_err("taken"),
            RuleError::ReasonColumnTaken
        );
    }

    #[test]
    fn dead_letter_tables_sit_beside_the_asset() {
        let owner = Location::new("clean_events", Some("2024-01-01")).expect("valid");
        let l = dead_letter_location(&owner).expect("valid");
        assert_eq!(l.asset(), "clean_events.dead_letter");
        assert_eq!(l.partition(), Some("2024-01-01"));
    }
}
