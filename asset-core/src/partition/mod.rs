//! Partitions: how an asset is cut into slices that are materialized one at
//! a time (a day of events), each with its own key, storage location and
//! provenance.
//!
//! # Kinds of partitions
//!
//! | definition | keys | made by |
//! | --- | --- | --- |
//! | [`Unpartitioned`](PartitionsDef::Unpartitioned) | none: one value | the default |
//! | [`Time`](PartitionsDef::Time): hourly | `2024-01-01-13:00` | [`PartitionsDef::hourly`] |
//! | [`Time`](PartitionsDef::Time): daily | `2024-01-01` | [`PartitionsDef::daily`] |
//! | [`Time`](PartitionsDef::Time): weekly | `2024-01-01` (its first day) | [`PartitionsDef::weekly`] |
//! | [`Time`](PartitionsDef::Time): monthly | `2024-01-01` (the 1st) | [`PartitionsDef::monthly`] |
//! | [`Static`](PartitionsDef::Static) | `eu`, `us` | [`PartitionsDef::static_keys`] |
//! | [`Multi`](PartitionsDef::Multi): time × static | `2024-01-01\|eu` | [`PartitionsDef::multi`] |
//! | [`Dynamic`](PartitionsDef::Dynamic) | added at run time, kept in the catalog | [`PartitionsDef::dynamic`] |
//!
//! Time partitions take builder methods: [`with_end`](PartitionsDef::with_end)
//! (exclusive), [`with_timezone`](PartitionsDef::with_timezone) (IANA name,
//! UTC by default), [`with_format`](PartitionsDef::with_format) (a chrono
//! format for keys) and [`with_end_offset`](PartitionsDef::with_end_offset).
//! Time zones and daylight saving time are described in [`time`].
//!
//! # Which partitions exist
//!
//! A definition says which keys *could* exist; a [`KeySpace`] (the current
//! time and the keys of each dynamic set) says which *do*: a day exists once
//! it has ended, a dynamic key once it has been added. [`PartitionsDef::keys`]
//! gives them all as a [`KeyRange`]: lazy, cheap to clone, iterable from
//! either end, and computed by index arithmetic, so a century of hourly
//! partitions costs no more than one day.
//!
//! # Reading other assets' partitions
//!
//! Which upstream partitions a downstream partition reads is a
//! [`PartitionMapping`]; [`mapping`] has the rules and the arithmetic.

pub mod dynamic;
pub mod key_space;
pub mod mapping;
pub mod multi;
pub mod range;
pub mod span;
pub mod static_keys;
pub mod time;

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDateTime;

pub use chrono::NaiveDate;
pub use chrono_tz::Tz;

pub use dynamic::DynamicPartitions;
pub use key_space::{KeySpace, check_dynamic_key};
pub use mapping::{PartitionMapping, UpstreamKeys};
pub use multi::MultiPartitions;
pub use range::{KeyIter, KeyRange};
pub use span::{Inside, TimeSpan};
pub use static_keys::KeyList;
pub use time::{Period, TimeWindow, TimeWindows};

use crate::error::Error;
use range::KeySource;
use time::Refusal;

/// The key of one partition, validated against its asset's [`PartitionsDef`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey(Arc<str>);

impl PartitionKey {
    /// The key as text (`2024-01-01`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's shared text (a clone of the handle, not of the text): a
    /// plan of 365,000 steps names each partition once.
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }

    /// A key the partition model made itself, so already valid.
    pub(crate) fn unchecked(key: impl Into<Arc<str>>) -> Self {
        Self(key.into())
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
    /// One partition per hour, day, week or month in a time zone.
    Time(TimeWindows),
    /// One partition per key of a fixed list (`eu`, `us`, `asia`).
    Static(KeyList),
    /// One partition per time window and static key (`2024-01-01|eu`).
    Multi(MultiPartitions),
    /// One partition per key of a named set that grows at run time.
    Dynamic(DynamicPartitions),
}

impl PartitionsDef {
    /// Hourly partitions from `start` (`YYYY-MM-DD-HH:MM` or `YYYY-MM-DD`),
    /// keyed `YYYY-MM-DD-HH:MM`.
    pub fn hourly(start: &str) -> Result<Self, Error> {
        TimeWindows::new(Period::Hourly, start).map(Self::Time)
    }

    /// Daily partitions from `start` (`YYYY-MM-DD`), keyed `YYYY-MM-DD`.
    pub fn daily(start: &str) -> Result<Self, Error> {
        TimeWindows::new(Period::Daily, start).map(Self::Time)
    }

    /// Weekly partitions from `start` (`YYYY-MM-DD`; weeks start on its
    /// weekday), keyed by their first day `YYYY-MM-DD`.
    pub fn weekly(start: &str) -> Result<Self, Error> {
        TimeWindows::new(Period::Weekly, start).map(Self::Time)
    }

    /// Monthly partitions from `start` (`YYYY-MM-01`), keyed by their first
    /// day `YYYY-MM-01`.
    pub fn monthly(start: &str) -> Result<Self, Error> {
        TimeWindows::new(Period::Monthly, start).map(Self::Time)
    }

    /// One partition per key, in this order: at least one key, each once,
    /// each a valid storage path segment without `|`.
    pub fn static_keys(keys: &[&str]) -> Result<Self, Error> {
        if keys.is_empty() {
            return Err(Error::Usage(
                "static partitions need at least one key".into(),
            ));
        }
        KeyList::new("static partitions", keys).map(Self::Static)
    }

    /// One partition per window of `time` and key of `keys` (made by a time
    /// constructor and [`static_keys`](Self::static_keys)), keyed
    /// `2024-01-01|eu`.
    pub fn multi(time: PartitionsDef, keys: PartitionsDef) -> Result<Self, Error> {
        match (time, keys) {
            (Self::Time(time), Self::Static(keys)) => {
                Ok(Self::Multi(MultiPartitions { time, keys }))
            }
            (time, keys) => Err(Error::Usage(format!(
                "multi partitions take time partitions and static partitions, in that order, not {} and {}",
                time.describe(),
                keys.describe()
            ))),
        }
    }

    /// Partitions whose keys are added at run time to the set `name`
    /// (letters, digits, `_`, `-`), kept in the catalog.
    pub fn dynamic(name: &str) -> Result<Self, Error> {
        DynamicPartitions::new(name).map(Self::Dynamic)
    }

    /// The same time partitions ending (exclusively) at `end`, written like
    /// the start and on a window boundary.
    pub fn with_end(self, end: &str) -> Result<Self, Error> {
        self.time_builder("with_end", |t| t.with_end(end))
    }

    /// The same time partitions in the IANA time zone `name`
    /// (`Europe/Berlin`); an unknown name is an error that suggests the
    /// closest one.
    pub fn with_timezone(self, name: &str) -> Result<Self, Error> {
        self.time_builder("with_timezone", |t| t.with_timezone(name))
    }

    /// The same time partitions with keys in the chrono `format` (`%Y%m%d`);
    /// it must read back (formatting the start then parsing it gives the
    /// start) and write valid storage path segments.
    pub fn with_format(self, format: &str) -> Result<Self, Error> {
        self.time_builder("with_format", |t| t.with_format(format))
    }

    /// The same time partitions with `offset` more partitions than complete
    /// windows: 0 (the default) until a window ends, 1 includes the window
    /// in progress.
    pub fn with_end_offset(self, offset: i64) -> Result<Self, Error> {
        self.time_builder("with_end_offset", |t| t.with_end_offset(offset))
    }

    /// The same weekly partitions, checked to start on `day` (`"monday"`):
    /// see [`TimeWindows::with_week_start`](time::TimeWindows::with_week_start).
    pub fn with_week_start(self, day: &str) -> Result<Self, Error> {
        self.time_builder("with_week_start", |t| t.with_week_start(day))
    }

    fn time_builder(
        self,
        method: &str,
        apply: impl FnOnce(TimeWindows) -> Result<TimeWindows, Error>,
    ) -> Result<Self, Error> {
        match self {
            Self::Time(t) => apply(t).map(Self::Time),
            other => Err(Error::Usage(format!(
                "{method} applies to hourly, daily, weekly or monthly partitions, not {}",
                other.describe()
            ))),
        }
    }

    /// The same static partitions (or the static dimension of multi
    /// partitions) with the dimension named `name` in storage paths:
    /// `region` gives `sales/day=2024-01-01/region=eu/`. ASCII letters,
    /// digits and `_`, starting with a letter.
    pub fn with_dimension(self, name: &str) -> Result<Self, Error> {
        match self {
            Self::Static(keys) => keys.with_dimension(name).map(Self::Static),
            Self::Multi(m) => Ok(Self::Multi(MultiPartitions {
                time: m.time,
                keys: m.keys.with_dimension(name)?,
            })),
            other => Err(Error::Usage(format!(
                "with_dimension applies to static or multi partitions, not {} (time dimensions are named after their period: hour, day, week, month)",
                other.describe()
            ))),
        }
    }

    /// The names of the partition's dimensions in storage paths, one per
    /// level of its Hive folders: `day` (or `hour`, `week`, `month`) for
    /// time partitions, the static dimension's name (`key` unless set with
    /// [`with_dimension`](Self::with_dimension)), the dynamic set's name
    /// (`key` if it is not a column name); none when unpartitioned.
    pub fn dimension_names(&self) -> Vec<String> {
        match self {
            PartitionsDef::Unpartitioned => Vec::new(),
            PartitionsDef::Time(t) => vec![t.period().unit().to_owned()],
            PartitionsDef::Static(keys) => vec![keys.dimension().to_owned()],
            PartitionsDef::Multi(m) => vec![
                m.time.period().unit().to_owned(),
                m.keys.dimension().to_owned(),
            ],
            PartitionsDef::Dynamic(d) => {
                let name = d.name().replace('-', "_");
                if io_managers::validate_dimension_name(&name).is_ok() {
                    vec![name]
                } else {
                    vec![KeyList::DEFAULT_DIMENSION.to_owned()]
                }
            }
        }
    }

    /// Whether the asset has partitions.
    pub fn is_partitioned(&self) -> bool {
        !matches!(self, PartitionsDef::Unpartitioned)
    }

    /// A short description for listings: `daily from 2024-01-01`.
    pub fn describe(&self) -> String {
        match self {
            PartitionsDef::Unpartitioned => "unpartitioned".into(),
            PartitionsDef::Time(t) => t.describe(),
            PartitionsDef::Static(keys) => format!("static ({})", keys.preview()),
            PartitionsDef::Multi(m) => m.describe(),
            PartitionsDef::Dynamic(d) => d.describe(),
        }
    }

    /// Every partition that exists in `space`, oldest first (none for an
    /// unpartitioned asset or a dynamic set `space` does not know).
    pub fn keys(&self, space: &KeySpace) -> KeyRange {
        match self {
            PartitionsDef::Unpartitioned => KeyRange::empty(),
            PartitionsDef::Time(t) => {
                KeyRange::new(KeySource::Time(t.clone()), 0, t.existing(space.time()), 1)
            }
            PartitionsDef::Static(keys) => {
                KeyRange::new(KeySource::List(keys.clone()), 0, keys.len(), 1)
            }
            PartitionsDef::Multi(m) => {
                let count = m.time.existing(space.time()).saturating_mul(m.keys.len());
                KeyRange::new(KeySource::Multi(m.clone()), 0, count, 1)
            }
            PartitionsDef::Dynamic(d) => match space.dynamic(d.name()) {
                Some(keys) => KeyRange::new(KeySource::List(keys.clone()), 0, keys.len(), 1),
                None => KeyRange::empty(),
            },
        }
    }

    /// Checks `key` against this definition for `asset` in `space`,
    /// returning the validated key: it must be spelled as the definition
    /// writes keys and name a partition that exists (a complete window, a
    /// listed static key, a dynamic key already added).
    pub fn validate_in(
        &self,
        asset: &str,
        key: &str,
        space: &KeySpace,
    ) -> Result<PartitionKey, Error> {
        let refuse = |refusal: Refusal| Error::InvalidPartition {
            asset: asset.to_owned(),
            key: key.to_owned(),
            expected: refusal.expected,
            reason: refusal.reason,
        };
        // Dagster's spelling of a repeated hour is taken as ours.
        let alias = match self {
            PartitionsDef::Time(t) => t.alias_of(key),
            PartitionsDef::Multi(m) => multi::split(key).and_then(|(time, name)| {
                m.time
                    .alias_of(time)
                    .map(|time| format!("{time}{}{name}", multi::SEPARATOR))
            }),
            _ => None,
        };
        let key = alias.as_deref().unwrap_or(key);
        match self {
            PartitionsDef::Unpartitioned => {
                return Err(Error::Usage(format!(
                    "asset {asset:?} is not partitioned, but partition {key:?} was asked for"
                )));
            }
            PartitionsDef::Time(t) => {
                t.check_key(key, space.time()).map_err(refuse)?;
            }
            PartitionsDef::Static(keys) => {
                check_listed(keys, key, "a static key").map_err(refuse)?;
            }
            PartitionsDef::Dynamic(d) => {
                let expected = format!("a key of dynamic partitions {:?}", d.name());
                match space.dynamic(d.name()) {
                    Some(keys) => {
                        check_listed(keys, key, &expected).map_err(refuse)?;
                    }
                    None => {
                        return Err(refuse(Refusal {
                            expected,
                            reason: "the set has no keys yet".into(),
                        }));
                    }
                }
            }
            PartitionsDef::Multi(m) => {
                let Some((time, name)) = multi::split(key) else {
                    return Err(refuse(Refusal {
                        expected: format!("a {}|key pair", m.time.period().unit()),
                        reason: format!(
                            "expected {} like {}",
                            m.pattern(),
                            m.key_of(0).unwrap_or_default()
                        ),
                    }));
                };
                m.time.check_key(time, space.time()).map_err(|r| {
                    refuse(Refusal {
                        expected: r.expected,
                        reason: format!("its time part {time:?}: {}", r.reason),
                    })
                })?;
                check_listed(&m.keys, name, "a static key").map_err(|r| {
                    refuse(Refusal {
                        expected: r.expected,
                        reason: format!("its static part {name:?}: {}", r.reason),
                    })
                })?;
            }
        }
        Ok(PartitionKey::unchecked(key))
    }

    /// [`validate_in`](Self::validate_in) at the current time, with no
    /// dynamic keys (so every dynamic key is refused: use `validate_in` with
    /// the catalog's keys for those).
    pub fn validate(&self, asset: &str, key: &str) -> Result<PartitionKey, Error> {
        self.validate_in(asset, key, &KeySpace::now())
    }

    /// [`validate`](Self::validate) as if the time were `now` (UTC).
    pub fn validate_at(
        &self,
        asset: &str,
        key: &str,
        now: NaiveDateTime,
    ) -> Result<PartitionKey, Error> {
        self.validate_in(asset, key, &KeySpace::at(now.and_utc()))
    }

    /// The existing partitions from `from` to `to`, both included, in order.
    /// Both must be existing keys, and `from` may not come after `to`.
    pub fn range(
        &self,
        asset: &str,
        from: &str,
        to: &str,
        space: &KeySpace,
    ) -> Result<KeyRange, Error> {
        let first = self.validate_in(asset, from, space)?;
        let last = self.validate_in(asset, to, space)?;
        let keys = self.keys(space);
        let position = |key: &PartitionKey| {
            keys.position(key).ok_or_else(|| {
                Error::Internal(format!(
                    "partition {key} of asset {asset:?} was validated but is not among its keys"
                ))
            })
        };
        let (i, j) = (position(&first)?, position(&last)?);
        if i > j {
            return Err(Error::Usage(format!(
                "partition range of asset {asset:?} runs backwards: {from:?} comes after {to:?}"
            )));
        }
        Ok(keys.slice(i, j + 1))
    }

    /// Every complete partition as of `now` (UTC), in order (none for an
    /// unpartitioned asset). Lazy: keys are made as they are iterated.
    pub fn keys_until(&self, now: NaiveDateTime) -> KeyIter {
        self.keys(&KeySpace::at(now.and_utc())).iter()
    }

    /// The time window of a partition: for time partitions, and for
    /// multi-partitions that of their time part. `None` for other kinds or
    /// a key that is not one of the definition's (the clock is not looked at).
    pub fn window(&self, key: &PartitionKey) -> Option<TimeWindow> {
        match self {
            PartitionsDef::Time(t) => t.window(t.parse_index(key.as_str())?),
            PartitionsDef::Multi(m) => {
                let (time, _) = multi::split(key.as_str())?;
                m.time.window(m.time.parse_index(time)?)
            }
            _ => None,
        }
    }

    /// The local date a partition's time window starts on.
    pub fn window_start(&self, key: &PartitionKey) -> Option<NaiveDate> {
        self.window(key).map(|w| w.local_start.date())
    }

    /// The position of `key` among the partitions that exist in `space`.
    pub fn index_of(&self, key: &PartitionKey, space: &KeySpace) -> Option<u64> {
        self.keys(space).position(key)
    }

    /// The partition at `index` among those that exist in `space`.
    pub fn key_at(&self, index: u64, space: &KeySpace) -> Option<PartitionKey> {
        self.keys(space).get(index)
    }

    /// The partition before `key` (`None` for the first, or a key that does
    /// not exist in `space`). For multi-partitions it is the previous time
    /// window with the same static key: `2024-01-01|eu` before `2024-01-02|eu`.
    pub fn previous(&self, key: &PartitionKey, space: &KeySpace) -> Option<PartitionKey> {
        let keys = self.keys(space);
        let stride = match self {
            PartitionsDef::Multi(m) => m.keys.len(),
            _ => 1,
        };
        keys.get(keys.position(key)?.checked_sub(stride)?)
    }
}

/// Checks that `key` is in `keys`, suggesting the closest key if it is not.
fn check_listed(keys: &KeyList, key: &str, expected: &str) -> Result<u64, Refusal> {
    keys.position(key).ok_or_else(|| Refusal {
        expected: expected.to_owned(),
        reason: match keys.closest(key) {
            Some(close) => format!(
                "did you mean {:?}? (keys: {})",
                close.as_str(),
                keys.preview()
            ),
            None => format!("expected one of {}", keys.preview()),
        },
    })
}

#[cfg(test)]
mod tests;
