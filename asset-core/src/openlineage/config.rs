//! Where OpenLineage events go: the `[openlineage]` section of
//! `assets.toml`.
//!
//! ```toml
//! [openlineage]
//! namespace = "recommender"            # the jobs' namespace (default "assetflow")
//! repository = "https://github.com/acme/recommender"   # for sourceCodeLocation links
//! sinks = [
//!   { type = "file", path = "lineage/events.jsonl" },
//!   { type = "http", url = "http://127.0.0.1:5000/api/v1/lineage", timeout = "5s", retries = 3 },
//! ]
//! ```
//!
//! Without the section no event is made. A `file` sink appends one event
//! per line (JSON lines); a relative path is taken from the folder of
//! `assets.toml`. An `http` sink POSTs each event as JSON (Marquez's
//! `/api/v1/lineage`, DataHub's `/openapi/openlineage/api/v1/lineage`). A
//! mistake (an unknown sink type or key, a malformed URL, a bad duration)
//! names the file and line, and the CLI refuses it (exit 2) before
//! anything runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::alert::routing::DurationText;
use crate::config::{ConfigError, ConfigFile};

/// The section's name in `assets.toml`.
pub const OPENLINEAGE_SECTION: &str = "openlineage";

/// The jobs' namespace without a `namespace` key.
pub const DEFAULT_NAMESPACE: &str = "assetflow";

/// How long one POST may take by default.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a failed POST is tried again by default.
pub const DEFAULT_HTTP_RETRIES: u32 = 3;

/// A mistake in `[openlineage]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: [openlineage]{}: {message}", place(path, *line), key.as_deref().map_or_else(String::new, |k| format!(" {k}")))]
pub struct OpenLineageConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line, when known.
    pub line: Option<usize>,
    /// The offending key (`sinks[1].url`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

fn place(path: &Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

impl From<OpenLineageConfigError> for crate::Error {
    fn from(e: OpenLineageConfigError) -> Self {
        crate::Error::Usage(e.to_string())
    }
}

/// One destination of events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSink {
    /// JSON lines appended to a file.
    File {
        /// The file (relative paths resolved against the config's folder).
        path: PathBuf,
    },
    /// An HTTP POST per event.
    Http {
        /// Where to (http only: this build has no TLS).
        url: String,
        /// How long one attempt may take.
        timeout: Duration,
        /// How often a failed attempt is tried again (with backoff).
        retries: u32,
    },
}

impl fmt::Display for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventSink::File { path } => write!(f, "file {}", path.display()),
            EventSink::Http { url, .. } => write!(f, "http {url}"),
        }
    }
}

/// The `[openlineage]` section, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLineageConfig {
    /// The jobs' namespace.
    pub namespace: String,
    /// The repository's URL, for links to the source (`None`: the git
    /// remote `origin`, if any).
    pub repository: Option<String>,
    /// Where events go.
    pub sinks: Vec<EventSink>,
}

impl OpenLineageConfig {
    /// The section of `config`, `None` without one.
    pub fn from_config(config: &ConfigFile) -> Result<Option<Self>, OpenLineageConfigError> {
        let section = config.config_for(OPENLINEAGE_SECTION);
        if section.value().is_none() {
            return Ok(None);
        }
        let error = |line, key, message| OpenLineageConfigError {
            path: config.path().to_owned(),
            line,
            key,
            message,
        };
        let parsed: Section = section.deserialize().map_err(|e| match e {
            ConfigError::Invalid {
                line, key, message, ..
            } => error(line, key, message),
            other => error(None, None, other.to_string()),
        })?;
        if parsed.sinks.is_empty() {
            return Err(error(
                None,
                Some("sinks".into()),
                "no sink: add one, e.g. sinks = [{ type = \"file\", path = \"lineage/events.jsonl\" }], or remove the section".into(),
            ));
        }
        let namespace = parsed.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.into());
        if namespace.trim().is_empty() {
            return Err(error(
                None,
                Some("namespace".into()),
                "the namespace is empty".into(),
            ));
        }
        let base = config.path().parent().unwrap_or(Path::new(""));
        let sinks = parsed
            .sinks
            .into_iter()
            .map(|sink| match sink {
                SinkSpec::File { path } => EventSink::File {
                    path: if path.is_absolute() {
                        path
                    } else {
                        base.join(path)
                    },
                },
                SinkSpec::Http {
                    url,
                    timeout,
                    retries,
                } => EventSink::Http {
                    url: url.0,
                    timeout: timeout.map_or(DEFAULT_HTTP_TIMEOUT, |t| t.0),
                    retries: retries.unwrap_or(DEFAULT_HTTP_RETRIES),
                },
            })
            .collect();
        Ok(Some(Self {
            namespace,
            repository: parsed.repository,
            sinks,
        }))
    }
}

/// `[openlineage]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    sinks: Vec<SinkSpec>,
}

/// A sink as written, by `type`.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum SinkSpec {
    File {
        path: PathBuf,
    },
    Http {
        url: HttpUrl,
        #[serde(default)]
        timeout: Option<DurationText>,
        #[serde(default)]
        retries: Option<u32>,
    },
}

/// An http URL with a host.
struct HttpUrl(String);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        check_http_url(&text).map_err(serde::de::Error::custom)?;
        Ok(HttpUrl(text))
    }
}

/// Why `text` is not a URL events can be posted to.
pub fn check_http_url(text: &str) -> Result<(), String> {
    let url =
        url::Url::parse(text).map_err(|e| format!("malformed OpenLineage URL {text:?}: {e}"))?;
    match url.scheme() {
        "http" => {}
        // As for alert webhooks: no TLS in this build, said at startup.
        "https" => {
            return Err(format!(
                "OpenLineage URL {text:?}: https is not supported by this build (no TLS); post to an http relay, or use a file sink"
            ));
        }
        other => {
            return Err(format!(
                "malformed OpenLineage URL {text:?}: the scheme must be http, not {other:?}"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "malformed OpenLineage URL {text:?}: it has no host"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<OpenLineageConfig>, String> {
        let config = ConfigFile::parse("conf/assets.toml", text).map_err(|e| e.to_string())?;
        OpenLineageConfig::from_config(&config).map_err(|e| e.to_string())
    }

    #[test]
    fn without_a_section_no_event_is_made() {
        assert_eq!(parse("[alerts]\nP3 = [\"log\"]\n"), Ok(None));
    }

    #[test]
    fn sinks_parse_with_defaults() {
        let config = parse(
            r#"
[openlineage]
namespace = "shop"
sinks = [
  { type = "file", path = "lineage/events.jsonl" },
  { type = "file", path = "/var/log/ol.jsonl" },
  { type = "http", url = "http://127.0.0.1:5000/api/v1/lineage", timeout = "2s" },
]
"#,
        )
        .expect("fine")
        .expect("a section");
        assert_eq!(config.namespace, "shop");
        assert_eq!(
            config.sinks,
            [
                EventSink::File {
                    path: PathBuf::from("conf/lineage/events.jsonl")
                },
                EventSink::File {
                    path: PathBuf::from("/var/log/ol.jsonl")
                },
                EventSink::Http {
                    url: "http://127.0.0.1:5000/api/v1/lineage".into(),
                    timeout: Duration::from_secs(2),
                    retries: DEFAULT_HTTP_RETRIES,
                },
            ]
        );
        let plain = parse("[openlineage]\nsinks = [{ type = \"file\", path = \"e.jsonl\" }]\n")
            .expect("fine")
            .expect("a section");
        assert_eq!(plain.namespace, DEFAULT_NAMESPACE);
    }

    #[test]
    fn an_unknown_sink_type_names_the_file_and_line() {
        let err = parse("[openlineage]\nsinks = [\n  { type = \"kafka\", topic = \"ol\" },\n]\n")
            .expect_err("refused");
        assert!(
            err.starts_with("conf/assets.toml:3: [openlineage]"),
            "{err}"
        );
        assert!(err.contains("kafka"), "{err}");
    }

    #[test]
    fn a_malformed_url_names_the_file_and_line() {
        let err = parse(
            "[openlineage]\nnamespace = \"x\"\nsinks = [{ type = \"http\", url = \"localhost:5000\" }]\n",
        )
        .expect_err("refused");
        assert!(
            err.starts_with("conf/assets.toml:3: [openlineage]"),
            "{err}"
        );
        assert!(
            err.contains("malformed OpenLineage URL \"localhost:5000\""),
            "{err}"
        );
        assert!(check_http_url("https://marquez/api/v1/lineage").is_err());
        assert!(check_http_url("http://marquez:5000/api/v1/lineage").is_ok());
    }

    #[test]
    fn an_empty_or_misspelt_section_is_refused() {
        let err = parse("[openlineage]\nnamespace = \"x\"\n").expect_err("no sink");
        assert!(err.contains("no sink"), "{err}");
        let err = parse("[openlineage]\nnamespaec = \"x\"\n").expect_err("unknown key");
        assert!(
            err.starts_with("conf/assets.toml:2: [openlineage]"),
            "{err}"
        );
        assert!(err.contains("namespaec"), "{err}");
    }
}
