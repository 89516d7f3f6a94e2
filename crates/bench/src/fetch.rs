//! Unchanged refreshes end to end: N URI sources against a local origin that
//! answers 304 to a matching `If-None-Match`, refreshed over REST and processed by
//! in-process workers on Postgres. The origin counts what it served during the
//! refresh phase, so "one request and no body bytes per unchanged refresh" is
//! measured, not assumed.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use axum::{extract::State, http::HeaderMap, http::StatusCode, response::IntoResponse};
use ctxd_test_support::{Backend, TestApp, spawn_app_with};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::{cpu::CpuTime, wait_until_settled};

const PAGE: &str = "a page that never changes";

/// What an [`origin`] served.
#[derive(Debug, Default)]
pub(crate) struct Served {
    requests: AtomicU64,
    body_bytes: AtomicU64,
}

impl Served {
    /// Requests and body bytes served so far.
    pub(crate) fn so_far(&self) -> (u64, u64) {
        (self.requests.load(Ordering::Relaxed), self.body_bytes.load(Ordering::Relaxed))
    }
}

async fn page(State((served, body)): State<(Arc<Served>, &'static str)>, headers: HeaderMap) -> impl IntoResponse {
    served.requests.fetch_add(1, Ordering::Relaxed);
    if headers.get("if-none-match").is_some_and(|v| v == "\"stable\"") {
        return (StatusCode::NOT_MODIFIED, [("etag", "\"stable\"")], "");
    }
    served.body_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    (StatusCode::OK, [("etag", "\"stable\"")], body)
}

/// A local origin serving `body` at `/page` and `/page/{n}` with a fixed ETag, 304 to
/// a matching `If-None-Match`, counting what it serves. Returns its base address.
pub(crate) async fn origin(body: &'static str) -> anyhow::Result<(String, Arc<Served>)> {
    let served = Arc::new(Served::default());
    let origin = axum::Router::new()
        .route("/page", axum::routing::get(page))
        .route("/page/{n}", axum::routing::get(page))
        .with_state((served.clone(), body));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, origin).await });
    Ok((base, served))
}

pub(crate) async fn run(n_sources: usize, rounds: usize) -> anyhow::Result<()> {
    let (base, served) = origin(PAGE).await?;

    let app = spawn_app_with(Backend::Postgres, |config| {
        config.worker.enabled = true;
        config.worker.count = 32;
        config.scheduler.enabled = false;
        // Every source is on the one local origin: let the workers all reach it.
        config.fetch.max_per_host = 64;
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
    // Measure the steady state a running deployment is in: autovacuum keeps planner
    // statistics current there, while this database is seconds old and its pooled
    // connections hold plans made when the tables were empty.
    app.database.connect().await.connection().execute_unprepared("ANALYZE").await?;
    let before = served.so_far();

    println!("unchanged refresh benchmark (Postgres, {n_sources} URI sources, origin answers 304, {rounds} rounds)");
    eprintln!("{n_sources} sources settled; refreshing them");
    let mut results = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let result = refresh_all(&app, &space, &ids).await?;
        println!(
            "  round {round}: accepted {:>6.0} /s, end to end {:>6.0} /s; CPU per refresh: bench process {:>4.0} us, Postgres {:>4.0} us",
            result.accepted_per_s, result.end_to_end_per_s, result.process_us, result.postgres_us
        );
        results.push(result);
    }
    let runs = app.get(&format!("/v1/sources/{}/runs", ids[0])).await.body;
    anyhow::ensure!(runs["runs"][0]["outcome"] == "UNCHANGED", "the refresh did not end UNCHANGED: {runs}");
    let refreshes = (n_sources * rounds) as f64;
    let (requests, body_bytes) = served.so_far();
    let (requests, body_bytes) = (requests - before.0, body_bytes - before.1);

    // The median round: one round can land on a checkpoint or an autovacuum pass.
    results.sort_by(|a, b| a.end_to_end_per_s.total_cmp(&b.end_to_end_per_s));
    let median = &results[results.len() / 2];
    println!("  origin requests per refresh (target 1):   {:>10.3}", requests as f64 / refreshes);
    println!("  origin body bytes per refresh (target 0): {:>10.3}", body_bytes as f64 / refreshes);
    println!("  requests accepted (median round):         {:>10.0} /s", median.accepted_per_s);
    println!("  unchanged refreshes end to end, median round (target >= 2000/s): {:>6.0} /s", median.end_to_end_per_s);
    println!(
        "  CPU per refresh in that round: bench process (client, ctxd, origin) {:.0} us, Postgres {:.0} us",
        median.process_us, median.postgres_us
    );
    Ok(())
}

/// One round's figures.
struct Round {
    accepted_per_s: f64,
    end_to_end_per_s: f64,
    process_us: f64,
    postgres_us: f64,
}

/// Refreshes every source over REST (16 clients) and waits until all are settled again.
async fn refresh_all(app: &TestApp, space: &str, ids: &[String]) -> anyhow::Result<Round> {
    let n_sources = ids.len();
    let cpu_before = CpuTime::now();
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
    wait_until_settled(app, space, n_sources).await?;
    let total = started.elapsed().as_secs_f64();
    let cpu = CpuTime::now().since(cpu_before);
    let n = n_sources as f64;
    let per_refresh = |d: std::time::Duration| d.as_secs_f64() * 1e6 / n;
    Ok(Round {
        accepted_per_s: n / accepted,
        end_to_end_per_s: n / total,
        process_us: per_refresh(cpu.this_process),
        postgres_us: per_refresh(cpu.postgres),
    })
}
