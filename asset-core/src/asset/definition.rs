//! [`AssetDef`]: everything the engine knows about one asset.
//!
//! `#[asset]` builds one from a function; factories build them at run time
//! (N similar assets from a config list). The graph, planner and materializer
//! only ever see this record.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use io_managers::{IoManager, Location, Payload, PayloadKind};

use crate::asset::context::AssetContext;
use crate::asset::param::ConfigCheck;
use crate::check::{AssetCheck, AssetChecks, DataContract};
use crate::config::{ConfigError, ConfigSection};
use crate::error::AssetError;
use crate::partition::PartitionsDef;
pub use crate::partition::mapping::PartitionMapping;
use crate::retry::RetryPolicy;
use crate::schedule::{Automation, Schedule, Severity, Unattended};

/// The asset's function, type-erased: inputs in, payload out.
pub type ComputeFn =
    Arc<dyn Fn(StepInput) -> BoxFuture<'static, Result<Payload, AssetError>> + Send + Sync>;

/// One asset.
#[derive(Clone)]
pub struct AssetDef {
    /// The asset key (the function name unless renamed).
    pub key: String,
    /// What the asset is (the function's doc comment).
    pub description: String,
    /// Upstream assets, in parameter order.
    pub dependencies: Vec<Dependency>,
    /// How the asset is partitioned.
    pub partitions: PartitionsDef,
    /// The code version: explicit, or a hash of the function's tokens;
    /// with `#[asset(uses = [...])]`, followed by `+` and a hash of the
    /// named `#[versioned]` helpers' versions.
    pub code_version: String,
    /// Whether the asset reads its section of `assets.toml` (it has a
    /// `Config<C>` parameter): the materializer then passes the section in
    /// [`StepInput::config`] and its hash is part of the asset's version.
    pub takes_config: bool,
    /// One check per `Config<C>` parameter, to find a bad section before a
    /// run starts ([`AssetDef::check_config`]).
    pub config_checks: Vec<ConfigCheck>,
    /// The name of the IO manager that stores the asset's values.
    pub io_manager: String,
    /// The kind of payload the asset produces.
    pub payload_kind: PayloadKind,
    /// Where the asset is defined, if it comes from source code.
    pub source: Option<SourceLocation>,
    /// How a step that fails with a transient error is retried (by
    /// default it is not).
    pub retry: RetryPolicy,
    /// The data contract and checks its outputs must pass to be published.
    pub checks: AssetChecks,
    /// Its schedule, automation, SLA and alert severity (for the daemon).
    pub unattended: Unattended,
    /// Computes one partition.
    pub compute: ComputeFn,
}

impl fmt::Debug for AssetDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssetDef")
            .field("key", &self.key)
            .field("dependencies", &self.dependencies)
            .field("partitions", &self.partitions)
            .field("code_version", &self.code_version)
            .field("takes_config", &self.takes_config)
            .field("io_manager", &self.io_manager)
            .field("source", &self.source)
            .field("retry", &self.retry)
            .field("checks", &self.checks)
            .field("unattended", &self.unattended)
            .finish_non_exhaustive()
    }
}

impl AssetDef {
    /// The location of this asset's `partition` (`None` when unpartitioned),
    /// its dimensions named after the partitions definition, so that it is
    /// stored in Hive folders such as `day=2024-01-01`.
    pub fn location(&self, partition: Option<&str>) -> Result<Location, io_managers::Error> {
        Location::new(&self.key, partition)?.with_dimensions(self.dimension_names())
    }

    /// The names of the asset's partition dimensions, shareable by all its
    /// locations ([`PartitionsDef::dimension_names`]).
    pub fn dimension_names(&self) -> Arc<[Arc<str>]> {
        self.partitions
            .dimension_names()
            .into_iter()
            .map(Arc::from)
            .collect()
    }

    /// A run-time asset (from a factory): unpartitioned, stored as a Parquet
    /// table, code version `"0"`, until the `with_*` methods say otherwise.
    pub fn new(
        key: impl Into<String>,
        compute: impl Fn(StepInput) -> BoxFuture<'static, Result<Payload, AssetError>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            key: key.into(),
            description: String::new(),
            dependencies: Vec::new(),
            partitions: PartitionsDef::Unpartitioned,
            code_version: "0".into(),
            takes_config: false,
            config_checks: Vec::new(),
            io_manager: "parquet".into(),
            payload_kind: PayloadKind::Table,
            source: None,
            retry: RetryPolicy::none(),
            checks: AssetChecks::default(),
            unattended: Unattended::default(),
            compute: Arc::new(compute),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds an upstream asset read partition by partition.
    pub fn with_dependency(mut self, upstream: impl Into<String>) -> Self {
        self.dependencies
            .push(Dependency::new(upstream, PartitionMapping::Identity));
        self
    }

    /// Adds an upstream asset read through `mapping` (`Prev`, `Window`,
    /// `All`, `Latest`; a mapping to the asset's own key makes it
    /// self-dependent).
    pub fn with_mapped_dependency(
        self,
        upstream: impl Into<String>,
        mapping: PartitionMapping,
    ) -> Self {
        let mut def = self.with_dependency(upstream);
        if let Some(last) = def.dependencies.last_mut() {
            last.mapping = mapping;
        }
        def
    }

    /// Sets the partitions.
    pub fn with_partitions(mut self, partitions: PartitionsDef) -> Self {
        self.partitions = partitions;
        self
    }

    /// Sets the code version.
    pub fn with_code_version(mut self, version: impl Into<String>) -> Self {
        self.code_version = version.into();
        self
    }

    /// Checks every output against `contract` before publishing it.
    pub fn with_contract(mut self, contract: DataContract) -> Self {
        self.checks.set_contract(contract);
        self
    }

    /// Runs `check` on every output before publishing it.
    pub fn with_check(mut self, check: AssetCheck) -> Self {
        self.checks.checks.push(check);
        self
    }

    /// Retries a step that fails with a transient error under `policy`.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Runs the asset on `schedule` (build one with
    /// [`Schedule::cron`], which refuses a bad expression).
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.unattended.schedule = Some(schedule);
        self
    }

    /// Materializes the asset's partitions when `automation` says so.
    pub fn with_automation(mut self, automation: Automation) -> Self {
        self.unattended.automation = Some(automation);
        self
    }

    /// Each partition must be materialized within `sla` after its window
    /// ends ([`parse_sla`](crate::schedule::parse_sla) reads `"6h"`).
    pub fn with_sla(mut self, sla: std::time::Duration) -> Self {
        self.unattended.sla = Some(sla);
        self
    }

    /// Sets how urgent the asset's alerts are (default P2).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.unattended.severity = severity;
        self
    }

    /// Marks the asset as reading its section of `assets.toml`: it arrives
    /// in [`StepInput::config`], and its hash is part of the asset's version.
    pub fn with_config(mut self) -> Self {
        self.takes_config = true;
        self
    }

    /// Whether `section` fits every `Config<C>` parameter of the asset
    /// (always true for an asset without any): the first misfit's error,
    /// which names the asset, the file and the line.
    pub fn check_config(&self, section: &ConfigSection) -> Result<(), ConfigError> {
        self.config_keys(section).map(drop)
    }

    /// [`check_config`](Self::check_config), giving the keys of `section`
    /// that no `Config<C>` parameter reads when it fits (each a
    /// [`ConfigError::UnknownKey`]: a warning, an error with `--strict`).
    pub fn config_keys(&self, section: &ConfigSection) -> Result<Vec<ConfigError>, ConfigError> {
        let mut unknown: Option<Vec<ConfigError>> = None;
        for check in &self.config_checks {
            let ignored = check(section)?;
            // A key is unknown only if every parameter ignores it.
            unknown = Some(match unknown {
                None => ignored,
                Some(before) => before
                    .into_iter()
                    .filter(|e| ignored.iter().any(|i| unknown_key(i) == unknown_key(e)))
                    .collect(),
            });
        }
        Ok(unknown.unwrap_or_default())
    }

    /// Stores the asset with the named IO manager, which takes `kind` payloads.
    pub fn with_io_manager(mut self, name: impl Into<String>, kind: PayloadKind) -> Self {
        self.io_manager = name.into();
        self.payload_kind = kind;
        self
    }

    /// Where it is defined, for messages: `src/assets.rs:12` or `(factory)`.
    pub fn origin(&self) -> String {
        match &self.source {
            Some(s) => s.to_string(),
            None => "(defined at run time)".into(),
        }
    }
}

/// An edge: this asset reads `asset` through `mapping`.
///
/// Two dependencies are equal when they read the same asset the same way;
/// [`expected_fields`](Self::expected_fields) follows from the parameter's
/// type and is not compared.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The upstream asset key.
    pub asset: String,
    /// Which upstream partitions one downstream partition reads.
    pub mapping: PartitionMapping,
    /// The columns the parameter decodes the upstream's table into, when
    /// its type fixes them (serde rows): checked against the upstream's
    /// contract when the registry is built, before any data moves.
    pub expected_fields: Option<arrow_schema::Fields>,
    /// The parameter's Rust type as the user wrote it (`ItemFeatures`), for
    /// messages; `None` for run-time assets, which name the asset instead.
    pub type_name: Option<&'static str>,
}

impl Dependency {
    /// The parameter as `list`, the site and the docs show it: the upstream's
    /// key, or its mapping as written (`Window<item_features, 7>`).
    pub fn as_written(&self) -> String {
        written_as(self.mapping, &self.asset)
    }

    /// The parameter's type as the user wrote it (`Window<ItemFeatures, 7>`),
    /// or, for a run-time asset, [`Dependency::as_written`].
    pub fn type_as_written(&self) -> String {
        written_as(self.mapping, self.type_name.unwrap_or(&self.asset))
    }

    /// Reads `asset` through `mapping`, expecting no particular columns.
    pub fn new(asset: impl Into<String>, mapping: PartitionMapping) -> Self {
        Self {
            asset: asset.into(),
            mapping,
            expected_fields: None,
            type_name: None,
        }
    }

    /// The same edge, declared by a parameter of Rust type `name`.
    pub fn of_type(mut self, name: &'static str) -> Self {
        self.type_name = Some(name);
        self
    }

    /// The same edge, decoding the upstream's rows as `fields`.
    pub fn expecting(mut self, fields: arrow_schema::Fields) -> Self {
        self.expected_fields = Some(fields);
        self
    }
}

/// `mapping` applied to `name`: `name` itself for the identity mapping,
/// otherwise the wrapper with `name` for its `T` (`All<Orders>`).
pub fn written_as(mapping: PartitionMapping, name: &str) -> String {
    match mapping {
        PartitionMapping::Identity => name.to_owned(),
        mapping => mapping.to_string().replacen("<T", &format!("<{name}"), 1),
    }
}

impl PartialEq for Dependency {
    fn eq(&self, other: &Self) -> bool {
        self.asset == other.asset && self.mapping == other.mapping
    }
}

impl Eq for Dependency {}

/// A place in the source code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file, as `file!()` gives it.
    pub file: &'static str,
    /// The line.
    pub line: u32,
    /// The git commit of the source when it was compiled (`+dirty` if the
    /// working tree had changes), or `unknown` outside a repository.
    pub git_commit: &'static str,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What a step's function receives: its context, one input per dependency,
/// and its configuration section.
pub struct StepInput {
    /// The asset-partition being computed.
    pub context: AssetContext,
    /// One input per dependency, in the order of [`AssetDef::dependencies`].
    pub inputs: Vec<Input>,
    /// The asset's section of `assets.toml`, for an asset that
    /// [takes configuration](AssetDef::takes_config); `None` reads as a
    /// missing section.
    pub config: Option<ConfigSection>,
}

impl StepInput {
    /// A step input without configuration.
    pub fn new(context: AssetContext, inputs: Vec<Input>) -> Self {
        Self {
            context,
            inputs,
            config: None,
        }
    }

    /// The same input with this configuration section.
    pub fn with_config(mut self, config: ConfigSection) -> Self {
        self.config = Some(config);
        self
    }

    /// Takes the next input (parameters take theirs in order).
    pub fn next_input(inputs: &mut std::vec::IntoIter<Input>) -> Result<Input, AssetError> {
        inputs
            .next()
            .ok_or_else(|| AssetError::msg("internal error: fewer inputs than parameters"))
    }
}

/// The upstream partitions one parameter reads, and the IO manager that has them.
#[derive(Clone)]
pub struct Input {
    pub(crate) io: Arc<dyn IoManager>,
    pub(crate) locations: Vec<Location>,
    /// Values already in memory, by position in `locations`: produced
    /// earlier in this run and still held, so no read and no decode.
    pub(crate) preloaded: Vec<Option<Payload>>,
}

impl Input {
    /// An input reading `locations` through `io` (none: a `Prev` at the
    /// start of history; several: a `Window` or `All`).
    pub fn new(io: Arc<dyn IoManager>, locations: Vec<Location>) -> Self {
        Self {
            io,
            locations,
            preloaded: Vec::new(),
        }
    }

    /// An input whose single value is already in memory (it was published at
    /// `location` by an earlier step of this run).
    pub fn preloaded(io: Arc<dyn IoManager>, location: Location, payload: Payload) -> Self {
        Self {
            io,
            locations: vec![location],
            preloaded: vec![Some(payload)],
        }
    }

    /// The same input with the value at position `i` of its locations
    /// already in memory.
    pub fn with_preloaded(mut self, i: usize, payload: Payload) -> Self {
        if i < self.locations.len() {
            self.preloaded.resize(self.locations.len(), None);
            self.preloaded[i] = Some(payload);
        }
        self
    }

    /// The upstream asset-partitions this input reads.
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// Loads the single upstream value.
    pub async fn load_one(&self) -> Result<Payload, AssetError> {
        let [location] = self.locations.as_slice() else {
            return Err(AssetError::msg(format!(
                "internal error: expected one upstream partition, got {}",
                self.locations.len()
            )));
        };
        self.load_at(0, location).await
    }

    /// Loads every upstream value, in the order of [`locations`](Self::locations)
    /// (a few reads in flight at once: object stores are latency-bound).
    pub async fn load_all(&self) -> Result<Vec<(Location, Payload)>, AssetError> {
        /// Reads in flight at once.
        const IN_FLIGHT: usize = 8;
        let mut loaded = Vec::with_capacity(self.locations.len());
        for (n, chunk) in self.locations.chunks(IN_FLIGHT).enumerate() {
            let reads = chunk
                .iter()
                .enumerate()
                .map(|(i, location)| self.load_at(n * IN_FLIGHT + i, location));
            let payloads = futures::future::try_join_all(reads).await?;
            loaded.extend(chunk.iter().cloned().zip(payloads));
        }
        Ok(loaded)
    }

    /// The value at position `i`, from memory or storage.
    async fn load_at(&self, i: usize, location: &Location) -> Result<Payload, AssetError> {
        if let Some(Some(payload)) = self.preloaded.get(i) {
            return Ok(payload.clone());
        }
        // A transient storage fault (a flaky object store) may pass on a
        // retry of the step; anything else (a missing file) will not.
        self.io.load(location).await.map_err(|e| {
            if e.is_damaged() {
                return AssetError::msg(damaged(location, &e));
            }
            let transient = e.is_transient();
            AssetError::from(e).with_transient(transient)
        })
    }
}

/// The message of an upstream value that no longer decodes, with the
/// command that rebuilds it (`--verify` finds it stale by reading it back;
/// without it, its size alone may still match).
fn damaged(location: &Location, error: &io_managers::Error) -> String {
    let partition = location
        .partition()
        .map_or_else(String::new, |p| format!(" --partition {p}"));
    format!(
        "upstream {location}: stored value changed or damaged ({error}); rebuild it (materialize --select {}{partition} --verify)",
        location.asset()
    )
}

/// A `#[versioned]` helper function, seen through the hidden type of the same
/// name that `#[versioned]` adds beside it (type and function live in
/// different namespaces, so `use path::helper;` brings both along).
///
/// `#[asset(uses = [helper])]` folds [`Versioned::VERSION`] into the asset's
/// code version; naming a function that is not `#[versioned]` fails here.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not marked #[versioned]",
    label = "not a #[versioned] function",
    note = "mark the function `{Self}` with #[versioned] so that its code is part of the code version of the assets that name it in `uses`"
)]
pub trait Versioned {
    /// The helper's version: a hash of its tokens (or of its explicit
    /// `version = "..."`) folded with the versions of the helpers it uses.
    const VERSION: u64;
}

/// splitmix64's finalizer: spreads every input bit over the output.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The versions of a set of helpers, folded: the order they are named in
/// does not matter.
const fn fold(versions: &[u64]) -> u64 {
    let mut acc = 0u64;
    let mut i = 0;
    while i < versions.len() {
        acc = acc.wrapping_add(mix(versions[i]));
        i += 1;
    }
    mix(acc ^ 0x9e37_79b9_7f4a_7c15)
}

/// The version of a helper whose own code hashes to `own` and that uses the
/// helpers whose versions are `uses` (evaluated at compile time).
pub const fn helper_version(own: u64, uses: &[u64]) -> u64 {
    mix(own ^ fold(uses))
}

/// An asset's code version: `base` (its explicit version or the hash of its
/// tokens), followed, when it names helpers in `uses`, by `+` and 16 hex
/// digits of their folded versions (`1f0c…+9a3e…`), so `status` shows
/// whether the asset's own code or a helper changed.
pub fn code_version_with_helpers(base: &str, helpers: &[u64]) -> String {
    if helpers.is_empty() {
        base.to_owned()
    } else {
        format!("{base}+{:016x}", fold(helpers))
    }
}

/// The dotted key of an unknown-key warning.
fn unknown_key(error: &ConfigError) -> Option<&str> {
    match error {
        ConfigError::UnknownKey { key, .. } => Some(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::BoxFuture;
    use io_managers::StoreReceipt;

    /// An IO manager whose loads fail with `error()`.
    struct FailingIo {
        error: fn(&Location) -> io_managers::Error,
    }

    impl IoManager for FailingIo {
        fn name(&self) -> &str {
            "failing"
        }
        fn kind(&self) -> PayloadKind {
            PayloadKind::Table
        }
        fn uri(&self, location: &Location) -> String {
            format!("mem://{location}")
        }
        fn store<'a>(
            &'a self,
            location: &'a Location,
            _payload: &'a Payload,
        ) -> BoxFuture<'a, io_managers::Result<StoreReceipt>> {
            Box::pin(async move { Err((self.error)(location)) })
        }
        fn load<'a>(
            &'a self,
            location: &'a Location,
        ) -> BoxFuture<'a, io_managers::Result<Payload>> {
            Box::pin(async move { Err((self.error)(location)) })
        }
        fn store_sidecar<'a>(
            &'a self,
            location: &'a Location,
            _sidecar: &'a [u8],
        ) -> BoxFuture<'a, io_managers::Result<()>> {
            Box::pin(async move { Err((self.error)(location)) })
        }
        fn load_sidecar<'a>(
            &'a self,
            _location: &'a Location,
        ) -> BoxFuture<'a, io_managers::Result<Option<Vec<u8>>>> {
            Box::pin(async move { Ok(None) })
        }
    }

    fn load_error(error: fn(&Location) -> io_managers::Error) -> AssetError {
        let location = Location::new("up", Some("2024-01-01")).expect("valid location");
        let input = Input::new(Arc::new(FailingIo { error }), vec![location]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        match rt.block_on(input.load_one()) {
            Ok(_) => panic!("the load must fail"),
            Err(e) => e,
        }
    }

    #[test]
    fn transient_io_errors_on_inputs_are_transient_asset_errors() {
        let transient = load_error(|l| io_managers::Error::Store {
            uri: l.to_string(),
            source: object_store::Error::Generic {
                store: "test",
                source: "connection reset".into(),
            },
        });
        assert!(transient.is_transient());
        assert!(
            transient.to_string().contains("connection reset"),
            "{transient}"
        );
        let missing = load_error(|l| io_managers::Error::Other {
            uri: l.to_string(),
            message: "truncated".into(),
        });
        assert!(!missing.is_transient());
    }
}
