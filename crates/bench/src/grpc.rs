//! `bench grpc`: unary GetSource over gRPC next to `GET /v1/sources/{id}` over REST,
//! against one app on Postgres. Closed loop at a fixed concurrency (throughput, p50,
//! p99; rounds alternating the transports, the median ratio), then open loop at a
//! fixed rate (p50, p99 at that rate).

use std::time::{Duration, Instant};

use anyhow::Context;
use ctxd_grpc::pb::{self, sources_service_client::SourcesServiceClient};
use ctxd_test_support::{Backend, TestApp, spawn_app_with};
use serde_json::json;
use tonic::{Request, transport::Channel};

/// One call of either transport.
#[derive(Clone)]
enum Caller {
    Grpc { client: SourcesServiceClient<Channel>, key: String, id: String },
    Rest { client: reqwest::Client, url: String, key: String },
}

impl Caller {
    async fn call(&mut self) -> anyhow::Result<()> {
        match self {
            Caller::Grpc { client, key, id } => {
                let mut request = Request::new(pb::SourceRequest { id: id.clone() });
                request.metadata_mut().insert("authorization", format!("Bearer {key}").parse()?);
                client.get_source(request).await?;
            }
            Caller::Rest { client, url, key } => {
                let response = client.get(url.as_str()).bearer_auth(key.as_str()).send().await?;
                anyhow::ensure!(response.status().is_success(), "REST answered {}", response.status());
                response.bytes().await?;
            }
        }
        Ok(())
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// `calls` calls by `concurrency` tasks as fast as they go: (calls/s, p50 ms, p99 ms).
async fn closed_loop(caller: &Caller, calls: usize, concurrency: usize) -> anyhow::Result<(f64, f64, f64)> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let mut caller = caller.clone();
        let share = calls / concurrency + usize::from(task < calls % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(share);
            for _ in 0..share {
                let at = Instant::now();
                caller.call().await?;
                latencies.push(at.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(calls);
    for task in tasks {
        latencies.extend(task.await??);
    }
    let rate = calls as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    Ok((rate, percentile(&latencies, 0.5), percentile(&latencies, 0.99)))
}

/// Calls started at `rate` per second for `seconds`, whatever the answers take:
/// (achieved calls/s, p50 ms, p99 ms).
async fn open_loop(caller: &Caller, rate: u32, seconds: u64) -> anyhow::Result<(f64, f64, f64)> {
    let total = rate as u64 * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let mut caller = caller.clone();
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            caller.call().await?;
            anyhow::Ok(at.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for task in tasks {
        latencies.push(task.await??);
    }
    let achieved = total as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    Ok((achieved, percentile(&latencies, 0.5), percentile(&latencies, 0.99)))
}

/// Closed-loop rounds per transport.
const ROUNDS: usize = 5;

async fn setup() -> anyhow::Result<(TestApp, String)> {
    let app = spawn_app_with(Backend::Postgres, |_| {}).await.context("the benchmark needs PostgreSQL")?;
    let space = app.create_space("bench").await;
    let source = app.create_source(&space, json!({"type": "CONTENT", "initial_data": {"data": "x"}})).await;
    Ok((app, source["id"].as_str().context("source id")?.to_owned()))
}

pub async fn run(calls: usize, concurrency: usize, rate: u32) -> anyhow::Result<()> {
    let (app, id) = setup().await?;
    let channel = Channel::from_shared(app.grpc_address.clone().context("gRPC is served")?)?.connect().await?;
    let grpc = Caller::Grpc { client: SourcesServiceClient::new(channel), key: app.api_key.clone(), id: id.clone() };
    let rest = Caller::Rest {
        client: reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?,
        url: format!("{}/v1/sources/{id}", app.address),
        key: app.api_key.clone(),
    };
    // Warm both paths (connections, caches) before measuring.
    closed_loop(&grpc, 200, 8).await?;
    closed_loop(&rest, 200, 8).await?;

    println!(
        "GetSource, Postgres, {calls} calls at concurrency {concurrency} (closed loop), {ROUNDS} rounds \
         alternating the transports"
    );
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        // Alternating, so that a drift in the machine's speed or in Postgres's state
        // weighs on both transports alike.
        let g = closed_loop(&grpc, calls, concurrency).await?;
        let r = closed_loop(&rest, calls, concurrency).await?;
        println!("  round {round}  gRPC {:>8.0} calls/s  p50 {:>6.2} ms  p99 {:>6.2} ms", g.0, g.1, g.2);
        println!("           REST {:>8.0} calls/s  p50 {:>6.2} ms  p99 {:>6.2} ms", r.0, r.1, r.2);
        ratios.push(g.0 / r.0);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "  gRPC / REST throughput: median {:.2} (rounds {}) (target >= 1)",
        ratios[ratios.len() / 2],
        ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ")
    );
    println!("\nGetSource at {rate} calls/s for 5 s (open loop)");
    let g = open_loop(&grpc, rate, 5).await?;
    let r = open_loop(&rest, rate, 5).await?;
    println!("  gRPC  achieved {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms (target p99 < 10 ms)", g.0, g.1, g.2);
    println!("  REST  achieved {:>7.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms", r.0, r.1, r.2);
    Ok(())
}
