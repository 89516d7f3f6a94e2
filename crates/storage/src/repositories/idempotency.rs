//! Idempotency keys. The primary key (user, key) makes the first claim win: a
//! concurrent second request with the same key finds the row and is told the first
//! one is still in progress.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ctxd_domain::{
    Result,
    ids::UserId,
    ports::{IdempotencyClaim, IdempotencyStore},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TryInsertResult, sea_query::Expr,
};

use super::SeaStore;
use crate::{entities::idempotency_keys, map_db_err};

#[async_trait]
impl IdempotencyStore for SeaStore {
    async fn claim(
        &self,
        user_id: UserId,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim> {
        let id = (user_id.0, key.to_owned());
        if let Some(existing) =
            idempotency_keys::Entity::find_by_id(id.clone()).one(&self.db).await.map_err(map_db_err)?
            && (existing.created_at < expired_before
                || (existing.status_code == 0 && existing.created_at < stale_before))
        {
            // Deleted only as it was read, so two retries cannot both take it over.
            idempotency_keys::Entity::delete_many()
                .filter(idempotency_keys::Column::UserId.eq(user_id.0))
                .filter(idempotency_keys::Column::Key.eq(key))
                .filter(idempotency_keys::Column::CreatedAt.eq(existing.created_at))
                .filter(idempotency_keys::Column::StatusCode.eq(existing.status_code))
                .exec(&self.db)
                .await
                .map_err(map_db_err)?;
        }
        let row = idempotency_keys::Model {
            user_id: user_id.0,
            key: key.to_owned(),
            request_hash: request_hash.to_owned(),
            status_code: 0,
            response_body: None,
            created_at: now,
        };
        let inserted = idempotency_keys::Entity::insert(row.into_active_model().reset_all())
            .on_conflict_do_nothing()
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        if matches!(inserted, TryInsertResult::Inserted(_)) {
            return Ok(IdempotencyClaim::New);
        }
        let Some(existing) = idempotency_keys::Entity::find_by_id(id).one(&self.db).await.map_err(map_db_err)? else {
            // Released between our insert attempt and this read: the client may retry.
            return Ok(IdempotencyClaim::InProgress);
        };
        Ok(if existing.request_hash != request_hash {
            IdempotencyClaim::Mismatch
        } else if existing.status_code == 0 {
            IdempotencyClaim::InProgress
        } else {
            IdempotencyClaim::Replay {
                status: u16::try_from(existing.status_code).unwrap_or(500),
                body: existing.response_body.unwrap_or_default(),
            }
        })
    }

    async fn complete(&self, user_id: UserId, key: &str, status: u16, body: &str) -> Result<()> {
        idempotency_keys::Entity::update_many()
            .col_expr(idempotency_keys::Column::StatusCode, Expr::value(i32::from(status)))
            .col_expr(idempotency_keys::Column::ResponseBody, Expr::value(body))
            .filter(idempotency_keys::Column::UserId.eq(user_id.0))
            .filter(idempotency_keys::Column::Key.eq(key))
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn release(&self, user_id: UserId, key: &str) -> Result<()> {
        idempotency_keys::Entity::delete_by_id((user_id.0, key.to_owned())).exec(&self.db).await.map_err(map_db_err)?;
        Ok(())
    }
}
