//! The stored rate-limit budget under concurrency: requests from two connection pools
//! (two replicas, as far as the database can tell) at the same instant never get
//! more than the budget between them. SQLite is one process's database (a second
//! writer gets "database is locked"), so there the two stores share the pool.

use std::sync::Arc;

use ctxd_domain::{ports::RateBudgets, services::rate_limits};
use ctxd_test_support::{TestDatabase, seed_account};

on_both_databases!(concurrent_takes_from_two_pools_never_over_grant);

async fn concurrent_takes_from_two_pools_never_over_grant(db: TestDatabase) {
    let one = db.connect().await.store();
    let two = match db.backend {
        ctxd_test_support::Backend::Postgres => db.connect().await.store(),
        ctxd_test_support::Backend::Sqlite => one.clone(),
    };
    let (user, _) = seed_account(&one).await;
    let interval = rate_limits::interval_us(10);
    let now = chrono::Utc::now().timestamp_micros();
    let stores: [Arc<dyn RateBudgets>; 2] = [Arc::new(one), Arc::new(two)];
    let takes: Vec<_> = (0..50)
        .map(|n| {
            let store = stores[n % 2].clone();
            tokio::spawn(async move { store.take(user.id, now, interval, 1).await.unwrap() })
        })
        .collect();
    let mut granted = 0;
    let mut latest = 0;
    for take in takes {
        let (taken, tat) = take.await.unwrap();
        granted += taken as usize;
        latest = latest.max(tat);
    }
    assert_eq!(granted, 10, "a budget of 10 per minute, shared");
    assert_eq!(latest, now + 10 * interval, "the stored tat moved once per granted request");
    let (taken, _) = stores[0].take(user.id, now + interval, interval, 5).await.unwrap();
    assert_eq!(taken, 1, "one interval later, one more request fits, of the five wanted");
}
