//! `ctxd worker` processes sharing one Postgres database: every run is processed
//! exactly once across processes, and a run held by a killed worker is reclaimed.

mod common;

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use common::{Server, ctxd};
use ctxd_domain::{
    model::{PageRequest, Plan, SourceMaterial, User},
    ports::SourceFilter,
    services::{NewSource, SpaceInput, UseCases},
    state::SourceStatus,
};
use ctxd_server::{Config, app::Adapters};
use ctxd_test_support::{Backend, TestDatabase};
use sea_orm::{ConnectionTrait, Statement};

struct Setup {
    db: TestDatabase,
    data_dir: tempfile::TempDir,
    use_cases: UseCases,
    connection: sea_orm::DatabaseConnection,
    user: User,
}

async fn setup() -> Option<Setup> {
    let db = TestDatabase::create(Backend::Postgres).await?;
    let data_dir = tempfile::tempdir().unwrap();
    let config = Config { database_url: Some(db.url.clone()), data_dir: data_dir.path().into(), ..Config::default() };
    let (database, adapters) = Adapters::open(&config).await.unwrap();
    let use_cases = UseCases::new(adapters.ports(), config.use_case_limits().unwrap());
    let (user, _) = use_cases.api_keys.create_for_user_name("load", Some(Plan::Pro)).await.unwrap();
    Some(Setup { db, data_dir, use_cases, connection: database.connection().clone(), user })
}

impl Setup {
    fn worker(&self, count: u32, lease_seconds: u32) -> Server {
        let child = ctxd()
            .args(["worker", "--data-dir"])
            .arg(self.data_dir.path())
            .env("DATABASE_URL", &self.db.url)
            .env("CTXD_WORKER__COUNT", count.to_string())
            .env("CTXD_WORKER__LEASE_SECONDS", lease_seconds.to_string())
            .env("CTXD_WORKER__POLL_INTERVAL_MS", "20")
            .env("CTXD_SCHEDULER__ENABLED", "false")
            .env("CTXD_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Server(child)
    }

    async fn count(&self, sql: &str) -> i64 {
        let row = self
            .connection
            .query_one_raw(Statement::from_string(self.connection.get_database_backend(), sql.to_owned()))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_runs_are_processed_exactly_once_by_four_workers_in_two_processes() {
    let Some(setup) = setup().await else { return };
    let space = setup
        .use_cases
        .spaces
        .create(&setup.user, SpaceInput { name: "load".into(), description: None })
        .await
        .unwrap();
    let n_runs = 1000;
    for i in 0..n_runs {
        let request = NewSource::new(SourceMaterial::Content { data: format!("document {i}") });
        setup.use_cases.sources.create(&setup.user, space.id, request).await.unwrap();
    }
    let _workers = [setup.worker(2, 30), setup.worker(2, 30)];
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let filter = SourceFilter { status: Some(SourceStatus::Completed), ..SourceFilter::default() };
        let done = setup.use_cases.sources.list(&setup.user, space.id, filter, PageRequest::default()).await.unwrap();
        if done.total == n_runs {
            break;
        }
        assert!(Instant::now() < deadline, "only {} of {n_runs} runs completed", done.total);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        setup.count("SELECT count(*) FROM revisions").await,
        n_runs as i64,
        "one revision per run: none processed twice"
    );
    assert_eq!(
        setup.count("SELECT count(*) FROM runs WHERE status = 'COMPLETED' AND attempt = 1").await,
        n_runs as i64
    );
    assert_eq!(setup.count("SELECT count(*) FROM runs WHERE status <> 'COMPLETED'").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_held_by_a_killed_worker_is_reclaimed_and_finished_once() {
    let Some(setup) = setup().await else { return };
    let origin = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "the page"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });

    let space =
        setup.use_cases.spaces.create(&setup.user, SpaceInput { name: "s".into(), description: None }).await.unwrap();
    let request = NewSource::new(SourceMaterial::Uri { url });
    let source = setup.use_cases.sources.create(&setup.user, space.id, request).await.unwrap();

    let mut doomed = setup.worker(1, 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while setup.use_cases.sources.get(&setup.user, source.id).await.unwrap().status != SourceStatus::Processing {
        assert!(Instant::now() < deadline, "the first worker never claimed the run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.0.kill().unwrap(); // SIGKILL: no graceful release
    doomed.0.wait().unwrap();

    let _rescuer = setup.worker(1, 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let current = setup.use_cases.sources.get(&setup.user, source.id).await.unwrap();
        if current.status == SourceStatus::Completed {
            break current;
        }
        assert!(Instant::now() < deadline, "the run was never reclaimed: {:?}", current.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(finished.revision, Some(1), "finished once");
    assert_eq!(finished.last_run.unwrap().attempt, 2, "the second claim finished it");
    assert_eq!(setup.count("SELECT count(*) FROM revisions").await, 1);
}
