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

/// Each setting as table, storage parameter and value.
const SETTINGS: [(&str, &str, &str); 2] = [("sources", "fillfactor", "90"), ("runs", "vacuum_index_cleanup", "on")];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        apply(manager, |(table, name, value)| format!("ALTER TABLE {table} SET ({name} = {value})")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        apply(manager, |(table, name, _)| format!("ALTER TABLE {table} RESET ({name})")).await
    }
}

/// Runs the statement `each` makes of every setting, on Postgres only.
async fn apply(manager: &SchemaManager<'_>, each: fn((&str, &str, &str)) -> String) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for setting in SETTINGS {
        manager.get_connection().execute_unprepared(&each(setting)).await?;
    }
    Ok(())
}
