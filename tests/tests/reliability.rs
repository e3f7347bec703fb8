//! Bad input and damaged roots, as a user or an attacker would try them:
//! the truth of `status`, nothing written outside the root or by a read,
//! bounded work, and the messages and exit codes of each refusal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DAY: &str = "2024-01-02";

fn fixture(root: &Path, args: &[&str]) -> Output {
    fixture_at(&root.display().to_string(), args)
}

fn fixture_at(root: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root").arg(root).args(args);
    cmd.env_remove("ASSETFLOW_ROOT");
    cmd.output().expect("fixture binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[track_caller]
fn assert_usage_error(out: &Output, needle: &str) {
    assert_code(out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
}

fn materialized() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_code(
        &fixture(dir.path(), &["materialize", "--partition", DAY]),
        0,
    );
    dir
}

fn data_file(root: &Path, asset: &str) -> PathBuf {
    root.join(asset)
        .join(format!("day={DAY}"))
        .join("part-0.parquet")
}

/// `status --json` rows by asset: (state, reasons joined).
fn status(root: &Path, extra: &[&str]) -> BTreeMap<String, (String, String)> {
    let mut args = vec!["status", "--partition", DAY, "--json"];
    args.extend_from_slice(extra);
    let out = fixture(root, &args);
    assert_code(&out, 0);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let reasons: Vec<String> = r["reasons"]
                .as_array()
                .expect("reasons")
                .iter()
                .map(|x| x.as_str().unwrap_or_default().to_owned())
                .collect();
            (
                r["asset"].as_str().unwrap_or_default().to_owned(),
                (
                    r["state"].as_str().unwrap_or_default().to_owned(),
                    reasons.join("; "),
                ),
            )
        })
        .collect()
}

/// Every file under `root` with its size and modification time.
fn listing(root: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            }
            out.insert(entry.path(), (meta.len(), meta.modified().expect("mtime")));
        }
    }
    out
}

// ---- the truth of status ----

#[test]
fn a_deleted_data_file_is_missing_for_status_why_and_dry_run_alike() {
    let dir = materialized();
    std::fs::remove_file(data_file(dir.path(), "left")).expect("rm");
    let rows = status(dir.path(), &[]);
    assert_eq!(
        rows["left"],
        ("missing".into(), "its stored value is missing".into())
    );
    assert_eq!(rows["joined"].0, "stale", "{rows:?}");
    assert!(rows["joined"].1.contains("upstream left"), "{rows:?}");
    assert_eq!(rows["right"].0, "fresh");

    let why = fixture(dir.path(), &["why", "left", "--partition", DAY]);
    assert_code(&why, 0);
    assert!(
        text(&why.stdout).contains("its stored value is missing"),
        "{}",
        text(&why.stdout)
    );

    let dry = fixture(
        dir.path(),
        &["materialize", "--partition", DAY, "--dry-run"],
    );
    assert_code(&dry, 0);
    let stdout = text(&dry.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("left"))
        .expect("a line for left");
    assert!(line.contains("its stored value is missing"), "{stdout}");

    // The range summary, listed once per asset, agrees.
    let summary = fixture(dir.path(), &["status", "--from", DAY, "--to", DAY]);
    assert_code(&summary, 0);
    let stdout = text(&summary.stdout);
    assert!(stdout.contains("its stored value is missing"), "{stdout}");
}

#[test]
fn a_truncated_file_is_stale_with_both_sizes_and_is_rebuilt() {
    let dir = materialized();
    let file = data_file(dir.path(), "source");
    let size = std::fs::metadata(&file).expect("meta").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .expect("open");
    f.set_len(size / 2).expect("truncate");
    drop(f);
    let rows = status(dir.path(), &[]);
    assert_eq!(rows["source"].0, "stale");
    assert_eq!(
        rows["source"].1,
        format!(
            "stored value changed or damaged (expected {size} bytes, found {})",
            size / 2
        )
    );
    assert_eq!(rows["left"].1, format!("upstream source {DAY} will rerun"));

    // A plain materialize repairs it: no --force needed.
    let out = fixture(dir.path(), &["materialize", "--partition", DAY]);
    assert_code(&out, 0);
    assert_eq!(std::fs::metadata(&file).expect("meta").len(), size);
    assert!(status(dir.path(), &[]).values().all(|(s, _)| s == "fresh"));
}

#[test]
fn verify_rehashes_values_that_kept_their_size() {
    let dir = materialized();
    let file = data_file(dir.path(), "right");
    let mut bytes = std::fs::read(&file).expect("read");
    // The middle third of the data pages (before the footer, which holds
    // the metadata and the provenance record): same size, other content.
    // (One byte is not enough: it may land in the padding of a bit-packed
    // run, which decodes to the same values.)
    let pages = integration_tests::fixtures::data_pages(&bytes).len();
    for byte in &mut bytes[pages / 3..2 * pages / 3] {
        *byte ^= 0x5a;
    }
    std::fs::write(&file, &bytes).expect("write");
    assert_eq!(
        status(dir.path(), &[])["right"].0,
        "fresh",
        "size unchanged"
    );
    let rows = status(dir.path(), &["--verify"]);
    assert_eq!(rows["right"].0, "stale", "{rows:?}");
    assert!(
        rows["right"].1.contains("stored value"),
        "{:?}",
        rows["right"]
    );
    assert_eq!(rows["left"].0, "fresh");

    let out = fixture(dir.path(), &["materialize", "--partition", DAY, "--verify"]);
    assert_code(&out, 0);
    assert!(
        status(dir.path(), &["--verify"])
            .values()
            .all(|(s, _)| s == "fresh")
    );
}

// ---- nothing escapes the root, nothing is written by a read ----

#[test]
fn inspection_commands_write_nothing() {
    let dir = materialized();
    let before = listing(dir.path());
    for args in [
        vec!["status"],
        vec!["status", "--partition", DAY],
        vec!["why", "joined", "--partition", DAY],
        vec!["lineage", "joined", "--partition", DAY],
        vec!["history", "joined"],
        vec!["list"],
        vec!["partitions", "source", "--from", DAY, "--to", DAY],
        vec!["tags"],
    ] {
        assert_code(&fixture(dir.path(), &args), 0);
        assert_eq!(listing(dir.path()), before, "{args:?} changed the root");
    }
}

#[test]
fn inspecting_a_root_that_does_not_exist_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("new");
    for args in [
        vec!["status"],
        vec!["why", "joined", "--partition", DAY],
        vec!["lineage", "joined"],
        vec!["history", "joined"],
        vec!["tags"],
        vec!["partitions", "source", "--from", DAY, "--to", DAY],
    ] {
        let out = fixture(&root, &args);
        assert_code(&out, 0);
        assert!(
            text(&out.stderr).contains("nothing materialized yet under"),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!root.exists(), "{args:?} created the root");
    }
    // Still the whole answer: every asset missing, as JSON too.
    let out = fixture(&root, &["status", "--partition", DAY, "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["state"] == "missing")
    );
    // And mistakes are still mistakes.
    assert_usage_error(
        &fixture(&root, &["why", "jonied", "-p", DAY]),
        "unknown asset",
    );
    let out = fixture(&root, &["dlq", "joined", "--partition", DAY]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!root.exists(), "dlq created the root");
}

#[test]
fn a_root_url_with_dot_dot_is_refused_not_normalised() {
    let out = fixture_at("file:///nonexist/../etc", &["status"]);
    assert_usage_error(&out, "its path contains `..`");
    let out = fixture_at("file:///nonexist/../tmp", &["materialize", "-p", DAY]);
    assert_usage_error(&out, "its path contains `..`");
}

#[cfg(unix)]
#[test]
fn a_materialize_never_writes_through_an_asset_folder_linked_out_of_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("source")).expect("link");
    let out = fixture(dir.path(), &["materialize", "--partition", DAY]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is a symbolic link to")
            && stderr.contains(
                &std::fs::canonicalize(elsewhere.path())
                    .expect("c")
                    .display()
                    .to_string()
            ),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).expect("list").count(),
        0,
        "nothing written outside the root"
    );
    // The independent branch is not held up.
    assert!(data_file(dir.path(), "other").exists());
}

#[cfg(unix)]
#[test]
fn discard_never_deletes_through_a_tags_folder_linked_out_of_the_root() {
    let dir = materialized();
    let out = fixture(
        dir.path(),
        &["materialize", "--partition", DAY, "--tag", "v2", "--force"],
    );
    assert_code(&out, 0);
    // Move the tag's files elsewhere and link `_tags` there.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let moved = elsewhere.path().join("tags");
    std::fs::rename(dir.path().join("_tags"), &moved).expect("move");
    std::os::unix::fs::symlink(&moved, dir.path().join("_tags")).expect("link");
    let before = listing(elsewhere.path());
    let out = fixture(dir.path(), &["discard", "--tag", "v2"]);
    assert_code(&out, 3);
    assert!(text(&out.stderr).contains("_tags"), "{}", text(&out.stderr));
    assert_eq!(listing(elsewhere.path()), before, "nothing deleted outside");
    // The tag is still known: nothing was half discarded.
    assert!(text(&fixture(dir.path(), &["tags"]).stdout).contains("v2"));
}

#[test]
fn tags_outside_the_charset_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["данные", "a|b", "%2e%2e", "%41", "a\u{202e}b", "  ", ".x"] {
        let out = fixture(
            dir.path(),
            &["materialize", "--partition", DAY, "--tag", bad],
        );
        assert_usage_error(&out, "invalid tag");
    }
    assert!(!dir.path().join("_tags").exists());
}

#[test]
fn whitespace_only_and_bidi_control_partition_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["   ", "2024-01-02\u{202e}"] {
        let out = fixture(dir.path(), &["materialize", "--partition", bad]);
        assert_code(&out, 2);
    }
}

// ---- bounded work ----

#[test]
fn a_plan_past_the_step_limit_is_refused_at_once_with_the_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "materialize",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-10",
        "--dry-run",
        "--max-steps",
        "20",
    ];
    let out = fixture(dir.path(), &args);
    // lookup once, five daily assets ten times.
    assert_usage_error(
        &out,
        "the plan has 51 steps, more than the limit of 20: narrow --select or the range, or raise the limit with --max-steps 51",
    );
    let mut raised = args.to_vec();
    raised[7] = "51";
    assert_code(&fixture(dir.path(), &raised), 0);

    let dir = materialized();
    let out = fixture(
        dir.path(),
        &[
            "status",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-10",
            "--max-steps",
            "20",
        ],
    );
    assert_usage_error(&out, "raise the limit with --max-steps 51");
}

// ---- messages and exit codes ----

#[test]
fn a_pipeline_without_config_reads_no_config_file() {
    let dir = materialized();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[[ not toml").expect("write");
    for config in [broken.display().to_string(), "/nonexistent/cfg.toml".into()] {
        let out = fixture(
            dir.path(),
            &["--config", &config, "status", "--partition", DAY],
        );
        assert_code(&out, 0);
    }
}

#[test]
fn dynamic_set_names_are_checked_as_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(dir.path(), &["partitions", "add", "", "a"]);
    assert_usage_error(&out, "the dynamic partition set name is empty");
    let out = fixture(dir.path(), &["partitions", "add", "customers", "a"]);
    assert_usage_error(
        &out,
        "no asset uses dynamic partition set \"customers\" (sets in use: none)",
    );
}

#[test]
fn a_corrupt_catalog_is_an_environment_fault_exit_3_for_every_command() {
    let dir = materialized();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("_catalog.sqlite{suffix}")));
    }
    std::fs::write(
        dir.path().join("_catalog.sqlite"),
        b"this is not a database at all, not even close......",
    )
    .expect("w");
    for args in [
        vec!["status"],
        vec!["history", "joined"],
        vec!["tags"],
        vec!["materialize", "--partition", DAY],
    ] {
        let out = fixture(dir.path(), &args);
        assert_code(&out, 3);
        assert!(
            text(&out.stderr).contains("_catalog.sqlite"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_skipped_step_says_its_upstream_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root")
        .arg(dir.path())
        .args(["materialize", "--partition", DAY])
        .env("FIXTURE_FAIL", "source");
    let out = cmd.output().expect("runs");
    assert_code(&out, 1);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("was failed"), "{all}");
    assert!(
        all.contains(&format!("upstream source [{DAY}] failed")),
        "{all}"
    );
}

/// The `(materialize ...)` commands a message suggests, as argument lists.
fn suggested_commands(message: &str) -> Vec<Vec<String>> {
    message
        .split("(materialize ")
        .skip(1)
        .map(|rest| {
            let command = rest.split(')').next().unwrap_or_default();
            std::iter::once("materialize".to_owned())
                .chain(command.split_whitespace().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn the_hint_for_a_month_missing_its_days_runs_as_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let monthly = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
        cmd.arg("--root").arg(dir.path()).args(args);
        cmd.env("FIXTURE_GRAPH", "monthly")
            .env_remove("ASSETFLOW_ROOT");
        cmd.output().expect("runs")
    };
    let out = monthly(&[
        "materialize",
        "--select",
        "monthly_report",
        "--partition",
        "2024-02-01",
    ]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    // The step's error line; the alert's log line repeats the same why.
    let error_line = stderr
        .lines()
        .find(|l| l.contains("ERROR"))
        .unwrap_or_default();
    let commands = suggested_commands(error_line);
    assert_eq!(
        commands,
        [
            vec![
                "materialize",
                "--select",
                "events",
                "--from",
                "2024-02-01",
                "--to",
                "2024-02-29"
            ],
            vec![
                "materialize",
                "--select",
                "monthly_report",
                "--partition",
                "2024-02-01"
            ],
        ],
        "{stderr}"
    );
    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        assert_code(&monthly(&args), 0);
    }
}

#[test]
fn the_hint_for_a_window_missing_earlier_days_runs_as_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let history = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
        cmd.arg("--root").arg(dir.path()).args(args);
        cmd.env("FIXTURE_GRAPH", "history")
            .env_remove("ASSETFLOW_ROOT");
        cmd.output().expect("runs")
    };
    let out = history(&[
        "materialize",
        "--select",
        "+rolling",
        "--partition",
        "2024-01-03",
    ]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    let commands = suggested_commands(&stderr);
    assert!(!commands.is_empty(), "{stderr}");
    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let from = args
            .iter()
            .position(|a| *a == "--from")
            .map(|i| args[i + 1]);
        let to = args.iter().position(|a| *a == "--to").map(|i| args[i + 1]);
        if let (Some(from), Some(to)) = (from, to) {
            assert!(from <= to, "a backwards range: {stderr}");
        }
        assert_code(&history(&args), 0);
    }
}

// ---- a range in the finest partitions covers the coarser assets ----

/// Runs the fixture's `monthly` graph (events by day; a month and a week
/// reading all their days) on `root`.
fn calendar(root: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root").arg(root).args(args);
    cmd.env("FIXTURE_GRAPH", "monthly")
        .env_remove("ASSETFLOW_ROOT");
    cmd.output().expect("runs")
}

/// The partition folders `asset` has values in (`day=2024-02-01`, ...).
fn built(root: &Path, asset: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(root.join(asset)) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("part-0.parquet").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found
}

#[test]
fn a_range_of_days_builds_the_days_and_the_month_they_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = calendar(
        dir.path(),
        &[
            "materialize",
            "--select",
            "+monthly_report",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-29",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(built(dir.path(), "events").len(), 29);
    assert_eq!(built(dir.path(), "monthly_report"), ["month=2024-02-01"]);
    assert!(
        !text(&out.stdout).contains("left out"),
        "{}",
        text(&out.stdout)
    );
    // The same command again: everything fresh.
    let again = calendar(
        dir.path(),
        &[
            "materialize",
            "--select",
            "+monthly_report",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-29",
        ],
    );
    assert_code(&again, 0);
    assert!(
        text(&again.stdout).contains("30 fresh"),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn months_a_range_only_starts_or_ends_in_are_left_out_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "materialize",
        "--select",
        "+monthly_report",
        "--from",
        "2024-02-10",
        "--to",
        "2024-04-05",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let out = calendar(dir.path(), &dry);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    for month in ["2024-02-01", "2024-04-01"] {
        assert!(
            stdout.contains(&format!(
                "left out monthly_report [{month}]: --from \"2024-02-10\" --to \"2024-04-05\" covers only part of its window"
            )),
            "{stdout}"
        );
    }
    assert!(!stdout.contains("[2024-03-01]: --from"), "{stdout}");
    assert!(
        dir.path().read_dir().map_or(true, |mut d| d
            .all(|e| { e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with('_')) })),
        "a dry run writes no value"
    );

    let out = calendar(dir.path(), &args);
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("left out monthly_report [2024-04-01]"));
    assert_eq!(built(dir.path(), "events").len(), 56);
    assert_eq!(built(dir.path(), "monthly_report"), ["month=2024-03-01"]);
}

#[test]
fn a_range_of_days_builds_the_weeks_it_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = calendar(
        dir.path(),
        &[
            "materialize",
            "--select",
            "+weekly_report",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-17",
        ],
    );
    assert_code(&out, 0);
    assert_eq!(built(dir.path(), "events").len(), 17);
    assert_eq!(
        built(dir.path(), "weekly_report"),
        ["week=2024-01-01", "week=2024-01-08"]
    );
    assert!(
        text(&out.stdout).contains("left out weekly_report [2024-01-15]"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn exact_keys_of_the_coarser_asset_still_name_its_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let days = [
        "materialize",
        "--select",
        "events",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-31",
    ];
    assert_code(&calendar(dir.path(), &days), 0);
    let months = [
        "materialize",
        "--select",
        "monthly_report",
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-01",
    ];
    assert_code(&calendar(dir.path(), &months), 0);
    assert_eq!(
        built(dir.path(), "monthly_report"),
        ["month=2024-01-01", "month=2024-02-01", "month=2024-03-01"]
    );
    // Days alone do not name months: the finest asset of the selection
    // gives the range.
    let out = calendar(
        dir.path(),
        &[
            "materialize",
            "--select",
            "monthly_report",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-29",
        ],
    );
    assert_usage_error(&out, "\"2024-02-29\"");
    // A backwards range is refused by the days, not guessed at.
    let out = calendar(
        dir.path(),
        &[
            "materialize",
            "--select",
            "+monthly_report",
            "--from",
            "2024-02-02",
            "--to",
            "2024-02-01",
        ],
    );
    assert_usage_error(&out, "runs backwards");
}

// ---- a damaged value is named when it is read ----

/// Overwrites the first 16 bytes of the Parquet footer of `file` (its
/// schema's header) with 0xff, keeping the file's size and its magic.
fn damage_footer(file: &Path) {
    let mut bytes = std::fs::read(file).expect("read");
    let n = bytes.len();
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes")) as usize;
    let start = n - 8 - footer;
    for b in &mut bytes[start..start + 16] {
        *b = 0xff;
    }
    std::fs::write(file, bytes).expect("write");
}

#[test]
fn a_damaged_footer_of_the_same_size_is_named_when_loaded_and_by_verify() {
    let dir = materialized();
    let file = data_file(dir.path(), "source");
    let size = std::fs::metadata(&file).expect("meta").len();
    damage_footer(&file);
    assert_eq!(std::fs::metadata(&file).expect("meta").len(), size);
    // Its size still matches: cheap checks cannot tell.
    assert_eq!(status(dir.path(), &[])["source"].0, "fresh");
    // Loading it reads the footer: the step reading it names asset,
    // partition and path.
    let out = fixture(
        dir.path(),
        &[
            "materialize",
            "--select",
            "left",
            "--partition",
            DAY,
            "--force",
        ],
    );
    assert_code(&out, 1);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains(&format!(
            "upstream source [{DAY}]: stored value changed or damaged"
        )) && all.contains("part-0.parquet"),
        "{all}"
    );
    // `status --verify` reads it back and flags it.
    let verified = status(dir.path(), &["--verify"]);
    assert_eq!(verified["source"].0, "stale", "{verified:?}");
    assert!(
        verified["source"]
            .1
            .starts_with("stored value changed or damaged"),
        "{verified:?}"
    );
    // The hint rebuilds it, and then its reader runs.
    let hint = all
        .split("(materialize ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("a hint");
    let mut args = vec!["materialize"];
    args.extend(hint.split_whitespace());
    assert_code(&fixture(dir.path(), &args), 0);
    assert_eq!(status(dir.path(), &["--verify"])["source"].0, "fresh");
    assert_code(
        &fixture(
            dir.path(),
            &[
                "materialize",
                "--select",
                "left",
                "--partition",
                DAY,
                "--force",
            ],
        ),
        0,
    );
}

// ---- every printed hint runs as printed ----

#[test]
fn the_hint_to_select_the_upstreams_too_runs_as_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(
        dir.path(),
        &["materialize", "--select", "joined", "--partition", DAY],
    );
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    let hinted = stderr
        .split("(--select ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("a --select hint: {stderr}"));
    assert_eq!(hinted, "+joined", "{stderr}");
    assert_code(
        &fixture(
            dir.path(),
            &["materialize", "--select", hinted, "--partition", DAY],
        ),
        0,
    );
    assert_eq!(status(dir.path(), &[])["joined"].0, "fresh");
}

#[test]
fn the_hint_to_raise_the_partition_listing_limit_shows_them_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = fixture(dir.path(), &["partitions", "source", "--limit", "2"]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.ends_with("not shown (raise --limit)"), "{stdout}");
    let total: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    let limit = total.to_string();
    let out = fixture(dir.path(), &["partitions", "source", "--limit", &limit]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("not shown"), "{stdout}");
    // The header, then every partition, then the summary.
    assert_eq!(stdout.lines().count(), total + 2, "{stdout}");
}

#[test]
fn the_single_command_for_a_month_and_its_days_replaces_the_two_hinted() {
    // The hint for a month missing its days names two commands (tested
    // above); the one command a user reaches for builds the same.
    let dir = tempfile::tempdir().expect("tempdir");
    assert_code(
        &calendar(
            dir.path(),
            &[
                "materialize",
                "--select",
                "+monthly_report",
                "--from",
                "2024-02-01",
                "--to",
                "2024-02-29",
            ],
        ),
        0,
    );
    let out = calendar(
        dir.path(),
        &[
            "materialize",
            "--select",
            "monthly_report",
            "--partition",
            "2024-02-01",
        ],
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("fresh"), "{}", text(&out.stdout));
}

#[test]
fn the_dead_letter_hint_shows_the_rejected_rows_as_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
        .arg("--root")
        .arg(dir.path())
        .args(["materialize", "--partition", DAY, "--select", "source"])
        .env_remove("ASSETFLOW_ROOT")
        .env("FIXTURE_REJECT", "source")
        .output()
        .expect("fixture binary runs");
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    let hint = stdout
        .split('`')
        .find(|part| part.starts_with("dlq "))
        .unwrap_or_else(|| panic!("a dlq hint in: {stdout}"));
    assert_eq!(hint, format!("dlq source --partition {DAY}"));
    let shown = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
        .arg("--root")
        .arg(dir.path())
        .args(hint.split_whitespace())
        .env_remove("ASSETFLOW_ROOT")
        .env("FIXTURE_REJECT", "source")
        .output()
        .expect("fixture binary runs");
    assert_code(&shown, 0);
    let rows = text(&shown.stdout);
    // 100 rows, ids 0..100: ten rejected, each with its reason.
    assert_eq!(
        rows.lines()
            .filter(|l| l.contains("every tenth id"))
            .count(),
        10,
        "{rows}"
    );
}
