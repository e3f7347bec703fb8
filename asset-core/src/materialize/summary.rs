//! The end-of-run summary of a backfill: one row per asset with counts by
//! outcome, then every failure (a table of 3,650 steps helps nobody).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cli::table::render;
use crate::materialize::report::{RunReport, StepStatus, format_duration};

/// Counts of one asset's steps by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    materialized: usize,
    fresh: usize,
    failed: usize,
    skipped: usize,
    would_run: usize,
    rows: u64,
}

impl RunReport {
    /// Whether the run covered more than one partition of some asset (a
    /// backfill), so that [`summary_by_asset`](Self::summary_by_asset)
    /// reads better than the table of every step.
    pub fn is_backfill(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        self.steps.iter().any(|s| !seen.insert(s.asset.as_str()))
    }

    /// One row per asset (materialized, fresh, failed, skipped, rows
    /// written), then one line per failed step, then the totals.
    pub fn summary_by_asset(&self) -> String {
        let mut by_asset: BTreeMap<&str, Counts> = BTreeMap::new();
        for step in &self.steps {
            let counts = by_asset.entry(step.asset.as_str()).or_default();
            match step.status {
                StepStatus::Materialized => {
                    counts.materialized += 1;
                    counts.rows += step.rows.unwrap_or(0);
                }
                StepStatus::Fresh => counts.fresh += 1,
                StepStatus::Failed => counts.failed += 1,
                StepStatus::Skipped => counts.skipped += 1,
                StepStatus::WouldRun => counts.would_run += 1,
            }
        }
        let mut header = vec!["asset", "materialized", "fresh", "failed", "skipped"];
        if self.dry_run {
            header.push("would run");
        }
        header.push("rows written");
        let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
        for (asset, c) in &by_asset {
            let mut row = vec![
                (*asset).to_owned(),
                c.materialized.to_string(),
                c.fresh.to_string(),
                c.failed.to_string(),
                c.skipped.to_string(),
            ];
            if self.dry_run {
                row.push(c.would_run.to_string());
            }
            row.push(c.rows.to_string());
            rows.push(row);
        }
        let mut out = render(&rows);
        for step in self.steps.iter().filter(|s| s.status == StepStatus::Failed) {
            let _ = writeln!(
                out,
                "failed: {} [{}]: {}",
                step.asset,
                step.partition.as_deref().unwrap_or("-"),
                step.message.as_deref().unwrap_or("unknown error")
            );
        }
        let _ = write!(
            out,
            "{} steps over {} assets in {}: {}",
            self.steps.len(),
            by_asset.len(),
            format_duration(self.duration),
            self.outcome_counts()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::materialize::report::{RunReport, StepReport, StepStatus};

    fn step(asset: &str, day: u32, status: StepStatus) -> StepReport {
        StepReport {
            asset: asset.into(),
            partition: Some(format!("2024-01-{day:02}")),
            status,
            rows: (status == StepStatus::Materialized).then_some(10),
            data_version: None,
            duration: Duration::from_millis(3),
            message: (status == StepStatus::Failed).then(|| "boom".into()),
        }
    }

    #[test]
    fn a_backfill_is_summarized_per_asset_with_each_failure() {
        let report = RunReport {
            run_id: "r".into(),
            steps: vec![
                step("events", 1, StepStatus::Materialized),
                step("events", 2, StepStatus::Materialized),
                step("events", 3, StepStatus::Failed),
                step("sessions", 1, StepStatus::Fresh),
                step("sessions", 2, StepStatus::Materialized),
                step("sessions", 3, StepStatus::Skipped),
            ],
            duration: Duration::from_millis(40),
            dry_run: false,
        };
        assert!(report.is_backfill());
        let text = report.summary_by_asset();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["events", "2", "0", "1", "0", "20"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["sessions", "1", "1", "0", "1", "10"]
        );
        assert!(text.contains("failed: events [2024-01-03]: boom"), "{text}");
        assert!(
            text.ends_with(
                "6 steps over 2 assets in 40ms: 3 materialized, 1 fresh, 1 failed, 1 skipped"
            ),
            "{text}"
        );
    }

    #[test]
    fn one_partition_per_asset_is_not_a_backfill() {
        let report = RunReport {
            run_id: "r".into(),
            steps: vec![
                step("events", 1, StepStatus::Materialized),
                step("sessions", 1, StepStatus::Materialized),
            ],
            duration: Duration::from_millis(1),
            dry_run: false,
        };
        assert!(!report.is_backfill());
    }
}
