//! Logging and progress: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::Level;

use crate::materialize::Observer;
use crate::materialize::report::{StepReport, StepStatus, format_duration};

/// Sets up `tracing` output on stderr: info by default, debug with `-v`,
/// trace with `-vv`, warnings only with `-q`.
pub(super) fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => Level::WARN,
        (false, 0) => Level::INFO,
        (false, 1) => Level::DEBUG,
        (false, _) => Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

/// An observer for a run of `total` steps: a progress bar on a terminal
/// (unless quiet), else one log line per step.
pub(super) fn observer(total: usize, quiet: bool) -> (Observer, Option<ProgressBar>) {
    if !quiet && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps  {elapsed} elapsed, ~{eta} left  {msg}",
        ) {
            bar.set_style(style);
        }
        let handle = bar.clone();
        let observer: Observer = Arc::new(move |step: &StepReport| {
            handle.inc(1);
            handle.set_message(format!("{} {}", step.status.name(), name(step)));
            if step.status == StepStatus::Failed {
                handle.println(failure_line(step));
            }
        });
        (observer, Some(bar))
    } else {
        let observer: Observer = Arc::new(|step: &StepReport| log_step(step));
        (observer, None)
    }
}

fn log_step(step: &StepReport) {
    match step.status {
        StepStatus::Failed => tracing::error!("{}", failure_line(step)),
        StepStatus::Skipped => tracing::warn!(
            "skipped {}: {}",
            name(step),
            step.message.as_deref().unwrap_or("")
        ),
        status => tracing::info!(
            "{} {} ({} rows, {})",
            status.name(),
            name(step),
            step.rows.unwrap_or(0),
            format_duration(step.duration)
        ),
    }
}

fn failure_line(step: &StepReport) -> String {
    format!(
        "asset {} failed: {}",
        name(step),
        step.message.as_deref().unwrap_or("unknown error")
    )
}

fn name(step: &StepReport) -> String {
    match &step.partition {
        Some(p) => format!("{} [{}]", step.asset, p),
        None => step.asset.clone(),
    }
}
