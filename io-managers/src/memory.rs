//! An IO manager that keeps values in memory: for tests and benchmarks that
//! measure the framework without storage.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::io_manager::{IoManager, StoreReceipt};
use crate::location::Location;
use crate::payload::{Payload, PayloadKind};

/// Keeps every stored payload and sidecar in a map. Cloning a table payload is
/// cheap (Arrow buffers are reference-counted), so loads copy no data.
#[derive(Debug)]
pub struct MemoryIoManager {
    name: String,
    kind: PayloadKind,
    values: Mutex<HashMap<Location, Payload>>,
    sidecars: Mutex<HashMap<Location, Vec<u8>>>,
}

impl MemoryIoManager {
    /// An empty in-memory IO manager registered under `name`, storing `kind` payloads.
    pub fn new(name: impl Into<String>, kind: PayloadKind) -> Self {
        Self {
            name: name.into(),
            kind,
            values: Mutex::default(),
            sidecars: Mutex::default(),
        }
    }
}

impl IoManager for MemoryIoManager {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> PayloadKind {
        self.kind
    }

    fn uri(&self, location: &Location) -> String {
        let mut uri = format!("memory://{}", self.name);
        for s in location.segments() {
            uri.push('/');
            uri.push_str(&s);
        }
        uri
    }

    fn store<'a>(
        &'a self,
        location: &'a Location,
        payload: &'a Payload,
    ) -> BoxFuture<'a, Result<StoreReceipt>> {
        Box::pin(async move {
            let rows = payload.num_rows();
            let mut values = self.values.lock().map_err(|_| poisoned(self, location))?;
            values.insert(location.clone(), payload.clone());
            Ok(StoreReceipt {
                uri: self.uri(location),
                rows,
                bytes: 0,
            })
        })
    }

    fn load<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<Payload>> {
        Box::pin(async move {
            let values = self.values.lock().map_err(|_| poisoned(self, location))?;
            values
                .get(location)
                .cloned()
                .ok_or_else(|| Error::NotFound {
                    uri: self.uri(location),
                })
        })
    }

    fn exists<'a>(&'a self, location: &'a Location) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let values = self.values.lock().map_err(|_| poisoned(self, location))?;
            Ok(values.contains_key(location))
        })
    }

    fn store_sidecar<'a>(
        &'a self,
        location: &'a Location,
        sidecar: &'a [u8],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut sidecars = self.sidecars.lock().map_err(|_| poisoned(self, location))?;
            sidecars.insert(location.clone(), sidecar.to_vec());
            Ok(())
        })
    }

    fn load_sidecar<'a>(
        &'a self,
        location: &'a Location,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let sidecars = self.sidecars.lock().map_err(|_| poisoned(self, location))?;
            Ok(sidecars.get(location).cloned())
        })
    }
}

fn poisoned(io: &MemoryIoManager, location: &Location) -> Error {
    Error::Other {
        uri: io.uri(location),
        message: "in-memory store poisoned by a panic".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_and_loads_documents_and_sidecars() {
        let io = MemoryIoManager::new("memory", PayloadKind::Document);
        let loc = Location::new("metrics", Some("2024-01-01")).expect("valid");
        assert!(matches!(io.load(&loc).await, Err(Error::NotFound { .. })));
        io.store(&loc, &Payload::Document(serde_json::json!({"auc": 0.7})))
            .await
            .expect("store");
        assert!(matches!(io.load(&loc).await, Ok(Payload::Document(_))));
        assert_eq!(io.load_sidecar(&loc).await.expect("load"), None);
        io.store_sidecar(&loc, b"{}").await.expect("store sidecar");
        assert_eq!(
            io.load_sidecar(&loc).await.expect("load"),
            Some(b"{}".to_vec())
        );
    }
}
