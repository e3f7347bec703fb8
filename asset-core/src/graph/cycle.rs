//! Finding one cycle to show the user.

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// The assets of one cycle, in edge order, the first repeated at the end
/// (`[a, b, c, a]`). Empty if the graph is acyclic.
///
/// Takes the strongly connected component that contains the smallest asset
/// index, so the same graph always reports the same cycle.
pub(super) fn find_cycle(graph: &DiGraph<usize, ()>) -> Vec<usize> {
    let mut cyclic: Vec<Vec<NodeIndex>> = petgraph::algo::tarjan_scc(graph)
        .into_iter()
        .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
        .collect();
    for scc in &mut cyclic {
        scc.sort_by_key(|&n| graph[n]);
    }
    cyclic.sort_by_key(|scc| graph[scc[0]]);
    let Some(scc) = cyclic.first() else {
        return Vec::new();
    };
    let start = scc[0];
    // Breadth-first search inside the component for the shortest way back to `start`.
    let in_scc = |n: NodeIndex| scc.binary_search_by_key(&graph[n], |&m| graph[m]).is_ok();
    let mut parent = std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph
            .edges(node)
            .map(|e| e.target())
            .filter(|&t| in_scc(t))
            .collect();
        next.sort_by_key(|&n| graph[n]);
        for target in next {
            if target == start {
                // Walk back from `node` to `start`, then read the chain forwards.
                let mut chain = Vec::new();
                let mut cur = node;
                while cur != start {
                    chain.push(graph[cur]);
                    cur = parent[&cur];
                }
                chain.reverse();
                let mut path = vec![graph[start]];
                path.extend(chain);
                path.push(graph[start]);
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(target) {
                e.insert(node);
                queue.push_back(target);
            }
        }
    }
    Vec::new()
}
