//! The site's drawings as inline SVG: the asset graph, the partition health
//! strip, the rows-and-duration plot and the run timeline (Gantt chart).
//!
//! Every text is escaped; every number is printed with one decimal so the
//! same input gives the same bytes. Each drawing is a single line, so it can
//! sit in a Markdown page's raw HTML block, and each mark carries a
//! `<title>` (the browser's tooltip) with the full detail.

use std::fmt::Write as _;

use crate::site::escape::html;
use crate::site::layout::{self, Sizes};

/// One node of a graph drawing.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its asset key (or group name): the `data-key` attribute.
    pub key: String,
    /// The text in the box (shortened if long).
    pub label: String,
    /// The tooltip.
    pub title: String,
    /// Where a click goes (relative URL).
    pub href: String,
    /// The fill colour.
    pub fill: &'static str,
    /// A heavier outline (the asset a neighbourhood is drawn around).
    pub emphasis: bool,
}

/// One edge of a graph drawing, between node indices.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Upstream node.
    pub from: usize,
    /// Downstream node.
    pub to: usize,
    /// The partition mapping, when not the same partition (`Window 7`).
    pub label: Option<String>,
}

/// Characters of a label before it is shortened with `…`.
const LABEL_CHARS: usize = 26;

/// The graph, laid out in layers from left to right. `nodes` must be in
/// topological order (edges go from earlier to later nodes; a self-edge is
/// drawn as a loop).
pub fn graph(nodes: &[Node], edges: &[Edge], class: &str) -> String {
    let longest = nodes
        .iter()
        .map(|n| n.label.chars().count().min(LABEL_CHARS))
        .max()
        .unwrap_or(8);
    let sizes = Sizes {
        node_width: (longest as f64 * 7.2 + 20.0).max(80.0),
        node_height: 28.0,
        gap_x: 70.0,
        gap_y: 18.0,
        margin: 16.0,
    };
    let forward: Vec<(usize, usize)> = edges.iter().map(|e| (e.from, e.to)).collect();
    let layout = layout::layered(nodes.len(), &forward, sizes);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" width="{w:.1}" height="{h:.1}" viewBox="0 0 {w:.1} {h:.1}" style="max-width:100%;height:auto" role="img" font-family="sans-serif" font-size="12">"#,
        w = layout.width,
        h = layout.height + 12.0,
    );
    out.push_str(r##"<defs><marker id="af-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##);
    for edge in edges {
        let (Some(&(ax, ay)), Some(&(bx, by))) = (
            layout.positions.get(edge.from),
            layout.positions.get(edge.to),
        ) else {
            continue;
        };
        let mid_y = sizes.node_height / 2.0;
        let title = match &edge.label {
            Some(l) => format!("{} → {} ({l})", nodes[edge.from].key, nodes[edge.to].key),
            None => format!("{} → {}", nodes[edge.from].key, nodes[edge.to].key),
        };
        let _ = write!(
            out,
            r#"<g class="af-edge" data-from="{}" data-to="{}"><title>{}</title>"#,
            html(&nodes[edge.from].key),
            html(&nodes[edge.to].key),
            html(&title)
        );
        let (lx, ly);
        if edge.from == edge.to {
            // A self-dependency (`Prev` of itself): a loop over the box.
            let (x0, y0) = (ax + sizes.node_width * 0.65, ay);
            let (x1, y1) = (ax + sizes.node_width * 0.35, ay);
            let _ = write!(
                out,
                "<path d=\"M{x0:.1},{y0:.1} C{:.1},{:.1} {:.1},{:.1} {x1:.1},{y1:.1}\" fill=\"none\" stroke=\"#555\" marker-end=\"url(#af-arrow)\"/>",
                x0 + 10.0,
                y0 - 26.0,
                x1 - 10.0,
                y1 - 26.0
            );
            (lx, ly) = (ax + sizes.node_width / 2.0, ay - 22.0);
        } else {
            let (x0, y0) = (ax + sizes.node_width, ay + mid_y);
            let (x1, y1) = (bx, by + mid_y);
            let bend = (x1 - x0).abs() / 2.0;
            let _ = write!(
                out,
                "<path d=\"M{x0:.1},{y0:.1} C{:.1},{y0:.1} {:.1},{y1:.1} {x1:.1},{y1:.1}\" fill=\"none\" stroke=\"#555\" marker-end=\"url(#af-arrow)\"/>",
                x0 + bend,
                x1 - bend
            );
            (lx, ly) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0 - 4.0);
        }
        if let Some(label) = &edge.label {
            let _ = write!(
                out,
                "<text class=\"af-mapping\" x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                html(label)
            );
        }
        out.push_str("</g>");
    }
    for (node, &(x, y)) in nodes.iter().zip(&layout.positions) {
        let label = shorten(&node.label, LABEL_CHARS);
        let _ = write!(
            out,
            "<a class=\"af-node\" href=\"{href}\" data-key=\"{key}\"><title>{title}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"5\" fill=\"{fill}\" stroke=\"#333\" stroke-width=\"{sw}\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\" fill=\"#111\">{label}</text></a>",
            href = html(&node.href),
            key = html(&node.key),
            title = html(&node.title),
            w = sizes.node_width,
            h = sizes.node_height,
            fill = node.fill,
            sw = if node.emphasis { "3" } else { "1" },
            tx = x + sizes.node_width / 2.0,
            ty = y + sizes.node_height / 2.0 + 4.0,
            label = html(&label),
        );
    }
    out.push_str("</svg>");
    out
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// One run of equal cells in a partition health strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cells {
    /// How many partitions in a row share the state.
    pub count: u64,
    /// The first partition of the run.
    pub first: String,
    /// The last partition of the run.
    pub last: String,
    /// The state's name.
    pub state: &'static str,
    /// The state's colour.
    pub fill: &'static str,
}

/// Width of the strip and the plots.
const WIDE: f64 = 720.0;

/// The partition health strip: one cell per partition (runs of equal state
/// drawn as one rectangle, so thousands of partitions stay small).
pub fn strip(runs: &[Cells]) -> String {
    let total: u64 = runs.iter().map(|r| r.count).sum();
    let height = 22.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="af-strip" style="max-width:100%;height:auto" width="{WIDE:.1}" height="{height:.1}" viewBox="0 0 {WIDE:.1} {height:.1}" role="img">"#
    );
    let unit = if total == 0 { 0.0 } else { WIDE / total as f64 };
    let mut done = 0u64;
    for run in runs {
        let x = done as f64 * unit;
        let w = (run.count as f64 * unit).max(0.5);
        let what = if run.count == 1 {
            format!("{}: {}", run.first, run.state)
        } else {
            format!(
                "{} … {}: {} ({} partitions)",
                run.first, run.last, run.state, run.count
            )
        };
        let _ = write!(
            out,
            "<rect class=\"af-cell\" data-state=\"{}\" x=\"{x:.1}\" y=\"0.0\" width=\"{w:.1}\" height=\"{height:.1}\" fill=\"{}\"><title>{}</title></rect>",
            run.state,
            run.fill,
            html(&what)
        );
        done += run.count;
    }
    out.push_str("</svg>");
    out
}

/// One materialized partition in the rows-and-duration plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The partition key.
    pub partition: String,
    /// Rows written.
    pub rows: u64,
    /// Seconds the step took.
    pub seconds: f64,
}

/// Points drawn at most; more are bucketed (the maximum of each bucket).
const MAX_POINTS: usize = 480;

/// Rows (top) and duration (bottom) per partition, oldest to newest.
pub fn plot(points: &[Point]) -> String {
    let points = bucketed(points);
    let (panel, gap, left) = (70.0, 26.0, 70.0);
    let height = 2.0 * panel + gap + 24.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="af-plot" style="max-width:100%;height:auto" width="{WIDE:.1}" height="{height:.1}" viewBox="0 0 {WIDE:.1} {height:.1}" role="img" font-family="sans-serif" font-size="10">"#
    );
    let inner = WIDE - left - 10.0;
    let step = if points.len() > 1 {
        inner / (points.len() - 1) as f64
    } else {
        0.0
    };
    fn rows(p: &Point) -> f64 {
        p.rows as f64
    }
    fn seconds(p: &Point) -> f64 {
        p.seconds
    }
    type Series<'a> = (&'a str, &'a str, fn(&Point) -> f64);
    let series: [Series<'_>; 2] = [("rows", "#1565c0", rows), ("seconds", "#c62828", seconds)];
    for (k, (name, colour, value)) in series.iter().enumerate() {
        let top = 8.0 + k as f64 * (panel + gap);
        let max = points.iter().map(value).fold(0.0, f64::max);
        let _ = write!(
            out,
            "<text x=\"4\" y=\"{:.1}\" fill=\"{colour}\">{name}</text><text x=\"4\" y=\"{:.1}\" fill=\"#555\">max {}</text><line x1=\"{left:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#bbb\"/>",
            top + 12.0,
            top + 26.0,
            number(max),
            top + panel,
            left + inner,
            top + panel
        );
        let mut path = String::new();
        for (i, p) in points.iter().enumerate() {
            let y = if max > 0.0 {
                top + panel - value(p) / max * panel
            } else {
                top + panel
            };
            let _ = write!(path, "{:.1},{y:.1} ", left + i as f64 * step);
        }
        let _ = write!(
            out,
            "<polyline class=\"af-series\" data-series=\"{name}\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>",
            path.trim_end()
        );
        if points.len() == 1 {
            let y = top + panel - if max > 0.0 { panel } else { 0.0 };
            let _ = write!(
                out,
                "<circle cx=\"{left:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{colour}\"/>"
            );
        }
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            out,
            "<text x=\"{left:.1}\" y=\"{:.1}\" fill=\"#555\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            height - 4.0,
            html(&first.partition),
            left + inner,
            height - 4.0,
            html(&last.partition)
        );
    }
    out.push_str("</svg>");
    out
}

fn bucketed(points: &[Point]) -> Vec<Point> {
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let size = points.len().div_ceil(MAX_POINTS);
    points
        .chunks(size)
        .map(|chunk| Point {
            partition: chunk[chunk.len() - 1].partition.clone(),
            rows: chunk.iter().map(|p| p.rows).max().unwrap_or(0),
            seconds: chunk.iter().map(|p| p.seconds).fold(0.0, f64::max),
        })
        .collect()
}

/// `1234567` as `1.2M`, `0.25` as `0.25`.
fn number(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else if value >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// One bar of a run timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What ran: `asset partition`.
    pub label: String,
    /// Seconds from the run's start.
    pub start: f64,
    /// Seconds from the run's start.
    pub end: f64,
    /// `succeeded` or `failed` (or `N steps` for an aggregated bar).
    pub outcome: String,
    /// The bar's colour.
    pub fill: &'static str,
    /// Where a click goes (the asset's page).
    pub href: String,
}

/// A Gantt chart: one bar per step on a shared time axis, so a reader sees
/// where time went and what ran in parallel.
pub fn gantt(bars: &[Bar]) -> String {
    let (row, label_width) = (18.0, 230.0);
    let span = bars.iter().map(|b| b.end).fold(0.0, f64::max).max(0.001);
    let inner = WIDE + 180.0 - label_width - 10.0;
    let height = bars.len() as f64 * row + 28.0;
    let width = WIDE + 180.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="af-gantt" style="max-width:100%;height:auto" width="{width:.1}" height="{height:.1}" viewBox="0 0 {width:.1} {height:.1}" role="img" font-family="sans-serif" font-size="11">"#
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = i as f64 * row;
        let x = label_width + bar.start / span * inner;
        let w = ((bar.end - bar.start) / span * inner).max(1.0);
        let _ = write!(
            out,
            "<a class=\"af-bar\" href=\"{href}\"><title>{title}</title><text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\" fill=\"#111\">{label}</text><rect x=\"{x:.1}\" y=\"{ry:.1}\" width=\"{w:.1}\" height=\"{rh:.1}\" fill=\"{fill}\" data-outcome=\"{outcome}\"/></a>",
            href = html(&bar.href),
            title = html(&format!(
                "{}: {} ({:.3} s, from {:.3} s)",
                bar.label,
                bar.outcome,
                bar.end - bar.start,
                bar.start
            )),
            tx = label_width - 6.0,
            ty = y + row - 5.0,
            label = html(&shorten(&bar.label, 34)),
            ry = y + 2.0,
            rh = row - 4.0,
            fill = bar.fill,
            outcome = html(&bar.outcome),
        );
    }
    let axis = bars.len() as f64 * row + 4.0;
    let _ = write!(
        out,
        "<line x1=\"{label_width:.1}\" y1=\"{axis:.1}\" x2=\"{:.1}\" y2=\"{axis:.1}\" stroke=\"#999\"/><text x=\"{label_width:.1}\" y=\"{:.1}\" fill=\"#555\">0 s</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{:.3} s</text>",
        label_width + inner,
        axis + 16.0,
        label_width + inner,
        axis + 16.0,
        span
    );
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str) -> Node {
        Node {
            key: key.into(),
            label: key.into(),
            title: key.into(),
            href: format!("{key}.html"),
            fill: "#fff",
            emphasis: false,
        }
    }

    #[test]
    fn graph_has_one_node_per_asset_and_every_edge() {
        let nodes = [node("a"), node("b"), node("c")];
        let edges = [
            Edge {
                from: 0,
                to: 1,
                label: None,
            },
            Edge {
                from: 0,
                to: 2,
                label: Some("Window 7".into()),
            },
            Edge {
                from: 2,
                to: 2,
                label: Some("Prev".into()),
            },
        ];
        let svg = graph(&nodes, &edges, "af-graph");
        assert_eq!(svg.matches("<a class=\"af-node\"").count(), 3);
        assert_eq!(svg.matches("<g class=\"af-edge\"").count(), 3);
        assert!(svg.contains("data-from=\"a\" data-to=\"c\""));
        assert!(svg.contains(">Window 7</text>"));
        assert!(svg.contains("href=\"b.html\""));
        assert!(!svg.contains('\n'));
    }

    #[test]
    fn graph_escapes_keys_and_titles() {
        let mut evil = node("</svg><script>");
        evil.title = "<script>alert(1)</script>".into();
        let svg = graph(&[evil], &[], "af-graph");
        assert_eq!(svg.matches("</svg>").count(), 1, "{svg}");
        assert!(!svg.contains("<script>"), "{svg}");
    }

    #[test]
    fn strip_draws_runs_scaled_to_the_width() {
        let run = |count, state, fill| Cells {
            count,
            first: "a".into(),
            last: "b".into(),
            state,
            fill,
        };
        let svg = strip(&[run(3, "fresh", "#0f0"), run(1, "missing", "#ccc")]);
        assert_eq!(svg.matches("class=\"af-cell\"").count(), 2);
        assert!(svg.contains("width=\"540.0\""), "{svg}");
        assert!(svg.contains("width=\"180.0\""), "{svg}");
    }

    #[test]
    fn plot_buckets_many_points() {
        let points: Vec<Point> = (0..20_000)
            .map(|i| Point {
                partition: format!("p{i}"),
                rows: i,
                seconds: 0.5,
            })
            .collect();
        let svg = plot(&points);
        let rows = svg
            .split("data-series=\"rows\" points=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default();
        assert!(rows.split(' ').count() <= MAX_POINTS, "bounded");
        assert!(svg.contains("max 20.0k"), "{svg}");
    }

    #[test]
    fn gantt_places_bars_on_one_time_axis() {
        let bar = |label: &str, start, end| Bar {
            label: label.into(),
            start,
            end,
            outcome: "succeeded".into(),
            fill: "#0f0",
            href: "x.html".into(),
        };
        let svg = gantt(&[bar("a", 0.0, 1.0), bar("b", 1.0, 2.0)]);
        assert_eq!(svg.matches("class=\"af-bar\"").count(), 2);
        // The second bar starts where the first ends: half the axis.
        assert!(
            svg.contains("x=\"230.0\" y=\"2.0\" width=\"330.0\""),
            "{svg}"
        );
        assert!(
            svg.contains("x=\"560.0\" y=\"20.0\" width=\"330.0\""),
            "{svg}"
        );
    }
}
