//! Time-window partitions: hourly, daily, weekly or monthly windows in a
//! time zone.
//!
//! Window `i` of a definition is found by arithmetic from the start, never by
//! walking a list, so a century of hours costs no more than a week of days.
//!
//! # Daylight saving time
//!
//! * **Daily, weekly and monthly** windows run from local midnight to local
//!   midnight: a day on which clocks spring forward lasts 23 hours, one on
//!   which they fall back 25. A midnight the clocks skip starts its window at
//!   the first instant after the gap; a midnight that happens twice starts it
//!   at the first occurrence. Keys are the local date (`2024-03-31`).
//! * **Hourly** windows are absolute hours counted from the start, so a
//!   spring-forward day has 23 keys and a fall-back day 25, none missing and
//!   none twice: when a local hour repeats, the key of its second occurrence
//!   carries its UTC offset (`2024-10-27-02:00+01:00` after
//!   `2024-10-27-02:00` in Europe/Berlin), and such keys parse back.
//!
//! # Which partitions exist
//!
//! A partition exists once its window has ended (`end_offset` 0, the
//! default). An end offset of 1 also counts the window in progress, 2 the one
//! after it; a negative offset holds back the newest complete windows. An
//! explicit end (exclusive, like Dagster's) caps the definition.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{
    DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeDelta, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::error::Error;
use crate::partition::multi::SEPARATOR;

/// The length of a time window.
///
/// Ordered from finer to coarser (`Hourly < Daily < Weekly < Monthly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One hour.
    Hourly,
    /// One local day, midnight to midnight.
    Daily,
    /// Seven local days, starting on the start date's weekday.
    Weekly,
    /// One calendar month, from the 1st.
    Monthly,
}

impl Period {
    /// `hourly`, `daily`, `weekly` or `monthly`.
    pub fn name(self) -> &'static str {
        match self {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
        }
    }

    /// `hour`, `day`, `week` or `month`.
    pub fn unit(self) -> &'static str {
        match self {
            Period::Hourly => "hour",
            Period::Daily => "day",
            Period::Weekly => "week",
            Period::Monthly => "month",
        }
    }

    /// The unit with its article, for messages: `an hour`, `a day`.
    pub(crate) fn a_unit(self) -> &'static str {
        match self {
            Period::Hourly => "an hour",
            Period::Daily => "a day",
            Period::Weekly => "a week",
            Period::Monthly => "a month",
        }
    }

    /// The key format used unless [`TimeWindows::with_format`] says otherwise.
    pub fn default_format(self) -> &'static str {
        match self {
            Period::Hourly => HOUR_FORMAT,
            Period::Daily | Period::Weekly | Period::Monthly => DAY_FORMAT,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How starts and ends are written for days, and the default day key format.
const DAY_FORMAT: &str = "%Y-%m-%d";
/// How starts and ends are written for hours, and the default hour key format.
const HOUR_FORMAT: &str = "%Y-%m-%d-%H:%M";
/// The largest end offset accepted: far more than any real use, small enough
/// that index arithmetic cannot overflow.
const MAX_END_OFFSET: i64 = 100_000;

/// One partition's window of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// The first instant of the window.
    pub start: DateTime<Utc>,
    /// The first instant after the window (exclusive).
    pub end: DateTime<Utc>,
    /// The wall-clock time at `start` in the partitions' time zone.
    pub local_start: NaiveDateTime,
    /// The wall-clock time at `end` in the partitions' time zone.
    pub local_end: NaiveDateTime,
    /// The partitions' time zone.
    pub timezone: Tz,
}

impl TimeWindow {
    /// How long the window lasts (23 or 25 hours for a day on which clocks change).
    pub fn duration(&self) -> TimeDelta {
        self.end - self.start
    }
}

/// Consecutive time windows from a start: the partitions of an hourly, daily,
/// weekly or monthly asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindows {
    period: Period,
    /// Local start of window 0 (midnight for days, weeks and months).
    start: NaiveDateTime,
    /// Local exclusive end, on a window boundary.
    end: Option<NaiveDateTime>,
    timezone: Tz,
    format: Arc<str>,
    end_offset: i64,
    /// Derived from the fields above by `rebuild`.
    start_utc: DateTime<Utc>,
    /// The instant of `end`.
    end_utc: Option<DateTime<Utc>>,
    /// How many windows the definition has (`end` set), unbounded otherwise.
    limit: Option<u64>,
}

/// Why a key is not an existing partition, in the shape of
/// [`Error::InvalidPartition`]'s `expected` and `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) expected: String,
    pub(crate) reason: String,
}

impl TimeWindows {
    /// Windows of `period` from `start`: `YYYY-MM-DD` (the 1st of a month
    /// for monthly), or `YYYY-MM-DD-HH:MM` as well for hourly. UTC, default
    /// key format, no end, end offset 0.
    pub fn new(period: Period, start: &str) -> Result<Self, Error> {
        let start_local = parse_bound(period, "start", start)?;
        let mut windows = Self {
            period,
            start: start_local,
            end: None,
            timezone: Tz::UTC,
            format: Arc::from(period.default_format()),
            end_offset: 0,
            start_utc: start_local.and_utc(),
            end_utc: None,
            limit: None,
        };
        windows.rebuild()?;
        Ok(windows)
    }

    /// The same windows ending (exclusively) at `end`, written like the start;
    /// `end` must be a window boundary after the start.
    pub fn with_end(mut self, end: &str) -> Result<Self, Error> {
        self.end = Some(parse_bound(self.period, "end", end)?);
        self.rebuild()?;
        Ok(self)
    }

    /// The same windows in the IANA time zone `name` (`Europe/Berlin`); the
    /// start and end are read as wall-clock times there.
    pub fn with_timezone(mut self, name: &str) -> Result<Self, Error> {
        self.timezone = parse_timezone(name)?;
        self.rebuild()?;
        Ok(self)
    }

    /// The same windows with keys written in the chrono `format`
    /// (`%Y%m%d`). The format must read back: formatting the start and
    /// parsing the text must give the start again.
    pub fn with_format(mut self, format: &str) -> Result<Self, Error> {
        if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
            return Err(Error::Usage(format!(
                "partition key format {format:?} is not a valid chrono format"
            )));
        }
        self.format = Arc::from(format);
        self.rebuild()?;
        Ok(self)
    }

    /// The same windows with `offset` more partitions than complete windows
    /// (1 includes the window in progress; see the module docs).
    pub fn with_end_offset(mut self, offset: i64) -> Result<Self, Error> {
        if offset.abs() > MAX_END_OFFSET {
            return Err(Error::Usage(format!(
                "end offset {offset} is out of range (-{MAX_END_OFFSET} to {MAX_END_OFFSET})"
            )));
        }
        self.end_offset = offset;
        Ok(self)
    }

    /// The window length.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The local start of the first window.
    pub fn start(&self) -> NaiveDateTime {
        self.start
    }

    /// The local exclusive end, if the windows end.
    pub fn end(&self) -> Option<NaiveDateTime> {
        self.end
    }

    /// The time zone the windows are in.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The chrono format of keys.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// How many windows past the last complete one exist (see the module docs).
    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }

    /// The start as written in definitions: `2024-01-01` or `2024-01-01-06:00`.
    pub(crate) fn start_text(&self) -> String {
        self.bound_text(self.start)
    }

    /// The end as written in definitions, if the windows end.
    pub(crate) fn end_text(&self) -> Option<String> {
        self.end.map(|end| self.bound_text(end))
    }

    /// The instant the windows end at, if they end.
    pub(crate) fn end_instant(&self) -> Option<DateTime<Utc>> {
        self.end_utc
    }

    fn bound_text(&self, bound: NaiveDateTime) -> String {
        match self.period {
            Period::Hourly if bound.time() != NaiveTime::MIN => {
                bound.format(HOUR_FORMAT).to_string()
            }
            _ => bound.format(DAY_FORMAT).to_string(),
        }
    }

    /// `daily from 2024-01-01`, with the end, time zone, format and end
    /// offset when they are not the defaults.
    pub fn describe(&self) -> String {
        let mut text = format!("{} from {}", self.period, self.start_text());
        if let Some(end) = self.end {
            let _ = write!(text, " to {}", self.bound_text(end));
        }
        let mut extras = Vec::new();
        if self.timezone != Tz::UTC {
            extras.push(self.timezone.name().to_owned());
        }
        if *self.format != *self.period.default_format() {
            extras.push(format!("keys {}", self.format));
        }
        if self.end_offset != 0 {
            extras.push(format!("end offset {}", self.end_offset));
        }
        if !extras.is_empty() {
            let _ = write!(text, " ({})", extras.join(", "));
        }
        text
    }

    /// The pattern keys follow, for messages: `YYYY-MM-DD`.
    pub(crate) fn pattern(&self) -> String {
        human_pattern(&self.format)
    }

    /// Recomputes the derived fields and checks the whole definition.
    fn rebuild(&mut self) -> Result<(), Error> {
        let tz = self.timezone;
        self.start_utc = match self.period {
            // An hourly start is an instant, so one the clocks skip is a mistake.
            Period::Hourly => {
                exact_instant(tz, self.start).ok_or_else(|| skipped(self, "start", self.start))?
            }
            _ => resolve(tz, self.start).ok_or_else(|| out_of_range(self.start))?,
        };
        (self.end_utc, self.limit) = match self.end {
            None => (None, None),
            Some(end) => {
                let (end_utc, count) = self.count_to(end)?;
                (Some(end_utc), Some(count))
            }
        };
        self.check_format()
    }

    /// The instant of `end` and the number of windows before it.
    fn count_to(&self, end: NaiveDateTime) -> Result<(DateTime<Utc>, u64), Error> {
        let not_after = || {
            Error::Usage(format!(
                "{} partitions end {} is not after the start {}",
                self.period,
                self.bound_text(end),
                self.start_text()
            ))
        };
        let not_boundary = |why: String| {
            Error::Usage(format!(
                "{} partitions end {} is not a window boundary: {why}",
                self.period,
                self.bound_text(end)
            ))
        };
        let count: i64 = match self.period {
            Period::Hourly => {
                let end_utc =
                    exact_instant(self.timezone, end).ok_or_else(|| skipped(self, "end", end))?;
                let seconds = (end_utc - self.start_utc).num_seconds();
                if seconds.rem_euclid(3600) != 0 {
                    return Err(not_boundary(format!(
                        "hours start at minute {:02}",
                        self.start.minute()
                    )));
                }
                seconds / 3600
            }
            Period::Daily => (end.date() - self.start.date()).num_days(),
            Period::Weekly => {
                let days = (end.date() - self.start.date()).num_days();
                if days.rem_euclid(7) != 0 {
                    return Err(not_boundary(format!(
                        "weeks start on {}",
                        weekday_name(self.start.weekday())
                    )));
                }
                days / 7
            }
            Period::Monthly => {
                if end.day() != 1 {
                    return Err(not_boundary("months start on the 1st".into()));
                }
                months_between(self.start.date(), end.date())
            }
        };
        let count = u64::try_from(count)
            .ok()
            .filter(|&c| c > 0)
            .ok_or_else(not_after)?;
        let end_utc = self
            .utc_start(count as i64)
            .ok_or_else(|| out_of_range(end))?;
        Ok((end_utc, count))
    }

    /// Checks that the first key reads back to the first window, and that
    /// keys are usable as storage path segments.
    fn check_format(&self) -> Result<(), Error> {
        let format = &self.format;
        let key = self.format_index(0).ok_or_else(|| {
            Error::Usage(format!(
                "partition key format {format:?} cannot write {} {} (it needs a date or time it does not have)",
                self.period.a_unit(),
                self.start_text()
            ))
        })?;
        if self.parse_index(&key) != Some(0) {
            return Err(Error::Usage(format!(
                "partition key format {format:?} does not read back: {} {} is written {key:?}, which does not parse to the same {}",
                self.period.a_unit(),
                self.start_text(),
                self.period.unit()
            )));
        }
        io_managers::validate_key("partition key", &key)
            .map_err(|e| Error::Usage(format!("partition key format {format:?} writes {e}")))?;
        if key.contains(SEPARATOR) {
            return Err(Error::Usage(format!(
                "partition key format {format:?} writes {key:?}, which contains {SEPARATOR:?} (reserved for multi-partition keys)"
            )));
        }
        Ok(())
    }

    /// The number of windows, if the definition has an end.
    pub(crate) fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// How many partitions exist at `now`: windows `0..existing(now)`.
    pub(crate) fn existing(&self, now: DateTime<Utc>) -> u64 {
        let Some(current) = self.index_containing(now) else {
            // Out of chrono's range: nothing before the year -262143 exists,
            // everything does after 262143.
            return if now < self.start_utc {
                0
            } else {
                self.limit.unwrap_or(0)
            };
        };
        let count = u64::try_from(current.saturating_add(self.end_offset)).unwrap_or(0);
        self.limit.map_or(count, |limit| count.min(limit))
    }

    /// The index of the window containing `instant` (negative before the start).
    pub(crate) fn index_containing(&self, instant: DateTime<Utc>) -> Option<i64> {
        let local_date = || instant.with_timezone(&self.timezone).date_naive();
        let mut index = match self.period {
            Period::Hourly => (instant - self.start_utc).num_seconds().div_euclid(3600),
            Period::Daily => (local_date() - self.start.date()).num_days(),
            Period::Weekly => (local_date() - self.start.date()).num_days().div_euclid(7),
            Period::Monthly => months_between(self.start.date(), local_date()),
        };
        // The estimate is exact except where a transition moves local time
        // back across midnight; step to the window that really contains it.
        for _ in 0..4 {
            if self.utc_start(index)? > instant {
                index -= 1;
            } else if self.utc_start(index + 1)? <= instant {
                index += 1;
            } else {
                return Some(index);
            }
        }
        Some(index)
    }

    /// The index of the first window starting at or after `instant`.
    pub(crate) fn index_at_or_after(&self, instant: DateTime<Utc>) -> Option<i64> {
        let index = self.index_containing(instant)?;
        if self.utc_start(index)? < instant {
            Some(index + 1)
        } else {
            Some(index)
        }
    }

    /// Whether `index` is a window of the definition (ignoring the clock).
    fn in_definition(&self, index: i64) -> bool {
        index >= 0 && self.limit.is_none_or(|limit| (index as u64) < limit)
    }

    /// The local start of window `index`, for days, weeks and months.
    fn local_start(&self, index: i64) -> Option<NaiveDateTime> {
        let date = self.start.date();
        let date = match self.period {
            Period::Hourly => {
                return Some(
                    self.utc_start(index)?
                        .with_timezone(&self.timezone)
                        .naive_local(),
                );
            }
            Period::Daily => shift_days(date, index)?,
            Period::Weekly => shift_days(date, index.checked_mul(7)?)?,
            Period::Monthly => {
                let months = Months::new(u32::try_from(index.unsigned_abs()).ok()?);
                if index >= 0 {
                    date.checked_add_months(months)?
                } else {
                    date.checked_sub_months(months)?
                }
            }
        };
        Some(date.and_time(NaiveTime::MIN))
    }

    /// The first instant of window `index`.
    pub(crate) fn utc_start(&self, index: i64) -> Option<DateTime<Utc>> {
        match self.period {
            Period::Hourly => self
                .start_utc
                .checked_add_signed(TimeDelta::try_hours(index)?),
            _ => resolve(self.timezone, self.local_start(index)?),
        }
    }

    /// The window of partition `index`, if it is one of the definition's.
    pub(crate) fn window(&self, index: i64) -> Option<TimeWindow> {
        if !self.in_definition(index) {
            return None;
        }
        let start = self.utc_start(index)?;
        let end = self.utc_start(index.checked_add(1)?)?;
        Some(TimeWindow {
            start,
            end,
            local_start: start.with_timezone(&self.timezone).naive_local(),
            local_end: end.with_timezone(&self.timezone).naive_local(),
            timezone: self.timezone,
        })
    }

    /// The key of window `index`, if it is one of the definition's.
    pub(crate) fn key_of(&self, index: i64) -> Option<String> {
        if self.in_definition(index) {
            self.format_index(index)
        } else {
            None
        }
    }

    /// The key of window `index`, in the definition or not.
    fn format_index(&self, index: i64) -> Option<String> {
        match self.period {
            Period::Hourly => {
                let at = self.utc_start(index)?.with_timezone(&self.timezone);
                let local = at.naive_local();
                let mut key = format_local(local, &self.format)?;
                // The second occurrence of a repeated hour names its offset,
                // so each absolute hour has its own key.
                if let LocalResult::Ambiguous(first, _) = self.timezone.from_local_datetime(&local)
                    && first != at
                {
                    write_offset(&mut key, at.offset().fix().local_minus_utc());
                }
                Some(key)
            }
            _ => format_local(self.local_start(index)?, &self.format),
        }
    }

    /// The window index `key` names (negative before the start, past the end
    /// after it), or `None` if it is not a key of this shape. Only the
    /// canonical spelling is accepted: the key must be exactly what
    /// [`key_of`](Self::key_of) writes for its index.
    pub(crate) fn parse_index(&self, key: &str) -> Option<i64> {
        let canonical = |index: i64| (self.format_index(index)? == key).then_some(index);
        match self.period {
            Period::Hourly => {
                let plain = parse_local(key, &self.format, true).and_then(|local| {
                    match self.timezone.from_local_datetime(&local) {
                        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                            self.hour_index(at.with_timezone(&Utc))
                        }
                        LocalResult::None => None,
                    }
                });
                plain.and_then(canonical).or_else(|| {
                    let (body, offset) = split_offset(key)?;
                    let local = parse_local(body, &self.format, true)?;
                    let at = local.checked_sub_signed(TimeDelta::try_seconds(offset.into())?)?;
                    canonical(self.hour_index(at.and_utc())?)
                })
            }
            _ => {
                let date = parse_local(key, &self.format, false)?.date();
                let index = match self.period {
                    Period::Weekly => (date - self.start.date()).num_days().div_euclid(7),
                    Period::Monthly => months_between(self.start.date(), date),
                    _ => (date - self.start.date()).num_days(),
                };
                canonical(index)
            }
        }
    }

    /// The canonical spelling of a key given in Dagster's spelling of a
    /// repeated hour, whose offset has no colon (`2024-11-03-01:00-0500`
    /// for our `2024-11-03-01:00-05:00`); `None` for any other key.
    /// Accepted on input only: keys are always written the canonical way.
    pub(crate) fn alias_of(&self, key: &str) -> Option<String> {
        if self.period != Period::Hourly {
            return None;
        }
        let at = key.len().checked_sub(5)?;
        let (body, suffix) = (key.get(..at)?, key.get(at..)?);
        // Bytes first: the suffix may start inside a multi-byte character.
        let bytes = suffix.as_bytes();
        if !matches!(bytes[0], b'+' | b'-') || !bytes[1..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let (sign, digits) = suffix.split_at(1);
        let canonical = format!("{body}{sign}{}:{}", &digits[..2], &digits[2..]);
        self.parse_index(&canonical).map(|_| canonical)
    }

    /// The index of the hour starting at `at`, if an hour starts there.
    fn hour_index(&self, at: DateTime<Utc>) -> Option<i64> {
        let seconds = (at - self.start_utc).num_seconds();
        (seconds.rem_euclid(3600) == 0).then_some(seconds.div_euclid(3600))
    }

    /// Checks `key` against the definition at `now`, returning its index.
    pub(crate) fn check_key(&self, key: &str, now: DateTime<Utc>) -> Result<u64, Refusal> {
        let zone = self.timezone.name();
        let Some(index) = self.parse_index(key) else {
            return Err(Refusal {
                expected: self.period.a_unit().to_owned(),
                reason: format!("expected {} from {}", self.pattern(), self.start_text()),
            });
        };
        if index < 0 {
            return Err(Refusal {
                expected: "a partition".into(),
                reason: format!(
                    "it is before the first partition {}",
                    self.format_index(0).unwrap_or_else(|| self.start_text())
                ),
            });
        }
        let index = index as u64;
        if let (Some(limit), Some(end)) = (self.limit, self.end)
            && index >= limit
        {
            return Err(Refusal {
                expected: "a partition".into(),
                reason: format!(
                    "it is at or after the end {} of the partitions",
                    self.bound_text(end)
                ),
            });
        }
        if index >= self.existing(now) {
            let unit = self.period.unit();
            let reason = if self.end_offset > 0 {
                format!(
                    "that {unit} is more than {} {unit}(s) past the last complete one ({zone})",
                    self.end_offset
                )
            } else {
                format!("that {unit} has not ended yet ({zone})")
            };
            return Err(Refusal {
                expected: "a complete partition".into(),
                reason,
            });
        }
        Ok(index)
    }
}

/// Reads a start or end: `YYYY-MM-DD`, or `YYYY-MM-DD-HH:MM` for hours.
fn parse_bound(period: Period, what: &str, text: &str) -> Result<NaiveDateTime, Error> {
    let exact = |format: &str| {
        let local = match format {
            HOUR_FORMAT => NaiveDateTime::parse_from_str(text, format).ok()?,
            _ => NaiveDate::parse_from_str(text, format)
                .ok()?
                .and_time(NaiveTime::MIN),
        };
        // Strict: `2024-1-1` parses, but is not how a date is written here.
        (local.format(format).to_string() == text).then_some(local)
    };
    let parsed = match period {
        Period::Hourly => exact(HOUR_FORMAT).or_else(|| exact(DAY_FORMAT)),
        _ => exact(DAY_FORMAT),
    };
    let expected = match period {
        Period::Hourly => "YYYY-MM-DD-HH:MM or YYYY-MM-DD",
        _ => "YYYY-MM-DD",
    };
    let local = parsed.ok_or_else(|| {
        Error::Usage(format!(
            "{period} partitions {what} {text:?} is not a valid {} (expected {expected})",
            if period == Period::Hourly {
                "time"
            } else {
                "day"
            }
        ))
    })?;
    if period == Period::Monthly && local.day() != 1 {
        return Err(Error::Usage(format!(
            "monthly partitions {what} {text:?} is not the first day of a month"
        )));
    }
    if period == Period::Hourly && local.second() != 0 {
        return Err(Error::Usage(format!(
            "hourly partitions {what} {text:?} is not on a whole minute"
        )));
    }
    Ok(local)
}

/// The time zone named `name`, or an error suggesting the closest name.
fn parse_timezone(name: &str) -> Result<Tz, Error> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let wanted = name.to_ascii_lowercase();
    let closest = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| {
            let score = strsim::jaro_winkler(&wanted, &tz.name().to_ascii_lowercase());
            (score, tz.name())
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.85);
    Err(Error::Usage(match closest {
        Some((_, suggestion)) => {
            format!("unknown time zone {name:?} (did you mean {suggestion:?}?)")
        }
        None => {
            format!("unknown time zone {name:?} (expected an IANA name like \"Europe/Berlin\")")
        }
    }))
}

/// The instant a wall-clock time names: the first of two when clocks fall
/// back; when they spring forward over it, the first instant after the gap.
pub(crate) fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => first_instant_at_or_after(tz, local),
    }
}

/// The instant a wall-clock time names, `None` inside a gap.
fn exact_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

/// The first instant whose wall-clock time is `local` or later. chrono-tz
/// has no transition API, so this bisects: a day either side brackets it for
/// any real UTC offset (all are under 15 hours), and local time only moves
/// forward near a gap.
fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    const DAY: i64 = 86_400;
    let target = local.and_utc().timestamp();
    let (mut before, mut after) = (target.checked_sub(DAY)?, target.checked_add(DAY)?);
    // Invariant: the wall clock at `before` is earlier than `local`, at
    // `after` it is `local` or later. Whole seconds: offsets are whole seconds.
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        let wall = DateTime::from_timestamp(mid, 0)?
            .with_timezone(&tz)
            .naive_local();
        if wall >= local {
            after = mid;
        } else {
            before = mid;
        }
    }
    DateTime::from_timestamp(after, 0)
}

/// Formats `local` with `format`; `None` if the format asks for something a
/// wall-clock time does not have (an offset).
fn format_local(local: NaiveDateTime, format: &str) -> Option<String> {
    let mut text = String::new();
    write!(text, "{}", local.format(format)).ok()?;
    Some(text)
}

/// Parses `text` with `format` into a wall-clock time. For hours, a format
/// without minutes means minute 0; for dates, any time of day is ignored.
fn parse_local(text: &str, format: &str, with_time: bool) -> Option<NaiveDateTime> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(format)).ok()?;
    if with_time {
        if parsed.minute().is_none() {
            parsed.set_minute(0).ok()?;
        }
        parsed.to_naive_datetime_with_offset(0).ok()
    } else {
        // A month key written without its day (`%Y-%m`) means the 1st.
        if parsed.day().is_none()
            && parsed.ordinal().is_none()
            && parsed.isoweek().is_none()
            && parsed.week_from_mon().is_none()
            && parsed.week_from_sun().is_none()
        {
            parsed.set_day(1).ok()?;
        }
        Some(parsed.to_naive_date().ok()?.and_time(NaiveTime::MIN))
    }
}

/// Appends a UTC offset as `+01:00` (`+00:53:28` for a seconds offset).
fn write_offset(text: &mut String, seconds: i32) {
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let _ = write!(text, "{sign}{:02}:{:02}", seconds / 3600, seconds / 60 % 60);
    if !seconds.is_multiple_of(60) {
        let _ = write!(text, ":{:02}", seconds % 60);
    }
}

/// Splits a trailing `+01:00` (or `+00:53:28`) off `key`: the rest and the
/// offset in seconds east of UTC.
fn split_offset(key: &str) -> Option<(&str, i32)> {
    [9, 6].into_iter().find_map(|len| {
        let at = key.len().checked_sub(len)?;
        let (body, suffix) = (key.get(..at)?, key.get(at..)?);
        let sign = match suffix.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let mut seconds = 0i32;
        for (i, part) in suffix[1..].split(':').enumerate() {
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let value: i32 = part.parse().ok()?;
            seconds += value * [3600, 60, 1].get(i)?;
        }
        Some((body, sign * seconds))
    })
}

fn shift_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let step = Days::new(days.unsigned_abs());
    if days >= 0 {
        date.checked_add_days(step)
    } else {
        date.checked_sub_days(step)
    }
}

/// Whole calendar months from the month of `from` to the month of `to`.
fn months_between(from: NaiveDate, to: NaiveDate) -> i64 {
    let month_number = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    month_number(to) - month_number(from)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

impl TimeWindows {
    /// Says explicitly which weekday weekly windows start on (`week_starts
    /// = monday` in `#[asset]`). Weeks start on the weekday of the start
    /// date (Dagster's default is Sunday, moved with `day_offset`); this
    /// refuses a start date on another weekday, so the week a reader
    /// expects is the week they get.
    pub fn with_week_start(self, day: &str) -> Result<Self, Error> {
        if self.period != Period::Weekly {
            return Err(Error::Usage(format!(
                "week_starts applies to weekly partitions, not {} ones",
                self.period.name()
            )));
        }
        let wanted = day.trim().parse::<Weekday>().map_err(|_| {
            Error::Usage(format!(
                "week_starts = {day:?} is not a weekday (monday, tuesday, ... sunday)"
            ))
        })?;
        let actual = self.start.weekday();
        if actual != wanted {
            return Err(Error::Usage(format!(
                "weekly partitions start on the weekday of their start date: {} is a {}, not a {} (start on a {} or say week_starts = {})",
                self.start.date(),
                weekday_name(actual),
                weekday_name(wanted),
                weekday_name(wanted),
                weekday_name(actual).to_lowercase()
            )));
        }
        Ok(self)
    }
}

/// The weekday weeks start on, for messages.
pub(crate) fn week_start_name(windows: &TimeWindows) -> &'static str {
    weekday_name(windows.start.weekday())
}

/// A chrono format as people write patterns: `%Y-%m-%d` is `YYYY-MM-DD`.
fn human_pattern(format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str("YYYY"),
            Some('m') => out.push_str("MM"),
            Some('d') => out.push_str("DD"),
            Some('H') => out.push_str("HH"),
            Some('M') => out.push_str("MM"),
            Some('j') => out.push_str("DDD"),
            Some('F') => out.push_str("YYYY-MM-DD"),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

fn skipped(windows: &TimeWindows, what: &str, local: NaiveDateTime) -> Error {
    Error::Usage(format!(
        "hourly partitions {what} {} does not exist in {} (the clocks skip it)",
        local.format(HOUR_FORMAT),
        windows.timezone.name()
    ))
}

fn out_of_range(local: NaiveDateTime) -> Error {
    Error::Usage(format!("{local} is out of the supported range of dates"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid instant")
            .with_timezone(&Utc)
    }

    fn windows(period: Period, start: &str, tz: &str) -> TimeWindows {
        TimeWindows::new(period, start)
            .and_then(|w| w.with_timezone(tz))
            .expect("valid windows")
    }

    /// The keys of the windows starting in `[from, to)`.
    fn keys_between(w: &TimeWindows, from: &str, to: &str) -> Vec<String> {
        let first = w.index_at_or_after(at(from)).expect("in range");
        let last = w.index_at_or_after(at(to)).expect("in range");
        (first..last).map(|i| w.key_of(i).expect("a key")).collect()
    }

    #[test]
    fn berlin_spring_forward_day_lasts_23_hours_and_has_23_hourly_keys() {
        let daily = windows(Period::Daily, "2024-03-01", "Europe/Berlin");
        let i = daily.parse_index("2024-03-31").expect("a day");
        let window = daily.window(i).expect("a window");
        assert_eq!(window.duration(), TimeDelta::hours(23));
        assert_eq!(window.start, at("2024-03-30T23:00:00Z"));
        assert_eq!(window.end, at("2024-03-31T22:00:00Z"));

        let hourly = windows(Period::Hourly, "2024-03-01", "Europe/Berlin");
        let keys = keys_between(&hourly, "2024-03-30T23:00:00Z", "2024-03-31T22:00:00Z");
        assert_eq!(keys.len(), 23);
        assert_eq!(keys[1], "2024-03-31-01:00");
        assert_eq!(keys[2], "2024-03-31-03:00", "02:00 does not exist that day");
        for key in &keys {
            let index = hourly.parse_index(key).expect("parses back");
            assert_eq!(hourly.key_of(index).as_deref(), Some(key.as_str()));
        }
        assert_eq!(hourly.parse_index("2024-03-31-02:00"), None);
    }

    #[test]
    fn dagster_spelling_of_a_repeated_hour_is_an_alias_of_ours() {
        let hourly = windows(Period::Hourly, "2024-11-01", "America/New_York");
        assert_eq!(
            hourly.alias_of("2024-11-03-01:00-0500").as_deref(),
            Some("2024-11-03-01:00-05:00")
        );
        assert_eq!(
            hourly.alias_of("2024-11-03-01:00-0400"),
            None,
            "not the repeat"
        );
        assert_eq!(
            hourly.alias_of("2024-11-03-01:00"),
            None,
            "canonical already"
        );
        assert_eq!(hourly.alias_of("2024-11-03-01:00-05:00"), None);
        // Found by the property tests: a suffix starting inside a character.
        assert_eq!(hourly.alias_of("\u{94214}+"), None);
        let daily = windows(Period::Daily, "2024-11-01", "America/New_York");
        assert_eq!(daily.alias_of("2024-11-03-0500"), None);
    }

    #[test]
    fn berlin_fall_back_day_lasts_25_hours_and_the_repeated_hour_names_its_offset() {
        let daily = windows(Period::Daily, "2024-10-01", "Europe/Berlin");
        let i = daily.parse_index("2024-10-27").expect("a day");
        assert_eq!(
            daily.window(i).expect("a window").duration(),
            TimeDelta::hours(25)
        );

        let hourly = windows(Period::Hourly, "2024-10-01", "Europe/Berlin");
        let keys = keys_between(&hourly, "2024-10-26T22:00:00Z", "2024-10-27T23:00:00Z");
        assert_eq!(keys.len(), 25);
        assert_eq!(
            &keys[1..5],
            [
                "2024-10-27-01:00",
                "2024-10-27-02:00",
                "2024-10-27-02:00+01:00",
                "2024-10-27-03:00"
            ]
        );
        let first = hourly.parse_index("2024-10-27-02:00").expect("first 02:00");
        let second = hourly
            .parse_index("2024-10-27-02:00+01:00")
            .expect("second");
        assert_eq!(second, first + 1);
        assert_eq!(hourly.utc_start(first), Some(at("2024-10-27T00:00:00Z")));
        assert_eq!(hourly.utc_start(second), Some(at("2024-10-27T01:00:00Z")));
        // An offset that is not the one the clock showed is no key.
        assert_eq!(hourly.parse_index("2024-10-27-02:00+02:00"), None);
        assert_eq!(hourly.parse_index("2024-10-27-03:00+01:00"), None);
    }

    #[test]
    fn new_york_transitions_give_23_and_25_hour_days() {
        let hourly = windows(Period::Hourly, "2024-01-01", "America/New_York");
        let spring = keys_between(&hourly, "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z");
        assert_eq!(spring.len(), 23);
        assert!(!spring.contains(&"2024-03-10-02:00".to_owned()));
        let fall = keys_between(&hourly, "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z");
        assert_eq!(fall.len(), 25);
        assert_eq!(fall[1], "2024-11-03-01:00");
        assert_eq!(fall[2], "2024-11-03-01:00-05:00");

        let daily = windows(Period::Daily, "2024-01-01", "America/New_York");
        let nov3 = daily.parse_index("2024-11-03").expect("a day");
        let window = daily.window(nov3).expect("a window");
        assert_eq!(window.duration(), TimeDelta::hours(25));
        assert_eq!(
            window.local_start,
            NaiveDate::from_ymd_opt(2024, 11, 3)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .expect("date")
        );
    }

    #[test]
    fn a_midnight_the_clocks_skip_starts_the_day_at_the_first_instant_after() {
        // Chile springs forward at 24:00 on 2024-09-07: 2024-09-08 00:00 never happens.
        let daily = windows(Period::Daily, "2024-09-01", "America/Santiago");
        let i = daily.parse_index("2024-09-08").expect("a day");
        let window = daily.window(i).expect("a window");
        assert_eq!(window.start, at("2024-09-08T04:00:00Z"));
        assert_eq!(
            window.local_start.time(),
            NaiveTime::from_hms_opt(1, 0, 0).expect("time")
        );
        assert_eq!(window.duration(), TimeDelta::hours(23));
        let before = daily.window(i - 1).expect("the day before");
        assert_eq!(before.end, window.start);
    }

    #[test]
    fn index_of_an_instant_is_the_window_containing_it() {
        let daily = windows(Period::Daily, "2024-01-01", "Europe/Berlin");
        // 23:30 UTC on Jan 1st is 00:30 on Jan 2nd in Berlin.
        assert_eq!(daily.index_containing(at("2024-01-01T23:30:00Z")), Some(1));
        assert_eq!(daily.index_containing(at("2024-01-01T22:59:59Z")), Some(0));
        assert_eq!(daily.index_containing(at("2023-12-31T22:59:59Z")), Some(-1));
        let weekly = windows(Period::Weekly, "2024-01-03", "UTC");
        assert_eq!(weekly.index_containing(at("2024-01-09T12:00:00Z")), Some(0));
        assert_eq!(weekly.index_containing(at("2024-01-10T00:00:00Z")), Some(1));
        let monthly = windows(Period::Monthly, "2024-01-01", "UTC");
        assert_eq!(
            monthly.index_containing(at("2025-02-28T12:00:00Z")),
            Some(13)
        );
    }

    #[test]
    fn keys_in_other_spellings_are_refused() {
        let daily = windows(Period::Daily, "2024-01-01", "UTC");
        for bad in ["2024-1-1", "20240101", "2024-01-01 ", "", "2024-02-30"] {
            assert_eq!(daily.parse_index(bad), None, "{bad:?}");
        }
        let weekly = windows(Period::Weekly, "2024-01-01", "UTC");
        assert_eq!(weekly.parse_index("2024-01-08"), Some(1));
        assert_eq!(weekly.parse_index("2024-01-09"), None, "not a week start");
        let monthly = windows(Period::Monthly, "2024-01-01", "UTC");
        assert_eq!(monthly.parse_index("2024-03-01"), Some(2));
        assert_eq!(monthly.parse_index("2024-03-02"), None, "not a month start");
    }

    #[test]
    fn custom_formats_must_read_back() {
        let compact = TimeWindows::new(Period::Daily, "2024-01-01")
            .and_then(|w| w.with_format("%Y%m%d"))
            .expect("round-trips");
        assert_eq!(compact.key_of(31).as_deref(), Some("20240201"));
        assert_eq!(compact.parse_index("20240201"), Some(31));
        let hours = TimeWindows::new(Period::Hourly, "2024-01-01")
            .and_then(|w| w.with_format("%Y%m%dT%H"))
            .expect("minutes default to zero");
        assert_eq!(hours.parse_index("20240101T05"), Some(5));

        let lossy = TimeWindows::new(Period::Hourly, "2024-01-01")
            .and_then(|w| w.with_format("%Y-%m-%d"))
            .expect_err("no hour in the key");
        assert!(lossy.to_string().contains("does not read back"), "{lossy}");
        let offset = TimeWindows::new(Period::Daily, "2024-01-01")
            .and_then(|w| w.with_format("%Y-%m-%d%z"))
            .expect_err("a date has no offset");
        assert!(offset.to_string().contains("cannot write"), "{offset}");
        let slash = TimeWindows::new(Period::Daily, "2024-01-01")
            .and_then(|w| w.with_format("%Y/%m/%d"))
            .expect_err("path separator");
        assert!(slash.to_string().contains("path separator"), "{slash}");
        let pipe = TimeWindows::new(Period::Daily, "2024-01-01")
            .and_then(|w| w.with_format("%Y|%m|%d"))
            .expect_err("multi separator");
        assert!(pipe.to_string().contains("reserved"), "{pipe}");
        let broken = TimeWindows::new(Period::Daily, "2024-01-01")
            .and_then(|w| w.with_format("%Y-%"))
            .expect_err("bad format");
        assert!(
            broken.to_string().contains("not a valid chrono format"),
            "{broken}"
        );
    }

    #[test]
    fn ends_must_be_window_boundaries_after_the_start() {
        let weekly = TimeWindows::new(Period::Weekly, "2024-01-01").expect("valid");
        let err = weekly.clone().with_end("2024-01-10").expect_err("mid-week");
        assert_eq!(
            err.to_string(),
            "weekly partitions end 2024-01-10 is not a window boundary: weeks start on Monday"
        );
        assert_eq!(
            weekly.with_end("2024-01-15").expect("two weeks").limit(),
            Some(2)
        );
        let daily = TimeWindows::new(Period::Daily, "2024-01-10").expect("valid");
        let err = daily.with_end("2024-01-10").expect_err("empty");
        assert!(err.to_string().contains("is not after the start"), "{err}");
        let monthly = TimeWindows::new(Period::Monthly, "2024-01-01").expect("valid");
        assert!(monthly.clone().with_end("2024-03-15").is_err());
        assert_eq!(
            monthly.with_end("2025-01-01").expect("a year").limit(),
            Some(12)
        );
    }

    #[test]
    fn unknown_time_zone_suggests_the_closest_name() {
        let err = TimeWindows::new(Period::Daily, "2024-01-01")
            .and_then(|w| w.with_timezone("Europe/Berln"))
            .expect_err("typo");
        assert_eq!(
            err.to_string(),
            r#"unknown time zone "Europe/Berln" (did you mean "Europe/Berlin"?)"#
        );
        let err = parse_timezone("Nowhere").expect_err("no such zone");
        assert!(
            err.to_string().starts_with("unknown time zone \"Nowhere\""),
            "{err}"
        );
    }

    #[test]
    fn an_hourly_start_the_clocks_skip_is_refused() {
        let err = TimeWindows::new(Period::Hourly, "2024-03-31-02:00")
            .and_then(|w| w.with_timezone("Europe/Berlin"))
            .expect_err("skipped hour");
        assert_eq!(
            err.to_string(),
            "hourly partitions start 2024-03-31-02:00 does not exist in Europe/Berlin (the clocks skip it)"
        );
    }

    #[test]
    fn starts_are_strict() {
        assert!(TimeWindows::new(Period::Daily, "2024-1-01").is_err());
        assert!(TimeWindows::new(Period::Daily, "2024-01-01-00:00").is_err());
        assert!(TimeWindows::new(Period::Hourly, "2024-01-01-06:00").is_ok());
        assert!(TimeWindows::new(Period::Hourly, "2024-01-01").is_ok());
        assert!(TimeWindows::new(Period::Hourly, "2024-01-01 06:00").is_err());
        let err = TimeWindows::new(Period::Monthly, "2024-01-02").expect_err("not a 1st");
        assert_eq!(
            err.to_string(),
            r#"monthly partitions start "2024-01-02" is not the first day of a month"#
        );
    }

    #[test]
    fn end_offset_counts_windows_past_the_last_complete_one() {
        let daily = TimeWindows::new(Period::Daily, "2024-01-01").expect("valid");
        let noon = at("2024-01-05T12:00:00Z");
        assert_eq!(daily.existing(noon), 4);
        assert_eq!(
            daily
                .clone()
                .with_end_offset(1)
                .expect("valid")
                .existing(noon),
            5
        );
        assert_eq!(
            daily
                .clone()
                .with_end_offset(-2)
                .expect("valid")
                .existing(noon),
            2
        );
        assert_eq!(
            daily
                .clone()
                .with_end_offset(-9)
                .expect("valid")
                .existing(noon),
            0
        );
        assert!(daily.with_end_offset(1_000_000).is_err());
    }

    #[test]
    fn week_starts_must_be_the_start_dates_weekday() {
        let monday = TimeWindows::new(Period::Weekly, "2024-01-01").expect("a Monday");
        monday.clone().with_week_start("monday").expect("it is");
        monday
            .clone()
            .with_week_start("Mon")
            .expect("short names too");
        let err = monday
            .clone()
            .with_week_start("sunday")
            .expect_err("not")
            .to_string();
        assert_eq!(
            err,
            "weekly partitions start on the weekday of their start date: 2024-01-01 is a Monday, not a Sunday (start on a Sunday or say week_starts = monday)"
        );
        assert!(monday.with_week_start("someday").is_err());
        let daily = TimeWindows::new(Period::Daily, "2024-01-01").expect("valid");
        assert!(daily.with_week_start("monday").is_err());
    }

    #[test]
    fn weekly_windows_start_on_the_start_weekday() {
        let weekly = TimeWindows::new(Period::Weekly, "2024-01-03").expect("a Wednesday");
        assert_eq!(weekly.key_of(1).as_deref(), Some("2024-01-10"));
        let window = weekly.window(0).expect("first week");
        assert_eq!(window.duration(), TimeDelta::days(7));
    }

    #[test]
    fn split_offset_reads_only_offsets() {
        assert_eq!(
            split_offset("2024-10-27-02:00+01:00"),
            Some(("2024-10-27-02:00", 3600))
        );
        assert_eq!(split_offset("x-05:00"), Some(("x", -18000)));
        assert_eq!(split_offset("x+00:53:28"), Some(("x", 3208)));
        assert_eq!(split_offset("2024-10-27"), None);
    }
}
