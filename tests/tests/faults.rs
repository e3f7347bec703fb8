//! Bad input and faults: an upstream file deleted or truncated, a disk-full
//! or permission-denied write, a panicking asset. Each gives the failing
//! step one clear message (one line, naming what is at fault and why);
//! nothing already published is lost; independent branches still complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use asset_core::Registry;
use asset_core::catalog::SqliteCatalog;
use asset_core::graph::{AssetGraph, Selection};
use asset_core::io::{
    Error as IoError, IoManager, Location, ParquetIoManager, Payload, PayloadKind, StorageRoot,
    StoreReceipt,
};
use asset_core::materialize::{
    IoManagers, MaterializeOptions, Materializer, RunReport, StepStatus,
};
use futures::future::BoxFuture;
use integration_tests::fixtures::{self, Behaviour};

const DAY: &str = "2024-01-02";

/// A fault a wrapped IO manager injects into stores of one asset.
#[derive(Clone, Copy)]
enum Fault {
    /// ENOSPC.
    DiskFull,
    /// EACCES.
    PermissionDenied,
}

/// The Parquet IO manager, failing every store of `asset` with `fault` as
/// the operating system would report it.
struct FaultyIo {
    inner: ParquetIoManager,
    asset: String,
    fault: Fault,
}

impl IoManager for FaultyIo {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> PayloadKind {
        self.inner.kind()
    }

    fn uri(&self, location: &Location) -> String {
        self.inner.uri(location)
    }

    fn store<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
    ) -> BoxFuture<'a, asset_core::io::Result<StoreReceipt>> {
        if location.asset() != self.asset {
            return self.inner.store(location, payload);
        }
        let os = match self.fault {
            Fault::DiskFull => std::io::Error::from_raw_os_error(28),
            Fault::PermissionDenied => std::io::Error::from_raw_os_error(13),
        };
        let uri = self.uri(location);
        Box::pin(async move {
            Err(IoError::Other {
                uri,
                message: os.to_string(),
            })
        })
    }

    fn load<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, asset_core::io::Result<Payload>> {
        self.inner.load(location)
    }

    fn exists<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, asset_core::io::Result<bool>> {
        self.inner.exists(location)
    }

    fn store_sidecar<'a>(
        &'a self,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, asset_core::io::Result<()>> {
        self.inner.store_sidecar(location, sidecar)
    }

    fn load_sidecar<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, asset_core::io::Result<Option<Vec<u8>>>> {
        self.inner.load_sidecar(location)
    }
}

/// The diamond on `root` with its catalog, `io` wrapping the Parquet IO
/// manager if given.
fn run(
    root: &Path,
    behaviour: &Behaviour,
    fault: Option<(&str, Fault)>,
    select: &str,
    force: bool,
) -> RunReport {
    let storage = StorageRoot::local(root).expect("root");
    let mut io = IoManagers::defaults(&storage);
    if let Some((asset, fault)) = fault {
        io = io.with(Arc::new(FaultyIo {
            inner: ParquetIoManager::new(storage.clone()),
            asset: asset.to_owned(),
            fault,
        }));
    }
    let registry = Registry::from_defs(fixtures::diamond(behaviour)).expect("registry");
    let catalog = SqliteCatalog::open(root.join("_catalog.sqlite")).expect("catalog");
    let materializer = Materializer::new(AssetGraph::build(registry).expect("graph"), io)
        .with_catalog(Arc::new(catalog));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime
        .block_on(materializer.run(&MaterializeOptions {
            selection: Selection::parse(select).expect("selection"),
            partition: Some(DAY.into()),
            force,
            ..MaterializeOptions::default()
        }))
        .expect("plans")
}

/// Every published data file (and record kept apart) under `root`, with its bytes.
fn published(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name == "part-0.parquet" || name == "provenance.json" {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                files.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

fn data_file(root: &Path, asset: &str) -> PathBuf {
    root.join(asset)
        .join(format!("day={DAY}"))
        .join("part-0.parquet")
}

/// A root where the diamond was materialized once, and what it published.
fn materialized() -> (tempfile::TempDir, BTreeMap<PathBuf, Vec<u8>>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = run(dir.path(), &Behaviour::ok(50), None, "*", false);
    assert!(first.succeeded(), "{}", first.summary_table());
    let files = published(dir.path());
    // Six values, each one file with its record inside.
    assert_eq!(files.len(), 6);
    (dir, files)
}

/// The failure message of `asset`'s step: one line that names `names`.
fn failure(report: &RunReport, asset: &str, names: &[&str]) -> String {
    let step = report
        .step(asset, Some(DAY))
        .unwrap_or_else(|| panic!("no step {asset}"));
    assert_eq!(
        step.status,
        StepStatus::Failed,
        "{}",
        report.summary_table()
    );
    let message = step.message.clone().expect("a message");
    eprintln!("{asset} [{DAY}]: {message}");
    assert!(!message.contains('\n'), "not one line: {message}");
    for name in names {
        assert!(message.contains(name), "{message:?} does not name {name:?}");
    }
    message
}

fn assert_status(report: &RunReport, asset: &str, status: StepStatus) {
    let partition = (asset != "lookup").then_some(DAY);
    assert_eq!(
        report.step(asset, partition).map(|s| s.status),
        Some(status),
        "{asset}: {}",
        report.summary_table()
    );
}

#[test]
fn a_deleted_upstream_file_fails_its_readers_naming_the_file() {
    let (dir, before) = materialized();
    let source = data_file(dir.path(), "source");
    std::fs::remove_file(&source).expect("delete");
    let report = run(
        dir.path(),
        &Behaviour::ok(50),
        None,
        "left,right,other",
        true,
    );
    let path = source.display().to_string();
    failure(&report, "left", &["source", DAY, "does not exist"]);
    failure(&report, "right", &[&path]);
    assert_status(&report, "other", StepStatus::Materialized);
    // What the failed steps had published is kept, byte for byte.
    let after = published(dir.path());
    for (rel, bytes) in &before {
        // (`source` lost its file; `other` was rewritten by the forced run.)
        if ["left", "right", "joined", "lookup"]
            .iter()
            .any(|a| rel.starts_with(a))
        {
            assert_eq!(after.get(rel), Some(bytes), "{} changed", rel.display());
        }
    }
}

#[test]
fn a_truncated_upstream_file_fails_its_readers_naming_the_file() {
    let (dir, before) = materialized();
    let source = data_file(dir.path(), "source");
    let bytes = std::fs::read(&source).expect("read");
    std::fs::write(&source, &bytes[..bytes.len() / 2]).expect("truncate");
    let report = run(dir.path(), &Behaviour::ok(50), None, "left,other", true);
    failure(&report, "left", &[&source.display().to_string(), "parquet"]);
    assert_status(&report, "other", StepStatus::Materialized);
    let left = PathBuf::from("left")
        .join(format!("day={DAY}"))
        .join("part-0.parquet");
    assert_eq!(published(dir.path()).get(&left), before.get(&left));
}

#[test]
fn a_disk_full_write_fails_the_step_and_keeps_the_published_value() {
    let (dir, before) = materialized();
    // New code: everything is stale and rewritten, but `left` cannot be.
    let mut changed = Behaviour::ok(50);
    changed.code_version = "2".into();
    let report = run(
        dir.path(),
        &changed,
        Some(("left", Fault::DiskFull)),
        "*",
        false,
    );
    failure(&report, "left", &["left", DAY, "No space left on device"]);
    assert_status(&report, "joined", StepStatus::Skipped);
    for asset in ["lookup", "source", "right", "other"] {
        assert_status(&report, asset, StepStatus::Materialized);
    }
    let after = published(dir.path());
    // The value and its record are one file.
    {
        let rel = PathBuf::from("left")
            .join(format!("day={DAY}"))
            .join("part-0.parquet");
        assert_eq!(
            after.get(&rel),
            before.get(&rel),
            "{} changed",
            rel.display()
        );
    }
}

/// Whether this process can write into a read-only directory (root can).
fn ignores_permissions() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let wrote = std::fs::write(dir.path().join("probe"), b"x").is_ok();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    wrote
}

#[test]
fn a_permission_denied_write_fails_the_step_and_keeps_the_published_value() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, before) = materialized();
    let mut changed = Behaviour::ok(50);
    changed.code_version = "2".into();
    let folder = dir.path().join("left").join(format!("day={DAY}"));
    // A read-only folder when permissions apply; as root (tests in
    // containers), the IO manager reports EACCES instead.
    let root = ignores_permissions();
    if !root {
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    }
    let fault = root.then_some(("left", Fault::PermissionDenied));
    let report = run(dir.path(), &changed, fault, "*", false);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    failure(&report, "left", &["left", DAY, "Permission denied"]);
    assert_status(&report, "joined", StepStatus::Skipped);
    assert_status(&report, "other", StepStatus::Materialized);
    let rel = PathBuf::from("left")
        .join(format!("day={DAY}"))
        .join("part-0.parquet");
    assert_eq!(published(dir.path()).get(&rel), before.get(&rel));
}

#[test]
fn a_panicking_asset_fails_its_step_only() {
    let (dir, before) = materialized();
    let mut panics = Behaviour::ok(50);
    panics.panic.insert("left".into());
    let report = run(dir.path(), &panics, None, "*", true);
    failure(&report, "left", &["panicked", "left"]);
    assert_status(&report, "joined", StepStatus::Skipped);
    for asset in ["lookup", "source", "right", "other"] {
        assert_status(&report, asset, StepStatus::Materialized);
    }
    let rel = PathBuf::from("left")
        .join(format!("day={DAY}"))
        .join("part-0.parquet");
    assert_eq!(published(dir.path()).get(&rel), before.get(&rel));
}
