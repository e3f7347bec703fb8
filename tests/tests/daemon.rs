//! Schedules and automation end to end: daemon passes driven by a manual
//! clock (never by sleeping) over fixture graphs in temp dirs, and the
//! `daemon` / `schedules` commands as real processes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use asset_core::catalog::{TickStatus, UnattendedStore};
use asset_core::daemon::{Daemon, LaunchStatus, ManualClock, PassReport, Trigger};
use asset_core::materialize::PartitionSelection;
use asset_core::testing::TestPipeline;
use asset_core::{AssetDef, Automation, PartitionsDef, Schedule};
use chrono::{DateTime, TimeZone, Utc};
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
