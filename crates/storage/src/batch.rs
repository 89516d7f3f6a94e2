//! Group execution for the queue's hot statements: calls of one kind that arrive while
//! the previous batch is in flight are gathered and run as one statement, so many
//! workers claiming or finishing at once pay for one round trip and one commit.
//!
//! A call that arrives when nothing is in flight runs at once (a batch of one): the
//! grouping adds no waiting, it only shares the waiting that already happens.

use std::future::Future;

use ctxd_domain::{Error, ErrorKind, Result};
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

    /// A batcher whose batches are one statement each on `db`: `statement` gets the
    /// pool and the batch's requests. Nothing is handed back for callers that stopped
    /// waiting (reads and writes whose outcome nobody holds on to).
    pub(crate) fn statements<Statement, Fut>(db: &sea_orm::DatabaseConnection, max: usize, statement: Statement) -> Self
    where
        Statement: Fn(sea_orm::DatabaseConnection, Vec<Req>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<Resp>>> + Send,
    {
        let db = db.clone();
        Self::spawn(max, move |requests| statement(db.clone(), requests), |_| {})
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
    db: &sea_orm::DatabaseConnection,
    statement: sea_orm::Statement,
    count: usize,
    decode: impl Fn(&sea_orm::QueryResult) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    use sea_orm::ConnectionTrait;
    let mut found: Vec<Option<T>> = std::iter::repeat_with(|| None).take(count).collect();
    for row in db.query_all_raw(statement).await.map_err(crate::map_db_err)? {
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
/// batched statement only fails as unavailable or internal).
fn copy(error: &Error) -> Error {
    let cause = match std::error::Error::source(error) {
        Some(source) => source.to_string(),
        None => error.to_string(),
    };
    match error.kind() {
        ErrorKind::Unavailable => Error::Unavailable(cause.into()),
        _ => Error::internal(cause),
    }
}

#[cfg(test)]
mod tests {
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
}
