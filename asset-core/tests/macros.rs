//! `#[asset]`, `#[versioned]` and `#[derive(Table)]`: what they register,
//! what they run, and (through trybuild) the compile errors they give for
//! each mistake.

use std::sync::Arc;

use asset_core::__private::StepInput;
use asset_core::arrow_array::{Int64Array, RecordBatch};
use asset_core::io::{IoManager, Location, MemoryIoManager, Payload, PayloadKind};
use asset_core::prelude::*;
use asset_core::{AssetDef, ConfigFile, Dependency, PartitionMapping, PartitionsDef, Registry};
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

/// Two versions of one helper, and the same first version reformatted.
mod helpers_v1 {
    use asset_core::prelude::*;

    /// Doubles.
    #[versioned]
    pub fn scale(x: i64) -> i64 {
        x * 2
    }
}

mod helpers_v2 {
    use asset_core::prelude::*;

    /// Triples (a new version of `helpers_v1::scale`).
    #[versioned]
    pub fn scale(x: i64) -> i64 {
        x * 3
    }
}

mod helpers_v1_reformatted {
    use asset_core::prelude::*;

    /// Doubles, written differently.
    #[versioned]
    #[rustfmt::skip]
    pub fn scale(x:i64)->i64{
        x*2 // same code
    }
}

/// The same asset code, each calling one version of `scale`: only the
/// helper part of their code versions may differ.
macro_rules! scaled_asset {
    ($module:ident, $helpers:ident, $key:literal) => {
        mod $module {
            use super::$helpers::scale;
            use asset_core::prelude::*;

            #[asset(name = $key, uses = [scale])]
            pub fn scaled(ctx: &AssetContext) -> Result<()> {
                assert!(scale(ctx.run_id().len() as i64) >= 0);
                Ok(())
            }
        }
    };
}

scaled_asset!(uses_v1, helpers_v1, "scaled_v1");
scaled_asset!(uses_v2, helpers_v2, "scaled_v2");
scaled_asset!(uses_v1_reformatted, helpers_v1_reformatted, "scaled_v1b");

/// Helpers that use helpers: the same `offset` code over each `scale`.
mod offset_v1 {
    use super::helpers_v1::scale;
    use asset_core::prelude::*;

    /// Scales, then adds one.
    #[versioned(uses = [scale])]
    pub fn offset(x: i64) -> i64 {
        scale(x) + 1
    }
}

mod offset_v2 {
    use super::helpers_v2::scale;
    use asset_core::prelude::*;

    /// Scales, then adds one.
    #[versioned(uses = [scale])]
    pub fn offset(x: i64) -> i64 {
        scale(x) + 1
    }
}

/// An explicit code version still folds in the helpers, named by path.
#[asset(name = "pinned_scaled", code_version = "7", uses = [offset_v1::offset, helpers_v2::scale])]
fn pinned_scaled(ctx: &AssetContext) -> Result<()> {
    let _ = offset_v1::offset(helpers_v2::scale(ctx.run_id().len() as i64));
    Ok(())
}

/// The ranker's settings, from `[ranker_model]` in `assets.toml`.
#[derive(Debug, Deserialize)]
pub struct RankerSettings {
    /// Required.
    pub learning_rate: f64,
    /// Optional.
    #[serde(default)]
    pub layers: Vec<u32>,
}

/// A model, as a JSON document.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct RankerModel {
    /// The configured rate.
    pub rate: f64,
    /// How many layers were configured.
    pub layers: usize,
    /// The asset it was computed for.
    pub asset: String,
}

/// A model trained with configured settings.
#[asset(io = "json")]
fn ranker_model(ctx: &AssetContext, settings: Config<RankerSettings>) -> Result<RankerModel> {
    Ok(RankerModel {
        rate: settings.learning_rate,
        layers: settings.layers.len(),
        asset: ctx.asset_key().to_owned(),
    })
}

/// Limits for [`capped`].
#[derive(Debug, Deserialize)]
pub struct Limits {
    /// The largest number kept.
    pub max: i64,
}

/// Numbers up to a configured maximum.
#[derive(Debug, Table)]
pub struct Capped(Vec<Number>);

/// Numbers up to a configured maximum: configuration among dependencies.
#[asset(partitions = daily("2024-01-01"))]
fn capped(limits: Config<Limits>, numbers: Numbers) -> Capped {
    Capped(
        numbers
            .0
            .into_iter()
            .filter(|r| r.n <= limits.max)
            .collect(),
    )
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
            "capped",
            "compact",
            "doubled",
            "numbers",
            "pinned_scaled",
            "publish",
            "ranker_model",
            "roomy",
            "scaled_v1",
            "scaled_v1b",
            "scaled_v2",
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
    let identity = |asset: &str| Dependency::new(asset, PartitionMapping::Identity);
    assert_eq!(asset("numbers").dependencies, []);
    assert_eq!(asset("doubled").dependencies, [identity("numbers")]);
    assert_eq!(
        asset("summary_doc").dependencies,
        [identity("numbers"), identity("doubled")]
    );
    assert_eq!(asset("publish").dependencies, [identity("summary_doc")]);
    // Each edge knows the parameter's Rust type, for messages in the
    // user's words (`All<Numbers>`, never `All<T>`).
    let summary = asset("summary_doc");
    assert_eq!(summary.dependencies[0].type_name, Some("Numbers"));
    assert_eq!(summary.dependencies[1].type_as_written(), "Doubled");
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
    let input = StepInput::new(context("numbers", Some("2024-01-03")), vec![]);
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
        let payload = (def.compute)(StepInput::new(context(key, Some(day)), upstream_inputs))
            .await
            .expect("computes");
        let location = Location::new(key, Some(day)).expect("valid location");
        tables.store(&location, &payload).await.expect("stored");
        inputs.push(asset_core::__private::Input::new(
            Arc::clone(&tables),
            vec![location],
        ));
    }
    let payload =
        (asset("summary_doc").compute)(StepInput::new(context("summary_doc", Some(day)), inputs))
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
    let missing = (asset("publish").compute)(StepInput::new(
        context("publish", Some("2024-01-02")),
        vec![stored],
    ))
    .await;
    assert!(missing.is_err());

    let payload = (asset("compact").compute)(StepInput::new(context("compact", None), vec![]))
        .await
        .expect("runs");
    assert!(matches!(payload, Payload::Nothing));
}

/// `(base, helpers)` of a code version `base+helpers`.
fn version_parts(key: &str) -> (String, String) {
    let version = asset(key).code_version;
    let (base, helpers) = version
        .split_once('+')
        .unwrap_or_else(|| panic!("{key}: no helper part in {version}"));
    (base.to_owned(), helpers.to_owned())
}

#[test]
fn code_versions_without_uses_have_no_helper_part() {
    assert!(!asset("numbers").code_version.contains('+'));
    assert!(!asset("ranker_model").code_version.contains('+'));
}

#[test]
fn a_new_helper_version_changes_the_code_version_of_assets_using_it() {
    let (base_v1, helpers_v1) = version_parts("scaled_v1");
    let (base_v2, helpers_v2) = version_parts("scaled_v2");
    let (base_v1b, helpers_v1b) = version_parts("scaled_v1b");
    // Same asset code, so the same base...
    assert_eq!(base_v1, base_v2);
    assert_eq!(base_v1, base_v1b);
    assert_eq!(base_v1.len(), 16, "{base_v1}");
    assert_eq!(helpers_v1.len(), 16, "{helpers_v1}");
    // ...and the helper part follows the helper's code, not its layout.
    assert_ne!(helpers_v1, helpers_v2);
    assert_eq!(helpers_v1, helpers_v1b);
}

#[test]
fn helper_versions_fold_in_the_helpers_they_use() {
    use asset_core::__private::Versioned;
    assert_ne!(
        <helpers_v1::scale as Versioned>::VERSION,
        <helpers_v2::scale as Versioned>::VERSION
    );
    assert_eq!(
        <helpers_v1::scale as Versioned>::VERSION,
        <helpers_v1_reformatted::scale as Versioned>::VERSION
    );
    // Identical code, different helpers used: different versions.
    assert_eq!((offset_v1::offset(1), offset_v2::offset(1)), (3, 4));
    assert_ne!(
        <offset_v1::offset as Versioned>::VERSION,
        <offset_v2::offset as Versioned>::VERSION
    );
}

#[test]
fn an_explicit_code_version_still_folds_in_the_helpers() {
    let (base, helpers) = version_parts("pinned_scaled");
    assert_eq!(base, "7");
    assert_eq!(
        helpers,
        asset_core::__private::code_version_with_helpers(
            "",
            &[
                <offset_v1::offset as asset_core::__private::Versioned>::VERSION,
                <helpers_v2::scale as asset_core::__private::Versioned>::VERSION,
            ]
        )
        .trim_start_matches('+')
    );
}

#[test]
fn config_parameters_are_not_dependencies() {
    let ranker = asset("ranker_model");
    assert!(ranker.takes_config);
    assert_eq!(ranker.dependencies, []);
    let capped = asset("capped");
    assert!(capped.takes_config);
    assert_eq!(
        capped.dependencies,
        [Dependency::new("numbers", PartitionMapping::Identity)]
    );
    assert!(!asset("numbers").takes_config);
}

#[tokio::test]
async fn compute_receives_the_config_section() {
    let file = ConfigFile::parse(
        "assets.toml",
        "[ranker_model]
layers = [4, 2]
learning_rate = 0.5
",
    )
    .expect("valid");
    let input = StepInput::new(context("ranker_model", None), vec![])
        .with_config(file.config_for("ranker_model"));
    let payload = (asset("ranker_model").compute)(input)
        .await
        .expect("computes");
    let Payload::Document(document) = payload else {
        panic!("a document");
    };
    assert_eq!(
        document,
        serde_json::json!({ "rate": 0.5, "layers": 2, "asset": "ranker_model" })
    );
}

#[tokio::test]
async fn config_and_inputs_load_side_by_side() {
    let tables: Arc<dyn IoManager> = Arc::new(MemoryIoManager::new("memory", PayloadKind::Table));
    let day = "2024-01-05";
    let numbers = (asset("numbers").compute)(StepInput::new(context("numbers", Some(day)), vec![]))
        .await
        .expect("computes");
    let location = Location::new("numbers", Some(day)).expect("valid location");
    tables.store(&location, &numbers).await.expect("stored");
    let file = ConfigFile::parse(
        "assets.toml",
        "[capped]
max = 3
",
    )
    .expect("valid");
    let input = StepInput::new(
        context("capped", Some(day)),
        vec![asset_core::__private::Input::new(tables, vec![location])],
    )
    .with_config(file.config_for("capped"));
    let Payload::Table(table) = (asset("capped").compute)(input).await.expect("computes") else {
        panic!("a table");
    };
    assert_eq!(table.num_rows(), 3);
}

#[tokio::test]
async fn a_bad_section_fails_the_step_naming_the_line_and_asset() {
    let file = ConfigFile::parse(
        "assets.toml",
        "# Models.

[ranker_model]
learning_rate = \"x\"
",
    )
    .expect("valid toml");
    let section = file.config_for("ranker_model");
    let def = asset("ranker_model");
    let checked = def.check_config(&section).expect_err("a string is no rate");
    let expected = r#"assets.toml:4: asset "ranker_model": invalid type: string "x", expected f64 for key `learning_rate`"#;
    assert_eq!(checked.to_string(), expected);
    let input = StepInput::new(context("ranker_model", None), vec![]).with_config(section);
    let err = (def.compute)(input).await.expect_err("bad config");
    assert_eq!(err.to_string(), expected);
}

#[tokio::test]
async fn a_missing_section_is_an_empty_table() {
    let err =
        (asset("ranker_model").compute)(StepInput::new(context("ranker_model", None), vec![]))
            .await
            .expect_err("learning_rate is required");
    assert_eq!(
        err.to_string(),
        "asset \"ranker_model\" needs a [ranker_model] section in assets.toml: missing field `learning_rate`"
    );
    assert!(
        asset("numbers")
            .check_config(&ConfigFile::default().config_for("numbers"))
            .is_ok()
    );
}

#[test]
fn compile_errors_are_friendly_and_on_the_right_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}

#[test]
fn source_records_the_git_commit_it_was_built_from() {
    let source = asset("numbers").source.expect("macro assets have a source");
    let commit = source.git_commit;
    let hash = commit.strip_suffix("+dirty").unwrap_or(commit);
    let is_sha = hash.len() == 40 && hash.chars().all(|c| c.is_ascii_hexdigit());
    assert!(is_sha || commit == "unknown", "{commit:?}");
    // Every asset of a crate is built from the same commit.
    assert_eq!(
        asset("summary_doc").source.map(|s| s.git_commit),
        Some(commit)
    );
}
