//! Two Postgres storage settings that keep a claim's work flat as the tables grow
//! (measured by `bench scale`'s claim buffers: 44 -> 79 from 10k to 1M sources without
//! them, 39 -> 43 from 2k to 8k with them, where it was 39 -> 56):
//!
//! - `sources` keeps a tenth of each page free (`fillfactor = 90`). A claim, a finish
//!   and most refreshes change a source's columns that no index holds; with room on
//!   its page the new row version stays there (a HOT update) and none of the table's
//!   six indexes gets a new entry. A full page sends it elsewhere and every index
//!   grows. Pages written before this migration get the room as their rows move.
//! - `runs` has its indexes cleaned by every vacuum (`vacuum_index_cleanup = on`).
//!   Postgres skips index cleanup when the dead rows fill few pages, and a queue's
//!   dead rows (the runs just claimed and finished) always sit in the newest few
//!   pages: their entries then stayed at the head of the pending-runs index, which
//!   every claim walks from the start.
//!
//! SQLite has neither setting and is untouched.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE sources SET (fillfactor = 90)").await?;
        db.execute_unprepared("ALTER TABLE runs SET (vacuum_index_cleanup = on)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE sources RESET (fillfactor)").await?;
        db.execute_unprepared("ALTER TABLE runs RESET (vacuum_index_cleanup)").await?;
        Ok(())
    }
}
