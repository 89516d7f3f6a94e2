//! SQLite's artifact search still grew with the whole table for a common word
//! (6.6 -> 21.9 ms from 10k to 100k sources under `bench scale --sqlite`): FTS5
//! intersected the space's list with the word's list over every space. The word
//! table now holds each word behind its space ([`crate::search_words`]), so a word's
//! list is the space's own. Rows are written by the store with the artifacts (FTS5
//! cannot prefix words in a trigger); the delete trigger and the row map of
//! migration 17 stay. Postgres is untouched (see migration 15).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::search_words;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Removes an artifact's search row with the artifact, as migration 17 did.
const DELETE_TRIGGER: &str = "CREATE TRIGGER artifacts_fts_delete AFTER DELETE ON artifacts BEGIN \
     DELETE FROM artifacts_fts WHERE rowid = \
     (SELECT fts_rowid FROM artifacts_fts_rows WHERE artifact_id = old.id); \
     DELETE FROM artifacts_fts_rows WHERE artifact_id = old.id; END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// The word rows are numbered from the largest in use, which only a transaction
    /// keeps from changing under them (SQLite migrations run outside one otherwise).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in [
            "DROP TRIGGER IF EXISTS artifacts_fts_insert",
            "DROP TRIGGER IF EXISTS artifacts_fts_delete",
            "DROP TABLE IF EXISTS artifacts_fts",
            "DELETE FROM artifacts_fts_rows",
            "CREATE VIRTUAL TABLE artifacts_fts USING fts5(artifact_id UNINDEXED, title, language, content)",
            // The store numbers new rows from the largest in use.
            "CREATE INDEX IF NOT EXISTS artifacts_fts_rows_by_rowid ON artifacts_fts_rows (fts_rowid)",
            DELETE_TRIGGER,
        ] {
            db.execute_unprepared(statement).await?;
        }
        search_words::index_missing(db, None).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        // Back to migration 17's table, filled and kept by triggers.
        let db = manager.get_connection();
        for statement in [
            "DROP TRIGGER IF EXISTS artifacts_fts_delete",
            "DROP INDEX IF EXISTS artifacts_fts_rows_by_rowid",
            "DROP TABLE IF EXISTS artifacts_fts",
            "DELETE FROM artifacts_fts_rows",
            "CREATE VIRTUAL TABLE artifacts_fts USING fts5(artifact_id UNINDEXED, space, title, language, content)",
            "INSERT INTO artifacts_fts (artifact_id, space, title, language, content) \
             SELECT id, lower(hex(space_id)), title, language, content FROM artifacts",
            "INSERT INTO artifacts_fts_rows (artifact_id, fts_rowid) SELECT artifact_id, rowid FROM artifacts_fts",
            "CREATE TRIGGER artifacts_fts_insert AFTER INSERT ON artifacts BEGIN \
             INSERT INTO artifacts_fts (artifact_id, space, title, language, content) \
             VALUES (new.id, lower(hex(new.space_id)), new.title, new.language, new.content); \
             INSERT INTO artifacts_fts_rows (artifact_id, fts_rowid) VALUES (new.id, last_insert_rowid()); END",
            DELETE_TRIGGER,
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
