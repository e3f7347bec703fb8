//! Getting events to their sinks without failing or slowing a run.
//!
//! One background thread, fed through a bounded queue, writes each event
//! to every sink: [`EventDelivery::send`] never blocks (a full queue counts
//! the event undelivered). A POST that fails is retried with backoff (the
//! alert webhooks' code, `post_with_retries`); once an event exhausted
//! its retries the endpoint counts as down and later events get a single
//! attempt until one gets through, so a dead endpoint cannot make the
//! queue's wait grow with the number of events. [`EventDelivery::finish`]
//! waits a bounded time for the queue to drain and returns, per sink, what
//! was delivered and what was not.

use std::fs::File;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::alert::deliver::{MAX_FINISH_WAIT, post_with_retries, worst_post};
use crate::openlineage::config::EventSink;

/// How many events may wait for delivery before new ones are dropped
/// (a few MB: events are small).
pub const QUEUE_CAPACITY: usize = 10_000;

/// What one sink took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkTally {
    /// The sink (`file lineage/events.jsonl`, `http http://...`).
    pub sink: String,
    /// Events it took.
    pub delivered: u64,
    /// Events it did not take.
    pub undelivered: u64,
    /// Why the last one that failed did (`connection refused (after 4 attempts)`).
    pub last_error: Option<String>,
}

impl SinkTally {
    /// One line for the run summary.
    pub fn summary(&self) -> String {
        match &self.last_error {
            Some(error) if self.undelivered > 0 => format!(
                "OpenLineage: {} events delivered, {} undelivered to {} ({error})",
                self.delivered, self.undelivered, self.sink
            ),
            _ => format!(
                "OpenLineage: {} events delivered to {}",
                self.delivered, self.sink
            ),
        }
    }
}

/// Delivers events on a background thread.
pub struct EventDelivery {
    sender: Option<SyncSender<String>>,
    done: Receiver<()>,
    worker: Option<JoinHandle<()>>,
    tallies: Arc<Mutex<Vec<SinkTally>>>,
    abandon: Arc<AtomicBool>,
    longest_event: Duration,
}

impl std::fmt::Debug for EventDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDelivery").finish_non_exhaustive()
    }
}

impl EventDelivery {
    /// Starts the delivery thread for `sinks`.
    pub fn start(sinks: Vec<EventSink>) -> Self {
        let (sender, queue) = mpsc::sync_channel::<String>(QUEUE_CAPACITY);
        let (done_tx, done) = mpsc::channel();
        let tallies = Arc::new(Mutex::new(
            sinks
                .iter()
                .map(|s| SinkTally {
                    sink: s.to_string(),
                    delivered: 0,
                    undelivered: 0,
                    last_error: None,
                })
                .collect::<Vec<_>>(),
        ));
        let abandon = Arc::new(AtomicBool::new(false));
        let longest_event = sinks
            .iter()
            .map(|sink| match sink {
                EventSink::File { .. } => Duration::from_secs(1),
                EventSink::Http {
                    timeout, retries, ..
                } => worst_post(*timeout, *retries),
            })
            .max()
            .unwrap_or_default();
        let worker = {
            let tallies = tallies.clone();
            let abandon = abandon.clone();
            std::thread::Builder::new()
                .name("openlineage-delivery".into())
                .spawn(move || {
                    let mut outlets: Vec<Outlet> = sinks.into_iter().map(Outlet::new).collect();
                    for event in queue {
                        for (i, outlet) in outlets.iter_mut().enumerate() {
                            let result = if abandon.load(Ordering::Relaxed) {
                                Err("the command ended before it could be delivered".into())
                            } else {
                                outlet.deliver(&event, &abandon)
                            };
                            if let Ok(mut tallies) = tallies.lock() {
                                let tally = &mut tallies[i];
                                match result {
                                    Ok(()) => tally.delivered += 1,
                                    Err(reason) => {
                                        if tally.undelivered == 0 {
                                            tracing::warn!(
                                                "OpenLineage event undelivered to {}: {reason}",
                                                tally.sink
                                            );
                                        }
                                        tally.undelivered += 1;
                                        tally.last_error = Some(reason);
                                    }
                                }
                            }
                        }
                    }
                    for outlet in &mut outlets {
                        outlet.flush();
                    }
                    let _ = done_tx.send(());
                })
                .ok()
        };
        if worker.is_none() {
            tracing::error!("cannot start the OpenLineage delivery thread: no event is sent");
        }
        Self {
            sender: worker.as_ref().map(|_| sender),
            done,
            worker,
            tallies,
            abandon,
            longest_event,
        }
    }

    /// Queues `event` (one JSON document) for every sink; never blocks.
    pub fn send(&self, event: String) {
        let refused = match &self.sender {
            Some(sender) => match sender.try_send(event) {
                Ok(()) => return,
                Err(TrySendError::Full(_)) => {
                    format!("the delivery queue is full ({QUEUE_CAPACITY} events)")
                }
                Err(TrySendError::Disconnected(_)) => "the delivery thread stopped".into(),
            },
            None => "the delivery thread did not start".into(),
        };
        if let Ok(mut tallies) = self.tallies.lock() {
            for tally in tallies.iter_mut() {
                tally.undelivered += 1;
                tally.last_error = Some(refused.clone());
            }
        }
    }

    /// How long [`finish`](Self::finish) waits by default: one event's
    /// worst case on the slowest sink, plus a second, at most
    /// [`MAX_FINISH_WAIT`] (later events to a dead endpoint get one attempt
    /// each, see the module's notes).
    pub fn default_wait(&self) -> Duration {
        (self.longest_event + Duration::from_secs(1)).min(MAX_FINISH_WAIT)
    }

    /// Waits up to `wait` for the queued events, then gives up on the rest;
    /// returns each sink's tally.
    pub fn finish(mut self, wait: Duration) -> Vec<SinkTally> {
        drop(self.sender.take());
        if self.worker.is_some() && self.done.recv_timeout(wait).is_err() {
            // Still busy: the rest are counted undelivered quickly (one
            // attempt in flight is bounded by its timeout).
            self.abandon.store(true, Ordering::Relaxed);
            let _ = self.done.recv_timeout(self.longest_event);
        }
        if let Some(worker) = self.worker.take()
            && worker.is_finished()
        {
            let _ = worker.join();
        }
        self.tallies
            .lock()
            .map(|tallies| tallies.clone())
            .unwrap_or_default()
    }
}

/// A sink with what its delivery keeps between events.
struct Outlet {
    sink: EventSink,
    /// The open file of a file sink (opened on the first event).
    file: Option<File>,
    /// An http sink whose last event exhausted its retries: one attempt
    /// per event until one gets through.
    down: bool,
}

impl Outlet {
    fn new(sink: EventSink) -> Self {
        Self {
            sink,
            file: None,
            down: false,
        }
    }

    fn deliver(&mut self, event: &str, abandon: &AtomicBool) -> Result<(), String> {
        match &self.sink {
            EventSink::File { path } => {
                if self.file.is_none() {
                    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        std::fs::create_dir_all(folder)
                            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
                    }
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                    self.file = Some(file);
                }
                let mut line = String::with_capacity(event.len() + 1);
                line.push_str(event);
                line.push('\n');
                // One write of a whole line on an append-only file: lines
                // of two processes sharing the file do not interleave.
                match self.file.as_mut().map(|f| f.write_all(line.as_bytes())) {
                    Some(Ok(())) => Ok(()),
                    Some(Err(e)) => {
                        self.file = None;
                        Err(format!("cannot write {}: {e}", path.display()))
                    }
                    None => Err(format!("cannot write {}", path.display())),
                }
            }
            EventSink::Http {
                url,
                timeout,
                retries,
            } => {
                let retries = if self.down { 0 } else { *retries };
                let result = post_with_retries(url, event, *timeout, retries, abandon);
                self.down = result.is_err();
                result
            }
        }
    }

    fn flush(&mut self) {
        if let Some(file) = &mut self.file {
            let _ = file.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sink_gets_one_line_per_event() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("deep/events.jsonl");
        let delivery = EventDelivery::start(vec![EventSink::File { path: path.clone() }]);
        delivery.send("{\"a\":1}".into());
        delivery.send("{\"a\":2}".into());
        let wait = delivery.default_wait();
        let tallies = delivery.finish(wait);
        assert_eq!(tallies[0].delivered, 2, "{tallies:?}");
        assert_eq!(
            std::fs::read_to_string(&path).expect("written"),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }

    #[test]
    fn a_dead_endpoint_is_tried_once_per_event_after_the_first() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let delivery = EventDelivery::start(vec![EventSink::Http {
            url: format!("http://127.0.0.1:{port}/api/v1/lineage"),
            timeout: Duration::from_secs(1),
            retries: 2,
        }]);
        for n in 0..5 {
            delivery.send(format!("{{\"n\":{n}}}"));
        }
        let wait = delivery.default_wait();
        let tallies = delivery.finish(wait);
        assert_eq!(tallies[0].undelivered, 5, "{tallies:?}");
        assert_eq!(tallies[0].delivered, 0);
        let summary = tallies[0].summary();
        assert!(
            summary.starts_with(
                "OpenLineage: 0 events delivered, 5 undelivered to http http://127.0.0.1:"
            ),
            "{summary}"
        );
    }
}
