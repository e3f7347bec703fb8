//! Selection syntax: which assets a command works on.
//!
//! A comma-separated list of terms:
//! - `name`: that asset;
//! - `+name`: it and everything upstream of it;
//! - `name+`: it and everything downstream of it;
//! - `+name+`: both;
//! - `*`: every asset.

use crate::error::Error;
use crate::graph::AssetGraph;

/// A parsed selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    All,
    Asset {
        name: String,
        upstream: bool,
        downstream: bool,
    },
}

impl Selection {
    /// Every asset.
    pub fn all() -> Self {
        Self {
            terms: vec![Term::All],
        }
    }

    /// Parses `text` (see the module docs).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidSelection {
            selection: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut terms = Vec::new();
        for raw in text.split(',') {
            let term = raw.trim();
            if term.is_empty() {
                return Err(invalid("empty term (two commas, or a comma at an end)"));
            }
            if term == "*" {
                terms.push(Term::All);
                continue;
            }
            let (upstream, rest) = match term.strip_prefix('+') {
                Some(rest) => (true, rest),
                None => (false, term),
            };
            let (downstream, name) = match rest.strip_suffix('+') {
                Some(name) => (true, name),
                None => (false, rest),
            };
            if name.is_empty() || name.contains(['+', '*', ' ']) {
                return Err(invalid(&format!(
                    "{term:?} is not `name`, `+name`, `name+` or `*`"
                )));
            }
            terms.push(Term::Asset {
                name: name.to_owned(),
                upstream,
                downstream,
            });
        }
        Ok(Self { terms })
    }

    /// The selected assets' indices in topological order.
    ///
    /// An unknown name is an error that suggests the closest known one.
    pub fn resolve(&self, graph: &AssetGraph) -> Result<Vec<usize>, Error> {
        let mut selected = vec![false; graph.len()];
        for term in &self.terms {
            match term {
                Term::All => selected.iter_mut().for_each(|s| *s = true),
                Term::Asset {
                    name,
                    upstream,
                    downstream,
                } => {
                    let Some(i) = graph.registry().index_of(name) else {
                        return Err(Error::UnknownAsset {
                            name: name.clone(),
                            suggestion: graph.registry().closest_key(name),
                        });
                    };
                    selected[i] = true;
                    if *upstream {
                        mark(graph, i, &mut selected, AssetGraph::upstream_of);
                    }
                    if *downstream {
                        mark(graph, i, &mut selected, AssetGraph::downstream_of);
                    }
                }
            }
        }
        Ok(graph
            .topological_order()
            .iter()
            .copied()
            .filter(|&i| selected[i])
            .collect())
    }
}

/// Marks everything reachable from `start` through `next`.
fn mark(
    graph: &AssetGraph,
    start: usize,
    selected: &mut [bool],
    next: fn(&AssetGraph, usize) -> &[usize],
) {
    let mut seen = vec![false; graph.len()];
    let mut stack = vec![start];
    while let Some(i) = stack.pop() {
        for &j in next(graph, i) {
            if !seen[j] {
                seen[j] = true;
                selected[j] = true;
                stack.push(j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::registry::Registry;
    use crate::graph::tests::def;

    /// a -> b -> c, and x alone.
    fn graph() -> AssetGraph {
        let defs = vec![
            def("a", &[]),
            def("b", &["a"]),
            def("c", &["b"]),
            def("x", &[]),
        ];
        AssetGraph::build(Registry::from_defs(defs).expect("valid")).expect("valid")
    }

    fn keys(sel: &str) -> Vec<String> {
        let g = graph();
        let mut keys: Vec<String> = Selection::parse(sel)
            .expect("parses")
            .resolve(&g)
            .expect("resolves")
            .into_iter()
            .map(|i| g.asset(i).key.clone())
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn plain_name_selects_one_asset() {
        assert_eq!(keys("b"), ["b"]);
    }

    #[test]
    fn plus_prefix_adds_upstream_and_suffix_downstream() {
        assert_eq!(keys("+b"), ["a", "b"]);
        assert_eq!(keys("b+"), ["b", "c"]);
        assert_eq!(keys("+b+"), ["a", "b", "c"]);
        assert_eq!(keys("+c"), ["a", "b", "c"]);
    }

    #[test]
    fn star_and_comma_lists() {
        assert_eq!(keys("*"), ["a", "b", "c", "x"]);
        assert_eq!(keys("a, x"), ["a", "x"]);
    }

    #[test]
    fn resolved_order_is_topological() {
        let g = graph();
        let order = Selection::parse("c,a,b")
            .expect("parses")
            .resolve(&g)
            .expect("ok");
        let keys: Vec<_> = order.iter().map(|&i| g.asset(i).key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        let err = Selection::parse("+bb")
            .expect("parses")
            .resolve(&graph())
            .expect_err("unknown");
        assert_eq!(err.to_string(), r#"unknown asset "bb" (did you mean "b"?)"#);
    }

    #[test]
    fn malformed_selections_are_refused() {
        for bad in ["", "a,,b", "+", "a++", "a b", "**"] {
            assert!(Selection::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
