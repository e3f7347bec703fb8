//! Lists of named partition keys: static partitions (`eu`, `us`, `asia`) and
//! the keys of a dynamic set.
//!
//! A list keeps its keys in the order given and an index from key to
//! position, so looking a key up costs one hash, however long the list.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::partition::PartitionKey;
use crate::partition::multi::SEPARATOR;

/// An ordered list of unique partition keys, cheap to clone.
#[derive(Clone)]
pub struct KeyList {
    keys: Arc<[PartitionKey]>,
    positions: Arc<HashMap<Arc<str>, u64>>,
    /// The name of the dimension in storage paths (`region=eu`), if set.
    dimension: Option<Arc<str>>,
}

impl KeyList {
    /// A list of `keys` in this order. `what` names the list in errors
    /// (`static partitions`, `dynamic partitions "files"`). Each key must be a
    /// valid storage path segment without `|`, and appear once.
    pub(crate) fn new<I>(what: &str, keys: I) -> Result<Self, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut list = Vec::new();
        let mut positions = HashMap::new();
        for key in keys {
            let key = key.as_ref();
            check_key(what, key)?;
            let key: Arc<str> = Arc::from(key);
            if positions.insert(key.clone(), list.len() as u64).is_some() {
                return Err(Error::Usage(format!("{what}: key {key:?} is listed twice")));
            }
            list.push(PartitionKey(key));
        }
        Ok(Self {
            keys: list.into(),
            positions: Arc::new(positions),
            dimension: None,
        })
    }

    /// The dimension name used when none is set: `key=eu`.
    pub const DEFAULT_DIMENSION: &'static str = "key";

    /// The same keys with the dimension named `name` in storage paths
    /// (`region` gives `region=eu`): ASCII letters, digits and `_`,
    /// starting with a letter.
    pub(crate) fn with_dimension(mut self, name: &str) -> Result<Self, Error> {
        io_managers::validate_dimension_name(name).map_err(|e| Error::Usage(e.to_string()))?;
        self.dimension = Some(Arc::from(name));
        Ok(self)
    }

    /// The dimension's name in storage paths ([`DEFAULT_DIMENSION`](Self::DEFAULT_DIMENSION)
    /// unless set).
    pub fn dimension(&self) -> &str {
        self.dimension.as_deref().unwrap_or(Self::DEFAULT_DIMENSION)
    }

    /// The number of keys.
    pub fn len(&self) -> u64 {
        self.keys.len() as u64
    }

    /// Whether the list has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[PartitionKey] {
        &self.keys
    }

    /// The key at `index`.
    pub fn get(&self, index: u64) -> Option<&PartitionKey> {
        self.keys.get(usize::try_from(index).ok()?)
    }

    /// The position of `key` in the list.
    pub fn position(&self, key: &str) -> Option<u64> {
        self.positions.get(key).copied()
    }

    /// The first key of `self` that `other` does not have.
    pub(crate) fn first_missing_from(&self, other: &KeyList) -> Option<&PartitionKey> {
        self.keys
            .iter()
            .find(|k| other.position(k.as_str()).is_none())
    }

    /// The key closest to `key`, if one is close enough to be a likely typo.
    pub(crate) fn closest(&self, key: &str) -> Option<&PartitionKey> {
        self.keys
            .iter()
            .map(|k| (strsim::jaro_winkler(key, k.as_str()), k))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
    }

    /// The first few keys, for messages: `eu, us, asia` or `a, b, c, … (40 keys)`.
    pub(crate) fn preview(&self) -> String {
        const SHOWN: usize = 5;
        let shown: Vec<&str> = self.keys.iter().take(SHOWN).map(|k| k.as_str()).collect();
        let mut text = shown.join(", ");
        if self.keys.len() > SHOWN {
            text.push_str(&format!(", … ({} keys)", self.keys.len()));
        }
        text
    }
}

impl PartialEq for KeyList {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys && self.dimension() == other.dimension()
    }
}

impl Eq for KeyList {}

impl fmt::Debug for KeyList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter()).finish()
    }
}

/// Checks one key of a list named `what`: a storage path segment, no `|`,
/// no `=` (its Hive folder `region=a=b` would be ambiguous).
pub(crate) fn check_key(what: &str, key: &str) -> Result<(), Error> {
    io_managers::validate_partition_value(key).map_err(|e| Error::Usage(format!("{what}: {e}")))?;
    if key.contains(SEPARATOR) {
        return Err(Error::Usage(format!(
            "{what}: key {key:?} contains {SEPARATOR:?}, which separates the parts of multi-partition keys"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_and_are_found_by_hash() {
        let list = KeyList::new("static partitions", ["eu", "us", "asia"]).expect("valid");
        assert_eq!(list.len(), 3);
        assert_eq!(list.position("asia"), Some(2));
        assert_eq!(list.get(1).map(PartitionKey::as_str), Some("us"));
        assert_eq!(list.position("mars"), None);
        assert_eq!(list.preview(), "eu, us, asia");
    }

    #[test]
    fn duplicate_unsafe_and_separator_keys_are_refused() {
        let twice = KeyList::new("static partitions", ["eu", "us", "eu"]).expect_err("twice");
        assert_eq!(
            twice.to_string(),
            r#"static partitions: key "eu" is listed twice"#
        );
        let path = KeyList::new("static partitions", ["eu/west"]).expect_err("separator");
        assert_eq!(
            path.to_string(),
            r#"static partitions: invalid partition key "eu/west": it contains a path separator"#
        );
        for bad in ["", "..", ".hidden", "a|b", "nul\0"] {
            assert!(KeyList::new("static partitions", [bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_key_that_would_make_an_ambiguous_hive_folder_is_refused() {
        let err = KeyList::new("static partitions", ["eu", "tier=1"]).expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            r#"static partitions: invalid partition key "tier=1": it contains `=`, which would make its Hive folder `dimension=key` ambiguous"#
        );
    }

    #[test]
    fn the_dimension_is_named_key_unless_set() {
        let list = KeyList::new("static partitions", ["eu"]).expect("valid");
        assert_eq!(list.dimension(), "key");
        let named = list.clone().with_dimension("region").expect("valid name");
        assert_eq!(named.dimension(), "region");
        assert_ne!(named, list);
        let err = list
            .with_dimension("re-gion")
            .expect_err("not a column name");
        assert!(err.to_string().contains("\"re-gion\""), "{err}");
    }

    #[test]
    fn closest_key_suggests_typos_only() {
        let list = KeyList::new("static partitions", ["europe", "americas"]).expect("valid");
        assert_eq!(
            list.closest("euorpe").map(PartitionKey::as_str),
            Some("europe")
        );
        assert_eq!(list.closest("zzz"), None);
    }

    #[test]
    fn long_lists_are_previewed_with_their_size() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let list = KeyList::new("static partitions", &keys).expect("valid");
        assert_eq!(list.preview(), "k0, k1, k2, k3, k4, … (40 keys)");
    }
}
