//! One page per asset: what it is (description, source, signature with the
//! mappings, IO manager and storage location, partitions), where it sits
//! (upstream, downstream, its neighbourhood drawn), how it is (partition
//! health strip, latest materializations with their provenance, checks,
//! dead letters, stale reasons with the why-chain) and how it went (rows and
//! duration per partition).

use std::fmt::Write as _;

use crate::catalog::MaterializationRecord;
use crate::graph::AssetGraph;
use crate::materialize::record::short;
use crate::site::escape::{description_html, html, markdown};
use crate::site::model::{AssetView, Model, seconds_between};
use crate::site::overview::{asset_graph, legend, mapping_label};
use crate::site::{fenced, paths, svg};

/// Inputs listed per materialization before the rest are counted.
const INPUTS_SHOWN: usize = 8;

const DIR: &str = "assets";

/// The signature as the graph reads it: `evaluation(ranker_model, Window<item_features, 7>)`.
pub fn signature(graph: &AssetGraph, i: usize) -> String {
    let def = graph.asset(i);
    let mut params: Vec<String> = def.dependencies.iter().map(|d| d.as_written()).collect();
    if def.takes_config {
        params.push("Config".into());
    }
    format!("{}({}) -> {}", def.key, params.join(", "), def.key)
}

fn link(key: &str) -> String {
    format!(
        "[{}]({})",
        markdown(key),
        paths::md(DIR, &paths::asset(key))
    )
}

/// The anchor of a partition's row in the materializations table.
pub fn anchor(partition: Option<&str>) -> String {
    format!(
        "p-{}",
        crate::site::escape::file_stem(partition.unwrap_or("value"))
    )
}

/// The asset page of `view`.
pub fn page(graph: &AssetGraph, model: &Model, view: &AssetView) -> String {
    let i = view.index;
    let def = graph.asset(i);
    let mut page = format!("# {}\n\n", markdown(&def.key));
    if def.description.trim().is_empty() {
        page.push_str("*No description: add a doc comment to the asset's function.*\n\n");
    } else {
        let _ = writeln!(
            page,
            "<div class=\"af-description\">{}</div>\n",
            description_html(&def.description)
        );
    }
    let c = &view.counts;
    page.push_str("| | |\n| --- | --- |\n");
    let state = if def.partitions.is_partitioned() {
        format!(
            "**{}**: {} of {} partitions fresh, {} stale, {} missing, {} failed",
            view.health.name(),
            c.fresh,
            c.total(),
            c.stale,
            c.missing,
            c.failed
        )
    } else {
        format!("**{}**", view.health.name())
    };
    let _ = writeln!(page, "| state | {state} |");
    match &def.source {
        Some(source) => {
            let _ = writeln!(
                page,
                "| defined at | `{}:{}` (git {}) |",
                source.file.replace('`', "'"),
                source.line,
                markdown(source.git_commit)
            );
        }
        None => page.push_str("| defined at | at run time (an asset factory) |\n"),
    }
    let _ = writeln!(
        page,
        "| signature | `{}` |",
        signature(graph, i).replace('`', "'").replace('|', "\\|")
    );
    let _ = writeln!(
        page,
        "| code version | `{}` |",
        def.code_version.replace('`', "'").replace('|', "\\|")
    );
    let _ = writeln!(
        page,
        "| IO manager | {} ({:?}) |",
        markdown(&def.io_manager),
        def.payload_kind
    );
    if let Some(location) = &view.location {
        let _ = writeln!(
            page,
            "| storage | `{}` |",
            location.replace('`', "'").replace('|', "\\|")
        );
    }
    let _ = writeln!(
        page,
        "| partitions | {} |",
        markdown(&def.partitions.describe())
    );
    if def.retry.max_retries > 0 {
        let _ = writeln!(
            page,
            "| retries | {} (backoff {:?} doubling to {:?}, jitter {:?}) |",
            def.retry.max_retries, def.retry.base, def.retry.max, def.retry.jitter
        );
    }
    if !def.checks.is_empty() {
        let names: Vec<String> = def
            .checks
            .contract
            .iter()
            .map(|_| "contract".to_owned())
            .chain(def.checks.checks.iter().map(|c| c.name.clone()))
            .collect();
        let _ = writeln!(page, "| checks | {} |", markdown(&names.join(", ")));
    }
    page.push('\n');

    lineage(graph, model, view, &mut page);
    health(view, &mut page);
    materializations(view, def.partitions.is_partitioned(), &mut page);
    checks(view, &mut page);
    why(view, &mut page);
    if !view.points.is_empty() {
        page.push_str("## Rows and duration\n\nPer materialized partition, oldest to newest (the latest materialization of each).\n\n");
        let _ = writeln!(
            page,
            "<div class=\"af-plot-box\">{}</div>\n",
            svg::plot(&view.points)
        );
    }
    page
}

fn lineage(graph: &AssetGraph, model: &Model, view: &AssetView, page: &mut String) {
    let i = view.index;
    let def = graph.asset(i);
    page.push_str("## Lineage\n\n");
    if def.dependencies.is_empty() {
        page.push_str("Upstream: none (a source).\n\n");
    } else {
        let ups: Vec<String> = def
            .dependencies
            .iter()
            .map(|d| match mapping_label(d.mapping) {
                Some(m) => format!("{} ({})", link(&d.asset), markdown(&m)),
                None => link(&d.asset),
            })
            .collect();
        let _ = writeln!(page, "Upstream: {}.\n", ups.join(", "));
    }
    let downs: Vec<String> = graph
        .downstream_of(i)
        .iter()
        .map(|&d| link(&graph.asset(d).key))
        .collect();
    if downs.is_empty() {
        page.push_str("Downstream: none.\n\n");
    } else {
        let _ = writeln!(page, "Downstream: {}.\n", downs.join(", "));
    }
    // The neighbourhood: the asset, what it reads, what reads it (those on
    // the site), in topological order.
    let mut near = vec![false; graph.len()];
    near[i] = true;
    for &u in graph.upstream_of(i).iter().chain(graph.downstream_of(i)) {
        near[u] = true;
    }
    let members: Vec<usize> = (0..model.assets.len())
        .filter(|&m| near[model.assets[m].index])
        .collect();
    let me = members
        .iter()
        .copied()
        .find(|&m| model.assets[m].index == i);
    let _ = writeln!(
        page,
        "<div class=\"af-neighbourhood\">{}</div>\n",
        asset_graph(graph, model, &members, DIR, me, "af-graph af-near")
    );
}

fn health(view: &AssetView, page: &mut String) {
    page.push_str("## Partition health\n\n");
    if view.cells.is_empty() {
        page.push_str("No partitions exist in the range shown.\n\n");
        return;
    }
    let runs: Vec<String> = view
        .cells
        .iter()
        .rev()
        .take(6)
        .map(|r| {
            if r.count == 1 {
                format!("{} {}", markdown(&r.first), r.state)
            } else {
                format!(
                    "{} … {} {} ({})",
                    markdown(&r.first),
                    markdown(&r.last),
                    r.state,
                    r.count
                )
            }
        })
        .collect();
    let _ = writeln!(
        page,
        "One cell per partition, oldest on the left (hover for the keys). Newest runs of equal state: {}{}.\n",
        runs.join("; "),
        if view.cells.len() > 6 { "; …" } else { "" }
    );
    let _ = writeln!(
        page,
        "<div class=\"af-strip-box\">{}</div>\n",
        svg::strip(&view.cells)
    );
    page.push_str(&legend());
    page.push_str("\n\n");
}

fn materializations(view: &AssetView, partitioned: bool, page: &mut String) {
    page.push_str("## Latest materializations\n\n");
    if view.latest.shown.is_empty() {
        page.push_str("Never materialized.\n\n");
        return;
    }
    if partitioned {
        let _ = writeln!(
            page,
            "The latest materialization of the newest {} materialized partitions, with its provenance.\n",
            view.latest.shown.len()
        );
    }
    let any_rejected = view.audits.iter().any(|a| a.rejected.is_some());
    let any_checks = view.audits.iter().any(|a| !a.checks.is_empty());
    let mut header = vec![
        "partition",
        "run",
        "code",
        "config",
        "git",
        "inputs",
        "data version",
        "rows",
        "bytes",
        "duration",
    ];
    if any_checks {
        header.push("checks");
    }
    if any_rejected {
        header.push("rejected rows");
    }
    let _ = writeln!(
        page,
        "<table class=\"af-provenance\"><thead><tr>{}</tr></thead><tbody>",
        header
            .iter()
            .map(|h| format!("<th>{h}</th>"))
            .collect::<String>()
    );
    for (r, audit) in view.latest.shown.iter().zip(&view.audits) {
        let mut row = String::from("<tr>");
        let _ = write!(
            row,
            "<td id=\"{}\">{}</td><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:.3} s</td>",
            html(&anchor(r.partition.as_deref())),
            html(r.partition.as_deref().unwrap_or("-")),
            html(&paths::href(DIR, &paths::run(&r.run_id))),
            html(&r.run_id),
            html(short(&r.code_version)),
            html(r.config_hash.as_deref().map_or("-", short)),
            html(short(&r.git_commit)),
            inputs(r),
            html(short(&r.data_version)),
            r.rows,
            r.bytes,
            seconds_between(&r.started_at, &r.finished_at),
        );
        if any_checks {
            let _ = write!(
                row,
                "<td>{}</td>",
                html(&crate::check::results::summary(&audit.checks))
            );
        }
        if any_rejected {
            let _ = write!(
                row,
                "<td>{}</td>",
                audit.rejected.map_or("-".into(), |n| n.to_string())
            );
        }
        row.push_str("</tr>");
        page.push_str(&row);
    }
    page.push_str("</tbody></table>\n\n");
    if let Some((first, last, n)) = &view.latest.older {
        let _ = writeln!(
            page,
            "Older: {} … {}, {n} more materialized partitions (`history` lists them).\n",
            markdown(first),
            markdown(last)
        );
    }
    if let Some(schema) = view.latest.shown.first().and_then(|r| r.schema.as_deref()) {
        page.push_str("Schema of the newest:\n\n");
        page.push_str(&fenced("text", schema));
        page.push('\n');
    }
    if let Some(promoted) = view
        .latest
        .shown
        .first()
        .and_then(|r| r.promoted_from.as_deref())
    {
        let _ = writeln!(
            page,
            "The newest was promoted from tag {}.\n",
            markdown(promoted)
        );
    }
}

/// The inputs of a record as links to the upstream partitions' rows.
fn inputs(record: &MaterializationRecord) -> String {
    if record.inputs.is_empty() {
        return "-".into();
    }
    let mut parts: Vec<String> = record
        .inputs
        .iter()
        .take(INPUTS_SHOWN)
        .map(|input| {
            let href = format!(
                "{}#{}",
                paths::href(DIR, &paths::asset(&input.asset)),
                anchor(input.partition.as_deref())
            );
            let name = match &input.partition {
                Some(p) => format!("{} {p}", input.asset),
                None => input.asset.clone(),
            };
            format!(
                "<a href=\"{}\">{}</a>&nbsp;<code>{}</code>",
                html(&href),
                html(&name),
                html(short(&input.data_version))
            )
        })
        .collect();
    if record.inputs.len() > INPUTS_SHOWN {
        parts.push(format!("and {} more", record.inputs.len() - INPUTS_SHOWN));
    }
    parts.join("<br>")
}

fn checks(view: &AssetView, page: &mut String) {
    let Some((record, audit)) = view
        .latest
        .shown
        .iter()
        .zip(&view.audits)
        .find(|(_, a)| !a.checks.is_empty())
    else {
        return;
    };
    let _ = writeln!(
        page,
        "## Checks\n\nThe latest audit of {}.\n",
        markdown(record.partition.as_deref().unwrap_or("its value"))
    );
    page.push_str("<table class=\"af-checks\"><thead><tr><th>check</th><th>severity</th><th>result</th><th>message</th></tr></thead><tbody>");
    for c in &audit.checks {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&c.name),
            c.severity,
            if c.passed { "passed" } else { "FAILED" },
            html(&c.message)
        );
    }
    page.push_str("</tbody></table>\n\n");
    if let Some(n) = audit.rejected {
        let _ = writeln!(
            page,
            "Dead letters: {n} rows rejected by the row rules (`dlq {} --partition ...` shows them).\n",
            record.asset.replace('`', "'")
        );
    }
}

fn why(view: &AssetView, page: &mut String) {
    if view.not_fresh.is_empty() {
        return;
    }
    page.push_str("## Why not fresh\n\n");
    let total = view.counts.total() - view.counts.fresh;
    let _ = writeln!(
        page,
        "{total} partitions are not fresh; the newest {}:\n",
        view.not_fresh.len()
    );
    for n in &view.not_fresh {
        let _ = writeln!(
            page,
            "- **{}** {}: {}",
            markdown(n.partition.as_deref().unwrap_or("value")),
            n.state.name(),
            markdown(&n.reasons.join("; "))
        );
    }
    page.push('\n');
    if !view.why.is_empty() {
        page.push_str("The chain of reasons of the newest stale or failed one, down to the root cause (as `why` prints it):\n\n");
        page.push_str(&fenced("text", &view.why.join("\n")));
        page.push('\n');
    }
}
