//! Source change notices leave the writing transactions (Postgres). Migration 7's
//! trigger sent `NOTIFY` inside every write, and a transaction that notifies holds a
//! cluster-wide lock from its commit until the commit is flushed: every source write
//! in every process committed one at a time, fsync included, and under load most
//! backends waited on that lock. ctxd now publishes the notices itself, in batches,
//! from a transaction of their own that does not wait for the flush (see
//! `crates/storage/src/events.rs`). SQLite never had the trigger.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS sources_notify ON sources").await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS ctxd_notify_source_change()").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Back to migration 7's trigger, created by migration 7 itself.
        super::m20261129_000007_source_notify::Migration.up(manager).await
    }
}
