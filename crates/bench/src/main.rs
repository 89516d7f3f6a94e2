//! ctxd's benchmarks, run as `cargo xtask bench <name>` (release build). They print
//! figures; nothing here asserts a time.
//!
//! - `queue [--runs N] [--workers W]`: N runs through the durable queue with W
//!   concurrent workers and a no-op pipeline (claim, then finish) on Postgres, next
//!   to the raw `SKIP LOCKED` claim+complete transaction rate of the same server.
//! - `refresh [--sources N]`: N URI sources against a local origin answering 304;
//!   unchanged refreshes per second end to end (REST request → worker → UNCHANGED).
//! - `grpc [--calls N] [--concurrency C] [--rate R]`: unary GetSource over gRPC next
//!   to the same call over REST (see `grpc.rs`).
//! - `extract [--data DIR] [--python PY] [--limit N] [--gate]`: extraction quality and
//!   speed on `../shared/data` (see `extract.rs`).

mod extract;
mod grpc;
mod metrics;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chrono::Utc;
use ctxd_domain::{
    model::{RunFlags, RunStatus, Source, SourceInput},
    ports::{RunFinish, RunQueue, SourceRepository},
};
use ctxd_storage::{Database, SeaStore};
use ctxd_test_support::{Backend, TestDatabase, seed_account, spawn_app_with};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::json;

fn arg(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("missing value")?.parse().with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("queue") => queue(arg(&args, "--runs", 5000)?, arg(&args, "--workers", 4)?).await,
        Some("refresh") => refresh(arg(&args, "--sources", 1000)?).await,
        Some("grpc") => {
            let rate = u32::try_from(arg(&args, "--rate", 2000)?).context("--rate is too large")?;
            grpc::run(arg(&args, "--calls", 20_000)?, arg(&args, "--concurrency", 32)?, rate).await
        }
        Some("extract") => {
            let path =
                |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(PathBuf::from);
            let default_data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
            let options = extract::Options {
                data: path("--data").unwrap_or(default_data),
                python: path("--python"),
                gate: args.iter().any(|a| a == "--gate"),
                dump: path("--dump"),
                limit: args.iter().any(|a| a == "--limit").then(|| arg(&args, "--limit", 0)).transpose()?,
            };
            extract::run(&options)
        }
        _ => bail!(
            "usage: ctxd-bench queue [--runs N] [--workers W] | refresh [--sources N] | \
             grpc [--calls N] [--concurrency C] [--rate R] | \
             extract [--data DIR] [--python PY] [--limit N] [--gate] [--dump DIR]"
        ),
    }
}

async fn postgres() -> anyhow::Result<TestDatabase> {
    TestDatabase::create(Backend::Postgres).await.context("the benchmarks need PostgreSQL (see README: Test it)")
}

/// Inserts `n` PENDING sources with their queued runs.
async fn enqueue(store: &SeaStore, n: usize) -> anyhow::Result<()> {
    let (user, space) = seed_account(store).await;
    for _ in 0..n {
        let input = SourceInput::Content { data: "x".into() };
        let (source, run) = Source::submitted(user.id, space.id, input, RunFlags::default(), Utc::now());
        SourceRepository::create(store, &source, &run).await?;
    }
    Ok(())
}

async fn queue(n_runs: usize, n_workers: usize) -> anyhow::Result<()> {
    let db = postgres().await?;
    let database = Database::connect(&db.url).await?;
    database.migrate().await?;
    let store = Arc::new(database.store());
    enqueue(&store, n_runs).await?;

    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..n_workers {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while let Some(run) =
                RunQueue::claim(store.as_ref(), &format!("bench-{w}"), Duration::from_secs(60)).await?
            {
                let finish = RunFinish::status_only(RunStatus::Completed);
                RunQueue::finish(store.as_ref(), run.id, finish).await?;
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut processed = 0;
    for worker in workers {
        processed += worker.await??;
    }
    let queue_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(processed == n_runs, "processed {processed} of {n_runs}");
    let queue_rate = n_runs as f64 / queue_secs;

    let raw_rate = raw_skip_locked(database.connection(), n_runs, n_workers).await?;
    println!("queue benchmark (Postgres, {n_runs} runs, {n_workers} workers)");
    println!("  ctxd queue, no-op pipeline:      {queue_rate:>10.0} runs/s  ({queue_secs:.2} s)");
    println!("  raw SKIP LOCKED claim+complete:  {raw_rate:>10.0} tx/s");
    println!("  ratio (target >= 0.5):           {:>10.2}", queue_rate / raw_rate);
    Ok(())
}

/// The floor any queue on this server pays: one transaction that claims the oldest
/// queued row with `FOR UPDATE SKIP LOCKED` and marks it done.
async fn raw_skip_locked(connection: &DatabaseConnection, n_jobs: usize, n_workers: usize) -> anyhow::Result<f64> {
    let backend = connection.get_database_backend();
    let sql = move |s: &str| Statement::from_string(backend, s.to_owned());
    connection.execute_raw(sql("DROP TABLE IF EXISTS bench_jobs")).await?;
    connection.execute_raw(sql("CREATE TABLE bench_jobs (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL)")).await?;
    connection
        .execute_raw(sql(&format!("INSERT INTO bench_jobs (status) SELECT 'queued' FROM generate_series(1, {n_jobs})")))
        .await?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..n_workers {
        let connection = connection.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let txn = connection.begin().await?;
                let claimed = txn
                    .query_one_raw(sql(
                        "UPDATE bench_jobs SET status = 'running' WHERE id = (SELECT id FROM bench_jobs \
                         WHERE status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
                    ))
                    .await?;
                let Some(row) = claimed else {
                    txn.commit().await?;
                    return anyhow::Ok(());
                };
                let id: i64 = row.try_get_by_index(0)?;
                txn.execute_raw(sql(&format!("UPDATE bench_jobs SET status = 'done' WHERE id = {id}"))).await?;
                txn.commit().await?;
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(n_jobs as f64 / started.elapsed().as_secs_f64())
}

async fn refresh(n_sources: usize) -> anyhow::Result<()> {
    let origin = axum::Router::new().route(
        "/page/{n}",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            if headers.get("if-none-match").is_some_and(|v| v == "\"stable\"") {
                (axum::http::StatusCode::NOT_MODIFIED, [("etag", "\"stable\"")], "")
            } else {
                (axum::http::StatusCode::OK, [("etag", "\"stable\"")], "a page that never changes")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, origin).await });

    let app = spawn_app_with(Backend::Postgres, |config| {
        config.worker.enabled = true;
        config.worker.count = 8;
        config.worker.poll_interval_ms = 5;
        config.scheduler.enabled = false;
    })
    .await
    .context("the benchmarks need PostgreSQL (see README: Test it)")?;
    let space = app.create_space("bench").await;
    let mut ids = Vec::with_capacity(n_sources);
    for n in 0..n_sources {
        let source = app
            .create_source(&space, json!({"type": "URI", "initial_data": {"url": format!("{base}/page/{n}")}}))
            .await;
        ids.push(source["id"].as_str().context("source id")?.to_owned());
    }
    wait_until_settled(&app, &space, n_sources).await?;

    let started = Instant::now();
    let mut requests = Vec::new();
    for chunk in ids.chunks(n_sources.div_ceil(16).max(1)) {
        let chunk = chunk.to_vec();
        let client = app.client.clone();
        let (address, key) = (app.address.clone(), app.api_key.clone());
        requests.push(tokio::spawn(async move {
            for id in chunk {
                let response =
                    client.post(format!("{address}/v1/sources/{id}/refresh")).bearer_auth(&key).send().await?;
                anyhow::ensure!(response.status() == 202, "refresh answered {}", response.status());
            }
            anyhow::Ok(())
        }));
    }
    for request in requests {
        request.await??;
    }
    let accepted = started.elapsed().as_secs_f64();
    wait_until_settled(&app, &space, n_sources).await?;
    let total = started.elapsed().as_secs_f64();
    let runs = app.get(&format!("/v1/sources/{}/runs", ids[0])).await.body;
    anyhow::ensure!(runs["runs"][0]["outcome"] == "UNCHANGED", "the refresh did not end UNCHANGED: {runs}");

    println!("refresh benchmark (Postgres, {n_sources} URI sources, origin answers 304)");
    println!("  requests accepted:        {:>10.0} /s ({accepted:.2} s)", n_sources as f64 / accepted);
    println!(
        "  unchanged refreshes, end to end (target >= 2000/s): {:>10.0} /s ({total:.2} s)",
        n_sources as f64 / total
    );
    Ok(())
}

/// Waits until every source of the space is COMPLETED.
async fn wait_until_settled(app: &ctxd_test_support::TestApp, space: &str, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = app.get(&format!("/v1/spaces/{space}/sources?status=COMPLETED&per_page=1")).await.body;
        if done["pagination"]["total"].as_u64() == Some(n as u64) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "sources did not settle: {done}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
