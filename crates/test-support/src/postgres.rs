//! Finding a PostgreSQL server for tests, in this order: `CTXD_TEST_POSTGRES_URL`
//! (an admin URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`), a server on
//! 127.0.0.1:5432 that accepts `postgres` without a password, or a throwaway cluster
//! started from the system's `initdb`/`pg_ctl`. The throwaway cluster lives under the
//! system temp directory and is shared by every test process (nextest runs one
//! process per test) through a file lock; it runs as the `postgres` OS user when the
//! tests run as root, because `initdb` refuses root.

use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use sea_orm::{ConnectionTrait, Database};
use tokio::sync::OnceCell;

static ADMIN_URL: OnceCell<Option<String>> = OnceCell::const_new();

/// The admin URL of a usable server, found once per process.
pub async fn admin_url() -> Option<String> {
    ADMIN_URL.get_or_init(find).await.clone()
}

async fn find() -> Option<String> {
    if let Ok(url) = std::env::var("CTXD_TEST_POSTGRES_URL") {
        assert!(can_connect(&url).await, "CTXD_TEST_POSTGRES_URL={url} does not accept connections");
        return Some(url);
    }
    // No TLS to the loopback server: it protects nothing there, and a Debian server has
    // `ssl = on`, where sqlx's default (`prefer`) encrypts every message: `bench fetch`
    // against it measured TLS more than ctxd (about 360 refreshes/s instead of 1,400).
    let local = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable".to_owned();
    // A plain TCP probe first: the pool would retry a refused port until its timeout.
    let listening =
        std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], 5432).into(), Duration::from_secs(1)).is_ok();
    if listening && can_connect(&local).await {
        return Some(local);
    }
    let started = tokio::task::spawn_blocking(start_throwaway_cluster).await.ok().flatten()?;
    can_connect(&started).await.then_some(started)
}

async fn can_connect(url: &str) -> bool {
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.connect_timeout(Duration::from_secs(3)).sqlx_logging(false).max_connections(1);
    match Database::connect(options).await {
        Ok(connection) => connection.execute_unprepared("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}

/// Runs one statement on the admin database.
pub async fn execute(admin_url: &str, sql: &str) {
    let mut options = sea_orm::ConnectOptions::new(admin_url.to_owned());
    options.sqlx_logging(false).max_connections(1);
    let connection = Database::connect(options).await.expect("connect to the Postgres admin database");
    connection.execute_unprepared(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = connection.close().await;
}

/// The same server, another database.
pub fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{name}{query}")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn find_binary(name: &str) -> Option<PathBuf> {
    if let Ok(output) = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output() {
        let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !path.is_empty() {
            return Some(PathBuf::from(path));
        }
    }
    let mut versions: Vec<_> =
        fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(Result::ok).map(|e| e.path()).collect();
    versions.sort();
    versions.into_iter().rev().map(|v| v.join("bin").join(name)).find(|p| p.is_file())
}

/// Runs a PostgreSQL tool, as `postgres` when we are root.
fn run_pg(tool: &Path, args: &[&str]) -> bool {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    command.args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    command.status().map(|s| s.success()).unwrap_or(false)
}

fn free_port() -> Option<u16> {
    TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok().map(|a| a.port())
}

fn start_throwaway_cluster() -> Option<String> {
    let initdb = find_binary("initdb")?;
    let pg_ctl = initdb.with_file_name("pg_ctl");
    let root = std::env::temp_dir().join("ctxd-test-postgres");
    fs::create_dir_all(&root).ok()?;
    // One process starts the cluster; the others wait on the lock and reuse it.
    let lock = fs::File::create(root.join("lock")).ok()?;
    lock.lock().ok()?;
    let cluster = root.join("cluster");
    let data = cluster.join("data");
    let data_str = data.to_str()?;
    let port_file = root.join("port");
    if let Ok(port) = fs::read_to_string(&port_file)
        && run_pg(&pg_ctl, &["status", "-D", data_str])
    {
        return Some(format!("postgres://postgres@127.0.0.1:{}/postgres", port.trim()));
    }
    if is_root() {
        let has_user = Command::new("id").arg("postgres").status().map(|s| s.success()).unwrap_or(false);
        if !has_user {
            let _ = Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"])
                .status();
        }
    }
    let _ = fs::remove_dir_all(&cluster);
    fs::create_dir_all(&cluster).ok()?;
    if is_root() {
        Command::new("chown").args(["-R", "postgres:postgres"]).arg(&cluster).status().ok()?;
    }
    if !run_pg(&initdb, &["-D", data_str, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]) {
        return None;
    }
    let port = free_port()?;
    // The socket directory must be set: the packaged default may not exist.
    let options = format!(
        "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off -c max_connections=300",
        cluster.display()
    );
    let log = cluster.join("server.log");
    if !run_pg(&pg_ctl, &["-D", data_str, "-l", log.to_str()?, "-w", "-t", "60", "-o", &options, "start"]) {
        return None;
    }
    fs::write(&port_file, port.to_string()).ok()?;
    Some(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// A PostgreSQL cluster of one test's own, which the test may stop and start (a
/// database outage), removed when dropped. Built from the system's `initdb` and
/// `pg_ctl`, as the `postgres` OS user when run as root.
#[derive(Debug)]
pub struct PrivateCluster {
    root: tempfile::TempDir,
    pg_ctl: PathBuf,
    port: u16,
}

impl PrivateCluster {
    /// A new, running cluster; `None` when the server binaries are missing or it
    /// does not start.
    pub fn start() -> Option<Self> {
        let initdb = find_binary("initdb")?;
        let root = tempfile::Builder::new().prefix("ctxd-private-pg").tempdir().ok()?;
        if is_root() {
            Command::new("chown").args(["-R", "postgres:postgres"]).arg(root.path()).status().ok()?;
        }
        let data = root.path().join("data");
        if !run_pg(&initdb, &["-D", data.to_str()?, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]) {
            return None;
        }
        let cluster = Self { pg_ctl: initdb.with_file_name("pg_ctl"), port: free_port()?, root };
        cluster.resume().then_some(cluster)
    }

    /// The admin URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable", self.port)
    }

    /// Stops the server at once, as a crash or a failover would (`-m immediate`).
    pub fn stop(&self) -> bool {
        let data = self.root.path().join("data");
        run_pg(&self.pg_ctl, &["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"])
    }

    /// Starts the (stopped) server again on the same port.
    pub fn resume(&self) -> bool {
        let data = self.root.path().join("data");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.root.path().display()
        );
        let log = self.root.path().join("server.log");
        run_pg(
            &self.pg_ctl,
            &["-D", &data.to_string_lossy(), "-l", &log.to_string_lossy(), "-w", "-t", "60", "-o", &options, "start"],
        )
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_swap_only_the_database_name() {
        assert_eq!(with_database("postgres://u@h:5/postgres", "t1"), "postgres://u@h:5/t1");
        assert_eq!(
            with_database("postgres://u@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u@h:5/t1?sslmode=disable"
        );
    }
}
