//! The source change feed. On Postgres every change is a `NOTIFY ctxd_sources` (sent
//! by a trigger inside the writing transaction, so it reaches every process) and one
//! `LISTEN` connection per process fans it out; on SQLite the feed is in-process only.

use ctxd_domain::{
    ids::SourceId,
    ports::{SourceChange, SourceEvents},
};
use futures_util::{StreamExt, stream::BoxStream};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const CHANNEL: &str = "ctxd_sources";

/// Notices buffered per subscriber before it is told it missed some.
const CAPACITY: usize = 1024;

/// Publishes and fans out source changes; shared (in an `Arc`) by every store of one
/// [`crate::Database`]. Dropping the last store stops the `LISTEN` task, which then
/// gives its pool connection back.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<Uuid>,
    postgres: bool,
    stop: CancellationToken,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Events {
    pub(crate) fn new(postgres: bool) -> Self {
        Self { sender: broadcast::channel(CAPACITY).0, postgres, stop: CancellationToken::new() }
    }

    /// Starts the process's `LISTEN` connection (Postgres only). It reconnects by
    /// itself; on a reconnect notices may have been lost, so subscribers are told.
    pub(crate) fn listen(&self, connection: &DatabaseConnection) {
        if !self.postgres {
            return;
        }
        let pool = connection.get_postgres_connection_pool().clone();
        let sender = self.sender.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            // Whatever the task is waiting on, a stop ends it: the listener (and its
            // connection) is dropped, never reused, so no wait needs to be cancel-safe.
            let _ = stop.run_until_cancelled(relay(pool, sender)).await;
        });
    }

    /// Announces that source `id` changed, after its write committed. On Postgres the
    /// `sources_notify` trigger (migration 7) already sent the notice with the write,
    /// so there is nothing to do; on SQLite the in-process subscribers are told here.
    pub(crate) fn changed(&self, id: Uuid) {
        if !self.postgres {
            let _ = self.sender.send(id);
        }
    }
}

impl SourceEvents for crate::SeaStore {
    fn subscribe(&self) -> BoxStream<'static, SourceChange> {
        BroadcastStream::new(self.events.sender.subscribe())
            .map(|item| match item {
                Ok(id) if !id.is_nil() => SourceChange::Changed(SourceId::from(id)),
                Ok(_) | Err(BroadcastStreamRecvError::Lagged(_)) => SourceChange::Missed,
            })
            .boxed()
    }

    fn sees_other_processes(&self) -> bool {
        self.events.postgres
    }
}

/// Relays notices from a `LISTEN` connection to the in-process subscribers,
/// reconnecting after failures; ends when the pool is closed.
async fn relay(pool: sqlx::PgPool, sender: broadcast::Sender<Uuid>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(_) if pool.is_closed() => return,
            Err(error) => {
                tracing::warn!(%error, "cannot LISTEN for source changes; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::warn!(%error, "LISTEN failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(notice)) => {
                    if let Ok(id) = notice.payload().parse::<Uuid>() {
                        let _ = sender.send(id);
                    }
                }
                // The connection dropped and was re-established: say so.
                Ok(None) => {
                    let _ = sender.send(Uuid::nil());
                }
                Err(error) => {
                    tracing::warn!(%error, "source change listener failed; reconnecting");
                    let _ = sender.send(Uuid::nil());
                    break;
                }
            }
            if pool.is_closed() {
                return;
            }
        }
    }
}
