//! Queue indexes that stay small: a claim looks only at PENDING runs (in id order)
//! and at PROCESSING runs whose lease may have expired. The general `(status, id)`
//! index made the planner walk every finished run when its statistics were stale
//! (right after a burst of runs), which turned each claim into a scan of the whole
//! history. Partial indexes hold only the live part of the queue, on both backends.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX idx_runs_pending ON runs (id) WHERE status = 'PENDING'").await?;
        db.execute_unprepared("CREATE INDEX idx_runs_leased ON runs (locked_until_ms) WHERE status = 'PROCESSING'")
            .await?;
        db.execute_unprepared("DROP INDEX idx_runs_queue").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX idx_runs_queue ON runs (status, id)").await?;
        db.execute_unprepared("DROP INDEX idx_runs_leased").await?;
        db.execute_unprepared("DROP INDEX idx_runs_pending").await?;
        Ok(())
    }
}
