//! The IO managers a run may use, by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use io_managers::{IoManager, JsonIoManager, ParquetIoManager, PayloadKind, StorageRoot};

use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::plan::Plan;

/// IO managers by name (`parquet`, `json`, or a user's own).
#[derive(Clone, Default)]
pub struct IoManagers {
    by_name: BTreeMap<String, Arc<dyn IoManager>>,
}

impl IoManagers {
    /// No IO managers.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The defaults on a storage root: `parquet` for tables and `json` for
    /// documents.
    pub fn defaults(root: &StorageRoot) -> Self {
        Self::empty()
            .with(Arc::new(ParquetIoManager::new(root.clone())))
            .with(Arc::new(JsonIoManager::new(root.clone())))
    }

    /// Adds (or replaces) an IO manager under its own name.
    pub fn with(mut self, io: Arc<dyn IoManager>) -> Self {
        self.by_name.insert(io.name().to_owned(), io);
        self
    }

    /// The IO manager called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn IoManager>> {
        self.by_name.get(name)
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    /// Checks every asset the plan touches (steps and the upstreams they
    /// read) names a registered IO manager that stores its kind of payload.
    pub(crate) fn check(&self, graph: &AssetGraph, plan: &Plan) -> Result<(), Error> {
        let mut seen = vec![false; graph.len()];
        for step in plan.steps() {
            for i in std::iter::once(step.asset).chain(step.inputs.iter().map(|inp| inp.asset)) {
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                let def = graph.asset(i);
                let Some(io) = self.get(&def.io_manager) else {
                    return Err(Error::BadIoManager {
                        asset: def.key.clone(),
                        reason: format!(
                            "IO manager {:?} is not registered (known: {})",
                            def.io_manager,
                            self.names().join(", ")
                        ),
                    });
                };
                if def.payload_kind != PayloadKind::Nothing && io.kind() != def.payload_kind {
                    return Err(Error::BadIoManager {
                        asset: def.key.clone(),
                        reason: format!(
                            "IO manager {:?} stores {}s, but the asset produces a {}",
                            def.io_manager,
                            io.kind().name(),
                            def.payload_kind.name()
                        ),
                    });
                }
            }
        }
        Ok(())
    }
}
