//! Errors of the IO layer: each names the location at fault.

use std::path::PathBuf;

/// A failure to store or load an asset-partition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An asset or partition key that is not a safe path segment.
    #[error("invalid {what} {key:?}: {reason}")]
    InvalidKey {
        /// "asset key", "partition key" or "tag".
        what: &'static str,
        /// The offending key.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The storage root URL could not be understood or used.
    #[error("storage root {root:?}: {reason}")]
    BadRoot {
        /// The root as given by the user.
        root: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The local storage root cannot be created or written.
    #[error("storage root {path} is not writable: {source}")]
    RootNotWritable {
        /// The directory.
        path: PathBuf,
        /// The underlying IO error.
        source: std::io::Error,
    },
    /// A folder on the path of a write or delete is a symbolic link that
    /// leads out of the storage root.
    #[error(
        "{link} is a symbolic link to {target}, outside the storage root {root}: refusing to write or delete through it"
    )]
    EscapesRoot {
        /// The link.
        link: PathBuf,
        /// Where it leads.
        target: PathBuf,
        /// The storage root.
        root: PathBuf,
    },
    /// Nothing is stored at this location: never materialized, or its file
    /// was removed since.
    #[error("{uri} does not exist (never materialized, or deleted since: materialize it again)")]
    NotFound {
        /// The location's URI.
        uri: String,
    },
    /// The object store failed.
    #[error("{uri}: {source}")]
    Store {
        /// The location's URI.
        uri: String,
        /// The object store's error.
        source: object_store::Error,
    },
    /// A Parquet file could not be written or read (corrupt, truncated, ...).
    #[error("{uri}: parquet: {source}")]
    Parquet {
        /// The location's URI.
        uri: String,
        /// The parquet crate's error.
        source: parquet::errors::ParquetError,
    },
    /// A JSON document could not be written or read.
    #[error("{uri}: json: {source}")]
    Json {
        /// The location's URI.
        uri: String,
        /// serde_json's error.
        source: serde_json::Error,
    },
    /// The payload does not fit this IO manager (a table given to the JSON one, ...).
    #[error("{uri}: IO manager {manager:?} stores {expected} payloads, got {got}")]
    WrongPayload {
        /// The location's URI.
        uri: String,
        /// The IO manager's name.
        manager: String,
        /// What the IO manager stores.
        expected: &'static str,
        /// What it was given.
        got: &'static str,
    },
    /// Any other failure, with its location.
    #[error("{uri}: {message}")]
    Other {
        /// The location's URI.
        uri: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Whether retrying the same operation may succeed (network and IO faults).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Store { .. })
    }

    /// Whether a value read back could not be decoded: a Parquet file whose
    /// footer or pages are damaged or cut short, a JSON document that does
    /// not parse. (A storage fault met while reading, wrapped by the
    /// Parquet reader, is not damage.)
    pub fn is_damaged(&self) -> bool {
        match self {
            Error::Parquet { source, .. } => {
                !matches!(source, parquet::errors::ParquetError::External(_))
            }
            Error::Json { .. } => true,
            _ => false,
        }
    }
}

/// Result of the IO layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;
