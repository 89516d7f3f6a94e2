//! The durable run queue: claim with a lease, finish with the source's new status.
//!
//! The claim is one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
//! RETURNING *`. On Postgres, `SKIP LOCKED` lets many workers in many processes claim
//! concurrently without blocking on each other or taking the same row, and the
//! workers of one process claim together: concurrent claims (and concurrent
//! outcome-only finishes) are grouped into one statement each (see
//! [`crate::batch`]). sea-query leaves the lock clause out for SQLite, where the single
//! statement is atomic because SQLite has one writer at a time.

use std::time::Duration;

use async_trait::async_trait;
use ctxd_domain::{
    Error, Result,
    ids::{RunId, SourceId, UserId},
    model::{Page, PageRequest, Run, RunOutcome, RunStatus, StageTimings},
    ports::{ClaimedRun, LeaseState, RunFinish, RunQueue, RunSubject},
    state::{Event, SourceStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, Statement,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::SeaStore;
use crate::batch::{Batcher, Lane, answers};
use crate::convert::to_i64;
use crate::{
    convert::{context_to, millis, revision_from, revision_to, run_from, source_from},
    entities::{contexts, revisions, runs, sources},
    map_db_err,
};

/// The Postgres claim for a batch of workers as one statement: lock up to one run per
/// worker (expired leases first, then the oldest queued runs, skipping rows other
/// claimers hold), lease each to its worker, and move their sources to PROCESSING.
/// `$2` lists the workers as `[{n, worker, locked_until_ms}]`. Each run comes back
/// with its subject (see [`subject_from_row`]), read in the statement's snapshot, so
/// a run starts without another round trip.
const CLAIM_POSTGRES: &str = r#"
WITH wanted AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb) AS w(n bigint, worker text, locked_until_ms bigint)
), expired AS (
    SELECT id FROM runs WHERE status = 'PROCESSING' AND locked_until_ms < $1
    ORDER BY locked_until_ms LIMIT $4
    FOR UPDATE SKIP LOCKED
), pending AS (
    SELECT id FROM runs WHERE status = 'PENDING' AND available_at_ms <= $1
    ORDER BY id LIMIT $4
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT id, row_number() OVER () AS n
    FROM ((SELECT id FROM expired) UNION ALL (SELECT id FROM pending) LIMIT $4) AS next
), claimed AS (
    UPDATE runs SET status = 'PROCESSING', attempt = attempt + 1, locked_by = wanted.worker,
        locked_until_ms = wanted.locked_until_ms, started_at = $3
    FROM picked JOIN wanted USING (n)
    WHERE runs.id = picked.id
    RETURNING runs.*, wanted.n AS batch_n
), moved AS (
    UPDATE sources SET status = 'PROCESSING'
    FROM claimed
    WHERE sources.id = claimed.source_id AND sources.status IN ('PENDING', 'PROCESSING')
    RETURNING sources.id
)
{subjects}
LEFT JOIN moved ON moved.id = claimed.source_id
"#;

/// The Postgres finish of a batch of runs that write nothing but their outcome (an
/// UNCHANGED refresh, a failure, a cancel) as one statement. A source moves only if
/// it is still PROCESSING with that run as its last. `$1` lists the runs as
/// `[{n, id, status, outcome, error, timings, source_status, attempt}]` (`attempt` null keeps the count). The runs are picked by
/// `id = ANY(ARRAY(...))`, which the plan answers from the primary key: with only the
/// join, the generic plan read every PROCESSING run from the lease index instead, a
/// cost that grew with the runs in flight across all workers.
const FINISH_STATUS_ONLY_POSTGRES: &str = r#"
WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
        AS i(n bigint, id uuid, status text, outcome text, error text, timings jsonb, source_status text,
             attempt integer)
), finished AS (
    UPDATE runs SET status = input.status, outcome = input.outcome, error = input.error, finished_at = $2,
        timings = input.timings, locked_by = NULL, locked_until_ms = NULL,
        attempt = COALESCE(input.attempt, runs.attempt)
    FROM input
    WHERE runs.id = input.id AND runs.id = ANY(ARRAY(SELECT id FROM input)) AND runs.status = 'PROCESSING'
    RETURNING runs.id, runs.source_id, runs.error, input.source_status, input.n AS batch_n
), moved AS (
    UPDATE sources SET status = finished.source_status, message = finished.error, updated_at = $2
    FROM finished
    WHERE sources.id = finished.source_id AND sources.status = 'PROCESSING' AND sources.last_run_id = finished.id
)
SELECT batch_n, source_id FROM finished
"#;

/// Each run of `runs` (the table, or the claim's CTE) with its subject's parts as
/// [`subject_from_row`] reads them: the source (`s_` columns), its last run (`l_`, when
/// it is another run), its current revision (`v_`) and `previous_status`, plus `extra`
/// columns. Both backends' claims read the subject with it.
fn with_subjects(runs: &str, extra: &str) -> String {
    let columns = [
        super::prefixed_columns::<sources::Entity>("s", "s_"),
        super::prefixed_columns::<runs::Entity>("l", "l_"),
        super::prefixed_columns::<revisions::Entity>("v", "v_"),
    ]
    .join(", ");
    format!(
        "SELECT {runs}.*, {columns}{extra},
    (SELECT p.status FROM runs p WHERE p.source_id = {runs}.source_id AND p.id < {runs}.id
     ORDER BY p.id DESC LIMIT 1) AS previous_status
FROM {runs}
LEFT JOIN sources s ON s.id = {runs}.source_id AND s.user_id = {runs}.user_id
LEFT JOIN runs l ON l.id = s.last_run_id AND l.id <> {runs}.id
LEFT JOIN revisions v ON v.source_id = s.id AND v.number = s.revision"
    )
}

/// A claimed run's subject from a row carrying the source (`s_` columns), its last run
/// (`l_`, left out when it is the claimed run), its current revision (`v_`) and
/// `previous_status`; `None` when the source is gone. A row read in the claim's own
/// snapshot still shows the source as it was before the claim: `moved` says the claim
/// moved the source to PROCESSING; the claimed run, as claimed, is its last run.
fn subject_from_row(row: &QueryResult, claimed: &runs::Model, moved: bool) -> Result<Option<RunSubject>> {
    let Some(mut source) = sources::Model::from_query_result_optional(row, "s_").map_err(map_db_err)? else {
        return Ok(None);
    };
    if moved {
        source.status = SourceStatus::Processing.as_str().to_owned();
    }
    // The claimed run is usually the source's last: the join leaves it out rather than
    // return the run's older image a second time (21 columns per claimed run).
    let last = match runs::Model::from_query_result_optional(row, "l_").map_err(map_db_err)? {
        None if source.last_run_id == Some(claimed.id) => Some(claimed.clone()),
        last => last,
    };
    let current = revisions::Model::from_query_result_optional(row, "v_").map_err(map_db_err)?;
    let previous: Option<String> = row.try_get("", "previous_status").map_err(map_db_err)?;
    Ok(Some(RunSubject {
        source: source_from(source, last.map(run_from).transpose()?)?,
        current: current.map(revision_from).transpose()?,
        previous: previous.map(|status| status.parse()).transpose().map_err(Error::internal)?,
    }))
}

/// One worker asking for a run.
#[derive(Debug)]
pub(crate) struct ClaimRequest {
    worker: String,
    locked_until_ms: i64,
}

/// One run finishing with its outcome only.
#[derive(Debug)]
pub(crate) struct FinishRequest {
    run_id: RunId,
    status: RunStatus,
    outcome: Option<RunOutcome>,
    error: Option<String>,
    timings: StageTimings,
    source_status: SourceStatus,
    attempt: Option<u32>,
}

/// A claimed run and its subject.
type Claimed = Option<(runs::Model, Option<RunSubject>)>;

/// The finished run's source, when the run was still held.
type Finished = Option<uuid::Uuid>;

/// The Postgres queue's grouped statements (see [`crate::batch`]); one set per
/// database handle.
#[derive(Debug)]
pub(crate) struct QueueBatches {
    claims: Batcher<ClaimRequest, Claimed>,
    finishes: Batcher<FinishRequest, Finished>,
}

/// At most this many claims or finishes share a statement.
const MAX_BATCH: usize = 64;

impl QueueBatches {
    pub(crate) fn spawn(db: &DatabaseConnection) -> Self {
        let (claim_lane, release_db) = (Lane::new(db), db.clone());
        let claims = Batcher::spawn(
            MAX_BATCH,
            move |requests| claim_batch(claim_lane.clone(), requests),
            // A claimed run whose worker stopped waiting goes straight back to the queue.
            move |claimed: Claimed| {
                let (Some((run, _)), db) = (claimed, release_db.clone()) else { return };
                tokio::spawn(async move {
                    let worker = run.locked_by.unwrap_or_default();
                    let released =
                        release_run(&db, run.id, &worker, "the claiming worker stopped", chrono::Utc::now()).await;
                    if let Err(error) = released {
                        tracing::warn!(run = %run.id, %error, "releasing an undelivered claim failed; its lease will expire");
                    }
                });
            },
        );
        let finishes = Batcher::statements(db, MAX_BATCH, finish_batch);
        Self { claims, finishes }
    }
}

/// The Postgres claim with its subjects, built once: this is the hot path of every run.
static CLAIM_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    CLAIM_POSTGRES.replace("{subjects}", &with_subjects("claimed", ", moved.id IS NOT NULL AS source_moved"))
});

/// The claim statement for `requests`.
fn claim_statement(requests: &[ClaimRequest]) -> Statement {
    let now = chrono::Utc::now();
    let wanted: Vec<serde_json::Value> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| serde_json::json!({"n": i + 1, "worker": r.worker, "locked_until_ms": r.locked_until_ms}))
        .collect();
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        CLAIM_SQL.as_str(),
        [millis(now).into(), serde_json::Value::Array(wanted).into(), now.into(), to_i64(requests.len() as u64).into()],
    )
}

/// The shared buffers (hit or read) one worker's claim touches on Postgres, from the
/// claim itself run under `EXPLAIN (ANALYZE, BUFFERS)` and rolled back: a measure of
/// its work that, unlike its time, does not move with the machine. `bench scale`
/// reads it at each size to say whether the claim grows with the history behind it.
/// `None` on SQLite.
pub async fn claim_buffers(db: &DatabaseConnection) -> Result<Option<u64>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let request = ClaimRequest { worker: "explain".into(), locked_until_ms: millis(chrono::Utc::now()) + 60_000 };
    let txn = db.begin().await.map_err(map_db_err)?;
    let mut explained = claim_statement(&[request]);
    explained.sql.insert_str(0, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ");
    let row = txn.query_one_raw(explained).await;
    txn.rollback().await.map_err(map_db_err)?;
    let row = row.map_err(map_db_err)?.ok_or_else(|| Error::internal("EXPLAIN returned no plan"))?;
    let plan: serde_json::Value = row.try_get("", "QUERY PLAN").map_err(map_db_err)?;
    // A node's buffers include its children's, the CTEs' among them.
    let root = &plan[0]["Plan"];
    let count = |key: &str| root[key].as_u64().unwrap_or(0);
    Ok(Some(count("Shared Hit Blocks") + count("Shared Read Blocks")))
}

async fn claim_batch(lane: Lane, requests: Vec<ClaimRequest>) -> Result<Vec<Claimed>> {
    let statement = claim_statement(&requests);
    // `batch_n` is the caller's position in `wanted`, so two calls under one worker name
    // still each get their own run.
    answers(&lane, statement, requests.len(), |row| {
        let run = runs::Model::from_query_result(row, "").map_err(map_db_err)?;
        let moved: bool = row.try_get("", "source_moved").map_err(map_db_err)?;
        let subject = subject_from_row(row, &run, moved)?;
        Ok((run, subject))
    })
    .await
}

async fn finish_batch(lane: Lane, requests: Vec<FinishRequest>) -> Result<Vec<Finished>> {
    let input: Vec<serde_json::Value> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::json!({
                "n": i + 1,
                "id": r.run_id.0,
                "status": r.status.as_str(),
                "outcome": r.outcome.map(|o| o.as_str()),
                "error": r.error,
                "timings": r.timings,
                "source_status": r.source_status.as_str(),
                "attempt": r.attempt,
            })
        })
        .collect();
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        FINISH_STATUS_ONLY_POSTGRES,
        [serde_json::Value::Array(input).into(), chrono::Utc::now().into()],
    );
    answers(&lane, statement, requests.len(), |row| row.try_get("", "source_id").map_err(map_db_err)).await
}

/// Puts a run this worker holds back in the queue, available at `retry_at`, and its
/// source back to PENDING. Returns the source's id, or `None` when the run was no
/// longer this worker's.
async fn release_run(
    db: &DatabaseConnection,
    run_id: uuid::Uuid,
    worker: &str,
    error: &str,
    retry_at: chrono::DateTime<chrono::Utc>,
) -> Result<Option<uuid::Uuid>> {
    let txn = db.begin().await.map_err(map_db_err)?;
    let released = runs::Entity::update_many()
        .col_expr(runs::Column::Status, Expr::value(RunStatus::Pending.as_str()))
        .col_expr(runs::Column::Error, Expr::value(error))
        .col_expr(runs::Column::AvailableAtMs, Expr::value(millis(retry_at)))
        .col_expr(runs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(runs::Column::LockedUntilMs, Expr::value(Option::<i64>::None))
        .filter(runs::Column::Id.eq(run_id))
        .filter(runs::Column::Status.eq(RunStatus::Processing.as_str()))
        .filter(runs::Column::LockedBy.eq(worker))
        .exec_with_returning(&txn)
        .await
        .map_err(map_db_err)?;
    let Some(run) = released.into_iter().next() else {
        txn.rollback().await.map_err(map_db_err)?;
        return Ok(None);
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
    Ok(Some(run.source_id))
}

impl SeaStore {
    /// The subject of a run claimed in an earlier statement (SQLite, where the read
    /// costs no round trip).
    async fn read_subject(&self, run: &runs::Model) -> Result<Option<RunSubject>> {
        static SQL: std::sync::LazyLock<String> =
            std::sync::LazyLock::new(|| format!("{} WHERE runs.id = ?", with_subjects("runs", "")));
        let statement = Statement::from_sql_and_values(self.db.get_database_backend(), SQL.as_str(), [run.id.into()]);
        let Some(row) = self.db.query_one_raw(statement).await.map_err(map_db_err)? else { return Ok(None) };
        subject_from_row(&row, run, false)
    }

    async fn finish_status_only(
        &self,
        batches: &QueueBatches,
        run_id: RunId,
        finish: &RunFinish,
        source_status: SourceStatus,
    ) -> Result<bool> {
        let request = FinishRequest {
            run_id,
            status: finish.status,
            outcome: finish.outcome,
            error: finish.error.clone(),
            timings: finish.timings,
            source_status,
            attempt: finish.attempt,
        };
        let Some(source_id) = batches.finishes.call(request).await? else { return Ok(false) };
        self.source_changed(source_id);
        Ok(true)
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

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<ClaimedRun>> {
        let now = chrono::Utc::now();
        let now_ms = millis(now);
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        if let Some(batches) = self.batches.as_deref().map(|b| &b.queue) {
            let request = ClaimRequest { worker: worker.to_owned(), locked_until_ms: now_ms.saturating_add(lease_ms) };
            let Some((run, subject)) = batches.claims.call(request).await? else { return Ok(None) };
            self.source_changed(run.source_id);
            return Ok(Some(ClaimedRun { run: run_from(run)?, subject }));
        }
        // SQLite (Postgres claims through the batches above).
        let txn = self.db.begin().await.map_err(map_db_err)?;
        // The oldest claimable run: a PENDING one that is due, or a PROCESSING one whose
        // lease ran out. Two lookups, each with the literal status its partial index
        // names (migration 8): SQLite uses a partial index only when the query repeats
        // its condition word for word, and an OR of the two under `ORDER BY id` walked
        // every finished run (20 ms per claim at 40,000 runs, growing with the history).
        let mut next: Option<uuid::Uuid> = None;
        for sql in [
            "SELECT id FROM runs WHERE status = 'PENDING' AND available_at_ms <= $1 ORDER BY id LIMIT 1",
            "SELECT id FROM runs WHERE status = 'PROCESSING' AND locked_until_ms < $1 ORDER BY locked_until_ms LIMIT 1",
        ] {
            let statement = Statement::from_sql_and_values(txn.get_database_backend(), sql, [now_ms.into()]);
            if let Some(row) = txn.query_one_raw(statement).await.map_err(map_db_err)? {
                let id: uuid::Uuid = row.try_get("", "id").map_err(map_db_err)?;
                next = Some(next.map_or(id, |other| Ord::min(other, id)));
            }
        }
        let Some(next) = next else {
            txn.commit().await.map_err(map_db_err)?;
            return Ok(None);
        };
        let claimed = runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(RunStatus::Processing.as_str()))
            .col_expr(runs::Column::Attempt, Expr::col(runs::Column::Attempt).add(1))
            .col_expr(runs::Column::LockedBy, Expr::value(worker))
            .col_expr(runs::Column::LockedUntilMs, Expr::value(now_ms.saturating_add(lease_ms)))
            .col_expr(runs::Column::StartedAt, Expr::value(now))
            .filter(runs::Column::Id.eq(next))
            // Still claimable: another process on the same file may have claimed it
            // between the lookup and this write.
            .filter(
                Condition::any()
                    .add(
                        Condition::all()
                            .add(runs::Column::Status.eq(RunStatus::Pending.as_str()))
                            .add(runs::Column::AvailableAtMs.lte(now_ms)),
                    )
                    .add(
                        Condition::all()
                            .add(runs::Column::Status.eq(RunStatus::Processing.as_str()))
                            .add(runs::Column::LockedUntilMs.lt(now_ms)),
                    ),
            )
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
        // SQLite answers in-process: a second read costs no round trip.
        let subject = self.read_subject(&model).await?;
        Ok(Some(ClaimedRun { run: run_from(model)?, subject }))
    }

    async fn finish(&self, run_id: RunId, finish: RunFinish) -> Result<bool> {
        let event = match finish.status {
            RunStatus::Completed => Event::Succeed,
            RunStatus::Failed => Event::Fail,
            RunStatus::Canceled => Event::Stop,
            other => return Err(Error::internal(format!("a run cannot finish as {other}"))),
        };
        let transition = SourceStatus::Processing.apply(event)?;
        let status_only = finish.revision.is_none() && finish.postback.is_none();
        if status_only && let Some(batches) = self.batches.as_deref().map(|b| &b.queue) {
            return self.finish_status_only(batches, run_id, &finish, transition.to).await;
        }
        let now = chrono::Utc::now();
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let mut finishing = runs::Entity::update_many();
        if let Some(attempt) = finish.attempt {
            finishing =
                finishing.col_expr(runs::Column::Attempt, Expr::value(i32::try_from(attempt).unwrap_or(i32::MAX)));
        }
        let finished = finishing
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
            return Ok(false);
        };
        let mut update = sources::Entity::update_many()
            .col_expr(sources::Column::Status, Expr::value(transition.to.as_str()))
            .col_expr(sources::Column::Message, Expr::value(finish.error.clone()))
            .col_expr(sources::Column::UpdatedAt, Expr::value(now));
        if let Some(revision) = &finish.revision {
            // Content the current revision already has is re-extracted into it: the
            // revision keeps its number and takes the new metadata and context.
            revisions::Entity::insert(revision_to(revision).into_active_model().reset_all())
                .on_conflict(
                    OnConflict::columns([revisions::Column::SourceId, revisions::Column::Number])
                        .update_columns([
                            revisions::Column::FetchedAt,
                            revisions::Column::Http,
                            revisions::Column::ExtractorVersion,
                            revisions::Column::Metadata,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await
                .map_err(map_db_err)?;
            if let Some(context) = &finish.context {
                contexts::Entity::insert(context_to(context).into_active_model().reset_all())
                    .on_conflict(
                        OnConflict::columns([contexts::Column::SourceId, contexts::Column::Revision])
                            .update_columns([
                                contexts::Column::ExtractorVersion,
                                contexts::Column::Content,
                                contexts::Column::Title,
                                contexts::Column::Summary,
                                contexts::Column::Outline,
                                contexts::Column::KeyPoints,
                                contexts::Column::Decisions,
                                contexts::Column::OpenQuestions,
                                contexts::Column::OriginalTokens,
                                contexts::Column::ContextTokens,
                                contexts::Column::CreatedAt,
                            ])
                            .to_owned(),
                    )
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
        // The source moves only if this run is still its last and it is PROCESSING:
        // a cancel or a newer run may have moved it on.
        update
            .filter(sources::Column::Id.eq(run.source_id))
            .filter(sources::Column::Status.eq(SourceStatus::Processing.as_str()))
            .filter(sources::Column::LastRunId.eq(run.id))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        self.source_changed(run.source_id);
        Ok(true)
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
        let Some(source_id) = release_run(&self.db, run_id.0, worker, error, retry_at).await? else {
            return Ok(false);
        };
        self.source_changed(source_id);
        Ok(true)
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
