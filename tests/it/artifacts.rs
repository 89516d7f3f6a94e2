//! Artifacts end to end: found by the pipeline, listed per source and revision, read
//! one by one, searched per space (Postgres full text, SQLite FTS5), compared in
//! revision diffs, and kept or replaced by reprocessing.

use chrono::Utc;
use ctxd_domain::{
    ids::ArtifactId,
    model::{Artifact, ArtifactDraft, ArtifactKind, ArtifactWrite, Provenance, RunStatus, StageTimings},
    ports::{RunFinish, RunQueue},
};
use ctxd_test_support::TestApp;
use serde_json::{Value, json};

use crate::pipeline::wait_for_run;

with_workers!(
    the_pipeline_stores_typed_artifacts_for_each_revision => 3,
    space_search_finds_artifacts_by_text_kind_and_language => 3,
    a_new_revision_replaces_the_set_and_the_diff_lists_changes => 3,
);

on_both_backends!(reprocessing_without_update_existing_keeps_current_artifacts);

const DOC: &str = "# Analytics\n\nInstall the client:\n\n```bash\npip install mixpanel\n```\n\n\
## Tracking\n\nclient.py\n```python\nfrom mixpanel import Mixpanel\nmp = Mixpanel(token)\n```\n\n\
```mermaid\ngraph TD; App-->Mixpanel\n```\n\n| event | when |\n|---|---|\n| launch | start |\n";

async fn completed_source(app: &TestApp, space: &str, data: &str) -> Value {
    let source = app.create_source(space, json!({"type": "CONTENT", "initial_data": {"data": data}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    let done = wait_for_run(app, &id, &source["last_run"]["id"]).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    done
}

async fn the_pipeline_stores_typed_artifacts_for_each_revision(app: TestApp) {
    let space = app.create_space("s").await;
    let source = completed_source(&app, &space, DOC).await;
    let id = source["id"].as_str().unwrap();
    assert_eq!(source["stats"]["artifact_count"], 4, "{source}");

    let list = app.get(&format!("/v1/sources/{id}/artifacts")).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let artifacts = list.body["artifacts"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> =
        artifacts.iter().map(|a| (a["kind"].as_str().unwrap(), a["language"].as_str().unwrap_or("-"))).collect();
    assert_eq!(kinds, [("COMMAND", "bash"), ("CODE", "python"), ("DIAGRAM", "mermaid"), ("TABLE", "-")]);
    let code = &artifacts[1];
    assert_eq!(code["title"], "client.py");
    assert_eq!(code["content"], "from mixpanel import Mixpanel\nmp = Mixpanel(token)\n");
    assert_eq!(code["revision"], 1);
    assert_eq!(code["sourceId"], *id);
    assert_eq!(code["provenance"], json!({"start_line": 12, "end_line": 15, "turn": null}));
    assert_eq!(artifacts[3]["metadata"]["rows"], json!([["event", "when"], ["launch", "start"]]));
    assert_eq!(list.body["pagination"]["total"], 4);

    let one = app.get(&format!("/v1/artifacts/{}", code["id"].as_str().unwrap())).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body, *code);
    let context = app.get(&format!("/v1/sources/{id}/context")).await;
    let content = context.body["content"].as_str().unwrap();
    assert!(content.contains("A2 CODE python: client.py"), "the context points at every artifact: {content}");

    // Someone else's artifact, an unknown id, a malformed id.
    let other = app.key_for("mallory").await;
    let foreign = app
        .send(app.request_as(&other, reqwest::Method::GET, &format!("/v1/artifacts/{}", code["id"].as_str().unwrap())))
        .await;
    assert_eq!(foreign.status, 404);
    assert_eq!(app.get(&format!("/v1/artifacts/{}", ArtifactId::new())).await.status, 404);
    let bad = app.get("/v1/artifacts/nope").await;
    assert_eq!((bad.status, bad.detail_fields()), (400, vec!["artifactId".to_owned()]));
    assert_eq!(app.get(&format!("/v1/sources/{id}/artifacts?revision=9")).await.status, 404);

    // A deleted source's artifacts are gone from reads.
    assert_eq!(app.delete(&format!("/v1/sources/{id}")).await.status, 204);
    assert_eq!(app.get(&format!("/v1/artifacts/{}", code["id"].as_str().unwrap())).await.status, 404);
}

async fn space_search_finds_artifacts_by_text_kind_and_language(app: TestApp) {
    let space = app.create_space("s").await;
    completed_source(&app, &space, DOC).await;
    let other = "# Queue\n\n```sql\nSELECT id FROM runs FOR UPDATE SKIP LOCKED;\n```\n";
    completed_source(&app, &space, other).await;
    let search = |query: &str| {
        let path = format!("/v1/spaces/{space}/artifacts?{query}");
        let app = &app;
        async move { app.get(&path).await }
    };

    let found = search("q=mixpanel").await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    let kinds: Vec<&str> =
        found.body["artifacts"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "the command, the code and the diagram mention Mixpanel: {kinds:?}");
    assert_eq!(search("q=skip%20locked").await.body["artifacts"][0]["language"], "sql");
    assert_eq!(search("q=skip%20bananas").await.body["pagination"]["total"], 0, "every word must occur");
    assert_eq!(search("q=%22%20OR%20*").await.status, 200, "query syntax in the text is only text");
    assert_eq!(search("q=***").await.body["pagination"]["total"], 0);
    assert_eq!(search("q=PIP%20Install").await.body["pagination"]["total"], 1, "words match in any case");

    let database = app.database.connect().await;
    if database.backend() == ctxd_storage::Backend::Sqlite {
        let db = database.connection();
        // Migration 18 writes SQLite's word rows from the artifacts already stored,
        // and undoing it (with 19, which SQLite skips) brings back migration 17's table.
        use sea_orm_migration::MigratorTrait;
        ctxd_migrations::Migrator::down(db, Some(2)).await.unwrap();
        ctxd_migrations::Migrator::up(db, None).await.unwrap();
        assert_eq!(search("q=mixpanel").await.body["pagination"]["total"], 3, "rows written for the stored ones");
        assert_eq!(search("q=skip%20locked").await.body["pagination"]["total"], 1);
    }

    let commands = search("kind=COMMAND").await;
    assert_eq!(commands.body["pagination"]["total"], 1);
    assert_eq!(search("language=PYTHON").await.body["artifacts"][0]["title"], "client.py");
    assert_eq!(search("kind=CODE&q=mixpanel").await.body["pagination"]["total"], 1);
    assert_eq!(search("per_page=2").await.body["artifacts"].as_array().unwrap().len(), 2);
    assert_eq!(search("").await.body["pagination"]["total"], 5);

    let bad = search("kind=code&per_page=0").await;
    assert_eq!(bad.status, 400);
    let mut fields = bad.detail_fields();
    fields.sort();
    assert_eq!(fields, ["kind", "per_page"], "every bad parameter is reported");
    assert_eq!(search("colour=red").await.status, 400, "unknown parameters are refused");
    let stranger = app.key_for("mallory").await;
    let foreign = app
        .send(app.request_as(&stranger, reqwest::Method::GET, &format!("/v1/spaces/{space}/artifacts?q=mixpanel")))
        .await;
    assert_eq!(foreign.status, 404);

    // Another space's artifacts with the same words are not found, and a deleted
    // artifact (its source purged) leaves the word index with it.
    let elsewhere = app.create_space("elsewhere").await;
    let copy = completed_source(&app, &elsewhere, other).await;
    assert_eq!(search("q=skip%20locked").await.body["pagination"]["total"], 1, "only this space's");
    let there = app.get(&format!("/v1/spaces/{elsewhere}/artifacts?q=skip%20locked")).await;
    assert_eq!(there.body["pagination"]["total"], 1, "{}", there.body);
    assert_eq!(app.delete(&format!("/v1/spaces/{elsewhere}")).await.status, 204);
    let purge = ctxd_domain::services::purge::PurgeService::new(
        std::sync::Arc::new(app.store.clone()),
        std::sync::Arc::new(app.store.clone()),
        std::sync::Arc::new(ctxd_blobs::ObjectBlobStore::local(&app.data_dir.path().join("blobs")).unwrap()),
        chrono::Duration::days(30),
    );
    assert_eq!(purge.purge_due(Utc::now()).await.unwrap().n_sources, 1, "{copy}");
    assert_eq!(search("q=skip%20locked").await.body["pagination"]["total"], 1, "the purge left this space alone");
}

async fn a_new_revision_replaces_the_set_and_the_diff_lists_changes(app: TestApp) {
    let space = app.create_space("s").await;
    let source = completed_source(&app, &space, DOC).await;
    let id = source["id"].as_str().unwrap();
    let first = app.get(&format!("/v1/sources/{id}/artifacts")).await.body["artifacts"].clone();

    // The command goes, the client code changes, a schema arrives.
    let next = DOC
        .replace("Install the client:\n\n```bash\npip install mixpanel\n```\n\n", "")
        .replace("mp = Mixpanel(token)", "mp = Mixpanel(token, secure=True)")
        + "\n```sql\nCREATE TABLE events (name text);\n```\n";
    let forwarded = app
        .post(&format!("/v1/sources/{id}/fast-forward"), json!({"type": "CONTENT", "initial_data": {"data": next}}))
        .await;
    assert_eq!(forwarded.status, 202, "{:?}", forwarded.body);
    let done = wait_for_run(&app, id, &forwarded.body["last_run"]["id"]).await;
    assert_eq!(done["revision"], 2, "{done}");
    assert_eq!(done["stats"]["artifact_count"], 4);

    let current = app.get(&format!("/v1/sources/{id}/artifacts")).await.body["artifacts"].clone();
    let kinds: Vec<&str> = current.as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CODE", "DIAGRAM", "TABLE", "SCHEMA"]);
    let old = app.get(&format!("/v1/sources/{id}/artifacts?revision=1")).await;
    assert_eq!(old.body["artifacts"], first, "revision 1's artifacts stay readable");

    let diff = app.get(&format!("/v1/sources/{id}/revisions/2/diff")).await;
    assert_eq!(diff.status, 200, "{:?}", diff.body);
    let ids = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&diff.body["artifacts"]["removed"]), [first[0]["id"].as_str().unwrap()], "the command");
    assert_eq!(ids(&diff.body["artifacts"]["changed"]), [current[0]["id"].as_str().unwrap()], "the client code");
    assert_eq!(ids(&diff.body["artifacts"]["added"]), [current[3]["id"].as_str().unwrap()], "the schema");
}

fn draft(kind: ArtifactKind, content: &str, line: u32) -> ArtifactDraft {
    ArtifactDraft {
        kind,
        language: None,
        title: None,
        content: content.into(),
        metadata: json!({}),
        provenance: Provenance { start_line: line, end_line: line + 2, turn: None },
    }
}

/// Plays the worker: claims the queued run and finishes it with revision `number`
/// holding `drafts`, replacing the current set or not.
async fn finish_with(app: &TestApp, source: &Value, number: u32, drafts: &[ArtifactDraft], replace: bool) {
    let run =
        RunQueue::claim(&app.store, "test-worker", std::time::Duration::from_secs(60)).await.unwrap().unwrap().run;
    let source_id = source["id"].as_str().unwrap().parse().unwrap();
    let space_id = source["spaceId"].as_str().unwrap().parse().unwrap();
    let artifacts = drafts
        .iter()
        .map(|d| Artifact {
            id: ArtifactId::new(),
            source_id,
            space_id,
            revision: number,
            draft: d.clone(),
            created_at: Utc::now(),
        })
        .collect();
    let revision = ctxd_domain::model::Revision {
        source_id,
        number,
        content_hash: format!("sha256:{number:064}"),
        fetched_at: Utc::now(),
        http: Default::default(),
        bytes: 1,
        extractor_version: "test".into(),
        page_type: None,
    };
    let finish = RunFinish {
        status: RunStatus::Completed,
        outcome: Some(ctxd_domain::model::RunOutcome::Changed),
        error: None,
        revision: Some(revision),
        context: None,
        artifacts: Some(ArtifactWrite { artifacts, replace }),
        postback: None,
        timings: StageTimings::default(),
        attempt: None,
    };
    assert!(RunQueue::finish(&app.store, run.id, finish).await.unwrap(), "the run was held");
}

async fn reprocessing_without_update_existing_keeps_current_artifacts(app: TestApp) {
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    let id = source["id"].as_str().unwrap();
    let a = draft(ArtifactKind::Code, "print(1)", 1);
    let b = draft(ArtifactKind::Command, "ls -la", 5);
    finish_with(&app, &source, 1, &[a.clone(), b.clone()], true).await;

    // A reprocess with update_existing=false: `a` again, and a new `c`; `b` is not found.
    let reprocess = app.post(&format!("/v1/sources/{id}/reprocess"), json!({"update_existing": false})).await;
    assert_eq!(reprocess.status, 202, "{:?}", reprocess.body);
    let c = draft(ArtifactKind::Schema, "CREATE TABLE t (x int);", 9);
    finish_with(&app, &source, 2, &[a.clone(), c.clone()], false).await;

    let current = app.get(&format!("/v1/sources/{id}/artifacts")).await.body;
    let contents: Vec<&str> =
        current["artifacts"].as_array().unwrap().iter().map(|x| x["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["print(1)", "ls -la", "CREATE TABLE t (x int);"], "kept, kept, added once");
    assert_eq!(app.get(&format!("/v1/sources/{id}")).await.body["stats"]["artifact_count"], 3);
    let rev2 = app.get(&format!("/v1/sources/{id}/artifacts?revision=2")).await.body;
    assert_eq!(rev2["pagination"]["total"], 2, "revision 2 records what it found");

    // A default reprocess replaces the set.
    let reprocess = app.post(&format!("/v1/sources/{id}/reprocess"), json!({})).await;
    assert_eq!(reprocess.status, 202);
    finish_with(&app, &source, 3, &[c], true).await;
    let current = app.get(&format!("/v1/sources/{id}/artifacts")).await.body;
    assert_eq!(current["pagination"]["total"], 1);
}
