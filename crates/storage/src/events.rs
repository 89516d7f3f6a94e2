//! The source change feed. On Postgres every change is a `NOTIFY ctxd_sources` that
//! reaches every process, and one `LISTEN` connection per process fans it out; on
//! SQLite the feed is in-process only.
//!
//! Notices are published after the write committed, in batches, from a transaction
//! of their own (see [`publish`]), never inside the write: a transaction that
//! notifies holds a cluster-wide lock until its commit is flushed, which made every
//! source write of every process commit one at a time (migration 9).

use ctxd_domain::{
    ids::SourceId,
    ports::{SourceChange, SourceEvents},
};
use futures_util::{StreamExt, stream::BoxStream};
use sea_orm::DatabaseConnection;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const CHANNEL: &str = "ctxd_sources";

/// How often subscribers are told to look again when the feed misses other processes
/// (SQLite: another process on the same file writes unseen).
const FALLBACK_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// How often subscribers are told to look again when the feed covers every process: a
/// writer publishes its notices just after its commit, so one that died in between
/// took them with it.
const SAFETY_POLL: std::time::Duration = std::time::Duration::from_secs(30);

/// Notices buffered per subscriber before it is told it missed some.
const CAPACITY: usize = 1024;

/// Most notices sent by one publishing statement.
const PUBLISH_BATCH: usize = 512;

/// How long the publisher waits after a change for others to join its batch. Under
/// load changes arrive in a steady stream, and without the wait nearly every change
/// was a statement and a transaction of its own (about one per refresh in `bench
/// fetch`); a watcher hears of a change this much later.
const PUBLISH_LINGER: std::time::Duration = std::time::Duration::from_millis(5);

/// One round trip for a batch of notices. The notices' own transaction must not wait
/// for its commit to be flushed: it holds Postgres's notify lock until then, and
/// nothing is lost if a crash drops it (listeners reconnect and are told they may
/// have missed notices).
const PUBLISH: &str = "SELECT count(pg_notify('ctxd_sources', id))
    FROM set_config('synchronous_commit', 'off', true) AS unflushed, unnest($1::text[]) AS id";

/// Publishes and fans out source changes; shared (in an `Arc`) by every store of one
/// [`crate::Database`]. Dropping the last store stops the `LISTEN` task, which then
/// gives its pool connection back, and lets the publisher send what it holds and end.
#[derive(Debug)]
pub struct Events {
    sender: broadcast::Sender<Uuid>,
    /// Postgres: changes waiting for the publisher.
    outbox: Option<mpsc::UnboundedSender<Uuid>>,
    stop: CancellationToken,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Events {
    /// The feed of `connection`'s database. On Postgres this starts the process's
    /// `LISTEN` connection (it reconnects by itself; on a reconnect notices may have
    /// been lost, so subscribers are told) and the publisher.
    pub(crate) fn start(connection: &DatabaseConnection, postgres: bool) -> Self {
        let sender = broadcast::channel(CAPACITY).0;
        let stop = CancellationToken::new();
        if !postgres {
            return Self { sender, outbox: None, stop };
        }
        let pool = connection.get_postgres_connection_pool().clone();
        let relayed = sender.clone();
        let listening = stop.clone();
        let listen_pool = pool.clone();
        tokio::spawn(async move {
            // Whatever the task is waiting on, a stop ends it: the listener (and its
            // connection) is dropped, never reused, so no wait needs to be cancel-safe.
            let _ = listening.run_until_cancelled(relay(listen_pool, relayed)).await;
        });
        let (outbox, pending) = mpsc::unbounded_channel();
        tokio::spawn(publish(pool, pending, sender.clone()));
        Self { sender, outbox: Some(outbox), stop }
    }

    /// Announces that source `id` changed, after its write committed: on Postgres to
    /// the publisher, on SQLite straight to the in-process subscribers.
    pub(crate) fn changed(&self, id: Uuid) {
        match &self.outbox {
            Some(outbox) => {
                let _ = outbox.send(id);
            }
            None => {
                let _ = self.sender.send(id);
            }
        }
    }
}

impl SourceEvents for crate::SeaStore {
    fn subscribe(&self) -> BoxStream<'static, SourceChange> {
        let notices = BroadcastStream::new(self.events.sender.subscribe()).map(|item| match item {
            Ok(id) if !id.is_nil() => SourceChange::Changed(SourceId::from(id)),
            Ok(_) | Err(BroadcastStreamRecvError::Lagged(_)) => SourceChange::Missed,
        });
        let poll = if self.sees_other_processes() { SAFETY_POLL } else { FALLBACK_POLL };
        let looks = futures_util::stream::unfold((), move |()| async move {
            tokio::time::sleep(poll).await;
            Some((SourceChange::Missed, ()))
        })
        // Both halves end with the feed, so a subscriber sees the end.
        .take_until(self.events.stop.clone().cancelled_owned());
        futures_util::stream::select(notices, looks).boxed()
    }
}

impl crate::SeaStore {
    /// Whether changes made by other processes reach the feed (Postgres).
    fn sees_other_processes(&self) -> bool {
        self.events.outbox.is_some()
    }
}

/// Sends the changes announced by this process as notices, a batch per statement:
/// the changes that arrive within [`PUBLISH_LINGER`] of the first, or while one batch
/// is in flight, go out together.
/// A batch that cannot be sent is retried; if it still fails, this process's
/// subscribers are told they may have missed notices. Ends when the last store is
/// dropped and everything announced was sent.
async fn publish(pool: sqlx::PgPool, mut pending: mpsc::UnboundedReceiver<Uuid>, local: broadcast::Sender<Uuid>) {
    let mut ids = Vec::with_capacity(PUBLISH_BATCH);
    while pending.recv_many(&mut ids, PUBLISH_BATCH).await > 0 {
        if ids.len() < PUBLISH_BATCH {
            tokio::time::sleep(PUBLISH_LINGER).await;
            while ids.len() < PUBLISH_BATCH {
                let Ok(id) = pending.try_recv() else { break };
                ids.push(id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let payloads: Vec<String> = ids.drain(..).map(|id| id.to_string()).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Err(error) = sqlx::query(PUBLISH).bind(&payloads).execute(&pool).await else { break };
            if pool.is_closed() {
                return;
            }
            if attempt == 3 {
                tracing::warn!(%error, notices = payloads.len(), "source change notices could not be sent");
                let _ = local.send(Uuid::nil());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
        }
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
