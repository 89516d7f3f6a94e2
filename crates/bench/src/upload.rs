//! Memory while uploading: starts a real `ctxd serve` (SQLite, local store, no
//! workers), presigns an N MiB upload and PUTs it to ctxd's signed URL from a
//! generated stream, then prints the server's peak resident set (`VmHWM` from
//! `/proc`), before and after. The body is streamed to disk, so the peak should not
//! grow with the file.

use std::{
    io::BufRead,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::json;

/// Kills the server when the benchmark ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Peak and current resident set of `pid`, in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).context("reading /proc (Linux only)")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .with_context(|| format!("{name} missing from /proc/{pid}/status"))
    };
    Ok((field("VmHWM:")?, field("VmRSS:")?))
}

pub(crate) async fn run(ctxd: PathBuf, mib: usize) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut child = Command::new(&ctxd)
        .args(["serve", "--no-worker", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path())
        .env_remove("DATABASE_URL")
        .env("CTXD_GRPC__ENABLED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", ctxd.display()))?;
    let stdout = child.stdout.take().context("stdout")?;
    let server = Server(child);
    let mut first_line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut first_line)?;
    let Some(key) = first_line.trim().strip_prefix("API key: ").map(str::to_owned) else {
        bail!("ctxd serve did not print its first API key: {first_line:?}");
    };
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{address}/health")).send().await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "ctxd serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = server.0.id();
    let (baseline_peak, _) = memory_kib(pid)?;

    let size = mib * 1024 * 1024;
    let presigned: serde_json::Value = client
        .post(format!("{address}/v1/upload/s3"))
        .bearer_auth(&key)
        .json(&json!({"filename": "big.bin", "contentType": "application/octet-stream", "size": size}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let url = presigned["uploadUrl"].as_str().context("uploadUrl")?;
    // 1 MiB chunks generated on the fly: the client holds one at a time.
    let chunks = futures_stream(mib);
    let started = Instant::now();
    let response = client
        .put(url)
        .header("content-type", "application/octet-stream")
        .header("content-length", size)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    anyhow::ensure!(response.status() == 200, "the upload answered {}: {}", response.status(), response.text().await?);
    let (peak, current) = memory_kib(pid)?;

    println!("upload benchmark (ctxd serve, local store, {mib} MiB file through the signed URL)");
    println!("  peak RSS before the upload:           {:>8.1} MiB", baseline_peak as f64 / 1024.0);
    println!("  peak RSS after (target < 150 MiB):    {:>8.1} MiB", peak as f64 / 1024.0);
    println!("  RSS now:                              {:>8.1} MiB", current as f64 / 1024.0);
    println!("  upload throughput:                    {:>8.0} MiB/s ({elapsed:.2} s)", mib as f64 / elapsed);
    Ok(())
}

fn futures_stream(mib: usize) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter((0..mib).map(|i| {
        let byte = u8::try_from(i % 251).unwrap_or(0);
        Ok(vec![byte; 1024 * 1024])
    }))
}
