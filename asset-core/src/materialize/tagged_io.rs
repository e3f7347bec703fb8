//! Tagged namespaces (`materialize --tag NAME`): writes go to the tag, reads
//! fall back to production.
//!
//! A backfill into a tag recomputes some assets; the assets it does not
//! recompute are read from production as they are. So every write (data and
//! sidecar) lands under the tag's root, where production readers never look,
//! and every read prefers the tag's copy and falls back to production's.

use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use io_managers::{IoManager, Location, Payload, PayloadKind, Result, StoreReceipt};

/// An IO manager writing into a tagged namespace and reading through it to
/// production.
pub struct TaggedIoManager {
    tagged: Arc<dyn IoManager>,
    production: Arc<dyn IoManager>,
}

impl TaggedIoManager {
    /// Writes through `tagged`; reads from `tagged` when it has the value,
    /// else from `production` (the same IO manager on the production root).
    pub fn new(tagged: Arc<dyn IoManager>, production: Arc<dyn IoManager>) -> Self {
        Self { tagged, production }
    }

    /// The IO manager holding `location`: the tag's if it has it.
    async fn holder(&self, location: &Location) -> Result<&Arc<dyn IoManager>> {
        Ok(if self.tagged.exists(location).await? {
            &self.tagged
        } else {
            &self.production
        })
    }
}

impl IoManager for TaggedIoManager {
    fn name(&self) -> &str {
        self.tagged.name()
    }

    fn kind(&self) -> PayloadKind {
        self.tagged.kind()
    }

    fn uri(&self, location: &Location) -> String {
        self.tagged.uri(location)
    }

    fn store<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        self.tagged.store(location, payload)
    }

    fn publish<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
        provenance: &'a [u8],
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        self.tagged.publish(location, payload, provenance)
    }

    fn load<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<Payload>> {
        Box::pin(async move { self.holder(location).await?.load(location).await })
    }

    fn exists<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            Ok(self.tagged.exists(location).await? || self.production.exists(location).await?)
        })
    }

    fn published<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<io_managers::Published>> {
        Box::pin(async move {
            match self.tagged.published(location).await? {
                io_managers::Published::Nothing => self.production.published(location).await,
                value => Ok(value),
            }
        })
    }

    fn load_batches<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<BoxStream<'a, Result<RecordBatch>>>> {
        Box::pin(async move { self.holder(location).await?.load_batches(location).await })
    }

    fn store_sidecar<'a>(
        &'a self,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<()>> {
        self.tagged.store_sidecar(location, sidecar)
    }

    fn sweep_staged<'a>(
        &'a self,
        location: &'a Location,
        older_than: std::time::Duration,
    ) -> BoxFuture<'a, Result<usize>> {
        // A tagged run writes only under the tag.
        self.tagged.sweep_staged(location, older_than)
    }

    fn load_sidecar<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            match self.tagged.load_sidecar(location).await? {
                Some(bytes) => Ok(Some(bytes)),
                None => self.production.load_sidecar(location).await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_managers::{JsonIoManager, StorageRoot};

    fn doc(n: i64) -> Payload {
        Payload::Document(serde_json::json!({ "n": n }))
    }

    fn n(payload: Payload) -> i64 {
        match payload {
            Payload::Document(v) => v["n"].as_i64().unwrap_or(-1),
            _ => -1,
        }
    }

    #[tokio::test]
    async fn writes_go_to_the_tag_and_reads_fall_back_to_production() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = StorageRoot::local(dir.path()).expect("root");
        let production: Arc<dyn IoManager> = Arc::new(JsonIoManager::new(root.clone()));
        let tagged: Arc<dyn IoManager> =
            Arc::new(JsonIoManager::new(root.with_tag("backfill").expect("tag")));
        let io = TaggedIoManager::new(tagged.clone(), production.clone());
        let old = Location::new("old", None).expect("key");
        let new = Location::new("new", None).expect("key");
        production.store(&old, &doc(1)).await.expect("store");
        production.store(&new, &doc(2)).await.expect("store");
        io.store(&new, &doc(3)).await.expect("store");
        // Production never sees the tag's write.
        assert_eq!(n(production.load(&new).await.expect("load")), 2);
        assert_eq!(n(io.load(&new).await.expect("load")), 3);
        assert_eq!(n(io.load(&old).await.expect("load")), 1);
        assert!(!tagged.exists(&old).await.expect("exists"));
    }
}
