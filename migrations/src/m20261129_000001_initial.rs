//! The first schema: users, API keys, spaces, collections, uploads, sources, runs
//! (the durable queue) and revisions.
//!
//! Portability notes. Ids are UUID v7: `uuid` on Postgres, a 16-byte blob on SQLite;
//! both compare bytewise, so ordering by id is ordering by creation time. Instants
//! that the database itself compares (`locked_until_ms`, `next_refresh_at_ms`) are
//! epoch milliseconds in a BIGINT, because SQLite stores timestamps as RFC 3339 text
//! with a variable number of fractional digits, which does not sort correctly.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    Plan,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    Name,
    KeyPrefix,
    KeyHash,
    ExpirationDate,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Spaces {
    Table,
    Id,
    UserId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Collections {
    Table,
    Id,
    SpaceId,
    UserId,
    ParentId,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    FileKey,
    UserId,
    Filename,
    ContentType,
    Size,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sources {
    Table,
    Id,
    UserId,
    SpaceId,
    CollectionId,
    Type,
    Name,
    Description,
    Status,
    Message,
    InitialData,
    PostbackUrl,
    RunContextExtraction,
    RunArtifactExtraction,
    RefreshMode,
    RefreshIntervalSeconds,
    NextRefreshAtMs,
    Pinned,
    DeletedAt,
    CreatedAt,
    UpdatedAt,
    Revision,
    ContentHash,
    LastFetchedAt,
    LastRunId,
    OriginalTokens,
    ContextTokens,
    ArtifactCount,
}

#[derive(DeriveIden)]
enum Runs {
    Table,
    Id,
    SourceId,
    UserId,
    Kind,
    Status,
    Outcome,
    RunContextExtraction,
    RunArtifactExtraction,
    Force,
    UpdateExisting,
    Input,
    Attempt,
    Error,
    CancelRequested,
    QueuedAt,
    StartedAt,
    FinishedAt,
    Timings,
    LockedBy,
    LockedUntilMs,
}

#[derive(DeriveIden)]
enum Revisions {
    Table,
    SourceId,
    Number,
    ContentHash,
    FetchedAt,
    Http,
    Bytes,
    ExtractorVersion,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Cascade).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .if_not_exists()
                    .col(pk_uuid(Users::Id))
                    .col(string_uniq(Users::Name))
                    .col(string(Users::Plan))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::UserId))
                    .col(text_null(ApiKeys::Name))
                    .col(string(ApiKeys::KeyPrefix))
                    .col(string_uniq(ApiKeys::KeyHash))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpirationDate))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_keys_user",
                        (ApiKeys::Table, ApiKeys::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .take(),
            )
            .await?;
        create_index(manager, "idx_api_keys_user", ApiKeys::Table, [ApiKeys::UserId, ApiKeys::Id]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Spaces::Table)
                    .if_not_exists()
                    .col(pk_uuid(Spaces::Id))
                    .col(uuid(Spaces::UserId))
                    .col(string(Spaces::Name))
                    .col(text_null(Spaces::Description))
                    .col(timestamp_with_time_zone(Spaces::CreatedAt))
                    .col(timestamp_with_time_zone(Spaces::UpdatedAt))
                    .foreign_key(&mut fk("fk_spaces_user", (Spaces::Table, Spaces::UserId), (Users::Table, Users::Id)))
                    .take(),
            )
            .await?;
        create_index(manager, "idx_spaces_user", Spaces::Table, [Spaces::UserId, Spaces::Id]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Collections::Table)
                    .if_not_exists()
                    .col(pk_uuid(Collections::Id))
                    .col(uuid(Collections::SpaceId))
                    .col(uuid(Collections::UserId))
                    .col(uuid_null(Collections::ParentId))
                    .col(string(Collections::Name))
                    .col(text_null(Collections::Description))
                    .col(timestamp_with_time_zone(Collections::CreatedAt))
                    .col(timestamp_with_time_zone(Collections::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_collections_space",
                        (Collections::Table, Collections::SpaceId),
                        (Spaces::Table, Spaces::Id),
                    ))
                    .take(),
            )
            .await?;
        create_index(manager, "idx_collections_space", Collections::Table, [Collections::SpaceId, Collections::Id])
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .if_not_exists()
                    .col(string(Uploads::FileKey).primary_key())
                    .col(uuid(Uploads::UserId))
                    .col(text(Uploads::Filename))
                    .col(string(Uploads::ContentType))
                    .col(big_integer(Uploads::Size))
                    .col(timestamp_with_time_zone(Uploads::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_uploads_user",
                        (Uploads::Table, Uploads::UserId),
                        (Users::Table, Users::Id),
                    ))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sources::Table)
                    .if_not_exists()
                    .col(pk_uuid(Sources::Id))
                    .col(uuid(Sources::UserId))
                    .col(uuid(Sources::SpaceId))
                    .col(uuid_null(Sources::CollectionId))
                    .col(string(Sources::Type))
                    .col(text_null(Sources::Name))
                    .col(text_null(Sources::Description))
                    .col(string(Sources::Status))
                    .col(text_null(Sources::Message))
                    .col(json_binary(Sources::InitialData))
                    .col(text_null(Sources::PostbackUrl))
                    .col(boolean(Sources::RunContextExtraction))
                    .col(boolean(Sources::RunArtifactExtraction))
                    .col(string(Sources::RefreshMode))
                    .col(big_integer_null(Sources::RefreshIntervalSeconds))
                    .col(big_integer_null(Sources::NextRefreshAtMs))
                    .col(boolean(Sources::Pinned))
                    .col(timestamp_with_time_zone_null(Sources::DeletedAt))
                    .col(timestamp_with_time_zone(Sources::CreatedAt))
                    .col(timestamp_with_time_zone(Sources::UpdatedAt))
                    .col(integer_null(Sources::Revision))
                    .col(string_null(Sources::ContentHash))
                    .col(timestamp_with_time_zone_null(Sources::LastFetchedAt))
                    .col(uuid_null(Sources::LastRunId))
                    .col(big_integer_null(Sources::OriginalTokens))
                    .col(big_integer_null(Sources::ContextTokens))
                    .col(big_integer_null(Sources::ArtifactCount))
                    .foreign_key(&mut fk(
                        "fk_sources_space",
                        (Sources::Table, Sources::SpaceId),
                        (Spaces::Table, Spaces::Id),
                    ))
                    .take(),
            )
            .await?;
        create_index(manager, "idx_sources_space", Sources::Table, [Sources::SpaceId, Sources::Id]).await?;
        create_index(manager, "idx_sources_user", Sources::Table, [Sources::UserId, Sources::Id]).await?;
        create_index(manager, "idx_sources_due", Sources::Table, [Sources::RefreshMode, Sources::NextRefreshAtMs])
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Runs::Table)
                    .if_not_exists()
                    .col(pk_uuid(Runs::Id))
                    .col(uuid(Runs::SourceId))
                    .col(uuid(Runs::UserId))
                    .col(string(Runs::Kind))
                    .col(string(Runs::Status))
                    .col(string_null(Runs::Outcome))
                    .col(boolean(Runs::RunContextExtraction))
                    .col(boolean(Runs::RunArtifactExtraction))
                    .col(boolean(Runs::Force))
                    .col(boolean(Runs::UpdateExisting))
                    .col(json_binary_null(Runs::Input))
                    .col(integer(Runs::Attempt))
                    .col(text_null(Runs::Error))
                    .col(boolean(Runs::CancelRequested))
                    .col(timestamp_with_time_zone(Runs::QueuedAt))
                    .col(timestamp_with_time_zone_null(Runs::StartedAt))
                    .col(timestamp_with_time_zone_null(Runs::FinishedAt))
                    .col(json_binary(Runs::Timings))
                    .col(string_null(Runs::LockedBy))
                    .col(big_integer_null(Runs::LockedUntilMs))
                    .foreign_key(&mut fk(
                        "fk_runs_source",
                        (Runs::Table, Runs::SourceId),
                        (Sources::Table, Sources::Id),
                    ))
                    .take(),
            )
            .await?;
        // The claim scans by status in id (= queue) order.
        create_index(manager, "idx_runs_queue", Runs::Table, [Runs::Status, Runs::Id]).await?;
        create_index(manager, "idx_runs_source", Runs::Table, [Runs::SourceId, Runs::Id]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Revisions::Table)
                    .if_not_exists()
                    .col(uuid(Revisions::SourceId))
                    .col(integer(Revisions::Number))
                    .col(string(Revisions::ContentHash))
                    .col(timestamp_with_time_zone(Revisions::FetchedAt))
                    .col(json_binary(Revisions::Http))
                    .col(big_integer(Revisions::Bytes))
                    .col(string(Revisions::ExtractorVersion))
                    .primary_key(Index::create().col(Revisions::SourceId).col(Revisions::Number))
                    .foreign_key(&mut fk(
                        "fk_revisions_source",
                        (Revisions::Table, Revisions::SourceId),
                        (Sources::Table, Sources::Id),
                    ))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents, so foreign keys never block a drop.
        for table in [
            Revisions::Table.into_iden(),
            Runs::Table.into_iden(),
            Sources::Table.into_iden(),
            Uploads::Table.into_iden(),
            Collections::Table.into_iden(),
            Spaces::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().take()).await?;
        }
        Ok(())
    }
}

async fn create_index<T: IntoIden + 'static, C: IntoIden + 'static, const N: usize>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    columns: [C; N],
) -> Result<(), DbErr> {
    let mut index = Index::create().name(name).table(table).if_not_exists().take();
    for column in columns {
        index.col(column);
    }
    manager.create_index(index).await
}
