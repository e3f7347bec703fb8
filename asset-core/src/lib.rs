//! Asset-centric data pipelines for Rust.
//!
//! Annotate plain functions with [`#[asset]`](macro@asset); the dependency graph is
//! read off their parameter types, values are persisted by IO managers
//! (partitioned Parquet by default) and the materializer runs what is stale in
//! dependency order, in parallel where the graph allows.
//!
//! ```no_run
//! use asset_core::prelude::*;
//!
//! /// Raw numbers, one partition per day.
//! #[derive(Table)]
//! pub struct Numbers(Vec<Number>);
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! pub struct Number { pub n: i64 }
//!
//! #[asset(partitions = daily("2024-01-01"))]
//! fn numbers(ctx: &AssetContext) -> Result<Numbers> {
//!     Ok(Numbers(vec![Number { n: ctx.partition().map_or(0, |p| p.len() as i64) }]))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     asset_core::cli::main()
//! }
//! ```

// Lets this crate's own tests use the macros, which expand to `::asset_core::...`.
extern crate self as asset_core;

pub mod alert;
pub mod asset;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod error;
pub mod freshness;
pub mod graph;
pub mod materialize;
pub mod openlineage;
pub mod partition;
pub mod provenance;
pub mod retry;
pub mod schedule;
pub mod site;
pub mod staleness;
pub mod stored_value;
pub mod testing;
pub mod value;

/// IO managers and their building blocks (re-exported from `io-managers`).
pub mod io {
    pub use io_managers::*;
}

pub use asset::context::AssetContext;
pub use asset::definition::{
    AssetDef, Dependency, Input, PartitionMapping, SourceLocation, StepInput,
};
pub use asset::mapping::{All, Latest, Partitioned, PartitionedValues, Prev, Window};
pub use asset::param::{Asset, AssetParam, ConfigValue, LoadContext, ParamSpecs};
pub use asset::registry::Registry;
pub use asset_macros::{Table, asset, asset_check, versioned};
pub use check::{AssetCheck, CheckOutcome, CheckSeverity, DataContract};
pub use config::{Config, ConfigError, ConfigFile, ConfigSection};
pub use error::{AssetError, Error};
pub use partition::{PartitionKey, PartitionsDef};
pub use retry::{Jitter, RetryPolicy};
pub use schedule::{Automation, Schedule, Severity, Unattended};
pub use value::Table;

/// `Result` for asset functions: any error converts into [`AssetError`] with `?`.
pub type Result<T, E = AssetError> = std::result::Result<T, E>;

/// Everything an asset module needs: `use asset_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        All, Asset, AssetContext, AssetError, AssetParam, Config, Latest, Prev, Result, Table,
        Window, arrow_array::RecordBatch, asset, versioned,
    };
    pub use crate::{CheckOutcome, DataContract, asset_check};
}

pub use arrow_array;
pub use arrow_schema;
pub use chrono;

/// Support for generated code. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::asset::codec::{Codec, JsonCodec, NothingCodec, TableCodec};
    pub use crate::asset::definition::{
        AssetDef, ComputeFn, Dependency, Input, PartitionMapping, SourceLocation, StepInput,
        Versioned, code_version_with_helpers, helper_version,
    };
    pub use crate::asset::param::{
        Asset, AssetParam, ConfigParam, ConfigValue, LoadContext, ParamSpecs, config_param,
    };
    pub use crate::asset::registry::AssetRegistration;
    pub use crate::asset::run::{into_asset_result, run_blocking};
    pub use crate::catalog::CheckSeverity;
    pub use crate::check::{
        AssetChecks, CheckOutcome, CheckRegistration, DataContract, IntoCheckOutcome,
    };
    pub use crate::config::Config;
    pub use crate::error::AssetError;
    pub use crate::partition::PartitionsDef;
    pub use crate::retry::{Jitter, RetryPolicy};
    pub use crate::schedule::{Automation, Cron, Schedule, Severity, Unattended};
    pub use crate::value::rows::{rows_from_table, rows_into_table, traced_row_fields};
    pub use crate::value::{
        batch_from_table, batch_into_table, batches_from_table, batches_into_table,
    };
    pub use crate::{AssetContext, Table};
    pub use futures::future::BoxFuture;
    pub use inventory;
    pub use io_managers::{Payload, PayloadKind, TableData};
    pub use std::boxed::Box;
    pub use std::string::String;
    pub use std::time::Duration;
    pub use std::vec::Vec;
}

/// The book's chapters, compiled and run as doctests so the guide cannot rot.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../book/src/getting-started.md")]
    struct GettingStarted;
    #[doc = include_str!("../../book/src/assets.md")]
    struct Assets;
    #[doc = include_str!("../../book/src/materializing.md")]
    struct Materializing;
    #[doc = include_str!("../../book/src/storage.md")]
    struct Storage;
    #[doc = include_str!("../../book/src/testing.md")]
    struct Testing;
    #[doc = include_str!("../../book/src/partitions.md")]
    struct Partitions;
    #[doc = include_str!("../../book/src/checks.md")]
    struct Checks;
    #[doc = include_str!("../../book/src/unattended.md")]
    struct Unattended;
    #[doc = include_str!("../../book/src/seeing.md")]
    struct Seeing;
}
