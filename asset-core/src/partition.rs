//! Partition definitions and keys.
//!
//! A partitioned asset is materialized one slice at a time (a day of events),
//! each slice with its own key, storage location and provenance.

use std::fmt;
use std::sync::Arc;

use chrono::{Days, NaiveDateTime, Utc};

pub use chrono::NaiveDate;

use crate::error::Error;

/// The key of one partition, validated against its asset's [`PartitionsDef`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey(Arc<str>);

impl PartitionKey {
    /// The key as text (`2024-01-01`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an asset is partitioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionsDef {
    /// One value for the whole asset.
    Unpartitioned,
    /// One partition per UTC day, keyed `YYYY-MM-DD`, from `start` on.
    Daily {
        /// The first day.
        start: NaiveDate,
    },
}

/// The format of daily keys.
const DAY_FORMAT: &str = "%Y-%m-%d";

impl PartitionsDef {
    /// Daily partitions from `start` (`YYYY-MM-DD`).
    pub fn daily(start: &str) -> Result<Self, Error> {
        let start = parse_day(start).ok_or_else(|| {
            Error::Usage(format!(
                "daily partitions start {start:?} is not a day (expected YYYY-MM-DD)"
            ))
        })?;
        Ok(PartitionsDef::Daily { start })
    }

    /// Whether the asset has partitions.
    pub fn is_partitioned(&self) -> bool {
        !matches!(self, PartitionsDef::Unpartitioned)
    }

    /// A short description for listings: `daily from 2024-01-01`.
    pub fn describe(&self) -> String {
        match self {
            PartitionsDef::Unpartitioned => "unpartitioned".into(),
            PartitionsDef::Daily { start } => format!("daily from {start}"),
        }
    }

    /// Checks `key` against this definition for `asset`, returning the validated key.
    ///
    /// A daily key must be a real day, not before the start, and already
    /// over (a partition exists only once its window has ended).
    pub fn validate(&self, asset: &str, key: &str) -> Result<PartitionKey, Error> {
        self.validate_at(asset, key, Utc::now().naive_utc())
    }

    /// [`validate`](Self::validate) as if the time were `now` (for tests).
    pub fn validate_at(
        &self,
        asset: &str,
        key: &str,
        now: NaiveDateTime,
    ) -> Result<PartitionKey, Error> {
        let invalid = |expected: &str, reason: String| Error::InvalidPartition {
            asset: asset.to_owned(),
            key: key.to_owned(),
            expected: expected.to_owned(),
            reason,
        };
        match self {
            PartitionsDef::Unpartitioned => Err(Error::Usage(format!(
                "asset {asset:?} is not partitioned, but partition {key:?} was asked for"
            ))),
            PartitionsDef::Daily { start } => {
                let day = parse_day(key)
                    .ok_or_else(|| invalid("a day", format!("expected YYYY-MM-DD from {start}")))?;
                if day < *start {
                    return Err(invalid(
                        "a partition",
                        format!("it is before the first partition {start}"),
                    ));
                }
                let end = day
                    .checked_add_days(Days::new(1))
                    .and_then(|d| d.and_hms_opt(0, 0, 0));
                if end.is_none_or(|end| end > now) {
                    return Err(invalid(
                        "a complete partition",
                        "that day has not ended yet (UTC)".into(),
                    ));
                }
                Ok(PartitionKey(Arc::from(key)))
            }
        }
    }

    /// Every complete partition as of `now`, in order (none for an
    /// unpartitioned asset). Lazy: keys are made as they are iterated.
    pub fn keys_until(&self, now: NaiveDateTime) -> impl Iterator<Item = PartitionKey> + '_ {
        let (start, days) = match self {
            PartitionsDef::Unpartitioned => (NaiveDate::MIN, 0),
            PartitionsDef::Daily { start } => {
                let last_complete = now.date().pred_opt().unwrap_or(now.date());
                let days = (last_complete - *start).num_days() + 1;
                (*start, u64::try_from(days).unwrap_or(0))
            }
        };
        (0..days).filter_map(move |d| {
            start
                .checked_add_days(Days::new(d))
                .map(|day| PartitionKey(Arc::from(day.format(DAY_FORMAT).to_string())))
        })
    }

    /// The start of a partition's time window, for time partitions.
    pub fn window_start(&self, key: &PartitionKey) -> Option<NaiveDate> {
        match self {
            PartitionsDef::Unpartitioned => None,
            PartitionsDef::Daily { .. } => parse_day(key.as_str()),
        }
    }
}

/// Parses `YYYY-MM-DD` strictly (exactly ten characters, a real date).
fn parse_day(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, DAY_FORMAT).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily() -> PartitionsDef {
        PartitionsDef::daily("2024-01-01").expect("valid start")
    }

    fn noon(day: &str) -> NaiveDateTime {
        parse_day(day)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid day")
    }

    #[test]
    fn a_real_past_day_is_accepted() {
        let key = daily()
            .validate_at("events", "2024-02-29", noon("2024-03-05"))
            .expect("valid");
        assert_eq!(key.as_str(), "2024-02-29");
    }

    #[test]
    fn malformed_day_is_refused_naming_asset_and_format() {
        let err = daily()
            .validate_at("sessions", "2024-13-01", noon("2025-01-01"))
            .expect_err("month 13");
        assert_eq!(
            err.to_string(),
            r#"partition key "2024-13-01" is not a day of asset "sessions": expected YYYY-MM-DD from 2024-01-01"#
        );
        for bad in ["2024-1-1", "20240101", "", "../2024-01-01", "2024-01-01/x"] {
            assert!(
                daily().validate_at("a", bad, noon("2025-01-01")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn day_before_start_is_refused() {
        let err = daily()
            .validate_at("events", "2023-12-31", noon("2025-01-01"))
            .expect_err("before start");
        assert!(
            err.to_string()
                .contains("before the first partition 2024-01-01"),
            "{err}"
        );
    }

    #[test]
    fn day_that_has_not_ended_is_refused() {
        let err = daily()
            .validate_at("events", "2024-03-05", noon("2024-03-05"))
            .expect_err("today");
        assert!(err.to_string().contains("has not ended"), "{err}");
        assert!(
            daily()
                .validate_at("events", "2024-03-04", noon("2024-03-05"))
                .is_ok()
        );
    }

    #[test]
    fn keys_until_lists_complete_days_only() {
        let keys: Vec<String> = daily()
            .keys_until(noon("2024-01-04"))
            .map(|k| k.as_str().to_owned())
            .collect();
        assert_eq!(keys, ["2024-01-01", "2024-01-02", "2024-01-03"]);
        assert_eq!(daily().keys_until(noon("2023-06-01")).count(), 0);
        assert_eq!(
            PartitionsDef::Unpartitioned
                .keys_until(noon("2024-01-04"))
                .count(),
            0
        );
    }

    #[test]
    fn bad_start_is_an_error() {
        assert!(PartitionsDef::daily("2024-02-30").is_err());
    }

    #[test]
    fn unpartitioned_asset_refuses_keys() {
        assert!(
            PartitionsDef::Unpartitioned
                .validate("m", "2024-01-01")
                .is_err()
        );
    }
}
