//! Data quality: contracts, checks and dead-letter tables, run on each
//! output before it is published (write, audit, publish).
//!
//! * A [`DataContract`] says what an asset's table must look like: columns
//!   and types, nullability, a minimum row count, unique columns, numeric
//!   ranges, custom predicates, and row-level rules whose rejected rows go to
//!   a [dead-letter table](dead_letter). Attach it with
//!   `#[asset(contract = path::to::fn)]`; for a `Vec<Row>` table the row
//!   type's columns are added to it automatically.
//! * `#[asset_check]` functions take `&T` for an asset's type `T` and return
//!   a [`CheckOutcome`] (or `Result<(), E>`); they attach to the asset that
//!   returns `T`. A failure with severity `error` (the default) blocks
//!   publishing, `warn` is recorded and published anyway.
//! * An output whose schema differs from the asset's previous output under
//!   the same code version is [schema drift](drift) and fails the step.
//!
//! Results are recorded in the catalog per asset-partition and shown by
//! `status`. The materializer's side is
//! [`materialize::audit`](crate::materialize).

pub mod contract;
pub mod dead_letter;
pub mod drift;
pub mod evaluate;
pub mod results;
mod schemas;
mod unique;

use std::fmt;
use std::sync::Arc;

use arrow_schema::Fields;
use io_managers::{Payload, TableData};

use crate::asset::definition::{AssetDef, SourceLocation};
use crate::error::{AssetError, Error};

pub use crate::catalog::{CheckResult, CheckSeverity};
pub use contract::{ColumnSpec, DEFAULT_MAX_REJECTED, DataContract, RowRule, types_compatible};
pub use dead_letter::{DEAD_LETTER_SUFFIX, REASON_COLUMN, dead_letter_location};
pub use evaluate::{Violation, evaluate};
pub(crate) use schemas::validate_schemas;

/// The name under which contract results are recorded.
pub const CONTRACT_CHECK: &str = "contract";
/// The name under which row-rule results (rejected fraction) are recorded.
pub const ROW_RULES_CHECK: &str = "row_rules";
/// The name under which schema-drift results are recorded.
pub const SCHEMA_CHECK: &str = "schema_drift";

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The value is fine.
    Passed,
    /// The value is not fine, for this reason (one line, for people).
    Failed(String),
}

impl CheckOutcome {
    /// A pass.
    pub fn pass() -> Self {
        CheckOutcome::Passed
    }

    /// A failure with this message.
    pub fn fail(message: impl fmt::Display) -> Self {
        CheckOutcome::Failed(message.to_string())
    }

    /// A pass if `ok`, else a failure with `message()`.
    pub fn expect(ok: bool, message: impl FnOnce() -> String) -> Self {
        if ok {
            CheckOutcome::Passed
        } else {
            CheckOutcome::Failed(message())
        }
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        matches!(self, CheckOutcome::Passed)
    }
}

/// What an `#[asset_check]` function may return.
#[diagnostic::on_unimplemented(
    message = "an #[asset_check] function cannot return `{Self}`",
    label = "return `CheckOutcome` or `Result<(), E>` here",
    note = "return `CheckOutcome::pass()` / `CheckOutcome::fail(\"...\")`, or `Ok(())` / `Err(message)` with a message that implements Display"
)]
pub trait IntoCheckOutcome {
    /// The outcome.
    fn into_outcome(self) -> CheckOutcome;
}

impl IntoCheckOutcome for CheckOutcome {
    fn into_outcome(self) -> CheckOutcome {
        self
    }
}

impl<E: fmt::Display> IntoCheckOutcome for Result<(), E> {
    fn into_outcome(self) -> CheckOutcome {
        match self {
            Ok(()) => CheckOutcome::Passed,
            Err(e) => CheckOutcome::Failed(e.to_string()),
        }
    }
}

/// A check function over an asset's stored value. `Err` means the check
/// could not run (the value did not decode), which counts as a failure.
pub type CheckFn = Arc<dyn Fn(&Payload) -> Result<CheckOutcome, AssetError> + Send + Sync>;

/// One check attached to an asset.
#[derive(Clone)]
pub struct AssetCheck {
    /// Its name (the function's name for `#[asset_check]`), unique per asset.
    pub name: String,
    /// Whether a failure blocks publishing.
    pub severity: CheckSeverity,
    /// The check.
    pub run: CheckFn,
    /// Where it is defined, if it comes from source code.
    pub source: Option<SourceLocation>,
}

impl AssetCheck {
    /// A check over the value as the IO manager stores it.
    pub fn new(
        name: impl Into<String>,
        severity: CheckSeverity,
        run: impl Fn(&Payload) -> Result<CheckOutcome, AssetError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            severity,
            run: Arc::new(run),
            source: None,
        }
    }

    /// A check over a table value (for run-time assets); any other payload
    /// fails it.
    pub fn on_table(
        name: impl Into<String>,
        severity: CheckSeverity,
        run: impl Fn(&TableData) -> CheckOutcome + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, severity, move |payload| match payload {
            Payload::Table(table) => Ok(run(table)),
            other => Err(AssetError::msg(format!(
                "expected a table, got a {}",
                other.kind().name()
            ))),
        })
    }

    /// Where it is defined, for messages.
    pub fn origin(&self) -> String {
        self.source
            .map_or_else(|| "(defined at run time)".into(), |s| s.to_string())
    }
}

impl fmt::Debug for AssetCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetCheck")
            .field("name", &self.name)
            .field("severity", &self.severity)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What is verified on an asset's output before it is published.
#[derive(Clone, Default)]
pub struct AssetChecks {
    /// The contract: the one given, with the row type's columns added.
    pub contract: Option<Arc<DataContract>>,
    /// The Arrow fields of the asset's row type, when its value is a
    /// `Vec<Row>` table (the columns every output has).
    pub row_fields: Option<Fields>,
    /// `#[asset_check]` functions and run-time checks.
    pub checks: Vec<AssetCheck>,
}

impl AssetChecks {
    /// The checks of an asset whose rows have `row_fields` (if its value is
    /// serde rows) under `contract` (if one is given). The row type alone
    /// makes no contract: its columns are what the value is built from.
    pub fn for_value(row_fields: Option<Fields>, contract: Option<DataContract>) -> Self {
        let contract = contract.map(|c| {
            Arc::new(match &row_fields {
                Some(fields) => c.with_fields(fields),
                None => c,
            })
        });
        Self {
            contract,
            row_fields,
            checks: Vec::new(),
        }
    }

    /// Sets the contract (merged with the row type's columns, if known).
    pub fn set_contract(&mut self, contract: DataContract) {
        let contract = match &self.row_fields {
            Some(fields) => contract.with_fields(fields),
            None => contract,
        };
        self.contract = Some(Arc::new(contract));
    }

    /// Whether there is nothing to run on an output.
    pub fn is_empty(&self) -> bool {
        self.contract.is_none() && self.checks.is_empty()
    }

    /// The names of everything recorded per output: the contract, row
    /// rules, then each check.
    pub fn names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        if let Some(c) = &self.contract {
            if c.has_table_rules() {
                names.push(CONTRACT_CHECK);
            }
            if !c.row_rules.is_empty() {
                names.push(ROW_RULES_CHECK);
            }
        }
        names.extend(self.checks.iter().map(|c| c.name.as_str()));
        names
    }
}

impl fmt::Debug for AssetChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetChecks")
            .field("contract", &self.contract)
            .field("row_fields", &self.row_fields.as_ref().map(|f| f.len()))
            .field("checks", &self.checks)
            .finish()
    }
}

/// What `#[asset_check]` registers: const data and a function pointer.
pub struct CheckRegistration {
    /// The key of the asset whose value the check takes.
    pub asset: &'static str,
    /// The check's name.
    pub name: &'static str,
    /// Whether a failure blocks publishing.
    pub severity: CheckSeverity,
    /// Decodes the value and runs the check.
    pub run: fn(&Payload) -> Result<CheckOutcome, AssetError>,
    /// Where the check is defined.
    pub source: SourceLocation,
}

inventory::collect!(CheckRegistration);

/// Attaches every `#[asset_check]` linked into the program to its asset.
pub(crate) fn attach_registered(defs: &mut [AssetDef]) -> Result<(), Error> {
    for registration in inventory::iter::<CheckRegistration> {
        let Some(def) = defs.iter_mut().find(|d| d.key == registration.asset) else {
            return Err(Error::Usage(format!(
                "check {:?} at {} is attached to asset {:?}, which is not registered",
                registration.name, registration.source, registration.asset
            )));
        };
        let run = registration.run;
        def.checks.checks.push(AssetCheck {
            name: registration.name.to_owned(),
            severity: registration.severity,
            run: Arc::new(run),
            source: Some(registration.source),
        });
    }
    Ok(())
}

/// `clean_events [2024-01-01]`, or `clean_events` when unpartitioned.
pub(crate) fn subject(asset: &str, partition: Option<&str>) -> String {
    match partition {
        Some(p) => format!("{asset} [{p}]"),
        None => asset.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field};

    #[test]
    fn results_convert_into_outcomes() {
        assert!(Ok::<(), String>(()).into_outcome().passed());
        assert_eq!(
            Err::<(), _>("3 rows in the future").into_outcome(),
            CheckOutcome::Failed("3 rows in the future".into())
        );
        assert_eq!(
            CheckOutcome::expect(false, || "no".into()),
            CheckOutcome::fail("no")
        );
    }

    #[test]
    fn a_contract_gets_the_row_types_columns_but_rows_alone_make_none() {
        let fields = Fields::from(vec![Field::new("id", DataType::Int64, false)]);
        assert!(AssetChecks::for_value(Some(fields.clone()), None).is_empty());
        let checks = AssetChecks::for_value(Some(fields), Some(DataContract::new().min_rows(1)));
        let contract = checks.contract.expect("contract");
        assert_eq!(contract.columns()[0].name, "id");
        assert_eq!(checks.row_fields.map(|f| f.len()), Some(1));
    }

    #[test]
    fn names_list_what_is_recorded() {
        let mut checks = AssetChecks::default();
        checks.set_contract(DataContract::new().min_rows(1).reject_rows(
            "r",
            "r",
            |b: &arrow_array::RecordBatch| {
                Ok(arrow_array::BooleanArray::from(vec![false; b.num_rows()]))
            },
        ));
        checks
            .checks
            .push(AssetCheck::on_table("mine", CheckSeverity::Warn, |_| {
                CheckOutcome::pass()
            }));
        assert_eq!(checks.names(), [CONTRACT_CHECK, ROW_RULES_CHECK, "mine"]);
    }

    #[test]
    fn subjects_name_the_partition_when_there_is_one() {
        assert_eq!(subject("a", Some("2024-01-01")), "a [2024-01-01]");
        assert_eq!(subject("a", None), "a");
    }
}
