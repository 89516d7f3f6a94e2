//! Dev-only helpers for tests: a fresh database per test on SQLite or a real
//! Postgres server, and the whole application spawned in-process on a free port.

mod postgres;

use std::path::PathBuf;

use ctxd_domain::{
    model::Plan,
    services::{UseCases, handoff::Handoff},
};
use ctxd_server::{Application, Config};
use ctxd_storage::{Database, SeaStore};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

pub use crate::postgres::{
    PrivateCluster, admin_url as postgres_admin_url, execute as postgres_execute, with_database,
};

/// The two storage backends every end-to-end test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists only for one test.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// The SQLite file lives in this directory, removed on drop.
    Directory(#[allow(dead_code)] tempfile::TempDir),
    /// The Postgres database to drop.
    PostgresDatabase { admin_url: String, name: String },
    /// A database the test brought (a private cluster it removes itself).
    Nothing,
}

impl TestDatabase {
    /// A new, empty database, or `None` when Postgres was asked for, none can be found
    /// or started, and `CI` is not set (then the test reports itself skipped).
    ///
    /// # Panics
    /// When `CI` is set and no Postgres server can be found or started: CI must fail
    /// rather than quietly skip half the suite.
    pub async fn create(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("ctxd.db").display());
                Some(Self { url, backend, cleanup: Cleanup::Directory(dir) })
            }
            Backend::Postgres => {
                let Some(admin_url) = postgres::admin_url().await else {
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "CI is set but no PostgreSQL server could be found or started; see crates/test-support/src/postgres.rs"
                    );
                    eprintln!("SKIPPED: no PostgreSQL server found or startable (set CTXD_TEST_POSTGRES_URL)");
                    return None;
                };
                let name = format!("ctxd_test_{}", uuid::Uuid::new_v4().simple());
                postgres::execute(&admin_url, &format!("CREATE DATABASE \"{name}\"")).await;
                let url = with_database(&admin_url, &name);
                Some(Self { url, backend, cleanup: Cleanup::PostgresDatabase { admin_url, name } })
            }
        }
    }

    /// A database the caller made and removes (see [`PrivateCluster`]).
    pub fn existing(url: String, backend: Backend) -> Self {
        Self { url, backend, cleanup: Cleanup::Nothing }
    }

    /// A connection with migrations applied.
    pub async fn connect(&self) -> Database {
        let database = Database::connect(&self.url).await.expect("connect to the test database");
        database.migrate().await.expect("migrate the test database");
        database
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::PostgresDatabase { admin_url, name } = &self.cleanup {
            // Drop runs outside any runtime guarantee, so use a private one on a thread.
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(postgres::execute(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                ));
            })
            .join();
        }
    }
}

/// Stores a user and a space of theirs, for tests that work below the API.
pub async fn seed_account(store: &SeaStore) -> (ctxd_domain::model::User, ctxd_domain::model::Space) {
    use ctxd_domain::{
        ids::{SpaceId, UserId},
        model::{Space, User},
        ports::{SpaceRepository, UserRepository},
    };
    let now = chrono::Utc::now();
    let user = User { id: UserId::new(), name: format!("user-{}", UserId::new()), plan: Plan::Pro, created_at: now };
    UserRepository::insert(store, &user).await.expect("insert user");
    let space = Space {
        id: SpaceId::new(),
        user_id: user.id,
        name: "space".into(),
        description: None,
        created_at: now,
        updated_at: now,
    };
    SpaceRepository::insert(store, &space).await.expect("insert space");
    (user, space)
}

/// The application running in-process, with a user and a key to call it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// `http://127.0.0.1:PORT` of the gRPC API.
    pub grpc_address: Option<String>,
    pub client: reqwest::Client,
    /// A key of the user `alice`.
    pub api_key: String,
    pub use_cases: UseCases,
    /// The app's idle workers (none unless workers are enabled).
    pub handoff: Handoff,
    pub store: SeaStore,
    pub database: TestDatabase,
    pub data_dir: tempfile::TempDir,
    /// Ends the server (and its workers) gracefully; see [`TestApp::stop`].
    shutdown: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>,
}

/// Starts the app on a fresh database of `backend` and a free port. `None` means the
/// test must be skipped (see [`TestDatabase::create`]).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], after letting the test adjust the configuration.
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let database = TestDatabase::create(backend).await?;
    Some(spawn_app_on(database, configure).await)
}

/// Starts the app on `database`, after letting the test adjust the configuration.
pub async fn spawn_app_on(database: TestDatabase, configure: impl FnOnce(&mut Config)) -> TestApp {
    init_logging();
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: PathBuf::from(data_dir.path()),
        database_url: Some(database.url.clone()),
        ..Config::default()
    };
    // Tests that play the worker themselves must not race an in-process pool; the
    // pipeline tests turn it back on.
    config.worker.enabled = false;
    // Test origins and receivers listen on 127.0.0.1; one test turns the guard back on.
    config.fetch.allow_private_networks = true;
    // Tests poll; the rate-limit test sets its own small limits.
    config.rate_limits.pro_per_minute = 1_000_000;
    config.rate_limits.free_per_minute = 1_000_000;
    // Many apps run at once: gRPC on a free port too.
    config.grpc.listen = "127.0.0.1:0".into();
    configure(&mut config);
    let app = Application::build(&config).await.expect("build the application");
    let address = format!("http://{}", app.local_addr());
    let grpc_address = app.grpc_addr().map(|a| format!("http://{a}"));
    let use_cases = app.use_cases().clone();
    let store = app.database().store();
    let handoff = app.handoff().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async move {
                let _ = stopped.await;
            })
            .await;
    });
    let (_, issued) = use_cases.api_keys.create_for_user_name("alice", Some(Plan::Pro)).await.expect("create alice");
    TestApp {
        address,
        grpc_address,
        client: reqwest::Client::new(),
        api_key: issued.secret.expose().to_owned(),
        use_cases,
        handoff,
        store,
        database,
        data_dir,
        shutdown: Some((stop, server)),
    }
}

fn init_logging() {
    // Quiet unless TEST_LOG is set; `try_init` because every test calls this.
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt().with_env_filter("info,sqlx=warn").with_test_writer().try_init();
    }
}

/// A response reduced to what tests look at.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `details[].field` entries of an error body.
    pub fn detail_fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|details| details.iter().filter_map(|d| d["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

impl TestApp {
    /// Shuts the server and its workers down as a signal would, and waits for it; the
    /// database and data directory stay, so another app can start on them.
    pub async fn stop(&mut self) {
        if let Some((stop, server)) = self.shutdown.take() {
            let _ = stop.send(());
            let _ = server.await;
        }
    }

    /// A request with alice's key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(&self.api_key, method, path)
    }

    /// A request with another key.
    pub fn request_as(&self, api_key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{}", self.address, path)).bearer_auth(api_key)
    }

    pub async fn send(&self, request: RequestBuilder) -> TestResponse {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.send(self.request(Method::PUT, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.send(self.request(Method::PATCH, path).json(&body)).await
    }

    /// A key for another user, created if needed.
    pub async fn key_for(&self, user: &str) -> String {
        let (_, issued) = self.use_cases.api_keys.create_for_user_name(user, Some(Plan::Pro)).await.expect("user key");
        issued.secret.expose().to_owned()
    }

    /// Creates a space and returns its id.
    pub async fn create_space(&self, name: &str) -> String {
        let response = self.post("/v1/spaces", serde_json::json!({ "name": name })).await;
        assert_eq!(response.status, 201, "{:?}", response.body);
        response.body["id"].as_str().expect("space id").to_owned()
    }

    /// Creates a source in a space and returns the response body.
    pub async fn create_source(&self, space_id: &str, body: Value) -> Value {
        let response = self.post(&format!("/v1/spaces/{space_id}/sources"), body).await;
        assert_eq!(response.status, 202, "{:?}", response.body);
        response.body
    }
}

/// A fresh bucket on the S3-compatible server the tests use
/// (`CTXD_TEST_S3_ENDPOINT`; `cargo xtask ci` starts moto's server and sets it).
/// Returns `(endpoint, bucket)`, or `None` to skip the test when no server is
/// configured and `CI` is not set.
///
/// # Panics
/// When `CI` is set and no server is configured, or the bucket cannot be created.
pub async fn s3_bucket() -> Option<(String, String)> {
    let Ok(endpoint) = std::env::var("CTXD_TEST_S3_ENDPOINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but CTXD_TEST_S3_ENDPOINT is not: the S3 tests must run (cargo xtask ci starts moto)"
        );
        eprintln!("SKIPPED: no S3-compatible server (set CTXD_TEST_S3_ENDPOINT, e.g. to a moto server)");
        return None;
    };
    let endpoint = endpoint.trim_end_matches('/').to_owned();
    let bucket = format!("ctxd-test-{}", uuid::Uuid::new_v4().simple());
    // moto and MinIO's anonymous-friendly setups accept an unsigned CreateBucket.
    let response = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("the S3 server at {endpoint} does not answer: {e}"));
    assert!(response.status().is_success(), "cannot create bucket {bucket}: {}", response.status());
    Some((endpoint, bucket))
}
