//! Collections: the tree, moves, cycles and deletion.

use ctxd_test_support::TestApp;
use serde_json::json;

on_both_backends!(collections_form_a_tree_and_refuse_cycles, deleting_a_collection_moves_its_content_up);

async fn collections_form_a_tree_and_refuse_cycles(app: TestApp) {
    let space = app.create_space("s").await;
    let path = format!("/v1/spaces/{space}/collections");
    let a = app.post(&path, json!({"name": "A"})).await;
    assert_eq!(a.status, 201);
    let a = a.body["id"].as_str().unwrap().to_owned();
    let b = app.post(&path, json!({"name": "B", "parentId": a})).await.body["id"].as_str().unwrap().to_owned();
    let c = app.post(&path, json!({"name": "C", "parentId": b})).await.body["id"].as_str().unwrap().to_owned();

    let tree = app.get(&path).await;
    assert_eq!(tree.status, 200);
    assert_eq!(tree.body["collections"][0]["id"], a.as_str());
    assert_eq!(tree.body["collections"][0]["children"][0]["id"], b.as_str());
    assert_eq!(tree.body["collections"][0]["children"][0]["children"][0]["id"], c.as_str());
    assert_eq!(tree.body["collections"][0]["children"][0]["spaceId"], space.as_str());

    let cycle = app.patch(&format!("/v1/collections/{a}"), json!({"parentId": c})).await;
    assert_eq!(cycle.status, 409, "{:?}", cycle.body);
    let onto_itself = app.patch(&format!("/v1/collections/{a}"), json!({"parentId": a})).await;
    assert_eq!(onto_itself.status, 409);

    let moved = app.patch(&format!("/v1/collections/{c}"), json!({"parentId": null, "name": "C2"})).await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.body["parentId"], json!(null));
    assert_eq!(moved.body["name"], "C2");
    assert_eq!(app.get(&path).await.body["collections"].as_array().unwrap().len(), 2);

    let other_space = app.create_space("other").await;
    let foreign = app.post(&format!("/v1/spaces/{other_space}/collections"), json!({"name": "X", "parentId": a})).await;
    assert_eq!(foreign.status, 400);
    assert_eq!(foreign.detail_fields(), ["parentId"]);
}

async fn deleting_a_collection_moves_its_content_up(app: TestApp) {
    let space = app.create_space("s").await;
    let path = format!("/v1/spaces/{space}/collections");
    let a = app.post(&path, json!({"name": "A"})).await.body["id"].as_str().unwrap().to_owned();
    let b = app.post(&path, json!({"name": "B", "parentId": a})).await.body["id"].as_str().unwrap().to_owned();
    let c = app.post(&path, json!({"name": "C", "parentId": b})).await.body["id"].as_str().unwrap().to_owned();
    let source =
        app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "hi"}, "collectionId": b})).await;
    assert_eq!(source["collectionId"], b.as_str());

    assert_eq!(app.delete(&format!("/v1/collections/{b}")).await.status, 204);
    let tree = app.get(&path).await;
    assert_eq!(tree.body["collections"][0]["children"][0]["id"], c.as_str(), "C moved up under A");
    let source = app.get(&format!("/v1/sources/{}", source["id"].as_str().unwrap())).await;
    assert_eq!(source.body["collectionId"], a.as_str(), "the source moved up to A");
    assert_eq!(app.delete(&format!("/v1/collections/{b}")).await.status, 404);
}
