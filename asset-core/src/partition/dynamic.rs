//! Dynamic partitions: a named set of keys that grows at run time (one
//! partition per file that lands, per customer that signs up).
//!
//! The definition holds only the set's name; the keys live in the catalog
//! and reach the partition model through a [`KeySpace`](super::KeySpace), in
//! the order they were added. Several assets can share one set.

use std::sync::Arc;

use crate::error::Error;

/// A named set of partition keys kept in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicPartitions {
    pub(crate) name: Arc<str>,
}

impl DynamicPartitions {
    /// The set named `name`: non-empty, letters, digits, `_` and `-` only,
    /// since it names the set in the catalog and on the command line.
    pub(crate) fn new(name: &str) -> Result<Self, Error> {
        let valid = !name.is_empty()
            && name.len() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(Error::Usage(format!(
                "dynamic partitions name {name:?} is not valid (use letters, digits, `_` and `-`, at most 100)"
            )));
        }
        Ok(Self {
            name: Arc::from(name),
        })
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `dynamic "files"`.
    pub fn describe(&self) -> String {
        format!("dynamic {:?}", &*self.name)
    }

    /// How the set's keys are named in errors.
    pub(crate) fn what(name: &str) -> String {
        format!("dynamic partitions {name:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_are_plain_identifiers() {
        assert_eq!(
            DynamicPartitions::new("files").expect("valid").name(),
            "files"
        );
        assert!(DynamicPartitions::new("new-customers_2").is_ok());
        for bad in ["", "a b", "a/b", "a|b"] {
            assert!(DynamicPartitions::new(bad).is_err(), "{bad:?}");
        }
    }
}
