//! Postback secrets and the outbox. A delivery is claimed by pushing its next attempt
//! time forward under `FOR UPDATE SKIP LOCKED`, so several senders never send the same
//! row at once and a sender that dies simply lets the hold expire.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ctxd_domain::{
    Result,
    ids::{PostbackId, SourceId, UserId},
    model::{DeliveryFailure, Page, PageRequest, Postback, PostbackStatus},
    ports::PostbackStore,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, TransactionTrait,
    sea_query::{Expr, LockBehavior, LockType, OnConflict},
};

use super::SeaStore;
use crate::{
    convert::{millis, postback_from, postback_to},
    entities::{postback_outbox, postback_secrets},
    map_db_err,
};

/// Puts a postback in the outbox inside the caller's transaction.
pub(super) async fn enqueue(db: &impl ConnectionTrait, postback: &Postback) -> Result<()> {
    postback_outbox::Entity::insert(postback_to(postback).into_active_model().reset_all())
        .exec(db)
        .await
        .map_err(map_db_err)?;
    Ok(())
}

#[async_trait]
impl PostbackStore for SeaStore {
    async fn secret(&self, user_id: UserId) -> Result<Option<String>> {
        let model = postback_secrets::Entity::find_by_id(user_id.0).one(&self.db).await.map_err(map_db_err)?;
        Ok(model.map(|m| m.secret))
    }

    async fn ensure_secret(&self, user_id: UserId, candidate: &str, now: DateTime<Utc>) -> Result<String> {
        let model = postback_secrets::Model { user_id: user_id.0, secret: candidate.to_owned(), created_at: now };
        // Two first uses racing: the first insert wins and both return its secret.
        postback_secrets::Entity::insert(model.into_active_model().reset_all())
            .on_conflict_do_nothing()
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        self.secret(user_id).await?.ok_or_else(|| ctxd_domain::Error::internal("postback secret vanished"))
    }

    async fn replace_secret(&self, user_id: UserId, secret: &str, now: DateTime<Utc>) -> Result<()> {
        let model = postback_secrets::Model { user_id: user_id.0, secret: secret.to_owned(), created_at: now };
        postback_secrets::Entity::insert(model.into_active_model().reset_all())
            .on_conflict(
                OnConflict::column(postback_secrets::Column::UserId)
                    .update_columns([postback_secrets::Column::Secret, postback_secrets::Column::CreatedAt])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn claim_due(&self, now: DateTime<Utc>, hold: Duration, limit: u64) -> Result<Vec<Postback>> {
        let now_ms = millis(now);
        let held_until = now_ms.saturating_add(i64::try_from(hold.as_millis()).unwrap_or(i64::MAX));
        let due = postback_outbox::Entity::find()
            .select_only()
            .column(postback_outbox::Column::Id)
            .filter(postback_outbox::Column::Status.eq(PostbackStatus::Pending.as_str()))
            .filter(postback_outbox::Column::NextAttemptAtMs.lte(now_ms))
            .order_by_asc(postback_outbox::Column::NextAttemptAtMs)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .into_query();
        let txn = self.db.begin().await.map_err(map_db_err)?;
        let claimed = postback_outbox::Entity::update_many()
            .col_expr(postback_outbox::Column::NextAttemptAtMs, Expr::value(held_until))
            .filter(postback_outbox::Column::Id.in_subquery(due))
            .exec_with_returning(&txn)
            .await
            .map_err(map_db_err)?;
        txn.commit().await.map_err(map_db_err)?;
        claimed.into_iter().map(postback_from).collect()
    }

    async fn delivered(&self, id: PostbackId, attempts: u32, status_code: u16, at: DateTime<Utc>) -> Result<()> {
        postback_outbox::Entity::update_many()
            .col_expr(postback_outbox::Column::Status, Expr::value(PostbackStatus::Delivered.as_str()))
            .col_expr(postback_outbox::Column::Attempts, Expr::value(i32::try_from(attempts).unwrap_or(i32::MAX)))
            .col_expr(postback_outbox::Column::LastStatusCode, Expr::value(i32::from(status_code)))
            .col_expr(postback_outbox::Column::DeliveredAt, Expr::value(at))
            .filter(postback_outbox::Column::Id.eq(id.0))
            .exec(&self.db)
            .await
            .map_err(map_db_err)?;
        Ok(())
    }

    async fn failed(
        &self,
        id: PostbackId,
        attempts: u32,
        failure: &DeliveryFailure,
        next_attempt_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut update = postback_outbox::Entity::update_many()
            .col_expr(postback_outbox::Column::Attempts, Expr::value(i32::try_from(attempts).unwrap_or(i32::MAX)))
            .col_expr(postback_outbox::Column::LastError, Expr::value(failure.error.as_str()))
            .col_expr(postback_outbox::Column::LastStatusCode, Expr::value(failure.status_code.map(i32::from)));
        update = match next_attempt_at {
            Some(at) => update.col_expr(postback_outbox::Column::NextAttemptAtMs, Expr::value(millis(at))),
            None => update.col_expr(postback_outbox::Column::Status, Expr::value(PostbackStatus::GaveUp.as_str())),
        };
        update.filter(postback_outbox::Column::Id.eq(id.0)).exec(&self.db).await.map_err(map_db_err)?;
        Ok(())
    }

    async fn get(&self, id: PostbackId) -> Result<Option<Postback>> {
        let model = postback_outbox::Entity::find_by_id(id.0).one(&self.db).await.map_err(map_db_err)?;
        model.map(postback_from).transpose()
    }

    async fn list_for_source(&self, source_id: SourceId, page: PageRequest) -> Result<Page<Postback>> {
        let select = postback_outbox::Entity::find()
            .filter(postback_outbox::Column::SourceId.eq(source_id.0))
            .order_by_desc(postback_outbox::Column::Id);
        super::fetch_page(&self.db, select, page, postback_from).await
    }
}
