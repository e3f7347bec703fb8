//! A webhook receiver for alert tests: the [`HttpReceiver`] of the
//! OpenLineage tests at `/hook`, with its bodies read as JSON.

use serde_json::Value;

use crate::http_receiver::HttpReceiver;

/// A running receiver; it serves until the test process ends.
pub struct Receiver {
    /// Its URL (`http://127.0.0.1:PORT/hook`).
    pub url: String,
    server: HttpReceiver,
}

impl Receiver {
    /// Starts a receiver on a free loopback port: it answers every POST
    /// with 200, or with nothing at all when `hang` is set.
    pub fn start(hang: bool) -> Self {
        let server = HttpReceiver::start_answering(!hang);
        Self {
            url: format!("{}/hook", server.base),
            server,
        }
    }

    /// The JSON bodies received so far, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.server
            .received()
            .iter()
            .map(|r| serde_json::from_str(&r.body).expect("a JSON body"))
            .collect()
    }
}
