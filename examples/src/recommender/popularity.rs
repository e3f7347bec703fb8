//! The popularity retrieval model: the same ranked list of items for everyone,
//! minus what a user has already seen.
//!
//! An item's score is its click-through rate shrunk toward the catalog-wide
//! rate by `prior_views` pseudo-views (so one view and one click does not top
//! the list), times `ln(1 + views)` (so exposure counts, with diminishing
//! returns):
//!
//! ```text
//! score = (clicks + prior_views * global_ctr) / (views + prior_views) * ln(1 + views)
//! ```

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::features::ItemFeature;

/// How the popularity model is built.
#[derive(Debug, Clone, PartialEq)]
pub struct PopularityConfig {
    /// How many items the model keeps, best first.
    pub depth: usize,
    /// Pseudo-views of the catalog-wide click-through rate added to every item.
    pub prior_views: f64,
}

impl Default for PopularityConfig {
    /// Keep 50 items; 20 pseudo-views.
    fn default() -> Self {
        Self {
            depth: 50,
            prior_views: 20.0,
        }
    }
}

/// One item of the ranked list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredItem {
    /// The item.
    pub item_id: i64,
    /// Its smoothed score (higher is better).
    pub score: f64,
}

/// The trained model: a ranked list of items with the parameters that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopularityModel {
    /// Pseudo-views used for smoothing.
    pub prior_views: f64,
    /// Catalog-wide clicks per view the scores were shrunk toward.
    pub global_ctr: f64,
    /// Items the model was trained on.
    pub items_seen: usize,
    /// The best items, best first (ties broken by ascending item id).
    pub ranked: Vec<ScoredItem>,
}

/// Why a popularity model cannot be trained.
#[derive(Debug, Clone, PartialEq)]
pub enum PopularityError {
    /// There are no item features (no events on the training side).
    NoItems,
    /// Items exist but none was ever viewed, so there is no rate to smooth toward.
    NoViews {
        /// How many items there were.
        items: usize,
    },
    /// The configured prior is negative or not finite.
    BadPrior(f64),
}

impl fmt::Display for PopularityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopularityError::NoItems => {
                f.write_str("cannot rank items: there are no item features")
            }
            PopularityError::NoViews { items } => {
                write!(f, "cannot rank {items} item(s): none has a single view")
            }
            PopularityError::BadPrior(p) => {
                write!(f, "prior_views must be a finite number >= 0, got {p}")
            }
        }
    }
}

impl std::error::Error for PopularityError {}

/// The smoothed score of one item (see the module documentation).
pub fn smoothed_score(clicks: i64, views: i64, global_ctr: f64, prior_views: f64) -> f64 {
    let views = views.max(0) as f64;
    let denominator = views + prior_views;
    if denominator <= 0.0 {
        return 0.0;
    }
    (clicks.max(0) as f64 + prior_views * global_ctr) / denominator * views.ln_1p()
}

/// Ranks the items by smoothed score and keeps the best `config.depth`.
pub fn train(
    items: &[ItemFeature],
    config: &PopularityConfig,
) -> Result<PopularityModel, PopularityError> {
    if !(config.prior_views.is_finite() && config.prior_views >= 0.0) {
        return Err(PopularityError::BadPrior(config.prior_views));
    }
    if items.is_empty() {
        return Err(PopularityError::NoItems);
    }
    let views: i64 = items.iter().map(|i| i.views).sum();
    if views <= 0 {
        return Err(PopularityError::NoViews { items: items.len() });
    }
    let clicks: i64 = items.iter().map(|i| i.clicks).sum();
    let global_ctr = clicks as f64 / views as f64;
    let mut ranked: Vec<ScoredItem> = items
        .iter()
        .map(|i| ScoredItem {
            item_id: i.item_id,
            score: smoothed_score(i.clicks, i.views, global_ctr, config.prior_views),
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item_id.cmp(&b.item_id)));
    ranked.truncate(config.depth);
    Ok(PopularityModel {
        prior_views: config.prior_views,
        global_ctr,
        items_seen: items.len(),
        ranked,
    })
}

impl PopularityModel {
    /// The `k` best items.
    pub fn top_k(&self, k: usize) -> Vec<i64> {
        self.ranked.iter().take(k).map(|s| s.item_id).collect()
    }

    /// The `k` best items not in `seen` (fewer if the list runs out).
    pub fn recommend(&self, k: usize, seen: &HashSet<i64>) -> Vec<i64> {
        self.ranked
            .iter()
            .map(|s| s.item_id)
            .filter(|item| !seen.contains(item))
            .take(k)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(item_id: i64, views: i64, clicks: i64) -> ItemFeature {
        ItemFeature {
            item_id,
            views,
            clicks,
            purchases: 0,
            unique_users: 1,
            ctr: 0.0,
            popularity: 0.0,
        }
    }

    fn config(depth: usize) -> PopularityConfig {
        PopularityConfig {
            depth,
            prior_views: 10.0,
        }
    }

    #[test]
    fn top_k_is_ordered_by_smoothed_score() {
        let items = [
            item(1, 100, 10), // many views, average rate
            item(2, 1, 1),    // one lucky click: shrunk toward the mean
            item(3, 100, 40), // many views, high rate: best
            item(4, 0, 0),    // never seen: score 0
            item(5, 50, 5),
        ];
        let model = train(&items, &config(10)).expect("model");
        assert_eq!(model.top_k(10), [3, 1, 5, 2, 4]);
        assert_eq!(model.top_k(2), [3, 1]);
        let scores: Vec<f64> = model.ranked.iter().map(|s| s.score).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        assert_eq!(model.global_ctr, 56.0 / 251.0);
    }

    #[test]
    fn ties_go_to_the_smaller_item_id_and_depth_truncates() {
        let items = [item(9, 10, 2), item(3, 10, 2), item(5, 10, 2)];
        let model = train(&items, &config(2)).expect("model");
        assert_eq!(model.top_k(5), [3, 5]);
        assert_eq!(model.items_seen, 3);
    }

    #[test]
    fn recommendations_skip_seen_items() {
        let items = [item(1, 100, 30), item(2, 100, 20), item(3, 100, 10)];
        let model = train(&items, &config(3)).expect("model");
        assert_eq!(model.recommend(2, &HashSet::from([1])), [2, 3]);
        assert_eq!(
            model.recommend(2, &HashSet::from([1, 2, 3])),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn the_prior_shrinks_small_samples() {
        let lucky = smoothed_score(1, 1, 0.1, 10.0);
        let unsmoothed = smoothed_score(1, 1, 0.1, 0.0);
        assert!(lucky < unsmoothed);
        assert_eq!(smoothed_score(0, 0, 0.1, 0.0), 0.0);
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert_eq!(train(&[], &config(1)), Err(PopularityError::NoItems));
        assert_eq!(
            train(&[item(1, 0, 0)], &config(1)),
            Err(PopularityError::NoViews { items: 1 })
        );
        let bad = PopularityConfig {
            depth: 1,
            prior_views: f64::NAN,
        };
        assert!(matches!(
            train(&[item(1, 1, 0)], &bad),
            Err(PopularityError::BadPrior(_))
        ));
    }
}
