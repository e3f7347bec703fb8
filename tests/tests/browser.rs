//! The lineage site in a real browser: headless Chromium driven over
//! WebDriver (chromedriver on loopback). The example pipeline is
//! materialized, its site built to HTML, the overview opened; the graph must
//! render one node per asset with a real size, a click on a node must land
//! on that asset's page, whose partition strip and provenance table must be
//! there. Screenshots go to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). Without them the test is skipped, except under `CI`, where it
//! fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CHROMIUM: &[&str] = &["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const DRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

/// The recommender example, run through the fixture binary.
fn example(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fixture-pipeline"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("FIXTURE_GRAPH", "recommender")
        .env_remove("ASSETFLOW_ROOT")
        .output()
        .expect("fixture binary runs")
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(binary: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(status) = driver.get("/status")
                && status["value"]["ready"] == json!(true)
            {
                return driver;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not become ready on {}", driver.base);
    }

    fn get(&self, path: &str) -> Result<Value, String> {
        let mut response = ureq::get(&format!("{}{path}", self.base))
            .call()
            .map_err(|e| e.to_string())?;
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&body).map_err(|e| e.to_string())
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let mut response = ureq::post(&format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let text = response.body_mut().read_to_string().expect("a body");
        let value: Value = serde_json::from_str(&text).expect("JSON from chromedriver");
        assert!(value["value"]["error"].is_null(), "POST {path}: {value}");
        value
    }

    fn delete(&self, path: &str) {
        let _ = ureq::delete(&format!("{}{path}", self.base)).call();
    }
}

/// A browser session, ended when dropped.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.driver.delete(&format!("/session/{}", self.id));
    }
}

impl Session<'_> {
    fn open<'d>(driver: &'d Driver, chromium: &Path, profile: &Path) -> Session<'d> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let reply = driver.post(
            "/session",
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": args}
            }}}),
        );
        let id = reply["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Session { driver, id }
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.id)
    }

    fn go(&self, url: &str) {
        self.driver.post(&self.path("/url"), &json!({ "url": url }));
    }

    fn url(&self) -> String {
        self.driver.get(&self.path("/url")).expect("current url")["value"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn script(&self, body: &str) -> Value {
        self.driver.post(
            &self.path("/execute/sync"),
            &json!({ "script": body, "args": [] }),
        )["value"]
            .clone()
    }

    fn click(&self, css: &str) {
        let found = self.driver.post(
            &self.path("/element"),
            &json!({ "using": "css selector", "value": css }),
        );
        let element = found["value"]
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned();
        self.driver
            .post(&self.path(&format!("/element/{element}/click")), &json!({}));
    }

    fn screenshot(&self, file: &Path) {
        use base64::Engine as _;
        let png = self
            .driver
            .get(&self.path("/screenshot"))
            .expect("screenshot")["value"]
            .as_str()
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
            .expect("base64 screenshot")
            .expect("valid base64");
        std::fs::create_dir_all(file.parent().expect("a folder")).expect("screenshot folder");
        std::fs::write(file, png).expect("screenshot written");
    }
}

/// The folder CI keeps: `target/screenshots` of this workspace.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("screenshots")
}

/// Waits until `script` returns true (pages load asynchronously after a click).
fn wait_for(session: &Session<'_>, script: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if session.script(script) == json!(true) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn example_site_renders_and_navigates_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (first_existing(CHROMIUM), first_existing(DRIVER))
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: chromium and chromium-driver are not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("data");
    let out = example(
        &root,
        &["materialize", "--from", "2024-01-01", "--to", "2024-01-03"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let site = dir.path().join("site");
    let out = example(
        &root,
        &[
            "book",
            "--out",
            site.to_str().expect("utf-8"),
            "--as-of",
            "2024-01-04",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        index.ends_with("index.html") && index.exists(),
        "{}",
        index.display()
    );
    let overview = index.with_file_name("overview.html");

    let driver = Driver::start(&chromedriver);
    let session = Session::open(&driver, &chromium, &dir.path().join("profile"));
    session.go(&format!("file://{}", overview.display()));
    // One node per asset, each drawn with a real size.
    let nodes = session.script(
        "return [...document.querySelectorAll('svg.af-graph a.af-node')].map(n => { const b = n.getBBox(); const r = n.getBoundingClientRect(); return {key: n.dataset.key, w: b.width, h: b.height, sw: r.width, sh: r.height}; });",
    );
    let nodes = nodes.as_array().expect("a list of nodes");
    assert_eq!(
        nodes.len(),
        10,
        "one node per asset of the example: {nodes:?}"
    );
    for node in nodes {
        for size in ["w", "h", "sw", "sh"] {
            assert!(
                node[size].as_f64().unwrap_or(0.0) > 1.0,
                "{node} is not drawn"
            );
        }
    }
    let edges =
        session.script("return document.querySelectorAll('svg.af-graph g.af-edge path').length;");
    assert!(edges.as_u64().unwrap_or(0) >= 12, "edges drawn: {edges}");
    let shots = screenshots();
    session.screenshot(&shots.join("overview.png"));

    session.click("svg.af-graph a.af-node[data-key='clean_events']");
    assert!(
        wait_for(
            &session,
            "return location.pathname.endsWith('/assets/clean_events.html') && document.readyState === 'complete';"
        ),
        "a click on the node opens its page: at {}",
        session.url()
    );
    let cells = session.script(
        "return [...document.querySelectorAll('svg.af-strip rect.af-cell')].map(c => c.getBBox().width * c.getBBox().height);",
    );
    let cells = cells.as_array().expect("strip cells");
    assert!(
        !cells.is_empty() && cells.iter().all(|a| a.as_f64().unwrap_or(0.0) > 0.0),
        "the strip renders: {cells:?}"
    );
    let rows =
        session.script("return document.querySelectorAll('table.af-provenance tbody tr').length;");
    assert_eq!(rows, json!(3), "one provenance row per materialized day");
    let run_link = session.script("return document.querySelector('table.af-provenance tbody tr td:nth-child(2) a').textContent;");
    assert!(
        run_link.as_str().is_some_and(|r| !r.is_empty()),
        "the run is linked: {run_link}"
    );
    session.screenshot(&shots.join("asset-clean_events.png"));
}
