//! The API's hot reads at the storage level: on Postgres concurrent source reads and
//! key lookups share statements, and each caller must still get its own answer.

use std::sync::Arc;

use chrono::Utc;
use ctxd_domain::{
    ids::{ApiKeyId, SourceId},
    model::{ApiKey, RunFlags, Source, SourceInput, User},
    ports::{ApiKeyRepository, SourceRepository},
};
use ctxd_storage::SeaStore;
use ctxd_test_support::{TestDatabase, seed_account};

on_both_databases!(simultaneous_reads_each_get_their_own_answer);

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
            SourceRepository::create(store.as_ref(), &source, &run).await.unwrap();
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
