//! Errors: [`Error`] for the framework, [`AssetError`] for asset functions.

use std::fmt;

/// A framework error: bad input from the user, a bad graph, or a failed IO.
///
/// Each message is one line that names the asset, partition or path at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--select` names an asset that does not exist.
    #[error("unknown asset {name:?}{}", suggestion_text(.suggestion))]
    UnknownAsset {
        /// The name as given.
        name: String,
        /// The closest known asset key, if any is close.
        suggestion: Option<String>,
    },
    /// A selection expression that cannot be parsed.
    #[error("invalid selection {selection:?}: {reason}")]
    InvalidSelection {
        /// The selection as given.
        selection: String,
        /// What is wrong.
        reason: String,
    },
    /// A partition key that is not in an asset's partitions.
    #[error("partition key {key:?} is not {expected} of asset {asset:?}: {reason}")]
    InvalidPartition {
        /// The asset.
        asset: String,
        /// The key as given.
        key: String,
        /// What the asset's partitions look like ("a day").
        expected: String,
        /// Why the key was refused.
        reason: String,
    },
    /// A partitioned asset was selected without a partition key.
    #[error(
        "asset {asset:?} is partitioned ({partitions}): pass --partition KEY, or --from A --to B"
    )]
    PartitionRequired {
        /// The asset.
        asset: String,
        /// A description of its partitions.
        partitions: String,
    },
    /// `--partition` (or `--from`/`--to`) was given but no selected asset
    /// is partitioned; `key` is the flags as given.
    #[error("{key} given, but no selected asset is partitioned")]
    PartitionNotApplicable {
        /// The key as given.
        key: String,
    },
    /// Two assets share a key.
    #[error("asset {key:?} is defined twice: at {first} and at {second}")]
    DuplicateAsset {
        /// The key.
        key: String,
        /// Where the first definition is.
        first: String,
        /// Where the second definition is.
        second: String,
    },
    /// An asset depends on a key no asset has.
    #[error("asset {asset:?} depends on {dependency:?}, which no asset produces")]
    MissingDependency {
        /// The dependent asset.
        asset: String,
        /// The missing key.
        dependency: String,
    },
    /// The asset graph has a cycle.
    #[error("dependency cycle: {}", .path.join(" -> "))]
    Cycle {
        /// The cycle, first asset repeated at the end.
        path: Vec<String>,
    },
    /// An edge joins assets whose partitions do not fit the mapping.
    #[error(
        "asset {asset:?} ({}) cannot read {upstream:?} ({}) {hint}",
        .partitions.0, .partitions.1
    )]
    IncompatiblePartitions {
        /// The downstream asset.
        asset: String,
        /// The upstream asset.
        upstream: String,
        /// How each is partitioned, downstream first (boxed: it keeps
        /// `Error` small, and so every `Result` that carries it).
        partitions: Box<(String, String)>,
        /// The mapping and what to do instead (`` as `T`: read every
        /// partition with `All<T>` ``).
        hint: String,
    },
    /// An asset names an IO manager that is not registered, or one of the wrong kind.
    #[error("asset {asset:?}: {reason}")]
    BadIoManager {
        /// The asset.
        asset: String,
        /// What is wrong.
        reason: String,
    },
    /// An asset key that cannot be used as a storage path segment.
    #[error("asset {asset:?}: {source}")]
    InvalidAssetKey {
        /// The asset.
        asset: String,
        /// Why it was refused.
        source: io_managers::Error,
    },
    /// `assets.toml` cannot be read, or a section does not fit its asset.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The catalog cannot be opened or used (its message names the file).
    #[error("{0}")]
    Catalog(String),
    /// A storage problem (bad root, unwritable, corrupt file).
    #[error(transparent)]
    Io(#[from] io_managers::Error),
    /// Anything else the user asked for that cannot be done.
    #[error("{0}")]
    Usage(String),
    /// An internal failure (a bug or an environment problem).
    #[error("{0}")]
    Internal(String),
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

impl Error {
    /// Whether this is the user's mistake in how they called the program
    /// (exit code 2) rather than a failure while running (exit code 1).
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Io(e) => matches!(
                e,
                io_managers::Error::BadRoot { .. }
                    | io_managers::Error::RootNotWritable { .. }
                    | io_managers::Error::InvalidKey { .. }
            ),
            Error::Internal(_) | Error::Catalog(_) => false,
            _ => true,
        }
    }
}

/// The error an asset function returns: any `std::error::Error` converts into
/// it with `?`, and [`AssetError::msg`] makes one from text.
///
/// It is deliberately not itself a `std::error::Error`, like `anyhow::Error`,
/// so that the blanket `From` conversion can exist.
pub struct AssetError {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
    transient: bool,
}

impl AssetError {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            inner: message.to_string().into(),
            transient: false,
        }
    }

    /// An error worth retrying (a timeout, a flaky source).
    pub fn transient(message: impl fmt::Display) -> Self {
        Self {
            inner: message.to_string().into(),
            transient: true,
        }
    }

    /// The same error, marked transient (worth retrying) or not.
    pub fn with_transient(mut self, transient: bool) -> Self {
        self.transient = transient;
        self
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.inner
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for AssetError {
    fn from(error: E) -> Self {
        Self {
            inner: Box::new(error),
            transient: false,
        }
    }
}

impl fmt::Display for AssetError {
    /// The error and its causes, `outer: inner: ...`, skipping a cause whose
    /// text the message already contains (many errors embed their source).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.inner.to_string();
        let mut source = self.inner.source();
        while let Some(s) = source {
            let cause = s.to_string();
            if !text.contains(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
            source = s.source();
        }
        f.write_str(&text)
    }
}

impl fmt::Debug for AssetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_asset_suggests_the_closest_name() {
        let e = Error::UnknownAsset {
            name: "sesions".into(),
            suggestion: Some("sessions".into()),
        };
        assert_eq!(
            e.to_string(),
            r#"unknown asset "sesions" (did you mean "sessions"?)"#
        );
        assert!(e.is_usage());
    }

    #[test]
    fn cycle_prints_its_path() {
        let e = Error::Cycle {
            path: vec!["a".into(), "b".into(), "a".into()],
        };
        assert_eq!(e.to_string(), "dependency cycle: a -> b -> a");
    }

    #[test]
    fn any_std_error_converts_into_asset_error() {
        fn parse() -> Result<i32, AssetError> {
            Ok("x".parse::<i32>()?)
        }
        let e = parse().expect_err("must fail");
        assert!(e.to_string().contains("invalid digit"), "{e}");
        assert!(!e.is_transient());
        assert!(AssetError::transient("timeout").is_transient());
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading x failed: {0}")]
    struct Embeds(#[source] std::num::ParseIntError);

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let cause = "x".parse::<i32>().expect_err("not a number");
        let e = AssetError::from(Embeds(cause));
        assert_eq!(
            e.to_string(),
            "reading x failed: invalid digit found in string"
        );
    }
}

#[cfg(test)]
mod size {
    /// `Error` stays under clippy's `result_large_err` limit (128 bytes), so
    /// users' closures returning `Result<_, Error>` pass `-D warnings`.
    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<super::Error>() < 128);
    }
}
