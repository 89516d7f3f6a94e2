//! Source change notices from the database itself (Postgres): a trigger sends
//! `NOTIFY ctxd_sources, '<id>'` with every insert or update of a source, inside the
//! writing transaction, so a notice costs no round trip and is delivered exactly when
//! the change commits. SQLite has no cross-process feed; nothing changes there.

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
        db.execute_unprepared(
            "CREATE OR REPLACE FUNCTION ctxd_notify_source_change() RETURNS trigger AS $$
             BEGIN
               PERFORM pg_notify('ctxd_sources', NEW.id::text);
               RETURN NULL;
             END $$ LANGUAGE plpgsql",
        )
        .await?;
        db.execute_unprepared(
            "CREATE TRIGGER sources_notify AFTER INSERT OR UPDATE ON sources
             FOR EACH ROW EXECUTE FUNCTION ctxd_notify_source_change()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("DROP TRIGGER IF EXISTS sources_notify ON sources").await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS ctxd_notify_source_change()").await?;
        Ok(())
    }
}
