//! Spaces. A deleted space keeps its row, marked, until the purge has removed its
//! sources; every read here sees live spaces only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ctxd_domain::{
    Result,
    ids::{SpaceId, UserId},
    model::{Page, PageRequest, RunStatus, Space},
    ports::SpaceRepository,
    state::{Event, SourceStatus},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use super::{SeaStore, fetch_page};
use crate::{
    convert::{space_from, space_to},
    entities::{collections, runs, sources, spaces},
    map_db_err,
};

#[async_trait]
impl SpaceRepository for SeaStore {
    async fn insert(&self, space: &Space) -> Result<()> {
        spaces::Entity::insert(space_to(space).into_active_model().reset_all())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn get(&self, user_id: UserId, id: SpaceId) -> Result<Option<Space>> {
        let model = spaces::Entity::find_by_id(id.0)
            .filter(spaces::Column::UserId.eq(user_id.0))
            .filter(spaces::Column::DeletedAt.is_null())
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(model.map(space_from))
    }

    async fn list(&self, user_id: UserId, page: PageRequest) -> Result<Page<Space>> {
        let select = spaces::Entity::find()
            .filter(spaces::Column::UserId.eq(user_id.0))
            .filter(spaces::Column::DeletedAt.is_null())
            .order_by_desc(spaces::Column::Id);
        fetch_page(&self.db, select, page, |m| Ok(space_from(m))).await
    }

    async fn update(&self, space: &Space) -> Result<()> {
        // The named columns only, and only while live: a rename racing a delete must
        // not bring the space back.
        spaces::Entity::update_many()
            .col_expr(spaces::Column::Name, Expr::value(space.name.clone()))
            .col_expr(spaces::Column::Description, Expr::value(space.description.clone()))
            .col_expr(spaces::Column::UpdatedAt, Expr::value(space.updated_at))
            .filter(spaces::Column::Id.eq(space.id.0))
            .filter(spaces::Column::DeletedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn delete(&self, user_id: UserId, id: SpaceId, now: DateTime<Utc>) -> Result<bool> {
        // Workers lock a run before its source, requests a source before its runs; a
        // delete of many sources can meet either and be chosen to break the cycle.
        // Nothing of it was written then, so it is tried again.
        let mut attempts = 0;
        loop {
            match self.delete_space(user_id, id, now).await {
                Err(ctxd_domain::Error::Conflict(message)) if message == crate::CONTENTION && attempts < 3 => {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    async fn purge_emptied(&self, limit: u64) -> Result<u64> {
        self.purge_emptied_spaces(limit).await
    }
}

impl SeaStore {
    /// One attempt of [`SpaceRepository::delete`].
    async fn delete_space(&self, user_id: UserId, id: SpaceId, now: DateTime<Utc>) -> Result<bool> {
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let hidden = spaces::Entity::update_many()
            .col_expr(spaces::Column::DeletedAt, Expr::value(now))
            .filter(spaces::Column::Id.eq(id.0))
            .filter(spaces::Column::UserId.eq(user_id.0))
            .filter(spaces::Column::DeletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        if hidden.rows_affected == 0 {
            txn.rollback().await.map_err(map_db_err)?;
            return Ok(false);
        }
        collections::Entity::delete_many()
            .filter(collections::Column::SpaceId.eq(id.0))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        let in_space = || {
            Query::select()
                .column(sources::Column::Id)
                .from(sources::Entity)
                .and_where(sources::Column::SpaceId.eq(id.0))
                .to_owned()
        };
        // Sources before runs, the order every save takes its locks in: the other order
        // deadlocked with a concurrent cancel of one of the space's sources.
        // The status machine's cancel of queued work, for each status that has some.
        for queued in [SourceStatus::Created, SourceStatus::Pending] {
            let to = queued.apply(Event::Cancel)?.to;
            sources::Entity::update_many()
                .col_expr(sources::Column::Status, Expr::value(to.as_str()))
                .col_expr(sources::Column::UpdatedAt, Expr::value(now))
                .filter(sources::Column::SpaceId.eq(id.0))
                .filter(sources::Column::Status.eq(queued.as_str()))
                .filter(sources::Column::DeletedAt.is_null())
                .exec(&txn)
                .await
                .map_err(map_db_err)?;
        }
        let deleted = sources::Entity::update_many()
            .col_expr(sources::Column::DeletedAt, Expr::value(now))
            .filter(sources::Column::SpaceId.eq(id.0))
            .filter(sources::Column::DeletedAt.is_null())
            .exec_with_returning(&txn)
            .await
            .map_err(map_db_err)?;
        // Queued work ends CANCELED at once; a worker holding a run stops at its next
        // checkpoint, as after a cancel.
        runs::Entity::update_many()
            .col_expr(runs::Column::Status, Expr::value(RunStatus::Canceled.as_str()))
            .col_expr(runs::Column::FinishedAt, Expr::value(now))
            .filter(runs::Column::Status.eq(RunStatus::Pending.as_str()))
            .filter(runs::Column::SourceId.in_subquery(in_space()))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        runs::Entity::update_many()
            .col_expr(runs::Column::CancelRequested, Expr::value(true))
            .filter(runs::Column::Status.eq(RunStatus::Processing.as_str()))
            .filter(runs::Column::SourceId.in_subquery(in_space()))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        // Watchers of these sources learn that they are gone.
        for source in deleted {
            self.source_changed(source.id);
        }
        Ok(true)
    }

    async fn purge_emptied_spaces(&self, limit: u64) -> Result<u64> {
        // Per space an index lookup of its sources, not a read of every source.
        let has_sources = Query::select()
            .expr(Expr::val(1))
            .from(sources::Entity)
            .and_where(
                Expr::col((sources::Entity, sources::Column::SpaceId)).equals((spaces::Entity, spaces::Column::Id)),
            )
            .to_owned();
        let emptied = spaces::Entity::find()
            .select_only()
            .column(spaces::Column::Id)
            .filter(spaces::Column::DeletedAt.is_not_null())
            .filter(Expr::exists(has_sources).not())
            .limit(limit)
            .into_query();
        let removed = spaces::Entity::delete_many()
            .filter(spaces::Column::Id.in_subquery(emptied))
            .filter(spaces::Column::DeletedAt.is_not_null())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(removed.rows_affected)
    }
}
