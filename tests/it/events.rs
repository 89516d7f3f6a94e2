//! The REST event stream, `GET /v1/sources/{id}/events`: the states gRPC's
//! `WatchSource` streams, as Server-Sent Events, resumable with `Last-Event-ID`.
//! Runs are claimed and finished by "another process" (a store with its own pool and
//! change feed), so every event crosses processes as it would between replicas.

use std::time::Duration;

use ctxd_domain::ports::RunQueue;
use ctxd_test_support::TestApp;
use serde_json::{Value, json};

use ctxd_grpc::pb::{self, sources_service_client::SourcesServiceClient};

use crate::grpc::{authed, channel, claim, complete};

on_both_backends!(
    events_report_each_state_then_end_after_a_final_status,
    a_run_waiting_for_its_retry_shows_attempt_error_and_next_attempt,
    resuming_does_not_repeat_the_state_seen,
    a_source_deleted_while_watched_ends_the_stream_with_an_error,
    a_follower_does_not_hold_up_shutdown,
);

/// One Server-Sent Event.
#[derive(Debug)]
struct SseEvent {
    event: String,
    id: Option<String>,
    retry: Option<u64>,
    data: Value,
}

/// An open event stream and what it delivered but was not read yet.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, id: &str, query: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut request = app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/events{query}"));
        if let Some(seen) = last_event_id {
            request = request.header("last-event-id", seen);
        }
        request.send().await.unwrap()
    }

    async fn stream(app: &TestApp, id: &str, query: &str, last_event_id: Option<&str>) -> Self {
        let response = Self::open(app, id, query, last_event_id).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events { response, buffer: String::new() }
    }

    /// The next event (comments skipped), `None` when the stream ended.
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Whether nothing arrives for a while (the stream stays open, silent).
    async fn silent_for(&mut self, wait: Duration) -> bool {
        assert!(self.buffer.trim().is_empty() || self.buffer.starts_with(':'), "unread: {}", self.buffer);
        tokio::time::timeout(wait, self.next()).await.is_err()
    }
}

/// One event block; `None` for a block of comments alone (keep-alives).
fn parse(block: &str) -> Option<SseEvent> {
    let (mut event, mut id, mut retry, mut data) = (None, None, None, String::new());
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "" => {}
            "event" => event = Some(value.to_owned()),
            "id" => id = Some(value.to_owned()),
            "retry" => retry = Some(value.parse().unwrap()),
            "data" => data.push_str(value),
            other => panic!("unexpected field {other:?} in {block:?}"),
        }
    }
    let event = event?;
    Some(SseEvent { event, id, retry, data: serde_json::from_str(&data).unwrap() })
}

/// The other process: a store of its own on the app's database.
async fn other_process(app: &TestApp) -> ctxd_storage::SeaStore {
    ctxd_storage::Database::connect(&app.database.url).await.unwrap().store()
}

async fn new_source(app: &TestApp) -> String {
    let space = app.create_space("s").await;
    let created = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    created["id"].as_str().unwrap().to_owned()
}

async fn events_report_each_state_then_end_after_a_final_status(app: TestApp) {
    let id = new_source(&app).await;
    let mut events = Events::stream(&app, &id, "", None).await;
    let first = events.next().await.unwrap();
    assert_eq!((first.event.as_str(), &first.data["status"]), ("source", &json!("PENDING")), "the state at once");
    assert_eq!(first.data["id"], id.as_str(), "the source as GET returns it");
    assert_eq!(first.retry, Some(2000), "clients are told how soon to reconnect");
    assert!(first.id.as_ref().is_some_and(|id| id.len() == 16), "{first:?}");

    let other = other_process(&app).await;
    let run = claim(&other).await;
    let processing = events.next().await.unwrap();
    assert_eq!(processing.data["status"], "PROCESSING");
    assert_ne!(processing.id, first.id, "each state has its own id");
    complete(&other, &run).await;
    let completed = events.next().await.unwrap();
    assert_eq!(completed.data["status"], "COMPLETED");
    assert_eq!(completed.data["last_run"]["status"], "COMPLETED");
    assert!(events.next().await.is_none(), "the stream ends after a final status");
}

async fn a_run_waiting_for_its_retry_shows_attempt_error_and_next_attempt(app: TestApp) {
    let id = new_source(&app).await;
    let mut events = Events::stream(&app, &id, "", None).await;
    assert_eq!(events.next().await.unwrap().data["status"], "PENDING");
    let other = other_process(&app).await;
    let run = claim(&other).await;
    assert_eq!(events.next().await.unwrap().data["status"], "PROCESSING");

    // The attempt fails transiently: the run goes back to the queue for a moment.
    let retry_at = chrono::Utc::now() + chrono::Duration::seconds(2);
    assert!(RunQueue::release(&other, run.id, "test-worker", "origin answered 503", retry_at).await.unwrap());
    let waiting = events.next().await.unwrap();
    assert_eq!(waiting.data["status"], "PENDING", "{:?}", waiting.data);
    let last_run = &waiting.data["last_run"];
    assert_eq!(last_run["attempt"], 1);
    assert_eq!(last_run["error"], "origin answered 503");
    let next: chrono::DateTime<chrono::Utc> = last_run["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next.timestamp_millis(), retry_at.timestamp_millis());
    // The source's own read says the same, over REST and gRPC.
    let read = app.get(&format!("/v1/sources/{id}")).await.body;
    assert_eq!(read["last_run"]["next_attempt_at"], last_run["next_attempt_at"]);
    let mut grpc = SourcesServiceClient::new(channel(&app).await);
    let request = authed(&app.api_key, pb::SourceRequest { id: id.clone() });
    let over_grpc = grpc.get_source(request).await.unwrap().into_inner().last_run.unwrap();
    assert_eq!(over_grpc.next_attempt_at.map(|at| at.seconds), Some(retry_at.timestamp()));
    assert_eq!(over_grpc.error.as_deref(), Some("origin answered 503"));

    // Claimed again once due, the run is no longer waiting.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let again = loop {
        if let Some(claimed) = RunQueue::claim(&other, "test-worker", Duration::from_secs(60)).await.unwrap() {
            break claimed.run;
        }
        assert!(std::time::Instant::now() < deadline, "the released run never came due");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let processing = events.next().await.unwrap();
    assert_eq!(processing.data["last_run"]["attempt"], 2);
    assert_eq!(processing.data["last_run"]["next_attempt_at"], Value::Null);
    complete(&other, &again).await;
    assert_eq!(events.next().await.unwrap().data["status"], "COMPLETED");
}

async fn resuming_does_not_repeat_the_state_seen(app: TestApp) {
    // A URL source, so that it can be refreshed later (no worker ever fetches it).
    let space = app.create_space("s").await;
    let body = json!({"type": "URI", "initial_data": {"url": "http://127.0.0.1:9/doc"}});
    let id = app.create_source(&space, body).await["id"].as_str().unwrap().to_owned();
    let other = other_process(&app).await;
    let run = claim(&other).await;
    complete(&other, &run).await;
    let mut events = Events::stream(&app, &id, "", None).await;
    let completed = events.next().await.unwrap();
    assert_eq!(completed.data["status"], "COMPLETED");
    assert!(events.next().await.is_none());
    let seen = completed.id.unwrap();

    // Reconnecting after the final state: 204, which stops an EventSource.
    let resumed = Events::open(&app, &id, "", Some(&seen)).await;
    assert_eq!(resumed.status(), 204);
    // An id ctxd never sent is no resume: the current state comes again.
    let mut fresh = Events::stream(&app, &id, "", Some("0123456789abcdef")).await;
    assert_eq!(fresh.next().await.unwrap().id.as_deref(), Some(seen.as_str()));

    // Following from what was seen: nothing until something changes.
    let mut following = Events::stream(&app, &id, "?follow=true", Some(&seen)).await;
    assert!(following.silent_for(Duration::from_millis(300)).await, "the state seen is not sent again");
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    assert_eq!(refresh.status, 202, "{}", refresh.body);
    let queued = following.next().await.unwrap();
    assert_eq!(queued.data["status"], "PENDING");
    assert_eq!(queued.data["last_run"]["kind"], "REFRESH");
    let run = claim(&other).await;
    assert_eq!(following.next().await.unwrap().data["status"], "PROCESSING");
    complete(&other, &run).await;
    assert_eq!(following.next().await.unwrap().data["status"], "COMPLETED");
    assert!(following.silent_for(Duration::from_millis(300)).await, "a follower stays connected");
}

async fn a_source_deleted_while_watched_ends_the_stream_with_an_error(app: TestApp) {
    let unknown = Events::open(&app, "0192f1e0-0000-7000-8000-000000000000", "", None).await;
    assert_eq!(unknown.status(), 404, "an unknown source is a 404 before any stream");
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], 404);
    let bad = Events::open(&app, &new_source(&app).await, "?follow=yes", None).await;
    assert_eq!(bad.status(), 400);

    let id = new_source(&app).await;
    let mut events = Events::stream(&app, &id, "?follow=true", None).await;
    assert_eq!(events.next().await.unwrap().data["status"], "PENDING");
    assert_eq!(app.delete(&format!("/v1/sources/{id}")).await.status, 204);
    let error = events.next().await.unwrap();
    assert_eq!(error.event, "error");
    assert_eq!(error.data["code"], 404);
    assert!(error.data["requestId"].is_string(), "{:?}", error.data);
    assert!(events.next().await.is_none(), "the stream ends after the error");
}

async fn a_follower_does_not_hold_up_shutdown(mut app: TestApp) {
    let id = new_source(&app).await;
    let mut events = Events::stream(&app, &id, "?follow=true", None).await;
    assert_eq!(events.next().await.unwrap().data["status"], "PENDING");
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("the server stops with a stream open");
    assert!(events.next().await.is_none(), "the stream ends with the server");
}
