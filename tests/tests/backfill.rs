//! Backfills as a user runs them: ranges, order, chronological
//! self-dependent assets, tagged namespaces, resume after kill -9, and the
//! one-line errors for bad ranges.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use asset_core::catalog::{Catalog, SqliteCatalog};

fn fixture(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root").arg(root).args(args);
    cmd.env_remove("ASSETFLOW_ROOT");
    cmd.env("FIXTURE_GRAPH", "history");
    cmd.env("FIXTURE_ROWS", "20");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("fixture binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[track_caller]
fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
}

fn catalog(root: &Path) -> SqliteCatalog {
    SqliteCatalog::open(root.join("_catalog.sqlite")).expect("catalog opens")
}

/// Materializations per asset-partition in the production history.
fn materialization_counts(root: &Path, assets: &[&str]) -> HashMap<(String, String), usize> {
    let catalog = catalog(root);
    let mut counts = HashMap::new();
    for asset in assets {
        for record in catalog.history(asset, None, 100_000).expect("history") {
            if record.tag.is_none() {
                *counts
                    .entry((
                        record.asset.clone(),
                        record.partition.clone().unwrap_or_default(),
                    ))
                    .or_insert(0) += 1;
            }
        }
    }
    counts
}

const DAILY: [&str; 4] = ["events", "sessions", "running_total", "rolling"];

fn days(from: u32, to: u32) -> Vec<String> {
    (from..=to).map(|d| format!("2024-01-{d:02}")).collect()
}

#[test]
fn a_backfill_materializes_the_range_once_and_a_rerun_recomputes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "materialize",
        "--select",
        "events,sessions,running_total,rolling",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-10",
    ];
    let out = fixture(dir.path(), &args, &[]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    // The per-asset summary of a backfill.
    assert!(
        stdout.contains("40 steps over 4 assets") && stdout.contains("40 materialized"),
        "{stdout}"
    );
    for asset in DAILY {
        for day in days(1, 10) {
            assert!(
                dir.path()
                    .join(asset)
                    .join(format!("day={day}"))
                    .join("part-0.parquet")
                    .is_file(),
                "{asset} {day}"
            );
        }
    }
    let again = fixture(dir.path(), &args, &[]);
    assert_ok(&again);
    assert!(text(&again.stdout).contains("0 materialized, 40 fresh"));
    let counts = materialization_counts(dir.path(), &DAILY);
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

#[test]
fn newest_partitions_start_first_unless_oldest_first_is_asked() {
    for (order, first_day) in [
        ("newest-first", "2024-01-05"),
        ("oldest-first", "2024-01-01"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = fixture(
            dir.path(),
            &[
                "materialize",
                "--select",
                "events",
                "--from",
                "2024-01-01",
                "--to",
                "2024-01-05",
                "--jobs",
                "1",
                "--order",
                order,
            ],
            &[],
        );
        assert_ok(&out);
        let records = catalog(dir.path())
            .history("events", None, 100)
            .expect("history");
        // History is newest first: the last entry was materialized first.
        let first = records.last().and_then(|r| r.partition.clone());
        assert_eq!(first.as_deref(), Some(first_day), "{order}");
    }
}

#[test]
fn a_self_dependent_asset_runs_chronologically_and_reads_its_previous_partition() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &[
            "materialize",
            "--select",
            "+running_total",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-06",
            "--jobs",
            "4",
        ],
        &[],
    );
    assert_ok(&out);
    let catalog = catalog(dir.path());
    let mut history = catalog
        .history("running_total", None, 100)
        .expect("history");
    history.reverse();
    let order: Vec<String> = history.iter().filter_map(|r| r.partition.clone()).collect();
    assert_eq!(order, days(1, 6), "chronological");
    // The first partition reads no previous one; each later one reads exactly
    // the partition before it, at the version it was published with.
    let first = &history[0];
    assert!(
        first.inputs.iter().all(|i| i.asset != "running_total"),
        "{:?}",
        first.inputs
    );
    for pair in history.windows(2) {
        let prev: Vec<_> = pair[1]
            .inputs
            .iter()
            .filter(|i| i.asset == "running_total")
            .collect();
        assert_eq!(prev.len(), 1);
        assert_eq!(prev[0].partition, pair[0].partition);
        assert_eq!(prev[0].data_version, pair[0].data_version);
    }
}

#[test]
fn a_window_reads_fewer_partitions_at_the_start_of_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &[
            "materialize",
            "--select",
            "+rolling",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-04",
        ],
        &[],
    );
    assert_ok(&out);
    let catalog = catalog(dir.path());
    let inputs_of = |day: &str| -> Vec<String> {
        catalog
            .latest("rolling", Some(day), None)
            .expect("latest")
            .expect("materialized")
            .inputs
            .iter()
            .filter_map(|i| i.partition.clone())
            .collect()
    };
    assert_eq!(inputs_of("2024-01-01"), ["2024-01-01"]);
    assert_eq!(inputs_of("2024-01-02"), ["2024-01-01", "2024-01-02"]);
    assert_eq!(
        inputs_of("2024-01-04"),
        ["2024-01-02", "2024-01-03", "2024-01-04"]
    );
}

#[test]
fn a_tagged_backfill_never_touches_production_until_promoted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let range = ["--from", "2024-01-01", "--to", "2024-01-03"];
    let mut args = vec!["materialize", "--select", "events,sessions"];
    args.extend(range);
    assert_ok(&fixture(root, &args, &[]));
    let production = root.join("sessions/day=2024-01-02/part-0.parquet");
    let before = std::fs::read(&production).expect("production file");

    // New code, backfilled into a tag.
    let mut tagged = args.clone();
    tagged.extend(["--tag", "v2"]);
    let out = fixture(root, &tagged, &[("FIXTURE_CODE_VERSION", "2")]);
    assert_ok(&out);
    assert_eq!(std::fs::read(&production).expect("still there"), before);
    assert!(
        root.join("_tags/v2/sessions/day=2024-01-02/part-0.parquet")
            .is_file()
    );
    let prod_record = catalog(root)
        .latest("sessions", Some("2024-01-02"), None)
        .expect("latest")
        .expect("production record");
    let tag_record = catalog(root)
        .latest("sessions", Some("2024-01-02"), Some("v2"))
        .expect("latest")
        .expect("tagged record");
    assert_ne!(prod_record.code_version, tag_record.code_version);

    assert_ok(&fixture(root, &["promote", "--tag", "v2"], &[]));
    let promoted = catalog(root)
        .latest("sessions", Some("2024-01-02"), None)
        .expect("latest")
        .expect("production record");
    assert_eq!(promoted.data_version, tag_record.data_version);
    assert_eq!(promoted.code_version, tag_record.code_version);
    assert_eq!(promoted.promoted_from.as_deref(), Some("v2"));
    // The production file carries the promoted record in its footer.
    let file = std::fs::read(root.join("sessions/day=2024-01-02/part-0.parquet"))
        .expect("production file");
    let footer = String::from_utf8_lossy(&file);
    assert!(footer.contains(&tag_record.code_version), "{footer}");
    assert!(footer.contains("promoted_from"), "{footer}");
    // Production is now up to date with the new code.
    let rerun = fixture(root, &args, &[("FIXTURE_CODE_VERSION", "2")]);
    assert_ok(&rerun);
    assert!(
        text(&rerun.stdout).contains("0 materialized, 6 fresh"),
        "{}",
        text(&rerun.stdout)
    );

    assert_ok(&fixture(root, &["discard", "--tag", "v2"], &[]));
    assert!(!root.join("_tags/v2").exists());
    assert_usage_error(
        &fixture(root, &["promote", "--tag", "v2"], &[]),
        "tag \"v2\"",
    );
}

#[test]
fn a_backfill_killed_mid_way_resumes_without_redoing_finished_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let args = [
        "materialize",
        "--select",
        "events,sessions,rolling",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-20",
        "--jobs",
        "2",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("ASSETFLOW_ROOT")
        .env("FIXTURE_GRAPH", "history")
        .env("FIXTURE_ROWS", "20")
        .env("FIXTURE_SLEEP_MS", "20")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    // Kill once some partitions are done but not all.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let done = std::fs::read_dir(root.join("events"))
            .map(|d| d.count())
            .unwrap_or(0);
        if done >= 5 || std::time::Instant::now() > deadline {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let before = materialization_counts(root, &["events", "sessions", "rolling"]);
    assert!(!before.is_empty() && before.len() < 60, "{}", before.len());

    let out = fixture(root, &args, &[]);
    assert_ok(&out);
    let after = materialization_counts(root, &["events", "sessions", "rolling"]);
    assert_eq!(after.len(), 60, "every asset-partition is complete");
    for (key, n) in &after {
        assert_eq!(*n, 1, "{key:?} was computed {n} times");
    }
    // And every file is readable.
    for asset in ["events", "sessions", "rolling"] {
        for day in days(1, 20) {
            let path = root
                .join(asset)
                .join(format!("day={day}"))
                .join("part-0.parquet");
            let bytes = std::fs::read(&path).expect("published");
            assert_eq!(&bytes[..4], b"PAR1", "{}", path.display());
        }
    }
}

#[test]
fn bad_ranges_and_keys_are_one_line_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "materialize",
                "--select",
                "events",
                "--from",
                "2024-01-05",
                "--to",
                "2024-01-01",
            ],
            "after",
        ),
        (
            &[
                "materialize",
                "--select",
                "events",
                "--partition",
                "2023-12-31",
            ],
            "before the first partition",
        ),
        (
            &[
                "materialize",
                "--select",
                "events",
                "--partition",
                "2024-1-1",
            ],
            "2024-1-1",
        ),
        (
            &[
                "materialize",
                "--select",
                "report",
                "--partition",
                "2024-01-01",
            ],
            "partition",
        ),
        (&["promote", "--tag", "never-made"], "never-made"),
    ];
    for (args, needle) in cases {
        assert_usage_error(&fixture(root, args, &[]), needle);
    }
    // Nothing was written by refused commands.
    assert!(!root.join("events").exists());
}

#[test]
fn ctrl_c_lets_running_steps_finish_ends_the_run_cancelled_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let args = [
        "materialize",
        "--select",
        "events",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-30",
        "--jobs",
        "1",
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("ASSETFLOW_ROOT")
        .env("FIXTURE_GRAPH", "history")
        .env("FIXTURE_ROWS", "20")
        .env("FIXTURE_SLEEP_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Interrupt once a few partitions are published.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read_dir(root.join("events"))
        .map(|d| d.count())
        .unwrap_or(0)
        < 3
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("exits");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );
    // What had not started is reported skipped, not failed.
    assert!(
        text(&out.stdout).contains("0 failed") && text(&out.stdout).contains("skipped"),
        "{}",
        text(&out.stdout)
    );
    let runs = catalog(root).runs(1).expect("runs");
    assert_eq!(runs[0].status, asset_core::catalog::RunStatus::Cancelled);
    let before = materialization_counts(root, &["events"]);
    assert!(!before.is_empty() && before.len() < 30, "{}", before.len());

    assert_ok(&fixture(root, &args, &[]));
    let after = materialization_counts(root, &["events"]);
    assert_eq!(after.len(), 30);
    assert!(after.values().all(|&n| n == 1), "{after:?}");
}

#[test]
fn partitions_lists_keys_with_windows_and_list_shows_mappings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let out = fixture(
        root,
        &[
            "partitions",
            "events",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
        ],
        &[],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("2024-01-02  2024-01-02 00:00 UTC  2024-01-03 00:00 UTC"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 partitions of events (daily from 2024-01-01)"),
        "{stdout}"
    );
    // Without a range: the newest keys, and how many were left out.
    let out = fixture(root, &["partitions", "events", "--limit", "3"], &[]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("not shown (raise --limit)"));

    let out = fixture(root, &["list"], &[]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("sessions, Prev<running_total>"), "{stdout}");
    assert!(stdout.contains("Window<sessions, 3>"), "{stdout}");
    assert!(stdout.contains("Latest<sessions>"), "{stdout}");

    // `status` over a range: one line per asset, counted.
    assert_ok(&fixture(
        root,
        &[
            "materialize",
            "--select",
            "events",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-03",
        ],
        &[],
    ));
    let out = fixture(
        root,
        &[
            "status",
            "--select",
            "events",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-04",
        ],
        &[],
    );
    assert_ok(&out);
    let row: Vec<String> = text(&out.stdout)
        .lines()
        .find(|l| l.starts_with("events"))
        .expect("a row for events")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(row[..6], ["events", "4", "3", "0", "1", "0"], "{row:?}");
    assert_eq!(row[6], "2024-01-04:", "{row:?}");

    let cases: [(&[&str], &str); 4] = [
        (&["partitions", "nope"], "unknown asset \"nope\""),
        (&["partitions", "report"], "not partitioned"),
        (&["partitions"], "partitions needs an ASSET"),
        (
            &["materialize", "--select", "events", "--from", "2024-01-01"],
            "--to",
        ),
    ];
    for (args, needle) in cases {
        let out = fixture(root, args, &[]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
