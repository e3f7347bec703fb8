//! Write, audit, publish: the step's output is checked after the asset
//! function returns and before anything is stored.
//!
//! In order: schema drift (against the asset's most recent materialization
//! under the same code version), the row rules of its contract (rejected
//! rows leave the value and are written to its dead-letter table), the rest
//! of its contract, then its checks. A blocking failure fails the step with
//! one message naming the asset, the partition and what failed; nothing is
//! published, so the previous good value stays where it was. Warnings are
//! added to the step's note. Every result is recorded in the catalog.
//!
//! None of these failures is retried: the same code on the same inputs
//! produces the same value.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use io_managers::{IoManager, Location, Payload, TableData};

use crate::asset::definition::AssetDef;
use crate::asset::run::{panic_message, run_blocking};
use crate::catalog::{Catalog, CheckResult, CheckSeverity};
use crate::check::dead_letter::{self, Split};
use crate::check::{
    AssetChecks, CONTRACT_CHECK, CheckOutcome, ROW_RULES_CHECK, SCHEMA_CHECK, Violation, drift,
    evaluate, subject,
};
use crate::materialize::record::MaterializationRecord;
use crate::materialize::snapshot::Snapshot;

/// What the audit of one step needs to know.
pub(super) struct AuditStep<'a> {
    /// The asset.
    pub def: &'a AssetDef,
    /// Where its value goes.
    pub location: &'a Location,
    /// The run.
    pub run_id: &'a str,
    /// The tagged namespace of the run, if any.
    pub tag: Option<&'a str>,
    /// The asset's IO manager (it also stores the dead-letter table).
    pub io: &'a Arc<dyn IoManager>,
    /// Where results are recorded.
    pub catalog: Option<&'a Arc<dyn Catalog>>,
    /// The catalog's view at the start of the run (for schema drift).
    pub snapshot: Option<&'a Snapshot>,
}

/// One check's result, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    name: String,
    severity: CheckSeverity,
    /// `None` when it passed; else the message for people.
    failure: Option<String>,
}

/// What evaluating an output gave.
struct Evaluated {
    payload: Payload,
    split: Option<Split>,
    max_rejected: f64,
    findings: Vec<Finding>,
}

/// Audits `payload` for `step`: `Ok` with the value to publish (without the
/// rows the row rules rejected) and `reason` extended with any warnings, or
/// `Err` with the message of every blocking failure.
pub(super) async fn audit(
    step: AuditStep<'_>,
    payload: Payload,
    reason: String,
) -> Result<(Payload, String), String> {
    let def = step.def;
    let partition = step.location.partition();
    let who = subject(&def.key, partition);
    if let Payload::Table(table) = &payload
        && let Some(message) = schema_drift(&step, table).await
    {
        let message = format!("schema of {who} {message}");
        record(&step, SCHEMA_CHECK, CheckSeverity::Error, Some(&message));
        return Err(message);
    }
    if def.checks.is_empty() {
        return Ok((payload, reason));
    }
    let checks = def.checks.clone();
    // Contracts scan every row and checks run user code: off the async workers.
    let evaluated = run_blocking(move || evaluate_all(&checks, payload))
        .await
        .map_err(|e| format!("checks of {who} {e}"))?;

    let mut notes = Vec::new();
    let mut blocking = Vec::new();
    if let Some(split) = &evaluated.split {
        let location = dead_letter::dead_letter_location(step.location)
            .map_err(|e| format!("dead-letter table of {who}: {e}"))?;
        step.io
            .store(&location, &Payload::Table(split.rejected.clone()))
            .await
            .map_err(|e| format!("cannot write the dead-letter table of {who}: {e}"))?;
        let fraction = split.rejected_fraction();
        let counted = format!(
            "{} of {} rows rejected ({:.1}%)",
            split.rejected_rows,
            split.total_rows,
            fraction * 100.0
        );
        let dlq = match partition {
            Some(p) => format!("dlq {} --partition {p}", def.key),
            None => format!("dlq {}", def.key),
        };
        if fraction > evaluated.max_rejected {
            let message = format!(
                "row rules of {who}: {counted}, more than the {}% allowed; see `{dlq}`",
                evaluated.max_rejected * 100.0
            );
            record(&step, ROW_RULES_CHECK, CheckSeverity::Error, Some(&message));
            blocking.push(message);
        } else {
            record(&step, ROW_RULES_CHECK, CheckSeverity::Error, None);
            if split.rejected_rows > 0 {
                notes.push(format!("{counted} to the dead-letter table (`{dlq}`)"));
            }
        }
    }
    for finding in &evaluated.findings {
        record(
            &step,
            &finding.name,
            finding.severity,
            finding.failure.as_deref(),
        );
        let Some(failure) = &finding.failure else {
            continue;
        };
        let message = if finding.name == CONTRACT_CHECK {
            format!("contract of {who}: {failure}")
        } else {
            format!("check {} of {who}: {failure}", finding.name)
        };
        if finding.severity.is_blocking() {
            blocking.push(message);
        } else {
            notes.push(format!("warning: {message}"));
        }
    }
    if !blocking.is_empty() {
        return Err(blocking.join("; "));
    }
    let reason = std::iter::once(reason).chain(notes).collect::<Vec<_>>();
    Ok((evaluated.payload, reason.join("; ")))
}

/// Runs the contract (row rules first) and every check on `payload`.
fn evaluate_all(checks: &AssetChecks, payload: Payload) -> Evaluated {
    let mut findings = Vec::new();
    let mut split = None;
    let mut max_rejected = 0.0;
    let mut payload = payload;
    if let Some(contract) = &checks.contract {
        max_rejected = contract.rejected_limit();
        let violations: Vec<String> = match &payload {
            Payload::Table(table) => {
                let mut violations = Vec::new();
                if !contract.row_rules().is_empty() {
                    match dead_letter::split(contract.row_rules(), table) {
                        Ok(s) => {
                            payload = Payload::Table(s.kept.clone());
                            split = Some(s);
                        }
                        // A rule that cannot run is a broken contract.
                        Err(e) => violations.push(e.to_string()),
                    }
                }
                if let Payload::Table(kept) = &payload {
                    violations.extend(evaluate(contract, kept).iter().map(ToString::to_string));
                }
                violations
            }
            other => vec![
                Violation::NotATable {
                    kind: other.kind().name(),
                }
                .to_string(),
            ],
        };
        if contract.has_table_rules() || !violations.is_empty() {
            findings.push(Finding {
                name: CONTRACT_CHECK.into(),
                severity: contract.failure_severity(),
                failure: (!violations.is_empty()).then(|| violations.join("; ")),
            });
        }
    }
    for check in &checks.checks {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (check.run)(&payload)));
        let failure = match outcome {
            Ok(Ok(CheckOutcome::Passed)) => None,
            Ok(Ok(CheckOutcome::Failed(message))) => Some(message),
            Ok(Err(e)) => Some(format!("could not run: {e}")),
            Err(panic) => Some(format!("panicked: {}", panic_message(&*panic))),
        };
        findings.push(Finding {
            name: check.name.clone(),
            severity: check.severity,
            failure,
        });
    }
    Evaluated {
        payload,
        split,
        max_rejected,
        findings,
    }
}

/// How `table`'s schema differs from the asset's most recent output under
/// the same code version (`changed under code version ...: column x ...`),
/// or `None`. A table with no columns (an empty `Vec<RecordBatch>`) says
/// nothing about its schema and is never drift.
async fn schema_drift(step: &AuditStep<'_>, table: &TableData) -> Option<String> {
    if table.schema.fields().is_empty() {
        return None;
    }
    let previous = previous_record(step).await?;
    if previous.code_version != step.def.code_version {
        return None;
    }
    let old = previous.schema.as_deref()?;
    let new = drift::schema_text(&table.schema);
    let difference = drift::difference(old, &new)?;
    let whence = match &previous.partition {
        Some(p) => format!("partition {p}"),
        None => "the previous materialization".into(),
    };
    Some(format!(
        "changed under the same code version {}: {difference} (compared with {whence}); if the change is deliberate, change the asset's code or its code_version",
        step.def.code_version
    ))
}

/// The asset's most recent materialization: from the run's snapshot of the
/// catalog (any partition), else from the sidecar of this same partition.
async fn previous_record(step: &AuditStep<'_>) -> Option<MaterializationRecord> {
    match step.snapshot {
        Some(snapshot) => snapshot
            .newest
            .get(&step.def.key)
            .and_then(|key| snapshot.latest.get(key))
            .cloned(),
        None => {
            let bytes = step.io.load_sidecar(step.location).await.ok()??;
            MaterializationRecord::from_json(&bytes).ok()
        }
    }
}

/// Records one result in the catalog (queued; a failure to queue is logged,
/// not fatal: the step's own outcome is what matters).
fn record(step: &AuditStep<'_>, name: &str, severity: CheckSeverity, failure: Option<&str>) {
    let Some(catalog) = step.catalog else {
        return;
    };
    let result = CheckResult {
        run_id: step.run_id.to_owned(),
        asset: step.def.key.clone(),
        partition: step.location.partition().map(str::to_owned),
        tag: step.tag.map(str::to_owned),
        name: name.to_owned(),
        passed: failure.is_none(),
        severity,
        message: failure.unwrap_or_default().to_owned(),
        at: chrono::Utc::now().to_rfc3339(),
    };
    if let Err(e) = catalog.record_check(&result) {
        tracing::warn!(
            "cannot record check {name} of {} in the catalog: {e}",
            step.location
        );
    }
}
