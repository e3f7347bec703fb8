//! Retries of steps that fail with a transient error, on a paused clock:
//! the delays are checked on tokio's virtual time, not slept for real.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asset_core::asset::definition::StepInput;
use asset_core::catalog::{Catalog, SqliteCatalog};
use asset_core::graph::AssetGraph;
use asset_core::io::{Payload, StorageRoot, TableData};
use asset_core::materialize::{
    IoManagers, MaterializeOptions, Materializer, RunReport, StepStatus,
};
use asset_core::{AssetDef, AssetError, Jitter, PartitionsDef, Registry, RetryPolicy};
use integration_tests::fixtures;

/// What the test asset does on each attempt (from 1).
type Script = Arc<dyn Fn(u32) -> Result<(), AssetError> + Send + Sync>;

/// A one-row table.
fn payload() -> Result<Payload, AssetError> {
    let batch = fixtures::table(1, 0.0)?;
    Ok(Payload::Table(TableData::new(batch.schema(), vec![batch])))
}

/// An asset `flaky` that runs `script` on each attempt and counts attempts;
/// it records the idempotency key it was given each time.
fn flaky(
    policy: RetryPolicy,
    attempts: Arc<AtomicU32>,
    keys: Arc<Mutex<Vec<String>>>,
    script: Script,
) -> AssetDef {
    AssetDef::new("flaky", move |input: StepInput| {
        let attempts = attempts.clone();
        let keys = keys.clone();
        let script = script.clone();
        Box::pin(async move {
            let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            keys.lock()
                .expect("not poisoned")
                .push(input.context.idempotency_key());
            script(attempt)?;
            payload()
        })
    })
    .with_partitions(PartitionsDef::daily("2024-01-01").expect("valid start"))
    .with_code_version("v1")
    .with_retry(policy)
}

/// A materializer for `def` on a temp root, with a SQLite catalog there.
struct Setup {
    _dir: tempfile::TempDir,
    materializer: Materializer,
    catalog: Arc<SqliteCatalog>,
}

fn setup(def: AssetDef) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = StorageRoot::parse(&dir.path().join("data").to_string_lossy()).expect("root");
    let catalog = Arc::new(SqliteCatalog::open(dir.path().join("catalog.db")).expect("catalog"));
    let graph =
        AssetGraph::build(Registry::from_defs(vec![def]).expect("registry")).expect("graph");
    let materializer = Materializer::new(graph, IoManagers::defaults(&root))
        .with_catalog(catalog.clone() as Arc<dyn Catalog>);
    Setup {
        _dir: dir,
        materializer,
        catalog,
    }
}

async fn run(setup: &Setup, partition: &str, force: bool) -> RunReport {
    setup
        .materializer
        .run(&MaterializeOptions {
            partition: Some(partition.into()),
            force,
            jobs: 1,
            ..MaterializeOptions::default()
        })
        .await
        .expect("the run starts")
}

fn policy(max_retries: u32) -> RetryPolicy {
    RetryPolicy::retries(max_retries)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(60))
        .with_jitter(Jitter::None)
}

const DAY: &str = "2024-01-02";

/// Failed attempts recorded for `flaky` on `DAY`, oldest first.
fn failure_attempts(setup: &Setup) -> Vec<(u32, String)> {
    setup.catalog.flush().expect("flush");
    let mut failures: Vec<(u32, String)> = setup
        .catalog
        .failures("flaky", Some(DAY), None, 100)
        .expect("failures")
        .into_iter()
        .map(|f| (f.attempt, f.error))
        .collect();
    failures.sort();
    failures
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_backoff_until_success() {
    let attempts = Arc::new(AtomicU32::new(0));
    let keys = Arc::new(Mutex::new(Vec::new()));
    let script: Script = Arc::new(|attempt| {
        if attempt <= 2 {
            Err(AssetError::transient(format!("timeout {attempt}")))
        } else {
            Ok(())
        }
    });
    let s = setup(flaky(policy(3), attempts.clone(), keys.clone(), script));
    let started = tokio::time::Instant::now();
    let report = run(&s, DAY, false).await;
    let elapsed = started.elapsed();

    assert!(report.succeeded(), "{}", report.summary_table());
    let step = report.step("flaky", Some(DAY)).expect("step");
    assert_eq!(step.status, StepStatus::Materialized);
    let message = step.message.clone().unwrap_or_default();
    assert!(message.contains("succeeded on attempt 3 of 4"), "{message}");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    // No jitter: 1 s after the first failure, 2 s after the second.
    assert_eq!(elapsed, Duration::from_secs(3));
    assert_eq!(
        failure_attempts(&s),
        [(1, "timeout 1".to_owned()), (2, "timeout 2".to_owned())]
    );
    // Every attempt saw the same idempotency key.
    let keys = keys.lock().expect("not poisoned").clone();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
}

#[tokio::test(start_paused = true)]
async fn running_out_of_retries_fails_with_the_attempt_count() {
    let attempts = Arc::new(AtomicU32::new(0));
    let script: Script = Arc::new(|_| Err(AssetError::transient("still down")));
    let s = setup(flaky(
        policy(3).with_backoff(Duration::from_secs(1), Duration::from_secs(3)),
        attempts.clone(),
        Arc::default(),
        script,
    ));
    let started = tokio::time::Instant::now();
    let report = run(&s, DAY, false).await;
    let step = report.step("flaky", Some(DAY)).expect("step");
    assert_eq!(step.status, StepStatus::Failed);
    assert_eq!(
        step.message.as_deref(),
        Some("failed after 4 attempts: still down")
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
    // 1 s, 2 s, then 3 s (capped at max).
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    let recorded: Vec<u32> = failure_attempts(&s).into_iter().map(|(a, _)| a).collect();
    assert_eq!(recorded, [1, 2, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn a_non_transient_error_is_not_retried() {
    let attempts = Arc::new(AtomicU32::new(0));
    let script: Script = Arc::new(|_| Err(AssetError::msg("bad data")));
    let s = setup(flaky(policy(3), attempts.clone(), Arc::default(), script));
    let started = tokio::time::Instant::now();
    let report = run(&s, DAY, false).await;
    let step = report.step("flaky", Some(DAY)).expect("step");
    assert_eq!(step.status, StepStatus::Failed);
    assert_eq!(step.message.as_deref(), Some("bad data"));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(failure_attempts(&s), [(1, "bad data".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_not_retried() {
    let attempts = Arc::new(AtomicU32::new(0));
    let script: Script = Arc::new(|_| panic!("boom"));
    let s = setup(flaky(policy(3), attempts.clone(), Arc::default(), script));
    let report = run(&s, DAY, false).await;
    let step = report.step("flaky", Some(DAY)).expect("step");
    assert_eq!(step.status, StepStatus::Failed);
    let message = step.message.clone().unwrap_or_default();
    assert!(message.contains("panicked: boom"), "{message}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    let recorded: Vec<u32> = failure_attempts(&s).into_iter().map(|(a, _)| a).collect();
    assert_eq!(recorded, [1]);
}

#[tokio::test(start_paused = true)]
async fn a_transient_error_after_a_transient_one_then_a_panic_stops() {
    let attempts = Arc::new(AtomicU32::new(0));
    let script: Script = Arc::new(|attempt| {
        if attempt == 1 {
            Err(AssetError::transient("timeout"))
        } else {
            panic!("boom")
        }
    });
    let s = setup(flaky(policy(3), attempts.clone(), Arc::default(), script));
    let report = run(&s, DAY, false).await;
    let step = report.step("flaky", Some(DAY)).expect("step");
    assert_eq!(step.status, StepStatus::Failed);
    assert_eq!(
        step.message.as_deref(),
        Some("failed after 2 attempts: panicked: boom")
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    let recorded: Vec<u32> = failure_attempts(&s).into_iter().map(|(a, _)| a).collect();
    assert_eq!(recorded, [1, 2]);
}

#[tokio::test(start_paused = true)]
async fn idempotency_key_is_stable_across_runs_and_differs_between_partitions() {
    let keys = Arc::new(Mutex::new(Vec::new()));
    let script: Script = Arc::new(|_| Ok(()));
    let s = setup(flaky(
        RetryPolicy::none(),
        Arc::default(),
        keys.clone(),
        script,
    ));
    assert!(run(&s, DAY, false).await.succeeded());
    assert!(run(&s, DAY, true).await.succeeded());
    assert!(run(&s, "2024-01-03", false).await.succeeded());
    let keys = keys.lock().expect("not poisoned").clone();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(keys[0], keys[1], "same asset-partition and code version");
    assert_ne!(keys[0], keys[2], "another partition");
}
