//! Health, the OpenAPI document and the docs page: public, no key needed.

use ctxd_test_support::TestApp;

on_both_backends!(
    health_checks_the_database_and_the_object_store,
    openapi_and_docs_are_served_without_auth,
    metrics_count_requests_by_route_and_show_the_queue
);

async fn health_checks_the_database_and_the_object_store(app: TestApp) {
    let response = app.send(app.client.get(format!("{}/health", app.address))).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "ok");
    assert_eq!(response.body["checks"], serde_json::json!({"database": "ok", "object_store": "ok"}));

    // The local object store's directory is gone: 503, naming the failing check.
    std::fs::remove_dir_all(app.data_dir.path().join("blobs")).unwrap();
    let response = app.send(app.client.get(format!("{}/health", app.address))).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.body["status"], "unavailable");
    assert_eq!(response.body["checks"], serde_json::json!({"database": "ok", "object_store": "unavailable"}));
}

async fn openapi_and_docs_are_served_without_auth(app: TestApp) {
    let spec = app.send(app.client.get(format!("{}/openapi.json", app.address))).await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.body["openapi"], "3.1.0");
    assert!(spec.body["paths"]["/v1/sources/{sourceId}/refresh"]["post"].is_object());
    let docs = app.client.get(format!("{}/docs/", app.address)).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

async fn metrics_count_requests_by_route_and_show_the_queue(app: TestApp) {
    let space = app.create_space("s").await;
    app.get(&format!("/v1/spaces/{space}")).await;
    app.create_source(&space, serde_json::json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    use ctxd_grpc::pb::{self, spaces_service_client::SpacesServiceClient};
    let mut grpc = SpacesServiceClient::new(crate::grpc::channel(&app).await);
    let unknown = pb::GetSpaceRequest { id: uuid::Uuid::now_v7().to_string() };
    grpc.get_space(crate::grpc::authed(&app.api_key, unknown)).await.expect_err("no such space");
    grpc.list_spaces(crate::grpc::authed(&app.api_key, pb::ListSpacesRequest { page: None })).await.unwrap();
    let response = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("ctxd_http_requests_total") && l.contains(r#"route="/v1/spaces/{spaceId}""#))
        .unwrap_or_else(|| panic!("no request line for the space route in:\n{text}"));
    assert!(line.contains(r#"status="200""#) && line.ends_with(" 1"), "{line}");
    assert!(text.contains("ctxd_http_request_duration_seconds_bucket"), "latency histogram");
    assert!(text.lines().any(|l| l == "ctxd_queue_depth 1"), "the queued run is counted:\n{text}");
    for expected in [
        r#"ctxd_grpc_requests_total{code="NotFound",method="/ctxd.v1.SpacesService/GetSpace"} 1"#,
        r#"ctxd_grpc_requests_total{code="Ok",method="/ctxd.v1.SpacesService/ListSpaces"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == expected), "{expected} in:\n{text}");
    }
    assert!(text.contains("ctxd_grpc_request_duration_seconds_bucket"), "gRPC latency histogram");
}
