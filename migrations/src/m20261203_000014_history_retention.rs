//! The retention purge deletes idempotency keys by age: an index on their creation
//! time lets it pick a batch without reading every key (runs and deliveries are
//! picked by their time-ordered ids, which the primary keys already index).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_idempotency_keys_created ON idempotency_keys (created_at)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_idempotency_keys_created").await?;
        Ok(())
    }
}
