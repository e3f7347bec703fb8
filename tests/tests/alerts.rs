//! Alerts end to end: the fixture pipeline as a real process, a real HTTP
//! server on 127.0.0.1 in the test process receiving webhooks, a real shell
//! script as a command sink.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use integration_tests::webhook::Receiver;

const DAY: &str = "2024-01-02";

fn fixture(root: &Path, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root")
        .arg(root)
        .arg("--config")
        .arg(config)
        .args(args);
    cmd.env_remove("ASSETFLOW_ROOT");
    cmd.env_remove("ASSETFLOW_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("fixture binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("assets.toml");
    std::fs::write(&path, text).expect("write assets.toml");
    path
}

#[test]
fn a_failing_step_sends_one_webhook_until_it_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = Receiver::start(false);
    let config = write_config(
        dir.path(),
        &format!(
            "[alerts]\nP2 = [{{ type = \"webhook\", url = \"{}\", timeout = \"5s\", retries = 0 }}]\n",
            hook.url
        ),
    );
    let root = dir.path().join("root");
    let args = ["materialize", "--partition", DAY];
    let failing = [("FIXTURE_FAIL", "right")];

    let out = fixture(&root, &config, &args, &failing);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "one alert: {bodies:?}");
    let alert = &bodies[0];
    assert_eq!(alert["kind"], "firing");
    assert_eq!(alert["asset"], "right");
    assert_eq!(alert["partition"], DAY);
    assert_eq!(alert["severity"], "P2");
    assert_eq!(alert["cause"], "retries_exhausted");
    assert!(
        !alert["run_id"].as_str().unwrap_or("").is_empty(),
        "{alert}"
    );
    let why = alert["why"].as_str().unwrap_or("");
    assert!(why.contains("1 downstream step skipped"), "{why}");

    // Still failing: the alert is open, nothing new is sent.
    let out = fixture(&root, &config, &args, &failing);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(hook.bodies().len(), 1, "deduplicated: {:?}", hook.bodies());

    // Fixed: one recovery notice, then silence.
    let out = fixture(&root, &config, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["kind"], "recovered");
    assert_eq!(bodies[1]["asset"], "right");
    assert_eq!(bodies[1]["cause"], "retries_exhausted");
    let out = fixture(
        &root,
        &config,
        &["materialize", "--partition", DAY, "--force"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(hook.bodies().len(), 2, "no second recovery");
}

#[test]
fn a_slack_webhook_gets_a_text_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = Receiver::start(false);
    let config = write_config(
        dir.path(),
        &format!(
            "[alerts]\nP2 = [{{ type = \"webhook\", url = \"{}\", format = \"slack\" }}]\n",
            hook.url
        ),
    );
    let out = fixture(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "other")],
    );
    assert_eq!(out.status.code(), Some(1));
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let text = bodies[0]["text"].as_str().unwrap_or("");
    assert!(
        text.starts_with("[P2] FIRING retries_exhausted other 2024-01-02: "),
        "{text}"
    );
}

#[test]
fn a_command_sink_gets_the_alert_as_json_on_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("page.sh");
    std::fs::write(&script, "#!/bin/sh\ncat > \"$1\"\n").expect("write script");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let received = dir.path().join("received.json");
    let config = write_config(
        dir.path(),
        &format!(
            "[alerts]\nP2 = [\"log\", {{ type = \"command\", program = \"{}\", args = [\"{}\"] }}]\n",
            script.display(),
            received.display()
        ),
    );
    let out = fixture(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "other")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("alert: [P2] FIRING retries_exhausted other 2024-01-02"),
        "the log sink: {stderr}"
    );
    let body = std::fs::read_to_string(&received).expect("the script wrote its stdin");
    let alert: serde_json::Value = serde_json::from_str(&body).expect("JSON on stdin");
    assert_eq!(alert["asset"], "other");
    assert_eq!(alert["kind"], "firing");
}

#[test]
fn undeliverable_alerts_are_logged_and_leave_the_exit_code_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = Receiver::start(true);
    let config = write_config(
        dir.path(),
        &format!(
            "[alerts]\nP2 = [\n  {{ type = \"webhook\", url = \"{}\", timeout = \"300ms\", retries = 1 }},\n  {{ type = \"command\", program = \"/nonexistent/page-oncall\" }},\n  {{ type = \"command\", program = \"sh\", args = [\"-c\", \"cat >/dev/null; echo pager down >&2; exit 4\"] }},\n]\n",
            hook.url
        ),
    );
    let started = std::time::Instant::now();
    let out = fixture(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "other")],
    );
    assert_eq!(out.status.code(), Some(1), "the run's own exit code");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "alert undelivered to webhook {}: timed out after 300ms (after 2 attempts)",
            hook.url
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("alert undelivered to command /nonexistent/page-oncall: cannot run /nonexistent/page-oncall"),
        "{stderr}"
    );
    assert!(
        stderr.contains("alert undelivered to command sh: exited with status 4: pager down"),
        "{stderr}"
    );
    // Bounded: the sinks' timeouts, not the hanging server's 30 s. (A
    // sanity bound on the wait, not a performance assertion.)
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
    // Still recorded as open: a later run does not fire it again.
    let out = fixture(
        &dir.path().join("root"),
        &config,
        &["materialize", "--partition", DAY],
        &[("FIXTURE_FAIL", "other")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out.stderr).contains("alert undelivered"));
}

#[test]
fn bad_routing_exits_2_naming_file_and_line_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    for (toml, needle) in [
        ("[alerts]\nP0 = [\"log\"]\nP5 = [\"log\"]\n", ":3: [alerts]"),
        ("[alerts]\nP1 = [{ type = \"pager\" }]\n", ":2: [alerts]"),
        (
            "[alerts]\nP1 = [{ type = \"webhook\", url = \"htp//x\" }]\n",
            "malformed webhook URL",
        ),
    ] {
        let config = write_config(dir.path(), toml);
        for args in [
            &["materialize", "--partition", DAY][..],
            &["daemon", "--once"][..],
        ] {
            let out = fixture(&root, &config, args, &[]);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(needle), "{needle:?} in {stderr}");
            assert!(
                stderr.contains(&config.display().to_string()),
                "names the file: {stderr}"
            );
            assert!(
                !root.join("_catalog.sqlite").exists(),
                "nothing ran: {args:?}"
            );
        }
    }
}

/// The causes of the audit's refusals, through a real run: a blocking
/// contract failure and a dead-letter share over its threshold.
#[test]
fn blocking_checks_and_dead_letter_shares_have_their_own_cause() {
    use asset_core::alert::{AlertKind, Cause, Severity, alerts_from_run};
    use asset_core::arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
    use asset_core::arrow_schema::DataType;
    use asset_core::catalog::UnattendedStore;
    use asset_core::io::{Payload, TableData};
    use asset_core::prelude::*;
    use asset_core::testing::TestPipeline;
    use asset_core::{AssetDef, PartitionsDef};

    fn table(ids: &[Option<i64>], amounts: &[f64]) -> TableData {
        TableData::from(
            RecordBatch::try_from_iter([
                (
                    "user_id",
                    Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef,
                ),
                (
                    "amount",
                    Arc::new(Float64Array::from(amounts.to_vec())) as ArrayRef,
                ),
            ])
            .expect("valid batch"),
        )
    }
    let value = Arc::new(Mutex::new(table(&[Some(1), Some(2)], &[1.0, 2.0])));
    let source = value.clone();
    let contract = DataContract::new()
        .column("user_id", DataType::Int64)
        .column("amount", DataType::Float64)
        .reject_rows("negative", "amount is negative", |batch| {
            let amounts = batch
                .column(1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or("amount is not float64")?;
            Ok(amounts.iter().map(|a| a.map(|a| a < 0.0)).collect())
        })
        .max_rejected(0.25);
    let def = AssetDef::new("events", move |_| {
        let value = source.lock().expect("not poisoned").clone();
        Box::pin(async move { Ok(Payload::Table(value)) })
    })
    .with_partitions(PartitionsDef::daily("2024-01-01").expect("valid start"))
    .with_contract(contract)
    .with_severity(Severity::P1);
    let p = TestPipeline::from_assets(vec![def]).expect("valid graph");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = UnattendedStore::open(dir.path().join("alerts.sqlite")).expect("store");
    let graph = p.materializer().graph();
    let run = || {
        p.run(asset_core::materialize::MaterializeOptions {
            selection: asset_core::graph::Selection::parse("events").expect("valid"),
            partition: Some(DAY.into()),
            force: true,
            ..Default::default()
        })
        .expect("runs")
    };
    let raise =
        |report| alerts_from_run(graph, &store, &report, chrono::Utc::now()).expect("store");

    *value.lock().expect("not poisoned") = table(&[Some(1), None], &[1.0, 2.0]);
    let alerts = raise(run());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].cause, Cause::BlockingCheckFailed);
    assert_eq!(alerts[0].severity, Severity::P1);
    assert!(
        alerts[0].why.starts_with("contract of events [2024-01-02]"),
        "{}",
        alerts[0].why
    );

    *value.lock().expect("not poisoned") = table(
        &[Some(1), Some(2), Some(3), Some(4)],
        &[1.0, -2.0, -3.0, 4.0],
    );
    let alerts = raise(run());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].cause, Cause::DeadLetterShare);

    *value.lock().expect("not poisoned") = table(&[Some(1), Some(2)], &[1.0, 2.0]);
    let alerts = raise(run());
    let recovered: Vec<Cause> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Recovered)
        .map(|a| a.cause)
        .collect();
    assert_eq!(
        recovered,
        [Cause::BlockingCheckFailed, Cause::DeadLetterShare],
        "{alerts:?}"
    );
}

#[test]
fn a_daemon_launched_run_sends_its_alert_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = Receiver::start(false);
    let config = write_config(
        dir.path(),
        &format!(
            "[alerts]\nP2 = [{{ type = \"webhook\", url = \"{}\", retries = 0 }}]\n",
            hook.url
        ),
    );
    let root = dir.path().join("root");
    let env = [
        ("FIXTURE_SCHEDULE", "other=0 6 * * *"),
        ("FIXTURE_FAIL", "other"),
    ];
    let out = fixture(
        &root,
        &config,
        &["daemon", "--once", "--now", "2024-01-03T07:00:00Z"],
        &env,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["asset"], "other");
    assert_eq!(bodies[0]["partition"], DAY);
    assert_eq!(bodies[0]["cause"], "retries_exhausted");
    // The next day's tick fails on another partition: deduplication is per
    // asset-partition, so that is a new alert.
    let out = fixture(
        &root,
        &config,
        &["daemon", "--once", "--now", "2024-01-04T07:00:00Z"],
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["partition"], "2024-01-03");
}

#[test]
fn a_breached_sla_pages_once_through_the_webhook_and_recovers_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = Receiver::start(false);
    let config = write_config(
        dir.path(),
        &format!(
            "[alerts]\nP2 = [{{ type = \"webhook\", url = \"{}\", retries = 0 }}]\n",
            hook.url
        ),
    );
    let root = dir.path().join("root");
    let sla = [("FIXTURE_SLA", "other=6h")];
    let pass = |now: &str| {
        let out = fixture(&root, &config, &["daemon", "--once", "--now", now], &sla);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    // The 1st was due on the 2nd at 06:00 and nothing was materialized.
    let stdout = pass("2024-01-02T07:00:00Z");
    assert!(
        stdout.contains("[P2] FIRING sla_breached other 2024-01-01"),
        "{stdout}"
    );
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let alert = &bodies[0];
    assert_eq!(alert["kind"], "firing");
    assert_eq!(alert["asset"], "other");
    assert_eq!(alert["partition"], "2024-01-01");
    assert_eq!(alert["severity"], "P2");
    assert_eq!(alert["cause"], "sla_breached");
    assert!(alert["run_id"].is_null(), "no run raised it: {alert}");
    let why = alert["why"].as_str().unwrap_or("");
    assert!(
        why.contains("not materialized by its deadline 2024-01-02T06:00:00Z"),
        "{why}"
    );

    // Another daemon process an hour later: still breached, nothing new.
    pass("2024-01-02T08:00:00Z");
    assert_eq!(hook.bodies().len(), 1, "deduplicated: {:?}", hook.bodies());

    // Materialized late; the next pass sends one recovery notice.
    let out = fixture(
        &root,
        &config,
        &[
            "materialize",
            "--select",
            "other",
            "--partition",
            "2024-01-01",
        ],
        &sla,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    pass("2024-01-02T09:00:00Z");
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[1]["kind"], "recovered");
    assert_eq!(bodies[1]["cause"], "sla_breached");
    assert_eq!(bodies[1]["partition"], "2024-01-01");
    pass("2024-01-02T10:00:00Z");
    assert_eq!(hook.bodies().len(), 2, "one recovery: {:?}", hook.bodies());
}
