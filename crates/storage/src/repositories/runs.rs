//! The durable run queue: claim with a lease, finish with the source's new status.
//!
//! The claim is one `UPDATE ... WHERE id IN (SELECT ... LIMIT 1 FOR UPDATE SKIP
//! LOCKED) RETURNING *`. On Postgres, `SKIP LOCKED` lets many workers in many
//! processes claim concurrently without blocking on each other or taking the same
//! row. sea-query leaves the lock clause out for SQLite, where the single statement
//! is atomic because SQLite has one writer at a time.

use std::time::Duration;

use async_trait::async_trait;
use ctxd_domain::{
    Error, Result,
    ids::{RunId, SourceId, UserId},
    model::{Page, PageRequest, Run, RunStatus, Source},
    ports::{LeaseState, RunFinish, RunQueue},
    state::{Event, SourceStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic,
    IntoActiveModel, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};

use super::SeaStore;
use crate::convert::to_i64;
use crate::{
    convert::{context_to, millis, revision_to, run_from, source_from},
    entities::{contexts, revisions, runs, sources},
    map_db_err,
};

/// The Postgres claim as one statement: lock the oldest claimable run (skipping rows
/// other claimers hold), lease it, and move its source to PROCESSING. One round trip
/// instead of four, which is most of a no-op run's cost.
const CLAIM_POSTGRES: &str = r#"
WITH next AS (
    SELECT id FROM runs
    WHERE (status = 'PENDING' AND available_at_ms <= $1) OR (status = 'PROCESSING' AND locked_until_ms < $1)
    ORDER BY id LIMIT 1
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE runs SET status = 'PROCESSING', attempt = attempt + 1, locked_by = $2, locked_until_ms = $3, started_at = $4
    WHERE id IN (SELECT id FROM next)
    RETURNING *
), moved AS (
    UPDATE sources SET status = 'PROCESSING'
    FROM claimed
    WHERE sources.id = claimed.source_id AND sources.status IN ('PENDING', 'PROCESSING')
    RETURNING sources.id
)
SELECT * FROM claimed
"#;

/// The Postgres finish of a run that writes nothing but its outcome (an UNCHANGED
/// refresh, a failure, a cancel) as one statement: no BEGIN/COMMIT round trips. The
/// source moves only if it is still PROCESSING with this run as its last.
const FINISH_STATUS_ONLY_POSTGRES: &str = r#"
WITH finished AS (
    UPDATE runs SET status = $2, outcome = $3, error = $4, finished_at = $5, timings = $6,
        locked_by = NULL, locked_until_ms = NULL
    WHERE id = $1 AND status = 'PROCESSING'
    RETURNING *
), moved AS (
    UPDATE sources SET status = $7, message = $4, updated_at = $5
    FROM finished
    WHERE sources.id = finished.source_id AND sources.status = 'PROCESSING' AND sources.last_run_id = finished.id
    RETURNING sources.*
)
SELECT {columns} FROM finished LEFT JOIN moved ON true
"#;

/// `table.column AS "{prefix}column"` for every column of `E`, so one row can carry
/// two models (read back with `FromQueryResult::from_query_result(row, prefix)`).
fn prefixed_columns<E: EntityTrait>(table: &str, prefix: &str) -> String {
    E::Column::iter().map(|c| format!("{table}.{0} AS \"{prefix}{0}\"", c.as_str())).collect::<Vec<_>>().join(", ")
}

impl SeaStore {
    async fn finish_status_only(
        &self,
        run_id: RunId,
        finish: &RunFinish,
        source_status: SourceStatus,
    ) -> Result<Option<Source>> {
        let now = chrono::Utc::now();
        // Built once: this is the hot path of every unchanged refresh.
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let columns = format!(
                "{}, {}",
                prefixed_columns::<runs::Entity>("finished", "r_"),
                prefixed_columns::<sources::Entity>("moved", "s_")
            );
            FINISH_STATUS_ONLY_POSTGRES.replace("{columns}", &columns)
        });
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            SQL.as_str(),
            [
                run_id.0.into(),
                finish.status.as_str().into(),
                finish.outcome.map(|o| o.as_str()).into(),
                finish.error.clone().into(),
                now.into(),
                serde_json::to_value(finish.timings).expect("plain data").into(),
                source_status.as_str().into(),
            ],
        );
        let Some(row) = self.db.query_one_raw(statement).await.map_err(map_db_err)? else { return Ok(None) };
        let run = runs::Model::from_query_result(&row, "r_").map_err(map_db_err)?;
        self.source_changed(run.source_id);
        let source = match sources::Model::from_query_result_optional(&row, "s_").map_err(map_db_err)? {
            Some(moved) => Some(moved),
            // The source had moved on (deleted, or another run is its last): read it.
            None => sources::Entity::find_by_id(run.source_id).one(&self.db).await.map_err(map_db_err)?,
        };
        match source {
            Some(source) => Ok(Some(source_from(source, Some(run_from(run)?))?)),
            None => Ok(None),
        }
    }

    async fn claim_in_one_statement(
        &self,
        worker: &str,
        now: chrono::DateTime<chrono::Utc>,
        locked_until_ms: i64,
    ) -> Result<Option<Run>> {
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            CLAIM_POSTGRES,
            [millis(now).into(), worker.into(), locked_until_ms.into(), now.into()],
        );
        let claimed = runs::Entity::find().from_raw_sql(statement).one(&self.db).await.map_err(map_db_err)?;
        if let Some(run) = &claimed {
            self.source_changed(run.source_id);
        }
        claimed.map(run_from).transpose()
    }
}

#[async_trait]
impl RunQueue for SeaStore {
    async fn get(&self, user_id: UserId, id: RunId) -> Result<Option<Run>> {
        let model = runs::Entity::find_by_id(id.0)
            .filter(runs::Column::UserId.eq(user_id.0))
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        model.map(run_from).transpose()
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Run>> {
        let now = chrono::Utc::now();
        let now_ms = millis(now);
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        if self.db.get_database_backend() == DbBackend::Postgres {
            return self.claim_in_one_statement(worker, now, now_ms.saturating_add(lease_ms)).await;
        }
        let claimable = Condition::any()
            .add(
                Condition::all()
                    .add(runs::Column::Status.eq(RunStatus::Pending.as_str()))
                    .add(runs::Column::AvailableAtMs.lte(now_ms)),
            )
            .add(
                Condition::all()
                    .add(runs::Column::Status.eq(RunStatus::Processing.as_str()))
                    .add(runs::Column::LockedUntilMs.lt(now_ms)),
            );
        let next = runs::Entity::find()
            .select_only()
            .column(runs::Column::Id)
            .filter(claimable)
            .order_by_asc(runs::Column::Id)
            .limit(1)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_query();
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let claimed = runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(RunStatus::Processing.as_str()))
            .col_expr(runs::Column::Attempt, Expr::col(runs::Column::Attempt).add(1))
            .col_expr(runs::Column::LockedBy, Expr::value(worker))
            .col_expr(runs::Column::LockedUntilMs, Expr::value(now_ms.saturating_add(lease_ms)))
            .col_expr(runs::Column::StartedAt, Expr::value(now))
            .filter(runs::Column::Id.in_subquery(next))
            .exec_with_returning(&txn)
            .await
            .map_err(map_db_err)?;
        let Some(model) = claimed.into_iter().next() else {
            txn.commit().await.map_err(map_db_err)?;
            return Ok(None);
        };
        // The claim is the status machine's PENDING --claim--> PROCESSING; a reclaimed
        // run's source is already PROCESSING.
        sources::Entity::update_many()
            .col_expr(sources::Column::Status, Expr::value(SourceStatus::Processing.as_str()))
            .filter(sources::Column::Id.eq(model.source_id))
            .filter(sources::Column::Status.is_in([SourceStatus::Pending.as_str(), SourceStatus::Processing.as_str()]))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        self.source_changed(model.source_id);
        run_from(model).map(Some)
    }

    async fn finish(&self, run_id: RunId, finish: RunFinish) -> Result<Option<Source>> {
        let event = match finish.status {
            RunStatus::Completed => Event::Succeed,
            RunStatus::Failed => Event::Fail,
            RunStatus::Canceled => Event::Stop,
            other => return Err(Error::internal(format!("a run cannot finish as {other}"))),
        };
        let transition = SourceStatus::Processing.apply(event)?;
        let status_only = finish.revision.is_none() && finish.postback.is_none();
        if status_only && self.db.get_database_backend() == DbBackend::Postgres {
            return self.finish_status_only(run_id, &finish, transition.to).await;
        }
        let now = chrono::Utc::now();
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let finished = runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(finish.status.as_str()))
            .col_expr(runs::Column::Outcome, Expr::value(finish.outcome.map(|o| o.as_str())))
            .col_expr(runs::Column::Error, Expr::value(finish.error.clone()))
            .col_expr(runs::Column::FinishedAt, Expr::value(now))
            .col_expr(runs::Column::Timings, Expr::value(serde_json::to_value(finish.timings).expect("plain data")))
            .col_expr(runs::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(runs::Column::LockedUntilMs, Expr::value(Option::<i64>::None))
            .filter(runs::Column::Id.eq(run_id.0))
            .filter(runs::Column::Status.eq(RunStatus::Processing.as_str()))
            .exec_with_returning(&txn)
            .await
            .map_err(map_db_err)?;
        let Some(run) = finished.into_iter().next() else {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(None);
        };
        let mut update = sources::Entity::update_many()
            .col_expr(sources::Column::Status, Expr::value(transition.to.as_str()))
            .col_expr(sources::Column::Message, Expr::value(finish.error.clone()))
            .col_expr(sources::Column::UpdatedAt, Expr::value(now));
        if let Some(revision) = &finish.revision {
            revisions::Entity::insert(revision_to(revision).into_active_model().reset_all())
                .exec(&txn)
                .await
                .map_err(map_db_err)?;
            if let Some(context) = &finish.context {
                contexts::Entity::insert(context_to(context).into_active_model().reset_all())
                    .exec(&txn)
                    .await
                    .map_err(map_db_err)?;
                update = update
                    .col_expr(sources::Column::OriginalTokens, Expr::value(to_i64(context.draft.original_tokens)))
                    .col_expr(sources::Column::ContextTokens, Expr::value(to_i64(context.draft.context_tokens)));
            }
            if let Some(write) = &finish.artifacts {
                let current = super::artifacts::write(&txn, run.source_id.into(), run.user_id.into(), write).await?;
                update = update.col_expr(sources::Column::ArtifactCount, Expr::value(to_i64(current)));
            }
            super::sources::request_rebuilds(&txn, run.source_id, millis(now)).await?;
            update = update
                .col_expr(sources::Column::Revision, Expr::value(i32::try_from(revision.number).unwrap_or(i32::MAX)))
                .col_expr(sources::Column::ContentHash, Expr::value(revision.content_hash.clone()))
                .col_expr(sources::Column::LastFetchedAt, Expr::value(revision.fetched_at));
        }
        if let Some(postback) = &finish.postback {
            super::postbacks::enqueue(&txn, postback).await?;
        }
        // RETURNING saves a read after the commit, which the queue benchmark notices.
        let updated = update
            .filter(sources::Column::Id.eq(run.source_id))
            .filter(sources::Column::Status.eq(SourceStatus::Processing.as_str()))
            .filter(sources::Column::LastRunId.eq(run.id))
            .exec_with_returning(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        self.source_changed(run.source_id);
        let source = match updated.into_iter().next() {
            Some(source) => Some(source),
            None => sources::Entity::find_by_id(run.source_id).one(&self.db).await.map_err(map_db_err)?,
        };
        match source {
            Some(source) => Ok(Some(source_from(source, Some(run_from(run)?))?)),
            None => Ok(None),
        }
    }

    async fn heartbeat(&self, run_id: RunId, worker: &str, lease: Duration) -> Result<LeaseState> {
        let until = millis(chrono::Utc::now()).saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let extended = runs::Entity::update_many()
            .col_expr(runs::Column::LockedUntilMs, Expr::value(until))
            .filter(runs::Column::Id.eq(run_id.0))
            .filter(runs::Column::Status.eq(RunStatus::Processing.as_str()))
            .filter(runs::Column::LockedBy.eq(worker))
            .exec_with_returning(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(match extended.first() {
            Some(run) => LeaseState { held: true, cancel_requested: run.cancel_requested },
            None => LeaseState { held: false, cancel_requested: false },
        })
    }

    async fn release(
        &self,
        run_id: RunId,
        worker: &str,
        error: &str,
        retry_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let released = runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(RunStatus::Pending.as_str()))
            .col_expr(runs::Column::Error, Expr::value(error))
            .col_expr(runs::Column::AvailableAtMs, Expr::value(millis(retry_at)))
            .col_expr(runs::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(runs::Column::LockedUntilMs, Expr::value(Option::<i64>::None))
            .filter(runs::Column::Id.eq(run_id.0))
            .filter(runs::Column::Status.eq(RunStatus::Processing.as_str()))
            .filter(runs::Column::LockedBy.eq(worker))
            .exec_with_returning(&txn)
            .await
            .map_err(map_db_err)?;
        let Some(run) = released.into_iter().next() else {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        };
        // The status machine's PROCESSING --retry--> PENDING.
        let to = SourceStatus::Processing.apply(Event::Retry)?.to;
        sources::Entity::update_many()
            .col_expr(sources::Column::Status, Expr::value(to.as_str()))
            .filter(sources::Column::Id.eq(run.source_id))
            .filter(sources::Column::Status.eq(SourceStatus::Processing.as_str()))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        self.source_changed(run.source_id);
        Ok(true)
    }

    async fn previous(&self, source_id: SourceId, run_id: RunId) -> Result<Option<Run>> {
        let model = runs::Entity::find()
            .filter(runs::Column::SourceId.eq(source_id.0))
            .filter(runs::Column::Id.lt(run_id.0))
            .order_by_desc(runs::Column::Id)
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        model.map(run_from).transpose()
    }

    async fn depth(&self) -> Result<u64> {
        runs::Entity::find()
            .filter(runs::Column::Status.eq(RunStatus::Pending.as_str()))
            .count(&self.db)
            .await
            .map_err(map_db_err)
    }

    async fn list_for_source(&self, source_id: SourceId, page: PageRequest) -> Result<Page<Run>> {
        let select =
            runs::Entity::find().filter(runs::Column::SourceId.eq(source_id.0)).order_by_desc(runs::Column::Id);
        super::fetch_page(&self.db, select, page, run_from).await
    }
}
