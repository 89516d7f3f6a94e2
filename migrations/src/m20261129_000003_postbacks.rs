//! Postbacks: each user's signing secret, and the durable outbox of notifications
//! that a sender delivers with retries.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PostbackSecrets {
    Table,
    UserId,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PostbackOutbox {
    Table,
    /// Also the `webhook-id` header: stable across retries.
    Id,
    UserId,
    SourceId,
    Url,
    Payload,
    Status,
    Attempts,
    /// Epoch milliseconds; also pushed forward while a sender holds the row.
    NextAttemptAtMs,
    LastError,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PostbackSecrets::Table)
                    .if_not_exists()
                    .col(uuid(PostbackSecrets::UserId).primary_key())
                    .col(string(PostbackSecrets::Secret))
                    .col(timestamp_with_time_zone(PostbackSecrets::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_postback_secrets_user")
                            .from(PostbackSecrets::Table, PostbackSecrets::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PostbackOutbox::Table)
                    .if_not_exists()
                    .col(pk_uuid(PostbackOutbox::Id))
                    .col(uuid(PostbackOutbox::UserId))
                    .col(uuid(PostbackOutbox::SourceId))
                    .col(text(PostbackOutbox::Url))
                    .col(json_binary(PostbackOutbox::Payload))
                    .col(string(PostbackOutbox::Status))
                    .col(integer(PostbackOutbox::Attempts))
                    .col(big_integer(PostbackOutbox::NextAttemptAtMs))
                    .col(text_null(PostbackOutbox::LastError))
                    .col(timestamp_with_time_zone(PostbackOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(PostbackOutbox::DeliveredAt))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_postback_outbox_due")
                    .table(PostbackOutbox::Table)
                    .col(PostbackOutbox::Status)
                    .col(PostbackOutbox::NextAttemptAtMs)
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PostbackOutbox::Table).if_exists().take()).await?;
        manager.drop_table(Table::drop().table(PostbackSecrets::Table).if_exists().take()).await
    }
}
