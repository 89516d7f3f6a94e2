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

pub use repositories::{SeaStore, claim_buffers};

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

/// How long a caller waits for the database before it is reported unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectSettings {
    /// The longest wait for a pooled connection (and for opening one). During an
    /// outage every request waits this long before its 503, so it is short.
    pub acquire_timeout: Duration,
    /// Pooled connections to Postgres (SQLite always has one). Each process also keeps
    /// up to seven connections of its own for its grouped statements.
    pub pool_size: u32,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self { acquire_timeout: Duration::from_secs(3), pool_size: 16 }
    }
}

/// How long after a connection failure every pooled connection is tested before use:
/// after an outage the pool still holds connections to the server that went away, and
/// each would fail its first statement (a 503 after the database is back).
const SUSPECT_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// When (ms since the Unix epoch) a statement last failed because the database went
/// away, in this process. Process-wide: a failure seen through one pool is reason to
/// test the connections of all of them.
static LAST_CONNECTION_FAILURE_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn note_connection_failure() {
    LAST_CONNECTION_FAILURE_MS.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
}

/// Whether pooled connections are suspect: a connection failure happened recently.
pub(crate) fn connections_suspect() -> bool {
    let last = LAST_CONNECTION_FAILURE_MS.load(std::sync::atomic::Ordering::Relaxed);
    last != 0 && now_ms().saturating_sub(last) < SUSPECT_AFTER_FAILURE.as_millis() as u64
}

impl Database {
    /// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`) with the
    /// default [`ConnectSettings`].
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the database cannot be reached or opened.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, ConnectSettings::default()).await
    }

    /// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://...`).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the database cannot be reached or opened.
    pub async fn connect_with(url: &str, settings: ConnectSettings) -> Result<Self, Error> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(Error::invalid("database_url", "must start with postgres:// or sqlite:"));
        };
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false).connect_timeout(settings.acquire_timeout).acquire_timeout(settings.acquire_timeout);
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
            options.max_connections(settings.pool_size.max(2));
            options.map_sqlx_postgres_before_acquire(|connection, _| {
                Box::pin(async move {
                    if connections_suspect() {
                        // A connection to a server that went away fails here and is
                        // replaced, instead of failing the caller's statement.
                        sqlx::Connection::ping(connection).await?;
                    }
                    Ok(true)
                })
            });
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

/// Translates driver errors into domain errors, in one place:
/// - a dead or unreachable server (refused or broken connection, pool time-out, a
///   server shutting down or out of connections) is `Unavailable`, so callers answer
///   503 and workers retry;
/// - text Postgres cannot store (a NUL character, in text or in JSON) is a validation
///   error: the rules keep NULs out, and this is the backstop that keeps one that got
///   through from becoming a 500;
/// - a deadlock or serialization failure is a `Conflict` ([`CONTENTION`]): the
///   transaction was rolled back whole and can be sent again;
/// - a unique violation is a `Conflict`; everything else `Internal`.
pub(crate) fn map_db_err(error: DbErr) -> Error {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = error.sql_err() {
        return Error::Conflict("already exists".into());
    }
    let driver = match &error {
        DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    };
    match driver.map(classify) {
        Some(Class::Unavailable) => {
            note_connection_failure();
            return unavailable(error);
        }
        Some(Class::Nul) => return Error::invalid("body", "text must not contain NUL (\\u0000) characters"),
        // Postgres broke a lock cycle (or a serialization conflict) by failing this
        // transaction; nothing of it was written, and the request can simply be sent again.
        Some(Class::Contention) => return Error::Conflict(CONTENTION.into()),
        Some(Class::Other) | None => {}
    }
    match error {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
            note_connection_failure();
            unavailable(error)
        }
        other => Error::Internal(Box::new(other)),
    }
}

/// The message of a transaction Postgres rolled back to break a lock cycle.
pub(crate) const CONTENTION: &str = "the request ran into a concurrent change of the same data; send it again";

/// What a driver error says about the database, for [`map_db_err`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Unavailable,
    Nul,
    /// Deadlock or serialization failure: the transaction was rolled back.
    Contention,
    Other,
}

pub(crate) fn classify(error: &sqlx::Error) -> Class {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_) => Class::Unavailable,
        sqlx::Error::Database(database) => match database.code().as_deref() {
            // connection_exception (class 08), admin/crash shutdown, cannot connect now,
            // too many connections.
            Some(code) if code.starts_with("08") => Class::Unavailable,
            Some("57P01" | "57P02" | "57P03" | "53300") => Class::Unavailable,
            // invalid byte sequence (0x00 in text), unsupported \u0000 in jsonb.
            Some("22021" | "22P05") => Class::Nul,
            // deadlock_detected, serialization_failure.
            Some("40P01" | "40001") => Class::Contention,
            _ => Class::Other,
        },
        _ => Class::Other,
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
