//! Hostile input, as the attack on ctxd sent it: NUL bytes, page numbers past every
//! integer, connections dropped mid-request, malformed HTTP, lax JSON and forged
//! headers. Every case answers in the contract's shape, never a 500, and loses nothing.

use std::time::Duration;

use ctxd_test_support::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    grpc::{authed, channel},
    pipeline::wait_for_run,
    uploads::{presign, put_bytes},
};

on_both_backends!(
    nul_in_a_text_field_is_a_400_naming_it,
    page_numbers_past_the_bound_are_400_on_every_paginated_route,
    keyed_creates_survive_dropped_connections_and_stale_keys_expire,
    every_error_has_the_json_shape_even_from_the_http_layer,
    only_objects_are_bodies_and_unknown_parameters_are_refused,
    ids_are_read_only_in_their_canonical_spelling,
    upload_urls_never_come_from_forged_headers,
    file_keys_cannot_walk_out_of_the_store,
);

with_workers!(
    bodies_with_nul_bytes_are_processed => 3,
    a_run_whose_outputs_the_database_refuses_fails_once_with_a_message => 3,
);

/// The first `details[].field` of an error body.
fn first_field(body: &Value) -> &str {
    body["details"][0]["field"].as_str().unwrap_or_default()
}

async fn nul_in_a_text_field_is_a_400_naming_it(app: TestApp) {
    let space = app.create_space("s").await;
    let collections = format!("/v1/spaces/{space}/collections");
    let sources = format!("/v1/spaces/{space}/sources");
    let content = json!({"data": "hello"});
    let cases = [
        ("/v1/spaces", json!({"name": "a\u{0}b"}), "name"),
        ("/v1/spaces", json!({"name": "ok", "description": "d\u{0}"}), "description"),
        (collections.as_str(), json!({"name": "c\u{0}"}), "name"),
        (sources.as_str(), json!({"type": "CONTENT", "initial_data": content, "name": "n\u{0}"}), "name"),
        (sources.as_str(), json!({"type": "CONTENT", "initial_data": content, "description": "\u{0}"}), "description"),
        ("/v1/api-keys", json!({"name": "k\u{0}"}), "name"),
        ("/v1/upload/s3", json!({"filename": "a\u{0}.pdf", "contentType": "application/pdf", "size": 3}), "filename"),
    ];
    for (path, body, field) in cases {
        let response = app.post(path, body.clone()).await;
        assert_eq!(response.status, 400, "{path} {body}: {:?}", response.body);
        assert_eq!(response.detail_fields(), [field], "{path} {body}");
    }
    for query in ["language=%00", "q=a%00b"] {
        let response = app.get(&format!("/v1/spaces/{space}/artifacts?{query}")).await;
        assert_eq!(response.status, 400, "{query}: {:?}", response.body);
    }
    assert_eq!(app.get(&format!("/v1/spaces/{space}/artifacts?language=%00")).await.detail_fields(), ["language"]);

    // CONTENT keeps working: its NULs are dropped.
    let created =
        app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "before\u{0}after"}})).await;
    assert_eq!(created["initial_data"]["data"], "beforeafter");

    // gRPC names the field the same way, with INVALID_ARGUMENT rather than INTERNAL.
    use ctxd_grpc::pb::{self, spaces_service_client::SpacesServiceClient};
    let mut grpc = SpacesServiceClient::new(channel(&app).await);
    let request = pb::CreateSpaceRequest { name: "a\u{0}".into(), description: None };
    let status = grpc.create_space(authed(&app.api_key, request)).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("name"), "{status:?}");
}

/// A FILE upload and a fetched page whose bytes hold NULs complete on both
/// databases; the raw bytes are kept as they came.
async fn bodies_with_nul_bytes_are_processed(app: TestApp) {
    let space = app.create_space("s").await;
    let bytes = b"first line\0\0second line\0 with a NUL\n".to_vec();
    let presigned = presign(&app, "debris.txt", "text/plain", bytes.len()).await;
    let (status, _) = put_bytes(presigned["uploadUrl"].as_str().unwrap(), "text/plain", &bytes).await;
    assert_eq!(status, 200);
    let source =
        app.create_source(&space, json!({"type": "FILE", "initial_data": {"data": presigned["fileKey"]}})).await;
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(&app, id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let context = app.get(&format!("/v1/sources/{id}/context")).await;
    assert_eq!(context.status, 200);
    assert!(!context.body.to_string().contains("\\u0000"), "{}", context.body);
    let raw = app.send(app.request(Method::GET, &format!("/v1/sources/{id}/content?format=raw"))).await;
    assert_eq!(raw.status, 200);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/page", listener.local_addr().unwrap());
    let origin = axum::Router::new().route(
        "/page",
        axum::routing::get(|| async {
            ([("content-type", "text/html")], "<html><title>T\0itle</title><body><p>text\0 with NUL</p></body></html>")
        }),
    );
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(&app, id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
}

async fn page_numbers_past_the_bound_are_400_on_every_paginated_route(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "hi"}})).await;
    let source = source["id"].as_str().unwrap();
    let routes = [
        "/v1/spaces".to_owned(),
        format!("/v1/spaces/{space}/sources"),
        format!("/v1/spaces/{space}/artifacts"),
        format!("/v1/sources/{source}/runs"),
        format!("/v1/sources/{source}/revisions"),
        format!("/v1/sources/{source}/artifacts"),
        "/v1/api-keys".to_owned(),
    ];
    for route in &routes {
        for query in ["page=18446744073709551615&per_page=100", "page=92233720368547758&per_page=100", "page=10000001"]
        {
            let response = app.get(&format!("{route}?{query}")).await;
            assert_eq!(response.status, 400, "{route}?{query}: {:?}", response.body);
            assert_eq!(response.detail_fields(), ["page"], "{route}?{query}");
        }
        let deepest = app.get(&format!("{route}?page=10000000&per_page=100")).await;
        assert_eq!(deepest.status, 200, "{route}: {:?}", deepest.body);
    }

    use ctxd_grpc::pb::{self, spaces_service_client::SpacesServiceClient};
    let mut grpc = SpacesServiceClient::new(channel(&app).await);
    let page = pb::PageRequest { page: Some(u64::MAX), per_page: Some(100) };
    let status = grpc.list_spaces(authed(&app.api_key, pb::ListSpacesRequest { page: Some(page) })).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}

async fn keyed_creates_survive_dropped_connections_and_stale_keys_expire(app: TestApp) {
    let space = app.create_space("s").await;
    let body = json!({"type": "CONTENT", "initial_data": {"data": "hello"}});
    // Clients that hang up right after sending: the connection closes while the
    // create runs, and the server drops the request's handler.
    let address = app.address.trim_start_matches("http://").to_owned();
    for n in 0..20 {
        let payload = body.to_string();
        let request = format!(
            "POST /v1/spaces/{space}/sources HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Idempotency-Key: key-{n}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
            app.api_key,
            payload.len()
        );
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        drop(stream);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut created = 0;
    for n in 0..20 {
        let response = app
            .send(
                app.request(Method::POST, &format!("/v1/spaces/{space}/sources"))
                    .header("idempotency-key", format!("key-{n}"))
                    .json(&body),
            )
            .await;
        assert_eq!(response.status, 202, "key-{n}: {:?}", response.body);
        created += 1;
    }
    assert_eq!(created, 20);
    let listed = app.get(&format!("/v1/spaces/{space}/sources?per_page=100")).await;
    assert_eq!(listed.body["pagination"]["total"], 20, "one source per key, never two");

    // A key left in progress by a process that died is free again after a minute.
    use ctxd_domain::{ports::IdempotencyStore, ports::UserRepository};
    let alice = app.store.find_by_name("alice").await.unwrap().unwrap();
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(2);
    let hash = format!("{space}:whatever");
    let claim =
        app.store.claim(alice.id, "orphaned", &hash, long_ago, long_ago - chrono::Duration::days(1), long_ago).await;
    assert!(matches!(claim, Ok(ctxd_domain::ports::IdempotencyClaim::New)));
    let retry = app
        .send(
            app.request(Method::POST, &format!("/v1/spaces/{space}/sources"))
                .header("idempotency-key", "orphaned")
                .json(&body),
        )
        .await;
    assert_eq!(retry.status, 202, "{:?}", retry.body);
}

/// Sends raw bytes to the REST port and returns the status and the parsed body.
async fn raw_request(app: &TestApp, request: &[u8]) -> (u16, Value) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (status, body)
}

async fn every_error_has_the_json_shape_even_from_the_http_layer(app: TestApp) {
    let shaped = |status: u16, body: &Value| {
        body["code"] == status
            && body["requestId"].as_str().is_some_and(|id| !id.is_empty())
            && body["message"].is_string()
    };
    let undecodable = app.get("/v1/sources/%FF").await;
    assert_eq!(undecodable.status, 400);
    assert!(shaped(400, &undecodable.body), "{:?}", undecodable.body);

    let long_uri = format!("GET /v1/spaces?{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let (status, body) = raw_request(&app, long_uri.as_bytes()).await;
    assert_eq!(status, 414);
    assert!(shaped(414, &body), "{body}");

    let many_headers: String = (0..200).map(|n| format!("x-h{n}: v\r\n")).collect();
    let request = format!("GET /v1/spaces HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n");
    let (status, body) = raw_request(&app, request.as_bytes()).await;
    assert_eq!(status, 431);
    assert!(shaped(431, &body), "{body}");

    let (status, body) = raw_request(&app, b"GET /v1/spaces HTTP/1.1\r\nHost x\r\n\r\n").await;
    assert_eq!(status, 400);
    assert!(shaped(400, &body), "{body}");

    let wrong_method = app.send(app.request(Method::PATCH, "/v1/spaces")).await;
    assert_eq!(wrong_method.status, 405);
    assert!(shaped(405, &wrong_method.body), "{:?}", wrong_method.body);
}

async fn only_objects_are_bodies_and_unknown_parameters_are_refused(app: TestApp) {
    let array = app.post("/v1/spaces", json!(["x", "d"])).await;
    assert_eq!(array.status, 400, "{:?}", array.body);
    assert_eq!(first_field(&array.body), "body");
    let space = app.create_space("s").await;
    let sources = format!("/v1/spaces/{space}/sources");
    let cases = [
        (json!({"type": "URI", "initial_data": {"url": "https://e.com", "depth": 3}}), "initial_data.depth"),
        (json!({"type": "URI", "initial_data": {"url": "https://e.com"}, "instructions": [true]}), "instructions"),
        (
            json!({"type": "URI", "initial_data": {"url": format!("https://e.com/{}", "a".repeat(5000))}}),
            "initial_data.url",
        ),
        (
            json!({"type": "URI", "initial_data": {"url": "https://e.com"},
                   "instructions": {"postback_url": format!("https://e.com/{}", "a".repeat(5000))}}),
            "instructions.postback_url",
        ),
    ];
    for (body, field) in cases {
        let response = app.post(&sources, body.clone()).await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        assert_eq!(response.detail_fields(), [field]);
    }
    // One rule for query strings: a parameter the route does not declare is a 400.
    for path in ["/v1/spaces?sort=name", &format!("/v1/spaces/{space}?expand=all"), &format!("{sources}?limit=5")] {
        let response = app.get(path).await;
        assert_eq!(response.status, 400, "{path}: {:?}", response.body);
        assert!(response.body["details"][0]["message"].as_str().unwrap().contains("not a parameter"), "{path}");
    }
    assert_eq!(app.get("/v1/spaces?page=1&per_page=5").await.status, 200);
}

async fn ids_are_read_only_in_their_canonical_spelling(app: TestApp) {
    let space = app.create_space("s").await;
    let simple = space.replace('-', "");
    for spelling in [format!("{{{space}}}"), format!("urn:uuid:{space}"), simple] {
        let response = app.get(&format!("/v1/spaces/{spelling}")).await;
        assert_eq!(response.status, 400, "{spelling}: {:?}", response.body);
        assert_eq!(response.detail_fields(), ["spaceId"]);
    }
    assert_eq!(app.get(&format!("/v1/spaces/{}", space.to_uppercase())).await.status, 200, "case does not matter");
    let in_body = app
        .post(
            &format!("/v1/spaces/{space}/collections"),
            json!({"name": "c", "parentId": format!("urn:uuid:{}", uuid::Uuid::now_v7())}),
        )
        .await;
    assert_eq!(in_body.status, 400);
    assert_eq!(in_body.detail_fields(), ["parentId"]);
}

async fn upload_urls_never_come_from_forged_headers(app: TestApp) {
    let body = json!({"filename": "a.pdf", "contentType": "application/pdf", "size": 3});
    let forged = app
        .send(
            app.request(Method::POST, "/v1/upload/s3")
                .header("host", "evil.example")
                .header("x-forwarded-proto", "javascript")
                .json(&body),
        )
        .await;
    assert_eq!(forged.status, 200, "{:?}", forged.body);
    let url = forged.body["uploadUrl"].as_str().unwrap();
    assert!(url.starts_with("http://evil.example/v1/files/"), "the untrusted scheme is ignored: {url}");

    let bad_host =
        app.send(app.request(Method::POST, "/v1/upload/s3").header("host", "user@evil.example").json(&body)).await;
    assert_eq!(bad_host.status, 400, "{:?}", bad_host.body);
    assert_eq!(bad_host.detail_fields(), ["Host"]);
}

/// The commit of a run's outputs fails (a trigger stands in for data the database
/// cannot take): the run ends FAILED with a message after one attempt, instead of
/// being reclaimed every lease period, and the source works again once the cause is
/// gone.
async fn a_run_whose_outputs_the_database_refuses_fails_once_with_a_message(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let database = app.database.connect().await;
    let refuse = match app.database.backend {
        ctxd_test_support::Backend::Sqlite => {
            vec!["CREATE TRIGGER refuse_revisions BEFORE INSERT ON revisions BEGIN SELECT RAISE(ABORT, 'refused'); END"]
        }
        ctxd_test_support::Backend::Postgres => vec![
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse_revisions BEFORE INSERT ON revisions FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
    };
    for statement in refuse {
        database.connection().execute_unprepared(statement).await.unwrap();
    }
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "hello"}})).await;
    let id = source["id"].as_str().unwrap();
    let done = wait_for_run(&app, id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "FAILED", "{done}");
    assert_eq!(done["last_run"]["attempt"], 1, "{done}");
    assert!(done["message"].as_str().unwrap().contains("could not be stored"), "{done}");
    assert_eq!(done["revision"], Value::Null, "nothing half-written");

    database.connection().execute_unprepared("DROP TRIGGER refuse_revisions ON revisions").await.ok();
    database.connection().execute_unprepared("DROP TRIGGER IF EXISTS refuse_revisions").await.ok();
    let again = app
        .post(&format!("/v1/sources/{id}/fast-forward"), json!({"type": "CONTENT", "initial_data": {"data": "hi"}}))
        .await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    let done = wait_for_run(&app, id, &again.body["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
}

/// Postgres stops under the app (as in a crash or failover) and comes back: while it
/// is down every request answers 503 in the contract's shape within seconds (gRPC
/// UNAVAILABLE), `/health` says so within 2 s; once it is back, no request fails and
/// nothing written before is lost. Postgres only: SQLite is a file in the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_quickly_and_nothing_fails_after_it() {
    use std::time::Instant;

    use ctxd_test_support::{Backend, PrivateCluster, TestDatabase, spawn_app_on};
    let Some(cluster) = tokio::task::spawn_blocking(PrivateCluster::start).await.unwrap() else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but no private PostgreSQL cluster could be started");
        eprintln!("SKIPPED: no initdb/pg_ctl to start a private cluster");
        return;
    };
    let app = spawn_app_on(TestDatabase::existing(cluster.url(), Backend::Postgres), |_| {}).await;
    let space = app.create_space("before the outage").await;

    assert!(tokio::task::block_in_place(|| cluster.stop()), "the cluster stops");
    for path in ["/v1/spaces".to_owned(), format!("/v1/spaces/{space}")] {
        let started = Instant::now();
        let response = app.get(&path).await;
        assert_eq!(response.status, 503, "{path}: {:?}", response.body);
        assert!(response.body["requestId"].is_string(), "{:?}", response.body);
        assert!(started.elapsed() < Duration::from_secs(5), "{path} took {:?}", started.elapsed());
    }
    let started = Instant::now();
    let health = app.get("/health").await;
    assert_eq!(health.status, 503, "{:?}", health.body);
    assert_eq!(health.body["checks"]["database"], "unavailable");
    assert!(started.elapsed() < Duration::from_millis(2500), "health took {:?}", started.elapsed());
    use ctxd_grpc::pb::{self, spaces_service_client::SpacesServiceClient};
    let mut grpc = SpacesServiceClient::new(channel(&app).await);
    let status = grpc
        .list_spaces(authed(&app.api_key, pb::ListSpacesRequest { page: None }))
        .await
        .expect_err("the database is down");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    assert!(tokio::task::block_in_place(|| cluster.resume()), "the cluster starts again");
    for n in 0..40 {
        let response = app.get(&format!("/v1/spaces/{space}")).await;
        assert_eq!(response.status, 200, "request {n} after the outage: {:?}", response.body);
    }
    assert_eq!(app.get("/health").await.status, 200);
    let listed = app.get("/v1/spaces").await;
    assert_eq!(listed.body["spaces"][0]["name"], "before the outage");
}

/// A file key is looked up as the caller's upload before anything touches the store,
/// so a key that climbs out of the upload directory is just unknown.
async fn file_keys_cannot_walk_out_of_the_store(app: TestApp) {
    for key in ["..%2F..%2Fctxd.db", "..%2F..%2F..%2Fetc%2Fpasswd", "%2E%2E", "uploads%2F..%2F..%2Fupload-signing.key"]
    {
        let read = app.get(&format!("/v1/files/{key}")).await;
        assert_eq!(read.status, 404, "{key}: {:?}", read.body);
        let write = app
            .send(
                app.request(Method::PUT, &format!("/v1/files/{key}?expires=9999999999&signature=00"))
                    .header("content-type", "text/plain")
                    .body("overwritten"),
            )
            .await;
        assert!(matches!(write.status, 403 | 404), "{key}: {} {:?}", write.status, write.body);
        assert!(write.body["requestId"].is_string());
    }
}

/// An optional body may be absent, empty or `null`; whitespace alone is not JSON and
/// is a 400 (schemathesis sent `\r` to `POST /v1/api-keys`).
#[tokio::test]
async fn an_optional_body_of_whitespace_alone_is_a_400() {
    let app = ctxd_test_support::spawn_app(ctxd_test_support::Backend::Sqlite).await.unwrap();
    let send = |body: &'static str| {
        app.send(app.request(Method::POST, "/v1/api-keys").header("content-type", "application/json").body(body))
    };
    let refused = send("\r").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.detail_fields(), ["body"]);
    assert_eq!(send("").await.status, 201);
    assert_eq!(send("null").await.status, 201);
}
