//! The composition root: connects storage, builds the use cases over it, and serves
//! the REST API. Tests call [`Application::build`] exactly as the binary does.

use std::{future::Future, net::SocketAddr, path::Path, sync::Arc};

use anyhow::Context;
use ctxd_domain::{
    model::IssuedApiKey,
    ports::SystemClock,
    services::{Ports, UseCases},
};
use ctxd_rest::AppState;
use ctxd_storage::{Database, SeaStore};
use tokio::net::TcpListener;

use crate::config::Config;

/// Opens the configured database (creating the data directory for SQLite) and applies
/// pending migrations.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    }
    let database = Database::connect(&config.effective_database_url()).await.context("cannot open the database")?;
    database.migrate().await.context("cannot apply database migrations")?;
    Ok(database)
}

/// Every port implemented by the one storage adapter.
pub fn ports(store: SeaStore) -> Ports {
    let store = Arc::new(store);
    Ports {
        users: store.clone(),
        api_keys: store.clone(),
        spaces: store.clone(),
        collections: store.clone(),
        sources: store.clone(),
        runs: store.clone(),
        uploads: store,
        clock: Arc::new(SystemClock),
    }
}

/// A bound, ready-to-run server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    use_cases: UseCases,
    database: Database,
}

impl Application {
    /// Opens storage, applies migrations and binds the listener (port 0 picks a free
    /// port; see [`Application::local_addr`]).
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let database = open_database(config).await?;
        let store = database.store();
        let use_cases = UseCases::new(ports(store.clone()), config.domain_limits());
        let state = AppState { use_cases: use_cases.clone(), health: Arc::new(store) };
        let router = ctxd_rest::router(state, &config.rest());
        let listener =
            TcpListener::bind(&config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        Ok(Self { listener, router, use_cases, database })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn use_cases(&self) -> &UseCases {
        &self.use_cases
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await.context("the HTTP server failed")
    }
}

/// On the first start of an empty installation, creates the local user and its first
/// key, and writes the key to `<data_dir>/first-api-key` (mode 0600).
pub async fn bootstrap_first_key(use_cases: &UseCases, data_dir: &Path) -> anyhow::Result<Option<IssuedApiKey>> {
    let Some(issued) = use_cases.api_keys.bootstrap_local_user().await? else { return Ok(None) };
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("first-api-key");
    write_private(&path, issued.secret.expose()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(issued))
}

fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")
}
