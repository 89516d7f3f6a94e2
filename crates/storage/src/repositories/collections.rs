//! Collections.

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::{CollectionId, SpaceId, UserId},
    model::Collection,
    ports::CollectionRepository,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, TransactionTrait,
    sea_query::Expr,
};

use super::SeaStore;
use crate::{
    convert::{collection_from, collection_to},
    entities::{collections, sources},
    map_db_err,
};

#[async_trait]
impl CollectionRepository for SeaStore {
    async fn insert(&self, collection: &Collection) -> Result<()> {
        collections::Entity::insert(collection_to(collection).into_active_model().reset_all())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn get(&self, user_id: UserId, id: CollectionId) -> Result<Option<Collection>> {
        let model = collections::Entity::find_by_id(id.0)
            .filter(collections::Column::UserId.eq(user_id.0))
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(model.map(collection_from))
    }

    async fn list_in_space(&self, space_id: SpaceId) -> Result<Vec<Collection>> {
        let models = collections::Entity::find()
            .filter(collections::Column::SpaceId.eq(space_id.0))
            .order_by_asc(collections::Column::Id)
            .all(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(models.into_iter().map(collection_from).collect())
    }

    async fn update(&self, collection: &Collection) -> Result<()> {
        collections::Entity::update(collection_to(collection).into_active_model().reset_all())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn delete(&self, collection: &Collection) -> Result<()> {
        let parent = collection.parent_id.map(|id| id.0);
        let txn = self.db.begin().await.map_err(map_db_err)?;
        collections::Entity::update_many()
            .col_expr(collections::Column::ParentId, Expr::value(parent))
            .filter(collections::Column::ParentId.eq(collection.id.0))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        sources::Entity::update_many()
            .col_expr(sources::Column::CollectionId, Expr::value(parent))
            .filter(sources::Column::CollectionId.eq(collection.id.0))
            .exec(&txn)
            .await
            .map_err(map_db_err)?;
        collections::Entity::delete_by_id(collection.id.0).exec(&txn).await.map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)
    }
}
