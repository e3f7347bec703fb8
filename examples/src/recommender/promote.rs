//! Promotion: the model registry entry that names which of the day's models
//! may serve, given thresholds on their evaluation.
//!
//! Every check is recorded with its value and threshold, passed or not, so the
//! registry explains itself. A model is promoted when all its checks pass. A
//! missing metric (such as an AUC on a one-class holdout) fails its check.

use serde::{Deserialize, Serialize};

use super::evaluate::Evaluation;

/// The name of the popularity model in the registry.
pub const POPULARITY: &str = "popularity";
/// The name of the ranker in the registry.
pub const RANKER: &str = "ranker";

/// The bars a model must clear to be promoted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Minimum users evaluated for the popularity model to be judged at all.
    pub min_popularity_users: usize,
    /// Minimum hit rate@K of the popularity model.
    pub min_hit_rate: f64,
    /// Minimum holdout impressions for the ranker to be judged at all.
    pub min_ranker_examples: usize,
    /// Minimum AUC of the ranker.
    pub min_auc: f64,
    /// Maximum ranker log-loss as a share of the constant baseline's
    /// (`1.0`: it must do at least as well as always predicting the base rate).
    pub max_log_loss_ratio: f64,
}

impl Default for Thresholds {
    /// At least 30 users and hit rate@K >= 0.35; at least 100 impressions,
    /// AUC >= 0.60 and log-loss no worse than the baseline's.
    fn default() -> Self {
        Self {
            min_popularity_users: 30,
            min_hit_rate: 0.35,
            min_ranker_examples: 100,
            min_auc: 0.60,
            max_log_loss_ratio: 1.0,
        }
    }
}

/// Whether a metric passes: `>=` a minimum or `<=` a maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The value must be at least the threshold.
    AtLeast,
    /// The value must be at most the threshold.
    AtMost,
}

/// One threshold check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The metric checked (`hit_rate@10`, `auc`, ...).
    pub metric: String,
    /// Its value; `None` when it could not be computed.
    pub value: Option<f64>,
    /// Which way the threshold goes.
    pub bound: Bound,
    /// The threshold.
    pub threshold: f64,
    /// Whether the value clears the threshold.
    pub passed: bool,
}

impl Check {
    /// Checks `value` against `threshold`; a missing or NaN value fails.
    pub fn new(
        metric: impl Into<String>,
        value: Option<f64>,
        bound: Bound,
        threshold: f64,
    ) -> Self {
        let passed = value.is_some_and(|v| match bound {
            Bound::AtLeast => v >= threshold,
            Bound::AtMost => v <= threshold,
        });
        Self {
            metric: metric.into(),
            value,
            bound,
            threshold,
            passed,
        }
    }
}

/// One model's registry entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// The model's name ([`POPULARITY`], [`RANKER`]).
    pub model: String,
    /// The asset that holds the model.
    pub asset: String,
    /// A content fingerprint of the model (see [`fingerprint`]).
    pub fingerprint: String,
    /// The checks it was held to.
    pub checks: Vec<Check>,
    /// Whether every check passed.
    pub promoted: bool,
}

impl RegistryEntry {
    fn new(model: &str, asset: &str, fingerprint: String, checks: Vec<Check>) -> Self {
        let promoted = checks.iter().all(|c| c.passed);
        Self {
            model: model.to_owned(),
            asset: asset.to_owned(),
            fingerprint,
            checks,
            promoted,
        }
    }
}

/// The registry for one day: what was judged, against which thresholds, and
/// which models are promoted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRegistry {
    /// The partition (day) the models were trained on.
    pub partition: String,
    /// The thresholds applied.
    pub thresholds: Thresholds,
    /// One entry per model.
    pub entries: Vec<RegistryEntry>,
    /// The names of the promoted models.
    pub promoted: Vec<String>,
}

impl ModelRegistry {
    /// Whether the named model is promoted.
    pub fn is_promoted(&self, model: &str) -> bool {
        self.promoted.iter().any(|m| m == model)
    }
}

/// A stable content fingerprint: FNV-1a (64-bit) of the value's JSON, in hex.
pub fn fingerprint<T: Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let bytes = serde_json::to_vec(value)?;
    let hash = bytes.iter().fold(0xCBF2_9CE4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    });
    Ok(format!("{hash:016x}"))
}

/// Decides which models are promoted for `partition`.
pub fn decide(
    partition: &str,
    evaluation: &Evaluation,
    popularity_fingerprint: String,
    ranker_fingerprint: String,
    thresholds: &Thresholds,
) -> ModelRegistry {
    let pop = &evaluation.popularity;
    let popularity = RegistryEntry::new(
        POPULARITY,
        "popularity_model",
        popularity_fingerprint,
        vec![
            Check::new(
                "users",
                Some(pop.users as f64),
                Bound::AtLeast,
                thresholds.min_popularity_users as f64,
            ),
            Check::new(
                format!("hit_rate@{}", pop.k),
                Some(pop.hit_rate),
                Bound::AtLeast,
                thresholds.min_hit_rate,
            ),
        ],
    );
    let r = &evaluation.ranker;
    let loss_ratio = (r.baseline_log_loss > 0.0).then(|| r.log_loss / r.baseline_log_loss);
    let ranker = RegistryEntry::new(
        RANKER,
        "ranker_model",
        ranker_fingerprint,
        vec![
            Check::new(
                "examples",
                Some(r.examples as f64),
                Bound::AtLeast,
                thresholds.min_ranker_examples as f64,
            ),
            Check::new("auc", r.auc, Bound::AtLeast, thresholds.min_auc),
            Check::new(
                "log_loss / baseline_log_loss",
                loss_ratio,
                Bound::AtMost,
                thresholds.max_log_loss_ratio,
            ),
        ],
    );
    let entries = vec![popularity, ranker];
    let promoted = entries
        .iter()
        .filter(|e| e.promoted)
        .map(|e| e.model.clone())
        .collect();
    ModelRegistry {
        partition: partition.to_owned(),
        thresholds: thresholds.clone(),
        entries,
        promoted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommender::evaluate::{PopularityMetrics, RankerMetrics};

    fn evaluation(hit_rate: f64, auc: Option<f64>, log_loss: f64) -> Evaluation {
        Evaluation {
            train_events: 800,
            holdout_events: 200,
            popularity: PopularityMetrics {
                k: 10,
                users: 50,
                hit_rate,
                precision: 0.1,
            },
            ranker: RankerMetrics {
                examples: 150,
                positives: 40,
                auc,
                log_loss,
                baseline_log_loss: 0.6,
            },
        }
    }

    fn run(e: &Evaluation) -> ModelRegistry {
        decide(
            "2024-01-01",
            e,
            "p".into(),
            "r".into(),
            &Thresholds::default(),
        )
    }

    #[test]
    fn good_models_are_both_promoted() {
        let registry = run(&evaluation(0.5, Some(0.7), 0.5));
        assert_eq!(registry.promoted, [POPULARITY, RANKER]);
        assert!(
            registry
                .entries
                .iter()
                .all(|e| e.checks.iter().all(|c| c.passed))
        );
        assert_eq!(registry.partition, "2024-01-01");
    }

    #[test]
    fn thresholds_are_inclusive() {
        let registry = run(&evaluation(0.35, Some(0.60), 0.6));
        assert!(registry.is_promoted(POPULARITY));
        assert!(registry.is_promoted(RANKER), "{registry:#?}");
    }

    #[test]
    fn just_below_a_threshold_is_not_promoted() {
        let registry = run(&evaluation(0.349, Some(0.599), 0.5));
        assert!(registry.promoted.is_empty());
        let failed: Vec<&str> = registry
            .entries
            .iter()
            .flat_map(|e| &e.checks)
            .filter(|c| !c.passed)
            .map(|c| c.metric.as_str())
            .collect();
        assert_eq!(failed, ["hit_rate@10", "auc"]);
    }

    #[test]
    fn a_ranker_worse_than_the_baseline_is_not_promoted() {
        let registry = run(&evaluation(0.5, Some(0.9), 0.61));
        assert_eq!(registry.promoted, [POPULARITY]);
    }

    #[test]
    fn missing_or_nan_metrics_fail() {
        assert!(!run(&evaluation(0.5, None, 0.5)).is_promoted(RANKER));
        assert!(!run(&evaluation(f64::NAN, Some(0.7), 0.5)).is_promoted(POPULARITY));
    }

    #[test]
    fn too_little_evidence_is_not_promoted() {
        let mut e = evaluation(0.9, Some(0.9), 0.1);
        e.popularity.users = 29;
        e.ranker.examples = 99;
        assert!(run(&e).promoted.is_empty());
    }

    #[test]
    fn fingerprints_are_stable_and_content_sensitive() {
        let a = fingerprint(&evaluation(0.5, Some(0.7), 0.5)).expect("json");
        assert_eq!(
            a,
            fingerprint(&evaluation(0.5, Some(0.7), 0.5)).expect("json")
        );
        assert_ne!(
            a,
            fingerprint(&evaluation(0.5, Some(0.7), 0.4)).expect("json")
        );
        assert_eq!(a.len(), 16);
    }
}
