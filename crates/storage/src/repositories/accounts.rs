//! Users, API keys and uploads: the per-user records around authentication.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ctxd_domain::{
    Result,
    ids::{ApiKeyId, UserId},
    model::{ApiKey, Page, PageRequest, Upload, User},
    ports::{ApiKeyRepository, UploadRepository, UserRepository},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Statement, sea_query::Expr,
};

use super::{SeaStore, fetch_page};
use crate::{
    convert::{api_key_from, api_key_to, upload_from, upload_to, user_from, user_to},
    entities::{api_keys, uploads, users},
    map_db_err,
};

#[async_trait]
impl UserRepository for SeaStore {
    async fn insert(&self, user: &User) -> Result<()> {
        users::Entity::insert(user_to(user).into_active_model().reset_all())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn find_by_name(&self, name: &str) -> Result<Option<User>> {
        let model =
            users::Entity::find().filter(users::Column::Name.eq(name)).one(&self.db).await.map_err(map_db_err)?;
        model.map(user_from).transpose()
    }

    async fn count(&self) -> Result<u64> {
        users::Entity::find().count(&self.db).await.map_err(map_db_err)
    }
}

#[async_trait]
impl ApiKeyRepository for SeaStore {
    async fn insert(&self, key: &ApiKey) -> Result<()> {
        api_keys::Entity::insert(api_key_to(key).into_active_model().reset_all())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn find_by_hash(&self, key_hash: &str) -> Result<Option<(ApiKey, User)>> {
        // Every authenticated request starts here. Nothing is cached, so a revocation
        // is effective on the very next request on every replica; on Postgres
        // concurrent lookups share a statement instead.
        let found = match self.batches.as_deref().map(|b| &b.reads) {
            Some(reads) => reads.key(key_hash.to_owned()).await?,
            None => {
                static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| super::reads::key_select("?"));
                let statement = Statement::from_sql_and_values(DbBackend::Sqlite, SQL.as_str(), [key_hash.into()]);
                let row = self.db.query_one_raw(statement).await.map_err(map_db_err)?;
                row.as_ref().map(super::reads::key_from_row).transpose()?
            }
        };
        let Some((key, user)) = found else { return Ok(None) };
        Ok(Some((api_key_from(key), user_from(user)?)))
    }

    async fn list(&self, user_id: UserId, page: PageRequest) -> Result<Page<ApiKey>> {
        let select =
            api_keys::Entity::find().filter(api_keys::Column::UserId.eq(user_id.0)).order_by_desc(api_keys::Column::Id);
        fetch_page(&self.db, select, page, |m| Ok(api_key_from(m))).await
    }

    async fn get(&self, user_id: UserId, id: ApiKeyId) -> Result<Option<ApiKey>> {
        let model = api_keys::Entity::find_by_id(id.0)
            .filter(api_keys::Column::UserId.eq(user_id.0))
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(model.map(api_key_from))
    }

    async fn revoke(&self, user_id: UserId, id: ApiKeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>> {
        // Only the first revocation sets the time, so revoking twice is harmless.
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::value(at))
            .filter(api_keys::Column::Id.eq(id.0))
            .filter(api_keys::Column::UserId.eq(user_id.0))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        ApiKeyRepository::get(self, user_id, id).await
    }
}

#[async_trait]
impl UploadRepository for SeaStore {
    async fn get(&self, user_id: UserId, file_key: &str) -> Result<Option<Upload>> {
        let model = uploads::Entity::find_by_id(file_key.to_owned())
            .filter(uploads::Column::UserId.eq(user_id.0))
            .one(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(model.map(upload_from))
    }

    async fn find(&self, file_key: &str) -> Result<Option<Upload>> {
        let model = uploads::Entity::find_by_id(file_key.to_owned()).one(&self.db).await.map_err(map_db_err)?;
        Ok(model.map(upload_from))
    }

    async fn insert(&self, upload: &Upload) -> Result<()> {
        upload_to(upload).into_active_model().reset_all().insert(&self.db).await.map_err(map_db_err)?;
        Ok(())
    }
}
