//! Cleaning: drop duplicate, invalid and bot rows from the raw events.
//!
//! Each dropped row is counted under exactly one reason, checked in this
//! order: a repeated event id (the first delivery is kept), an unknown event
//! kind, a negative dwell time, a bot user (more events in the day than any
//! human plausibly makes, counted over the rows that passed the other checks).

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::events::{CleanEvent, EventKind, RawEvent};

/// Rules of the cleaning job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanConfig {
    /// A user with more events than this in one day is a bot.
    pub max_events_per_user: usize,
}

impl Default for CleanConfig {
    /// At most 150 events per user per day (the busiest human in the
    /// generated data makes about 100; a bot makes 300).
    fn default() -> Self {
        Self {
            max_events_per_user: 150,
        }
    }
}

/// How many rows were dropped, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanReport {
    /// Raw rows read.
    pub input_rows: usize,
    /// Rows whose event id was already seen.
    pub duplicates: usize,
    /// Rows whose kind is not view, click or purchase.
    pub unknown_kind: usize,
    /// Rows with a negative dwell time.
    pub negative_dwell: usize,
    /// Rows from bot users.
    pub bot_rows: usize,
    /// The users classified as bots, ascending.
    pub bot_users: Vec<i64>,
    /// Clean rows kept.
    pub output_rows: usize,
}

impl fmt::Display for CleanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} raw rows -> {} clean ({} duplicate, {} unknown kind, {} negative dwell, {} from {} bot user(s))",
            self.input_rows,
            self.output_rows,
            self.duplicates,
            self.unknown_kind,
            self.negative_dwell,
            self.bot_rows,
            self.bot_users.len()
        )
    }
}

/// The result of cleaning: the kept events and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Cleaned {
    /// Valid, unique, human events in their input order.
    pub events: Vec<CleanEvent>,
    /// What was dropped.
    pub report: CleanReport,
}

/// Cleans one day's raw events.
pub fn clean(raw: &[RawEvent], config: &CleanConfig) -> Cleaned {
    let mut report = CleanReport {
        input_rows: raw.len(),
        ..CleanReport::default()
    };
    let mut seen = HashSet::with_capacity(raw.len());
    let mut candidates = Vec::with_capacity(raw.len());
    for row in raw {
        if !seen.insert(row.event_id) {
            report.duplicates += 1;
            continue;
        }
        let Ok(kind) = row.kind.parse::<EventKind>() else {
            report.unknown_kind += 1;
            continue;
        };
        if row.dwell_ms.is_some_and(|d| d < 0) {
            report.negative_dwell += 1;
            continue;
        }
        candidates.push(CleanEvent {
            event_id: row.event_id,
            user_id: row.user_id,
            item_id: row.item_id,
            kind,
            ts_ms: row.ts_ms,
            dwell_ms: row.dwell_ms,
        });
    }

    let mut per_user: BTreeMap<i64, usize> = BTreeMap::new();
    for event in &candidates {
        *per_user.entry(event.user_id).or_default() += 1;
    }
    report.bot_users = per_user
        .iter()
        .filter(|&(_, &n)| n > config.max_events_per_user)
        .map(|(&user, _)| user)
        .collect();
    let bots: HashSet<i64> = report.bot_users.iter().copied().collect();
    let before = candidates.len();
    candidates.retain(|e| !bots.contains(&e.user_id));
    report.bot_rows = before - candidates.len();
    report.output_rows = candidates.len();
    Cleaned {
        events: candidates,
        report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(event_id: i64, user_id: i64, kind: &str, dwell_ms: Option<i64>) -> RawEvent {
        RawEvent {
            event_id,
            user_id,
            item_id: 1,
            kind: kind.into(),
            ts_ms: event_id * 1_000,
            dwell_ms,
        }
    }

    fn ids(cleaned: &Cleaned) -> Vec<i64> {
        cleaned.events.iter().map(|e| e.event_id).collect()
    }

    const RULES: CleanConfig = CleanConfig {
        max_events_per_user: 3,
    };

    #[test]
    fn good_rows_pass_unchanged() {
        let rows = [raw(1, 1, "view", Some(10)), raw(2, 1, "purchase", None)];
        let cleaned = clean(&rows, &RULES);
        assert_eq!(ids(&cleaned), [1, 2]);
        assert_eq!(cleaned.events[1].kind, EventKind::Purchase);
        assert_eq!(cleaned.events[1].dwell_ms, None);
        assert_eq!(cleaned.report.output_rows, 2);
    }

    #[test]
    fn a_duplicate_event_id_keeps_the_first_delivery() {
        let rows = [
            raw(1, 1, "view", Some(10)),
            raw(1, 1, "view", Some(99)),
            raw(2, 1, "click", Some(5)),
        ];
        let cleaned = clean(&rows, &RULES);
        assert_eq!(ids(&cleaned), [1, 2]);
        assert_eq!(cleaned.events[0].dwell_ms, Some(10));
        assert_eq!(cleaned.report.duplicates, 1);
    }

    #[test]
    fn unknown_kinds_are_dropped() {
        let rows = [
            raw(1, 1, "hover", Some(10)),
            raw(2, 1, "", None),
            raw(3, 1, "Click", Some(1)),
            raw(4, 1, "click", Some(1)),
        ];
        let cleaned = clean(&rows, &RULES);
        assert_eq!(ids(&cleaned), [4]);
        assert_eq!(cleaned.report.unknown_kind, 3);
    }

    #[test]
    fn negative_dwell_is_dropped_but_zero_and_missing_are_kept() {
        let rows = [
            raw(1, 1, "view", Some(-1)),
            raw(2, 1, "view", Some(0)),
            raw(3, 1, "purchase", None),
        ];
        let cleaned = clean(&rows, &RULES);
        assert_eq!(ids(&cleaned), [2, 3]);
        assert_eq!(cleaned.report.negative_dwell, 1);
    }

    #[test]
    fn users_over_the_daily_limit_are_bots() {
        let mut rows: Vec<RawEvent> = (1..=4).map(|i| raw(i, 666, "view", Some(1))).collect();
        rows.extend((5..=7).map(|i| raw(i, 2, "view", Some(100))));
        let cleaned = clean(&rows, &RULES);
        assert_eq!(
            ids(&cleaned),
            [5, 6, 7],
            "3 events is the limit, 4 is a bot"
        );
        assert_eq!(cleaned.report.bot_users, [666]);
        assert_eq!(cleaned.report.bot_rows, 4);
    }

    #[test]
    fn each_dropped_row_is_counted_once() {
        let rows = [
            raw(1, 1, "view", Some(1)),
            raw(1, 1, "hover", Some(-5)), // duplicate id first
            raw(2, 1, "hover", Some(-5)), // then unknown kind
        ];
        let r = clean(&rows, &RULES).report;
        assert_eq!((r.duplicates, r.unknown_kind, r.negative_dwell), (1, 1, 0));
        assert_eq!(
            r.input_rows,
            r.output_rows + r.duplicates + r.unknown_kind + r.negative_dwell + r.bot_rows
        );
        assert_eq!(
            r.to_string(),
            "3 raw rows -> 1 clean (1 duplicate, 1 unknown kind, 0 negative dwell, 0 from 0 bot user(s))"
        );
    }
}
