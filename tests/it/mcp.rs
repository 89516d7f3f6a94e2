//! The MCP adapter: each tool over the use cases on both databases (with workers, so
//! runs finish), and the HTTP door of `/mcp` (the same API keys as REST). The protocol
//! itself is driven by the official Python SDK in CI (`cargo xtask mcp-client-check`).

use ctxd_domain::{Error, model::User};
use ctxd_mcp::tools::{self, ToolOutput};
use ctxd_test_support::TestApp;
use serde_json::{Value, json};

use crate::pipeline::Origin;

with_workers!(
    every_tool_answers_from_the_use_cases => 3,
    tool_errors_name_what_the_model_can_fix => 3,
);

on_both_backends!(the_mcp_endpoint_lets_in_only_live_keys);

async fn user_of(app: &TestApp, key: &str) -> User {
    app.use_cases.api_keys.authenticate(key).await.unwrap()
}

fn page() -> tools::PageArgs {
    serde_json::from_value(json!({})).unwrap()
}

fn args<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

const TRANSCRIPT: &str = "**User:** How do we start the service?\n\n**Assistant:** We decided to run it \
    with systemd. Use this unit:\n\n```ini\n[Service]\nExecStart=/usr/bin/ctxd serve\n```\n\nThen run \
    `systemctl enable --now ctxd`.\n\n**User:** Should logs go to journald or a file?\n";

async fn every_tool_answers_from_the_use_cases(app: TestApp) {
    let user = user_of(&app, &app.api_key).await;
    let use_cases = &app.use_cases;
    let space = app.create_space("research").await;

    let spaces = tools::list_spaces(use_cases, &user, page()).await.unwrap();
    assert_eq!(spaces.structured["total"], 1);
    assert!(spaces.text.contains(&space), "the text carries the id a next call needs: {}", spaces.text);

    // Pasted text: the tool waits for the first run and answers its context.
    let added: ToolOutput = tools::add_source(
        use_cases,
        &user,
        args(json!({"space": space, "text": TRANSCRIPT, "name": "deploy chat", "wait_seconds": 30})),
    )
    .await
    .unwrap();
    assert_eq!(added.structured["source"]["status"], "COMPLETED", "{}", added.text);
    assert!(added.text.contains("context tokens"), "{}", added.text);
    assert!(added.structured["context_tokens"].as_u64().unwrap() > 0);
    let id = added.structured["source_id"].as_str().unwrap().to_owned();

    let context = tools::get_context(use_cases, &user, args(json!({"source_id": id}))).await.unwrap();
    assert_eq!(context.structured["revision"], 1);
    assert!(context.text.starts_with("# "), "markdown for the model: {}", context.text);

    let content = tools::get_content(use_cases, &user, args(json!({"source_id": id, "start_line": 1, "end_line": 2})))
        .await
        .unwrap();
    assert_eq!(content.structured["start_line"], 1);
    assert_eq!(content.structured["end_line"], 2, "{}", content.structured);
    assert_eq!(content.text.split('\n').count(), 2, "two lines, the second blank: {:?}", content.text);
    assert!(content.structured["total_lines"].as_u64().unwrap() > 2);

    let found =
        tools::search_artifacts(use_cases, &user, args(json!({"space": space, "query": "ExecStart"}))).await.unwrap();
    assert_eq!(found.structured["total"], 1, "{}", found.text);
    let artifact_id = found.structured["artifacts"][0]["id"].as_str().unwrap();
    let artifact = tools::get_artifact(use_cases, &user, args(json!({"artifact_id": artifact_id}))).await.unwrap();
    assert!(artifact.text.contains("```ini\n[Service]"), "{}", artifact.text);

    // A space can be named instead of given by id; a new name makes a new space.
    let by_name = tools::list_sources(use_cases, &user, args(json!({"space": "Research"}))).await.unwrap();
    assert_eq!(by_name.structured["total"], 1, "names compare without case");
    let elsewhere =
        tools::add_source(use_cases, &user, args(json!({"space": "notes", "text": "a note", "wait_seconds": 0})))
            .await
            .unwrap();
    assert_ne!(elsewhere.structured["source"]["space_id"], space.as_str());
    assert_eq!(tools::list_spaces(use_cases, &user, page()).await.unwrap().structured["total"], 2);
    let listed =
        tools::list_sources(use_cases, &user, args(json!({"space": space, "status": "COMPLETED"}))).await.unwrap();
    assert_eq!(listed.structured["total"], 1);
    let none = tools::list_sources(use_cases, &user, args(json!({"space": space, "type": "URI"}))).await.unwrap();
    assert_eq!(none.structured["total"], 0);

    // A URL source, then a refresh that finds a change: a new revision.
    let (origin, url) = Origin::start().await;
    let page_source = tools::add_source(use_cases, &user, args(json!({"space": space, "url": url}))).await.unwrap();
    let page_id = page_source.structured["source"]["id"].as_str().unwrap().to_owned();
    assert_eq!(page_source.structured["source"]["revision"], 1, "{}", page_source.text);
    origin.set("second version, with more words in it", "\"v2\"");
    let refreshed = tools::refresh_source(use_cases, &user, args(json!({"source_id": page_id}))).await.unwrap();
    assert_eq!(refreshed.structured["source"]["revision"], 2, "{}", refreshed.text);
    assert_eq!(refreshed.structured["source"]["last_run"]["outcome"], "CHANGED");

    let status = tools::source_status(use_cases, &user, args(json!({"source_id": page_id}))).await.unwrap();
    assert_eq!(status.structured["revision_count"], 2);
    assert!(status.text.contains("Last run: REFRESH COMPLETED (CHANGED)"), "{}", status.text);

    // The prompt packs contexts with their token counts.
    let packed = tools::pack_context(use_cases, &user, &format!("{id}, {page_id}")).await.unwrap();
    assert!(packed.description.starts_with("2 source(s)"), "{}", packed.description);
    assert!(packed.text.contains("deploy chat"), "{}", packed.text);
}

async fn tool_errors_name_what_the_model_can_fix(app: TestApp) {
    let alice = user_of(&app, &app.api_key).await;
    let bob = user_of(&app, &app.key_for("bob").await).await;
    let use_cases = &app.use_cases;
    let space = app.create_space("private").await;
    let added =
        tools::add_source(use_cases, &alice, args(json!({"space": space, "text": "secret notes"}))).await.unwrap();
    let id = added.structured["source_id"].as_str().unwrap().to_owned();

    // Another user's ids are not found, whichever tool asks.
    let not_found = |result: Result<ToolOutput, Error>| matches!(result, Err(Error::NotFound(_)));
    assert!(not_found(tools::get_context(use_cases, &bob, args(json!({"source_id": id}))).await));
    assert!(not_found(tools::source_status(use_cases, &bob, args(json!({"source_id": id}))).await));
    assert!(not_found(tools::list_sources(use_cases, &bob, args(json!({"space": space}))).await));
    assert!(not_found(
        tools::pack_context(use_cases, &bob, &id).await.map(|p| ToolOutput { text: p.text, structured: Value::Null })
    ));
    let sneaky = tools::add_source(use_cases, &bob, args(json!({"space": space, "text": "x"}))).await;
    assert!(matches!(sneaky, Err(Error::NotFound(_))), "{sneaky:?}");
    let unknown = tools::list_sources(use_cases, &alice, args(json!({"space": "no such space"}))).await;
    assert!(matches!(unknown, Err(Error::NotFound("space"))), "reads never create a space: {unknown:?}");

    let field_of = |result: Result<ToolOutput, Error>| match result {
        Err(error) => error.details().iter().map(|d| d.field.clone()).collect::<Vec<_>>(),
        Ok(output) => panic!("accepted: {}", output.text),
    };
    assert_eq!(
        field_of(tools::get_context(use_cases, &alice, args(json!({"source_id": "nope"}))).await),
        ["source_id"]
    );
    assert_eq!(
        field_of(tools::add_source(use_cases, &alice, args(json!({"space": space}))).await),
        ["url"],
        "neither url nor text"
    );
    assert_eq!(
        field_of(
            tools::add_source(use_cases, &alice, args(json!({"space": space, "text": "x", "wait_seconds": 1000})))
                .await
        ),
        ["wait_seconds"]
    );
    assert_eq!(
        field_of(tools::add_source(use_cases, &alice, args(json!({"space": space, "url": "ftp://x/y"}))).await),
        ["url"]
    );
    assert_eq!(
        field_of(tools::list_sources(use_cases, &alice, args(json!({"space": space, "status": "DONE"}))).await),
        ["status"]
    );
    let backwards = args(json!({"source_id": id, "start_line": 5, "end_line": 2}));
    assert_eq!(field_of(tools::get_content(use_cases, &alice, backwards).await), ["end_line"]);
    // A CONTENT source cannot be refreshed: the model is told why.
    let refresh = tools::refresh_source(use_cases, &alice, args(json!({"source_id": id, "wait_seconds": 0}))).await;
    assert!(matches!(refresh, Err(Error::Validation { .. })), "{refresh:?}");
    // Unknown arguments are refused, not ignored.
    assert!(serde_json::from_value::<tools::SourceArgs>(json!({"source_id": id, "colour": "red"})).is_err());
}

/// A JSON-RPC `initialize` as a 2025 client sends it.
fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    })
}

async fn post_mcp(app: &TestApp, key: Option<&str>, host: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/mcp", app.address))
        .header("accept", "application/json, text/event-stream")
        .json(&initialize());
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request.send().await.unwrap()
}

async fn the_mcp_endpoint_lets_in_only_live_keys(app: TestApp) {
    let missing = post_mcp(&app, None, None).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    assert_eq!(post_mcp(&app, Some("ctxd_wrong"), None).await.status(), 401);

    let key = app.key_for("carol").await;
    let admitted = post_mcp(&app, Some(&key), None).await;
    assert_eq!(admitted.status(), 200);
    let body = admitted.text().await.unwrap();
    assert!(body.contains("\"serverInfo\"") && body.contains("ctxd"), "{body}");

    // Revoked mid-session: the next request is refused at the door.
    let listed = app.send(app.request_as(&key, reqwest::Method::GET, "/v1/api-keys")).await;
    let key_id = listed.body["api_keys"][0]["id"].as_str().unwrap().to_owned();
    let revoked = app.send(app.request_as(&key, reqwest::Method::DELETE, &format!("/v1/api-keys/{key_id}"))).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(post_mcp(&app, Some(&key), None).await.status(), 401);

    // A name the server was not told it is reached by (DNS rebinding) is refused.
    let rebound = post_mcp(&app, Some(&app.api_key), Some("evil.example")).await;
    assert!(rebound.status().is_client_error(), "{}", rebound.status());
}

/// Sessions are bounded: past `mcp.max_sessions`, a new one is refused with 503 until
/// one closes; requests of the open session still go through.
#[tokio::test]
async fn sessions_over_the_bound_are_refused_until_one_closes() {
    let app = ctxd_test_support::spawn_app_with(ctxd_test_support::Backend::Sqlite, |config| {
        config.mcp.max_sessions = 1;
    })
    .await
    .unwrap();
    let first = post_mcp(&app, Some(&app.api_key), None).await;
    assert_eq!(first.status(), 200);
    let session = first.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let second = post_mcp(&app, Some(&app.api_key), None).await;
    assert_eq!(second.status(), 503, "{}", second.text().await.unwrap());

    let closed = app
        .client
        .delete(format!("{}/mcp", app.address))
        .bearer_auth(&app.api_key)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 204, "a closed session is 204, which every MCP SDK takes as closed");
    assert_eq!(post_mcp(&app, Some(&app.api_key), None).await.status(), 200, "room again");
}
