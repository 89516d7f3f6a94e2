//! Route-by-route parity: every REST route with a gRPC twin, driven both ways on
//! twin objects, must give the same data (and, in `grpc.rs`, the same error class).
//! Each step names the route pair it checks.

use std::time::Duration;

use axum::{Router, routing::get};
use ctxd_grpc::pb::{
    self, api_keys_service_client::ApiKeysServiceClient, artifacts_service_client::ArtifactsServiceClient,
    sources_service_client::SourcesServiceClient, spaces_service_client::SpacesServiceClient,
};
use ctxd_test_support::TestApp;
use serde_json::{Value, json};
use tonic::{Code, Request, transport::Channel};

use crate::pipeline::wait_for_run;

with_workers!(every_rest_route_and_its_grpc_twin_agree => 3);

fn authed<T>(key: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    request
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// Enum names: REST says `REPROCESS`, gRPC `RUN_KIND_REPROCESS`.
fn same_enum(rest: &Value, grpc: &str) -> bool {
    rest.as_str().is_some_and(|r| grpc.ends_with(&format!("_{r}")) || grpc == r)
}

/// The parts of a source both transports must agree on.
fn rest_source(v: &Value) -> (String, String, Option<String>, bool, Option<u64>, String) {
    (
        id(v),
        v["status"].as_str().unwrap().to_owned(),
        v["name"].as_str().map(str::to_owned),
        v["pinned"].as_bool().unwrap(),
        v["revision"].as_u64(),
        v["last_run"]["kind"].as_str().unwrap().to_owned(),
    )
}

fn grpc_source(s: &pb::Source) -> (String, String, Option<String>, bool, Option<u64>, String) {
    let kind = s.last_run.as_ref().unwrap().kind().as_str_name().trim_start_matches("RUN_KIND_").to_owned();
    (
        s.id.clone(),
        s.status().as_str_name().trim_start_matches("SOURCE_STATUS_").to_owned(),
        s.name.clone(),
        s.pinned,
        s.revision.map(u64::from),
        kind,
    )
}

async fn every_rest_route_and_its_grpc_twin_agree(app: TestApp) {
    let channel = Channel::from_shared(app.grpc_address.clone().unwrap()).unwrap().connect().await.unwrap();
    let mut spaces = SpacesServiceClient::new(channel.clone());
    let mut sources = SourcesServiceClient::new(channel.clone());
    let mut artifacts = ArtifactsServiceClient::new(channel.clone());
    let mut keys = ApiKeysServiceClient::new(channel);
    let key = app.api_key.clone();

    // --- spaces: GET /v1/spaces/{id} = GetSpace, GET /v1/spaces = ListSpaces
    let space = app.post("/v1/spaces", json!({"name": "parity", "description": "both ways"})).await.body;
    let space_id = id(&space);
    let got = spaces.get_space(authed(&key, pb::GetSpaceRequest { id: space_id.clone() })).await.unwrap().into_inner();
    assert_eq!((got.name.as_str(), got.description.as_deref()), ("parity", Some("both ways")));
    let listed = spaces.list_spaces(authed(&key, pb::ListSpacesRequest { page: None })).await.unwrap().into_inner();
    let rest_listed = app.get("/v1/spaces").await.body;
    let rest_ids: Vec<&str> =
        rest_listed["spaces"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    let grpc_ids: Vec<&str> = listed.spaces.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(rest_ids, grpc_ids, "ListSpaces = GET /v1/spaces");

    // PUT /v1/spaces/{id} = ReplaceSpace
    let request = pb::ReplaceSpaceRequest { id: space_id.clone(), name: "renamed".into(), description: None };
    let replaced = spaces.replace_space(authed(&key, request)).await.unwrap().into_inner();
    let rest = app.get(&format!("/v1/spaces/{space_id}")).await.body;
    assert_eq!((rest["name"].as_str(), rest["description"].as_str()), (Some("renamed"), None));
    let rest = app.put(&format!("/v1/spaces/{space_id}"), json!({"name": "parity"})).await.body;
    let got = spaces.get_space(authed(&key, pb::GetSpaceRequest { id: space_id.clone() })).await.unwrap().into_inner();
    assert_eq!(
        (replaced.name.as_str(), rest["name"].as_str(), got.name.as_str()),
        ("renamed", Some("parity"), "parity")
    );

    // Twin sources: `a` is driven over REST, `b` over gRPC.
    let text = "# Queue\n\nWe decided to use Postgres.\n\n```sql\nSELECT 1 FROM runs;\n```\n\nShould we shard it?\n";
    let body = json!({"type": "CONTENT", "initial_data": {"data": text}});
    let a = app.create_source(&space_id, body.clone()).await;
    let b = app.create_source(&space_id, body).await;
    let (a_id, b_id) = (id(&a), id(&b));
    wait_for_run(&app, &a_id, &a["last_run"]["id"]).await;
    wait_for_run(&app, &b_id, &b["last_run"]["id"]).await;
    let source = |id: &str| pb::SourceRequest { id: id.to_owned() };

    // GET /v1/runs/{id} = GetRun
    let run_id = a["last_run"]["id"].as_str().unwrap().to_owned();
    let rest = app.get(&format!("/v1/runs/{run_id}")).await.body;
    let grpc = sources.get_run(authed(&key, pb::GetRunRequest { id: run_id })).await.unwrap().into_inner();
    assert!(
        same_enum(&rest["kind"], grpc.kind().as_str_name()) && same_enum(&rest["status"], grpc.status().as_str_name())
    );
    assert!(same_enum(&rest["outcome"], grpc.outcome().as_str_name()), "{rest} vs {grpc:?}");
    assert_eq!(rest["attempt"].as_u64(), Some(u64::from(grpc.attempt)));

    // GET /v1/sources/{id}/revisions = ListRevisions
    let rest = app.get(&format!("/v1/sources/{a_id}/revisions")).await.body;
    let request = pb::ListRevisionsRequest { source_id: a_id.clone(), page: None };
    let grpc = sources.list_revisions(authed(&key, request)).await.unwrap().into_inner();
    let rest_revision = &rest["revisions"][0];
    let grpc_revision = &grpc.revisions[0];
    assert_eq!(rest_revision["number"].as_u64(), Some(u64::from(grpc_revision.number)));
    assert_eq!(rest_revision["content_hash"].as_str(), Some(grpc_revision.content_hash.as_str()));
    assert_eq!(rest_revision["bytes"].as_u64(), Some(grpc_revision.bytes));
    assert_eq!(rest_revision["extractor_version"].as_str(), Some(grpc_revision.extractor_version.as_str()));
    assert_eq!(rest_revision["metadata"]["page_type"].as_str(), grpc_revision.page_type.as_deref());

    // GET /v1/sources/{id}/context = GetContext
    let rest = app.get(&format!("/v1/sources/{a_id}/context")).await.body;
    let request = pb::GetContextRequest { source_id: a_id.clone(), revision: None };
    let grpc = sources.get_context(authed(&key, request)).await.unwrap().into_inner();
    assert_eq!(rest["content"].as_str(), Some(grpc.content.as_str()));
    assert_eq!(rest["title"].as_str(), grpc.title.as_deref());
    assert_eq!(rest["decisions"], json!(grpc.decisions));
    assert_eq!(rest["open_questions"], json!(grpc.open_questions));
    assert_eq!(rest["context_tokens"].as_u64(), Some(grpc.context_tokens));
    assert_eq!(rest["compression_ratio"].as_f64(), grpc.compression_ratio);

    // GET /v1/sources/{id}/artifacts = ListArtifacts, GET /v1/artifacts/{id} = GetArtifact
    let rest = app.get(&format!("/v1/sources/{a_id}/artifacts")).await.body;
    let request = pb::ListSourceArtifactsRequest { source_id: a_id.clone(), revision: None, page: None };
    let grpc = sources.list_artifacts(authed(&key, request)).await.unwrap().into_inner();
    let rest_ids: Vec<&str> = rest["artifacts"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    let grpc_ids: Vec<&str> = grpc.artifacts.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(rest_ids, grpc_ids);
    let artifact_id = rest_ids[0].to_owned();
    let rest = app.get(&format!("/v1/artifacts/{artifact_id}")).await.body;
    let grpc =
        artifacts.get_artifact(authed(&key, pb::GetArtifactRequest { id: artifact_id })).await.unwrap().into_inner();
    assert_eq!(
        (rest["content"].as_str(), rest["language"].as_str()),
        (Some(grpc.content.as_str()), grpc.language.as_deref())
    );
    assert!(same_enum(&rest["kind"], grpc.kind().as_str_name()));
    assert_eq!(rest["provenance"]["start_line"].as_u64(), grpc.provenance.map(|p| u64::from(p.start_line)));

    // GET /v1/spaces/{id}/artifacts?q= = SearchArtifacts
    let rest = app.get(&format!("/v1/spaces/{space_id}/artifacts?q=select")).await.body;
    let request =
        pb::SearchArtifactsRequest { space_id: space_id.clone(), q: Some("select".into()), ..Default::default() };
    let grpc = artifacts.search_artifacts(authed(&key, request)).await.unwrap().into_inner();
    let rest_ids: Vec<&str> = rest["artifacts"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    let grpc_ids: Vec<&str> = grpc.artifacts.iter().map(|x| x.id.as_str()).collect();
    assert_eq!((rest_ids.len(), &rest_ids), (2, &grpc_ids), "both sources' block, same order");

    // PATCH /v1/sources/{id} = UpdateSource
    let rest = app.patch(&format!("/v1/sources/{a_id}"), json!({"name": "twin"})).await.body;
    let request = pb::UpdateSourceRequest { id: b_id.clone(), name: Some("twin".into()), ..Default::default() };
    let grpc = sources.update_source(authed(&key, request)).await.unwrap().into_inner();
    assert_eq!(rest_source(&rest).2, grpc_source(&grpc).2);

    // PATCH /v1/sources/{id}/toggle-pin = TogglePin
    let rest = app.send(app.request(reqwest::Method::PATCH, &format!("/v1/sources/{a_id}/toggle-pin"))).await.body;
    let grpc = sources.toggle_pin(authed(&key, source(&b_id))).await.unwrap().into_inner();
    assert_eq!((rest_source(&rest).3, grpc_source(&grpc).3), (true, true));

    // POST .../reprocess = ReprocessSource, POST .../fast-forward = FastForwardSource
    let rest = app.post(&format!("/v1/sources/{a_id}/reprocess"), json!({"update_existing": false})).await.body;
    let request = pb::ReprocessSourceRequest { id: b_id.clone(), update_existing: Some(false), ..Default::default() };
    let grpc = sources.reprocess_source(authed(&key, request)).await.unwrap().into_inner();
    let (rest_view, grpc_view) = (rest_source(&rest), grpc_source(&grpc));
    assert_eq!((&rest_view.1, &rest_view.5), (&"PENDING".to_owned(), &"REPROCESS".to_owned()));
    assert_eq!((&rest_view.1, &rest_view.5), (&grpc_view.1, &grpc_view.5));
    wait_for_run(&app, &a_id, &rest["last_run"]["id"]).await;
    wait_for_run(&app, &b_id, &json!(grpc.last_run.unwrap().id)).await;

    let more = format!("{text}\nWe also decided to keep 20 revisions.\n");
    let rest = app
        .post(&format!("/v1/sources/{a_id}/fast-forward"), json!({"type": "CONTENT", "initial_data": {"data": more}}))
        .await
        .body;
    let input = pb::SourceInput { input: Some(pb::source_input::Input::Data(more.clone())) };
    let request = pb::FastForwardSourceRequest { id: b_id.clone(), input: Some(input), ..Default::default() };
    let grpc = sources.fast_forward_source(authed(&key, request)).await.unwrap().into_inner();
    assert_eq!(rest_source(&rest).5, "FAST_FORWARD");
    assert_eq!(rest_source(&rest).5, grpc_source(&grpc).5);
    let a_done = wait_for_run(&app, &a_id, &rest["last_run"]["id"]).await;
    let b_done = wait_for_run(&app, &b_id, &json!(grpc.last_run.unwrap().id)).await;
    // The reprocess re-extracted revision 1; the fast-forward's new content is 2.
    assert_eq!((a_done["revision"].as_u64(), b_done["revision"].as_u64()), (Some(2), Some(2)));
    let b_read = sources.get_source(authed(&key, source(&b_id))).await.unwrap().into_inner();
    assert_eq!(
        grpc_source(&b_read),
        (b_id.clone(), "COMPLETED".into(), Some("twin".into()), true, Some(2), "FAST_FORWARD".into())
    );
    let a_read = app.get(&format!("/v1/sources/{a_id}")).await.body;
    let (rest_view, grpc_view) = (rest_source(&a_read), grpc_source(&b_read));
    assert_eq!(
        (rest_view.1, rest_view.2, rest_view.3, rest_view.4),
        (grpc_view.1, grpc_view.2, grpc_view.3, grpc_view.4)
    );

    // POST .../refresh = RefreshSource, on twin URI sources of a local origin (304s).
    let origin = Router::new().route(
        "/page",
        get(|headers: axum::http::HeaderMap| async move {
            if headers.get("if-none-match").is_some_and(|v| v == "\"p1\"") {
                (axum::http::StatusCode::NOT_MODIFIED, [("etag", "\"p1\"")], "")
            } else {
                (axum::http::StatusCode::OK, [("etag", "\"p1\"")], "# Page\n\nStable.\n")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/page", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });
    let uri = json!({"type": "URI", "initial_data": {"url": url}});
    let (u1, u2) = (app.create_source(&space_id, uri.clone()).await, app.create_source(&space_id, uri).await);
    wait_for_run(&app, &id(&u1), &u1["last_run"]["id"]).await;
    wait_for_run(&app, &id(&u2), &u2["last_run"]["id"]).await;
    let rest = app.post(&format!("/v1/sources/{}/refresh", id(&u1)), json!({})).await.body;
    let request = pb::RefreshSourceRequest { id: id(&u2), ..Default::default() };
    let grpc = sources.refresh_source(authed(&key, request)).await.unwrap().into_inner();
    assert_eq!(rest_source(&rest).5, grpc_source(&grpc).5);
    let rest_done = wait_for_run(&app, &id(&u1), &rest["last_run"]["id"]).await;
    let grpc_done = wait_for_run(&app, &id(&u2), &json!(grpc.last_run.unwrap().id)).await;
    assert_eq!(
        (rest_done["last_run"]["outcome"].as_str(), grpc_done["last_run"]["outcome"].as_str()),
        (Some("UNCHANGED"), Some("UNCHANGED"))
    );

    // POST .../cancel = CancelSource, on twin sources whose origin never answers in time.
    let slow = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, slow).await.unwrap() });
    let slow_body = json!({"type": "URI", "initial_data": {"url": slow_url}});
    let (c1, c2) =
        (app.create_source(&space_id, slow_body.clone()).await, app.create_source(&space_id, slow_body).await);
    let rest = app.post(&format!("/v1/sources/{}/cancel", id(&c1)), json!({})).await;
    let grpc = sources.cancel_source(authed(&key, source(&id(&c2)))).await.unwrap().into_inner();
    assert_eq!(rest.status, 202);
    let c1_done = wait_for_run(&app, &id(&c1), &c1["last_run"]["id"]).await;
    let c2_done = wait_for_run(&app, &id(&c2), &json!(grpc.last_run.unwrap().id)).await;
    assert_eq!((c1_done["status"].as_str(), c2_done["status"].as_str()), (Some("CANCELED"), Some("CANCELED")));

    // DELETE /v1/sources/{id} = DeleteSource, POST .../restore = RestoreSource
    assert_eq!(app.delete(&format!("/v1/sources/{a_id}")).await.status, 204);
    sources.delete_source(authed(&key, source(&b_id))).await.unwrap();
    assert_eq!(sources.get_source(authed(&key, source(&a_id))).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(app.get(&format!("/v1/sources/{b_id}")).await.status, 404);
    let rest = app.post(&format!("/v1/sources/{a_id}/restore"), json!({})).await.body;
    let grpc = sources.restore_source(authed(&key, source(&b_id))).await.unwrap().into_inner();
    assert_eq!((rest["deleted_at"].is_null(), grpc.deleted_at.is_none()), (true, true));
    assert_eq!(rest_source(&rest).1, grpc_source(&grpc).1);

    // GET /v1/api-keys = ListApiKeys, DELETE /v1/api-keys/{id} = RevokeApiKey
    let first = app.post("/v1/api-keys", json!({"name": "one"})).await.body;
    let second = app.post("/v1/api-keys", json!({"name": "two"})).await.body;
    let rest = app.get("/v1/api-keys?per_page=100").await.body;
    let grpc = keys
        .list_api_keys(authed(
            &key,
            pb::ListApiKeysRequest { page: Some(pb::PageRequest { page: None, per_page: Some(100) }) },
        ))
        .await
        .unwrap()
        .into_inner();
    let rest_ids: Vec<&str> = rest["api_keys"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
    let grpc_ids: Vec<&str> = grpc.api_keys.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(rest_ids, grpc_ids);
    let rest = app.delete(&format!("/v1/api-keys/{}", id(&first))).await.body;
    let grpc =
        keys.revoke_api_key(authed(&key, pb::RevokeApiKeyRequest { id: id(&second) })).await.unwrap().into_inner();
    assert_eq!((rest["revoked_at"].is_string(), grpc.revoked_at.is_some()), (true, true));
    for revoked in [&first, &second] {
        let secret = revoked["api_key"].as_str().unwrap();
        assert_eq!(app.send(app.request_as(secret, reqwest::Method::GET, "/v1/spaces")).await.status, 401);
        let refused = spaces.list_spaces(authed(secret, pb::ListSpacesRequest { page: None })).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
    }

    // DELETE /v1/spaces/{id} = DeleteSpace
    let (s1, s2) = (app.create_space("gone-1").await, app.create_space("gone-2").await);
    assert_eq!(app.delete(&format!("/v1/spaces/{s1}")).await.status, 204);
    spaces.delete_space(authed(&key, pb::DeleteSpaceRequest { id: s2.clone() })).await.unwrap();
    assert_eq!(
        spaces.get_space(authed(&key, pb::GetSpaceRequest { id: s1 })).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(app.get(&format!("/v1/spaces/{s2}")).await.status, 404);
}
