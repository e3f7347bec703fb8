//! Is the value a record describes still stored as it was written?
//!
//! A materialization record says what was built; the file says what is
//! there. Someone may have deleted the file, an upload may have been cut
//! short, a disk may have damaged it. What is cheap is checked always: that
//! a value is published and has the byte size recorded (one `stat` or HEAD,
//! or one listing per asset for a range). Rehashing every value against its
//! recorded data version reads it all, so it is asked for with `--verify`.
//!
//! [`reason`] is the one rule; `status`, `why` and the materializer's
//! decision to skip a step all apply it, so they cannot disagree.

use std::collections::HashMap;
use std::sync::Arc;

use io_managers::{IoManager, Location, PayloadKind, Published, data_version_of};
use object_store::path::Path;

use crate::graph::AssetGraph;
use crate::materialize::IoManagers;
use crate::materialize::record::MaterializationRecord;
use crate::staleness::Reason;

/// Why the value of `record`, found `published`, is not the value recorded;
/// `None` if it is (as far as a size tells). A size is only compared when
/// both sides know one (in-memory stores record none).
pub fn reason(record: &MaterializationRecord, published: Published) -> Option<Reason> {
    match published {
        Published::Nothing => Some(Reason::StoredValueMissing),
        Published::Value { bytes: Some(found) } if record.bytes > 0 && found != record.bytes => {
            Some(Reason::StoredValueResized {
                expected: record.bytes,
                found,
            })
        }
        Published::Value { .. } => None,
    }
}

/// Reads the value of `record` back and compares its data version with the
/// recorded one (`--verify`).
pub async fn rehash(
    io: &dyn IoManager,
    location: &Location,
    record: &MaterializationRecord,
) -> Option<Reason> {
    let payload = match io.load(location).await {
        Ok(payload) => payload,
        Err(io_managers::Error::NotFound { .. }) => return Some(Reason::StoredValueMissing),
        Err(e) if e.is_damaged() => {
            return Some(Reason::StoredValueDamaged {
                error: e.to_string(),
            });
        }
        Err(e) => {
            return Some(Reason::StoredValueUnreadable {
                error: e.to_string(),
            });
        }
    };
    match data_version_of(&payload) {
        Ok(found) if found.to_string() == record.data_version => None,
        Ok(found) => Some(Reason::StoredValueRehashed {
            expected: record.data_version.clone(),
            found: found.to_string(),
        }),
        Err(e) => Some(Reason::StoredValueUnreadable {
            error: format!("cannot hash it: {e}"),
        }),
    }
}

/// The stored values of some assets, looked up for many records at once:
/// an IO manager that keeps one file per asset-partition under a storage
/// root is listed once per asset; others are asked per record.
pub struct StoredValues<'a> {
    graph: &'a AssetGraph,
    io: &'a IoManagers,
    /// Per asset index: the sizes of the files under its folder, by path.
    listings: HashMap<usize, HashMap<Path, u64>>,
    verify: bool,
    runtime: tokio::runtime::Runtime,
}

impl<'a> StoredValues<'a> {
    /// Lists the folders of `assets` (indexes into `graph`). With `verify`,
    /// [`reason`](Self::reason) also rehashes each value.
    pub fn new(
        graph: &'a AssetGraph,
        io: &'a IoManagers,
        assets: &[usize],
        verify: bool,
    ) -> Result<Self, crate::Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::Error::Internal(format!("cannot start the async runtime: {e}")))?;
        let mut listings = HashMap::new();
        for &i in assets {
            let def = graph.asset(i);
            if def.payload_kind == PayloadKind::Nothing {
                continue;
            }
            let Some((root, _)) = io.get(&def.io_manager).and_then(|io| io.files()) else {
                continue;
            };
            let sizes = runtime.block_on(root.published_sizes(&def.key))?;
            listings.insert(i, sizes);
        }
        Ok(Self {
            graph,
            io,
            listings,
            verify,
            runtime,
        })
    }

    /// Why the value `record` of asset `i` describes is not stored as
    /// written; `None` if it is.
    pub fn reason(&self, i: usize, record: &MaterializationRecord) -> Option<Reason> {
        let def = self.graph.asset(i);
        if def.payload_kind == PayloadKind::Nothing {
            return None;
        }
        let unreadable = |error: String| Some(Reason::StoredValueUnreadable { error });
        let Some(io) = self.io.get(&def.io_manager) else {
            return unreadable(format!("IO manager {:?} is not registered", def.io_manager));
        };
        let location = match def.location(record.partition.as_deref()) {
            Ok(location) => location,
            Err(e) => return unreadable(e.to_string()),
        };
        let published = match (self.listings.get(&i), io.files()) {
            (Some(sizes), Some((root, file)))
                if let Some(&bytes) = sizes.get(&root.path_for(&location, file)) =>
            {
                Published::Value { bytes: Some(bytes) }
            }
            // Not listed where this release puts it: the IO manager knows
            // the other places (a value still in the previous layout).
            _ => match self.runtime.block_on(io.published(&location)) {
                Ok(published) => published,
                Err(e) => return unreadable(e.to_string()),
            },
        };
        if let Some(reason) = reason(record, published) {
            return Some(reason);
        }
        if self.verify {
            let io: Arc<dyn IoManager> = io.clone();
            return self
                .runtime
                .block_on(async move { rehash(io.as_ref(), &location, record).await });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bytes: u64) -> MaterializationRecord {
        MaterializationRecord {
            asset: "events".into(),
            partition: Some("2024-01-01".into()),
            run_id: "r".into(),
            code_version: "c".into(),
            data_version: "d".into(),
            inputs: Vec::new(),
            uri: "file:///x".into(),
            rows: 1,
            bytes,
            started_at: String::new(),
            finished_at: String::new(),
            framework_version: String::new(),
            config_hash: None,
            git_commit: String::new(),
            schema: None,
            tag: None,
            promoted_from: None,
        }
    }

    #[test]
    fn a_missing_value_is_missing() {
        assert_eq!(
            reason(&record(10), Published::Nothing),
            Some(Reason::StoredValueMissing)
        );
    }

    #[test]
    fn another_size_is_a_damaged_value_with_both_sizes() {
        let found = reason(&record(10), Published::Value { bytes: Some(7) }).expect("stale");
        assert_eq!(
            found.to_string(),
            "stored value changed or damaged (expected 10 bytes, found 7)"
        );
    }

    #[test]
    fn the_same_size_or_an_unknown_one_is_fine() {
        assert_eq!(
            reason(&record(10), Published::Value { bytes: Some(10) }),
            None
        );
        assert_eq!(reason(&record(10), Published::Value { bytes: None }), None);
        assert_eq!(
            reason(&record(0), Published::Value { bytes: Some(3) }),
            None
        );
    }
}
