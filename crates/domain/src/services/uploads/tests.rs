//! Presigning and the signed route against mocked ports.

use std::sync::Mutex;

use futures_util::{FutureExt, TryStreamExt};

use super::*;
use crate::{
    ErrorKind,
    ids::UserId,
    model::Plan,
    services::test_ports::{Mocks, fixed_now},
};

fn user() -> User {
    User { id: UserId::new(), name: "ada".into(), plan: Plan::Pro, created_at: fixed_now() }
}

fn request(size: u64) -> NewUpload {
    NewUpload {
        filename: Some("My report (final).pdf".into()),
        content_type: Some("application/pdf".into()),
        size: Some(size),
    }
}

fn settings() -> UploadSettings {
    UploadSettings { max_bytes: 1000, url_ttl: Duration::from_secs(900), signing_key: b"k".to_vec() }
}

/// A local-store service whose uploads table holds what presign inserted.
fn local_service(mut mocks: Mocks) -> (UploadService, Arc<Mutex<Vec<Upload>>>) {
    let table: Arc<Mutex<Vec<Upload>>> = Arc::default();
    let inserted = table.clone();
    mocks.uploads.expect_insert().returning(move |upload| {
        inserted.lock().unwrap().push(upload.clone());
        Ok(())
    });
    let found = table.clone();
    mocks
        .uploads
        .expect_find()
        .returning(move |key| Ok(found.lock().unwrap().iter().find(|u| u.file_key == key).cloned()));
    mocks.blobs.expect_presign_put().returning(|_, _, _, _| Ok(None));
    mocks.blobs.expect_public_url().returning(|_| None);
    (UploadService::new(mocks.into_ports(), settings()), table)
}

fn signature(query: &str) -> UploadSignature {
    let pairs: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    UploadSignature {
        expires: pairs.get("expires").and_then(|e| e.parse().ok()),
        signature: pairs.get("signature").cloned(),
    }
}

fn body(parts: &[&'static [u8]]) -> ByteStream {
    let parts: Vec<&'static [u8]> = parts.to_vec();
    stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p)))).boxed()
}

#[tokio::test]
async fn presign_validates_every_field_and_refuses_sizes_over_the_limit() {
    let (service, _) = local_service(Mocks::default());
    let error = service.presign(&user(), NewUpload::default()).await.unwrap_err();
    let fields: Vec<_> = error.details().iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["filename", "contentType", "size"]);
    let bad = NewUpload { filename: Some("a".into()), content_type: Some("pdf".into()), size: Some(0) };
    let fields: Vec<_> =
        service.presign(&user(), bad).await.unwrap_err().details().iter().map(|d| d.field.clone()).collect();
    assert_eq!(fields, ["contentType", "size"]);
    assert_eq!(service.presign(&user(), request(1001)).await.unwrap_err().kind(), ErrorKind::PayloadTooLarge);
}

#[tokio::test]
async fn presign_judges_names_and_types_as_sent_not_after_trimming() {
    let (service, _) = local_service(Mocks::default());
    let ask = |filename: &str, content_type: &str| NewUpload {
        filename: Some(filename.into()),
        content_type: Some(content_type.into()),
        size: Some(3),
    };
    // A trailing form feed is white space to `trim` but a control character to the
    // schema's pattern; so is a name made long by trailing spaces.
    for (filename, content_type, field) in [
        ("!x\u{c}", "text/plain", "filename"),
        (&format!("a{}", " ".repeat(255)), "text/plain", "filename"),
        ("a.txt", " text/plain", "contentType"),
        ("a.txt", "text/plain ;charset=utf-8", "contentType"),
    ] {
        let error = service.presign(&user(), ask(filename, content_type)).await.unwrap_err();
        let fields: Vec<_> = error.details().iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, [field], "{filename:?} {content_type:?}");
    }
    let presigned = service.presign(&user(), ask("  notes.txt ", "text/plain; charset=utf-8")).await.unwrap();
    assert_eq!(presigned.upload.filename, "notes.txt", "surrounding spaces are allowed and not kept");
}

#[tokio::test]
async fn presign_records_the_upload_under_a_safe_key_and_signs_ctxds_route() {
    let (service, table) = local_service(Mocks::default());
    let user = user();
    let presigned = service.presign(&user, request(3)).await.unwrap();
    let key = &presigned.upload.file_key;
    assert!(key.ends_with("-My_report__final_.pdf") && !key.contains('/'), "one path segment: {key}");
    assert_eq!(presigned.upload.object_key(), format!("uploads/{key}"));
    assert_eq!(presigned.upload.user_id, user.id);
    assert_eq!(table.lock().unwrap().len(), 1);
    assert_eq!(presigned.expires_at, fixed_now() + chrono::Duration::minutes(15));
    let UploadTarget::Ctxd { query } = &presigned.target else { panic!("the local store uses ctxd's route") };
    let signed = signature(query);
    assert_eq!(signed.expires, Some(presigned.expires_at.timestamp()));
}

#[tokio::test]
async fn presign_uses_the_stores_own_url_when_it_signs_them() {
    let mut mocks = Mocks::default();
    mocks.uploads.expect_insert().returning(|_| Ok(()));
    mocks
        .blobs
        .expect_presign_put()
        .withf(|_, content_type, size, ttl| content_type == "application/pdf" && *size == 3 && ttl.as_secs() == 900)
        .returning(|key, _, _, _| {
            Ok(Some(Url::parse(&format!("https://bucket.example/{key}?X-Amz-Signature=x")).unwrap()))
        });
    mocks.blobs.expect_public_url().returning(|key| Url::parse(&format!("https://bucket.example/{key}")).ok());
    let presigned = UploadService::new(mocks.into_ports(), settings()).presign(&user(), request(3)).await.unwrap();
    assert!(matches!(presigned.target, UploadTarget::Direct(url) if url.host_str() == Some("bucket.example")));
    assert!(presigned.public_url.is_some());
}

/// A service whose store records what `put_stream` received.
async fn presigned_local() -> (UploadService, Upload, UploadSignature, Arc<Mutex<Vec<Vec<u8>>>>) {
    let stored: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let sink = stored.clone();
    let mut mocks = Mocks::default();
    mocks.blobs.expect_put_stream().returning(move |_, body| {
        // Drain the stream the way a store would, keeping it only when it ends well.
        // The test streams are ready at once, so polling once drains them.
        let collected = body.try_collect::<Vec<Bytes>>().now_or_never().expect("a ready stream")?;
        let bytes = collected.concat();
        let written = bytes.len() as u64;
        sink.lock().unwrap().push(bytes);
        Ok(written)
    });
    let (service, _) = local_service(mocks);
    let presigned = service.presign(&user(), request(4)).await.unwrap();
    let UploadTarget::Ctxd { query } = &presigned.target else { unreachable!() };
    let signed = signature(query);
    (service, presigned.upload, signed, stored)
}

fn put<'a>(
    upload: &'a Upload,
    signature: UploadSignature,
    content_type: &'a str,
    parts: &[&'static [u8]],
) -> ReceivedUpload<'a> {
    ReceivedUpload {
        file_key: &upload.file_key,
        signature,
        content_type: Some(content_type),
        content_length: None,
        body: body(parts),
    }
}

#[tokio::test]
async fn a_signed_put_of_the_declared_type_and_size_is_stored() {
    let (service, upload, signed, stored) = presigned_local().await;
    service.receive(put(&upload, signed, "application/PDF; charset=binary", &[b"ab", b"cd"])).await.unwrap();
    assert_eq!(stored.lock().unwrap().as_slice(), [b"abcd".to_vec()]);
}

#[tokio::test]
async fn a_tampered_unsigned_or_expired_url_is_forbidden() {
    let (service, upload, signed, stored) = presigned_local().await;
    let mut tampered = signed.clone();
    tampered.expires = signed.expires.map(|e| e + 3600);
    let error = service.receive(put(&upload, tampered, "application/pdf", &[b"abcd"])).await.unwrap_err();
    assert_eq!(
        (error.kind(), error.to_string().as_str()),
        (ErrorKind::Forbidden, "the upload URL's signature is invalid")
    );
    let other_key = Upload { file_key: format!("{}x", upload.file_key), ..upload.clone() };
    assert_eq!(
        service.receive(put(&other_key, signed.clone(), "application/pdf", &[b"abcd"])).await.unwrap_err().kind(),
        ErrorKind::Forbidden
    );
    let unsigned = UploadSignature::default();
    assert_eq!(
        service.receive(put(&upload, unsigned, "application/pdf", &[b"abcd"])).await.unwrap_err().kind(),
        ErrorKind::Forbidden
    );

    // The same signature over an expiry that has passed: a replay after expiry.
    let expired = UploadSignature { expires: Some(fixed_now().timestamp() - 1), signature: None };
    let signed_expired = signature(&service.signed_query(&upload.file_key, expired.expires.unwrap()));
    let error = service.receive(put(&upload, signed_expired, "application/pdf", &[b"abcd"])).await.unwrap_err();
    assert_eq!((error.kind(), error.to_string().as_str()), (ErrorKind::Forbidden, "the upload URL has expired"));
    assert!(stored.lock().unwrap().is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_body_of_another_type_or_size_is_refused_and_not_stored() {
    let (service, upload, signed, stored) = presigned_local().await;
    let error = service.receive(put(&upload, signed.clone(), "text/plain", &[b"abcd"])).await.unwrap_err();
    assert_eq!(error.details()[0].field, "Content-Type");
    let mut declared_longer = put(&upload, signed.clone(), "application/pdf", &[b"abcd"]);
    declared_longer.content_length = Some(5);
    assert_eq!(service.receive(declared_longer).await.unwrap_err().details()[0].field, "Content-Length");
    let too_long: &[&'static [u8]] = &[b"ab", b"cde"];
    let too_short: &[&'static [u8]] = &[b"abc"];
    for parts in [too_long, too_short] {
        let error = service.receive(put(&upload, signed.clone(), "application/pdf", parts)).await.unwrap_err();
        assert_eq!(error.details()[0].field, "body");
    }
    assert!(stored.lock().unwrap().is_empty(), "a refused body never reaches the store");
}

#[tokio::test]
async fn only_the_owner_downloads_an_upload() {
    let mut mocks = Mocks::default();
    mocks.uploads.expect_get().returning(|_, _| Ok(None));
    let service = UploadService::new(mocks.into_ports(), settings());
    let error = service.download(&user(), "x-y.pdf").await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}
