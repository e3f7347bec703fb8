//! Run-time asset graphs for tests.
//!
//! Every table has the benchmark schema `id int64, value float64, key utf8`
//! and is a deterministic function of the asset key, the partition key and
//! the inputs, so reruns produce identical data.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use asset_core::asset::definition::StepInput;
use asset_core::io::{Payload, TableData};
use asset_core::{AssetDef, AssetError, PartitionsDef};

/// How fixture assets misbehave.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Assets whose function returns an error.
    pub fail: HashSet<String>,
    /// Assets whose function panics.
    pub panic: HashSet<String>,
    /// How long every asset sleeps (blocking) before returning.
    pub sleep: Duration,
    /// A code version for every asset (changing it makes everything stale).
    pub code_version: String,
    /// Rows per table.
    pub rows: usize,
}

impl Behaviour {
    /// Well-behaved assets of `rows` rows.
    pub fn ok(rows: usize) -> Self {
        Self {
            rows,
            code_version: "1".into(),
            ..Self::default()
        }
    }

    /// Read from the environment (for the fixture binary): `FIXTURE_FAIL`
    /// and `FIXTURE_PANIC` (comma lists of assets), `FIXTURE_SLEEP_MS`,
    /// `FIXTURE_CODE_VERSION`, `FIXTURE_ROWS`.
    pub fn from_env() -> Self {
        let list = |name: &str| -> HashSet<String> {
            std::env::var(name)
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let number = |name: &str, default: u64| -> u64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Self {
            fail: list("FIXTURE_FAIL"),
            panic: list("FIXTURE_PANIC"),
            sleep: Duration::from_millis(number("FIXTURE_SLEEP_MS", 0)),
            code_version: std::env::var("FIXTURE_CODE_VERSION").unwrap_or_else(|_| "1".into()),
            rows: usize::try_from(number("FIXTURE_ROWS", 100)).unwrap_or(100),
        }
    }
}

/// The schema of every fixture table.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("key", DataType::Utf8, false),
    ]))
}

/// A table of `rows` rows seeded by `seed`.
pub fn table(rows: usize, seed: f64) -> Result<RecordBatch, AssetError> {
    let ids = Int64Array::from_iter_values(0..rows as i64);
    let values = Float64Array::from_iter_values((0..rows).map(|i| seed + i as f64));
    let keys = StringArray::from_iter_values((0..rows).map(|i| format!("k{}", i % 97)));
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(ids) as ArrayRef,
            Arc::new(values) as ArrayRef,
            Arc::new(keys) as ArrayRef,
        ],
    )?)
}

/// A row rule over fixture tables: rejects the rows whose `id` is a
/// multiple of ten.
pub fn every_tenth_id(batch: &RecordBatch) -> Result<arrow_array::BooleanArray, String> {
    let ids = batch
        .column_by_name("id")
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or("no int64 `id` column")?;
    Ok(ids.iter().map(|id| id.map(|id| id % 10 == 0)).collect())
}

/// A fixture asset: sums the `value` columns of its inputs (plus a seed from
/// its key and partition) into a new table.
pub fn asset(
    key: &str,
    deps: &[&str],
    partitions: PartitionsDef,
    behaviour: &Behaviour,
) -> AssetDef {
    let name = key.to_owned();
    let behaviour = behaviour.clone();
    let mut def = AssetDef::new(key, move |input: StepInput| {
        let name = name.clone();
        let behaviour = behaviour.clone();
        Box::pin(async move { compute(&name, &behaviour, input).await })
    })
    .with_partitions(partitions)
    .with_code_version(behaviour_code_version(key, deps))
    .with_description(format!("Fixture asset {key}."));
    for dep in deps {
        def = def.with_dependency(*dep);
    }
    def
}

fn behaviour_code_version(key: &str, deps: &[&str]) -> String {
    format!("{key}<-{}", deps.join("+"))
}

async fn compute(
    name: &str,
    behaviour: &Behaviour,
    input: StepInput,
) -> Result<Payload, AssetError> {
    let mut seed: f64 = input
        .context
        .partition()
        .map_or(0.0, |p| p.bytes().map(f64::from).sum());
    seed += name.len() as f64;
    for upstream in &input.inputs {
        // Every partition the parameter reads (none for a `Prev` at the
        // start of history, several for a `Window`).
        for (_, payload) in upstream.load_all().await? {
            if let Payload::Table(t) = payload {
                // The first three values of the column, whatever the batch
                // boundaries (a value read back from storage may be split
                // differently from the one handed over in memory).
                seed += t
                    .batches
                    .iter()
                    .filter_map(|b| b.column(1).as_any().downcast_ref::<Float64Array>())
                    .flat_map(|values| values.iter().flatten())
                    .take(3)
                    .sum::<f64>();
            }
        }
    }
    if !behaviour.sleep.is_zero() {
        let sleep = behaviour.sleep;
        asset_core::asset::run::run_blocking(move || std::thread::sleep(sleep)).await?;
    }
    if behaviour.panic.contains(name) {
        panic!("fixture asset {name} was told to panic");
    }
    if behaviour.fail.contains(name) {
        return Err(AssetError::msg(format!(
            "fixture asset {name} was told to fail"
        )));
    }
    let batch = table(behaviour.rows, seed)?;
    Ok(Payload::Table(TableData::from(batch)))
}

/// Daily partitions from 2024-01-01.
pub fn daily() -> PartitionsDef {
    PartitionsDef::daily("2024-01-01").expect("2024-01-01 is a valid start day")
}

/// A diamond with an independent branch and an unpartitioned lookup:
///
/// ```text
/// lookup ─┐
/// source ─┼─> left ──┐
///         └─> right ─┴─> joined
/// other (independent)
/// ```
pub fn diamond(behaviour: &Behaviour) -> Vec<AssetDef> {
    let code = |mut def: AssetDef| {
        def.code_version = format!("{}#{}", def.code_version, behaviour.code_version);
        def
    };
    vec![
        code(asset(
            "lookup",
            &[],
            PartitionsDef::Unpartitioned,
            behaviour,
        )),
        code(asset("source", &[], daily(), behaviour)),
        code(asset("left", &["source", "lookup"], daily(), behaviour)),
        code(asset("right", &["source"], daily(), behaviour)),
        code(asset("joined", &["left", "right"], daily(), behaviour)),
        code(asset("other", &[], daily(), behaviour)),
    ]
}

/// `layers` layers of `width` unpartitioned assets; asset i of layer k > 0
/// reads assets i and (i + 1) mod width of layer k - 1.
pub fn layered(layers: usize, width: usize, behaviour: &Behaviour) -> Vec<AssetDef> {
    let name = |k: usize, i: usize| format!("l{k:02}_a{i:02}");
    let mut defs = Vec::with_capacity(layers * width);
    for k in 0..layers {
        for i in 0..width {
            let deps: Vec<String> = if k == 0 {
                Vec::new()
            } else {
                let mut d = vec![name(k - 1, i), name(k - 1, (i + 1) % width)];
                d.dedup();
                d
            };
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            defs.push(asset(
                &name(k, i),
                &deps,
                PartitionsDef::Unpartitioned,
                behaviour,
            ));
        }
    }
    defs
}

/// A history of daily partitions with cross-partition mappings:
///
/// ```text
/// events ─> sessions ─┬─> running_total (Prev<running_total> + sessions)
///                     ├─> rolling (Window<sessions, 3>)
///                     └─> report (unpartitioned, Latest<sessions>)
/// ```
///
/// `running_total` is self-dependent: its partitions run in order.
pub fn history(behaviour: &Behaviour) -> Vec<AssetDef> {
    use asset_core::PartitionMapping;
    let code = |mut def: AssetDef| {
        def.code_version = format!("{}#{}", def.code_version, behaviour.code_version);
        def
    };
    vec![
        code(asset("events", &[], daily(), behaviour)),
        code(asset("sessions", &["events"], daily(), behaviour)),
        code(
            asset("running_total", &["sessions"], daily(), behaviour)
                .with_mapped_dependency("running_total", PartitionMapping::Prev),
        ),
        code(
            asset("rolling", &[], daily(), behaviour)
                .with_mapped_dependency("sessions", PartitionMapping::Window(3)),
        ),
        code(
            asset("report", &[], PartitionsDef::Unpartitioned, behaviour)
                .with_mapped_dependency("sessions", PartitionMapping::Latest),
        ),
    ]
}

/// A monthly and a weekly asset reading every day of their windows:
///
/// ```text
/// events (daily) ─All─> monthly_report (monthly)
///                └All─> weekly_report (weekly, Mondays from 2024-01-01)
/// ```
pub fn monthly(behaviour: &Behaviour) -> Vec<AssetDef> {
    use asset_core::PartitionMapping;
    vec![
        asset("events", &[], daily(), behaviour),
        asset(
            "monthly_report",
            &[],
            PartitionsDef::monthly("2024-01-01").expect("2024-01-01 is a valid start month"),
            behaviour,
        )
        .with_mapped_dependency("events", PartitionMapping::All),
        asset(
            "weekly_report",
            &[],
            PartitionsDef::weekly("2024-01-01").expect("2024-01-01 is a valid start week"),
            behaviour,
        )
        .with_mapped_dependency("events", PartitionMapping::All),
    ]
}

/// The bytes of a Parquet file before its footer: its data pages, which a
/// deterministic rerun writes again identically (the footer holds the run's
/// provenance record, which differs). The whole file if it is too short to
/// have a footer.
pub fn data_pages(file: &[u8]) -> &[u8] {
    let Some(tail) = file
        .len()
        .checked_sub(8)
        .and_then(|at| file.get(at..at + 4))
    else {
        return file;
    };
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as usize;
    file.len()
        .checked_sub(8 + footer)
        .and_then(|end| file.get(..end))
        .unwrap_or(file)
}
