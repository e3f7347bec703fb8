//! A pipeline binary for CLI tests: the fixture graph selected by
//! `FIXTURE_GRAPH` (`diamond`, default, or `layered:LAYERS:WIDTH`), steered by
//! the `FIXTURE_*` variables of [`Behaviour::from_env`].

use std::process::ExitCode;

use asset_core::cli::App;
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
        _ => return usage(&graph),
    };
    App::from_assets(assets).run()
}

fn usage(graph: &str) -> ExitCode {
    eprintln!("error: FIXTURE_GRAPH {graph:?} is not `diamond` or `layered:LAYERS:WIDTH`");
    ExitCode::from(2)
}
