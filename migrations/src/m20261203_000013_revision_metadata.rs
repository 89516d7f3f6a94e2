//! What the normalizer learned about a revision's content beyond its bytes, as a JSON
//! object: `page_type` for web pages. Older revisions have none (NULL reads as `{}`)
//! until their next extraction.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Revisions {
    Table,
    Metadata,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Revisions::Table).add_column(json_null(Revisions::Metadata)).take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Revisions::Table).drop_column(Revisions::Metadata).take()).await
    }
}
