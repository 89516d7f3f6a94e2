//! Deleting a space is a soft delete followed by a purge: the space row stays, marked
//! deleted, until the purge has removed its sources. Partial indexes find what the
//! purge is due to take without reading the live rows.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Spaces {
    Table,
    DeletedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Spaces::Table).add_column(timestamp_with_time_zone_null(Spaces::DeletedAt)).take(),
            )
            .await?;
        // The same statements on SQLite and Postgres: both have partial indexes.
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_sources_deleted ON sources (deleted_at) WHERE deleted_at IS NOT NULL",
            )
            .await?;
        connection
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_spaces_deleted ON spaces (deleted_at) WHERE deleted_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let connection = manager.get_connection();
        connection.execute_unprepared("DROP INDEX IF EXISTS idx_spaces_deleted").await?;
        connection.execute_unprepared("DROP INDEX IF EXISTS idx_sources_deleted").await?;
        manager.alter_table(Table::alter().table(Spaces::Table).drop_column(Spaces::DeletedAt).take()).await
    }
}
