//! Testing a pipeline: materialize into a temporary root and read values back.
//!
//! Business logic stays in plain functions tested without the framework;
//! this module is for the next level, a whole selection run end to end:
//!
//! ```no_run
//! # use asset_core::prelude::*;
//! # #[derive(Table)] pub struct Events(RecordBatch);
//! # #[asset] fn events() -> Result<Events> { unimplemented!() }
//! use asset_core::testing::TestPipeline;
//!
//! # fn main() -> Result<()> {
//! let pipeline = TestPipeline::new()?;
//! let report = pipeline.materialize("+events", None)?;
//! assert!(report.succeeded());
//! let events: Events = pipeline.read(None)?;
//! # Ok(()) }
//! ```
//!
//! Each `TestPipeline` has its own temporary root and runtime: tests run in
//! parallel without sharing state.

use std::path::Path;
use std::sync::Arc;

use io_managers::StorageRoot;

use crate::asset::definition::AssetDef;
use crate::asset::param::Asset;
use crate::asset::registry::Registry;
use crate::catalog::SqliteCatalog;
use crate::error::{AssetError, Error};
use crate::graph::{AssetGraph, Selection};
use crate::materialize::{IoManagers, MaterializeOptions, Materializer, RunReport};

/// A pipeline on a temporary storage root, removed when dropped.
pub struct TestPipeline {
    root: tempfile::TempDir,
    storage: StorageRoot,
    materializer: Materializer,
    runtime: tokio::runtime::Runtime,
}

impl TestPipeline {
    /// The `#[asset]` functions linked into this test, on a fresh temporary root.
    pub fn new() -> Result<Self, Error> {
        Self::from_registry(Registry::from_inventory()?)
    }

    /// Only these run-time assets.
    pub fn from_assets(assets: Vec<AssetDef>) -> Result<Self, Error> {
        Self::from_registry(Registry::from_defs(assets)?)
    }

    /// The assets of `registry`, on a fresh temporary root.
    pub fn from_registry(registry: Registry) -> Result<Self, Error> {
        let root = tempfile::tempdir()
            .map_err(|e| Error::Internal(format!("cannot create a temporary root: {e}")))?;
        let storage = StorageRoot::parse(&root.path().to_string_lossy())?;
        let catalog = SqliteCatalog::open(root.path().join(crate::catalog::DEFAULT_FILE_NAME))
            .map_err(|e| Error::Catalog(e.to_string()))?;
        let materializer =
            Materializer::new(AssetGraph::build(registry)?, IoManagers::defaults(&storage))
                .with_catalog(Arc::new(catalog));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
        Ok(Self {
            root,
            storage,
            materializer,
            runtime,
        })
    }

    /// Adds an IO manager built on this pipeline's temporary root (assets
    /// pick it with `io = "<its name>"`).
    pub fn with_io_manager(
        mut self,
        make: impl FnOnce(&StorageRoot) -> Arc<dyn io_managers::IoManager>,
    ) -> Self {
        let io = make(&self.storage).clone();
        let catalog = self.materializer.catalog().cloned();
        self.materializer = Materializer::new(
            self.materializer.graph().clone(),
            self.materializer.io_managers().clone().with(io),
        );
        if let Some(catalog) = catalog {
            self.materializer = self.materializer.with_catalog(catalog);
        }
        self
    }

    /// Reads `Config<C>` parameters from this `assets.toml` text.
    pub fn with_config(mut self, assets_toml: &str) -> Result<Self, Error> {
        let config = crate::config::ConfigFile::parse(
            self.root.path().join(crate::config::CONFIG_FILE_NAME),
            assets_toml,
        )?;
        self.materializer = self.materializer.clone().with_config(config);
        Ok(self)
    }

    /// The temporary storage root.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The materializer, for options this helper does not cover.
    pub fn materializer(&self) -> &Materializer {
        &self.materializer
    }

    /// Materializes `selection` (same syntax as `--select`) for `partition`.
    pub fn materialize(
        &self,
        selection: &str,
        partition: Option<&str>,
    ) -> Result<RunReport, Error> {
        self.run(MaterializeOptions {
            selection: Selection::parse(selection)?,
            partition: partition.map(str::to_owned),
            ..MaterializeOptions::default()
        })
    }

    /// Materializes with full options.
    pub fn run(&self, options: MaterializeOptions) -> Result<RunReport, Error> {
        self.runtime.block_on(self.materializer.run(&options))
    }

    /// Reads the stored value of asset `T` for `partition`, as its Rust type.
    pub fn read<T: Asset>(&self, partition: Option<&str>) -> Result<T, AssetError> {
        let def = self
            .materializer
            .graph()
            .registry()
            .get(T::KEY)
            .ok_or_else(|| AssetError::msg(format!("asset {:?} is not registered", T::KEY)))?;
        let io: Arc<dyn io_managers::IoManager> = self
            .materializer
            .io_managers()
            .get(&def.io_manager)
            .cloned()
            .ok_or_else(|| AssetError::msg(format!("no IO manager {:?}", def.io_manager)))?;
        let location = def.location(partition)?;
        let payload = self.runtime.block_on(io.load(&location))?;
        T::decode(payload)
    }
}
