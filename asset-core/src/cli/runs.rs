//! `runs` and `runs show ID`: what each run did, from the catalog.
//!
//! The catalog records, per run, its command line, status and times, every
//! materialization and every failed attempt; a step skipped because an
//! upstream failed records nothing (the run's own summary listed it).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use crate::catalog::{Catalog, FailureRecord, MaterializationRecord, RunInfo, RunStatus};
use crate::cli::args::{RunStatusArg, RunsAction, RunsArgs};
use crate::cli::output::{out, outln};
use crate::cli::table::render;
use crate::error::Error;
use crate::materialize::report::format_duration;

fn catalog_error(e: impl std::fmt::Display) -> Error {
    Error::Catalog(e.to_string())
}

/// `runs [--limit N] [--status S]` and `runs show ID`.
pub(super) fn runs(catalog: &dyn Catalog, args: &RunsArgs) -> Result<ExitCode, Error> {
    match &args.action {
        Some(RunsAction::Show { id }) => show(catalog, id),
        None => list(catalog, args),
    }
}

fn list(catalog: &dyn Catalog, args: &RunsArgs) -> Result<ExitCode, Error> {
    let status = args.status.map(|s| match s {
        RunStatusArg::Running => RunStatus::Running,
        RunStatusArg::Succeeded => RunStatus::Succeeded,
        RunStatusArg::Failed => RunStatus::Failed,
        RunStatusArg::Cancelled => RunStatus::Cancelled,
    });
    let runs = catalog
        .runs_with_status(args.limit as usize, status)
        .map_err(catalog_error)?;
    if runs.is_empty() {
        match status {
            Some(s) => outln!("no {} runs recorded", s.as_str()),
            None => outln!("no runs recorded (start one with `materialize`)"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        [
            "run",
            "status",
            "started",
            "duration",
            "tag",
            "materialized",
            "failed",
            "command",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for run in &runs {
        let counts = catalog.run_counts(&run.run_id).map_err(catalog_error)?;
        let failed = if counts.failed_attempts > counts.failed {
            // Some attempts failed and were retried.
            format!("{} ({} attempts)", counts.failed, counts.failed_attempts)
        } else {
            counts.failed.to_string()
        };
        rows.push(vec![
            run.run_id.clone(),
            run.status.as_str().to_owned(),
            run.started_at.clone(),
            run_duration(run),
            run.tag.clone().unwrap_or_else(|| "-".into()),
            counts.materialized.to_string(),
            failed,
            run.command.clone(),
        ]);
    }
    out!("{}", render(&rows));
    Ok(ExitCode::SUCCESS)
}

/// How long a run took, or `-` while it runs (or if its process died).
fn run_duration(run: &RunInfo) -> String {
    run.finished_at
        .as_deref()
        .and_then(|end| between(&run.started_at, end))
        .map_or_else(|| "-".into(), format_duration)
}

/// The time from `start` to `end` (RFC 3339), if both parse.
fn between(start: &str, end: &str) -> Option<Duration> {
    let start = chrono::DateTime::parse_from_rfc3339(start).ok()?;
    let end = chrono::DateTime::parse_from_rfc3339(end).ok()?;
    (end - start).to_std().ok()
}

/// One step of a run, gathered from its materialization and its failed
/// attempts.
#[derive(Default)]
struct Step<'a> {
    built: Option<&'a MaterializationRecord>,
    failures: Vec<&'a FailureRecord>,
}

fn show(catalog: &dyn Catalog, id: &str) -> Result<ExitCode, Error> {
    let Some(run) = catalog.run(id).map_err(catalog_error)? else {
        return Err(Error::Usage(format!(
            "unknown run {id:?}: no run of that id is recorded (`runs` lists them)"
        )));
    };
    let built = catalog.run_materializations(id).map_err(catalog_error)?;
    let failures = catalog.run_failures(id).map_err(catalog_error)?;
    outln!("run       {}", run.run_id);
    outln!("command   {}", run.command);
    outln!("status    {}", run.status.as_str());
    outln!(
        "started   {}{}",
        run.started_at,
        run.finished_at
            .as_deref()
            .map_or_else(String::new, |end| format!(", finished {end}"))
    );
    outln!("duration  {}", run_duration(&run));
    if let Some(tag) = &run.tag {
        outln!("tag       {tag}");
    }
    // Steps in the order they first recorded something.
    let mut order = Vec::new();
    let mut steps: BTreeMap<(&str, Option<&str>), Step<'_>> = BTreeMap::new();
    for failure in &failures {
        let key = (failure.asset.as_str(), failure.partition.as_deref());
        let entry = steps.entry(key).or_insert_with(|| {
            order.push(key);
            Step::default()
        });
        entry.failures.push(failure);
    }
    for record in &built {
        let key = (record.asset.as_str(), record.partition.as_deref());
        let entry = steps.entry(key).or_insert_with(|| {
            order.push(key);
            Step::default()
        });
        entry.built = Some(record);
    }
    if order.is_empty() {
        outln!("\n(no step of this run recorded a materialization or a failure)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        [
            "asset",
            "partition",
            "outcome",
            "attempts",
            "duration",
            "rows",
            "error",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for key in &order {
        let step = &steps[key];
        let attempts = step.failures.len() + usize::from(step.built.is_some());
        let (outcome, duration, rows_out, error) = match (step.built, step.failures.last()) {
            (Some(record), _) => (
                if step.failures.is_empty() {
                    "materialized"
                } else {
                    "materialized after retries"
                },
                between(&record.started_at, &record.finished_at),
                record.rows.to_string(),
                String::new(),
            ),
            (None, Some(last)) => (
                "failed",
                between(&last.started_at, &last.finished_at),
                "-".to_owned(),
                last.error.lines().next().unwrap_or("").to_owned(),
            ),
            (None, None) => continue,
        };
        rows.push(vec![
            key.0.to_owned(),
            key.1.unwrap_or("-").to_owned(),
            outcome.to_owned(),
            attempts.to_string(),
            duration.map_or_else(|| "-".into(), format_duration),
            rows_out,
            error,
        ]);
    }
    outln!();
    out!("{}", render(&rows));
    Ok(ExitCode::SUCCESS)
}
