//! The asset graph: a petgraph DAG over the registry's assets.
//!
//! Built once per program run from the [`Registry`]: every dependency becomes
//! an edge `upstream -> downstream`, a cycle is refused with its path, and
//! every edge's partition mapping is checked against both assets' partitions.

mod cycle;
pub mod selection;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::asset::definition::{AssetDef, PartitionMapping};
use crate::asset::registry::Registry;
use crate::error::Error;
use crate::partition::PartitionsDef;

pub use selection::Selection;

/// The validated DAG of a registry's assets, with a topological order.
#[derive(Debug, Clone)]
pub struct AssetGraph {
    registry: Registry,
    graph: DiGraph<usize, ()>,
    topological: Vec<usize>,
    upstream: Vec<Vec<usize>>,
    downstream: Vec<Vec<usize>>,
}

impl AssetGraph {
    /// Builds and validates the graph of `registry`.
    pub fn build(registry: Registry) -> Result<Self, Error> {
        let n = registry.len();
        let mut graph = DiGraph::<usize, ()>::with_capacity(n, n * 2);
        let nodes: Vec<NodeIndex> = (0..n).map(|i| graph.add_node(i)).collect();
        let mut upstream = vec![Vec::new(); n];
        let mut downstream = vec![Vec::new(); n];
        for (i, def) in registry.assets().iter().enumerate() {
            for dep in &def.dependencies {
                let Some(u) = registry.index_of(&dep.asset) else {
                    return Err(Error::MissingDependency {
                        asset: def.key.clone(),
                        dependency: dep.asset.clone(),
                    });
                };
                check_mapping(def, &registry.assets()[u], dep.mapping)?;
                graph.add_edge(nodes[u], nodes[i], ());
                upstream[i].push(u);
                downstream[u].push(i);
            }
        }
        let topological = match petgraph::algo::toposort(&graph, None) {
            Ok(order) => order.into_iter().map(|node| graph[node]).collect(),
            Err(_) => {
                let path = cycle::find_cycle(&graph)
                    .into_iter()
                    .map(|i| registry.assets()[i].key.clone())
                    .collect();
                return Err(Error::Cycle { path });
            }
        };
        Ok(Self {
            registry,
            graph,
            topological,
            upstream,
            downstream,
        })
    }

    /// The registry the graph was built from.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The asset at index `i`.
    pub fn asset(&self, i: usize) -> &AssetDef {
        &self.registry.assets()[i]
    }

    /// Asset indices in a topological order (every upstream before its downstream).
    pub fn topological_order(&self) -> &[usize] {
        &self.topological
    }

    /// Direct upstream assets of `i` (one per dependency, in parameter order).
    pub fn upstream_of(&self, i: usize) -> &[usize] {
        &self.upstream[i]
    }

    /// Direct downstream assets of `i`.
    pub fn downstream_of(&self, i: usize) -> &[usize] {
        &self.downstream[i]
    }

    /// Number of assets.
    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    /// Whether the graph has no assets.
    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }
}

/// Checks that `downstream` can read `upstream` through `mapping`.
fn check_mapping(
    downstream: &AssetDef,
    upstream: &AssetDef,
    mapping: PartitionMapping,
) -> Result<(), Error> {
    let incompatible = |hint: String| Error::IncompatiblePartitions {
        asset: downstream.key.clone(),
        asset_partitions: downstream.partitions.describe(),
        upstream: upstream.key.clone(),
        upstream_partitions: upstream.partitions.describe(),
        hint,
    };
    match (mapping, &downstream.partitions, &upstream.partitions) {
        // An unpartitioned upstream is one value every partition can read.
        (PartitionMapping::Identity, _, PartitionsDef::Unpartitioned) => Ok(()),
        (PartitionMapping::Identity, PartitionsDef::Unpartitioned, _) => Err(incompatible(
            "an unpartitioned asset has no partition to match; partition it the same way".into(),
        )),
        (
            PartitionMapping::Identity,
            PartitionsDef::Daily { start: down },
            PartitionsDef::Daily { start: up },
        ) => {
            if down < up {
                Err(incompatible(format!(
                    "its partitions start on {down}, before the upstream's first partition {up}"
                )))
            } else {
                Ok(())
            }
        }
        // The other mappings are checked by the partitions model.
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use io_managers::Payload;

    pub(crate) fn def(key: &str, deps: &[&str]) -> AssetDef {
        let mut d = AssetDef::new(key, |_| Box::pin(async { Ok(Payload::Nothing) }));
        for dep in deps {
            d = d.with_dependency(*dep);
        }
        d
    }

    fn graph(defs: Vec<AssetDef>) -> Result<AssetGraph, Error> {
        AssetGraph::build(Registry::from_defs(defs)?)
    }

    #[test]
    fn topological_order_puts_upstream_first() {
        let g = graph(vec![
            def("d", &["b", "c"]),
            def("c", &["a"]),
            def("b", &["a"]),
            def("a", &[]),
        ])
        .expect("valid");
        let pos = |k: &str| {
            let i = g.registry().index_of(k).expect("known");
            g.topological_order()
                .iter()
                .position(|&x| x == i)
                .expect("ordered")
        };
        assert!(pos("a") < pos("b") && pos("a") < pos("c"));
        assert!(pos("b") < pos("d") && pos("c") < pos("d"));
    }

    #[test]
    fn cycle_is_refused_with_its_path() {
        let err = graph(vec![
            def("a", &["c"]),
            def("b", &["a"]),
            def("c", &["b"]),
            def("x", &[]),
        ])
        .expect_err("cycle");
        assert_eq!(err.to_string(), "dependency cycle: a -> b -> c -> a");
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let err = graph(vec![def("a", &["a"])]).expect_err("cycle");
        assert_eq!(err.to_string(), "dependency cycle: a -> a");
    }

    #[test]
    fn unpartitioned_reading_partitioned_is_refused_naming_both() {
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![
            def("events", &[]).with_partitions(daily),
            def("model", &["events"]),
        ])
        .expect_err("incompatible");
        let msg = err.to_string();
        assert!(
            msg.contains("\"model\"") && msg.contains("\"events\""),
            "{msg}"
        );
    }

    #[test]
    fn partitioned_reading_unpartitioned_is_fine() {
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        graph(vec![
            def("lookup", &[]),
            def("events", &["lookup"]).with_partitions(daily),
        ])
        .expect("valid");
    }

    #[test]
    fn daily_starting_before_its_upstream_is_refused() {
        let early = PartitionsDef::daily("2023-01-01").expect("valid");
        let late = PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![
            def("a", &[]).with_partitions(late),
            def("b", &["a"]).with_partitions(early),
        ])
        .expect_err("starts early");
        assert!(
            err.to_string()
                .contains("before the upstream's first partition"),
            "{err}"
        );
    }
}
