//! Spaces: create, list with pagination, get, replace, delete.

use ctxd_test_support::TestApp;
use serde_json::json;

on_both_backends!(spaces_lifecycle, space_names_are_validated, spaces_paginate_newest_first);

async fn spaces_lifecycle(app: TestApp) {
    let created = app.post("/v1/spaces", json!({"name": "Research", "description": "papers"})).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["name"], "Research");
    assert_eq!(created.body["description"], "papers");
    assert!(created.body["created_at"].as_str().unwrap().ends_with('Z'));

    let fetched = app.get(&format!("/v1/spaces/{id}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, created.body);

    let replaced = app.put(&format!("/v1/spaces/{id}"), json!({"name": "Renamed"})).await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.body["name"], "Renamed");
    assert_eq!(replaced.body["description"], json!(null), "PUT is a full replace");

    assert_eq!(app.delete(&format!("/v1/spaces/{id}")).await.status, 204);
    assert_eq!(app.get(&format!("/v1/spaces/{id}")).await.status, 404);
    assert_eq!(app.delete(&format!("/v1/spaces/{id}")).await.status, 404);
}

async fn space_names_are_validated(app: TestApp) {
    for body in [json!({"name": ""}), json!({"name": "x".repeat(201)}), json!({"name": "   "}), json!({})] {
        let response = app.post("/v1/spaces", body.clone()).await;
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.detail_fields(), ["name"], "{body}");
    }
    let unknown = app.post("/v1/spaces", json!({"name": "ok", "colour": "red"})).await;
    assert_eq!(unknown.status, 400);
}

async fn spaces_paginate_newest_first(app: TestApp) {
    for name in ["one", "two", "three"] {
        app.create_space(name).await;
    }
    let first = app.get("/v1/spaces?page=1&per_page=2").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["pagination"], json!({"page": 1, "per_page": 2, "total": 3, "pages": 2}));
    let names: Vec<_> = first.body["spaces"].as_array().unwrap().iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, [json!("three"), json!("two")]);
    let second = app.get("/v1/spaces?page=2&per_page=2").await;
    assert_eq!(second.body["spaces"][0]["name"], "one");
    let bad = app.get("/v1/spaces?page=0&per_page=101").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.detail_fields(), ["page", "per_page"]);
}
