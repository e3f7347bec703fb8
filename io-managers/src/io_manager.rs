//! The IO manager trait.

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use arrow_array::RecordBatch;

use crate::error::Result;
use crate::location::Location;
use crate::payload::{Payload, PayloadKind};

/// What a store wrote, for the run summary and provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreReceipt {
    /// Where the value was published (a URI a user can open).
    pub uri: String,
    /// Rows written (1 for a document).
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// What is published at a location, as far as a metadata lookup tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// No value: never stored, or its file was removed since.
    Nothing,
    /// A value, of this many bytes if the store keeps one object per value.
    Value {
        /// The object's size (`None` when the IO manager cannot say cheaply).
        bytes: Option<u64>,
    },
}

/// Persists and loads the values of asset-partitions.
///
/// Contract every implementation keeps:
/// - one deterministic place per [`Location`];
/// - [`store`](IoManager::store) is atomic: a reader sees the old value or the
///   new one, never a partial one, and a crash leaves nothing at the published
///   place that was not there before;
/// - storing the same location again replaces the value (idempotent reruns);
/// - a provenance record is kept with each value: inside it where the format
///   has room (the Parquet footer), so that value and record are one object
///   published at once, else in a tree of its own
///   ([`store_sidecar`](IoManager::store_sidecar)).
pub trait IoManager: Send + Sync + 'static {
    /// The name assets use to pick this IO manager (`#[asset(io = "...")]`).
    fn name(&self) -> &str;

    /// The payload kind this IO manager stores.
    fn kind(&self) -> PayloadKind;

    /// Where `location` is published, for messages and provenance.
    fn uri(&self, location: &Location) -> String;

    /// Publishes `payload` at `location`, atomically.
    fn store<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
    ) -> BoxFuture<'a, Result<StoreReceipt>>;

    /// Publishes `payload` at `location` together with its provenance
    /// record `provenance` (a JSON document), atomically, and returns what
    /// was written. This is how the engine publishes every value.
    ///
    /// The default stores the value, then the record with
    /// [`store_sidecar`](IoManager::store_sidecar): two objects, each
    /// atomic. The Parquet IO manager overrides it to write one object, the
    /// record in the file's footer, so a reader can never pair the data
    /// with another value's record. A wrapper around another IO manager
    /// should forward this method, to keep that.
    fn publish<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
        provenance: &'a [u8],
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        Box::pin(async move {
            let receipt = self.store(location, payload).await?;
            self.store_sidecar(location, provenance).await?;
            Ok(receipt)
        })
    }

    /// Loads the whole value at `location`.
    fn load<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<Payload>>;

    /// Whether a value is published at `location`. The default loads it;
    /// stores override it with a cheap metadata lookup.
    fn exists<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            match self.load(location).await {
                Ok(_) => Ok(true),
                Err(crate::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// What is published at `location` and its size: one metadata lookup
    /// (a HEAD, a `stat`), nothing read. It is how a record's value is
    /// checked to still be there, unchanged in size. The default asks
    /// [`exists`](IoManager::exists) and knows no size.
    fn published<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<Published>> {
        Box::pin(async move {
            Ok(if self.exists(location).await? {
                Published::Value { bytes: None }
            } else {
                Published::Nothing
            })
        })
    }

    /// Streams a table's record batches without holding the whole table in
    /// memory. The default loads everything; table stores override it.
    fn load_batches<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<BoxStream<'a, Result<RecordBatch>>>> {
        Box::pin(async move {
            let batches = match self.load(location).await? {
                Payload::Table(t) => t.batches,
                _ => Vec::new(),
            };
            let stream: BoxStream<'a, Result<RecordBatch>> =
                Box::pin(futures::stream::iter(batches.into_iter().map(Ok)));
            Ok(stream)
        })
    }

    /// Writes the provenance record of `location` where it is kept apart
    /// from the value (the storage root's `_provenance/` tree for the
    /// built-in IO managers), atomically. Used for values that have no room
    /// for it (documents, unit assets) and by the default
    /// [`publish`](IoManager::publish).
    fn store_sidecar<'a>(
        &'a self,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<()>>;

    /// Reads the provenance record of `location`, wherever this IO manager
    /// keeps it (a Parquet footer, the provenance tree, or the previous
    /// release's sidecar), `None` if there is none.
    fn load_sidecar<'a>(&'a self, location: &'a Location)
    -> BoxFuture<'a, Result<Option<Vec<u8>>>>;

    /// Where the IO manager keeps its files, if it keeps one data file per
    /// asset-partition under a [`StorageRoot`](crate::StorageRoot): the root
    /// and that file's name (`part-0.parquet`). Through it the sweep of staged
    /// uploads and the promotion of tagged values work the same for every
    /// such IO manager. `None` (the default): neither applies.
    fn files(&self) -> Option<(&crate::StorageRoot, &str)> {
        None
    }

    /// Removes what a killed process left half-written in the place of
    /// `location` (staged uploads) if untouched for `older_than`; returns
    /// how many were removed. Readers never see those files; this only
    /// reclaims their space. Pass zero only when no other process can be
    /// writing `location` (the caller holds its lease). Without
    /// [`files`](IoManager::files) there is nothing to sweep.
    fn sweep_staged<'a>(
        &'a self,
        location: &'a Location,
        older_than: std::time::Duration,
    ) -> BoxFuture<'a, Result<usize>> {
        match self.files() {
            Some((root, _)) => Box::pin(root.sweep_staged_uploads_async(location, older_than)),
            None => Box::pin(async { Ok(0) }),
        }
    }

    /// Promotes the value of `location` in the tagged namespace `tag`
    /// (written by a `--tag` run, see
    /// [`StorageRoot::with_tag`](crate::StorageRoot::with_tag)) into
    /// production: the data is published at the production place with the
    /// same atomic write as [`store`](IoManager::store) (a reader sees the
    /// old value or the promoted one), then `sidecar` (the production
    /// provenance record) beside it. Returns what was published. The tagged
    /// copy stays until the tag is deleted.
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) names the tagged file if
    /// the tag has no value there. Without [`files`](IoManager::files) it
    /// is refused: the IO manager keeps no tagged namespaces.
    fn promote_from_tag<'a>(
        &'a self,
        tag: &'a str,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        if let Some((root, data_file)) = self.files() {
            return Box::pin(root.promote_from_tag(tag, location, data_file, sidecar));
        }
        Box::pin(async move {
            Err(crate::Error::Other {
                uri: self.uri(location),
                message: format!(
                    "IO manager {:?} keeps no tagged values to promote",
                    self.name()
                ),
            })
        })
    }
}
