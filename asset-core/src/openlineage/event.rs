//! The OpenLineage `RunEvent` as it is serialized (spec 2-0-2): a run and
//! its job, the datasets read and written, each with its facets.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::openlineage::facets::{PRODUCER, RUN_EVENT_SCHEMA};
use crate::openlineage::naming::dataset_name;

/// Facets by name (`parent`, `schema`, ...), in a stable order.
pub type Facets = BTreeMap<&'static str, Value>;

/// A run's transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// The run began.
    Start,
    /// It ended well.
    Complete,
    /// It failed.
    Fail,
    /// It was stopped before its end.
    Abort,
}

/// One event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// The transition.
    pub event_type: EventType,
    /// When (RFC 3339, UTC, milliseconds).
    pub event_time: String,
    /// The run.
    pub run: Run,
    /// Its job.
    pub job: Job,
    /// Datasets read.
    pub inputs: Vec<Dataset>,
    /// Datasets written.
    pub outputs: Vec<Dataset>,
    /// Who made the event.
    pub producer: &'static str,
    /// The spec it follows.
    #[serde(rename = "schemaURL")]
    pub schema_url: &'static str,
}

impl RunEvent {
    /// An event of `event_type` at `at` with no datasets.
    pub fn new(
        event_type: EventType,
        at: chrono::DateTime<chrono::Utc>,
        run: Run,
        job: Job,
    ) -> Self {
        Self {
            event_type,
            event_time: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            run,
            job,
            inputs: Vec::new(),
            outputs: Vec::new(),
            producer: PRODUCER,
            schema_url: RUN_EVENT_SCHEMA,
        }
    }

    /// The event as one line of JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers and maps of them always serialize.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// A UUID.
    pub run_id: String,
    /// Its facets.
    pub facets: Facets,
}

/// A job.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// The namespace (`[openlineage] namespace`).
    pub namespace: String,
    /// The asset key, or `materialize` for the run as a whole.
    pub name: String,
    /// Its facets.
    pub facets: Facets,
}

/// A dataset read or written.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// `file`, `s3://bucket`, ...
    pub namespace: String,
    /// The path or key.
    pub name: String,
    /// Facets of the dataset (`schema`, `version`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: Facets,
    /// Facets of this write (`outputStatistics`).
    #[serde(rename = "outputFacets", skip_serializing_if = "BTreeMap::is_empty")]
    pub output_facets: Facets,
}

impl Dataset {
    /// The dataset stored at `uri`, named by the OpenLineage conventions.
    pub fn at(uri: &str) -> Self {
        let (namespace, name) = dataset_name(uri);
        Self {
            namespace,
            name,
            facets: Facets::new(),
            output_facets: Facets::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_serializes_in_the_specs_shape() {
        let at = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05.678Z")
            .expect("a time")
            .to_utc();
        let mut event = RunEvent::new(
            EventType::Start,
            at,
            Run {
                run_id: "id".into(),
                facets: Facets::new(),
            },
            Job {
                namespace: "ns".into(),
                name: "sessions".into(),
                facets: Facets::new(),
            },
        );
        event.outputs.push(Dataset::at("s3://lake/sessions"));
        let json: Value = serde_json::from_str(&event.to_json()).expect("JSON");
        assert_eq!(json["eventType"], "START");
        assert_eq!(json["eventTime"], "2024-01-02T03:04:05.678Z");
        assert_eq!(json["schemaURL"], RUN_EVENT_SCHEMA);
        assert_eq!(json["run"]["runId"], "id");
        assert_eq!(json["outputs"][0]["namespace"], "s3://lake");
        assert_eq!(json["outputs"][0]["name"], "sessions");
        assert!(json["outputs"][0].get("outputFacets").is_none());
    }
}
