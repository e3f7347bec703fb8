//! Item engagement over time: a 7-day rolling window and running totals
//! since the first day. Pure functions over item features; the assets that
//! call them read other days through `Window<ItemFeatures, 7>` and
//! `Prev<ItemTotals>`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::features::ItemFeature;

/// One item's engagement summed over several days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemTrend {
    /// The item.
    pub item_id: i64,
    /// Views over the days.
    pub views: i64,
    /// Clicks over the days.
    pub clicks: i64,
    /// Purchases over the days.
    pub purchases: i64,
    /// On how many of the days the item was seen at all.
    pub active_days: i64,
}

impl ItemTrend {
    /// An item with no engagement yet.
    fn none(item_id: i64) -> Self {
        Self {
            item_id,
            views: 0,
            clicks: 0,
            purchases: 0,
            active_days: 0,
        }
    }
}

/// Sums each item's views, clicks and purchases over `days` (any order),
/// counting the days it appears on. Items sorted by id.
pub fn rolling<'a>(days: impl IntoIterator<Item = &'a [ItemFeature]>) -> Vec<ItemTrend> {
    let mut by_item: BTreeMap<i64, ItemTrend> = BTreeMap::new();
    for day in days {
        for f in day {
            let t = by_item
                .entry(f.item_id)
                .or_insert_with(|| ItemTrend::none(f.item_id));
            t.views += f.views;
            t.clicks += f.clicks;
            t.purchases += f.purchases;
            t.active_days += 1;
        }
    }
    by_item.into_values().collect()
}

/// Running totals: `previous` (the totals up to yesterday, none on the first
/// day) plus `today`'s features. Items sorted by id.
pub fn accumulate(previous: Option<&[ItemTrend]>, today: &[ItemFeature]) -> Vec<ItemTrend> {
    let mut by_item: BTreeMap<i64, ItemTrend> = previous
        .unwrap_or_default()
        .iter()
        .map(|t| (t.item_id, t.clone()))
        .collect();
    for t in rolling([today]) {
        let total = by_item
            .entry(t.item_id)
            .or_insert_with(|| ItemTrend::none(t.item_id));
        total.views += t.views;
        total.clicks += t.clicks;
        total.purchases += t.purchases;
        total.active_days += t.active_days;
    }
    by_item.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(item_id: i64, views: i64, clicks: i64, purchases: i64) -> ItemFeature {
        ItemFeature {
            item_id,
            views,
            clicks,
            purchases,
            unique_users: 1,
            ctr: 0.0,
            popularity: 0.0,
        }
    }

    #[test]
    fn rolling_sums_each_item_over_the_days_it_appears() {
        let day1 = vec![feature(1, 10, 2, 1), feature(2, 5, 0, 0)];
        let day2 = vec![feature(1, 4, 1, 0)];
        let trends = rolling([day1.as_slice(), day2.as_slice()]);
        assert_eq!(
            trends,
            [
                ItemTrend {
                    item_id: 1,
                    views: 14,
                    clicks: 3,
                    purchases: 1,
                    active_days: 2
                },
                ItemTrend {
                    item_id: 2,
                    views: 5,
                    clicks: 0,
                    purchases: 0,
                    active_days: 1
                },
            ]
        );
        assert!(rolling(std::iter::empty()).is_empty());
    }

    #[test]
    fn totals_start_from_nothing_and_carry_over() {
        let first = accumulate(None, &[feature(1, 3, 1, 0)]);
        assert_eq!(first[0].views, 3);
        let second = accumulate(Some(&first), &[feature(1, 2, 0, 1), feature(7, 1, 0, 0)]);
        assert_eq!(
            second,
            [
                ItemTrend {
                    item_id: 1,
                    views: 5,
                    clicks: 1,
                    purchases: 1,
                    active_days: 2
                },
                ItemTrend {
                    item_id: 7,
                    views: 1,
                    clicks: 0,
                    purchases: 0,
                    active_days: 1
                },
            ]
        );
    }
}
