//! What makes an asset run without a person: a cron [`Schedule`], an
//! [`Automation`] condition, and the [`Unattended`] settings that group them
//! with the asset's SLA and alert severity.
//!
//! `#[asset(schedule = "0 6 * * *", catchup = true, automation = eager,
//! sla = "6h", severity = P1)]` fills these in (their literals are checked at
//! compile time); run-time assets use [`AssetDef`](crate::AssetDef)'s
//! `with_schedule`, `with_automation`, `with_sla` and `with_severity`, with
//! the constructors here returning [`ScheduleError`] for bad text. The
//! daemon (`crate::daemon`) evaluates them.

pub mod cron;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use crate::alert::severity::Severity;
pub use cron::Cron;

/// How many missed ticks a schedule with catch-up runs at most, by default.
pub const DEFAULT_MAX_CATCHUP: u32 = 30;

/// A bad schedule, automation, SLA or severity, as given in code or
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A cron expression that does not parse.
    #[error("invalid cron expression {expression:?}: {reason}")]
    InvalidCron {
        /// The expression as given.
        expression: String,
        /// What the parser said.
        reason: String,
    },
    /// An SLA that is not a duration.
    #[error("invalid SLA {text:?}: expected a whole number and a unit (\"30m\", \"6h\", \"2d\")")]
    InvalidSla {
        /// The text as given.
        text: String,
    },
    /// A severity other than P0..P3.
    #[error("unknown severity {text:?}{}; expected one of: P0, P1, P2, P3", did_you_mean(.suggestion))]
    UnknownSeverity {
        /// The text as given.
        text: String,
        /// The closest severity, for a near miss.
        suggestion: Option<Severity>,
    },
    /// An automation condition other than `eager` and `on_missing`.
    #[error("unknown automation {text:?}; expected one of: eager, on_missing")]
    UnknownAutomation {
        /// The text as given.
        text: String,
    },
    /// `max_catchup = 0`.
    #[error("max_catchup must be at least 1 (it bounds how many missed ticks run)")]
    ZeroCatchup,
}

fn did_you_mean(suggestion: &Option<Severity>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean {s}?)"))
}

impl From<ScheduleError> for crate::Error {
    fn from(e: ScheduleError) -> Self {
        crate::Error::Usage(e.to_string())
    }
}

/// A cron schedule: at each tick, materialize the newest complete partition
/// of the asset and whatever upstream of it is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// When it ticks, on the wall clock of the asset's partitions' time zone
    /// (UTC for an asset without time partitions).
    pub cron: Cron,
    /// Whether ticks missed while no daemon ran are run (oldest first) or
    /// skipped (only the newest runs), like Airflow's `catchup`; off by
    /// default.
    pub catchup: bool,
    /// With catch-up, at most this many missed ticks run (the newest ones).
    pub max_catchup: u32,
}

impl Schedule {
    /// A schedule on `expression` (`"0 6 * * *"`), without catch-up.
    pub fn cron(expression: &str) -> Result<Self, ScheduleError> {
        Ok(Self {
            cron: Cron::parse(expression)?,
            catchup: false,
            max_catchup: DEFAULT_MAX_CATCHUP,
        })
    }

    /// The same schedule, running up to `max` missed ticks after downtime.
    pub fn with_catchup(mut self, max: u32) -> Result<Self, ScheduleError> {
        if max == 0 {
            return Err(ScheduleError::ZeroCatchup);
        }
        self.catchup = true;
        self.max_catchup = max;
        Ok(self)
    }

    /// The ticks due in `(last, now]`, oldest first: with catch-up, the
    /// newest `max_catchup` of them; without, only the newest.
    pub fn due(
        &self,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<DateTime<Utc>> {
        let limit = if self.catchup {
            self.max_catchup as usize
        } else {
            1
        };
        self.cron.ticks_between(last, now, tz, limit)
    }
}

/// When an asset-partition is materialized without a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Automation {
    /// When one of its upstream partitions gets a new data version (an
    /// upstream rerun with an identical data version triggers nothing).
    Eager,
    /// When a partition exists (its window is complete) but was never
    /// materialized, and its upstream partitions are.
    OnMissing,
}

impl Automation {
    /// `eager` or `on_missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Automation::Eager => "eager",
            Automation::OnMissing => "on_missing",
        }
    }
}

impl fmt::Display for Automation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Automation {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "eager" => Ok(Automation::Eager),
            "on_missing" => Ok(Automation::OnMissing),
            _ => Err(ScheduleError::UnknownAutomation { text: s.to_owned() }),
        }
    }
}

/// Parses an SLA: a whole number and a unit, `s`, `m`, `h` or `d`
/// (`"30m"`, `"6h"`, `"2d"`); zero is refused.
pub fn parse_sla(text: &str) -> Result<Duration, ScheduleError> {
    let bad = || ScheduleError::InvalidSla {
        text: text.to_owned(),
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3_600),
        "d" => n.checked_mul(86_400),
        _ => None,
    };
    seconds
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

/// An asset's settings for running unattended. The default: no schedule, no
/// automation, no SLA, severity P2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unattended {
    /// Its cron schedule, if any.
    pub schedule: Option<Schedule>,
    /// Its automation condition, if any.
    pub automation: Option<Automation>,
    /// Each partition must be materialized within this long after its
    /// window ends (for an unpartitioned asset: after each schedule tick).
    pub sla: Option<Duration>,
    /// How urgent its alerts are.
    pub severity: Severity,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slas_parse_whole_units() {
        assert_eq!(parse_sla("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_sla("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_sla("90s"), Ok(Duration::from_secs(90)));
        for bad in ["", "6", "h", "0h", "1.5h", "6 h", "6w", "-1h"] {
            assert_eq!(
                parse_sla(bad),
                Err(ScheduleError::InvalidSla { text: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(
            parse_sla("6hours").map_err(|e| e.to_string()),
            Err("invalid SLA \"6hours\": expected a whole number and a unit (\"30m\", \"6h\", \"2d\")".into())
        );
    }

    #[test]
    fn automations_parse_and_unknown_ones_are_named() {
        assert_eq!("eager".parse(), Ok(Automation::Eager));
        assert_eq!("on_missing".parse(), Ok(Automation::OnMissing));
        assert_eq!(
            "lazy".parse::<Automation>().map_err(|e| e.to_string()),
            Err("unknown automation \"lazy\"; expected one of: eager, on_missing".into())
        );
    }

    #[test]
    fn catchup_bounds_are_checked() {
        let schedule = Schedule::cron("0 6 * * *").expect("parses");
        assert!(!schedule.catchup);
        assert_eq!(
            schedule.clone().with_catchup(0),
            Err(ScheduleError::ZeroCatchup)
        );
        let caught = schedule.with_catchup(2).expect("bounded");
        assert!(caught.catchup && caught.max_catchup == 2);
    }
}
