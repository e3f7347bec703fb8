//! The command line every pipeline binary gets with one line of `main`:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     asset_core::cli::main()
//! }
//! ```
//!
//! Exit codes, the same for every command:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | a step failed (the run's report says which) |
//! | 2 | a usage error: unknown asset, bad partition key or tag, bad storage root, bad flags |
//! | 3 | an environment or storage fault: the catalog is corrupt or unreadable, a file cannot be read or written outside a step |
//! | 130 | interrupted with Ctrl-C |

mod alerts;
mod args;
mod book;
mod commands;
mod daemon;
mod dlq;
pub(crate) mod inspect;
mod lineage_events;
mod lineage_graph;
mod output;
mod partitions;
mod progress;
mod read_only;
mod rebuild;
mod runs;
pub(crate) mod table;
mod tags;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches};
use io_managers::{IoManager, StorageRoot};

use crate::asset::definition::AssetDef;
use crate::asset::registry::Registry;
use crate::error::Error;

pub use args::{Cli, Command, MaterializeArgs};

/// Exit code when a step failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code for usage errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code for environment and storage faults outside a step (a corrupt
/// catalog, an unreadable root): not the user's command, not a step.
pub const EXIT_ENVIRONMENT: u8 = 3;
/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs the CLI over the assets marked `#[asset]` in this program.
pub fn main() -> ExitCode {
    App::new().run()
}

/// A configurable CLI: add run-time assets (factories) and IO managers.
#[derive(Default)]
pub struct App {
    extra_assets: Vec<AssetDef>,
    extra_io: Vec<IoManagerFactory>,
    use_inventory: bool,
}

/// Makes an IO manager for the storage root the user chose (`--root`).
pub type IoManagerFactory = Arc<dyn Fn(&StorageRoot) -> Arc<dyn IoManager> + Send + Sync>;

impl App {
    /// The assets marked `#[asset]` in this program, the default IO managers.
    pub fn new() -> Self {
        Self {
            use_inventory: true,
            ..Self::default()
        }
    }

    /// Only the given assets (no `#[asset]` functions), e.g. for generated graphs.
    pub fn from_assets(assets: Vec<AssetDef>) -> Self {
        Self {
            extra_assets: assets,
            ..Self::default()
        }
    }

    /// Adds run-time assets (from a factory).
    pub fn with_assets(mut self, assets: Vec<AssetDef>) -> Self {
        self.extra_assets.extend(assets);
        self
    }

    /// Adds an IO manager (assets pick it with `io = "<its name>"`); it
    /// stores wherever it was built to, whatever `--root` says.
    pub fn with_io_manager(mut self, io: Arc<dyn IoManager>) -> Self {
        self.extra_io
            .push(Arc::new(move |_: &StorageRoot| io.clone()));
        self
    }

    /// Adds an IO manager built on the storage root of each run (`--root`).
    pub fn with_io_manager_factory(
        mut self,
        factory: impl Fn(&StorageRoot) -> Arc<dyn IoManager> + Send + Sync + 'static,
    ) -> Self {
        self.extra_io.push(Arc::new(factory));
        self
    }

    /// Parses the process arguments and runs the command.
    pub fn run(self) -> ExitCode {
        self.run_with_args(std::env::args_os())
    }

    /// Parses `args` (program name first) and runs the command.
    pub fn run_with_args<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        // Help and errors name the user's binary, not this library.
        let name = args
            .first()
            .and_then(|a| std::path::Path::new(a).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "assetflow".into());
        let parsed = Cli::command()
            .name(name)
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m));
        let cli = match parsed {
            Ok(cli) => cli,
            Err(e) => {
                // clap prints help/version to stdout (exit 0) and errors to stderr (exit 2).
                let _ = e.print();
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE));
            }
        };
        progress::init_logging(cli.verbose, cli.quiet);
        match self
            .registry()
            .and_then(|r| commands::run(cli, r, self.extra_io))
        {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(if e.is_usage() {
                    EXIT_USAGE
                } else {
                    EXIT_ENVIRONMENT
                })
            }
        }
    }

    fn registry(&self) -> Result<Registry, Error> {
        let base = if self.use_inventory {
            Registry::from_inventory()?
        } else {
            Registry::default()
        };
        base.with(self.extra_assets.clone())
    }
}
