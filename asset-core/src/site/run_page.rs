//! Run pages: a page per run (the newest) with its steps on a timeline, an
//! SVG Gantt chart, so a reader sees where time went and what ran in
//! parallel; and the list of runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::site::escape::markdown;
use crate::site::model::{Health, Model, RunView, seconds_between};
use crate::site::paths;
use crate::site::svg::{self, Bar};

/// Steps drawn one bar each; a bigger run draws one bar per asset.
const MAX_BARS: usize = 400;

const DIR: &str = "runs";

/// The list of runs.
pub fn index(model: &Model) -> String {
    let mut page = String::from("# Runs\n\n");
    if model.runs.is_empty() {
        page.push_str("No runs recorded in the catalog yet.\n");
        return page;
    }
    let _ = writeln!(
        page,
        "The newest {} runs, newest first.\n",
        model.runs.len()
    );
    page.push_str("| run | started | finished | status | steps | command |\n| --- | --- | --- | --- | --- | --- |\n");
    for run in &model.runs {
        let i = &run.info;
        let _ = writeln!(
            page,
            "| [{}]({}) | {} | {} | {} | {} | {} |",
            markdown(&i.run_id),
            paths::md(DIR, &paths::run(&i.run_id)),
            markdown(&i.started_at),
            markdown(i.finished_at.as_deref().unwrap_or("-")),
            i.status,
            run.steps.len(),
            markdown(&i.command)
        );
    }
    page
}

/// A run's page.
pub fn page(run: &RunView) -> String {
    let i = &run.info;
    let mut page = format!("# Run {}\n\n", markdown(&i.run_id));
    page.push_str("| | |\n| --- | --- |\n");
    let _ = writeln!(page, "| status | **{}** |", i.status);
    let _ = writeln!(page, "| started | {} |", markdown(&i.started_at));
    let _ = writeln!(
        page,
        "| finished | {} |",
        markdown(i.finished_at.as_deref().unwrap_or("-"))
    );
    let _ = writeln!(
        page,
        "| command | `{}` |",
        i.command.replace('`', "'").replace('|', "\\|")
    );
    if let Some(tag) = &i.tag {
        let _ = writeln!(page, "| tag | {} |", markdown(tag));
    }
    let failed = run.steps.iter().filter(|s| s.error.is_some()).count();
    let _ = writeln!(
        page,
        "| steps | {} materialized, {failed} failed attempts |\n",
        run.steps.len() - failed
    );
    if run.steps.is_empty() {
        page.push_str("Nothing was materialized in this run.\n");
        return page;
    }
    if run.steps.len() - failed >= crate::site::model::STEPS_PER_RUN {
        let _ = writeln!(
            page,
            "A large run: its first {} materializations are shown (`history` lists the rest).\n",
            crate::site::model::STEPS_PER_RUN
        );
    }
    page.push_str("## Timeline\n\nOne bar per step on the run's clock: bars side by side ran in parallel.\n\n");
    let _ = writeln!(
        page,
        "<div class=\"af-gantt-box\">{}</div>\n",
        svg::gantt(&bars(run))
    );
    page.push_str("## Steps\n\n| step | outcome | started | duration | rows |\n| --- | --- | --- | --- | --- |\n");
    for s in run.steps.iter().take(MAX_BARS) {
        let name = match &s.partition {
            Some(p) => format!("{} {p}", s.asset),
            None => s.asset.clone(),
        };
        let outcome = match (&s.error, s.attempt) {
            (Some(e), Some(n)) => format!("failed (attempt {n}): {e}"),
            (Some(e), None) => format!("failed: {e}"),
            (None, _) => "materialized".into(),
        };
        let _ = writeln!(
            page,
            "| [{}]({}) | {} | {} | {:.3} s | {} |",
            markdown(&name),
            paths::md(DIR, &paths::asset(&s.asset)),
            markdown(&outcome),
            markdown(&s.started_at),
            seconds_between(&s.started_at, &s.finished_at),
            s.rows
        );
    }
    if run.steps.len() > MAX_BARS {
        let _ = writeln!(page, "\nand {} more steps.", run.steps.len() - MAX_BARS);
    }
    page
}

/// The timeline's bars: one per step, or for a big run one per asset (from
/// its first start to its last end).
fn bars(run: &RunView) -> Vec<Bar> {
    let origin = run.info.started_at.as_str();
    let start = |t: &str| seconds_between(origin, t);
    let href = |asset: &str| paths::href(DIR, &paths::asset(asset));
    if run.steps.len() <= MAX_BARS {
        return run
            .steps
            .iter()
            .map(|s| {
                let failed = s.error.is_some();
                Bar {
                    label: match &s.partition {
                        Some(p) => format!("{} {p}", s.asset),
                        None => s.asset.clone(),
                    },
                    start: start(&s.started_at),
                    end: start(&s.finished_at),
                    outcome: if failed {
                        "failed".into()
                    } else {
                        "succeeded".into()
                    },
                    fill: if failed {
                        Health::Failed.fill()
                    } else {
                        Health::Fresh.fill()
                    },
                    href: href(&s.asset),
                }
            })
            .collect();
    }
    let mut by_asset: BTreeMap<&str, (f64, f64, usize, usize)> = BTreeMap::new();
    for s in &run.steps {
        let e = by_asset
            .entry(s.asset.as_str())
            .or_insert((f64::MAX, 0.0, 0, 0));
        e.0 = e.0.min(start(&s.started_at));
        e.1 = e.1.max(start(&s.finished_at));
        e.2 += 1;
        e.3 += usize::from(s.error.is_some());
    }
    let mut bars: Vec<Bar> = by_asset
        .into_iter()
        .map(|(asset, (from, to, steps, failed))| Bar {
            label: format!("{asset} ({steps} steps)"),
            start: from,
            end: to,
            outcome: format!("{steps} steps, {failed} failed"),
            fill: if failed > 0 {
                Health::Failed.fill()
            } else {
                Health::Fresh.fill()
            },
            href: href(asset),
        })
        .collect();
    bars.sort_by(|a, b| {
        a.start
            .total_cmp(&b.start)
            .then_with(|| a.label.cmp(&b.label))
    });
    bars.truncate(MAX_BARS);
    bars
}
