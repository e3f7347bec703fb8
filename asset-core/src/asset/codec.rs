//! How an asset's Rust value becomes a [`Payload`] and back, per IO manager kind.
//!
//! `#[asset]` picks the codec from the `io` option: `json` stores serde
//! values as documents, every other IO manager stores [`Table`]s.

use io_managers::{Payload, PayloadKind};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::AssetError;
use crate::value::Table;

/// Converts `T` to and from a payload.
#[diagnostic::on_unimplemented(
    message = "`{T}` cannot be stored by this IO manager",
    note = "tables need `#[derive(Table)]`; `io = \"json\"` needs `serde::Serialize + serde::Deserialize`"
)]
pub trait Codec<T> {
    /// The payload kind produced.
    const KIND: PayloadKind;
    /// Value to payload.
    fn encode(value: T) -> Result<Payload, AssetError>;
    /// Payload to value.
    fn decode(payload: Payload) -> Result<T, AssetError>;
    /// The Arrow fields of every value, when `T`'s type fixes them
    /// ([`Table::row_fields`]).
    fn row_fields() -> Option<arrow_schema::Fields> {
        None
    }
}

/// Stores [`Table`]s.
pub struct TableCodec;

impl<T: Table> Codec<T> for TableCodec {
    const KIND: PayloadKind = PayloadKind::Table;
    fn encode(value: T) -> Result<Payload, AssetError> {
        Ok(Payload::Table(value.into_table()?))
    }
    fn decode(payload: Payload) -> Result<T, AssetError> {
        match payload {
            Payload::Table(t) => T::from_table(t),
            other => Err(wrong_kind(PayloadKind::Table, other.kind())),
        }
    }
    fn row_fields() -> Option<arrow_schema::Fields> {
        T::row_fields()
    }
}

/// Stores serde values as JSON documents.
pub struct JsonCodec;

impl<T: Serialize + DeserializeOwned> Codec<T> for JsonCodec {
    const KIND: PayloadKind = PayloadKind::Document;
    fn encode(value: T) -> Result<Payload, AssetError> {
        Ok(Payload::Document(serde_json::to_value(value)?))
    }
    fn decode(payload: Payload) -> Result<T, AssetError> {
        match payload {
            Payload::Document(v) => Ok(serde_json::from_value(v)?),
            other => Err(wrong_kind(PayloadKind::Document, other.kind())),
        }
    }
}

/// For assets that return `()`: only their provenance is stored.
pub struct NothingCodec;

impl Codec<()> for NothingCodec {
    const KIND: PayloadKind = PayloadKind::Nothing;
    fn encode(_: ()) -> Result<Payload, AssetError> {
        Ok(Payload::Nothing)
    }
    fn decode(_: Payload) -> Result<(), AssetError> {
        Ok(())
    }
}

fn wrong_kind(expected: PayloadKind, got: PayloadKind) -> AssetError {
    AssetError::msg(format!(
        "expected a stored {}, found a {}",
        expected.name(),
        got.name()
    ))
}
