//! [`AssetContext`]: what an asset function may know about its step.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::partition::PartitionKey;

/// The asset-partition being computed and the run it belongs to.
///
/// Take it as `ctx: &AssetContext` in an asset function; it is not a dependency.
#[derive(Debug, Clone)]
pub struct AssetContext {
    asset: Arc<str>,
    partition: Option<PartitionKey>,
    window_start: Option<NaiveDate>,
    run_id: Arc<str>,
}

impl AssetContext {
    /// A context for `asset` (and `partition`) in run `run_id`.
    pub fn new(
        asset: &str,
        partition: Option<PartitionKey>,
        window_start: Option<NaiveDate>,
        run_id: Arc<str>,
    ) -> Self {
        Self {
            asset: Arc::from(asset),
            partition,
            window_start,
            run_id,
        }
    }

    /// The asset key.
    pub fn asset_key(&self) -> &str {
        &self.asset
    }

    /// The partition key (`2024-01-01`), `None` for an unpartitioned asset.
    pub fn partition(&self) -> Option<&str> {
        self.partition.as_ref().map(PartitionKey::as_str)
    }

    /// For a time partition, the first day of its window.
    pub fn partition_date(&self) -> Option<NaiveDate> {
        self.window_start
    }

    /// The id of the current run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}
