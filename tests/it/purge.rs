//! Deletes and the purge end to end: a deleted space's sources answer 404 at once and
//! are purged in the background with their stored objects; a deleted source stays
//! restorable for the grace period and is purged after it. The blob store's files are
//! counted before and after: nothing is orphaned, nothing still in use is removed.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use ctxd_domain::services::purge::{PurgePass, PurgeService};
use ctxd_test_support::{Backend, TestApp};
use serde_json::{Value, json};

use crate::pipeline::{app_with_workers_and, wait_for_run};

macro_rules! purge_tests {
    ($($name:ident => $purge_every:expr),* $(,)?) => {$(
        mod $name {
            use ctxd_test_support::Backend;

            #[tokio::test]
            async fn sqlite() {
                super::$name(super::app(Backend::Sqlite, $purge_every).await.unwrap()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = super::app(Backend::Postgres, $purge_every).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

purge_tests!(
    a_deleted_space_is_purged_in_the_background_with_its_objects => 1,
    a_deleted_source_is_restorable_until_its_grace_period_ends => 3600,
);

async fn app(backend: Backend, purge_every_seconds: u64) -> Option<TestApp> {
    app_with_workers_and(backend, move |config| config.retention.purge_interval_seconds = purge_every_seconds).await
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries.map(Result::unwrap) {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

fn blob_dir(app: &TestApp) -> PathBuf {
    app.data_dir.path().join("blobs")
}

/// The files of source `id` in the blob store.
fn objects_of(app: &TestApp, id: &str) -> Vec<PathBuf> {
    files(&blob_dir(app)).into_iter().filter(|path| path.starts_with(format!("sources/{id}"))).collect()
}

/// A completed CONTENT source in `space`; returns it.
async fn processed(app: &TestApp, space: &str, text: &str) -> Value {
    let created = app.create_source(space, json!({"type": "CONTENT", "initial_data": {"data": text}})).await;
    let id = created["id"].as_str().unwrap();
    let source = wait_for_run(app, id, &created["last_run"]["id"]).await;
    assert_eq!(source["status"], "COMPLETED", "{source}");
    assert!(!objects_of(app, id).is_empty(), "processing stored the content");
    source
}

async fn a_deleted_space_is_purged_in_the_background_with_its_objects(app: TestApp) {
    let doomed = app.create_space("doomed").await;
    let kept = app.create_space("kept").await;
    let first = processed(&app, &doomed, "# One\n\nThe first page of the doomed space.").await;
    let second = processed(&app, &doomed, "# Two\n\n```sh\nmake purge\n```").await;
    let survivor = processed(&app, &kept, "# Kept\n\nThis one stays.").await;
    let collection = app.post(&format!("/v1/spaces/{doomed}/collections"), json!({"name": "c"})).await;
    assert_eq!(collection.status, 201);
    let before = files(&blob_dir(&app));
    let doomed_ids: Vec<&str> = [&first, &second].iter().map(|s| s["id"].as_str().unwrap()).collect();
    let doomed_objects: Vec<PathBuf> = doomed_ids.iter().flat_map(|id| objects_of(&app, id)).collect();

    assert_eq!(app.delete(&format!("/v1/spaces/{doomed}")).await.status, 204);
    // At once: the space, its sources, collections and outputs answer 404.
    assert_eq!(app.get(&format!("/v1/spaces/{doomed}")).await.status, 404);
    assert_eq!(app.get(&format!("/v1/spaces/{doomed}/sources")).await.status, 404);
    let collection_id = collection.body["id"].as_str().unwrap();
    assert_eq!(app.patch(&format!("/v1/collections/{collection_id}"), json!({"name": "d"})).await.status, 404);
    for id in &doomed_ids {
        assert_eq!(app.get(&format!("/v1/sources/{id}")).await.status, 404);
        assert_eq!(app.get(&format!("/v1/sources/{id}/context")).await.status, 404);
        let restore = app.post(&format!("/v1/sources/{id}/restore"), json!({})).await;
        assert_eq!(restore.status, 404, "a deleted space's sources cannot be restored: {}", restore.body);
    }
    let listed = app.get("/v1/spaces").await.body;
    assert_eq!(listed["pagination"]["total"], 1, "{listed}");

    // In the background: the doomed sources' objects go, and nothing else.
    let deadline = Instant::now() + Duration::from_secs(20);
    while doomed_ids.iter().any(|id| !objects_of(&app, id).is_empty()) {
        assert!(Instant::now() < deadline, "the purge never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = files(&blob_dir(&app));
    let expected: Vec<PathBuf> = before.iter().filter(|path| !doomed_objects.contains(path)).cloned().collect();
    assert_eq!(after, expected, "only the deleted space's objects were removed");
    assert!(!blob_dir(&app).join(format!("sources/{}", doomed_ids[0])).exists(), "no empty folders left");
    let survivor_id = survivor["id"].as_str().unwrap();
    let content = app.get(&format!("/v1/sources/{survivor_id}/content")).await;
    assert_eq!(content.status, 200, "the other space's source is untouched");
    // The rows went too: the runs are gone, and so is the space's row.
    let run = first["last_run"]["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/runs/{run}")).await.status, 404);
    let deadline = Instant::now() + Duration::from_secs(20);
    while spaces_rows(&app).await > 1 {
        assert!(Instant::now() < deadline, "the space's row stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(spaces_rows(&app).await, 1);
}

/// Rows in the spaces table, deleted ones included.
async fn spaces_rows(app: &TestApp) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let db = app.database.connect().await;
    let connection = db.connection();
    let row = connection
        .query_one_raw(Statement::from_string(connection.get_database_backend(), "SELECT COUNT(*) AS n FROM spaces"))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn a_deleted_source_is_restorable_until_its_grace_period_ends(app: TestApp) {
    let space = app.create_space("s").await;
    let source = processed(&app, &space, "# Page\n\nSome text worth keeping.").await;
    let other = processed(&app, &space, "# Other\n\nA neighbour that stays.").await;
    let id = source["id"].as_str().unwrap();
    let objects = objects_of(&app, id);
    let purge = PurgeService::new(
        Arc::new(app.store.clone()),
        Arc::new(app.store.clone()),
        Arc::new(ctxd_blobs::ObjectBlobStore::local(&blob_dir(&app)).unwrap()),
        chrono::Duration::days(30),
    );
    assert_eq!(app.delete(&format!("/v1/sources/{id}")).await.status, 204);

    // Within the grace period nothing is purged and the source comes back whole.
    let now = chrono::Utc::now();
    assert_eq!(purge.purge_due(now).await.unwrap(), PurgePass::default());
    assert_eq!(objects_of(&app, id), objects);
    let restored = app.post(&format!("/v1/sources/{id}/restore"), json!({})).await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(app.get(&format!("/v1/sources/{id}/content")).await.status, 200);

    // Deleted again and past the grace period: purged, objects and rows.
    assert_eq!(app.delete(&format!("/v1/sources/{id}")).await.status, 204);
    let later = now + chrono::Duration::days(31);
    let pass = purge.purge_due(later).await.unwrap();
    assert_eq!(pass.n_sources, 1);
    assert_eq!(pass.n_objects, objects.len() as u64);
    assert!(objects_of(&app, id).is_empty());
    let restore = app.post(&format!("/v1/sources/{id}/restore"), json!({})).await;
    assert_eq!(restore.status, 404, "a purged source is gone: {}", restore.body);
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/v1/sources/{other_id}/content")).await.status, 200, "the neighbour stays");
    assert_eq!(purge.purge_due(later).await.unwrap(), PurgePass::default(), "nothing twice");
}
