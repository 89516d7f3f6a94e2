//! Retention deletes of the history tables (runs, postback deliveries, idempotency
//! keys, rate-limit rows), each a bounded batch picked through an index, so a purge
//! never holds many row locks or scans a table whole. The same SQL serves both
//! databases (sqlx numbers `$n` parameters on SQLite too).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ctxd_domain::{
    Result,
    ids::RunId,
    ports::{HistoryStore, RunSweep, RunSweepStep},
};
use sea_orm::{ConnectionTrait, Statement, Value};
use uuid::Uuid;

use super::SeaStore;
use crate::map_db_err;

/// The `after`-th run of the window: where a window of `$3 + 1` runs after `$1`
/// ends, if the runs before the cutoff `$2` reach that far.
const WINDOW_END: &str = "SELECT id FROM runs WHERE id > $1 AND id < $2 ORDER BY id LIMIT 1 OFFSET $3";

/// The last run before the cutoff: where the final window ends.
const LAST_BEFORE: &str = "SELECT id FROM runs WHERE id > $1 AND id < $2 ORDER BY id DESC LIMIT 1";

/// The finished runs in `($1, $2]` that have at least `$3 + 1` newer runs of their
/// source (so they are not among the newest kept ones) and, if COMPLETED, a newer
/// COMPLETED run (so the last successful run stays). Both lookups walk the
/// `(source_id, id)` index.
const DELETE_RUNS: &str = "DELETE FROM runs WHERE id IN (\
    SELECT r.id FROM runs r \
    WHERE r.id > $1 AND r.id <= $2 AND r.status IN ('COMPLETED', 'FAILED', 'CANCELED') \
    AND EXISTS (SELECT 1 FROM runs n WHERE n.source_id = r.source_id AND n.id > r.id ORDER BY n.id LIMIT 1 OFFSET $3) \
    AND (r.status <> 'COMPLETED' OR EXISTS (\
        SELECT 1 FROM runs n WHERE n.source_id = r.source_id AND n.id > r.id AND n.status = 'COMPLETED')))";

const DELETE_DELIVERIES: &str = "DELETE FROM postback_outbox WHERE id IN (\
    SELECT id FROM postback_outbox WHERE id < $1 AND status <> 'PENDING' ORDER BY id LIMIT $2)";

const DELETE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE (user_id, key) IN (\
    SELECT user_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)";

const DELETE_RATE_LIMITS: &str =
    "DELETE FROM rate_limits WHERE user_id IN (SELECT user_id FROM rate_limits WHERE tat_us < $1 LIMIT $2)";

/// The smallest UUID v7 of instant `at`: every id made at or after `at` is greater.
/// Ids are UUID v7 (a millisecond timestamp first), so an id range is a time range
/// that the primary key answers.
fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}

fn count(n: u64) -> Value {
    i64::try_from(n).unwrap_or(i64::MAX).into()
}

impl SeaStore {
    async fn one_id(&self, sql: &str, values: Vec<Value>) -> Result<Option<Uuid>> {
        let statement = Statement::from_sql_and_values(self.db.get_database_backend(), sql, values);
        let row = self.db.query_one_raw(statement).await.map_err(map_db_err)?;
        row.map(|row| row.try_get::<Uuid>("", "id")).transpose().map_err(map_db_err)
    }

    async fn delete(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let statement = Statement::from_sql_and_values(self.db.get_database_backend(), sql, values);
        Ok(self.db.execute_raw(statement).await.map_err(map_db_err)?.rows_affected())
    }
}

#[async_trait]
impl HistoryStore for SeaStore {
    async fn purge_runs(&self, sweep: RunSweep, window: u64) -> Result<RunSweepStep> {
        let after = sweep.after.map_or(Uuid::nil(), |id| id.0);
        let cutoff = first_id_at(sweep.queued_before);
        let bounds = || vec![after.into(), cutoff.into()];
        let end = self.one_id(WINDOW_END, [bounds(), vec![count(window.saturating_sub(1))]].concat()).await?;
        let (end, reached_end) = match end {
            Some(end) => (end, false),
            None => match self.one_id(LAST_BEFORE, bounds()).await? {
                Some(last) => (last, true),
                None => return Ok(RunSweepStep { deleted: 0, covered_to: None, reached_end: true }),
            },
        };
        let keep = u64::from(sweep.keep_per_source.max(1)) - 1;
        let deleted = self.delete(DELETE_RUNS, vec![after.into(), end.into(), count(keep)]).await?;
        Ok(RunSweepStep { deleted, covered_to: Some(RunId::from(end)), reached_end })
    }

    async fn purge_deliveries(&self, created_before: DateTime<Utc>, limit: u64) -> Result<u64> {
        self.delete(DELETE_DELIVERIES, vec![first_id_at(created_before).into(), count(limit)]).await
    }

    async fn purge_idempotency_keys(&self, created_before: DateTime<Utc>, limit: u64) -> Result<u64> {
        self.delete(DELETE_IDEMPOTENCY_KEYS, vec![created_before.into(), count(limit)]).await
    }

    async fn purge_rate_limits(&self, tat_before_us: i64, limit: u64) -> Result<u64> {
        self.delete(DELETE_RATE_LIMITS, vec![tat_before_us.into(), count(limit)]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_id_of_an_instant_sorts_between_the_ids_made_around_it() {
        let now = Utc::now();
        let before = Uuid::now_v7();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let cutoff = first_id_at(Utc::now());
        std::thread::sleep(std::time::Duration::from_millis(3));
        let after = Uuid::now_v7();
        assert!(before < cutoff && cutoff < after, "{before} < {cutoff} < {after}");
        assert_eq!(first_id_at(now).get_version_num(), 7);
    }
}
