//! [`DataContract`]: what an asset's table must look like before it is
//! published.
//!
//! A contract is built with chained calls and attached with
//! `#[asset(contract = path::to::fn)]` (the function returns the contract) or
//! [`AssetDef::with_contract`](crate::AssetDef::with_contract):
//!
//! ```
//! use asset_core::check::DataContract;
//! use asset_core::arrow_schema::DataType;
//!
//! fn clean_events_contract() -> DataContract {
//!     DataContract::new()
//!         .column("user_id", DataType::Int64)
//!         .nullable_column("country", DataType::Utf8)
//!         .min_rows(1)
//!         .unique("event_id")
//!         .range("amount", 0.0, 10_000.0)
//!         .predicate("sorted by time", |batch| {
//!             // Runs once per record batch of the output.
//!             let _ = batch;
//!             Ok(())
//!         })
//! }
//! # let _ = clean_events_contract();
//! ```
//!
//! Every rule is checked batch by batch over the output, so memory stays
//! bounded by the output itself (a [`unique`](DataContract::unique) rule keeps
//! one entry per distinct value).

use std::fmt;
use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::{DataType, FieldRef};

use crate::catalog::CheckSeverity;

/// A custom rule over one record batch: `Err(what is wrong)` fails it.
pub type PredicateFn = Arc<dyn Fn(&RecordBatch) -> Result<(), String> + Send + Sync>;

/// A row-level rule over one record batch: `true` marks a rejected row (a
/// null counts as kept). `Err` fails the step.
pub type RowRuleFn = Arc<dyn Fn(&RecordBatch) -> Result<BooleanArray, String> + Send + Sync>;

/// The rejected fraction above which a step with row rules fails, unless
/// [`DataContract::max_rejected`] says otherwise: 5%.
pub const DEFAULT_MAX_REJECTED: f64 = 0.05;

/// What an asset's output table must satisfy to be published.
///
/// See the [module docs](self) for an example. Column types are compared by
/// family: `Utf8`, `LargeUtf8` and `Utf8View` are one string type (serde rows
/// store strings as `LargeUtf8`), likewise the binary and list variants, and
/// a dictionary matches its value type.
#[derive(Clone)]
pub struct DataContract {
    pub(crate) columns: Vec<ColumnSpec>,
    pub(crate) min_rows: Option<u64>,
    pub(crate) unique: Vec<String>,
    pub(crate) ranges: Vec<RangeSpec>,
    pub(crate) predicates: Vec<NamedPredicate>,
    pub(crate) row_rules: Vec<RowRule>,
    pub(crate) max_rejected: f64,
    pub(crate) severity: CheckSeverity,
}

/// A required column: its name, Arrow type, and whether it may hold nulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The column's name.
    pub name: String,
    /// Its Arrow type (compared by family, see [`DataContract`]).
    pub data_type: DataType,
    /// Whether nulls are allowed; a null in a column that is not nullable
    /// fails the contract.
    pub nullable: bool,
}

/// An inclusive numeric range a column's non-null values must lie in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RangeSpec {
    pub(crate) column: String,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

/// A named custom rule.
#[derive(Clone)]
pub(crate) struct NamedPredicate {
    pub(crate) name: String,
    pub(crate) check: PredicateFn,
}

/// A row-level rule: rows it marks go to the dead-letter table with its reason.
#[derive(Clone)]
pub struct RowRule {
    pub(crate) name: String,
    pub(crate) reason: String,
    pub(crate) reject: RowRuleFn,
}

impl RowRule {
    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The reason written beside each row it rejects.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Default for DataContract {
    fn default() -> Self {
        Self::new()
    }
}

impl DataContract {
    /// A contract with no rules (every table satisfies it). Failures block
    /// publishing unless [`severity`](Self::severity) says otherwise.
    pub fn new() -> Self {
        Self {
            columns: Vec::new(),
            min_rows: None,
            unique: Vec::new(),
            ranges: Vec::new(),
            predicates: Vec::new(),
            row_rules: Vec::new(),
            max_rejected: DEFAULT_MAX_REJECTED,
            severity: CheckSeverity::Error,
        }
    }

    /// Requires column `name` of type `data_type` without nulls. Declaring a
    /// column again replaces the earlier declaration.
    pub fn column(self, name: impl Into<String>, data_type: DataType) -> Self {
        self.with_column(ColumnSpec {
            name: name.into(),
            data_type,
            nullable: false,
        })
    }

    /// Requires column `name` of type `data_type`; nulls are allowed.
    pub fn nullable_column(self, name: impl Into<String>, data_type: DataType) -> Self {
        self.with_column(ColumnSpec {
            name: name.into(),
            data_type,
            nullable: true,
        })
    }

    /// Requires a column as `spec` describes it.
    pub fn with_column(mut self, spec: ColumnSpec) -> Self {
        self.columns.retain(|c| c.name != spec.name);
        self.columns.push(spec);
        self
    }

    /// Requires at least `rows` rows.
    pub fn min_rows(mut self, rows: u64) -> Self {
        self.min_rows = Some(rows);
        self
    }

    /// Requires the non-null values of `column` to be distinct (nulls are
    /// not compared, as in SQL). Integer, float, boolean, date/time, string
    /// and binary columns are supported.
    pub fn unique(mut self, column: impl Into<String>) -> Self {
        let column = column.into();
        if !self.unique.contains(&column) {
            self.unique.push(column);
        }
        self
    }

    /// Requires every non-null value of the numeric `column` to lie in
    /// `min..=max` (NaN lies nowhere). Values are compared as `f64`.
    pub fn range(self, column: impl Into<String>, min: f64, max: f64) -> Self {
        self.with_range(column.into(), Some(min), Some(max))
    }

    /// Requires every non-null value of the numeric `column` to be at least `min`.
    pub fn at_least(self, column: impl Into<String>, min: f64) -> Self {
        self.with_range(column.into(), Some(min), None)
    }

    /// Requires every non-null value of the numeric `column` to be at most `max`.
    pub fn at_most(self, column: impl Into<String>, max: f64) -> Self {
        self.with_range(column.into(), None, Some(max))
    }

    fn with_range(mut self, column: String, min: Option<f64>, max: Option<f64>) -> Self {
        self.ranges.push(RangeSpec { column, min, max });
        self
    }

    /// A custom rule named `name`, called on each record batch of the
    /// output; the first `Err` fails the contract with its message.
    pub fn predicate(
        mut self,
        name: impl Into<String>,
        check: impl Fn(&RecordBatch) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.predicates.push(NamedPredicate {
            name: name.into(),
            check: Arc::new(check),
        });
        self
    }

    /// A row-level rule: `reject` returns, per record batch, a mask of the
    /// rows to reject. Rejected rows are left out of the published value and
    /// written, with `reason`, to the asset's dead-letter table; the step
    /// fails if more than [`max_rejected`](Self::max_rejected) of the rows
    /// are rejected.
    pub fn reject_rows(
        mut self,
        name: impl Into<String>,
        reason: impl Into<String>,
        reject: impl Fn(&RecordBatch) -> Result<BooleanArray, String> + Send + Sync + 'static,
    ) -> Self {
        self.row_rules.push(RowRule {
            name: name.into(),
            reason: reason.into(),
            reject: Arc::new(reject),
        });
        self
    }

    /// The largest fraction of rows (0.0 to 1.0) the row rules may reject
    /// before the step fails (default [`DEFAULT_MAX_REJECTED`]). Values
    /// outside 0..=1 are clamped.
    pub fn max_rejected(mut self, fraction: f64) -> Self {
        self.max_rejected = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// Whether a violation blocks publishing ([`CheckSeverity::Error`], the
    /// default) or is recorded as a warning ([`CheckSeverity::Warn`]). Row
    /// rules and their threshold always apply.
    pub fn severity(mut self, severity: CheckSeverity) -> Self {
        self.severity = severity;
        self
    }

    /// The required columns.
    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// The row-level rules.
    pub fn row_rules(&self) -> &[RowRule] {
        &self.row_rules
    }

    /// The rejected fraction above which the step fails.
    pub fn rejected_limit(&self) -> f64 {
        self.max_rejected
    }

    /// How a violation is treated.
    pub fn failure_severity(&self) -> CheckSeverity {
        self.severity
    }

    /// Whether the contract checks anything besides row rules.
    pub(crate) fn has_table_rules(&self) -> bool {
        !self.columns.is_empty()
            || self.min_rows.is_some()
            || !self.unique.is_empty()
            || !self.ranges.is_empty()
            || !self.predicates.is_empty()
    }

    /// This contract, with a column for each of `fields` that it does not
    /// declare itself (explicit declarations win): the columns of a serde
    /// row type, traced from the type.
    pub fn with_fields(mut self, fields: &[FieldRef]) -> Self {
        let explicit = self.columns.len();
        for field in fields {
            if !self.columns[..explicit]
                .iter()
                .any(|c| c.name == *field.name())
            {
                self.columns.push(ColumnSpec {
                    name: field.name().clone(),
                    data_type: field.data_type().clone(),
                    nullable: field.is_nullable(),
                });
            }
        }
        self
    }
}

impl fmt::Debug for DataContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |v: &[NamedPredicate]| v.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        f.debug_struct("DataContract")
            .field("columns", &self.columns)
            .field("min_rows", &self.min_rows)
            .field("unique", &self.unique)
            .field("ranges", &self.ranges)
            .field("predicates", &names(&self.predicates))
            .field(
                "row_rules",
                &self.row_rules.iter().map(|r| &r.name).collect::<Vec<_>>(),
            )
            .field("max_rejected", &self.max_rejected)
            .field("severity", &self.severity)
            .finish()
    }
}

/// Whether a column of type `actual` satisfies a declaration of type
/// `expected`: equal up to the string, binary and list variants (`Utf8` is
/// `LargeUtf8` is `Utf8View`) and dictionary encoding, recursively.
pub fn types_compatible(expected: &DataType, actual: &DataType) -> bool {
    use DataType as T;
    match (expected, actual) {
        (T::Dictionary(_, e), a) => types_compatible(e, a),
        (e, T::Dictionary(_, a)) => types_compatible(e, a),
        (T::Utf8 | T::LargeUtf8 | T::Utf8View, a) => {
            matches!(a, T::Utf8 | T::LargeUtf8 | T::Utf8View)
        }
        (T::Binary | T::LargeBinary | T::BinaryView, a) => {
            matches!(a, T::Binary | T::LargeBinary | T::BinaryView)
        }
        (
            T::List(e) | T::LargeList(e) | T::ListView(e) | T::LargeListView(e),
            T::List(a) | T::LargeList(a) | T::ListView(a) | T::LargeListView(a),
        ) => types_compatible(e.data_type(), a.data_type()),
        (T::Struct(e), T::Struct(a)) => {
            e.len() == a.len()
                && e.iter().zip(a.iter()).all(|(e, a)| {
                    e.name() == a.name() && types_compatible(e.data_type(), a.data_type())
                })
        }
        (e, a) => e == a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Field;

    #[test]
    fn declaring_a_column_again_replaces_it() {
        let c = DataContract::new()
            .column("a", DataType::Int64)
            .nullable_column("a", DataType::Utf8);
        assert_eq!(
            c.columns(),
            [ColumnSpec {
                name: "a".into(),
                data_type: DataType::Utf8,
                nullable: true
            }]
        );
    }

    #[test]
    fn row_fields_fill_in_columns_the_contract_does_not_declare() {
        let fields: Vec<FieldRef> = vec![
            Arc::new(Field::new("id", DataType::Int64, false)),
            Arc::new(Field::new("name", DataType::LargeUtf8, true)),
        ];
        let c = DataContract::new()
            .column("name", DataType::Utf8)
            .with_fields(&fields);
        let cols: Vec<(&str, bool)> = c
            .columns()
            .iter()
            .map(|c| (c.name.as_str(), c.nullable))
            .collect();
        assert_eq!(cols, [("name", false), ("id", false)]);
    }

    #[test]
    fn string_binary_and_list_variants_are_one_type() {
        assert!(types_compatible(&DataType::Utf8, &DataType::LargeUtf8));
        assert!(types_compatible(&DataType::LargeBinary, &DataType::Binary));
        let list = |t: DataType| DataType::List(Arc::new(Field::new("item", t, true)));
        let large = DataType::LargeList(Arc::new(Field::new("element", DataType::Utf8, false)));
        assert!(types_compatible(&list(DataType::LargeUtf8), &large));
        assert!(!types_compatible(&list(DataType::Int64), &large));
        assert!(!types_compatible(&DataType::Int64, &DataType::Int32));
        assert!(!types_compatible(&DataType::Utf8, &DataType::Int64));
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        assert!(types_compatible(&DataType::Utf8, &dict));
    }

    #[test]
    fn max_rejected_is_a_fraction() {
        assert_eq!(DataContract::new().rejected_limit(), 0.05);
        assert_eq!(DataContract::new().max_rejected(3.0).rejected_limit(), 1.0);
        assert_eq!(DataContract::new().max_rejected(-1.0).rejected_limit(), 0.0);
        assert_eq!(
            DataContract::new().max_rejected(f64::NAN).rejected_limit(),
            0.0
        );
    }
}
