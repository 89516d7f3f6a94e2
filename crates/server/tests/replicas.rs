//! Many machines on one Postgres and one S3 bucket, as production runs: two
//! `ctxd serve --no-worker` replicas (each with its own data directory, so nothing
//! local is shared) and two `ctxd worker` processes (both running the scheduler), with
//! the client spreading its requests over both replicas. What one replica accepts,
//! the workers process and the other replica serves: events reach followers on either
//! replica (SSE and gRPC `WatchSource`), uploads go through S3 presigned URLs, and each
//! scheduled refresh happens once although two schedulers look for due sources.

mod common;

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use common::{Server, ctxd, free_port};
use ctxd_grpc::pb::{self, sources_service_client::SourcesServiceClient};
use ctxd_test_support::{Backend, TestDatabase};
use serde_json::{Value, json};

/// Seconds between scheduled refreshes of the test's source.
const INTERVAL: u64 = 2;

/// One `ctxd serve --no-worker` replica.
struct Replica {
    rest: String,
    grpc: String,
    _process: Server,
    _data_dir: tempfile::TempDir,
}

struct Cluster {
    env: Vec<(&'static str, String)>,
    key: String,
    client: reqwest::Client,
}

impl Cluster {
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = ctxd();
        command.args(args);
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    async fn replica(&self) -> Replica {
        let data_dir = tempfile::tempdir().unwrap();
        let (rest_port, grpc_port) = (free_port(), free_port());
        let listen = format!("127.0.0.1:{rest_port}");
        let process = self
            .command(&["serve", "--no-worker", "--listen", &listen, "--data-dir"])
            .arg(data_dir.path())
            .env("CTXD_GRPC__LISTEN", format!("127.0.0.1:{grpc_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let replica = Replica {
            rest: format!("http://{listen}"),
            grpc: format!("http://127.0.0.1:{grpc_port}"),
            _process: Server(process),
            _data_dir: data_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self
            .client
            .get(format!("{}/health", replica.rest))
            .send()
            .await
            .map_or(true, |r| !r.status().is_success())
        {
            assert!(Instant::now() < deadline, "replica {} did not come up", replica.rest);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        replica
    }

    fn worker(&self) -> Server {
        let data_dir = tempfile::tempdir().unwrap();
        let process = self
            .command(&["worker", "--data-dir"])
            .arg(data_dir.path())
            .env("CTXD_WORKER__POLL_INTERVAL_MS", "50")
            .env("CTXD_SCHEDULER__INTERVAL_MS", "100")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The directory holds nothing with S3; it only has to outlive the process.
        std::mem::forget(data_dir);
        Server(process)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.bearer_auth(&self.key).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, replica: &Replica, path: &str) -> Value {
        let (status, body) = self.send(self.client.get(format!("{}{path}", replica.rest))).await;
        assert_eq!(status, 200, "GET {path} on {}: {body}", replica.rest);
        body
    }

    async fn post(&self, replica: &Replica, path: &str, body: Value) -> Value {
        let (status, answer) = self.send(self.client.post(format!("{}{path}", replica.rest)).json(&body)).await;
        assert!((200..300).contains(&status), "POST {path} on {}: {status} {answer}", replica.rest);
        answer
    }

    /// Polls `replica` until the source is COMPLETED; returns it.
    async fn completed(&self, replica: &Replica, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let source = self.get(replica, &format!("/v1/sources/{id}")).await;
            if source["status"] == "COMPLETED" {
                return source;
            }
            assert!(Instant::now() < deadline, "not completed: {source}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A local origin whose page never changes; it counts the requests it answers.
async fn origin() -> (String, Arc<AtomicU64>) {
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let app = axum::Router::new().route(
        "/doc",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
                    return (axum::http::StatusCode::NOT_MODIFIED, [("etag", "\"v1\"")], "");
                }
                (
                    axum::http::StatusCode::OK,
                    [("etag", "\"v1\"")],
                    "# Runbook\n\nRestart the service with `make restart`.",
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/doc", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, served)
}

/// Reads the SSE stream until an event whose data says COMPLETED.
async fn sse_until_completed(response: reqwest::Response) -> Vec<String> {
    let mut response = response;
    let mut statuses = Vec::new();
    let mut buffer = String::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(20), response.chunk())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("the stream stays open until COMPLETED");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|line| line.strip_prefix("data:")) else { continue };
            let data: Value = serde_json::from_str(data.trim()).unwrap();
            let status = data["status"].as_str().unwrap_or_default().to_owned();
            statuses.push(status.clone());
            if status == "COMPLETED" {
                return statuses;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_and_two_workers_share_one_postgres_and_one_bucket() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else { return };
    let Some((endpoint, bucket)) = ctxd_test_support::s3_bucket().await else { return };
    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("CTXD_BLOBS__BACKEND", "s3".to_owned()),
        ("CTXD_BLOBS__S3__ENDPOINT", endpoint),
        ("CTXD_BLOBS__S3__BUCKET", bucket),
        ("CTXD_BLOBS__S3__PATH_STYLE", "true".to_owned()),
        ("CTXD_BLOBS__S3__ACCESS_KEY_ID", "testing".to_owned()),
        ("CTXD_BLOBS__S3__SECRET_ACCESS_KEY", "testing".to_owned()),
        ("CTXD_FETCH__ALLOW_PRIVATE_NETWORKS", "true".to_owned()),
        ("CTXD_LIMITS__MIN_REFRESH_INTERVAL_SECONDS", "1".to_owned()),
    ];
    let mut cluster = Cluster { env, key: String::new(), client: reqwest::Client::new() };
    let migrated = cluster.command(&["migrate"]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let key = cluster.command(&["keys", "create", "--user", "ops"]).output().unwrap();
    assert!(key.status.success(), "{}", String::from_utf8_lossy(&key.stderr));
    cluster.key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
    let (a, b) = (cluster.replica().await, cluster.replica().await);
    let (url, served) = origin().await;

    // Followers on both replicas before anything runs: SSE on A, WatchSource on B.
    let space = cluster.post(&a, "/v1/spaces", json!({"name": "shared"})).await;
    let space = space["id"].as_str().unwrap().to_owned();
    let created = cluster
        .post(
            &b,
            &format!("/v1/spaces/{space}/sources"),
            json!({"type": "URI", "initial_data": {"url": url},
                   "refresh_policy": {"mode": "INTERVAL", "interval_seconds": INTERVAL}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let sse = cluster.client.get(format!("{}/v1/sources/{id}/events", a.rest)).bearer_auth(&cluster.key).send().await;
    let sse = sse.unwrap();
    assert_eq!(sse.status(), 200);
    let channel = tonic::transport::Channel::from_shared(b.grpc.clone()).unwrap().connect().await.unwrap();
    let mut request = tonic::Request::new(pb::WatchSourceRequest { id: id.clone(), follow: false });
    request.metadata_mut().insert("authorization", format!("Bearer {}", cluster.key).parse().unwrap());
    let mut watch = SourcesServiceClient::new(channel).watch_source(request).await.unwrap().into_inner();

    // Only now the workers start: every state change crosses processes to reach them.
    let started = Instant::now();
    let _workers = [cluster.worker(), cluster.worker()];
    let statuses = sse_until_completed(sse).await;
    assert_eq!(statuses.last().map(String::as_str), Some("COMPLETED"), "{statuses:?}");
    let mut watched = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(20), watch.message()).await.unwrap().unwrap() {
        watched.push(message.status);
    }
    assert_eq!(watched.last(), Some(&(pb::SourceStatus::Completed as i32)), "WatchSource on B: {watched:?}");
    let source = cluster.completed(&a, &id).await;
    assert_eq!(source["revision"], 1);

    // An upload: presigned by A, PUT straight to the bucket, made a source on B,
    // processed by a worker, read back on A.
    let text = b"# Notes\n\nThe replicas share one bucket.\n";
    let presigned = cluster
        .post(&a, "/v1/upload/s3", json!({"filename": "notes.md", "contentType": "text/markdown", "size": text.len()}))
        .await;
    let upload_url = presigned["uploadUrl"].as_str().unwrap();
    assert!(upload_url.contains("X-Amz-Signature"), "an S3 presigned URL: {upload_url}");
    let put = cluster.client.put(upload_url).header("content-type", "text/markdown").body(text.to_vec()).send().await;
    assert!(put.unwrap().status().is_success());
    let file = cluster
        .post(
            &b,
            &format!("/v1/spaces/{space}/sources"),
            json!({"type": "FILE", "initial_data": {"data": presigned["fileKey"]}}),
        )
        .await;
    let file_id = file["id"].as_str().unwrap();
    cluster.completed(&a, file_id).await;
    let content = cluster.client.get(format!("{}/v1/sources/{file_id}/content", b.rest)).bearer_auth(&cluster.key);
    assert_eq!(content.send().await.unwrap().text().await.unwrap(), String::from_utf8_lossy(text));

    // Scheduled refreshes, with two schedulers looking: one run per due time.
    tokio::time::sleep(Duration::from_secs(4 * INTERVAL + 1)).await;
    let runs = cluster.get(&b, &format!("/v1/sources/{id}/runs?per_page=100")).await;
    let runs = runs["runs"].as_array().unwrap().clone();
    let scheduled: Vec<&Value> = runs.iter().filter(|run| run["kind"] == "SCHEDULED_REFRESH").collect();
    let elapsed = started.elapsed().as_secs();
    assert!(scheduled.len() >= 2, "scheduled refreshes ran: {runs:?}");
    assert!(
        scheduled.len() as u64 <= elapsed / INTERVAL + 1,
        "{} scheduled runs in {elapsed} s at one per {INTERVAL} s: {runs:?}",
        scheduled.len()
    );
    let mut queued: Vec<chrono::DateTime<chrono::Utc>> =
        scheduled.iter().map(|run| run["queued_at"].as_str().unwrap().parse().unwrap()).collect();
    queued.sort();
    for pair in queued.windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        assert!(gap >= 1000 * INTERVAL as i64 / 2, "two runs for one due time ({gap} ms apart): {queued:?}");
    }
    // Every run fetched once: requests to the origin match the runs that finished.
    let finished = runs.iter().filter(|run| run["status"] == "COMPLETED").count() as u64;
    let requests = served.load(Ordering::SeqCst);
    assert!(requests >= finished && requests <= finished + 1, "{requests} origin requests for {finished} runs");
}
