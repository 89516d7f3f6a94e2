//! Bad input gets the contract's error shape with field details, never a 500.

use ctxd_test_support::{Backend, TestApp, spawn_app_with};
use serde_json::json;

on_both_backends!(
    malformed_requests_get_400_with_details,
    wrong_content_type_is_415,
    request_ids_are_echoed_or_generated
);

async fn malformed_requests_get_400_with_details(app: TestApp) {
    let space = app.create_space("s").await;
    let sources = format!("/v1/spaces/{space}/sources");

    let syntax = app
        .send(
            app.request(reqwest::Method::POST, &sources).header("content-type", "application/json").body("{\"type\": "),
        )
        .await;
    assert_eq!(syntax.status, 400);
    assert_eq!(syntax.detail_fields(), ["body"]);
    assert_eq!(syntax.body["error"], "Bad Request");
    assert_eq!(syntax.body["code"], 400);
    assert!(syntax.body["requestId"].is_string());

    let cases = [
        (json!({"type": "URI", "initial_data": {"url": 5}}), "initial_data.url"),
        (json!({"type": "WEBPAGE", "initial_data": {"url": "https://example.com"}}), "type"),
        (json!({"initial_data": {"url": "https://example.com"}}), "type"),
        (json!({"type": "URI"}), "initial_data"),
        (json!({"type": "URI", "initial_data": {}}), "initial_data.url"),
        (json!({"type": "URI", "initial_data": "https://example.com"}), "initial_data"),
        (json!({"type": "CONTENT", "initial_data": {"data": ""}}), "initial_data.data"),
        (json!({"type": "URI", "initial_data": {"url": "https://e.com"}, "collectionId": "nope"}), "collectionId"),
        (
            json!({"type": "URI", "initial_data": {"url": "https://e.com"}, "instructions": {"run_context_extraction": "yes"}}),
            "instructions.run_context_extraction",
        ),
        (
            json!({"type": "URI", "initial_data": {"url": "https://e.com"}, "instructions": {"refresh_policy": {"mode": "HOURLY"}}}),
            "instructions.refresh_policy.mode",
        ),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let response = app.post(&sources, body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        assert_eq!(response.detail_fields(), [field], "{body}");
    }

    for path in ["/v1/spaces/not-a-uuid", "/v1/sources/123/refresh", "/v1/collections/x"] {
        let method = if path.contains("refresh") { reqwest::Method::POST } else { reqwest::Method::GET };
        let method = if path.contains("collections") { reqwest::Method::DELETE } else { method };
        let response = app.send(app.request(method, path)).await;
        assert_eq!(response.status, 400, "{path}");
        assert!(!response.detail_fields().is_empty(), "{path}");
    }

    let unknown_space = app.get(&format!("/v1/spaces/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(unknown_space.status, 404);
    assert_eq!(unknown_space.body["error"], "Not Found");
    let no_route = app.get("/v1/nothing-here").await;
    assert_eq!(no_route.status, 404);
    assert_eq!(no_route.body["code"], 404);
}

async fn wrong_content_type_is_415(app: TestApp) {
    let response = app
        .send(
            app.request(reqwest::Method::POST, "/v1/spaces")
                .header("content-type", "text/plain")
                .body("{\"name\": \"x\"}"),
        )
        .await;
    assert_eq!(response.status, 415);
    assert_eq!(response.body["error"], "Unsupported Media Type");
}

async fn request_ids_are_echoed_or_generated(app: TestApp) {
    let echoed = app.send(app.request(reqwest::Method::GET, "/v1/spaces/bad").header("x-request-id", "trace-42")).await;
    assert_eq!(echoed.headers["x-request-id"], "trace-42");
    assert_eq!(echoed.body["requestId"], "trace-42");
    let generated = app.get("/v1/spaces").await;
    assert!(generated.headers["x-request-id"].to_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.http.max_body_bytes = 2048).await.unwrap();
    let space = app.create_space("s").await;
    let big = json!({"type": "CONTENT", "initial_data": {"data": "x".repeat(4096)}});
    let response = app.post(&format!("/v1/spaces/{space}/sources"), big).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.body["code"], 413);
}

#[tokio::test]
async fn content_over_the_configured_limit_is_413_naming_the_field_and_the_setting() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.limits.max_content_bytes = 10).await.unwrap();
    let space = app.create_space("s").await;
    let response = app
        .post(
            &format!("/v1/spaces/{space}/sources"),
            json!({"type": "CONTENT", "initial_data": {"data": "x".repeat(11)}}),
        )
        .await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.body["code"], 413);
    let message = response.body["message"].as_str().unwrap();
    assert!(message.contains("initial_data.data") && message.contains("limits.max_content_bytes"), "{message}");
}

mod requests_over_the_plan_limit_get_429_with_retry_after {
    use ctxd_test_support::Backend;

    #[tokio::test]
    async fn sqlite() {
        super::requests_over_the_plan_limit_get_429_with_retry_after(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        super::requests_over_the_plan_limit_get_429_with_retry_after(Backend::Postgres).await;
    }
}

/// The budget is kept in memory on SQLite and in the database on Postgres; both
/// answer the same way.
async fn requests_over_the_plan_limit_get_429_with_retry_after(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |config| config.rate_limits.pro_per_minute = 3).await else { return };
    let first = app.get("/v1/spaces").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.headers["x-ratelimit-limit"], "3");
    assert_eq!(first.headers["x-ratelimit-remaining"], "2");
    let reset: u64 = first.headers["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset));
    app.get("/v1/spaces").await;
    app.get("/v1/spaces").await;
    let limited = app.get("/v1/spaces").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["code"], 429);
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "one request per 20 s: {retry_after}");

    // Another user has their own budget; public routes are not counted.
    let bob = app.key_for("bob").await;
    assert_eq!(app.send(app.request_as(&bob, reqwest::Method::GET, "/v1/spaces")).await.status, 200);
    let health = app.send(app.client.get(format!("{}/health", app.address))).await;
    assert_eq!(health.status, 200);
    assert!(health.headers.get("x-ratelimit-limit").is_none());
}
