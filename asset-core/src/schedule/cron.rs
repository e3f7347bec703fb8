//! Cron expressions, evaluated on the wall clock of a time zone.
//!
//! `croner` does the evaluation; it searches on local wall-clock time and
//! handles the DST gap (a tick at 02:30 on a spring-forward night runs at
//! 03:00) and the overlap (a tick in the repeated hour runs once). This
//! module only converts between the zone and UTC, which the catalog and the
//! partitions speak.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::ScheduleError;

/// A parsed cron expression: five fields (`minute hour day month weekday`),
/// an optional leading seconds field, or a nickname (`@daily`, `@hourly`).
#[derive(Clone)]
pub struct Cron {
    text: Arc<str>,
    cron: Arc<croner::Cron>,
}

impl Cron {
    /// Parses `text`; the error names the expression and what is wrong.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let cron: croner::Cron =
            text.parse()
                .map_err(|e: croner::errors::CronError| ScheduleError::InvalidCron {
                    expression: text.to_owned(),
                    reason: e.to_string(),
                })?;
        Ok(Self {
            text: Arc::from(text),
            cron: Arc::new(cron),
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first tick strictly after `after`, on `tz`'s wall clock.
    /// `None` if the expression never matches again (`0 0 30 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The last tick at or before `at`, on `tz`'s wall clock.
    pub fn latest_at_or_before(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&at.with_timezone(&tz), true)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The newest `limit` ticks in `(after, until]`, oldest first. Cost is
    /// bounded by `limit`, however long the gap: the search runs backwards
    /// from `until`.
    pub fn ticks_between(
        &self,
        after: Option<DateTime<Utc>>,
        until: DateTime<Utc>,
        tz: Tz,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut ticks = Vec::new();
        let mut cursor = self.latest_at_or_before(until, tz);
        while let Some(tick) = cursor {
            if ticks.len() >= limit || after.is_some_and(|a| tick <= a) {
                break;
            }
            ticks.push(tick);
            cursor = self
                .cron
                .find_previous_occurrence(&tick.with_timezone(&tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        ticks.reverse();
        ticks
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cron({:?})", self.text)
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Cron {}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn bad_expressions_name_the_expression() {
        let err = Cron::parse("0 25 * * *").expect_err("hour 25");
        let text = err.to_string();
        assert!(
            text.starts_with("invalid cron expression \"0 25 * * *\": "),
            "{text}"
        );
        assert!(Cron::parse("").is_err());
        assert!(Cron::parse("every day").is_err());
        assert!(Cron::parse("@daily").is_ok());
    }

    #[test]
    fn daily_ticks_follow_local_time_across_spring_forward() {
        // Paris springs forward on 2024-03-31: 06:00 local is 05:00 UTC
        // before and 04:00 UTC after.
        let cron = Cron::parse("0 6 * * *").expect("parses");
        let tz: Tz = "Europe/Paris".parse().expect("zone");
        let ticks =
            cron.ticks_between(Some(utc(2024, 3, 29, 12, 0)), utc(2024, 4, 2, 0, 0), tz, 10);
        assert_eq!(
            ticks,
            [
                utc(2024, 3, 30, 5, 0),
                utc(2024, 3, 31, 4, 0),
                utc(2024, 4, 1, 4, 0)
            ]
        );
    }

    #[test]
    fn a_tick_in_the_skipped_hour_runs_once_and_one_in_the_repeated_hour_once() {
        let tz: Tz = "Europe/Paris".parse().expect("zone");
        // 02:30 does not exist on 2024-03-31 in Paris.
        let gap = Cron::parse("30 2 * * *").expect("parses");
        let ticks = gap.ticks_between(
            Some(utc(2024, 3, 30, 12, 0)),
            utc(2024, 4, 1, 12, 0),
            tz,
            10,
        );
        assert_eq!(ticks.len(), 2, "{ticks:?}");
        assert_eq!(ticks[1], utc(2024, 4, 1, 0, 30));
        // 02:30 happens twice on 2024-10-27 in Paris: one tick.
        let ticks = gap.ticks_between(
            Some(utc(2024, 10, 26, 12, 0)),
            utc(2024, 10, 27, 12, 0),
            tz,
            10,
        );
        assert_eq!(ticks.len(), 1, "{ticks:?}");
    }

    #[test]
    fn ticks_are_bounded_newest_kept_oldest_first() {
        let cron = Cron::parse("0 * * * *").expect("parses");
        let ticks = cron.ticks_between(None, utc(2024, 1, 2, 0, 30), Tz::UTC, 3);
        assert_eq!(
            ticks,
            [
                utc(2024, 1, 1, 22, 0),
                utc(2024, 1, 1, 23, 0),
                utc(2024, 1, 2, 0, 0)
            ]
        );
        assert_eq!(
            cron.next_after(utc(2024, 1, 2, 0, 0), Tz::UTC),
            Some(utc(2024, 1, 2, 1, 0))
        );
    }
}
