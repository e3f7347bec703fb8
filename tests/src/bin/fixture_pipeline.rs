//! A pipeline binary for CLI tests: the fixture graph selected by
//! `FIXTURE_GRAPH` (`diamond`, default, `history`, `layered:LAYERS:WIDTH`, or
//! `recommender` for the example pipeline), steered by
//! the `FIXTURE_*` variables of [`Behaviour::from_env`].
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
        ["recommender"] => {
            // The example pipeline, as its own binary runs it.
            examples::recommender::link();
            return App::new().run();
        }
        _ => return usage(&graph),
    };
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
        "error: FIXTURE_GRAPH {graph:?} is not `diamond`, `history`, `recommender` or `layered:LAYERS:WIDTH`"
    );
    ExitCode::from(2)
}
