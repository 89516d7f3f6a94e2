//! Uploads and FILE sources: presign, ctxd's signed PUT route (the local store), the
//! checks on what arrives, and refreshes that re-read the object only when it changed.

use std::time::Duration;

use ctxd_test_support::{Backend, TestApp, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

use crate::pipeline::wait_for_run;

on_both_backends!(
    presign_validates_the_request_and_refuses_oversized_files,
    signed_puts_store_only_the_declared_type_and_size,
    tampered_signatures_are_forbidden,
    file_keys_are_usable_only_by_their_owner_once_uploaded,
);

with_workers!(
    file_sources_refresh_unchanged_until_the_object_is_overwritten => 3,
);

/// Presigns `body` as `content_type` and returns the presign response.
pub(crate) async fn presign(app: &TestApp, filename: &str, content_type: &str, size: usize) -> Value {
    let response =
        app.post("/v1/upload/s3", json!({"filename": filename, "contentType": content_type, "size": size})).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body
}

/// PUTs `body` to an upload URL as a client would: no API key, just the URL.
pub(crate) async fn put_bytes(url: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(url)
        .header("content-type", content_type)
        .body(body.to_vec())
        .send()
        .await
        .expect("the upload target answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn presign_validates_the_request_and_refuses_oversized_files(app: TestApp) {
    let response = app.post("/v1/upload/s3", json!({})).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.detail_fields(), ["filename", "contentType", "size"]);
    let response = app.post("/v1/upload/s3", json!({"filename": "a", "contentType": "pdf", "size": -1})).await;
    assert_eq!(response.status, 400, "{:?}", response.body);
    let too_big = 100 * 1024 * 1024 + 1;
    let response = app
        .post("/v1/upload/s3", json!({"filename": "a.bin", "contentType": "application/pdf", "size": too_big}))
        .await;
    assert_eq!(response.status, 413, "{:?}", response.body);
    assert!(response.body["message"].as_str().unwrap().contains("over the upload limit"));
    let response =
        app.send(app.request_as("ctxd_nope", Method::POST, "/v1/upload/s3").json(&json!({"filename": "a"}))).await;
    assert_eq!(response.status, 401, "presigning needs an API key");
}

async fn signed_puts_store_only_the_declared_type_and_size(app: TestApp) {
    let presigned = presign(&app, "notes.md", "text/markdown", 11).await;
    let url = presigned["uploadUrl"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/v1/files/", app.address)), "ctxd's own URL with the local store: {url}");
    assert!(url.contains("signature=") && url.contains("expires="), "{url}");
    let key = presigned["fileKey"].as_str().unwrap();
    assert_eq!(presigned["publicUrl"], format!("{}/v1/files/{key}", app.address));

    let (status, body) = put_bytes(url, "text/plain", b"hello world").await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (400, Some("Content-Type")), "{body}");
    let (status, body) = put_bytes(url, "text/markdown", b"hello").await;
    assert_eq!(status, 400, "shorter than declared: {body}");
    let (status, _) = put_bytes(url, "text/markdown", b"hello world, and more").await;
    assert_eq!(status, 400, "longer than declared");
    let file = app.get(&format!("/v1/files/{key}")).await;
    assert_eq!(file.status, 404, "refused bodies leave nothing behind");

    let (status, body) = put_bytes(url, "text/markdown; charset=utf-8", b"hello world").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"fileKey": key, "size": 11, "contentType": "text/markdown"}));
    let (status, _) = put_bytes(url, "text/markdown", b"hi").await;
    assert_eq!(status, 400);
    let file = app.request(Method::GET, &format!("/v1/files/{key}")).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "text/markdown");
    assert_eq!(file.text().await.unwrap(), "hello world", "a refused overwrite keeps the earlier upload");
}

async fn tampered_signatures_are_forbidden(app: TestApp) {
    let presigned = presign(&app, "a.txt", "text/plain", 2).await;
    let url = presigned["uploadUrl"].as_str().unwrap();
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let expires: i64 = pairs.iter().find(|(k, _)| k == "expires").unwrap().1.parse().unwrap();
    let signature = &pairs.iter().find(|(k, _)| k == "signature").unwrap().1;

    parsed
        .query_pairs_mut()
        .clear()
        .append_pair("expires", &(expires + 3600).to_string())
        .append_pair("signature", signature);
    let (status, body) = put_bytes(parsed.as_str(), "text/plain", b"ok").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "the upload URL's signature is invalid");
    assert_eq!(
        (body["code"].as_u64(), body["error"].as_str()),
        (Some(403), Some("Forbidden")),
        "the contract's error shape"
    );

    let other_key = url.replace(presigned["fileKey"].as_str().unwrap(), "0190f000-0000-7000-8000-000000000000-a.txt");
    assert_eq!(put_bytes(&other_key, "text/plain", b"ok").await.0, 403, "a signature covers one key");
    let unsigned = url.split('?').next().unwrap();
    assert_eq!(put_bytes(unsigned, "text/plain", b"ok").await.0, 403);
    assert_eq!(put_bytes(url, "text/plain", b"ok").await.0, 200, "the untouched URL works");
}

async fn file_keys_are_usable_only_by_their_owner_once_uploaded(app: TestApp) {
    let space = app.create_space("s").await;
    let presigned = presign(&app, "a.txt", "text/plain", 5).await;
    let key = presigned["fileKey"].as_str().unwrap();
    let file = json!({"type": "FILE", "initial_data": {"data": key}});

    let response = app.post(&format!("/v1/spaces/{space}/sources"), file.clone()).await;
    assert_eq!(response.status, 400, "{:?}", response.body);
    assert_eq!(response.detail_fields(), ["initial_data.data"]);
    assert!(response.body["details"][0]["message"].as_str().unwrap().contains("not been uploaded"));

    assert_eq!(put_bytes(presigned["uploadUrl"].as_str().unwrap(), "text/plain", b"hello").await.0, 200);
    let bob = app.key_for("bob").await;
    let bobs_space = app.send(app.request_as(&bob, Method::POST, "/v1/spaces").json(&json!({"name": "b"}))).await;
    let bobs_space = bobs_space.body["id"].as_str().unwrap().to_owned();
    let response =
        app.send(app.request_as(&bob, Method::POST, &format!("/v1/spaces/{bobs_space}/sources")).json(&file)).await;
    assert_eq!(response.status, 404, "another user's key is unknown to bob: {:?}", response.body);
    let response = app.send(app.request_as(&bob, Method::GET, &format!("/v1/files/{key}"))).await;
    assert_eq!(response.status, 404);

    let response = app.post(&format!("/v1/spaces/{space}/sources"), file).await;
    assert_eq!(response.status, 202, "{:?}", response.body);
    assert_eq!(response.body["type"], "FILE");
}

async fn file_sources_refresh_unchanged_until_the_object_is_overwritten(app: TestApp) {
    let space = app.create_space("s").await;
    let first = b"# Notes\n\nThe queue lives in Postgres.\n";
    let presigned = presign(&app, "notes.md", "text/markdown", first.len()).await;
    let url = presigned["uploadUrl"].as_str().unwrap();
    assert_eq!(put_bytes(url, "text/markdown", first).await.0, 200);
    let source = app
        .create_source(&space, json!({"type": "FILE", "initial_data": {"data": presigned["fileKey"]}, "name": "notes"}))
        .await;
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(&app, id, &source["last_run"]["id"]).await;
    assert_eq!((done["status"].as_str(), done["revision"].as_u64()), (Some("COMPLETED"), Some(1)), "{done}");
    let content = app.request(Method::GET, &format!("/v1/sources/{id}/content")).send().await.unwrap();
    assert_eq!(content.text().await.unwrap(), "# Notes\n\nThe queue lives in Postgres.\n");
    let revision = app.get(&format!("/v1/sources/{id}/revisions/1")).await.body;
    assert_eq!(revision["http"]["content_type"], "text/markdown", "{revision}");

    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    assert_eq!(refresh.status, 202, "{:?}", refresh.body);
    let done = wait_for_run(&app, id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(
        (done["last_run"]["outcome"].as_str(), done["revision"].as_u64()),
        (Some("UNCHANGED"), Some(1)),
        "{done}"
    );

    // Same size, other bytes: the URL is still valid, so the client overwrites.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = b"# Notes\n\nThe queue lives in SQLite!!!\n";
    assert_eq!(second.len(), first.len());
    assert_eq!(put_bytes(url, "text/markdown", second).await.0, 200);
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, id, &refresh.body["last_run"]["id"]).await;
    assert_eq!((done["last_run"]["outcome"].as_str(), done["revision"].as_u64()), (Some("CHANGED"), Some(2)), "{done}");
    let diff = app.get(&format!("/v1/sources/{id}/revisions/2/diff?against=1")).await.body;
    assert!(diff["diff"].as_str().unwrap().contains("+The queue lives in SQLite!!!"), "{diff}");
}

#[tokio::test]
async fn expired_upload_urls_are_forbidden() {
    let app = spawn_app_with(Backend::Sqlite, |config| config.uploads.url_ttl_seconds = 1).await.unwrap();
    let presigned = presign(&app, "a.txt", "text/plain", 2).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = put_bytes(presigned["uploadUrl"].as_str().unwrap(), "text/plain", b"ok").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["message"], "the upload URL has expired");
}

/// The S3 path against a real S3-compatible server (moto in CI): a presigned PUT
/// with plain HTTP, a FILE source from it, refreshes that read the bucket
/// conditionally.
async fn s3_uploads_presign_put_create_and_refresh(backend: Backend) {
    let Some((endpoint, bucket)) = ctxd_test_support::s3_bucket().await else { return };
    let app = crate::pipeline::app_with_workers_and(backend, move |config| {
        config.blobs.backend = ctxd_server::config::BlobBackend::S3;
        config.blobs.s3.endpoint = Some(endpoint);
        config.blobs.s3.bucket = bucket;
        config.blobs.s3.path_style = true;
        config.blobs.s3.access_key_id = Some("testing".into());
        config.blobs.s3.secret_access_key = Some("testing".into());
    })
    .await;
    let Some(app) = app else { return };
    let space = app.create_space("s").await;
    let first = b"# Report\n\nQ3 revenue grew.\n";
    let presigned = presign(&app, "report.md", "text/markdown", first.len()).await;
    let url = presigned["uploadUrl"].as_str().unwrap();
    let query: std::collections::HashMap<String, String> =
        url::Url::parse(url).unwrap().query_pairs().into_owned().collect();
    assert!(query.contains_key("X-Amz-Signature"), "a real presigned S3 URL: {url}");
    assert!(!url.starts_with(&app.address), "the client talks to the bucket, not ctxd");
    assert!(
        presigned["publicUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/uploads/{}", presigned["fileKey"].as_str().unwrap()))
    );
    let (status, body) = put_bytes(url, "text/markdown", first).await;
    assert_eq!(status, 200, "{body}");

    let source =
        app.create_source(&space, json!({"type": "FILE", "initial_data": {"data": presigned["fileKey"]}})).await;
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(&app, id, &source["last_run"]["id"]).await;
    assert_eq!((done["status"].as_str(), done["revision"].as_u64()), (Some("COMPLETED"), Some(1)), "{done}");
    let context = app.get(&format!("/v1/sources/{id}/context")).await.body;
    assert_eq!(context["title"], "Report");

    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, id, &refresh.body["last_run"]["id"]).await;
    assert_eq!(done["last_run"]["outcome"], "UNCHANGED", "{done}");

    let second = b"# Report\n\nQ3 revenue fell.\n";
    assert_eq!(put_bytes(url, "text/markdown", second).await.0, 200);
    let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
    let done = wait_for_run(&app, id, &refresh.body["last_run"]["id"]).await;
    assert_eq!((done["last_run"]["outcome"].as_str(), done["revision"].as_u64()), (Some("CHANGED"), Some(2)), "{done}");
}

#[tokio::test]
async fn s3_uploads_on_sqlite() {
    s3_uploads_presign_put_create_and_refresh(Backend::Sqlite).await;
}

#[tokio::test]
async fn s3_uploads_on_postgres() {
    s3_uploads_presign_put_create_and_refresh(Backend::Postgres).await;
}
