//! Locations of asset-partitions and the validation of the keys that form them.
//!
//! A location is an asset key, an optional partition key and the names of the
//! partition's dimensions. Under a storage root it becomes Hive-style folders,
//! one level per dimension, so that any Arrow tool reads an asset's folder as
//! a dataset with the partition as a column:
//!
//! ```text
//! clean_events/day=2024-01-01/part-0.parquet
//! sales/day=2024-01-01/region=eu/part-0.parquet
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Separates the dimensions of a multi-dimensional partition key
/// (`2024-01-01|eu`); each dimension is its own folder level in storage.
pub const DIMENSION_SEPARATOR: char = '|';

/// Separates a dimension's name from its key in a Hive folder (`day=2024-01-01`).
pub const HIVE_SEPARATOR: char = '=';

/// The dimension name of a partition whose definition gave none (locations
/// built by hand in tests and tools): `partition=<key>`.
pub const DEFAULT_DIMENSION: &str = "partition";

/// One asset-partition in one namespace: the unit an IO manager stores.
///
/// The storage path is derived from these fields alone, so the same
/// asset-partition always lands at the same place. Two locations are equal
/// when their asset and partition keys are: the dimension names follow from
/// the asset's partitions definition, so they never tell two values apart.
#[derive(Debug, Clone)]
pub struct Location {
    asset: Arc<str>,
    partition: Option<Arc<str>>,
    /// One name per dimension of the partition key; empty: the defaults.
    dimensions: Arc<[Arc<str>]>,
}

impl PartialEq for Location {
    fn eq(&self, other: &Self) -> bool {
        self.asset == other.asset && self.partition == other.partition
    }
}

impl Eq for Location {}

impl Hash for Location {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.asset.hash(state);
        self.partition.hash(state);
    }
}

impl PartialOrd for Location {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Location {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.asset, &self.partition).cmp(&(&other.asset, &other.partition))
    }
}

impl Location {
    /// A location, after checking both keys are safe path segments.
    pub fn new(asset: &str, partition: Option<&str>) -> Result<Self> {
        Self::from_shared(Arc::from(asset), partition.map(Arc::from))
    }

    /// [`new`](Self::new) from shared texts: the location holds the same
    /// handles, so many locations of one asset or one partition cost no
    /// allocation each (a backfill plan has hundreds of thousands).
    pub fn from_shared(asset: Arc<str>, partition: Option<Arc<str>>) -> Result<Self> {
        validate_key("asset key", &asset)?;
        if let Some(p) = &partition {
            // A multi-dimensional key (`2024-01-01|eu`) is one folder level
            // per dimension; each dimension must be a safe segment.
            for dimension in p.split(DIMENSION_SEPARATOR) {
                validate_partition_value(dimension)?;
            }
        }
        Ok(Self {
            asset,
            partition,
            dimensions: Arc::from([]),
        })
    }

    /// The same location with its dimensions named (`["day", "region"]`),
    /// one name per dimension of the partition key, each checked by
    /// [`validate_dimension_name`]; no names at all keeps the defaults. The names are shared: pass the same
    /// handle for every location of an asset.
    pub fn with_dimensions(mut self, names: Arc<[Arc<str>]>) -> Result<Self> {
        for name in names.iter() {
            validate_dimension_name(name)?;
        }
        if let Some(p) = self.partition.as_deref().filter(|_| !names.is_empty()) {
            let levels = p.split(DIMENSION_SEPARATOR).count();
            if names.len() != levels {
                return Err(Error::InvalidKey {
                    what: "partition key",
                    key: p.to_string(),
                    reason: "it does not have one part per named dimension of its asset",
                });
            }
        }
        self.dimensions = names;
        Ok(self)
    }

    /// The asset key.
    pub fn asset(&self) -> &str {
        &self.asset
    }

    /// The partition key, `None` for an unpartitioned asset.
    pub fn partition(&self) -> Option<&str> {
        self.partition.as_deref()
    }

    /// The dimension names given with [`with_dimensions`](Self::with_dimensions)
    /// (empty if none were), to give another location the same ones.
    pub fn dimensions(&self) -> Arc<[Arc<str>]> {
        self.dimensions.clone()
    }

    /// The names of the partition's dimensions, one per level (`day`,
    /// `region`); [`DEFAULT_DIMENSION`] (numbered when there are several)
    /// where the asset's definition gave none. Empty when unpartitioned.
    pub fn dimension_names(&self) -> Vec<String> {
        let levels = self
            .partition
            .as_deref()
            .map_or(0, |p| p.split(DIMENSION_SEPARATOR).count());
        (0..levels)
            .map(|i| match self.dimensions.get(i) {
                Some(name) => name.to_string(),
                None if levels == 1 => DEFAULT_DIMENSION.to_owned(),
                None => format!("{DEFAULT_DIMENSION}_{}", i + 1),
            })
            .collect()
    }

    /// Relative path segments under the storage root: the asset, then one
    /// Hive folder `<dimension>=<key>` per dimension of the partition.
    pub fn segments(&self) -> Vec<String> {
        let mut segments = Vec::with_capacity(3);
        segments.push(self.asset.to_string());
        if let Some(p) = self.partition.as_deref() {
            for (name, key) in self
                .dimension_names()
                .iter()
                .zip(p.split(DIMENSION_SEPARATOR))
            {
                segments.push(format!("{name}{HIVE_SEPARATOR}{key}"));
            }
        }
        segments
    }

    /// The path segments the previous release used: the asset, then the
    /// bare keys (`events/2024-01-01`). Read only, to migrate old roots.
    pub fn legacy_segments(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&*self.asset).chain(
            self.partition
                .as_deref()
                .into_iter()
                .flat_map(|p| p.split(DIMENSION_SEPARATOR)),
        )
    }
}

/// Parses one Hive folder name `<dimension>=<key>` into its two parts;
/// `None` for a folder that is not one (a bare key, an empty side).
pub fn parse_hive_segment(segment: &str) -> Option<(&str, &str)> {
    let (name, key) = segment.split_once(HIVE_SEPARATOR)?;
    (validate_dimension_name(name).is_ok() && validate_partition_value(key).is_ok())
        .then_some((name, key))
}

/// Checks one dimension's part of a partition key: a safe path segment
/// ([`validate_key`]) without `=`, which would make its Hive folder
/// (`region=a=b`) ambiguous.
pub fn validate_partition_value(key: &str) -> Result<()> {
    validate_key("partition key", key)?;
    if key.contains(HIVE_SEPARATOR) {
        return Err(Error::InvalidKey {
            what: "partition key",
            key: key.to_owned(),
            reason: "it contains `=`, which would make its Hive folder `dimension=key` ambiguous",
        });
    }
    Ok(())
}

/// Checks a dimension name (`day`, `region`): it becomes a column of every
/// Arrow tool reading the asset as a dataset, so ASCII letters, digits and
/// `_`, starting with a letter, at most 64 bytes.
pub fn validate_dimension_name(name: &str) -> Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(());
    }
    Err(Error::InvalidKey {
        what: "partition dimension name",
        key: name.to_owned(),
        reason: "use ASCII letters, digits and `_`, starting with a letter (at most 64 bytes)",
    })
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.partition {
            Some(p) => write!(f, "{} [{}]", self.asset, p),
            None => write!(f, "{}", self.asset),
        }
    }
}

/// Checks that `key` can be used as one path segment under a storage root.
///
/// Refused: empty keys, `.` and `..`, separators (`/`, `\`), NUL and other
/// control characters, and keys longer than 200 bytes. Nothing that passes can
/// name a file outside the root.
pub fn validate_key(what: &'static str, key: &str) -> Result<()> {
    let reason = if key.is_empty() {
        Some("it is empty")
    } else if key == "." || key == ".." {
        Some("`.` and `..` are not allowed")
    } else if key.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if key.trim().is_empty() {
        Some("it is only whitespace")
    } else if key.chars().any(|c| c.is_control()) {
        Some("it contains a control character")
    } else if key.chars().any(is_bidi_control) {
        // They make a key display as another one (U+202E reverses what follows).
        Some("it contains a bidirectional text control character")
    } else if key.len() > 200 {
        Some("it is longer than 200 bytes")
    } else if key.starts_with('.') || key.starts_with('_') {
        Some("it starts with `.` or `_` (reserved for hidden and temporary files)")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidKey {
            what,
            key: key.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The Unicode bidirectional formatting characters (marks, embeddings,
/// overrides, isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_the_root_are_refused() {
        for bad in [
            "", ".", "..", "a/b", "../x", "a\\b", "a\0b", ".hidden", "_tmp",
        ] {
            assert!(
                validate_key("partition key", bad).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(validate_key("asset key", &"x".repeat(201)).is_err());
    }

    #[test]
    fn whitespace_only_and_bidi_control_keys_are_refused() {
        for (bad, reason) in [
            (" ", "only whitespace"),
            ("\u{3000}", "only whitespace"),
            ("eu\u{202E}su", "bidirectional"),
            ("\u{2066}x", "bidirectional"),
            ("a\u{200F}", "bidirectional"),
        ] {
            let err = validate_key("partition key", bad)
                .expect_err(bad)
                .to_string();
            assert!(err.contains(reason), "{bad:?}: {err}");
        }
        validate_key("partition key", "данные").expect("other scripts are keys");
    }

    #[test]
    fn ordinary_keys_are_accepted() {
        for good in ["2024-01-01", "events", "eu", "2024-01-01|eu", "a.b"] {
            assert!(
                validate_key("partition key", good).is_ok(),
                "{good:?} refused"
            );
        }
    }

    fn names(names: &[&str]) -> Arc<[Arc<str>]> {
        names.iter().map(|n| Arc::from(*n)).collect()
    }

    #[test]
    fn location_segments_are_the_asset_then_hive_folders() {
        let loc = Location::new("events", Some("2024-01-01"))
            .and_then(|l| l.with_dimensions(names(&["day"])))
            .expect("valid");
        assert_eq!(loc.segments(), ["events", "day=2024-01-01"]);
        let unnamed = Location::new("events", Some("2024-01-01")).expect("valid");
        assert_eq!(unnamed.segments(), ["events", "partition=2024-01-01"]);
        assert_eq!(unnamed, loc, "dimension names never tell locations apart");
        let loc = Location::new("model", None).expect("valid");
        assert_eq!(loc.segments(), ["model"]);
        assert_eq!(loc.to_string(), "model");
    }

    #[test]
    fn each_dimension_of_a_multi_key_is_its_own_hive_folder() {
        let loc = Location::new("sales", Some("2024-01-01|eu"))
            .and_then(|l| l.with_dimensions(names(&["day", "region"])))
            .expect("valid");
        assert_eq!(loc.segments(), ["sales", "day=2024-01-01", "region=eu"]);
        assert_eq!(
            loc.legacy_segments().collect::<Vec<_>>(),
            ["sales", "2024-01-01", "eu"]
        );
        for bad in ["2024-01-01|", "|eu", "2024-01-01|..", "a|_tmp", "a||b"] {
            assert!(Location::new("sales", Some(bad)).is_err(), "{bad}");
        }
        let one_name = Location::new("sales", Some("2024-01-01|eu"))
            .expect("valid")
            .with_dimensions(names(&["day"]));
        assert!(one_name.is_err(), "two parts, one name");
    }

    #[test]
    fn a_key_with_an_equals_sign_is_refused_as_an_ambiguous_hive_folder() {
        let err = Location::new("sales", Some("a=b")).expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "invalid partition key \"a=b\": it contains `=`, which would make its Hive folder `dimension=key` ambiguous"
        );
        assert!(Location::new("sales", Some("2024-01-01|x=y")).is_err());
    }

    #[test]
    fn dimension_names_must_be_column_names() {
        for good in ["day", "region", "hour_of_day", "r2"] {
            assert!(validate_dimension_name(good).is_ok(), "{good}");
        }
        for bad in ["", "2day", "_x", "a-b", "a=b", "a/b", "région"] {
            assert!(validate_dimension_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hive_segments_parse_into_name_and_key() {
        assert_eq!(
            parse_hive_segment("day=2024-01-01"),
            Some(("day", "2024-01-01"))
        );
        for bad in ["2024-01-01", "=x", "day=", "day=a=b", "1=x", "day=_tmp"] {
            assert_eq!(parse_hive_segment(bad), None, "{bad}");
        }
    }

    #[test]
    fn error_names_the_key() {
        let err = Location::new("events", Some("../etc")).expect_err("must fail");
        assert!(err.to_string().contains("\"../etc\""), "{err}");
    }
}
