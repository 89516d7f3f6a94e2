//! COMPOSITION sources end to end: built from their members in order, and rebuilt
//! (only they) when a member gets a new revision, even when the member finishes
//! after the composition was created.

use std::time::{Duration, Instant};

use axum::{Router, routing::get};
use ctxd_test_support::TestApp;
use serde_json::{Value, json};

use crate::pipeline::wait_for_run;

with_workers!(
    compositions_join_their_members_and_follow_their_changes => 3,
    a_member_that_finishes_later_triggers_a_rebuild => 3,
);

/// Polls until the source is COMPLETED at revision `number`.
async fn wait_for_revision(app: &TestApp, id: &str, number: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let source = app.get(&format!("/v1/sources/{id}")).await.body;
        if source["status"] == "COMPLETED" && source["revision"].as_u64() == Some(number) {
            return source;
        }
        assert!(Instant::now() < deadline, "{id} never reached revision {number}: {source}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn content_source(app: &TestApp, space: &str, name: &str, text: &str) -> String {
    let source =
        app.create_source(space, json!({"type": "CONTENT", "name": name, "initial_data": {"data": text}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(app, &id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    id
}

async fn markdown(app: &TestApp, id: &str) -> String {
    let response = app.request(reqwest::Method::GET, &format!("/v1/sources/{id}/content")).send().await.unwrap();
    response.text().await.unwrap()
}

async fn compositions_join_their_members_and_follow_their_changes(app: TestApp) {
    let space = app.create_space("s").await;
    let alpha = "# Alpha\n\nWe decided to use Postgres for the queue.\n\n```sql\nSELECT 1;\n```\n";
    let beta = "# Beta\n\nShould retention be 20 revisions?\n";
    let a = content_source(&app, &space, "alpha", alpha).await;
    let b = content_source(&app, &space, "beta", beta).await;
    let unrelated = content_source(&app, &space, "other", "# Other\n\nNothing here.\n").await;

    let pack = app
        .create_source(&space, json!({"type": "COMPOSITION", "name": "pack", "initial_data": {"source_ids": [b, a]}}))
        .await;
    let pack_id = pack["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(&app, &pack_id, &pack["last_run"]["id"]).await;
    assert_eq!((done["status"].as_str(), done["revision"].as_u64()), (Some("COMPLETED"), Some(1)), "{done}");
    assert_eq!(markdown(&app, &pack_id).await, format!("{}\n---\n\n{}", beta, alpha), "members in the given order");

    let context = app.get(&format!("/v1/sources/{pack_id}/context")).await.body;
    assert_eq!(context["title"], "pack");
    assert_eq!(context["outline"], json!(["beta", "alpha"]));
    let content = context["content"].as_str().unwrap();
    assert!(content.starts_with("# pack\n\nA composition of 2 sources."), "{content}");
    assert!(content.contains("## beta") && content.contains("## alpha"), "{content}");
    assert!(content.contains("- A1 CODE sql"), "a pointer to the member's artifact: {content}");
    let artifacts = app.get(&format!("/v1/sources/{pack_id}/artifacts")).await.body;
    assert_eq!(artifacts["artifacts"][0]["content"], "SELECT 1;\n", "{artifacts}");
    assert_eq!(
        artifacts["artifacts"][0]["provenance"]["start_line"], 11,
        "alpha line 5, after 6 lines of beta and separator"
    );

    // A composition of the composition: changes travel up both levels.
    let outer = app
        .create_source(
            &space,
            json!({"type": "COMPOSITION", "name": "outer", "initial_data": {"source_ids": [pack_id]}}),
        )
        .await;
    let outer_id = outer["id"].as_str().unwrap().to_owned();
    wait_for_run(&app, &outer_id, &outer["last_run"]["id"]).await;

    let next = format!("{alpha}\nWe also decided to keep 20 revisions.\n");
    let ff = app
        .post(&format!("/v1/sources/{a}/fast-forward"), json!({"type": "CONTENT", "initial_data": {"data": next}}))
        .await;
    assert_eq!(ff.status, 202, "{:?}", ff.body);
    wait_for_revision(&app, &a, 2).await;
    let rebuilt = wait_for_revision(&app, &pack_id, 2).await;
    assert_eq!(rebuilt["last_run"]["kind"], "SCHEDULED_REFRESH", "the system asked for the rebuild: {rebuilt}");
    assert!(markdown(&app, &pack_id).await.contains("keep 20 revisions"));
    wait_for_revision(&app, &outer_id, 2).await;
    assert!(markdown(&app, &outer_id).await.contains("keep 20 revisions"));

    // Deleting a member rebuilds its compositions without it; restoring brings it back.
    assert_eq!(app.delete(&format!("/v1/sources/{b}")).await.status, 204);
    wait_for_revision(&app, &pack_id, 3).await;
    assert!(!markdown(&app, &pack_id).await.contains("# Beta"), "the deleted member is left out");
    let context = app.get(&format!("/v1/sources/{pack_id}/context")).await.body;
    assert_eq!(context["outline"], json!(["alpha"]));
    assert_eq!(app.post(&format!("/v1/sources/{b}/restore"), json!({})).await.status, 200);
    wait_for_revision(&app, &pack_id, 4).await;
    assert!(markdown(&app, &pack_id).await.starts_with("# Beta"), "restored, in its place");

    // Only compositions that contain the changed member were rebuilt.
    let runs = app.get(&format!("/v1/sources/{unrelated}/runs")).await.body;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");

    // Like any composition, it cannot be refreshed from its origin.
    let refresh = app.post(&format!("/v1/sources/{pack_id}/refresh"), json!({})).await;
    assert_eq!((refresh.status, refresh.detail_fields()), (400, vec!["type".to_owned()]));

    // Deleting the space takes compositions, memberships and rebuild requests along.
    assert_eq!(app.delete(&format!("/v1/spaces/{space}")).await.status, 204);
    assert_eq!(app.get(&format!("/v1/sources/{pack_id}")).await.status, 404);
}

async fn a_member_that_finishes_later_triggers_a_rebuild(app: TestApp) {
    // An origin slow enough that the composition's first run sees no content.
    let origin = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            ([("content-type", "text/markdown")], "# Slow\n\nArrived late.\n")
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, origin).await.unwrap() });

    let space = app.create_space("s").await;
    let member = app.create_source(&space, json!({"type": "URI", "name": "slow", "initial_data": {"url": url}})).await;
    let member_id = member["id"].as_str().unwrap().to_owned();
    let pack = app
        .create_source(
            &space,
            json!({"type": "COMPOSITION", "name": "pack", "initial_data": {"source_ids": [member_id]}}),
        )
        .await;
    let pack_id = pack["id"].as_str().unwrap().to_owned();
    let first = wait_for_run(&app, &pack_id, &pack["last_run"]["id"]).await;
    assert_eq!(first["status"], "FAILED", "no member has content yet: {first}");
    assert!(first["message"].as_str().unwrap().contains("rebuilt when one has"), "{first}");

    wait_for_revision(&app, &member_id, 1).await;
    wait_for_revision(&app, &pack_id, 1).await;
    assert_eq!(markdown(&app, &pack_id).await, "# Slow\n\nArrived late.\n");
}
