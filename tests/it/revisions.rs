//! Revisions are distinct contents: re-extraction goes into the current revision,
//! phases a run skips keep serving their previous outputs, and content removed by
//! retention is explained (listed unavailable, 410 with the setting's name).

use ctxd_grpc::pb::{self, sources_service_client::SourcesServiceClient};
use ctxd_test_support::TestApp;
use serde_json::{Value, json};

use crate::{
    grpc::{authed, channel},
    pipeline::{Origin, wait_for_run},
};

with_workers!(
    reprocessing_and_refetching_the_same_bytes_never_make_a_revision => 3,
    phases_a_run_skips_keep_serving_their_previous_outputs => 3,
    content_removed_by_retention_is_listed_unavailable_and_answers_410 => 3,
);

const NOTES: &str =
    "# Notes\n\nWe decided to use Postgres for the queue.\n\n```bash\nctxd serve --listen 0.0.0.0:8080\n```\n";

async fn completed(app: &TestApp, source: &Value) -> Value {
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(app, id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    done
}

async fn act(app: &TestApp, id: &str, action: &str, body: Value) -> Value {
    let response = app.post(&format!("/v1/sources/{id}/{action}"), body).await;
    assert_eq!(response.status, 202, "{action}: {}", response.body);
    completed(app, &response.body).await
}

async fn reprocessing_and_refetching_the_same_bytes_never_make_a_revision(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": NOTES}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    assert_eq!(completed(&app, &source).await["revision"], 1);
    let artifact_ids = app.get(&format!("/v1/sources/{id}/artifacts")).await.body["artifacts"].clone();
    for _ in 0..3 {
        let done = act(&app, &id, "reprocess", json!({})).await;
        assert_eq!(done["revision"], 1, "a reprocess re-extracts into the current revision");
        assert_eq!(done["last_run"]["outcome"], "UNCHANGED", "the same extractor made the same outputs");
    }
    let revisions = app.get(&format!("/v1/sources/{id}/revisions")).await.body;
    assert_eq!(revisions["pagination"]["total"], 1, "{revisions}");
    assert_eq!(
        app.get(&format!("/v1/sources/{id}/artifacts")).await.body["artifacts"],
        artifact_ids,
        "identical artifacts keep their ids"
    );

    // A URL: a forced refresh of the same bytes, then new bytes, then the same
    // bytes again under a new ETag.
    let (origin, url) = Origin::start().await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    completed(&app, &source).await;
    let forced = act(&app, &id, "refresh", json!({"force": true})).await;
    assert_eq!((&forced["revision"], &forced["last_run"]["outcome"]), (&json!(1), &json!("UNCHANGED")));
    origin.set("second version", "\"v2\"");
    let changed = act(&app, &id, "refresh", json!({})).await;
    assert_eq!((&changed["revision"], &changed["last_run"]["outcome"]), (&json!(2), &json!("CHANGED")));
    origin.set("second version", "\"v3\"");
    let forced = act(&app, &id, "refresh", json!({"force": true})).await;
    assert_eq!(forced["revision"], 2, "same bytes under a new ETag: {forced}");
    let current = app.get(&format!("/v1/sources/{id}/revisions/2")).await.body;
    assert_eq!(current["http"]["etag"], "\"v3\"", "the refetch updated the revision's HTTP metadata");
    let hashes: Vec<Value> = app.get(&format!("/v1/sources/{id}/revisions")).await.body["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["content_hash"].clone())
        .collect();
    assert_eq!(hashes.len(), 2);
    assert_ne!(hashes[0], hashes[1], "every revision is a distinct content");
}

async fn phases_a_run_skips_keep_serving_their_previous_outputs(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": NOTES}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    let first = completed(&app, &source).await;
    let tokens = first["stats"]["context_tokens"].clone();
    assert!(tokens.as_u64().unwrap() > 0);
    let n_artifacts = first["stats"]["artifact_count"].clone();
    assert_eq!(n_artifacts, 1);

    let flags = json!({"run_context_extraction": false, "run_artifact_extraction": false});
    let done = act(&app, &id, "reprocess", flags).await;
    let context = app.get(&format!("/v1/sources/{id}/context")).await;
    assert_eq!(context.status, 200, "the context not asked for is still served: {}", context.body);
    assert_eq!((&done["stats"]["context_tokens"], &context.body["context_tokens"]), (&tokens, &tokens));
    assert_eq!(done["stats"]["artifact_count"], n_artifacts);
    assert_eq!(app.get(&format!("/v1/sources/{id}/artifacts")).await.body["pagination"]["total"], 1);

    // New content without context extraction: revision 2, still revision 1's context,
    // and the stats describe that context.
    let (origin, url) = Origin::start().await;
    origin.set("# Plan\n\nWe decided to ship on Friday.\n", "\"p1\"");
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    completed(&app, &source).await;
    origin.set("# Plan\n\nWe decided to ship on Monday instead, after the review of the release notes.\n", "\"p2\"");
    let done = act(&app, &id, "refresh", json!({"run_context_extraction": false})).await;
    assert_eq!(done["revision"], 2);
    let context = app.get(&format!("/v1/sources/{id}/context")).await.body;
    assert_eq!(context["revision"], 1, "{context}");
    assert!(context["content"].as_str().unwrap().contains("Friday"));
    assert_eq!(done["stats"]["context_tokens"], context["context_tokens"], "stats describe what is served");
    assert_eq!(app.get(&format!("/v1/sources/{id}/context?revision=2")).await.status, 404, "none was made of 2");
}

async fn content_removed_by_retention_is_listed_unavailable_and_answers_410(app: TestApp) {
    // The workers' app keeps the content of the last 2 revisions.
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "v1"}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    completed(&app, &source).await;
    for version in ["v2", "v3"] {
        act(&app, &id, "fast-forward", json!({"type": "CONTENT", "initial_data": {"data": version}})).await;
    }
    let listed = app.get(&format!("/v1/sources/{id}/revisions")).await.body;
    let available: Vec<(u64, bool)> = listed["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["number"].as_u64().unwrap(), r["content_available"].as_bool().unwrap()))
        .collect();
    assert_eq!(available, [(3, true), (2, true), (1, false)]);
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions/1")).await.body["content_available"], false);
    for path in ["revisions/1/content", "revisions/1/content?format=raw", "content?revision=1", "revisions/2/diff"] {
        let response = app.get(&format!("/v1/sources/{id}/{path}")).await;
        assert_eq!(response.status, 410, "{path}: {}", response.body);
        assert_eq!(response.body["code"], 410);
        let message = response.body["message"].as_str().unwrap();
        assert!(message.contains("revisions.retain") && message.contains("revision 1"), "{message}");
    }
    assert_eq!(app.get(&format!("/v1/sources/{id}/revisions/2/content")).await.status, 200);

    let mut sources = SourcesServiceClient::new(channel(&app).await);
    let request = pb::ListRevisionsRequest { source_id: id.clone(), page: None };
    let listed = sources.list_revisions(authed(&app.api_key, request)).await.unwrap().into_inner();
    let available: Vec<(u32, bool)> = listed.revisions.iter().map(|r| (r.number, r.content_available)).collect();
    assert_eq!(available, [(3, true), (2, true), (1, false)]);
}
