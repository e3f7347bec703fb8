//! Step outcomes and the run summary.

use std::fmt::Write as _;
use std::time::Duration;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Computed and published.
    Materialized,
    /// Already up to date: not recomputed.
    Fresh,
    /// Would be computed (dry run).
    WouldRun,
    /// The function, a load or the write failed.
    Failed,
    /// Not run because an upstream step failed.
    Skipped,
}

impl StepStatus {
    /// Why a step reading an upstream that ended with this status is
    /// skipped: "upstream a [2024-01-01] failed", "... was skipped". The one
    /// place the sentence is made.
    pub fn blocking_reason(self, upstream: &str) -> String {
        match self {
            StepStatus::Failed => format!("upstream {upstream} failed"),
            StepStatus::Skipped => format!("upstream {upstream} was skipped"),
            other => format!("upstream {upstream} is {}", other.name()),
        }
    }

    /// Lower-case name for tables and logs.
    pub fn name(self) -> &'static str {
        match self {
            StepStatus::Materialized => "materialized",
            StepStatus::Fresh => "fresh",
            StepStatus::WouldRun => "would run",
            StepStatus::Failed => "FAILED",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// The outcome of one asset-partition.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The asset key.
    pub asset: String,
    /// The partition key.
    pub partition: Option<String>,
    /// How it ended.
    pub status: StepStatus,
    /// Rows in the output (written, or already there when fresh).
    pub rows: Option<u64>,
    /// The output's data version.
    pub data_version: Option<String>,
    /// Wall time of the step.
    pub duration: Duration,
    /// Why it ran, failed or was skipped.
    pub message: Option<String>,
}

/// The outcome of a whole run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run id (in every provenance record of the run).
    pub run_id: String,
    /// Every step, in plan order.
    pub steps: Vec<StepReport>,
    /// Wall time of the run.
    pub duration: Duration,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

impl RunReport {
    /// No step failed or was skipped.
    pub fn succeeded(&self) -> bool {
        self.count(StepStatus::Failed) == 0 && self.count(StepStatus::Skipped) == 0
    }

    /// Steps with this status.
    pub fn count(&self, status: StepStatus) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }

    /// The step of `asset` (and `partition`).
    pub fn step(&self, asset: &str, partition: Option<&str>) -> Option<&StepReport> {
        self.steps
            .iter()
            .find(|s| s.asset == asset && s.partition.as_deref() == partition)
    }

    /// A plain-text table: asset, partition, status, rows, duration, note.
    pub fn summary_table(&self) -> String {
        let headers = ["asset", "partition", "status", "rows", "duration", "note"];
        let rows: Vec<[String; 6]> = self
            .steps
            .iter()
            .map(|s| {
                [
                    s.asset.clone(),
                    s.partition.clone().unwrap_or_else(|| "-".into()),
                    s.status.name().into(),
                    s.rows.map_or_else(|| "-".into(), |r| r.to_string()),
                    format_duration(s.duration),
                    s.message.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: [&str; 6]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i == 5 {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(headers);
        for row in &rows {
            line(row.each_ref().map(String::as_str));
        }
        let _ = write!(
            out,
            "{} step{} in {}: {}",
            self.steps.len(),
            if self.steps.len() == 1 { "" } else { "s" },
            format_duration(self.duration),
            self.outcome_counts()
        );
        out
    }

    /// `3 materialized, 1 fresh, 0 failed, 0 skipped` (and `, 2 would run
    /// (dry run)` for a dry run): the end of every summary.
    pub(crate) fn outcome_counts(&self) -> String {
        let mut text = format!(
            "{} materialized, {} fresh, {} failed, {} skipped",
            self.count(StepStatus::Materialized),
            self.count(StepStatus::Fresh),
            self.count(StepStatus::Failed),
            self.count(StepStatus::Skipped),
        );
        if self.dry_run {
            let _ = write!(
                text,
                ", {} would run (dry run)",
                self.count(StepStatus::WouldRun)
            );
        }
        text
    }
}

/// `12ms`, `1.52s`.
pub fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(asset: &str, status: StepStatus) -> StepReport {
        StepReport {
            asset: asset.into(),
            partition: Some("2024-01-01".into()),
            status,
            rows: Some(10),
            data_version: None,
            duration: Duration::from_millis(5),
            message: None,
        }
    }

    #[test]
    fn summary_lists_every_step_and_counts() {
        let report = RunReport {
            run_id: "r".into(),
            steps: vec![
                step("a", StepStatus::Materialized),
                step("b", StepStatus::Failed),
            ],
            duration: Duration::from_millis(1500),
            dry_run: false,
        };
        let table = report.summary_table();
        assert!(
            table.contains("a      2024-01-01  materialized  10    5ms"),
            "{table}"
        );
        assert!(table.ends_with("2 steps in 1.50s: 1 materialized, 0 fresh, 1 failed, 0 skipped"));
        assert!(!report.succeeded());
    }
}
