//! ctxd's database schema as ordered sea-orm migrations, one immutable file per
//! change. The same migrations run on SQLite (embedded default) and Postgres.

use sea_orm_migration::prelude::*;

mod m20261129_000001_initial;
mod m20261129_000002_pipeline;
mod m20261129_000003_postbacks;
mod m20261129_000004_idempotency;
mod m20261129_000005_artifacts;
mod m20261129_000006_compositions;
mod m20261129_000007_source_notify;
mod m20261129_000008_queue_indexes;
mod m20261201_000009_notices_outside_writes;
mod m20261203_000010_rate_limits;
mod m20261203_000011_postback_deliveries;
mod m20261203_000012_space_deletes;
mod m20261203_000013_revision_metadata;
mod m20261203_000014_history_retention;
mod m20261203_000015_artifact_search_by_space;
mod m20261203_000016_space_listing_index;
mod m20261203_000017_sqlite_search_by_space;
mod m20261203_000018_sqlite_space_words;
mod m20261204_000019_queue_storage_settings;
pub mod search_words;

/// Applies every migration in order; used by `ctxd migrate`, `ctxd serve` and tests.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_initial::Migration),
            Box::new(m20261129_000002_pipeline::Migration),
            Box::new(m20261129_000003_postbacks::Migration),
            Box::new(m20261129_000004_idempotency::Migration),
            Box::new(m20261129_000005_artifacts::Migration),
            Box::new(m20261129_000006_compositions::Migration),
            Box::new(m20261129_000007_source_notify::Migration),
            Box::new(m20261129_000008_queue_indexes::Migration),
            Box::new(m20261201_000009_notices_outside_writes::Migration),
            Box::new(m20261203_000010_rate_limits::Migration),
            Box::new(m20261203_000011_postback_deliveries::Migration),
            Box::new(m20261203_000012_space_deletes::Migration),
            Box::new(m20261203_000013_revision_metadata::Migration),
            Box::new(m20261203_000014_history_retention::Migration),
            Box::new(m20261203_000015_artifact_search_by_space::Migration),
            Box::new(m20261203_000016_space_listing_index::Migration),
            Box::new(m20261203_000017_sqlite_search_by_space::Migration),
            Box::new(m20261203_000018_sqlite_space_words::Migration),
            Box::new(m20261204_000019_queue_storage_settings::Migration),
        ]
    }
}
