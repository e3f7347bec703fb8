//! `#[asset]` and `#[derive(Table)]`: what they register, what they run, and
//! (through trybuild) the compile errors they give for each mistake.

use std::sync::Arc;

use asset_core::__private::StepInput;
use asset_core::arrow_array::{Int64Array, RecordBatch};
use asset_core::io::{IoManager, Location, MemoryIoManager, Payload, PayloadKind};
use asset_core::prelude::*;
use asset_core::{AssetDef, Dependency, PartitionMapping, PartitionsDef, Registry};
use serde::{Deserialize, Serialize};

/// One row of [`Numbers`].
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Number {
    /// The value.
    pub n: i64,
}

/// Rows of numbers.
#[derive(Debug, PartialEq, Table)]
pub struct Numbers(Vec<Number>);

/// Numbers as one Arrow batch.
#[derive(Debug, Table)]
pub struct Doubled {
    batch: RecordBatch,
}

/// A small JSON document.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The sum of the doubled numbers.
    pub total: i64,
}

/// Numbers for the partition's day:
/// one row per day of the month so far.
///
/// They are made up.
#[asset(partitions = daily("2024-01-01"))]
fn numbers(ctx: &AssetContext) -> Result<Numbers> {
    let day: i64 = ctx
        .partition()
        .and_then(|p| p.get(8..))
        .unwrap_or("1")
        .parse()?;
    Ok(Numbers((1..=day).map(|n| Number { n }).collect()))
}

/// Every number doubled.
#[asset(partitions = daily("2024-01-01"), code_version = "doubling-v2")]
async fn doubled(numbers: Numbers) -> Doubled {
    let values: Vec<i64> = numbers.0.iter().map(|r| r.n * 2).collect();
    let array = Arc::new(Int64Array::from(values)) as asset_core::arrow_array::ArrayRef;
    Doubled {
        batch: RecordBatch::try_from_iter([("n", array)]).expect("one column"),
    }
}

/// The total, as a JSON document.
#[asset(name = "summary_doc", io = "json", partitions = daily("2024-01-01"))]
fn summary(numbers: Numbers, doubled: Doubled) -> std::result::Result<Summary, std::io::Error> {
    let _ = numbers;
    let column = doubled.batch.column(0);
    let total = column
        .as_any()
        .downcast_ref::<Int64Array>()
        .map_or(0, |a| a.iter().flatten().sum());
    Ok(Summary { total })
}

/// Publishes the summary somewhere (side effects only).
#[asset(partitions = daily("2024-01-01"))]
async fn publish(summary: Summary, ctx: &AssetContext) -> Result<()> {
    let _ = (summary, ctx.run_id());
    Ok(())
}

/// Layout and comments do not change the default code version: the two
/// functions below differ only in formatting, so their versions are equal.
mod compact {
    use asset_core::prelude::*;

    #[asset(name = "compact")]
    #[rustfmt::skip]
    pub fn same(ctx:&AssetContext)->Result<()>{let n=ctx.run_id().len()+1;assert!(n>0&&n<1_000_000);Ok(())}
}

mod roomy {
    use asset_core::prelude::*;

    /// A doc comment is not code either.
    #[asset(name = "roomy")]
    #[rustfmt::skip]
    pub fn same(
        ctx: &AssetContext,   // the context
    ) -> Result<()> {
        let n = ctx.run_id().len() + 1; /* plus one */
        assert!(n > 0 && n < 1_000_000);
        Ok(())
    }
}

fn registry() -> Registry {
    Registry::from_inventory().expect("the test assets form a valid registry")
}

fn asset(key: &str) -> AssetDef {
    registry().get(key).cloned().expect("registered")
}

fn daily() -> PartitionsDef {
    PartitionsDef::daily("2024-01-01").expect("valid start")
}

fn context(key: &str, partition: Option<&str>) -> AssetContext {
    let def = asset(key);
    let partition = partition.map(|p| def.partitions.validate(key, p).expect("valid key"));
    let start = partition
        .as_ref()
        .and_then(|p| def.partitions.window_start(p));
    AssetContext::new(key, partition, start, Arc::from("run-1"))
}

#[test]
fn every_asset_is_registered_sorted_by_key() {
    let keys: Vec<String> = registry().assets().iter().map(|a| a.key.clone()).collect();
    assert_eq!(
        keys,
        [
            "compact",
            "doubled",
            "numbers",
            "publish",
            "roomy",
            "summary_doc"
        ]
    );
}

#[test]
fn doc_comments_become_descriptions() {
    assert_eq!(
        asset("numbers").description,
        "Numbers for the partition's day: one row per day of the month so far.\nThey are made up."
    );
    assert_eq!(asset("doubled").description, "Every number doubled.");
    assert_eq!(asset("compact").description, "");
    assert_eq!(
        asset("roomy").description,
        "A doc comment is not code either."
    );
}

#[test]
fn dependencies_follow_parameter_order_and_skip_the_context() {
    let identity = |asset: &str| Dependency {
        asset: asset.into(),
        mapping: PartitionMapping::Identity,
    };
    assert_eq!(asset("numbers").dependencies, []);
    assert_eq!(asset("doubled").dependencies, [identity("numbers")]);
    assert_eq!(
        asset("summary_doc").dependencies,
        [identity("numbers"), identity("doubled")]
    );
    assert_eq!(asset("publish").dependencies, [identity("summary_doc")]);
}

#[test]
fn partitions_io_managers_and_payload_kinds_come_from_the_options() {
    assert_eq!(asset("numbers").partitions, daily());
    assert_eq!(asset("compact").partitions, PartitionsDef::Unpartitioned);
    assert_eq!(asset("numbers").io_manager, "parquet");
    assert_eq!(asset("numbers").payload_kind, PayloadKind::Table);
    assert_eq!(asset("summary_doc").io_manager, "json");
    assert_eq!(asset("summary_doc").payload_kind, PayloadKind::Document);
    assert_eq!(asset("publish").payload_kind, PayloadKind::Nothing);
}

#[test]
fn code_version_is_explicit_or_a_hash_of_the_tokens() {
    assert_eq!(asset("doubled").code_version, "doubling-v2");
    let hashed = asset("numbers").code_version;
    assert_eq!(hashed.len(), 16, "{hashed}");
    assert!(hashed.chars().all(|c| c.is_ascii_hexdigit()), "{hashed}");
    assert_ne!(hashed, asset("summary_doc").code_version);
}

#[test]
fn formatting_and_comments_do_not_change_the_code_version() {
    assert_eq!(asset("compact").code_version, asset("roomy").code_version);
}

#[test]
fn source_location_is_the_function() {
    let source = asset("numbers").source.expect("defined in source");
    assert!(source.file.ends_with("macros.rs"), "{source}");
    let text = include_str!("macros.rs");
    let line = text
        .lines()
        .position(|l| l.starts_with("fn numbers("))
        .expect("the function is in this file");
    assert_eq!(source.line as usize, line + 1);
}

#[test]
fn the_function_stays_a_plain_function() {
    let summary = summary(
        Numbers(vec![]),
        Doubled {
            batch: RecordBatch::try_from_iter([(
                "n",
                Arc::new(Int64Array::from(vec![4, 6])) as asset_core::arrow_array::ArrayRef,
            )])
            .expect("one column"),
        },
    )
    .expect("sums");
    assert_eq!(summary, Summary { total: 10 });
}

#[tokio::test]
async fn compute_runs_an_asset_without_inputs() {
    let numbers = asset("numbers");
    let input = StepInput {
        context: context("numbers", Some("2024-01-03")),
        inputs: vec![],
    };
    let payload = (numbers.compute)(input).await.expect("computes");
    let Payload::Table(table) = payload else {
        panic!("a table");
    };
    assert_eq!(table.num_rows(), 3);
}

#[tokio::test]
async fn compute_loads_inputs_in_parameter_order() {
    let tables: Arc<dyn IoManager> = Arc::new(MemoryIoManager::new("memory", PayloadKind::Table));
    let day = "2024-01-02";
    let mut inputs = Vec::new();
    for key in ["numbers", "doubled"] {
        let def = asset(key);
        let upstream_inputs = inputs.clone();
        let payload = (def.compute)(StepInput {
            context: context(key, Some(day)),
            inputs: upstream_inputs,
        })
        .await
        .expect("computes");
        let location = Location::new(key, Some(day)).expect("valid location");
        tables.store(&location, &payload).await.expect("stored");
        inputs.push(asset_core::__private::Input::new(
            Arc::clone(&tables),
            vec![location],
        ));
    }
    let payload = (asset("summary_doc").compute)(StepInput {
        context: context("summary_doc", Some(day)),
        inputs,
    })
    .await
    .expect("computes");
    let Payload::Document(document) = payload else {
        panic!("a document");
    };
    assert_eq!(document, serde_json::json!({ "total": 6 }));
}

#[tokio::test]
async fn unit_assets_produce_nothing() {
    let stored = asset_core::__private::Input::new(
        Arc::new(MemoryIoManager::new("json", PayloadKind::Document)),
        vec![Location::new("summary_doc", Some("2024-01-02")).expect("valid")],
    );
    // The summary was never stored: loading it fails with the IO manager's error.
    let missing = (asset("publish").compute)(StepInput {
        context: context("publish", Some("2024-01-02")),
        inputs: vec![stored],
    })
    .await;
    assert!(missing.is_err());

    let payload = (asset("compact").compute)(StepInput {
        context: context("compact", None),
        inputs: vec![],
    })
    .await
    .expect("runs");
    assert!(matches!(payload, Payload::Nothing));
}

#[test]
fn compile_errors_are_friendly_and_on_the_right_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
