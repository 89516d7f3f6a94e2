//! Artifact search reads a space's current artifacts and matches each one's stored
//! `search` vector, so its cost follows the space, not the table (see
//! `storage::repositories::artifacts::search`). The global word index it no longer
//! uses goes: for a common word it listed every space's matches, and every artifact
//! written paid for its upkeep.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_artifacts_search").await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("CREATE INDEX IF NOT EXISTS idx_artifacts_search ON artifacts USING GIN (search)")
                .await?;
        }
        Ok(())
    }
}
