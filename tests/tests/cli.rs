//! The command line as a user runs it: exit codes and one-line messages.

use std::path::Path;
use std::process::{Command, Output};

const DAY: &str = "2024-01-02";

fn fixture(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root").arg(root).args(args);
    cmd.env_remove("ASSETFLOW_ROOT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("fixture binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

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
    assert!(dir.path().join("lookup").join("data.parquet").is_file());
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
