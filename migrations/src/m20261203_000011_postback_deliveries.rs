//! Postback deliveries a user can read: the receiver's last HTTP status next to the
//! last error, and an index to list a source's deliveries newest first.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PostbackOutbox {
    Table,
    SourceId,
    Id,
    /// The status code of the last answer the receiver gave, when it gave one.
    LastStatusCode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PostbackOutbox::Table)
                    .add_column(integer_null(PostbackOutbox::LastStatusCode))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_postback_outbox_source")
                    .table(PostbackOutbox::Table)
                    .col(PostbackOutbox::SourceId)
                    .col(PostbackOutbox::Id)
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_postback_outbox_source").table(PostbackOutbox::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(PostbackOutbox::Table).drop_column(PostbackOutbox::LastStatusCode).take())
            .await
    }
}
