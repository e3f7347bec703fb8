//! The traits that turn types into graph edges.
//!
//! `#[asset]` implements [`Asset`] for the type a function returns, so a
//! parameter of that type anywhere else *is* an edge from that asset. Every
//! parameter other than `&AssetContext` is an [`AssetParam`]: graph building
//! asks each one what it needs once ([`AssetParam::declare`] fills
//! [`ParamSpecs`]: dependencies, configuration); each step loads the values
//! ([`AssetParam::load`] takes what it needs from a [`LoadContext`]).

use futures::future::BoxFuture;
use io_managers::Payload;
use serde::de::DeserializeOwned;

use crate::asset::context::AssetContext;
use crate::asset::definition::{Dependency, Input, PartitionMapping, StepInput};
use crate::config::{Config, ConfigError, ConfigSection};
use crate::error::AssetError;

/// A type that one asset returns: its value is that asset's value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an asset: no function marked #[asset] returns it",
    label = "no #[asset] function returns `{Self}`",
    note = "annotate the function that produces `{Self}` with #[asset]"
)]
pub trait Asset: Sized + Send + 'static {
    /// The asset key.
    const KEY: &'static str;
    /// The value as a payload for its IO manager.
    fn encode(self) -> Result<Payload, AssetError>;
    /// The value back from its IO manager's payload.
    fn decode(payload: Payload) -> Result<Self, AssetError>;
    /// The Arrow fields of the value's rows when its type fixes them (a
    /// `Vec<Row>` table): what a contract's columns default to, and what a
    /// downstream parameter of this type expects. `None` otherwise.
    fn row_fields() -> Option<arrow_schema::Fields> {
        None
    }
}

/// Checks that a configuration section fits one `Config<C>` parameter:
/// the keys `C` does not read (warnings) if it does, the misfit if not.
pub type ConfigCheck = fn(&ConfigSection) -> Result<Vec<ConfigError>, ConfigError>;

/// What an asset function's parameters need, collected by
/// [`AssetParam::declare`] in parameter order.
#[derive(Debug, Clone, Default)]
pub struct ParamSpecs {
    /// Upstream assets, one per dependency parameter, in parameter order.
    pub dependencies: Vec<Dependency>,
    /// Whether the asset takes configuration (a `Config<C>` parameter).
    pub config: bool,
    /// One check per `Config<C>` parameter: does a section deserialize into `C`?
    pub config_checks: Vec<ConfigCheck>,
}

impl ParamSpecs {
    /// Nothing declared yet.
    pub fn new() -> Self {
        Self::default()
    }
}

/// What a step's parameters load from, in parameter order: the next input
/// for each dependency, and the asset's configuration section.
pub struct LoadContext {
    asset: String,
    inputs: std::vec::IntoIter<Input>,
    config: Option<ConfigSection>,
}

impl LoadContext {
    /// A context handing out `inputs` in order and `config` to the
    /// parameters of `asset_key`'s function.
    pub fn new(
        asset_key: impl Into<String>,
        inputs: Vec<Input>,
        config: Option<ConfigSection>,
    ) -> Self {
        Self {
            asset: asset_key.into(),
            inputs: inputs.into_iter(),
            config,
        }
    }

    /// Splits a step's input into its context (for `&AssetContext`) and
    /// what the other parameters load from.
    pub fn from_step(input: StepInput) -> (AssetContext, Self) {
        let cx = Self::new(input.context.asset_key(), input.inputs, input.config);
        (input.context, cx)
    }

    /// The asset being computed.
    pub fn asset_key(&self) -> &str {
        &self.asset
    }

    /// Takes the next input (dependency parameters take theirs in order).
    pub fn next_input(&mut self) -> Result<Input, AssetError> {
        self.inputs.next().ok_or_else(|| {
            AssetError::msg(format!(
                "internal error: asset {:?} was given fewer inputs than it has dependencies",
                self.asset
            ))
        })
    }

    /// The asset's configuration section; `None` when the step was given
    /// none (which reads as a missing section).
    pub fn config(&self) -> Option<&ConfigSection> {
        self.config.as_ref()
    }
}

/// A parameter of an asset function: an upstream asset read through a
/// partition mapping (`T` reads the same partition), or `Config<C>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an asset: no function marked #[asset] returns it",
    label = "this parameter's type is not produced by any asset",
    note = "annotate the function that produces `{Self}` with #[asset], or take `&AssetContext` for the step's context"
)]
pub trait AssetParam: Sized + Send + 'static {
    /// Records what this parameter needs (its edge, or configuration).
    fn declare(specs: &mut ParamSpecs);
    /// Takes what this parameter needs from `cx` now, and returns a future
    /// that loads its value.
    fn load(cx: &mut LoadContext) -> BoxFuture<'static, Result<Self, AssetError>>;
}

impl<T: Asset> AssetParam for T {
    fn declare(specs: &mut ParamSpecs) {
        declare_dependency::<T>(specs, PartitionMapping::Identity);
    }

    fn load(cx: &mut LoadContext) -> BoxFuture<'static, Result<Self, AssetError>> {
        let input = cx.next_input();
        Box::pin(async move { T::decode(input?.load_one().await?) })
    }
}

/// Records an edge to `T`'s asset read through `mapping`: what every
/// dependency parameter (`T`, `Window<T, N>`, `Prev<T>`, ...) declares.
pub(crate) fn declare_dependency<T: Asset>(specs: &mut ParamSpecs, mapping: PartitionMapping) {
    // The type's own name, without its module path, as a user wrote it.
    let full = std::any::type_name::<T>();
    let name = full.rsplit("::").next().unwrap_or(full);
    let dependency = Dependency::new(T::KEY, mapping).of_type(name);
    specs.dependencies.push(match T::row_fields() {
        Some(fields) => dependency.expecting(fields),
        None => dependency,
    });
}

/// A type a `Config<C>` parameter can hold: deserializable from a section of
/// `assets.toml` (owned, so no borrowed fields) and sendable to the step.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from assets.toml: it does not implement `serde::Deserialize`",
    label = "not deserializable",
    note = "derive `serde::Deserialize` for `{Self}` (with owned fields: `String`, not `&str`) and keep it `Send`"
)]
pub trait ConfigValue: DeserializeOwned + Send + 'static {}

impl<C: DeserializeOwned + Send + 'static> ConfigValue for C {}

impl<C: ConfigValue> AssetParam for Config<C> {
    fn declare(specs: &mut ParamSpecs) {
        declare_config::<C>(specs);
    }

    fn load(cx: &mut LoadContext) -> BoxFuture<'static, Result<Self, AssetError>> {
        load_config::<C>(cx)
    }
}

/// What [`AssetParam::load`] returns: a `'static` future of the value.
pub type LoadFuture<T> = BoxFuture<'static, Result<T, AssetError>>;

/// How `#[asset]` declares and loads a `Config<C>` parameter: through
/// [`config_param`] rather than [`AssetParam`], so that a `C` that is not
/// deserializable gets [`ConfigValue`]'s message (once, at `C`) rather than
/// "not an asset".
pub struct ConfigParam<C> {
    /// [`AssetParam::declare`] for `Config<C>`.
    pub declare: fn(&mut ParamSpecs),
    /// [`AssetParam::load`] for `Config<C>`.
    pub load: fn(&mut LoadContext) -> LoadFuture<Config<C>>,
}

/// The declare and load functions of a `Config<C>` parameter.
pub fn config_param<C: ConfigValue>() -> ConfigParam<C> {
    ConfigParam {
        declare: declare_config::<C>,
        load: load_config::<C>,
    }
}

/// The asset takes configuration, which must fit `C`.
fn declare_config<C: ConfigValue>(specs: &mut ParamSpecs) {
    specs.config = true;
    specs.config_checks.push(check_config::<C>);
}

/// The section deserialized into `C` (a missing section reads as an empty
/// table).
fn load_config<C: ConfigValue>(cx: &mut LoadContext) -> LoadFuture<Config<C>> {
    let value = match cx.config() {
        Some(section) => section.deserialize::<C>(),
        None => ConfigSection::missing(cx.asset_key()).deserialize::<C>(),
    };
    Box::pin(std::future::ready(
        value.map(Config).map_err(AssetError::from),
    ))
}

/// Whether `section` deserializes into `C`, and the keys it ignores.
fn check_config<C: DeserializeOwned>(
    section: &ConfigSection,
) -> Result<Vec<ConfigError>, ConfigError> {
    section.deserialize::<C>()?;
    Ok(section.unknown_keys::<C>())
}
