//! The daemon: one pass over 1,000 daily assets of 365 partitions each,
//! every one scheduled, eager on up to nine upstreams (10,000 schedules
//! and eager conditions) and under a 6h SLA (a week of deadlines each, all
//! breached: the worst case), and the latency from a due tick to its first
//! step.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asset_core::asset::definition::StepInput;
use asset_core::catalog::{SqliteCatalog, UnattendedStore};
use asset_core::chrono::{DateTime, TimeZone, Utc};
use asset_core::daemon::{Daemon, ManualClock};
use asset_core::graph::AssetGraph;
use asset_core::io::{Payload, StorageRoot, TableData};
use asset_core::materialize::{IoManagers, Materializer};
use asset_core::{AssetDef, Automation, PartitionsDef, Registry, Schedule};

use crate::measure::{median, ms, peak_rss_mib};

const ASSETS: usize = 1_000;
const UPSTREAMS: usize = 9;

fn at(y: i32, m: u32, d: u32, h: u32) -> Result<DateTime<Utc>, String> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .ok_or_else(|| "bad time".to_owned())
}

fn big_graph() -> Result<Vec<AssetDef>, String> {
    let partitions = PartitionsDef::daily("2023-01-01")
        .and_then(|p| p.with_end("2024-01-01"))
        .map_err(|e| e.to_string())?;
    let schedule = Schedule::cron("0 6 * * *").map_err(|e| e.to_string())?;
    let mut defs = Vec::with_capacity(ASSETS);
    for i in 0..ASSETS {
        let mut def = AssetDef::new(format!("a{i:04}"), |_input: StepInput| {
            Box::pin(async { Ok(Payload::Nothing) })
        })
        .with_partitions(partitions.clone())
        .with_schedule(schedule.clone())
        .with_automation(Automation::Eager)
        .with_sla(Duration::from_secs(6 * 3600));
        for u in i.saturating_sub(UPSTREAMS)..i {
            def = def.with_dependency(format!("a{u:04}"));
        }
        defs.push(def);
    }
    Ok(defs)
}

fn materializer(dir: &std::path::Path, defs: Vec<AssetDef>) -> Result<Materializer, String> {
    let root = StorageRoot::parse(&dir.to_string_lossy()).map_err(|e| e.to_string())?;
    let catalog = SqliteCatalog::open(dir.join("_catalog.sqlite")).map_err(|e| e.to_string())?;
    let graph = AssetGraph::build(Registry::from_defs(defs).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    Ok(Materializer::new(graph, IoManagers::defaults(&root)).with_catalog(Arc::new(catalog)))
}

/// Prints the figures.
pub fn run() -> Result<(), String> {
    println!("== daemon: one pass over {ASSETS} daily assets x 365 partitions ==");
    let mut cold = Vec::new();
    let mut due = Vec::new();
    let mut idle = Vec::new();
    let mut sla_only = Vec::new();
    let mut conditions = 0;
    let mut sla_assets = 0;
    let mut alerts = 0;
    for _ in 0..5 {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let m = materializer(dir.path(), big_graph()?)?;
        let store = Arc::new(
            UnattendedStore::open(dir.path().join("_catalog.sqlite")).map_err(|e| e.to_string())?,
        );
        let clock = Arc::new(ManualClock::at(at(2024, 1, 2, 5)?));
        let mut daemon = Daemon::new(m, store, clock.clone());
        conditions = daemon.conditions();
        sla_assets = daemon.sla_assets();
        // A pass decides (schedules, automation) and checks the deadlines.
        let pass = |daemon: &mut Daemon| -> Result<(usize, usize), String> {
            let decisions = daemon.evaluate().map_err(|e| e.to_string())?;
            let alerts = daemon.check_deadlines().map_err(|e| e.to_string())?;
            Ok((decisions.launches.len(), alerts.len()))
        };
        let t = Instant::now();
        let (_, opened) = pass(&mut daemon)?;
        cold.push(t.elapsed());
        alerts = opened;
        // Every schedule is due: 1,000 ticks decided (not run).
        clock.set(at(2024, 1, 2, 7)?);
        let t = Instant::now();
        let (launches, _) = pass(&mut daemon)?;
        due.push(t.elapsed());
        if launches != ASSETS {
            return Err(format!("expected {ASSETS} ticks, got {launches}"));
        }
        // The steady state: nothing due, no new materializations, every
        // breach already open.
        let t = Instant::now();
        let (_, again) = pass(&mut daemon)?;
        idle.push(t.elapsed());
        if again != 0 {
            return Err(format!("{again} SLA alerts sent twice"));
        }
        let t = Instant::now();
        daemon.check_deadlines().map_err(|e| e.to_string())?;
        sla_only.push(t.elapsed());
    }
    println!(
        "conditions evaluated per pass: {conditions} (schedules + eager edges), SLA deadlines of {sla_assets} assets"
    );
    println!(
        "first pass (loads ticks, cursor, catalog; opens {alerts} SLA alerts): {}",
        ms(median(&mut cold))
    );
    println!(
        "pass with all {ASSETS} schedules due: {}",
        ms(median(&mut due))
    );
    println!("pass with nothing due: {}", ms(median(&mut idle)));
    println!("  of which the SLA check: {}", ms(median(&mut sla_only)));
    println!("peak RSS: {:.1} MiB", peak_rss_mib());
    tick_latency()
}

/// From the start of a pass with one due tick to its step's function
/// starting (lock, evaluation, taking the tick, planning, launching).
fn tick_latency() -> Result<(), String> {
    let mut samples = Vec::new();
    for _ in 0..7 {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let started: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let seen = started.clone();
        let def = AssetDef::new("report", move |_input: StepInput| {
            let seen = seen.clone();
            Box::pin(async move {
                if let Ok(mut s) = seen.lock() {
                    s.get_or_insert_with(Instant::now);
                }
                Ok(Payload::Table(TableData::from(crate::graphs::table(1, 0)?)))
            })
        })
        .with_partitions(PartitionsDef::daily("2024-01-01").map_err(|e| e.to_string())?)
        .with_schedule(Schedule::cron("0 6 * * *").map_err(|e| e.to_string())?);
        let m = materializer(dir.path(), vec![def])?;
        let store = Arc::new(
            UnattendedStore::open(dir.path().join("_catalog.sqlite")).map_err(|e| e.to_string())?,
        );
        let clock = Arc::new(ManualClock::at(at(2024, 1, 3, 7)?));
        let mut daemon = Daemon::new(m, store, clock).with_jobs(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        runtime
            .block_on(daemon.pass(None))
            .map_err(|e| e.to_string())?;
        let first_step = started
            .lock()
            .map_err(|_| "poisoned".to_owned())?
            .ok_or_else(|| "the step never started".to_owned())?;
        samples.push(first_step.duration_since(t));
    }
    println!(
        "tick to first step (median of 7): {}",
        ms(median(&mut samples))
    );
    Ok(())
}
