//! Rate-limit budgets kept in the database, so every replica draws on one budget per
//! user (GCRA: one `tat` per user, see `ctxd_domain::services::rate_limits`).
//!
//! On Postgres the requests that arrive while a statement is in flight share the next
//! one (see [`crate::batch`]): it locks the users' rows, grants each user as many of
//! their waiting requests as fit, and moves their `tat` in one go, so a busy process
//! pays a fraction of a round trip per request, and replicas serialise on the row
//! lock, never over-granting. A user's first requests insert the row; when another
//! replica inserted it first, those requests are decided again against its row.
//! On SQLite it is a read and a write in one transaction (the server keeps the budget
//! in memory there; this serves a second process on the same file).

use async_trait::async_trait;
use ctxd_domain::{Result, ids::UserId, ports::RateBudgets, services::rate_limits};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use super::SeaStore;
use crate::{
    batch::{Batcher, Lane},
    map_db_err,
};

/// One request for budget: who, when, their plan's interval, how many requests.
pub(crate) type Take = (Uuid, i64, i64, u32);

/// At most this many requests share a statement.
const MAX_BATCH: usize = 256;

const TAKE_POSTGRES: &str = r#"
WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(user_id uuid, wanted bigint, interval_us bigint, now_us bigint)
), locked AS (
    SELECT r.user_id, r.tat_us FROM rate_limits r
    WHERE r.user_id = ANY(ARRAY(SELECT user_id FROM input))
    FOR UPDATE
), decided AS (
    SELECT i.user_id, i.interval_us, l.user_id IS NOT NULL AS existed,
        GREATEST(COALESCE(l.tat_us, 0), i.now_us) AS base,
        LEAST(i.wanted, GREATEST(0, ($2 - (GREATEST(COALESCE(l.tat_us, 0), i.now_us) - i.now_us)) / i.interval_us))
            AS granted
    FROM input i LEFT JOIN locked l ON l.user_id = i.user_id
), updated AS (
    UPDATE rate_limits r SET tat_us = d.base + d.granted * d.interval_us
    FROM decided d
    WHERE r.user_id = d.user_id AND d.existed AND d.granted > 0
), inserted AS (
    INSERT INTO rate_limits (user_id, tat_us)
    SELECT user_id, base + granted * interval_us FROM decided WHERE NOT existed
    ON CONFLICT (user_id) DO NOTHING
    RETURNING user_id
)
SELECT d.user_id, d.base, d.granted, d.existed OR i.user_id IS NOT NULL AS recorded
FROM decided d LEFT JOIN inserted i ON i.user_id = d.user_id
"#;

/// The grouped budget statement of one Postgres pool.
#[derive(Debug)]
pub(crate) struct RateBatches {
    takes: Batcher<Take, (u32, i64)>,
}

impl RateBatches {
    pub(crate) fn spawn(db: &DatabaseConnection) -> Self {
        Self { takes: Batcher::statements(db, MAX_BATCH, take_batch) }
    }
}

/// Answers a batch in arrival order: per user, the requests are served from what the
/// statement granted them, first come first served.
async fn take_batch(lane: Lane, requests: Vec<Take>) -> Result<Vec<(u32, i64)>> {
    let mut answers: Vec<Option<(u32, i64)>> = vec![None; requests.len()];
    // A user whose row another process inserted in the meantime is decided again.
    for _ in 0..3 {
        let pending: Vec<usize> = (0..requests.len()).filter(|i| answers[*i].is_none()).collect();
        if pending.is_empty() {
            break;
        }
        let decided = decide(&lane, pending.iter().map(|i| requests[*i])).await?;
        // Per user: how much of the grant has been handed out.
        let mut handed: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
        for i in pending {
            let (user, _, interval_us, wanted) = requests[i];
            let Some(&(base, granted, recorded)) = decided.get(&user) else {
                return Err(ctxd_domain::Error::internal("the budget statement skipped a user"));
            };
            if !recorded {
                continue;
            }
            let so_far = handed.entry(user).or_default();
            let mine = (granted - *so_far).clamp(0, i64::from(wanted));
            *so_far += mine;
            answers[i] = Some((u32::try_from(mine).unwrap_or(0), base + *so_far * interval_us));
        }
    }
    answers.into_iter().map(|a| a.ok_or_else(|| ctxd_domain::Error::internal("a budget stayed undecided"))).collect()
}

/// One statement over `requests`: per user, the base `tat`, how many of their requests
/// fit, and whether the outcome was stored.
async fn decide(
    lane: &Lane,
    requests: impl Iterator<Item = Take>,
) -> Result<std::collections::HashMap<Uuid, (i64, i64, bool)>> {
    // Per user: how many requests are wanted, the latest `now` among them, the interval.
    let mut users: Vec<(Uuid, i64, i64, i64)> = Vec::new();
    for (user, now_us, interval_us, wanted) in requests {
        match users.iter_mut().find(|(u, ..)| *u == user) {
            Some((_, total, now, _)) => {
                *total += i64::from(wanted);
                *now = (*now).max(now_us);
            }
            None => users.push((user, i64::from(wanted), now_us, interval_us)),
        }
    }
    let input: Vec<serde_json::Value> = users
        .iter()
        .map(|(user, wanted, now_us, interval_us)| {
            serde_json::json!({"user_id": user, "wanted": wanted, "interval_us": interval_us, "now_us": now_us})
        })
        .collect();
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        TAKE_POSTGRES,
        [serde_json::Value::Array(input).into(), rate_limits::WINDOW_US.into()],
    );
    let mut decided = std::collections::HashMap::new();
    for row in lane.query_all(statement).await? {
        let user: Uuid = row.try_get("", "user_id").map_err(map_db_err)?;
        let base: i64 = row.try_get("", "base").map_err(map_db_err)?;
        let granted: i64 = row.try_get("", "granted").map_err(map_db_err)?;
        let recorded: bool = row.try_get("", "recorded").map_err(map_db_err)?;
        decided.insert(user, (base, granted, recorded));
    }
    Ok(decided)
}

#[async_trait]
impl RateBudgets for SeaStore {
    async fn take(&self, user: UserId, now_us: i64, interval_us: i64, wanted: u32) -> Result<(u32, i64)> {
        if let Some(batches) = self.batches.as_deref() {
            return batches.rates.takes.call((user.0, now_us, interval_us, wanted)).await;
        }
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let backend = txn.get_database_backend();
        let read = Statement::from_sql_and_values(
            backend,
            "SELECT tat_us FROM rate_limits WHERE user_id = ?",
            [user.0.into()],
        );
        let tat: i64 = match txn.query_one_raw(read).await.map_err(map_db_err)? {
            Some(row) => row.try_get("", "tat_us").map_err(map_db_err)?,
            None => 0,
        };
        let (granted, next) = rate_limits::admit_many(tat, now_us, interval_us, wanted);
        if granted > 0 {
            let write = Statement::from_sql_and_values(
                backend,
                "INSERT INTO rate_limits (user_id, tat_us) VALUES (?, ?) \
                 ON CONFLICT (user_id) DO UPDATE SET tat_us = excluded.tat_us",
                [user.0.into(), next.into()],
            );
            txn.execute_raw(write).await.map_err(map_db_err)?;
        }
        txn.commit().await.map_err(map_db_err)?;
        Ok((granted, next))
    }
}
