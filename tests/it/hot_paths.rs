//! The API's hot paths at the storage level: on Postgres concurrent source reads, key
//! lookups and saves share statements, and each caller must still get its own answer;
//! the connections those statements keep recover when the server ends them.

use std::sync::Arc;

use chrono::Utc;
use ctxd_domain::{
    ErrorKind,
    ids::{ApiKeyId, RunId, SourceId},
    model::{ApiKey, RunFlags, RunKind, Source, SourceInput, User},
    ports::{ApiKeyRepository, Expected, RunWrite, SourceRepository},
    state::SourceStatus,
};
use ctxd_storage::SeaStore;
use ctxd_test_support::{Backend, TestDatabase, postgres_admin_url, seed_account};

on_both_databases!(
    simultaneous_reads_each_get_their_own_answer,
    simultaneous_saves_are_each_guarded_on_their_own,
    saves_keep_what_was_fixed_at_creation
);

async fn insert_key(store: &SeaStore, user: &User, hash: &str) {
    let key = ApiKey {
        id: ApiKeyId::new(),
        user_id: user.id,
        name: None,
        key_prefix: hash[..12].to_owned(),
        key_hash: hash.to_owned(),
        expiration_date: None,
        created_at: Utc::now(),
        revoked_at: None,
    };
    ApiKeyRepository::insert(store, &key).await.unwrap();
}

async fn simultaneous_reads_each_get_their_own_answer(db: TestDatabase) {
    let store = Arc::new(db.connect().await.store());
    let mut owned = Vec::new();
    let mut users = Vec::new();
    for n in 0..2 {
        let (user, space) = seed_account(&store).await;
        insert_key(&store, &user, &format!("{n:0>64}")).await;
        for i in 0..5 {
            let input = SourceInput::Content { data: format!("source {i} of user {n}") };
            let (source, run) = Source::submitted(user.id, space.id, input, RunFlags::default(), Utc::now());
            SourceRepository::create(store.as_ref(), &source, &run, None).await.unwrap();
            owned.push((user.id, source.id, run.id));
        }
        users.push(user);
    }

    // Every read at once: each source by its owner (found, with its own last run), by
    // the other user (not found), and an id nobody has (not found); each key and an
    // unknown hash.
    let mut reads = Vec::new();
    for &(owner, id, run) in &owned {
        let stranger = users.iter().find(|u| u.id != owner).unwrap().id;
        for (user, expected) in [(owner, Some(run)), (stranger, None), (owner, None)] {
            let store = store.clone();
            let asked = if expected.is_none() && user == owner { SourceId::new() } else { id };
            reads.push(tokio::spawn(async move {
                let found = SourceRepository::get(store.as_ref(), user, asked).await.unwrap();
                assert_eq!(found.as_ref().map(|s| s.id), expected.map(|_| asked), "source {asked} read by {user}");
                assert_eq!(found.and_then(|s| s.last_run).map(|r| r.id), expected);
            }));
        }
    }
    for n in 0..3 {
        let store = store.clone();
        let expected = users.get(n).map(|u| u.id);
        reads.push(tokio::spawn(async move {
            let found = store.find_by_hash(&format!("{n:0>64}")).await.unwrap();
            assert_eq!(found.map(|(_, user)| user.id), expected, "key {n}");
        }));
    }
    for read in reads {
        read.await.unwrap();
    }
}

async fn simultaneous_saves_are_each_guarded_on_their_own(db: TestDatabase) {
    let store = Arc::new(db.connect().await.store());
    let (user, space) = seed_account(&store).await;
    let mut sources = Vec::new();
    for i in 0..8 {
        let input = SourceInput::Content { data: format!("source {i}") };
        let (mut source, run) = Source::submitted(user.id, space.id, input, RunFlags::default(), Utc::now());
        SourceRepository::create(store.as_ref(), &source, &run, None).await.unwrap();
        source.last_run = Some(run);
        sources.push(source);
    }

    // Each source is saved twice at once from PENDING to COMPLETED with a new run, and
    // twice more with a guard that no longer holds: another status, and the right
    // status with another last run (a source that went through a whole run since it was
    // read looks the same by its status alone). Exactly one of the two matching saves
    // of each source wins, and only the winner's run is written.
    let mut saves = Vec::new();
    for source in &sources {
        let read = Expected::read(source);
        let other_run = Expected { last_run: Some(RunId::new()), ..read };
        let failed = Expected { status: SourceStatus::Failed, ..read };
        for (attempt, expected) in [(0, read), (1, read), (2, failed), (3, other_run)] {
            let (store, mut source) = (store.clone(), source.clone());
            saves.push(tokio::spawn(async move {
                let (_, mut run) =
                    Source::submitted(user.id, source.space_id, source.input.clone(), RunFlags::default(), Utc::now());
                run.source_id = source.id;
                run.kind = RunKind::Refresh;
                source.status = SourceStatus::Completed;
                source.name = Some(format!("saved by attempt {attempt}"));
                source.last_run = Some(run.clone());
                let saved = store.save(&source, expected, RunWrite::Insert(run.clone()), None).await.unwrap();
                (source.id, attempt, run.id, saved)
            }));
        }
    }
    let mut outcomes = Vec::new();
    for save in saves {
        outcomes.push(save.await.unwrap());
    }
    for source in &sources {
        let mine: Vec<_> = outcomes.iter().filter(|(id, ..)| *id == source.id).collect();
        let winners: Vec<_> = mine.iter().filter(|(.., saved)| *saved).collect();
        assert_eq!(winners.len(), 1, "source {}: {mine:?}", source.id);
        let &&&(_, attempt, run_id, _) = winners.first().unwrap();
        assert!(attempt < 2, "a save whose guard does not hold must not win: attempt {attempt}");
        let stored = SourceRepository::get(store.as_ref(), user.id, source.id).await.unwrap().unwrap();
        assert_eq!(stored.status, SourceStatus::Completed);
        assert_eq!(stored.name.as_deref(), Some(format!("saved by attempt {attempt}").as_str()));
        assert_eq!(stored.last_run.map(|r| r.id), Some(run_id), "the winner's run is the source's last");
        for (.., other_run, saved) in &mine {
            let written = ctxd_domain::ports::RunQueue::get(store.as_ref(), user.id, *other_run).await.unwrap();
            assert_eq!(written.is_some(), *saved, "run {other_run} written only by the winning save");
        }
    }
}

/// A save writes what a use case may change and never the columns fixed when the
/// source was created (its input, owner, space, type, creation time), whichever way it
/// is written: the grouped statement (Postgres without a postback) or a transaction.
async fn saves_keep_what_was_fixed_at_creation(db: TestDatabase) {
    let store = db.connect().await.store();
    let (user, space) = seed_account(&store).await;
    let created_at = Utc::now();
    let input = SourceInput::Content { data: "as created".into() };
    let (mut source, run) = Source::submitted(user.id, space.id, input.clone(), RunFlags::default(), created_at);
    source.postback_url = Some("http://127.0.0.1:9/hook".parse().unwrap());
    SourceRepository::create(&store, &source, &run, None).await.unwrap();

    for (expected, status, with_postback) in
        [(SourceStatus::Pending, SourceStatus::Failed, false), (SourceStatus::Failed, SourceStatus::Completed, true)]
    {
        let mut changed = source.clone();
        changed.status = status;
        changed.name = Some(format!("now {status}"));
        changed.input = SourceInput::Content { data: "rewritten".into() };
        changed.created_at = created_at + chrono::Duration::days(1);
        let postback =
            with_postback.then(|| ctxd_domain::model::Postback::for_source(&changed, None, Utc::now()).unwrap());
        let expected = Expected { status: expected, last_run: Some(run.id) };
        assert!(store.save(&changed, expected, RunWrite::None, postback).await.unwrap());

        let stored = SourceRepository::get(&store, user.id, source.id).await.unwrap().unwrap();
        assert_eq!(stored.status, status);
        assert_eq!(stored.name, changed.name, "a changeable column is written");
        assert_eq!(stored.input, input, "the input stays as created (postback: {with_postback})");
        assert_eq!(
            stored.created_at.timestamp_micros(),
            created_at.timestamp_micros(),
            "the creation time stays (postback: {with_postback})"
        );
    }
}

/// On Postgres the grouped statements run on connections their batch tasks keep to
/// themselves: a connection the server ends costs the statement that was using it
/// (reported as unavailable, which callers retry), and the next statement reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_reads_reconnect_after_the_server_ends_their_connection() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    let Some(db) = TestDatabase::create(Backend::Postgres).await else { return };
    let store = db.connect().await.store();
    let (user, space) = seed_account(&store).await;
    let input = SourceInput::Content { data: "kept across reconnects".into() };
    let (source, run) = Source::submitted(user.id, space.id, input, RunFlags::default(), Utc::now());
    SourceRepository::create(&store, &source, &run, None).await.unwrap();
    assert!(SourceRepository::get(&store, user.id, source.id).await.unwrap().is_some());

    let name = db.url.rsplit('/').next().and_then(|tail| tail.split('?').next()).unwrap().to_owned();
    let admin = sea_orm::Database::connect(postgres_admin_url().await.unwrap()).await.unwrap();
    let ended = Statement::from_sql_and_values(
        DbBackend::Postgres,
        // CASE, because AND does not fix the order: the server may otherwise end
        // sessions of other databases before it checks the name.
        "SELECT array_agg(pid) AS pids FROM pg_stat_activity \
         WHERE CASE WHEN datname = $1 THEN pg_terminate_backend(pid) ELSE false END",
        [name.into()],
    );
    let ended = admin.query_one_raw(ended).await.unwrap().unwrap().try_get::<Vec<i32>>("", "pids").unwrap();
    // Termination is a signal: wait until those sessions are really gone, so the next
    // read meets a dead connection rather than racing the server. (The change
    // listener reconnects at once, so the database is not left without sessions.)
    let alive = "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ANY($1)";
    for _ in 0..500 {
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, alive, [ended.clone().into()]);
        if admin.query_one_raw(statement).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let first = SourceRepository::get(&store, user.id, source.id).await;
    assert_eq!(first.map(|_| ()).unwrap_err().kind(), ErrorKind::Unavailable);
    let again = SourceRepository::get(&store, user.id, source.id).await.unwrap();
    assert_eq!(again.map(|s| s.id), Some(source.id));
}
