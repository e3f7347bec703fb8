//! Procedural macros for `asset-core`: [`macro@asset`] and [`macro@Table`].
//!
//! This crate only parses and expands; the traits and types the expansions
//! name live in `asset_core::__private`. Use the macros through `asset-core`
//! (`use asset_core::prelude::*;`), never from this crate directly.
//!
//! Every mistake is reported as a `syn::Error` spanned at the token at fault,
//! beside the user's item left unchanged, so one mistake gives one message.

mod asset;
mod code_version;
mod diagnostics;
mod table;

use proc_macro::TokenStream;

/// Marks a free function (`fn` or `async fn`) as an asset.
///
/// The function's return type names the asset (`T` or `Result<T>`); every
/// parameter other than `&AssetContext` is an upstream asset read through its
/// type. The function stays an ordinary function you can call in tests.
///
/// Options, comma-separated, in any order:
///
/// * `name = "..."`: the asset key (default: the function's name);
/// * `code_version = "..."`: the code version (default: a hash of the
///   function's tokens, so editing the body marks the asset stale);
/// * `partitions = daily("YYYY-MM-DD")`: one partition per day from that day;
/// * `io = "..."`: the IO manager that stores the value (default `"parquet"`;
///   `"json"` stores a serde value as a document instead of a table).
///
/// ```ignore
/// use asset_core::prelude::*;
///
/// /// Sessions: clicks grouped per user.
/// #[asset(partitions = daily("2024-01-01"))]
/// fn sessions(clicks: RawClicks) -> Result<Sessions> {
///     todo!()
/// }
/// ```
#[proc_macro_attribute]
pub fn asset(attr: TokenStream, item: TokenStream) -> TokenStream {
    asset::expand(attr.into(), item.into()).into()
}

/// Implements `asset_core::Table` for a newtype over `RecordBatch`,
/// `Vec<RecordBatch>` or `Vec<Row>` (where `Row: Serialize + Deserialize`).
///
/// ```ignore
/// use asset_core::prelude::*;
///
/// #[derive(Table)]
/// pub struct Events(RecordBatch);
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// pub struct User { pub id: i64 }
///
/// #[derive(Table)]
/// pub struct Users(Vec<User>);
/// ```
#[proc_macro_derive(Table)]
pub fn derive_table(item: TokenStream) -> TokenStream {
    table::expand(item.into()).into()
}
