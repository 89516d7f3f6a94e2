//! The `ctxd` command line: `serve`, `worker`, `mcp`, `migrate`, `keys create`,
//! `openapi` and `extract`.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};
use ctxd_domain::model::Plan;
use ctxd_server::{
    Application, Config,
    app::{Adapters, Workers, bootstrap_first_key, open_database},
    config::{GrpcOverrides, Overrides, WorkerOverrides},
    extract::ExtractOptions,
};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// What `ctxd --help` says before the commands.
const ABOUT: &str = "ctxd turns web pages, files and AI conversations into reusable context for AI work \
(markdown, a compact summary, code and other artifacts), and keeps it fresh.";

/// What `ctxd --help` says after the commands.
const AFTER_HELP: &str = "\
Start with `ctxd serve`: it keeps its SQLite database and files in ./ctxd-data, prints
the first API key once and serves the REST API on http://127.0.0.1:8080 (docs at /docs)
and gRPC on 127.0.0.1:50051. AI assistants connect over MCP: to http://127.0.0.1:8080/mcp
with the key, or by starting `ctxd mcp` (stdio).

Configuration (flags beat environment variables beat the --config file beat defaults):
  DATABASE_URL            postgres://user@host/db for PostgreSQL (default: SQLite in --data-dir)
  CTXD_LISTEN             the REST address; nested settings use `__`, as in
  CTXD_GRPC__LISTEN       the gRPC address, or CTXD_WORKER__COUNT, CTXD_BLOBS__BACKEND=s3
  RUST_LOG                log detail (default: info for serve and worker, warn otherwise)

Every setting, the API and how to run workers and PostgreSQL are in README.md.";

#[derive(Debug, Parser)]
#[command(name = "ctxd", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand shares.
#[derive(Debug, clap::Args)]
struct Common {
    /// Data directory for the embedded SQLite database and local files [default: ./ctxd-data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file (flags beat CTXD_* env vars beat the file beat defaults)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the REST API (runs migrations; creates the first API key on an empty install)
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<String>,
        /// Address of the gRPC API [default: 127.0.0.1:50051]
        #[arg(long, value_name = "ADDR")]
        grpc_listen: Option<String>,
        /// Do not run workers in this process (run `ctxd worker` elsewhere)
        #[arg(long)]
        no_worker: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Run workers only: claim and process runs from the shared queue
    Worker {
        #[command(flatten)]
        common: Common,
    },
    /// Serve MCP on stdin/stdout for a local AI client that starts a command (opens the
    /// same database as serve; logs go to stderr)
    Mcp {
        /// The user the assistant acts for
        #[arg(long, default_value = "local")]
        user: String,
        /// Run no workers in this process (when `ctxd serve` or `ctxd worker` runs on the
        /// same database, its workers process what the assistant queues)
        #[arg(long)]
        no_worker: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Apply database migrations and exit
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Print the OpenAPI 3.1 document of the REST API
    Openapi,
    /// Normalize and extract local files offline (no server, no database): prints the
    /// markdown, or with --json one line per input: {file, format, markdown, context, artifacts}
    Extract {
        /// Input type; auto detects it from the file name and the content
        #[arg(long = "type", default_value = "auto", value_parser = ["auto", "html", "markdown", "text", "pdf", "chat"])]
        input_type: String,
        /// The page's address, to resolve relative links in HTML
        #[arg(long)]
        url: Option<String>,
        /// Print one JSON object per input instead of the markdown
        #[arg(long)]
        json: bool,
        /// Files to read; `-` (or none) reads stdin
        files: Vec<String>,
    },
    /// Manage API keys
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key for a user (creating the user if needed); prints the key alone on stdout
    Create {
        /// User name
        #[arg(long)]
        user: String,
        /// Plan of a newly created user
        #[arg(long, value_parser = ["FREE", "PRO"])]
        plan: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

/// What `serve` takes on the command line beyond the common options.
#[derive(Debug, Default)]
struct ServeFlags {
    listen: Option<String>,
    grpc_listen: Option<String>,
    no_worker: bool,
}

fn load_config(common: &Common, serve: ServeFlags) -> Result<Config, ExitCode> {
    let worker = serve.no_worker.then_some(WorkerOverrides { enabled: false });
    let grpc = serve.grpc_listen.map(|listen| GrpcOverrides { listen });
    let overrides = Overrides { listen: serve.listen, data_dir: common.data_dir.clone(), worker, grpc };
    Config::load(common.config.as_deref(), &overrides).map_err(|problems| {
        eprintln!("ctxd: invalid configuration:");
        for problem in problems {
            eprintln!("  {problem}");
        }
        ExitCode::from(2)
    })
}

/// mimalloc rather than glibc malloc: allocation was about a fifth of the server's CPU
/// on the unchanged-refresh path, much of it arena locking and consolidation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr so that `keys create` prints nothing but the key on stdout.
    // One-shot commands stay quiet (no migration lines) unless RUST_LOG asks; colours
    // only on a terminal, so redirected logs hold no escape codes.
    let quiet = !matches!(cli.command, Command::Serve { .. } | Command::Worker { .. });
    let default_filter = if quiet { "warn" } else { "info,sqlx=warn" };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve { listen, grpc_listen, no_worker, common } => {
            match load_config(&common, ServeFlags { listen, grpc_listen, no_worker }) {
                Ok(config) => serve(config).await,
                Err(code) => return code,
            }
        }
        Command::Worker { common } => match load_config(&common, ServeFlags::default()) {
            Ok(config) => work(config).await,
            Err(code) => return code,
        },
        Command::Mcp { user, no_worker, common } => {
            match load_config(&common, ServeFlags { no_worker, ..ServeFlags::default() }) {
                Ok(config) => mcp(config, &user).await,
                Err(code) => return code,
            }
        }
        Command::Migrate { common } => match load_config(&common, ServeFlags::default()) {
            Ok(config) => migrate(config).await,
            Err(code) => return code,
        },
        Command::Openapi => print_openapi(),
        Command::Extract { input_type, url, json, files } => {
            let Ok(input_type) = input_type.parse() else { return ExitCode::from(2) };
            let options = ExtractOptions { input_type, url, json, files };
            // The work is CPU-bound and synchronous: keep it off the async workers.
            return match tokio::task::spawn_blocking(move || ctxd_server::extract::run(&options)).await {
                Ok(Ok(true)) => ExitCode::SUCCESS,
                Ok(Ok(false)) => ExitCode::FAILURE,
                Ok(Err(error)) => {
                    eprintln!("ctxd: {error:#}");
                    ExitCode::FAILURE
                }
                Err(_) => ExitCode::FAILURE,
            };
        }
        Command::Keys { command: KeysCommand::Create { user, plan, common } } => {
            match load_config(&common, ServeFlags::default()) {
                Ok(config) => create_key(config, &user, plan.as_deref()).await,
                Err(code) => return code,
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ctxd: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(&config).await?;
    let console = format!("http://{}/", app.local_addr());
    if let Some(issued) = bootstrap_first_key(app.use_cases(), &config.data_dir).await? {
        // The key's line comes first: scripts read it. Whoever reads may stop after
        // it (`ctxd serve | head -1`); a closed stdout must not stop the server.
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "API key: {}", issued.secret.expose());
        if config.web.enabled {
            let _ = writeln!(stdout, "Open {console} in a browser and sign in with this key.");
        }
        let _ = stdout.flush();
        drop(stdout);
        tracing::info!(path = %config.data_dir.join("first-api-key").display(), "first API key written");
    }
    let grpc = app.grpc_addr().map_or_else(|| "off".to_owned(), |addr| addr.to_string());
    tracing::info!(
        address = %app.local_addr(),
        grpc = %grpc,
        console = %if config.web.enabled { console.as_str() } else { "off" },
        docs = %format!("http://{}/docs", app.local_addr()),
        "ctxd is serving"
    );
    app.run_until_stopped(shutdown_signal()).await
}

fn print_openapi() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&ctxd_rest::openapi())?);
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    open_database(&config).await?;
    eprintln!("ctxd: migrations applied");
    Ok(())
}

async fn work(config: Config) -> anyhow::Result<()> {
    let (_database, adapters) = Adapters::open(&config).await?;
    let workers = Workers::new(&adapters, &config, Arc::new(ctxd_telemetry::Metrics::new()))?;
    let token = CancellationToken::new();
    let stop = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    tracing::info!(count = config.worker.count, "ctxd workers are running");
    workers.run(token).await;
    Ok(())
}

/// `ctxd mcp`: one MCP session on stdio, with this process's own workers unless
/// `--no-worker` (or `worker.enabled = false`).
async fn mcp(config: Config, user: &str) -> anyhow::Result<()> {
    let (_database, adapters) = Adapters::open(&config).await?;
    let use_cases = ctxd_domain::services::UseCases::new(adapters.ports(), config.use_case_limits()?);
    // A fresh installation gets its local user (and first key file) as with `serve`;
    // stdout belongs to the protocol, so nothing is printed.
    bootstrap_first_key(&use_cases, &config.data_dir).await?;
    let user = match use_cases.api_keys.user_named(user).await {
        Ok(found) => found,
        Err(ctxd_domain::Error::NotFound(_)) => {
            anyhow::bail!("--user: no user named {user:?}; `ctxd keys create --user {user}` makes one")
        }
        Err(error) => return Err(anyhow::Error::new(error).context("cannot read the user")),
    };
    let token = CancellationToken::new();
    let workers = match config.worker.enabled {
        true => {
            let workers = Workers::new(&adapters, &config, Arc::new(ctxd_telemetry::Metrics::new()))?;
            Some(tokio::spawn(workers.run(token.clone())))
        }
        false => None,
    };
    let stop = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    let served = ctxd_mcp::serve_stdio(use_cases, user, token.clone()).await;
    token.cancel();
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    served.map_err(|error| anyhow::anyhow!("the MCP session failed: {error}"))
}

async fn create_key(config: Config, user: &str, plan: Option<&str>) -> anyhow::Result<()> {
    let (_database, adapters) = Adapters::open(&config).await?;
    let use_cases = ctxd_domain::services::UseCases::new(adapters.ports(), config.use_case_limits()?);
    let plan = plan.map(|p| p.parse::<Plan>()).transpose().map_err(anyhow::Error::msg)?;
    let (_, issued) = match use_cases.api_keys.create_for_user_name(user, plan).await {
        Ok(created) => created,
        // The user's own mistake: say which flag and why, not just "invalid request".
        Err(ctxd_domain::Error::Validation { details, .. }) => {
            let problems: Vec<_> = details.iter().map(|d| format!("--{}: {}", d.field, d.message)).collect();
            anyhow::bail!("{}", problems.join("; "));
        }
        Err(error) => return Err(anyhow::Error::new(error).context("cannot create the key")),
    };
    println!("{}", issued.secret.expose());
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
