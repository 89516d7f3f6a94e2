//! The refresh scheduler: turns due INTERVAL policies into SCHEDULED_REFRESH runs,
//! and compositions whose members changed into rebuild runs (also
//! SCHEDULED_REFRESH: the system, not the user, asked for them).
//!
//! Safe with many scheduler processes at once: each source is enqueued through the
//! same compare-and-set save as a user's refresh, guarded on the status and the last
//! run as read, so when two schedulers see the same due source only the first save
//! wins and the other skips it, even when the first one's run already finished.

use std::sync::Arc;

use crate::{
    Result,
    model::{PageRequest, Run, RunFlags, RunKind, RunStatus, Source},
    ports::{Clock, Expected, RunQueue, RunWrite, SourceRepository},
    state::{Effect, Event},
};

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// Refresh runs queued.
    pub n_enqueued: usize,
    /// Due sources that already had work queued or running; their next time moved on.
    pub n_postponed: usize,
    /// Due sources another scheduler (or a request) changed first.
    pub n_lost_races: usize,
    /// Composition rebuilds queued.
    pub n_rebuilds: usize,
}

#[derive(Clone)]
pub struct Scheduler {
    sources: Arc<dyn SourceRepository>,
    runs: Arc<dyn RunQueue>,
    clock: Arc<dyn Clock>,
    /// Returns a number in `0.0..1.0` for the jitter; injectable for tests.
    jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").finish_non_exhaustive()
    }
}

/// How many failed runs in a row are looked at for the back-off (it caps at 5).
const FAILURE_WINDOW: u64 = 6;

impl Scheduler {
    pub fn new(
        sources: Arc<dyn SourceRepository>,
        runs: Arc<dyn RunQueue>,
        clock: Arc<dyn Clock>,
        jitter: Arc<dyn Fn() -> f64 + Send + Sync>,
    ) -> Self {
        Self { sources, runs, clock, jitter }
    }

    /// One pass over at most `limit` due sources.
    ///
    /// # Errors
    /// Storage failures; the next pass retries.
    pub async fn tick(&self, limit: u64) -> Result<Tick> {
        let now = self.clock.now();
        let mut tick = Tick::default();
        for mut source in self.sources.due_for_refresh(now, limit).await? {
            let expected = Expected::read(&source);
            let failures = self.consecutive_failures(&source).await?;
            source.refresh_policy.next_refresh_at = source.refresh_policy.next_due(now, failures, (self.jitter)());
            source.updated_at = now;
            // Only a source at rest gets a new run: never two queued or running runs.
            let run = match schedule(&mut source, now) {
                Scheduled::Queued(run) => RunWrite::Insert(*run),
                Scheduled::Coalesced | Scheduled::Busy => RunWrite::None,
            };
            let enqueued = matches!(run, RunWrite::Insert(_));
            match self.sources.save(&source, expected, run, None).await? {
                true if enqueued => tick.n_enqueued += 1,
                true => tick.n_postponed += 1,
                false => tick.n_lost_races += 1,
            }
        }
        self.rebuild(now, limit, &mut tick).await?;
        Ok(tick)
    }

    /// Queues a run for each composition whose members changed. A composition
    /// already PENDING will read the new member content when its run starts, so its
    /// request is done; one that is PROCESSING may have read the old content, so its
    /// request waits for the next pass.
    async fn rebuild(&self, now: chrono::DateTime<chrono::Utc>, limit: u64, tick: &mut Tick) -> Result<()> {
        for mut source in self.sources.due_for_rebuild(limit).await? {
            let expected = Expected::read(&source);
            match schedule(&mut source, now) {
                Scheduled::Queued(run) => {
                    source.updated_at = now;
                    if self.sources.save(&source, expected, RunWrite::Insert(*run), None).await? {
                        tick.n_rebuilds += 1;
                        self.sources.rebuild_queued(source.id).await?;
                    } else {
                        tick.n_lost_races += 1;
                    }
                }
                Scheduled::Coalesced => self.sources.rebuild_queued(source.id).await?,
                Scheduled::Busy => {}
            }
        }
        Ok(())
    }

    async fn consecutive_failures(&self, source: &Source) -> Result<u32> {
        let recent = self.runs.list_for_source(source.id, PageRequest { page: 1, per_page: FAILURE_WINDOW }).await?;
        let failures = recent
            .items
            .iter()
            .filter(|run| !run.is_active())
            .take_while(|run| run.status == RunStatus::Failed)
            .count();
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }
}

/// What a refresh the system asked for did to a source.
enum Scheduled {
    /// The source was at rest: it is PENDING now, with this run.
    Queued(Box<Run>),
    /// A run is already queued; it will do.
    Coalesced,
    /// A run is in progress (or the source cannot be refreshed now).
    Busy,
}

/// Applies a system-initiated refresh (refresh policy or composition rebuild) to
/// `source` through the state machine, queuing a SCHEDULED_REFRESH when it is at rest.
fn schedule(source: &mut Source, now: chrono::DateTime<chrono::Utc>) -> Scheduled {
    match source.status.apply(Event::Refresh).map(|t| t.effect) {
        Ok(Effect::StartRun) => {
            let run =
                Run::queued(source.id, source.user_id, RunKind::ScheduledRefresh, default_flags(source), None, now);
            source.status = crate::state::SourceStatus::Pending;
            source.message = None;
            source.last_run = Some(run.clone());
            Scheduled::Queued(Box::new(run))
        }
        Ok(Effect::CoalesceIntoQueuedRun) => Scheduled::Coalesced,
        _ => Scheduled::Busy,
    }
}

/// A scheduled refresh runs the phases the source was created with.
fn default_flags(source: &Source) -> RunFlags {
    RunFlags {
        run_context_extraction: source.run_context_extraction,
        run_artifact_extraction: source.run_artifact_extraction,
        ..RunFlags::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::Utc;
    use url::Url;

    use super::*;
    use crate::{
        ids::{SpaceId, UserId},
        model::{Page, RefreshMode, RefreshPolicy, SourceInput},
        ports::{MockClock, MockRunQueue, MockSourceRepository},
        services::test_ports::fixed_now,
        state::SourceStatus,
    };

    fn due_source(status: SourceStatus) -> Source {
        let input = SourceInput::Uri { url: Url::parse("https://example.com/").unwrap() };
        let flags = RunFlags { run_artifact_extraction: false, ..RunFlags::default() };
        let (mut source, mut first) = Source::submitted(UserId::new(), SpaceId::new(), input, flags, fixed_now());
        source.status = status;
        source.revision = Some(1);
        first.status = RunStatus::Completed;
        source.last_run = Some(first);
        source.refresh_policy = RefreshPolicy {
            mode: RefreshMode::Interval,
            interval_seconds: Some(600),
            next_refresh_at: Some(fixed_now()),
        };
        source
    }

    fn scheduler(sources: MockSourceRepository, failed_runs: usize) -> Scheduler {
        let mut runs = MockRunQueue::new();
        runs.expect_list_for_source().returning(move |source_id, request| {
            let items = (0..failed_runs)
                .map(|_| {
                    let mut run = Run::queued(
                        source_id,
                        UserId::new(),
                        RunKind::ScheduledRefresh,
                        RunFlags::default(),
                        None,
                        Utc::now(),
                    );
                    run.status = RunStatus::Failed;
                    run
                })
                .collect();
            Ok(Page { items, request, total: failed_runs as u64 })
        });
        let mut clock = MockClock::new();
        clock.expect_now().returning(fixed_now);
        Scheduler::new(Arc::new(sources), Arc::new(runs), Arc::new(clock), Arc::new(|| 0.0))
    }

    type Saved = Arc<Mutex<Vec<(Source, Expected, RunWrite)>>>;

    fn repository(due: Vec<Source>, save_result: bool) -> (MockSourceRepository, Saved) {
        let saved: Saved = Arc::default();
        let sink = saved.clone();
        let mut sources = MockSourceRepository::new();
        sources.expect_due_for_refresh().return_once(move |_, _| Ok(due));
        sources.expect_due_for_rebuild().returning(|_| Ok(Vec::new()));
        sources.expect_save().returning(move |source, expected, run, _| {
            sink.lock().unwrap().push((source.clone(), expected, run));
            Ok(save_result)
        });
        (sources, saved)
    }

    #[tokio::test]
    async fn due_sources_at_rest_get_a_scheduled_refresh_and_a_new_due_time() {
        let due = due_source(SourceStatus::Completed);
        let finished = due.last_run.as_ref().map(|run| run.id);
        let (sources, saved) = repository(vec![due], true);
        let tick = scheduler(sources, 0).tick(100).await.unwrap();
        assert_eq!(tick, Tick { n_enqueued: 1, ..Tick::default() });
        let (source, expected, write) = saved.lock().unwrap().pop().unwrap();
        // Guarded on the run read too: a second scheduler that read the same source
        // loses even after this run has finished and the status is COMPLETED again.
        assert_eq!(expected, Expected { status: SourceStatus::Completed, last_run: finished });
        assert_eq!(source.status, SourceStatus::Pending);
        assert_eq!(source.refresh_policy.next_refresh_at, Some(fixed_now() + chrono::Duration::seconds(600)));
        let RunWrite::Insert(run) = write else { panic!("expected a new run") };
        assert_eq!(run.kind, RunKind::ScheduledRefresh);
        assert!(!run.flags.run_artifact_extraction, "the source's own phase defaults");
    }

    #[tokio::test]
    async fn busy_sources_are_postponed_not_queued_twice() {
        let (sources, saved) =
            repository(vec![due_source(SourceStatus::Processing), due_source(SourceStatus::Pending)], true);
        let tick = scheduler(sources, 0).tick(100).await.unwrap();
        assert_eq!(tick, Tick { n_postponed: 2, ..Tick::default() });
        assert!(saved.lock().unwrap().iter().all(|(_, _, write)| matches!(write, RunWrite::None)));
    }

    #[tokio::test]
    async fn consecutive_failures_back_off() {
        let (sources, saved) = repository(vec![due_source(SourceStatus::Failed)], true);
        scheduler(sources, 2).tick(100).await.unwrap();
        let (source, _, _) = saved.lock().unwrap().pop().unwrap();
        assert_eq!(source.refresh_policy.next_refresh_at, Some(fixed_now() + chrono::Duration::seconds(2400)));
    }

    #[tokio::test]
    async fn a_lost_race_enqueues_nothing() {
        let (sources, _) = repository(vec![due_source(SourceStatus::Completed)], false);
        let tick = scheduler(sources, 0).tick(100).await.unwrap();
        assert_eq!(tick, Tick { n_lost_races: 1, ..Tick::default() });
    }

    #[tokio::test]
    async fn compositions_with_changed_members_get_a_rebuild_run_unless_busy() {
        let composition = |status| {
            let mut source = due_source(status);
            source.input = SourceInput::Composition { source_ids: vec![crate::ids::SourceId::new()] };
            source.refresh_policy = RefreshPolicy::default();
            source
        };
        let at_rest = composition(SourceStatus::Completed);
        let queued = composition(SourceStatus::Pending);
        let busy = composition(SourceStatus::Processing);
        let (at_rest_id, queued_id) = (at_rest.id, queued.id);
        let mut sources = MockSourceRepository::new();
        sources.expect_due_for_refresh().returning(|_, _| Ok(Vec::new()));
        let rebuilds = vec![at_rest, queued, busy];
        sources.expect_due_for_rebuild().return_once(move |_| Ok(rebuilds));
        let saved: Saved = Arc::default();
        let sink = saved.clone();
        sources.expect_save().returning(move |source, expected, run, _| {
            sink.lock().unwrap().push((source.clone(), expected, run));
            Ok(true)
        });
        let handled = Arc::new(Mutex::new(Vec::new()));
        let record = handled.clone();
        sources.expect_rebuild_queued().returning(move |id| {
            record.lock().unwrap().push(id);
            Ok(())
        });
        let tick = scheduler(sources, 0).tick(100).await.unwrap();
        assert_eq!(tick, Tick { n_rebuilds: 1, ..Tick::default() });
        let (source, _, write) = saved.lock().unwrap().pop().unwrap();
        assert_eq!((source.id, source.status), (at_rest_id, SourceStatus::Pending));
        let RunWrite::Insert(run) = write else { panic!("a rebuild run") };
        assert_eq!(run.kind, RunKind::ScheduledRefresh);
        assert_eq!(
            *handled.lock().unwrap(),
            [at_rest_id, queued_id],
            "the busy composition keeps its request for the next pass"
        );
    }
}
