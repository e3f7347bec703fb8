//! The alerts a finished run raises, deduplicated through the catalog.
//!
//! A failed step opens an alert for its asset-partition and cause (a step
//! that failed after its retries, a blocking check, a dead-letter share
//! over its threshold); the open alert lives in the catalog, so the next
//! failing run of the same asset-partition sends nothing. A successful
//! materialization closes the open step alerts of its asset-partition and
//! sends one recovery notice each. Skipped steps raise nothing: the failure
//! upstream of them is the news, and its `why` says what it held up.

use chrono::{DateTime, Utc};

use crate::alert::{Alert, AlertKind, Cause, Severity};
use crate::catalog::{CatalogError, OpenAlert, UnattendedStore, instant_text};
use crate::graph::AssetGraph;
use crate::materialize::RunReport;
use crate::materialize::report::{StepReport, StepStatus};

/// The longest `why` sent, in characters (a failure message can carry a
/// whole backtrace; a pager wants one line).
const MAX_WHY_CHARS: usize = 300;

/// Records in `store` what `report` changes and returns the alerts and
/// recovery notices to send, in step order.
pub fn alerts_from_run(
    graph: &AssetGraph,
    store: &UnattendedStore,
    report: &RunReport,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, CatalogError> {
    if report.dry_run {
        return Ok(Vec::new());
    }
    let at = instant_text(now);
    let mut alerts = Vec::new();
    for step in &report.steps {
        match step.status {
            StepStatus::Failed => {
                let severity = severity_of(graph, &step.asset);
                let message = step.message.as_deref().unwrap_or("failed");
                let cause = cause_of(message);
                let why = why(step, report);
                let opened = store.open_alert(&OpenAlert {
                    asset: step.asset.clone(),
                    partition: step.partition.clone(),
                    cause: cause.as_str().to_owned(),
                    severity: severity.as_str().to_owned(),
                    run_id: report.run_id.clone(),
                    why: why.clone(),
                    opened_at: at.clone(),
                })?;
                if opened {
                    alerts.push(Alert {
                        kind: AlertKind::Firing,
                        asset: step.asset.clone(),
                        partition: step.partition.clone(),
                        severity,
                        cause,
                        run_id: Some(report.run_id.clone()),
                        why,
                        at: at.clone(),
                    });
                }
            }
            StepStatus::Materialized | StepStatus::Fresh => {
                for cause in Cause::ALL.into_iter().filter(|c| c.cleared_by_success()) {
                    let Some(open) = store.close_alert(
                        &step.asset,
                        step.partition.as_deref(),
                        cause.as_str(),
                    )?
                    else {
                        continue;
                    };
                    alerts.push(Alert {
                        kind: AlertKind::Recovered,
                        asset: step.asset.clone(),
                        partition: step.partition.clone(),
                        severity: open
                            .severity
                            .parse()
                            .unwrap_or_else(|_| severity_of(graph, &step.asset)),
                        cause,
                        run_id: Some(report.run_id.clone()),
                        why: format!(
                            "{} since run {} (opened {})",
                            if step.status == StepStatus::Fresh {
                                "up to date again"
                            } else {
                                "materialized again"
                            },
                            open.run_id,
                            open.opened_at
                        ),
                        at: at.clone(),
                    });
                }
            }
            StepStatus::Skipped | StepStatus::WouldRun => {}
        }
    }
    Ok(alerts)
}

/// The severity the code gives `asset` (the default for one no longer
/// defined).
fn severity_of(graph: &AssetGraph, asset: &str) -> Severity {
    graph
        .registry()
        .get(asset)
        .map(|def| def.unattended.severity)
        .unwrap_or_default()
}

/// The cause of a step failure, from the message the materializer gives
/// it: the audit's messages name the rule that refused the value (`row
/// rules of ...`, `contract of ...`, `check ... of ...`, `schema of ...`);
/// anything else failed in the function, a load or the write, after the
/// retries it had.
pub fn cause_of(message: &str) -> Cause {
    if message.starts_with("row rules of ") {
        Cause::DeadLetterShare
    } else if ["contract of ", "check ", "checks of ", "schema of "]
        .iter()
        .any(|p| message.starts_with(p))
    {
        Cause::BlockingCheckFailed
    } else {
        Cause::RetriesExhausted
    }
}

/// One line: the failure and the steps it held up.
fn why(step: &StepReport, report: &RunReport) -> String {
    let message = step.message.as_deref().unwrap_or("failed");
    let first = message.lines().next().unwrap_or(message);
    let mut why: String = first.chars().take(MAX_WHY_CHARS).collect();
    if first.chars().count() > MAX_WHY_CHARS {
        why.push('…');
    }
    let upstream = match &step.partition {
        Some(p) => format!("upstream {} [{p}]", step.asset),
        None => format!("upstream {}", step.asset),
    };
    let held_up = report
        .steps
        .iter()
        .filter(|s| {
            s.status == StepStatus::Skipped
                && s.message.as_deref().is_some_and(|m| m.contains(&upstream))
        })
        .count();
    if held_up > 0 {
        why.push_str(&format!(
            "; {held_up} downstream step{} skipped",
            if held_up == 1 { "" } else { "s" }
        ));
    }
    why
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;
    use crate::AssetDef;
    use crate::asset::registry::Registry;
    use crate::materialize::report::StepReport;

    fn graph() -> AssetGraph {
        let def = AssetDef::new("a", |_| Box::pin(async { Ok(crate::io::Payload::Nothing) }))
            .with_severity(Severity::P1);
        AssetGraph::build(Registry::from_defs(vec![def]).unwrap()).unwrap()
    }

    fn run(id: &str, status: StepStatus, message: Option<&str>) -> RunReport {
        RunReport {
            run_id: id.into(),
            steps: vec![StepReport {
                asset: "a".into(),
                partition: None,
                status,
                rows: None,
                data_version: None,
                duration: Duration::ZERO,
                message: message.map(str::to_owned),
            }],
            duration: Duration::ZERO,
            dry_run: false,
        }
    }

    #[test]
    fn causes_come_from_the_audit_messages() {
        assert_eq!(
            cause_of("row rules of x [d]: 5 of 10 rows rejected"),
            Cause::DeadLetterShare
        );
        assert_eq!(
            cause_of("check non_empty of x: 0 rows"),
            Cause::BlockingCheckFailed
        );
        assert_eq!(cause_of("contract of x: nulls"), Cause::BlockingCheckFailed);
        assert_eq!(
            cause_of("failed after 3 attempts: timeout"),
            Cause::RetriesExhausted
        );
    }

    #[test]
    fn a_failure_fires_once_and_recovers_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = UnattendedStore::open(dir.path().join("c.sqlite")).unwrap();
        let graph = graph();
        let now = Utc::now();
        let first = alerts_from_run(
            &graph,
            &store,
            &run("r1", StepStatus::Failed, Some("boom")),
            now,
        )
        .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].kind, AlertKind::Firing);
        assert_eq!(first[0].severity, Severity::P1);
        assert_eq!(first[0].cause, Cause::RetriesExhausted);
        assert_eq!(first[0].run_id.as_deref(), Some("r1"));
        assert_eq!(first[0].why, "boom");
        let again = alerts_from_run(
            &graph,
            &store,
            &run("r2", StepStatus::Failed, Some("boom")),
            now,
        )
        .unwrap();
        assert!(again.is_empty(), "deduplicated: {again:?}");
        let ok = alerts_from_run(
            &graph,
            &store,
            &run("r3", StepStatus::Materialized, None),
            now,
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(ok[0].kind, AlertKind::Recovered);
        assert!(ok[0].why.contains("since run r1"), "{}", ok[0].why);
        let quiet = alerts_from_run(
            &graph,
            &store,
            &run("r4", StepStatus::Materialized, None),
            now,
        )
        .unwrap();
        assert!(quiet.is_empty());
    }
}
