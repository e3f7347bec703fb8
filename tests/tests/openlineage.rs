//! OpenLineage events end to end: whole runs of the fixture pipeline (and
//! of the example) as real processes, events to a JSON-lines file and to a
//! real HTTP server on 127.0.0.1, every event validated against the
//! published OpenLineage schemas vendored in `tests/fixtures/openlineage/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use integration_tests::http_receiver::HttpReceiver;
use serde_json::Value;

const DAY: &str = "2024-01-02";

fn run(root: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root")
        .arg(root)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("ASSETFLOW_ROOT")
        .env_remove("ASSETFLOW_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("fixture binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("assets.toml");
    std::fs::write(&path, text).expect("write assets.toml");
    path
}

fn file_sink(dir: &Path) -> PathBuf {
    write_config(
        dir,
        "[openlineage]\nnamespace = \"tests\"\nsinks = [{ type = \"file\", path = \"lineage/events.jsonl\" }]\n",
    )
}

fn events_in(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("the events file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect()
}

/// The vendored spec: the event schema and the facet schemas, each
/// registered under its `$id`, so nothing is fetched.
struct Spec {
    event: jsonschema::Validator,
    facets: Vec<(String, jsonschema::Validator)>,
}

impl Spec {
    fn load() -> Self {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openlineage");
        let mut documents = BTreeMap::new();
        for entry in std::fs::read_dir(&folder).expect("the vendored spec") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("readable");
                let schema: Value = serde_json::from_str(&text).expect("a schema");
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .expect("a name")
                    .to_owned();
                documents.insert(name, schema);
            }
        }
        let mut registry = jsonschema::Registry::new();
        for schema in documents.values() {
            let id = schema["$id"].as_str().expect("an $id").to_owned();
            registry = registry.add(id, schema.clone()).expect("a resource");
        }
        let registry = registry.prepare().expect("the registry");
        let build = |schema: &Value| {
            jsonschema::options()
                .offline()
                .should_validate_formats(true)
                .with_registry(&registry)
                .build(schema)
                .expect("a validator")
        };
        let event = build(&documents["OpenLineage"]);
        let facets = documents
            .iter()
            .filter(|(name, _)| name.as_str() != "OpenLineage")
            .map(|(name, schema)| (name.clone(), build(schema)))
            .collect();
        Self { event, facets }
    }

    /// Panics with every violation if `event` breaks the spec: the event
    /// schema, then each map of facets against every facet schema (each
    /// constrains only its own key) and no facet outside them but ours.
    fn check(&self, event: &Value) {
        let errors: Vec<String> = self
            .event
            .iter_errors(event)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{event:#}");
        let mut maps = vec![&event["run"]["facets"], &event["job"]["facets"]];
        for dataset in ["inputs", "outputs"] {
            for d in event[dataset].as_array().into_iter().flatten() {
                maps.push(&d["facets"]);
                maps.push(&d["outputFacets"]);
            }
        }
        for facets in maps.into_iter().filter(|m| !m.is_null()) {
            for (name, validator) in &self.facets {
                let errors: Vec<String> = validator
                    .iter_errors(facets)
                    .map(|e| format!("{name}: {e} at {}", e.instance_path()))
                    .collect();
                assert!(errors.is_empty(), "{errors:#?}\n{facets:#}");
            }
            for key in facets.as_object().expect("facets are a map").keys() {
                assert!(
                    KNOWN_FACETS.contains(&key.as_str()),
                    "facet {key} has no vendored schema"
                );
            }
        }
    }
}

/// The facets the events may carry: the spec's (vendored) and ours.
const KNOWN_FACETS: &[&str] = &[
    "parent",
    "nominalTime",
    "processing_engine",
    "errorMessage",
    "jobType",
    "documentation",
    "sourceCodeLocation",
    "schema",
    "version",
    "outputStatistics",
    "assetflow",
];

/// The events of one job, in order.
fn of_job<'a>(events: &'a [Value], job: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["job"]["name"] == job).collect()
}

#[test]
fn a_run_emits_start_and_complete_per_step_valid_against_the_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = file_sink(dir.path());
    let root = dir.path().join("root");
    let out = run(&root, &config, &["materialize", "--partition", DAY], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let events = events_in(&dir.path().join("lineage/events.jsonl"));
    let spec = Spec::load();
    for event in &events {
        spec.check(event);
    }
    // One START and one COMPLETE per asset-partition, plus the run's own.
    assert_eq!(events.len(), 2 * 6 + 2, "{events:#?}");
    assert!(
        stdout.contains(&format!(
            "OpenLineage: 14 events delivered to file {}",
            dir.path().join("lineage/events.jsonl").display()
        )),
        "{stdout}"
    );

    let parent = of_job(&events, "materialize");
    assert_eq!(parent.len(), 2);
    assert_eq!(parent[0]["eventType"], "START");
    assert_eq!(parent[1]["eventType"], "COMPLETE");
    assert_eq!(parent[0]["job"]["namespace"], "tests");
    let parent_id = parent[0]["run"]["runId"].clone();
    assert_eq!(parent[1]["run"]["runId"], parent_id);

    for asset in ["lookup", "source", "left", "right", "joined", "other"] {
        let steps = of_job(&events, asset);
        let kinds: Vec<&Value> = steps.iter().map(|e| &e["eventType"]).collect();
        assert_eq!(kinds, ["START", "COMPLETE"], "{asset}");
        let (start, complete) = (steps[0], steps[1]);
        assert_eq!(start["run"]["runId"], complete["run"]["runId"], "{asset}");
        assert_ne!(start["run"]["runId"], parent_id);
        let facets = &complete["run"]["facets"];
        assert_eq!(facets["parent"]["run"]["runId"], parent_id, "{asset}");
        assert_eq!(facets["parent"]["job"]["name"], "materialize");
        assert_eq!(facets["assetflow"]["asset"], asset);
        let output = &complete["outputs"][0];
        assert_eq!(output["namespace"], "file");
        let root = root.canonicalize().expect("the root");
        assert_eq!(
            output["name"],
            root.join(asset).display().to_string(),
            "the dataset is the asset's folder"
        );
        let stats = &output["outputFacets"]["outputStatistics"];
        assert!(stats["rowCount"].as_u64().is_some_and(|r| r > 0), "{stats}");
        assert!(stats["size"].as_u64().is_some_and(|b| b > 0), "{stats}");
        let fields = output["facets"]["schema"]["fields"]
            .as_array()
            .expect("schema fields");
        assert!(!fields.is_empty(), "{asset}");
        assert!(fields.iter().all(|f| f["type"].is_string()));
        assert_eq!(
            output["facets"]["version"]["datasetVersion"],
            facets["assetflow"]["dataVersion"]
        );
        if asset == "lookup" {
            assert!(facets.get("nominalTime").is_none(), "unpartitioned");
            assert!(facets["assetflow"]["partition"].is_null());
        } else {
            assert_eq!(
                facets["nominalTime"]["nominalStartTime"],
                "2024-01-02T00:00:00Z"
            );
            assert_eq!(
                facets["nominalTime"]["nominalEndTime"],
                "2024-01-03T00:00:00Z"
            );
            assert_eq!(facets["assetflow"]["partition"], DAY);
        }
    }
    // Inputs are the upstream assets' datasets, once each.
    let left = of_job(&events, "left");
    let inputs: Vec<String> = left[1]["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|d| {
            d["name"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(inputs, ["source", "lookup"]);

    // A second run finds everything fresh: no step runs, no step event.
    let out = run(&root, &config, &["materialize", "--partition", DAY], &[]);
    assert_eq!(out.status.code(), Some(0));
    let again = events_in(&dir.path().join("lineage/events.jsonl"));
    assert_eq!(
        again.len(),
        events.len() + 2,
        "only the run's own START and COMPLETE"
    );
}

#[test]
fn a_failing_step_emits_fail_with_its_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = file_sink(dir.path());
    let out = run(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "right")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let events = events_in(&dir.path().join("lineage/events.jsonl"));
    let spec = Spec::load();
    for event in &events {
        spec.check(event);
    }
    let right = of_job(&events, "right");
    let kinds: Vec<&Value> = right.iter().map(|e| &e["eventType"]).collect();
    assert_eq!(kinds, ["START", "FAIL"]);
    assert_eq!(right[0]["run"]["runId"], right[1]["run"]["runId"]);
    let error = &right[1]["run"]["facets"]["errorMessage"];
    assert_eq!(error["programmingLanguage"], "Rust");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{error}"
    );
    // Its downstream never ran: no event. The run as a whole failed.
    assert!(of_job(&events, "joined").is_empty());
    let parent = of_job(&events, "materialize");
    assert_eq!(parent[1]["eventType"], "FAIL");
    assert!(parent[1]["run"]["facets"]["errorMessage"].is_object());
}

#[test]
fn the_example_reports_its_source_code_and_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[openlineage]\nrepository = \"https://git.example/acme/recommender.git\"\nsinks = [{ type = \"file\", path = \"events.jsonl\" }]\n",
    );
    let out = run(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", "2024-01-01"],
        &[("FIXTURE_GRAPH", "recommender")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let events = events_in(&dir.path().join("events.jsonl"));
    let spec = Spec::load();
    for event in &events {
        spec.check(event);
    }
    let steps: Vec<&Value> = events
        .iter()
        .filter(|e| e["eventType"] == "COMPLETE" && e["job"]["name"] != "materialize")
        .collect();
    assert_eq!(steps.len(), 10, "one per asset of the example");
    for step in steps {
        let job = &step["job"];
        assert_eq!(job["namespace"], "assetflow", "the default namespace");
        let code = &job["facets"]["sourceCodeLocation"];
        let path = code["path"].as_str().expect("a path");
        assert!(path.ends_with(".rs"), "{code}");
        let version = code["version"].as_str().expect("a commit");
        assert!(!version.is_empty());
        assert_eq!(code["repoUrl"], "https://git.example/acme/recommender.git");
        if version != "unknown" {
            let url = code["url"].as_str().expect("a url");
            assert!(
                url.starts_with("https://git.example/acme/recommender/blob/"),
                "{url}"
            );
        }
        assert!(
            job["facets"]["documentation"]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "the doc comment: {job}"
        );
        assert!(
            step["run"]["facets"]["assetflow"]["codeVersion"]
                .as_str()
                .is_some_and(|v| !v.is_empty())
        );
    }
}

#[test]
fn events_reach_a_real_http_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = HttpReceiver::start();
    let config = write_config(
        dir.path(),
        &format!(
            "[openlineage]\nsinks = [\n  {{ type = \"http\", url = \"{}/api/v1/lineage\", timeout = \"5s\" }},\n  {{ type = \"file\", path = \"events.jsonl\" }},\n]\n",
            server.base
        ),
    );
    let out = run(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", DAY],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let received = server.received();
    let written = events_in(&dir.path().join("events.jsonl"));
    assert_eq!(received.len(), written.len(), "every event to both sinks");
    assert_eq!(received.len(), 14);
    assert!(received.iter().all(|r| r.path == "/api/v1/lineage"));
    let posted: Vec<Value> = received
        .iter()
        .map(|r| serde_json::from_str(&r.body).expect("a JSON body"))
        .collect();
    assert_eq!(posted, written, "the same events, in the same order");
    assert!(
        text(&out.stdout).contains(&format!(
            "OpenLineage: 14 events delivered to http {}/api/v1/lineage",
            server.base
        )),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_unreachable_endpoint_does_not_fail_the_run_and_is_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A port nothing listens on: bind one and drop it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let config = write_config(
        dir.path(),
        &format!(
            "[openlineage]\nsinks = [{{ type = \"http\", url = \"http://127.0.0.1:{port}/api/v1/lineage\", timeout = \"1s\", retries = 2 }}]\n"
        ),
    );
    let root = dir.path().join("root");
    let out = run(&root, &config, &["materialize", "--partition", DAY], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "OpenLineage: 0 events delivered, 14 undelivered to http http://127.0.0.1:{port}/api/v1/lineage ("
        )),
        "{stdout}"
    );
    // The run itself is complete: a rerun finds every step fresh.
    let status = run(&root, &config, &["status", "--partition", DAY], &[]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    assert!(
        !text(&status.stdout).contains("missing"),
        "{}",
        text(&status.stdout)
    );
}

#[test]
fn bad_openlineage_config_is_one_line_naming_file_and_line_exit_2() {
    let cases = [
        (
            "[openlineage]\nsinks = [\n  { type = \"kafka\", topic = \"lineage\" },\n]\n",
            ":3: [openlineage]",
            "kafka",
        ),
        (
            "[openlineage]\nnamespace = \"x\"\nsinks = [{ type = \"http\", url = \"marquez:5000/api/v1/lineage\" }]\n",
            ":3: [openlineage]",
            "malformed OpenLineage URL",
        ),
    ];
    for (toml, place, what) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_config(dir.path(), toml);
        let root = dir.path().join("root");
        for command in [
            vec!["materialize", "--partition", DAY],
            vec!["daemon", "--once"],
        ] {
            let out = run(&root, &config, &command, &[]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{command:?}: {}",
                text(&out.stderr)
            );
            let stderr = text(&out.stderr);
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {stderr}");
            assert!(
                lines[0].contains(&format!("{}{place}", config.display())),
                "{stderr}"
            );
            assert!(lines[0].contains(what), "{stderr}");
            // `materialize` makes the (empty) root folder before it reads
            // the configuration; nothing is written into it.
            let written = std::fs::read_dir(&root).map_or(0, |d| d.count());
            assert_eq!(written, 0, "nothing written before the refusal");
        }
    }
}
