//! `runs` and `runs show ID` as a user runs them, on the fixture pipeline.

use std::path::Path;
use std::process::Output;

const DAY: &str = "2024-01-02";

fn fixture(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    integration_tests::cli::run(env!("CARGO_BIN_EXE_fixture-pipeline"), root, args, env)
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        integration_tests::cli::text(&out.stderr)
    );
    integration_tests::cli::text(&out.stdout)
}

/// The rows of a `runs` listing below its header, split on whitespace.
fn rows(listing: &str) -> Vec<Vec<String>> {
    listing
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// A good run, then one where `right` fails (a new code version makes
/// everything run again).
fn two_runs(root: &Path) {
    fixture(root, &["materialize", "--partition", DAY], &[]);
    let failed = fixture(
        root,
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "right"), ("FIXTURE_CODE_VERSION", "2")],
    );
    assert_eq!(failed.status.code(), Some(1));
}

#[test]
fn runs_lists_each_run_newest_first_with_its_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_runs(dir.path());
    let listing = stdout(&fixture(dir.path(), &["runs"], &[]));
    let header = listing.lines().next().expect("header");
    assert!(
        header.starts_with("run") && header.contains("materialized"),
        "{listing}"
    );
    let listed = rows(&listing);
    assert_eq!(listed.len(), 2, "{listing}");
    // Newest first: the failed run, then the good one.
    assert_eq!(listed[0][1], "failed", "{listing}");
    assert_eq!(listed[1][1], "succeeded", "{listing}");
    // run, status, started, duration, tag, materialized, failed, command...
    assert_eq!(listed[1][5], "6", "every step of the good run: {listing}");
    assert_eq!(listed[0][6], "1", "right failed: {listing}");
    assert!(listing.contains("materialize --partition"), "{listing}");

    let failed_only = stdout(&fixture(dir.path(), &["runs", "--status", "failed"], &[]));
    assert_eq!(rows(&failed_only).len(), 1, "{failed_only}");
    assert_eq!(rows(&failed_only)[0][0], listed[0][0]);
    let newest = stdout(&fixture(dir.path(), &["runs", "--limit", "1"], &[]));
    assert_eq!(rows(&newest).len(), 1, "{newest}");
    let none = stdout(&fixture(
        dir.path(),
        &["runs", "--status", "cancelled"],
        &[],
    ));
    assert_eq!(none.trim(), "no cancelled runs recorded");
}

#[test]
fn runs_show_gives_every_step_with_outcome_attempts_and_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_runs(dir.path());
    let listing = stdout(&fixture(dir.path(), &["runs", "--status", "failed"], &[]));
    let id = rows(&listing)[0][0].clone();
    let shown = stdout(&fixture(dir.path(), &["runs", "show", &id], &[]));
    assert!(shown.contains(&format!("run       {id}")), "{shown}");
    assert!(shown.contains("status    failed"), "{shown}");
    let step = |asset: &str| -> String {
        shown
            .lines()
            .find(|l| l.split_whitespace().next() == Some(asset))
            .unwrap_or_else(|| panic!("{asset} in {shown}"))
            .to_owned()
    };
    let right = step("right");
    assert!(right.contains(DAY) && right.contains("failed"), "{right}");
    assert!(right.contains("right"), "{right}");
    let fields: Vec<&str> = right.split_whitespace().collect();
    assert_eq!(fields[3], "1", "one attempt: {right}");
    let left = step("left");
    assert!(left.contains("materialized"), "{left}");
    // `joined` was skipped (its upstream failed): nothing recorded.
    assert!(!shown.lines().any(|l| l.starts_with("joined")), "{shown}");
}

#[test]
fn runs_show_of_an_unknown_id_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_runs(dir.path());
    let out = fixture(dir.path(), &["runs", "show", "no-such-run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = integration_tests::cli::text(&out.stderr);
    assert!(stderr.contains(r#"unknown run "no-such-run""#), "{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error")).count(), 1);
    let zero = fixture(dir.path(), &["runs", "--limit", "0"], &[]);
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn runs_on_a_root_with_nothing_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("never");
    let out = fixture(&root, &["runs"], &[]);
    assert_eq!(
        stdout(&out).trim(),
        "no runs recorded (start one with `materialize`)"
    );
    assert!(!root.exists());
}
