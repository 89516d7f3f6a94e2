//! Composition membership and rebuild requests.
//!
//! A composition lists its members in `initial_data.source_ids`; the membership
//! table is the reverse index ("which compositions contain this source?") that a
//! member's new revision needs to mark only its own compositions for rebuild, and a
//! rebuild request is a row in `pending_rebuilds` until a scheduler pass queues the
//! composition's run. Compositions created before this migration are backfilled from
//! their `initial_data` and marked for rebuild, so they get built on upgrade (they
//! could not be processed before).

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{
        ConnectionTrait, FromQueryResult,
        prelude::{Json, Uuid},
    },
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sources {
    Table,
    Id,
    Type,
    InitialData,
}

#[derive(DeriveIden)]
enum CompositionMembers {
    Table,
    CompositionId,
    MemberId,
    /// 0-based place of the member in the composition.
    Position,
}

#[derive(DeriveIden)]
enum PendingRebuilds {
    Table,
    SourceId,
    RequestedAtMs,
}

#[derive(FromQueryResult)]
struct Composition {
    id: Uuid,
    initial_data: Json,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CompositionMembers::Table)
                    .if_not_exists()
                    .col(uuid(CompositionMembers::CompositionId))
                    .col(uuid(CompositionMembers::MemberId))
                    .col(integer(CompositionMembers::Position))
                    .primary_key(
                        Index::create().col(CompositionMembers::CompositionId).col(CompositionMembers::Position),
                    )
                    .foreign_key(&mut to_source(
                        "fk_composition_members_composition",
                        CompositionMembers::Table,
                        CompositionMembers::CompositionId,
                    ))
                    .foreign_key(&mut to_source(
                        "fk_composition_members_member",
                        CompositionMembers::Table,
                        CompositionMembers::MemberId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_composition_members_member")
                    .table(CompositionMembers::Table)
                    .col(CompositionMembers::MemberId)
                    .if_not_exists()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PendingRebuilds::Table)
                    .if_not_exists()
                    .col(uuid(PendingRebuilds::SourceId).primary_key())
                    .col(big_integer(PendingRebuilds::RequestedAtMs))
                    .foreign_key(&mut to_source(
                        "fk_pending_rebuilds_source",
                        PendingRebuilds::Table,
                        PendingRebuilds::SourceId,
                    ))
                    .take(),
            )
            .await?;
        backfill(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PendingRebuilds::Table).if_exists().take()).await?;
        manager.drop_table(Table::drop().table(CompositionMembers::Table).if_exists().take()).await
    }
}

/// A reference to a source that goes with it: these rows mean nothing without it.
fn to_source(name: &str, table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Sources::Table, Sources::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let select = Query::select()
        .columns([Sources::Id, Sources::InitialData])
        .from(Sources::Table)
        .and_where(Expr::col(Sources::Type).eq("COMPOSITION"))
        .take();
    let compositions = Composition::find_by_statement(db.get_database_backend().build(&select)).all(db).await?;
    let now_ms = chrono_free_now_ms();
    for composition in compositions {
        let members = composition.initial_data["source_ids"].as_array().cloned().unwrap_or_default();
        for (position, member) in members.iter().enumerate() {
            let Some(member) = member.as_str().and_then(|s| Uuid::parse_str(s).ok()) else { continue };
            let insert = Query::insert()
                .into_table(CompositionMembers::Table)
                .columns([
                    CompositionMembers::CompositionId,
                    CompositionMembers::MemberId,
                    CompositionMembers::Position,
                ])
                .values_panic([
                    composition.id.into(),
                    member.into(),
                    <i32 as TryFrom<usize>>::try_from(position).unwrap_or(i32::MAX).into(),
                ])
                .take();
            db.execute(&insert).await?;
        }
        let rebuild = Query::insert()
            .into_table(PendingRebuilds::Table)
            .columns([PendingRebuilds::SourceId, PendingRebuilds::RequestedAtMs])
            .values_panic([composition.id.into(), now_ms.into()])
            .take();
        db.execute(&rebuild).await?;
    }
    Ok(())
}

/// Milliseconds since the epoch; the migrations crate does not otherwise need chrono.
fn chrono_free_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| <i64 as TryFrom<u128>>::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
