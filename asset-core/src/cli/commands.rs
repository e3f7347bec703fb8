//! The subcommands' bodies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use io_managers::StorageRoot;

use crate::asset::registry::Registry;
use crate::catalog::{self, SqliteCatalog};
use crate::cli::args::{CatalogCommand, Cli, Command, MaterializeArgs};
use crate::cli::rebuild;
use crate::cli::table::render;
use crate::cli::{EXIT_FAILED, IoManagerFactory, inspect, progress};
use crate::config::ConfigFile;
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
    let open_catalog = || -> Result<(StorageRoot, Arc<SqliteCatalog>), Error> {
        let root = StorageRoot::parse(&cli.root)?;
        let path = catalog_path(&root, cli.catalog.as_deref());
        let catalog = SqliteCatalog::open(&path).map_err(|e| Error::Catalog(e.to_string()))?;
        Ok((root, Arc::new(catalog)))
    };
    match &cli.command {
        Command::List => {
            print!("{}", list(&graph));
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => inspect::status(
            &graph,
            open_catalog()?.1.as_ref(),
            &ConfigFile::load(&cli.config)?,
            args,
        ),
        Command::Why(args) => inspect::why(
            &graph,
            open_catalog()?.1.as_ref(),
            &ConfigFile::load(&cli.config)?,
            args,
        ),
        Command::Lineage(args) => inspect::lineage(&graph, open_catalog()?.1.as_ref(), args),
        Command::History(args) => inspect::history(&graph, open_catalog()?.1.as_ref(), args),
        Command::Catalog(CatalogCommand::Rebuild) => {
            let root = StorageRoot::parse(&cli.root)?;
            let path = catalog_path(&root, cli.catalog.as_deref());
            rebuild::rebuild(&root, &path)
        }
        Command::Materialize(args) => {
            let args = args.clone();
            // Refuse a bad selection or partition key before touching storage.
            let selection = Selection::parse(&args.select)?;
            crate::materialize::Plan::build(
                &graph,
                &selection.resolve(&graph)?,
                args.partition.as_deref(),
            )?;
            let (root, catalog) = open_catalog()?;
            let io = extra_io
                .iter()
                .fold(IoManagers::defaults(&root), |io, make| io.with(make(&root)));
            let config = ConfigFile::load(&cli.config)?;
            let materializer = Materializer::new(graph, io)
                .with_catalog(catalog)
                .with_config(config);
            materialize(materializer, args, cli.quiet)
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

/// Where the catalog of `root` lives unless `--catalog` says otherwise.
pub(super) fn catalog_path(root: &StorageRoot, explicit: Option<&Path>) -> PathBuf {
    match (explicit, root.local_dir()) {
        (Some(path), _) => path.to_path_buf(),
        (None, Some(dir)) => dir.join(catalog::DEFAULT_FILE_NAME),
        (None, None) => Path::new(".assetflow").join(catalog::DEFAULT_FILE_NAME),
    }
}

/// The `list` table.
fn list(graph: &AssetGraph) -> String {
    let mut rows = vec![
        ["asset", "partitions", "io", "depends on", "description"]
            .map(String::from)
            .to_vec(),
    ];
    for def in graph.registry().assets() {
        let deps: Vec<&str> = def.dependencies.iter().map(|d| d.asset.as_str()).collect();
        rows.push(vec![
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
    format!("{}{} assets\n", render(&rows), graph.len())
}
