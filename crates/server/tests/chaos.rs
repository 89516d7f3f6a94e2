//! The fault suite, on real `ctxd` processes and Postgres: workers killed mid-run,
//! runs whose workers die every time, a database that stops and comes back under
//! load, a blob directory that refuses writes. Each scenario prints its figures.
//!
//! The test suite runs a short form; `cargo xtask chaos` runs the full one
//! (`CTXD_CHAOS_KILLS`, `CTXD_CHAOS_OUTAGE_SECONDS`).

mod common;

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use common::{Server, ctxd, free_port};
use ctxd_test_support::{Backend, PrivateCluster, TestDatabase};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

fn setting(name: &str, short: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(short)
}

/// A lease short enough that reclaims happen within the test.
const LEASE_SECONDS: u64 = 2;

/// A user's key and the REST address of a `ctxd serve` process.
struct Api {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }
}

/// A database with a user, and the processes started on it.
struct Stage {
    url: String,
    data_dir: tempfile::TempDir,
    connection: DatabaseConnection,
    key: String,
}

impl Stage {
    async fn on(url: String) -> Self {
        let database = ctxd_storage::Database::connect(&url).await.expect("connect");
        database.migrate().await.expect("migrate");
        let output = ctxd().args(["keys", "create", "--user", "chaos"]).env("DATABASE_URL", &url).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        Self { url, data_dir: tempfile::tempdir().unwrap(), connection: database.connection().clone(), key }
    }

    /// A `ctxd` process with this stage's database and settings for fast faults.
    fn process(&self, args: &[&str]) -> std::process::Command {
        let mut command = ctxd();
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env("DATABASE_URL", &self.url)
            .env("HOSTNAME", "chaos")
            .env("CTXD_WORKER__LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("CTXD_WORKER__POLL_INTERVAL_MS", "50")
            .env("CTXD_WORKER__RETRY_BASE_SECONDS", "1")
            .env("CTXD_SCHEDULER__ENABLED", "false")
            .env("CTXD_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
            .env("CTXD_RATE_LIMITS__PRO_PER_MINUTE", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// A `ctxd worker` process with more workers than the scenarios keep busy, so a
    /// reclaim measures the lease, not a queue of other work.
    fn worker(&self) -> Server {
        self.worker_with(&[])
    }

    fn worker_with(&self, extra_env: &[(&str, &str)]) -> Server {
        let mut command = self.process(&["worker"]);
        command.env("CTXD_WORKER__COUNT", "4").envs(extra_env.iter().copied());
        Server(command.spawn().unwrap())
    }

    /// `ctxd serve` on a free port, once it answers `/health`.
    async fn serve(&self, extra_env: &[(&str, &str)]) -> (Server, Api) {
        let port = free_port();
        let mut command = self.process(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
        command.envs(extra_env.iter().copied());
        let server = Server(command.spawn().unwrap());
        let api =
            Api { base: format!("http://127.0.0.1:{port}"), key: self.key.clone(), client: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while api.call(reqwest::Method::GET, "/health", None).await.0 != 200 {
            assert!(Instant::now() < deadline, "ctxd serve did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (server, api)
    }

    /// The rows of `sql`; tried again when the test's own connection died in an outage.
    async fn rows(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        let statement = Statement::from_string(self.connection.get_database_backend(), sql.to_owned());
        for _ in 0..5 {
            if let Ok(rows) = self.connection.query_all_raw(statement.clone()).await {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.connection.query_all_raw(statement).await.unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        self.rows(sql).await[0].try_get_by_index::<i64>(0).unwrap()
    }
}

/// A local origin: `/slow/{n}` answers after 1.5 s, `/hang` never does.
async fn origin() -> String {
    let app = axum::Router::new()
        .route(
            "/slow/{n}",
            axum::routing::get(|axum::extract::Path(n): axum::extract::Path<u32>| async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                format!("page {n}")
            }),
        )
        .route(
            "/hang",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// The pid in a worker id (`chaos-{pid}-{random}-{n}`).
fn pid_of(worker: &str) -> Option<u32> {
    worker.strip_prefix("chaos-")?.split('-').next()?.parse().ok()
}

/// A run a killed worker held, and what became of it.
struct Killed {
    run: String,
    /// The run's claim count when its holder died.
    attempt: i32,
    at: Instant,
}

/// Waits until one of `workers` holds a run, kills that process (SIGKILL: no release,
/// no goodbye) and starts another in its place, with `extra_env`.
async fn kill_a_holder(stage: &Stage, workers: &mut Vec<Server>, extra_env: &[(&str, &str)]) -> Killed {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = stage.rows("SELECT id::text AS id, locked_by, attempt FROM runs WHERE status = 'PROCESSING'").await;
        for row in held {
            let run: String = row.try_get("", "id").unwrap();
            let holder: Option<String> = row.try_get("", "locked_by").unwrap();
            let attempt: i32 = row.try_get("", "attempt").unwrap();
            let Some(pid) = holder.as_deref().and_then(pid_of) else { continue };
            let Some(index) = workers.iter().position(|w| w.0.id() == pid) else { continue };
            let mut doomed = workers.swap_remove(index);
            doomed.0.kill().unwrap();
            doomed.0.wait().unwrap();
            let at = Instant::now();
            workers.push(stage.worker_with(extra_env));
            return Killed { run, attempt, at };
        }
        assert!(Instant::now() < deadline, "no worker ever held a run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long after its holder died the run was claimed again (or finished).
async fn reclaimed_after(stage: &Stage, killed: &Killed) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(60);
    let sql = format!("SELECT attempt, status FROM runs WHERE id = '{}'", killed.run);
    loop {
        let rows = stage.rows(&sql).await;
        let attempt: i32 = rows[0].try_get("", "attempt").unwrap();
        let status: String = rows[0].try_get("", "status").unwrap();
        if attempt > killed.attempt || status != "PROCESSING" {
            return killed.at.elapsed();
        }
        assert!(Instant::now() < deadline, "run {} was never claimed again", killed.run);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn postgres_stage() -> Option<(TestDatabase, Stage)> {
    let db = TestDatabase::create(Backend::Postgres).await?;
    let stage = Stage::on(db.url.clone()).await;
    Some((db, stage))
}

/// Workers are killed mid-run again and again: every run finishes exactly once, and
/// a killed worker's run is claimed again within the lease plus 5 s. A process holds
/// several runs, so a run can lose more attempts to the kills than `max_attempts`
/// allows (and would rightly be given up, as the next scenario shows): here the
/// budget is large, since the point is that nothing is lost or done twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_never_lose_or_repeat_a_run() {
    let Some((_db, stage)) = postgres_stage().await else { return };
    let kills = setting("CTXD_CHAOS_KILLS", 5);
    let origin = origin().await;
    let (_server, api) = stage.serve(&[("CTXD_WORKER__ENABLED", "false")]).await;
    let (status, space) = api.call(reqwest::Method::POST, "/v1/spaces", Some(json!({"name": "chaos"}))).await;
    assert_eq!(status, 201);
    let space = space["id"].as_str().unwrap().to_owned();
    let patient = [("CTXD_WORKER__MAX_ATTEMPTS", "1000")];
    let mut workers = vec![stage.worker_with(&patient), stage.worker_with(&patient)];
    let mut sources = 0;
    let mut slowest = Duration::ZERO;
    for round in 0..kills {
        // Fresh work every round, so there is always a run to be in the middle of.
        for n in 0..3 {
            let url = format!("{origin}/slow/{}", round * 3 + n);
            let body = json!({"type": "URI", "initial_data": {"url": url}});
            let (status, _) = api.call(reqwest::Method::POST, &format!("/v1/spaces/{space}/sources"), Some(body)).await;
            assert_eq!(status, 202);
            sources += 1;
        }
        let victim = kill_a_holder(&stage, &mut workers, &patient).await;
        let reclaim = reclaimed_after(&stage, &victim).await;
        assert!(
            reclaim <= Duration::from_secs(LEASE_SECONDS + 5),
            "run {} was reclaimed after {reclaim:?}",
            victim.run
        );
        slowest = slowest.max(reclaim);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while stage.count("SELECT count(*) FROM runs WHERE status <> 'COMPLETED'").await > 0 {
        if Instant::now() > deadline {
            let left = stage
                .rows("SELECT id::text AS id, status, attempt, error, locked_by FROM runs WHERE status <> 'COMPLETED'")
                .await;
            let left: Vec<String> = left
                .iter()
                .map(|r| {
                    let get = |c: &str| r.try_get::<Option<String>>("", c).ok().flatten().unwrap_or_default();
                    let attempt: i32 = r.try_get("", "attempt").unwrap_or(-1);
                    format!("{} {} attempt {attempt} {} {}", get("id"), get("status"), get("error"), get("locked_by"))
                })
                .collect();
            panic!("runs left unfinished after the kills: {left:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stage.count("SELECT count(*) FROM runs").await, sources, "one run per source");
    assert_eq!(stage.count("SELECT count(*) FROM revisions").await, sources, "each run committed once");
    println!(
        "chaos: {kills} workers killed mid-run; {sources} runs finished exactly once; slowest reclaim {slowest:?} \
         (lease {LEASE_SECONDS} s)"
    );
}

/// A run whose worker dies every time (the origin never answers and each holder is
/// killed) is given up after `max_attempts` claims: FAILED with a message, its
/// attempt count at the maximum, and the source usable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_workers_keep_dying_fails_after_its_attempts() {
    let Some((_db, stage)) = postgres_stage().await else { return };
    let origin = origin().await;
    let (_server, api) = stage.serve(&[("CTXD_WORKER__ENABLED", "false")]).await;
    let (_, space) = api.call(reqwest::Method::POST, "/v1/spaces", Some(json!({"name": "poison"}))).await;
    let space = space["id"].as_str().unwrap().to_owned();
    let body = json!({"type": "URI", "initial_data": {"url": format!("{origin}/hang")}});
    let (_, source) = api.call(reqwest::Method::POST, &format!("/v1/spaces/{space}/sources"), Some(body)).await;
    let source = source["id"].as_str().unwrap().to_owned();
    let mut workers = vec![stage.worker()];
    for _ in 0..3 {
        kill_a_holder(&stage, &mut workers, &[]).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let failed = loop {
        let (_, current) = api.call(reqwest::Method::GET, &format!("/v1/sources/{source}"), None).await;
        if current["status"] == "FAILED" {
            break current;
        }
        assert!(Instant::now() < deadline, "the poisoned run never failed: {current}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(failed["message"].as_str().unwrap().contains("gave up after 3 attempts"), "{failed}");
    assert_eq!(failed["last_run"]["attempt"], 3, "{failed}");
    println!("chaos: a run whose worker died 3 times ended FAILED: {}", failed["message"]);
}

/// Postgres stops for a while under load from several clients and comes back: while
/// it is down, answers are 503 (in the contract's shape) within the acquire time-out;
/// once it is back, no request fails; every source whose create was accepted exists
/// and finishes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_under_load_loses_nothing() {
    let Some(cluster) = tokio::task::spawn_blocking(PrivateCluster::start).await.unwrap() else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but no private PostgreSQL cluster could be started");
        return;
    };
    let outage = Duration::from_secs(setting("CTXD_CHAOS_OUTAGE_SECONDS", 4));
    let stage = Stage::on(cluster.url()).await;
    let (_server, api) = stage.serve(&[("CTXD_DATABASE__ACQUIRE_TIMEOUT_MS", "2000")]).await;
    let api = Arc::new(api);
    let (_, space) = api.call(reqwest::Method::POST, "/v1/spaces", Some(json!({"name": "load"}))).await;
    let space = space["id"].as_str().unwrap().to_owned();

    let down = Arc::new(AtomicBool::new(false));
    let back = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let (during_503, during_other, after_failures, slowest_ms) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let accepted = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for client in 0..4 {
        let (api, space, down, back, stop) = (api.clone(), space.clone(), down.clone(), back.clone(), stop.clone());
        let (during_503, during_other, after_failures, slowest_ms, accepted) =
            (during_503.clone(), during_other.clone(), after_failures.clone(), slowest_ms.clone(), accepted.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let started = Instant::now();
                let (status, body) = if n % 2 == 0 {
                    let data = format!("client {client} document {n}");
                    let body = json!({"type": "CONTENT", "initial_data": {"data": data}});
                    api.call(reqwest::Method::POST, &format!("/v1/spaces/{space}/sources"), Some(body)).await
                } else {
                    api.call(reqwest::Method::GET, &format!("/v1/spaces/{space}/sources?per_page=5"), None).await
                };
                let elapsed = started.elapsed();
                if status == 202 {
                    accepted.lock().unwrap().push(body["id"].as_str().unwrap().to_owned());
                }
                if back.load(Ordering::SeqCst) {
                    if status >= 500 || status == 0 {
                        after_failures.fetch_add(1, Ordering::SeqCst);
                    }
                } else if down.load(Ordering::SeqCst) {
                    slowest_ms.fetch_max(elapsed.as_millis() as u64, Ordering::SeqCst);
                    if status == 503 && body["requestId"].is_string() {
                        during_503.fetch_add(1, Ordering::SeqCst);
                    } else if status >= 500 || status == 0 {
                        during_other.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    down.store(true, Ordering::SeqCst);
    assert!(tokio::task::block_in_place(|| cluster.stop()));
    tokio::time::sleep(outage).await;
    assert!(tokio::task::block_in_place(|| cluster.resume()));
    // Requests sent before the server was back may still be waiting for a connection;
    // "after" starts once one request has gone through.
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.call(reqwest::Method::GET, "/v1/spaces", None).await.0 != 200 {
        assert!(Instant::now() < deadline, "the API never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    back.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }

    let accepted = accepted.lock().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while stage.count("SELECT count(*) FROM runs WHERE status NOT IN ('COMPLETED')").await > 0 {
        assert!(Instant::now() < deadline, "runs left unfinished after the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in &accepted {
        let (status, source) = api.call(reqwest::Method::GET, &format!("/v1/sources/{id}"), None).await;
        assert_eq!((status, source["revision"].as_u64()), (200, Some(1)), "accepted source {id}: {source}");
    }
    assert_eq!(stage.count("SELECT count(*) FROM revisions").await, stage.count("SELECT count(*) FROM sources").await);
    let (during_503, during_other, after_failures, slowest) = (
        during_503.load(Ordering::SeqCst),
        during_other.load(Ordering::SeqCst),
        after_failures.load(Ordering::SeqCst),
        slowest_ms.load(Ordering::SeqCst),
    );
    println!(
        "chaos: Postgres down {outage:?} under 4 clients: {during_503} answers 503 while down (slowest {slowest} ms), \
         {during_other} other failures; {after_failures} failures after it came back; {} accepted creates all \
         finished once",
        accepted.len()
    );
    assert!(during_503 > 0, "the outage was seen");
    assert_eq!(during_other, 0, "while down, every failure is a shaped 503");
    assert!(slowest <= 2000 + 2500, "answers while down took up to {slowest} ms");
    assert_eq!(after_failures, 0, "no failure once the database is back");
}

/// The local blob directory stops taking writes during uploads (read-only, or, for
/// root, whom modes do not stop, a file where the directory should be): the upload
/// answers 503 in the contract's shape, no half-written object is visible, and the
/// same upload URL works once the directory is writable again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_directory_that_refuses_writes_leaves_no_half_written_upload() {
    let Some((_db, stage)) = postgres_stage().await else { return };
    let (_server, api) = stage.serve(&[("CTXD_WORKER__ENABLED", "false")]).await;
    let bytes = vec![b'x'; 3 * 1024 * 1024];
    let presign =
        |name: &str| json!({"filename": name, "contentType": "application/octet-stream", "size": bytes.len()});
    let put = |url: String, body: Vec<u8>| async move {
        let response = reqwest::Client::new()
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    };
    // A first upload creates the directory.
    let (_, first) = api.call(reqwest::Method::POST, "/v1/upload/s3", Some(presign("first.bin"))).await;
    assert_eq!(put(first["uploadUrl"].as_str().unwrap().to_owned(), bytes.clone()).await.0, 200);

    let uploads = stage.data_dir.path().join("blobs/uploads");
    let is_root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let refuse = || {
        if is_root {
            std::fs::rename(&uploads, uploads.with_extension("moved")).unwrap();
            std::fs::write(&uploads, b"in the way").unwrap();
        } else {
            std::process::Command::new("chmod").arg("a-w").arg(&uploads).status().unwrap();
        }
    };
    let restore = || {
        if is_root {
            std::fs::remove_file(&uploads).unwrap();
            std::fs::rename(uploads.with_extension("moved"), &uploads).unwrap();
        } else {
            std::process::Command::new("chmod").arg("u+w").arg(&uploads).status().unwrap();
        }
    };
    let (_, second) = api.call(reqwest::Method::POST, "/v1/upload/s3", Some(presign("second.bin"))).await;
    let url = second["uploadUrl"].as_str().unwrap().to_owned();
    let key = second["fileKey"].as_str().unwrap().to_owned();
    refuse();
    let (status, body) = put(url.clone(), bytes.clone()).await;
    restore();
    assert_eq!(status, 503, "{body}");
    assert!(body["requestId"].is_string() && body["message"].is_string(), "{body}");
    let (status, _) = api.call(reqwest::Method::GET, &format!("/v1/files/{key}"), None).await;
    assert_eq!(status, 404, "nothing half-written is visible");
    let leftovers: Vec<_> = std::fs::read_dir(&uploads)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(&key))
        .collect();
    assert!(leftovers.is_empty(), "no staged part is left behind: {leftovers:?}");

    let (status, body) = put(url, bytes.clone()).await;
    assert_eq!(status, 200, "the same URL works once the directory takes writes: {body}");
    let (status, _) = api.call(reqwest::Method::GET, &format!("/v1/files/{key}"), None).await;
    assert_eq!(status, 200);
    println!("chaos: an upload into a directory that refused writes answered 503 and left nothing behind");
}
