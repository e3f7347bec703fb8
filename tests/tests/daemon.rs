//! Schedules and automation end to end: daemon passes driven by a manual
//! clock (never by sleeping) over fixture graphs in temp dirs, and the
//! `daemon` / `schedules` commands as real processes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use asset_core::alert::{AlertKind, Cause, Severity};
use asset_core::catalog::{MaterializationRecord, TickStatus, UnattendedStore};
use asset_core::daemon::{Daemon, LaunchStatus, ManualClock, PassReport, Trigger};
use asset_core::materialize::PartitionSelection;
use asset_core::testing::TestPipeline;
use asset_core::{AssetDef, Automation, PartitionsDef, Schedule};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use integration_tests::fixtures::{self, Behaviour};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("valid time")
}

/// The diamond with `joined` scheduled daily at 06:00 UTC.
fn scheduled_diamond(behaviour: &Behaviour, schedule: Schedule) -> Vec<AssetDef> {
    fixtures::diamond(behaviour)
        .into_iter()
        .map(|def| {
            if def.key == "joined" {
                def.with_schedule(schedule.clone())
            } else {
                def
            }
        })
        .collect()
}

fn daily_at_six() -> Schedule {
    Schedule::cron("0 6 * * *").expect("valid cron")
}

struct Harness {
    pipeline: TestPipeline,
    clock: Arc<ManualClock>,
    runtime: tokio::runtime::Runtime,
}

impl Harness {
    fn new(assets: Vec<AssetDef>, now: DateTime<Utc>) -> Self {
        Self {
            pipeline: TestPipeline::from_assets(assets).expect("pipeline"),
            clock: Arc::new(ManualClock::at(now)),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    fn store(&self) -> Arc<UnattendedStore> {
        Arc::new(
            UnattendedStore::open(self.pipeline.root().join("_catalog.sqlite")).expect("store"),
        )
    }

    /// A daemon (a fresh process, as far as its memory goes).
    fn daemon(&self) -> Daemon {
        Daemon::new(
            self.pipeline.materializer().clone(),
            self.store(),
            self.clock.clone(),
        )
        .with_jobs(2)
    }

    fn pass(&self, daemon: &mut Daemon) -> PassReport {
        self.runtime.block_on(daemon.pass(None)).expect("pass")
    }

    fn materialized(&self, asset: &str, partition: Option<&str>) -> bool {
        self.pipeline
            .materializer()
            .catalog()
            .expect("catalog")
            .latest(asset, partition, None)
            .expect("latest")
            .is_some()
    }
}

fn ticks_of(pass: &PassReport) -> Vec<(String, DateTime<Utc>, PartitionSelection)> {
    pass.outcomes
        .iter()
        .filter_map(|o| match o.launch.trigger {
            Trigger::Tick(at) => Some((o.launch.asset.clone(), at, o.launch.partitions.clone())),
            _ => None,
        })
        .collect()
}

fn one(key: &str) -> PartitionSelection {
    PartitionSelection::One(key.into())
}

#[test]
fn a_tick_materializes_the_newest_complete_partition_and_its_stale_upstream() {
    let h = Harness::new(
        scheduled_diamond(&Behaviour::ok(5), daily_at_six()),
        utc(2024, 1, 3, 7, 0),
    );
    let mut daemon = h.daemon();
    let pass = h.pass(&mut daemon);
    assert_eq!(
        ticks_of(&pass),
        [("joined".into(), utc(2024, 1, 3, 6, 0), one("2024-01-02"))]
    );
    assert_eq!(pass.outcomes[0].status, LaunchStatus::Succeeded);
    for asset in ["source", "left", "right", "joined"] {
        assert!(h.materialized(asset, Some("2024-01-02")), "{asset}");
    }
    assert!(h.materialized("lookup", None));
    // Not upstream of the scheduled asset, not run.
    assert!(!h.materialized("other", Some("2024-01-02")));
    let ticks = h.store().ticks(Some("joined"), 10).expect("ticks");
    assert_eq!(ticks.len(), 1);
    assert_eq!(ticks[0].status, TickStatus::Succeeded);
    assert_eq!(ticks[0].partition.as_deref(), Some("2024-01-02"));
    // Nothing more is due until the next tick.
    h.clock.set(utc(2024, 1, 4, 5, 59));
    assert!(h.pass(&mut daemon).outcomes.is_empty());
    h.clock.set(utc(2024, 1, 4, 6, 0));
    assert_eq!(
        ticks_of(&h.pass(&mut daemon)),
        [("joined".into(), utc(2024, 1, 4, 6, 0), one("2024-01-03"))]
    );
}

#[test]
fn a_restarted_daemon_never_runs_a_tick_twice() {
    let h = Harness::new(
        scheduled_diamond(&Behaviour::ok(5), daily_at_six()),
        utc(2024, 1, 3, 7, 0),
    );
    let mut first = h.daemon();
    assert_eq!(ticks_of(&h.pass(&mut first)).len(), 1);
    first.unlock();
    drop(first);
    let mut restarted = h.daemon();
    let pass = h.pass(&mut restarted);
    assert!(pass.outcomes.is_empty(), "{:?}", pass.outcomes);
    assert_eq!(h.store().ticks(None, 10).expect("ticks").len(), 1);
}

#[test]
fn catch_up_runs_missed_ticks_oldest_first_and_bounded() {
    let schedule = daily_at_six().with_catchup(3).expect("bounded");
    let h = Harness::new(
        scheduled_diamond(&Behaviour::ok(5), schedule),
        utc(2024, 1, 2, 7, 0),
    );
    let mut daemon = h.daemon();
    // The first pass catches up from the start of history: of the newest
    // three ticks, the two before the first day ended have nothing to run.
    let first = h.pass(&mut daemon);
    let statuses: Vec<LaunchStatus> = first.outcomes.iter().map(|o| o.status).collect();
    assert_eq!(
        statuses,
        [
            LaunchStatus::Skipped,
            LaunchStatus::Skipped,
            LaunchStatus::Succeeded
        ]
    );
    assert_eq!(
        h.store().ticks(Some("joined"), 10).expect("ticks")[2].status,
        TickStatus::Skipped
    );
    // Down for a week: only the newest three missed ticks run, oldest first.
    h.clock.set(utc(2024, 1, 10, 7, 0));
    let pass = h.pass(&mut daemon);
    assert_eq!(
        ticks_of(&pass),
        [
            ("joined".into(), utc(2024, 1, 8, 6, 0), one("2024-01-07")),
            ("joined".into(), utc(2024, 1, 9, 6, 0), one("2024-01-08")),
            ("joined".into(), utc(2024, 1, 10, 6, 0), one("2024-01-09")),
        ]
    );
    assert!(
        pass.outcomes
            .iter()
            .all(|o| o.status == LaunchStatus::Succeeded)
    );
    assert!(!h.materialized("joined", Some("2024-01-06")));
}

#[test]
fn without_catch_up_only_the_newest_missed_tick_runs() {
    let h = Harness::new(
        scheduled_diamond(&Behaviour::ok(5), daily_at_six()),
        utc(2024, 1, 2, 7, 0),
    );
    let mut daemon = h.daemon();
    h.pass(&mut daemon);
    h.clock.set(utc(2024, 1, 10, 7, 0));
    assert_eq!(
        ticks_of(&h.pass(&mut daemon)),
        [("joined".into(), utc(2024, 1, 10, 6, 0), one("2024-01-09"))]
    );
}

#[test]
fn catch_up_interrupted_by_shutdown_resumes_after_a_restart() {
    let schedule = daily_at_six().with_catchup(5).expect("bounded");
    let h = Harness::new(
        scheduled_diamond(&Behaviour::ok(5), schedule),
        utc(2024, 1, 2, 7, 0),
    );
    let mut first = h.daemon();
    h.pass(&mut first);
    h.clock.set(utc(2024, 1, 5, 7, 0));
    // Shutting down: nothing new starts, no tick is taken.
    let cancel = Arc::new(AtomicBool::new(true));
    let pass = h.runtime.block_on(first.pass(Some(&cancel))).expect("pass");
    assert_eq!(pass.outcomes.len(), 3);
    assert!(
        pass.outcomes
            .iter()
            .all(|o| o.status == LaunchStatus::Cancelled)
    );
    first.unlock();
    let mut restarted = h.daemon();
    let pass = h.pass(&mut restarted);
    let days: Vec<PartitionSelection> = ticks_of(&pass).into_iter().map(|t| t.2).collect();
    assert_eq!(
        days,
        [one("2024-01-02"), one("2024-01-03"), one("2024-01-04")]
    );
}

#[test]
fn a_failed_run_is_recorded_and_the_daemon_goes_on() {
    let mut behaviour = Behaviour::ok(5);
    behaviour.fail.insert("right".into());
    let h = Harness::new(
        scheduled_diamond(&behaviour, daily_at_six()),
        utc(2024, 1, 3, 7, 0),
    );
    let mut daemon = h.daemon();
    let pass = h.pass(&mut daemon);
    assert_eq!(pass.outcomes[0].status, LaunchStatus::Failed);
    assert!(
        pass.outcomes[0]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("told to fail")),
        "{:?}",
        pass.outcomes[0].message
    );
    let ticks = h.store().ticks(Some("joined"), 1).expect("ticks");
    assert_eq!(ticks[0].status, TickStatus::Failed);
    assert!(ticks[0].run_id.is_some());
    // The next tick is launched all the same.
    h.clock.set(utc(2024, 1, 4, 6, 0));
    assert_eq!(ticks_of(&h.pass(&mut daemon)).len(), 1);
}

#[test]
fn a_second_daemon_on_the_same_catalog_is_refused_until_the_first_stops() {
    let h = Harness::new(
        scheduled_diamond(&Behaviour::ok(5), daily_at_six()),
        utc(2024, 1, 3, 7, 0),
    );
    let first = h.daemon();
    first.lock().expect("first daemon locks");
    let mut second = h.daemon();
    let err = h.runtime.block_on(second.pass(None)).expect_err("refused");
    assert!(err.is_usage());
    assert!(err.to_string().contains("another daemon"), "{err}");
    assert!(err.to_string().contains(first.holder()), "{err}");
    first.unlock();
    assert_eq!(ticks_of(&h.pass(&mut second)).len(), 1);
}

#[test]
fn ticks_follow_the_partitions_time_zone_across_a_dst_change() {
    let paris = || {
        PartitionsDef::daily("2024-03-25")
            .and_then(|p| p.with_timezone("Europe/Paris"))
            .expect("daily in Paris")
    };
    let assets = vec![
        fixtures::asset("events", &[], paris(), &Behaviour::ok(3))
            .with_schedule(daily_at_six().with_catchup(5).expect("bounded")),
    ];
    // Paris springs forward on 2024-03-31: 06:00 local is 05:00 UTC before,
    // 04:00 UTC after.
    let h = Harness::new(assets, utc(2024, 3, 29, 12, 0));
    let mut daemon = h.daemon();
    h.pass(&mut daemon);
    h.clock.set(utc(2024, 4, 1, 12, 0));
    assert_eq!(
        ticks_of(&h.pass(&mut daemon)),
        [
            ("events".into(), utc(2024, 3, 30, 5, 0), one("2024-03-29")),
            ("events".into(), utc(2024, 3, 31, 4, 0), one("2024-03-30")),
            ("events".into(), utc(2024, 4, 1, 4, 0), one("2024-03-31")),
        ]
    );
}

#[test]
fn eager_automation_follows_new_data_versions_with_early_cutoff() {
    let eager = |behaviour: &Behaviour| -> Vec<AssetDef> {
        fixtures::diamond(behaviour)
            .into_iter()
            .map(|def| match def.key.as_str() {
                "right" => def.with_automation(Automation::Eager),
                _ => def,
            })
            .collect()
    };
    let h = Harness::new(eager(&Behaviour::ok(5)), utc(2024, 1, 3, 7, 0));
    let mut daemon = h.daemon();
    // The first pass reads where the event log is: history triggers nothing.
    assert!(h.pass(&mut daemon).outcomes.is_empty());
    h.pipeline
        .materialize("source", Some("2024-01-01"))
        .expect("source runs");
    let pass = h.pass(&mut daemon);
    assert_eq!(pass.outcomes.len(), 1, "{:?}", pass.outcomes);
    assert_eq!(pass.outcomes[0].launch.asset, "right");
    assert_eq!(pass.outcomes[0].launch.partitions, one("2024-01-01"));
    assert_eq!(pass.outcomes[0].status, LaunchStatus::Succeeded);
    assert!(h.materialized("right", Some("2024-01-01")));
    // Only `right` is eager: `joined` did not run.
    assert!(!h.materialized("joined", Some("2024-01-01")));
    // A forced rerun with identical data changes nothing downstream.
    h.pipeline
        .run(asset_core::materialize::MaterializeOptions {
            selection: asset_core::graph::Selection::parse("source").expect("selection"),
            partition: Some("2024-01-01".into()),
            force: true,
            ..Default::default()
        })
        .expect("forced rerun");
    assert!(h.pass(&mut daemon).outcomes.is_empty());
    // New data (more rows) upstream: `right` runs again.
    let changed = TestPipeline::from_assets(eager(&Behaviour::ok(6))).expect("pipeline");
    let changed = asset_core::materialize::Materializer::new(
        changed.materializer().graph().clone(),
        h.pipeline.materializer().io_managers().clone(),
    )
    .with_catalog(
        h.pipeline
            .materializer()
            .catalog()
            .expect("catalog")
            .clone(),
    );
    h.runtime
        .block_on(changed.run(&asset_core::materialize::MaterializeOptions {
            selection: asset_core::graph::Selection::parse("source").expect("selection"),
            partition: Some("2024-01-01".into()),
            force: true,
            ..Default::default()
        }))
        .expect("changed source runs");
    let pass = h.pass(&mut daemon);
    assert_eq!(pass.outcomes.len(), 1, "{:?}", pass.outcomes);
    assert!(matches!(
        &pass.outcomes[0].launch.trigger,
        Trigger::Eager { upstream, partition } if upstream == "source" && partition.as_deref() == Some("2024-01-01")
    ));
}

#[test]
fn on_missing_fills_partitions_whose_upstream_exists() {
    let assets: Vec<AssetDef> = fixtures::diamond(&Behaviour::ok(5))
        .into_iter()
        .map(|def| match def.key.as_str() {
            "right" => def.with_automation(Automation::OnMissing),
            _ => def,
        })
        .collect();
    let h = Harness::new(assets, utc(2024, 1, 4, 1, 0));
    for day in ["2024-01-01", "2024-01-02"] {
        h.pipeline.materialize("source", Some(day)).expect("source");
    }
    let mut daemon = h.daemon();
    let pass = h.pass(&mut daemon);
    // 2024-01-03 is complete but its source is missing: not yet.
    let launched: Vec<&PartitionSelection> =
        pass.outcomes.iter().map(|o| &o.launch.partitions).collect();
    assert_eq!(
        launched,
        [&PartitionSelection::Range {
            from: "2024-01-01".into(),
            to: "2024-01-02".into()
        }]
    );
    assert!(h.materialized("right", Some("2024-01-02")));
    assert!(h.pass(&mut daemon).outcomes.is_empty());
    h.pipeline
        .materialize("source", Some("2024-01-03"))
        .expect("source");
    let pass = h.pass(&mut daemon);
    assert_eq!(pass.outcomes.len(), 1);
    assert_eq!(pass.outcomes[0].launch.partitions, one("2024-01-03"));
}

// The command line, as real processes.

fn fixture(root: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"));
    cmd.arg("--root")
        .arg(root)
        .env("FIXTURE_ROWS", "5")
        .env("FIXTURE_SCHEDULE", "joined=0 6 * * *")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("fixture runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn daemon_once_at_a_given_time_runs_the_due_tick_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let once = || {
        let mut cmd = fixture(dir.path());
        cmd.args(["daemon", "--once", "--now", "2024-01-03T07:00:00Z"]);
        output(&mut cmd)
    };
    let (code, stdout, stderr) = once();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("joined  2024-01-02  schedule tick 2024-01-03T06:00:00Z  succeeded"),
        "{stdout}"
    );
    let (code, stdout, _) = once();
    assert_eq!(code, 0);
    assert!(stdout.contains("nothing due"), "{stdout}");
}

#[test]
fn daemon_refuses_bad_times_and_intervals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) =
        output(fixture(dir.path()).args(["daemon", "--once", "--now", "tomorrow"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--now \"tomorrow\" is not a time"),
        "{stderr}"
    );
    let (code, _, stderr) = output(fixture(dir.path()).args(["daemon", "--interval", "often"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--interval \"often\" is not a duration"),
        "{stderr}"
    );
    // --now only makes sense for one pass.
    let (code, _, _) = output(fixture(dir.path()).args(["daemon", "--now", "2024-01-03T07:00"]));
    assert_eq!(code, 2);
}

#[test]
fn schedules_lists_next_ticks_in_local_time_and_utc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = output(fixture(dir.path()).args([
        "schedules",
        "--now",
        "2024-01-03T07:00:00Z",
        "--next",
        "2",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("next tick (local)"), "{stdout}");
    assert!(
        stdout.contains("joined  0 6 * * *  UTC        off       -          2024-01-04 06:00 UTC  2024-01-04 06:00 UTC"),
        "{stdout}"
    );
    assert!(stdout.contains("2024-01-05 06:00 UTC"), "{stdout}");
}

#[test]
fn two_daemons_as_two_processes_one_runs_and_sigterm_stops_it_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = fixture(dir.path())
        .args(["daemon", "--interval", "50ms"])
        .spawn()
        .expect("first daemon starts");
    // Wait (bounded) until the first daemon holds the lock.
    let store = UnattendedStore::open(dir.path().join("_catalog.sqlite")).expect("store");
    let started = Instant::now();
    while store.daemon_lock_holder().expect("lock query").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first daemon never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, _, stderr) = output(fixture(dir.path()).args(["daemon", "--once"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("another daemon"), "{stderr}");
    let status = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = first.wait_with_output().expect("first daemon exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    // Its lock is released: a pass runs now.
    let (code, _, stderr) = output(fixture(dir.path()).args(["daemon", "--once"]));
    assert_eq!(code, 0, "{stderr}");
}

// ---- SLAs: deadlines checked on every pass ----

/// The diamond with `other` (daily, no upstream) under a 6h SLA at P1.
fn diamond_with_sla() -> Vec<AssetDef> {
    fixtures::diamond(&Behaviour::ok(5))
        .into_iter()
        .map(|def| {
            if def.key == "other" {
                def.with_sla(Duration::from_secs(6 * 3600))
                    .with_severity(Severity::P1)
            } else {
                def
            }
        })
        .collect()
}

/// Records that `other`'s `partition` was materialized and took `took`
/// (its typical duration, for the at-risk estimate), without running it.
fn record_past_run(h: &Harness, partition: &str, finished: DateTime<Utc>, took: TimeDelta) {
    let catalog = h.pipeline.materializer().catalog().expect("catalog");
    catalog
        .record_materialization(&MaterializationRecord {
            asset: "other".into(),
            partition: Some(partition.into()),
            run_id: "past".into(),
            code_version: "old".into(),
            data_version: "00".into(),
            inputs: Vec::new(),
            uri: "file:///nowhere".into(),
            rows: 1,
            bytes: 1,
            started_at: (finished - took).to_rfc3339(),
            finished_at: finished.to_rfc3339(),
            framework_version: "0".into(),
            config_hash: None,
            git_commit: "unknown".into(),
            schema: None,
            tag: None,
            promoted_from: None,
        })
        .expect("record");
    catalog.flush().expect("flush");
}

fn causes(pass: &PassReport) -> Vec<(AlertKind, Cause, Option<String>)> {
    pass.sla_alerts
        .iter()
        .map(|a| (a.kind, a.cause, a.partition.clone()))
        .collect()
}

#[test]
fn an_sla_goes_on_time_at_risk_breached_and_recovers_with_one_alert_each() {
    let h = Harness::new(diamond_with_sla(), utc(2024, 1, 3, 3, 0));
    // The 1st was done (it took two hours); the 2nd is due on the 3rd at 06:00.
    record_past_run(&h, "2024-01-01", utc(2024, 1, 2, 2, 0), TimeDelta::hours(2));
    let mut daemon = h.daemon();
    assert_eq!(daemon.sla_assets(), 1);

    // 03:00: three hours left, it takes two: on time, nothing sent.
    let pass = h.pass(&mut daemon);
    assert!(pass.sla_alerts.is_empty(), "{:?}", pass.sla_alerts);

    // 05:00: one hour left: at risk.
    h.clock.set(utc(2024, 1, 3, 5, 0));
    let pass = h.pass(&mut daemon);
    assert_eq!(
        causes(&pass),
        vec![(
            AlertKind::Firing,
            Cause::SlaAtRisk,
            Some("2024-01-02".into())
        )]
    );
    let alert = &pass.sla_alerts[0];
    assert_eq!(alert.asset, "other");
    assert_eq!(alert.severity, Severity::P1);
    assert_eq!(alert.run_id, None, "no run raised it");
    assert!(
        alert.why.contains("due 2024-01-03T06:00:00Z") && alert.why.contains("1h left"),
        "{}",
        alert.why
    );
    // Still at risk, and after a restart: nothing new.
    h.clock.set(utc(2024, 1, 3, 5, 30));
    assert!(h.pass(&mut daemon).sla_alerts.is_empty());
    daemon.unlock();
    let mut daemon = h.daemon();
    assert!(h.pass(&mut daemon).sla_alerts.is_empty(), "restart repeats");

    // 06:30: breached; the at-risk alert is superseded without a notice.
    h.clock.set(utc(2024, 1, 3, 6, 30));
    let pass = h.pass(&mut daemon);
    assert_eq!(
        causes(&pass),
        vec![(
            AlertKind::Firing,
            Cause::SlaBreached,
            Some("2024-01-02".into())
        )]
    );
    assert!(
        pass.sla_alerts[0]
            .why
            .contains("not materialized by its deadline"),
        "{}",
        pass.sla_alerts[0].why
    );
    let open: Vec<String> = h
        .store()
        .open_alerts()
        .expect("open")
        .into_iter()
        .map(|a| a.cause)
        .collect();
    assert_eq!(open, vec!["sla_breached".to_owned()]);
    h.clock.set(utc(2024, 1, 3, 7, 0));
    assert!(h.pass(&mut daemon).sla_alerts.is_empty(), "deduplicated");

    // Materialized (late): one recovery notice, then quiet.
    let report = h
        .pipeline
        .materialize("other", Some("2024-01-02"))
        .expect("run");
    assert!(report.succeeded());
    h.clock.set(utc(2024, 1, 3, 7, 30));
    let pass = h.pass(&mut daemon);
    assert_eq!(
        causes(&pass),
        vec![(
            AlertKind::Recovered,
            Cause::SlaBreached,
            Some("2024-01-02".into())
        )]
    );
    assert!(h.store().open_alerts().expect("open").is_empty());
    assert!(h.pass(&mut daemon).sla_alerts.is_empty());
}

#[test]
fn sla_deadlines_older_than_the_look_back_are_not_alerted() {
    // Nothing was ever materialized, a year of partitions exists: only the
    // last week's passed deadlines alert (one each), not 365.
    let h = Harness::new(diamond_with_sla(), utc(2024, 12, 31, 12, 0));
    let mut daemon = h.daemon();
    let pass = h.pass(&mut daemon);
    let partitions: Vec<String> = pass
        .sla_alerts
        .iter()
        .filter(|a| a.cause == Cause::SlaBreached)
        .filter_map(|a| a.partition.clone())
        .collect();
    assert_eq!(partitions.first().map(String::as_str), Some("2024-12-24"));
    assert_eq!(partitions.last().map(String::as_str), Some("2024-12-30"));
    assert_eq!(partitions.len(), 7, "{partitions:?}");
}

#[test]
fn status_shows_each_sla_assets_freshness_at_a_given_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sla = |cmd: &mut Command| {
        cmd.env("FIXTURE_SLA", "other=6h");
    };
    // The 1st, taking a little over a second.
    let mut run = fixture(dir.path());
    sla(&mut run);
    run.env("FIXTURE_SLEEP_MS", "1200").args([
        "materialize",
        "--select",
        "other",
        "--partition",
        "2024-01-01",
    ]);
    let (code, stdout, stderr) = output(&mut run);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let status = |now: &str| {
        let mut cmd = fixture(dir.path());
        sla(&mut cmd);
        cmd.args(["status", "--now", now]);
        let (code, stdout, stderr) = output(&mut cmd);
        assert_eq!(code, 0, "{stderr}");
        let header = stdout.lines().next().unwrap_or_default().to_owned();
        assert!(
            header.contains("sla") && header.contains("deadline") && header.contains("left"),
            "{stdout}"
        );
        let row = |asset: &str| {
            stdout
                .lines()
                .find(|l| l.starts_with(&format!("{asset} ")))
                .map(|l| {
                    l.split("  ")
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .unwrap_or_default()
        };
        (row("other"), row("source"))
    };
    // The 2nd day's deadline is the 3rd at 06:00.
    let (other, source) = status("2024-01-02T01:00");
    assert!(
        other.contains("|on time|2024-01-03 06:00 UTC|1d 5h"),
        "{other}"
    );
    assert!(source.contains("|0|-|-|-"), "no SLA: {source}");
    // One second left; it takes more than one: at risk.
    let (other, _) = status("2024-01-03T05:59:59");
    assert!(
        other.contains("|at risk 2024-01-02|2024-01-03 06:00 UTC|under a minute"),
        "{other}"
    );
    let (other, _) = status("2024-01-03T07:00");
    assert!(
        other.contains("|breached 2024-01-02|2024-01-03 06:00 UTC|1h ago"),
        "{other}"
    );
    let (code, _, stderr) = output(fixture(dir.path()).args(["status", "--now", "tomorrow"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--now \"tomorrow\" is not a time"),
        "{stderr}"
    );
}

#[test]
fn schedules_reads_without_writing() {
    // A root that does not exist stays so.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("new");
    let (code, stdout, stderr) = output(fixture(&root).args(["schedules"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("joined"), "{stdout}");
    assert!(!root.exists(), "schedules created the root");

    // Over a root the daemon wrote: every file unchanged, the tick shown.
    let (code, _, stderr) =
        output(fixture(dir.path()).args(["daemon", "--once", "--now", "2024-01-03T07:00:00Z"]));
    assert_eq!(code, 0, "{stderr}");
    let before = listing(dir.path());
    let (code, stdout, stderr) = output(fixture(dir.path()).args(["schedules"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("2024-01-03T06:00:00Z"),
        "the last tick: {stdout}"
    );
    assert_eq!(listing(dir.path()), before, "schedules changed the root");

    // On a read-only root (where permissions apply: root ignores them).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(dir.path(), mode(0o555)).expect("chmod");
        let (code, stdout, stderr) = output(fixture(dir.path()).args(["schedules"]));
        std::fs::set_permissions(dir.path(), mode(0o755)).expect("chmod");
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("2024-01-03T06:00:00Z"), "{stdout}");
    }
}

/// Every file under `dir` with its size and modification time.
fn listing(dir: &Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((entry.path(), meta.len(), meta.modified().expect("mtime")));
            }
        }
    }
    out.sort();
    out
}
