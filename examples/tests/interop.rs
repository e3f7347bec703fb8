//! The example's output read as datasets by pyarrow, DuckDB and Polars
//! (`interop.py`), after a 31-day backfill: every Parquet asset is read
//! whole across its partitions, with the `day` partition column, and each
//! tool sees the rows the catalog recorded and the types the asset wrote.
//!
//! The Python side needs a venv with pyarrow, duckdb and polars: `.ci/run`
//! creates it and sets `ASSETFLOW_INTEROP_PYTHON` to its interpreter. Without
//! that variable the test is skipped, except when `CI` is set: then it
//! fails, so CI cannot pass without running it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use asset_core::catalog::{Catalog, SqliteCatalog};

/// The example's Parquet assets (the others are JSON documents).
const TABLES: [&str; 6] = [
    "raw_events",
    "clean_events",
    "user_features",
    "item_features",
    "item_totals",
    "weekly_item_trends",
];

const DAYS: u64 = 31;

/// The venv's python, or `None` (skip) outside CI.
fn python() -> Option<String> {
    match std::env::var("ASSETFLOW_INTEROP_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but ASSETFLOW_INTEROP_PYTHON is not: .ci/run creates the interop venv and sets it"
        ),
        _ => {
            eprintln!(
                "skipped: set ASSETFLOW_INTEROP_PYTHON to a python with pyarrow, duckdb and polars"
            );
            None
        }
    }
}

/// Rows the catalog recorded per asset, summed over its partitions.
fn recorded_rows(root: &Path) -> BTreeMap<String, u64> {
    let catalog = SqliteCatalog::open(root.join("_catalog.sqlite")).expect("catalog");
    let mut rows = BTreeMap::new();
    for record in catalog.latest_for_assets(&TABLES, None).expect("query") {
        *rows.entry(record.asset).or_insert(0) += record.rows;
    }
    rows
}

#[test]
fn pyarrow_duckdb_and_polars_read_each_asset_as_a_hive_dataset() {
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let status = Command::new(env!("CARGO_BIN_EXE_recommender"))
        .arg("--root")
        .arg(&root)
        .args([
            "-q",
            "materialize",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31",
        ])
        .env_remove("ASSETFLOW_ROOT")
        .status()
        .expect("the example runs");
    assert!(status.success(), "the 31-day backfill failed: {status}");
    let recorded = recorded_rows(&root);
    assert_eq!(recorded.len(), TABLES.len(), "{recorded:?}");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(&root)
        .args(TABLES)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");

    for asset in TABLES {
        for tool in ["pyarrow", "duckdb", "polars"] {
            let view = &seen[asset][tool];
            assert_eq!(
                view["rows"].as_u64(),
                Some(recorded[asset]),
                "{tool} reads {asset}: {view}"
            );
            assert_eq!(
                view["days"].as_u64(),
                Some(DAYS),
                "{tool} reads {asset}: {view}"
            );
            assert!(
                view["columns"].get("day").is_some(),
                "{tool} adds the partition column to {asset}: {view}"
            );
        }
    }
    // Types as written: the event time is a UTC timestamp for all three,
    // ids are 64-bit integers, and DuckDB reads `day` as a date.
    let column = |asset: &str, tool: &str, name: &str| {
        seen[asset][tool]["columns"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        column("raw_events", "pyarrow", "ts"),
        "timestamp[ms, tz=UTC]"
    );
    assert_eq!(
        column("raw_events", "duckdb", "ts"),
        "TIMESTAMP WITH TIME ZONE"
    );
    assert!(
        column("raw_events", "polars", "ts")
            .starts_with("Datetime(time_unit='ms', time_zone='UTC')"),
        "{}",
        column("raw_events", "polars", "ts")
    );
    for tool in ["pyarrow", "duckdb", "polars"] {
        let id = column("raw_events", tool, "event_id");
        assert!(
            ["int64", "BIGINT", "Int64"].contains(&id.as_str()),
            "{tool}: event_id is {id}"
        );
    }
    assert_eq!(column("clean_events", "duckdb", "day"), "DATE");
}
