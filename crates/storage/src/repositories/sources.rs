//! Sources, written together with their runs so a status change and the queue never
//! disagree.

use std::collections::HashMap;

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::{SourceId, SpaceId, UserId},
    model::{Page, PageRequest, Postback, Run, Source, SourceInput},
    ports::{RunWrite, SourceFilter, SourceRepository},
    state::SourceStatus,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IdenStatic, IntoActiveModel, Iterable, ModelTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
    sea_query::{Expr, OnConflict, Query},
};
use uuid::Uuid;

use super::SeaStore;
use crate::{
    convert::{run_from, run_to, source_from, source_to},
    entities::{composition_members, pending_rebuilds, runs, sources},
    map_db_err,
};

impl SeaStore {
    /// [`SourceRepository::save`] on Postgres, without a postback, as one statement:
    /// the guarded source update and the run write are data-modifying CTEs, and the
    /// run is written only when the update matched. Every accepted refresh, reprocess
    /// and cancel goes through here; one round trip and no BEGIN/COMMIT pair is about a
    /// third of an accept's database traffic. The SQL text is built once per kind of
    /// run write (see [`SAVE_POSTGRES`]): building it per call was ~40% of the save's
    /// client CPU under `bench fetch`.
    async fn save_in_one_statement(
        &self,
        source: &Source,
        expected_status: SourceStatus,
        run: RunWrite,
    ) -> Result<bool> {
        let source_model = source_to(source);
        let mut values: Vec<Value> = written_source_columns().map(|column| source_model.get(column)).collect();
        values.push(source.id.0.into());
        values.push(expected_status.as_str().into());
        let sql = match &run {
            RunWrite::None => &SAVE_POSTGRES.source_only,
            RunWrite::Insert(run) => {
                let model = run_to(run);
                values.extend(runs::Column::iter().map(|column| model.get(column)));
                &SAVE_POSTGRES.with_run_insert
            }
            RunWrite::Update(run) => {
                let model = run_to(run);
                values.extend(rewritten_run_columns().map(|column| model.get(column)));
                values.push(run.id.0.into());
                &SAVE_POSTGRES.with_run_update
            }
        };
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql.as_str(), values);
        let row = self.db.query_one_raw(statement).await.map_err(map_db_err)?;
        let updated: i64 = match row {
            Some(row) => row.try_get_by_index(0).map_err(map_db_err)?,
            None => 0,
        };
        if updated > 0 {
            self.source_changed(source.id.0);
        }
        Ok(updated > 0)
    }

    /// Loads the last runs of `models` in one query and builds the domain sources.
    async fn with_last_runs(&self, models: Vec<sources::Model>) -> Result<Vec<Source>> {
        let run_ids: Vec<Uuid> = models.iter().filter_map(|m| m.last_run_id).collect();
        let mut runs_by_id: HashMap<Uuid, Run> = HashMap::new();
        if !run_ids.is_empty() {
            let found =
                runs::Entity::find().filter(runs::Column::Id.is_in(run_ids)).all(&self.db).await.map_err(map_db_err)?;
            for model in found {
                runs_by_id.insert(model.id, run_from(model)?);
            }
        }
        models
            .into_iter()
            .map(|model| {
                let run = model.last_run_id.and_then(|id| runs_by_id.remove(&id));
                source_from(model, run)
            })
            .collect()
    }
}

/// A use case's rewrite of a run: every column but the lease, which belongs to the
/// queue.
fn run_update(run: &Run) -> runs::ActiveModel {
    let mut model = run_to(run).into_active_model().reset_all();
    model.locked_by = sea_orm::ActiveValue::NotSet;
    model.locked_until_ms = sea_orm::ActiveValue::NotSet;
    model.available_at_ms = sea_orm::ActiveValue::NotSet;
    model
}

/// A source's columns that are fixed when it is created: a save leaves them alone
/// (the input's JSON is the largest column, and it never changes).
const CREATED_ONLY: [sources::Column; 6] = [
    sources::Column::Id,
    sources::Column::UserId,
    sources::Column::SpaceId,
    sources::Column::Type,
    sources::Column::InitialData,
    sources::Column::CreatedAt,
];

/// The run columns that belong to the queue, not to a use case's rewrite of a run.
const QUEUE_OWNED: [runs::Column; 3] =
    [runs::Column::LockedBy, runs::Column::LockedUntilMs, runs::Column::AvailableAtMs];

/// The source columns a save writes, in the order [`SAVE_POSTGRES`] binds them.
fn written_source_columns() -> impl Iterator<Item = sources::Column> {
    sources::Column::iter().filter(|column| !CREATED_ONLY.iter().any(|fixed| fixed.as_str() == column.as_str()))
}

/// The run columns a use case's rewrite of a run writes (see [`run_update`]).
fn rewritten_run_columns() -> impl Iterator<Item = runs::Column> {
    runs::Column::iter().filter(|column| !QUEUE_OWNED.iter().any(|owned| owned.as_str() == column.as_str()))
}

/// The Postgres save's SQL texts, one per kind of run write. Parameters: the written
/// source columns, the source id and the expected status, then the run's columns
/// (insert: every column; update: the rewritten columns, then the run id).
struct SaveSql {
    source_only: String,
    with_run_insert: String,
    with_run_update: String,
}

/// Postgres placeholders `$1`, `$2`, ... in the order a statement binds its values.
#[derive(Clone, Default)]
struct Placeholders(usize);

impl Placeholders {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }

    /// `"column" = $n, ...` for `columns`.
    fn assignments(&mut self, columns: impl Iterator<Item = &'static str>) -> String {
        columns.map(|column| format!("\"{column}\" = {}", self.next())).collect::<Vec<_>>().join(", ")
    }
}

static SAVE_POSTGRES: std::sync::LazyLock<SaveSql> = std::sync::LazyLock::new(|| {
    let mut source_params = Placeholders::default();
    let set = source_params.assignments(written_source_columns().map(|c| c.as_str()));
    let (id, status) = (source_params.next(), source_params.next());
    let update = format!("UPDATE sources SET {set} WHERE id = {id} AND status = {status} RETURNING id");
    let counted = "SELECT count(*) FROM updated";
    let guard = "EXISTS (SELECT 1 FROM updated)";
    // Either run write numbers its parameters after the source update's.
    let mut insert_params = source_params.clone();
    let columns = runs::Column::iter().map(|c| format!("\"{}\"", c.as_str())).collect::<Vec<_>>().join(", ");
    let values = runs::Column::iter().map(|_| insert_params.next()).collect::<Vec<_>>().join(", ");
    let mut update_params = source_params;
    let run_set = update_params.assignments(rewritten_run_columns().map(|c| c.as_str()));
    let run_id = update_params.next();
    SaveSql {
        source_only: format!("WITH updated AS ({update}) {counted}"),
        with_run_insert: format!(
            "WITH updated AS ({update}), run_inserted AS (INSERT INTO runs ({columns}) SELECT {values} WHERE {guard}) \
             {counted}"
        ),
        with_run_update: format!(
            "WITH updated AS ({update}), run_updated AS (UPDATE runs SET {run_set} WHERE id = {run_id} AND {guard}) \
             {counted}"
        ),
    }
});

pub(super) async fn write_run(db: &impl ConnectionTrait, run: RunWrite) -> Result<()> {
    match run {
        RunWrite::None => {}
        RunWrite::Insert(run) => {
            runs::Entity::insert(run_to(&run).into_active_model().reset_all()).exec(db).await.map_err(map_db_err)?;
        }
        RunWrite::Update(run) => {
            runs::Entity::update(run_update(&run)).exec(db).await.map_err(map_db_err)?;
        }
    }
    Ok(())
}

#[async_trait]
impl SourceRepository for SeaStore {
    async fn create(&self, source: &Source, first_run: &Run) -> Result<()> {
        let txn = self.db.begin().await.map_err(map_db_err)?;
        sources::Entity::insert(source_to(source).into_active_model().reset_all())
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        write_run(&txn, RunWrite::Insert(first_run.clone())).await?;
        if let SourceInput::Composition { source_ids } = &source.input {
            let members = source_ids.iter().enumerate().map(|(position, member)| composition_members::ActiveModel {
                composition_id: Set(source.id.0),
                position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
                member_id: Set(member.0),
            });
            composition_members::Entity::insert_many(members).exec(&txn).await.map_err(map_db_err)?;
        }
        txn.commit().await.map_err(map_db_err)?;
        self.source_changed(source.id.0);
        Ok(())
    }

    async fn get(&self, user_id: UserId, id: SourceId) -> Result<Option<Source>> {
        // The hottest read of the API: one round trip, shared with concurrent reads on
        // Postgres (see [`super::reads`]).
        let found = match &self.reads {
            Some(reads) => reads.source(user_id.0, id.0).await?,
            None => {
                static SQL: std::sync::LazyLock<String> =
                    std::sync::LazyLock::new(|| super::reads::source_select("?", "?"));
                let values = [id.0.into(), user_id.0.into()];
                let statement = Statement::from_sql_and_values(DbBackend::Sqlite, SQL.as_str(), values);
                let row = self.db.query_one_raw(statement).await.map_err(map_db_err)?;
                row.as_ref().map(super::reads::source_from_row).transpose()?
            }
        };
        let Some((model, run)) = found else { return Ok(None) };
        Ok(Some(source_from(model, run.map(run_from).transpose()?)?))
    }

    async fn get_many(&self, user_id: UserId, ids: &[SourceId]) -> Result<Vec<Source>> {
        let models = sources::Entity::find()
            .filter(sources::Column::UserId.eq(user_id.0))
            .filter(sources::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(&self.db)
            .await
            .map_err(map_db_err)?;
        self.with_last_runs(models).await
    }

    async fn list(&self, space_id: SpaceId, filter: &SourceFilter, page: PageRequest) -> Result<Page<Source>> {
        let mut select = sources::Entity::find().filter(sources::Column::SpaceId.eq(space_id.0));
        if let Some(status) = filter.status {
            select = select.filter(sources::Column::Status.eq(status.as_str()));
        }
        if let Some(source_type) = filter.source_type {
            select = select.filter(sources::Column::Type.eq(source_type.as_str()));
        }
        if let Some(collection_id) = filter.collection_id {
            select = select.filter(sources::Column::CollectionId.eq(collection_id.0));
        }
        if let Some(pinned) = filter.pinned {
            select = select.filter(sources::Column::Pinned.eq(pinned));
        }
        if !filter.include_deleted {
            select = select.filter(sources::Column::DeletedAt.is_null());
        }
        let select = select.order_by_desc(sources::Column::Pinned).order_by_desc(sources::Column::Id);
        let page_of_models = super::fetch_page(&self.db, select, page, Ok).await?;
        let items = self.with_last_runs(page_of_models.items).await?;
        Ok(Page { items, request: page, total: page_of_models.total })
    }

    async fn save(
        &self,
        source: &Source,
        expected_status: SourceStatus,
        run: RunWrite,
        postback: Option<Postback>,
    ) -> Result<bool> {
        if postback.is_none() && self.db.get_database_backend() == DbBackend::Postgres {
            return self.save_in_one_statement(source, expected_status, run).await;
        }
        let txn = self.db.begin().await.map_err(map_db_err)?;
        // The guarded UPDATE comes first: on SQLite the transaction starts as a
        // writer, and on Postgres the row lock orders concurrent savers.
        let result = sources::Entity::update_many()
            .set(source_to(source).into_active_model().reset_all())
            .filter(sources::Column::Id.eq(source.id.0))
            .filter(sources::Column::Status.eq(expected_status.as_str()))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        if result.rows_affected == 0 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        write_run(&txn, run).await?;
        if let Some(postback) = &postback {
            super::postbacks::enqueue(&txn, postback).await?;
        }
        txn.commit().await.map_err(map_db_err)?;
        self.source_changed(source.id.0);
        Ok(true)
    }

    async fn due_for_refresh(&self, now: chrono::DateTime<chrono::Utc>, limit: u64) -> Result<Vec<Source>> {
        let models = sources::Entity::find()
            .filter(sources::Column::RefreshMode.eq(ctxd_domain::model::RefreshMode::Interval.as_str()))
            .filter(sources::Column::NextRefreshAtMs.lte(crate::convert::millis(now)))
            .filter(sources::Column::DeletedAt.is_null())
            .order_by_asc(sources::Column::NextRefreshAtMs)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(map_db_err)?;
        self.with_last_runs(models).await
    }

    async fn due_for_rebuild(&self, limit: u64) -> Result<Vec<Source>> {
        let requests = pending_rebuilds::Entity::find()
            .order_by_asc(pending_rebuilds::Column::RequestedAtMs)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(map_db_err)?;
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let order: Vec<Uuid> = requests.iter().map(|r| r.source_id).collect();
        let mut models = sources::Entity::find()
            .filter(sources::Column::Id.is_in(order.clone()))
            .filter(sources::Column::DeletedAt.is_null())
            .all(&self.db)
            .await
            .map_err(map_db_err)?;
        models.sort_by_key(|m| order.iter().position(|id| *id == m.id));
        self.with_last_runs(models).await
    }

    async fn request_rebuilds_of(&self, member: SourceId) -> Result<()> {
        request_rebuilds(&self.db, member.0, crate::convert::millis(chrono::Utc::now())).await
    }

    async fn rebuild_queued(&self, id: SourceId) -> Result<()> {
        pending_rebuilds::Entity::delete_by_id(id.0).exec(&self.db).await.map_err(map_db_err)?;
        Ok(())
    }
}

/// Records a rebuild request for every composition that contains `member`: part of
/// the transaction that gives the member a new revision.
pub(super) async fn request_rebuilds(db: &impl ConnectionTrait, member: Uuid, now_ms: i64) -> Result<()> {
    let containing = Query::select()
        .column(composition_members::Column::CompositionId)
        .expr(Expr::val(now_ms))
        .from(composition_members::Entity)
        .and_where(composition_members::Column::MemberId.eq(member))
        .distinct()
        .to_owned();
    let insert = Query::insert()
        .into_table(pending_rebuilds::Entity)
        .columns([pending_rebuilds::Column::SourceId, pending_rebuilds::Column::RequestedAtMs])
        .select_from(containing)
        .map_err(ctxd_domain::Error::internal)?
        .on_conflict(OnConflict::column(pending_rebuilds::Column::SourceId).do_nothing().to_owned())
        .to_owned();
    db.execute(&insert).await.map_err(map_db_err)?;
    Ok(())
}
