//! [`KeySpace`]: what decides which partitions exist right now.
//!
//! A definition says which keys *could* exist; two facts from outside decide
//! which do: the current time (a day exists once it has ended) and the keys
//! added so far to each dynamic set (read from the catalog). Both are passed
//! in, so tests can pin the clock and the planner reads the catalog once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::partition::dynamic::DynamicPartitions;
use crate::partition::static_keys::{KeyList, check_key};

/// The current time and the keys of every dynamic set.
#[derive(Debug, Clone)]
pub struct KeySpace {
    now: DateTime<Utc>,
    dynamic: HashMap<String, KeyList>,
}

impl KeySpace {
    /// The key space at `now`, with every dynamic set empty.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            dynamic: HashMap::new(),
        }
    }

    /// The key space at the current time, with every dynamic set empty.
    pub fn now() -> Self {
        Self::at(Utc::now())
    }

    /// The same key space in which dynamic set `name` holds `keys`, in the
    /// order they were added (replacing any keys it held). Each key must be a
    /// valid partition key (see [`check_dynamic_key`]) and appear once.
    pub fn with_dynamic<I>(mut self, name: &str, keys: I) -> Result<Self, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let list = KeyList::new(&DynamicPartitions::what(name), keys)?;
        self.dynamic.insert(name.to_owned(), list);
        Ok(self)
    }

    /// The time that decides which time partitions exist.
    pub fn time(&self) -> DateTime<Utc> {
        self.now
    }

    /// The keys of dynamic set `name`, if any were given.
    pub fn dynamic(&self, name: &str) -> Option<&KeyList> {
        self.dynamic.get(name)
    }
}

/// Checks a key before it is added to dynamic set `set`: a valid storage
/// path segment without `|`.
pub fn check_dynamic_key(set: &str, key: &str) -> Result<(), Error> {
    check_key(&DynamicPartitions::what(set), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_sets_keep_the_order_keys_were_added_in() {
        let space = KeySpace::now()
            .with_dynamic("files", ["b.csv", "a.csv"])
            .expect("valid keys");
        let files = space.dynamic("files").expect("a set");
        assert_eq!(files.position("b.csv"), Some(0));
        assert_eq!(files.position("a.csv"), Some(1));
        assert!(space.dynamic("other").is_none());
    }

    #[test]
    fn bad_dynamic_keys_are_refused_naming_the_set() {
        let err = KeySpace::now()
            .with_dynamic("files", ["in/box"])
            .expect_err("path separator");
        assert_eq!(
            err.to_string(),
            r#"dynamic partitions "files": invalid partition key "in/box": it contains a path separator"#
        );
        assert!(check_dynamic_key("files", "a|b").is_err());
        assert!(check_dynamic_key("files", "a.csv").is_ok());
    }
}
