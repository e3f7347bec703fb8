//! Evaluating a [`DataContract`] over a table, batch by batch.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;
use io_managers::TableData;

use crate::asset::run::panic_message;
use crate::check::contract::{DataContract, RangeSpec, types_compatible};
use crate::check::unique::{self, Duplicates};

/// One way a table breaks its contract; its text is one clause of the
/// step's failure message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    /// A required column is absent.
    #[error("column {column} is missing (expected {expected})")]
    MissingColumn {
        /// The column.
        column: String,
        /// Its declared type, or what the rule needs.
        expected: String,
    },
    /// A column has another type than declared.
    #[error("column {column} is {actual} but the contract requires {expected}")]
    WrongType {
        /// The column.
        column: String,
        /// The declared type.
        expected: DataType,
        /// The type in the table.
        actual: DataType,
    },
    /// A column that must not hold nulls holds some.
    #[error("column {column} has {count} null{} but is required", plural(*.count))]
    Nulls {
        /// The column.
        column: String,
        /// How many nulls.
        count: u64,
    },
    /// Fewer rows than the minimum.
    #[error("{rows} row{} but the contract requires at least {min}", plural(*.rows))]
    TooFewRows {
        /// Rows in the table.
        rows: u64,
        /// The minimum.
        min: u64,
    },
    /// A unique column repeats values.
    #[error("column {column} has {count} duplicate value{} (first: {example}) but must be unique", plural(*.count))]
    Duplicates {
        /// The column.
        column: String,
        /// Values equal to an earlier value.
        count: u64,
        /// The first repeated value.
        example: String,
    },
    /// Values outside a range.
    #[error("column {column} has {count} value{} outside {range} (first: {example})", plural(*.count))]
    OutOfRange {
        /// The column.
        column: String,
        /// How many values.
        count: u64,
        /// The allowed range, as text (`0..=100`, `>= 0`).
        range: String,
        /// The first value outside it.
        example: String,
    },
    /// A custom predicate failed.
    #[error("predicate {name:?} failed{}: {message}", batch_text(*.batch))]
    Predicate {
        /// The predicate's name.
        name: String,
        /// The record batch it failed on, when the table has several.
        batch: Option<usize>,
        /// Its message.
        message: String,
    },
    /// A rule that cannot apply to a column of this type.
    #[error("{rule} cannot check column {column} of type {data_type}")]
    Unsupported {
        /// The rule (`unique`, `range`).
        rule: &'static str,
        /// The column.
        column: String,
        /// Its type.
        data_type: DataType,
    },
    /// The value is not a table at all.
    #[error("the value is a {kind}, but a contract needs a table")]
    NotATable {
        /// What it is instead.
        kind: &'static str,
    },
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn batch_text(batch: Option<usize>) -> String {
    batch.map_or_else(String::new, |b| format!(" on record batch {b}"))
}

/// Every violation of `contract` by `table`, in rule order: columns and
/// their types, nulls, row count, uniqueness, ranges, predicates. Row rules
/// are not evaluated here (see [`dead_letter`](crate::check::dead_letter)).
pub fn evaluate(contract: &DataContract, table: &TableData) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut unusable: Vec<&str> = Vec::new();
    for spec in &contract.columns {
        match table.schema.column_with_name(&spec.name) {
            None => {
                violations.push(Violation::MissingColumn {
                    column: spec.name.clone(),
                    expected: spec.data_type.to_string(),
                });
                unusable.push(&spec.name);
            }
            Some((_, field)) if !types_compatible(&spec.data_type, field.data_type()) => {
                violations.push(Violation::WrongType {
                    column: spec.name.clone(),
                    expected: spec.data_type.clone(),
                    actual: field.data_type().clone(),
                });
                unusable.push(&spec.name);
            }
            Some((i, _)) if !spec.nullable => {
                let count: u64 = table
                    .batches
                    .iter()
                    .map(|b| b.column(i).logical_null_count() as u64)
                    .sum();
                if count > 0 {
                    violations.push(Violation::Nulls {
                        column: spec.name.clone(),
                        count,
                    });
                }
            }
            Some(_) => {}
        }
    }
    if let Some(min) = contract.min_rows {
        let rows = table.num_rows();
        if rows < min {
            violations.push(Violation::TooFewRows { rows, min });
        }
    }
    // A column reported missing or mistyped above is not checked again.
    let column = |name: &str, rule: &str, violations: &mut Vec<Violation>| {
        if unusable.contains(&name) {
            return None;
        }
        match table.schema.column_with_name(name) {
            Some((i, _)) => Some(
                table
                    .batches
                    .iter()
                    .map(|b| b.column(i).clone())
                    .collect::<Vec<_>>(),
            ),
            None => {
                violations.push(Violation::MissingColumn {
                    column: name.to_owned(),
                    expected: format!("a column for the {rule} rule"),
                });
                None
            }
        }
    };
    for name in &contract.unique {
        let Some(arrays) = column(name, "unique", &mut violations) else {
            continue;
        };
        match unique::duplicates(&arrays) {
            Ok(None) => {}
            Ok(Some(Duplicates { count, example })) => violations.push(Violation::Duplicates {
                column: name.clone(),
                count,
                example,
            }),
            Err(data_type) => violations.push(Violation::Unsupported {
                rule: "unique",
                column: name.clone(),
                data_type,
            }),
        }
    }
    for spec in &contract.ranges {
        let Some(arrays) = column(&spec.column, "range", &mut violations) else {
            continue;
        };
        match out_of_range(&arrays, spec) {
            Ok(None) => {}
            Ok(Some((count, example))) => violations.push(Violation::OutOfRange {
                column: spec.column.clone(),
                count,
                range: range_text(spec),
                example,
            }),
            Err(data_type) => violations.push(Violation::Unsupported {
                rule: "range",
                column: spec.column.clone(),
                data_type,
            }),
        }
    }
    // Predicates downcast columns as declared: with a declared column
    // missing or mistyped they would only fail again (or panic).
    if !unusable.is_empty() {
        return violations;
    }
    let several = table.batches.len() > 1;
    for predicate in &contract.predicates {
        for (b, batch) in table.batches.iter().enumerate() {
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (predicate.check)(batch)))
                    .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic))));
            if let Err(message) = outcome {
                violations.push(Violation::Predicate {
                    name: predicate.name.clone(),
                    batch: several.then_some(b),
                    message,
                });
                break;
            }
        }
    }
    violations
}

fn range_text(spec: &RangeSpec) -> String {
    match (spec.min, spec.max) {
        (Some(min), Some(max)) => format!("{min}..={max}"),
        (Some(min), None) => format!(">= {min}"),
        (None, Some(max)) => format!("<= {max}"),
        (None, None) => "any".into(),
    }
}

/// The number of non-null values outside the range and the first of them;
/// `Err(type)` for a column that is not numeric.
fn out_of_range(arrays: &[ArrayRef], spec: &RangeSpec) -> Result<Option<(u64, String)>, DataType> {
    let lo = spec.min.unwrap_or(f64::NEG_INFINITY);
    let hi = spec.max.unwrap_or(f64::INFINITY);
    let mut count = 0u64;
    let mut example = None;
    for array in arrays {
        let (n, first) = match array.data_type() {
            DataType::Int8 => count_outside::<Int8Type>(array, lo, hi),
            DataType::Int16 => count_outside::<Int16Type>(array, lo, hi),
            DataType::Int32 => count_outside::<Int32Type>(array, lo, hi),
            DataType::Int64 => count_outside::<Int64Type>(array, lo, hi),
            DataType::UInt8 => count_outside::<UInt8Type>(array, lo, hi),
            DataType::UInt16 => count_outside::<UInt16Type>(array, lo, hi),
            DataType::UInt32 => count_outside::<UInt32Type>(array, lo, hi),
            DataType::UInt64 => count_outside::<UInt64Type>(array, lo, hi),
            DataType::Float32 => count_outside::<Float32Type>(array, lo, hi),
            DataType::Float64 => count_outside::<Float64Type>(array, lo, hi),
            other => return Err(other.clone()),
        };
        count += n;
        if example.is_none() {
            example = first;
        }
    }
    Ok((count > 0).then(|| (count, example.unwrap_or_default())))
}

/// A primitive value as `f64`, for range checks.
trait AsF64: Copy {
    fn as_f64(self) -> f64;
}

macro_rules! as_f64 {
    ($($t:ty),*) => {$(
        impl AsF64 for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
as_f64!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

/// Values of one array outside `lo..=hi` (NaN included), and the first.
fn count_outside<T>(array: &ArrayRef, lo: f64, hi: f64) -> (u64, Option<String>)
where
    T: ArrowPrimitiveType,
    T::Native: AsF64 + std::fmt::Display,
{
    let array: &PrimitiveArray<T> = array.as_primitive::<T>();
    let outside = |v: T::Native| {
        let v = v.as_f64();
        !(v >= lo && v <= hi)
    };
    let values = array.values();
    let count = match array.nulls().filter(|n| n.null_count() > 0) {
        // The common case is a tight loop the compiler vectorizes.
        None => values.iter().filter(|&&v| outside(v)).count(),
        Some(nulls) => values
            .iter()
            .zip(nulls.iter())
            .filter(|&(&v, valid)| valid && outside(v))
            .count(),
    } as u64;
    if count == 0 {
        return (0, None);
    }
    let first = array.iter().flatten().find(|&v| outside(v));
    (count, first.map(|v| v.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    /// Two batches of `(user_id, amount, country)`.
    fn events(user_ids: [&[Option<i64>]; 2], amounts: [&[f64]; 2]) -> TableData {
        let batches: Vec<RecordBatch> = user_ids
            .iter()
            .zip(amounts)
            .map(|(ids, amounts)| {
                RecordBatch::try_from_iter([
                    (
                        "user_id",
                        Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
                    ),
                    (
                        "amount",
                        Arc::new(Float64Array::from(amounts.to_vec())) as ArrayRef,
                    ),
                    (
                        "country",
                        Arc::new(StringArray::from(vec!["fr"; ids.len()])) as ArrayRef,
                    ),
                ])
                .expect("batch")
            })
            .collect();
        TableData::new(batches[0].schema(), batches)
    }

    fn good() -> TableData {
        events([&[Some(1), Some(2)], &[Some(3)]], [&[1.0, 2.0], &[3.0]])
    }

    fn messages(contract: &DataContract, table: &TableData) -> Vec<String> {
        evaluate(contract, table)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn typical() -> DataContract {
        DataContract::new()
            .column("user_id", DataType::Int64)
            .column("amount", DataType::Float64)
            .nullable_column("country", DataType::Utf8)
            .min_rows(1)
            .unique("user_id")
            .range("amount", 0.0, 100.0)
    }

    #[test]
    fn a_table_that_fits_has_no_violations() {
        assert_eq!(messages(&typical(), &good()), Vec::<String>::new());
    }

    #[test]
    fn a_missing_column_and_a_wrong_type_are_named() {
        let contract = DataContract::new()
            .column("user_id", DataType::Utf8)
            .column("session", DataType::Int64)
            .unique("user_id");
        assert_eq!(
            messages(&contract, &good()),
            [
                "column user_id is Int64 but the contract requires Utf8",
                "column session is missing (expected Int64)",
            ]
        );
    }

    #[test]
    fn nulls_in_a_required_column_are_counted_over_every_batch() {
        let table = events([&[None, Some(2)], &[None]], [&[1.0, 2.0], &[3.0]]);
        assert_eq!(
            messages(&typical(), &table),
            ["column user_id has 2 nulls but is required"]
        );
        let one = events([&[None, Some(2)], &[Some(3)]], [&[1.0, 2.0], &[3.0]]);
        assert_eq!(
            messages(&typical(), &one),
            ["column user_id has 1 null but is required"]
        );
    }

    #[test]
    fn too_few_rows_is_reported() {
        assert_eq!(
            messages(&DataContract::new().min_rows(10), &good()),
            ["3 rows but the contract requires at least 10"]
        );
    }

    #[test]
    fn a_duplicate_in_a_unique_column_is_reported_across_batches() {
        let table = events([&[Some(1), Some(2)], &[Some(2)]], [&[1.0, 2.0], &[3.0]]);
        assert_eq!(
            messages(&typical(), &table),
            ["column user_id has 1 duplicate value (first: 2) but must be unique"]
        );
    }

    #[test]
    fn out_of_range_values_are_counted_with_the_first() {
        let table = events(
            [&[Some(1), Some(2)], &[Some(3)]],
            [&[-5.0, 2.0], &[f64::NAN]],
        );
        assert_eq!(
            messages(&typical(), &table),
            ["column amount has 2 values outside 0..=100 (first: -5)"]
        );
        assert_eq!(
            messages(&DataContract::new().at_least("user_id", 2.0), &good()),
            ["column user_id has 1 value outside >= 2 (first: 1)"]
        );
        assert_eq!(
            messages(&DataContract::new().at_most("user_id", 2.0), &good()),
            ["column user_id has 1 value outside <= 2 (first: 3)"]
        );
    }

    #[test]
    fn a_failing_predicate_names_itself_and_the_batch() {
        let contract =
            DataContract::new()
                .predicate("fine", |_| Ok(()))
                .predicate("small batches", |b| {
                    if b.num_rows() > 1 {
                        Err(format!("{} rows", b.num_rows()))
                    } else {
                        Ok(())
                    }
                });
        assert_eq!(
            messages(&contract, &good()),
            [r#"predicate "small batches" failed on record batch 0: 2 rows"#]
        );
    }

    #[test]
    fn predicates_wait_for_the_declared_columns_and_a_panic_is_a_failure() {
        let panics = DataContract::new().predicate("boom", |_| panic!("index out of bounds"));
        assert_eq!(
            messages(&panics, &good()),
            [r#"predicate "boom" failed on record batch 0: panicked: index out of bounds"#]
        );
        let mistyped = panics.column("user_id", DataType::Utf8);
        assert_eq!(
            messages(&mistyped, &good()),
            ["column user_id is Int64 but the contract requires Utf8"]
        );
    }

    #[test]
    fn rules_on_unsuitable_columns_say_so() {
        let contract = DataContract::new()
            .range("country", 0.0, 1.0)
            .unique("nowhere");
        assert_eq!(
            messages(&contract, &good()),
            [
                "column nowhere is missing (expected a column for the unique rule)",
                "range cannot check column country of type Utf8",
            ]
        );
    }
}
