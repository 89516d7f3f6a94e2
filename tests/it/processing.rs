//! The processing actions (refresh, reprocess, fast-forward) and cancel, with a test
//! standing in for the worker by claiming and finishing runs through the queue.

use std::time::Duration;

use chrono::Utc;
use ctxd_domain::{
    ids::RunId,
    model::{HttpMeta, Revision, RunOutcome, RunStatus, StageTimings},
    ports::{RunFinish, RunQueue},
};
use ctxd_test_support::TestApp;
use serde_json::{Value, json};

on_both_backends!(
    refresh_follows_the_status_rules,
    refresh_is_only_for_sources_with_an_origin,
    reprocess_needs_a_final_status_and_stored_content,
    fast_forward_queues_the_new_material,
    cancel_stops_queued_and_flags_running_work,
    actions_on_another_users_source_are_not_found,
);

/// Plays the worker: claims the oldest queued run and checks it is `run_id`.
async fn claim(app: &TestApp, run_id: &Value) {
    let claimed = RunQueue::claim(&app.store, "test-worker", Duration::from_secs(60)).await.unwrap();
    let run = claimed.expect("a queued run").run;
    assert_eq!(run.id.to_string(), run_id.as_str().unwrap());
}

/// Plays the worker finishing a claimed run, optionally storing revision `number`.
async fn finish(app: &TestApp, source: &Value, run_id: &Value, status: RunStatus, revision: Option<u32>) {
    let run_id: RunId = run_id.as_str().unwrap().parse().unwrap();
    let revision = revision.map(|number| Revision {
        source_id: source["id"].as_str().unwrap().parse().unwrap(),
        number,
        content_hash: format!("sha256:{number:064}"),
        fetched_at: Utc::now(),
        http: HttpMeta { status: Some(200), etag: Some("\"v1\"".into()), ..HttpMeta::default() },
        bytes: 10,
        extractor_version: "test".into(),
        page_type: None,
    });
    let finish = RunFinish {
        status,
        outcome: (status == RunStatus::Completed).then_some(RunOutcome::Changed),
        error: (status == RunStatus::Failed).then(|| "origin answered 500".to_owned()),
        revision,
        context: None,
        artifacts: None,
        postback: None,
        timings: StageTimings::default(),
        attempt: None,
    };
    assert!(RunQueue::finish(&app.store, run_id, finish).await.unwrap(), "the run was held");
}

/// A URI source whose first run completed with revision 1.
async fn completed_uri_source(app: &TestApp, space: &str) -> Value {
    let source =
        app.create_source(space, json!({"type": "URI", "initial_data": {"url": "https://example.com/"}})).await;
    claim(app, &source["last_run"]["id"]).await;
    finish(app, &source, &source["last_run"]["id"], RunStatus::Completed, Some(1)).await;
    let fetched = app.get(&format!("/v1/sources/{}", source["id"].as_str().unwrap())).await;
    assert_eq!(fetched.body["status"], "COMPLETED");
    fetched.body
}

async fn refresh_follows_the_status_rules(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app
        .create_source(
            &space,
            json!({"type": "URI", "initial_data": {"url": "https://example.com/"},
        "instructions": {"run_context_extraction": false}}),
        )
        .await;
    let id = source["id"].as_str().unwrap();
    let refresh = format!("/v1/sources/{id}/refresh");

    // PENDING: coalesced into the queued run, flags OR-ed.
    let coalesced = app.post(&refresh, json!({"run_context_extraction": true})).await;
    assert_eq!(coalesced.status, 202);
    assert_eq!(coalesced.body["last_run"]["id"], source["last_run"]["id"], "same run");
    assert_eq!(coalesced.body["last_run"]["run_context_extraction"], true);
    let runs_queued = app.get(&format!("/v1/spaces/{space}/sources?status=PENDING")).await;
    assert_eq!(runs_queued.body["pagination"]["total"], 1);

    // PROCESSING: 409 naming the status.
    claim(&app, &source["last_run"]["id"]).await;
    let busy = app.post(&refresh, json!({})).await;
    assert_eq!(busy.status, 409);
    assert!(busy.body["message"].as_str().unwrap().contains("PROCESSING"), "{:?}", busy.body);

    // COMPLETED: a new run with the contract's defaults; an empty body is fine.
    finish(&app, &source, &source["last_run"]["id"], RunStatus::Completed, Some(1)).await;
    let refreshed = app.send(app.request(reqwest::Method::POST, &refresh)).await;
    assert_eq!(refreshed.status, 202, "{:?}", refreshed.body);
    assert_eq!(refreshed.body["status"], "PENDING");
    assert_ne!(refreshed.body["last_run"]["id"], source["last_run"]["id"]);
    assert_eq!(refreshed.body["last_run"]["kind"], "REFRESH");
    assert_eq!(refreshed.body["last_run"]["force"], false);
    assert_eq!(refreshed.body["last_run"]["run_artifact_extraction"], true);
    assert_eq!(refreshed.body["revision"], 1);

    // FAILED: refresh allowed again; the failure message is visible meanwhile.
    claim(&app, &refreshed.body["last_run"]["id"]).await;
    finish(&app, &source, &refreshed.body["last_run"]["id"], RunStatus::Failed, None).await;
    let failed = app.get(&format!("/v1/sources/{id}")).await;
    assert_eq!(failed.body["status"], "FAILED");
    assert_eq!(failed.body["message"], "origin answered 500");
    assert_eq!(failed.body["revision"], 1, "the previous revision stays current");
    let forced = app.post(&refresh, json!({"force": true, "run_artifact_extraction": false})).await;
    assert_eq!(forced.status, 202);
    assert_eq!(forced.body["last_run"]["force"], true);
    assert_eq!(forced.body["last_run"]["run_artifact_extraction"], false);
    assert_eq!(forced.body["message"], json!(null));

    let wrong_type = app.post(&refresh, json!({"force": "yes"})).await;
    assert_eq!(wrong_type.status, 400);
    assert_eq!(wrong_type.detail_fields(), ["force"]);
}

async fn refresh_is_only_for_sources_with_an_origin(app: TestApp) {
    let space = app.create_space("s").await;
    let content = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let response = app.post(&format!("/v1/sources/{}/refresh", content["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.detail_fields(), ["type"]);
}

async fn reprocess_needs_a_final_status_and_stored_content(app: TestApp) {
    let space = app.create_space("s").await;
    let queued =
        app.create_source(&space, json!({"type": "URI", "initial_data": {"url": "https://example.com/q"}})).await;
    let pending = app.post(&format!("/v1/sources/{}/reprocess", queued["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(pending.status, 409);
    assert!(pending.body["message"].as_str().unwrap().contains("PENDING"));
    claim(&app, &queued["last_run"]["id"]).await;
    finish(&app, &queued, &queued["last_run"]["id"], RunStatus::Failed, None).await;
    let nothing_stored =
        app.post(&format!("/v1/sources/{}/reprocess", queued["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(nothing_stored.status, 409);
    assert!(nothing_stored.body["message"].as_str().unwrap().contains("no content"));

    let source = completed_uri_source(&app, &space).await;
    let reprocessed = app
        .post(&format!("/v1/sources/{}/reprocess", source["id"].as_str().unwrap()), json!({"update_existing": false}))
        .await;
    assert_eq!(reprocessed.status, 202);
    assert_eq!(reprocessed.body["last_run"]["kind"], "REPROCESS");
    assert_eq!(reprocessed.body["last_run"]["update_existing"], false);

    // A refresh arriving while a reprocess is queued upgrades it to a forced refresh.
    let refresh = app.post(&format!("/v1/sources/{}/refresh", source["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(refresh.status, 202);
    assert_eq!(refresh.body["last_run"]["id"], reprocessed.body["last_run"]["id"]);
    assert_eq!(refresh.body["last_run"]["kind"], "REFRESH");
    assert_eq!(refresh.body["last_run"]["force"], true);
}

async fn fast_forward_queues_the_new_material(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "User: a"}})).await;
    let path = format!("/v1/sources/{}/fast-forward", source["id"].as_str().unwrap());
    let body = json!({"type": "CONTENT", "initial_data": {"data": "User: a\nAssistant: b"}});
    assert_eq!(app.post(&path, body.clone()).await.status, 409, "not from PENDING");
    claim(&app, &source["last_run"]["id"]).await;
    finish(&app, &source, &source["last_run"]["id"], RunStatus::Completed, Some(1)).await;

    let accepted = app.post(&path, body).await;
    assert_eq!(accepted.status, 202, "{:?}", accepted.body);
    assert_eq!(accepted.body["last_run"]["kind"], "FAST_FORWARD");
    let run_id: RunId = accepted.body["last_run"]["id"].as_str().unwrap().parse().unwrap();
    let alice = app.use_cases.api_keys.authenticate(&app.api_key).await.unwrap();
    let run = RunQueue::get(&app.store, alice.id, run_id).await.unwrap().unwrap();
    assert_eq!(run.input.unwrap().to_json(), json!({"data": "User: a\nAssistant: b"}), "material stored on the run");

    let composition = app.post(&path, json!({"type": "COMPOSITION", "initial_data": {"source_ids": []}})).await;
    assert_eq!(composition.status, 400);
    assert_eq!(composition.detail_fields(), ["type"]);
    let missing = app.post(&path, json!({"type": "URI"})).await;
    assert_eq!(missing.detail_fields(), ["initial_data"]);
}

async fn cancel_stops_queued_and_flags_running_work(app: TestApp) {
    let space = app.create_space("s").await;
    let queued =
        app.create_source(&space, json!({"type": "URI", "initial_data": {"url": "https://example.com/1"}})).await;
    let cancel = format!("/v1/sources/{}/cancel", queued["id"].as_str().unwrap());
    let canceled = app.post(&cancel, json!({})).await;
    assert_eq!(canceled.status, 202);
    assert_eq!(canceled.body["status"], "CANCELED");
    assert_eq!(canceled.body["last_run"]["status"], "CANCELED");
    assert_eq!(app.post(&cancel, json!({})).await.status, 409, "nothing left to cancel");
    assert!(
        RunQueue::claim(&app.store, "w", Duration::from_secs(60)).await.unwrap().is_none(),
        "the run left the queue"
    );

    let running =
        app.create_source(&space, json!({"type": "URI", "initial_data": {"url": "https://example.com/2"}})).await;
    claim(&app, &running["last_run"]["id"]).await;
    let requested = app.post(&format!("/v1/sources/{}/cancel", running["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(requested.status, 202);
    assert_eq!(requested.body["status"], "PROCESSING", "the worker stops at its next checkpoint");
    assert_eq!(requested.body["last_run"]["cancel_requested"], true);
    finish(&app, &running, &running["last_run"]["id"], RunStatus::Canceled, None).await;
    let after = app.get(&format!("/v1/sources/{}", running["id"].as_str().unwrap())).await;
    assert_eq!(after.body["status"], "CANCELED");
    assert_eq!(after.body["last_run"]["status"], "CANCELED");

    // CANCELED sources can be refreshed again.
    let again = app.post(&format!("/v1/sources/{}/refresh", running["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(again.status, 202);
}

async fn actions_on_another_users_source_are_not_found(app: TestApp) {
    let space = app.create_space("s").await;
    let source = completed_uri_source(&app, &space).await;
    let id = source["id"].as_str().unwrap();
    let bob = app.key_for("bob").await;
    for (method, path) in [
        (reqwest::Method::GET, format!("/v1/sources/{id}")),
        (reqwest::Method::PATCH, format!("/v1/sources/{id}")),
        (reqwest::Method::DELETE, format!("/v1/sources/{id}")),
        (reqwest::Method::POST, format!("/v1/sources/{id}/restore")),
        (reqwest::Method::PATCH, format!("/v1/sources/{id}/toggle-pin")),
        (reqwest::Method::POST, format!("/v1/sources/{id}/cancel")),
        (reqwest::Method::POST, format!("/v1/sources/{id}/refresh")),
        (reqwest::Method::POST, format!("/v1/sources/{id}/reprocess")),
        (reqwest::Method::POST, format!("/v1/sources/{id}/fast-forward")),
        (reqwest::Method::GET, format!("/v1/sources/{id}/runs")),
        (reqwest::Method::GET, format!("/v1/runs/{}", source["last_run"]["id"].as_str().unwrap())),
        (reqwest::Method::GET, format!("/v1/sources/{id}/revisions")),
        (reqwest::Method::GET, format!("/v1/sources/{id}/revisions/1")),
        (reqwest::Method::GET, format!("/v1/sources/{id}/context")),
        (reqwest::Method::GET, format!("/v1/sources/{id}/content")),
        (reqwest::Method::GET, format!("/v1/spaces/{space}")),
        (reqwest::Method::GET, format!("/v1/spaces/{space}/sources")),
        (reqwest::Method::GET, format!("/v1/spaces/{space}/collections")),
        (reqwest::Method::POST, format!("/v1/spaces/{space}/sources")),
        (reqwest::Method::DELETE, format!("/v1/spaces/{space}")),
    ] {
        let body = match path.as_str() {
            p if p.ends_with("fast-forward") => json!({"type": "CONTENT", "initial_data": {"data": "x"}}),
            p if p.ends_with("/sources") && method == reqwest::Method::POST => {
                json!({"type": "CONTENT", "initial_data": {"data": "x"}})
            }
            _ => json!({}),
        };
        let response = app.send(app.request_as(&bob, method.clone(), &path).json(&body)).await;
        assert_eq!(response.status, 404, "{method} {path}: {:?}", response.body);
    }
    assert_eq!(app.get(&format!("/v1/sources/{id}")).await.body["status"], "COMPLETED", "alice's source untouched");
}
