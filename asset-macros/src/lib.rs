//! Procedural macros for `asset-core`: [`macro@asset`],
//! [`macro@asset_check`], [`macro@versioned`] and [`macro@Table`].
//!
//! This crate only parses and expands; the traits and types the expansions
//! name live in `asset_core::__private`. Use the macros through `asset-core`
//! (`use asset_core::prelude::*;`), never from this crate directly.
//!
//! Every mistake is reported as a `syn::Error` spanned at the token at fault,
//! beside the user's item left unchanged, so one mistake gives one message.

mod asset;
mod asset_check;
mod code_version;
mod diagnostics;
mod git;
mod table;
mod uses;
mod versioned;

use proc_macro::TokenStream;

/// Marks a free function (`fn` or `async fn`) as an asset.
///
/// The function's return type names the asset (`T` or `Result<T>`). Its
/// parameters are `&AssetContext` (the step's context), `Config<C>` (the
/// asset's section of `assets.toml`, deserialized into `C`; not a
/// dependency), and upstream assets, each read through its type. The
/// context and the configuration are recognized by name (`AssetContext`,
/// `Config`), so do not rename them with `use ... as`. The function stays an
/// ordinary function you can call in tests.
///
/// Options, comma-separated, in any order (the book's Reference page has
/// them all with examples; a test keeps it complete):
///
/// * `name = "..."`: the asset key (default: the function's name);
/// * `code_version = "..."`: the code version (default: a hash of the
///   function's tokens, so editing the body marks the asset stale);
/// * `uses = [helper, path::to::helper]`: `#[versioned]` helper functions
///   whose versions are part of the code version (see below);
/// * `partitions = ...`: `hourly(..)`, `daily("YYYY-MM-DD")`, `weekly(..)`,
///   `monthly(..)` (time settings `start`, `end`, `timezone`, `format`,
///   `end_offset`), `static(["a", "b"])`, `multi(daily(..), static([..]))`
///   or `dynamic("set")`;
/// * `retries = N`: retries after a failed attempt (default 0);
/// * `backoff = exponential(base = "1s", max = "5m")`: the delay before
///   retry k, min(base x 2^(k-1), max);
/// * `jitter = full | equal | none`: how the delay is randomized (default
///   `full`);
/// * `io = "..."`: the IO manager that stores the value (default `"parquet"`;
///   `"json"` stores a serde value as a document instead of a table);
/// * `contract = path::to::function`: a function returning the
///   `DataContract` every output must satisfy before it is published (for a
///   `Vec<Row>` table, the row type's columns are added to it).
///
/// # Code versions and helpers
///
/// The default code version hashes the function's own signature and body,
/// not what it calls: editing a helper function does not change it. Mark a
/// helper with [`macro@versioned`] and name it in `uses`; the code version
/// becomes `BASE+HELPERS`, where `BASE` is the explicit `code_version` or
/// the hash of the tokens, and `HELPERS` 16 hex digits of the named
/// helpers' versions (each covering, transitively, the helpers it names in
/// its own `uses`). So:
///
/// * without `uses`, the code version is exactly `code_version` or the hash;
/// * with `uses`, an explicit `code_version` still gets the helpers folded
///   in: editing a named helper marks the asset stale even then;
/// * the order of the names in `uses` does not matter;
/// * naming a function that is not `#[versioned]` is a compile error at
///   the name.
///
/// Limit: only the named helpers count. Code reached otherwise (helpers not
/// named in `uses`, other crates, data files read at run time) is invisible
/// to the version; bump `code_version` when such code changes.
///
/// ```ignore
/// use asset_core::prelude::*;
///
/// #[versioned]
/// fn gap_rule(minutes: i64) -> bool {
///     minutes > 30
/// }
///
/// /// Sessions: clicks grouped per user.
/// #[asset(partitions = daily("2024-01-01"), uses = [gap_rule])]
/// fn sessions(clicks: RawClicks) -> Result<Sessions> {
///     todo!()
/// }
/// ```
#[proc_macro_attribute]
pub fn asset(attr: TokenStream, item: TokenStream) -> TokenStream {
    asset::expand(attr.into(), item.into()).into()
}

/// Registers a check on an asset's value, run on every output of that
/// asset before it is published (write, audit, publish).
///
/// The function takes `&T`, where `T` is the type an `#[asset]` function
/// returns (that is how the check finds its asset), and returns
/// `CheckOutcome` or `Result<(), E>` with `E: Display`. It stays an
/// ordinary function you can call in tests.
///
/// Options, comma-separated:
///
/// * `severity = error` (the default): a failure fails the step and
///   publishes nothing, so the previous value stays in place;
/// * `severity = warn`: a failure is recorded and shown, the value is
///   published anyway;
/// * `name = "..."`: the name results are recorded under (default: the
///   function's name).
///
/// ```ignore
/// use asset_core::prelude::*;
///
/// #[asset_check(severity = warn)]
/// fn no_future_events(events: &CleanEvents) -> CheckOutcome {
///     CheckOutcome::expect(events.0.iter().all(|e| e.day <= today()), || {
///         "some events are in the future".into()
///     })
/// }
/// ```
#[proc_macro_attribute]
pub fn asset_check(attr: TokenStream, item: TokenStream) -> TokenStream {
    asset_check::expand(attr.into(), item.into()).into()
}

/// Gives a helper function a version that assets calling it fold into
/// their code version with `#[asset(uses = [helper])]`.
///
/// The function is kept unchanged. Its version is a hash of its tokens
/// (formatting- and comment-insensitive, like an asset's), or of an explicit
/// `version = "..."`, combined with the versions of the helpers it names in
/// its own `uses = [...]`, transitively. It is computed at compile time.
///
/// Beside the function, the attribute adds a hidden type of the same name
/// and visibility (types and functions do not clash), which is how `uses`
/// finds the version wherever the function can be named, including through
/// `use path::to::helper;`. Put it on free functions at module level; a
/// helper cannot name itself (or, through others, form a cycle) in `uses`.
///
/// ```ignore
/// use asset_core::prelude::*;
///
/// #[versioned]
/// pub fn clamp(x: f64) -> f64 {
///     x.clamp(0.0, 1.0)
/// }
///
/// #[versioned(uses = [clamp], version = "2")]
/// pub fn score(x: f64) -> f64 {
///     clamp(x * 0.5)
/// }
/// ```
#[proc_macro_attribute]
pub fn versioned(attr: TokenStream, item: TokenStream) -> TokenStream {
    versioned::expand(attr.into(), item.into()).into()
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
