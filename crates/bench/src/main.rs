//! ctxd's benchmarks, run as `cargo xtask bench <name>` (release build). They print
//! figures; nothing here asserts a time.
//!
//! - `queue [--runs N] [--workers W]`: N runs through the durable queue with W
//!   concurrent workers and a no-op pipeline (claim, then finish) on Postgres, next
//!   to the raw `SKIP LOCKED` claim+complete transaction rate of the same server.
//! - `refresh [--sources N] [--rounds R]` (also `fetch`): N URI sources against a
//!   local origin answering 304, refreshed R times; unchanged refreshes per second end
//!   to end (REST request → worker → UNCHANGED) in the median round, with the requests and body bytes the origin served per refresh
//!   (see `fetch.rs`).
//! - `upload [--ctxd PATH] [--mib N]`: peak RSS of a `ctxd serve` process while a
//!   client PUTs an N MiB file to its signed upload URL (see `upload.rs`).
//! - `grpc [--calls N] [--concurrency C] [--rate R]`: unary GetSource over gRPC next
//!   to the same call over REST (see `grpc.rs`).
//! - `scale [--sqlite] [--sizes 10000,100000,1000000]`: API reads, claims and
//!   scheduler passes at growing data sizes on Postgres (SQLite: 10k and 100k), with
//!   the ratio of the largest to the smallest (see `scale/`).
//! - `extract [--data DIR] [--python PY] [--limit N] [--gate]`: extraction quality and
//!   speed on `../shared/data` (see `extract.rs`).
//! - `database NAME`: (re)creates the empty Postgres database NAME on the server the
//!   tests use and prints its URL, for suites driven from outside Rust (schemathesis).

mod cpu;
mod extract;
mod fetch;
mod grpc;
mod metrics;
mod scale;
mod upload;

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
use ctxd_test_support::{Backend, TestDatabase, seed_account};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};

fn arg(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("missing value")?.parse().with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

/// The allocator `ctxd` itself uses, so the in-process server measures as shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("queue") => queue(arg(&args, "--runs", 5000)?, arg(&args, "--workers", 4)?).await,
        Some("refresh" | "fetch") => {
            fetch::run(arg(&args, "--sources", 4000)?, arg(&args, "--rounds", 3)?.max(1)).await
        }
        Some("upload") => {
            let ctxd = args.iter().position(|a| a == "--ctxd").and_then(|i| args.get(i + 1)).map(PathBuf::from);
            upload::run(ctxd.context("--ctxd PATH (cargo xtask bench upload passes it)")?, arg(&args, "--mib", 100)?)
                .await
        }
        Some("grpc") => {
            let rate = u32::try_from(arg(&args, "--rate", 2000)?).context("--rate is too large")?;
            grpc::run(arg(&args, "--calls", 20_000)?, arg(&args, "--concurrency", 32)?, rate).await
        }
        Some("scale") => {
            let sizes = match args.iter().position(|a| a == "--sizes") {
                Some(i) => args
                    .get(i + 1)
                    .context("--sizes N,N,...")?
                    .split(',')
                    .map(|n| n.trim().replace('_', "").parse::<u64>().context("--sizes takes numbers"))
                    .collect::<anyhow::Result<Vec<_>>>()?,
                None if args.iter().any(|a| a == "--sqlite") => vec![10_000, 100_000],
                None => vec![10_000, 100_000, 1_000_000],
            };
            let backend = if args.iter().any(|a| a == "--sqlite") { Backend::Sqlite } else { Backend::Postgres };
            scale::run(backend, sizes).await
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
        Some("database") => {
            let name = args.get(1).filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            let name = name.context("database NAME (letters, digits and _)")?;
            let admin = ctxd_test_support::postgres_admin_url().await.context("no PostgreSQL server found")?;
            ctxd_test_support::postgres_execute(&admin, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            ctxd_test_support::postgres_execute(&admin, &format!("CREATE DATABASE \"{name}\"")).await;
            println!("{}", ctxd_test_support::with_database(&admin, name));
            Ok(())
        }
        _ => bail!(
            "usage: ctxd-bench database NAME | queue [--runs N] [--workers W] | refresh|fetch [--sources N] | \
             upload --ctxd PATH [--mib N] | \
             grpc [--calls N] [--concurrency C] [--rate R] | scale [--sqlite] [--sizes N,N,...] | \
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
        SourceRepository::create(store, &source, &run, None).await?;
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
            while let Some(claimed) =
                RunQueue::claim(store.as_ref(), &format!("bench-{w}"), Duration::from_secs(60)).await?
            {
                let finish = RunFinish::status_only(RunStatus::Completed);
                RunQueue::finish(store.as_ref(), claimed.run.id, finish).await?;
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

/// Waits until every source of the space is COMPLETED.
pub(crate) async fn wait_until_settled(app: &ctxd_test_support::TestApp, space: &str, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done = app.get(&format!("/v1/spaces/{space}/sources?status=COMPLETED&per_page=1")).await.body;
        if done["pagination"]["total"].as_u64() == Some(n as u64) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "sources did not settle: {done}");
        // Each poll counts the space's sources: often enough for a 1-2 % error, rarely
        // enough that the polling is not what the benchmark measures.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
