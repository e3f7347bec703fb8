//! The partitions whose windows lie inside a span of time: how a range given
//! in a finer asset's keys (the days of February) covers a coarser asset
//! (the month of February, but not a month the range only starts or ends in).
//!
//! A window is *inside* the span when it starts at or after the span's start
//! and ends at or before its end, both compared as instants, so each asset's
//! windows are taken in its own time zone. A window the span only overlaps
//! is *partial*: it is left out and named, never built from part of its
//! inputs.

use chrono::{DateTime, Utc};

use crate::partition::range::{KeyRange, KeySource};
use crate::partition::{KeySpace, PartitionKey, PartitionsDef, TimeWindow, TimeWindows};

/// A half-open span of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSpan {
    /// The first instant.
    pub start: DateTime<Utc>,
    /// The first instant after the span.
    pub end: DateTime<Utc>,
}

/// The partitions of one definition a span covers.
#[derive(Debug, Clone)]
pub struct Inside {
    /// The existing partitions whose windows lie inside the span, in order.
    pub keys: KeyRange,
    /// The partitions whose windows the span overlaps without covering,
    /// with their windows (at most one at each end).
    pub partial: Vec<(PartitionKey, TimeWindow)>,
}

impl PartitionsDef {
    /// The time dimension: the windows of time partitions, or the time part
    /// of multi-partitions. `None` for other kinds.
    pub fn time_windows(&self) -> Option<&TimeWindows> {
        match self {
            PartitionsDef::Time(t) => Some(t),
            PartitionsDef::Multi(m) => Some(&m.time),
            _ => None,
        }
    }

    /// The partitions whose windows lie inside `span` and exist in `space`
    /// (for multi-partitions, every static key of each such window), and
    /// those it covers only in part. `None` for definitions without time.
    pub fn inside(&self, span: TimeSpan, space: &KeySpace) -> Option<Inside> {
        let (t, source, per_window) = match self {
            PartitionsDef::Time(t) => (t, KeySource::Time(t.clone()), 1),
            PartitionsDef::Multi(m) => (&m.time, KeySource::Multi(m.clone()), m.keys.len()),
            _ => return None,
        };
        // Windows first..last end at or before the span's end: the window
        // containing the end starts at or before it, so the one before it
        // ends by then.
        let first = t.index_at_or_after(span.start)?;
        let last = t.index_containing(span.end)?;
        let existing = i64::try_from(t.existing(space.time())).unwrap_or(i64::MAX);
        let (from, to) = (first.clamp(0, existing), last.clamp(0, existing));
        let keys = if from < to {
            // Both are in 0..=existing, so the casts are exact.
            let (from, to) = (from as u64, to as u64);
            match (
                from.checked_mul(per_window),
                (to - from).checked_mul(per_window),
            ) {
                (Some(start), Some(len)) => KeyRange::new(source.clone(), start, len, 1),
                _ => KeyRange::empty(),
            }
        } else {
            KeyRange::empty()
        };
        let mut partial_windows = Vec::new();
        let before = t.index_containing(span.start)?;
        if before < first {
            partial_windows.push(before);
        }
        if t.utc_start(last)? < span.end && !partial_windows.contains(&last) {
            partial_windows.push(last);
        }
        let mut partial = Vec::new();
        for index in partial_windows {
            let Some(window) = t.window(index) else {
                continue; // before the start of history, or past the end
            };
            let Ok(unsigned) = u64::try_from(index) else {
                continue;
            };
            for k in 0..per_window {
                let flat = unsigned.saturating_mul(per_window).saturating_add(k);
                if let Some(key) = KeyRange::new(source.clone(), flat, 1, 1).first() {
                    partial.push((key, window));
                }
            }
        }
        Some(Inside { keys, partial })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::TimeSpan;
    use crate::partition::{KeySpace, PartitionKey, PartitionsDef};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("RFC 3339")
            .with_timezone(&Utc)
    }

    fn span(start: &str, end: &str) -> TimeSpan {
        TimeSpan {
            start: at(start),
            end: at(end),
        }
    }

    fn now() -> KeySpace {
        KeySpace::at(at("2025-01-01T00:00:00Z"))
    }

    fn keys(def: &PartitionsDef, span: TimeSpan) -> (Vec<String>, Vec<String>) {
        let inside = def.inside(span, &now()).expect("time partitions");
        (
            inside.keys.iter().map(|k| k.to_string()).collect(),
            inside
                .partial
                .iter()
                .map(|(k, _)| PartitionKey::to_string(k))
                .collect(),
        )
    }

    #[test]
    fn a_month_is_inside_the_span_of_all_its_days() {
        let month = PartitionsDef::monthly("2024-01-01").expect("monthly");
        let feb = span("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z");
        assert_eq!(keys(&month, feb), (vec!["2024-02-01".into()], vec![]));
    }

    #[test]
    fn months_the_span_starts_or_ends_in_are_partial() {
        let month = PartitionsDef::monthly("2024-01-01").expect("monthly");
        let s = span("2024-01-15T00:00:00Z", "2024-04-10T00:00:00Z");
        assert_eq!(
            keys(&month, s),
            (
                vec!["2024-02-01".into(), "2024-03-01".into()],
                vec!["2024-01-01".into(), "2024-04-01".into()]
            )
        );
    }

    #[test]
    fn a_span_inside_one_month_names_it_once_as_partial() {
        let month = PartitionsDef::monthly("2024-01-01").expect("monthly");
        let s = span("2024-02-03T00:00:00Z", "2024-02-10T00:00:00Z");
        assert_eq!(keys(&month, s), (vec![], vec!["2024-02-01".into()]));
    }

    #[test]
    fn windows_are_taken_in_the_assets_own_time_zone() {
        // Midnight UTC is 01:00 in Berlin: the Berlin month of February
        // starts an hour before the UTC span does, so it is partial.
        let berlin = PartitionsDef::monthly("2024-01-01")
            .and_then(|m| m.with_timezone("Europe/Berlin"))
            .expect("monthly in Berlin");
        let feb_utc = span("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z");
        assert_eq!(keys(&berlin, feb_utc).0, Vec::<String>::new());
        let feb_berlin = span("2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z");
        assert_eq!(
            keys(&berlin, feb_berlin),
            (vec!["2024-02-01".into()], vec![])
        );
    }

    #[test]
    fn windows_that_do_not_exist_yet_are_not_inside() {
        let month = PartitionsDef::monthly("2024-01-01").expect("monthly");
        let space = KeySpace::at(at("2024-02-20T00:00:00Z"));
        let s = span("2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z");
        let inside = month.inside(s, &space).expect("time");
        assert_eq!(
            inside
                .keys
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>(),
            ["2024-01-01"]
        );
    }

    #[test]
    fn multi_partitions_cover_every_static_key_of_each_window() {
        let m = PartitionsDef::multi(
            PartitionsDef::weekly("2024-01-01").expect("weekly"),
            PartitionsDef::static_keys(&["eu", "us"]).expect("static"),
        )
        .expect("multi");
        let s = span("2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z");
        assert_eq!(
            keys(&m, s),
            (
                vec!["2024-01-01|eu".into(), "2024-01-01|us".into()],
                vec!["2024-01-08|eu".into(), "2024-01-08|us".into()]
            )
        );
    }

    #[test]
    fn definitions_without_time_have_no_windows() {
        let regions = PartitionsDef::static_keys(&["eu"]).expect("static");
        let s = span("2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z");
        assert!(regions.inside(s, &now()).is_none());
    }
}
