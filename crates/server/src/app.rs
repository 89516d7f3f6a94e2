//! The composition root: connects storage, builds the use cases over it, and serves
//! the REST API. Tests call [`Application::build`] exactly as the binary does.

use std::{future::Future, net::SocketAddr, path::Path, sync::Arc};

use anyhow::Context;
use ctxd_blobs::ObjectBlobStore;
use ctxd_domain::{
    model::IssuedApiKey,
    ports::{BlobStore, HealthCheck, SystemClock},
    services::{
        Ports, UseCases,
        handoff::Handoff,
        health::Health,
        pipeline::{Pipeline, PipelinePorts},
        postbacks::PostbackService,
        purge::PurgeService,
        retention::HistoryPurge,
        scheduler::Scheduler,
    },
};
use ctxd_extractors::{AutoNormalizer, BlockArtifactExtractor, ExtractiveContextExtractor};
use ctxd_fetchers::{HttpFetchConfig, HttpWebhookSender, PlainHttpFetcher};
use ctxd_llm::LlmContextExtractor;
use ctxd_rest::AppState;
use ctxd_storage::{Database, SeaStore};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    config::{BlobBackend, Config},
    metered::MeteredFetcher,
    worker,
};

/// Opens the configured database (creating the data directory for SQLite) and applies
/// pending migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    }
    let url = config.effective_database_url();
    let database = Database::connect_with(&url, config.connect_settings())
        .await
        .with_context(|| format!("cannot open the database at {}", without_password(&url)))?;
    database.migrate().await.context("cannot apply database migrations")?;
    Ok(database)
}

/// The database URL fit for a log or an error: the password is left out.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "the configured database_url".to_owned(),
    }
}

/// The adapters every process needs: storage and the blob store.
#[derive(Clone)]
pub struct Adapters {
    pub store: SeaStore,
    pub blobs: Arc<dyn BlobStore>,
    /// The database and the blob store, for `/health` and gRPC health.
    pub health: Health,
    /// Shared by the request handlers and this process's workers, if it runs any.
    pub handoff: Handoff,
}

impl std::fmt::Debug for Adapters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapters").field("store", &self.store).finish_non_exhaustive()
    }
}

impl Adapters {
    pub async fn open(config: &Config) -> anyhow::Result<(Database, Self)> {
        let database = open_database(config).await?;
        let blobs = match config.blobs.backend {
            BlobBackend::Local => {
                ObjectBlobStore::local(&config.blob_dir()).context("cannot open the blob directory")?
            }
            BlobBackend::S3 => ObjectBlobStore::s3(&config.s3_settings()).context("cannot set up the S3 bucket")?,
        };
        let blobs = Arc::new(blobs);
        let store = database.store();
        let health = Health::new(vec![
            ("database", Arc::new(store.clone()) as Arc<dyn HealthCheck>),
            ("object_store", blobs.clone()),
        ]);
        let adapters = Self { store, blobs, health, handoff: Handoff::new() };
        Ok((database, adapters))
    }

    /// The use cases' ports, all but the blob store implemented by storage.
    pub fn ports(&self) -> Ports {
        let store = Arc::new(self.store.clone());
        Ports {
            users: store.clone(),
            api_keys: store.clone(),
            spaces: store.clone(),
            collections: store.clone(),
            sources: store.clone(),
            runs: store.clone(),
            uploads: store.clone(),
            revisions: store.clone(),
            artifacts: store.clone(),
            events: store.clone(),
            blobs: self.blobs.clone(),
            postbacks: store.clone(),
            idempotency: store,
            clock: Arc::new(SystemClock),
            handoff: self.handoff.clone(),
        }
    }

    /// The processing pipeline with today's adapters.
    pub fn pipeline(&self, config: &Config, metrics: Arc<ctxd_telemetry::Metrics>) -> anyhow::Result<Pipeline> {
        let store = Arc::new(self.store.clone());
        let fetch_config = HttpFetchConfig {
            allow_private_networks: config.fetch.allow_private_networks,
            user_agent: HttpFetchConfig::user_agent_with_contact(&config.fetch.contact_url),
            max_per_host: config.fetch.max_per_host,
            honour_robots: config.fetch.honour_robots,
            connect_timeout: std::time::Duration::from_secs(config.fetch.connect_timeout_seconds),
            total_timeout: std::time::Duration::from_secs(config.fetch.total_timeout_seconds),
            max_body_bytes: config.fetch.max_body_bytes,
            max_decompression_ratio: config.fetch.max_decompression_ratio,
            ..HttpFetchConfig::default()
        };
        let fetcher = PlainHttpFetcher::new(fetch_config).context("cannot build the HTTP client")?;
        let ports = PipelinePorts {
            sources: store.clone(),
            runs: store.clone(),
            revisions: store.clone(),
            blobs: self.blobs.clone(),
            uploads: store.clone(),
            artifacts: store,
            uri_fetcher: Arc::new(MeteredFetcher::new(fetcher, metrics)),
            normalizer: Arc::new(AutoNormalizer),
            context_extractor: context_extractor(config)?,
            artifact_extractor: Arc::new(BlockArtifactExtractor),
            clock: Arc::new(SystemClock),
        };
        Ok(Pipeline::new(ports, config.retry_policy(), config.revisions.retain))
    }
}

/// A bound, ready-to-run server, with its workers when they are enabled.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    /// The gRPC listener, unless `grpc.enabled` is off.
    grpc_listener: Option<TcpListener>,
    health: Health,
    gate: Arc<ctxd_domain::services::access::AccessGate>,
    /// Counted into by REST, gRPC and the workers; rendered at `/metrics`.
    metrics: Arc<ctxd_telemetry::Metrics>,
    router: axum::Router,
    use_cases: UseCases,
    database: Database,
    handoff: Handoff,
    workers: Option<Workers>,
    /// Cancelled when the process stops: the workers, gRPC and open event streams end.
    stopping: CancellationToken,
}

/// The background work of a process: the worker pool, the refresh scheduler, the
/// postback sender and the purge.
pub struct Workers {
    pipeline: Pipeline,
    runs: Arc<dyn ctxd_domain::ports::RunQueue>,
    handoff: Handoff,
    settings: worker::WorkerSettings,
    scheduler: Option<(Scheduler, crate::config::SchedulerConfig)>,
    sender: (PostbackService, HttpWebhookSender, std::time::Duration),
    purge: (PurgeService, HistoryPurge, std::time::Duration),
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Workers {
    /// `metrics` counts finished runs and fetches; `ctxd worker` has no HTTP endpoint
    /// and passes its own.
    pub fn new(adapters: &Adapters, config: &Config, metrics: Arc<ctxd_telemetry::Metrics>) -> anyhow::Result<Self> {
        let store = Arc::new(adapters.store.clone());
        let scheduler = config.scheduler.enabled.then(|| {
            let scheduler =
                Scheduler::new(store.clone(), store.clone(), Arc::new(SystemClock), Arc::new(rand::random::<f64>));
            (scheduler, config.scheduler.clone())
        });
        let postbacks =
            PostbackService::new(store.clone(), Arc::new(SystemClock), config.domain_limits().postback_retry_delays);
        let sender = HttpWebhookSender::new(
            std::time::Duration::from_secs(config.postback.timeout_seconds),
            &HttpFetchConfig::default().user_agent,
            config.fetch.allow_private_networks,
        )
        .context("cannot build the postback HTTP client")?;
        let sender = (postbacks, sender, std::time::Duration::from_millis(config.postback.poll_interval_ms));
        let purge = PurgeService::new(
            store.clone(),
            store.clone(),
            adapters.blobs.clone(),
            chrono::Duration::days(i64::from(config.retention.deleted_grace_days)),
        );
        let history = HistoryPurge::new(store.clone(), config.retention.history());
        let purge = (purge, history, std::time::Duration::from_secs(config.retention.purge_interval_seconds));
        Ok(Self {
            pipeline: adapters.pipeline(config, metrics.clone())?,
            runs: store,
            handoff: adapters.handoff.clone(),
            settings: worker::WorkerSettings { metrics: Some(metrics), ..config.worker_settings() },
            scheduler,
            sender,
            purge,
        })
    }

    /// Runs until `shutdown` is cancelled and in-flight runs are finished or released.
    pub async fn run(self, shutdown: CancellationToken) {
        let scheduler =
            self.scheduler.map(|(scheduler, config)| tokio::spawn(schedule(scheduler, config, shutdown.clone())));
        let (postbacks, sender, every) = self.sender;
        let sender = tokio::spawn(send_postbacks(postbacks, sender, every, shutdown.clone()));
        let (purge, history, every) = self.purge;
        let purge = tokio::spawn(purge_deleted(purge, history, every, shutdown.clone()));
        worker::run_pool(self.pipeline, self.runs, self.handoff, self.settings, shutdown).await;
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        let _ = sender.await;
        let _ = purge.await;
    }
}

impl Application {
    /// Opens storage, applies migrations and binds the listener (port 0 picks a free
    /// port; see [`Application::local_addr`]).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let (database, adapters) = Adapters::open(config).await?;
        let use_cases = UseCases::new(adapters.ports(), config.use_case_limits()?);
        let rest = config.rest();
        let metrics = Arc::new(ctxd_telemetry::Metrics::new());
        // One budget per user across REST and gRPC, and on Postgres across every
        // process sharing the database.
        let budgets: Arc<dyn ctxd_domain::ports::RateBudgets> = match database.backend() {
            ctxd_storage::Backend::Postgres => Arc::new(adapters.store.clone()),
            ctxd_storage::Backend::Sqlite => Arc::new(ctxd_domain::services::rate_limits::InProcessBudgets::default()),
        };
        let limiter = ctxd_domain::services::rate_limits::RateLimiter::new(rest.rate_limits, budgets);
        let gate = Arc::new(ctxd_domain::services::access::AccessGate::new(use_cases.api_keys.clone(), limiter));
        let stopping = CancellationToken::new();
        let state = AppState {
            use_cases: use_cases.clone(),
            health: adapters.health.clone(),
            gate: gate.clone(),
            metrics: metrics.clone(),
            queue: Arc::new(adapters.store.clone()),
            stopping: stopping.clone(),
        };
        let mut router = ctxd_rest::router(state, &rest);
        if config.mcp.enabled {
            let mcp = ctxd_mcp::router(use_cases.clone(), gate.clone(), &config.mcp_http(), stopping.clone());
            router = router.merge(mcp);
        }
        router = if config.web.enabled {
            router.merge(ctxd_web::router(use_cases.clone(), config.web_settings(), stopping.clone()))
        } else {
            // Without the console, a browser pointed at the server lands on the API docs.
            router.route("/", axum::routing::get(|| async { axum::response::Redirect::temporary("/docs/") }))
        };
        let listener =
            TcpListener::bind(&config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        let grpc_listener = match config.grpc.enabled {
            true => Some(
                TcpListener::bind(&config.grpc.listen)
                    .await
                    .with_context(|| format!("cannot listen for gRPC on {}", config.grpc.listen))?,
            ),
            false => None,
        };
        let health = adapters.health.clone();
        let workers =
            if config.worker.enabled { Some(Workers::new(&adapters, config, metrics.clone())?) } else { None };
        let handoff = adapters.handoff.clone();
        Ok(Self {
            listener,
            grpc_listener,
            health,
            gate,
            metrics,
            router,
            use_cases,
            database,
            handoff,
            workers,
            stopping,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Where gRPC is served, when it is.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn use_cases(&self) -> &UseCases {
        &self.use_cases
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Where this process's idle workers wait for the runs its requests accept.
    pub fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// Serves (and runs the workers) until `shutdown` resolves, then finishes in-flight
    /// requests and runs.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let token = self.stopping;
        let workers = self.workers.map(|workers| tokio::spawn(workers.run(token.clone())));
        let grpc = self.grpc_listener.map(|listener| {
            let stop = token.clone();
            tokio::spawn(ctxd_grpc::serve(listener, self.use_cases.clone(), self.gate, self.health, self.metrics, stop))
        });
        let stop_workers = token.clone();
        let served = axum::serve(ctxd_rest::listener::ShapedListener(self.listener), self.router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                stop_workers.cancel();
            })
            .await
            .context("the HTTP server failed");
        token.cancel();
        if let Some(workers) = workers {
            let _ = workers.await;
        }
        if let Some(grpc) = grpc {
            match grpc.await {
                Ok(Err(error)) => tracing::error!(%error, "the gRPC server failed"),
                Err(error) => tracing::error!(%error, "the gRPC server panicked"),
                Ok(Ok(())) => {}
            }
        }
        served
    }
}

/// Runs `pass` every `period` until shutdown; a pass in progress finishes first.
async fn every<F, Fut>(period: std::time::Duration, shutdown: CancellationToken, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = shutdown.cancelled() => return,
        }
        pass().await;
    }
}

/// Delivers due postbacks until shutdown. Deliveries live in the database, so
/// whatever is pending at shutdown is sent by the next process that runs this.
async fn send_postbacks(
    postbacks: PostbackService,
    sender: HttpWebhookSender,
    period: std::time::Duration,
    shutdown: CancellationToken,
) {
    every(period, shutdown, || async {
        match postbacks.deliver_due(&sender, 50).await {
            Ok(pass) if pass.n_delivered + pass.n_retrying + pass.n_gave_up > 0 => tracing::info!(
                delivered = pass.n_delivered,
                retrying = pass.n_retrying,
                gave_up = pass.n_gave_up,
                "postbacks sent"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "postback pass failed"),
        }
    })
    .await;
}

/// Purges what deletes left behind and the history past its retention, every
/// `period`, until shutdown. Every worker process runs it; two purging the same rows
/// at once delete them once, which is harmless.
async fn purge_deleted(
    purge: PurgeService,
    history: HistoryPurge,
    period: std::time::Duration,
    shutdown: CancellationToken,
) {
    every(period, shutdown, || async {
        match purge.purge_due(chrono::Utc::now()).await {
            Ok(pass) if pass.n_sources + pass.n_spaces > 0 => tracing::info!(
                sources = pass.n_sources,
                objects = pass.n_objects,
                spaces = pass.n_spaces,
                "purged deleted data"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "purge pass failed"),
        }
        match history.purge_due(chrono::Utc::now()).await {
            Ok(pass) if !pass.is_empty() => tracing::info!(
                runs = pass.n_runs,
                deliveries = pass.n_deliveries,
                idempotency_keys = pass.n_idempotency_keys,
                rate_limits = pass.n_rate_limits,
                "purged history past its retention"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "history purge pass failed"),
        }
    })
    .await;
}

/// Runs scheduler passes until shutdown.
async fn schedule(scheduler: Scheduler, config: crate::config::SchedulerConfig, shutdown: CancellationToken) {
    every(std::time::Duration::from_millis(config.interval_ms), shutdown, || async {
        match scheduler.tick(config.batch).await {
            Ok(tick) if tick.n_enqueued > 0 => {
                tracing::info!(enqueued = tick.n_enqueued, postponed = tick.n_postponed, "scheduled refreshes")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "scheduler pass failed"),
        }
    })
    .await;
}

/// On the first start of an empty installation, creates the local user and its first
/// key, and writes the key to `<data_dir>/first-api-key` (mode 0600).
pub async fn bootstrap_first_key(use_cases: &UseCases, data_dir: &Path) -> anyhow::Result<Option<IssuedApiKey>> {
    let Some(issued) = use_cases.api_keys.bootstrap_local_user().await? else { return Ok(None) };
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("first-api-key");
    crate::private_file::write_private(&path, &format!("{}\n", issued.secret.expose()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(issued))
}

/// The offline extractor, or the LLM one (falling back to it) when configured.
fn context_extractor(config: &Config) -> anyhow::Result<Arc<dyn ctxd_domain::ports::ContextExtractor>> {
    let offline: Arc<dyn ctxd_domain::ports::ContextExtractor> = Arc::new(ExtractiveContextExtractor);
    let Some(llm) = config.llm.adapter_config() else { return Ok(offline) };
    tracing::info!(model = %llm.model, endpoint = %llm.base_url, "context extraction asks a model (offline fallback)");
    let counter: ctxd_llm::TokenCounter = Arc::new(ctxd_extractors::count_tokens);
    Ok(Arc::new(LlmContextExtractor::new(llm, offline, counter).context("cannot build the model client")?))
}
