//! The processing pipeline's tables: when a retried run may be claimed again, and the
//! context extracted for each revision.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Runs {
    Table,
    /// Epoch milliseconds before which a released (retrying) run is not claimed.
    AvailableAtMs,
}

#[derive(DeriveIden)]
enum Sources {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Contexts {
    Table,
    SourceId,
    Revision,
    ExtractorVersion,
    Content,
    Title,
    Summary,
    Outline,
    KeyPoints,
    Decisions,
    OpenQuestions,
    OriginalTokens,
    ContextTokens,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Runs::Table).add_column(big_integer(Runs::AvailableAtMs).default(0)).take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Contexts::Table)
                    .if_not_exists()
                    .col(uuid(Contexts::SourceId))
                    .col(integer(Contexts::Revision))
                    .col(string(Contexts::ExtractorVersion))
                    .col(text(Contexts::Content))
                    .col(text_null(Contexts::Title))
                    .col(text_null(Contexts::Summary))
                    .col(json_binary(Contexts::Outline))
                    .col(json_binary(Contexts::KeyPoints))
                    .col(json_binary(Contexts::Decisions))
                    .col(json_binary(Contexts::OpenQuestions))
                    .col(big_integer(Contexts::OriginalTokens))
                    .col(big_integer(Contexts::ContextTokens))
                    .col(timestamp_with_time_zone(Contexts::CreatedAt))
                    .primary_key(Index::create().col(Contexts::SourceId).col(Contexts::Revision))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contexts_source")
                            .from(Contexts::Table, Contexts::SourceId)
                            .to(Sources::Table, Sources::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Contexts::Table).if_exists().take()).await?;
        manager.alter_table(Table::alter().table(Runs::Table).drop_column(Runs::AvailableAtMs).take()).await
    }
}
