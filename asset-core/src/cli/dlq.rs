//! `dlq ASSET [--partition KEY] [--limit N]`: the rows an asset's row rules
//! rejected in the latest attempt at a partition, with the reason, one JSON
//! object per line after a count.

use std::fmt::Write as _;
use std::process::ExitCode;

use arrow_array::RecordBatch;
use io_managers::Payload;

use crate::check::{DEAD_LETTER_SUFFIX, dead_letter_location, subject};
use crate::cli::EXIT_FAILED;
use crate::cli::args::DlqArgs;
use crate::cli::output::out;
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::IoManagers;

/// Prints the dead-letter table of `args.asset`'s partition.
///
/// Usage errors (exit 2): an unknown asset, an asset without row rules, a
/// missing or invalid partition key. No table yet (the partition was not
/// materialized since the rules were added) is exit 1.
pub(super) fn dlq(graph: &AssetGraph, io: &IoManagers, args: &DlqArgs) -> Result<ExitCode, Error> {
    match render(graph, io, args)? {
        Ok(text) => {
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(missing) => {
            eprintln!("error: {missing}");
            Ok(ExitCode::from(EXIT_FAILED))
        }
    }
}

/// The text `dlq` prints, `Ok(Err(..))` when there is no table to show.
fn render(
    graph: &AssetGraph,
    io: &IoManagers,
    args: &DlqArgs,
) -> Result<Result<String, String>, Error> {
    let registry = graph.registry();
    let def = registry
        .get(&args.asset)
        .ok_or_else(|| Error::UnknownAsset {
            name: args.asset.clone(),
            suggestion: registry.closest_key(&args.asset),
        })?;
    if def
        .checks
        .contract
        .as_ref()
        .is_none_or(|c| c.row_rules().is_empty())
    {
        return Err(Error::Usage(format!(
            "asset {:?} has no row rules in its contract, so it has no dead-letter table",
            def.key
        )));
    }
    let partition = match (&args.partition, def.partitions.is_partitioned()) {
        (Some(key), true) => Some(def.partitions.validate(&def.key, key)?),
        (None, true) => {
            return Err(Error::PartitionRequired {
                asset: def.key.clone(),
                partitions: def.partitions.describe(),
            });
        }
        (Some(key), false) => {
            return Err(Error::Usage(format!(
                "asset {:?} is not partitioned, but --partition {key:?} was given",
                def.key
            )));
        }
        (None, false) => None,
    };
    let partition = partition.as_ref().map(|p| p.as_str());
    let location = dead_letter_location(&def.location(partition)?)?;
    let manager = io.get(&def.io_manager).ok_or_else(|| Error::BadIoManager {
        asset: def.key.clone(),
        reason: format!("IO manager {:?} is not registered", def.io_manager),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let who = subject(&def.key, partition);
    let exists = runtime.block_on(manager.exists(&location))?;
    if !exists {
        return Ok(Err(format!(
            "no dead-letter table for {who} at {}: materialize it first (it is written on every run of the row rules)",
            manager.uri(&location)
        )));
    }
    let table = match runtime.block_on(manager.load(&location))? {
        Payload::Table(table) => table,
        other => {
            return Err(Error::Internal(format!(
                "the dead-letter table of {who} is a {}, not a table",
                other.kind().name()
            )));
        }
    };
    let total = table.num_rows();
    let mut out = format!(
        "{total} rejected row{} in {}{DEAD_LETTER_SUFFIX}{}",
        if total == 1 { "" } else { "s" },
        def.key,
        partition.map_or_else(String::new, |p| format!(" [{p}]"))
    );
    let shown = usize::try_from(total).unwrap_or(usize::MAX).min(args.limit);
    if shown < usize::try_from(total).unwrap_or(usize::MAX) {
        let _ = write!(out, " (the first {shown})");
    }
    out.push('\n');
    let mut left = shown;
    for batch in &table.batches {
        if left == 0 {
            break;
        }
        let take = left.min(batch.num_rows());
        for line in json_rows(&batch.slice(0, take))? {
            out.push_str(&line);
            out.push('\n');
        }
        left -= take;
    }
    Ok(Ok(out))
}

/// Each row of `batch` as one line of JSON.
fn json_rows(batch: &RecordBatch) -> Result<Vec<String>, Error> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_arrow::from_record_batch(batch)
            .map_err(|e| Error::Internal(format!("cannot print the dead-letter rows: {e}")))?;
    rows.iter()
        .map(|row| {
            serde_json::to_string(row)
                .map_err(|e| Error::Internal(format!("cannot print the dead-letter rows: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::definition::AssetDef;
    use crate::asset::registry::Registry;
    use crate::check::DataContract;
    use crate::partition::PartitionsDef;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{ArrayRef, BooleanArray, Int64Array};
    use io_managers::Location;
    use io_managers::{IoManager, MemoryIoManager, PayloadKind, TableData};
    use std::sync::Arc;

    fn negative(b: &RecordBatch) -> Result<BooleanArray, String> {
        Ok(b.column(0)
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map(|v| v < 0))
            .collect())
    }

    fn setup() -> (AssetGraph, IoManagers, Arc<MemoryIoManager>) {
        let with_rules = AssetDef::new("amounts", |_| Box::pin(async { Ok(Payload::Nothing) }))
            .with_partitions(PartitionsDef::daily("2024-01-01").expect("valid start"))
            .with_contract(DataContract::new().reject_rows(
                "negative",
                "amount is negative",
                negative,
            ));
        let plain = AssetDef::new("plain", |_| Box::pin(async { Ok(Payload::Nothing) }));
        let graph = AssetGraph::build(Registry::from_defs(vec![with_rules, plain]).expect("valid"))
            .expect("graph");
        let memory = Arc::new(MemoryIoManager::new("parquet", PayloadKind::Table));
        let io = IoManagers::empty().with(memory.clone());
        (graph, io, memory)
    }

    fn args(asset: &str, partition: Option<&str>, limit: usize) -> DlqArgs {
        DlqArgs {
            asset: asset.into(),
            partition: partition.map(str::to_owned),
            limit,
        }
    }

    #[test]
    fn rejected_rows_print_with_a_count_and_their_reason() {
        let (graph, io, memory) = setup();
        let batch = RecordBatch::try_from_iter([
            (
                "amount",
                Arc::new(Int64Array::from(vec![-1, -2, -3])) as ArrayRef,
            ),
            (
                crate::check::REASON_COLUMN,
                Arc::new(arrow_array::StringArray::from(vec![
                    "amount is negative";
                    3
                ])) as ArrayRef,
            ),
        ])
        .expect("batch");
        let owner = Location::new("amounts", Some("2024-01-02")).expect("location");
        let location = dead_letter_location(&owner).expect("location");
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(memory.store(&location, &Payload::Table(TableData::from(batch))))
            .expect("stored");
        let text = render(&graph, &io, &args("amounts", Some("2024-01-02"), 2))
            .expect("usage ok")
            .expect("table");
        assert_eq!(
            text,
            "3 rejected rows in amounts.dead_letter [2024-01-02] (the first 2)\n\
             {\"amount\":-1,\"rejection_reason\":\"amount is negative\"}\n\
             {\"amount\":-2,\"rejection_reason\":\"amount is negative\"}\n"
        );
    }

    #[test]
    fn a_partition_never_run_is_not_a_usage_error() {
        let (graph, io, _) = setup();
        let missing = render(&graph, &io, &args("amounts", Some("2024-01-05"), 20))
            .expect("usage ok")
            .expect_err("no table");
        assert!(
            missing.starts_with("no dead-letter table for amounts [2024-01-05]"),
            "{missing}"
        );
    }

    #[test]
    fn usage_mistakes_are_one_line_usage_errors() {
        let (graph, io, _) = setup();
        for (a, expected) in [
            (
                args("amount", Some("2024-01-02"), 20),
                r#"unknown asset "amount" (did you mean "amounts"?)"#,
            ),
            (
                args("plain", None, 20),
                r#"asset "plain" has no row rules in its contract, so it has no dead-letter table"#,
            ),
            (
                args("amounts", None, 20),
                r#"asset "amounts" is partitioned"#,
            ),
            (
                args("amounts", Some("2024-13-01"), 20),
                r#"partition key "2024-13-01""#,
            ),
        ] {
            let err = render(&graph, &io, &a).expect_err("usage error");
            assert!(err.is_usage(), "{err}");
            assert!(err.to_string().starts_with(expected), "{err}");
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }
}
