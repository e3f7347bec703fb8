//! Where alerts go: the `[alerts]` section of `assets.toml`, one list of
//! sinks per severity.
//!
//! ```toml
//! [alerts]
//! P0 = [{ type = "webhook", url = "http://127.0.0.1:8080/hook", format = "slack" }, "log"]
//! P1 = [{ type = "command", program = "/usr/local/bin/page-oncall", args = ["--team", "data"] }]
//! P3 = ["log"]
//! ```
//!
//! A severity without an entry goes to the log (so P3 is logged only, and
//! P0-P2 are logged until a sink is configured). The section is read with
//! the configuration module's deserializer, so a mistake (an unknown
//! severity or sink type, a malformed URL, a bad duration) names the file
//! and line, and the CLI refuses it (exit 2) before anything runs.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::alert::Severity;
use crate::config::{ConfigError, ConfigFile};

/// The section's name in `assets.toml` (no asset may take it for its
/// configuration).
pub const ALERTS_SECTION: &str = "alerts";

/// How long a webhook or command may take by default.
pub const DEFAULT_SINK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a failed webhook is tried again by default.
pub const DEFAULT_WEBHOOK_RETRIES: u32 = 3;

/// A mistake in `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: [alerts]{}: {message}", place(path, *line), key.as_deref().map_or_else(String::new, |k| format!(" {k}")))]
pub struct AlertConfigError {
    /// The file.
    pub path: PathBuf,
    /// The line, when known.
    pub line: Option<usize>,
    /// The offending key (`P0[1].url`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

fn place(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

impl From<AlertConfigError> for crate::Error {
    fn from(e: AlertConfigError) -> Self {
        crate::Error::Usage(e.to_string())
    }
}

/// What a webhook's body looks like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// The alert as JSON (see [`Alert`](crate::alert::Alert)).
    #[default]
    Json,
    /// `{"text": "<one line>"}`, which Slack (and Mattermost, Teams'
    /// incoming webhooks, ...) accept.
    Slack,
}

/// One destination of alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A log line (warning for firing alerts, info for recoveries).
    Log,
    /// An HTTP POST.
    Webhook {
        /// Where to (http only: this build has no TLS).
        url: String,
        /// The body's shape.
        format: BodyFormat,
        /// How long one attempt may take.
        timeout: Duration,
        /// How often a failed attempt is tried again (with backoff).
        retries: u32,
    },
    /// A program run with the alert as JSON on its stdin.
    Command {
        /// The program (a path, or a name looked up in `PATH`).
        program: String,
        /// Its arguments.
        args: Vec<String>,
        /// How long it may run before it is killed.
        timeout: Duration,
    },
}

impl fmt::Display for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sink::Log => f.write_str("log"),
            Sink::Webhook { url, .. } => write!(f, "webhook {url}"),
            Sink::Command { program, .. } => write!(f, "command {program}"),
        }
    }
}

/// The sinks of each severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRoutes {
    routes: [Vec<Sink>; 4],
}

impl Default for AlertRoutes {
    /// Everything to the log.
    fn default() -> Self {
        Self {
            routes: std::array::from_fn(|_| vec![Sink::Log]),
        }
    }
}

impl AlertRoutes {
    /// The routes `config`'s `[alerts]` section gives (the defaults without
    /// one).
    pub fn from_config(config: &ConfigFile) -> Result<Self, AlertConfigError> {
        let section = config.config_for(ALERTS_SECTION);
        if section.value().is_none() {
            return Ok(Self::default());
        }
        let parsed: AlertsSection = section.deserialize().map_err(|e| match e {
            ConfigError::Invalid {
                path,
                line,
                key,
                message,
                ..
            } => AlertConfigError {
                path,
                line,
                key,
                message,
            },
            other => AlertConfigError {
                path: config.path().to_owned(),
                line: None,
                key: None,
                message: other.to_string(),
            },
        })?;
        let mut routes = Self::default();
        for (severity, sinks) in parsed.0 {
            routes.routes[severity.0 as usize] = sinks.into_iter().map(|s| s.0).collect();
        }
        Ok(routes)
    }

    /// Routes `severity` to `sinks` (an empty list silences it).
    pub fn with(mut self, severity: Severity, sinks: Vec<Sink>) -> Self {
        self.routes[severity as usize] = sinks;
        self
    }

    /// The sinks alerts of `severity` go to.
    pub fn sinks(&self, severity: Severity) -> &[Sink] {
        &self.routes[severity as usize]
    }
}

/// `[alerts]` as written: severities to lists of sinks.
struct AlertsSection(Vec<(SeverityKey, Vec<SinkSpec>)>);

impl<'de> Deserialize<'de> for AlertsSection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = AlertsSection;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of severities (P0 = [...], P3 = [\"log\"])")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<SeverityKey>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(AlertsSection(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// A severity as a key of `[alerts]`.
struct SeverityKey(Severity);

impl<'de> Deserialize<'de> for SeverityKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<Severity>()
            .map(SeverityKey)
            .map_err(de::Error::custom)
    }
}

/// A sink as written: `"log"`, or a table with a `type`.
struct SinkSpec(Sink);

/// The table form, by `type`.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum TaggedSink {
    Log,
    Webhook {
        url: WebhookUrl,
        #[serde(default)]
        format: BodyFormat,
        #[serde(default)]
        timeout: Option<DurationText>,
        #[serde(default)]
        retries: Option<u32>,
    },
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default)]
        timeout: Option<DurationText>,
    },
}

/// The kinds of sink, for messages.
const SINK_TYPES: &str = "log, webhook, command";

impl<'de> Deserialize<'de> for SinkSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Spec;
        impl<'de> Visitor<'de> for Spec {
            type Value = SinkSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"log\" or a table with a `type` (log, webhook, command)")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                match text {
                    "log" => Ok(SinkSpec(Sink::Log)),
                    other => Err(E::custom(format!(
                        "unknown sink type {other:?}; expected one of: {SINK_TYPES} (webhook and command are tables: {{ type = \"webhook\", url = \"...\" }})"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let tagged = TaggedSink::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(SinkSpec(match tagged {
                    TaggedSink::Log => Sink::Log,
                    TaggedSink::Webhook {
                        url,
                        format,
                        timeout,
                        retries,
                    } => Sink::Webhook {
                        url: url.0,
                        format,
                        timeout: timeout.map_or(DEFAULT_SINK_TIMEOUT, |t| t.0),
                        retries: retries.unwrap_or(DEFAULT_WEBHOOK_RETRIES),
                    },
                    TaggedSink::Command {
                        program,
                        args,
                        timeout,
                    } => {
                        if program.trim().is_empty() {
                            return Err(de::Error::custom("a command sink needs a `program`"));
                        }
                        Sink::Command {
                            program,
                            args,
                            timeout: timeout.map_or(DEFAULT_SINK_TIMEOUT, |t| t.0),
                        }
                    }
                }))
            }
        }
        deserializer.deserialize_any(Spec)
    }
}

/// An http(s) URL with a host.
struct WebhookUrl(String);

impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        check_webhook_url(&text).map_err(de::Error::custom)?;
        Ok(WebhookUrl(text))
    }
}

/// Why `text` is not a usable webhook URL.
pub fn check_webhook_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("malformed webhook URL {text:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "malformed webhook URL {text:?}: the scheme must be http or https, not {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("malformed webhook URL {text:?}: it has no host"));
    }
    // The HTTP client is built without TLS (build time, and no certificate
    // store to keep current): refusing an https URL here tells the user at
    // startup, not with the first undelivered page at 3 am.
    if url.scheme() == "https" {
        return Err(format!(
            "webhook URL {text:?}: https is not supported by this build (no TLS); post to an http relay, or use a command sink such as `curl`"
        ));
    }
    Ok(())
}

/// A duration written `500ms`, `5s`, `1m` (also read by `[openlineage]`).
pub(crate) struct DurationText(pub(crate) Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::retry::parse_duration(&text)
            .filter(|d| !d.is_zero())
            .map(DurationText)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "{text:?} is not a duration (expected a whole number and a unit: \"500ms\", \"5s\", \"1m\")"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Result<AlertRoutes, String> {
        let config = ConfigFile::parse("assets.toml", text).map_err(|e| e.to_string())?;
        AlertRoutes::from_config(&config).map_err(|e| e.to_string())
    }

    #[test]
    fn without_a_section_everything_goes_to_the_log() {
        let r = routes("[other]\na = 1\n").expect("fine");
        for s in Severity::ALL {
            assert_eq!(r.sinks(s), [Sink::Log]);
        }
    }

    #[test]
    fn sinks_parse_with_defaults() {
        let r = routes(
            r#"
[alerts]
P0 = [{ type = "webhook", url = "http://127.0.0.1:9/hook", format = "slack", timeout = "2s", retries = 1 }, "log"]
P1 = [{ type = "command", program = "/bin/page", args = ["-t", "data"] }]
P3 = []
"#,
        )
        .expect("fine");
        assert_eq!(
            r.sinks(Severity::P0),
            [
                Sink::Webhook {
                    url: "http://127.0.0.1:9/hook".into(),
                    format: BodyFormat::Slack,
                    timeout: Duration::from_secs(2),
                    retries: 1
                },
                Sink::Log
            ]
        );
        assert_eq!(
            r.sinks(Severity::P1),
            [Sink::Command {
                program: "/bin/page".into(),
                args: vec!["-t".into(), "data".into()],
                timeout: DEFAULT_SINK_TIMEOUT
            }]
        );
        assert_eq!(r.sinks(Severity::P2), [Sink::Log]);
        assert!(r.sinks(Severity::P3).is_empty());
    }

    #[test]
    fn an_unknown_severity_names_the_file_and_line() {
        let err = routes("[alerts]\nP0 = [\"log\"]\nP5 = [\"log\"]\n").expect_err("refused");
        assert!(err.starts_with("assets.toml:3: [alerts]"), "{err}");
        assert!(err.contains("unknown severity \"P5\""), "{err}");
    }

    #[test]
    fn an_unknown_sink_type_names_the_file_and_line() {
        let err = routes("[alerts]\n\nP1 = [{ type = \"pager\" }]\n").expect_err("refused");
        assert!(err.starts_with("assets.toml:3: [alerts]"), "{err}");
        assert!(err.contains("pager"), "{err}");
        let err = routes("[alerts]\nP1 = [\"email\"]\n").expect_err("refused");
        assert!(err.starts_with("assets.toml:2: [alerts]"), "{err}");
        assert!(err.contains("unknown sink type \"email\""), "{err}");
    }

    #[test]
    fn a_malformed_webhook_url_names_the_file_and_line() {
        let err =
            routes("[alerts]\nP0 = [\n  { type = \"webhook\", url = \"htp//nowhere\" },\n]\n")
                .expect_err("refused");
        assert!(err.starts_with("assets.toml:3: [alerts]"), "{err}");
        assert!(
            err.contains("malformed webhook URL \"htp//nowhere\""),
            "{err}"
        );
        assert!(check_webhook_url("ftp://host/x").is_err());
        assert!(check_webhook_url("http://hooks.example/x").is_ok());
        let https = check_webhook_url("https://hooks.example/x").expect_err("no TLS");
        assert!(
            https.contains("https is not supported by this build"),
            "{https}"
        );
    }

    #[test]
    fn a_bad_timeout_is_refused() {
        let err = routes(
            "[alerts]\nP0 = [{ type = \"webhook\", url = \"http://h/\", timeout = \"soon\" }]\n",
        )
        .expect_err("refused");
        assert!(err.contains("\"soon\" is not a duration"), "{err}");
    }
}
