//! The worker pool: claims runs from the durable queue (or takes them straight from
//! the request that accepted them, see [`Handoff`]), keeps their leases alive with
//! heartbeats while the pipeline processes them, and stops gracefully.

use std::{sync::Arc, time::Duration};

use ctxd_domain::{
    ports::{ClaimedRun, RunQueue},
    services::{
        handoff::{HandedRun, Handoff},
        pipeline::{Pipeline, Processed, StopSignal},
    },
};
use tokio_util::sync::CancellationToken;

/// How the pool behaves; filled from configuration by the binary.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Concurrent runs in this process.
    pub count: usize,
    /// How long a claim lasts without a heartbeat; a dead worker's run is reclaimed
    /// after this.
    pub lease: Duration,
    /// Pause between claim attempts when the queue is empty. Runs accepted by this
    /// process reach an idle worker at once; this bounds the wait for the others
    /// (queued by other processes, the scheduler, or retries).
    pub poll_interval: Duration,
    /// On shutdown, how long in-flight runs may finish before they are put back in
    /// the queue for another worker.
    pub shutdown_grace: Duration,
    /// Where finished runs are counted.
    pub metrics: Option<Arc<ctxd_telemetry::Metrics>>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            count: 2,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(20),
            metrics: None,
        }
    }
}

/// Runs `settings.count` workers until `shutdown` is cancelled.
pub async fn run_pool(
    pipeline: Pipeline,
    runs: Arc<dyn RunQueue>,
    handoff: Handoff,
    settings: WorkerSettings,
    shutdown: CancellationToken,
) {
    // Unique across processes and machines, so leases never collide.
    let process = format!("{}-{}-{:04x}", hostname(), std::process::id(), rand::random::<u16>());
    let mut workers = Vec::new();
    for n in 0..settings.count.max(1) {
        let worker = Worker {
            id: format!("{process}-{n}"),
            pipeline: pipeline.clone(),
            runs: runs.clone(),
            handoff: handoff.clone(),
            settings: settings.clone(),
            shutdown: shutdown.clone(),
        };
        workers.push(tokio::spawn(worker.run()));
    }
    for worker in workers {
        let _ = worker.await;
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "ctxd".into())
}

struct Worker {
    id: String,
    pipeline: Pipeline,
    runs: Arc<dyn RunQueue>,
    handoff: Handoff,
    settings: WorkerSettings,
    shutdown: CancellationToken,
}

/// A run a worker holds, however it got it.
enum Held {
    Claimed(ClaimedRun),
    Handed(HandedRun),
}

impl Worker {
    async fn run(self) {
        tracing::debug!(worker = %self.id, "worker started");
        while !self.shutdown.is_cancelled() {
            match self.runs.claim(&self.id, self.settings.lease).await {
                Ok(Some(claimed)) => self.process(Held::Claimed(claimed)).await,
                Ok(None) => self.idle().await,
                Err(error) => {
                    tracing::warn!(worker = %self.id, %error, "claiming a run failed");
                    self.idle().await;
                }
            }
        }
        tracing::debug!(worker = %self.id, "worker stopped");
    }

    /// Takes the runs handed over by this process's requests until the next poll of
    /// the queue (or shutdown). After a handed run the worker waits again instead of
    /// claiming: the queue was empty when it went idle, and a run queued since for
    /// want of an idle worker ends the wait at once (`Handoff::queued`). Claiming after
    /// every handed run made one empty claim statement per run, as costly as the
    /// claim the handover saves.
    ///
    /// The poll comes at its time however many runs were handed meanwhile, so a
    /// worker kept busy by this process's requests still takes its share of the runs
    /// queued by others.
    async fn idle(&self) {
        let poll = tokio::time::Instant::now() + self.settings.poll_interval;
        loop {
            let mut waiting = self.handoff.wait(&self.id, self.settings.lease);
            let (handed, polled) = tokio::select! {
                handed = &mut waiting => (handed, false),
                () = tokio::time::sleep_until(poll) => (waiting.withdraw().await, true),
                () = self.shutdown.cancelled() => (waiting.withdraw().await, true),
            };
            // Even at shutdown: the run is already leased to this worker, and
            // processing it within the grace period beats leaving it to the lease's
            // expiry.
            let Some(handed) = handed else { return };
            self.process(Held::Handed(handed)).await;
            if polled {
                return;
            }
        }
    }

    async fn pipeline_process(&self, held: Held, stop: &StopSignal) -> ctxd_domain::Result<Processed> {
        match held {
            Held::Claimed(claimed) => self.pipeline.process(claimed, &self.id, stop).await,
            Held::Handed(handed) => self.pipeline.process_handed(handed, &self.id, stop).await,
        }
    }

    async fn process(&self, held: Held) {
        let (run_id, kind) = match &held {
            Held::Claimed(claimed) => (claimed.run.id, claimed.run.kind),
            Held::Handed(handed) => (handed.run.id, handed.run.kind),
        };
        let stop = Arc::new(StopSignal::default());
        let heartbeat =
            tokio::spawn(heartbeat(self.runs.clone(), self.id.clone(), run_id, self.settings.lease, stop.clone()));
        let grace = async {
            self.shutdown.cancelled().await;
            tokio::time::sleep(self.settings.shutdown_grace).await;
        };
        tokio::select! {
            result = self.pipeline_process(held, &stop) => match result {
                Ok(Processed::Finished { status, outcome }) => {
                    tracing::info!(worker = %self.id, run = %run_id, %status, outcome = ?outcome, "run finished");
                    if let Some(metrics) = &self.settings.metrics {
                        metrics.run_finished(kind.as_str(), status.as_str(), outcome.map(|o| o.as_str()));
                    }
                }
                Ok(Processed::Retrying { after }) => {
                    tracing::info!(worker = %self.id, run = %run_id, retry_in_s = after.as_secs(), "run will be retried");
                }
                Ok(Processed::Abandoned) => tracing::info!(worker = %self.id, run = %run_id, "run was taken over"),
                Err(error) => tracing::error!(worker = %self.id, run = %run_id, %error, "run could not be committed"),
            },
            () = grace => {
                // Dropping the pipeline future rolls back any open transaction; the run
                // goes back to the queue at once for another worker.
                let now = chrono::Utc::now();
                match self.runs.release(run_id, &self.id, "worker shut down before finishing", now).await {
                    Ok(_) => tracing::warn!(worker = %self.id, run = %run_id, "run released at shutdown"),
                    Err(error) => tracing::error!(worker = %self.id, run = %run_id, %error, "releasing a run failed; its lease will expire"),
                }
            }
        }
        heartbeat.abort();
    }
}

/// Extends the lease every third of its length, and at least every second so a cancel
/// request reaches the run quickly; tells the run to stop when someone asked to
/// cancel it or when the lease was lost.
async fn heartbeat(
    runs: Arc<dyn RunQueue>,
    worker: String,
    run_id: ctxd_domain::ids::RunId,
    lease: Duration,
    stop: Arc<StopSignal>,
) {
    let mut interval = tokio::time::interval((lease / 3).clamp(Duration::from_millis(10), Duration::from_secs(1)));
    interval.tick().await;
    loop {
        interval.tick().await;
        match runs.heartbeat(run_id, &worker, lease).await {
            Ok(state) if !state.held => {
                stop.stop();
                return;
            }
            Ok(state) if state.cancel_requested => stop.stop(),
            Ok(_) => {}
            Err(error) => tracing::warn!(%worker, run = %run_id, %error, "heartbeat failed"),
        }
    }
}
