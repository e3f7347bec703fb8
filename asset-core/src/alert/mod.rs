//! Alerts: what went wrong (a [`Cause`]), how urgent it is (a
//! [`Severity`]), where it goes ([`routing`]), and how it gets there
//! without slowing a run ([`deliver`]).
//!
//! Alerts are worked out after the fact, from a run's report and the
//! catalog ([`from_run`]), never from inside a step. Each (asset-partition, cause) is open at most
//! once: an alert is sent when it opens, a recovery notice when it closes,
//! and the open set lives in the catalog, so a restart neither repeats nor
//! forgets one.

pub mod deliver;
pub mod from_run;
pub mod routing;
pub mod severity;

use std::fmt;

use serde::Serialize;

pub use deliver::{Deliverer, Undelivered};
pub use from_run::alerts_from_run;
pub use routing::{AlertRoutes, Sink};
pub use severity::Severity;

/// Why an alert fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A step failed after its last retry (or without retries).
    RetriesExhausted,
    /// A blocking check failed: nothing was published.
    BlockingCheckFailed,
    /// More rows than the contract allows went to the dead-letter table.
    DeadLetterShare,
    /// The SLA deadline is nearer than the time the asset usually takes.
    SlaAtRisk,
    /// The SLA deadline passed without a materialization.
    SlaBreached,
}

impl Cause {
    /// Every cause.
    pub const ALL: [Cause; 5] = [
        Cause::RetriesExhausted,
        Cause::BlockingCheckFailed,
        Cause::DeadLetterShare,
        Cause::SlaAtRisk,
        Cause::SlaBreached,
    ];

    /// The stored name: `retries_exhausted`, `sla_breached`...
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::RetriesExhausted => "retries_exhausted",
            Cause::BlockingCheckFailed => "blocking_check_failed",
            Cause::DeadLetterShare => "dead_letter_share",
            Cause::SlaAtRisk => "sla_at_risk",
            Cause::SlaBreached => "sla_breached",
        }
    }

    /// The cause with this stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Cause::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Whether a successful materialization of the asset-partition clears it
    /// (the step causes do; SLA causes clear through the freshness check).
    pub fn cleared_by_success(self) -> bool {
        matches!(
            self,
            Cause::RetriesExhausted | Cause::BlockingCheckFailed | Cause::DeadLetterShare
        )
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an alert opens or closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Something needs a person.
    Firing,
    /// It no longer does.
    Recovered,
}

/// One alert or recovery notice, as every sink receives it (the JSON body
/// of a webhook, the stdin of a command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Firing or recovered.
    pub kind: AlertKind,
    /// The asset.
    pub asset: String,
    /// The partition (`None`: unpartitioned).
    pub partition: Option<String>,
    /// How urgent.
    pub severity: Severity,
    /// Why.
    pub cause: Cause,
    /// The run it comes from; `None` (JSON `null`) for an SLA alert, which
    /// comes from the daemon's deadline check, not from a run.
    pub run_id: Option<String>,
    /// One line for a person: what happened and what it affects.
    pub why: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

impl Alert {
    /// One line: `[P1] FIRING retries_exhausted sessions 2024-01-01: why`.
    pub fn summary(&self) -> String {
        let kind = match self.kind {
            AlertKind::Firing => "FIRING",
            AlertKind::Recovered => "RECOVERED",
        };
        let partition = self
            .partition
            .as_deref()
            .map_or_else(String::new, |p| format!(" {p}"));
        format!(
            "[{}] {kind} {} {}{partition}: {}",
            self.severity, self.cause, self.asset, self.why
        )
    }

    /// The JSON body sinks receive.
    pub fn to_json(&self) -> String {
        // A struct of strings and enums always serializes.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_round_trip_their_names() {
        for cause in Cause::ALL {
            assert_eq!(Cause::parse(cause.as_str()), Some(cause));
        }
        assert_eq!(Cause::parse("nope"), None);
    }

    #[test]
    fn an_alert_serializes_with_every_field() {
        let alert = Alert {
            kind: AlertKind::Firing,
            asset: "sessions".into(),
            partition: Some("2024-01-01".into()),
            severity: Severity::P1,
            cause: Cause::RetriesExhausted,
            run_id: Some("run-1".into()),
            why: "failed after 3 attempts: timeout".into(),
            at: "2024-01-02T03:00:00Z".into(),
        };
        assert_eq!(
            alert.to_json(),
            r#"{"kind":"firing","asset":"sessions","partition":"2024-01-01","severity":"P1","cause":"retries_exhausted","run_id":"run-1","why":"failed after 3 attempts: timeout","at":"2024-01-02T03:00:00Z"}"#
        );
        assert_eq!(
            alert.summary(),
            "[P1] FIRING retries_exhausted sessions 2024-01-01: failed after 3 attempts: timeout"
        );
    }
}
