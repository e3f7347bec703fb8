//! Crash safety: the materializer killed with SIGKILL at many points of a
//! run. After each kill, every published value is complete and readable, no
//! provenance or catalog entry points at a missing value, and rerunning the
//! same command completes the run with byte-for-byte the data of a run that
//! was never interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use asset_core::catalog::{Catalog, SqliteCatalog};
use asset_core::io::{IoManager, Location, ParquetIoManager, StorageRoot};

const DAY: &str = "2024-01-02";

fn fixture(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root")
        .arg(root)
        .args(["-q", "materialize", "--partition", DAY])
        .env_remove("ASSETFLOW_ROOT")
        .env("FIXTURE_ROWS", "20000")
        .env("FIXTURE_SLEEP_MS", "25")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Every published data file under `root`, by path relative to the root.
fn data_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "data.parquet") {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                files.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

/// The invariants that must hold after any kill.
fn check_consistent(root: &Path) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let io = ParquetIoManager::new(StorageRoot::local(root).expect("root"));
    // Every published file is a complete, readable Parquet file.
    for rel in data_files(root).keys() {
        let parts: Vec<String> = rel
            .parent()
            .expect("folder")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let location = Location::new(&parts[0], parts.get(1).map(String::as_str)).expect("loc");
        runtime
            .block_on(io.load(&location))
            .unwrap_or_else(|e| panic!("published {} is not readable: {e}", rel.display()));
    }
    // Every sidecar describes a value that is there.
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "_provenance.json") {
                let data = path.with_file_name("data.parquet");
                assert!(data.is_file(), "{} has no value beside it", path.display());
            }
        }
    }
    // The catalog never points at a missing value.
    let catalog_path = root.join("_catalog.sqlite");
    if catalog_path.exists() {
        let catalog = SqliteCatalog::open(&catalog_path).expect("catalog opens after a kill");
        let assets = ["lookup", "source", "left", "right", "joined", "other"];
        for record in catalog.latest_for_assets(&assets, None).expect("query") {
            let path = record.uri.strip_prefix("file://").unwrap_or(&record.uri);
            assert!(
                Path::new(path).is_file(),
                "catalog points at missing {}",
                record.uri
            );
        }
    }
}

#[test]
fn rerun_after_sigkill_at_any_point_completes_with_identical_data() {
    let reference_dir = tempfile::tempdir().expect("tempdir");
    let status = fixture(reference_dir.path()).status().expect("runs");
    assert!(status.success());
    let reference = data_files(reference_dir.path());
    assert_eq!(reference.len(), 6);

    for delay_ms in [1, 10, 25, 40, 60, 80, 110, 150, 200] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = fixture(dir.path()).spawn().expect("spawns");
        std::thread::sleep(Duration::from_millis(delay_ms));
        // SIGKILL: no destructor, no flush, no cleanup.
        let _ = child.kill();
        let _ = child.wait();
        check_consistent(dir.path());

        let status = fixture(dir.path()).status().expect("reruns");
        assert!(
            status.success(),
            "rerun after a kill at {delay_ms} ms failed"
        );
        check_consistent(dir.path());
        assert_eq!(
            data_files(dir.path()),
            reference,
            "data after a kill at {delay_ms} ms and a rerun differs from an uninterrupted run"
        );
    }
}
