//! The local-directory store against a temporary directory, and the S3 addresses
//! (signing works offline: no bucket is contacted).

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, stream};

use super::*;

fn chunks(parts: Vec<Result<&'static [u8]>>) -> ByteStream {
    stream::iter(parts.into_iter().map(|part| part.map(Bytes::from_static))).boxed()
}

#[tokio::test]
async fn put_get_delete_round_trip_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    let key = "sources/abc/revisions/1/raw";
    assert_eq!(store.get(key).await.unwrap(), None);
    store.put(key, b"hello".to_vec()).await.unwrap();
    assert_eq!(store.get(key).await.unwrap().as_deref(), Some(&b"hello"[..]));
    assert!(dir.path().join(key).is_file(), "objects are plain files under the root");
    store.delete(key).await.unwrap();
    store.delete(key).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), None);
    assert_eq!(store.head(key).await.unwrap(), None);
}

#[tokio::test]
async fn delete_prefix_removes_one_folder_and_nothing_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    for key in ["sources/a/revisions/1/raw", "sources/a/revisions/2/normalized.md", "sources/ab/revisions/1/raw"] {
        store.put(key, b"x".to_vec()).await.unwrap();
    }
    assert_eq!(store.delete_prefix("sources/a/").await.unwrap(), 2);
    assert_eq!(store.get("sources/ab/revisions/1/raw").await.unwrap().as_deref(), Some(&b"x"[..]), "a sibling stays");
    assert!(!dir.path().join("sources/a").exists(), "no empty folders are left behind");
    assert_eq!(store.delete_prefix("sources/a/").await.unwrap(), 0, "a second purge finds nothing");
}

#[tokio::test]
async fn conditional_read_answers_not_modified_until_the_object_is_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    assert_eq!(store.read("uploads/a", None).await.unwrap(), BlobRead::Missing);
    store.put("uploads/a", b"one".to_vec()).await.unwrap();
    let BlobRead::Found { bytes, meta } = store.read("uploads/a", None).await.unwrap() else { panic!("stored") };
    assert_eq!(bytes, b"one");
    assert_eq!(meta.size, 3);
    let etag = meta.etag.expect("the local store tags objects");
    assert_eq!(store.read("uploads/a", Some(etag.clone())).await.unwrap(), BlobRead::NotModified);
    assert_eq!(store.head("uploads/a").await.unwrap().unwrap().etag.as_deref(), Some(etag.as_str()));

    // A different size is a different tag whatever the clock's resolution.
    store.put("uploads/a", b"three".to_vec()).await.unwrap();
    let BlobRead::Found { bytes, .. } = store.read("uploads/a", Some(etag.clone())).await.unwrap() else {
        panic!("an overwritten object is read again")
    };
    assert_eq!(bytes, b"three");
}

#[tokio::test]
async fn put_stream_writes_every_chunk_and_open_streams_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    let written = store.put_stream("uploads/s", chunks(vec![Ok(b"ab"), Ok(b""), Ok(b"cd")])).await.unwrap();
    assert_eq!(written, 4);
    let (meta, body) = store.open("uploads/s").await.unwrap().unwrap();
    assert_eq!(meta.size, 4);
    let read: Vec<Bytes> = body.try_collect().await.unwrap();
    assert_eq!(read.concat(), b"abcd");
    assert!(store.open("uploads/none").await.unwrap().is_none());
}

#[tokio::test]
async fn a_stream_that_fails_leaves_the_previous_object_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    store.put("uploads/keep", b"original".to_vec()).await.unwrap();
    let refused = Error::invalid("body", "too long");
    let error = store.put_stream("uploads/keep", chunks(vec![Ok(b"partial"), Err(refused)])).await.unwrap_err();
    assert_eq!(error.details()[0].field, "body", "the stream's own error comes back");
    assert_eq!(store.get("uploads/keep").await.unwrap().as_deref(), Some(&b"original"[..]));
    let error = store.put_stream("uploads/new", chunks(vec![Err(Error::invalid("body", "x"))])).await.unwrap_err();
    assert_eq!(error.kind(), ctxd_domain::ErrorKind::InvalidInput);
    assert_eq!(store.head("uploads/new").await.unwrap(), None, "no object appears");
}

#[tokio::test]
async fn the_local_store_has_no_signed_urls_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectBlobStore::local(dir.path()).unwrap();
    assert_eq!(store.presign_put("uploads/a", "text/plain", 3, Duration::from_secs(60)).await.unwrap(), None);
    assert_eq!(store.public_url("uploads/a"), None);
}

fn s3(path_style: bool, public_url: Option<&str>) -> ObjectBlobStore {
    let host = if path_style { "127.0.0.1" } else { "localhost" };
    ObjectBlobStore::s3(&S3Settings {
        endpoint: Some(format!("http://{host}:9000")),
        bucket: "ctxd".into(),
        region: "us-east-1".into(),
        access_key_id: Some("test".into()),
        secret_access_key: Some(ctxd_domain::secret::Secret::new("secret")),
        path_style,
        public_url: public_url.map(str::to_owned),
    })
    .unwrap()
}

#[tokio::test]
async fn s3_presigned_put_binds_the_content_type_to_the_signature() {
    let url = s3(true, None)
        .presign_put("uploads/u/1/report.pdf", "application/pdf", 42, Duration::from_secs(900))
        .await
        .unwrap()
        .expect("S3 signs its own URLs");
    assert_eq!(url.path(), "/ctxd/uploads/u/1/report.pdf", "path style: bucket in the path");
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["X-Amz-Expires"], "900");
    assert!(query.contains_key("X-Amz-Signature"));
    let signed = &query["X-Amz-SignedHeaders"];
    assert!(signed.split(';').any(|h| h == "content-type"), "{signed}");
    let error = s3(true, None).presign_put("k", "not a\nheader", 1, Duration::from_secs(1)).await.unwrap_err();
    assert_eq!(error.kind(), ctxd_domain::ErrorKind::InvalidInput);
}

#[test]
fn s3_public_urls_follow_the_addressing_style_or_the_configured_base() {
    assert_eq!(s3(true, None).public_url("uploads/a b").unwrap().as_str(), "http://127.0.0.1:9000/ctxd/uploads/a%20b");
    assert_eq!(s3(false, None).public_url("k").unwrap().as_str(), "http://ctxd.localhost:9000/k");
    assert_eq!(
        s3(true, Some("https://cdn.example.com/files")).public_url("k").unwrap().as_str(),
        "https://cdn.example.com/files/k"
    );
}

#[tokio::test]
async fn the_local_store_is_healthy_while_its_directory_exists() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = ObjectBlobStore::local(&root).unwrap();
    store.check().await.unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    assert!(matches!(store.check().await, Err(Error::Unavailable(_))));
}

/// An S3 endpoint on 127.0.0.1 that answers every request with `status`.
async fn s3_answering(status: u16) -> ObjectBlobStore {
    let status = http::StatusCode::from_u16(status).unwrap();
    let app = axum::Router::new().fallback(move || async move { status });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    ObjectBlobStore::s3(&S3Settings {
        endpoint: Some(endpoint),
        bucket: "ctxd".into(),
        region: "us-east-1".into(),
        access_key_id: Some("test".into()),
        secret_access_key: Some(ctxd_domain::secret::Secret::new("secret")),
        path_style: true,
        public_url: None,
    })
    .unwrap()
}

#[tokio::test]
async fn an_s3_bucket_is_healthy_when_it_answers_and_not_when_it_refuses_the_credentials() {
    s3_answering(404).await.check().await.expect("a missing probe object is an answer");
    assert!(matches!(s3_answering(403).await.check().await, Err(Error::Unavailable(_))));
}
