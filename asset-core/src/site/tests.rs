//! The site over a small graph and a hand-written catalog: pages, drawings,
//! links, escaping, determinism.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use super::*;
use crate::asset::registry::Registry;
use crate::catalog::{
    FailureRecord, InputVersion, MaterializationRecord, RunInfo, RunStatus, SqliteCatalog,
};
use crate::{AssetDef, PartitionMapping, PartitionsDef};

const EVIL: &str = "Clicks <script>alert(1)</script> and </svg> **bold** [x](javascript:alert(1))";

/// The catalog below has records and no stored values: the assets store
/// nothing, so the site judges them by their records alone.
fn def(key: &str) -> AssetDef {
    AssetDef::new(key, |_| {
        Box::pin(async { Ok(io_managers::Payload::Nothing) })
    })
    .with_io_manager("parquet", io_managers::PayloadKind::Nothing)
    .with_partitions(PartitionsDef::daily("2024-01-01").unwrap())
}

fn graph() -> AssetGraph {
    let registry = Registry::from_defs(vec![
        def("clicks").with_description(EVIL),
        def("sessions").with_dependency("clicks"),
        def("weekly")
            .with_mapped_dependency("sessions", PartitionMapping::Window(7))
            .with_description("Weekly | engagement"),
    ])
    .unwrap();
    AssetGraph::build(registry).unwrap()
}

fn record(asset: &str, day: &str, run: &str, inputs: Vec<InputVersion>) -> MaterializationRecord {
    MaterializationRecord {
        asset: asset.into(),
        partition: Some(day.into()),
        run_id: run.into(),
        code_version: "0".into(),
        data_version: format!("{asset}-{day}-v1"),
        inputs,
        uri: format!("file:///data/{asset}/{day}"),
        rows: 10,
        bytes: 100,
        started_at: "2024-01-05T10:00:00.000Z".into(),
        finished_at: "2024-01-05T10:00:01.250Z".into(),
        framework_version: "0.1.0".into(),
        config_hash: None,
        git_commit: "abcdef0123".into(),
        schema: Some("id: Int64".into()),
        tag: None,
        promoted_from: None,
    }
}

fn options() -> SiteOptions {
    SiteOptions {
        now: chrono::DateTime::parse_from_rfc3339("2024-01-04T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        title: "test".into(),
        ..SiteOptions::default()
    }
}

/// A catalog where clicks and sessions have 2024-01-01 and 02, and the
/// last attempt at clicks 2024-01-02 failed (after its materialization).
fn catalog(dir: &Path) -> SqliteCatalog {
    let catalog = SqliteCatalog::open(dir.join("c.sqlite")).unwrap();
    let run = "20240105T100000.000Z-1-0";
    catalog
        .begin_run(&RunInfo {
            run_id: run.into(),
            started_at: "2024-01-05T10:00:00.000Z".into(),
            finished_at: None,
            status: RunStatus::Running,
            command: "materialize --from 2024-01-01 --to 2024-01-03".into(),
            tag: None,
        })
        .unwrap();
    for day in ["2024-01-01", "2024-01-02"] {
        catalog
            .record_materialization(&record("clicks", day, run, vec![]))
            .unwrap();
        let input = InputVersion {
            asset: "clicks".into(),
            partition: Some(day.into()),
            data_version: format!("clicks-{day}-v1"),
        };
        catalog
            .record_materialization(&record("sessions", day, run, vec![input]))
            .unwrap();
    }
    catalog
        .record_failure(&FailureRecord {
            run_id: run.into(),
            asset: "clicks".into(),
            partition: Some("2024-01-02".into()),
            tag: None,
            attempt: 1,
            error: "boom <b>".into(),
            started_at: "2024-01-05T10:00:00.500Z".into(),
            finished_at: "2024-01-05T10:00:02.000Z".into(),
        })
        .unwrap();
    catalog
        .end_run(run, RunStatus::Failed, "2024-01-05T10:00:03.000Z")
        .unwrap();
    catalog.flush().unwrap();
    catalog
}

fn generate(dir: &Path, catalog: &SqliteCatalog) -> Site {
    let root = io_managers::StorageRoot::parse(dir.to_str().unwrap()).unwrap();
    Site::generate(
        &graph(),
        catalog,
        &ConfigFile::default(),
        &IoManagers::defaults(&root),
        &options(),
    )
    .unwrap()
}

fn text(site: &Site, path: &str) -> String {
    String::from_utf8(
        site.file(path)
            .unwrap_or_else(|| panic!("{path} generated"))
            .to_vec(),
    )
    .unwrap()
}

#[test]
fn overview_draws_one_linked_node_per_asset_and_every_edge() {
    let dir = tempfile::tempdir().unwrap();
    let site = generate(dir.path(), &catalog(dir.path()));
    let overview = text(&site, "src/overview.md");
    assert_eq!(
        overview.matches("<a class=\"af-node\"").count(),
        3,
        "{overview}"
    );
    for (from, to) in [("clicks", "sessions"), ("sessions", "weekly")] {
        assert!(
            overview.contains(&format!("data-from=\"{from}\" data-to=\"{to}\"")),
            "{from} -> {to}"
        );
    }
    assert!(overview.contains(">Window 7</text>"), "mapping on the edge");
    // clicks has a failed day, sessions a stale one, weekly nothing.
    assert!(overview.contains(&format!("fill=\"{}\"", model::Health::Failed.fill())));
    assert!(overview.contains(&format!("fill=\"{}\"", model::Health::Stale.fill())));
    assert!(overview.contains(&format!("fill=\"{}\"", model::Health::Missing.fill())));
}

#[test]
fn every_link_resolves_to_a_generated_file() {
    let dir = tempfile::tempdir().unwrap();
    let site = generate(dir.path(), &catalog(dir.path()));
    let files: BTreeSet<&str> = site.files().map(|(p, _)| p).collect();
    let mut checked = 0;
    for (path, bytes) in site.files() {
        if !path.ends_with(".md") || path.starts_with("src/guide/") {
            continue;
        }
        let page = String::from_utf8(bytes.to_vec()).unwrap();
        let page_dir = Path::new(path).parent().unwrap();
        let mut targets: Vec<String> = Vec::new();
        for piece in page.split("href=\"").skip(1) {
            targets.push(piece.split('"').next().unwrap().to_owned());
        }
        // Markdown links, outside raw HTML lines (whose tooltips may quote
        // a doc comment's text).
        for line in page.lines().filter(|l| !l.starts_with('<')) {
            for piece in line.split("](").skip(1) {
                targets.push(piece.split(')').next().unwrap().to_owned());
            }
        }
        for target in targets {
            let target = target.split('#').next().unwrap();
            if target.is_empty() || target.starts_with("http") {
                continue;
            }
            let source = target.replace(".html", ".md");
            let joined = if path == "src/SUMMARY.md" {
                Path::new("src").join(&source)
            } else {
                page_dir.join(&source)
            };
            let mut normal = std::path::PathBuf::new();
            for part in joined.components() {
                match part {
                    std::path::Component::ParentDir => {
                        normal.pop();
                    }
                    other => normal.push(other),
                }
            }
            let normal = normal.to_string_lossy().into_owned();
            assert!(
                files.contains(normal.as_str()),
                "{path} links to {target}: no {normal}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "links checked: {checked}");
}

#[test]
fn doc_comments_are_escaped_not_markup() {
    let dir = tempfile::tempdir().unwrap();
    let site = generate(dir.path(), &catalog(dir.path()));
    for (path, bytes) in site.files() {
        if path.starts_with("src/guide/") {
            continue;
        }
        let page = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!page.contains("<script"), "{path}");
        assert!(!page.contains("href=\"javascript"), "{path}");
        // The only </svg> are the ones closing our drawings.
        assert_eq!(
            page.matches("</svg>").count(),
            page.matches("<svg ").count(),
            "{path}"
        );
    }
    let page = text(&site, "src/assets/clicks.md");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("<strong>bold</strong>"),
        "Markdown still rendered"
    );
    let overview = text(&site, "src/overview.md");
    assert!(
        overview.contains("Weekly \\| engagement"),
        "table cell escaped"
    );
}

#[test]
fn asset_page_shows_strip_provenance_reasons_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let site = generate(dir.path(), &catalog(dir.path()));
    let page = text(&site, "src/assets/sessions.md");
    // Three days exist as of 2024-01-04: fresh, stale (its upstream
    // failed), missing.
    assert!(
        page.contains("1 of 3 partitions fresh, 1 stale, 1 missing"),
        "{page}"
    );
    assert_eq!(
        page.matches("class=\"af-cell\"").count(),
        3,
        "runs of cells"
    );
    assert!(page.contains("<table class=\"af-provenance\">"));
    assert!(
        page.contains("href=\"../assets/clicks.html#p-2024-01-02\""),
        "input links"
    );
    assert!(page.contains("<code>abcdef01</code>"), "git commit");
    assert!(page.contains("1.250 s"), "duration");
    assert!(
        page.contains("upstream clicks 2024\\-01\\-02 will rerun"),
        "{page}"
    );
    // The chain explains the newest stale partition down to clicks' failure.
    assert!(page.contains("sessions 2024-01-02 is stale:\n- upstream clicks 2024-01-02 will rerun\n  clicks 2024-01-02 is failed:\n  - its last attempt failed: boom <b>"), "{page}");
    assert!(page.contains("class=\"af-plot\""));
    assert!(page.contains("Upstream: [clicks](../assets/clicks.md)."));
    assert!(page.contains("Downstream: [weekly](../assets/weekly.md)."));
    let clicks = text(&site, "src/assets/clicks.md");
    assert!(
        clicks.contains("clicks 2024-01-02 is failed:"),
        "why-chain: {clicks}"
    );
    assert!(
        clicks.contains("boom &lt;b&gt;"),
        "reason escaped: {clicks}"
    );
}

#[test]
fn run_page_has_a_timeline_with_failed_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let site = generate(dir.path(), &catalog(dir.path()));
    let page = text(&site, "src/runs/20240105T100000.000Z-1-0.md");
    assert_eq!(page.matches("class=\"af-bar\"").count(), 5, "{page}");
    assert_eq!(page.matches("data-outcome=\"failed\"").count(), 1);
    assert!(page.contains("4 materialized, 1 failed attempts"));
    let summary = text(&site, "src/SUMMARY.md");
    assert!(
        summary.contains("(runs/20240105T100000.000Z-1-0.md)"),
        "{summary}"
    );
    assert!(
        summary.contains("(guide/partitions.md)"),
        "the guide is part of the site"
    );
}

#[test]
fn same_catalog_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    assert_eq!(
        generate(dir.path(), &catalog),
        generate(dir.path(), &catalog)
    );
}

#[test]
fn empty_catalog_renders_everything_missing() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(dir.path().join("empty.sqlite")).unwrap();
    let site = generate(dir.path(), &catalog);
    let overview = text(&site, "src/overview.md");
    assert!(
        overview.contains("3 assets: 0 fresh, 0 partly materialized, 0 stale, 0 failed, 3 missing"),
        "{overview}"
    );
    assert!(text(&site, "src/runs/index.md").contains("No runs recorded"));
    assert!(text(&site, "src/assets/weekly.md").contains("Never materialized."));
}

#[test]
fn write_to_replaces_the_generated_pages() {
    let dir = tempfile::tempdir().unwrap();
    let site = generate(dir.path(), &catalog(dir.path()));
    let out = dir.path().join("book");
    std::fs::create_dir_all(out.join("src/assets")).unwrap();
    std::fs::write(out.join("src/assets/gone.md"), "old").unwrap();
    site.write_to(&out).unwrap();
    assert!(!out.join("src/assets/gone.md").exists());
    assert!(out.join("src/overview.md").exists());
    assert!(out.join("book.toml").exists());
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let e = site.write_to(&blocked.join("sub")).unwrap_err().to_string();
    assert!(e.starts_with("cannot write the site to "), "{e}");
}
