//! Collections: the tree, moves, cycles and deletion.

use ctxd_test_support::TestApp;
use serde_json::json;

on_both_backends!(
    collections_form_a_tree_and_refuse_cycles,
    deleting_a_collection_moves_its_content_up,
    nesting_is_bounded_and_a_deeper_stored_tree_is_served_flattened,
);

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

/// The deepest chain the default limit allows is accepted, one level more (by create or
/// by move) is a 409, and a chain thousands of levels deep that reached the database
/// before the limit existed is listed over REST and gRPC without recursion, every
/// row present and no nesting deeper than the limit.
async fn nesting_is_bounded_and_a_deeper_stored_tree_is_served_flattened(app: TestApp) {
    use ctxd_domain::{
        ids::{CollectionId, SpaceId},
        model::Collection,
        ports::{CollectionRepository, UserRepository},
    };
    use ctxd_grpc::pb::{self, collections_service_client::CollectionsServiceClient};
    let space = app.create_space("deep").await;
    let path = format!("/v1/spaces/{space}/collections");
    let mut parent: Option<String> = None;
    for level in 1..=32 {
        let created = app.post(&path, json!({"name": format!("level {level}"), "parentId": parent})).await;
        assert_eq!(created.status, 201, "level {level}: {:?}", created.body);
        parent = created.body["id"].as_str().map(str::to_owned);
    }
    let deepest = parent.clone().unwrap();
    let too_deep = app.post(&path, json!({"name": "level 33", "parentId": deepest})).await;
    assert_eq!(too_deep.status, 409, "{:?}", too_deep.body);
    assert!(too_deep.body["message"].as_str().unwrap().contains("32"), "{:?}", too_deep.body);

    // A two-level subtree moved under level 31 would reach 33.
    let top = app.post(&path, json!({"name": "top"})).await.body["id"].as_str().unwrap().to_owned();
    app.post(&path, json!({"name": "under top", "parentId": top})).await;
    let tree = app.get(&path).await;
    let mut node = &tree.body["collections"][0];
    for _ in 1..31 {
        node = &node["children"][0];
    }
    let level_31 = node["id"].as_str().unwrap().to_owned();
    let moved = app.patch(&format!("/v1/collections/{top}"), json!({"parentId": level_31})).await;
    assert_eq!(moved.status, 409, "{:?}", moved.body);

    // Rows written below the API, as before the limit: 3,000 more levels.
    let space_id = SpaceId(space.parse().unwrap());
    let owner = app.store.find_by_name("alice").await.unwrap().expect("alice").id;
    let mut parent_id = Some(CollectionId(deepest.parse().unwrap()));
    let now = chrono::Utc::now();
    for level in 0..3_000 {
        let collection = Collection {
            id: CollectionId::new(),
            space_id,
            user_id: owner,
            parent_id,
            name: format!("legacy {level}"),
            description: None,
            created_at: now,
            updated_at: now,
        };
        CollectionRepository::insert(&app.store, &collection).await.unwrap();
        parent_id = Some(collection.id);
    }

    let tree = app.get(&path).await;
    assert_eq!(tree.status, 200, "{:?}", tree.body);
    let (count, deepest_level) = walk(&tree.body["collections"]);
    assert_eq!(count, 32 + 2 + 3_000, "every collection is listed");
    assert_eq!(deepest_level, 32);

    let mut grpc = CollectionsServiceClient::new(crate::grpc::channel(&app).await);
    let answer = grpc
        .collection_tree(crate::grpc::authed(&app.api_key, pb::CollectionTreeRequest { space_id: space.clone() }))
        .await
        .expect("the tree over gRPC")
        .into_inner();
    let mut stack: Vec<&pb::CollectionNode> = answer.collections.iter().collect();
    let mut grpc_count = 0;
    while let Some(node) = stack.pop() {
        grpc_count += 1;
        stack.extend(node.children.iter());
    }
    assert_eq!(grpc_count, count);
}

/// The number of nodes of a JSON collection forest and its deepest level, counted
/// with an explicit stack.
fn walk(forest: &serde_json::Value) -> (usize, usize) {
    let mut stack: Vec<(&serde_json::Value, usize)> = forest.as_array().unwrap().iter().map(|node| (node, 1)).collect();
    let (mut count, mut deepest) = (0, 0);
    while let Some((node, depth)) = stack.pop() {
        count += 1;
        deepest = deepest.max(depth);
        stack.extend(node["children"].as_array().unwrap().iter().map(|child| (child, depth + 1)));
    }
    (count, deepest)
}
