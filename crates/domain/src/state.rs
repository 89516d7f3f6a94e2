//! The source status machine: every status change of a source goes through
//! [`SourceStatus::apply`], so the allowed and forbidden transitions live in one table.
//!
//! ```text
//! CREATED ──submit──▶ PENDING ──claim──▶ PROCESSING ──succeed──▶ COMPLETED
//!    │                 │  ▲ ▲               │  │  └──fail──────▶ FAILED
//!    │                 │  │ └──retry────────┘  └──stop────────▶ CANCELED
//!    └──cancel──▶ CANCELED ◀──cancel─┘  └─ refresh (coalesced)
//! COMPLETED, FAILED ──refresh/reprocess/fast-forward──▶ PENDING
//! CANCELED ──refresh──▶ PENDING
//! ```

use crate::{Error, model::wire_enum};

wire_enum!(
    SourceStatus {
        Created => "CREATED",
        Pending => "PENDING",
        Processing => "PROCESSING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Canceled => "CANCELED",
    }
);

/// Something that wants to change a source's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The first run of a new source is queued.
    Submit,
    /// `POST .../refresh` (or the scheduler).
    Refresh,
    /// `POST .../reprocess`.
    Reprocess,
    /// `POST .../fast-forward`.
    FastForward,
    /// `POST .../cancel` or a soft delete.
    Cancel,
    /// A worker claims the queued run.
    Claim,
    /// The run finished well.
    Succeed,
    /// The run failed for good.
    Fail,
    /// The worker stopped at a checkpoint after a cancel request.
    Stop,
    /// The run goes back to the queue (lease lost, transient failure).
    Retry,
}

impl Event {
    fn verb(self) -> &'static str {
        match self {
            Event::Submit => "submit",
            Event::Refresh => "refresh",
            Event::Reprocess => "reprocess",
            Event::FastForward => "fast-forward",
            Event::Cancel => "cancel",
            Event::Claim => "claim",
            Event::Succeed => "complete",
            Event::Fail => "fail",
            Event::Stop => "stop",
            Event::Retry => "retry",
        }
    }
}

/// What the caller must do besides storing the new status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Queue a new run.
    StartRun,
    /// Fold the request into the run already queued.
    CoalesceIntoQueuedRun,
    /// Take the queued run out of the queue (it never started).
    CancelQueuedRun,
    /// Ask the worker holding the run to stop at its next checkpoint.
    RequestCancel,
    /// Only the status changes.
    None,
}

/// An allowed transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: SourceStatus,
    pub effect: Effect,
}

impl SourceStatus {
    /// The transition `event` causes from this status.
    ///
    /// # Errors
    /// [`Error::Conflict`] naming the current status when `event` is not allowed here.
    pub fn apply(self, event: Event) -> Result<Transition, Error> {
        use SourceStatus::*;
        let go = |to, effect| Ok(Transition { to, effect });
        match (self, event) {
            (Created, Event::Submit) => go(Pending, Effect::StartRun),
            (Completed | Failed | Canceled, Event::Refresh) => go(Pending, Effect::StartRun),
            (Pending, Event::Refresh) => go(Pending, Effect::CoalesceIntoQueuedRun),
            (Completed | Failed, Event::Reprocess | Event::FastForward) => go(Pending, Effect::StartRun),
            (Created | Pending, Event::Cancel) => go(Canceled, Effect::CancelQueuedRun),
            (Processing, Event::Cancel) => go(Processing, Effect::RequestCancel),
            (Pending, Event::Claim) => go(Processing, Effect::None),
            (Processing, Event::Succeed) => go(Completed, Effect::None),
            (Processing, Event::Fail) => go(Failed, Effect::None),
            (Processing, Event::Stop) => go(Canceled, Effect::None),
            (Processing, Event::Retry) => go(Pending, Effect::None),
            (from, event) => Err(Error::Conflict(format!("cannot {} a source whose status is {from}", event.verb()))),
        }
    }

    /// COMPLETED, FAILED and CANCELED: no work is queued or running.
    pub fn is_final(self) -> bool {
        matches!(self, SourceStatus::Completed | SourceStatus::Failed | SourceStatus::Canceled)
    }
}

#[cfg(test)]
mod tests {
    use super::{Effect::*, Event::*, SourceStatus::*, *};

    const EVENTS: [Event; 10] = [Submit, Refresh, Reprocess, FastForward, Cancel, Claim, Succeed, Fail, Stop, Retry];

    /// The whole table: every (status, event) pair that is allowed, with its result.
    /// Anything not listed must be a conflict.
    const ALLOWED: &[(SourceStatus, Event, SourceStatus, Effect)] = &[
        (Created, Submit, Pending, StartRun),
        (Created, Cancel, Canceled, CancelQueuedRun),
        (Pending, Refresh, Pending, CoalesceIntoQueuedRun),
        (Pending, Cancel, Canceled, CancelQueuedRun),
        (Pending, Claim, Processing, None),
        (Processing, Cancel, Processing, RequestCancel),
        (Processing, Succeed, Completed, None),
        (Processing, Fail, Failed, None),
        (Processing, Stop, Canceled, None),
        (Processing, Retry, Pending, None),
        (Completed, Refresh, Pending, StartRun),
        (Completed, Reprocess, Pending, StartRun),
        (Completed, FastForward, Pending, StartRun),
        (Failed, Refresh, Pending, StartRun),
        (Failed, Reprocess, Pending, StartRun),
        (Failed, FastForward, Pending, StartRun),
        (Canceled, Refresh, Pending, StartRun),
    ];

    #[test]
    fn every_allowed_transition_of_the_contract() {
        for &(from, event, to, effect) in ALLOWED {
            assert_eq!(from.apply(event).unwrap(), Transition { to, effect }, "{from} + {event:?}");
        }
    }

    #[test]
    fn every_other_transition_is_a_conflict_naming_the_status() {
        for &from in SourceStatus::ALL {
            for event in EVENTS {
                if ALLOWED.iter().any(|&(f, e, _, _)| f == from && e == event) {
                    continue;
                }
                let error = from.apply(event).unwrap_err();
                assert!(matches!(error, Error::Conflict(_)), "{from} + {event:?} must be refused");
                assert!(error.to_string().contains(from.as_str()), "message must name {from}: {error}");
            }
        }
    }

    #[test]
    fn contract_examples() {
        // "reprocess while PROCESSING" is the contract's example of a 409.
        assert!(Processing.apply(Reprocess).is_err());
        // Refresh from CREATED or PROCESSING is 409; reprocess from CANCELED too.
        assert!(Created.apply(Refresh).is_err());
        assert!(Processing.apply(Refresh).is_err());
        assert!(Canceled.apply(Reprocess).is_err());
        assert!(Completed.apply(Cancel).is_err());
    }

    #[test]
    fn final_statuses() {
        let finals: Vec<_> = SourceStatus::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [&Completed, &Failed, &Canceled]);
    }
}
