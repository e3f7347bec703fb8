//! The subcommands' bodies.

use std::process::ExitCode;

use io_managers::StorageRoot;

use crate::asset::registry::Registry;
use crate::cli::args::{Cli, Command, MaterializeArgs};
use crate::cli::{EXIT_FAILED, IoManagerFactory, progress};
use crate::error::Error;
use crate::graph::{AssetGraph, Selection};
use crate::materialize::{IoManagers, MaterializeOptions, Materializer};

/// Runs the parsed command.
pub(super) fn run(
    cli: Cli,
    registry: Registry,
    extra_io: Vec<IoManagerFactory>,
) -> Result<ExitCode, Error> {
    let graph = AssetGraph::build(registry)?;
    match cli.command {
        Command::List => {
            print!("{}", list(&graph));
            Ok(ExitCode::SUCCESS)
        }
        Command::Materialize(args) => {
            // Refuse a bad selection or partition key before touching storage.
            let selection = Selection::parse(&args.select)?;
            crate::materialize::Plan::build(
                &graph,
                &selection.resolve(&graph)?,
                args.partition.as_deref(),
            )?;
            let root = StorageRoot::parse(&cli.root)?;
            let io = extra_io
                .iter()
                .fold(IoManagers::defaults(&root), |io, make| io.with(make(&root)));
            materialize(Materializer::new(graph, io), args, cli.quiet)
        }
    }
}

fn materialize(
    materializer: Materializer,
    args: MaterializeArgs,
    quiet: bool,
) -> Result<ExitCode, Error> {
    let mut options = MaterializeOptions {
        selection: Selection::parse(&args.select)?,
        partition: args.partition,
        force: args.force,
        dry_run: args.dry_run,
        ..MaterializeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = usize::from(jobs);
    }
    // Plan first: usage errors surface before a runtime or a bar exists.
    let total = materializer.plan(&options)?.len();
    let (observer, bar) = progress::observer(total, quiet || options.dry_run);
    options.observer = Some(observer);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.jobs.clamp(1, num_cpus::get().max(1)))
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(materializer.run(&options))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!("{}", report.summary_table());
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// The `list` table.
fn list(graph: &AssetGraph) -> String {
    let mut rows = vec![[
        "asset".to_owned(),
        "partitions".to_owned(),
        "io".to_owned(),
        "depends on".to_owned(),
        "description".to_owned(),
    ]];
    for def in graph.registry().assets() {
        let deps: Vec<&str> = def.dependencies.iter().map(|d| d.asset.as_str()).collect();
        rows.push([
            def.key.clone(),
            def.partitions.describe(),
            def.io_manager.clone(),
            if deps.is_empty() {
                "-".into()
            } else {
                deps.join(", ")
            },
            def.description.lines().next().unwrap_or("").to_owned(),
        ]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == 4 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} assets\n", graph.len()));
    out
}
