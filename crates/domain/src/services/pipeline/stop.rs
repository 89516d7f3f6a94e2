//! How a run is told to stop: the worker's [`StopSignal`] (a cancel request or a lost
//! lease), checked between stages and awaited during a fetch.

use super::*;

/// Set by the worker when the run must stop at its next checkpoint; a fetch in
/// progress is abandoned at once.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl StopSignal {
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once [`StopSignal::stop`] was called.
    pub fn stopped(&self) -> Stopped<'_> {
        Stopped(self)
    }
}

/// The future returned by [`StopSignal::stopped`].
#[derive(Debug)]
pub struct Stopped<'a>(&'a StopSignal);

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        // Register before checking, so a stop between the two cannot be missed.
        self.0.waker.register(cx.waker());
        if self.0.is_stopped() { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// Ends the run as CANCELED if it was told to stop.
pub(super) fn checkpoint(stop: &StopSignal) -> Result<(), Stop> {
    if stop.is_stopped() { Err(Stop::Canceled) } else { Ok(()) }
}
