//! The traits that turn types into graph edges.
//!
//! `#[asset]` implements [`Asset`] for the type a function returns, so a
//! parameter of that type anywhere else *is* an edge from that asset. Graph
//! building asks each parameter for its [`Dependency`] once
//! ([`AssetParam::declare`]); each run loads the values ([`AssetParam::load`]).

use futures::future::BoxFuture;
use io_managers::Payload;

use crate::asset::definition::{Dependency, Input, PartitionMapping};
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
}

/// A parameter of an asset function: an upstream asset, read through a
/// partition mapping (`T` reads the same partition).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an asset: no function marked #[asset] returns it",
    label = "this parameter's type is not produced by any asset",
    note = "annotate the function that produces `{Self}` with #[asset], or take `&AssetContext` for the step's context"
)]
pub trait AssetParam: Sized + Send + 'static {
    /// Records this parameter's edge.
    fn declare(dependencies: &mut Vec<Dependency>);
    /// Loads the value from the resolved upstream partitions.
    fn load(input: Input) -> BoxFuture<'static, Result<Self, AssetError>>;
}

impl<T: Asset> AssetParam for T {
    fn declare(dependencies: &mut Vec<Dependency>) {
        dependencies.push(Dependency {
            asset: T::KEY.to_owned(),
            mapping: PartitionMapping::Identity,
        });
    }

    fn load(input: Input) -> BoxFuture<'static, Result<Self, AssetError>> {
        Box::pin(async move { T::decode(input.load_one().await?) })
    }
}
