//! Spaces.

use async_trait::async_trait;
use ctxd_domain::{
    Result,
    ids::{SpaceId, UserId},
    model::{Page, PageRequest, Space},
    ports::SpaceRepository,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};

use super::{SeaStore, fetch_page};
use crate::{
    convert::{space_from, space_to},
    entities::spaces,
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
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(model.map(space_from))
    }

    async fn list(&self, user_id: UserId, page: PageRequest) -> Result<Page<Space>> {
        let select =
            spaces::Entity::find().filter(spaces::Column::UserId.eq(user_id.0)).order_by_desc(spaces::Column::Id);
        fetch_page(&self.db, select, page, |m| Ok(space_from(m))).await
    }

    async fn update(&self, space: &Space) -> Result<()> {
        spaces::Entity::update(space_to(space).into_active_model().reset_all())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn delete(&self, user_id: UserId, id: SpaceId) -> Result<bool> {
        // Collections, sources, runs and revisions go with it through ON DELETE
        // CASCADE, inside the statement's own transaction.
        let result = spaces::Entity::delete_many()
            .filter(spaces::Column::Id.eq(id.0))
            .filter(spaces::Column::UserId.eq(user_id.0))
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(result.rows_affected > 0)
    }
}
