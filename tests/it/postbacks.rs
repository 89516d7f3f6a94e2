//! Postbacks end to end: a local receiver that fails twice, then accepts.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use base64::{Engine, engine::general_purpose::STANDARD};
use ctxd_test_support::{Backend, TestApp, spawn_app_with};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// One request as received: `webhook-id`, `webhook-timestamp`, `webhook-signature`, body.
type Delivery = (String, String, String, Vec<u8>);

/// What the receiver saw, and how many more requests it answers with 503.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Delivery>>>,
    failures_left: Arc<Mutex<u32>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> axum::http::StatusCode {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    receiver.seen.lock().unwrap().push((
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        body.to_vec(),
    ));
    let mut failures_left = receiver.failures_left.lock().unwrap();
    if *failures_left > 0 {
        *failures_left -= 1;
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    } else {
        axum::http::StatusCode::NO_CONTENT
    }
}

async fn start_receiver(failures: u32) -> (Receiver, String) {
    let receiver = Receiver::default();
    *receiver.failures_left.lock().unwrap() = failures;
    let app = Router::new().route("/hook", post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

async fn app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |config| {
        config.worker.enabled = true;
        config.worker.poll_interval_ms = 20;
        config.postback.allow_http = true;
        config.postback.poll_interval_ms = 30;
        config.postback.retry_delays_seconds = vec![0, 0, 0];
    })
    .await
}

/// The Standard Webhooks check, written out here independently of ctxd's code.
fn verify(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    signature
        .strip_prefix("v1,")
        .is_some_and(|sig| STANDARD.decode(sig).is_ok_and(|sig| mac.verify_slice(&sig).is_ok()))
}

async fn wait_for_requests(receiver: &Receiver, n: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = receiver.seen.lock().unwrap().clone();
        if seen.len() >= n {
            return seen;
        }
        assert!(Instant::now() < deadline, "only {} postback requests arrived", seen.len());
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

macro_rules! postback_tests {
    ($($name:ident),*) => {$(
        mod $name {
            use ctxd_test_support::Backend;

            #[tokio::test]
            async fn sqlite() {
                super::$name(super::app(Backend::Sqlite).await.unwrap()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = super::app(Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

postback_tests!(
    completion_is_posted_signed_and_retried_with_a_stable_id,
    canceling_queued_work_is_posted_too,
    deliveries_that_fail_are_listed_with_their_errors_until_given_up
);

mod pending_deliveries_survive_a_restart {
    use ctxd_test_support::{Backend, spawn_app_with};

    /// The first process never gets to send (its sender would wait an hour), so the
    /// delivery is still pending in the database when it stops.
    async fn first_process(backend: Backend) -> Option<ctxd_test_support::TestApp> {
        spawn_app_with(backend, |config| {
            config.worker.enabled = true;
            config.worker.poll_interval_ms = 20;
            config.postback.allow_http = true;
            config.postback.poll_interval_ms = 3_600_000;
        })
        .await
    }

    #[tokio::test]
    async fn sqlite() {
        super::pending_deliveries_survive_a_restart(first_process(Backend::Sqlite).await.unwrap()).await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(app) = first_process(Backend::Postgres).await {
            super::pending_deliveries_survive_a_restart(app).await;
        }
    }
}

async fn pending_deliveries_survive_a_restart(mut app: TestApp) {
    // The receiver's address; nothing listens there until the restart.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let space = app.create_space("s").await;
    let source = app
        .create_source(
            &space,
            json!({"type": "CONTENT", "initial_data": {"data": "x"}, "instructions": {"postback_url": url}}),
        )
        .await;
    let id = source["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.get(&format!("/v1/sources/{id}")).await.body["status"] != "COMPLETED" {
        assert!(Instant::now() < deadline, "the source never completed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await;

    // The receiver comes up, and a new process starts on the same database.
    let receiver = Receiver::default();
    let router = Router::new().route("/hook", post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let database_url = app.database.url.clone();
    let data_dir = app.data_dir.path().to_owned();
    let _restarted = spawn_app_with(app.database.backend, move |config| {
        config.worker.enabled = true;
        config.worker.poll_interval_ms = 20;
        config.postback.allow_http = true;
        config.postback.poll_interval_ms = 30;
        config.postback.retry_delays_seconds = vec![0, 0, 0];
        config.database_url = Some(database_url);
        config.data_dir = data_dir;
    })
    .await
    .unwrap();
    let seen = wait_for_requests(&receiver, 1).await;
    let payload: Value = serde_json::from_slice(&seen[0].3).unwrap();
    assert_eq!(payload["sourceId"], source["id"]);
    assert_eq!(payload["status"], "COMPLETED");
}

async fn completion_is_posted_signed_and_retried_with_a_stable_id(app: TestApp) {
    let (receiver, url) = start_receiver(2).await;
    let secret = app.get("/v1/postback-secret").await.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(app.get("/v1/postback-secret").await.body["secret"], secret.as_str(), "stable until rotated");

    let space = app.create_space("s").await;
    let source = app
        .create_source(
            &space,
            json!({"type": "CONTENT", "initial_data": {"data": "hello"}, "instructions": {"postback_url": url}}),
        )
        .await;
    let seen = wait_for_requests(&receiver, 3).await;
    let ids: Vec<_> = seen.iter().map(|(id, ..)| id.clone()).collect();
    assert_eq!(ids, vec![ids[0].clone(); 3], "the same webhook-id on every attempt");
    for (id, timestamp, signature, body) in &seen {
        assert!(verify(&secret, id, timestamp, body, signature), "signature of {id} does not verify");
    }
    let payload: Value = serde_json::from_slice(&seen[2].3).unwrap();
    assert_eq!(payload["event"], "SourceStatusNotification");
    assert_eq!(payload["sourceId"], source["id"]);
    assert_eq!(payload["spaceId"], space.as_str());
    assert_eq!(payload["status"], "COMPLETED");
    assert_eq!(payload["runId"], source["last_run"]["id"]);
    assert_eq!(payload["outcome"], "CHANGED");
    assert_eq!(payload["revision"], 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.seen.lock().unwrap().len(), 3, "delivered once it succeeded, not again");

    // The owner sees what became of the delivery.
    let listed = app.get(&format!("/v1/sources/{}/postbacks", source["id"].as_str().unwrap())).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["pagination"]["total"], 1);
    let delivery = &listed.body["postbacks"][0];
    assert_eq!(delivery["webhook_id"], ids[0].as_str());
    assert_eq!(delivery["event"], "SourceStatusNotification");
    assert_eq!(delivery["url"], url.as_str());
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["attempts"], 3);
    assert_eq!(delivery["last_status_code"], 204);
    assert_eq!(delivery["last_error"], "receiver answered 503", "the last failure stays readable");
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    assert!(delivery["delivered_at"].is_string(), "{delivery}");
    assert_eq!(delivery["payload"], payload);

    let rotated = app.post("/v1/postback-secret/rotate", json!({})).await;
    assert_eq!(rotated.status, 200);
    assert_ne!(rotated.body["secret"], secret.as_str());
}

async fn canceling_queued_work_is_posted_too(app: TestApp) {
    let (receiver, url) = start_receiver(0).await;
    // An origin slow enough to cancel the run while a worker holds it.
    let origin = Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin_url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });

    let space = app.create_space("s").await;
    let source = app
        .create_source(
            &space,
            json!({"type": "URI", "initial_data": {"url": origin_url}, "instructions": {"postback_url": url}}),
        )
        .await;
    let id = source["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get(&format!("/v1/sources/{id}")).await.body["status"] != "PROCESSING" {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.post(&format!("/v1/sources/{id}/cancel"), json!({})).await.status, 202);
    let seen = wait_for_requests(&receiver, 1).await;
    let payload: Value = serde_json::from_slice(&seen[0].3).unwrap();
    assert_eq!(payload["sourceId"], source["id"]);
    assert_eq!(payload["status"], "CANCELED");
    assert_eq!(payload["revision"], Value::Null);
}

/// With the default address guard, a postback URL naming a loopback, private or
/// link-local address (or `localhost`) is a 400 when it is set, on create and on
/// update, not a string of failed deliveries later.
#[tokio::test]
async fn postback_urls_the_sender_would_refuse_are_refused_when_set() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.fetch.allow_private_networks = false).await.unwrap();
    let space = app.create_space("s").await;
    let sources = format!("/v1/spaces/{space}/sources");
    let with =
        |url: &str| json!({"type": "CONTENT", "initial_data": {"data": "x"}, "instructions": {"postback_url": url}});
    for (url, reason) in [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://hooks.localhost./x", "loopback"),
        ("https://10.1.2.3/hook", "private network"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://[::ffff:192.168.0.1]/hook", "private network"),
    ] {
        let response = app.post(&sources, with(url)).await;
        assert_eq!(response.status, 400, "{url}: {}", response.body);
        assert_eq!(response.detail_fields(), ["instructions.postback_url"], "{url}");
        assert!(response.body.to_string().contains(reason), "{url}: {}", response.body);
    }
    let created = app.post(&sources, with("https://hooks.example.com/ctxd")).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let patch = app
        .send(
            app.request(reqwest::Method::PATCH, &format!("/v1/sources/{id}"))
                .json(&json!({"instructions": {"postback_url": "https://[::1]/hook"}})),
        )
        .await;
    assert_eq!(patch.status, 400, "{}", patch.body);
    assert_eq!(patch.detail_fields(), ["instructions.postback_url"]);
}

async fn deliveries_that_fail_are_listed_with_their_errors_until_given_up(app: TestApp) {
    // One receiver that always answers 503, one address where nothing listens.
    let (receiver, failing) = start_receiver(u32::MAX).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let silent = format!("http://127.0.0.1:{port}/hook");
    let space = app.create_space("s").await;
    let mut ids = Vec::new();
    for url in [&failing, &silent] {
        let body = json!({"type": "CONTENT", "initial_data": {"data": "x"}, "instructions": {"postback_url": url}});
        ids.push(app.create_source(&space, body).await["id"].as_str().unwrap().to_owned());
    }
    // Three retries after the first attempt, then the sender gives up.
    wait_for_requests(&receiver, 4).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let deliveries: Vec<Value> = loop {
        let mut deliveries = Vec::new();
        for id in &ids {
            let listed = app.get(&format!("/v1/sources/{id}/postbacks")).await;
            assert_eq!(listed.status, 200, "{}", listed.body);
            deliveries.push(listed.body["postbacks"][0].clone());
        }
        if deliveries.iter().all(|d| d["status"] == "GAVE_UP") {
            break deliveries;
        }
        assert!(Instant::now() < deadline, "not given up: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for delivery in &deliveries {
        assert_eq!(delivery["attempts"], 4, "{delivery}");
        assert_eq!(delivery["next_attempt_at"], Value::Null, "{delivery}");
        assert_eq!(delivery["delivered_at"], Value::Null, "{delivery}");
    }
    assert_eq!(deliveries[0]["last_status_code"], 503);
    assert_eq!(deliveries[0]["last_error"], "receiver answered 503");
    assert_eq!(deliveries[1]["last_status_code"], Value::Null, "no answer came");
    assert!(deliveries[1]["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{}", deliveries[1]);
}

/// A delivery still waiting shows when it is tried next.
#[tokio::test]
async fn a_delivery_waiting_for_its_retry_shows_when() {
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.worker.enabled = true;
        config.worker.poll_interval_ms = 20;
        config.postback.allow_http = true;
        config.postback.poll_interval_ms = 30;
        config.postback.retry_delays_seconds = vec![3600];
    })
    .await
    .unwrap();
    let (_receiver, url) = start_receiver(u32::MAX).await;
    let space = app.create_space("s").await;
    let body = json!({"type": "CONTENT", "initial_data": {"data": "x"}, "instructions": {"postback_url": url}});
    let id = app.create_source(&space, body).await["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let listed = app.get(&format!("/v1/sources/{id}/postbacks")).await;
        let delivery = listed.body["postbacks"][0].clone();
        if delivery["attempts"] == 1 {
            break delivery;
        }
        assert!(Instant::now() < deadline, "never attempted: {}", listed.body);
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["last_status_code"], 503);
    let next: chrono::DateTime<chrono::Utc> = delivery["next_attempt_at"].as_str().unwrap().parse().unwrap();
    let wait = next - chrono::Utc::now();
    assert!(wait > chrono::Duration::minutes(59) && wait <= chrono::Duration::minutes(60), "{delivery}");
}
