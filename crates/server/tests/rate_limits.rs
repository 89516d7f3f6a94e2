//! Rate limits shared by replicas: two `ctxd serve` processes on one Postgres database
//! grant a user one plan's budget between them, not one each.

mod common;

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use common::{Server, ctxd, free_port};
use ctxd_test_support::{Backend, TestDatabase};

async fn serve(url: &str, data_dir: &std::path::Path) -> (Server, String) {
    let port = free_port();
    let child = ctxd()
        .args(["serve", "--no-worker", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .env("DATABASE_URL", url)
        .env("CTXD_RATE_LIMITS__PRO_PER_MINUTE", "10")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/health")).await.map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(Instant::now() < deadline, "ctxd serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (Server(child), base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_grant_one_budget_between_them() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else { return };
    let data_dir = tempfile::tempdir().unwrap();
    let output = ctxd().args(["keys", "create", "--user", "alice"]).env("DATABASE_URL", &db.url).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let (_one, first) = serve(&db.url, data_dir.path()).await;
    let (_two, second) = serve(&db.url, data_dir.path()).await;

    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..30 {
        let base = if n % 2 == 0 { &first } else { &second };
        let response = client.get(format!("{base}/v1/spaces")).bearer_auth(&key).send().await.unwrap();
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        }
        statuses.push(response.status().as_u16());
    }
    let granted = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(granted, 10, "one budget of 10 per minute across both replicas: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20);
    let retry_after: u64 = retry_after.expect("a refusal says when to retry").parse().unwrap();
    assert!((1..=6).contains(&retry_after), "one request per 6 s: retry in {retry_after} s");
}
