//! A tiny HTTP server on 127.0.0.1 for tests of sinks that POST (alert
//! webhooks, OpenLineage endpoints): it records each request's path and
//! body and answers 200, or never (to test timeouts).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The request line's path (`/api/v1/lineage`).
    pub path: String,
    /// The body.
    pub body: String,
}

/// A server running on a thread of the test process until it ends.
pub struct HttpReceiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl HttpReceiver {
    /// Starts one on a free port.
    pub fn start() -> Self {
        Self::start_answering(true)
    }

    /// Starts one on a free port that answers every request with 200, or,
    /// when `answer` is false, records it and never answers.
    pub fn start_answering(answer: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen, answer));
            }
        });
        Self { base, received }
    }

    /// Everything received so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Received>>, answer: bool) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if !answer {
        // Hold the connection without a reply: the client's timeout fires.
        std::thread::sleep(std::time::Duration::from_secs(30));
        return;
    }
    if let Ok(mut seen) = seen.lock() {
        seen.push(Received {
            path,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let mut stream = reader.into_inner();
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}
