//! Tests of the SQLite catalog.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::*;

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn catalog_path(dir: &Path) -> PathBuf {
    dir.join(DEFAULT_FILE_NAME)
}

fn input(asset: &str, partition: Option<&str>, version: &str) -> InputVersion {
    InputVersion {
        asset: asset.into(),
        partition: partition.map(Into::into),
        data_version: version.into(),
    }
}

fn record(
    asset: &str,
    partition: Option<&str>,
    tag: Option<&str>,
    data_version: &str,
    inputs: Vec<InputVersion>,
) -> MaterializationRecord {
    MaterializationRecord {
        asset: asset.into(),
        partition: partition.map(Into::into),
        run_id: "run-1".into(),
        code_version: "code-1".into(),
        data_version: data_version.into(),
        inputs,
        uri: format!("file:///data/{asset}/{}", partition.unwrap_or("data")),
        rows: 10,
        bytes: 100,
        started_at: "2024-06-01T10:00:00+00:00".into(),
        finished_at: "2024-06-01T10:00:01+00:00".into(),
        framework_version: "0.1.0".into(),
        config_hash: None,
        git_commit: "unknown".into(),
        schema: None,
        tag: tag.map(Into::into),
        promoted_from: None,
    }
}

fn failure(asset: &str, partition: Option<&str>, attempt: u32, finished_at: &str) -> FailureRecord {
    FailureRecord {
        run_id: "run-1".into(),
        asset: asset.into(),
        partition: partition.map(Into::into),
        tag: None,
        attempt,
        error: format!("boom {attempt}"),
        started_at: "2024-06-01T10:00:00+00:00".into(),
        finished_at: finished_at.into(),
    }
}

#[test]
fn records_round_trip_exactly() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let mut full = record(
        "sales",
        Some("2024-01-01"),
        Some("backfill"),
        "dv-sales",
        vec![
            input("orders", Some("2024-01-01"), "dv-o1"),
            input("orders", Some("2023-12-31"), "dv-o0"),
            input("rates", None, "dv-r"),
        ],
    );
    full.config_hash = Some("cfg".into());
    full.schema = Some("a: Int64, b: Utf8?".into());
    full.git_commit = "abc123+dirty".into();
    full.rows = u64::MAX;
    full.bytes = u64::MAX - 1;
    let bare = record("rates", None, None, "dv-r", vec![]);
    // Same schema text twice: stored once, read back on both.
    let mut same_schema = record("sales", Some("2024-01-02"), Some("backfill"), "dv2", vec![]);
    same_schema.schema = full.schema.clone();
    for r in [&full, &bare, &same_schema] {
        catalog.record_materialization(r).unwrap();
    }
    catalog.flush().unwrap();

    assert_eq!(
        catalog
            .latest("sales", Some("2024-01-01"), Some("backfill"))
            .unwrap(),
        Some(full.clone())
    );
    assert_eq!(
        catalog.latest("rates", None, None).unwrap(),
        Some(bare.clone())
    );
    assert_eq!(
        catalog
            .latest("sales", Some("2024-01-02"), Some("backfill"))
            .unwrap(),
        Some(same_schema.clone())
    );
    // Another namespace, another partition, another asset: nothing.
    assert_eq!(
        catalog.latest("sales", Some("2024-01-01"), None).unwrap(),
        None
    );
    assert_eq!(
        catalog.latest("sales", None, Some("backfill")).unwrap(),
        None
    );
    assert_eq!(catalog.latest("nope", None, None).unwrap(), None);

    // And through a fresh catalog on the same file.
    drop(catalog);
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    assert_eq!(
        catalog
            .latest_for_assets(&["sales", "rates"], Some("backfill"))
            .unwrap(),
        vec![full, same_schema]
    );
    assert_eq!(
        catalog
            .latest_for_assets(&["rates", "sales"], None)
            .unwrap(),
        vec![bare]
    );
}

#[test]
fn catalog_is_object_safe() {
    let dir = temp();
    let catalog: Box<dyn Catalog> =
        Box::new(SqliteCatalog::open(catalog_path(dir.path())).unwrap());
    catalog
        .record_materialization(&record("a", None, None, "v", vec![]))
        .unwrap();
    assert!(catalog.latest("a", None, None).unwrap().is_some());
    assert!(catalog.location().ends_with(DEFAULT_FILE_NAME));
}

#[test]
fn reads_see_earlier_writes_without_a_flush() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    for v in 0..100 {
        catalog
            .record_materialization(&record("a", Some("p"), None, &format!("v{v}"), vec![]))
            .unwrap();
        let latest = catalog.latest("a", Some("p"), None).unwrap().unwrap();
        assert_eq!(latest.data_version, format!("v{v}"));
    }
}

#[test]
fn latest_follows_the_newest_record_per_key_and_tag() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    catalog
        .record_materialization(&record("a", Some("p1"), None, "v1", vec![]))
        .unwrap();
    catalog
        .record_materialization(&record("a", Some("p2"), None, "w1", vec![]))
        .unwrap();
    catalog
        .record_materialization(&record("a", Some("p1"), Some("t"), "t1", vec![]))
        .unwrap();
    catalog
        .record_materialization(&record("a", Some("p1"), None, "v2", vec![]))
        .unwrap();

    let version = |p, tag| {
        catalog
            .latest("a", Some(p), tag)
            .unwrap()
            .map(|r| r.data_version)
    };
    assert_eq!(version("p1", None).as_deref(), Some("v2"));
    assert_eq!(version("p2", None).as_deref(), Some("w1"));
    assert_eq!(version("p1", Some("t")).as_deref(), Some("t1"));
    assert_eq!(version("p2", Some("t")), None);

    let all: Vec<_> = catalog
        .latest_for_assets(&["a"], None)
        .unwrap()
        .into_iter()
        .map(|r| (r.partition.unwrap(), r.data_version))
        .collect();
    assert_eq!(
        all,
        [("p1".into(), "v2".into()), ("p2".into(), "w1".into())]
    );
}

#[test]
fn latest_for_assets_keeps_inputs_with_their_records() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let mut expected = Vec::new();
    for asset in ["x", "y"] {
        for (i, p) in ["2024-01-03", "2024-01-01", "2024-01-02"]
            .into_iter()
            .enumerate()
        {
            // A varying number of inputs, some none.
            let inputs = (0..i)
                .map(|k| input("up", Some(p), &format!("{asset}{p}{k}")))
                .collect();
            let r = record(asset, Some(p), None, &format!("{asset}{p}"), inputs);
            catalog.record_materialization(&r).unwrap();
            expected.push(r);
        }
    }
    // Superseded records must not leak their inputs.
    catalog
        .record_materialization(&record("x", Some("2024-01-01"), None, "newer", vec![]))
        .unwrap();
    expected[1] = record("x", Some("2024-01-01"), None, "newer", vec![]);
    expected.sort_by(|a, b| (&a.asset, &a.partition).cmp(&(&b.asset, &b.partition)));
    assert_eq!(
        catalog.latest_for_assets(&["x", "y"], None).unwrap(),
        expected
    );
}

#[test]
fn history_is_newest_first_per_partition_or_asset() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    for (p, v) in [
        ("p1", "a"),
        ("p2", "b"),
        ("p1", "c"),
        ("p1", "d"),
        ("p2", "e"),
    ] {
        catalog
            .record_materialization(&record("s", Some(p), None, v, vec![]))
            .unwrap();
    }
    catalog
        .record_materialization(&record("other", Some("p1"), None, "z", vec![]))
        .unwrap();
    let versions = |partition, limit| -> Vec<String> {
        catalog
            .history("s", partition, limit)
            .unwrap()
            .into_iter()
            .map(|r| r.data_version)
            .collect()
    };
    assert_eq!(versions(Some("p1"), 10), ["d", "c", "a"]);
    assert_eq!(versions(Some("p1"), 2), ["d", "c"]);
    assert_eq!(versions(None, 10), ["e", "d", "c", "b", "a"]);
    assert_eq!(versions(Some("p3"), 10), Vec::<String>::new());

    // An unpartitioned asset: `None` is its only partition.
    catalog
        .record_materialization(&record("u", None, None, "u1", vec![]))
        .unwrap();
    catalog
        .record_materialization(&record("u", None, Some("t"), "u2", vec![]))
        .unwrap();
    let history = catalog.history("u", None, 10).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].tag.as_deref(), Some("t"));
    assert_eq!(history[1].tag, None);
}

#[test]
fn consumers_are_the_materializations_that_read_a_version() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let b1 = record(
        "b",
        Some("d1"),
        None,
        "b1",
        vec![input("a", Some("d1"), "a1")],
    );
    let c1 = record(
        "c",
        None,
        None,
        "c1",
        vec![input("x", None, "x1"), input("a", Some("d1"), "a1")],
    );
    let b2 = record(
        "b",
        Some("d1"),
        None,
        "b2",
        vec![input("a", Some("d1"), "a2")],
    );
    let u = record("w", None, None, "w1", vec![input("x", None, "x1")]);
    for r in [&b1, &c1, &b2, &u] {
        catalog.record_materialization(r).unwrap();
    }
    assert_eq!(
        catalog.consumers("a", Some("d1"), "a1").unwrap(),
        vec![c1.clone(), b1]
    );
    assert_eq!(catalog.consumers("a", Some("d1"), "a2").unwrap(), vec![b2]);
    assert_eq!(catalog.consumers("x", None, "x1").unwrap(), vec![u, c1]);
    assert!(catalog.consumers("a", None, "a1").unwrap().is_empty());
    assert!(catalog.consumers("a", Some("d2"), "a1").unwrap().is_empty());
}

#[test]
fn failed_attempts_are_kept_and_the_last_attempt_decides() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let key = ("a", Some("d1"), None);
    let last_failed = || {
        catalog
            .last_attempt_failed(key.0, key.1, key.2)
            .unwrap()
            .map(|f| f.attempt)
    };
    assert_eq!(last_failed(), None);

    // Never materialized, failed twice: failed, both attempts kept.
    catalog
        .record_failure(&failure("a", Some("d1"), 1, "2024-06-01T10:00:01Z"))
        .unwrap();
    catalog
        .record_failure(&failure("a", Some("d1"), 2, "2024-06-01T10:00:02Z"))
        .unwrap();
    assert_eq!(last_failed(), Some(2));
    assert_eq!(catalog.latest("a", Some("d1"), None).unwrap(), None);
    let attempts: Vec<u32> = catalog
        .failures("a", Some("d1"), None, 10)
        .unwrap()
        .iter()
        .map(|f| f.attempt)
        .collect();
    assert_eq!(attempts, [2, 1]);

    // The third attempt succeeds: no longer failed, the failures remain.
    catalog
        .record_materialization(&record("a", Some("d1"), None, "v", vec![]))
        .unwrap();
    assert_eq!(last_failed(), None);
    assert_eq!(
        catalog.last_failure("a", Some("d1"), None).unwrap(),
        Some(failure("a", Some("d1"), 2, "2024-06-01T10:00:02Z"))
    );

    // A later run fails: failed again, the old materialization still latest.
    catalog
        .record_failure(&failure("a", Some("d1"), 1, "2024-06-02T10:00:00Z"))
        .unwrap();
    assert_eq!(last_failed(), Some(1));
    assert_eq!(
        catalog
            .latest("a", Some("d1"), None)
            .unwrap()
            .unwrap()
            .data_version,
        "v"
    );

    // Other keys are unaffected; failed_for_assets lists the failed ones.
    catalog
        .record_materialization(&record("a", Some("d2"), None, "v", vec![]))
        .unwrap();
    catalog
        .record_failure(&failure("b", None, 1, "2024-06-01T10:00:00Z"))
        .unwrap();
    let failed: Vec<_> = catalog
        .failed_for_assets(&["b", "a", "c"], None)
        .unwrap()
        .into_iter()
        .map(|f| (f.asset, f.partition))
        .collect();
    assert_eq!(
        failed,
        [("b".into(), None), ("a".into(), Some("d1".into()))]
    );
    // Only the materialized keys are in latest_for_assets.
    assert_eq!(
        catalog.latest_for_assets(&["a", "b"], None).unwrap().len(),
        2
    );
    assert!(
        catalog
            .failed_for_assets(&["a"], Some("t"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn check_results_are_recorded_and_queried() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let check = |name: &str, passed, run: &str| CheckResult {
        run_id: run.into(),
        asset: "a".into(),
        partition: Some("d1".into()),
        tag: None,
        name: name.into(),
        passed,
        severity: if passed {
            CheckSeverity::Warn
        } else {
            CheckSeverity::Error
        },
        message: if passed {
            String::new()
        } else {
            "3 nulls in id".into()
        },
        at: "2024-06-01T10:00:00Z".into(),
    };
    let (c1, c2, c3) = (
        check("rows", true, "r1"),
        check("not_null", false, "r1"),
        check("rows", true, "r2"),
    );
    for c in [&c1, &c2, &c3] {
        catalog.record_check(c).unwrap();
    }
    assert_eq!(
        catalog.checks("a", Some("d1"), None, 10).unwrap(),
        vec![c3.clone(), c2.clone(), c1.clone()]
    );
    assert_eq!(
        catalog.checks("a", Some("d1"), None, 1).unwrap(),
        vec![c3.clone()]
    );
    assert!(catalog.checks("a", None, None, 10).unwrap().is_empty());
    assert_eq!(catalog.run_checks("r1").unwrap(), vec![c1, c2]);
    assert!(CheckSeverity::Error.is_blocking() && !CheckSeverity::Warn.is_blocking());
}

#[test]
fn runs_begin_and_end() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let run = |id: &str, tag: Option<&str>| RunInfo {
        run_id: id.into(),
        started_at: format!("2024-06-01T10:00:0{}Z", id.len()),
        finished_at: None,
        status: RunStatus::Running,
        command: "materialize --select sales".into(),
        tag: tag.map(Into::into),
    };
    catalog.begin_run(&run("r1", None)).unwrap();
    catalog.begin_run(&run("r22", Some("bf"))).unwrap();
    let err = catalog.begin_run(&run("r1", None)).unwrap_err();
    assert!(matches!(err, CatalogError::DuplicateRun { .. }), "{err}");
    catalog
        .end_run("r1", RunStatus::Failed, "2024-06-01T11:00:00Z")
        .unwrap();
    let err = catalog
        .end_run("nope", RunStatus::Succeeded, "x")
        .unwrap_err();
    assert!(matches!(err, CatalogError::UnknownRun { .. }), "{err}");
    assert!(err.to_string().contains(DEFAULT_FILE_NAME), "{err}");
    // Refused commands leave no pending error behind.
    catalog.flush().unwrap();

    let mut ended = run("r1", None);
    ended.status = RunStatus::Failed;
    ended.finished_at = Some("2024-06-01T11:00:00Z".into());
    assert_eq!(
        catalog.runs(10).unwrap(),
        vec![run("r22", Some("bf")), ended.clone()]
    );
    assert_eq!(catalog.runs(1).unwrap().len(), 1);
    assert_eq!(catalog.run("r1").unwrap(), Some(ended));
    assert_eq!(catalog.run("r3").unwrap(), None);

    catalog
        .record_materialization(&record("a", None, None, "v", vec![]))
        .unwrap();
    let mut other = record("b", None, None, "w", vec![]);
    other.run_id = "r22".into();
    catalog.record_materialization(&other).unwrap();
    assert_eq!(catalog.run_materializations("r22").unwrap(), vec![other]);
}

#[test]
fn empty_keys_are_refused() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    for bad in [
        record("a", Some(""), None, "v", vec![]),
        record("a", None, Some(""), "v", vec![]),
        record("", None, None, "v", vec![]),
        record("a", None, None, "v", vec![input("b", Some(""), "x")]),
    ] {
        let err = catalog.record_materialization(&bad).unwrap_err();
        assert!(matches!(err, CatalogError::InvalidRecord { .. }), "{err}");
    }
    let err = catalog
        .record_failure(&failure("a", Some(""), 1, "t"))
        .unwrap_err();
    assert!(err.to_string().contains("partition key is empty"), "{err}");
    catalog.flush().unwrap();
}

#[test]
fn replace_all_rebuilds_materializations_and_keeps_the_rest() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let old = record("a", Some("d1"), None, "old", vec![]);
    catalog.record_materialization(&old).unwrap();
    catalog
        .record_materialization(&record("gone", None, None, "g", vec![]))
        .unwrap();
    // d1's last attempt failed after its materialization; d2 failed before
    // the one the rebuild restores; d3 never succeeded.
    catalog
        .record_failure(&failure("a", Some("d1"), 1, "2024-06-02T00:00:00Z"))
        .unwrap();
    catalog
        .record_failure(&failure("a", Some("d2"), 1, "2024-05-01T00:00:00Z"))
        .unwrap();
    catalog
        .record_failure(&failure("a", Some("d3"), 1, "2024-05-01T00:00:00Z"))
        .unwrap();

    let d1 = record("a", Some("d1"), None, "v1", vec![input("up", None, "u")]);
    let d2 = record("a", Some("d2"), None, "v2", vec![]);
    let tagged = record("a", Some("d1"), Some("t"), "t1", vec![]);
    let rebuilt = vec![d1.clone(), d2.clone(), tagged.clone()];
    assert_eq!(catalog.replace_all(&mut rebuilt.into_iter()).unwrap(), 3);

    assert_eq!(
        catalog.latest_for_assets(&["a", "gone"], None).unwrap(),
        vec![d1.clone(), d2]
    );
    assert_eq!(
        catalog.latest("a", Some("d1"), Some("t")).unwrap(),
        Some(tagged)
    );
    assert_eq!(catalog.history("a", Some("d1"), 10).unwrap().len(), 2);
    assert!(catalog.consumers("up", None, "u").unwrap() == vec![d1]);
    let failed: Vec<_> = catalog
        .failed_for_assets(&["a"], None)
        .unwrap()
        .into_iter()
        .map(|f| f.partition.unwrap())
        .collect();
    assert_eq!(failed, ["d1", "d3"]);
    assert_eq!(
        catalog.failures("a", Some("d2"), None, 10).unwrap().len(),
        1
    );

    // A bad record fails the whole rebuild and changes nothing.
    let before = catalog.latest_for_assets(&["a"], None).unwrap();
    let bad = vec![
        record("a", Some("d9"), None, "x", vec![]),
        record("a", Some(""), None, "y", vec![]),
    ];
    let err = catalog.replace_all(&mut bad.into_iter()).unwrap_err();
    assert!(matches!(err, CatalogError::InvalidRecord { .. }), "{err}");
    assert_eq!(catalog.latest_for_assets(&["a"], None).unwrap(), before);

    // Writes after a rebuild go on as usual.
    catalog
        .record_materialization(&record("a", Some("d1"), None, "v3", vec![]))
        .unwrap();
    assert_eq!(
        catalog
            .latest("a", Some("d1"), None)
            .unwrap()
            .unwrap()
            .data_version,
        "v3"
    );
    assert!(
        catalog
            .last_attempt_failed("a", Some("d1"), None)
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_empty_or_missing_file_becomes_a_new_catalog() {
    let dir = temp();
    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    let missing = dir.path().join("sub/dir/_catalog.sqlite");
    for path in [&empty, &missing] {
        let catalog = SqliteCatalog::open(path).unwrap();
        catalog
            .record_materialization(&record("a", None, None, "v", vec![]))
            .unwrap();
        catalog.close().unwrap();
        // Reopening migrates nothing and keeps the data.
        let catalog = SqliteCatalog::open(path).unwrap();
        assert!(catalog.latest("a", None, None).unwrap().is_some());
        drop(catalog);
        let conn = rusqlite::Connection::open(path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

#[test]
fn a_newer_schema_is_refused_naming_both_versions() {
    let dir = temp();
    let path = catalog_path(dir.path());
    SqliteCatalog::open(&path).unwrap().close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 2))
        .unwrap();
    drop(conn);
    let err = SqliteCatalog::open(&path).unwrap_err();
    assert!(matches!(err, CatalogError::NewerSchema { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "catalog {} has schema version {}, this assetflow knows up to {SCHEMA_VERSION}: upgrade assetflow",
            path.display(),
            SCHEMA_VERSION + 2
        )
    );
}

#[test]
fn another_applications_database_is_refused() {
    let dir = temp();
    let path = dir.path().join("other.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE people (name TEXT)")
        .unwrap();
    drop(conn);
    let err = SqliteCatalog::open(&path).unwrap_err();
    assert!(matches!(err, CatalogError::NotACatalog { .. }), "{err}");
    assert!(err.to_string().contains("other.sqlite"), "{err}");
    // Untouched.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 0);
}

/// Asserts `path` is refused as corrupt, naming it and the way out.
fn assert_corrupt(path: &Path, detail: &str) {
    let err = SqliteCatalog::open(path).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, CatalogError::Corrupt { .. }), "{message}");
    assert!(err.needs_rebuild());
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("catalog rebuild"), "{message}");
    assert!(message.contains(detail), "{message}");
}

#[test]
fn a_file_of_garbage_is_refused_naming_the_file() {
    let dir = temp();
    let path = catalog_path(dir.path());
    std::fs::write(
        &path,
        b"this is not a database, just some text that is long enough to look like a header. "
            .repeat(100),
    )
    .unwrap();
    assert_corrupt(&path, "not a SQLite database");
    // Garbage shorter than a header, too.
    std::fs::write(&path, [0xde, 0xad, 0xbe, 0xef]).unwrap();
    assert_corrupt(&path, "not a SQLite database");
}

#[test]
fn damaged_pages_are_reported_as_corrupt_naming_the_file() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let catalog = SqliteCatalog::open(&path).unwrap();
    for p in 0..2000 {
        catalog
            .record_materialization(&record("a", Some(&format!("p{p}")), None, "v", vec![]))
            .unwrap();
    }
    catalog.close().unwrap();
    // A sound header and schema page, garbage after it: found by the first
    // query that reads a damaged page.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[4096..] {
        *b = 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = match SqliteCatalog::open(&path) {
        Err(e) => e,
        Ok(catalog) => catalog.latest_for_assets(&["a"], None).unwrap_err(),
    };
    assert!(matches!(err, CatalogError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("catalog rebuild"), "{err}");
}

#[test]
fn a_truncated_file_is_refused_naming_the_file() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let catalog = SqliteCatalog::open(&path).unwrap();
    for p in 0..2000 {
        catalog
            .record_materialization(&record("a", Some(&format!("p{p}")), None, "v", vec![]))
            .unwrap();
    }
    catalog.close().unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 16 * 4096, "{len}");

    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_corrupt(&path, "truncated");
    std::fs::write(&path, &bytes[..60]).unwrap();
    assert_corrupt(&path, "truncated");
    // Beside a WAL (an interrupted checkpoint looks the same) the header
    // cannot tell: SQLite does, at the first read of a missing page.
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let wal = dir.path().join(format!("{DEFAULT_FILE_NAME}-wal"));
    std::fs::write(&wal, vec![7u8; 5000]).unwrap();
    let err = match SqliteCatalog::open(&path) {
        Err(e) => e,
        Ok(catalog) => catalog.latest_for_assets(&["a"], None).unwrap_err(),
    };
    assert!(matches!(err, CatalogError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let _ = std::fs::remove_file(&wal);
    // Restored, it opens again.
    std::fs::write(&path, &bytes).unwrap();
    SqliteCatalog::open(&path).unwrap();
}

#[test]
fn a_dropped_catalog_commits_what_was_queued() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let catalog = SqliteCatalog::open(&path).unwrap();
    for p in 0..500 {
        catalog
            .record_materialization(&record("a", Some(&format!("p{p:03}")), None, "v", vec![]))
            .unwrap();
    }
    drop(catalog);
    let catalog = SqliteCatalog::open(&path).unwrap();
    assert_eq!(catalog.latest_for_assets(&["a"], None).unwrap().len(), 500);
}

#[test]
fn catalogs_on_one_file_write_concurrently_without_losses() {
    let dir = temp();
    let path = catalog_path(dir.path());
    const WRITERS: usize = 4;
    const RECORDS: usize = 500;
    // They all open a new file at once: one migrates, none fails.
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || -> Result<(), CatalogError> {
                let catalog = SqliteCatalog::open(&path)?;
                let asset = format!("asset{w}");
                catalog.begin_run(&RunInfo {
                    run_id: format!("run{w}"),
                    started_at: "2024-06-01T10:00:00Z".into(),
                    finished_at: None,
                    status: RunStatus::Running,
                    command: "materialize".into(),
                    tag: None,
                })?;
                for p in 0..RECORDS {
                    let partition = format!("p{p:04}");
                    // Shared keys too: every writer also writes "shared".
                    catalog.record_materialization(&record(
                        &asset,
                        Some(&partition),
                        None,
                        "v",
                        vec![input("shared", Some(&partition), "s")],
                    ))?;
                    catalog.record_materialization(&record(
                        "shared",
                        Some(&partition),
                        None,
                        &asset,
                        vec![],
                    ))?;
                    if p % 10 == 0 {
                        catalog.record_failure(&failure(
                            &asset,
                            Some(&partition),
                            1,
                            "2024-06-01T10:00:00Z",
                        ))?;
                        // Interleave reads with the other writers' writes.
                        catalog.latest_for_assets(&["shared"], None)?;
                    }
                }
                catalog.end_run(
                    &format!("run{w}"),
                    RunStatus::Succeeded,
                    "2024-06-01T11:00:00Z",
                )?;
                catalog.close()
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    let catalog = SqliteCatalog::open(&path).unwrap();
    for w in 0..WRITERS {
        let asset = format!("asset{w}");
        assert_eq!(
            catalog.latest_for_assets(&[&asset], None).unwrap().len(),
            RECORDS
        );
        assert_eq!(
            catalog.failed_for_assets(&[&asset], None).unwrap().len(),
            RECORDS / 10
        );
        assert_eq!(
            catalog.run(&format!("run{w}")).unwrap().unwrap().status,
            RunStatus::Succeeded
        );
    }
    assert_eq!(
        catalog.latest_for_assets(&["shared"], None).unwrap().len(),
        RECORDS
    );
    assert_eq!(
        catalog.history("shared", None, usize::MAX).unwrap().len(),
        WRITERS * RECORDS
    );
    assert_eq!(
        catalog
            .consumers("shared", Some("p0000"), "s")
            .unwrap()
            .len(),
        WRITERS
    );
}

/// Environment variable naming the catalog a child process writes to.
const CHILD_PATH: &str = "ASSETFLOW_CATALOG_TEST_CHILD";

#[test]
fn two_processes_write_concurrently_without_losses() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|n| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "catalog::tests::child_process_writer",
                    "--ignored",
                    "--quiet",
                ])
                .env(CHILD_PATH, &path)
                .env("ASSETFLOW_CATALOG_TEST_CHILD_N", n.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // This process writes too, meanwhile.
    let catalog = SqliteCatalog::open(&path).unwrap();
    for p in 0..1000 {
        catalog
            .record_materialization(&record("parent", Some(&format!("p{p}")), None, "v", vec![]))
            .unwrap();
    }
    catalog.flush().unwrap();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The child really ran the writer (not zero tests).
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
    for asset in ["parent", "child0", "child1"] {
        assert_eq!(
            catalog.latest_for_assets(&[asset], None).unwrap().len(),
            1000,
            "{asset}"
        );
    }
}

/// The child process of `two_processes_write_concurrently_without_losses`.
#[test]
#[ignore = "run as a child process by two_processes_write_concurrently_without_losses"]
fn child_process_writer() {
    let Some(path) = std::env::var_os(CHILD_PATH) else {
        return;
    };
    let n = std::env::var("ASSETFLOW_CATALOG_TEST_CHILD_N").unwrap();
    let catalog = SqliteCatalog::open(PathBuf::from(path)).unwrap();
    let asset = format!("child{n}");
    for p in 0..1000 {
        catalog
            .record_materialization(&record(&asset, Some(&format!("p{p}")), None, "v", vec![]))
            .unwrap();
    }
    catalog.close().unwrap();
}

/// The micro benchmark: `cargo test --release -p asset-core --lib
/// catalog::tests::bench_catalog -- --ignored --nocapture`
/// (`ASSETFLOW_BENCH_ASSETS`, `_PARTITIONS`, `_STEPS` change the sizes).
#[test]
#[ignore = "benchmark"]
fn bench_catalog() {
    let size = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let dir = temp();
    let figures = bench(
        dir.path(),
        size("ASSETFLOW_BENCH_ASSETS", 1000),
        size("ASSETFLOW_BENCH_PARTITIONS", 365),
        size("ASSETFLOW_BENCH_STEPS", 5000),
    )
    .unwrap();
    println!("{figures}");
}

/// The record rebuilt from the columns alone (not the blob reads use).
fn from_columns(path: &Path, asset: &str) -> Vec<MaterializationRecord> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let opt = |s: String| (!s.is_empty()).then_some(s);
    let mut records: Vec<(i64, MaterializationRecord)> = conn
        .prepare(
            "SELECT m.id, m.asset, m.partition_key, m.tag, m.run_id, m.code_version,
                    m.data_version, m.uri, m.row_count, m.byte_count, m.started_at,
                    m.finished_at, m.framework_version, m.config_hash, m.git_commit, s.text,
                    m.promoted_from
             FROM materializations m LEFT JOIN schemas s ON s.id = m.schema_id
             WHERE m.asset = ?1 ORDER BY m.id",
        )
        .unwrap()
        .query_map([asset], |r| {
            Ok((
                r.get(0)?,
                MaterializationRecord {
                    asset: r.get(1)?,
                    partition: opt(r.get(2)?),
                    tag: opt(r.get(3)?),
                    run_id: r.get(4)?,
                    code_version: r.get(5)?,
                    data_version: r.get(6)?,
                    inputs: Vec::new(),
                    uri: r.get(7)?,
                    rows: r.get::<_, i64>(8)? as u64,
                    bytes: r.get::<_, i64>(9)? as u64,
                    started_at: r.get(10)?,
                    finished_at: r.get(11)?,
                    framework_version: r.get(12)?,
                    config_hash: r.get(13)?,
                    git_commit: r.get(14)?,
                    schema: r.get(15)?,
                    promoted_from: r.get(16)?,
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut inputs = conn
        .prepare(
            "SELECT asset, partition_key, data_version FROM materialization_inputs
             WHERE materialization_id = ?1 ORDER BY position",
        )
        .unwrap();
    for (id, record) in &mut records {
        record.inputs = inputs
            .query_map([*id], |r| {
                Ok(InputVersion {
                    asset: r.get(0)?,
                    partition: opt(r.get(1)?),
                    data_version: r.get(2)?,
                })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    }
    records.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn the_columns_hold_the_whole_record() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let catalog = SqliteCatalog::open(&path).unwrap();
    let mut a = record(
        "a",
        Some("d1"),
        Some("t"),
        "v1",
        vec![input("x", None, "x1"), input("y", Some("d0"), "y1")],
    );
    a.config_hash = Some("cfg".into());
    a.schema = Some("id: Int64".into());
    a.rows = u64::MAX;
    let mut b = record("a", None, None, "v2", vec![]);
    b.promoted_from = Some("t".into());
    catalog.record_materialization(&a).unwrap();
    catalog.record_materialization(&b).unwrap();
    catalog.flush().unwrap();
    let expected = vec![a, b];
    assert_eq!(from_columns(&path, "a"), expected);
    let mut read = catalog.history("a", None, 10).unwrap();
    read.reverse();
    assert_eq!(read, expected);
}

#[test]
fn a_damaged_record_is_reported_as_corrupt() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let catalog = SqliteCatalog::open(&path).unwrap();
    for p in ["p1", "p2", "p3"] {
        catalog
            .record_materialization(&record("a", Some(p), None, "v", vec![]))
            .unwrap();
    }
    catalog.flush().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE materialization_records SET record = x'01ff' WHERE materialization_id = 2",
        [],
    )
    .unwrap();
    drop(conn);
    for err in [
        catalog.latest_for_assets(&["a"], None).unwrap_err(),
        catalog.history("a", None, 10).unwrap_err(),
        catalog.latest("a", Some("p2"), None).unwrap_err(),
    ] {
        assert!(matches!(err, CatalogError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    // The others still read.
    assert!(catalog.latest("a", Some("p1"), None).unwrap().is_some());
}

fn run_info(run_id: &str, tag: Option<&str>) -> RunInfo {
    RunInfo {
        run_id: run_id.into(),
        started_at: "2024-06-01T10:00:00+00:00".into(),
        finished_at: None,
        status: RunStatus::Running,
        command: "materialize".into(),
        tag: tag.map(Into::into),
    }
}

const TTL: std::time::Duration = std::time::Duration::from_secs(60);

fn acquired(outcome: LeaseOutcome) -> Option<MaterializationRecord> {
    match outcome {
        LeaseOutcome::Acquired { latest } => latest.map(|r| *r),
        LeaseOutcome::Held(held) => panic!("expected the lease, it is held: {held:?}"),
    }
}

fn held(outcome: LeaseOutcome) -> LeaseInfo {
    match outcome {
        LeaseOutcome::Held(held) => held,
        LeaseOutcome::Acquired { .. } => panic!("expected the lease to be held by another"),
    }
}

#[test]
fn a_lease_is_exclusive_until_released() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let day = Some("2024-01-01");
    assert_eq!(
        acquired(catalog.acquire_lease("a", day, None, "run-1", TTL).unwrap()),
        None
    );
    let info = held(catalog.acquire_lease("a", day, None, "run-2", TTL).unwrap());
    assert_eq!(info.holder, "run-1");
    assert_eq!((info.asset.as_str(), info.partition.as_deref()), ("a", day));
    // Other keys and namespaces are independent.
    acquired(
        catalog
            .acquire_lease("a", Some("2024-01-02"), None, "run-2", TTL)
            .unwrap(),
    );
    acquired(
        catalog
            .acquire_lease("a", day, Some("bf"), "run-2", TTL)
            .unwrap(),
    );
    // The holder asking again renews.
    acquired(catalog.acquire_lease("a", day, None, "run-1", TTL).unwrap());
    assert_eq!(catalog.leases().unwrap().len(), 3);

    catalog.release_lease("a", day, None, "run-1").unwrap();
    acquired(catalog.acquire_lease("a", day, None, "run-2", TTL).unwrap());
    // Releasing a lease one does not hold changes nothing.
    catalog.release_lease("a", day, None, "run-1").unwrap();
    assert_eq!(
        held(catalog.acquire_lease("a", day, None, "run-3", TTL).unwrap()).holder,
        "run-2"
    );
}

#[test]
fn an_expired_lease_is_taken_over_and_its_holder_cannot_renew_it() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let short = std::time::Duration::from_millis(50);
    acquired(
        catalog
            .acquire_lease("a", None, None, "dead", short)
            .unwrap(),
    );
    assert!(catalog.renew_lease("a", None, None, "dead", short).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert!(
        catalog.leases().unwrap().is_empty(),
        "expired leases are not listed"
    );
    acquired(
        catalog
            .acquire_lease("a", None, None, "alive", TTL)
            .unwrap(),
    );
    assert!(!catalog.renew_lease("a", None, None, "dead", TTL).unwrap());
    assert!(catalog.renew_lease("a", None, None, "alive", TTL).unwrap());
    let leases = catalog.leases().unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].holder, "alive");
    assert!(
        leases[0].expires_at.ends_with('Z'),
        "{}",
        leases[0].expires_at
    );
}

#[test]
fn the_next_holder_sees_what_the_last_one_recorded_before_releasing() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let first = SqliteCatalog::open(&path).unwrap();
    let second = SqliteCatalog::open(&path).unwrap();
    let day = Some("2024-01-01");
    acquired(first.acquire_lease("a", day, None, "run-1", TTL).unwrap());
    held(second.acquire_lease("a", day, None, "run-2", TTL).unwrap());
    let record = record("a", day, None, "dv-1", vec![]);
    // Both queued, not flushed: the release commits after the record.
    first.record_materialization(&record).unwrap();
    first.release_lease("a", day, None, "run-1").unwrap();
    let latest = loop {
        match second.acquire_lease("a", day, None, "run-2", TTL).unwrap() {
            LeaseOutcome::Acquired { latest } => break latest,
            LeaseOutcome::Held(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    };
    assert_eq!(latest.map(|r| *r), Some(record));
}

#[test]
fn ending_a_run_frees_the_leases_it_still_holds() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    catalog.begin_run(&run_info("run-1", None)).unwrap();
    acquired(
        catalog
            .acquire_lease("a", None, None, "run-1", TTL)
            .unwrap(),
    );
    catalog
        .end_run("run-1", RunStatus::Failed, "2024-06-01T10:00:02+00:00")
        .unwrap();
    assert!(catalog.leases().unwrap().is_empty());
    acquired(
        catalog
            .acquire_lease("a", None, None, "run-2", TTL)
            .unwrap(),
    );
}

#[test]
fn leases_with_empty_keys_or_holder_are_refused() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    for (partition, tag, holder) in [
        (Some(""), None, "r"),
        (None, Some(""), "r"),
        (None, None, ""),
    ] {
        let err = catalog
            .acquire_lease("a", partition, tag, holder, TTL)
            .unwrap_err();
        assert!(matches!(err, CatalogError::InvalidRecord { .. }), "{err}");
        assert!(err.to_string().contains("lease on a"), "{err}");
    }
}

#[test]
fn dynamic_partitions_keep_insertion_order_and_adding_is_idempotent() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    assert!(catalog.partition_keys("customers").unwrap().is_empty());
    assert_eq!(
        catalog
            .add_partitions("customers", &["zeta", "alpha", "mid"])
            .unwrap(),
        3
    );
    // Known keys keep their place; a key given twice is added once.
    assert_eq!(
        catalog
            .add_partitions("customers", &["alpha", "new", "new"])
            .unwrap(),
        1
    );
    assert_eq!(
        catalog.partition_keys("customers").unwrap(),
        ["zeta", "alpha", "mid", "new"]
    );
    assert_eq!(
        catalog
            .remove_partitions("customers", &["alpha", "absent"])
            .unwrap(),
        1
    );
    // A removed key added again goes to the end.
    catalog.add_partitions("customers", &["alpha"]).unwrap();
    assert_eq!(
        catalog.partition_keys("customers").unwrap(),
        ["zeta", "mid", "new", "alpha"]
    );
    // Sets are independent.
    catalog.add_partitions("regions", &["eu"]).unwrap();
    assert_eq!(catalog.partition_keys("regions").unwrap(), ["eu"]);
    assert_eq!(catalog.partition_keys("customers").unwrap().len(), 4);
}

#[test]
fn a_bad_dynamic_partition_key_adds_nothing_and_is_named() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    for bad in ["", "../etc", "a/b", "_hidden"] {
        let err = catalog
            .add_partitions("customers", &["fine", bad])
            .unwrap_err();
        assert!(matches!(err, CatalogError::InvalidRecord { .. }), "{err}");
        assert!(err.to_string().contains("customers"), "{err}");
        assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
    }
    assert!(catalog.add_partitions("", &["x"]).is_err());
    assert!(catalog.partition_keys("customers").unwrap().is_empty());
}

#[test]
fn tags_are_listed_with_counts_failures_and_last_run() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    catalog.begin_run(&run_info("run-a", Some("bf"))).unwrap();
    catalog.begin_run(&run_info("run-b", Some("bf"))).unwrap();
    for day in ["2024-01-01", "2024-01-02"] {
        catalog
            .record_materialization(&record("a", Some(day), Some("bf"), "dv", vec![]))
            .unwrap();
    }
    catalog
        .record_materialization(&record("a", Some("2024-01-01"), None, "dv", vec![]))
        .unwrap();
    catalog
        .record_materialization(&record("b", None, Some("other"), "dv", vec![]))
        .unwrap();
    let mut failed = failure("c", None, 1, "2024-06-01T10:00:05+00:00");
    failed.tag = Some("bf".into());
    catalog.record_failure(&failed).unwrap();

    let tags = catalog.tags().unwrap();
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["bf", "other"]);
    assert_eq!(tags[0].asset_partitions, 2);
    assert_eq!(tags[0].failed, 1);
    assert_eq!(
        tags[0].last_run.as_ref().map(|r| r.run_id.as_str()),
        Some("run-b")
    );
    assert_eq!(tags[1].asset_partitions, 1);
    assert_eq!(tags[1].failed, 0);
    assert_eq!(tags[1].last_run, None);
}

#[test]
fn promoting_makes_the_tagged_latest_the_production_latest() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let day = Some("2024-01-01");
    let old = record("a", day, None, "dv-old", vec![]);
    let mut tagged = record(
        "a",
        day,
        Some("bf"),
        "dv-new",
        vec![input("up", day, "dv-up")],
    );
    tagged.uri = "file:///data/_tags/bf/a/2024-01-01/data.parquet".into();
    tagged.run_id = "run-bf".into();
    tagged.schema = Some("x: Int64".into());
    catalog.record_materialization(&old).unwrap();
    catalog.record_materialization(&tagged).unwrap();

    let uri = "file:///data/a/2024-01-01/data.parquet";
    let promoted = catalog.promote("bf", "a", day, uri, None).unwrap();
    assert_eq!(promoted, promoted_record(&tagged, uri));
    assert_eq!(promoted.tag, None);
    assert_eq!(promoted.promoted_from.as_deref(), Some("bf"));
    assert_eq!(promoted.uri, uri);
    assert_eq!(promoted.data_version, "dv-new");
    assert_eq!(promoted.inputs, tagged.inputs);
    assert_eq!(promoted.run_id, "run-bf");
    assert_eq!(
        catalog.latest("a", day, None).unwrap(),
        Some(promoted.clone())
    );
    // The tag keeps its entry; the history has all three.
    assert_eq!(catalog.latest("a", day, Some("bf")).unwrap(), Some(tagged));
    let history = catalog.history("a", day, 10).unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0], promoted);
    // Downstream lineage follows the promoted record's inputs too.
    assert_eq!(catalog.consumers("up", day, "dv-up").unwrap().len(), 2);
}

#[test]
fn promoting_what_a_tag_lacks_is_refused_naming_tag_and_asset() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let before = record("a", Some("2024-01-01"), None, "dv", vec![]);
    catalog.record_materialization(&before).unwrap();
    let err = catalog
        .promote("bf", "a", Some("2024-01-01"), "file:///x", None)
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::NothingToPromote { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("\"bf\""), "{message}");
    assert!(message.contains("a [2024-01-01]"), "{message}");
    assert_eq!(
        catalog.latest("a", Some("2024-01-01"), None).unwrap(),
        Some(before)
    );
    assert!(catalog.promote("", "a", None, "file:///x", None).is_err());
}

#[test]
fn a_promoted_record_with_a_tag_is_refused() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let mut bad = record("a", None, Some("bf"), "dv", vec![]);
    bad.promoted_from = Some("bf".into());
    assert!(matches!(
        catalog.record_materialization(&bad),
        Err(CatalogError::InvalidRecord { .. })
    ));
    bad.tag = None;
    bad.promoted_from = Some(String::new());
    assert!(catalog.record_materialization(&bad).is_err());
}

#[test]
fn discarding_a_tag_drops_its_latest_entries_and_keeps_history() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    for day in ["2024-01-01", "2024-01-02"] {
        catalog
            .record_materialization(&record("a", Some(day), Some("bf"), "dv", vec![]))
            .unwrap();
    }
    let production = record("a", Some("2024-01-01"), None, "dv-p", vec![]);
    catalog.record_materialization(&production).unwrap();
    let mut failed = failure("b", None, 1, "2024-06-01T10:00:05+00:00");
    failed.tag = Some("bf".into());
    catalog.record_failure(&failed).unwrap();

    assert_eq!(catalog.discard_tag("bf").unwrap(), 3);
    assert!(catalog.tags().unwrap().is_empty());
    assert_eq!(
        catalog.latest("a", Some("2024-01-01"), Some("bf")).unwrap(),
        None
    );
    assert!(
        catalog
            .latest_for_assets(&["a"], Some("bf"))
            .unwrap()
            .is_empty()
    );
    assert!(
        catalog
            .failed_for_assets(&["b"], Some("bf"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        catalog.latest("a", Some("2024-01-01"), None).unwrap(),
        Some(production)
    );
    assert_eq!(catalog.history("a", None, 10).unwrap().len(), 3);
    assert_eq!(
        catalog.failures("b", None, Some("bf"), 10).unwrap().len(),
        1
    );
    assert_eq!(catalog.discard_tag("bf").unwrap(), 0);
    assert!(catalog.discard_tag("").is_err());
}

#[test]
fn a_version_one_catalog_is_migrated_and_keeps_its_records() {
    let dir = temp();
    let path = catalog_path(dir.path());
    let kept = record("a", Some("2024-01-01"), None, "dv-1", vec![]);
    {
        // A catalog as assetflow with schema version 1 wrote it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(schema::V1).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = 1;",
            schema::APPLICATION_ID
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO materializations
             (asset, partition_key, tag, run_id, code_version, data_version, uri, row_count,
              byte_count, started_at, finished_at, framework_version, config_hash,
              git_commit, schema_id)
             VALUES ('a', '2024-01-01', '', ?1, ?2, ?3, ?4, 10, 100, ?5, ?6, ?7, NULL, ?8, NULL)",
            rusqlite::params![
                kept.run_id,
                kept.code_version,
                kept.data_version,
                kept.uri,
                kept.started_at,
                kept.finished_at,
                kept.framework_version,
                kept.git_commit
            ],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO materialization_records (materialization_id, schema_id, record)
             VALUES (?1, NULL, ?2)",
            rusqlite::params![id, codec::encode(&kept)],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO latest (tag, asset, partition_key, materialization_id, failed)
             VALUES ('', 'a', '2024-01-01', ?1, 0)",
            [id],
        )
        .unwrap();
    }
    let catalog = SqliteCatalog::open(&path).unwrap();
    assert_eq!(
        catalog.latest("a", Some("2024-01-01"), None).unwrap(),
        Some(kept.clone())
    );
    // What version 2 added works on the migrated file.
    acquired(
        catalog
            .acquire_lease("a", None, None, "run-1", TTL)
            .unwrap(),
    );
    catalog.add_partitions("set", &["k"]).unwrap();
    let mut tagged = kept.clone();
    tagged.tag = Some("bf".into());
    catalog.record_materialization(&tagged).unwrap();
    let promoted = catalog
        .promote("bf", "a", Some("2024-01-01"), "file:///p", None)
        .unwrap();
    assert_eq!(from_columns(&path, "a").last(), Some(&promoted));
    catalog.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3);
}

#[test]
fn leases_taken_together_are_each_exclusive_and_renewed_together() {
    let dir = temp();
    let catalog = SqliteCatalog::open(catalog_path(dir.path())).unwrap();
    let day1 = Some("2024-01-01");
    let day2 = Some("2024-01-02");
    acquired(
        catalog
            .acquire_lease("a", day2, None, "run-2", TTL)
            .unwrap(),
    );
    let outcomes = catalog
        .acquire_leases(&[("a", day1), ("a", day2), ("b", None)], None, "run-1", TTL)
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    assert!(matches!(outcomes[0], LeaseOutcome::Acquired { .. }));
    assert!(matches!(&outcomes[1], LeaseOutcome::Held(info) if info.holder == "run-2"));
    assert!(matches!(outcomes[2], LeaseOutcome::Acquired { .. }));
    // Renewing by holder touches only that holder's leases.
    assert_eq!(catalog.renew_leases_of("run-1", TTL).unwrap(), 2);
    assert_eq!(catalog.renew_leases_of("run-2", TTL).unwrap(), 1);
    assert_eq!(catalog.renew_leases_of("run-3", TTL).unwrap(), 0);
    // A bad key refuses the whole batch.
    assert!(
        catalog
            .acquire_leases(&[("a", Some(""))], None, "run-1", TTL)
            .is_err()
    );
}
