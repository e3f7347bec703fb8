//! [`AssetContext`]: what an asset function may know about its step.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::partition::{PartitionKey, TimeWindow};

/// The asset-partition being computed and the run it belongs to.
///
/// Take it as `ctx: &AssetContext` in an asset function; it is not a dependency.
#[derive(Debug, Clone)]
pub struct AssetContext {
    asset: Arc<str>,
    partition: Option<PartitionKey>,
    window_start: Option<NaiveDate>,
    window: Option<TimeWindow>,
    run_id: Arc<str>,
    code_version: Option<Arc<str>>,
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
            window: None,
            run_id,
            code_version: None,
        }
    }

    /// The same context for a time partition whose window is `window` (the
    /// materializer passes it; [`Self::partition_date`] becomes its local
    /// start day).
    pub fn with_window(mut self, window: Option<TimeWindow>) -> Self {
        if let Some(w) = &window {
            self.window_start = Some(w.local_start.date());
        }
        self.window = window;
        self
    }

    /// For a time partition, its window: start and end as instants and in
    /// the partitions' time zone (a daily window on a daylight-saving day
    /// lasts 23 or 25 hours).
    pub fn window(&self) -> Option<&TimeWindow> {
        self.window.as_ref()
    }

    /// For a time partition, the instant its window starts.
    pub fn window_start(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.window.as_ref().map(|w| w.start)
    }

    /// For a time partition, the instant its window ends (exclusive).
    pub fn window_end(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.window.as_ref().map(|w| w.end)
    }

    /// The same context for the asset's code version `version` (the
    /// materializer passes it; it is part of [`Self::idempotency_key`]).
    pub fn with_code_version(mut self, version: impl Into<Arc<str>>) -> Self {
        self.code_version = Some(version.into());
        self
    }

    /// The code version of the asset being computed, when known.
    pub fn code_version(&self) -> Option<&str> {
        self.code_version.as_deref()
    }

    /// A key for side effects that must happen once (a payment, an email, a
    /// row appended to an external system): pass it to the other system as
    /// its idempotency or deduplication key.
    ///
    /// It is a hash of the asset key, the partition and the code version: the
    /// same across retries of a step and reruns of the same asset-partition
    /// with the same code, different for another asset, partition or code
    /// version. It does not depend on the run.
    pub fn idempotency_key(&self) -> String {
        // Each part is length-prefixed so that ("ab", "c") and ("a", "bc")
        // differ; a missing partition or version differs from an empty one.
        let mut text = String::new();
        let mut part = |value: Option<&str>| match value {
            Some(v) => text.push_str(&format!("{}:{v};", v.len())),
            None => text.push_str("-;"),
        };
        part(Some(&self.asset));
        part(self.partition());
        part(self.code_version());
        format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
    }

    /// The asset key.
    pub fn asset_key(&self) -> &str {
        &self.asset
    }

    /// The partition key (`2024-01-01`), `None` for an unpartitioned asset.
    pub fn partition(&self) -> Option<&str> {
        self.partition.as_ref().map(PartitionKey::as_str)
    }

    /// For a time partition, the first day of its window (in the
    /// partitions' time zone).
    pub fn partition_date(&self) -> Option<NaiveDate> {
        self.window_start
    }

    /// The id of the current run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(asset: &str, partition: Option<&str>, version: &str, run: &str) -> AssetContext {
        AssetContext::new(
            asset,
            partition.map(|p| {
                crate::partition::PartitionsDef::daily("2024-01-01")
                    .and_then(|d| d.validate(asset, p))
                    .expect("a valid day")
            }),
            None,
            Arc::from(run),
        )
        .with_code_version(version)
    }

    #[test]
    fn idempotency_key_ignores_the_run_only() {
        let key = ctx("a", Some("2024-01-01"), "1", "r1").idempotency_key();
        assert_eq!(key.len(), 32);
        assert_eq!(
            key,
            ctx("a", Some("2024-01-01"), "1", "r2").idempotency_key()
        );
        for other in [
            ctx("b", Some("2024-01-01"), "1", "r1"),
            ctx("a", Some("2024-01-02"), "1", "r1"),
            ctx("a", None, "1", "r1"),
            ctx("a", Some("2024-01-01"), "2", "r1"),
        ] {
            assert_ne!(key, other.idempotency_key(), "{other:?}");
        }
    }
}
