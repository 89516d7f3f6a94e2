//! API keys: creation (secret shown once), listing without secrets, revocation, and
//! authentication failures.

use chrono::{Duration, Utc};
use ctxd_domain::{
    ids::ApiKeyId,
    model::{ApiKey, ApiKeySecret},
    ports::ApiKeyRepository,
};
use ctxd_test_support::TestApp;
use serde_json::json;

on_both_backends!(keys_are_shown_once_listed_without_secrets_and_revocable, bad_credentials_are_unauthorized);

async fn keys_are_shown_once_listed_without_secrets_and_revocable(app: TestApp) {
    let created = app.post("/v1/api-keys", json!({"name": "ci"})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let secret = created.body["api_key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ctxd_"));
    assert_eq!(created.body["key_prefix"], secret[..12]);
    assert_eq!(created.body["name"], "ci");
    assert_eq!(created.body["revoked_at"], json!(null));
    let key_id = created.body["id"].as_str().unwrap().to_owned();

    // The new key works.
    assert_eq!(app.send(app.request_as(&secret, reqwest::Method::GET, "/v1/spaces")).await.status, 200);

    let list = app.get("/v1/api-keys").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["pagination"]["total"], 2, "alice's first key and this one");
    for key in list.body["api_keys"].as_array().unwrap() {
        assert!(key.get("api_key").is_none(), "secrets are never listed");
    }

    // Another user cannot see or revoke it.
    let bob = app.key_for("bob").await;
    let foreign = app.send(app.request_as(&bob, reqwest::Method::DELETE, &format!("/v1/api-keys/{key_id}"))).await;
    assert_eq!(foreign.status, 404);

    let revoked = app.delete(&format!("/v1/api-keys/{key_id}")).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.body["revoked_at"].is_string());
    assert!(revoked.body.get("api_key").is_none());
    let rejected = app.send(app.request_as(&secret, reqwest::Method::GET, "/v1/spaces")).await;
    assert_eq!(rejected.status, 401, "revocation is immediate");
    assert!(rejected.body["message"].as_str().unwrap().contains("revoked"));

    let past = app.post("/v1/api-keys", json!({"expiration_date": "2001-01-01T00:00:00Z"})).await;
    assert_eq!(past.status, 400);
    assert_eq!(past.detail_fields(), ["expiration_date"]);
    let not_a_date = app.post("/v1/api-keys", json!({"expiration_date": "tomorrow"})).await;
    assert_eq!(not_a_date.detail_fields(), ["expiration_date"]);
    let no_body = app.send(app.request(reqwest::Method::POST, "/v1/api-keys")).await;
    assert_eq!(no_body.status, 201, "every field is optional");
}

async fn bad_credentials_are_unauthorized(app: TestApp) {
    let missing = app.send(app.client.get(format!("{}/v1/spaces", app.address))).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.body["error"], "Unauthorized");
    assert_eq!(missing.body["code"], 401);
    assert!(missing.body["requestId"].as_str().unwrap().starts_with("req_"));

    let unknown = app.send(app.request_as("ctxd_nottherealkey", reqwest::Method::GET, "/v1/spaces")).await;
    assert_eq!(unknown.status, 401);
    let basic = app.send(app.client.get(format!("{}/v1/spaces", app.address)).basic_auth("a", Some("b"))).await;
    assert_eq!(basic.status, 401);

    // An expired key, stored as an expired key would be.
    let alice = app.use_cases.api_keys.authenticate(&app.api_key).await.unwrap();
    let secret = ApiKeySecret::generate();
    let expired = ApiKey {
        id: ApiKeyId::new(),
        user_id: alice.id,
        name: None,
        key_prefix: secret.prefix(),
        key_hash: secret.hash(),
        expiration_date: Some(Utc::now() - Duration::minutes(1)),
        created_at: Utc::now() - Duration::days(1),
        revoked_at: None,
    };
    ApiKeyRepository::insert(&app.store, &expired).await.unwrap();
    let response = app.send(app.request_as(secret.expose(), reqwest::Method::GET, "/v1/spaces")).await;
    assert_eq!(response.status, 401);
    assert!(response.body["message"].as_str().unwrap().contains("expired"));
}
