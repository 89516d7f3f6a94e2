//! Handing a just-accepted run straight to an idle worker of the same process.
//!
//! A worker with nothing to do waits here as well as polling the queue. A request
//! that queues a run (refresh, reprocess, fast-forward) first reserves one of these
//! waiting workers; if it gets one, it stores the run already leased to that worker
//! and the source already PROCESSING, in the same statement that accepts the request,
//! and hands the run over in memory. The run then needs no claim: no search of the
//! queue, no PENDING → PROCESSING write, no second read of the source. Claiming was
//! about a third of the database's work per unchanged refresh (ARCHITECTURE.md).
//!
//! Nothing durable depends on the handover: the stored lease is the same as a
//! claim's, so if this process dies before or during the run, the lease expires and
//! any worker reclaims it.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures_channel::oneshot;

use crate::model::{Run, RunStatus, Source};

/// A run handed over by the request that accepted it: what a claim would have read.
#[derive(Debug, Clone, PartialEq)]
pub struct HandedRun {
    /// PROCESSING, leased to the worker it was handed to.
    pub run: Run,
    /// PROCESSING, with `run` as its last run, as the request stored it.
    pub source: Source,
    /// The status of the source's run before this one (see `RunSubject::previous`).
    pub previous: Option<RunStatus>,
}

/// The rendezvous of one process. Cloning shares it. A process without workers has
/// one nobody waits on, so every reservation fails and runs are queued as usual.
#[derive(Debug, Clone, Default)]
pub struct Handoff(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    idle: Mutex<Vec<Idle>>,
    next_ticket: AtomicU64,
    /// Set when a run was queued while no worker waited: the next worker to go idle
    /// claims at once instead (see [`Handoff::queued`]).
    queued: AtomicBool,
}

#[derive(Debug)]
struct Idle {
    ticket: u64,
    worker: String,
    lease: Duration,
    sender: oneshot::Sender<HandedRun>,
}

impl Handoff {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `worker` as idle until the returned [`Waiting`] resolves, is
    /// withdrawn, or is dropped. `lease` is how long the worker's claims last; a run
    /// handed to it is stored with the same lease.
    ///
    /// When a run was queued in the meantime for want of an idle worker, the wait
    /// ends at once (with nothing), so the worker claims it.
    pub fn wait(&self, worker: &str, lease: Duration) -> Waiting {
        let (sender, receiver) = oneshot::channel();
        let ticket = self.0.next_ticket.fetch_add(1, Ordering::Relaxed);
        if !self.0.queued.swap(false, Ordering::AcqRel) {
            self.idle().push(Idle { ticket, worker: worker.to_owned(), lease, sender });
        }
        Waiting { handoff: self.clone(), ticket, receiver }
    }

    /// Tells the workers that a run was queued (committed) without a reservation: a
    /// worker may have found the queue empty just before, and would otherwise leave
    /// the run until its next poll. Wakes one waiting worker to claim, or, when none
    /// waits, makes the next one to go idle claim first.
    pub fn queued(&self) {
        // Dropping the reservation unused is what wakes the worker with nothing.
        if self.reserve().is_none() {
            self.0.queued.store(true, Ordering::Release);
        }
    }

    /// Takes the most recently idle worker, if any is waiting. The worker waits for
    /// this reservation to be used or dropped, so a caller must do either promptly.
    pub fn reserve(&self) -> Option<Reservation> {
        let idle = self.idle().pop()?;
        Some(Reservation { worker: idle.worker, lease: idle.lease, sender: idle.sender })
    }

    /// How many workers are waiting (tests wait for their workers to go idle).
    pub fn idle_workers(&self) -> usize {
        self.idle().len()
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The lock guards plain pushes and pops: a panic cannot leave it half-changed.
        self.0.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes the waiter holding `ticket`; `false` when a request reserved it first.
    fn withdraw(&self, ticket: u64) -> bool {
        let mut idle = self.idle();
        match idle.iter().position(|waiting| waiting.ticket == ticket) {
            Some(index) => {
                idle.swap_remove(index);
                true
            }
            None => false,
        }
    }
}

/// An idle worker's place in the [`Handoff`]. As a future it resolves to the run
/// handed to it, or to `None` when a request reserved it and then did not hand it a
/// run (its save lost a race or failed).
#[derive(Debug)]
pub struct Waiting {
    handoff: Handoff,
    ticket: u64,
    receiver: oneshot::Receiver<HandedRun>,
}

impl Waiting {
    /// Stops waiting. A request may have reserved this worker just before: then the
    /// run it is storing for this worker is leased to it, so this waits for the
    /// request to hand it over (or give up) rather than leave it to the lease's expiry.
    pub async fn withdraw(mut self) -> Option<HandedRun> {
        if self.handoff.withdraw(self.ticket) {
            return None;
        }
        (&mut self.receiver).await.ok()
    }
}

impl Future for Waiting {
    type Output = Option<HandedRun>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver).poll(cx).map(Result::ok)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        // A worker that stops waiting without withdrawing (its task was aborted) must
        // not be reserved again.
        self.handoff.withdraw(self.ticket);
    }
}

/// A reserved idle worker.
#[derive(Debug)]
pub struct Reservation {
    worker: String,
    lease: Duration,
    sender: oneshot::Sender<HandedRun>,
}

impl Reservation {
    /// The worker's name, which the stored lease carries.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// How long the stored lease lasts.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Gives the run to the worker. Fails when the worker is gone (its task ended):
    /// the caller then puts the run back in the queue.
    pub fn hand(self, run: HandedRun) -> Result<(), WorkerGone> {
        self.sender.send(run).map_err(|_| WorkerGone)
    }
}

/// The reserved worker stopped before a run could be handed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerGone;

#[cfg(test)]
mod tests {
    use super::*;

    fn handed() -> HandedRun {
        let (source, run) = Source::submitted(
            crate::ids::UserId::new(),
            crate::ids::SpaceId::new(),
            crate::model::SourceInput::Content { data: "x".into() },
            crate::model::RunFlags::default(),
            chrono::Utc::now(),
        );
        HandedRun { run, source, previous: None }
    }

    #[tokio::test]
    async fn a_reserved_worker_receives_the_run_handed_to_it() {
        let handoff = Handoff::new();
        let waiting = handoff.wait("w1", Duration::from_secs(30));
        let reservation = handoff.reserve().expect("one worker is idle");
        assert_eq!((reservation.worker(), reservation.lease()), ("w1", Duration::from_secs(30)));
        assert!(handoff.reserve().is_none(), "a worker is reserved once");
        let run = handed();
        reservation.hand(run.clone()).expect("the worker is waiting");
        assert_eq!(waiting.await, Some(run));
    }

    #[tokio::test]
    async fn a_reservation_dropped_unused_wakes_the_worker_with_nothing() {
        let handoff = Handoff::new();
        let waiting = handoff.wait("w1", Duration::from_secs(30));
        drop(handoff.reserve());
        assert_eq!(waiting.await, None);
    }

    #[tokio::test]
    async fn a_worker_that_withdrew_is_never_reserved() {
        let handoff = Handoff::new();
        let waiting = handoff.wait("w1", Duration::from_secs(30));
        assert_eq!(waiting.withdraw().await, None);
        assert!(handoff.reserve().is_none());
        drop(handoff.wait("w2", Duration::from_secs(30)));
        assert!(handoff.reserve().is_none(), "dropping a wait withdraws it");
        assert_eq!(handoff.idle_workers(), 0);
    }

    #[tokio::test]
    async fn withdrawing_after_a_reservation_still_receives_the_run() {
        let handoff = Handoff::new();
        let waiting = handoff.wait("w1", Duration::from_secs(30));
        let reservation = handoff.reserve().expect("idle");
        let run = handed();
        let expected = run.clone();
        let withdraw = tokio::spawn(waiting.withdraw());
        tokio::task::yield_now().await;
        reservation.hand(run).expect("the withdrawing worker still listens");
        assert_eq!(withdraw.await.unwrap(), Some(expected));
    }

    #[tokio::test]
    async fn a_run_queued_while_no_worker_waited_is_claimed_by_the_next_idle_worker() {
        let handoff = Handoff::new();
        handoff.queued();
        assert_eq!(handoff.wait("w1", Duration::from_secs(30)).await, None, "go and claim");
        assert_eq!(handoff.idle_workers(), 0, "that worker did not register");
        let waiting = handoff.wait("w1", Duration::from_secs(30));
        assert_eq!(handoff.idle_workers(), 1, "the hint is used once");
        handoff.queued();
        assert_eq!(waiting.await, None, "a waiting worker is woken to claim");
        assert_eq!(handoff.idle_workers(), 0);
    }

    #[test]
    fn handing_to_a_worker_that_is_gone_gives_the_run_back() {
        let handoff = Handoff::new();
        let waiting = handoff.wait("w1", Duration::from_secs(30));
        let reservation = handoff.reserve().expect("idle");
        drop(waiting);
        assert!(reservation.hand(handed()).is_err());
    }
}
