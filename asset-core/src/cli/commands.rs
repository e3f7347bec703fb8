//! The subcommands' bodies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use io_managers::StorageRoot;

use crate::asset::registry::Registry;
use crate::catalog::{self, SqliteCatalog};
use crate::cli::args::{CatalogCommand, Cli, Command, MaterializeArgs, OrderArg};
use crate::cli::table::render;
use crate::cli::{EXIT_FAILED, EXIT_INTERRUPTED, IoManagerFactory, inspect, progress};
use crate::cli::{
    alerts, book, daemon, dlq, lineage_events, output, partitions, read_only, rebuild, runs, tags,
};
use crate::config::ConfigFile;
use crate::error::Error;
use crate::graph::{AssetGraph, Selection};
use crate::materialize::tagged_io::TaggedIoManager;
use crate::materialize::{IoManagers, MaterializeOptions, Materializer, PartitionOrder};

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
    // Only a graph with `Config<C>` parameters reads the file: a broken
    // `assets.toml` cannot block the commands of a pipeline that has none.
    let config = || -> Result<ConfigFile, Error> {
        let readers: Vec<&str> = graph
            .registry()
            .assets()
            .iter()
            .filter(|def| def.takes_config)
            .map(|def| def.key.as_str())
            .collect();
        if !readers.is_empty() {
            let file = ConfigFile::load_given(&cli.config)?;
            // Keys a section's type skips; a section that does not fit at
            // all is refused where its asset is planned.
            let unknown_keys = graph
                .registry()
                .assets()
                .iter()
                .filter(|def| def.takes_config)
                .filter_map(|def| def.config_keys(&file.config_for(&def.key)).ok())
                .flatten();
            for unknown in file
                .unknown_sections(&readers)
                .into_iter()
                .chain(unknown_keys)
            {
                if cli.strict {
                    return Err(unknown.into());
                }
                eprintln!("warning: {unknown}");
            }
            Ok(file)
        } else {
            Ok(ConfigFile::empty(&cli.config))
        }
    };
    // The commands that only read open root and catalog read-only; over a
    // root with nothing materialized yet, an empty catalog outside it.
    let reading = || read_only::open(&cli.root, cli.catalog.as_deref());
    match &cli.command {
        Command::List => {
            output::write(&list(&graph))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status(args) => {
            let (root, catalog) = reading()?;
            inspect::status(
                &graph,
                catalog.get(),
                &io_managers(&root, &extra_io, None)?,
                &config()?,
                args,
            )
        }
        Command::Why(args) => {
            let (root, catalog) = reading()?;
            inspect::why(
                &graph,
                catalog.get(),
                &io_managers(&root, &extra_io, None)?,
                &config()?,
                args,
            )
        }
        Command::Lineage(args) => inspect::lineage(&graph, reading()?.1.get(), args),
        Command::History(args) => inspect::history(&graph, reading()?.1.get(), args),
        Command::Runs(args) => runs::runs(reading()?.1.get(), args),
        Command::Catalog(CatalogCommand::Rebuild) => {
            let root = StorageRoot::parse(&cli.root)?;
            let path = catalog_path(&root, cli.catalog.as_deref());
            rebuild::rebuild(&root, &path)
        }
        Command::Book(args) => {
            let (root, catalog) = reading()?;
            let io = io_managers(&root, &extra_io, None)?;
            book::book(&graph, catalog.get(), &config()?, &io, args)
        }
        Command::Partitions(args) if args.action.is_some() => {
            partitions::run(&graph, Some(open_catalog()?.1.as_ref()), args)
        }
        Command::Partitions(args) => partitions::run(&graph, Some(reading()?.1.get()), args),
        Command::Tags => tags::list(reading()?.1.get()),
        Command::Dlq(args) => {
            let (root, _) = reading()?;
            dlq::dlq(&graph, &io_managers(&root, &extra_io, None)?, args)
        }
        Command::Promote(args) => {
            let (root, catalog) = open_catalog()?;
            let io = io_managers(&root, &extra_io, None)?;
            tags::promote(&graph, &io, catalog.as_ref(), &args.tag)
        }
        Command::Discard(args) => {
            let (root, catalog) = open_catalog()?;
            tags::discard(&root, catalog.as_ref(), &args.tag)
        }
        Command::Schedules(args) => {
            let path = read_only::existing_catalog_file(&cli.root, cli.catalog.as_deref())?;
            daemon::schedules(&graph, path.as_deref(), args)
        }
        Command::Daemon(args) => {
            let settings = daemon::settings(args)?;
            // The daemon routes alerts: it reads the file whatever the assets
            // take, and a broken `[alerts]` is refused before anything runs.
            let config = ConfigFile::load_given(&cli.config)?;
            let deliverer = alerts::start(&cli.config)?;
            let lineage = lineage_events::start(&cli.config)?;
            let (root, catalog) = open_catalog()?;
            let path = catalog_path(&root, cli.catalog.as_deref());
            let materializer = Materializer::new(graph, io_managers(&root, &extra_io, None)?)
                .with_config(config)
                .with_catalog(catalog);
            let materializer = lineage_events::attach(materializer, lineage.as_ref());
            let code = daemon::run(materializer, &path, settings, deliverer);
            lineage_events::finish(lineage);
            code
        }
        Command::Materialize(args) => {
            if let Some(tag) = &args.tag {
                io_managers::validate_tag(tag)?;
            }
            let root = StorageRoot::parse(&cli.root)?;
            let path = catalog_path(&root, cli.catalog.as_deref());
            let options = materialize_options(args)?;
            let config = config()?;
            // A broken `[alerts]` is refused before anything runs.
            let deliverer = alerts::start(&cli.config)?;
            let lineage = lineage_events::start(&cli.config)?;
            // Refuse a bad selection, range or key before creating anything:
            // plan against the catalog only if it already exists.
            let mut materializer =
                Materializer::new(graph, IoManagers::empty()).with_config(config);
            if path.exists() {
                materializer = materializer.with_catalog(open_catalog()?.1);
            }
            materializer.plan_only(&options)?;
            let (root, catalog) = open_catalog()?;
            let io = io_managers(&root, &extra_io, args.tag.as_deref())?;
            let materializer = materializer
                .with_io_managers(io)
                .with_catalog(catalog)
                .with_tag(args.tag.as_deref());
            let materializer = lineage_events::attach(materializer, lineage.as_ref());
            let code = materialize(materializer, options, cli.quiet, &path, deliverer);
            lineage_events::finish(lineage);
            code
        }
    }
}

/// The IO managers on `root`; for a tagged run, writing under the tag and
/// reading through it to production.
fn io_managers(
    root: &StorageRoot,
    extra_io: &[IoManagerFactory],
    tag: Option<&str>,
) -> Result<IoManagers, Error> {
    let on = |root: &StorageRoot| {
        extra_io
            .iter()
            .fold(IoManagers::defaults(root), |io, make| io.with(make(root)))
    };
    let production = on(root);
    let Some(tag) = tag else {
        return Ok(production);
    };
    let tagged = on(&root.with_tag(tag)?);
    let mut io = IoManagers::empty();
    for name in production.names() {
        if let (Some(p), Some(t)) = (production.get(name), tagged.get(name)) {
            io = io.with(Arc::new(TaggedIoManager::new(t.clone(), p.clone())));
        }
    }
    Ok(io)
}

/// The run's options from `materialize`'s arguments.
fn materialize_options(args: &MaterializeArgs) -> Result<MaterializeOptions, Error> {
    let mut options = MaterializeOptions {
        selection: Selection::parse(&args.select)?,
        partition: args.partition.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        order: match args.order {
            OrderArg::NewestFirst => PartitionOrder::NewestFirst,
            OrderArg::OldestFirst => PartitionOrder::OldestFirst,
        },
        force: args.force,
        verify: args.verify,
        max_steps: args.max_steps,
        dry_run: args.dry_run,
        ..MaterializeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = usize::from(jobs);
    }
    Ok(options)
}

fn materialize(
    materializer: Materializer,
    mut options: MaterializeOptions,
    quiet: bool,
    catalog: &Path,
    deliverer: crate::alert::Deliverer,
) -> Result<ExitCode, Error> {
    // Plan first: usage errors surface before a runtime or a bar exists.
    let plan = materializer.plan(&options)?;
    let left_out: Vec<String> = plan.left_out().iter().map(ToString::to_string).collect();
    let (observer, bar) = progress::observer(plan.len(), quiet || options.dry_run);
    options.observer = Some(observer);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.jobs.clamp(1, num_cpus::get().max(1)))
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    // Ctrl-C: no further step starts; the running ones finish and are
    // recorded; the run ends as cancelled. A second Ctrl-C stops at once
    // (safe too: every write is atomic, and a rerun resumes).
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    options.cancel = Some(cancel.clone());
    let report = runtime.block_on(async {
        let flag = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(
                    "interrupted: finishing the steps that are running (Ctrl-C again to stop at once); rerun the same command to resume"
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(i32::from(EXIT_INTERRUPTED));
                }
            }
        });
        materializer.run_plan(plan, &options).await
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut summary = if report.is_backfill() {
        report.summary_by_asset()
    } else {
        report.summary_table()
    };
    summary.push('\n');
    for line in &left_out {
        summary.push_str(line);
        summary.push('\n');
    }
    // Alerts go out whatever became of the output.
    let printed = output::write(&summary);
    alerts::raise(materializer.graph(), catalog, &report, &deliverer);
    alerts::finish(deliverer);
    printed?;
    Ok(if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if report.succeeded() {
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
        // A mapping other than the same partition is shown as written:
        // `Window<item_features, 7>`.
        let deps: Vec<String> = def.dependencies.iter().map(|d| d.as_written()).collect();
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
