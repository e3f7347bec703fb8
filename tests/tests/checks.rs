//! Contracts, checks, schema drift and dead-letter tables in whole runs on
//! temporary roots: write, audit, publish.

use std::sync::{Arc, Mutex};

use asset_core::arrow_array::cast::AsArray;
use asset_core::arrow_array::types::Int64Type;
use asset_core::arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use asset_core::arrow_schema::{DataType, Field, Fields};
use asset_core::catalog::Catalog;
use asset_core::check::{CheckOutcome, REASON_COLUMN};
use asset_core::io::{Location, Payload, TableData};
use asset_core::materialize::{RunReport, StepStatus};
use asset_core::prelude::*;
use asset_core::testing::TestPipeline;
use asset_core::{
    AssetCheck, AssetDef, CheckSeverity, Dependency, PartitionMapping, PartitionsDef, Registry,
};
use serde::{Deserialize, Serialize};

const DAY: &str = "2024-01-01";

/// `user_id` and `amount` columns, `user_id` possibly null.
fn events(user_ids: &[Option<i64>], amounts: &[f64]) -> TableData {
    let batch = RecordBatch::try_from_iter([
        (
            "user_id",
            Arc::new(Int64Array::from(user_ids.to_vec())) as ArrayRef,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(amounts.to_vec())) as ArrayRef,
        ),
    ])
    .expect("valid batch");
    TableData::from(batch)
}

fn good_events() -> TableData {
    events(
        &[Some(1), Some(2), Some(3), Some(4)],
        &[10.0, 20.0, 30.0, 40.0],
    )
}

/// Rows with a negative amount.
fn negative_amount(batch: &RecordBatch) -> Result<BooleanArray, String> {
    let amounts = batch
        .column_by_name("amount")
        .ok_or("no amount column")?
        .as_primitive::<asset_core::arrow_array::types::Float64Type>();
    Ok(amounts.iter().map(|a| a.map(|a| a < 0.0)).collect())
}

/// A typical contract on `events`.
fn contract() -> DataContract {
    DataContract::new()
        .column("user_id", DataType::Int64)
        .column("amount", DataType::Float64)
        .min_rows(2)
        .unique("user_id")
        .range("amount", -1000.0, 1000.0)
        .predicate("ids are positive", |batch| {
            let ids = batch.column(0).as_primitive::<Int64Type>();
            match ids.iter().flatten().find(|&id| id <= 0) {
                Some(id) => Err(format!("user_id {id} is not positive")),
                None => Ok(()),
            }
        })
        .reject_rows("negative", "amount is negative", negative_amount)
        .max_rejected(0.25)
}

/// An asset `events` (daily) that returns whatever `value` holds when it runs.
fn events_asset(value: Arc<Mutex<TableData>>) -> AssetDef {
    AssetDef::new("events", move |_| {
        let value = value.lock().expect("not poisoned").clone();
        Box::pin(async move { Ok(Payload::Table(value)) })
    })
    .with_partitions(PartitionsDef::daily("2024-01-01").expect("valid start"))
    .with_code_version("v1")
}

fn step<'a>(report: &'a RunReport, asset: &str) -> &'a asset_core::materialize::StepReport {
    report
        .steps
        .iter()
        .find(|s| s.asset == asset)
        .unwrap_or_else(|| panic!("no step for {asset}: {}", report.summary_table()))
}

fn failure(report: &RunReport, asset: &str) -> String {
    let s = step(report, asset);
    assert_eq!(s.status, StepStatus::Failed, "{}", report.summary_table());
    s.message.clone().unwrap_or_default()
}

fn catalog(p: &TestPipeline) -> &Arc<dyn Catalog> {
    p.materializer()
        .catalog()
        .expect("test pipelines have a catalog")
}

#[test]
fn a_blocking_failure_publishes_nothing_and_the_previous_value_stays_latest() {
    let value = Arc::new(Mutex::new(good_events()));
    let p = TestPipeline::from_assets(vec![events_asset(value.clone()).with_contract(contract())])
        .expect("valid graph");
    let good = p.materialize("events", Some(DAY)).expect("runs");
    assert!(good.succeeded(), "{}", good.summary_table());
    let file = p
        .root()
        .join("events")
        .join(format!("day={DAY}"))
        .join("part-0.parquet");
    let bytes = std::fs::read(&file).expect("published");
    let latest = catalog(&p)
        .latest("events", Some(DAY), None)
        .expect("catalog")
        .expect("recorded");

    *value.lock().expect("not poisoned") = events(&[Some(1), None, Some(3)], &[1.0, 2.0, 3.0]);
    let bad = p
        .run(asset_core::materialize::MaterializeOptions {
            selection: asset_core::graph::Selection::parse("events").expect("valid"),
            partition: Some(DAY.into()),
            force: true,
            ..Default::default()
        })
        .expect("runs");
    assert_eq!(
        failure(&bad, "events"),
        "contract of events [2024-01-01]: column user_id has 1 null but is required"
    );
    assert_eq!(std::fs::read(&file).expect("still there"), bytes);
    let still = catalog(&p)
        .latest("events", Some(DAY), None)
        .expect("catalog")
        .expect("recorded");
    assert_eq!(still.data_version, latest.data_version);
    assert_eq!(still.run_id, latest.run_id);
    let results = catalog(&p)
        .checks("events", Some(DAY), None, 10)
        .expect("catalog");
    let contract_results: Vec<bool> = results
        .iter()
        .filter(|c| c.name == "contract")
        .map(|c| c.passed)
        .collect();
    assert_eq!(contract_results, [false, true], "{results:?}");
    assert!(results[0].message.contains("column user_id has 1 null"));
}

#[test]
fn each_bad_input_fails_with_one_message_naming_asset_partition_and_cause() {
    let wrong_type = TableData::from(
        RecordBatch::try_from_iter([
            (
                "user_id",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            (
                "amount",
                Arc::new(Float64Array::from(vec![1.0, 2.0])) as ArrayRef,
            ),
        ])
        .expect("batch"),
    );
    let cases = [
        (
            wrong_type,
            "contract of events [2024-01-01]: column user_id is Utf8 but the contract requires Int64",
        ),
        (
            events(&[Some(1), None, None], &[1.0, 2.0, 3.0]),
            "contract of events [2024-01-01]: column user_id has 2 nulls but is required",
        ),
        (
            events(&[Some(1)], &[1.0]),
            "contract of events [2024-01-01]: 1 row but the contract requires at least 2",
        ),
        (
            events(&[Some(1), Some(2), Some(1)], &[1.0, 2.0, 3.0]),
            "contract of events [2024-01-01]: column user_id has 1 duplicate value (first: 1) but must be unique",
        ),
        (
            events(&[Some(1), Some(2)], &[1.0, 5000.0]),
            "contract of events [2024-01-01]: column amount has 1 value outside -1000..=1000 (first: 5000)",
        ),
        (
            events(&[Some(1), Some(-2)], &[1.0, 2.0]),
            r#"contract of events [2024-01-01]: predicate "ids are positive" failed: user_id -2 is not positive"#,
        ),
        (
            events(&[Some(1), Some(2), Some(3)], &[-1.0, 2.0, 3.0]),
            "row rules of events [2024-01-01]: 1 of 3 rows rejected (33.3%), more than the 25% allowed; see `dlq events --partition 2024-01-01`",
        ),
    ];
    for (table, expected) in cases {
        let value = Arc::new(Mutex::new(table));
        let p = TestPipeline::from_assets(vec![events_asset(value).with_contract(contract())])
            .expect("valid graph");
        let report = p.materialize("events", Some(DAY)).expect("runs");
        assert_eq!(failure(&report, "events"), expected);
        assert!(
            !p.root()
                .join("events")
                .join(format!("day={DAY}"))
                .join("part-0.parquet")
                .exists(),
            "{expected}: nothing published"
        );
    }
}

#[test]
fn independent_branches_complete_and_only_downstream_is_skipped() {
    let bad =
        events_asset(Arc::new(Mutex::new(events(&[Some(1)], &[1.0])))).with_contract(contract());
    let downstream = AssetDef::new("report", |_| {
        Box::pin(async { Ok(Payload::Table(good_events())) })
    })
    .with_partitions(PartitionsDef::daily("2024-01-01").expect("valid start"))
    .with_dependency("events");
    let other = AssetDef::new("other", |_| {
        Box::pin(async { Ok(Payload::Table(good_events())) })
    })
    .with_partitions(PartitionsDef::daily("2024-01-01").expect("valid start"))
    .with_contract(contract());
    let p = TestPipeline::from_assets(vec![bad, downstream, other]).expect("valid graph");
    let report = p.materialize("*", Some(DAY)).expect("runs");
    assert_eq!(step(&report, "events").status, StepStatus::Failed);
    assert_eq!(step(&report, "report").status, StepStatus::Skipped);
    assert_eq!(step(&report, "other").status, StepStatus::Materialized);
}

#[test]
fn contract_failures_are_not_retried() {
    let def = events_asset(Arc::new(Mutex::new(events(&[Some(1)], &[1.0]))))
        .with_contract(contract())
        .with_retry(asset_core::RetryPolicy {
            max_retries: 3,
            base: std::time::Duration::from_millis(1),
            max: std::time::Duration::from_millis(1),
            jitter: asset_core::Jitter::None,
        });
    let p = TestPipeline::from_assets(vec![def]).expect("valid graph");
    let report = p.materialize("events", Some(DAY)).expect("runs");
    assert!(!failure(&report, "events").contains("attempts"));
    let failures = catalog(&p)
        .failures("events", Some(DAY), None, 10)
        .expect("catalog");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].attempt, 1);
}

#[test]
fn warnings_publish_and_are_recorded_and_summarized() {
    let def = events_asset(Arc::new(Mutex::new(good_events())))
        .with_check(AssetCheck::on_table("few_rows", CheckSeverity::Warn, |t| {
            CheckOutcome::expect(t.num_rows() >= 10, || format!("only {} rows", t.num_rows()))
        }))
        .with_check(AssetCheck::on_table(
            "has_rows",
            CheckSeverity::Error,
            |t| CheckOutcome::expect(t.num_rows() > 0, || "empty".into()),
        ));
    let p = TestPipeline::from_assets(vec![def]).expect("valid graph");
    let report = p.materialize("events", Some(DAY)).expect("runs");
    let s = step(&report, "events");
    assert_eq!(
        s.status,
        StepStatus::Materialized,
        "{}",
        report.summary_table()
    );
    let note = s.message.clone().unwrap_or_default();
    assert!(
        note.ends_with("warning: check few_rows of events [2024-01-01]: only 4 rows"),
        "{note}"
    );
    assert!(report.summary_table().contains("warning: check few_rows"));
    let results = catalog(&p)
        .checks("events", Some(DAY), None, 10)
        .expect("catalog");
    let mut seen: Vec<(String, bool, CheckSeverity)> = results
        .iter()
        .map(|c| (c.name.clone(), c.passed, c.severity))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        [
            ("few_rows".to_owned(), false, CheckSeverity::Warn),
            ("has_rows".to_owned(), true, CheckSeverity::Error),
        ]
    );
}

#[test]
fn rejected_rows_go_to_a_dead_letter_table_beside_the_asset() {
    let value = events(
        &[Some(1), Some(2), Some(3), Some(4), Some(5)],
        &[10.0, -20.0, 30.0, 40.0, 50.0],
    );
    let p = TestPipeline::from_assets(vec![
        events_asset(Arc::new(Mutex::new(value))).with_contract(contract()),
    ])
    .expect("valid graph");
    let report = p.materialize("events", Some(DAY)).expect("runs");
    let s = step(&report, "events");
    assert_eq!(
        s.status,
        StepStatus::Materialized,
        "{}",
        report.summary_table()
    );
    assert_eq!(s.rows, Some(4));
    assert!(
        s.message
            .as_deref()
            .unwrap_or_default()
            .contains("1 of 5 rows rejected (20.0%) to the dead-letter table (`dlq events --partition 2024-01-01`)"),
        "{:?}",
        s.message
    );
    let io = p
        .materializer()
        .io_managers()
        .get("parquet")
        .expect("parquet")
        .clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let load = |asset: &str| -> TableData {
        // Daily assets: their partitions are `day=` folders.
        let location = Location::new(asset, Some(DAY))
            .and_then(|l| l.with_dimensions(Arc::from([Arc::from("day")])))
            .expect("location");
        match runtime.block_on(io.load(&location)).expect("stored") {
            Payload::Table(t) => t,
            other => panic!("not a table: {other:?}"),
        }
    };
    let published = load("events");
    let ids: Vec<i64> = published
        .batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(ids, [1, 3, 4, 5]);
    let dead = load("events.dead_letter");
    assert_eq!(dead.num_rows(), 1);
    let batch = &dead.batches[0];
    assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 2);
    let reasons = batch
        .column_by_name(REASON_COLUMN)
        .expect("reason column")
        .as_string::<i32>();
    assert_eq!(reasons.value(0), "amount is negative");
    assert!(
        p.root()
            .join("events.dead_letter")
            .join(format!("day={DAY}"))
            .join("part-0.parquet")
            .is_file()
    );
}

#[test]
fn schema_drift_fails_unless_the_code_version_changes() {
    let value = Arc::new(Mutex::new(good_events()));
    let p = TestPipeline::from_assets(vec![events_asset(value.clone())]).expect("valid graph");
    assert!(
        p.materialize("events", Some(DAY))
            .expect("runs")
            .succeeded()
    );
    let drifted = TableData::from(
        RecordBatch::try_from_iter([
            (
                "user_id",
                Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
            ),
            ("note", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
        ])
        .expect("batch"),
    );
    *value.lock().expect("not poisoned") = drifted;
    let report = p.materialize("events", Some("2024-01-02")).expect("runs");
    assert_eq!(
        failure(&report, "events"),
        "schema of events [2024-01-02] changed under the same code version v1: \
         column user_id changed Int64 -> Utf8; column note added (Utf8); column amount removed \
         (compared with partition 2024-01-01); if the change is deliberate, change the asset's code or its code_version"
    );
    assert!(
        !p.root()
            .join("events")
            .join("day=2024-01-02")
            .join("part-0.parquet")
            .exists()
    );
}

#[test]
fn a_new_code_version_accepts_a_new_schema_on_the_same_root() {
    let value = Arc::new(Mutex::new(good_events()));
    let p = TestPipeline::from_assets(vec![events_asset(value.clone())]).expect("valid graph");
    assert!(
        p.materialize("events", Some(DAY))
            .expect("runs")
            .succeeded()
    );
    let materializer = p.materializer().clone();
    let graph = asset_core::graph::AssetGraph::build(
        Registry::from_defs(vec![events_asset(value.clone()).with_code_version("v2")])
            .expect("valid"),
    )
    .expect("graph");
    let v2 = asset_core::materialize::Materializer::new(graph, materializer.io_managers().clone())
        .with_catalog(catalog(&p).clone());
    let renamed = TableData::from(
        RecordBatch::try_from_iter([("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
            .expect("batch"),
    );
    *value.lock().expect("not poisoned") = renamed;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime
        .block_on(v2.run(&asset_core::materialize::MaterializeOptions {
            selection: asset_core::graph::Selection::parse("events").expect("valid"),
            partition: Some("2024-01-02".into()),
            ..Default::default()
        }))
        .expect("runs");
    assert!(report.succeeded(), "{}", report.summary_table());
}

#[test]
fn a_downstream_reading_other_columns_is_refused_before_any_data_moves() {
    let upstream = AssetDef::new("events", |_| {
        Box::pin(async { Ok(Payload::Table(good_events())) })
    })
    .with_contract(DataContract::new().column("user_id", DataType::Utf8));
    let mut downstream = AssetDef::new("report", |_| {
        Box::pin(async { Ok(Payload::Table(good_events())) })
    });
    downstream.dependencies.push(
        Dependency::new("events", PartitionMapping::Identity).expecting(Fields::from(vec![
            Field::new("user_id", DataType::Int64, false),
        ])),
    );
    let err = Registry::from_defs(vec![upstream, downstream]).expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        r#"schema mismatch: "report" reads column "user_id" of "events" as Int64, but "events" declares it Utf8"#
    );
    assert!(err.is_usage());
}

// --- #[asset] and #[asset_check] --------------------------------------

/// One purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Purchase {
    /// Who bought.
    pub user_id: Option<i64>,
    /// How much.
    pub amount: f64,
}

/// Purchases of a day.
#[derive(Debug, Table)]
pub struct Purchases(Vec<Purchase>);

/// Purchases per day: day 1 is clean, day 2 has a missing user, day 3 a
/// refund (a negative amount) under the rejected-rows threshold, day 4 a
/// single row (the warning check fails).
#[asset(partitions = daily("2024-01-01"), contract = purchases_contract)]
fn purchases(ctx: &AssetContext) -> Result<Purchases> {
    let p = |user_id: Option<i64>, amount: f64| Purchase { user_id, amount };
    Ok(Purchases(match ctx.partition() {
        Some("2024-01-02") => vec![p(Some(1), 5.0), p(None, 7.0)],
        Some("2024-01-03") => vec![
            p(Some(1), 5.0),
            p(Some(2), -7.0),
            p(Some(3), 1.0),
            p(Some(4), 1.0),
            p(Some(5), 1.0),
        ],
        Some("2024-01-04") => vec![p(Some(9), 5.0)],
        _ => vec![p(Some(1), 5.0), p(Some(2), 7.0)],
    }))
}

/// Users are required even though the row type allows none; columns and
/// their types come from `Purchase`.
fn purchases_contract() -> DataContract {
    DataContract::new()
        .column("user_id", DataType::Int64)
        .unique("user_id")
        .reject_rows("refund", "refunds are booked elsewhere", negative_amount)
        .max_rejected(0.25)
}

/// Fewer than two purchases is suspicious, not wrong.
#[asset_check(severity = warn)]
fn at_least_two_purchases(purchases: &Purchases) -> CheckOutcome {
    CheckOutcome::expect(purchases.0.len() >= 2, || {
        format!("{} purchase(s)", purchases.0.len())
    })
}

/// Amounts are finite (blocking by default).
#[asset_check]
fn amounts_are_finite(purchases: &Purchases) -> std::result::Result<(), String> {
    match purchases.0.iter().find(|p| !p.amount.is_finite()) {
        Some(p) => Err(format!("amount {} is not finite", p.amount)),
        None => Ok(()),
    }
}

#[test]
fn asset_checks_attach_to_the_asset_returning_their_type() {
    let registry = Registry::from_inventory().expect("valid registry");
    let def = registry.get("purchases").expect("registered");
    let mut names: Vec<&str> = def.checks.checks.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["amounts_are_finite", "at_least_two_purchases"]);
    let contract = def.checks.contract.as_ref().expect("contract");
    let columns: Vec<(&str, bool)> = contract
        .columns()
        .iter()
        .map(|c| (c.name.as_str(), c.nullable))
        .collect();
    // The explicit declaration wins; `amount` comes from the row type.
    assert_eq!(columns, [("user_id", false), ("amount", false)]);
    assert!(
        def.checks.row_fields.is_some(),
        "serde rows fix their columns"
    );
}

#[test]
fn macro_assets_audit_every_partition_with_contract_checks_and_dead_letters() {
    let p = TestPipeline::new().expect("valid registry");
    let clean = p
        .materialize("purchases", Some("2024-01-01"))
        .expect("runs");
    assert!(clean.succeeded(), "{}", clean.summary_table());

    let missing = p
        .materialize("purchases", Some("2024-01-02"))
        .expect("runs");
    assert_eq!(
        failure(&missing, "purchases"),
        "contract of purchases [2024-01-02]: column user_id has 1 null but is required"
    );

    let refund = p
        .materialize("purchases", Some("2024-01-03"))
        .expect("runs");
    assert!(refund.succeeded(), "{}", refund.summary_table());
    let kept: Purchases = p.read(Some("2024-01-03")).expect("published");
    assert_eq!(kept.0.len(), 4);
    assert!(kept.0.iter().all(|p| p.amount >= 0.0));

    let single = p
        .materialize("purchases", Some("2024-01-04"))
        .expect("runs");
    let s = step(&single, "purchases");
    assert_eq!(s.status, StepStatus::Materialized);
    assert!(
        s.message.as_deref().unwrap_or_default().contains(
            "warning: check at_least_two_purchases of purchases [2024-01-04]: 1 purchase(s)"
        ),
        "{:?}",
        s.message
    );
}
