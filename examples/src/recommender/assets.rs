//! The recommender's assets: one thin `#[asset]` function per job.
//!
//! Each function converts its inputs, calls the pure job function, and wraps
//! the result in its own asset type (the type *is* the asset's identity: a
//! parameter of type `ItemFeatures` is the edge `item_features -> ...`).
//! Tables are stored as Parquet, one partition per day; models, evaluation
//! and registry are stored as JSON documents.

use asset_core::prelude::*;

use super::clean::{CleanConfig, clean};
use super::evaluate::{EvalConfig, Evaluation, evaluate};
use super::events::{CleanEvent, raw_events_from_batch, raw_events_to_batch};
use super::features::{
    ItemFeature, item_features as item_features_of, user_features as user_features_of,
    user_features_from_batch, user_features_to_batch,
};
use super::generate::{GeneratorConfig, generate_events};
use super::popularity::{PopularityConfig, PopularityModel, train as train_popularity};
use super::promote::{ModelRegistry, Thresholds, decide, fingerprint};
use super::ranker::{RankerModel, TrainConfig, train_ranker};
use super::split;
use super::trends::{ItemTrend, accumulate, rolling};

/// The day's raw interaction events (see [`raw_schema`](super::events::raw_schema)).
#[derive(Debug, Clone, Table)]
pub struct RawEvents(pub RecordBatch);

/// The day's valid, unique, human events.
#[derive(Debug, Clone, Table)]
pub struct CleanEvents(pub Vec<CleanEvent>);

/// Per-user features (see [`user_features_schema`](super::features::user_features_schema)).
#[derive(Debug, Clone, Table)]
pub struct UserFeatures(pub RecordBatch);

/// Per-item features.
#[derive(Debug, Clone, Table)]
pub struct ItemFeatures(pub Vec<ItemFeature>);

/// Raw interaction events landed from the web tier for one day: views, clicks
/// and purchases of ~100 items by ~200 users (generated deterministically from
/// the date), including duplicates, broken rows and bots.
#[asset(partitions = daily("2024-01-01"), severity = P1)]
pub async fn raw_events(ctx: &AssetContext) -> Result<RawEvents> {
    let date = ctx.partition_date().ok_or_else(|| {
        AssetError::msg(format!(
            "raw_events needs a daily partition, got {:?}",
            ctx.partition()
        ))
    })?;
    let events = generate_events(date, &GeneratorConfig::default());
    Ok(RawEvents(raw_events_to_batch(&events)?))
}

/// Clean events: raw events without duplicate event ids, unknown event kinds,
/// negative dwell times, or bot users (more than 150 events in the day).
#[asset(partitions = daily("2024-01-01"))]
pub fn clean_events(raw: RawEvents) -> Result<CleanEvents> {
    let rows = raw_events_from_batch(&raw.0)
        .map_err(|e| AssetError::msg(format!("reading raw_events: {e}")))?;
    let cleaned = clean(&rows, &CleanConfig::default());
    if cleaned.events.is_empty() {
        return Err(AssetError::msg(format!(
            "no event survived cleaning: {}",
            cleaned.report
        )));
    }
    Ok(CleanEvents(cleaned.events))
}

/// Per-user features over the training split of the day's clean events:
/// views, clicks, purchases, click-through rate and purchase rate.
#[asset(partitions = daily("2024-01-01"))]
pub fn user_features(events: CleanEvents) -> Result<UserFeatures> {
    let users = user_features_of(&split::train(&events.0));
    Ok(UserFeatures(user_features_to_batch(&users)?))
}

/// Per-item features over the training split of the day's clean events:
/// views, clicks, purchases, distinct users, click-through rate and
/// popularity (share of all events).
#[asset(partitions = daily("2024-01-01"))]
pub fn item_features(events: CleanEvents) -> Result<ItemFeatures> {
    Ok(ItemFeatures(item_features_of(&split::train(&events.0))))
}

/// The popularity retrieval model: the top items by click-through rate shrunk
/// toward the catalog mean, weighted by log exposure.
#[asset(partitions = daily("2024-01-01"), io = "json")]
pub fn popularity_model(items: ItemFeatures) -> Result<PopularityModel> {
    Ok(train_popularity(&items.0, &PopularityConfig::default())?)
}

/// The ranker: a logistic regression on user and item features predicting
/// whether a user engages with an item, trained on the training split.
#[asset(partitions = daily("2024-01-01"), io = "json")]
pub fn ranker_model(
    users: UserFeatures,
    items: ItemFeatures,
    events: CleanEvents,
) -> Result<RankerModel> {
    let users = user_features_from_batch(&users.0)
        .map_err(|e| AssetError::msg(format!("reading user_features: {e}")))?;
    let train = split::train(&events.0);
    Ok(train_ranker(
        &users,
        &items.0,
        &train,
        &TrainConfig::default(),
    )?)
}

/// Offline evaluation on the holdout split: hit rate@10 and precision@10 of
/// the popularity model, AUC and log-loss (against a constant baseline) of
/// the ranker.
#[asset(partitions = daily("2024-01-01"), io = "json")]
pub fn evaluation(
    popularity: PopularityModel,
    ranker: RankerModel,
    users: UserFeatures,
    items: ItemFeatures,
    events: CleanEvents,
) -> Result<Evaluation> {
    let users = user_features_from_batch(&users.0)
        .map_err(|e| AssetError::msg(format!("reading user_features: {e}")))?;
    Ok(evaluate(
        &popularity,
        &ranker,
        &users,
        &items.0,
        &events.0,
        &EvalConfig::default(),
    )?)
}

/// The model registry entry for the day: each model's fingerprint, the
/// threshold checks it was held to, and the names of the promoted models.
///
/// Run unattended: each night at 02:30, once the day has ended, the daemon
/// materializes the day just ended and whatever upstream of it is stale; the
/// day's entry is due six hours after midnight, and its alerts are P1.
#[asset(
    partitions = daily("2024-01-01"),
    io = "json",
    schedule = "30 2 * * *",
    sla = "6h",
    severity = P1
)]
pub fn model_registry(
    ctx: &AssetContext,
    evaluation: Evaluation,
    popularity: PopularityModel,
    ranker: RankerModel,
) -> Result<ModelRegistry> {
    let partition = ctx.partition().unwrap_or("unpartitioned");
    Ok(decide(
        partition,
        &evaluation,
        fingerprint(&popularity)?,
        fingerprint(&ranker)?,
        &Thresholds::default(),
    ))
}

/// Each item's engagement over the 7 days ending at this one.
#[derive(Debug, Clone, Table)]
pub struct WeeklyItemTrends(pub Vec<ItemTrend>);

/// Each item's engagement since the first day.
#[derive(Debug, Clone, Table)]
pub struct ItemTotals(pub Vec<ItemTrend>);

/// Item engagement over the 7 days ending at this partition (fewer in the
/// first week: the window holds only the days that exist).
#[asset(partitions = daily("2024-01-01"), severity = P3)]
pub fn weekly_item_trends(week: Window<ItemFeatures, 7>) -> Result<WeeklyItemTrends> {
    Ok(WeeklyItemTrends(rolling(
        week.values().map(|d| d.0.as_slice()),
    )))
}

/// Item engagement since the first day: yesterday's totals plus today's
/// features. Reading its own previous partition makes it self-dependent, so
/// a backfill computes its days in order.
#[asset(partitions = daily("2024-01-01"))]
pub fn item_totals(previous: Prev<ItemTotals>, today: ItemFeatures) -> Result<ItemTotals> {
    let previous = previous.value().map(|t| t.0.as_slice());
    Ok(ItemTotals(accumulate(previous, &today.0)))
}

#[cfg(test)]
mod tests {
    use asset_core::testing::TestPipeline;
    use chrono::{Days, NaiveDate};

    use super::*;
    use crate::recommender::events::raw_events_from_batch;
    use crate::recommender::promote::{POPULARITY, RANKER};

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    /// One day through the asset functions, called as the plain functions they are.
    fn run_day(date: NaiveDate) -> (CleanEvents, ModelRegistry) {
        let generated = generate_events(date, &GeneratorConfig::default());
        let raw = RawEvents(raw_events_to_batch(&generated).expect("raw batch"));
        let clean = clean_events(raw).expect("clean_events");
        let users = user_features(clean.clone()).expect("user_features");
        let items = item_features(clean.clone()).expect("item_features");
        let popularity = popularity_model(items.clone()).expect("popularity_model");
        let ranker =
            ranker_model(users.clone(), items.clone(), clean.clone()).expect("ranker_model");
        let evaluation = evaluation(
            popularity.clone(),
            ranker.clone(),
            users,
            items,
            clean.clone(),
        )
        .expect("evaluation");
        let days = asset_core::PartitionsDef::daily("2024-01-01").expect("a valid start day");
        let key = days
            .validate("model_registry", &date.to_string())
            .expect("a valid day");
        let context =
            asset_core::AssetContext::new("model_registry", Some(key), Some(date), "test".into());
        let registry = model_registry(&context, evaluation, popularity, ranker).expect("registry");
        (clean, registry)
    }

    #[test]
    fn a_week_of_daily_runs_promotes_sensible_models() {
        let start = day("2024-01-01");
        let mut ranker_days = 0;
        for offset in 0..7 {
            let date = start + Days::new(offset);
            let (clean, registry) = run_day(date);
            // Cleaning removes exactly the injected bad rows: ~2,000 good events stay.
            assert!(
                (2_000..=2_002).contains(&clean.0.len()),
                "{date}: {}",
                clean.0.len()
            );
            assert!(
                clean.0.iter().all(|e| e.user_id < 1_000),
                "{date}: a bot survived"
            );
            assert!(registry.is_promoted(POPULARITY), "{date}: {registry:#?}");
            ranker_days += usize::from(registry.is_promoted(RANKER));
        }
        assert!(
            ranker_days >= 5,
            "the ranker is promoted on most days, got {ranker_days}/7"
        );
    }

    #[test]
    fn the_daily_run_materializes_end_to_end() {
        let pipeline = TestPipeline::new().expect("pipeline");
        let report = pipeline
            .materialize("*", Some("2024-01-01"))
            .expect("a valid selection");
        assert!(report.succeeded());

        // Values round-trip through Parquet and JSON unchanged.
        let date = day("2024-01-01");
        let raw: RawEvents = pipeline.read(Some("2024-01-01")).expect("raw_events");
        let generated = generate_events(date, &GeneratorConfig::default());
        assert_eq!(raw_events_from_batch(&raw.0).expect("rows"), generated);
        let clean: CleanEvents = pipeline.read(Some("2024-01-01")).expect("clean_events");
        let (expected_clean, expected_registry) = run_day(date);
        assert_eq!(clean.0, expected_clean.0);
        let registry: ModelRegistry = pipeline.read(Some("2024-01-01")).expect("model_registry");
        assert_eq!(registry, expected_registry);
        assert_eq!(registry.promoted, [POPULARITY, RANKER]);
    }

    #[test]
    fn a_day_is_reproducible_bit_for_bit() {
        let read = || {
            let pipeline = TestPipeline::new().expect("pipeline");
            let report = pipeline
                .materialize("+model_registry", Some("2024-02-29"))
                .expect("a valid selection");
            assert!(report.succeeded());
            let ranker: RankerModel = pipeline.read(Some("2024-02-29")).expect("ranker_model");
            let registry: ModelRegistry = pipeline.read(Some("2024-02-29")).expect("registry");
            (ranker, registry)
        };
        let (ranker_a, registry_a) = read();
        let (ranker_b, registry_b) = read();
        assert_eq!(ranker_a, ranker_b);
        assert_eq!(registry_a, registry_b);
    }
}
