//! The refresh scheduler: INTERVAL sources refresh on their own, once per due time
//! even with several schedulers.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use ctxd_domain::{
    model::{RefreshMode, RefreshPolicy, RunFlags, RunKind, RunStatus, Source, SourceInput},
    ports::{RunQueue, SourceRepository, SystemClock},
    services::scheduler::Scheduler,
    state::SourceStatus,
};
use ctxd_test_support::{Backend, TestDatabase, seed_account, spawn_app_with};
use serde_json::json;

on_both_databases!(concurrent_schedulers_enqueue_each_due_source_once);

async fn concurrent_schedulers_enqueue_each_due_source_once(db: TestDatabase) {
    let store = db.connect().await.store();
    let (user, space) = seed_account(&store).await;
    let n_sources = 30;
    for _ in 0..n_sources {
        // Each source finished its first run and is due now.
        let input = SourceInput::Uri { url: "https://example.com/".parse().unwrap() };
        let (mut source, mut run) = Source::submitted(user.id, space.id, input, RunFlags::default(), Utc::now());
        run.status = RunStatus::Completed;
        source.status = SourceStatus::Completed;
        source.revision = Some(1);
        source.last_run = Some(run.clone());
        source.refresh_policy = RefreshPolicy {
            mode: RefreshMode::Interval,
            interval_seconds: Some(3600),
            next_refresh_at: Some(Utc::now() - chrono::Duration::seconds(1)),
        };
        SourceRepository::create(&store, &source, &run, None).await.unwrap();
    }
    let store = Arc::new(store);
    let mut schedulers = Vec::new();
    for _ in 0..3 {
        let scheduler = Scheduler::new(store.clone(), store.clone(), Arc::new(SystemClock), Arc::new(|| 0.5));
        schedulers.push(tokio::spawn(async move { scheduler.tick(100).await.unwrap() }));
    }
    let mut n_enqueued = 0;
    for scheduler in schedulers {
        n_enqueued += scheduler.await.unwrap().n_enqueued;
    }
    assert_eq!(n_enqueued, n_sources, "each due source enqueued exactly once");
    let mut claimed = 0;
    while let Some(next) = RunQueue::claim(store.as_ref(), "w", Duration::from_secs(60)).await.unwrap() {
        assert_eq!(next.run.kind, RunKind::ScheduledRefresh);
        claimed += 1;
    }
    assert_eq!(claimed, n_sources);
    let again = Scheduler::new(store.clone(), store.clone(), Arc::new(SystemClock), Arc::new(|| 0.5));
    assert_eq!(again.tick(100).await.unwrap().n_enqueued, 0, "next due time moved an interval on");
}

#[tokio::test]
async fn interval_sources_refresh_on_their_own() {
    let origin = axum::Router::new().route(
        "/page",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            if headers.get("if-none-match").is_some_and(|v| v == "\"same\"") {
                (axum::http::StatusCode::NOT_MODIFIED, [("etag", "\"same\"")], "")
            } else {
                (axum::http::StatusCode::OK, [("etag", "\"same\"")], "stable page")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/page", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });

    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.worker.enabled = true;
        config.worker.poll_interval_ms = 20;
        config.scheduler.interval_ms = 50;
        config.limits.min_refresh_interval_seconds = 1;
    })
    .await
    .unwrap();
    let space = app.create_space("s").await;
    let source = app
        .create_source(
            &space,
            json!({"type": "URI", "initial_data": {"url": url},
            "refresh_policy": {"mode": "INTERVAL", "interval_seconds": 1}}),
        )
        .await;
    let id = source["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let runs = app.get(&format!("/v1/sources/{id}/runs")).await.body;
        let scheduled = runs["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "SCHEDULED_REFRESH" && r["status"] == "COMPLETED");
        if let Some(run) = scheduled {
            assert_eq!(run["outcome"], "UNCHANGED", "a stable page costs one 304");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no scheduled refresh ran: {runs}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let source = app.get(&format!("/v1/sources/{id}")).await.body;
    assert!(source["refresh_policy"]["next_refresh_at"].is_string());
    assert_eq!(source["revision"], 1);
}
