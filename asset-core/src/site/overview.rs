//! The overview: the whole asset graph coloured by state, every node a link
//! to its asset's page; beyond [`GROUP_THRESHOLD`] assets, one node per
//! group (module) and a page per group.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::asset::definition::AssetDef;
use crate::graph::AssetGraph;
use crate::site::escape::markdown;
use crate::site::model::{AssetView, Health, Model};
use crate::site::svg::{self, Edge, Node};
use crate::site::{GROUP_THRESHOLD, paths};

/// The assets of each group, by group name (empty when the graph is small
/// enough to draw whole). Each list holds positions in [`Model::assets`].
pub type Groups = BTreeMap<String, Vec<usize>>;

/// The group an asset belongs to: the module of its source file
/// (`recommender::features` for `src/recommender/features.rs`), or for an
/// asset defined at run time, its key up to the first `_` or `.`.
pub fn group_of(def: &AssetDef) -> String {
    if let Some(source) = &def.source {
        let path = source.file.trim_end_matches(".rs");
        let parts: Vec<&str> = path
            .split(['/', '\\'])
            .skip_while(|p| *p != "src")
            .skip(1)
            .filter(|p| !["mod", "lib", "main"].contains(p))
            .collect();
        if !parts.is_empty() {
            return parts.join("::");
        }
        return path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned();
    }
    def.key
        .split(['_', '.'])
        .next()
        .filter(|p| !p.is_empty())
        .unwrap_or(&def.key)
        .to_owned()
}

/// The groups of a large site (none for a small one).
pub fn groups(graph: &AssetGraph, model: &Model) -> Groups {
    let mut groups = Groups::new();
    if model.assets.len() <= GROUP_THRESHOLD {
        return groups;
    }
    for (n, view) in model.assets.iter().enumerate() {
        groups
            .entry(group_of(graph.asset(view.index)))
            .or_default()
            .push(n);
    }
    groups
}

/// `Window 7`, `Prev`, `All`, `Latest`; nothing for the same partition.
pub fn mapping_label(mapping: crate::PartitionMapping) -> Option<String> {
    use crate::PartitionMapping as M;
    match mapping {
        M::Identity => None,
        M::Window(n) => Some(format!("Window {n}")),
        M::Prev => Some("Prev".into()),
        M::All => Some("All".into()),
        M::Latest => Some("Latest".into()),
    }
}

/// The tooltip of an asset's node: key, state, counts, first line of its description.
pub fn node_title(def: &AssetDef, view: &AssetView) -> String {
    let c = &view.counts;
    let mut title = format!("{} — {}", def.key, view.health.name());
    if def.partitions.is_partitioned() {
        let _ = write!(
            title,
            " ({} of {} partitions fresh, {} stale, {} missing, {} failed)",
            c.fresh,
            c.total(),
            c.stale,
            c.missing,
            c.failed
        );
    }
    if let Some(line) = def.description.lines().next().filter(|l| !l.is_empty()) {
        let _ = write!(title, "\n{line}");
    }
    title
}

/// A drawing of the assets at `members` (positions in `model.assets`, in
/// topological order) and the edges among them, linked from pages in
/// `from_dir`.
pub fn asset_graph(
    graph: &AssetGraph,
    model: &Model,
    members: &[usize],
    from_dir: &str,
    emphasis: Option<usize>,
    class: &str,
) -> String {
    let mut local = vec![usize::MAX; graph.len()];
    for (n, &m) in members.iter().enumerate() {
        local[model.assets[m].index] = n;
    }
    let nodes: Vec<Node> = members
        .iter()
        .map(|&m| {
            let view = &model.assets[m];
            let def = graph.asset(view.index);
            Node {
                key: def.key.clone(),
                label: def.key.clone(),
                title: node_title(def, view),
                href: paths::href(from_dir, &paths::asset(&def.key)),
                fill: view.health.fill(),
                emphasis: emphasis == Some(m),
            }
        })
        .collect();
    let mut edges = Vec::new();
    for (n, &m) in members.iter().enumerate() {
        let i = model.assets[m].index;
        let def = graph.asset(i);
        for (dependency, &u) in def.dependencies.iter().zip(graph.upstream_of(i)) {
            let from = local[u];
            if from != usize::MAX {
                edges.push(Edge {
                    from,
                    to: n,
                    label: mapping_label(dependency.mapping),
                });
            }
        }
    }
    svg::graph(&nodes, &edges, class)
}

/// The legend of state colours, as one line of HTML.
pub fn legend() -> String {
    let mut out = String::from("<p class=\"af-legend\">");
    for h in Health::ALL {
        let _ = write!(
            out,
            "<span style=\"display:inline-block;margin-right:1em\"><span style=\"display:inline-block;width:0.9em;height:0.9em;background:{};border:1px solid #333;vertical-align:middle\"></span> {}</span>",
            h.fill(),
            h.name()
        );
    }
    out.push_str("</p>");
    out
}

/// The overview page and, for a large site, one page per group.
pub fn pages(graph: &AssetGraph, model: &Model, groups: &Groups) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut page = String::from("# Pipeline overview\n\n");
    let mut totals = [0u64; 5];
    for view in &model.assets {
        totals[Health::ALL
            .iter()
            .position(|h| *h == view.health)
            .unwrap_or(0)] += 1;
    }
    let _ = writeln!(
        page,
        "{} assets: {}. Each box is an asset, coloured by its state; click it for its page. Edges are labelled with their partition mapping when it is not the same partition.\n",
        model.assets.len(),
        Health::ALL
            .iter()
            .zip(totals)
            .map(|(h, n)| format!("{n} {}", h.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    page.push_str(&legend());
    page.push_str("\n\n");
    if groups.is_empty() {
        let members: Vec<usize> = (0..model.assets.len()).collect();
        let _ = writeln!(
            page,
            "<div class=\"af-overview\">{}</div>\n",
            asset_graph(graph, model, &members, "", None, "af-graph")
        );
    } else {
        let _ = writeln!(
            page,
            "More than {GROUP_THRESHOLD} assets: the graph shows one box per group (module); each group's page draws its assets.\n"
        );
        let _ = writeln!(
            page,
            "<div class=\"af-overview\">{}</div>\n",
            group_graph(graph, model, groups)
        );
        for (name, members) in groups {
            out.push((paths::group(name), group_page(graph, model, name, members)));
        }
    }
    page.push_str(
        "## Assets\n\n| asset | state | partitions | description |\n| --- | --- | --- | --- |\n",
    );
    for view in &model.assets {
        page.push_str(&asset_row(graph, view, ""));
    }
    if let Some(run) = model.runs.first() {
        let _ = writeln!(
            page,
            "\nLatest run: [{}]({}) ({}). All runs: [runs]({}).",
            markdown(&run.info.run_id),
            paths::run(&run.info.run_id),
            run.info.status,
            paths::RUNS
        );
    } else {
        page.push_str("\nNo runs recorded in the catalog yet.\n");
    }
    out.insert(0, (paths::OVERVIEW.to_owned(), page));
    out
}

fn asset_row(graph: &AssetGraph, view: &AssetView, from_dir: &str) -> String {
    let def = graph.asset(view.index);
    let c = &view.counts;
    let partitions = if def.partitions.is_partitioned() {
        format!("{}/{} fresh", c.fresh, c.total())
    } else {
        "unpartitioned".into()
    };
    format!(
        "| [{}]({}) | {} | {} | {} |\n",
        markdown(&def.key),
        paths::md(from_dir, &paths::asset(&def.key)),
        view.health.name(),
        partitions,
        markdown(def.description.lines().next().unwrap_or(""))
    )
}

/// One node per group, coloured by the worst state of its assets, edges
/// labelled with how many asset edges they stand for.
fn group_graph(graph: &AssetGraph, model: &Model, groups: &Groups) -> String {
    let names: Vec<&String> = groups.keys().collect();
    let mut group_of_asset = vec![usize::MAX; graph.len()];
    for (g, members) in groups.values().enumerate() {
        for &m in members {
            group_of_asset[model.assets[m].index] = g;
        }
    }
    let mut links: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for view in &model.assets {
        let to = group_of_asset[view.index];
        for &u in graph.upstream_of(view.index) {
            let from = group_of_asset[u];
            if from != usize::MAX && from != to {
                *links.entry((from, to)).or_default() += 1;
            }
        }
    }
    // Groups in an order where links go forward where they can: by the
    // earliest topological position of their members.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&g| groups[names[g]].iter().min().copied().unwrap_or(0));
    let mut position = vec![0; names.len()];
    for (p, &g) in order.iter().enumerate() {
        position[g] = p;
    }
    let nodes: Vec<Node> = order
        .iter()
        .map(|&g| {
            let members = &groups[names[g]];
            let worst = members
                .iter()
                .map(|&m| model.assets[m].health)
                .max()
                .unwrap_or(Health::Missing);
            let fresh = members
                .iter()
                .filter(|&&m| model.assets[m].health == Health::Fresh)
                .count();
            Node {
                key: names[g].clone(),
                label: names[g].clone(),
                title: format!(
                    "group {}: {} assets, {fresh} fresh — worst state {}",
                    names[g],
                    members.len(),
                    worst.name()
                ),
                href: paths::href("", &paths::group(names[g])),
                fill: worst.fill(),
                emphasis: false,
            }
        })
        .collect();
    let edges: Vec<Edge> = links
        .iter()
        .map(|(&(from, to), &count)| {
            let (a, b) = (position[from], position[to]);
            let (from, to) = if a <= b { (a, b) } else { (b, a) };
            Edge {
                from,
                to,
                label: Some(format!("{count} edges")),
            }
        })
        .collect();
    svg::graph(&nodes, &edges, "af-graph af-groups")
}

fn group_page(graph: &AssetGraph, model: &Model, name: &str, members: &[usize]) -> String {
    let mut page = format!("# Group {}\n\n", markdown(name));
    let _ = writeln!(
        page,
        "{} assets. Back to the [overview]({}).\n",
        members.len(),
        paths::md("groups", paths::OVERVIEW)
    );
    page.push_str(&legend());
    page.push_str("\n\n");
    let _ = writeln!(
        page,
        "<div class=\"af-overview\">{}</div>\n",
        asset_graph(graph, model, members, "groups", None, "af-graph")
    );
    let inside: BTreeSet<usize> = members.iter().map(|&m| model.assets[m].index).collect();
    page.push_str("| asset | state | partitions | description |\n| --- | --- | --- | --- |\n");
    for &m in members {
        page.push_str(&asset_row(graph, &model.assets[m], "groups"));
    }
    let mut outside: BTreeSet<&str> = BTreeSet::new();
    for &i in &inside {
        for &u in graph.upstream_of(i) {
            if !inside.contains(&u) {
                outside.insert(graph.asset(u).key.as_str());
            }
        }
    }
    if !outside.is_empty() {
        page.push_str("\nReads from other groups: ");
        let links: Vec<String> = outside
            .iter()
            .map(|k| {
                format!(
                    "[{}]({})",
                    markdown(k),
                    paths::md("groups", &paths::asset(k))
                )
            })
            .collect();
        page.push_str(&links.join(", "));
        page.push('\n');
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_modules_or_key_prefixes() {
        let mut def = AssetDef::new("l03_a17", |_| {
            Box::pin(async { Ok(io_managers::Payload::Nothing) })
        });
        assert_eq!(group_of(&def), "l03");
        def.source = Some(crate::SourceLocation {
            file: "examples/src/recommender/features.rs",
            line: 3,
            git_commit: "",
        });
        assert_eq!(group_of(&def), "recommender::features");
        def.source = Some(crate::SourceLocation {
            file: "src/recommender/mod.rs",
            line: 3,
            git_commit: "",
        });
        assert_eq!(group_of(&def), "recommender");
    }
}
