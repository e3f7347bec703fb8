//! The command line as a user runs it: exit codes and one-line messages.

use std::path::Path;
use std::process::{Command, Output};

const DAY: &str = "2024-01-02";

fn fixture(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    integration_tests::cli::run(env!("CARGO_BIN_EXE_fixture-pipeline"), root, args, env)
}

use integration_tests::cli::text;

#[track_caller]
fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
}

#[test]
fn materialize_succeeds_with_exit_code_0_and_a_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("joined") && stdout.contains("materialized"),
        "{stdout}"
    );
    assert!(stdout.contains("6 steps"), "{stdout}");
}

#[test]
fn failed_step_exits_1_and_names_the_asset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "right")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("asset right [2024-01-02] failed"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("skipped"), "joined is skipped");
}

#[test]
fn unknown_asset_exits_2_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &["materialize", "--select", "joind", "-p", DAY],
        &[],
    );
    assert_usage_error(&out, r#"unknown asset "joind" (did you mean "joined"?)"#);
}

#[test]
fn malformed_partition_key_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &["materialize", "--partition", "2024-13-01"],
        &[],
    );
    assert_usage_error(&out, r#"partition key "2024-13-01" is not a day"#);
}

#[test]
fn partition_before_the_start_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &["materialize", "--partition", "2023-12-31"],
        &[],
    );
    assert_usage_error(&out, "before the first partition 2024-01-01");
}

#[test]
fn partition_key_with_path_tricks_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for key in ["../2024-01-01", "2024/01/01", ".."] {
        let out = fixture(dir.path(), &["materialize", "--partition", key], &[]);
        assert_usage_error(&out, "partition key");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "nothing written"
    );
}

#[test]
fn unwritable_root_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let out = fixture(
        &file.join("root"),
        &["materialize", "--partition", DAY],
        &[],
    );
    assert_usage_error(&out, "storage root");
}

#[test]
fn bad_flag_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(dir.path(), &["materialize", "--jobs", "0"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn list_shows_assets_partitions_and_dependencies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(dir.path(), &["list"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("daily from 2024-01-01"), "{stdout}");
    assert!(stdout.contains("left, right"), "{stdout}");
    assert!(stdout.contains("6 assets"), "{stdout}");
}

#[test]
fn root_comes_from_the_environment_when_not_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
        .args(["materialize", "--select", "lookup"])
        .env("ASSETFLOW_ROOT", dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("lookup").join("part-0.parquet").is_file());
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &["materialize", "--partition", DAY, "--dry-run"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("would run"));
    assert!(!dir.path().join("source").exists());
}

fn status_json(root: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let out = fixture(root, &["status", "--partition", DAY, "--json"], env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

fn state_of<'a>(status: &'a serde_json::Value, asset: &str) -> &'a serde_json::Value {
    status
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["asset"] == asset))
        .expect("asset in status")
}

#[test]
fn status_reports_missing_fresh_and_stale_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = status_json(dir.path(), &[]);
    assert_eq!(state_of(&before, "joined")["state"], "missing");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    let after = status_json(dir.path(), &[]);
    assert!(
        after
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["state"] == "fresh"),
        "{after}"
    );
    // One partition's rows carry its latest check results (none here).
    assert_eq!(state_of(&after, "joined")["checks"], serde_json::json!([]));
    // A new code version everywhere: every asset is stale, with its reason.
    let changed = status_json(dir.path(), &[("FIXTURE_CODE_VERSION", "2")]);
    let source = state_of(&changed, "source");
    assert_eq!(source["state"], "stale");
    assert!(
        source["reasons"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("code version changed")
    );
    let joined = state_of(&changed, "joined")["reasons"].to_string();
    assert!(
        joined.contains("upstream left 2024-01-02 will rerun"),
        "{joined}"
    );
}

#[test]
fn status_shows_a_failed_last_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(
        dir.path(),
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "right")],
    );
    let status = status_json(dir.path(), &[]);
    assert_eq!(state_of(&status, "right")["state"], "missing");
    let reasons = state_of(&status, "right")["reasons"].to_string();
    assert!(reasons.contains("its last attempt failed"), "{reasons}");
}

#[test]
fn why_explains_down_to_the_root_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    // Recompute source with more rows: new data, downstream stale because of it.
    fixture(
        dir.path(),
        &[
            "materialize",
            "--partition",
            DAY,
            "--select",
            "source",
            "--force",
        ],
        &[("FIXTURE_ROWS", "7")],
    );
    let out = fixture(
        dir.path(),
        &["why", "right", "--partition", DAY],
        &[("FIXTURE_ROWS", "7")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("right 2024-01-02 is stale"), "{stdout}");
    assert!(
        stdout.contains("source 2024-01-02 has a new data version"),
        "{stdout}"
    );
    assert!(stdout.contains("because source was recomputed"), "{stdout}");
}

#[test]
fn why_and_lineage_of_an_unknown_asset_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(dir.path(), &["why", "rigth", "--partition", DAY], &[]);
    assert_usage_error(&out, r#"unknown asset "rigth" (did you mean "right"?)"#);
    let out = fixture(dir.path(), &["lineage", "nope"], &[]);
    assert_usage_error(&out, r#"unknown asset "nope""#);
}

#[test]
fn lineage_shows_the_versions_a_partition_was_built_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    let out = fixture(
        dir.path(),
        &["lineage", "joined", "--partition", DAY, "--format", "json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tree: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let upstream = tree["upstream"].as_array().expect("upstream list");
    assert_eq!(upstream.len(), 2);
    let left = &upstream[0];
    assert_eq!(left["asset"], "left");
    assert!(left["data_version"].as_str().is_some_and(|v| v.len() == 32));
    let sources: Vec<&str> = left["upstream"]
        .as_array()
        .expect("left's inputs")
        .iter()
        .filter_map(|n| n["asset"].as_str())
        .collect();
    assert_eq!(sources, ["source", "lookup"]);
    let out = fixture(dir.path(), &["lineage", "source", "--downstream"], &[]);
    let tree = text(&out.stdout);
    assert!(
        tree.contains("-> left") && tree.contains("-> joined"),
        "{tree}"
    );
}

#[test]
fn lineage_expands_a_shared_upstream_once_and_refers_back_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    // `source` is upstream of `joined` through `left` and through `right`.
    for args in [
        vec!["lineage", "joined", "--upstream"],
        vec!["lineage", "joined", "--upstream", "--partition", DAY],
    ] {
        let out = fixture(dir.path(), &args, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let tree = text(&out.stdout);
        let source: Vec<&str> = tree
            .lines()
            .filter(|l| l.trim_start().starts_with("<- source"))
            .collect();
        assert_eq!(source.len(), 2, "{tree}");
        assert!(!source[0].ends_with("(see above)"), "{tree}");
        assert!(source[1].ends_with("(see above)"), "{tree}");
    }
    let out = fixture(
        dir.path(),
        &["lineage", "joined", "--upstream", "--format", "json"],
        &[],
    );
    let tree: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let right = &tree["upstream"][1];
    assert_eq!(right["asset"], "right");
    assert_eq!(right["upstream"][0]["asset"], "source");
    assert_eq!(right["upstream"][0]["see_above"], true);
    assert!(right["upstream"][0].get("upstream").is_none());
}

#[test]
fn history_lists_past_materializations_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(
        dir.path(),
        &["materialize", "--partition", DAY, "--select", "source"],
        &[],
    );
    fixture(
        dir.path(),
        &["materialize", "--partition", DAY, "--select", "source"],
        &[("FIXTURE_CODE_VERSION", "2")],
    );
    let out = fixture(dir.path(), &["history", "source", "--partition", DAY], &[]);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 3, "header + 2 entries: {stdout}");
}

#[test]
fn catalog_rebuild_from_sidecars_restores_the_same_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    fixture(
        dir.path(),
        &[
            "materialize",
            "--partition",
            DAY,
            "--select",
            "source",
            "--force",
        ],
        &[("FIXTURE_ROWS", "7")],
    );
    let before = status_json(dir.path(), &[]);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("_catalog.sqlite{suffix}")));
    }
    let out = fixture(dir.path(), &["catalog", "rebuild"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("6 materializations restored, 0 unreadable"));
    assert_eq!(status_json(dir.path(), &[]), before);
}

#[test]
fn corrupt_catalog_is_named_and_rebuild_recovers_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("_catalog.sqlite{suffix}")));
    }
    let catalog = dir.path().join("_catalog.sqlite");
    std::fs::write(
        &catalog,
        b"this is not a database at all, not even close......",
    )
    .expect("w");
    let out = fixture(dir.path(), &["status", "--partition", DAY], &[]);
    // An environment fault, not a failed step.
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("_catalog.sqlite") && stderr.contains("catalog rebuild"),
        "{stderr}"
    );
    let out = fixture(dir.path(), &["catalog", "rebuild"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status = status_json(dir.path(), &[]);
    assert!(
        status
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["state"] == "fresh"),
        "{status}"
    );
}

#[test]
fn unreadable_records_are_reported_and_skipped_by_rebuild() {
    use asset_core::io::{IoManager, Location, ParquetIoManager, Payload, StorageRoot, TableData};
    let dir = tempfile::tempdir().expect("tempdir");
    fixture(dir.path(), &["materialize", "--partition", DAY], &[]);
    let day = format!("day={DAY}");
    // A file at a partition path that is not Parquet.
    std::fs::write(
        dir.path().join("right").join(&day).join("part-0.parquet"),
        b"id,value\n1,2\n",
    )
    .expect("w");
    // A value whose footer has a corrupt record, and one with none.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let io = ParquetIoManager::new(StorageRoot::local(dir.path()).expect("root"));
    let batch = arrow_array::RecordBatch::try_from_iter([(
        "x",
        std::sync::Arc::new(arrow_array::Int64Array::from(vec![1])) as arrow_array::ArrayRef,
    )])
    .expect("batch");
    let left = Location::new("left", Some(DAY))
        .and_then(|l| l.with_dimensions(std::sync::Arc::from([std::sync::Arc::from("day")])))
        .expect("location");
    let table = Payload::Table(TableData::from(batch));
    runtime
        .block_on(io.publish(&left, &table, b"{ broken"))
        .expect("publish");
    let joined = Location::new("joined", Some(DAY))
        .and_then(|l| l.with_dimensions(std::sync::Arc::from([std::sync::Arc::from("day")])))
        .expect("location");
    runtime.block_on(io.store(&joined, &table)).expect("store");
    // A folder that is not `<dimension>=<key>`.
    let stray = dir.path().join("source").join(DAY);
    std::fs::create_dir_all(&stray).expect("mkdir");
    std::fs::copy(
        dir.path().join("source").join(&day).join("part-0.parquet"),
        stray.join("part-0.parquet"),
    )
    .expect("copy");

    let out = fixture(dir.path(), &["catalog", "rebuild"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("3 materializations restored, 4 unreadable records skipped"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    let warning = |needle: &str| {
        stderr
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no warning naming {needle}: {stderr}"))
            .to_owned()
    };
    assert!(warning("right/day=").contains("parquet"), "{stderr}");
    assert!(
        warning("left/day=").contains(r#"footer's "assetflow.provenance" entry does not parse"#),
        "{stderr}"
    );
    assert!(
        warning("joined/day=").contains(r#"footer has no "assetflow.provenance" entry"#),
        "{stderr}"
    );
    assert!(
        warning(&format!("source/{DAY}/")).contains(&format!(
            r#"its folder "{DAY}" does not parse as <dimension>=<key>"#
        )),
        "{stderr}"
    );
}

/// Run-time assets (factories) carry no compiled-in commit: theirs is the
/// working directory's, asked of `git` once per run (the `#[asset]`-only
/// example asks nothing: `examples/tests/spawns_no_process.rs`).
#[cfg(unix)]
#[test]
fn run_time_assets_record_the_working_directorys_commit() {
    use asset_core::catalog::{Catalog, SqliteCatalog};
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    let calls = dir.path().join("git-calls");
    let spy = bin.join("git");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        &spy,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\n[ \"$1\" = rev-parse ] && echo {commit}\nexit 0\n",
            calls.display()
        ),
    )
    .expect("spy script");
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let root = dir.path().join("data");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    let out = cmd
        .arg("--root")
        .arg(&root)
        .args(["materialize", "--partition", DAY])
        .env_remove("ASSETFLOW_ROOT")
        .env_remove("ASSETFLOW_GIT_COMMIT")
        .env("PATH", path)
        .output()
        .expect("fixture binary runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let asked = std::fs::read_to_string(&calls).expect("git was asked");
    assert_eq!(
        asked.lines().filter(|l| l.starts_with("rev-parse")).count(),
        1,
        "asked once per run: {asked}"
    );
    let catalog = SqliteCatalog::open(root.join("_catalog.sqlite")).expect("catalog");
    let records = catalog.latest_for_assets(&["joined"], None).expect("query");
    assert!(!records.is_empty());
    for record in records {
        assert_eq!(record.git_commit, commit, "{}", record.asset);
    }
}

/// `list | head`: the reader goes away while the command still writes.
/// The command must end quietly (no panic on the closed pipe, exit 0), as
/// `ls | head` does.
#[test]
fn output_into_a_pipe_closed_early_ends_quietly() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["list"],
        vec!["status"],
        vec!["lineage", "l00_a00", "--downstream"],
    ] {
        // 4,000 assets: far more output than a pipe buffers, so the writer
        // meets the closed pipe whenever the reader goes.
        let mut child = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
            .arg("--root")
            .arg(dir.path())
            .args(&args)
            .env_remove("ASSETFLOW_ROOT")
            .env("FIXTURE_GRAPH", "layered:20:200")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fixture binary runs");
        let mut stdout = child.stdout.take().expect("piped");
        let mut first = [0u8; 16];
        std::io::Read::read_exact(&mut stdout, &mut first).expect("some output");
        drop(stdout);
        let out = child.wait_with_output().expect("exits");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
