//! [`KeyRange`]: a lazy, evenly spaced run of partition keys.
//!
//! A range is a definition plus index arithmetic (`start`, `len`, `step`):
//! `get(i)` writes the key of index `start + i * step` when asked, so a
//! century of hourly keys costs a few words of memory. A step above one picks
//! one static key of a multi-partitioned asset across days (`eu` of each day).

use std::fmt;
use std::iter::FusedIterator;

use crate::partition::PartitionKey;
use crate::partition::multi::MultiPartitions;
use crate::partition::static_keys::KeyList;
use crate::partition::time::TimeWindows;

/// Where a range's keys come from: a definition's keys by flat index.
#[derive(Clone)]
pub(crate) enum KeySource {
    /// No keys (an unpartitioned asset, an unknown dynamic set).
    Nothing,
    /// Time windows by window index.
    Time(TimeWindows),
    /// Static keys or a dynamic set's keys by position.
    List(KeyList),
    /// Multi-partitions by flat (time-major) index.
    Multi(MultiPartitions),
}

impl KeySource {
    fn key_at(&self, index: u64) -> Option<PartitionKey> {
        match self {
            KeySource::Nothing => None,
            KeySource::Time(t) => t
                .key_of(i64::try_from(index).ok()?)
                .map(PartitionKey::unchecked),
            KeySource::List(list) => list.get(index).cloned(),
            KeySource::Multi(m) => m.key_of(index).map(PartitionKey::unchecked),
        }
    }

    fn index_of(&self, key: &str) -> Option<u64> {
        match self {
            KeySource::Nothing => None,
            KeySource::Time(t) => u64::try_from(t.parse_index(key)?).ok(),
            KeySource::List(list) => list.position(key),
            KeySource::Multi(m) => m.index_of(key),
        }
    }
}

/// Partition keys `start, start + step, …` (`len` of them) of one
/// definition, made on demand. Cheap to clone; iterates both ways.
#[derive(Clone)]
pub struct KeyRange {
    source: KeySource,
    start: u64,
    len: u64,
    step: u64,
}

impl KeyRange {
    /// A range with no keys.
    pub fn empty() -> Self {
        Self {
            source: KeySource::Nothing,
            start: 0,
            len: 0,
            step: 1,
        }
    }

    /// `len` keys of `source` from flat index `start`, `step` apart.
    pub(crate) fn new(source: KeySource, start: u64, len: u64, step: u64) -> Self {
        Self {
            source,
            start,
            len,
            step: step.max(1),
        }
    }

    /// Keys `from..to` (clipped to `0..limit`) of `source`, in units of
    /// `step` from `offset`: flat indices `offset + i * step`. The clipping is
    /// how mappings drop keys before the start of history or that do not
    /// exist yet.
    pub(crate) fn clipped(
        source: KeySource,
        from: i64,
        to: i64,
        limit: u64,
        offset: u64,
        step: u64,
    ) -> Self {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (from, to) = (from.clamp(0, limit), to.clamp(0, limit));
        if from >= to {
            return Self::empty();
        }
        // Both are in 0..=limit, so the casts are exact.
        let (from, to) = (from as u64, to as u64);
        match from
            .checked_mul(step)
            .and_then(|first| first.checked_add(offset))
        {
            Some(start) => Self::new(source, start, to - from, step),
            None => Self::empty(),
        }
    }

    /// How many keys the range has.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range has no keys.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The flat index (in its definition) of the range's `i`-th key.
    fn flat(&self, i: u64) -> Option<u64> {
        if i >= self.len {
            return None;
        }
        i.checked_mul(self.step)?.checked_add(self.start)
    }

    /// The `i`-th key (0 is the oldest).
    pub fn get(&self, i: u64) -> Option<PartitionKey> {
        self.source.key_at(self.flat(i)?)
    }

    /// The oldest key.
    pub fn first(&self) -> Option<PartitionKey> {
        self.get(0)
    }

    /// The newest key.
    pub fn last(&self) -> Option<PartitionKey> {
        self.get(self.len.checked_sub(1)?)
    }

    /// The position of `key` in the range.
    pub fn position(&self, key: &PartitionKey) -> Option<u64> {
        let index = self.source.index_of(key.as_str())?;
        let offset = index.checked_sub(self.start)?;
        let i = offset / self.step;
        (offset % self.step == 0 && i < self.len).then_some(i)
    }

    /// Whether `key` is in the range.
    pub fn contains(&self, key: &PartitionKey) -> bool {
        self.position(key).is_some()
    }

    /// Keys `from..to` of this range (positions, clipped to its length).
    pub fn slice(&self, from: u64, to: u64) -> Self {
        let to = to.min(self.len);
        let from = from.min(to);
        match self.flat(from) {
            Some(start) => Self::new(self.source.clone(), start, to - from, self.step),
            None => Self::empty(),
        }
    }

    /// The newest `n` keys.
    pub fn last_n(&self, n: u64) -> Self {
        self.slice(self.len.saturating_sub(n), self.len)
    }

    /// The keys, oldest first; `.rev()` gives newest first.
    pub fn iter(&self) -> KeyIter {
        KeyIter {
            range: self.clone(),
            front: 0,
            back: self.len,
        }
    }
}

impl fmt::Debug for KeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRange")
            .field("len", &self.len)
            .field("first", &self.first())
            .field("last", &self.last())
            .finish()
    }
}

impl PartialEq for KeyRange {
    /// Two ranges are equal if they hold the same keys in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl IntoIterator for KeyRange {
    type Item = PartitionKey;
    type IntoIter = KeyIter;

    fn into_iter(self) -> KeyIter {
        let back = self.len;
        KeyIter {
            range: self,
            front: 0,
            back,
        }
    }
}

impl IntoIterator for &KeyRange {
    type Item = PartitionKey;
    type IntoIter = KeyIter;

    fn into_iter(self) -> KeyIter {
        self.iter()
    }
}

/// An iterator over a [`KeyRange`], from either end.
#[derive(Clone, Debug)]
pub struct KeyIter {
    range: KeyRange,
    front: u64,
    back: u64,
}

impl Iterator for KeyIter {
    type Item = PartitionKey;

    fn next(&mut self) -> Option<PartitionKey> {
        if self.front >= self.back {
            return None;
        }
        let key = self.range.get(self.front);
        self.front += 1;
        if key.is_none() {
            // Past the dates chrono can represent: nothing further exists.
            self.front = self.back;
        }
        key
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        match usize::try_from(left) {
            Ok(n) => (0, Some(n)),
            Err(_) => (0, None),
        }
    }

    fn nth(&mut self, n: usize) -> Option<PartitionKey> {
        self.front = self.front.saturating_add(n as u64).min(self.back);
        self.next()
    }
}

impl DoubleEndedIterator for KeyIter {
    fn next_back(&mut self) -> Option<PartitionKey> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        let key = self.range.get(self.back);
        if key.is_none() {
            self.back = self.front;
        }
        key
    }
}

impl FusedIterator for KeyIter {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::time::Period;

    fn days() -> KeySource {
        KeySource::Time(TimeWindows::new(Period::Daily, "2024-01-01").expect("valid"))
    }

    fn strings(keys: impl Iterator<Item = PartitionKey>) -> Vec<String> {
        keys.map(|k| k.as_str().to_owned()).collect()
    }

    #[test]
    fn ranges_iterate_both_ways() {
        let range = KeyRange::new(days(), 3, 3, 1);
        assert_eq!(
            strings(range.iter()),
            ["2024-01-04", "2024-01-05", "2024-01-06"]
        );
        assert_eq!(
            strings(range.iter().rev()),
            ["2024-01-06", "2024-01-05", "2024-01-04"]
        );
        let mut both = range.iter();
        assert_eq!(
            both.next().map(|k| k.to_string()).as_deref(),
            Some("2024-01-04")
        );
        assert_eq!(
            both.next_back().map(|k| k.to_string()).as_deref(),
            Some("2024-01-06")
        );
        assert_eq!(strings(both), ["2024-01-05"]);
    }

    #[test]
    fn stepped_ranges_skip_and_know_their_members() {
        let range = KeyRange::new(days(), 1, 3, 7);
        assert_eq!(
            strings(range.iter()),
            ["2024-01-02", "2024-01-09", "2024-01-16"]
        );
        let day = |s: &str| PartitionKey::unchecked(s);
        assert!(range.contains(&day("2024-01-09")));
        assert_eq!(range.position(&day("2024-01-16")), Some(2));
        assert!(!range.contains(&day("2024-01-10")), "between steps");
        assert!(!range.contains(&day("2024-01-23")), "past the end");
        assert!(!range.contains(&day("2024-01-01")), "before the start");
        assert_eq!(
            range.last().map(|k| k.to_string()).as_deref(),
            Some("2024-01-16")
        );
    }

    #[test]
    fn clipping_drops_keys_outside_the_limit() {
        let early = KeyRange::clipped(days(), -3, 2, 10, 0, 1);
        assert_eq!(strings(early.iter()), ["2024-01-01", "2024-01-02"]);
        let late = KeyRange::clipped(days(), 8, 12, 10, 0, 1);
        assert_eq!(late.len(), 2);
        assert!(KeyRange::clipped(days(), -2, 0, 10, 0, 1).is_empty());
        assert!(KeyRange::clipped(days(), 3, 3, 10, 0, 1).is_empty());
    }

    #[test]
    fn slices_and_last_n_are_ranges_of_the_same_keys() {
        let range = KeyRange::new(days(), 0, 10, 1);
        assert_eq!(
            strings(range.slice(2, 4).iter()),
            ["2024-01-03", "2024-01-04"]
        );
        assert_eq!(strings(range.last_n(1).iter()), ["2024-01-10"]);
        assert_eq!(range.last_n(20).len(), 10);
        assert!(range.slice(12, 20).is_empty());
        assert!(KeyRange::empty().first().is_none());
    }
}
