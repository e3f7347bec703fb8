//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand};

/// Materialize and inspect data assets.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Storage root: a directory or a URL (file://, memory://, s3:// with the `aws` feature).
    #[arg(long, global = true, env = "ASSETFLOW_ROOT", default_value = "./data")]
    pub root: String,
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
}

/// Arguments of `materialize`.
#[derive(Debug, Args)]
pub struct MaterializeArgs {
    /// Assets: `name`, `+name` (with upstream), `name+` (with downstream), `*`, comma lists.
    #[arg(long, short, default_value = "*")]
    pub select: String,
    /// Partition key for partitioned assets (daily: YYYY-MM-DD).
    #[arg(long, short)]
    pub partition: Option<String>,
    /// Steps run at once (default: the number of cores).
    #[arg(long, short, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Recompute even what is up to date.
    #[arg(long)]
    pub force: bool,
    /// Show what would run, run nothing.
    #[arg(long)]
    pub dry_run: bool,
}
