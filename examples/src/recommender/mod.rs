//! A daily recommender run on generated data.
//!
//! Every day (partition) the pipeline generates the day's interaction events,
//! cleans them, computes user and item features, trains two models in
//! parallel (a popularity retrieval model and a logistic-regression ranker),
//! evaluates both on a holdout split, and writes a registry entry naming the
//! models that clear their thresholds:
//!
//! ```text
//!                               +--> user_features --+
//!                               |                    |
//!                               |                    v
//! raw_events --> clean_events --+----------------> ranker_model ---+
//!                               |                    ^             |
//!                               |                    |             v
//!                               +--> item_features --+         evaluation --> model_registry
//!                                                    |             ^
//!                                                    |             |
//!                                                    +--> popularity_model
//! ```
//!
//! Not drawn: `evaluation` also reads `clean_events` and both feature tables;
//! `model_registry` also reads both models. Two assets read other days of
//! `item_features`: `weekly_item_trends` (a `Window` of the 7 days ending at
//! its own) and `item_totals` (running totals: `Prev` of itself plus today's,
//! so its days run in order).
//!
//! The business logic lives in plain modules, one per job, each tested on its
//! own with tiny hand-made inputs and no framework: [`generate`], [`clean`],
//! [`features`], [`popularity`], [`ranker`], [`evaluate`], [`promote`] (with
//! [`events`] for the record types and [`split`] for the train/holdout split),
//! [`trends`] for engagement over several days.
//! [`assets`] wires them into the asset graph with `#[asset]`, one thin
//! function per asset.

pub mod assets;
pub mod clean;
pub mod evaluate;
pub mod events;
pub mod features;
pub mod generate;
pub mod popularity;
pub mod promote;
pub mod ranker;
pub mod split;
pub mod trends;

/// Makes sure this library, and so every asset it registers, is linked into
/// a binary that calls it. It does nothing else.
///
/// Assets register themselves with `inventory`, which the linker only keeps
/// when something in the crate is used; `main` calls this to use it.
pub fn link() {}
