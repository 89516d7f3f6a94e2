//! Configuration: defaults, then an optional TOML file, then `CTXD_*` environment
//! variables (`__` between nested keys) and `DATABASE_URL`, then command-line flags.
//! Only the binary reads configuration; adapters get small structs built from it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use ctxd_domain::secret::Secret;
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address of the REST API.
    pub listen: String,
    /// Where the embedded database and local files live.
    pub data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub database: DatabaseConfig,
    pub limits: LimitsConfig,
    pub postback: PostbackConfig,
    pub http: HttpConfig,
    pub worker: WorkerConfig,
    pub scheduler: SchedulerConfig,
    pub revisions: RevisionsConfig,
    pub retention: RetentionConfig,
    pub fetch: FetchConfig,
    pub rate_limits: RateLimitConfig,
    pub llm: LlmSettings,
    pub grpc: GrpcConfig,
    pub mcp: McpConfig,
    pub web: WebConfig,
    /// The address clients reach the REST API at (`https://ctxd.example.com`), for
    /// the upload URLs ctxd hands out; default: each request's `Host`.
    pub public_url: Option<String>,
    pub blobs: BlobsConfig,
    pub uploads: UploadsConfig,
}

/// How ctxd waits for its database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// The longest wait for a connection, in milliseconds; past it the request
    /// answers 503 (gRPC UNAVAILABLE).
    pub acquire_timeout_ms: u64,
    /// Pooled connections per process on Postgres (one carries `LISTEN`); each process
    /// opens up to seven more for its grouped statements.
    pub pool_size: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        let default = ctxd_storage::ConnectSettings::default();
        Self {
            acquire_timeout_ms: u64::try_from(default.acquire_timeout.as_millis()).unwrap_or(3000),
            pool_size: default.pool_size,
        }
    }
}

/// Where revision contents and uploads live.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BlobsConfig {
    pub backend: BlobBackend,
    pub s3: S3Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// Files under `data_dir/blobs` (the embedded default).
    #[default]
    Local,
    /// An S3-compatible bucket (`blobs.s3.*`).
    S3,
}

/// An S3-compatible bucket. Credentials left unset come from the usual
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Config {
    /// `http://127.0.0.1:9000` for MinIO and friends; unset for AWS.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// `endpoint/bucket/key` addressing (MinIO, most self-hosted servers).
    pub path_style: bool,
    /// Base address objects are publicly readable at (CDN); default: the bucket's.
    pub public_url: Option<String>,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: String::new(),
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            path_style: false,
            public_url: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadsConfig {
    /// Largest file accepted by `POST /v1/upload/s3`, in bytes.
    pub max_bytes: u64,
    /// Seconds an upload URL stays valid.
    pub url_ttl_seconds: u64,
    /// Signs ctxd's own upload URLs (local store). Unset: a random key kept in
    /// `data_dir/upload-signing.key`. Replicas that share a data directory share it;
    /// set it explicitly when they do not.
    pub signing_key: Option<Secret>,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        let domain = ctxd_domain::services::UploadSettings::default();
        Self { max_bytes: domain.max_bytes, url_ttl_seconds: domain.url_ttl.as_secs(), signing_key: None }
    }
}

/// The gRPC API, served by `ctxd serve` next to REST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrpcConfig {
    pub enabled: bool,
    pub listen: String,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self { enabled: true, listen: "127.0.0.1:50051".into() }
    }
}

/// MCP over Streamable HTTP at `/mcp` on the REST listener (`ctxd mcp` serves stdio).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct McpConfig {
    pub enabled: bool,
    /// Most MCP sessions open at once (clients before protocol 2026-07-28 keep one).
    pub max_sessions: usize,
    /// A session idle this long is closed.
    pub idle_timeout_seconds: u64,
    /// `Host` values `/mcp` accepts besides loopback names and `public_url`'s host
    /// (rebinding protection): add the names clients reach this server by.
    pub allowed_hosts: Vec<String>,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self { enabled: true, max_sessions: 1000, idle_timeout_seconds: 600, allowed_hosts: Vec::new() }
    }
}

/// The web console at `/` on the REST listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebConfig {
    pub enabled: bool,
    /// How long a sign-in lasts.
    pub session_hours: u32,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self { enabled: true, session_hours: 12 }
    }
}

/// The optional LLM context extractor (an OpenAI-compatible chat-completions
/// endpoint). Off unless both `base_url` and `model` are set; the offline extractor
/// is the fallback whenever the model gives no valid answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LlmSettings {
    /// API root, such as `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key: Option<Secret>,
    /// Seconds one request may take.
    pub timeout_seconds: u64,
    /// Further attempts after a transient failure.
    pub max_retries: u32,
    /// The document is cut to this many characters before it is sent.
    pub max_input_chars: usize,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            timeout_seconds: 60,
            max_retries: 2,
            max_input_chars: 400_000,
        }
    }
}

impl LlmSettings {
    /// The adapter's configuration, when the LLM extractor is turned on.
    pub fn adapter_config(&self) -> Option<ctxd_llm::LlmConfig> {
        let (base_url, model) = (self.base_url.as_deref()?, self.model.as_deref()?);
        // A trailing slash makes `join("chat/completions")` keep the last segment.
        let base_url = url::Url::parse(&format!("{}/", base_url.trim_end_matches('/'))).ok()?;
        Some(ctxd_llm::LlmConfig {
            base_url,
            model: model.to_owned(),
            api_key: self.api_key.clone(),
            timeout: std::time::Duration::from_secs(self.timeout_seconds),
            max_retries: self.max_retries,
            max_input_chars: self.max_input_chars,
        })
    }
}

/// Requests per minute per user, by plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    pub free_per_minute: u32,
    pub pro_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        let limits = ctxd_domain::services::rate_limits::RateLimits::default();
        Self { free_per_minute: limits.free_per_minute, pro_per_minute: limits.pro_per_minute }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FetchConfig {
    /// Let fetches and postbacks reach loopback and private addresses. Off by default:
    /// ctxd fetches user-supplied URLs from inside your network. For development and
    /// tests only.
    pub allow_private_networks: bool,
    /// Where an origin's operator can reach whoever runs this instance; sent in the
    /// `User-Agent` (`ctxd/VERSION (+CONTACT)`).
    pub contact_url: String,
    /// Fetches in flight to one host at a time.
    pub max_per_host: usize,
    /// Honour robots.txt (agent `ctxd`) on scheduled refreshes.
    pub honour_robots: bool,
    pub connect_timeout_seconds: u64,
    /// The whole fetch, body included.
    pub total_timeout_seconds: u64,
    /// Largest body, counted after decompression.
    pub max_body_bytes: u64,
    /// How many times a compressed body may expand (past its first MiB) before it is
    /// refused as a decompression bomb.
    pub max_decompression_ratio: u64,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            contact_url: "https://github.com/ctxd/ctxd".into(),
            max_per_host: 4,
            honour_robots: true,
            connect_timeout_seconds: 10,
            total_timeout_seconds: 30,
            max_body_bytes: 50 * 1024 * 1024,
            max_decompression_ratio: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RevisionsConfig {
    /// How many of a source's latest revisions keep their content (older ones keep
    /// their metadata only).
    pub retain: u32,
}

impl Default for RevisionsConfig {
    fn default() -> Self {
        Self { retain: 20 }
    }
}

/// How long deleted things stay restorable, and how often the purge looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionConfig {
    /// Days a soft-deleted source stays restorable; then the purge removes it with
    /// its runs, revisions, artifacts and stored objects. Sources of a deleted space
    /// are purged at once.
    pub deleted_grace_days: u32,
    /// How often each worker process runs the purge.
    pub purge_interval_seconds: u64,
    /// Days a finished run is kept; older ones go unless `runs_per_source` keeps them.
    pub runs_days: u32,
    /// A source's newest runs that stay whatever their age (at least 2). The newest
    /// successful run of a source stays too.
    pub runs_per_source: u32,
    /// Days a postback delivery is kept once delivered or given up.
    pub deliveries_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            deleted_grace_days: 30,
            purge_interval_seconds: 300,
            runs_days: 90,
            runs_per_source: 50,
            deliveries_days: 30,
        }
    }
}

impl RetentionConfig {
    /// The history retention the purge applies.
    pub fn history(&self) -> ctxd_domain::services::retention::HistoryRetention {
        ctxd_domain::services::retention::HistoryRetention {
            runs_for: chrono::Duration::days(i64::from(self.runs_days)),
            runs_per_source: self.runs_per_source,
            deliveries_for: chrono::Duration::days(i64::from(self.deliveries_days)),
        }
    }
}

/// The refresh scheduler runs in every process that runs workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerConfig {
    pub enabled: bool,
    /// Milliseconds between passes over due sources.
    pub interval_ms: u64,
    /// Due sources handled per pass.
    pub batch: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self { enabled: true, interval_ms: 1000, batch: 100 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Run workers inside `ctxd serve` (`--no-worker` turns this off).
    pub enabled: bool,
    /// Concurrent runs per process.
    pub count: usize,
    /// Seconds a claim lasts without a heartbeat.
    pub lease_seconds: u64,
    /// Milliseconds between claim attempts on an empty queue.
    pub poll_interval_ms: u64,
    /// Claims per run before a transient failure becomes final.
    pub max_attempts: u32,
    /// Seconds before the first retry; each later retry waits twice as long.
    pub retry_base_seconds: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let pool = crate::worker::WorkerSettings::default();
        let retry = ctxd_domain::services::pipeline::RetryPolicy::default();
        Self {
            enabled: true,
            count: pool.count,
            lease_seconds: pool.lease.as_secs(),
            poll_interval_ms: u64::try_from(pool.poll_interval.as_millis()).unwrap_or(500),
            max_attempts: retry.max_attempts,
            retry_base_seconds: retry.base_delay.as_secs(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Largest inline CONTENT source, in bytes.
    pub max_content_bytes: usize,
    /// Shortest INTERVAL refresh policy, in seconds.
    pub min_refresh_interval_seconds: u64,
    /// How deep collections may nest (a top-level collection is at depth 1).
    pub max_collection_depth: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostbackConfig {
    /// Accept `http://` postback URLs (local development only).
    pub allow_http: bool,
    /// Seconds to wait before each retry of a failed delivery; after the last, give up.
    pub retry_delays_seconds: Vec<u64>,
    /// Seconds one delivery attempt may take.
    pub timeout_seconds: u64,
    /// Milliseconds between passes of the sender over the outbox.
    pub poll_interval_ms: u64,
}

impl Default for PostbackConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            retry_delays_seconds: ctxd_domain::model::DEFAULT_RETRY_DELAYS_SECONDS.to_vec(),
            timeout_seconds: 10,
            poll_interval_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Believe `X-Forwarded-Proto`/`X-Forwarded-Host` (set only behind a proxy that
    /// overwrites them).
    pub trust_forwarded: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./ctxd-data"),
            database_url: None,
            database: DatabaseConfig::default(),
            limits: LimitsConfig::default(),
            postback: PostbackConfig::default(),
            http: HttpConfig::default(),
            worker: WorkerConfig::default(),
            scheduler: SchedulerConfig::default(),
            revisions: RevisionsConfig::default(),
            retention: RetentionConfig::default(),
            fetch: FetchConfig::default(),
            rate_limits: RateLimitConfig::default(),
            llm: LlmSettings::default(),
            grpc: GrpcConfig::default(),
            mcp: McpConfig::default(),
            web: WebConfig::default(),
            public_url: None,
            blobs: BlobsConfig::default(),
            uploads: UploadsConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let domain = ctxd_domain::services::Limits::default();
        Self {
            max_content_bytes: domain.max_content_bytes,
            min_refresh_interval_seconds: domain.min_refresh_interval_seconds,
            max_collection_depth: domain.max_collection_depth,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { max_body_bytes: ctxd_rest::RestConfig::default().max_body_bytes, trust_forwarded: false }
    }
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerOverrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcOverrides>,
}

/// `--grpc-listen`: merged into `grpc`, keeping its other settings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GrpcOverrides {
    pub listen: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerOverrides {
    pub enabled: bool,
}

impl Config {
    /// Loads and validates the layered configuration.
    ///
    /// # Errors
    /// Every problem found, one line each: unreadable file, unknown keys and `CTXD_`
    /// variables (with the nearest valid name), wrong types, invalid values.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Vec<String>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(vec![format!("config file {} does not exist", path.display())]);
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let figment = figment
            .merge(Env::prefixed("CTXD_").split("__"))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Serialized::defaults(overrides));
        let mut problems = check::problems(file);
        match figment.extract::<Config>() {
            Ok(config) => {
                if let Err(invalid) = config.validate() {
                    problems.extend(invalid);
                }
                if problems.is_empty() { Ok(config) } else { Err(problems) }
            }
            Err(error) if problems.is_empty() => Err(error.into_iter().map(|e| e.to_string()).collect()),
            Err(_) => Err(problems),
        }
    }

    /// # Errors
    /// One line per invalid setting.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!("listen: {:?} is not an address like 127.0.0.1:8080", self.listen));
        }
        if self.grpc.enabled && self.grpc.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!("grpc.listen: {:?} is not an address like 127.0.0.1:50051", self.grpc.listen));
        }
        if let Some(url) = &self.database_url {
            let known = ["postgres://", "postgresql://", "sqlite:"].iter().any(|p| url.starts_with(p));
            if !known {
                problems.push("database_url: must start with postgres://, postgresql:// or sqlite:".into());
            }
        }
        if !(100..=60_000).contains(&self.database.acquire_timeout_ms) {
            problems.push("database.acquire_timeout_ms: must be between 100 and 60000".into());
        }
        if self.limits.max_content_bytes == 0 {
            problems.push("limits.max_content_bytes: must be greater than 0".into());
        }
        if !(1..=1000).contains(&self.limits.max_collection_depth) {
            problems.push("limits.max_collection_depth: must be between 1 and 1000".into());
        }
        if self.limits.min_refresh_interval_seconds == 0 {
            problems.push("limits.min_refresh_interval_seconds: must be greater than 0".into());
        }
        if self.worker.count == 0 {
            problems.push("worker.count: must be at least 1".into());
        }
        if self.worker.lease_seconds == 0 {
            problems.push("worker.lease_seconds: must be greater than 0".into());
        }
        if self.worker.max_attempts == 0 {
            problems.push("worker.max_attempts: must be at least 1".into());
        }
        if self.scheduler.interval_ms == 0 || self.scheduler.batch == 0 {
            problems.push("scheduler.interval_ms and scheduler.batch: must be greater than 0".into());
        }
        if self.postback.timeout_seconds == 0 || self.postback.poll_interval_ms == 0 {
            problems.push("postback.timeout_seconds and postback.poll_interval_ms: must be greater than 0".into());
        }
        if self.rate_limits.free_per_minute == 0 || self.rate_limits.pro_per_minute == 0 {
            problems.push("rate_limits: every plan needs at least 1 request per minute".into());
        }
        if self.revisions.retain == 0 {
            problems.push("revisions.retain: must be at least 1".into());
        }
        if self.web.session_hours == 0 || self.web.session_hours > 24 * 90 {
            problems.push("web.session_hours: 1 to 2160 (90 days)".into());
        }
        if self.mcp.max_sessions == 0 || self.mcp.idle_timeout_seconds == 0 {
            problems.push("mcp.max_sessions and mcp.idle_timeout_seconds: must be greater than 0".into());
        }
        if self.retention.purge_interval_seconds == 0 {
            problems.push("retention.purge_interval_seconds: must be greater than 0".into());
        }
        if !(2..=1000).contains(&self.database.pool_size) {
            problems.push("database.pool_size: from 2 to 1000".into());
        }
        if self.retention.runs_per_source < 2 {
            problems.push("retention.runs_per_source: must be at least 2 (a refresh reads the run before it)".into());
        }
        for (name, days) in
            [("runs_days", self.retention.runs_days), ("deliveries_days", self.retention.deliveries_days)]
        {
            if days == 0 || days > 36_500 {
                problems.push(format!("retention.{name}: from 1 to 36500 days"));
            }
        }
        if self.retention.deleted_grace_days > 36_500 {
            problems.push("retention.deleted_grace_days: at most 36500 (100 years)".into());
        }
        match (&self.llm.base_url, &self.llm.model) {
            (Some(url), _)
                if !matches!(url::Url::parse(url).map(|u| u.scheme().to_owned()).as_deref(), Ok("http" | "https")) =>
            {
                problems.push(format!("llm.base_url: {url:?} is not an http(s) URL"));
            }
            (Some(_), None) | (None, Some(_)) => problems.push("llm: base_url and model go together".into()),
            _ => {}
        }
        if self.llm.timeout_seconds == 0 || self.llm.max_input_chars == 0 {
            problems.push("llm.timeout_seconds and llm.max_input_chars: must be greater than 0".into());
        }
        let fetch = &self.fetch;
        if [
            fetch.connect_timeout_seconds,
            fetch.total_timeout_seconds,
            fetch.max_body_bytes,
            fetch.max_decompression_ratio,
        ]
        .contains(&0)
        {
            problems.push(
                "fetch.connect_timeout_seconds, total_timeout_seconds, max_body_bytes and max_decompression_ratio: \
                 must be greater than 0"
                    .into(),
            );
        }
        if self.fetch.max_per_host == 0 {
            problems.push("fetch.max_per_host: must be at least 1".into());
        }
        if self.fetch.contact_url.trim().is_empty() {
            problems.push("fetch.contact_url: must not be empty".into());
        }
        if let Some(url) = &self.public_url
            && !matches!(url::Url::parse(url).map(|u| u.scheme().to_owned()).as_deref(), Ok("http" | "https"))
        {
            problems.push(format!("public_url: {url:?} is not an http(s) URL"));
        }
        if self.blobs.backend == BlobBackend::S3 && self.blobs.s3.bucket.trim().is_empty() {
            problems.push("blobs.s3.bucket: required when blobs.backend is s3".into());
        }
        if self.uploads.max_bytes == 0 || self.uploads.url_ttl_seconds == 0 {
            problems.push("uploads.max_bytes and uploads.url_ttl_seconds: must be greater than 0".into());
        }
        if self.uploads.signing_key.as_ref().is_some_and(|k| k.expose().len() < 16) {
            problems.push("uploads.signing_key: must be at least 16 characters".into());
        }
        if self.http.max_body_bytes < 1024 {
            problems.push("http.max_body_bytes: must be at least 1024".into());
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

mod adapters;
mod check;
#[cfg(test)]
mod tests;
