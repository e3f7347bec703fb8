//! A micro benchmark of the SQLite catalog, for the bench binary and an
//! ignored test: populate, query every latest materialization, record a
//! run's worth of steps.

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Catalog, CatalogError, InputVersion, MaterializationRecord, SqliteCatalog};

/// What [`bench()`](fn@bench) measured.
#[derive(Debug, Clone)]
pub struct BenchFigures {
    /// Assets populated.
    pub assets: usize,
    /// Partitions per asset.
    pub partitions: usize,
    /// Materializations recorded to populate (`assets * partitions`).
    pub populated: usize,
    /// Recording them all and flushing.
    pub populate: Duration,
    /// The catalog file's size after populating (and closing).
    pub file_bytes: u64,
    /// Opening the populated catalog (a fresh process's first step).
    pub open: Duration,
    /// `latest_for_assets` over every asset: the query behind `status`.
    pub query_latest: Duration,
    /// Records it returned.
    pub latest_rows: usize,
    /// Materializations recorded as a run would, one per step.
    pub steps: usize,
    /// Time spent in `record_materialization` calls (what a step pays).
    pub record_calls: Duration,
    /// From the first call to the end of `flush` (everything committed).
    pub record_and_flush: Duration,
    /// Closing the catalog after that (the last connection checkpoints the
    /// WAL into the database file).
    pub close: Duration,
}

impl BenchFigures {
    /// Amortized catalog time per step: record calls and flush, divided by
    /// the steps.
    pub fn per_step(&self) -> Duration {
        self.record_and_flush / self.steps.max(1) as u32
    }
}

impl fmt::Display for BenchFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let us = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        writeln!(
            f,
            "catalog: populate {} records ({} assets x {} partitions): {:.0} ms ({:.1} us/record), file {:.1} MiB",
            self.populated,
            self.assets,
            self.partitions,
            ms(self.populate),
            us(self.populate, self.populated),
            self.file_bytes as f64 / (1024.0 * 1024.0)
        )?;
        writeln!(
            f,
            "catalog: open {:.1} ms; latest_for_assets over {} assets -> {} records: {:.0} ms",
            ms(self.open),
            self.assets,
            self.latest_rows,
            ms(self.query_latest)
        )?;
        write!(
            f,
            "catalog: record {} materializations: calls {:.2} ms ({:.2} us/step), with flush {:.1} ms ({:.1} us/step amortized), then close {:.1} ms",
            self.steps,
            ms(self.record_calls),
            us(self.record_calls, self.steps),
            ms(self.record_and_flush),
            us(self.record_and_flush, self.steps),
            ms(self.close)
        )
    }
}

/// Measures a catalog at `dir/_catalog.sqlite` (`dir` should be empty):
/// records `assets x partitions` materializations (each asset reading the
/// previous one's same partition, as a chain), queries the latest of every
/// asset from a freshly opened catalog, then records `steps` more and
/// flushes.
pub fn bench(
    dir: &Path,
    assets: usize,
    partitions: usize,
    steps: usize,
) -> Result<BenchFigures, CatalogError> {
    let path = dir.join(super::DEFAULT_FILE_NAME);
    let names: Vec<String> = (0..assets).map(|a| format!("asset_{a:04}")).collect();
    let days: Vec<String> = (0..partitions).map(day).collect();

    let catalog = SqliteCatalog::open(&path)?;
    let start = Instant::now();
    for (a, name) in names.iter().enumerate() {
        for (d, partition) in days.iter().enumerate() {
            catalog.record_materialization(&record(&names, a, name, d, partition, "populate"))?;
        }
    }
    catalog.close()?;
    let populate = start.elapsed();
    let file_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let start = Instant::now();
    let catalog = SqliteCatalog::open(&path)?;
    let open = start.elapsed();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let start = Instant::now();
    let latest = catalog.latest_for_assets(&refs, None)?;
    let query_latest = start.elapsed();

    let mut record_calls = Duration::ZERO;
    let start = Instant::now();
    for step in 0..steps {
        let a = step % assets.max(1);
        let d = (step / assets.max(1)) % partitions.max(1);
        let record = record(&names, a, &names[a], d, &days[d], "run");
        let call = Instant::now();
        catalog.record_materialization(&record)?;
        record_calls += call.elapsed();
    }
    catalog.flush()?;
    let record_and_flush = start.elapsed();
    let start = Instant::now();
    catalog.close()?;
    let close = start.elapsed();

    Ok(BenchFigures {
        assets,
        partitions,
        populated: assets * partitions,
        populate,
        file_bytes,
        open,
        query_latest,
        latest_rows: latest.len(),
        steps,
        record_calls,
        record_and_flush,
        close,
    })
}

/// Day `n` after 2024-01-01, as a partition key.
fn day(n: usize) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
    (start + chrono::Days::new(n as u64)).to_string()
}

/// A realistic record: hex versions, a schema, one input.
fn record(
    names: &[String],
    a: usize,
    name: &str,
    d: usize,
    partition: &str,
    run: &str,
) -> MaterializationRecord {
    let version = |salt: usize| {
        format!(
            "{:032x}",
            (a * 1_000_003 + d * 7919 + salt) as u128 * 0x9e37_79b9_7f4a_7c15
        )
    };
    MaterializationRecord {
        asset: name.to_owned(),
        partition: Some(partition.to_owned()),
        run_id: format!("{run}-0001"),
        code_version: format!("{:016x}", a * 31),
        data_version: version(0),
        inputs: match a.checked_sub(1) {
            Some(up) => vec![InputVersion {
                asset: names[up].clone(),
                partition: Some(partition.to_owned()),
                data_version: version(1),
            }],
            None => Vec::new(),
        },
        uri: format!("file:///data/{name}/{partition}/data.parquet"),
        rows: 1000,
        bytes: 12_345,
        started_at: "2024-06-01T00:00:00.000000+00:00".into(),
        finished_at: "2024-06-01T00:00:00.001000+00:00".into(),
        framework_version: "0.1.0".into(),
        config_hash: None,
        git_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        schema: Some("user_id: Int64, day: Date32, events: Int64, revenue: Float64?".into()),
        tag: None,
        promoted_from: None,
    }
}
