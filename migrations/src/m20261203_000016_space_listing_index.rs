//! A space's live sources in the order the list shows them (pinned first, newest
//! first): the page is read from the index in order and its total counted from the
//! index alone, instead of fetching and sorting every source of the space on each
//! page. Partial, so deleted sources cost the index nothing; the same statement on
//! SQLite and Postgres.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS idx_sources_space_live ON sources (space_id, pinned DESC, id DESC) \
                 WHERE deleted_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS idx_sources_space_live").await?;
        Ok(())
    }
}
