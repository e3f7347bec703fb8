//! Getting alerts to their sinks without stopping or slowing a run.
//!
//! A [`Deliverer`] owns one background thread fed through a bounded queue:
//! [`Deliverer::send`] never blocks (a full queue drops the alert and logs
//! it as undelivered), and a slow webhook or a hanging command holds up
//! only that thread. At the end of a command, [`Deliverer::finish`] waits a
//! bounded time for the queue to drain and logs whatever could not be
//! delivered, with the reason, as `alert undelivered ...`.

use std::io::{Read as _, Seek as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::alert::routing::BodyFormat;
use crate::alert::{Alert, AlertKind, AlertRoutes, Severity, Sink};

/// How many alerts may wait for delivery before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 1024;
/// The first pause between two attempts of a webhook; it doubles after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest pause between two attempts of a webhook.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The longest [`Deliverer::finish`] waits, whatever the sinks' timeouts.
pub const MAX_FINISH_WAIT: Duration = Duration::from_secs(60);

/// An alert one sink did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// The alert's one-line summary.
    pub alert: String,
    /// The sink (`webhook http://...`, `command /bin/page`).
    pub sink: String,
    /// Why (`HTTP 500`, `timed out after 2s`, `exited with status 3`).
    pub reason: String,
}

impl Undelivered {
    fn log(&self) {
        tracing::error!(
            "alert undelivered to {}: {} ({})",
            self.sink,
            self.reason,
            self.alert
        );
    }
}

/// Delivers alerts on a background thread.
pub struct Deliverer {
    sender: Option<SyncSender<Alert>>,
    done: Receiver<()>,
    worker: Option<JoinHandle<()>>,
    undelivered: Arc<Mutex<Vec<Undelivered>>>,
    /// Set when the command ends and the wait is over: the worker stops
    /// retrying and reports what is left.
    abandon: Arc<AtomicBool>,
    longest_delivery: Duration,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").finish_non_exhaustive()
    }
}

impl Deliverer {
    /// Starts the delivery thread for `routes`.
    pub fn start(routes: AlertRoutes) -> Self {
        let (sender, queue) = mpsc::sync_channel::<Alert>(QUEUE_CAPACITY);
        let (done_tx, done) = mpsc::channel();
        let undelivered = Arc::new(Mutex::new(Vec::new()));
        let abandon = Arc::new(AtomicBool::new(false));
        let longest_delivery = Severity::ALL
            .iter()
            .flat_map(|s| routes.sinks(*s))
            .map(worst_case)
            .max()
            .unwrap_or_default();
        let worker = {
            let undelivered = undelivered.clone();
            let abandon = abandon.clone();
            std::thread::Builder::new()
                .name("alert-delivery".into())
                .spawn(move || {
                    for alert in queue {
                        for sink in routes.sinks(alert.severity) {
                            let result = if abandon.load(Ordering::Relaxed) {
                                Err("the command ended before it could be delivered".into())
                            } else {
                                deliver(sink, &alert, &abandon)
                            };
                            if let Err(reason) = result {
                                let failure = Undelivered {
                                    alert: alert.summary(),
                                    sink: sink.to_string(),
                                    reason,
                                };
                                failure.log();
                                if let Ok(mut list) = undelivered.lock() {
                                    list.push(failure);
                                }
                            }
                        }
                    }
                    let _ = done_tx.send(());
                })
                .ok()
        };
        if worker.is_none() {
            tracing::error!("cannot start the alert delivery thread: alerts go to the log only");
        }
        Self {
            sender: worker.as_ref().map(|_| sender),
            done,
            worker,
            undelivered,
            abandon,
            longest_delivery,
        }
    }

    /// Queues `alert` for its sinks; never blocks.
    pub fn send(&self, alert: Alert) {
        let Some(sender) = &self.sender else {
            log_line(&alert);
            return;
        };
        match sender.try_send(alert) {
            Ok(()) => {}
            Err(TrySendError::Full(alert) | TrySendError::Disconnected(alert)) => {
                let failure = Undelivered {
                    alert: alert.summary(),
                    sink: "every sink".into(),
                    reason: format!("the delivery queue is full ({QUEUE_CAPACITY} alerts)"),
                };
                failure.log();
                if let Ok(mut list) = self.undelivered.lock() {
                    list.push(failure);
                }
            }
        }
    }

    /// How long [`Deliverer::finish`] waits by default: the slowest sink's
    /// timeouts and backoffs, at most [`MAX_FINISH_WAIT`].
    pub fn default_wait(&self) -> Duration {
        (self.longest_delivery + Duration::from_secs(1)).min(MAX_FINISH_WAIT)
    }

    /// Waits up to `wait` for the queued alerts to be delivered, then gives
    /// up on the rest; returns every undelivered alert (each already logged).
    pub fn finish(mut self, wait: Duration) -> Vec<Undelivered> {
        drop(self.sender.take());
        if self.worker.is_some() && self.done.recv_timeout(wait).is_err() {
            // Still busy: stop retrying and let the worker report the rest
            // quickly (one attempt in flight is bounded by its timeout).
            self.abandon.store(true, Ordering::Relaxed);
            let _ = self.done.recv_timeout(self.longest_delivery);
        }
        if let Some(worker) = self.worker.take()
            && worker.is_finished()
        {
            let _ = worker.join();
        }
        self.undelivered
            .lock()
            .map(|list| list.clone())
            .unwrap_or_default()
    }
}

/// The longest one alert can take on `sink`: every attempt timing out, and
/// the pauses between them.
fn worst_case(sink: &Sink) -> Duration {
    match sink {
        Sink::Log => Duration::ZERO,
        Sink::Webhook {
            timeout, retries, ..
        } => worst_post(*timeout, *retries),
        Sink::Command { timeout, .. } => *timeout,
    }
}

/// The pause before retry `n` (0-based).
fn backoff(n: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(n))
        .min(MAX_BACKOFF)
}

/// Delivers `alert` to `sink`, or says why not.
pub fn deliver(sink: &Sink, alert: &Alert, abandon: &AtomicBool) -> Result<(), String> {
    match sink {
        Sink::Log => {
            log_line(alert);
            Ok(())
        }
        Sink::Webhook {
            url,
            format,
            timeout,
            retries,
        } => {
            let body = match format {
                BodyFormat::Json => alert.to_json(),
                BodyFormat::Slack => serde_json::json!({ "text": alert.summary() }).to_string(),
            };
            post_with_retries(url, &body, *timeout, *retries, abandon)
        }
        Sink::Command {
            program,
            args,
            timeout,
        } => run_command(program, args, &alert.to_json(), *timeout),
    }
}

/// POSTs `body` to `url`, trying again `retries` times with a doubling
/// backoff (capped) unless `abandon` is set; says why the last attempt
/// failed. Also used for OpenLineage events.
pub(crate) fn post_with_retries(
    url: &str,
    body: &str,
    timeout: Duration,
    retries: u32,
    abandon: &AtomicBool,
) -> Result<(), String> {
    let mut attempt = 0;
    loop {
        match post(url, body, timeout) {
            Ok(()) => return Ok(()),
            Err(reason) if attempt >= retries || abandon.load(Ordering::Relaxed) => {
                return Err(if attempt > 0 {
                    format!("{reason} (after {} attempts)", attempt + 1)
                } else {
                    reason
                });
            }
            Err(reason) => {
                let pause = backoff(attempt);
                tracing::debug!(
                    "POST {url}: {reason}; retrying in {}",
                    crate::materialize::report::format_duration(pause)
                );
                std::thread::sleep(pause);
                attempt += 1;
            }
        }
    }
}

/// The longest `retries` retries of a POST can take: every attempt timing
/// out, and the pauses between them.
pub(crate) fn worst_post(timeout: Duration, retries: u32) -> Duration {
    let attempts = timeout.saturating_mul(retries.saturating_add(1));
    let pauses = (0..retries)
        .map(backoff)
        .fold(Duration::ZERO, Duration::saturating_add);
    attempts.saturating_add(pauses)
}

/// The log sink: an error line for P0/P1, a warning for P2/P3, info for a
/// recovery.
fn log_line(alert: &Alert) {
    match (alert.kind, alert.severity) {
        (AlertKind::Recovered, _) => tracing::info!("alert: {}", alert.summary()),
        (AlertKind::Firing, Severity::P0 | Severity::P1) => {
            tracing::error!("alert: {}", alert.summary());
        }
        (AlertKind::Firing, _) => tracing::warn!("alert: {}", alert.summary()),
    }
}

/// One POST of `body`; a status outside 2xx is a failure.
fn post(url: &str, body: &str, timeout: Duration) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!(
                "timed out after {}",
                crate::materialize::report::format_duration(timeout)
            ),
            other => other.to_string(),
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// Runs `program args` with `stdin` on its standard input; a non-zero exit,
/// a missing program or a timeout is a failure (the last line of its
/// stderr says why).
fn run_command(
    program: &str,
    args: &[String],
    stdin: &str,
    timeout: Duration,
) -> Result<(), String> {
    // Stderr to a file, not a pipe: a chatty program cannot block on a full
    // pipe while we wait for it.
    let mut stderr = tempfile::tempfile().map_err(|e| format!("cannot capture stderr: {e}"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(
            stderr
                .try_clone()
                .map_err(|e| format!("cannot capture stderr: {e}"))?,
        )
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if let Some(mut pipe) = child.stdin.take() {
        // A program that does not read its stdin is no failure.
        let _ = pipe.write_all(stdin.as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "timed out after {} (killed)",
                    crate::materialize::report::format_duration(timeout)
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for {program}: {e}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut text = String::new();
    let _ = stderr.rewind();
    let _ = stderr.read_to_string(&mut text);
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    Err(match (status.code(), last) {
        (Some(code), Some(line)) => format!("exited with status {code}: {}", line.trim()),
        (Some(code), None) => format!("exited with status {code}"),
        (None, _) => "killed by a signal".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Cause;

    fn alert() -> Alert {
        Alert {
            kind: AlertKind::Firing,
            asset: "a".into(),
            partition: None,
            severity: Severity::P1,
            cause: Cause::RetriesExhausted,
            run_id: Some("r".into()),
            why: "boom".into(),
            at: "2024-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(10), MAX_BACKOFF);
        let webhook = Sink::Webhook {
            url: "http://h/".into(),
            format: BodyFormat::Json,
            timeout: Duration::from_secs(1),
            retries: 2,
        };
        assert_eq!(worst_case(&webhook), Duration::from_millis(3600));
    }

    #[test]
    fn a_missing_command_is_undelivered_with_the_reason() {
        let sink = Sink::Command {
            program: "/nonexistent/page-oncall".into(),
            args: vec![],
            timeout: Duration::from_secs(1),
        };
        let err = deliver(&sink, &alert(), &AtomicBool::new(false)).expect_err("missing");
        assert!(
            err.starts_with("cannot run /nonexistent/page-oncall"),
            "{err}"
        );
    }

    #[test]
    fn a_failing_command_reports_its_status_and_stderr() {
        let sink = Sink::Command {
            program: "sh".into(),
            args: vec!["-c".into(), "cat >/dev/null; echo nope >&2; exit 3".into()],
            timeout: Duration::from_secs(5),
        };
        let err = deliver(&sink, &alert(), &AtomicBool::new(false)).expect_err("exit 3");
        assert_eq!(err, "exited with status 3: nope");
    }

    #[test]
    fn a_hanging_command_is_killed_at_its_timeout() {
        let sink = Sink::Command {
            program: "sleep".into(),
            args: vec!["10".into()],
            timeout: Duration::from_millis(100),
        };
        let err = deliver(&sink, &alert(), &AtomicBool::new(false)).expect_err("timeout");
        assert!(err.starts_with("timed out after"), "{err}");
    }

    #[test]
    fn a_refused_webhook_is_retried_then_undelivered() {
        // A port nothing listens on: bind one and drop it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let sink = Sink::Webhook {
            url: format!("http://127.0.0.1:{port}/hook"),
            format: BodyFormat::Json,
            timeout: Duration::from_secs(1),
            retries: 1,
        };
        let err = deliver(&sink, &alert(), &AtomicBool::new(false)).expect_err("refused");
        assert!(err.ends_with("(after 2 attempts)"), "{err}");
    }

    #[test]
    fn finish_returns_what_could_not_be_delivered() {
        let routes = AlertRoutes::default().with(
            Severity::P1,
            vec![
                Sink::Log,
                Sink::Command {
                    program: "/nonexistent/x".into(),
                    args: vec![],
                    timeout: Duration::from_secs(1),
                },
            ],
        );
        let deliverer = Deliverer::start(routes);
        deliverer.send(alert());
        let wait = deliverer.default_wait();
        let undelivered = deliverer.finish(wait);
        assert_eq!(undelivered.len(), 1, "{undelivered:?}");
        assert_eq!(undelivered[0].sink, "command /nonexistent/x");
    }
}
