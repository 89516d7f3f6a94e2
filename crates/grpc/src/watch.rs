//! `SourcesService.WatchSource`: the source now, then each change of its status or
//! run. Driven by the change feed (in-process, plus Postgres NOTIFY across
//! processes); where the feed cannot see other processes (SQLite), the watcher also
//! looks again every few seconds.

use std::{pin::Pin, time::Duration};

use ctxd_domain::{
    Error,
    ids::SourceId,
    model::{Source, User},
    ports::SourceChange,
    services::UseCases,
    state::SourceStatus,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::Status;

use crate::{convert, pb};

/// How often a watcher looks again when the feed misses other processes.
const FALLBACK_POLL: Duration = Duration::from_secs(2);

/// How often a watcher looks again when the feed covers every process: a writer
/// publishes its notices just after its commit, so one that died in between took
/// them with it.
const SAFETY_POLL: Duration = Duration::from_secs(30);

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::Source, Status>> + Send>>;

/// What a watcher reports a change of.
fn fingerprint(source: &Source) -> (SourceStatus, Option<String>, Option<String>, Option<u32>, bool) {
    let run = source.last_run.as_ref();
    (
        source.status,
        run.map(|r| r.id.to_string()),
        run.map(|r| r.status.as_str().to_owned()),
        source.revision,
        run.is_some_and(|r| r.cancel_requested),
    )
}

fn is_final(status: SourceStatus) -> bool {
    matches!(status, SourceStatus::Completed | SourceStatus::Failed | SourceStatus::Canceled)
}

/// Starts a watch; NOT_FOUND (and the like) are answered before the stream opens.
///
/// # Errors
/// The status of reading the source the first time.
pub async fn watch(use_cases: UseCases, user: User, id: SourceId, follow: bool) -> Result<WatchStream, Status> {
    // Subscribe first, then read: a change between the two is not lost.
    let mut changes = use_cases.sources.changes();
    let first = use_cases.sources.get(&user, id).await.map_err(convert::status)?;
    let poll = if use_cases.sources.changes_cover_other_processes() { SAFETY_POLL } else { FALLBACK_POLL };
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut last = fingerprint(&first);
        let done = is_final(first.status) && !follow;
        if sender.send(Ok(convert::source(first))).await.is_err() || done {
            return;
        }
        let mut ticker = tokio::time::interval(poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                change = changes.next() => match change {
                    Some(SourceChange::Changed(changed)) if changed != id => continue,
                    Some(_) => {}
                    // The feed is gone (the store shut down): end the watch.
                    None => return,
                },
                _ = ticker.tick() => {}
                () = sender.closed() => return,
            }
            let source = match use_cases.sources.get(&user, id).await {
                Ok(source) => source,
                Err(error @ Error::NotFound(_)) => {
                    let _ = sender.send(Err(convert::status(error))).await;
                    return;
                }
                // A passing database failure: the next change or tick tries again.
                Err(error) => {
                    tracing::warn!(%error, "watch could not read the source");
                    continue;
                }
            };
            let now = fingerprint(&source);
            if now == last {
                continue;
            }
            last = now;
            let done = is_final(source.status) && !follow;
            if sender.send(Ok(convert::source(source))).await.is_err() || done {
                return;
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(receiver)))
}
