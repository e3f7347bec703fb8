//! OpenLineage run events, so Marquez, DataHub or any OpenLineage consumer
//! sees every materialization as it happens.
//!
//! [`OpenLineage`] is a [`RunListener`]: the materializer tells it when a
//! run starts, when each step that computes starts and how it ends, and
//! when the run ends; it turns each into a `RunEvent` ([`event`]) with its
//! facets ([`facets`]) and queues it for the sinks of `[openlineage]`
//! ([`config`]), delivered on a background thread ([`sink`]).
//!
//! The model: each asset is a job (namespace `[openlineage] namespace`,
//! name the asset key); each asset-partition step is a run of it, whose
//! runId is a UUID made from the materialize run id, the asset, the
//! partition and the tag; its `parent` facet points at the materialize run
//! (job `materialize`), which has its own START and COMPLETE / FAIL /
//! ABORT. Datasets are the assets' folders under the storage root, named by
//! the OpenLineage conventions ([`naming`]).

pub mod config;
pub mod event;
pub mod facets;
pub mod naming;
pub mod sink;

use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use crate::catalog::RunStatus;
use crate::config::ConfigFile;
use crate::materialize::listener::{RunInfo, RunListener, StepInfo, StepOutput};

pub use config::{EventSink, OpenLineageConfig, OpenLineageConfigError};
pub use event::{Dataset, EventType, Facets, Job, Run, RunEvent};
pub use sink::{EventDelivery, SinkTally};

/// The job of the materialize run, parent of every step's run.
pub const PARENT_JOB: &str = "materialize";

/// Emits OpenLineage events for the runs it listens to.
#[derive(Debug)]
pub struct OpenLineage {
    namespace: String,
    repository: Option<String>,
    delivery: Mutex<Option<EventDelivery>>,
}

impl OpenLineage {
    /// Events to `config`'s sinks.
    pub fn start(config: OpenLineageConfig) -> Self {
        let repository = config.repository.or_else(git_remote);
        Self {
            namespace: config.namespace,
            repository,
            delivery: Mutex::new(Some(EventDelivery::start(config.sinks))),
        }
    }

    /// Events as the `[openlineage]` section of `file` says; `None` without
    /// the section.
    pub fn from_config(file: &ConfigFile) -> Result<Option<Self>, OpenLineageConfigError> {
        Ok(OpenLineageConfig::from_config(file)?.map(Self::start))
    }

    /// Waits (bounded by the sinks' timeouts and retries) for the queued
    /// events and returns each sink's tally; later events are dropped.
    pub fn finish(&self) -> Vec<SinkTally> {
        let delivery = self.delivery.lock().ok().and_then(|mut d| d.take());
        delivery.map_or_else(Vec::new, |d| {
            let wait = d.default_wait();
            d.finish(wait)
        })
    }

    /// [`finish`](Self::finish) with at most `wait`.
    pub fn finish_within(&self, wait: Duration) -> Vec<SinkTally> {
        let delivery = self.delivery.lock().ok().and_then(|mut d| d.take());
        delivery.map_or_else(Vec::new, |d| d.finish(wait))
    }

    fn send(&self, event: &RunEvent) {
        if let Ok(delivery) = self.delivery.lock()
            && let Some(delivery) = delivery.as_ref()
        {
            delivery.send(event.to_json());
        }
    }

    /// The UUID of the materialize run `run_id`.
    pub fn parent_run_id(run_id: &str) -> String {
        naming::uuid_from(&[run_id])
    }

    /// The UUID of one step's run.
    pub fn step_run_id(
        run_id: &str,
        asset: &str,
        partition: Option<&str>,
        tag: Option<&str>,
    ) -> String {
        naming::uuid_from(&[run_id, asset, partition.unwrap_or(""), tag.unwrap_or("")])
    }

    /// An event of the materialize run.
    fn run_event(&self, event_type: EventType, run: &RunInfo<'_>) -> RunEvent {
        let mut run_facets = Facets::from([
            ("processing_engine", facets::processing_engine()),
            (
                "assetflow",
                facets::assetflow(json!({ "runId": run.run_id, "tag": run.tag })),
            ),
        ]);
        if event_type == EventType::Fail {
            run_facets.insert(
                "errorMessage",
                facets::error_message("at least one step failed (see the steps' events)"),
            );
        }
        RunEvent::new(
            event_type,
            run.at,
            Run {
                run_id: Self::parent_run_id(run.run_id),
                facets: run_facets,
            },
            Job {
                namespace: self.namespace.clone(),
                name: PARENT_JOB.into(),
                facets: Facets::from([("jobType", facets::job_type("RUN"))]),
            },
        )
    }

    /// An event of one step: its run, job and datasets (without what only
    /// the end knows).
    fn step_event(&self, event_type: EventType, step: &StepInfo<'_>) -> RunEvent {
        let def = step.asset;
        let mut run_facets = Facets::from([
            (
                "parent",
                facets::parent(
                    &Self::parent_run_id(step.run_id),
                    &self.namespace,
                    PARENT_JOB,
                ),
            ),
            ("processing_engine", facets::processing_engine()),
            (
                "assetflow",
                facets::assetflow(json!({
                    "asset": def.key,
                    "partition": step.partition,
                    "tag": step.tag,
                    "runId": step.run_id,
                    "codeVersion": def.code_version,
                })),
            ),
        ]);
        if let Some(window) = &step.window {
            let time = |t: chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            };
            run_facets.insert(
                "nominalTime",
                facets::nominal_time(&time(window.start), &time(window.end)),
            );
        }
        let mut job_facets = Facets::from([("jobType", facets::job_type("ASSET"))]);
        if let Some(source) = &def.source {
            job_facets.insert(
                "sourceCodeLocation",
                facets::source_code_location(&facets::CodeLocation {
                    file: source.file,
                    line: source.line,
                    commit: source.git_commit,
                    repository: self.repository.as_deref(),
                }),
            );
        }
        if !def.description.trim().is_empty() {
            job_facets.insert("documentation", facets::documentation(&def.description));
        }
        let mut event = RunEvent::new(
            event_type,
            step.at,
            Run {
                run_id: Self::step_run_id(step.run_id, &def.key, step.partition, step.tag),
                facets: run_facets,
            },
            Job {
                namespace: self.namespace.clone(),
                name: def.key.clone(),
                facets: job_facets,
            },
        );
        event.inputs = step.inputs.iter().map(|d| Dataset::at(&d.uri)).collect();
        event.outputs = vec![Dataset::at(&step.output.uri)];
        event
    }
}

impl RunListener for OpenLineage {
    fn run_started(&self, run: &RunInfo<'_>) {
        self.send(&self.run_event(EventType::Start, run));
    }

    fn step_started(&self, step: &StepInfo<'_>) {
        self.send(&self.step_event(EventType::Start, step));
    }

    fn step_materialized(&self, step: &StepInfo<'_>, output: &StepOutput<'_>) {
        let mut event = self.step_event(EventType::Complete, step);
        let record = output.record;
        if let Some(facet) = event.run.facets.get_mut("assetflow")
            && let Some(map) = facet.as_object_mut()
        {
            map.insert("dataVersion".into(), record.data_version.clone().into());
            map.insert("uri".into(), record.uri.clone().into());
            map.insert("gitCommit".into(), record.git_commit.clone().into());
            if let Some(hash) = &record.config_hash {
                map.insert("configHash".into(), hash.clone().into());
            }
        }
        if let Some(dataset) = event.outputs.first_mut() {
            if let Some(schema) = output.schema {
                dataset.facets.insert("schema", facets::schema(schema));
            }
            dataset
                .facets
                .insert("version", facets::dataset_version(&record.data_version));
            dataset.output_facets.insert(
                "outputStatistics",
                facets::output_statistics(record.rows, record.bytes),
            );
        }
        self.send(&event);
    }

    fn step_failed(&self, step: &StepInfo<'_>, error: &str) {
        let mut event = self.step_event(EventType::Fail, step);
        event
            .run
            .facets
            .insert("errorMessage", facets::error_message(error));
        self.send(&event);
    }

    fn run_finished(&self, run: &RunInfo<'_>, status: RunStatus) {
        let event_type = match status {
            RunStatus::Succeeded => EventType::Complete,
            RunStatus::Failed => EventType::Fail,
            RunStatus::Cancelled => EventType::Abort,
            RunStatus::Running => return,
        };
        self.send(&self.run_event(event_type, run));
    }
}

/// The URL of the git remote `origin`, without credentials, if there is one.
fn git_remote() -> Option<String> {
    let output = std::process::Command::new("git")
        .args(["remote", "get-url", "origin"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if text.is_empty() {
        return None;
    }
    // An https remote may carry a token (`https://user:token@host/...`):
    // never let it into events.
    match url::Url::parse(&text) {
        Ok(mut url) if url.has_authority() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Some(url.to_string())
        }
        Ok(_) | Err(_) => Some(text),
    }
}
