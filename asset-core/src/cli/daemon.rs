//! `schedules` and `daemon`.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::catalog::{UnattendedStore, instant_text};
use crate::cli::args::{DaemonArgs, SchedulesArgs};
use crate::cli::output::out;
use crate::cli::table::render;
use crate::cli::{EXIT_FAILED, EXIT_INTERRUPTED};
use crate::daemon::{
    Clock, Daemon, LaunchStatus, ManualClock, PassReport, SystemClock, schedule_timezone,
};
use crate::error::Error;
use crate::graph::AssetGraph;
use crate::materialize::{Materializer, PartitionSelection};

/// `daemon`'s options, checked before anything opens.
pub(super) struct Settings {
    once: bool,
    now: Option<DateTime<Utc>>,
    interval: Duration,
    jobs: Option<usize>,
}

/// Checks `daemon`'s arguments.
pub(super) fn settings(args: &DaemonArgs) -> Result<Settings, Error> {
    let interval = crate::retry::parse_duration(&args.interval)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--interval {:?} is not a duration (expected a whole number and a unit: \"500ms\", \"1s\", \"1m\")",
                args.interval
            ))
        })?;
    Ok(Settings {
        once: args.once,
        now: args
            .now
            .as_deref()
            .map(|t| parse_time("--now", t))
            .transpose()?,
        interval,
        jobs: args.jobs.map(usize::from),
    })
}

/// A time given on the command line: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS]`
/// (or with a space) read as UTC.
pub(super) fn parse_time(flag: &str, text: &str) -> Result<DateTime<Utc>, Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            Error::Usage(format!(
                "{flag} {text:?} is not a time (expected RFC 3339, e.g. 2024-01-02T06:00:00Z, or 2024-01-02T06:00 in UTC)"
            ))
        })
}

/// `daemon`: one pass (`--once`) or passes until Ctrl-C / SIGTERM.
pub(super) fn run(
    materializer: Materializer,
    catalog: &Path,
    settings: Settings,
    deliverer: crate::alert::Deliverer,
) -> Result<ExitCode, Error> {
    let store =
        Arc::new(UnattendedStore::open(catalog).map_err(|e| Error::Catalog(e.to_string()))?);
    let clock: Arc<dyn Clock> = match settings.now {
        Some(now) => Arc::new(ManualClock::at(now)),
        None => Arc::new(SystemClock),
    };
    let mut daemon = Daemon::new(materializer, store, clock).with_alerts(deliverer);
    if let Some(jobs) = settings.jobs {
        daemon = daemon.with_jobs(jobs);
    }
    // Refuse a second daemon before starting a runtime.
    daemon.lock()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            settings
                .jobs
                .unwrap_or_else(num_cpus::get)
                .clamp(1, num_cpus::get().max(1)),
        )
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let cancel = Arc::new(AtomicBool::new(false));
    let outcome = runtime.block_on(async {
        let flag = cancel.clone();
        tokio::spawn(async move {
            wait_for_shutdown_signal().await;
            flag.store(true, Ordering::Relaxed);
            tracing::warn!(
                "stopping: the running steps finish and are recorded, nothing new starts (Ctrl-C again to stop at once)"
            );
            wait_for_shutdown_signal().await;
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        });
        if settings.once {
            let pass = daemon.pass(Some(&cancel)).await;
            daemon.unlock();
            let pass = pass?;
            out!("{}", pass_table(&pass));
            let failed = pass.outcomes.iter().any(|o| o.status == LaunchStatus::Failed);
            Ok(if failed {
                ExitCode::from(EXIT_FAILED)
            } else {
                ExitCode::SUCCESS
            })
        } else {
            daemon.run_until(settings.interval, cancel.clone()).await?;
            Ok(ExitCode::SUCCESS)
        }
    });
    let undelivered = daemon.finish_alerts();
    if !undelivered.is_empty() {
        tracing::warn!(
            "{} alert deliveries failed (see the `alert undelivered` lines above)",
            undelivered.len()
        );
    }
    outcome
}

/// Ctrl-C, or SIGTERM on Unix (what systemd and Kubernetes send).
async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What a `--once` pass did, one row per launch.
fn pass_table(pass: &PassReport) -> String {
    let mut sla = String::new();
    for alert in &pass.sla_alerts {
        sla.push_str(&alert.summary());
        sla.push('\n');
    }
    if pass.outcomes.is_empty() {
        return format!("{}: nothing due\n{sla}", instant_text(pass.at));
    }
    let mut rows = vec![
        [
            "asset",
            "partitions",
            "trigger",
            "outcome",
            "run",
            "message",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for o in &pass.outcomes {
        rows.push(vec![
            o.launch.asset.clone(),
            selection_text(&o.launch.partitions),
            o.launch.trigger.to_string(),
            match o.status {
                LaunchStatus::Succeeded => "succeeded",
                LaunchStatus::Failed => "failed",
                LaunchStatus::Skipped => "skipped",
                LaunchStatus::AlreadyTaken => "already taken",
                LaunchStatus::Cancelled => "cancelled",
            }
            .into(),
            o.report
                .as_ref()
                .map_or_else(|| "-".into(), |r| r.run_id.clone()),
            o.message.clone().unwrap_or_default(),
        ]);
    }
    format!(
        "{}: {} launches\n{}{sla}",
        instant_text(pass.at),
        pass.outcomes.len(),
        render(&rows)
    )
}

fn selection_text(partitions: &PartitionSelection) -> String {
    match partitions {
        PartitionSelection::None => "-".into(),
        PartitionSelection::One(key) => key.clone(),
        PartitionSelection::Range { from, to } => format!("{from}..{to}"),
    }
}

/// `schedules`: each schedule with its last and next ticks; then the
/// assets under automation.
pub(super) fn schedules(
    graph: &AssetGraph,
    catalog_path: Option<&Path>,
    args: &SchedulesArgs,
) -> Result<ExitCode, Error> {
    let now = args
        .now
        .as_deref()
        .map(|t| parse_time("--now", t))
        .transpose()?
        .unwrap_or_else(Utc::now);
    // Read-only, like every inspection command; without a catalog yet, no
    // tick was ever taken (and none is created).
    let last: std::collections::HashMap<String, DateTime<Utc>> = match catalog_path {
        Some(path) => UnattendedStore::open_read_only(path)
            .and_then(|store| store.last_ticks())
            .map_err(|e| Error::Catalog(e.to_string()))?
            .into_iter()
            .collect(),
        None => Default::default(),
    };
    let mut rows = vec![
        [
            "asset",
            "schedule",
            "time zone",
            "catch-up",
            "last tick",
            "next tick (local)",
            "next tick (UTC)",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut automated = vec![["asset", "automation"].map(String::from).to_vec()];
    for def in graph.registry().assets() {
        if let Some(automation) = def.unattended.automation {
            automated.push(vec![def.key.clone(), automation.to_string()]);
        }
        let Some(schedule) = &def.unattended.schedule else {
            continue;
        };
        let tz = schedule_timezone(&def.partitions);
        let mut at = now;
        for n in 0..args.next {
            let next = schedule.cron.next_after(at, tz);
            let (local, utc) = match next {
                Some(t) => (
                    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
                    t.format("%Y-%m-%d %H:%M UTC").to_string(),
                ),
                None => ("never".into(), "never".into()),
            };
            rows.push(if n == 0 {
                vec![
                    def.key.clone(),
                    schedule.cron.to_string(),
                    tz.name().to_owned(),
                    if schedule.catchup {
                        format!("up to {}", schedule.max_catchup)
                    } else {
                        "off".into()
                    },
                    last.get(&def.key)
                        .map_or_else(|| "-".into(), |t| instant_text(*t)),
                    local,
                    utc,
                ]
            } else {
                vec![String::new(); 5]
                    .into_iter()
                    .chain([local, utc])
                    .collect()
            });
            match next {
                Some(t) => at = t,
                None => break,
            }
        }
    }
    let schedules = rows.len() - 1;
    let mut out = if schedules == 0 {
        "no schedules (add `schedule = \"0 6 * * *\"` to an #[asset])\n".to_owned()
    } else {
        render(&rows)
    };
    if automated.len() > 1 {
        out.push('\n');
        out.push_str(&render(&automated));
    }
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_utc_wall_time() {
        let t = parse_time("--now", "2024-01-02T06:00").expect("parses");
        assert_eq!(instant_text(t), "2024-01-02T06:00:00Z");
        let t = parse_time("--now", "2024-01-02T07:00:00+01:00").expect("parses");
        assert_eq!(instant_text(t), "2024-01-02T06:00:00Z");
        let err = parse_time("--now", "tomorrow").expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("--now \"tomorrow\" is not a time"),
            "{err}"
        );
        assert!(err.is_usage());
    }
}
