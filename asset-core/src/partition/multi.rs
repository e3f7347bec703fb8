//! Multi-dimensional partitions: one time dimension × one static dimension
//! (a day per region). Keys join the two parts with `|`: `2024-01-01|eu`.
//!
//! Partitions are numbered time-major: all regions of the first day, then
//! all regions of the second day, so the partitions of one day are
//! contiguous and one region's partitions are every `n`-th (`n` the number of
//! regions). Neither part may contain `|`, so a key splits one way only.

use crate::partition::static_keys::KeyList;
use crate::partition::time::TimeWindows;

/// The separator of the parts of a multi-partition key.
pub const SEPARATOR: char = '|';

/// Time windows × static keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiPartitions {
    pub(crate) time: TimeWindows,
    pub(crate) keys: KeyList,
}

impl MultiPartitions {
    /// The time dimension.
    pub fn time(&self) -> &TimeWindows {
        &self.time
    }

    /// The static dimension.
    pub fn keys(&self) -> &KeyList {
        &self.keys
    }

    /// `daily from 2024-01-01 × static (eu, us)`.
    pub fn describe(&self) -> String {
        format!(
            "{} × static ({})",
            self.time.describe(),
            self.keys.preview()
        )
    }

    /// The pattern of keys, for messages: `YYYY-MM-DD|KEY`.
    pub(crate) fn pattern(&self) -> String {
        format!("{}{SEPARATOR}KEY", self.time.pattern())
    }

    /// The flat index of time window `time` and static key position `key`.
    pub(crate) fn flat(&self, time: u64, key: u64) -> Option<u64> {
        time.checked_mul(self.keys.len())?.checked_add(key)
    }

    /// The key of flat index `index`.
    pub(crate) fn key_of(&self, index: u64) -> Option<String> {
        let n = self.keys.len();
        let time = self.time.key_of(i64::try_from(index / n).ok()?)?;
        let key = self.keys.get(index % n)?;
        Some(join(&time, key.as_str()))
    }

    /// The flat index `key` names, if it is a key of the definition (ignoring
    /// the clock).
    pub(crate) fn index_of(&self, key: &str) -> Option<u64> {
        let (time, name) = split(key)?;
        let time = u64::try_from(self.time.parse_index(time)?).ok()?;
        if self.time.limit().is_some_and(|limit| time >= limit) {
            return None;
        }
        self.flat(time, self.keys.position(name)?)
    }
}

/// Joins a time key and a static key.
pub(crate) fn join(time: &str, key: &str) -> String {
    format!("{time}{SEPARATOR}{key}")
}

/// Splits a multi-partition key into its time and static parts.
pub(crate) fn split(key: &str) -> Option<(&str, &str)> {
    key.split_once(SEPARATOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::time::Period;

    fn multi() -> MultiPartitions {
        MultiPartitions {
            time: TimeWindows::new(Period::Daily, "2024-01-01").expect("valid"),
            keys: KeyList::new("static partitions", ["eu", "us"]).expect("valid"),
        }
    }

    #[test]
    fn keys_are_numbered_time_major() {
        let m = multi();
        assert_eq!(m.key_of(0).as_deref(), Some("2024-01-01|eu"));
        assert_eq!(m.key_of(1).as_deref(), Some("2024-01-01|us"));
        assert_eq!(m.key_of(2).as_deref(), Some("2024-01-02|eu"));
        assert_eq!(m.index_of("2024-01-02|us"), Some(3));
    }

    #[test]
    fn keys_without_both_parts_are_refused() {
        let m = multi();
        for bad in [
            "2024-01-01",
            "eu",
            "2024-01-01|",
            "|eu",
            "2024-01-01|mars",
            "2023-12-31|eu",
        ] {
            assert_eq!(m.index_of(bad), None, "{bad:?}");
        }
    }
}
