//! Locations of asset-partitions and the validation of the keys that form them.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// Separates the dimensions of a multi-dimensional partition key
/// (`2024-01-01|eu`); each dimension is its own folder level in storage.
pub const DIMENSION_SEPARATOR: char = '|';

/// One asset-partition in one namespace: the unit an IO manager stores.
///
/// The storage path is derived from these fields alone, so the same
/// asset-partition always lands at the same place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    asset: Arc<str>,
    partition: Option<Arc<str>>,
}

impl Location {
    /// A location, after checking both keys are safe path segments.
    pub fn new(asset: &str, partition: Option<&str>) -> Result<Self> {
        validate_key("asset key", asset)?;
        if let Some(p) = partition {
            // A multi-dimensional key (`2024-01-01|eu`) is one folder level
            // per dimension; each dimension must be a safe segment.
            for dimension in p.split(DIMENSION_SEPARATOR) {
                validate_key("partition key", dimension)?;
            }
        }
        Ok(Self {
            asset: Arc::from(asset),
            partition: partition.map(Arc::from),
        })
    }

    /// [`new`](Self::new) from shared texts: the location holds the same
    /// handles, so many locations of one asset or one partition cost no
    /// allocation each (a backfill plan has hundreds of thousands).
    pub fn from_shared(asset: Arc<str>, partition: Option<Arc<str>>) -> Result<Self> {
        validate_key("asset key", &asset)?;
        if let Some(p) = &partition {
            for dimension in p.split(DIMENSION_SEPARATOR) {
                validate_key("partition key", dimension)?;
            }
        }
        Ok(Self { asset, partition })
    }

    /// The asset key.
    pub fn asset(&self) -> &str {
        &self.asset
    }

    /// The partition key, `None` for an unpartitioned asset.
    pub fn partition(&self) -> Option<&str> {
        self.partition.as_deref()
    }

    /// Relative path segments under the storage root: `asset[/partition]`.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        std::iter::once(&*self.asset).chain(
            self.partition
                .as_deref()
                .into_iter()
                .flat_map(|p| p.split(DIMENSION_SEPARATOR)),
        )
    }
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

    #[test]
    fn location_segments_follow_asset_then_partition() {
        let loc = Location::new("events", Some("2024-01-01")).expect("valid");
        assert_eq!(loc.segments().collect::<Vec<_>>(), ["events", "2024-01-01"]);
        let loc = Location::new("model", None).expect("valid");
        assert_eq!(loc.segments().collect::<Vec<_>>(), ["model"]);
        assert_eq!(loc.to_string(), "model");
    }

    #[test]
    fn each_dimension_of_a_multi_key_is_its_own_segment() {
        let loc = Location::new("sales", Some("2024-01-01|eu")).expect("valid");
        assert_eq!(
            loc.segments().collect::<Vec<_>>(),
            ["sales", "2024-01-01", "eu"]
        );
        for bad in ["2024-01-01|", "|eu", "2024-01-01|..", "a|_tmp", "a||b"] {
            assert!(Location::new("sales", Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_names_the_key() {
        let err = Location::new("events", Some("../etc")).expect_err("must fail");
        assert!(err.to_string().contains("\"../etc\""), "{err}");
    }
}
