//! IO managers: where asset values live between steps.
//!
//! An IO manager persists the [`Payload`] an asset produced for one
//! asset-partition ([`Location`]) and loads it back for downstream steps.
//! Every location is deterministic (derived from the asset key, the partition
//! key and the namespace, never from time or random ids), every write is
//! atomic, and writing the same location again overwrites it, so reruns and
//! retries are idempotent.
//!
//! Implementations:
//! - [`ParquetIoManager`]: tables as Parquet files on an [`object_store`]
//!   (local disk by default, cloud stores behind cargo features);
//! - [`JsonIoManager`]: small serde values (model parameters, metrics) as JSON;
//! - [`MemoryIoManager`]: values kept in memory, for tests and benchmarks.
//!
//! The [`IoManager`] trait lives here rather than in `asset-core` so that the
//! engine can depend on its default implementations without a cycle.

mod blocking;
mod containment;
mod data_version;
mod error;
pub mod failpoint;
mod io_manager;
mod json;
mod location;
mod memory;
mod parquet;
mod payload;
mod root;
mod tag;

pub use data_version::{DataVersion, data_version_of};
pub use error::{Error, Result};
pub use io_manager::{IoManager, Published, StoreReceipt};
pub use json::JsonIoManager;
pub use location::{
    DEFAULT_DIMENSION, DIMENSION_SEPARATOR, HIVE_SEPARATOR, Location, parse_hive_segment,
    validate_dimension_name, validate_key, validate_partition_value,
};
pub use memory::MemoryIoManager;
pub use parquet::{PROVENANCE_KEY, ParquetIoManager, ParquetOptions};
pub use payload::{Payload, PayloadKind, TableData};
pub use root::StorageRoot;
pub use tag::{MAX_TAG_LEN, validate_tag};
