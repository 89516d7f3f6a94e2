//! SQLite's artifact search matched a word in every space and only then kept the
//! space's artifacts, so a common word cost what the whole table holds (1.2 s at 100k
//! sources under `bench scale --sqlite`). The word table gets the space as a column of
//! its own, and a search asks for the space and the words in one match, which FTS5
//! answers by intersecting the two lists. Its rows are found again through a map from
//! artifact id to row id, so deleting an artifact no longer scans the word table.
//! Postgres is untouched (see migration 15).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The space column's text: the id's hex digits, one token for the tokenizer.
const SPACE_TOKEN: &str = "lower(hex(space_id))";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in [
            "DROP TRIGGER IF EXISTS artifacts_fts_insert",
            "DROP TRIGGER IF EXISTS artifacts_fts_delete",
            "DROP TABLE IF EXISTS artifacts_fts",
            "CREATE VIRTUAL TABLE artifacts_fts USING fts5(artifact_id UNINDEXED, space, title, language, content)",
            "CREATE TABLE artifacts_fts_rows (artifact_id BLOB PRIMARY KEY, fts_rowid INTEGER NOT NULL)",
            &format!(
                "INSERT INTO artifacts_fts (artifact_id, space, title, language, content) \
                 SELECT id, {SPACE_TOKEN}, title, language, content FROM artifacts"
            ),
            "INSERT INTO artifacts_fts_rows (artifact_id, fts_rowid) SELECT artifact_id, rowid FROM artifacts_fts",
            "CREATE TRIGGER artifacts_fts_insert AFTER INSERT ON artifacts BEGIN \
             INSERT INTO artifacts_fts (artifact_id, space, title, language, content) \
             VALUES (new.id, lower(hex(new.space_id)), new.title, new.language, new.content); \
             INSERT INTO artifacts_fts_rows (artifact_id, fts_rowid) VALUES (new.id, last_insert_rowid()); END",
            "CREATE TRIGGER artifacts_fts_delete AFTER DELETE ON artifacts BEGIN \
             DELETE FROM artifacts_fts WHERE rowid = \
             (SELECT fts_rowid FROM artifacts_fts_rows WHERE artifact_id = old.id); \
             DELETE FROM artifacts_fts_rows WHERE artifact_id = old.id; END",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        let db = manager.get_connection();
        for statement in [
            "DROP TRIGGER IF EXISTS artifacts_fts_insert",
            "DROP TRIGGER IF EXISTS artifacts_fts_delete",
            "DROP TABLE IF EXISTS artifacts_fts_rows",
            "DROP TABLE IF EXISTS artifacts_fts",
            "CREATE VIRTUAL TABLE artifacts_fts USING fts5(artifact_id UNINDEXED, title, language, content)",
            "INSERT INTO artifacts_fts (artifact_id, title, language, content) \
             SELECT id, title, language, content FROM artifacts",
            "CREATE TRIGGER artifacts_fts_insert AFTER INSERT ON artifacts BEGIN \
             INSERT INTO artifacts_fts (artifact_id, title, language, content) \
             VALUES (new.id, new.title, new.language, new.content); END",
            "CREATE TRIGGER artifacts_fts_delete AFTER DELETE ON artifacts BEGIN \
             DELETE FROM artifacts_fts WHERE artifact_id = old.id; END",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
