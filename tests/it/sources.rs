//! Sources: the four types, validation, reads, filters, patch, pin, delete/restore.

use ctxd_test_support::TestApp;
use serde_json::json;

on_both_backends!(
    every_source_type_can_be_created,
    compositions_need_members_of_the_same_space,
    sources_list_with_filters_pinned_first,
    patch_changes_only_what_it_names,
    soft_delete_hides_and_restore_brings_back,
    idempotency_keys_replay_the_first_create,
);

async fn idempotency_keys_replay_the_first_create(app: TestApp) {
    let space = app.create_space("s").await;
    let path = format!("/v1/spaces/{space}/sources");
    let body = json!({"type": "CONTENT", "initial_data": {"data": "once"}});
    let create = |key: &str, body: &serde_json::Value| {
        app.request(reqwest::Method::POST, &path).header("idempotency-key", key).json(body)
    };

    let first = app.send(create("k-1", &body)).await;
    assert_eq!(first.status, 202);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = app.send(create("k-1", &body)).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], first.body["id"], "the first response, not a second source");
    assert_eq!(app.get(&path).await.body["pagination"]["total"], 1);

    let other_body = app.send(create("k-1", &json!({"type": "CONTENT", "initial_data": {"data": "twice"}}))).await;
    assert_eq!(other_body.status, 409);

    // A failed request does not use the key up.
    let invalid = app.send(create("k-2", &json!({"type": "CONTENT", "initial_data": {"data": ""}}))).await;
    assert_eq!(invalid.status, 400);
    let fixed = app.send(create("k-2", &json!({"type": "CONTENT", "initial_data": {"data": "fixed"}}))).await;
    assert_eq!(fixed.status, 202);

    let bad_key = app.send(create("has space", &body)).await;
    assert_eq!(bad_key.status, 400);
    assert_eq!(bad_key.detail_fields(), ["Idempotency-Key"]);

    // Keys belong to their user.
    let bob = app.key_for("bob").await;
    let bobs_space =
        app.send(app.request_as(&bob, reqwest::Method::POST, "/v1/spaces").json(&json!({"name": "b"}))).await;
    let bobs_path = format!("/v1/spaces/{}/sources", bobs_space.body["id"].as_str().unwrap());
    let bobs = app
        .send(app.request_as(&bob, reqwest::Method::POST, &bobs_path).header("idempotency-key", "k-1").json(&body))
        .await;
    assert_eq!(bobs.status, 202);
    assert_ne!(bobs.body["id"], first.body["id"]);
}

async fn every_source_type_can_be_created(app: TestApp) {
    let space = app.create_space("s").await;
    let uri = app
        .create_source(&space, json!({"type": "URI", "initial_data": {"url": "https://example.com/a"}, "name": "Doc"}))
        .await;
    assert_eq!(uri["status"], "PENDING");
    assert_eq!(uri["type"], "URI");
    assert_eq!(uri["spaceId"], space.as_str());
    assert_eq!(uri["initial_data"], json!({"url": "https://example.com/a"}));
    assert_eq!(uri["last_run"]["kind"], "INITIAL");
    assert_eq!(uri["last_run"]["status"], "PENDING");
    assert_eq!(
        uri["instructions"],
        json!({"postback_url": null, "run_context_extraction": true, "run_artifact_extraction": true})
    );
    assert_eq!(uri["refresh_policy"]["mode"], "MANUAL");

    let via_uri_key =
        app.create_source(&space, json!({"type": "URI", "initial_data": {"uri": "http://example.org/"}})).await;
    assert_eq!(via_uri_key["initial_data"], json!({"url": "http://example.org/"}));

    let content = app
        .create_source(
            &space,
            json!({"type": "CONTENT", "initial_data": {"data": "User: hi\nAssistant: hello"},
                   "instructions": {"run_artifact_extraction": false}}),
        )
        .await;
    assert_eq!(content["last_run"]["run_artifact_extraction"], false);
    assert_eq!(content["instructions"]["run_artifact_extraction"], false);

    let scheduled = app
        .create_source(
            &space,
            json!({"type": "URI", "initial_data": {"url": "https://example.com/b"},
                   "instructions": {"refresh_policy": {"mode": "INTERVAL", "interval_seconds": 3600}}}),
        )
        .await;
    assert_eq!(scheduled["refresh_policy"]["interval_seconds"], 3600);
    assert!(scheduled["refresh_policy"]["next_refresh_at"].is_string());

    let fetched = app.get(&format!("/v1/sources/{}", uri["id"].as_str().unwrap())).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["id"], uri["id"]);
    assert_eq!(fetched.body["last_run"]["id"], uri["last_run"]["id"]);
}

async fn compositions_need_members_of_the_same_space(app: TestApp) {
    let space = app.create_space("s").await;
    let other = app.create_space("other").await;
    let a = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "a"}})).await["id"].clone();
    let b = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "b"}})).await["id"].clone();
    let elsewhere =
        app.create_source(&other, json!({"type": "CONTENT", "initial_data": {"data": "c"}})).await["id"].clone();

    let composition =
        app.create_source(&space, json!({"type": "COMPOSITION", "initial_data": {"source_ids": [a, b]}})).await;
    assert_eq!(composition["initial_data"]["source_ids"], json!([a, b]));
    let nested = app
        .create_source(&space, json!({"type": "COMPOSITION", "initial_data": {"source_ids": [composition["id"], a]}}))
        .await;
    assert_eq!(nested["type"], "COMPOSITION");

    let path = format!("/v1/spaces/{space}/sources");
    let foreign = app.post(&path, json!({"type": "COMPOSITION", "initial_data": {"source_ids": [a, elsewhere]}})).await;
    assert_eq!(foreign.status, 400);
    assert_eq!(foreign.detail_fields(), ["initial_data.source_ids[1]"]);
    let duplicate = app.post(&path, json!({"type": "COMPOSITION", "initial_data": {"source_ids": [a, a]}})).await;
    assert_eq!(duplicate.detail_fields(), ["initial_data.source_ids[1]"]);
    let empty = app.post(&path, json!({"type": "COMPOSITION", "initial_data": {"source_ids": []}})).await;
    assert_eq!(empty.detail_fields(), ["initial_data.source_ids"]);
}

async fn sources_list_with_filters_pinned_first(app: TestApp) {
    let space = app.create_space("s").await;
    let uri = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": "https://example.com/"}})).await;
    let content = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let newest = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "y"}})).await;
    let path = format!("/v1/spaces/{space}/sources");

    let ids = |body: &serde_json::Value| -> Vec<serde_json::Value> {
        body["sources"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect()
    };
    let all = app.get(&path).await;
    assert_eq!(ids(&all.body), [newest["id"].clone(), content["id"].clone(), uri["id"].clone()], "newest first");
    assert_eq!(all.body["pagination"]["total"], 3);

    let pinned = app
        .send(app.request(reqwest::Method::PATCH, &format!("/v1/sources/{}/toggle-pin", uri["id"].as_str().unwrap())))
        .await;
    assert_eq!(pinned.status, 200);
    assert_eq!(pinned.body["pinned"], true);
    assert_eq!(ids(&app.get(&path).await.body)[0], uri["id"], "pinned first");
    assert_eq!(ids(&app.get(&format!("{path}?pinned=true")).await.body), [uri["id"].clone()]);
    assert_eq!(ids(&app.get(&format!("{path}?type=URI")).await.body), [uri["id"].clone()]);
    assert_eq!(app.get(&format!("{path}?status=PENDING&type=CONTENT")).await.body["pagination"]["total"], 2);
    assert_eq!(app.get(&format!("{path}?status=COMPLETED")).await.body["pagination"]["total"], 0);
    let bad = app.get(&format!("{path}?status=DONE")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.detail_fields(), ["status"]);
}

async fn patch_changes_only_what_it_names(app: TestApp) {
    let space = app.create_space("s").await;
    let collection =
        app.post(&format!("/v1/spaces/{space}/collections"), json!({"name": "c"})).await.body["id"].clone();
    let source = app
        .create_source(
            &space,
            json!({"type": "URI", "initial_data": {"url": "https://example.com/"}, "name": "n", "description": "d"}),
        )
        .await;
    let path = format!("/v1/sources/{}", source["id"].as_str().unwrap());

    let patched = app
        .patch(&path, json!({"name": "renamed", "collectionId": collection, "refresh_policy": {"mode": "INTERVAL", "interval_seconds": 120}}))
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["name"], "renamed");
    assert_eq!(patched.body["description"], "d", "untouched");
    assert_eq!(patched.body["collectionId"], collection);
    assert_eq!(patched.body["refresh_policy"]["mode"], "INTERVAL");

    let cleared = app.patch(&path, json!({"description": null, "collectionId": null})).await;
    assert_eq!(cleared.body["description"], json!(null));
    assert_eq!(cleared.body["collectionId"], json!(null));
    assert_eq!(cleared.body["name"], "renamed");

    let too_often = app.patch(&path, json!({"refresh_policy": {"mode": "INTERVAL", "interval_seconds": 5}})).await;
    assert_eq!(too_often.status, 400);
    assert_eq!(too_often.detail_fields(), ["refresh_policy.interval_seconds"]);
    let http_postback = app.patch(&path, json!({"instructions": {"postback_url": "http://hooks.example/x"}})).await;
    assert_eq!(http_postback.detail_fields(), ["instructions.postback_url"]);
    let https_postback = app.patch(&path, json!({"instructions": {"postback_url": "https://hooks.example/x"}})).await;
    assert_eq!(https_postback.body["instructions"]["postback_url"], "https://hooks.example/x");
    let content_change = app.patch(&path, json!({"initial_data": {"url": "https://elsewhere.example/"}})).await;
    assert_eq!(content_change.status, 400, "content is not patchable");
}

async fn soft_delete_hides_and_restore_brings_back(app: TestApp) {
    let space = app.create_space("s").await;
    let source =
        app.create_source(&space, json!({"type": "URI", "initial_data": {"url": "https://example.com/"}})).await;
    let id = source["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/sources/{id}")).await.status, 204);
    assert_eq!(app.get(&format!("/v1/sources/{id}")).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/sources/{id}")).await.status, 404);
    let list = app.get(&format!("/v1/spaces/{space}/sources")).await;
    assert_eq!(list.body["pagination"]["total"], 0);
    let with_deleted = app.get(&format!("/v1/spaces/{space}/sources?include_deleted=true")).await;
    let listed = &with_deleted.body["sources"][0];
    assert!(listed["deleted_at"].is_string());
    assert_eq!(listed["status"], "CANCELED", "deleting cancels queued work");
    assert_eq!(listed["last_run"]["status"], "CANCELED");

    let restored = app.post(&format!("/v1/sources/{id}/restore"), json!({})).await;
    assert_eq!(restored.status, 200);
    assert_eq!(restored.body["deleted_at"], json!(null));
    assert_eq!(app.get(&format!("/v1/sources/{id}")).await.status, 200);
    assert_eq!(app.post(&format!("/v1/sources/{id}/restore"), json!({})).await.status, 409);
}
