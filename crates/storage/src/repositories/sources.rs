//! Sources, written together with their runs so a status change and the queue never
//! disagree.

use std::collections::HashMap;

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::{SourceId, SpaceId, UserId},
    model::{Page, PageRequest, Postback, Run, Source, SourceInput},
    ports::{Expected, Lease, RunWrite, SourceFilter, SourceRepository},
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait,
    sea_query::{Expr, OnConflict, Query},
};
use uuid::Uuid;

use super::{
    SeaStore,
    columns::{run_update, source_update},
    saves::{RunModel, SaveRequest},
};
use crate::{
    convert::{leased_run_to, run_from, run_to, source_from, source_to},
    entities::{composition_members, pending_rebuilds, postback_outbox, runs, sources, spaces},
    map_db_err,
};

impl SeaStore {
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

pub(super) async fn write_run(db: &impl ConnectionTrait, run: RunWrite) -> Result<()> {
    match run {
        RunWrite::None => {}
        RunWrite::Insert(run) => {
            runs::Entity::insert(run_to(&run).into_active_model().reset_all()).exec(db).await.map_err(map_db_err)?;
        }
        RunWrite::InsertLeased(run, lease) => {
            let model = leased_run_to(&run, &lease);
            runs::Entity::insert(model.into_active_model().reset_all()).exec(db).await.map_err(map_db_err)?;
        }
        RunWrite::Update(run) => {
            runs::Entity::update(run_update(&run)).exec(db).await.map_err(map_db_err)?;
        }
    }
    Ok(())
}

#[async_trait]
impl SourceRepository for SeaStore {
    async fn create(&self, source: &Source, first_run: &Run, lease: Option<Lease>) -> Result<()> {
        let txn = self.db.begin().await.map_err(map_db_err)?;
        sources::Entity::insert(source_to(source).into_active_model().reset_all())
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        let run = match lease {
            Some(lease) => RunWrite::InsertLeased(first_run.clone(), lease),
            None => RunWrite::Insert(first_run.clone()),
        };
        write_run(&txn, run).await?;
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
        let found = match self.batches.as_deref().map(|b| &b.reads) {
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
        expected: Expected,
        run: RunWrite,
        postback: Option<Postback>,
    ) -> Result<bool> {
        // On Postgres a save without a postback is one statement, shared with concurrent
        // saves: the guarded source update and the run write are data-modifying CTEs, the
        // run written only when the guard matched (see [`super::saves`]).
        if let (Some(batches), None) = (self.batches.as_deref(), &postback) {
            let run = match run {
                RunWrite::None => RunModel::None,
                RunWrite::Insert(run) => RunModel::Insert(run_to(&run)),
                RunWrite::InsertLeased(run, lease) => RunModel::Insert(leased_run_to(&run, &lease)),
                RunWrite::Update(run) => RunModel::Update(run_to(&run)),
            };
            let request = SaveRequest {
                source: source_to(source),
                expected: expected.status.as_str(),
                expected_run: expected.last_run.map(|id| id.0),
                run,
            };
            let saved = batches.saves.save(request).await?;
            if saved {
                self.source_changed(source.id.0);
            }
            return Ok(saved);
        }
        let txn = self.db.begin().await.map_err(map_db_err)?;
        // The guarded UPDATE comes first: on SQLite the transaction starts as a
        // writer, and on Postgres the row lock orders concurrent savers.
        let result = sources::Entity::update_many()
            .set(source_update(source))
            .filter(sources::Column::Id.eq(source.id.0))
            .filter(sources::Column::Status.eq(expected.status.as_str()))
            .filter(match expected.last_run {
                Some(run) => sources::Column::LastRunId.eq(run.0),
                None => sources::Column::LastRunId.is_null(),
            })
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

    async fn purgeable(&self, deleted_before: chrono::DateTime<chrono::Utc>, limit: u64) -> Result<Vec<SourceId>> {
        // Two index walks rather than one OR, which no index answers: the sources of
        // deleted spaces first (they go at once), then those past their grace.
        let mut due: Vec<SourceId> = sources::Entity::find()
            .select_only()
            .column(sources::Column::Id)
            .filter(sources::Column::SpaceId.in_subquery(deleted_spaces()))
            .limit(limit)
            .into_tuple::<Uuid>()
            .all(&self.db)
            .await
            .map_err(map_db_err)?
            .into_iter()
            .map(SourceId::from)
            .collect();
        let room = limit.saturating_sub(due.len() as u64);
        if room > 0 {
            let expired = sources::Entity::find()
                .select_only()
                .column(sources::Column::Id)
                .filter(sources::Column::DeletedAt.is_not_null())
                .filter(sources::Column::DeletedAt.lte(deleted_before))
                .order_by_asc(sources::Column::DeletedAt)
                .limit(room)
                .into_tuple::<Uuid>()
                .all(&self.db)
                .await
                .map_err(map_db_err)?;
            for id in expired.into_iter().map(SourceId::from) {
                if !due.contains(&id) {
                    due.push(id);
                }
            }
        }
        Ok(due)
    }

    async fn purge(&self, id: SourceId, deleted_before: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        let txn = self.db.begin().await.map_err(map_db_err)?;
        // Runs, revisions, contexts, artifacts, memberships and rebuild requests go
        // with the row (ON DELETE CASCADE); the outbox has no foreign key.
        let removed = sources::Entity::delete_many()
            .filter(sources::Column::Id.eq(id.0))
            .filter(
                Condition::any()
                    .add(sources::Column::DeletedAt.lte(deleted_before))
                    .add(sources::Column::SpaceId.in_subquery(deleted_spaces())),
            )
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        if removed.rows_affected == 0 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        postback_outbox::Entity::delete_many()
            .filter(postback_outbox::Column::SourceId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(true)
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

/// The ids of deleted spaces (a partial index holds them).
fn deleted_spaces() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(spaces::Column::Id)
        .from(spaces::Entity)
        .and_where(spaces::Column::DeletedAt.is_not_null())
        .to_owned()
}
