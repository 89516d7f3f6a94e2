//! Watching one source: its state now, then each change of its status, run, retry
//! state or revision, as one stream that every transport serves (gRPC's
//! `WatchSource`, REST's event stream).
//!
//! The stream is driven by the change feed (`SourceEvents`), which also says "look
//! again" now and then where notices can be missed; a change is sent only when what a
//! watcher sees differs from what it was sent last.

use futures_util::{StreamExt, stream::BoxStream};
use sha2::{Digest, Sha256};

use super::SourceService;
use crate::{
    Error, Result,
    ids::SourceId,
    model::{Source, User},
    ports::SourceChange,
};

/// A watch that has something to say: the states to send, in order.
pub type SourceWatch = BoxStream<'static, Result<Source>>;

/// What identifies the state a watcher was sent: status, the last run (its id,
/// status, attempt, error and retry time, cancel request), revision and deletion.
/// Sent as the event id, so a client that reconnects says what it saw last.
pub fn event_id(source: &Source) -> String {
    let run = source.last_run.as_ref();
    let seen = format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        source.status.as_str(),
        run.map(|r| r.id.to_string()),
        run.map(|r| r.status.as_str()),
        run.map(|r| r.attempt),
        run.and_then(|r| r.error.as_deref()),
        run.and_then(|r| r.retry_at.map(|at| at.timestamp_millis())),
        run.map(|r| r.cancel_requested),
        source.revision,
        source.is_deleted(),
    );
    hex::encode(&Sha256::digest(seen.as_bytes())[..8])
}

/// Where a watch stands between two states it sent.
struct Watching {
    service: SourceService,
    user: User,
    id: SourceId,
    follow: bool,
    changes: BoxStream<'static, SourceChange>,
    /// The state read at the start, not sent yet.
    first: Option<Source>,
    /// The event id of the last state sent (or of the state the caller saw).
    last: Option<String>,
    ended: bool,
}

impl SourceService {
    /// Watches source `id`: its state now, then each change, ending after a final
    /// status (COMPLETED, FAILED, CANCELED) unless `follow`. A watcher that saw
    /// `seen` (an [`event_id`]) is not sent that state again.
    ///
    /// `Ok(None)` when there is nothing to say and nothing will come: the caller saw
    /// the source's current, final state and does not follow it.
    ///
    /// # Errors
    /// [`Error::NotFound`] (and the like) before the watch starts; a source deleted
    /// while watched ends the stream with [`Error::NotFound`].
    pub async fn watch(
        &self,
        user: &User,
        id: SourceId,
        follow: bool,
        seen: Option<String>,
    ) -> Result<Option<SourceWatch>> {
        // Subscribe first, then read: a change between the two is not lost.
        let changes = self.ports.events.subscribe();
        let first = self.get(user, id).await?;
        let repeated = seen.as_deref() == Some(event_id(&first).as_str());
        if repeated && first.status.is_final() && !follow {
            return Ok(None);
        }
        let watching = Watching {
            service: self.clone(),
            user: user.clone(),
            id,
            follow,
            changes,
            first: (!repeated).then_some(first),
            last: seen,
            ended: false,
        };
        Ok(Some(futures_util::stream::unfold(watching, next_state).boxed()))
    }
}

/// The next state to send, or the end of the watch.
async fn next_state(mut watching: Watching) -> Option<(Result<Source>, Watching)> {
    if watching.ended {
        return None;
    }
    if let Some(first) = watching.first.take() {
        return Some((Ok(watching.sent(first)), watching));
    }
    loop {
        match watching.changes.next().await? {
            SourceChange::Changed(changed) if changed != watching.id => continue,
            SourceChange::Changed(_) | SourceChange::Missed => {}
        }
        match watching.service.get(&watching.user, watching.id).await {
            Ok(source) if watching.last.as_deref() == Some(event_id(&source).as_str()) => {}
            Ok(source) => return Some((Ok(watching.sent(source)), watching)),
            Err(error @ Error::NotFound(_)) => {
                watching.ended = true;
                return Some((Err(error), watching));
            }
            // A passing failure (the database away): the next change or look tries again.
            Err(_) => {}
        }
    }
}

impl Watching {
    /// Records `source` as sent; the watch ends after a final status unless it follows.
    fn sent(&mut self, source: Source) -> Source {
        self.last = Some(event_id(&source));
        self.ended = source.status.is_final() && !self.follow;
        source
    }
}
