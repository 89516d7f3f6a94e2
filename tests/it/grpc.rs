//! The gRPC API next to REST: the same data and the same error class for the same
//! situations, authentication, health and reflection.

use ctxd_grpc::pb::{
    self, api_keys_service_client::ApiKeysServiceClient, artifacts_service_client::ArtifactsServiceClient,
    sources_service_client::SourcesServiceClient, spaces_service_client::SpacesServiceClient,
};
use ctxd_test_support::TestApp;
use serde_json::json;
use tonic::{Code, Request, transport::Channel};

on_both_backends!(
    rest_and_grpc_return_the_same_data,
    the_same_situations_give_the_same_error_class,
    grpc_authenticates_like_rest,
    health_and_reflection_are_served,
    watch_reports_each_status_in_order_then_ends,
    a_follower_sees_changes_made_over_rest,
    a_watcher_sees_a_change_made_by_another_process,
    collections_over_grpc_match_rest,
    grpc_validation_errors_name_the_proto_fields,
);

/// The domain names bad fields in each transport's own vocabulary: what REST calls
/// `initial_data.url` and `instructions.postback_url`, gRPC calls `input.url` and
/// `postback_url`.
async fn grpc_validation_errors_name_the_proto_fields(app: TestApp) {
    let mut sources = SourcesServiceClient::new(channel(&app).await);
    let space = app.create_space("s").await;
    let create = |input: pb::source_input::Input, postback: Option<&str>| pb::CreateSourceRequest {
        space_id: space.clone(),
        input: Some(pb::SourceInput { input: Some(input) }),
        postback_url: postback.map(str::to_owned),
        ..Default::default()
    };
    let cases = [
        (create(pb::source_input::Input::Url("not a url".into()), None), "input.url: "),
        (create(pb::source_input::Input::Data(" ".into()), None), "input.data: "),
        (create(pb::source_input::Input::FileKey(String::new()), None), "input.file_key: "),
        (
            create(pb::source_input::Input::Composition(pb::SourceIds { source_ids: vec!["x".into()] }), None),
            "input.composition.source_ids[0]: ",
        ),
        (create(pb::source_input::Input::Data("hello".into()), Some("ftp://x")), "postback_url: "),
    ];
    for (request, field) in cases {
        let status = sources.create_source(authed(&app.api_key, request)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{field} in {:?}", status.message());
        assert!(!status.message().contains("initial_data"), "{:?}", status.message());
    }
}

async fn collections_over_grpc_match_rest(app: TestApp) {
    use pb::collections_service_client::CollectionsServiceClient;
    let mut collections = CollectionsServiceClient::new(channel(&app).await);
    let key = app.api_key.clone();
    let space = app.create_space("s").await;
    let create = |name: &str, parent: Option<String>| pb::CreateCollectionRequest {
        space_id: space.clone(),
        name: name.into(),
        description: None,
        parent_id: parent,
    };
    let root = collections.create_collection(authed(&key, create("papers", None))).await.unwrap().into_inner();
    let child =
        collections.create_collection(authed(&key, create("2026", Some(root.id.clone())))).await.unwrap().into_inner();
    assert_eq!(child.parent_id.as_deref(), Some(root.id.as_str()));

    let tree = collections
        .collection_tree(authed(&key, pb::CollectionTreeRequest { space_id: space.clone() }))
        .await
        .unwrap()
        .into_inner();
    let rest = app.get(&format!("/v1/spaces/{space}/collections")).await;
    assert_eq!(rest.status, 200, "{:?}", rest.body);
    let rest_root = &rest.body["collections"][0];
    assert_eq!(rest_root["id"], tree.collections[0].collection.as_ref().unwrap().id.as_str());
    assert_eq!(
        rest_root["children"][0]["id"],
        tree.collections[0].children[0].collection.as_ref().unwrap().id.as_str()
    );

    // Moved to the top level over gRPC, seen over REST.
    let update =
        pb::UpdateCollectionRequest { id: child.id.clone(), clear: vec!["parent_id".into()], ..Default::default() };
    assert_eq!(collections.update_collection(authed(&key, update)).await.unwrap().into_inner().parent_id, None);
    assert_eq!(
        app.get(&format!("/v1/spaces/{space}/collections")).await.body["collections"].as_array().unwrap().len(),
        2
    );
    let bad = pb::UpdateCollectionRequest { id: child.id.clone(), clear: vec!["name".into()], ..Default::default() };
    assert_eq!(collections.update_collection(authed(&key, bad)).await.unwrap_err().code(), Code::InvalidArgument);

    collections.delete_collection(authed(&key, pb::DeleteCollectionRequest { id: child.id.clone() })).await.unwrap();
    let gone = collections.delete_collection(authed(&key, pb::DeleteCollectionRequest { id: child.id })).await;
    assert_eq!(gone.unwrap_err().code(), Code::NotFound);
}

/// The next message of a watch, within a few seconds.
async fn next(stream: &mut tonic::Streaming<pb::Source>) -> Option<pb::Source> {
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
        .await
        .expect("a watch message in time")
        .expect("a healthy stream")
}

async fn watch(app: &TestApp, id: &str, follow: bool) -> tonic::Streaming<pb::Source> {
    let mut sources = SourcesServiceClient::new(channel(app).await);
    let request = authed(&app.api_key, pb::WatchSourceRequest { id: id.to_owned(), follow });
    sources.watch_source(request).await.expect("the watch opens").into_inner()
}

/// Plays the worker on `store`: claims the queued run, then finishes it COMPLETED.
pub(crate) async fn claim(store: &ctxd_storage::SeaStore) -> ctxd_domain::model::Run {
    use ctxd_domain::ports::RunQueue;
    RunQueue::claim(store, "test-worker", std::time::Duration::from_secs(60)).await.unwrap().expect("a queued run").run
}

pub(crate) async fn complete(store: &ctxd_storage::SeaStore, run: &ctxd_domain::model::Run) {
    use ctxd_domain::{
        model::RunStatus,
        ports::{RunFinish, RunQueue},
    };
    assert!(RunQueue::finish(store, run.id, RunFinish::status_only(RunStatus::Completed)).await.unwrap(), "held");
}

async fn watch_reports_each_status_in_order_then_ends(app: TestApp) {
    let space = app.create_space("s").await;
    let created = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let id = created["id"].as_str().unwrap();
    let mut stream = watch(&app, id, false).await;
    assert_eq!(next(&mut stream).await.unwrap().status(), pb::SourceStatus::Pending, "the current state at once");

    let run = claim(&app.store).await;
    assert_eq!(next(&mut stream).await.unwrap().status(), pb::SourceStatus::Processing);
    complete(&app.store, &run).await;
    let done = next(&mut stream).await.unwrap();
    assert_eq!(done.status(), pb::SourceStatus::Completed);
    assert_eq!(done.last_run.unwrap().status(), pb::RunStatus::Completed);
    assert!(next(&mut stream).await.is_none(), "the watch ends after a final status");

    // Watching a finished source without follow: its state, then the end.
    let mut again = watch(&app, id, false).await;
    assert_eq!(next(&mut again).await.unwrap().status(), pb::SourceStatus::Completed);
    assert!(next(&mut again).await.is_none());

    let mut sources = SourcesServiceClient::new(channel(&app).await);
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing =
        sources.watch_source(authed(&app.api_key, pb::WatchSourceRequest { id: unknown, follow: false })).await;
    assert_eq!(missing.unwrap_err().code(), Code::NotFound);
}

async fn a_follower_sees_changes_made_over_rest(app: TestApp) {
    let space = app.create_space("s").await;
    let created = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let id = created["id"].as_str().unwrap();
    let run = claim(&app.store).await;
    complete(&app.store, &run).await;

    let mut stream = watch(&app, id, true).await;
    assert_eq!(next(&mut stream).await.unwrap().status(), pb::SourceStatus::Completed);
    let body = json!({"type": "CONTENT", "initial_data": {"data": "y"}});
    assert_eq!(app.post(&format!("/v1/sources/{id}/fast-forward"), body).await.status, 202);
    let queued = next(&mut stream).await.unwrap();
    assert_eq!(queued.status(), pb::SourceStatus::Pending, "follow keeps the watch open for the next run");
    assert_eq!(queued.last_run.unwrap().kind(), pb::RunKind::FastForward);
}

async fn a_watcher_sees_a_change_made_by_another_process(app: TestApp) {
    let space = app.create_space("s").await;
    let created = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let id = created["id"].as_str().unwrap();
    let mut stream = watch(&app, id, false).await;
    assert_eq!(next(&mut stream).await.unwrap().status(), pb::SourceStatus::Pending);

    // Another process: its own pool and its own change feed on the same database.
    let other = ctxd_storage::Database::connect(&app.database.url).await.unwrap().store();
    let run = claim(&other).await;
    assert_eq!(next(&mut stream).await.unwrap().status(), pb::SourceStatus::Processing);
    complete(&other, &run).await;
    assert_eq!(next(&mut stream).await.unwrap().status(), pb::SourceStatus::Completed);
}

pub(crate) async fn channel(app: &TestApp) -> Channel {
    let address = app.grpc_address.clone().expect("gRPC is served");
    Channel::from_shared(address).unwrap().connect().await.expect("connect to gRPC")
}

/// `message` with `authorization: Bearer key`.
pub(crate) fn authed<T>(key: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    request
}

async fn rest_and_grpc_return_the_same_data(app: TestApp) {
    let channel = channel(&app).await;
    let mut spaces = SpacesServiceClient::new(channel.clone());
    let mut sources = SourcesServiceClient::new(channel.clone());
    let key = app.api_key.clone();

    // Created over gRPC, read over REST.
    let request = pb::CreateSpaceRequest { name: "research".into(), description: Some("papers".into()) };
    let space = spaces.create_space(authed(&key, request)).await.unwrap().into_inner();
    let rest = app.get(&format!("/v1/spaces/{}", space.id)).await;
    assert_eq!(rest.status, 200);
    assert_eq!((rest.body["name"].as_str(), rest.body["description"].as_str()), (Some("research"), Some("papers")));

    // Created over REST, read over gRPC.
    let created = app.create_source(&space.id, json!({"type": "CONTENT", "initial_data": {"data": "hello"}})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let source = sources.get_source(authed(&key, pb::SourceRequest { id: id.clone() })).await.unwrap().into_inner();
    assert_eq!(source.id, id);
    assert_eq!(source.space_id, space.id);
    assert_eq!(source.r#type(), pb::SourceType::Content);
    assert_eq!(source.status(), pb::SourceStatus::Pending);
    assert_eq!(source.input.unwrap().input, Some(pb::source_input::Input::Data("hello".into())));
    assert_eq!(source.last_run.unwrap().id, created["last_run"]["id"].as_str().unwrap());

    let listed = sources
        .list_sources(authed(&key, pb::ListSourcesRequest { space_id: space.id.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    let rest_list = app.get(&format!("/v1/spaces/{}/sources", space.id)).await;
    assert_eq!(listed.pagination.unwrap().total, rest_list.body["pagination"]["total"].as_u64().unwrap());
    assert_eq!(listed.sources[0].id, rest_list.body["sources"][0]["id"].as_str().unwrap());

    // A gRPC create runs the same validation and processing as REST.
    let input = pb::SourceInput { input: Some(pb::source_input::Input::Url("https://example.com/a".into())) };
    let uri = sources
        .create_source(authed(
            &key,
            pb::CreateSourceRequest { space_id: space.id.clone(), input: Some(input), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    let rest_uri = app.get(&format!("/v1/sources/{}", uri.id)).await;
    assert_eq!(rest_uri.body["initial_data"]["url"], "https://example.com/a");
    assert_eq!(rest_uri.body["type"], "URI");

    let runs = sources
        .list_runs(authed(&key, pb::ListRunsRequest { source_id: id.clone(), page: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(runs.runs.len(), 1);
    assert_eq!(runs.runs[0].kind(), pb::RunKind::Initial);

    let mut keys = ApiKeysServiceClient::new(channel.clone());
    let issued = keys
        .create_api_key(authed(&key, pb::CreateApiKeyRequest { name: Some("ci".into()), expiration_date: None }))
        .await
        .unwrap()
        .into_inner();
    assert!(issued.api_key.starts_with("ctxd_"));
    let rest_keys = app.get("/v1/api-keys").await;
    assert!(
        rest_keys.body["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == issued.key.as_ref().unwrap().id.as_str())
    );
}

/// One situation each: the REST status and the gRPC code it must map to.
async fn the_same_situations_give_the_same_error_class(app: TestApp) {
    let channel = channel(&app).await;
    let mut sources = SourcesServiceClient::new(channel.clone());
    let mut spaces = SpacesServiceClient::new(channel.clone());
    let mut artifacts = ArtifactsServiceClient::new(channel);
    let key = app.api_key.clone();
    let space = app.create_space("s").await;
    let content = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let content_id = content["id"].as_str().unwrap().to_owned();
    let unknown = uuid::Uuid::now_v7().to_string();

    let cases: Vec<(&str, u16, Code)> = vec![
        (
            "unknown source",
            app.get(&format!("/v1/sources/{unknown}")).await.status,
            sources.get_source(authed(&key, pb::SourceRequest { id: unknown.clone() })).await.unwrap_err().code(),
        ),
        (
            "malformed id",
            app.get("/v1/sources/nope").await.status,
            sources.get_source(authed(&key, pb::SourceRequest { id: "nope".into() })).await.unwrap_err().code(),
        ),
        (
            "blank space name",
            app.post("/v1/spaces", json!({"name": " "})).await.status,
            spaces
                .create_space(authed(&key, pb::CreateSpaceRequest { name: " ".into(), description: None }))
                .await
                .unwrap_err()
                .code(),
        ),
        (
            "refresh of a CONTENT source",
            app.post(&format!("/v1/sources/{content_id}/refresh"), json!({})).await.status,
            sources
                .refresh_source(authed(&key, pb::RefreshSourceRequest { id: content_id.clone(), ..Default::default() }))
                .await
                .unwrap_err()
                .code(),
        ),
        (
            "reprocess before any content",
            app.post(&format!("/v1/sources/{content_id}/reprocess"), json!({})).await.status,
            sources
                .reprocess_source(authed(
                    &key,
                    pb::ReprocessSourceRequest { id: content_id.clone(), ..Default::default() },
                ))
                .await
                .unwrap_err()
                .code(),
        ),
        (
            "context before any revision",
            app.get(&format!("/v1/sources/{content_id}/context")).await.status,
            sources
                .get_context(authed(&key, pb::GetContextRequest { source_id: content_id.clone(), revision: None }))
                .await
                .unwrap_err()
                .code(),
        ),
        (
            "unknown artifact",
            app.get(&format!("/v1/artifacts/{unknown}")).await.status,
            artifacts
                .get_artifact(authed(&key, pb::GetArtifactRequest { id: unknown.clone() }))
                .await
                .unwrap_err()
                .code(),
        ),
        (
            "per_page over 100",
            app.get(&format!("/v1/spaces/{space}/sources?per_page=101")).await.status,
            sources
                .list_sources(authed(
                    &key,
                    pb::ListSourcesRequest {
                        space_id: space.clone(),
                        page: Some(pb::PageRequest { page: None, per_page: Some(101) }),
                        ..Default::default()
                    },
                ))
                .await
                .unwrap_err()
                .code(),
        ),
    ];
    for (situation, rest, grpc) in cases {
        let expected = match rest {
            400 => Code::InvalidArgument,
            401 => Code::Unauthenticated,
            404 => Code::NotFound,
            409 => Code::FailedPrecondition,
            413 => Code::ResourceExhausted,
            other => panic!("{situation}: unexpected REST status {other}"),
        };
        assert_eq!(grpc, expected, "{situation}: REST {rest}, gRPC {grpc:?}");
    }
    let missing = sources.get_source(authed(&key, pb::SourceRequest { id: unknown })).await.unwrap_err();
    assert_eq!(missing.message(), "The requested source was not found", "the message REST gives");
}

async fn grpc_authenticates_like_rest(app: TestApp) {
    let mut spaces = SpacesServiceClient::new(channel(&app).await);
    let list = || pb::ListSpacesRequest { page: None };
    assert_eq!(spaces.list_spaces(Request::new(list())).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(spaces.list_spaces(authed("ctxd_nope", list())).await.unwrap_err().code(), Code::Unauthenticated);

    let space = app.create_space("private").await;
    let mallory = app.key_for("mallory").await;
    let foreign = spaces.get_space(authed(&mallory, pb::GetSpaceRequest { id: space.clone() })).await.unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound, "another user's space does not exist for them");

    let mut keys = ApiKeysServiceClient::new(channel(&app).await);
    let listed =
        keys.list_api_keys(authed(&mallory, pb::ListApiKeysRequest { page: None })).await.unwrap().into_inner();
    let id = listed.api_keys[0].id.clone();
    keys.revoke_api_key(authed(&mallory, pb::RevokeApiKeyRequest { id })).await.unwrap();
    let revoked = spaces.list_spaces(authed(&mallory, list())).await.unwrap_err();
    assert_eq!(revoked.code(), Code::Unauthenticated);
    assert!(revoked.message().contains("revoked"), "{}", revoked.message());
}

async fn health_and_reflection_are_served(app: TestApp) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let channel = channel(&app).await;
    let mut health = HealthClient::new(channel.clone());
    let mut status = ServingStatus::Unknown;
    for _ in 0..50 {
        let answer = health.check(HealthCheckRequest { service: String::new() }).await;
        if let Ok(answer) = answer {
            status = answer.into_inner().status();
            if status == ServingStatus::Serving {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(status, ServingStatus::Serving);

    // v1 and v1alpha list the same services, the health service among them.
    let mut reflection = ServerReflectionClient::new(channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let answer = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else { panic!("a service list") };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();

    use tonic_reflection::pb::v1alpha as alpha;
    let mut old = alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(alpha::server_reflection_request::MessageRequest::ListServices(String::new())),
    };
    let mut stream = old.server_reflection_info(tokio_stream::iter([request])).await.unwrap().into_inner();
    let answer = stream.message().await.unwrap().unwrap();
    let Some(alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) = answer.message_response
    else {
        panic!("a v1alpha service list")
    };
    // Each version lists itself; everything else is the same.
    let alpha_names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    let without_reflection =
        |names: &[String]| names.iter().filter(|n| !n.starts_with("grpc.reflection.")).cloned().collect::<Vec<_>>();
    assert_eq!(without_reflection(&alpha_names), without_reflection(&names), "both versions list the same services");
    assert!(alpha_names.iter().any(|n| n == "grpc.reflection.v1alpha.ServerReflection"), "{alpha_names:?}");
    for service in [
        "ctxd.v1.SourcesService",
        "ctxd.v1.SpacesService",
        "ctxd.v1.ArtifactsService",
        "ctxd.v1.ApiKeysService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
    }
}

/// Limits are per process, not per backend: one SQLite app is enough.
#[tokio::test]
async fn grpc_and_rest_draw_on_one_rate_limit() {
    let app = ctxd_test_support::spawn_app_with(ctxd_test_support::Backend::Sqlite, |config| {
        config.rate_limits.pro_per_minute = 3;
    })
    .await
    .unwrap();
    let mut spaces = SpacesServiceClient::new(channel(&app).await);
    let list = || authed(&app.api_key, pb::ListSpacesRequest { page: None });
    assert_eq!(app.get("/v1/spaces").await.status, 200);
    assert_eq!(app.get("/v1/spaces").await.status, 200);
    spaces.list_spaces(list()).await.expect("the third call of the minute");
    let refused = spaces.list_spaces(list()).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().starts_with("Rate limit of 3 requests per minute exceeded"), "{}", refused.message());
    assert!(refused.metadata().get("retry-after").is_some());
    assert_eq!(refused.metadata().get("x-ratelimit-remaining").unwrap(), "0");
    assert_eq!(app.get("/v1/spaces").await.status, 429, "REST sees the same budget");
}

/// Each `Database` handle keeps one `LISTEN` connection for the change feed; it must
/// go away with the handle, or every short-lived handle (tests, tools) leaks one.
#[tokio::test]
async fn the_listen_connection_closes_with_its_database_handle() {
    use ctxd_test_support::{Backend, TestDatabase};
    use sea_orm::{ConnectionTrait, Statement};
    let Some(db) = TestDatabase::create(Backend::Postgres).await else { return };
    let name = db.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    let observer = db.connect().await;
    let listeners = |observer: &ctxd_storage::Database| {
        let sql = format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{name}' AND query LIKE 'LISTEN %ctxd_sources%'"
        );
        let connection = observer.connection().clone();
        async move {
            let row = connection
                .query_one_raw(Statement::from_string(sea_orm::DbBackend::Postgres, sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get::<i64>("", "n").unwrap()
        }
    };
    let wait_for = |expected: i64| {
        let observer = &observer;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                let n = listeners(observer).await;
                if n == expected {
                    return;
                }
                assert!(std::time::Instant::now() < deadline, "{n} LISTEN connections, expected {expected}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    // The observer's own listener.
    wait_for(1).await;
    let handle = db.connect().await;
    let store = handle.store();
    wait_for(2).await;
    drop(store);
    drop(handle);
    wait_for(1).await;
}
