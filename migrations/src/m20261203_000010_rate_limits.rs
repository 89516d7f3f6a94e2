//! Rate limits shared by every process on one database: a user's GCRA state (the
//! theoretical arrival time of their next request, ms since the epoch), one row per
//! user, updated by one statement per request batch.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    UserId,
    TatMs,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimits::Table)
                    .if_not_exists()
                    .col(uuid(RateLimits::UserId).primary_key())
                    .col(big_integer(RateLimits::TatMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rate_limits_user")
                            .from(RateLimits::Table, RateLimits::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RateLimits::Table).if_exists().take()).await
    }
}
