//! The asset model: definitions, the traits behind `#[asset]`, the registry.

pub mod codec;
pub mod context;
pub mod definition;
pub mod mapping;
pub mod param;
pub mod registry;
pub mod run;
