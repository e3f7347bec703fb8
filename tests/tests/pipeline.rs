//! Whole runs through the library API, in temporary roots.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use asset_core::graph::AssetGraph;
use asset_core::graph::Selection;
use asset_core::io::Payload;
use asset_core::materialize::Materializer;
use asset_core::materialize::{MaterializeOptions, StepStatus};
use asset_core::testing::TestPipeline;
use asset_core::{AssetDef, Registry};
use integration_tests::fixtures::{self, Behaviour};

const DAY: &str = "2024-01-02";

fn pipeline(behaviour: &Behaviour) -> TestPipeline {
    TestPipeline::from_assets(fixtures::diamond(behaviour)).expect("valid graph")
}

fn status(report: &asset_core::materialize::RunReport, asset: &str) -> StepStatus {
    let partition = if asset == "lookup" { None } else { Some(DAY) };
    report
        .step(asset, partition)
        .expect("step in report")
        .status
}

#[test]
fn first_run_materializes_every_selected_step() {
    let p = pipeline(&Behaviour::ok(10));
    let report = p.materialize("*", Some(DAY)).expect("runs");
    assert!(report.succeeded(), "{}", report.summary_table());
    assert_eq!(report.count(StepStatus::Materialized), 6);
    assert!(
        p.root()
            .join("joined")
            .join(format!("day={DAY}"))
            .join("part-0.parquet")
            .is_file()
    );
    assert!(p.root().join("lookup").join("part-0.parquet").is_file());
    // The record is in the file's footer: no other file, no records tree.
    assert!(!p.root().join("_provenance").exists());
}

#[test]
fn second_run_recomputes_nothing_and_force_recomputes_everything() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("*", Some(DAY)).expect("first run");
    let again = p.materialize("*", Some(DAY)).expect("second run");
    assert_eq!(
        again.count(StepStatus::Fresh),
        6,
        "{}",
        again.summary_table()
    );
    let forced = p
        .run(MaterializeOptions {
            partition: Some(DAY.into()),
            force: true,
            ..MaterializeOptions::default()
        })
        .expect("forced run");
    assert_eq!(forced.count(StepStatus::Materialized), 6);
}

#[test]
fn rerun_overwrites_with_identical_data_pages() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("*", Some(DAY)).expect("first run");
    let file = p
        .root()
        .join("joined")
        .join(format!("day={DAY}"))
        .join("part-0.parquet");
    let before = std::fs::read(&file).expect("read");
    let options = MaterializeOptions {
        partition: Some(DAY.into()),
        force: true,
        ..MaterializeOptions::default()
    };
    p.run(options).expect("forced run");
    // The data pages are the same bytes; only the footer's record (run id,
    // times) is the new run's.
    let after = std::fs::read(&file).expect("read");
    assert_eq!(fixtures::data_pages(&after), fixtures::data_pages(&before));
    assert_ne!(after, before, "the footer records the new run");
    let entries: Vec<_> = std::fs::read_dir(file.parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut entries = entries;
    entries.sort();
    assert_eq!(entries, ["part-0.parquet"]);
}

/// A materializer over `assets` on the storage root of `p`.
fn on_same_root(p: &TestPipeline, assets: Vec<AssetDef>) -> Materializer {
    let graph = AssetGraph::build(Registry::from_defs(assets).expect("valid")).expect("valid");
    let m = Materializer::new(graph, p.materializer().io_managers().clone());
    match p.materializer().catalog() {
        Some(catalog) => m.with_catalog(catalog.clone()),
        None => m,
    }
}

#[test]
fn code_change_reruns_that_asset_and_identical_output_cuts_off_downstream() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("*", Some(DAY)).expect("first run");
    let mut assets = fixtures::diamond(&Behaviour::ok(10));
    for a in &mut assets {
        if a.key == "source" {
            a.code_version = "source-v2".into();
        }
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt
        .block_on(on_same_root(&p, assets).run(&MaterializeOptions {
            partition: Some(DAY.into()),
            ..MaterializeOptions::default()
        }))
        .expect("runs");
    let source = report.step("source", Some(DAY)).expect("step");
    assert_eq!(source.status, StepStatus::Materialized);
    let reason = source.message.clone().unwrap_or_default();
    assert!(reason.starts_with("code version changed"), "{reason}");
    // The function is the same, so the data is too: nothing downstream reruns.
    for asset in ["left", "right", "joined", "other"] {
        assert_eq!(status(&report, asset), StepStatus::Fresh, "{asset}");
    }
}

#[test]
fn new_upstream_data_reruns_downstream_with_the_reason() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("*", Some(DAY)).expect("first run");
    // More rows upstream: new data version, downstream must rerun.
    let bigger = Behaviour::ok(11);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt
        .block_on(
            on_same_root(&p, fixtures::diamond(&bigger)).run(&MaterializeOptions {
                selection: Selection::parse("source").expect("parses"),
                partition: Some(DAY.into()),
                force: true,
                ..MaterializeOptions::default()
            }),
        )
        .expect("runs");
    assert_eq!(status(&report, "source"), StepStatus::Materialized);
    let report = p.materialize("right", Some(DAY)).expect("runs");
    let right = report.step("right", Some(DAY)).expect("step");
    assert_eq!(right.status, StepStatus::Materialized);
    let reason = right.message.clone().unwrap_or_default();
    assert!(
        reason.starts_with("source 2024-01-02 has a new data version"),
        "{reason}"
    );
}

#[test]
fn failed_step_skips_downstream_and_independent_branches_finish() {
    let behaviour = Behaviour {
        fail: HashSet::from(["left".to_owned()]),
        ..Behaviour::ok(10)
    };
    let p = pipeline(&behaviour);
    let report = p.materialize("*", Some(DAY)).expect("runs");
    assert!(!report.succeeded());
    assert_eq!(status(&report, "left"), StepStatus::Failed);
    assert_eq!(status(&report, "joined"), StepStatus::Skipped);
    assert_eq!(status(&report, "right"), StepStatus::Materialized);
    assert_eq!(status(&report, "other"), StepStatus::Materialized);
    let left = report.step("left", Some(DAY)).expect("left");
    assert!(
        left.message
            .as_deref()
            .unwrap_or("")
            .contains("told to fail")
    );
    assert!(
        !p.root().join("left").join(format!("day={DAY}")).exists(),
        "nothing published for the failed step"
    );
}

#[test]
fn panicking_asset_is_that_steps_failure_only() {
    let behaviour = Behaviour {
        panic: HashSet::from(["right".to_owned()]),
        ..Behaviour::ok(10)
    };
    let report = pipeline(&behaviour)
        .materialize("*", Some(DAY))
        .expect("runs");
    assert_eq!(status(&report, "right"), StepStatus::Failed);
    let msg = report
        .step("right", Some(DAY))
        .and_then(|s| s.message.clone());
    assert!(msg.as_deref().unwrap_or("").contains("panicked"), "{msg:?}");
    assert_eq!(status(&report, "joined"), StepStatus::Skipped);
    assert_eq!(status(&report, "left"), StepStatus::Materialized);
}

#[test]
fn corrupt_upstream_file_fails_the_reader_naming_the_file() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("source", Some(DAY)).expect("source");
    let file = p
        .root()
        .join("source")
        .join(format!("day={DAY}"))
        .join("part-0.parquet");
    std::fs::write(&file, b"PAR1 this is not parquet").expect("corrupt it");
    let report = p.materialize("right+", Some(DAY)).expect("runs");
    assert_eq!(status(&report, "right"), StepStatus::Failed);
    let msg = report
        .step("right", Some(DAY))
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    assert!(
        msg.contains("source") && msg.contains("part-0.parquet"),
        "{msg}"
    );
    assert_eq!(status(&report, "joined"), StepStatus::Skipped);
    assert_eq!(
        std::fs::read(&file).expect("read"),
        b"PAR1 this is not parquet",
        "untouched"
    );
}

#[test]
fn upstream_never_materialized_is_a_clear_failure() {
    let p = pipeline(&Behaviour::ok(10));
    let report = p.materialize("right", Some(DAY)).expect("runs");
    let msg = report
        .step("right", Some(DAY))
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    assert!(
        msg.contains("has not been materialized") && msg.contains("+right"),
        "{msg}"
    );
}

/// Four independent assets that each record how many steps run at once.
fn concurrency_probe(running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Vec<AssetDef> {
    (0..4)
        .map(|i| {
            let (running, peak) = (running.clone(), peak.clone());
            AssetDef::new(format!("probe{i}"), move |_| {
                let (running, peak) = (running.clone(), peak.clone());
                Box::pin(async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    // Long enough for the scheduler to start every ready step.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(Payload::Nothing)
                })
            })
        })
        .collect()
}

#[test]
fn independent_steps_run_concurrently_but_never_more_than_jobs() {
    for jobs in [1, 2, 4] {
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let p = TestPipeline::from_assets(concurrency_probe(running, peak.clone())).expect("ok");
        let report = p
            .run(MaterializeOptions {
                jobs,
                ..MaterializeOptions::default()
            })
            .expect("runs");
        assert!(report.succeeded());
        assert_eq!(peak.load(Ordering::SeqCst), jobs, "jobs = {jobs}");
    }
}

#[test]
fn dry_run_reports_without_writing() {
    let p = pipeline(&Behaviour::ok(10));
    let report = p
        .run(MaterializeOptions {
            partition: Some(DAY.into()),
            dry_run: true,
            ..MaterializeOptions::default()
        })
        .expect("runs");
    assert_eq!(report.count(StepStatus::WouldRun), 6);
    assert!(!p.root().join("source").exists());
}

#[test]
fn partitioned_selection_without_partition_is_a_usage_error() {
    let p = pipeline(&Behaviour::ok(10));
    let err = p.materialize("*", None).expect_err("needs a partition");
    assert!(err.is_usage());
    assert!(err.to_string().contains("--partition"), "{err}");
}

/// Counts loads, delegating to an in-memory store.
struct CountingIo {
    inner: asset_core::io::MemoryIoManager,
    loads: AtomicUsize,
}

impl asset_core::io::IoManager for CountingIo {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> asset_core::io::PayloadKind {
        self.inner.kind()
    }
    fn uri(&self, location: &asset_core::io::Location) -> String {
        self.inner.uri(location)
    }
    fn store<'a>(
        &'a self,
        location: &'a asset_core::io::Location,
        payload: &'a Payload,
    ) -> futures::future::BoxFuture<'a, asset_core::io::Result<asset_core::io::StoreReceipt>> {
        self.inner.store(location, payload)
    }
    fn load<'a>(
        &'a self,
        location: &'a asset_core::io::Location,
    ) -> futures::future::BoxFuture<'a, asset_core::io::Result<Payload>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(location)
    }
    fn store_sidecar<'a>(
        &'a self,
        location: &'a asset_core::io::Location,
        sidecar: &'a [u8],
    ) -> futures::future::BoxFuture<'a, asset_core::io::Result<()>> {
        self.inner.store_sidecar(location, sidecar)
    }
    fn load_sidecar<'a>(
        &'a self,
        location: &'a asset_core::io::Location,
    ) -> futures::future::BoxFuture<'a, asset_core::io::Result<Option<Vec<u8>>>> {
        self.inner.load_sidecar(location)
    }
}

#[test]
fn outputs_produced_in_the_run_are_handed_over_in_memory_within_the_budget() {
    for (budget, expected_loads) in [(asset_core::materialize::DEFAULT_MEMORY_BUDGET, 0), (0, 4)] {
        let io = Arc::new(CountingIo {
            inner: asset_core::io::MemoryIoManager::new(
                "parquet",
                asset_core::io::PayloadKind::Table,
            ),
            loads: AtomicUsize::new(0),
        });
        // 2 layers of 2: each asset of layer 1 reads both assets of layer 0,
        // so 4 loads when nothing is held in memory.
        let graph = AssetGraph::build(
            Registry::from_defs(fixtures::layered(2, 2, &Behaviour::ok(5))).expect("valid"),
        )
        .expect("valid");
        let materializer = Materializer::new(
            graph,
            asset_core::materialize::IoManagers::empty().with(io.clone()),
        );
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let report = rt
            .block_on(materializer.run(&MaterializeOptions {
                memory_budget: budget,
                ..MaterializeOptions::default()
            }))
            .expect("runs");
        assert!(report.succeeded());
        assert_eq!(
            io.loads.load(Ordering::SeqCst),
            expected_loads,
            "budget {budget}"
        );
    }
}

#[test]
fn deleted_value_with_its_sidecar_left_is_recomputed() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("source", Some(DAY)).expect("first run");
    std::fs::remove_file(
        p.root()
            .join("source")
            .join(format!("day={DAY}"))
            .join("part-0.parquet"),
    )
    .expect("rm");
    let report = p.materialize("source", Some(DAY)).expect("second run");
    let step = report.step("source", Some(DAY)).expect("step");
    assert_eq!(step.status, StepStatus::Materialized);
    assert_eq!(step.message.as_deref(), Some("its stored value is missing"));
}

/// Rewrites the root of `p` the way the previous release laid it out: each
/// value at `<asset>/<key>/data.parquet` with no record in its footer, and
/// its record beside it in `_provenance.json`.
fn to_previous_layout(p: &TestPipeline) {
    use asset_core::io::{IoManager, Location, ParquetIoManager, StorageRoot};
    let root = p.root();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let io = ParquetIoManager::new(StorageRoot::local(root).expect("root"));
    for (asset, partition) in [
        ("lookup", None),
        ("source", Some(DAY)),
        ("left", Some(DAY)),
        ("right", Some(DAY)),
        ("joined", Some(DAY)),
        ("other", Some(DAY)),
    ] {
        let days = std::sync::Arc::from(match partition {
            Some(_) => vec![std::sync::Arc::from("day")],
            None => vec![],
        });
        let location = Location::new(asset, partition)
            .and_then(|l| l.with_dimensions(days))
            .expect("location");
        let record = rt
            .block_on(io.load_sidecar(&location))
            .expect("record")
            .expect("a record");
        // The same bytes the catalog recorded (its size check must hold, as
        // it does for a root the previous release wrote), under the old name.
        let folder = match partition {
            Some(day) => root.join(asset).join(day),
            None => root.join(asset),
        };
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::copy(
            root.join(io.data_path(&location).as_ref()),
            folder.join("data.parquet"),
        )
        .expect("copy");
        std::fs::write(folder.join("_provenance.json"), record).expect("sidecar");
        std::fs::remove_file(root.join(io.data_path(&location).as_ref())).expect("rm new");
        if partition.is_some() {
            std::fs::remove_dir(root.join(asset).join(format!("day={DAY}"))).expect("rmdir");
        }
    }
}

#[test]
fn a_root_in_the_previous_layout_keeps_working_and_is_rewritten_as_it_reruns() {
    let p = pipeline(&Behaviour::ok(10));
    p.materialize("*", Some(DAY)).expect("first run");
    to_previous_layout(&p);
    let old = p.root().join("joined").join(DAY).join("data.parquet");
    assert!(old.is_file());
    assert!(!p.root().join("joined").join(format!("day={DAY}")).exists());

    // Everything is found where the previous release put it: all fresh.
    let again = p.materialize("*", Some(DAY)).expect("second run");
    assert_eq!(
        again.count(StepStatus::Fresh),
        6,
        "{}",
        again.summary_table()
    );

    // A rerun of one asset writes it in the new layout and removes its old files.
    let forced = p
        .run(MaterializeOptions {
            selection: Selection::parse("joined").expect("parses"),
            partition: Some(DAY.into()),
            force: true,
            ..MaterializeOptions::default()
        })
        .expect("forced run");
    assert_eq!(forced.count(StepStatus::Materialized), 1);
    assert!(!old.exists());
    assert!(!p.root().join("joined").join(DAY).exists());
    assert!(
        p.root()
            .join("joined")
            .join(format!("day={DAY}"))
            .join("part-0.parquet")
            .is_file()
    );
    // Its upstreams, still in the old layout, were read as they were.
    assert!(
        p.root()
            .join("left")
            .join(DAY)
            .join("data.parquet")
            .is_file()
    );
    let after = p.materialize("*", Some(DAY)).expect("third run");
    assert_eq!(
        after.count(StepStatus::Fresh),
        6,
        "{}",
        after.summary_table()
    );
}
