//! Retention of the history that grows with every refresh and request: finished runs,
//! postback deliveries, idempotency keys and rate-limit rows. A pass deletes what is
//! past its retention in small batches (a bounded number of rows per statement, so no
//! statement holds locks for long), and keeps what the API promises: every source's
//! newest runs (at least its last run) and its newest successful run, every delivery
//! still pending, every idempotency key that can still be replayed.
//!
//! Old runs are visited by a sweep in id order (ids are creation-ordered) that carries
//! on where the previous pass stopped, so the runs a pass keeps are not read again by
//! the next one; the sweep starts again from the oldest run once a day, since a kept
//! run becomes deletable when its source gets newer ones. Revision outputs are pruned
//! when a revision's content is (see `pipeline`), not here.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::{
    Result,
    ids::RunId,
    ports::{HistoryStore, RunSweep},
    services::idempotency::KEY_LIFETIME,
};

/// How long the history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRetention {
    /// Finished runs older than this go, unless kept by `runs_per_source`.
    pub runs_for: chrono::Duration,
    /// A source's newest runs that stay whatever their age (at least 2: a refresh
    /// reads the run before it).
    pub runs_per_source: u32,
    /// Deliveries (delivered or given up) older than this go.
    pub deliveries_for: chrono::Duration,
}

impl Default for HistoryRetention {
    fn default() -> Self {
        Self { runs_for: chrono::Duration::days(90), runs_per_source: 50, deliveries_for: chrono::Duration::days(30) }
    }
}

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryPass {
    pub n_runs: u64,
    pub n_deliveries: u64,
    pub n_idempotency_keys: u64,
    pub n_rate_limits: u64,
}

impl HistoryPass {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Runs looked at per statement of the run sweep, and rows deleted per statement of
/// the others.
const BATCH: u64 = 1000;

/// Statements per table and pass: a pass over a long backlog ends (and lets the
/// process stop) after this many, and the next pass goes on.
const MAX_BATCHES: usize = 200;

/// How often the run sweep starts again from the oldest run.
const RESWEEP: chrono::Duration = chrono::Duration::days(1);

/// A rate-limit row idle this long is dropped (its budget is full again long before).
const RATE_LIMIT_IDLE: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Default)]
struct Sweep {
    after: Option<RunId>,
    started: Option<DateTime<Utc>>,
}

pub struct HistoryPurge {
    store: Arc<dyn HistoryStore>,
    retention: HistoryRetention,
    sweep: Mutex<Sweep>,
}

impl std::fmt::Debug for HistoryPurge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryPurge").field("retention", &self.retention).finish_non_exhaustive()
    }
}

impl HistoryPurge {
    pub fn new(store: Arc<dyn HistoryStore>, retention: HistoryRetention) -> Self {
        let retention = HistoryRetention { runs_per_source: retention.runs_per_source.max(2), ..retention };
        Self { store, retention, sweep: Mutex::new(Sweep::default()) }
    }

    /// Deletes everything past its retention at `now`, a batch at a time.
    ///
    /// # Errors
    /// Storage failures; what was deleted stays deleted, and the next pass goes on.
    pub async fn purge_due(&self, now: DateTime<Utc>) -> Result<HistoryPass> {
        let mut pass = HistoryPass { n_runs: self.purge_runs(now).await?, ..HistoryPass::default() };
        pass.n_deliveries =
            drain(|limit| self.store.purge_deliveries(now - self.retention.deliveries_for, limit)).await?;
        pass.n_idempotency_keys = drain(|limit| self.store.purge_idempotency_keys(now - KEY_LIFETIME, limit)).await?;
        let idle_before_us = (now - RATE_LIMIT_IDLE).timestamp_micros();
        pass.n_rate_limits = drain(|limit| self.store.purge_rate_limits(idle_before_us, limit)).await?;
        Ok(pass)
    }

    async fn purge_runs(&self, now: DateTime<Utc>) -> Result<u64> {
        let mut after = {
            let mut sweep = self.sweep.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if sweep.started.is_none_or(|started| now - started >= RESWEEP) {
                *sweep = Sweep { after: None, started: Some(now) };
            }
            sweep.after
        };
        let mut deleted = 0;
        for _ in 0..MAX_BATCHES {
            let sweep = RunSweep {
                after,
                queued_before: now - self.retention.runs_for,
                keep_per_source: self.retention.runs_per_source,
            };
            let step = self.store.purge_runs(sweep, BATCH).await?;
            deleted += step.deleted;
            if step.covered_to.is_some() {
                after = step.covered_to;
                self.sweep.lock().unwrap_or_else(std::sync::PoisonError::into_inner).after = after;
            }
            if step.reached_end {
                break;
            }
        }
        Ok(deleted)
    }
}

/// Calls `batch` until it deletes less than a full batch (or [`MAX_BATCHES`] times);
/// returns the total.
async fn drain<F, Fut>(batch: F) -> Result<u64>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<u64>>,
{
    let mut total = 0;
    for _ in 0..MAX_BATCHES {
        let n = batch(BATCH).await?;
        total += n;
        if n < BATCH {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ports::{MockHistoryStore, RunSweepStep},
        services::test_ports::fixed_now,
    };

    fn store_with_other_tables_empty() -> MockHistoryStore {
        let mut store = MockHistoryStore::new();
        store.expect_purge_deliveries().returning(|_, _| Ok(0));
        store.expect_purge_idempotency_keys().returning(|_, _| Ok(0));
        store.expect_purge_rate_limits().returning(|_, _| Ok(0));
        store
    }

    #[tokio::test]
    async fn the_run_sweep_resumes_where_the_last_pass_stopped_and_restarts_daily() {
        let mid = RunId::new();
        let end = RunId::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut store = store_with_other_tables_empty();
        let log = seen.clone();
        store.expect_purge_runs().returning(move |sweep, _| {
            log.lock().unwrap().push(sweep);
            Ok(match sweep.after {
                None => RunSweepStep { deleted: 3, covered_to: Some(mid), reached_end: false },
                Some(after) if after == mid => RunSweepStep { deleted: 1, covered_to: Some(end), reached_end: true },
                Some(_) => RunSweepStep { deleted: 0, covered_to: None, reached_end: true },
            })
        });
        let retention = HistoryRetention { runs_per_source: 1, ..HistoryRetention::default() };
        let purge = HistoryPurge::new(Arc::new(store), retention);

        let first = purge.purge_due(fixed_now()).await.unwrap();
        assert_eq!(first.n_runs, 4);
        let later = purge.purge_due(fixed_now() + chrono::Duration::hours(1)).await.unwrap();
        assert_eq!(later.n_runs, 0, "the next pass starts after the last run covered");
        purge.purge_due(fixed_now() + chrono::Duration::days(2)).await.unwrap();

        let seen = seen.lock().unwrap();
        let afters: Vec<Option<RunId>> = seen.iter().map(|sweep| sweep.after).collect();
        assert_eq!(afters, [None, Some(mid), Some(end), None, Some(mid)]);
        assert_eq!(seen[0].queued_before, fixed_now() - chrono::Duration::days(90));
        assert_eq!(seen[0].keep_per_source, 2, "a source keeps at least the run before its last");
    }

    #[tokio::test]
    async fn other_tables_are_drained_in_batches_with_their_own_cutoffs() {
        let mut store = MockHistoryStore::new();
        store
            .expect_purge_runs()
            .returning(|_, _| Ok(RunSweepStep { deleted: 0, covered_to: None, reached_end: true }));
        let calls = Arc::new(Mutex::new(0));
        let counter = calls.clone();
        store
            .expect_purge_deliveries()
            .withf(|before, _| *before == fixed_now() - chrono::Duration::days(30))
            .returning(move |_, limit| {
                let mut calls = counter.lock().unwrap();
                *calls += 1;
                Ok(if *calls == 1 { limit } else { 7 })
            });
        store
            .expect_purge_idempotency_keys()
            .withf(|before, _| *before == fixed_now() - KEY_LIFETIME)
            .returning(|_, _| Ok(2));
        store
            .expect_purge_rate_limits()
            .withf(|before, _| *before == (fixed_now() - chrono::Duration::hours(1)).timestamp_micros())
            .returning(|_, _| Ok(1));
        let purge = HistoryPurge::new(Arc::new(store), HistoryRetention::default());
        let pass = purge.purge_due(fixed_now()).await.unwrap();
        assert_eq!(pass, HistoryPass { n_runs: 0, n_deliveries: BATCH + 7, n_idempotency_keys: 2, n_rate_limits: 1 });
        assert_eq!(*calls.lock().unwrap(), 2, "a full batch is followed by another");
    }
}
