//! A webhook receiver for alert tests: a real HTTP server on 127.0.0.1 in
//! the test process that records each POST body and answers 200, or never
//! (to test timeouts).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A running receiver; it serves until the test process ends.
pub struct Receiver {
    /// Its URL (`http://127.0.0.1:PORT/hook`).
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port: it answers every POST
    /// with 200, or with nothing at all when `hang` is set.
    pub fn start(hang: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, &seen, hang));
            }
        });
        Self { url, bodies }
    }

    /// The JSON bodies received so far, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|b| serde_json::from_str(b).expect("a JSON body"))
            .collect()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<String>>, hang: bool) {
    let mut reader = BufReader::new(stream);
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
    if hang {
        std::thread::sleep(std::time::Duration::from_secs(30));
        return;
    }
    seen.lock()
        .expect("not poisoned")
        .push(String::from_utf8_lossy(&body).into_owned());
    let mut stream = reader.into_inner();
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}
