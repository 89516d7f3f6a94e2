//! Health, the OpenAPI document and the docs page: public, no key needed.

use ctxd_test_support::TestApp;

on_both_backends!(health_checks_the_database, openapi_and_docs_are_served_without_auth);

async fn health_checks_the_database(app: TestApp) {
    let response = app.send(app.client.get(format!("{}/health", app.address))).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "ok");
    assert_eq!(response.body["checks"]["database"], "ok");
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
