//! The ranker: logistic regression on (user features ⊕ item features) that
//! predicts whether a user engages with (clicks or buys) an item.
//!
//! Training is full-batch gradient descent on standardized features for a
//! fixed number of iterations, in a fixed order: the same inputs always give
//! the same weights.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::events::CleanEvent;
use super::features::{Impression, ItemFeature, UserFeature, impressions};

/// The ranker's inputs, in the order of [`feature_vector`].
pub const FEATURE_NAMES: [&str; 6] = [
    "user_log_views",
    "user_ctr",
    "user_purchase_rate",
    "item_log_views",
    "item_ctr",
    "item_popularity",
];

/// The number of ranker inputs.
pub const N_FEATURES: usize = FEATURE_NAMES.len();

/// The ranker's inputs for a (user, item) pair; an unknown user or item
/// (a cold start) contributes zeros.
pub fn feature_vector(user: Option<&UserFeature>, item: Option<&ItemFeature>) -> [f64; N_FEATURES] {
    let (u_views, u_ctr, u_buy) = user.map_or((0.0, 0.0, 0.0), |u| {
        ((u.views.max(0) as f64).ln_1p(), u.ctr, u.purchase_rate)
    });
    let (i_views, i_ctr, i_pop) = item.map_or((0.0, 0.0, 0.0), |i| {
        ((i.views.max(0) as f64).ln_1p(), i.ctr, i.popularity)
    });
    [u_views, u_ctr, u_buy, i_views, i_ctr, i_pop]
}

/// Gradient descent settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Full-batch gradient steps.
    pub iterations: usize,
    /// Step size.
    pub learning_rate: f64,
    /// L2 penalty on the weights (not the bias).
    pub l2: f64,
    /// How many loss values to record along the way (plus the final one).
    pub loss_samples: usize,
}

impl Default for TrainConfig {
    /// 300 steps of size 0.5, L2 0.001, 10 loss samples.
    fn default() -> Self {
        Self {
            iterations: 300,
            learning_rate: 0.5,
            l2: 1e-3,
            loss_samples: 10,
        }
    }
}

/// Why a model cannot be trained.
#[derive(Debug, Clone, PartialEq)]
pub enum RankerError {
    /// There is nothing to learn from.
    NoExamples,
    /// Every example has the same label, so there is no boundary to learn.
    OneClass {
        /// Examples.
        examples: usize,
        /// Positive examples among them.
        positives: usize,
    },
    /// Feature rows and labels disagree in number, or rows in width.
    Shape(String),
    /// A feature value is NaN or infinite.
    NonFinite {
        /// The example.
        row: usize,
        /// The feature index.
        column: usize,
    },
    /// Training diverged (the loss is not finite); lower the learning rate.
    Diverged {
        /// The iteration at which it was noticed.
        iteration: usize,
    },
}

impl fmt::Display for RankerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RankerError::NoExamples => f.write_str("no training examples"),
            RankerError::OneClass {
                examples,
                positives,
            } => write!(
                f,
                "all {examples} training examples have the same label ({positives} positive): nothing to learn"
            ),
            RankerError::Shape(s) => write!(f, "bad training data shape: {s}"),
            RankerError::NonFinite { row, column } => {
                write!(
                    f,
                    "feature {column} of example {row} is not a finite number"
                )
            }
            RankerError::Diverged { iteration } => write!(
                f,
                "training diverged at iteration {iteration}: lower the learning rate"
            ),
        }
    }
}

impl std::error::Error for RankerError {}

/// A trained logistic regression over standardized inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// One weight per input, on the standardized scale.
    pub weights: Vec<f64>,
    /// The intercept.
    pub bias: f64,
    /// Training mean of each input.
    pub means: Vec<f64>,
    /// Training standard deviation of each input (`1` where it was `0`).
    pub scales: Vec<f64>,
    /// Mean log-loss on the training set, sampled along the way; the last is final.
    pub loss_curve: Vec<f64>,
}

/// The logistic function, computed without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Mean binary cross-entropy of probabilities `p` against `labels`, with `p`
/// clipped to `[1e-12, 1 - 1e-12]`; `None` when there are no examples.
pub fn log_loss(p: &[f64], labels: &[bool]) -> Option<f64> {
    if p.is_empty() || p.len() != labels.len() {
        return None;
    }
    let total: f64 = p
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(1e-12, 1.0 - 1e-12);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    Some(total / p.len() as f64)
}

impl LogisticModel {
    fn standardize(&self, x: &[f64]) -> impl Iterator<Item = f64> {
        x.iter()
            .zip(self.means.iter().zip(&self.scales))
            .map(|(v, (m, s))| (v - m) / s)
    }

    /// The predicted probability of a positive label for raw inputs `x`.
    pub fn predict(&self, x: &[f64]) -> f64 {
        let z: f64 = self.bias
            + self
                .standardize(x)
                .zip(&self.weights)
                .map(|(v, w)| v * w)
                .sum::<f64>();
        sigmoid(z)
    }
}

/// Trains a logistic regression on rows `xs` (all the same width) and labels `ys`.
pub fn train_logistic<X: AsRef<[f64]>>(
    xs: &[X],
    ys: &[bool],
    config: &TrainConfig,
) -> Result<LogisticModel, RankerError> {
    if xs.len() != ys.len() {
        return Err(RankerError::Shape(format!(
            "{} feature rows but {} labels",
            xs.len(),
            ys.len()
        )));
    }
    let Some(first) = xs.first() else {
        return Err(RankerError::NoExamples);
    };
    let width = first.as_ref().len();
    for (row, x) in xs.iter().enumerate() {
        let x = x.as_ref();
        if x.len() != width {
            return Err(RankerError::Shape(format!(
                "example {row} has {} features, example 0 has {width}",
                x.len()
            )));
        }
        if let Some(column) = x.iter().position(|v| !v.is_finite()) {
            return Err(RankerError::NonFinite { row, column });
        }
    }
    let positives = ys.iter().filter(|&&y| y).count();
    if positives == 0 || positives == ys.len() {
        return Err(RankerError::OneClass {
            examples: ys.len(),
            positives,
        });
    }

    let n = xs.len() as f64;
    let mut means = vec![0.0; width];
    for x in xs {
        for (m, v) in means.iter_mut().zip(x.as_ref()) {
            *m += v / n;
        }
    }
    let mut scales = vec![0.0; width];
    for x in xs {
        for ((s, v), m) in scales.iter_mut().zip(x.as_ref()).zip(&means) {
            *s += (v - m) * (v - m) / n;
        }
    }
    for s in &mut scales {
        *s = if *s > 0.0 { s.sqrt() } else { 1.0 };
    }
    let standardized: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| {
            x.as_ref()
                .iter()
                .zip(means.iter().zip(&scales))
                .map(|(v, (m, s))| (v - m) / s)
                .collect()
        })
        .collect();

    let mut model = LogisticModel {
        weights: vec![0.0; width],
        bias: 0.0,
        means,
        scales,
        loss_curve: Vec::new(),
    };
    let every = (config.iterations / config.loss_samples.max(1)).max(1);
    let mut grad = vec![0.0; width];
    let mut predictions = vec![0.0; standardized.len()];
    for iteration in 0..=config.iterations {
        for (p, x) in predictions.iter_mut().zip(&standardized) {
            let z: f64 = model.bias
                + x.iter()
                    .zip(&model.weights)
                    .map(|(v, w)| v * w)
                    .sum::<f64>();
            *p = sigmoid(z);
        }
        if iteration % every == 0 || iteration == config.iterations {
            let loss = log_loss(&predictions, ys).unwrap_or(f64::NAN);
            if !loss.is_finite() {
                return Err(RankerError::Diverged { iteration });
            }
            model.loss_curve.push(loss);
        }
        if iteration == config.iterations {
            break;
        }
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut grad_bias = 0.0;
        for ((x, &p), &y) in standardized.iter().zip(&predictions).zip(ys) {
            let error = p - if y { 1.0 } else { 0.0 };
            grad_bias += error / n;
            for (g, v) in grad.iter_mut().zip(x) {
                *g += error * v / n;
            }
        }
        for (w, g) in model.weights.iter_mut().zip(&grad) {
            *w -= config.learning_rate * (g + config.l2 * *w);
        }
        model.bias -= config.learning_rate * grad_bias;
        if !(model.bias.is_finite() && model.weights.iter().all(|w| w.is_finite())) {
            return Err(RankerError::Diverged { iteration });
        }
    }
    Ok(model)
}

/// The trained ranker: feature names, the regression, and what it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerModel {
    /// The inputs, in order ([`FEATURE_NAMES`]).
    pub feature_names: Vec<String>,
    /// The regression.
    pub model: LogisticModel,
    /// Training examples ((user, item) pairs).
    pub train_examples: usize,
    /// Share of training examples that were positive: the constant baseline's prediction.
    pub train_positive_rate: f64,
}

impl RankerModel {
    /// The probability that `user` engages with `item` (either may be unknown).
    pub fn score(&self, user: Option<&UserFeature>, item: Option<&ItemFeature>) -> f64 {
        self.model.predict(&feature_vector(user, item))
    }

    /// Final training loss.
    pub fn final_loss(&self) -> Option<f64> {
        self.model.loss_curve.last().copied()
    }
}

/// Looks features up by id.
#[derive(Debug, Clone, Default)]
pub struct FeatureStore<'a> {
    users: HashMap<i64, &'a UserFeature>,
    items: HashMap<i64, &'a ItemFeature>,
}

impl<'a> FeatureStore<'a> {
    /// An index over these features.
    pub fn new(users: &'a [UserFeature], items: &'a [ItemFeature]) -> Self {
        Self {
            users: users.iter().map(|u| (u.user_id, u)).collect(),
            items: items.iter().map(|i| (i.item_id, i)).collect(),
        }
    }

    /// The user's features, if known.
    pub fn user(&self, user_id: i64) -> Option<&'a UserFeature> {
        self.users.get(&user_id).copied()
    }

    /// The item's features, if known.
    pub fn item(&self, item_id: i64) -> Option<&'a ItemFeature> {
        self.items.get(&item_id).copied()
    }
}

/// Trains the ranker on the impressions of `train_events`, with features looked
/// up in `users` and `items` (computed over the same events).
///
/// Each example's features leave its own pair out ([`UserFeature::without`],
/// [`ItemFeature::without`]): a holdout pair is scored with features that
/// never saw it, so a training pair must be too, or the model learns to read
/// its own label from the click-through rates.
pub fn train_ranker(
    users: &[UserFeature],
    items: &[ItemFeature],
    train_events: &[CleanEvent],
    config: &TrainConfig,
) -> Result<RankerModel, RankerError> {
    let store = FeatureStore::new(users, items);
    let examples = impressions(train_events);
    let total_events = train_events.len() as i64;
    let xs: Vec<[f64; N_FEATURES]> = examples
        .iter()
        .map(|pair| {
            let user = store.user(pair.user_id).map(|u| u.without(pair));
            let item = store
                .item(pair.item_id)
                .map(|i| i.without(pair, total_events));
            feature_vector(user.as_ref(), item.as_ref())
        })
        .collect();
    let ys: Vec<bool> = examples.iter().map(Impression::clicked).collect();
    let model = train_logistic(&xs, &ys, config)?;
    let positives = ys.iter().filter(|&&y| y).count();
    Ok(RankerModel {
        feature_names: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
        model,
        train_examples: ys.len(),
        train_positive_rate: positives as f64 / ys.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommender::events::EventKind;

    /// Two noisy-free clusters: label = x0 + x1 > 1, with a margin.
    fn separable() -> (Vec<[f64; 2]>, Vec<bool>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                let (a, b) = (f64::from(i) / 10.0, f64::from(j) / 10.0);
                let s = a + b;
                if (s - 0.9).abs() < 0.15 {
                    continue; // leave a margin around the boundary
                }
                xs.push([a, b]);
                ys.push(s > 0.9);
            }
        }
        (xs, ys)
    }

    #[test]
    fn learns_a_separable_toy_set() {
        let (xs, ys) = separable();
        let model = train_logistic(&xs, &ys, &TrainConfig::default()).expect("trains");
        let curve = &model.loss_curve;
        assert!(curve.len() >= 2);
        assert!(
            curve.windows(2).all(|w| w[1] <= w[0]),
            "loss never rises: {curve:?}"
        );
        assert!(curve[curve.len() - 1] < curve[0] * 0.5, "{curve:?}");
        let correct = xs
            .iter()
            .zip(&ys)
            .filter(|(x, y)| (model.predict(&x[..]) > 0.5) == **y)
            .count();
        let accuracy = correct as f64 / xs.len() as f64;
        assert!(accuracy > 0.9, "accuracy {accuracy}");
    }

    #[test]
    fn training_is_deterministic() {
        let (xs, ys) = separable();
        let a = train_logistic(&xs, &ys, &TrainConfig::default()).expect("a");
        let b = train_logistic(&xs, &ys, &TrainConfig::default()).expect("b");
        assert_eq!(a, b);
    }

    #[test]
    fn bad_training_data_is_refused() {
        let config = TrainConfig::default();
        assert_eq!(
            train_logistic::<[f64; 1]>(&[], &[], &config),
            Err(RankerError::NoExamples)
        );
        assert_eq!(
            train_logistic(&[[1.0], [2.0]], &[true, true], &config),
            Err(RankerError::OneClass {
                examples: 2,
                positives: 2
            })
        );
        assert!(matches!(
            train_logistic(&[[1.0], [f64::NAN]], &[true, false], &config),
            Err(RankerError::NonFinite { row: 1, column: 0 })
        ));
        assert!(matches!(
            train_logistic(&[vec![1.0], vec![1.0, 2.0]], &[true, false], &config),
            Err(RankerError::Shape(_))
        ));
    }

    #[test]
    fn sigmoid_and_log_loss() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(800.0) <= 1.0 && sigmoid(-800.0) >= 0.0);
        let perfect = log_loss(&[1.0, 0.0], &[true, false]).expect("loss");
        assert!(perfect < 1e-9);
        let coin = log_loss(&[0.5, 0.5], &[true, false]).expect("loss");
        assert!((coin - std::f64::consts::LN_2).abs() < 1e-12);
        assert_eq!(log_loss(&[], &[]), None);
    }

    #[test]
    fn the_ranker_prefers_engaging_items() {
        // Item 1 is clicked by everyone who sees it, item 2 by nobody.
        let mut events = Vec::new();
        let mut id = 0;
        let mut push = |user_id, item_id, kind| {
            id += 1;
            events.push(CleanEvent {
                event_id: id,
                user_id,
                item_id,
                kind,
                ts_ms: 0,
                dwell_ms: Some(1),
            });
        };
        for user in 1..=20 {
            push(user, 1, EventKind::View);
            push(user, 1, EventKind::Click);
            push(user, 2, EventKind::View);
        }
        let users = crate::recommender::features::user_features(&events);
        let items = crate::recommender::features::item_features(&events);
        let ranker =
            train_ranker(&users, &items, &events, &TrainConfig::default()).expect("ranker");
        assert_eq!(ranker.train_examples, 40);
        assert_eq!(ranker.train_positive_rate, 0.5);
        let store = FeatureStore::new(&users, &items);
        let good = ranker.score(store.user(1), store.item(1));
        let bad = ranker.score(store.user(1), store.item(2));
        assert!(good > 0.9 && bad < 0.1, "{good} vs {bad}");
        assert_eq!(ranker.feature_names.len(), N_FEATURES);
    }
}
