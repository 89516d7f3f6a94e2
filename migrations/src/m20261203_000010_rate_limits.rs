//! Rate limits shared by every process on one database: a user's GCRA state (the
//! theoretical arrival time of their next request, µs since the epoch), one row per
//! user, updated by one statement per batch of requests.
//!
//! On Postgres the table is UNLOGGED: the state is a budget for the next minute, not a
//! record; a crash that empties it hands everyone a fresh minute, and in exchange the
//! statement on every request writes no WAL and waits for no flush.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    UserId,
    TatUs,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = Table::create()
            .table(RateLimits::Table)
            .if_not_exists()
            .col(uuid(RateLimits::UserId).primary_key())
            .col(big_integer(RateLimits::TatUs))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_rate_limits_user")
                    .from(RateLimits::Table, RateLimits::UserId)
                    .to(Users::Table, Users::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .take();
        if manager.get_database_backend() == DbBackend::Postgres {
            let sql = table.to_string(PostgresQueryBuilder).replacen("CREATE TABLE", "CREATE UNLOGGED TABLE", 1);
            manager.get_connection().execute_unprepared(&sql).await.map(|_| ())
        } else {
            manager.create_table(table).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RateLimits::Table).if_exists().take()).await
    }
}
