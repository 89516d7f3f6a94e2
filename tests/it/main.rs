//! ctxd's end-to-end tests: one binary, the app spawned in-process per test, every
//! test run on SQLite and on a real PostgreSQL server.

/// Runs each listed `async fn name(app: TestApp)` on both backends, as the tests
/// `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use ctxd_test_support::{Backend, spawn_app};

            #[tokio::test]
            async fn sqlite() {
                let app = spawn_app(Backend::Sqlite).await.expect("SQLite is always available");
                super::$name(app).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = spawn_app(Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

/// Same, for tests that need only a migrated database: `async fn name(db: TestDatabase)`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use ctxd_test_support::{Backend, TestDatabase};

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = TestDatabase::create(Backend::Sqlite).await.expect("SQLite is always available");
                super::$name(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = TestDatabase::create(Backend::Postgres).await {
                    super::$name(db).await;
                }
            }
        }
    )*};
}

/// Runs each listed `async fn name(app: TestApp)` on both backends with in-process
/// workers that retry up to the given number of attempts.
macro_rules! with_workers {
    ($($name:ident => $attempts:expr),* $(,)?) => {$(
        mod $name {
            use ctxd_test_support::Backend;

            #[tokio::test]
            async fn sqlite() {
                let app = crate::pipeline::app_with_workers(Backend::Sqlite, $attempts).await.unwrap();
                super::$name(app).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = crate::pipeline::app_with_workers(Backend::Postgres, $attempts).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

mod api_keys;
mod artifacts;
mod collections;
mod compositions;
mod errors;
mod events;
mod grpc;
mod grpc_parity;
mod hostile;
mod hot_paths;
mod mcp;
mod operations;
mod pipeline;
mod postbacks;
mod processing;
mod purge;
mod queue;
mod rate_limits;
mod retention;
mod revisions;
mod scheduler;
mod sources;
mod spaces;
mod tenants;
mod uploads;
mod web;
