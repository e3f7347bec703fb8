//! Per-user and per-item features, and the (user, item) impressions the
//! ranker learns from.
//!
//! Rates are per view: click-through rate = clicks / views, purchase rate =
//! purchases / views; both are `0` for a user or item with no views.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::events::{CleanEvent, EventKind, required_f64, required_i64};

/// Views, clicks and purchases of one user or item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    views: i64,
    clicks: i64,
    purchases: i64,
}

impl Counts {
    fn add(&mut self, kind: EventKind) {
        match kind {
            EventKind::View => self.views += 1,
            EventKind::Click => self.clicks += 1,
            EventKind::Purchase => self.purchases += 1,
        }
    }

    fn total(self) -> i64 {
        self.views + self.clicks + self.purchases
    }
}

/// `part / whole`, or `0` when `whole` is `0`.
fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// One user's behaviour over the events given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFeature {
    /// The user.
    pub user_id: i64,
    /// Views.
    pub views: i64,
    /// Clicks.
    pub clicks: i64,
    /// Purchases.
    pub purchases: i64,
    /// Click-through rate: clicks per view.
    pub ctr: f64,
    /// Purchases per view.
    pub purchase_rate: f64,
}

/// One item's engagement over the events given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemFeature {
    /// The item.
    pub item_id: i64,
    /// Views.
    pub views: i64,
    /// Clicks.
    pub clicks: i64,
    /// Purchases.
    pub purchases: i64,
    /// Distinct users who interacted with the item.
    pub unique_users: i64,
    /// Click-through rate: clicks per view.
    pub ctr: f64,
    /// Popularity score: the item's share of all events, in `[0, 1]`.
    pub popularity: f64,
}

/// Features of every user who appears in `events`, ascending by user id.
pub fn user_features(events: &[CleanEvent]) -> Vec<UserFeature> {
    let mut per_user: BTreeMap<i64, Counts> = BTreeMap::new();
    for e in events {
        per_user.entry(e.user_id).or_default().add(e.kind);
    }
    per_user
        .into_iter()
        .map(|(user_id, c)| UserFeature::from_counts(user_id, c.views, c.clicks, c.purchases))
        .collect()
}

impl UserFeature {
    /// The features of a user with these counts.
    pub fn from_counts(user_id: i64, views: i64, clicks: i64, purchases: i64) -> Self {
        Self {
            user_id,
            views,
            clicks,
            purchases,
            ctr: ratio(clicks, views),
            purchase_rate: ratio(purchases, views),
        }
    }

    /// The features the user would have without the events of `pair`
    /// (leave-one-out, so that a training pair's own label does not leak
    /// into its features).
    pub fn without(&self, pair: &Impression) -> Self {
        Self::from_counts(
            self.user_id,
            (self.views - pair.views).max(0),
            (self.clicks - pair.clicks).max(0),
            (self.purchases - pair.purchases).max(0),
        )
    }
}

impl ItemFeature {
    /// The features the item would have without the events of `pair`, where
    /// `total_events` is the event count its popularity was computed over.
    pub fn without(&self, pair: &Impression, total_events: i64) -> Self {
        let views = (self.views - pair.views).max(0);
        let clicks = (self.clicks - pair.clicks).max(0);
        let purchases = (self.purchases - pair.purchases).max(0);
        let own = self.views + self.clicks + self.purchases;
        Self {
            item_id: self.item_id,
            views,
            clicks,
            purchases,
            unique_users: (self.unique_users - 1).max(0),
            ctr: ratio(clicks, views),
            popularity: ratio(
                (own - pair.events()).max(0),
                (total_events - pair.events()).max(0),
            ),
        }
    }
}

/// Features of every item that appears in `events`, ascending by item id.
pub fn item_features(events: &[CleanEvent]) -> Vec<ItemFeature> {
    let mut per_item: BTreeMap<i64, (Counts, BTreeSet<i64>)> = BTreeMap::new();
    for e in events {
        let (counts, users) = per_item.entry(e.item_id).or_default();
        counts.add(e.kind);
        users.insert(e.user_id);
    }
    let total = events.len() as i64;
    per_item
        .into_iter()
        .map(|(item_id, (c, users))| ItemFeature {
            item_id,
            views: c.views,
            clicks: c.clicks,
            purchases: c.purchases,
            unique_users: users.len() as i64,
            ctr: ratio(c.clicks, c.views),
            popularity: ratio(c.total(), total),
        })
        .collect()
}

/// The Arrow schema of the user features table.
pub fn user_features_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Int64, false),
        Field::new("views", DataType::Int64, false),
        Field::new("clicks", DataType::Int64, false),
        Field::new("purchases", DataType::Int64, false),
        Field::new("ctr", DataType::Float64, false),
        Field::new("purchase_rate", DataType::Float64, false),
    ]))
}

/// User features as one record batch with [`user_features_schema`].
pub fn user_features_to_batch(users: &[UserFeature]) -> Result<RecordBatch, ArrowError> {
    let int = |f: fn(&UserFeature) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(users.iter().map(f)))
    };
    let float = |f: fn(&UserFeature) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(users.iter().map(f)))
    };
    RecordBatch::try_new(
        user_features_schema(),
        vec![
            int(|u| u.user_id),
            int(|u| u.views),
            int(|u| u.clicks),
            int(|u| u.purchases),
            float(|u| u.ctr),
            float(|u| u.purchase_rate),
        ],
    )
}

/// User features back from a record batch with [`user_features_schema`]'s columns.
pub fn user_features_from_batch(batch: &RecordBatch) -> Result<Vec<UserFeature>, ArrowError> {
    let user_id = required_i64(batch, "user_id")?;
    let views = required_i64(batch, "views")?;
    let clicks = required_i64(batch, "clicks")?;
    let purchases = required_i64(batch, "purchases")?;
    let ctr = required_f64(batch, "ctr")?;
    let purchase_rate = required_f64(batch, "purchase_rate")?;
    Ok((0..batch.num_rows())
        .map(|i| UserFeature {
            user_id: user_id.value(i),
            views: views.value(i),
            clicks: clicks.value(i),
            purchases: purchases.value(i),
            ctr: ctr.value(i),
            purchase_rate: purchase_rate.value(i),
        })
        .collect())
}

/// A (user, item) pair the user interacted with: its event counts, and
/// whether the user engaged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Impression {
    /// The user.
    pub user_id: i64,
    /// The item.
    pub item_id: i64,
    /// Views of the item by the user.
    pub views: i64,
    /// Clicks on the item by the user.
    pub clicks: i64,
    /// Purchases of the item by the user.
    pub purchases: i64,
}

impl Impression {
    /// Whether the user clicked or bought the item: the ranker's label.
    pub fn clicked(&self) -> bool {
        self.clicks > 0 || self.purchases > 0
    }

    /// All the pair's events.
    pub fn events(&self) -> i64 {
        self.views + self.clicks + self.purchases
    }
}

/// Every distinct (user, item) pair in `events`, ascending, with its counts.
pub fn impressions(events: &[CleanEvent]) -> Vec<Impression> {
    let mut pairs: BTreeMap<(i64, i64), Counts> = BTreeMap::new();
    for e in events {
        pairs.entry((e.user_id, e.item_id)).or_default().add(e.kind);
    }
    pairs
        .into_iter()
        .map(|((user_id, item_id), c)| Impression {
            user_id,
            item_id,
            views: c.views,
            clicks: c.clicks,
            purchases: c.purchases,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_id: i64, user_id: i64, item_id: i64, kind: EventKind) -> CleanEvent {
        CleanEvent {
            event_id,
            user_id,
            item_id,
            kind,
            ts_ms: 0,
            dwell_ms: None,
        }
    }

    /// User 1 views and clicks item 10; user 2 views item 10.
    fn three_rows() -> Vec<CleanEvent> {
        vec![
            event(1, 1, 10, EventKind::View),
            event(2, 1, 10, EventKind::Click),
            event(3, 2, 10, EventKind::View),
        ]
    }

    #[test]
    fn user_features_by_hand() {
        let users = user_features(&three_rows());
        assert_eq!(
            users,
            [
                UserFeature {
                    user_id: 1,
                    views: 1,
                    clicks: 1,
                    purchases: 0,
                    ctr: 1.0,
                    purchase_rate: 0.0,
                },
                UserFeature {
                    user_id: 2,
                    views: 1,
                    clicks: 0,
                    purchases: 0,
                    ctr: 0.0,
                    purchase_rate: 0.0,
                },
            ]
        );
    }

    #[test]
    fn item_features_by_hand() {
        let mut rows = three_rows();
        rows.push(event(4, 2, 20, EventKind::Purchase));
        let items = item_features(&rows);
        assert_eq!(
            items,
            [
                ItemFeature {
                    item_id: 10,
                    views: 2,
                    clicks: 1,
                    purchases: 0,
                    unique_users: 2,
                    ctr: 0.5,
                    popularity: 0.75,
                },
                ItemFeature {
                    item_id: 20,
                    views: 0,
                    clicks: 0,
                    purchases: 1,
                    unique_users: 1,
                    ctr: 0.0,
                    popularity: 0.25,
                },
            ]
        );
    }

    #[test]
    fn no_events_no_features() {
        assert!(user_features(&[]).is_empty());
        assert!(item_features(&[]).is_empty());
        assert!(impressions(&[]).is_empty());
    }

    #[test]
    fn user_features_round_trip_through_a_batch() {
        let users = user_features(&three_rows());
        let batch = user_features_to_batch(&users).expect("batch");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(user_features_from_batch(&batch).expect("rows"), users);
    }

    #[test]
    fn impressions_are_pairs_labelled_by_engagement() {
        let mut rows = three_rows();
        rows.push(event(4, 1, 10, EventKind::View)); // a repeat view: same pair
        let pairs = impressions(&rows);
        assert_eq!(
            pairs,
            [
                Impression {
                    user_id: 1,
                    item_id: 10,
                    views: 2,
                    clicks: 1,
                    purchases: 0,
                },
                Impression {
                    user_id: 2,
                    item_id: 10,
                    views: 1,
                    clicks: 0,
                    purchases: 0,
                },
            ]
        );
        assert!(pairs[0].clicked() && !pairs[1].clicked());
        assert_eq!(pairs[0].events(), 3);
    }

    #[test]
    fn leaving_a_pair_out_matches_features_computed_without_it() {
        let mut rows = three_rows();
        rows.push(event(4, 1, 20, EventKind::View));
        rows.push(event(5, 2, 20, EventKind::Click));
        let pairs = impressions(&rows);
        let left_out = pairs[0]; // user 1, item 10
        let rest: Vec<CleanEvent> = rows
            .iter()
            .filter(|e| (e.user_id, e.item_id) != (left_out.user_id, left_out.item_id))
            .cloned()
            .collect();
        let user = &user_features(&rows)[0];
        assert_eq!(user.without(&left_out), user_features(&rest)[0]);
        let item = &item_features(&rows)[0];
        assert_eq!(
            item.without(&left_out, rows.len() as i64),
            item_features(&rest)[0]
        );
    }
}
