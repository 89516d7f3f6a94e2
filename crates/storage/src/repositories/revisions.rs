//! Revisions and their extracted contexts.

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::SourceId,
    model::{Context, Page, PageRequest, Revision},
    ports::RevisionRepository,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::SeaStore;
use crate::{
    convert::{context_from, revision_from},
    entities::{contexts, revisions},
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
}
