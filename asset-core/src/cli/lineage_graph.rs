//! `lineage --format dot|mermaid`: the lineage tree (the JSON `lineage`
//! builds) as a graph for Graphviz or Mermaid, one node per asset (per
//! asset-partition, with versions, when a partition was given), edges in
//! data-flow direction labelled with their partition mapping.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::graph::AssetGraph;
use crate::materialize::record::short;
use crate::site::overview::mapping_label;

/// A node: its identity (asset and partition) and its label lines.
struct Node {
    id: String,
    lines: Vec<String>,
}

/// The nodes and edges of a lineage tree, in the order first met.
struct Flow {
    nodes: Vec<Node>,
    edges: Vec<(usize, usize, Option<String>)>,
}

fn text<'a>(node: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    node.get(key).and_then(|v| v.as_str())
}

impl Flow {
    fn from_tree(graph: &AssetGraph, tree: &serde_json::Value) -> Self {
        let mut flow = Flow {
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        let mut seen_edges = HashSet::new();
        let root = flow.node(tree);
        for (key, upstream) in [("upstream", true), ("downstream", false)] {
            flow.walk(graph, tree, root, key, upstream, &mut seen_edges);
        }
        flow
    }

    fn node(&mut self, value: &serde_json::Value) -> usize {
        let asset = text(value, "asset").unwrap_or_default();
        let partition = text(value, "partition");
        let id = match partition {
            Some(p) => format!("{asset} [{p}]"),
            None => asset.to_owned(),
        };
        if let Some(i) = self.nodes.iter().position(|n| n.id == id) {
            return i;
        }
        let mut lines = vec![id.clone()];
        let versions: Vec<String> = [("data_version", "data"), ("code_version", "code")]
            .iter()
            .filter_map(|(k, name)| text(value, k).map(|v| format!("{name} {}", short(v))))
            .collect();
        if !versions.is_empty() {
            lines.push(versions.join(", "));
        }
        if let Some(note) = text(value, "note") {
            lines.push(note.to_owned());
        }
        self.nodes.push(Node { id, lines });
        self.nodes.len() - 1
    }

    fn walk(
        &mut self,
        graph: &AssetGraph,
        parent: &serde_json::Value,
        parent_id: usize,
        key: &str,
        upstream: bool,
        seen: &mut HashSet<(usize, usize)>,
    ) {
        let Some(children) = parent.get(key).and_then(|c| c.as_array()) else {
            return;
        };
        for child in children {
            let child_id = self.node(child);
            let (from, to) = if upstream {
                (child_id, parent_id)
            } else {
                (parent_id, child_id)
            };
            if seen.insert((from, to)) {
                let (up, down) = if upstream {
                    (child, parent)
                } else {
                    (parent, child)
                };
                let label = mapping(graph, text(up, "asset"), text(down, "asset"));
                self.edges.push((from, to, label));
            }
            self.walk(graph, child, child_id, key, upstream, seen);
        }
    }
}

/// The mapping through which `down` reads `up`, when not the same partition.
fn mapping(graph: &AssetGraph, up: Option<&str>, down: Option<&str>) -> Option<String> {
    let down = graph.registry().get(down?)?;
    let up = up?;
    down.dependencies
        .iter()
        .find(|d| d.asset == up)
        .and_then(|d| mapping_label(d.mapping))
}

fn dot_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The tree as a Graphviz DOT digraph.
pub(super) fn dot(graph: &AssetGraph, tree: &serde_json::Value) -> String {
    let flow = Flow::from_tree(graph, tree);
    let mut out = String::from("digraph lineage {\n  rankdir=LR;\n  node [shape=box];\n");
    for (i, n) in flow.nodes.iter().enumerate() {
        let _ = writeln!(out, "  n{i} [label={}];", dot_quote(&n.lines.join("\n")));
    }
    for (from, to, label) in &flow.edges {
        match label {
            Some(l) => {
                let _ = writeln!(out, "  n{from} -> n{to} [label={}];", dot_quote(l));
            }
            None => {
                let _ = writeln!(out, "  n{from} -> n{to};");
            }
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid's entity for characters that would end a label.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('|', "#124;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// The tree as a Mermaid flowchart.
pub(super) fn mermaid(graph: &AssetGraph, tree: &serde_json::Value) -> String {
    let flow = Flow::from_tree(graph, tree);
    let mut out = String::from("flowchart LR\n");
    for (i, n) in flow.nodes.iter().enumerate() {
        let label: Vec<String> = n.lines.iter().map(|l| mermaid_text(l)).collect();
        let _ = writeln!(out, "  n{i}[\"{}\"]", label.join("<br>"));
    }
    for (from, to, label) in &flow.edges {
        match label {
            Some(l) => {
                let _ = writeln!(out, "  n{from} -->|{}| n{to}", mermaid_text(l));
            }
            None => {
                let _ = writeln!(out, "  n{from} --> n{to}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::registry::Registry;
    use crate::{AssetDef, PartitionMapping};

    fn graph() -> AssetGraph {
        let def = |k: &str| {
            AssetDef::new(k, |_| Box::pin(async { Ok(io_managers::Payload::Nothing) }))
                .with_partitions(crate::PartitionsDef::daily("2024-01-01").expect("a day"))
        };
        let registry = Registry::from_defs(vec![
            def("a"),
            def("b").with_mapped_dependency("a", PartitionMapping::Window(7)),
            def("c").with_dependency("b"),
        ])
        .expect("registry");
        AssetGraph::build(registry).expect("graph")
    }

    fn tree() -> serde_json::Value {
        serde_json::json!({
            "asset": "b",
            "upstream": [{"asset": "a", "upstream": []}],
            "downstream": [{"asset": "c", "downstream": []}],
        })
    }

    #[test]
    fn dot_has_every_node_and_edge_with_mappings() {
        let out = dot(&graph(), &tree());
        assert!(out.starts_with("digraph lineage {"), "{out}");
        assert!(out.contains("n0 [label=\"b\"];"), "{out}");
        assert!(out.contains("n1 -> n0 [label=\"Window 7\"];"), "{out}");
        assert!(out.contains("n0 -> n2;"), "{out}");
    }

    #[test]
    fn mermaid_has_every_node_and_edge_with_mappings() {
        let out = mermaid(&graph(), &tree());
        assert!(out.starts_with("flowchart LR\n"), "{out}");
        assert!(out.contains("n1 -->|Window 7| n0"), "{out}");
        assert!(out.contains("n0 --> n2"), "{out}");
    }

    #[test]
    fn labels_are_quoted_for_each_language() {
        assert_eq!(dot_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(mermaid_text("a\"|<b>"), "a#quot;#124;#lt;b#gt;");
    }
}
