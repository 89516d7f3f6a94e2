//! The pipeline end to end: in-process workers process runs against a local origin.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::get,
};
use ctxd_test_support::{Backend, TestApp, spawn_app_with};
use serde_json::{Value, json};

/// A local origin whose body, ETag and status the test controls; it logs the
/// `If-None-Match` of every request.
#[derive(Clone, Default)]
pub(crate) struct Origin {
    body: Arc<Mutex<(String, String)>>,
    status: Arc<Mutex<u16>>,
    delay: Arc<Mutex<Duration>>,
    log: Arc<Mutex<Vec<Option<String>>>>,
}

impl Origin {
    pub(crate) async fn start() -> (Self, String) {
        let origin = Origin::default();
        *origin.status.lock().unwrap() = 200;
        origin.set("first version", "\"v1\"");
        let app = Router::new().route("/doc", get(serve)).with_state(origin.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/doc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (origin, url)
    }

    pub(crate) fn set(&self, body: &str, etag: &str) {
        *self.body.lock().unwrap() = (body.to_owned(), etag.to_owned());
    }

    pub(crate) fn set_status(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }

    fn requests(&self) -> Vec<Option<String>> {
        self.log.lock().unwrap().clone()
    }
}

async fn serve(State(origin): State<Origin>, headers: HeaderMap) -> impl IntoResponse {
    let if_none_match = headers.get("if-none-match").map(|v| v.to_str().unwrap().to_owned());
    origin.log.lock().unwrap().push(if_none_match.clone());
    let delay = *origin.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let status = StatusCode::from_u16(*origin.status.lock().unwrap()).unwrap();
    let (body, etag) = origin.body.lock().unwrap().clone();
    if status == StatusCode::OK && if_none_match.as_deref() == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [("etag", etag), ("content-type", "text/plain".into())], String::new());
    }
    (status, [("etag", etag), ("content-type", "text/plain; charset=utf-8".into())], body)
}

pub(crate) async fn app_with_workers(backend: Backend, max_attempts: u32) -> Option<TestApp> {
    app_with_workers_and(backend, move |config| config.worker.max_attempts = max_attempts).await
}

/// In-process workers tuned for tests, then the test's own settings.
pub(crate) async fn app_with_workers_and(
    backend: Backend,
    configure: impl FnOnce(&mut ctxd_server::config::Config),
) -> Option<TestApp> {
    spawn_app_with(backend, |config| {
        config.revisions.retain = 2;
        config.worker.enabled = true;
        config.worker.poll_interval_ms = 20;
        // Long enough that a worker stalled by a loaded machine keeps its run (the
        // heartbeat still comes every second, so cancels arrive quickly); reclaiming
        // is tested with real processes in crates/server/tests/workers.rs.
        config.worker.lease_seconds = 10;
        config.worker.max_attempts = 3;
        config.worker.retry_base_seconds = 0;
        configure(config);
    })
    .await
}

/// Polls the source until `run_id` has finished; returns the source.
pub(crate) async fn wait_for_run(app: &TestApp, source_id: &str, run_id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let source = app.get(&format!("/v1/sources/{source_id}")).await.body;
        let finished = ["COMPLETED", "FAILED", "CANCELED"].contains(&source["status"].as_str().unwrap_or_default());
        if finished && &source["last_run"]["id"] == run_id {
            return source;
        }
        assert!(Instant::now() < deadline, "run {run_id} did not finish: {source}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Waits until every worker of the app waits for a handed run.
async fn until_workers_idle(app: &TestApp, workers: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.handoff.idle_workers() < workers {
        assert!(Instant::now() < deadline, "the workers never went idle");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

mod idle_workers_take_accepted_runs_at_once {
    use ctxd_test_support::Backend;

    #[tokio::test]
    async fn sqlite() {
        super::idle_workers_take_accepted_runs_at_once(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::idle_workers_take_accepted_runs_at_once(Backend::Postgres).await;
    }
}

/// With a poll interval far longer than the test, runs can only start because the
/// requests that accepted them handed them to the idle workers; the refresh is still
/// conditional, so the handed run read the current revision the claim would have.
async fn idle_workers_take_accepted_runs_at_once(backend: Backend) {
    const WORKERS: usize = 2;
    let Some(app) = app_with_workers_and(backend, |config| {
        config.worker.count = WORKERS;
        config.worker.poll_interval_ms = 3_600_000;
        config.worker.lease_seconds = 3_600;
    })
    .await
    else {
        return;
    };
    let (origin, url) = Origin::start().await;
    let space = app.create_space("s").await;
    until_workers_idle(&app, WORKERS).await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    assert_eq!(source["status"], "PENDING", "the answer shows the source as accepted");
    let id = source["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(&app, &id, &source["last_run"]["id"]).await;
    assert_eq!((&done["status"], &done["revision"]), (&json!("COMPLETED"), &json!(1)), "{done}");

    until_workers_idle(&app, WORKERS).await;
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    assert_eq!((refresh.status, &refresh.body["status"]), (202, &json!("PENDING")));
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["last_run"]["outcome"], "UNCHANGED", "{done}");
    assert_eq!(origin.requests(), [None, Some("\"v1\"".to_owned())], "the handed refresh was conditional");
    let run = app.get(&format!("/v1/runs/{}", refresh.body["last_run"]["id"].as_str().unwrap())).await.body;
    assert_eq!((&run["status"], &run["attempt"]), (&json!("COMPLETED"), &json!(1)), "{run}");
}

with_workers!(
    old_revisions_lose_their_content_but_keep_their_metadata => 3,
    content_sources_complete_with_a_revision_and_context => 3,
    refresh_is_conditional_and_skips_unchanged_content => 3,
    failed_fetches_keep_the_previous_revision_readable => 1,
    cancel_while_processing_leaves_outputs_untouched => 3,
    a_page_with_a_wrong_charset_label_is_decoded_correctly => 1,
    a_pages_kind_is_recorded_on_its_revision_and_shown_in_its_context => 1,
);

/// A URI source for `page`, served as `text/html; charset=utf-8` at `path` by a local
/// origin, once its first run completed; returns the source's id.
async fn processed_page(app: &TestApp, path: &'static str, page: Vec<u8>) -> String {
    let origin = Router::new()
        .route(path, get(move || async move { ([("content-type", "text/html; charset=utf-8")], page.clone()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(app, &id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    id
}

async fn a_pages_kind_is_recorded_on_its_revision_and_shown_in_its_context(app: TestApp) {
    let post = |n: usize| {
        format!(
            r#"<div class="post" id="post-{n}"><p>Reply number {n}: I had the same problem with the driver and the
            fix in the release notes worked for me after a restart.</p></div>"#
        )
    };
    let posts: String = (1..=5).map(post).collect();
    let page = format!(
        r#"<html><head><title>Driver crash after update</title>
        <script type="application/ld+json">{{"@type": "DiscussionForumPosting", "headline": "Driver crash"}}</script>
        </head><body><main><h1>Driver crash after update</h1>{posts}</main></body></html>"#
    );
    let id = &processed_page(&app, "/t/driver-crash/42", page.into_bytes()).await;
    let revision = app.get(&format!("/v1/sources/{id}/revisions/1")).await.body;
    assert_eq!(revision["metadata"]["page_type"], "forum", "{revision}");
    let listed = app.get(&format!("/v1/sources/{id}/revisions")).await.body;
    assert_eq!(listed["revisions"][0]["metadata"]["page_type"], "forum", "{listed}");
    let context = app.get(&format!("/v1/sources/{id}/context")).await.body;
    assert!(context["content"].as_str().unwrap().contains("Page type: forum"), "{context}");
    let content = app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/content")).send().await.unwrap();
    let markdown = content.text().await.unwrap();
    assert!(markdown.contains("Reply number 5"), "every post is content: {markdown}");
}

async fn a_page_with_a_wrong_charset_label_is_decoded_correctly(app: TestApp) {
    // A legacy page in windows-1252 that its server labels UTF-8.
    let page = b"<html><head><title>Caf\xe9</title></head><body><article><h1>Caf\xe9 cr\xe8me</h1>\
        <p>Le caf\xe9 est servi \xe0 l'\xe9tage, avec une cr\xe8me br\xfbl\xe9e.</p></article></body></html>";
    let id = &processed_page(&app, "/legacy", page.to_vec()).await;
    let content = app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/content")).send().await.unwrap();
    let markdown = content.text().await.unwrap();
    assert!(markdown.contains("Le café est servi à l'étage, avec une crème brûlée."), "{markdown}");
    assert!(!markdown.contains('\u{fffd}'), "no replacement characters: {markdown}");
}

async fn content_sources_complete_with_a_revision_and_context(app: TestApp) {
    let space = app.create_space("s").await;
    let text = "# Plan\n\nUser: shall we use Postgres?\nAssistant: yes, we'll use Postgres.\n";
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": text}})).await;
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(&app, id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["revision"], 1);
    assert!(done["content_hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(done["last_run"]["outcome"], "CHANGED");
    assert!(done["stats"]["original_tokens"].as_u64().unwrap() > 0);

    let context = app.get(&format!("/v1/sources/{id}/context")).await;
    assert_eq!(context.status, 200, "{:?}", context.body);
    assert_eq!(context.body["revision"], 1);
    assert_eq!(context.body["title"], "Plan");
    assert_eq!(context.body["format"], "markdown");
    assert!(context.body["content"].as_str().unwrap().contains("we'll use Postgres"));
    assert_eq!(context.body["open_questions"], json!([]), "the question was answered");

    // Pasted text with speaker markers is normalized as a chat transcript.
    let content = app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/content")).send().await.unwrap();
    assert_eq!(content.headers()["content-type"], "text/markdown; charset=utf-8");
    let expected = "# Plan\n\n**User:**\n\nshall we use Postgres?\n\n**Assistant:**\n\nyes, we'll use Postgres.\n";
    assert_eq!(content.text().await.unwrap(), expected);

    let runs = app.get(&format!("/v1/sources/{id}/runs")).await;
    assert_eq!(runs.body["pagination"]["total"], 1);
    let run = &runs.body["runs"][0];
    assert_eq!(run["status"], "COMPLETED");
    assert!(run["timings_ms"]["fetch"].is_u64());
    assert!(run["finished_at"].is_string());
    let by_id = app.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await;
    assert_eq!(by_id.body["id"], run["id"]);
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"ctxd_runs_finished_total{kind="INITIAL",outcome="CHANGED",status="COMPLETED"} 1"#),
        "{metrics}"
    );

    // Reprocess re-extracts from the stored content, into the same revision.
    let reprocess = app.post(&format!("/v1/sources/{id}/reprocess"), json!({})).await;
    assert_eq!(reprocess.status, 202);
    let done = wait_for_run(&app, id, &reprocess.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["revision"], 1);
}

async fn refresh_is_conditional_and_skips_unchanged_content(app: TestApp) {
    let (origin, url) = Origin::start().await;
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(&app, &id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["revision"], 1);
    let revision = app.get(&format!("/v1/sources/{id}/revisions/1")).await;
    assert_eq!(revision.body["http"]["etag"], "\"v1\"");

    // Unchanged at the origin: a 304, no new revision.
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["last_run"]["outcome"], "UNCHANGED");
    assert_eq!(done["revision"], 1);
    assert_eq!(origin.requests(), [None, Some("\"v1\"".to_owned())], "the refresh was conditional");
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions")).await.body["pagination"]["total"], 1);
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    for line in [
        r#"ctxd_fetches_total{result="fetched"} 1"#,
        r#"ctxd_fetches_total{result="not_modified"} 1"#,
        // "first version": the body of the one fetch that brought one.
        "ctxd_fetch_body_bytes_total 13",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }

    // Changed at the origin: revision 2, and revision 1 stays readable.
    origin.set("second version", "\"v2\"");
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["last_run"]["outcome"], "CHANGED");
    assert_eq!(done["revision"], 2);
    let now = app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/content")).send().await.unwrap();
    assert_eq!(now.text().await.unwrap(), "second version\n");
    let old = app
        .request(reqwest::Method::GET, &format!("/v1/sources/{id}/revisions/1/content?format=raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(old.text().await.unwrap(), "first version");
    let diff = app.get(&format!("/v1/sources/{id}/revisions/2/diff")).await;
    assert_eq!(diff.status, 200, "{:?}", diff.body);
    assert_eq!(diff.body["from"], 1);
    assert_eq!(diff.body["changed"], true);
    let unified = diff.body["diff"].as_str().unwrap();
    assert!(unified.contains("-first version") && unified.contains("+second version"), "{unified}");
    let same = app.get(&format!("/v1/sources/{id}/revisions/2/diff?against=2")).await;
    assert_eq!(same.body["changed"], false);
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions/1/diff")).await.status, 400, "nothing before revision 1");
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions/9/diff")).await.status, 404);

    // Force re-extracts even when the origin answers 304: into the same revision, and
    // the same extractor makes the same outputs.
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({"force": true})).await;
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["last_run"]["outcome"], "UNCHANGED");
    assert_eq!(done["revision"], 2);
    assert_eq!(origin.requests().last().unwrap().as_deref(), Some("\"v2\""));
}

async fn failed_fetches_keep_the_previous_revision_readable(app: TestApp) {
    let (origin, url) = Origin::start().await;
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    wait_for_run(&app, &id, &source["last_run"]["id"]).await;

    *origin.status.lock().unwrap() = 500;
    origin.set("error page", "\"e\"");
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "FAILED");
    assert_eq!(done["message"], "origin answered 500");
    assert_eq!(done["revision"], 1);
    let context = app.get(&format!("/v1/sources/{id}/context")).await;
    assert_eq!(context.status, 200);
    assert!(context.body["content"].as_str().unwrap().contains("first version"));

    // The origin recovers with the same content: the failed last run forbids skipping,
    // so it is re-extracted, into the same revision, and comes out as served.
    *origin.status.lock().unwrap() = 200;
    origin.set("first version", "\"v1\"");
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["last_run"]["outcome"], "UNCHANGED");
    assert_eq!(done["revision"], 1);

    *origin.status.lock().unwrap() = 404;
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "FAILED");
    assert_eq!(done["last_run"]["outcome"], "GONE");
}

async fn cancel_while_processing_leaves_outputs_untouched(app: TestApp) {
    let (origin, url) = Origin::start().await;
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    wait_for_run(&app, &id, &source["last_run"]["id"]).await;

    // Slower than the fetch timeout: only an interrupted fetch can end CANCELED.
    *origin.delay.lock().unwrap() = Duration::from_secs(60);
    origin.set("new version", "\"v9\"");
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get(&format!("/v1/sources/{id}")).await.body["status"] != "PROCESSING" {
        assert!(Instant::now() < deadline, "the refresh never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cancel = app.post(&format!("/v1/sources/{id}/cancel"), json!({})).await;
    assert_eq!(cancel.status, 202);
    let done = wait_for_run(&app, &id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "CANCELED");
    assert_eq!(done["last_run"]["status"], "CANCELED");
    assert_eq!(done["revision"], 1, "outputs untouched");
    let context = app.get(&format!("/v1/sources/{id}/context")).await;
    assert!(context.body["content"].as_str().unwrap().contains("first version"));
}

async fn old_revisions_lose_their_content_but_keep_their_metadata(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "v1"}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    wait_for_run(&app, &id, &source["last_run"]["id"]).await;
    for version in ["v2", "v3"] {
        let forward = app
            .post(
                &format!("/v1/sources/{id}/fast-forward"),
                json!({"type": "CONTENT", "initial_data": {"data": version}}),
            )
            .await;
        assert_eq!(forward.status, 202, "{:?}", forward.body);
        let done = wait_for_run(&app, &id, &forward.body["last_run"]["id"]).await;
        assert_eq!(done["status"], "COMPLETED");
    }
    // retain = 2: revision 1 keeps its metadata, not its content.
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions")).await.body["pagination"]["total"], 3);
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions/1")).await.status, 200);
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions/1/content")).await.status, 410);
    // Its outputs went with its content; the kept revisions keep theirs.
    let context = app.get(&format!("/v1/sources/{id}/context?revision=1")).await;
    assert_eq!(context.status, 410, "{}", context.body);
    assert_eq!(app.get(&format!("/v1/sources/{id}/artifacts?revision=1")).await.status, 410);
    assert_eq!(app.get(&format!("/v1/sources/{id}/context?revision=2")).await.status, 200);
    assert_eq!(app.get(&format!("/v1/sources/{id}/artifacts?revision=2")).await.status, 200);
    let current =
        app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/revisions/3/content")).send().await.unwrap();
    assert_eq!(current.text().await.unwrap(), "v3\n");
    let kept =
        app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/revisions/2/content")).send().await.unwrap();
    assert_eq!(kept.text().await.unwrap(), "v2\n");
}

#[tokio::test]
async fn the_default_address_guard_fails_runs_aimed_at_private_addresses() {
    let (origin, url) = Origin::start().await;
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.worker.enabled = true;
        config.worker.poll_interval_ms = 20;
        config.fetch.allow_private_networks = false;
    })
    .await
    .unwrap();
    let space = app.create_space("s").await;
    for (target, message) in [
        (url.clone(), "blocked address 127.0.0.1 (loopback)"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "blocked address 169.254.169.254 (link-local)"),
    ] {
        let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": target}})).await;
        let done = wait_for_run(&app, source["id"].as_str().unwrap(), &source["last_run"]["id"]).await;
        assert_eq!(done["status"], "FAILED");
        assert_eq!(done["message"], message);
    }
    assert!(origin.requests().is_empty(), "nothing reached the private origin");
}
