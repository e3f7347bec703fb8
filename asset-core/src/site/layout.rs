//! A layered (Sugiyama-style) layout of a DAG, left to right, computed when
//! the site is generated: no Graphviz, no JavaScript.
//!
//! Layers are longest paths from the sources, so every edge points right;
//! the order within a layer is refined by a few barycenter sweeps (each node
//! moves towards the mean position of its neighbours), which removes most
//! crossings of pipeline-shaped graphs. Everything is deterministic: ties
//! keep the order the nodes were given in.

/// Sizes of the drawing, in SVG user units.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Width of every node box.
    pub node_width: f64,
    /// Height of every node box.
    pub node_height: f64,
    /// Horizontal space between layers.
    pub gap_x: f64,
    /// Vertical space between nodes of a layer.
    pub gap_y: f64,
    /// Space around the drawing.
    pub margin: f64,
}

/// Where each node goes: its box's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Top-left corner of each node, in the order the nodes were given.
    pub positions: Vec<(f64, f64)>,
    /// Layer of each node (0 for sources).
    pub layers: Vec<usize>,
    /// The drawing's width.
    pub width: f64,
    /// The drawing's height.
    pub height: f64,
}

/// Barycenter sweeps (down and up); a few are enough for pipelines.
const SWEEPS: usize = 4;

/// Lays out `n` nodes given in topological order, with `edges` from an
/// earlier node to a later one (self-loops and backward edges are ignored
/// for layering).
pub fn layered(n: usize, edges: &[(usize, usize)], sizes: Sizes) -> Layout {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a < b && b < n {
            preds[b].push(a);
            succs[a].push(b);
        }
    }
    let mut layers = vec![0usize; n];
    for v in 0..n {
        layers[v] = preds[v].iter().map(|&u| layers[u] + 1).max().unwrap_or(0);
    }
    let depth = layers.iter().copied().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for v in 0..n {
        rows[layers[v]].push(v);
    }
    let mut position = vec![0f64; n];
    let place = |rows: &[Vec<usize>], position: &mut [f64]| {
        for row in rows {
            for (i, &v) in row.iter().enumerate() {
                position[v] = i as f64;
            }
        }
    };
    place(&rows, &mut position);
    for _ in 0..SWEEPS {
        for l in 1..depth {
            reorder(&mut rows[l], &preds, &position);
            place(&rows[l..=l], &mut position);
        }
        for l in (0..depth.saturating_sub(1)).rev() {
            reorder(&mut rows[l], &succs, &position);
            place(&rows[l..=l], &mut position);
        }
    }
    let tallest = rows.iter().map(Vec::len).max().unwrap_or(0);
    let step_x = sizes.node_width + sizes.gap_x;
    let step_y = sizes.node_height + sizes.gap_y;
    let mut positions = vec![(0.0, 0.0); n];
    for (l, row) in rows.iter().enumerate() {
        // Short layers are centred against the tallest.
        let offset = (tallest - row.len()) as f64 * step_y / 2.0;
        for (i, &v) in row.iter().enumerate() {
            positions[v] = (
                sizes.margin + l as f64 * step_x,
                sizes.margin + offset + i as f64 * step_y,
            );
        }
    }
    let width =
        2.0 * sizes.margin + depth as f64 * step_x - if depth > 0 { sizes.gap_x } else { 0.0 };
    let height =
        2.0 * sizes.margin + tallest as f64 * step_y - if tallest > 0 { sizes.gap_y } else { 0.0 };
    Layout {
        positions,
        layers,
        width,
        height,
    }
}

/// Sorts `row` by the mean position of each node's `neighbours`; nodes
/// without neighbours keep their place (their own position is their key).
fn reorder(row: &mut [usize], neighbours: &[Vec<usize>], position: &[f64]) {
    let key = |v: usize| -> f64 {
        let ns = &neighbours[v];
        if ns.is_empty() {
            position[v]
        } else {
            ns.iter().map(|&u| position[u]).sum::<f64>() / ns.len() as f64
        }
    };
    let mut keyed: Vec<(f64, f64, usize)> = row.iter().map(|&v| (key(v), position[v], v)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    for (slot, (_, _, v)) in row.iter_mut().zip(keyed) {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZES: Sizes = Sizes {
        node_width: 100.0,
        node_height: 30.0,
        gap_x: 50.0,
        gap_y: 10.0,
        margin: 5.0,
    };

    #[test]
    fn every_edge_points_right() {
        // A diamond with a long edge: 0 -> 1 -> 2 -> 3, 0 -> 3.
        let edges = [(0, 1), (1, 2), (2, 3), (0, 3)];
        let layout = layered(4, &edges, SIZES);
        assert_eq!(layout.layers, [0, 1, 2, 3]);
        for (a, b) in edges {
            assert!(layout.positions[a].0 < layout.positions[b].0);
        }
        assert_eq!(layout.width, 5.0 * 2.0 + 4.0 * 150.0 - 50.0);
    }

    #[test]
    fn nodes_never_overlap() {
        let edges = [(0, 2), (1, 2), (0, 3), (1, 4), (2, 5), (3, 5), (4, 5)];
        let layout = layered(6, &edges, SIZES);
        for a in 0..6 {
            for b in a + 1..6 {
                let (pa, pb) = (layout.positions[a], layout.positions[b]);
                let apart = (pa.0 - pb.0).abs() >= SIZES.node_width
                    || (pa.1 - pb.1).abs() >= SIZES.node_height;
                assert!(apart, "{a} and {b} overlap: {pa:?} {pb:?}");
            }
        }
    }

    #[test]
    fn sweeps_uncross_a_twisted_pair() {
        // 0 -> 3 and 1 -> 2: given in crossing order, laid out uncrossed.
        let layout = layered(4, &[(0, 3), (1, 2)], SIZES);
        let y = |v: usize| layout.positions[v].1;
        assert_eq!(y(0) < y(1), y(3) < y(2));
    }

    #[test]
    fn same_input_same_layout() {
        let edges = [(0, 2), (1, 2), (1, 3), (2, 4), (3, 4)];
        assert_eq!(layered(5, &edges, SIZES), layered(5, &edges, SIZES));
    }

    #[test]
    fn empty_graph_has_only_margins() {
        let layout = layered(0, &[], SIZES);
        assert_eq!((layout.width, layout.height), (10.0, 10.0));
    }
}
