//! Two `materialize` processes on one storage root and selection: both
//! succeed, every file is complete, no catalog update is lost, and no
//! asset-partition is computed twice (leases in the catalog). A lease whose
//! holder died or hangs is taken over.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use asset_core::catalog::{Catalog, SqliteCatalog};
use asset_core::io::{IoManager, Location, ParquetIoManager, StorageRoot};

const DAY: &str = "2024-01-02";

fn fixture(root: &Path, graph: &str, sleep_ms: u64, select: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root")
        .arg(root)
        .args(["-q", "materialize", "--select", select]);
    // The layered graph is unpartitioned.
    if !graph.starts_with("layered") {
        cmd.args(["--partition", DAY]);
    }
    cmd.env_remove("ASSETFLOW_ROOT")
        .env_remove("ASSETFLOW_FAILPOINT")
        .env("FIXTURE_GRAPH", graph)
        .env("FIXTURE_ROWS", "2000")
        .env("FIXTURE_SLEEP_MS", sleep_ms.to_string())
        .env("ASSETFLOW_LEASE_TTL", "1s")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn finish(child: Child, who: &str) {
    let out = child.wait_with_output().expect("waits");
    assert!(
        out.status.success(),
        "{who} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every asset-partition of `assets` was materialized exactly once (one
/// history entry), and its file loads.
fn check_once(root: &Path, assets: &[(String, Option<&str>)]) {
    let catalog = SqliteCatalog::open(root.join("_catalog.sqlite")).expect("catalog");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let io = ParquetIoManager::new(StorageRoot::local(root).expect("root"));
    for (asset, partition) in assets {
        let history = catalog.history(asset, *partition, 10).expect("history");
        assert_eq!(
            history.len(),
            1,
            "{asset} {partition:?} was materialized {} times: {:?}",
            history.len(),
            history.iter().map(|r| &r.run_id).collect::<Vec<_>>()
        );
        // Daily assets: their partitions are `day=` folders.
        let days: std::sync::Arc<[std::sync::Arc<str>]> = match partition {
            Some(_) => std::sync::Arc::from([std::sync::Arc::from("day")]),
            None => std::sync::Arc::from([]),
        };
        let location = Location::new(asset, *partition)
            .and_then(|l| l.with_dimensions(days))
            .expect("location");
        runtime
            .block_on(io.load(&location))
            .unwrap_or_else(|e| panic!("{location} does not load: {e}"));
    }
    // Killed runs stay "running"; none failed.
    let runs = catalog.runs(10).expect("runs");
    assert!(
        runs.iter()
            .all(|r| r.status != asset_core::catalog::RunStatus::Failed),
        "{runs:#?}"
    );
    assert!(catalog.leases().expect("leases").is_empty(), "leases left");
}

fn diamond_keys() -> Vec<(String, Option<&'static str>)> {
    ["lookup", "source", "left", "right", "joined", "other"]
        .into_iter()
        .map(|a| (a.to_owned(), (a != "lookup").then_some(DAY)))
        .collect()
}

#[test]
fn two_processes_on_one_root_materialize_each_asset_partition_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let a = fixture(dir.path(), "diamond", 150, "*").spawn().expect("a");
    let b = fixture(dir.path(), "diamond", 150, "*").spawn().expect("b");
    finish(a, "process a");
    finish(b, "process b");
    eprintln!("two diamond runs: {:?}", started.elapsed());
    check_once(dir.path(), &diamond_keys());
}

#[test]
fn two_processes_share_a_wide_graph_without_losing_an_update() {
    // 3 layers of 4 unpartitioned assets, each of the upper ones reading two.
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let a = fixture(dir.path(), "layered:3:4", 60, "*")
        .spawn()
        .expect("a");
    let b = fixture(dir.path(), "layered:3:4", 60, "*")
        .spawn()
        .expect("b");
    finish(a, "process a");
    finish(b, "process b");
    eprintln!("two layered runs: {:?}", started.elapsed());
    let keys: Vec<(String, Option<&str>)> = (0..3)
        .flat_map(|k| (0..4).map(move |i| (format!("l{k:02}_a{i:02}"), None)))
        .collect();
    check_once(dir.path(), &keys);
}

/// Waits until run `holder`'s process holds a lease on `asset`.
fn wait_for_lease(root: &Path, asset: &str) -> asset_core::catalog::LeaseInfo {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(catalog) = SqliteCatalog::open(root.join("_catalog.sqlite"))
            && let Some(lease) = catalog
                .leases()
                .expect("leases")
                .into_iter()
                .find(|l| l.asset == asset)
        {
            return lease;
        }
        assert!(Instant::now() < deadline, "no lease on {asset} appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_lease_holder_is_taken_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `a` sleeps 30 s in `other`: killed while it holds the lease.
    let mut a = fixture(dir.path(), "diamond", 30_000, "other")
        .spawn()
        .expect("a");
    let lease = wait_for_lease(dir.path(), "other");
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    let started = Instant::now();
    let b = fixture(dir.path(), "diamond", 0, "other")
        .spawn()
        .expect("b");
    finish(b, "process b");
    // Its process is gone: taken over without waiting for the lease to
    // expire (1 s, renewed every 333 ms).
    eprintln!("takeover after a kill: {:?}", started.elapsed());
    check_once(dir.path(), &[("other".to_owned(), Some(DAY))]);
    let catalog = SqliteCatalog::open(dir.path().join("_catalog.sqlite")).expect("catalog");
    let record = catalog
        .latest("other", Some(DAY), None)
        .expect("latest")
        .expect("recorded");
    assert_ne!(
        record.run_id, lease.holder,
        "the killed run recorded nothing"
    );
}

#[test]
fn a_hung_lease_holder_is_taken_over_once_its_lease_expires() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = fixture(dir.path(), "diamond", 30_000, "other")
        .spawn()
        .expect("a");
    let lease = wait_for_lease(dir.path(), "other");
    // SIGSTOP: alive, but no longer renewing.
    let stopped = Command::new("kill")
        .args(["-STOP", &a.id().to_string()])
        .status()
        .expect("kill -STOP");
    assert!(stopped.success());
    let catalog = SqliteCatalog::open(dir.path().join("_catalog.sqlite")).expect("catalog");
    let expires_at = catalog
        .leases()
        .expect("leases")
        .into_iter()
        .find(|l| l.asset == "other")
        .expect("still held")
        .expires_at;
    let b = fixture(dir.path(), "diamond", 0, "other")
        .spawn()
        .expect("b");
    finish(b, "process b");
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    let record = catalog
        .latest("other", Some(DAY), None)
        .expect("latest")
        .expect("recorded");
    assert_ne!(record.run_id, lease.holder);
    // `b` could not finish before the stopped holder's lease expired.
    let expiry = chrono::DateTime::parse_from_rfc3339(&expires_at).expect("time");
    let finished = chrono::DateTime::parse_from_rfc3339(&record.finished_at).expect("time");
    assert!(
        finished >= expiry,
        "finished at {finished}, the lease ran until {expiry}"
    );
    assert_eq!(catalog.history("other", Some(DAY), 10).expect("h").len(), 1);
}
