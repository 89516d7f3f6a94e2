//! sea-orm adapter: implements the domain's storage ports on SQLite (the embedded
//! default) and Postgres (production) from one code base, including the durable run
//! queue with its `FOR UPDATE SKIP LOCKED` claim.

mod batch;
mod convert;
mod entities;
mod events;
mod repositories;

use std::time::Duration;

use ctxd_domain::Error;
use ctxd_migrations::Migrator;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, SqlErr};
use sea_orm_migration::MigratorTrait;

pub use repositories::SeaStore;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool plus what it is connected to.
#[derive(Debug, Clone)]
pub struct Database {
    connection: DatabaseConnection,
    backend: Backend,
    events: std::sync::Arc<events::Events>,
    batches: Option<std::sync::Arc<repositories::Batches>>,
}

impl Database {
    /// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the database cannot be reached or opened.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(Error::invalid("database_url", "must start with postgres:// or sqlite:"));
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false).connect_timeout(Duration::from_secs(10)).acquire_timeout(Duration::from_secs(30));
        // The pool's default pings every connection it hands out: a round trip before
        // each statement, about half of a refresh's round trips. Only a connection that
        // sat idle long enough for a proxy or the server to have dropped it is checked;
        // a hot one that died anyway fails its statement, which is reported as
        // `Unavailable` and retried like any other transient storage error.
        options.test_before_acquire_if_idle_for(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // SQLite has one writer at a time. A single pooled connection turns that
            // into plain queueing in the pool instead of SQLITE_BUSY errors when two
            // transactions both try to upgrade to writers.
            options.max_connections(1).min_connections(1);
        } else {
            options.max_connections(16);
        }
        let connection = sea_orm::Database::connect(options).await.map_err(unavailable)?;
        if backend == Backend::Sqlite {
            // WAL lets readers proceed during a write and survives crashes cleanly.
            connection.execute_unprepared("PRAGMA journal_mode=WAL").await.map_err(unavailable)?;
            connection.execute_unprepared("PRAGMA foreign_keys=ON").await.map_err(unavailable)?;
        }
        let events = std::sync::Arc::new(events::Events::start(&connection, backend == Backend::Postgres));
        let batches =
            (backend == Backend::Postgres).then(|| std::sync::Arc::new(repositories::Batches::spawn(&connection)));
        Ok(Self { connection, backend, events, batches })
    }

    /// Applies pending migrations.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Internal`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), Error> {
        Migrator::up(&self.connection, None).await.map_err(map_db_err)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// The repositories over this pool.
    pub fn store(&self) -> SeaStore {
        SeaStore::new(self.connection.clone(), self.events.clone(), self.batches.clone())
    }
}

fn unavailable(error: DbErr) -> Error {
    Error::Unavailable(Box::new(error))
}

/// Translates driver errors into domain errors: a dead connection is `Unavailable`,
/// a unique violation a `Conflict`, everything else `Internal`.
pub(crate) fn map_db_err(error: DbErr) -> Error {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = error.sql_err() {
        return Error::Conflict("already exists".into());
    }
    match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => unavailable(error),
        other => Error::Internal(Box::new(other)),
    }
}

impl From<Backend> for DbBackend {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }
}
