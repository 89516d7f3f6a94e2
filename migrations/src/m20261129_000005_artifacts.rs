//! Typed artifacts found in each revision, and their text index: a generated
//! `tsvector` with a GIN index on Postgres, an FTS5 table kept in step by triggers on
//! SQLite.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sources {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Id,
    SourceId,
    SpaceId,
    UserId,
    /// The revision whose content the artifact was found in.
    Revision,
    Kind,
    Language,
    Title,
    Content,
    Metadata,
    StartLine,
    EndLine,
    Turn,
    /// `sha256:` of kind and content: what "the same artifact" means across revisions.
    ContentHash,
    /// In the source's current set (a reprocess with `update_existing=false` keeps
    /// older ones current next to the new ones).
    Active,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Artifacts::Table)
                    .if_not_exists()
                    .col(uuid(Artifacts::Id).primary_key())
                    .col(uuid(Artifacts::SourceId))
                    .col(uuid(Artifacts::SpaceId))
                    .col(uuid(Artifacts::UserId))
                    .col(integer(Artifacts::Revision))
                    .col(string(Artifacts::Kind))
                    .col(string_null(Artifacts::Language))
                    .col(text_null(Artifacts::Title))
                    .col(text(Artifacts::Content))
                    .col(json_binary(Artifacts::Metadata))
                    .col(integer(Artifacts::StartLine))
                    .col(integer(Artifacts::EndLine))
                    .col(integer_null(Artifacts::Turn))
                    .col(string(Artifacts::ContentHash))
                    .col(boolean(Artifacts::Active))
                    .col(timestamp_with_time_zone(Artifacts::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_artifacts_source")
                            .from(Artifacts::Table, Artifacts::SourceId)
                            .to(Sources::Table, Sources::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_artifacts_source_revision")
                    .table(Artifacts::Table)
                    .col(Artifacts::SourceId)
                    .col(Artifacts::Revision)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_artifacts_space_active")
                    .table(Artifacts::Table)
                    .col(Artifacts::SpaceId)
                    .col(Artifacts::Active)
                    .col(Artifacts::Kind)
                    .take(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                // 'simple' keeps identifiers as written: code is not English prose.
                db.execute_unprepared(
                    "ALTER TABLE artifacts ADD COLUMN search tsvector GENERATED ALWAYS AS \
                     (to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(language, '') || ' ' || content)) STORED",
                )
                .await?;
                db.execute_unprepared("CREATE INDEX idx_artifacts_search ON artifacts USING GIN (search)").await?;
            }
            DatabaseBackend::Sqlite => {
                // Not an external-content table: `artifacts` has no INTEGER PRIMARY KEY,
                // so its rowids may change on VACUUM.
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE artifacts_fts USING fts5(artifact_id UNINDEXED, title, language, content)",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER artifacts_fts_insert AFTER INSERT ON artifacts BEGIN \
                     INSERT INTO artifacts_fts (artifact_id, title, language, content) \
                     VALUES (new.id, new.title, new.language, new.content); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER artifacts_fts_delete AFTER DELETE ON artifacts BEGIN \
                     DELETE FROM artifacts_fts WHERE artifact_id = old.id; END",
                )
                .await?;
            }
            other => return Err(DbErr::Migration(format!("unsupported database backend {other:?}"))),
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS artifacts_fts").await?;
        }
        manager.drop_table(Table::drop().table(Artifacts::Table).if_exists().take()).await
    }
}
