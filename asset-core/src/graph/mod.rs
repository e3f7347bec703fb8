//! The asset graph: a petgraph DAG over the registry's assets.
//!
//! Built once per program run from the [`Registry`]: every dependency becomes
//! an edge `upstream -> downstream` whose partition mapping is checked
//! against both assets' partitions ([`mapping::check`]), and a cycle is
//! refused with its path.
//!
//! One kind of loop is allowed: a partitioned asset reading *its own
//! previous partition* through `Prev<Self>` (a chronological asset, each
//! partition starting from the one before). It orders partitions, not
//! assets, so it is left out of the topological order and the cycle check,
//! but it is an ordinary upstream in [`AssetGraph::upstream_of`] (and
//! downstream in [`AssetGraph::downstream_of`]), in parameter order.

mod cycle;
pub mod selection;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::asset::definition::AssetDef;
use crate::asset::registry::Registry;
use crate::error::Error;
use crate::partition::mapping;

pub use selection::Selection;

/// The validated DAG of a registry's assets, with a topological order.
#[derive(Debug, Clone)]
pub struct AssetGraph {
    registry: Registry,
    graph: DiGraph<usize, ()>,
    topological: Vec<usize>,
    upstream: Vec<Vec<usize>>,
    downstream: Vec<Vec<usize>>,
    self_dependent: Vec<bool>,
}

/// A mapping refusal as the user would read it: the parameter's own type
/// in place of the `T` of the mapping's rules (`as `Orders`: ... read every
/// partition with `All<Orders>``).
fn in_users_words(dep: &crate::asset::definition::Dependency, hint: &str) -> String {
    let name = dep.type_name.unwrap_or(&dep.asset);
    let hint = hint
        .replace("<T>", &format!("<{name}>"))
        .replace("<T,", &format!("<{name},"));
    format!("as `{}`: {hint}", dep.type_as_written())
}

impl AssetGraph {
    /// Builds and validates the graph of `registry`.
    pub fn build(registry: Registry) -> Result<Self, Error> {
        let n = registry.len();
        let mut graph = DiGraph::<usize, ()>::with_capacity(n, n * 2);
        let nodes: Vec<NodeIndex> = (0..n).map(|i| graph.add_node(i)).collect();
        let mut upstream = vec![Vec::new(); n];
        let mut downstream = vec![Vec::new(); n];
        let mut self_dependent = vec![false; n];
        for (i, def) in registry.assets().iter().enumerate() {
            for dep in &def.dependencies {
                let Some(u) = registry.index_of(&dep.asset) else {
                    return Err(Error::MissingDependency {
                        asset: def.key.clone(),
                        dependency: dep.asset.clone(),
                    });
                };
                let up = &registry.assets()[u];
                let is_self = u == i;
                if is_self && !dep.mapping.crosses_partitions() {
                    // Reading its own partition: a cycle like any other.
                    return Err(Error::Cycle {
                        path: vec![def.key.clone(), def.key.clone()],
                    });
                }
                mapping::check(dep.mapping, &def.partitions, &up.partitions, is_self).map_err(
                    |hint| Error::IncompatiblePartitions {
                        asset: def.key.clone(),
                        upstream: up.key.clone(),
                        partitions: Box::new((def.partitions.describe(), up.partitions.describe())),
                        hint: in_users_words(dep, &hint),
                    },
                )?;
                if is_self {
                    self_dependent[i] = true;
                } else {
                    graph.add_edge(nodes[u], nodes[i], ());
                }
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
            self_dependent,
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

    /// Asset indices in a topological order (every upstream before its
    /// downstream; an asset's own previous partitions do not count).
    pub fn topological_order(&self) -> &[usize] {
        &self.topological
    }

    /// Direct upstream assets of `i`: one per dependency, in parameter order,
    /// so it pairs with `asset(i).dependencies`. A self-dependent asset
    /// appears in its own list.
    pub fn upstream_of(&self, i: usize) -> &[usize] {
        &self.upstream[i]
    }

    /// Direct downstream assets of `i` (a self-dependent asset among them).
    pub fn downstream_of(&self, i: usize) -> &[usize] {
        &self.downstream[i]
    }

    /// Whether asset `i` reads its own earlier partitions (`Prev<Self>`), so
    /// its partitions must run oldest first.
    pub fn is_self_dependent(&self, i: usize) -> bool {
        self.self_dependent[i]
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::partition::{PartitionMapping, PartitionsDef};
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
    fn self_dependency_through_identity_is_a_cycle() {
        let err = graph(vec![def("a", &["a"])]).expect_err("cycle");
        assert_eq!(err.to_string(), "dependency cycle: a -> a");
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![def("a", &["a"]).with_partitions(daily)]).expect_err("cycle");
        assert_eq!(err.to_string(), "dependency cycle: a -> a");
    }

    #[test]
    fn self_dependency_through_prev_is_accepted_and_kept_in_parameter_order() {
        let daily = || PartitionsDef::daily("2024-01-01").expect("valid");
        let g = graph(vec![
            def("lookup", &[]),
            def("events", &[]).with_partitions(daily()),
            def("balance", &["events"])
                .with_mapped_dependency("balance", PartitionMapping::Prev)
                .with_dependency("lookup")
                .with_partitions(daily()),
        ])
        .expect("a chronological asset is valid");
        let index = |k: &str| g.registry().index_of(k).expect("known");
        let balance = index("balance");
        assert!(g.is_self_dependent(balance));
        assert!(!g.is_self_dependent(index("events")));
        assert_eq!(
            g.upstream_of(balance),
            [index("events"), balance, index("lookup")]
        );
        assert!(g.downstream_of(balance).contains(&balance));
        assert_eq!(
            g.topological_order()
                .iter()
                .filter(|&&i| i == balance)
                .count(),
            1
        );
    }

    #[test]
    fn self_dependency_needs_partitions_and_prev() {
        let err = graph(vec![
            def("a", &[]).with_mapped_dependency("a", PartitionMapping::Prev),
        ])
        .expect_err("unpartitioned");
        assert_eq!(
            err.to_string(),
            r#"asset "a" (unpartitioned) cannot read "a" (unpartitioned) as `Prev<a>`: an unpartitioned asset has no previous partition to read"#
        );
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![
            def("a", &[])
                .with_mapped_dependency("a", PartitionMapping::Window(3))
                .with_partitions(daily),
        ])
        .expect_err("a window of itself includes itself");
        assert!(
            err.to_string()
                .contains("would include the partition being computed"),
            "{err}"
        );
    }

    #[test]
    fn a_cycle_beside_a_self_dependency_is_still_found() {
        let daily = || PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![
            def("a", &["b"])
                .with_mapped_dependency("a", PartitionMapping::Prev)
                .with_partitions(daily()),
            def("b", &["a"]).with_partitions(daily()),
        ])
        .expect_err("a -> b -> a");
        assert_eq!(err.to_string(), "dependency cycle: a -> b -> a");
    }

    #[test]
    fn incompatible_mapping_names_both_assets_and_the_mapping() {
        let hourly = PartitionsDef::hourly("2024-01-01").expect("valid");
        let regions = PartitionsDef::static_keys(&["eu", "us"]).expect("valid");
        let err = graph(vec![
            def("ticks", &[]).with_partitions(hourly),
            def("by_region", &["ticks"]).with_partitions(regions),
        ])
        .expect_err("hours into regions");
        assert_eq!(
            err.to_string(),
            r#"asset "by_region" (static (eu, us)) cannot read "ticks" (hourly from 2024-01-01) as `ticks`: static and hourly partitions do not match one to one; read the newest with `Latest<ticks>`"#
        );
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![
            def("days", &[]).with_partitions(daily.clone()),
            def("rolling", &[])
                .with_mapped_dependency("days", PartitionMapping::Window(7))
                .with_partitions(PartitionsDef::weekly("2024-01-01").expect("valid")),
        ])
        .expect_err("weeks from days through a window");
        assert!(
            err.to_string().contains("\"rolling\"") && err.to_string().contains("\"days\""),
            "{err}"
        );
        assert!(err.to_string().contains("`Window<days, 7>`"), "{err}");
    }

    #[test]
    fn all_and_latest_let_an_unpartitioned_asset_read_a_partitioned_one() {
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        graph(vec![
            def("events", &[]).with_partitions(daily),
            def("model", &[]).with_mapped_dependency("events", PartitionMapping::All),
            def("latest", &[]).with_mapped_dependency("events", PartitionMapping::Latest),
        ])
        .expect("valid");
    }

    #[test]
    fn unpartitioned_reading_partitioned_is_refused_naming_both() {
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        let err = graph(vec![
            def("events", &[]).with_partitions(daily),
            def("model", &["events"]),
        ])
        .expect_err("incompatible");
        assert_eq!(
            err.to_string(),
            r#"asset "model" (unpartitioned) cannot read "events" (daily from 2024-01-01) as `events`: an unpartitioned asset has no partition to match; read every partition with `All<events>` or the newest with `Latest<events>`"#
        );
    }

    #[test]
    fn a_refused_parameter_is_named_by_its_rust_type() {
        let daily = PartitionsDef::daily("2024-01-01").expect("valid");
        let mut model = def("model", &[]);
        model.dependencies.push(
            crate::asset::definition::Dependency::new("events", PartitionMapping::Identity)
                .of_type("Events"),
        );
        let err = graph(vec![def("events", &[]).with_partitions(daily), model])
            .expect_err("incompatible");
        assert_eq!(
            err.to_string(),
            r#"asset "model" (unpartitioned) cannot read "events" (daily from 2024-01-01) as `Events`: an unpartitioned asset has no partition to match; read every partition with `All<Events>` or the newest with `Latest<Events>`"#
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
