//! The lineage site and graph exports as a user runs them: `book` over a
//! real pipeline's catalog, its exit codes, and `lineage --format dot|mermaid`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(root: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root").arg(root).args(args);
    cmd.env_remove("ASSETFLOW_ROOT");
    cmd.env("FIXTURE_ROWS", "5");
    cmd.output().expect("fixture binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Every file under `dir`, relative path to bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("readable file");
                files.insert(path.strip_prefix(dir).expect("inside").to_path_buf(), bytes);
            }
        }
    }
    files
}

/// The diamond fixture, materialized for two of the three days that exist
/// as of 2024-01-04.
fn materialized() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    ok(&fixture(
        &root,
        &["materialize", "--from", "2024-01-01", "--to", "2024-01-02"],
    ));
    dir
}

fn book(dir: &Path, out: &Path) -> Output {
    let root = dir.join("data");
    let out = out.to_str().expect("utf-8 path");
    fixture(
        &root,
        &["book", "--out", out, "--as-of", "2024-01-04", "--no-build"],
    )
}

#[test]
fn book_writes_the_overview_and_a_page_per_asset_and_run() {
    let dir = materialized();
    let out = dir.path().join("site");
    let printed = ok(&book(dir.path(), &out));
    assert!(printed.trim_end().ends_with("SUMMARY.md"), "{printed}");
    let overview = std::fs::read_to_string(out.join("src/overview.md")).expect("overview");
    assert_eq!(
        overview.matches("<a class=\"af-node\"").count(),
        6,
        "one node per asset"
    );
    for (from, to) in [
        ("source", "left"),
        ("lookup", "left"),
        ("source", "right"),
        ("left", "joined"),
        ("right", "joined"),
    ] {
        assert!(
            overview.contains(&format!("data-from=\"{from}\" data-to=\"{to}\"")),
            "edge {from} -> {to}"
        );
    }
    for asset in ["lookup", "source", "left", "right", "joined", "other"] {
        let page = std::fs::read_to_string(out.join(format!("src/assets/{asset}.md")))
            .expect("asset page");
        assert!(page.contains("class=\"af-strip\""), "{asset} has a strip");
    }
    let source = std::fs::read_to_string(out.join("src/assets/source.md")).expect("page");
    assert!(
        source.contains("2 of 3 partitions fresh, 0 stale, 1 missing"),
        "{source}"
    );
    assert!(source.contains("<table class=\"af-provenance\">"));
    let runs = std::fs::read_to_string(out.join("src/runs/index.md")).expect("runs");
    assert!(runs.contains("materialize"), "{runs}");
    assert!(
        out.join("src/guide/storage.md").exists(),
        "the guide is in the site"
    );
    assert!(out.join("book.toml").exists());
}

#[test]
fn book_twice_gives_the_same_bytes() {
    let dir = materialized();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&book(dir.path(), &a));
    ok(&book(dir.path(), &b));
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(ta.len() > 20, "{} files", ta.len());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(tb.get(path) == Some(bytes), "{} differs", path.display());
    }
}

#[test]
fn book_of_an_empty_catalog_shows_everything_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    ok(&book(dir.path(), &out));
    let overview = std::fs::read_to_string(out.join("src/overview.md")).expect("overview");
    assert!(
        overview.contains("6 assets: 0 fresh, 0 partly materialized, 0 stale, 0 failed, 6 missing"),
        "{overview}"
    );
}

#[test]
fn book_into_an_unwritable_folder_is_one_line_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a folder").expect("write");
    let out = book(dir.path(), &blocker.join("site"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot write the site to") && errors[0].contains("a-file"),
        "{stderr}"
    );
}

#[test]
fn book_refuses_a_catalog_from_a_newer_version() {
    let dir = materialized();
    let catalog = dir.path().join("data/_catalog.sqlite");
    // SQLite keeps `PRAGMA user_version` (the schema version) big-endian at
    // byte 60 of the file's header.
    let mut bytes = std::fs::read(&catalog).expect("catalog");
    bytes[60..64].copy_from_slice(&999u32.to_be_bytes());
    std::fs::write(&catalog, bytes).expect("write");
    let out = book(dir.path(), &dir.path().join("site"));
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("schema version 999") && stderr.contains("upgrade assetflow"),
        "{stderr}"
    );
    assert!(!dir.path().join("site/src").exists(), "nothing written");
}

#[test]
fn book_with_a_bad_as_of_or_range_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let out = fixture(
        &root,
        &["book", "--out", "x", "--as-of", "soon", "--no-build"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = fixture(&root, &["book", "--from", "2024-01-05", "--no-build"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn lineage_exports_dot_and_mermaid_with_every_edge() {
    let dir = materialized();
    let root = dir.path().join("data");
    let dot = ok(&fixture(&root, &["lineage", "left", "--format", "dot"]));
    assert!(dot.starts_with("digraph lineage {"), "{dot}");
    // left reads source and lookup and is read by joined: three edges.
    assert_eq!(dot.matches(" -> ").count(), 3, "{dot}");
    let mermaid = ok(&fixture(
        &root,
        &[
            "lineage",
            "left",
            "--format",
            "mermaid",
            "--partition",
            "2024-01-01",
        ],
    ));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains("source [2024-01-01]<br>data "),
        "versions with a partition: {mermaid}"
    );
    assert_eq!(mermaid.matches(" --> ").count(), 3, "{mermaid}");
}
