//! Small structured values (model parameters, metrics) as JSON documents.
//!
//! Layout under the storage root, one Hive folder level per partition
//! dimension, and the provenance records in a tree of their own (a JSON
//! document has no footer to hold them, and wrapping the document would
//! change what users read):
//!
//! ```text
//! <root>/<asset>/day=2024-01-01/part-0.json
//! <root>/<asset>/part-0.json                                  (unpartitioned assets)
//! <root>/_provenance/<asset>/day=2024-01-01/provenance.json
//! ```
//!
//! The record's data version is the hash of the document's text, so a
//! reader can check that a record describes the document beside it. Files
//! of the previous layout (`<asset>/<key>/data.json`) are read when the new
//! one is missing.
//!
//! Documents are pretty-printed with object keys sorted, so the same value
//! always gives the same bytes (diffable, and stable under reruns whatever
//! serde_json's map order), and published with one atomic PUT.

use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::path::Path;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::io_manager::{IoManager, StoreReceipt};
use crate::location::Location;
use crate::payload::{Payload, PayloadKind};
use crate::root::StorageRoot;

/// Stores [`Payload::Document`]s as JSON files under a [`StorageRoot`].
#[derive(Debug, Clone)]
pub struct JsonIoManager {
    name: String,
    root: StorageRoot,
}

impl JsonIoManager {
    /// The file name of the document in each asset-partition folder.
    pub const DATA_FILE_NAME: &'static str = "part-0.json";

    /// The file name the previous release used (`<asset>/<key>/data.json`).
    pub const LEGACY_DATA_FILE_NAME: &'static str = "data.json";

    /// A JSON IO manager named `"json"`.
    pub fn new(root: StorageRoot) -> Self {
        Self {
            name: "json".to_owned(),
            root,
        }
    }

    /// Registers this IO manager under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The storage root.
    pub fn root(&self) -> &StorageRoot {
        &self.root
    }

    /// The store path of the document of `location`.
    pub fn data_path(&self, location: &Location) -> Path {
        self.root.path_for(location, Self::DATA_FILE_NAME)
    }

    /// The store path of the provenance record of `location`.
    pub fn provenance_path(&self, location: &Location) -> Path {
        self.root.provenance_path(location)
    }
}

/// `value` with the keys of every object in sorted order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The canonical text of a document: pretty-printed, sorted keys, final newline.
fn render(value: &Value) -> serde_json::Result<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(&sorted(value))?;
    text.push(b'\n');
    Ok(text)
}

impl IoManager for JsonIoManager {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> PayloadKind {
        PayloadKind::Document
    }

    fn uri(&self, location: &Location) -> String {
        self.root.uri(&self.data_path(location))
    }

    fn store<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        Box::pin(async move {
            let path = self.data_path(location);
            let uri = self.root.uri(&path);
            let Payload::Document(value) = payload else {
                return Err(Error::WrongPayload {
                    uri,
                    manager: self.name.clone(),
                    expected: PayloadKind::Document.name(),
                    got: payload.kind().name(),
                });
            };
            let text = render(value).map_err(|source| Error::Json {
                uri: uri.clone(),
                source,
            })?;
            let bytes = self.root.put(&path, Bytes::from(text)).await?;
            self.root
                .remove_legacy_local(location, Self::LEGACY_DATA_FILE_NAME)?;
            Ok(StoreReceipt {
                uri,
                rows: 1,
                bytes,
            })
        })
    }

    fn load<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<Payload>> {
        Box::pin(async move {
            let mut path = self.data_path(location);
            let mut text = self.root.get_opt(&path).await?;
            if text.is_none() {
                // A root written by the previous release, until migrated.
                let legacy = self
                    .root
                    .legacy_path_for(location, Self::LEGACY_DATA_FILE_NAME);
                text = self.root.get_opt(&legacy).await?;
                if text.is_some() {
                    path = legacy;
                }
            }
            let Some(text) = text else {
                return Err(Error::NotFound {
                    uri: self.root.uri(&self.data_path(location)),
                });
            };
            let value = serde_json::from_slice(&text).map_err(|source| Error::Json {
                uri: self.root.uri(&path),
                source,
            })?;
            Ok(Payload::Document(value))
        })
    }

    /// One HEAD (two for a value still in the previous layout): the
    /// document is not read.
    fn exists<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            Ok(self.root.exists(&self.data_path(location)).await?
                || self
                    .root
                    .exists(
                        &self
                            .root
                            .legacy_path_for(location, Self::LEGACY_DATA_FILE_NAME),
                    )
                    .await?)
        })
    }

    /// One HEAD with the file's size (two for a value still in the
    /// previous layout).
    fn published<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<crate::Published>> {
        Box::pin(self.root.published_or_legacy(
            location,
            Self::DATA_FILE_NAME,
            Self::LEGACY_DATA_FILE_NAME,
        ))
    }

    fn store_sidecar<'a>(
        &'a self,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.root.put_sidecar(location, sidecar))
    }

    fn load_sidecar<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(self.root.get_sidecar(location))
    }

    fn files(&self) -> Option<(&StorageRoot, &str)> {
        Some((&self.root, Self::DATA_FILE_NAME))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::TableData;
    use arrow_schema::Schema;
    use serde_json::json;
    use std::sync::Arc;

    fn manager(dir: &std::path::Path) -> JsonIoManager {
        JsonIoManager::new(StorageRoot::local(dir).expect("root"))
    }

    fn files_in(dir: &std::path::Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn document_round_trips_at_its_deterministic_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("model", Some("2024-01-01")).expect("valid");
        let doc = json!({"auc": 0.71, "weights": [1.5, -2, null], "name": "m", "nested": {"b": 1, "a": true}});
        let receipt = io
            .store(&loc, &Payload::Document(doc.clone()))
            .await
            .expect("store");
        assert_eq!(receipt.rows, 1);
        let file = tmp.path().join("model/partition=2024-01-01/part-0.json");
        assert_eq!(receipt.bytes, std::fs::metadata(&file).expect("file").len());
        assert!(
            receipt
                .uri
                .ends_with("model/partition=2024-01-01/part-0.json"),
            "{}",
            receipt.uri
        );
        match io.load(&loc).await.expect("load") {
            Payload::Document(loaded) => assert_eq!(loaded, doc),
            other => panic!("expected a document, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn file_is_pretty_with_sorted_keys() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", None).expect("valid");
        let doc = json!({"zeta": 1, "alpha": {"y": 2, "x": 3}});
        io.store(&loc, &Payload::Document(doc))
            .await
            .expect("store");
        let text = std::fs::read_to_string(tmp.path().join("metrics/part-0.json")).expect("read");
        assert_eq!(
            text,
            "{\n  \"alpha\": {\n    \"x\": 3,\n    \"y\": 2\n  },\n  \"zeta\": 1\n}\n"
        );
    }

    #[tokio::test]
    async fn overwrite_is_idempotent_and_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", Some("eu")).expect("valid");
        io.store(&loc, &Payload::Document(json!({"v": 1})))
            .await
            .expect("store");
        io.store(&loc, &Payload::Document(json!({"v": 2})))
            .await
            .expect("store again");
        assert_eq!(
            files_in(&tmp.path().join("metrics/partition=eu")),
            ["part-0.json"]
        );
        match io.load(&loc).await.expect("load") {
            Payload::Document(v) => assert_eq!(v, json!({"v": 2})),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn missing_document_is_not_found() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", Some("2024-02-02")).expect("valid");
        let err = io.load(&loc).await.expect_err("must fail");
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("metrics/partition=2024-02-02/part-0.json"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn corrupt_document_is_a_json_error_naming_the_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", None).expect("valid");
        std::fs::create_dir_all(tmp.path().join("metrics")).expect("mkdir");
        std::fs::write(tmp.path().join("metrics/part-0.json"), b"{\"a\": ").expect("write");
        let err = io.load(&loc).await.expect_err("must fail");
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
        assert!(err.to_string().contains("metrics/part-0.json"), "{err}");
    }

    #[tokio::test]
    async fn tables_and_nothing_are_refused() {
        let io = JsonIoManager::new(StorageRoot::memory());
        let loc = Location::new("metrics", None).expect("valid");
        let table = Payload::Table(TableData::new(Arc::new(Schema::empty()), vec![]));
        for payload in [table, Payload::Nothing] {
            let err = io.store(&loc, &payload).await.expect_err("must fail");
            assert!(matches!(err, Error::WrongPayload { .. }), "{err:?}");
            assert!(err.to_string().contains("\"json\""), "{err}");
        }
    }

    #[tokio::test]
    async fn the_record_is_kept_in_the_provenance_tree_not_beside_the_document() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", Some("2024-01-01")).expect("valid");
        assert_eq!(io.load_sidecar(&loc).await.expect("load"), None);
        io.store_sidecar(&loc, b"{\"run\": 1}")
            .await
            .expect("store");
        assert_eq!(
            io.load_sidecar(&loc).await.expect("load"),
            Some(b"{\"run\": 1}".to_vec())
        );
        assert_eq!(
            files_in(&tmp.path().join("_provenance/metrics/partition=2024-01-01")),
            ["provenance.json"]
        );
        assert!(
            !tmp.path().join("metrics").exists(),
            "the dataset folder has no records"
        );
    }

    #[tokio::test]
    async fn a_document_and_record_of_the_previous_layout_are_read_and_replaced() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", Some("2024-01-01"))
            .and_then(|l| l.with_dimensions(Arc::from([Arc::from("day")])))
            .expect("valid");
        let old = tmp.path().join("metrics/2024-01-01");
        std::fs::create_dir_all(&old).expect("mkdir");
        std::fs::write(old.join("data.json"), b"{\"v\": 1}").expect("write");
        std::fs::write(old.join("_provenance.json"), b"{\"run\": 1}").expect("write");
        assert!(io.exists(&loc).await.expect("exists"));
        match io.load(&loc).await.expect("load") {
            Payload::Document(v) => assert_eq!(v, json!({"v": 1})),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            io.load_sidecar(&loc).await.expect("load"),
            Some(b"{\"run\": 1}".to_vec())
        );
        io.publish(&loc, &Payload::Document(json!({"v": 2})), b"{\"run\": 2}")
            .await
            .expect("publish");
        assert!(!old.exists(), "the old folder is gone once rewritten");
        assert_eq!(
            files_in(&tmp.path().join("metrics/day=2024-01-01")),
            ["part-0.json"]
        );
        assert_eq!(
            io.load_sidecar(&loc).await.expect("load"),
            Some(b"{\"run\": 2}".to_vec())
        );
    }

    #[tokio::test]
    async fn exists_once_stored_not_with_only_a_sidecar() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let io = manager(tmp.path());
        let loc = Location::new("metrics", None).expect("valid");
        io.store_sidecar(&loc, b"{}").await.expect("sidecar");
        assert!(!io.exists(&loc).await.expect("exists"));
        io.store(&loc, &Payload::Document(json!({"auc": 0.9})))
            .await
            .expect("store");
        assert!(io.exists(&loc).await.expect("exists"));
    }

    #[tokio::test]
    async fn works_on_a_memory_root() {
        let io = JsonIoManager::new(StorageRoot::parse("memory://").expect("root"));
        let loc = Location::new("metrics", None).expect("valid");
        io.store(&loc, &Payload::Document(json!([1, 2])))
            .await
            .expect("store");
        assert_eq!(io.uri(&loc), "memory://metrics/part-0.json");
        assert!(matches!(io.load(&loc).await, Ok(Payload::Document(_))));
    }
}
