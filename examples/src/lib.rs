//! Example pipelines for `asset-core`.
//!
//! [`recommender`] is a realistic daily recommender run on data it generates
//! deterministically (no network, the same bytes for the same day): raw
//! events, cleaning, features, two models trained in parallel, evaluation and
//! a model registry. `cargo run` at the workspace root runs its CLI:
//!
//! ```text
//! cargo run -- materialize --select '*' --partition 2024-01-01
//! ```

pub mod recommender;
