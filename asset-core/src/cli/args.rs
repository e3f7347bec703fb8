//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand};

/// Materialize and inspect data assets.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Storage root: a directory or a URL (file://, memory://, s3:// with the `aws` feature).
    #[arg(long, global = true, env = "ASSETFLOW_ROOT", default_value = "./data")]
    pub root: String,
    /// The catalog file (default: `_catalog.sqlite` in a local root,
    /// `.assetflow/_catalog.sqlite` here for a remote one).
    #[arg(long, global = true, env = "ASSETFLOW_CATALOG")]
    pub catalog: Option<std::path::PathBuf>,
    /// The configuration file for `Config<C>` parameters.
    #[arg(
        long,
        global = true,
        env = "ASSETFLOW_CONFIG",
        default_value = "assets.toml"
    )]
    pub config: std::path::PathBuf,
    /// Refuse (rather than warn about) sections of the configuration file
    /// that no asset reads.
    #[arg(long, global = true)]
    pub strict: bool,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors; no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the selected assets that are stale, in dependency order.
    Materialize(MaterializeArgs),
    /// List the assets: partitions, IO manager, dependencies, description.
    List,
    /// Fresh, stale, missing or failed, with reasons, per asset (and partition).
    Status(StatusArgs),
    /// Why an asset-partition is stale, down to the root cause.
    Why(WhyArgs),
    /// The graph around an asset and, for a partition, the exact versions it was built from.
    Lineage(LineageArgs),
    /// Past materializations of an asset, with their versions.
    History(HistoryArgs),
    /// The runs, newest first (`runs show ID`: every step of one run).
    Runs(RunsArgs),
    /// List an asset's partition keys with their time windows; add or
    /// remove keys of dynamic partition sets.
    Partitions(PartitionsArgs),
    /// List the tagged namespaces (`materialize --tag`).
    Tags,
    /// Make a tagged namespace's materializations production, atomically
    /// per asset-partition.
    Promote(TagArgs),
    /// Drop a tagged namespace: its files and its catalog entries.
    Discard(TagArgs),
    /// The rows an asset's row rules rejected (its dead-letter table), with the reason.
    Dlq(DlqArgs),
    /// Maintain the catalog.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// List the schedules with their next ticks (local time and UTC), and
    /// the assets under automation.
    Schedules(SchedulesArgs),
    /// Run schedules and automations: a pass every `--interval` until
    /// Ctrl-C or SIGTERM (running steps finish and are recorded).
    Daemon(DaemonArgs),
    /// Render the assets, partitions, provenance and runs as a browsable
    /// static site (an mdBook with the guide), built to HTML when the
    /// `book` feature is on.
    Book(BookArgs),
}

/// Arguments of `runs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    /// `show ID`: one run's steps.
    #[command(subcommand)]
    pub action: Option<RunsAction>,
    /// How many runs to list (the newest).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,
    /// Only runs that ended this way.
    #[arg(long, value_enum)]
    pub status: Option<RunStatusArg>,
}

/// `runs show`.
#[derive(Debug, Subcommand)]
pub enum RunsAction {
    /// Every step of a run: outcome, attempts, duration, rows, error.
    Show {
        /// The run id (as `runs` lists it).
        id: String,
    },
}

/// `runs --status`: how a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunStatusArg {
    /// Begun and not ended (or its process died).
    Running,
    /// Every step succeeded.
    Succeeded,
    /// At least one step failed.
    Failed,
    /// Interrupted before the end.
    Cancelled,
}

/// Arguments of `book`.
#[derive(Debug, Args)]
pub struct BookArgs {
    /// The folder to write the book into (its source in `DIR/src`, the HTML
    /// in `DIR/book`).
    #[arg(long, default_value = "lineage-site")]
    pub out: std::path::PathBuf,
    /// Assets with a page (same syntax as `materialize --select`).
    #[arg(long, short, default_value = "*")]
    pub select: String,
    /// First partition shown (inclusive; with --to).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last partition shown (inclusive; with --from).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Time partitions exist up to this instant (RFC 3339, or YYYY-MM-DD for
    /// its midnight UTC; default: now). Pin it for byte-identical sites.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Partitions whose latest materialization each asset page lists.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub latest: u32,
    /// Runs with a page (the newest).
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Write the source folder only; do not build it to HTML.
    #[arg(long)]
    pub no_build: bool,
}

/// Arguments of `schedules`.
#[derive(Debug, Args)]
pub struct SchedulesArgs {
    /// How many next ticks to show per schedule.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub next: u16,
    /// Count from this time instead of now (RFC 3339, or `YYYY-MM-DDTHH:MM` in UTC).
    #[arg(long)]
    pub now: Option<String>,
}

/// Arguments of `daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// One pass, then exit (for cron and tests); exit code 1 if a launched run failed.
    #[arg(long)]
    pub once: bool,
    /// With --once: the time of the pass (RFC 3339, or `YYYY-MM-DDTHH:MM` in UTC).
    #[arg(long, requires = "once")]
    pub now: Option<String>,
    /// The pause between passes (`500ms`, `1s`, `1m`).
    #[arg(long, default_value = "1s")]
    pub interval: String,
    /// Steps run at once in each run (default: the number of cores).
    #[arg(long, short, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Assets (same syntax as `materialize --select`).
    #[arg(long, short, default_value = "*")]
    pub select: String,
    /// One partition: a row per asset-partition with its reasons.
    #[arg(long, short, conflicts_with_all = ["from", "to"])]
    pub partition: Option<String>,
    /// First partition of a range (inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last partition of a range (inclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Read every stored value back and rehash it against its recorded
    /// data version (without it, only presence and byte size are checked).
    #[arg(long)]
    pub verify: bool,
    /// Refuse to assess more asset-partitions than this.
    #[arg(long, default_value_t = crate::materialize::DEFAULT_MAX_STEPS)]
    pub max_steps: u64,
    /// Judge as of this time instead of now: which time partitions exist,
    /// and the SLA deadlines (RFC 3339, or `YYYY-MM-DDTHH:MM` in UTC).
    #[arg(long)]
    pub now: Option<String>,
}

/// Arguments of `dlq`.
#[derive(Debug, Args)]
pub struct DlqArgs {
    /// The asset.
    pub asset: String,
    /// Its partition (for partitioned assets).
    #[arg(long, short)]
    pub partition: Option<String>,
    /// At most this many rows.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// Arguments of `why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The asset.
    pub asset: String,
    /// Its partition (for partitioned assets).
    #[arg(long, short)]
    pub partition: Option<String>,
}

/// Arguments of `lineage`.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// The asset.
    pub asset: String,
    /// A partition: show the exact input versions of its latest materialization.
    #[arg(long, short)]
    pub partition: Option<String>,
    /// Only what it reads from (the default shows both directions).
    #[arg(long, conflicts_with = "downstream")]
    pub upstream: bool,
    /// Only what reads from it.
    #[arg(long)]
    pub downstream: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "tree")]
    pub format: LineageFormat,
}

/// Output formats of `lineage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LineageFormat {
    /// An indented tree.
    Tree,
    /// JSON.
    Json,
    /// A Graphviz DOT digraph (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub Markdown and mdBook with mermaid).
    Mermaid,
}

/// Arguments of `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The asset.
    pub asset: String,
    /// Only this partition.
    #[arg(long, short)]
    pub partition: Option<String>,
    /// At most this many entries.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// `catalog` subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Rebuild the catalog from the provenance records kept with the data (Parquet footers).
    Rebuild,
}

/// Arguments of `materialize`.
#[derive(Debug, Clone, Args)]
pub struct MaterializeArgs {
    /// Assets: `name`, `+name` (with upstream), `name+` (with downstream), `*`, comma lists.
    #[arg(long, short, default_value = "*")]
    pub select: String,
    /// Partition key for partitioned assets (daily: YYYY-MM-DD).
    #[arg(long, short, conflicts_with_all = ["from", "to"])]
    pub partition: Option<String>,
    /// Backfill: the first partition (inclusive; with --to).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Backfill: the last partition (inclusive; with --from).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Which independent partitions start first (dependencies between
    /// partitions always keep them chronological).
    #[arg(long, value_enum, default_value = "newest-first")]
    pub order: OrderArg,
    /// Write outputs and catalog entries into this tagged namespace instead
    /// of production (`promote --tag` publishes them, `discard --tag` drops them).
    #[arg(long)]
    pub tag: Option<String>,
    /// Steps run at once (default: the number of cores).
    #[arg(long, short, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Recompute even what is up to date.
    #[arg(long)]
    pub force: bool,
    /// Show what would run, run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Read every value that would be skipped back and rehash it against its
    /// recorded data version; a changed or damaged one is recomputed.
    #[arg(long)]
    pub verify: bool,
    /// Refuse a plan of more steps (asset-partitions) than this.
    #[arg(long, default_value_t = crate::materialize::DEFAULT_MAX_STEPS)]
    pub max_steps: u64,
}

/// `--order` of `materialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderArg {
    /// Newest partition first: fresh data arrives first.
    NewestFirst,
    /// Oldest partition first.
    OldestFirst,
}

/// Arguments of `partitions`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PartitionsArgs {
    /// Add or remove keys of a dynamic partition set.
    #[command(subcommand)]
    pub action: Option<PartitionsAction>,
    /// The asset whose partitions to list.
    pub asset: Option<String>,
    /// The first partition to list (inclusive).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// The last partition to list (inclusive).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// At most this many keys (the newest when the range is larger).
    #[arg(long, default_value_t = 1000)]
    pub limit: u64,
}

/// `partitions add|remove`.
#[derive(Debug, Subcommand)]
pub enum PartitionsAction {
    /// Add keys to a dynamic partition set (`dynamic("NAME")`).
    Add {
        /// The set's name.
        set: String,
        /// The keys.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Remove keys from a dynamic partition set (their data stays).
    Remove {
        /// The set's name.
        set: String,
        /// The keys.
        #[arg(required = true)]
        keys: Vec<String>,
    },
}

/// Arguments of `promote` and `discard`.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The tagged namespace (`materialize --tag NAME`).
    #[arg(long)]
    pub tag: String,
}
