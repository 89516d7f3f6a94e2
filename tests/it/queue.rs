//! The run queue at the storage level: claim order, exclusive claims under
//! concurrency, lease expiry, finishing, and cascades.

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::{SubsecRound, Utc};
use ctxd_domain::{
    model::{Revision, Run, RunFlags, RunKind, RunStatus, Source, SourceInput, Space, User},
    ports::{Expected, Lease, RunFinish, RunQueue, RunWrite, SourceRepository, SpaceRepository},
    state::SourceStatus,
};
use ctxd_storage::SeaStore;
use ctxd_test_support::{TestDatabase, seed_account};

on_both_databases!(
    claims_are_exclusive_under_concurrency,
    simultaneous_claims_and_finishes_each_get_their_own_answer,
    simultaneous_claims_under_one_worker_name_each_get_a_run,
    expired_leases_are_reclaimed,
    runs_stored_leased_are_held_until_their_lease_expires,
    a_claim_carries_what_the_run_starts_from,
    finishing_is_once_only,
    deleting_a_space_removes_everything_in_it,
    measuring_a_claims_buffers_claims_nothing,
    postgres_keeps_room_for_source_updates_and_cleans_the_queues_indexes
);

struct Fixture {
    store: SeaStore,
    user: User,
    space: Space,
}

async fn fixture(db: &TestDatabase) -> Fixture {
    let store = db.connect().await.store();
    let (user, space) = seed_account(&store).await;
    Fixture { store, user, space }
}

/// Inserts a PENDING source with its queued run; returns the run.
async fn enqueue(f: &Fixture) -> Run {
    let input = SourceInput::Content { data: "x".into() };
    let (source, run) = Source::submitted(f.user.id, f.space.id, input, RunFlags::default(), Utc::now());
    SourceRepository::create(&f.store, &source, &run, None).await.unwrap();
    run
}

fn completed() -> RunFinish {
    RunFinish::status_only(RunStatus::Completed)
}

async fn claims_are_exclusive_under_concurrency(db: TestDatabase) {
    let f = fixture(&db).await;
    let mut queued = Vec::new();
    for _ in 0..40 {
        queued.push(enqueue(&f).await.id);
    }
    // The oldest run is claimed first.
    let first = RunQueue::claim(&f.store, "w0", Duration::from_secs(60)).await.unwrap().unwrap().run;
    assert_eq!(first.id, queued[0]);
    assert_eq!(first.status, RunStatus::Processing);
    assert_eq!(first.attempt, 1);
    let source = SourceRepository::get(&f.store, f.user.id, first.source_id).await.unwrap().unwrap();
    assert_eq!(source.status, SourceStatus::Processing, "the claim moves the source too");

    let store = Arc::new(f.store.clone());
    let mut workers = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(run) = RunQueue::claim(store.as_ref(), &format!("w{worker}"), Duration::from_secs(60))
                .await
                .unwrap()
                .map(|c| c.run)
            {
                mine.push(run.id);
            }
            mine
        }));
    }
    let mut claimed = vec![first.id];
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }
    let unique: HashSet<_> = claimed.iter().collect();
    assert_eq!(claimed.len(), 40, "every run claimed");
    assert_eq!(unique.len(), 40, "no run claimed twice");
}

/// Claims and finishes that arrive together share statements on Postgres: each caller
/// must still get its own run, leased to itself, and its own outcome.
async fn simultaneous_claims_and_finishes_each_get_their_own_answer(db: TestDatabase) {
    let f = fixture(&db).await;
    for _ in 0..12 {
        enqueue(&f).await;
    }
    let store = Arc::new(f.store.clone());
    let claims: Vec<_> = (0..16)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let worker = format!("w{n}");
                let run =
                    RunQueue::claim(store.as_ref(), &worker, Duration::from_secs(60)).await.unwrap().map(|c| c.run);
                (worker, run)
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claim in claims {
        let (worker, run) = claim.await.unwrap();
        if let Some(run) = run {
            claimed.push((worker, run));
        }
    }
    assert_eq!(claimed.len(), 12, "12 runs for 16 claimers: four get nothing");
    let unique: HashSet<_> = claimed.iter().map(|(_, run)| run.id).collect();
    assert_eq!(unique.len(), 12, "no run handed to two claimers");
    for (worker, run) in &claimed {
        let lease = RunQueue::heartbeat(store.as_ref(), run.id, worker, Duration::from_secs(60)).await.unwrap();
        assert!(lease.held, "{worker} holds the run it was given");
        let other = RunQueue::heartbeat(store.as_ref(), run.id, "someone-else", Duration::from_secs(60)).await.unwrap();
        assert!(!other.held, "nobody else does");
    }

    // Half finish COMPLETED, half FAILED, at once, plus a run that is not held.
    let (done, _) = claimed.split_at(6);
    let done: HashSet<_> = done.iter().map(|(_, run)| run.id).collect();
    let stray = enqueue(&f).await;
    let mut finishes = Vec::new();
    for run_id in claimed.iter().map(|(_, run)| run.id).chain([stray.id]) {
        let store = store.clone();
        let finish = if done.contains(&run_id) {
            completed()
        } else {
            RunFinish { error: Some("origin answered 500".into()), ..RunFinish::status_only(RunStatus::Failed) }
        };
        finishes.push(tokio::spawn(async move { (run_id, RunQueue::finish(store.as_ref(), run_id, finish).await) }));
    }
    for finish in finishes {
        let (run_id, finished) = finish.await.unwrap();
        let finished = finished.unwrap();
        if run_id == stray.id {
            assert!(!finished, "a run nobody claimed cannot finish");
            continue;
        }
        assert!(finished, "a held run finishes");
        let run = RunQueue::get(store.as_ref(), f.user.id, run_id).await.unwrap().unwrap();
        let source = SourceRepository::get(store.as_ref(), f.user.id, run.source_id).await.unwrap().unwrap();
        assert_eq!(source.last_run.as_ref().map(|r| r.id), Some(run_id), "the run is its source's last");
        if done.contains(&run_id) {
            assert_eq!((source.status, run.status), (SourceStatus::Completed, RunStatus::Completed));
            assert_eq!(source.message, None);
        } else {
            assert_eq!((source.status, run.status), (SourceStatus::Failed, RunStatus::Failed));
            assert_eq!(source.message.as_deref(), Some("origin answered 500"));
        }
    }
}

/// The grouped claim answers callers by position, not by worker name: a caller that
/// reuses a name still gets its own run (none is leased and then left undelivered).
async fn simultaneous_claims_under_one_worker_name_each_get_a_run(db: TestDatabase) {
    let f = fixture(&db).await;
    for _ in 0..8 {
        enqueue(&f).await;
    }
    let store = Arc::new(f.store.clone());
    let claims: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                RunQueue::claim(store.as_ref(), "same", Duration::from_secs(60)).await.unwrap().map(|c| c.run)
            })
        })
        .collect();
    let mut claimed = HashSet::new();
    for claim in claims {
        claimed.insert(claim.await.unwrap().expect("a run for every caller").id);
    }
    assert_eq!(claimed.len(), 8, "eight callers, eight different runs");
}

async fn expired_leases_are_reclaimed(db: TestDatabase) {
    let f = fixture(&db).await;
    let run = enqueue(&f).await;
    let first = RunQueue::claim(&f.store, "dead-worker", Duration::from_millis(1)).await.unwrap().unwrap().run;
    assert_eq!(first.id, run.id);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = RunQueue::claim(&f.store, "live-worker", Duration::from_secs(60)).await.unwrap().unwrap().run;
    assert_eq!(again.id, run.id, "a run whose lease expired is claimed again");
    assert_eq!(again.attempt, 2);
    assert!(
        RunQueue::claim(&f.store, "third", Duration::from_secs(60)).await.unwrap().is_none(),
        "a live lease is respected"
    );
}

/// A run handed to a worker by the request that accepted it is stored as a claim
/// leaves it (by `create` and by `save`): the lease keeps other workers off it, the
/// worker holding it can finish it, and if that worker dies the lease expires and the
/// run is reclaimed like any other.
async fn runs_stored_leased_are_held_until_their_lease_expires(db: TestDatabase) {
    let f = fixture(&db).await;
    let leased = |run: &mut Run, worker: &str, ms: i64| {
        run.status = RunStatus::Processing;
        run.attempt = 1;
        run.started_at = Some(Utc::now());
        Lease { worker: worker.into(), until: Utc::now() + chrono::Duration::milliseconds(ms) }
    };
    let input = SourceInput::Content { data: "x".into() };
    let (mut source, mut first) = Source::submitted(f.user.id, f.space.id, input, RunFlags::default(), Utc::now());
    let lease = leased(&mut first, "handed", 60_000);
    source.status = SourceStatus::Processing;
    source.last_run = Some(first.clone());
    SourceRepository::create(&f.store, &source, &first, Some(lease)).await.unwrap();
    assert!(RunQueue::claim(&f.store, "other", Duration::from_secs(60)).await.unwrap().is_none(), "held");
    let stored = SourceRepository::get(&f.store, f.user.id, source.id).await.unwrap().unwrap();
    assert_eq!(stored.status, SourceStatus::Processing);
    assert_eq!(stored.last_run.as_ref().map(|run| (run.status, run.attempt)), Some((RunStatus::Processing, 1)));
    let heartbeat = RunQueue::heartbeat(&f.store, first.id, "handed", Duration::from_secs(60)).await.unwrap();
    assert!(heartbeat.held, "the worker it was handed to holds it");
    assert!(RunQueue::finish(&f.store, first.id, completed()).await.unwrap(), "and can finish it");

    // A refresh handed to a worker that then dies.
    let mut source = SourceRepository::get(&f.store, f.user.id, source.id).await.unwrap().unwrap();
    let read = Expected::read(&source);
    let mut second = Run::queued(source.id, f.user.id, RunKind::Refresh, RunFlags::default(), None, Utc::now());
    // Long enough that a loaded machine still claims within it (it was 30 ms, and a
    // busy CI run took longer between the save and the claim).
    let lease = leased(&mut second, "dies", 1_000);
    source.status = SourceStatus::Processing;
    source.last_run = Some(second.clone());
    let write = RunWrite::InsertLeased(second.clone(), lease);
    assert!(SourceRepository::save(&f.store, &source, read, write, None).await.unwrap());
    assert!(RunQueue::claim(&f.store, "other", Duration::from_secs(60)).await.unwrap().is_none(), "held");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let again = RunQueue::claim(&f.store, "other", Duration::from_secs(60)).await.unwrap().expect("reclaimed");
    assert_eq!((again.run.id, again.run.attempt), (second.id, 2));
    assert_eq!(again.subject.map(|s| s.previous), Some(Some(RunStatus::Completed)));
}

/// The claim reads the run's subject in the same statement on Postgres, in the
/// snapshot from before its own writes: it must still show the source as the claim
/// left it, the previous run's outcome and the current revision.
async fn a_claim_carries_what_the_run_starts_from(db: TestDatabase) {
    let f = fixture(&db).await;
    let first = enqueue(&f).await;
    let claimed = RunQueue::claim(&f.store, "w", Duration::from_secs(60)).await.unwrap().unwrap();
    let subject = claimed.subject.expect("the source exists");
    assert_eq!(subject.source.status, SourceStatus::Processing, "the source as the claim left it");
    assert_eq!(subject.source.last_run.as_ref(), Some(&claimed.run), "the claimed run, leased, is the last run");
    assert_eq!((subject.current, subject.previous), (None, None), "a first run has nothing before it");

    let revision = Revision {
        source_id: first.source_id,
        number: 1,
        content_hash: format!("sha256:{:064}", 1),
        // What both databases store exactly.
        fetched_at: Utc::now().trunc_subsecs(3),
        http: Default::default(),
        bytes: 1,
        extractor_version: "test".into(),
        page_type: None,
    };
    let finish = RunFinish { revision: Some(revision.clone()), ..completed() };
    assert!(RunQueue::finish(&f.store, first.id, finish).await.unwrap(), "finished");
    let mut source = SourceRepository::get(&f.store, f.user.id, first.source_id).await.unwrap().unwrap();
    let read = Expected::read(&source);
    let second = Run::queued(source.id, f.user.id, RunKind::Refresh, RunFlags::default(), None, Utc::now());
    source.status = SourceStatus::Pending;
    source.last_run = Some(second.clone());
    assert!(SourceRepository::save(&f.store, &source, read, RunWrite::Insert(second.clone()), None).await.unwrap());

    let claimed = RunQueue::claim(&f.store, "w2", Duration::from_secs(60)).await.unwrap().unwrap();
    assert_eq!(claimed.run.id, second.id);
    let subject = claimed.subject.expect("the source exists");
    assert_eq!(subject.source.status, SourceStatus::Processing);
    assert_eq!(subject.source.last_run.map(|run| run.id), Some(second.id));
    assert_eq!(subject.current, Some(revision), "the revision the outputs come from");
    assert_eq!(subject.previous, Some(RunStatus::Completed), "how the run before this one ended");
}

async fn finishing_is_once_only(db: TestDatabase) {
    let f = fixture(&db).await;
    let run = enqueue(&f).await;
    assert!(!RunQueue::finish(&f.store, run.id, completed()).await.unwrap(), "an unclaimed run cannot finish");
    RunQueue::claim(&f.store, "w", Duration::from_secs(60)).await.unwrap().unwrap();
    assert!(RunQueue::finish(&f.store, run.id, completed()).await.unwrap(), "finished");
    let source = SourceRepository::get(&f.store, f.user.id, run.source_id).await.unwrap().unwrap();
    assert_eq!(source.status, SourceStatus::Completed);
    assert_eq!(source.last_run.unwrap().status, RunStatus::Completed);
    assert!(!RunQueue::finish(&f.store, run.id, completed()).await.unwrap(), "finishing twice is refused");
}

async fn deleting_a_space_removes_everything_in_it(db: TestDatabase) {
    let f = fixture(&db).await;
    let run = enqueue(&f).await;
    let now = Utc::now();
    assert!(SpaceRepository::delete(&f.store, f.user.id, f.space.id, now).await.unwrap());
    assert!(!SpaceRepository::delete(&f.store, f.user.id, f.space.id, now).await.unwrap(), "only once");
    assert!(SpaceRepository::get(&f.store, f.user.id, f.space.id).await.unwrap().is_none());

    // First the soft delete: the source is deleted and its queued work canceled.
    let source = SourceRepository::get(&f.store, f.user.id, run.source_id).await.unwrap().unwrap();
    assert!(source.deleted_at.is_some());
    assert_eq!(source.status, SourceStatus::Canceled);
    assert_eq!(RunQueue::get(&f.store, f.user.id, run.id).await.unwrap().unwrap().status, RunStatus::Canceled);
    assert!(RunQueue::claim(&f.store, "w", Duration::from_secs(60)).await.unwrap().is_none());
    assert_eq!(SpaceRepository::purge_emptied(&f.store, 10).await.unwrap(), 0, "the space waits for its sources");

    // Then the purge, whatever the grace period: the space is gone.
    let long_ago = now - chrono::Duration::days(365);
    assert_eq!(SourceRepository::purgeable(&f.store, long_ago, 10).await.unwrap(), [run.source_id]);
    assert!(SourceRepository::purge(&f.store, run.source_id, long_ago).await.unwrap());
    assert!(SourceRepository::get(&f.store, f.user.id, run.source_id).await.unwrap().is_none());
    assert!(RunQueue::get(&f.store, f.user.id, run.id).await.unwrap().is_none(), "runs go with their source");
    assert_eq!(SpaceRepository::purge_emptied(&f.store, 10).await.unwrap(), 1);
    assert!(SourceRepository::purgeable(&f.store, now, 10).await.unwrap().is_empty());
}

/// The scale bench's measure of a claim's work runs the claim and rolls it back: the
/// run is still queued, unclaimed, afterwards.
async fn measuring_a_claims_buffers_claims_nothing(db: TestDatabase) {
    let f = fixture(&db).await;
    let queued = enqueue(&f).await;
    let database = db.connect().await;
    let buffers = ctxd_storage::claim_buffers(database.connection()).await.unwrap();
    match db.backend {
        ctxd_test_support::Backend::Postgres => assert!(buffers.is_some_and(|b| b > 0), "{buffers:?}"),
        ctxd_test_support::Backend::Sqlite => assert_eq!(buffers, None, "SQLite has no EXPLAIN ANALYZE"),
    }
    let claimed = RunQueue::claim(&f.store, "w0", Duration::from_secs(60)).await.unwrap().unwrap().run;
    assert_eq!((claimed.id, claimed.attempt), (queued.id, 1), "the measured claim left the run queued");
    let source = SourceRepository::get(&f.store, f.user.id, claimed.source_id).await.unwrap().unwrap();
    assert_eq!(source.status, SourceStatus::Processing);
}

/// Migration 19's storage settings are on a migrated Postgres database, and undoing
/// it takes them off; SQLite has no such settings and its migration does nothing.
async fn postgres_keeps_room_for_source_updates_and_cleans_the_queues_indexes(db: TestDatabase) {
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::MigratorTrait;
    let database = db.connect().await;
    let connection = database.connection();
    let options = |table: &'static str| async move {
        let sql = format!("SELECT array_to_string(reloptions, ',') AS o FROM pg_class WHERE relname = '{table}'");
        let row = connection.query_one_raw(Statement::from_string(connection.get_database_backend(), sql));
        row.await.unwrap().and_then(|r| r.try_get::<Option<String>>("", "o").unwrap()).unwrap_or_default()
    };
    if db.backend == ctxd_test_support::Backend::Postgres {
        assert!(options("sources").await.contains("fillfactor=90"), "{}", options("sources").await);
        assert!(options("runs").await.contains("vacuum_index_cleanup=on"), "{}", options("runs").await);
    }
    ctxd_migrations::Migrator::down(connection, Some(1)).await.unwrap();
    if db.backend == ctxd_test_support::Backend::Postgres {
        assert_eq!((options("sources").await, options("runs").await), (String::new(), String::new()));
    }
    ctxd_migrations::Migrator::up(connection, None).await.unwrap();
    if db.backend == ctxd_test_support::Backend::Postgres {
        assert!(options("sources").await.contains("fillfactor=90"));
    }
    // The queue works as before on the migrated database.
    let f = fixture(&db).await;
    let queued = enqueue(&f).await;
    let claimed = RunQueue::claim(&f.store, "w0", Duration::from_secs(60)).await.unwrap().unwrap().run;
    assert_eq!(claimed.id, queued.id);
}
