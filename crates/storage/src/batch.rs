//! Group execution for the queue's hot statements: calls of one kind that arrive while
//! the previous batch is in flight are gathered and run as one statement, so many
//! workers claiming or finishing at once pay for one round trip and one commit.
//!
//! A call that arrives when nothing is in flight runs at once (a batch of one): the
//! grouping adds no waiting, it only shares the waiting that already happens.

use std::future::Future;
use std::time::{Duration, Instant};

use ctxd_domain::{Error, Result};
use tokio::sync::{mpsc, oneshot};

type Call<Req, Resp> = (Req, oneshot::Sender<Result<Resp>>);

/// Hands requests to one task that runs them in batches of at most `max`.
#[derive(Debug)]
pub(crate) struct Batcher<Req, Resp> {
    sender: mpsc::UnboundedSender<Call<Req, Resp>>,
}

impl<Req: Send + 'static, Resp: Send + 'static> Batcher<Req, Resp> {
    /// Starts the batch task. `run` answers a batch with one response per request, in
    /// order. `undelivered` gets a response whose caller stopped waiting (its future
    /// was dropped), so what it holds, such as a claimed run, can be handed back. The
    /// task ends when the last [`Batcher`] handle is dropped.
    pub(crate) fn spawn<Run, Fut, Undelivered>(max: usize, mut run: Run, undelivered: Undelivered) -> Self
    where
        Run: FnMut(Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Resp>>> + Send,
        Undelivered: Fn(Resp) + Send + 'static,
    {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Call<Req, Resp>>();
        tokio::spawn(async move {
            let mut calls = Vec::with_capacity(max);
            while receiver.recv_many(&mut calls, max).await > 0 {
                let (requests, replies): (Vec<Req>, Vec<_>) = calls.drain(..).unzip();
                let expected = requests.len();
                match run(requests).await {
                    Ok(responses) if responses.len() == expected => {
                        for (reply, response) in replies.into_iter().zip(responses) {
                            if let Err(Ok(response)) = reply.send(Ok(response)) {
                                undelivered(response);
                            }
                        }
                    }
                    Ok(responses) => {
                        let error = format!("a batch of {expected} got {} answers", responses.len());
                        for reply in replies {
                            let _ = reply.send(Err(Error::internal(&error)));
                        }
                    }
                    Err(error) => {
                        for reply in replies {
                            let _ = reply.send(Err(copy(&error)));
                        }
                    }
                }
            }
        });
        Self { sender }
    }

    /// A batcher whose batches are one statement each on a [`Lane`] of `db`'s:
    /// `statement` gets the lane and the batch's requests. Nothing is handed back for
    /// callers that stopped waiting (reads and writes whose outcome nobody holds on to).
    pub(crate) fn statements<Statement, Fut>(db: &sea_orm::DatabaseConnection, max: usize, statement: Statement) -> Self
    where
        Statement: Fn(Lane, Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Resp>>> + Send,
    {
        let lane = Lane::new(db);
        Self::spawn(max, move |requests| statement(lane.clone(), requests), |_| {})
    }

    /// Runs `request` in the next batch.
    ///
    /// # Errors
    /// The batch's error, or [`Error::Unavailable`] when the batch task is gone.
    pub(crate) async fn call(&self, request: Req) -> Result<Resp> {
        let (reply, answer) = oneshot::channel();
        self.sender.send((request, reply)).map_err(|_| Error::Unavailable("the batch task has stopped".into()))?;
        answer.await.map_err(|_| Error::Unavailable("the batch task has stopped".into()))?
    }
}

/// Runs a batch statement whose rows carry `batch_n` (the 1-based position of the
/// request they answer) and returns one answer per request, `None` where no row
/// answered it.
pub(crate) async fn answers<T>(
    lane: &Lane,
    statement: sea_orm::Statement,
    count: usize,
    decode: impl Fn(&sea_orm::QueryResult) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    let mut found: Vec<Option<T>> = std::iter::repeat_with(|| None).take(count).collect();
    for row in lane.query_all(statement).await? {
        let n: i64 = row.try_get("", "batch_n").map_err(crate::map_db_err)?;
        let slot = usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| found.get_mut(i));
        match slot {
            Some(slot) => *slot = Some(decode(&row)?),
            None => return Err(Error::internal(format!("a batch row answered request {n} of {count}"))),
        }
    }
    Ok(found)
}

/// The same failure for every caller of a batch (domain errors are not `Clone`; a
/// batched statement fails as unavailable, as a lock conflict Postgres broke, or as
/// internal).
fn copy(error: &Error) -> Error {
    let cause = match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => error.to_string(),
    };
    match error {
        Error::Unavailable(_) => Error::Unavailable(cause.into()),
        // Rolled back whole: each caller may send its request again.
        Error::Conflict(message) => Error::Conflict(message.clone()),
        _ => Error::internal(cause),
    }
}

/// A Postgres connection one batch task keeps to itself.
///
/// Through the pool, every statement ends with the connection's return, and sqlx
/// tests each returned connection with a round trip of its own (a `Sync` and its
/// answer, from a spawned task; no setting turns it off). A batch task runs one
/// statement at a time, so it can hold one connection instead: no acquire, no
/// return, no test, and the connection's prepared statements stay warm. The
/// connection is taken from the pool and detached from it, so the pool's size is
/// unchanged for everyone else. Postgres only, as the batchers are.
#[derive(Debug, Clone)]
pub(crate) struct Lane {
    pool: sea_orm::DatabaseConnection,
    held: std::sync::Arc<tokio::sync::Mutex<Option<Held>>>,
}

#[derive(Debug)]
struct Held {
    connection: sqlx::PgConnection,
    used: Instant,
}

/// A lane idle this long is tested before its next statement, as the pool tests an
/// idle connection before handing it out (see [`crate::Database::connect`]).
const IDLE_TEST_AFTER: Duration = Duration::from_secs(10);

impl Lane {
    /// A lane of `pool`'s; it connects at its first statement.
    pub(crate) fn new(pool: &sea_orm::DatabaseConnection) -> Self {
        Self { pool: pool.clone(), held: std::sync::Arc::default() }
    }

    /// Runs `statement` on the lane's connection and returns its rows.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no connection could be had or it broke during the
    /// statement (the connection is then dropped and the next statement opens
    /// another); the mapped database error when the server refused the statement.
    pub(crate) async fn query_all(&self, statement: sea_orm::Statement) -> Result<Vec<sea_orm::QueryResult>> {
        let mut held = self.held.lock().await;
        // Taken out while the statement runs: if this future is dropped mid-statement,
        // the connection, in an unknown state, is dropped with it.
        let mut connection = match held.take() {
            // After a connection failure anywhere in the process (an outage), a held
            // connection may be to the server that went away: tested, like the pool's.
            Some(Held { connection, used }) if used.elapsed() < IDLE_TEST_AFTER && !crate::connections_suspect() => {
                connection
            }
            Some(Held { mut connection, .. }) => match sqlx::Connection::ping(&mut connection).await {
                Ok(()) => connection,
                Err(_) => self.connect().await?,
            },
            None => self.connect().await?,
        };
        let values = sea_query_sqlx::SqlxValues(statement.values.unwrap_or(sea_orm::Values(Vec::new())));
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(statement.sql), values).fetch_all(&mut connection).await;
        match rows {
            Ok(rows) => {
                *held = Some(Held { connection, used: Instant::now() });
                Ok(rows.into_iter().map(sea_orm::QueryResult::from).collect())
            }
            // The server refused the statement and the session goes on: the connection
            // is in a known state and stays.
            Err(error) if !ends_session(&error) => {
                *held = Some(Held { connection, used: Instant::now() });
                Err(crate::map_db_err(sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(error.into()))))
            }
            Err(error) => Err(connection_error(error)),
        }
    }

    /// A connection taken out of the pool for good (the pool counts it no longer and
    /// may open another in its place).
    async fn connect(&self) -> Result<sqlx::PgConnection> {
        let pooled = self.pool.get_postgres_connection_pool().acquire().await.map_err(connection_error)?;
        Ok(pooled.detach())
    }
}

/// Whether `error` ended the database session: a connection failure, or a FATAL
/// error from the server (such as `pg_terminate_backend`).
fn ends_session(error: &sqlx::Error) -> bool {
    let Some(database) = error.as_database_error() else { return true };
    database.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_none_or(|error| {
        matches!(error.severity(), sqlx::postgres::PgSeverity::Fatal | sqlx::postgres::PgSeverity::Panic)
    })
}

/// A failure of the connection itself (as opposed to the server refusing a statement).
fn connection_error(error: sqlx::Error) -> Error {
    crate::map_db_err(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(error.into())))
}

#[cfg(test)]
mod tests {
    use ctxd_domain::ErrorKind;
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use super::*;

    #[tokio::test]
    async fn concurrent_calls_share_a_batch_and_each_gets_its_own_answer() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let batcher = Arc::new(Batcher::spawn(
            16,
            move |requests: Vec<u32>| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    // Long enough for the other callers to queue behind the first batch.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(requests.into_iter().map(|r| r * 10).collect())
                }
            },
            |_| {},
        ));
        let calls: Vec<_> = (1..=8u32)
            .map(|n| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.call(n).await })
            })
            .collect();
        for (n, call) in (1..=8u32).zip(calls) {
            assert_eq!(call.await.unwrap().unwrap(), n * 10);
        }
        assert!(batches.load(Ordering::SeqCst) < 8, "8 concurrent calls took {batches:?} batches");
    }

    #[tokio::test]
    async fn a_failed_batch_fails_every_call_in_it_with_the_same_kind() {
        let batcher: Batcher<u32, u32> =
            Batcher::spawn(16, |_| async { Err(Error::Unavailable("connection reset".into())) }, |_| {});
        let error = batcher.call(1).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unavailable);
    }

    #[tokio::test]
    async fn an_answer_nobody_waits_for_is_handed_back() {
        let (returned, mut handed_back) = mpsc::unbounded_channel();
        let batcher = Arc::new(Batcher::spawn(
            16,
            |requests: Vec<u32>| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(requests)
            },
            move |response| {
                let _ = returned.send(response);
            },
        ));
        let waiting = batcher.clone();
        let call = tokio::spawn(async move { waiting.call(7).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        call.abort();
        let back = tokio::time::timeout(Duration::from_secs(5), handed_back.recv()).await.unwrap();
        assert_eq!(back, Some(7));
    }

    #[test]
    fn a_lock_conflict_reaches_every_caller_as_a_conflict_to_send_again() {
        let copied = copy(&Error::Conflict(crate::CONTENTION.into()));
        assert!(matches!(&copied, Error::Conflict(message) if message == crate::CONTENTION), "{copied:?}");
        assert_eq!(copy(&Error::internal("boom")).kind(), ErrorKind::Internal);
    }
}
