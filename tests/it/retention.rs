//! The history purge end to end: runs past their retention go but each source keeps
//! its newest runs and its newest successful run; delivered postbacks, spent
//! idempotency keys and idle rate-limit rows go; pending deliveries and fresh keys stay.

use std::sync::Arc;

use chrono::Utc;
use ctxd_domain::{
    ports::{IdempotencyStore, RateBudgets},
    services::retention::{HistoryPass, HistoryPurge, HistoryRetention},
};
use ctxd_test_support::{TestApp, TestDatabase, seed_account};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::pipeline::{Origin, wait_for_run};

with_workers!(the_purge_keeps_the_newest_runs_and_the_last_successful_one => 1);
on_both_databases!(spent_deliveries_keys_and_budgets_go_and_live_ones_stay);

async fn the_purge_keeps_the_newest_runs_and_the_last_successful_one(app: TestApp) {
    let (origin, url) = Origin::start().await;
    let space = app.create_space("s").await;
    let source = app.create_source(&space, json!({"type": "URI", "initial_data": {"url": url}})).await;
    let id = source["id"].as_str().unwrap().to_owned();
    let succeeded = source["last_run"]["id"].clone();
    assert_eq!(wait_for_run(&app, &id, &succeeded).await["status"], "COMPLETED");
    // Four failures after the one success: the origin says the page is gone.
    origin.set_status(404);
    let mut failed = Vec::new();
    for _ in 0..4 {
        let refresh = app.post(&format!("/v1/sources/{id}/refresh"), json!({})).await;
        assert_eq!(refresh.status, 202, "{}", refresh.body);
        let run = refresh.body["last_run"]["id"].clone();
        assert_eq!(wait_for_run(&app, &id, &run).await["status"], "FAILED");
        failed.push(run);
    }

    let purge = HistoryPurge::new(
        Arc::new(app.store.clone()),
        HistoryRetention { runs_per_source: 2, ..HistoryRetention::default() },
    );
    let now = purge.purge_due(Utc::now()).await.unwrap();
    assert_eq!(now, HistoryPass::default(), "nothing is old yet");
    assert_eq!(run_ids(&app, &id).await.len(), 5);

    let later = purge.purge_due(Utc::now() + chrono::Duration::days(91)).await.unwrap();
    assert_eq!(later.n_runs, 2, "{later:?}");
    let expected: Vec<Value> = vec![failed[3].clone(), failed[2].clone(), succeeded.clone()];
    assert_eq!(run_ids(&app, &id).await, expected, "the two newest and the last success stay, newest first");
    for gone in &failed[..2] {
        assert_eq!(app.get(&format!("/v1/runs/{}", gone.as_str().unwrap())).await.status, 404);
    }
    let source = app.get(&format!("/v1/sources/{id}")).await.body;
    assert_eq!(source["last_run"]["id"], failed[3], "the source still shows its last run");
    assert_eq!(app.get(&format!("/v1/sources/{id}/content")).await.status, 200, "the revision is untouched");
    let again = purge.purge_due(Utc::now() + chrono::Duration::days(92)).await.unwrap();
    assert_eq!(again.n_runs, 0, "what the purge keeps it keeps on the next pass too");
}

async fn run_ids(app: &TestApp, source: &str) -> Vec<Value> {
    let runs = app.get(&format!("/v1/sources/{source}/runs?per_page=100")).await;
    assert_eq!(runs.status, 200, "{}", runs.body);
    runs.body["runs"].as_array().unwrap().iter().map(|run| run["id"].clone()).collect()
}

async fn spent_deliveries_keys_and_budgets_go_and_live_ones_stay(db: TestDatabase) {
    let database = db.connect().await;
    let store = database.store();
    let (user, _) = seed_account(&store).await;
    let now = Utc::now();
    store.claim(user.id, "key-1", "hash", now, now, now).await.unwrap();
    store.complete(user.id, "key-1", 201, "{}").await.unwrap();
    store.take(user.id, now.timestamp_micros(), 600_000, 1).await.unwrap();
    let connection = database.connection();
    for status in ["DELIVERED", "GAVE_UP", "PENDING"] {
        let insert = Statement::from_sql_and_values(
            connection.get_database_backend(),
            "INSERT INTO postback_outbox (id, user_id, source_id, url, payload, status, attempts, \
             next_attempt_at_ms, created_at) VALUES ($1, $2, $3, 'https://example.com/hook', $4, $5, 1, 0, $6)",
            [
                uuid::Uuid::now_v7().into(),
                user.id.0.into(),
                uuid::Uuid::now_v7().into(),
                json!({"status": "COMPLETED"}).into(),
                status.into(),
                now.into(),
            ],
        );
        connection.execute_raw(insert).await.unwrap();
    }
    let rows = async |table: &str| {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = connection
            .query_one_raw(Statement::from_string(connection.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };

    let purge = HistoryPurge::new(Arc::new(store.clone()), HistoryRetention::default());
    assert_eq!(purge.purge_due(now + chrono::Duration::minutes(1)).await.unwrap(), HistoryPass::default());
    assert_eq!((rows("postback_outbox").await, rows("idempotency_keys").await, rows("rate_limits").await), (3, 1, 1));

    let pass = purge.purge_due(now + chrono::Duration::days(31)).await.unwrap();
    assert_eq!(pass, HistoryPass { n_runs: 0, n_deliveries: 2, n_idempotency_keys: 1, n_rate_limits: 1 });
    let pending = connection
        .query_one_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT status FROM postback_outbox".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.try_get::<String>("", "status").unwrap(), "PENDING", "a pending delivery is never purged");
    assert_eq!((rows("idempotency_keys").await, rows("rate_limits").await), (0, 0));
}
