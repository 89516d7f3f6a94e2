//! Runs: one processing attempt of a source (initial, refresh, reprocess, ...).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SourceInput, wire_enum};
use crate::ids::{RunId, SourceId, UserId};

wire_enum!(
    /// What started the run.
    RunKind {
        Initial => "INITIAL",
        Refresh => "REFRESH",
        ScheduledRefresh => "SCHEDULED_REFRESH",
        Reprocess => "REPROCESS",
        FastForward => "FAST_FORWARD",
    }
);

wire_enum!(
    RunStatus {
        Pending => "PENDING",
        Processing => "PROCESSING",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Canceled => "CANCELED",
    }
);

wire_enum!(
    /// What a finished run did to the source's content.
    RunOutcome { Changed => "CHANGED", Unchanged => "UNCHANGED", Gone => "GONE" }
);

/// The options a run was requested with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFlags {
    pub run_context_extraction: bool,
    pub run_artifact_extraction: bool,
    /// Refresh only: re-extract even when the content did not change.
    pub force: bool,
    /// Reprocess only: replace outputs (true) or keep artifacts and add new ones (false).
    pub update_existing: bool,
}

impl Default for RunFlags {
    fn default() -> Self {
        Self { run_context_extraction: true, run_artifact_extraction: true, force: false, update_existing: true }
    }
}

impl RunFlags {
    /// Merges a second request into a queued run: whatever either asked for is done.
    pub fn coalesce(self, other: RunFlags) -> RunFlags {
        RunFlags {
            run_context_extraction: self.run_context_extraction || other.run_context_extraction,
            run_artifact_extraction: self.run_artifact_extraction || other.run_artifact_extraction,
            force: self.force || other.force,
            update_existing: self.update_existing || other.update_existing,
        }
    }
}

/// Milliseconds spent per pipeline stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTimings {
    pub fetch: Option<u64>,
    pub normalize: Option<u64>,
    pub context: Option<u64>,
    pub artifacts: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: RunId,
    pub source_id: SourceId,
    pub user_id: UserId,
    pub kind: RunKind,
    pub status: RunStatus,
    pub outcome: Option<RunOutcome>,
    pub flags: RunFlags,
    /// Fast-forward only: the new material to ingest.
    pub input: Option<SourceInput>,
    /// How many times a worker has claimed the run (0 while queued for the first time).
    pub attempt: u32,
    pub error: Option<String>,
    /// When a run that failed transiently and waits in the queue may be tried again
    /// (`error` says why the last attempt failed); `None` for every other run.
    pub retry_at: Option<DateTime<Utc>>,
    /// Set when a cancel arrives while a worker holds the run; the worker stops at its
    /// next checkpoint.
    pub cancel_requested: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub timings: StageTimings,
}

impl Run {
    /// A new queued run.
    pub fn queued(
        source_id: SourceId,
        user_id: UserId,
        kind: RunKind,
        flags: RunFlags,
        input: Option<SourceInput>,
        now: DateTime<Utc>,
    ) -> Self {
        Run {
            id: RunId::new(),
            source_id,
            user_id,
            kind,
            status: RunStatus::Pending,
            outcome: None,
            flags,
            input,
            attempt: 0,
            error: None,
            retry_at: None,
            cancel_requested: false,
            queued_at: now,
            started_at: None,
            finished_at: None,
            timings: StageTimings::default(),
        }
    }

    pub fn is_active(&self) -> bool {
        matches!(self.status, RunStatus::Pending | RunStatus::Processing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_ors_every_flag() {
        let queued = RunFlags {
            run_context_extraction: false,
            run_artifact_extraction: true,
            force: false,
            update_existing: true,
        };
        let second = RunFlags {
            run_context_extraction: true,
            run_artifact_extraction: false,
            force: true,
            update_existing: false,
        };
        assert_eq!(
            queued.coalesce(second),
            RunFlags {
                run_context_extraction: true,
                run_artifact_extraction: true,
                force: true,
                update_existing: true
            }
        );
    }
}
