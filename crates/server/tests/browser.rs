//! The web console in a real browser: Debian's Chromium driven over WebDriver
//! (chromedriver) against a real `ctxd serve` on SQLite. Signs in, adds a pasted text
//! and a URL source, watches a status turn COMPLETED without a reload, reads context,
//! artifacts and runs, refreshes to a diff, searches, makes and revokes a key, checks
//! CSRF and another user's ids, signs out. axe-core runs on each page (serious or
//! critical violations fail), and each page is saved at 1280 and 390 px wide under
//! `target/web-screenshots/`.
//!
//! Needs `chromedriver` and axe-core (`.ci/run` installs both); without them the test
//! is skipped, except in CI, where it fails.

mod common;

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::response::IntoResponse;
use base64::Engine;
use common::{Server, ctxd, free_port};
use serde_json::{Value, json};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(30);

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// axe-core's script, installed from the npm registry into `target/axe`.
fn axe_source() -> Option<String> {
    let path = target_dir().join("axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(path).ok()
}

fn chromedriver() -> Option<PathBuf> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// A W3C WebDriver session over plain HTTP.
struct Browser {
    http: reqwest::Client,
    session: String,
    axe: String,
    shots: PathBuf,
}

impl Browser {
    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        let request = self.http.request(method.clone(), &url);
        // A GET carries no body; chromedriver reads one as malformed parameters.
        let request = if method == reqwest::Method::GET { request } else { request.json(&body) };
        let response = request.send().await.unwrap();
        let value: Value = response.json().await.unwrap();
        if let Some(error) = value["value"]["error"].as_str() {
            panic!("WebDriver {path}: {error}: {}", value["value"]["message"]);
        }
        value["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url})).await;
    }

    async fn url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", Value::Null).await.as_str().unwrap().to_owned()
    }

    async fn find(&self, using: &str, value: &str) -> String {
        let found = self.command(reqwest::Method::POST, "/element", json!({"using": using, "value": value})).await;
        found["element-6066-11e4-a52e-4f735466cecf"].as_str().unwrap_or_else(|| panic!("{value}: {found}")).to_owned()
    }

    async fn css(&self, selector: &str) -> String {
        self.find("css selector", selector).await
    }

    async fn type_into(&self, selector: &str, text: &str) {
        let element = self.css(selector).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/value"), json!({"text": text})).await;
    }

    async fn click(&self, selector: &str) {
        let element = self.css(selector).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), json!({})).await;
    }

    async fn click_xpath(&self, xpath: &str) {
        let element = self.find("xpath", xpath).await;
        self.command(reqwest::Method::POST, &format!("/element/{element}/click"), json!({})).await;
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.command(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": args})).await
    }

    async fn script_async(&self, script: &str) -> Value {
        self.command(reqwest::Method::POST, "/execute/async", json!({"script": script, "args": []})).await
    }

    async fn text(&self) -> String {
        self.script("return document.body.innerText;", json!([])).await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the page's text contains `needle` (the page itself may change).
    async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "never saw {needle:?} on {}: {text}", self.url().await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_for_url(&self, part: &str) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let url = self.url().await;
            if url.contains(part) {
                return url;
            }
            assert!(Instant::now() < deadline, "never reached {part:?}; at {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// axe-core on the current page; serious and critical violations fail the test.
    async fn audit(&self, page: &str) {
        self.script(&format!("{};return true;", self.axe), json!([])).await;
        let found = self
            .script_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))))
                   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
            )
            .await;
        let blocking: Vec<&Value> = found
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(blocking.is_empty(), "accessibility violations on {page}: {blocking:#?}");
    }

    /// The current page at 1280 and at 390 px wide.
    async fn shoot(&self, page: &str) {
        for width in [1280, 390] {
            self.command(reqwest::Method::POST, "/window/rect", json!({"width": width, "height": 900})).await;
            let png = self.command(reqwest::Method::GET, "/screenshot", Value::Null).await;
            let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
            std::fs::write(self.shots.join(format!("{page}-{width}.png")), bytes).unwrap();
        }
        self.command(reqwest::Method::POST, "/window/rect", json!({"width": 1280, "height": 900})).await;
    }

    async fn check_page(&self, page: &str) {
        self.audit(page).await;
        self.shoot(page).await;
    }
}

/// A page whose text the test changes, served slowly enough to see a run in flight.
#[derive(Clone, Default)]
struct Origin {
    version: Arc<Mutex<u32>>,
}

async fn start_origin() -> (Origin, String) {
    let origin = Origin::default();
    *origin.version.lock().unwrap() = 1;
    let state = origin.clone();
    let app = axum::Router::new().route(
        "/notes",
        axum::routing::get(move || {
            let state = state.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                let version = *state.version.lock().unwrap();
                let body = format!(
                    "<html><head><title>Release notes</title></head><body><article><h1>Release notes</h1>\
                     <p>Version {version} of the notes explains what changed and why it matters.</p>\
                     <pre><code>systemctl restart ctxd</code></pre></article></body></html>"
                );
                let etag = format!("\"v{version}\"");
                ([("content-type", "text/html; charset=utf-8".to_owned()), ("etag", etag)], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notes", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (origin, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let (Some(driver), Some(axe)) = (chromedriver(), axe_source()) else {
        assert!(!in_ci(), "CI needs chromedriver (apt: chromium-driver) and axe-core (npm, into target/axe)");
        eprintln!("note: chromedriver or axe-core missing; skipping the browser test");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = ctxd()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .env("CTXD_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
        .env("CTXD_WORKER__POLL_INTERVAL_MS", "50")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let _server = Server(child);
    let key = first.trim().strip_prefix("API key: ").expect("the first key").to_owned();
    let base = format!("http://127.0.0.1:{port}");

    let driver_port = free_port();
    let driver_process = std::process::Command::new(driver)
        .arg(format!("--port={driver_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _driver = Server(driver_process);
    let http = reqwest::Client::new();
    let driver_url = format!("http://127.0.0.1:{driver_port}");
    let deadline = Instant::now() + STEP;
    while http.get(format!("{driver_url}/status")).send().await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let capabilities = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
        },
    }}});
    let created: Value =
        http.post(format!("{driver_url}/session")).json(&capabilities).send().await.unwrap().json().await.unwrap();
    let session_id =
        created["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_owned();
    let shots = target_dir().join("web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let browser = Browser { http: http.clone(), session: format!("{driver_url}/session/{session_id}"), axe, shots };

    walk(&browser, &base, &key, data.path()).await;
    let _ = http.delete(&browser.session).send().await;
}

async fn walk(browser: &Browser, base: &str, key: &str, data_dir: &std::path::Path) {
    // Sign in with the printed key.
    browser.go(&format!("{base}/")).await;
    browser.wait_for_url("/sign-in").await;
    browser.check_page("sign-in").await;
    browser.type_into("#key", key).await;
    browser.click("form[action='/sign-in'] button").await;
    browser.wait_for_url("/spaces").await;
    browser.check_page("spaces").await;

    // A space, and pasted text in it.
    browser.type_into("#name", "Research").await;
    browser.click("form[action='/spaces'] button").await;
    let space = browser.wait_for_url("/spaces/").await;
    browser.check_page("space").await;
    let transcript = "**User:** How do we deploy?\n\n**Assistant:** We decided to use systemd:\n\n```sh\nsystemctl enable --now ctxd\n```\n";
    browser.type_into("#text", transcript).await;
    browser.type_into("#source-name", "deploy chat").await;
    browser.click("form[action$='/sources'] button[type=submit]").await;
    browser.wait_for_url("/sources/").await;
    browser.wait_for_text("context tokens from").await;
    browser.check_page("source").await;

    // A file, uploaded by the page's script through the signed upload URL.
    let file = data_dir.join("notes.md");
    std::fs::write(&file, "# Uploaded notes\n\nWe decided to keep backups for thirty days.\n").unwrap();
    browser.go(&space).await;
    browser.type_into("#file", file.to_str().unwrap()).await;
    browser.click("form[action$='/sources'] button[type=submit]").await;
    browser.wait_for_url("/sources/").await;
    browser.wait_for_text("FILE").await;
    browser.wait_for_text("context tokens from").await;

    // A URL source: its badge on the space page turns COMPLETED with no reload.
    let (origin, url) = start_origin().await;
    browser.go(&space).await;
    browser.type_into("#url", &url).await;
    browser.click("form[action$='/sources'] button[type=submit]").await;
    let source = browser.wait_for_url("/sources/").await;
    browser.go(&space).await;
    browser.script("window.__stayed = 42; return true;", json!([])).await;
    let id = source.rsplit('/').next().unwrap().to_owned();
    let deadline = Instant::now() + STEP;
    loop {
        let status = browser
            .script("return document.querySelector('[data-watch=\"' + arguments[0] + '\"]').textContent;", json!([id]))
            .await;
        if status == "COMPLETED" {
            break;
        }
        assert!(Instant::now() < deadline, "the badge stayed {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stayed = browser.script("return window.__stayed;", json!([])).await;
    assert_eq!(stayed, 42, "the status changed without a reload");

    // Refresh after the page changed: a second revision and its diff.
    *origin.version.lock().unwrap() = 2;
    browser.go(&source).await;
    browser.click("form[action$='/refresh'] button").await;
    browser.wait_for_text("diff with the previous").await;
    browser.click_xpath("//a[contains(., 'diff with the previous')]").await;
    browser.wait_for_text("Revision 1 → 2").await;
    browser.check_page("diff").await;

    browser.go(&format!("{space}/search?q=systemctl")).await;
    browser.wait_for_text("found").await;
    browser.check_page("search").await;

    // A key made in the console, shown once, then revoked.
    browser.go(&format!("{base}/keys")).await;
    browser.type_into("#key-name", "laptop").await;
    browser.click("form[action='/keys'] button").await;
    browser.wait_for_text("shown only once").await;
    browser.check_page("keys").await;
    browser.click_xpath("//tr[td[normalize-space()='laptop']]//button").await;
    browser.wait_for_text("revoked").await;

    // A post without the session's form token is refused.
    let status = browser
        .script_async(
            "const done = arguments[arguments.length - 1];
             fetch('/spaces', {method: 'POST', body: new URLSearchParams({name: 'forged'})}).then(r => done(r.status));",
        )
        .await;
    assert_eq!(status, 403);

    // Another user's source is a 404 page.
    let bob = ctxd().args(["keys", "create", "--user", "bob", "--data-dir"]).arg(data_dir).output().unwrap();
    let bob_key = String::from_utf8(bob.stdout).unwrap().trim().to_owned();
    let http = reqwest::Client::new();
    let space_id: Value = http
        .post(format!("{base}/v1/spaces"))
        .bearer_auth(&bob_key)
        .json(&json!({"name": "bob's"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bobs: Value = http
        .post(format!("{base}/v1/spaces/{}/sources", space_id["id"].as_str().unwrap()))
        .bearer_auth(&bob_key)
        .json(&json!({"type": "CONTENT", "initial_data": {"data": "bob's secret"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    browser.go(&format!("{base}/sources/{}", bobs["id"].as_str().unwrap())).await;
    let text = browser.wait_for_text("Not Found").await;
    assert!(!text.contains("bob's secret"));

    // Sign out: the pages lead back to sign-in.
    browser.go(&format!("{base}/spaces")).await;
    browser.click("form[action='/sign-out'] button").await;
    browser.wait_for_url("/sign-in").await;
    browser.go(&format!("{base}/spaces")).await;
    browser.wait_for_url("/sign-in?next=%2Fspaces").await;
}
