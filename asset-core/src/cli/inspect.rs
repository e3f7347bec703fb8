//! `status`, `why`, `lineage` and `history`: reading the catalog against the
//! graph as the code defines it now.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::catalog::{Catalog, MaterializationRecord};
use crate::cli::args::{HistoryArgs, LineageArgs, LineageFormat, StatusArgs, WhyArgs};
use crate::cli::lineage_graph;
use crate::cli::output::{out, outln};
use crate::cli::table::render;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::{AssetGraph, Selection};
use crate::materialize::record::short;
use crate::materialize::{IoManagers, key_space};
use crate::partition::{KeySpace, PartitionKey};
use crate::staleness::{self, Assessment, Inputs, PartKey, State};
use crate::stored_value::StoredValues;

fn catalog_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// The selected assets plus everything upstream of them, in topological order.
pub(crate) fn with_upstream(graph: &AssetGraph, selected: &[usize]) -> Vec<usize> {
    let mut keep = vec![false; graph.len()];
    let mut stack: Vec<usize> = selected.to_vec();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut keep[i], true) {
            stack.extend_from_slice(graph.upstream_of(i));
        }
    }
    graph
        .topological_order()
        .iter()
        .copied()
        .filter(|&i| keep[i])
        .collect()
}

/// Which partitions a command looks at, and how closely.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Partitions<'a> {
    /// Exactly this one.
    pub one: Option<&'a str>,
    /// From this one on (inclusive).
    pub from: Option<&'a str>,
    /// Up to this one (inclusive).
    pub to: Option<&'a str>,
    /// The most asset-partitions assessed (`--max-steps`).
    pub max: u64,
    /// Rehash every stored value (`--verify`).
    pub verify: bool,
}

impl Default for Partitions<'_> {
    fn default() -> Self {
        Self {
            one: None,
            from: None,
            to: None,
            max: crate::materialize::DEFAULT_MAX_STEPS,
            verify: false,
        }
    }
}

/// Asset-partitions to assess: one partition, a range, or every complete one.
fn steps_for(
    graph: &AssetGraph,
    assets: &[usize],
    partitions: Partitions<'_>,
    space: &KeySpace,
) -> Result<Vec<(usize, Option<PartitionKey>)>, Error> {
    // Counted before anything is expanded: a range of ten million hours is
    // refused at once, not after minutes and gigabytes.
    let mut total: u64 = 0;
    for &i in assets {
        let def = graph.asset(i);
        total = total.saturating_add(match (partitions.one, partitions.from, partitions.to) {
            _ if !def.partitions.is_partitioned() => 1,
            (Some(_), _, _) => 1,
            (None, Some(from), Some(to)) => def.partitions.range(&def.key, from, to, space)?.len(),
            (None, None, None) => def.partitions.keys(space).len(),
            _ => 0,
        });
    }
    if total > partitions.max {
        return Err(Error::Usage(format!(
            "that is {total} asset-partitions to assess, more than the limit of {}: narrow --select or the range, or raise the limit with --max-steps {total}",
            partitions.max
        )));
    }
    let mut steps = Vec::new();
    for &i in assets {
        let def = graph.asset(i);
        if !def.partitions.is_partitioned() {
            steps.push((i, None));
            continue;
        }
        let keys = match (partitions.one, partitions.from, partitions.to) {
            (Some(key), _, _) => {
                let key = def.partitions.validate_in(&def.key, key, space)?;
                def.partitions
                    .range(&def.key, key.as_str(), key.as_str(), space)?
            }
            (None, Some(from), Some(to)) => def.partitions.range(&def.key, from, to, space)?,
            (None, Some(_), None) | (None, None, Some(_)) => {
                return Err(Error::Usage("--from and --to go together".into()));
            }
            (None, None, None) => def.partitions.keys(space),
        };
        steps.extend(keys.iter().map(|k| (i, Some(k))));
    }
    Ok(steps)
}

/// Assesses `assets` (with their upstreams) from the catalog.
fn assess(
    store: Store<'_>,
    config: &ConfigFile,
    selected: &[usize],
    partitions: Partitions<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Assessment>, Error> {
    let mut all = Vec::new();
    assess_each(store, config, selected, partitions, now, |a| all.push(a))?;
    Ok(all)
}

/// What an assessment reads: the graph, the catalog's records, and the
/// stored values they describe.
#[derive(Clone, Copy)]
pub(crate) struct Store<'a> {
    /// The graph as the code defines it now.
    pub graph: &'a AssetGraph,
    /// The records.
    pub catalog: &'a dyn Catalog,
    /// The values.
    pub io: &'a IoManagers,
}

/// [`assess`], handing each assessment of a selected asset to `each`.
fn assess_each(
    store: Store<'_>,
    config: &ConfigFile,
    selected: &[usize],
    partitions: Partitions<'_>,
    now: chrono::DateTime<chrono::Utc>,
    each: impl FnMut(Assessment),
) -> Result<(), Error> {
    let latest = latest_with_upstream(store.graph, store.catalog, selected)?;
    assess_each_with_latest(store, config, selected, partitions, &latest, now, each)
}

/// The latest materializations of the selected assets and everything
/// upstream of them, as [`assess_each_with_latest`] needs them.
pub(crate) fn latest_with_upstream(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    selected: &[usize],
) -> Result<Vec<MaterializationRecord>, Error> {
    let assets = with_upstream(graph, selected);
    let keys: Vec<&str> = assets
        .iter()
        .map(|&i| graph.asset(i).key.as_str())
        .collect();
    catalog
        .latest_for_assets(&keys, None)
        .map_err(catalog_error)
}

/// [`assess_each`] over latest records already read
/// ([`latest_with_upstream`]), for callers that show the records too (the
/// site): each assessment of a selected asset goes to `each`, asset by
/// asset in topological order, partitions oldest first. Time partitions
/// exist up to `now`.
pub(crate) fn assess_each_with_latest(
    store: Store<'_>,
    config: &ConfigFile,
    selected: &[usize],
    partitions: Partitions<'_>,
    latest: &[MaterializationRecord],
    now: chrono::DateTime<chrono::Utc>,
    mut each: impl FnMut(Assessment),
) -> Result<(), Error> {
    let Store { graph, catalog, io } = store;
    let assets = with_upstream(graph, selected);
    let keys: Vec<&str> = assets
        .iter()
        .map(|&i| graph.asset(i).key.as_str())
        .collect();
    let failed: HashMap<PartKey, String> = catalog
        .failed_for_assets(&keys, None)
        .map_err(catalog_error)?
        .into_iter()
        .map(|f| ((f.asset, f.partition), f.error))
        .collect();
    let space = key_space(graph, catalog, &assets, now)?;
    let steps = steps_for(graph, &assets, partitions, &space)?;
    let config_hashes: HashMap<String, String> = assets
        .iter()
        .map(|&i| graph.asset(i))
        .filter(|def| def.takes_config)
        .map(|def| (def.key.clone(), config.hash_for(&def.key)))
        .collect();
    let wanted: std::collections::HashSet<&str> = selected
        .iter()
        .map(|&i| graph.asset(i).key.as_str())
        .collect();
    // One listing per asset, however many partitions are shown.
    let stored = StoredValues::new(graph, io, &assets, partitions.verify)?;
    staleness::assess_each_stored(
        graph,
        &steps,
        &Inputs {
            latest,
            failed: &failed,
            config_hashes: &config_hashes,
            space: &space,
        },
        &|i, record| stored.reason(i, record),
        |a| {
            if wanted.contains(a.asset.as_str()) {
                each(a);
            }
        },
    );
    Ok(())
}

/// One asset's line of the `status` summary, gathered as assessments stream by.
#[derive(Default)]
struct AssetSummary {
    partitions: usize,
    fresh: usize,
    stale: usize,
    missing: usize,
    failed: usize,
    /// The newest partition that is not fresh, with its first reason.
    newest_reason: String,
}

/// `status`.
pub(super) fn status(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    io: &IoManagers,
    config: &ConfigFile,
    args: &StatusArgs,
) -> Result<ExitCode, Error> {
    let selected = Selection::parse(&args.select)?.resolve(graph)?;
    let partitions = Partitions {
        one: args.partition.as_deref(),
        from: args.from.as_deref(),
        to: args.to.as_deref(),
        max: args.max_steps,
        verify: args.verify,
    };
    let store = Store { graph, catalog, io };
    let now = args
        .now
        .as_deref()
        .map(|t| crate::cli::daemon::parse_time("--now", t))
        .transpose()?
        .unwrap_or_else(chrono::Utc::now);
    if !args.json && args.partition.is_none() {
        return status_summary(store, config, &selected, partitions, now);
    }
    let assessments = assess(store, config, &selected, partitions, now)?;
    if args.json {
        let mut rows: Vec<serde_json::Value> = Vec::with_capacity(assessments.len());
        for a in &assessments {
            let mut row = serde_json::json!({
                "asset": a.asset,
                "partition": a.partition,
                "state": a.state.name(),
                "reasons": a.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            // One partition: its latest check results too (one query per
            // asset, as in the table).
            if args.partition.is_some() {
                let checks = crate::check::results::latest_results(
                    catalog,
                    &a.asset,
                    a.partition.as_deref(),
                    None,
                )
                .map_err(catalog_error)?;
                row["checks"] = serde_json::to_value(&checks).map_err(catalog_error)?;
            }
            rows.push(row);
        }
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(catalog_error)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![
        ["asset", "partition", "state", "checks", "reasons"]
            .map(String::from)
            .to_vec(),
    ];
    for a in &assessments {
        let checks =
            crate::check::results::latest_results(catalog, &a.asset, a.partition.as_deref(), None)
                .map_err(catalog_error)?;
        rows.push(vec![
            a.asset.clone(),
            a.partition.clone().unwrap_or_else(|| "-".into()),
            a.state.name().into(),
            crate::check::results::summary(&checks),
            a.reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ]);
    }
    out!("{}", render(&rows));
    Ok(ExitCode::SUCCESS)
}

/// `status` without `--partition`: one line per asset, counted as the
/// assessments stream by (a million partitions need no million rows).
fn status_summary(
    store: Store<'_>,
    config: &ConfigFile,
    selected: &[usize],
    partitions: Partitions<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ExitCode, Error> {
    let mut order: Vec<String> = Vec::new();
    let mut by_asset: HashMap<String, AssetSummary> = HashMap::new();
    assess_each(store, config, selected, partitions, now, |a| {
        if !by_asset.contains_key(&a.asset) {
            order.push(a.asset.clone());
        }
        let summary = by_asset.entry(a.asset.clone()).or_default();
        summary.partitions += 1;
        match a.state {
            State::Fresh => summary.fresh += 1,
            State::Stale => summary.stale += 1,
            State::Missing => summary.missing += 1,
            State::Failed => summary.failed += 1,
        }
        if a.state != State::Fresh {
            let reason = a
                .reasons
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            summary.newest_reason = match &a.partition {
                Some(p) => format!("{p}: {reason}"),
                None => reason,
            };
        }
    })?;
    // The freshness columns only when a selected asset has an SLA.
    let freshness = crate::freshness::of_assets(store.graph, store.catalog, selected, now)?;
    let mut header = vec!["asset", "partitions", "fresh", "stale", "missing", "failed"];
    if !freshness.is_empty() {
        header.extend(["sla", "deadline", "left"]);
    }
    header.push("first reason");
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for asset in order {
        let s = by_asset.remove(&asset).unwrap_or_default();
        let mut row = vec![
            asset.clone(),
            s.partitions.to_string(),
            s.fresh.to_string(),
            s.stale.to_string(),
            s.missing.to_string(),
            s.failed.to_string(),
        ];
        if !freshness.is_empty() {
            row.extend(match freshness.get(&asset) {
                Some(f) => crate::freshness::columns(f, now),
                None => ["-".into(), "-".into(), "-".into()],
            });
        }
        row.push(s.newest_reason);
        rows.push(row);
    }
    out!("{}", render(&rows));
    Ok(ExitCode::SUCCESS)
}

/// `why`.
pub(super) fn why(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    io: &IoManagers,
    config: &ConfigFile,
    args: &WhyArgs,
) -> Result<ExitCode, Error> {
    let i = asset_index(graph, &args.asset)?;
    let def = graph.asset(i);
    if def.partitions.is_partitioned() && args.partition.is_none() {
        return Err(Error::PartitionRequired {
            asset: def.key.clone(),
            partitions: def.partitions.describe(),
        });
    }
    let partition = if def.partitions.is_partitioned() {
        args.partition.as_deref()
    } else {
        None
    };
    let assets = with_upstream(graph, &[i]);
    let one = Partitions {
        one: partition,
        ..Partitions::default()
    };
    let assessments = assess(
        Store { graph, catalog, io },
        config,
        &assets,
        one,
        chrono::Utc::now(),
    )?;
    let target = (def.key.clone(), partition.map(str::to_owned));
    let history = |k: &PartKey| -> Vec<MaterializationRecord> {
        catalog
            .history(&k.0, k.1.as_deref(), 50)
            .unwrap_or_default()
    };
    for line in staleness::explain(&assessments, &target, &history) {
        outln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn asset_index(graph: &AssetGraph, name: &str) -> Result<usize, Error> {
    graph
        .registry()
        .index_of(name)
        .ok_or_else(|| Error::UnknownAsset {
            name: name.to_owned(),
            suggestion: graph.registry().closest_key(name),
        })
}

/// `lineage`.
pub(super) fn lineage(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    args: &LineageArgs,
) -> Result<ExitCode, Error> {
    let i = asset_index(graph, &args.asset)?;
    let def = graph.asset(i);
    let partition = match (&args.partition, def.partitions.is_partitioned()) {
        (Some(p), true) => {
            let space = key_space(graph, catalog, &[i], chrono::Utc::now())?;
            Some(
                def.partitions
                    .validate_in(&def.key, p, &space)?
                    .as_str()
                    .to_owned(),
            )
        }
        (Some(p), false) => {
            return Err(Error::Usage(format!(
                "asset {:?} is not partitioned, but --partition {p:?} was given",
                def.key
            )));
        }
        (None, _) => None,
    };
    let up = !args.downstream;
    let down = !args.upstream;
    let mut tree = serde_json::Map::new();
    tree.insert("asset".into(), def.key.clone().into());
    if let Some(p) = &partition {
        tree.insert("partition".into(), p.clone().into());
    }
    if up {
        let upstream = match &partition {
            Some(p) => versions_upstream(catalog, &def.key, Some(p), &mut HashSet::new(), 0)?,
            None => graph_tree(graph, i, true, &mut HashSet::from([i]), 0),
        };
        tree.insert("upstream".into(), upstream);
    }
    if down {
        tree.insert(
            "downstream".into(),
            graph_tree(graph, i, false, &mut HashSet::from([i]), 0),
        );
    }
    let tree = serde_json::Value::Object(tree);
    match args.format {
        LineageFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&tree).map_err(catalog_error)?
        ),
        LineageFormat::Tree => out!("{}", render_tree(&tree)),
        LineageFormat::Dot => out!("{}", lineage_graph::dot(graph, &tree)),
        LineageFormat::Mermaid => out!("{}", lineage_graph::mermaid(graph, &tree)),
    }
    Ok(ExitCode::SUCCESS)
}

const MAX_DEPTH: usize = 64;

/// The asset graph upstream or downstream of `i`, as nested JSON. Each
/// asset is expanded once: a later occurrence (a shared upstream reached
/// again by another path) is marked `"see_above": true` without children,
/// so the tree stays linear in the size of the graph.
fn graph_tree(
    graph: &AssetGraph,
    i: usize,
    upstream: bool,
    seen: &mut HashSet<usize>,
    depth: usize,
) -> serde_json::Value {
    let next = if upstream {
        graph.upstream_of(i)
    } else {
        graph.downstream_of(i)
    };
    let mut children = Vec::new();
    if depth < MAX_DEPTH {
        for &j in next {
            let mut node = serde_json::Map::new();
            node.insert("asset".into(), graph.asset(j).key.clone().into());
            let desc = graph.asset(j).description.lines().next().unwrap_or("");
            if !desc.is_empty() {
                node.insert("description".into(), desc.into());
            }
            if seen.insert(j) {
                let key = if upstream { "upstream" } else { "downstream" };
                node.insert(key.into(), graph_tree(graph, j, upstream, seen, depth + 1));
            } else {
                node.insert("see_above".into(), true.into());
            }
            children.push(serde_json::Value::Object(node));
        }
    }
    serde_json::Value::Array(children)
}

/// The exact versions the latest materialization of an asset-partition was
/// built from, back to the sources.
fn versions_upstream(
    catalog: &dyn Catalog,
    asset: &str,
    partition: Option<&str>,
    seen: &mut HashSet<(String, Option<String>, String)>,
    depth: usize,
) -> Result<serde_json::Value, Error> {
    match catalog
        .latest(asset, partition, None)
        .map_err(catalog_error)?
    {
        Some(record) => versions_upstream_of(catalog, &record, seen, depth),
        None => Ok(serde_json::Value::Array(Vec::new())),
    }
}

/// The inputs `record` was built from, each with the record that produced
/// its version, recursively. A version reached again by another path is
/// expanded once and marked `"see_above": true` after that.
fn versions_upstream_of(
    catalog: &dyn Catalog,
    record: &MaterializationRecord,
    seen: &mut HashSet<(String, Option<String>, String)>,
    depth: usize,
) -> Result<serde_json::Value, Error> {
    let mut children = Vec::new();
    for input in &record.inputs {
        let mut node = serde_json::Map::new();
        node.insert("asset".into(), input.asset.clone().into());
        if let Some(p) = &input.partition {
            node.insert("partition".into(), p.clone().into());
        }
        node.insert("data_version".into(), input.data_version.clone().into());
        let first = seen.insert((
            input.asset.clone(),
            input.partition.clone(),
            input.data_version.clone(),
        ));
        if !first {
            node.insert("see_above".into(), true.into());
            children.push(serde_json::Value::Object(node));
            continue;
        }
        let built = catalog
            .history(&input.asset, input.partition.as_deref(), 200)
            .map_err(catalog_error)?
            .into_iter()
            .find(|r| r.data_version == input.data_version);
        match built {
            Some(r) => {
                node.insert("code_version".into(), r.code_version.clone().into());
                node.insert("run_id".into(), r.run_id.clone().into());
                if depth < MAX_DEPTH {
                    node.insert(
                        "upstream".into(),
                        versions_upstream_of(catalog, &r, seen, depth + 1)?,
                    );
                }
            }
            None => {
                node.insert(
                    "note".into(),
                    "that version is no longer in the catalog".into(),
                );
            }
        }
        children.push(serde_json::Value::Object(node));
    }
    Ok(serde_json::Value::Array(children))
}

/// An indented text tree of a lineage JSON value.
fn render_tree(tree: &serde_json::Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", node_label(tree));
    for (key, arrow) in [("upstream", "<-"), ("downstream", "->")] {
        if let Some(children) = tree.get(key).and_then(|c| c.as_array()) {
            let _ = writeln!(out, "{key}:");
            render_children(children, key, arrow, 1, &mut out);
        }
    }
    out
}

fn render_children(
    children: &[serde_json::Value],
    key: &str,
    arrow: &str,
    depth: usize,
    out: &mut String,
) {
    for child in children {
        let _ = writeln!(out, "{}{arrow} {}", "  ".repeat(depth), node_label(child));
        if let Some(grand) = child.get(key).and_then(|c| c.as_array()) {
            render_children(grand, key, arrow, depth + 1, out);
        }
    }
}

fn node_label(node: &serde_json::Value) -> String {
    let text = |k: &str| node.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let mut label = text("asset").unwrap_or_default();
    if let Some(p) = text("partition") {
        let _ = write!(label, " [{p}]");
    }
    if let Some(v) = text("data_version") {
        let _ = write!(label, " data {}", short(&v));
    }
    if let Some(c) = text("code_version") {
        let _ = write!(label, " code {}", short(&c));
    }
    if let Some(n) = text("note") {
        let _ = write!(label, " ({n})");
    }
    if node.get("see_above").and_then(serde_json::Value::as_bool) == Some(true) {
        label.push_str(" (see above)");
    }
    label
}

/// `history`.
pub(super) fn history(
    graph: &AssetGraph,
    catalog: &dyn Catalog,
    args: &HistoryArgs,
) -> Result<ExitCode, Error> {
    let i = asset_index(graph, &args.asset)?;
    let def = graph.asset(i);
    let records = catalog
        .history(&def.key, args.partition.as_deref(), args.limit)
        .map_err(catalog_error)?;
    let mut rows = vec![
        [
            "finished",
            "partition",
            "run",
            "code",
            "data",
            "rows",
            "inputs",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &records {
        rows.push(vec![
            r.finished_at.clone(),
            r.partition.clone().unwrap_or_else(|| "-".into()),
            r.run_id.clone(),
            short(&r.code_version).to_owned(),
            short(&r.data_version).to_owned(),
            r.rows.to_string(),
            r.inputs
                .iter()
                .map(|i| format!("{} {}", i.asset, short(&i.data_version)))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    out!("{}", render(&rows));
    if records.is_empty() {
        outln!("(no materializations of {} recorded)", def.key);
    }
    Ok(ExitCode::SUCCESS)
}
