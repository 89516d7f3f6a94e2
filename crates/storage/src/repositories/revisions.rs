//! Revisions and their extracted contexts.

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::SourceId,
    model::{Context, Page, PageRequest, Revision},
    ports::RevisionRepository,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement, TransactionTrait};

use super::SeaStore;
use crate::{
    convert::{context_from, revision_from},
    entities::{artifacts, contexts, revisions},
    map_db_err,
};

#[async_trait]
impl RevisionRepository for SeaStore {
    async fn get(&self, source_id: SourceId, number: u32) -> Result<Option<Revision>> {
        let number = i32::try_from(number).unwrap_or(i32::MAX);
        // Every run handed to a worker reads one (see `super::reads`).
        let model = match self.batches.as_deref().map(|b| &b.reads) {
            Some(reads) => reads.revision(source_id.0, number).await?,
            None => revisions::Entity::find_by_id((source_id.0, number)).one(&self.db).await.map_err(map_db_err)?,
        };
        model.map(revision_from).transpose()
    }

    async fn list(&self, source_id: SourceId, page: PageRequest) -> Result<Page<Revision>> {
        let select = revisions::Entity::find()
            .filter(revisions::Column::SourceId.eq(source_id.0))
            .order_by_desc(revisions::Column::Number);
        super::fetch_page(&self.db, select, page, revision_from).await
    }

    async fn context(&self, source_id: SourceId, revision: u32) -> Result<Option<Context>> {
        let model = contexts::Entity::find_by_id((source_id.0, i32::try_from(revision).unwrap_or(i32::MAX)))
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        model.map(context_from).transpose()
    }

    async fn latest_context(&self, source_id: SourceId, at_most: u32) -> Result<Option<Context>> {
        let model = contexts::Entity::find()
            .filter(contexts::Column::SourceId.eq(source_id.0))
            .filter(contexts::Column::Revision.lte(i32::try_from(at_most).unwrap_or(i32::MAX)))
            .order_by_desc(contexts::Column::Revision)
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        model.map(context_from).transpose()
    }

    async fn prune_outputs(&self, source_id: SourceId, number: u32) -> Result<u64> {
        let number = i32::try_from(number).unwrap_or(i32::MAX);
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let artifacts = artifacts::Entity::delete_many()
            .filter(artifacts::Column::SourceId.eq(source_id.0))
            .filter(artifacts::Column::Revision.eq(number))
            .filter(artifacts::Column::Active.eq(false))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        // The newest context stays: it is what the source serves while later runs
        // skip context extraction.
        let context = Statement::from_sql_and_values(
            txn.get_database_backend(),
            "DELETE FROM contexts WHERE source_id = $1 AND revision = $2 \
             AND EXISTS (SELECT 1 FROM contexts n WHERE n.source_id = $1 AND n.revision > $2)",
            [source_id.0.into(), number.into()],
        );
        let contexts = txn.execute_raw(context).await.map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        Ok(artifacts.rows_affected + contexts.rows_affected())
    }
}
