//! Offline evaluation of both models on the day's holdout pairs.
//!
//! * Popularity model: for each user with an engagement (click or purchase)
//!   on the holdout side, recommend the top K items they have not touched on
//!   the training side; hit rate@K is the share of users with at least one
//!   engaged item in their list, precision@K the mean share of the list that
//!   they engaged with.
//! * Ranker: score every holdout impression; AUC (the probability that a
//!   random engaged pair outranks a random unengaged one) and log-loss,
//!   against the log-loss of always predicting the training positive rate.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::events::{CleanEvent, EventKind};
use super::features::{ItemFeature, UserFeature, impressions};
use super::popularity::PopularityModel;
use super::ranker::{FeatureStore, RankerModel, log_loss};
use super::split;

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalConfig {
    /// List length for hit rate and precision.
    pub k: usize,
}

impl Default for EvalConfig {
    /// K = 10.
    fn default() -> Self {
        Self { k: 10 }
    }
}

/// How well the popularity model retrieves what users engaged with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopularityMetrics {
    /// List length.
    pub k: usize,
    /// Users with at least one holdout engagement.
    pub users: usize,
    /// Share of those users with a hit in their top K.
    pub hit_rate: f64,
    /// Mean share of each top-K list that the user engaged with.
    pub precision: f64,
}

/// How well the ranker separates engaged from unengaged pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerMetrics {
    /// Holdout impressions scored.
    pub examples: usize,
    /// Engaged impressions among them.
    pub positives: usize,
    /// Area under the ROC curve; `None` when only one class is present.
    pub auc: Option<f64>,
    /// Mean log-loss of the ranker's probabilities.
    pub log_loss: f64,
    /// Mean log-loss of always predicting the training positive rate.
    pub baseline_log_loss: f64,
}

/// The evaluation of one day's models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Clean events on the training side.
    pub train_events: usize,
    /// Clean events on the holdout side.
    pub holdout_events: usize,
    /// The popularity model's retrieval quality.
    pub popularity: PopularityMetrics,
    /// The ranker's discrimination and calibration.
    pub ranker: RankerMetrics,
}

/// Why an evaluation cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// There are no holdout events.
    EmptyHoldout {
        /// Clean events in total.
        events: usize,
    },
    /// K is zero.
    ZeroK,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::EmptyHoldout { events } => {
                write!(
                    f,
                    "none of the {events} clean event(s) is on the holdout side"
                )
            }
            EvalError::ZeroK => f.write_str("k must be at least 1"),
        }
    }
}

impl std::error::Error for EvalError {}

/// Area under the ROC curve of `scores` for `labels` (ties count one half);
/// `None` when either class is absent or the lengths differ.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let positives = labels.iter().filter(|&&y| y).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Mann-Whitney U with mid-ranks for ties.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let mid_rank = (start + 1 + end) as f64 / 2.0; // ranks start..end, 1-based
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += mid_rank * tied_positives as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Hit rate@K and precision@K of `recommendations` (user -> list) against
/// `relevant` (user -> engaged items), over the users in `relevant`.
pub fn hit_rate_and_precision(
    recommendations: &BTreeMap<i64, Vec<i64>>,
    relevant: &BTreeMap<i64, BTreeSet<i64>>,
    k: usize,
) -> (f64, f64) {
    if relevant.is_empty() || k == 0 {
        return (0.0, 0.0);
    }
    let mut hits = 0;
    let mut precision_sum = 0.0;
    for (user, wanted) in relevant {
        let list = recommendations.get(user).map_or(&[][..], |l| &l[..]);
        let found = list.iter().take(k).filter(|i| wanted.contains(i)).count();
        if found > 0 {
            hits += 1;
        }
        precision_sum += found as f64 / k as f64;
    }
    let users = relevant.len() as f64;
    (f64::from(hits) / users, precision_sum / users)
}

/// Evaluates both models on the holdout side of `events`, with the features
/// (computed on the training side) the ranker scores with.
pub fn evaluate(
    popularity: &PopularityModel,
    ranker: &RankerModel,
    users: &[UserFeature],
    items: &[ItemFeature],
    events: &[CleanEvent],
    config: &EvalConfig,
) -> Result<Evaluation, EvalError> {
    if config.k == 0 {
        return Err(EvalError::ZeroK);
    }
    let train = split::train(events);
    let holdout = split::holdout(events);
    if holdout.is_empty() {
        return Err(EvalError::EmptyHoldout {
            events: events.len(),
        });
    }

    let mut seen: BTreeMap<i64, HashSet<i64>> = BTreeMap::new();
    for e in &train {
        seen.entry(e.user_id).or_default().insert(e.item_id);
    }
    let mut relevant: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for e in holdout.iter().filter(|e| e.kind != EventKind::View) {
        relevant.entry(e.user_id).or_default().insert(e.item_id);
    }
    let no_history = HashSet::new();
    let recommendations: BTreeMap<i64, Vec<i64>> = relevant
        .keys()
        .map(|&user| {
            let history = seen.get(&user).unwrap_or(&no_history);
            (user, popularity.recommend(config.k, history))
        })
        .collect();
    let (hit_rate, precision) = hit_rate_and_precision(&recommendations, &relevant, config.k);

    let store = FeatureStore::new(users, items);
    let pairs = impressions(&holdout);
    let labels: Vec<bool> = pairs.iter().map(|p| p.clicked()).collect();
    let scores: Vec<f64> = pairs
        .iter()
        .map(|p| ranker.score(store.user(p.user_id), store.item(p.item_id)))
        .collect();
    let baseline = vec![ranker.train_positive_rate; labels.len()];

    Ok(Evaluation {
        train_events: train.len(),
        holdout_events: holdout.len(),
        popularity: PopularityMetrics {
            k: config.k,
            users: relevant.len(),
            hit_rate,
            precision,
        },
        ranker: RankerMetrics {
            examples: pairs.len(),
            positives: labels.iter().filter(|&&y| y).count(),
            auc: auc(&scores, &labels),
            log_loss: log_loss(&scores, &labels).unwrap_or(0.0),
            baseline_log_loss: log_loss(&baseline, &labels).unwrap_or(0.0),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommender::generate::SplitMix64;

    #[test]
    fn a_perfect_scorer_has_auc_one_and_a_reversed_one_zero() {
        let labels = [false, false, true, true, true];
        let scores = [0.1, 0.2, 0.7, 0.8, 0.9];
        assert_eq!(auc(&scores, &labels), Some(1.0));
        let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
        assert_eq!(auc(&reversed, &labels), Some(0.0));
    }

    #[test]
    fn a_constant_scorer_has_auc_one_half() {
        assert_eq!(auc(&[0.3; 4], &[true, false, true, false]), Some(0.5));
    }

    #[test]
    fn a_random_scorer_has_auc_near_one_half() {
        let mut rng = SplitMix64::new(7);
        let labels: Vec<bool> = (0..4_000).map(|_| rng.chance(0.3)).collect();
        let scores: Vec<f64> = (0..4_000).map(|_| rng.next_f64()).collect();
        let a = auc(&scores, &labels).expect("both classes");
        assert!((a - 0.5).abs() < 0.03, "{a}");
    }

    #[test]
    fn auc_by_hand_with_a_tie() {
        // Pairs (pos, neg): (0.8, 0.4) win, (0.8, 0.8) tie, (0.3, 0.4) loss, (0.3, 0.8) loss.
        let auc = auc(&[0.8, 0.3, 0.4, 0.8], &[true, true, false, false]);
        assert_eq!(auc, Some(1.5 / 4.0));
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auc(&[], &[]), None);
        assert_eq!(auc(&[0.1], &[true, false]), None);
    }

    #[test]
    fn hit_rate_and_precision_by_hand() {
        let recommendations =
            BTreeMap::from([(1, vec![10, 20]), (2, vec![10, 20]), (3, vec![30, 40])]);
        let relevant = BTreeMap::from([
            (1, BTreeSet::from([10, 20])), // 2 hits
            (2, BTreeSet::from([20])),     // 1 hit
            (3, BTreeSet::from([99])),     // miss
            (4, BTreeSet::from([10])),     // no list at all: miss
        ]);
        let (hit_rate, precision) = hit_rate_and_precision(&recommendations, &relevant, 2);
        assert_eq!(hit_rate, 0.5);
        assert_eq!(precision, (1.0 + 0.5 + 0.0 + 0.0) / 4.0);
    }
}
