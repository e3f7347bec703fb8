//! A pipeline binary for CLI tests: the fixture graph selected by
//! `FIXTURE_GRAPH` (`diamond`, default, `history`, `monthly`, `layered:LAYERS:WIDTH`, or
//! `recommender` for the example pipeline), steered by
//! the `FIXTURE_*` variables of [`Behaviour::from_env`].
//!
//! `FIXTURE_SCHEDULE=joined=0 6 * * *` (`;`-separated) gives assets a
//! schedule, `FIXTURE_SLA=other=6h` (`;`-separated) an SLA.
//! `FIXTURE_REJECT=source` (`,`-separated) gives assets a row rule that
//! sends every tenth row (`id % 10 == 0`) to their dead-letter table.
//!
//! `FIXTURE_PARQUET_CHUNK_BYTES=N` stores tables through the streamed
//! (multipart) Parquet path in chunks of N bytes, whatever their size, so
//! that crash tests can kill a write with bytes staged.

use std::process::ExitCode;
use std::sync::Arc;

use asset_core::cli::App;
use asset_core::io::{ParquetIoManager, ParquetOptions};
use integration_tests::fixtures::{self, Behaviour};

fn main() -> ExitCode {
    let behaviour = Behaviour::from_env();
    let graph = std::env::var("FIXTURE_GRAPH").unwrap_or_else(|_| "diamond".into());
    let assets = match graph.split(':').collect::<Vec<_>>().as_slice() {
        ["layered", layers, width] => match (layers.parse(), width.parse()) {
            (Ok(layers), Ok(width)) => fixtures::layered(layers, width, &behaviour),
            _ => return usage(&graph),
        },
        ["diamond"] => fixtures::diamond(&behaviour),
        ["history"] => fixtures::history(&behaviour),
        ["monthly"] => fixtures::monthly(&behaviour),
        ["recommender"] => {
            // The example pipeline, as its own binary runs it.
            examples::recommender::link();
            return App::new().run();
        }
        _ => return usage(&graph),
    };
    // `FIXTURE_SCHEDULE=asset=cron;asset=cron` schedules assets.
    let schedules = std::env::var("FIXTURE_SCHEDULE").unwrap_or_default();
    let mut assets = assets;
    for entry in schedules.split(';').filter(|e| !e.is_empty()) {
        let Some((asset, cron)) = entry.split_once('=') else {
            return usage(&graph);
        };
        let schedule = match asset_core::Schedule::cron(cron) {
            Ok(schedule) => schedule,
            Err(e) => {
                eprintln!("error: FIXTURE_SCHEDULE: {e}");
                return ExitCode::from(2);
            }
        };
        for def in assets.iter_mut().filter(|d| d.key == asset) {
            def.unattended.schedule = Some(schedule.clone());
        }
    }
    // `FIXTURE_SLA=asset=6h;asset=30m` gives assets an SLA.
    let slas = std::env::var("FIXTURE_SLA").unwrap_or_default();
    for entry in slas.split(';').filter(|e| !e.is_empty()) {
        let Some((asset, text)) = entry.split_once('=') else {
            return usage(&graph);
        };
        let sla = match asset_core::schedule::parse_sla(text) {
            Ok(sla) => sla,
            Err(e) => {
                eprintln!("error: FIXTURE_SLA: {e}");
                return ExitCode::from(2);
            }
        };
        for def in assets.iter_mut().filter(|d| d.key == asset) {
            def.unattended.sla = Some(sla);
        }
    }
    let rejecting = std::env::var("FIXTURE_REJECT").unwrap_or_default();
    let rejecting: Vec<&str> = rejecting.split(',').filter(|a| !a.is_empty()).collect();
    let assets: Vec<_> = assets
        .into_iter()
        .map(|def| {
            if rejecting.contains(&def.key.as_str()) {
                def.with_contract(
                    asset_core::DataContract::new()
                        .reject_rows("tenth", "every tenth id", fixtures::every_tenth_id)
                        .max_rejected(0.5),
                )
            } else {
                def
            }
        })
        .collect();
    let mut app = App::from_assets(assets);
    if let Some(chunk) = std::env::var("FIXTURE_PARQUET_CHUNK_BYTES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let options = ParquetOptions {
            small_table_rows: 0,
            small_table_bytes: 0,
            upload_chunk_bytes: chunk,
            ..ParquetOptions::default()
        };
        app = app.with_io_manager_factory(move |root| {
            Arc::new(ParquetIoManager::with_options(
                root.clone(),
                options.clone(),
            ))
        });
    }
    app.run()
}

fn usage(graph: &str) -> ExitCode {
    eprintln!(
        "error: FIXTURE_GRAPH {graph:?} is not `diamond`, `history`, `monthly`, `recommender` or `layered:LAYERS:WIDTH`"
    );
    ExitCode::from(2)
}
