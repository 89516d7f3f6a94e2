//! `cargo xtask`: the project's automation. `ci` runs exactly what CI runs.

use std::process::Command;

use anyhow::{Context, bail};

mod tidy;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                  format check, clippy (warnings are errors), the whole test suite
                      (unit and end-to-end, on SQLite and PostgreSQL) with cargo-nextest,
                      validation of the generated OpenAPI document, a Python gRPC client
                      (grpcio-tools) against a real ctxd serve, the MCP Python SDK against
                      ctxd serve and ctxd mcp on both backends, schemathesis against a
                      seeded ctxd serve on both backends (90 s each), and the extraction
                      quality gate when ../shared/data is there (required in CI)
  grpc-client-check   only the Python gRPC client check of ci
  mcp-client-check    only the MCP check of ci: the official MCP Python SDK (installed
                      from PyPI into target/mcp-venv) drives ctxd serve over Streamable
                      HTTP and ctxd mcp over stdio, on SQLite and then on PostgreSQL
  schemathesis [--max-time S]
                      schemathesis (every check) against a live ctxd serve seeded with real
                      resources, on SQLite and then on PostgreSQL, S seconds each (default
                      90); installed from PyPI into target/schemathesis-venv
  chaos [--kills N] [--outage-seconds S]
                      the fault suite at full strength on real ctxd processes and Postgres:
                      workers SIGKILLed mid-run (default 20 times), runs whose workers keep
                      dying, Postgres stopped under load (default 15 s) and started again,
                      a blob directory that refuses writes; prints each scenario's figures
                      (the test suite runs the same scenarios in a short form)
  bench queue [--runs N] [--workers W]
                      durable-queue throughput with a no-op pipeline on Postgres, next to
                      the raw SKIP LOCKED claim+complete rate of the same server
  bench upload [--mib N]
                      peak RSS of a ctxd serve process while an N MiB file (default 100)
                      is PUT to its signed upload URL (release build of ctxd)
  bench fetch [--sources N] [--rounds R]   (also: bench refresh)
                      unchanged refreshes per second end to end against a local origin
                      answering 304 (Postgres), each round and the median of R (default
                      3), with the origin requests and body bytes per refresh
  bench grpc [--calls N] [--concurrency C] [--rate R]
                      unary GetSource over gRPC next to REST (Postgres): throughput,
                      p50/p99 at a fixed concurrency, and p50/p99 at a fixed rate
  bench scale [--sqlite] [--sizes N,N,...]
                      API reads, claims and scheduler passes at growing data sizes
                      (Postgres: 10k, 100k, 1M sources generated in the database; SQLite:
                      10k, 100k), p50/p99 per operation and size, and the ratio of the
                      largest to the smallest
  bench extract [--data DIR] [--limit N] [--no-trafilatura]
                      HTML main-content F1 and time per page on ../shared/data's article
                      sets next to trafilatura (installed from PyPI into
                      target/bench-venv), structure kept, and context extraction on the
                      chat transcripts
  bench extract --gate
                      the CI quality gate: a fixed small subset, failing under pinned
                      floors (debug build, no trafilatura)";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("grpc-client-check") => grpc_client_check(),
        Some("mcp-client-check") => mcp_client_check(),
        Some("chaos") => chaos(&args[1..]),
        Some("schemathesis") => schemathesis(&args[1..]),
        Some("bench") if args.get(1).is_some_and(|a| a == "extract") => bench_extract(&args[1..]),
        Some("bench") if args.get(1).is_some_and(|a| a == "upload") => {
            // The benchmark measures a real `ctxd serve` process.
            cargo(&["build", "--release", "--quiet", "-p", "ctxd-server", "--bin", "ctxd"])?;
            let ctxd = target_dir()?.join("release/ctxd");
            let mut command = vec!["run", "--release", "--quiet", "-p", "ctxd-bench", "--", "upload", "--ctxd"];
            let ctxd = ctxd.to_string_lossy().into_owned();
            command.push(&ctxd);
            command.extend(args[2..].iter().map(String::as_str));
            cargo(&command)
        }
        Some("bench") if args.len() >= 2 => {
            let mut command = vec!["run", "--release", "--quiet", "-p", "ctxd-bench", "--"];
            command.extend(args[1..].iter().map(String::as_str));
            cargo(&command)
        }
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn workspace_root() -> anyhow::Result<std::path::PathBuf> {
    Ok(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("workspace root")?.to_owned())
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `target/` in the workspace.
fn target_dir() -> anyhow::Result<std::path::PathBuf> {
    Ok(std::env::var("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or(workspace_root()?.join("target")))
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with(args, &[])
}

/// `cargo` with extra environment variables.
fn cargo_with(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// trafilatura's version the benchmark compares with, and the lxml cleaner that its
/// justext dependency imports (a separate package since lxml 5.2); and rs-trafilatura,
/// which classifies the page type first and extracts per type (issue 25's reference).
const TRAFILATURA: &[&str] = &["trafilatura==2.3.1", "lxml_html_clean", "rs-trafilatura==0.1.1"];

/// `bench extract`: installs trafilatura and rs-trafilatura into a virtualenv under
/// target/ (once), then
/// runs the benchmark in release with it. `--gate` runs in the dev profile, which the
/// test suite has already built, and without trafilatura.
fn bench_extract(args: &[String]) -> anyhow::Result<()> {
    let gate = args.iter().any(|a| a == "--gate");
    let mut command: Vec<String> = ["run", "--quiet", "-p", "ctxd-bench"].map(String::from).to_vec();
    if !gate {
        command.insert(1, "--release".into());
    }
    command.push("--".into());
    command.extend(args.iter().filter(|a| *a != "--no-trafilatura").cloned());
    if !gate && !args.iter().any(|a| a == "--no-trafilatura") {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let venv = std::path::Path::new(&target).join("bench-venv");
        let python = venv.join("bin/python");
        let installed = Command::new(&python)
            .args(["-c", "import trafilatura, rs_trafilatura"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
            let mut pip = vec!["-m", "pip", "install", "--quiet"];
            pip.extend(TRAFILATURA);
            run(&python.to_string_lossy(), &pip)?;
        }
        command.extend(["--python".into(), std::path::absolute(&python)?.to_string_lossy().into_owned()]);
    }
    cargo(&command.iter().map(String::as_str).collect::<Vec<_>>())
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The schemathesis part of `ci`, time-boxed: required in CI; elsewhere skipped when
/// its virtualenv cannot be made (no PyPI).
fn attack_suite() -> anyhow::Result<()> {
    let seconds = std::env::var("CTXD_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "90".into());
    let python = match schemathesis_python() {
        Ok(python) => python,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("note: schemathesis could not be installed ({error:#}); skipping the attack suite");
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    run_schemathesis(&python, &seconds)
}

/// The schemathesis version the attack suite runs.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// The MCP SDK version the MCP check runs.
const MCP_SDK: &str = "mcp==2.3.0";

/// A Python with [`SCHEMATHESIS`], in a virtualenv under target/ (made once).
fn schemathesis_python() -> anyhow::Result<String> {
    let version = SCHEMATHESIS.split_once("==").map_or("", |(_, v)| v);
    let check = format!("import schemathesis, sys; sys.exit(schemathesis.__version__ != '{version}')");
    venv_python("schemathesis-venv", SCHEMATHESIS, &check)
}

/// A Python with [`MCP_SDK`], in a virtualenv under target/ (made once).
fn mcp_python() -> anyhow::Result<String> {
    let version = MCP_SDK.split_once("==").map_or("", |(_, v)| v);
    let check = format!("import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '{version}')");
    venv_python("mcp-venv", MCP_SDK, &check)
}

/// The Python of virtualenv `target/{name}`, with `package` installed unless `check`
/// (a Python snippet) already passes there.
fn venv_python(name: &str, package: &str, check: &str) -> anyhow::Result<String> {
    let venv = target_dir()?.join(name);
    let python = venv.join("bin/python").to_string_lossy().into_owned();
    let installed = || {
        Command::new(&python)
            .args(["-c", check])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !installed() {
        run("python3", &["-m", "venv", &venv.to_string_lossy()])?;
        run(&python, &["-m", "pip", "install", "--quiet", package])?;
        if !installed() {
            bail!("{package} did not install into {}", venv.display());
        }
    }
    Ok(python)
}

/// The official MCP Python SDK against `ctxd serve` (Streamable HTTP) and `ctxd mcp`
/// (stdio), on SQLite and then on PostgreSQL (`tests/mcp/client_check.py`). Required
/// in CI; elsewhere skipped when the SDK cannot be installed.
fn mcp_client_check() -> anyhow::Result<()> {
    let python = match mcp_python() {
        Ok(python) => python,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("note: the MCP SDK could not be installed ({error:#}); skipping the MCP client check");
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    cargo(&["build", "--quiet", "--bin", "ctxd"])?;
    let ctxd = target_dir()?.join("debug/ctxd").to_string_lossy().into_owned();
    let script = workspace_root()?.join("tests/mcp/client_check.py").to_string_lossy().into_owned();
    eprintln!("MCP client check on SQLite");
    run(&python, &[script.as_str(), "--ctxd", ctxd.as_str()])?;
    eprintln!("MCP client check on PostgreSQL");
    let url = bench_database("ctxd_mcp_check")?;
    run(&python, &[script.as_str(), "--ctxd", ctxd.as_str(), "--database-url", url.as_str()])
}

/// A fresh PostgreSQL database (found or started as the tests do), by its URL.
fn bench_database(name: &str) -> anyhow::Result<String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet", "-p", "ctxd-bench", "--", "database", name])
        .output()
        .context("cannot run ctxd-bench")?;
    if !output.status.success() {
        bail!("no PostgreSQL database {name}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// `cargo xtask schemathesis`: `tests/schemathesis/attack.py` against the debug `ctxd`
/// on both backends.
fn schemathesis(args: &[String]) -> anyhow::Result<()> {
    let max_time = match args {
        [] => "90".to_owned(),
        [flag, seconds] if flag == "--max-time" => seconds.clone(),
        _ => bail!("usage: cargo xtask schemathesis [--max-time SECONDS]"),
    };
    run_schemathesis(&schemathesis_python()?, &max_time)
}

fn run_schemathesis(python: &str, max_time: &str) -> anyhow::Result<()> {
    cargo(&["build", "--quiet", "--bin", "ctxd"])?;
    let ctxd = target_dir()?.join("debug/ctxd").to_string_lossy().into_owned();
    let script = workspace_root()?.join("tests/schemathesis/attack.py").to_string_lossy().into_owned();
    let base = ["--ctxd", ctxd.as_str(), "--python", python, "--max-time", max_time];
    eprintln!("schemathesis on SQLite");
    run(&script, &base)?;
    eprintln!("schemathesis on PostgreSQL");
    let url = bench_database("ctxd_schemathesis")?;
    let mut with_postgres = base.to_vec();
    with_postgres.extend(["--database-url", url.as_str()]);
    run(&script, &with_postgres)
}

/// `cargo xtask chaos`: the fault scenarios of `crates/server/tests/chaos.rs`, with the
/// strengths given (the test suite's defaults are a short form).
fn chaos(args: &[String]) -> anyhow::Result<()> {
    let mut kills = "20".to_owned();
    let mut outage = "15".to_owned();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--kills" => kills = rest.next().context("--kills needs a number")?.clone(),
            "--outage-seconds" => outage = rest.next().context("--outage-seconds needs a number")?.clone(),
            other => bail!("unknown chaos option {other:?}"),
        }
    }
    cargo_with(
        &["nextest", "run", "-p", "ctxd-server", "--test", "chaos", "--no-capture", "--no-fail-fast"],
        &[("CTXD_CHAOS_KILLS", kills.as_str()), ("CTXD_CHAOS_OUTAGE_SECONDS", outage.as_str())],
    )
}

fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    // The Postgres half must run in CI: test-support fails (never skips) when CI is set
    // and no server can be found or started.
    if std::env::var_os("CI").is_none() {
        eprintln!("note: CI is not set; Postgres tests are skipped if no server can be found or started");
    }
    // The S3 half needs an S3-compatible server: moto's, unless one is configured.
    let moto = match std::env::var_os("CTXD_TEST_S3_ENDPOINT") {
        Some(_) => None,
        None => start_moto()?,
    };
    let env: Vec<(&str, &str)> = moto.iter().map(|m| ("CTXD_TEST_S3_ENDPOINT", m.endpoint.as_str())).collect();
    cargo_with(&["nextest", "run", "--workspace", "--no-fail-fast"], &env)?;
    drop(moto);
    validate_openapi()?;
    grpc_client_check()?;
    mcp_client_check()?;
    attack_suite()?;
    extraction_gate()
}

/// moto's S3 server (from PyPI) on a free port, with `CTXD_TEST_S3_ENDPOINT` set for
/// the tests; stopped when the guard drops. Required in CI.
fn start_moto() -> anyhow::Result<Option<Moto>> {
    let have_moto = Command::new("python3")
        .args(["-c", "import moto.server"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !have_moto {
        if std::env::var_os("CI").is_some() {
            bail!("CI needs moto's S3 server (pip install 'moto[server]')");
        }
        eprintln!("note: moto is not installed; the S3 tests are skipped (pip install 'moto[server]')");
        return Ok(None);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start moto's server")?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let moto = Moto { _child: ChildGuard(child), endpoint };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            bail!("moto's server did not start on port {port}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("moto's S3 server listens on {}", moto.endpoint);
    Ok(Some(moto))
}

/// A running moto server.
struct Moto {
    _child: ChildGuard,
    endpoint: String,
}

/// Kills the child process when dropped.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client generated by another toolchain (Python, grpcio-tools) against a real
/// `ctxd serve`: create, watch, refresh, watch. Required in CI; elsewhere it runs when
/// grpcio-tools is installed.
fn grpc_client_check() -> anyhow::Result<()> {
    use std::io::BufRead;
    let have_tools = Command::new("python3")
        .args(["-c", "import grpc, grpc_tools, grpc_reflection"])
        .status()
        .is_ok_and(|status| status.success());
    if !have_tools {
        if std::env::var_os("CI").is_some() {
            bail!(
                "CI needs grpcio, grpcio-tools and grpcio-reflection (pip install grpcio grpcio-tools grpcio-reflection)"
            );
        }
        eprintln!("note: grpcio-tools is not installed; skipping the Python gRPC client check");
        return Ok(());
    }
    cargo(&["build", "--workspace", "--bin", "ctxd"])?;
    let root = workspace_root()?;
    let target = target_dir()?;
    let scratch = std::env::temp_dir().join(format!("ctxd-grpc-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("stubs"))?;
    let free_port = || -> anyhow::Result<u16> { Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()) };
    let (rest_port, grpc_port) = (free_port()?, free_port()?);
    let mut server = Command::new(target.join("debug/ctxd"))
        .args(["serve", "--listen", &format!("127.0.0.1:{rest_port}"), "--grpc-listen"])
        .arg(format!("127.0.0.1:{grpc_port}"))
        .arg("--data-dir")
        .arg(scratch.join("data"))
        .env_remove("DATABASE_URL")
        .env_remove("CTXD_GRPC__LISTEN")
        .env("CTXD_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
        .env("CTXD_WORKER__POLL_INTERVAL_MS", "50")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start ctxd serve")?;
    let mut first_line = String::new();
    let read = std::io::BufReader::new(server.stdout.take().context("stdout")?).read_line(&mut first_line);
    let result = match (read, first_line.trim().strip_prefix("API key: ")) {
        (Ok(_), Some(key)) => {
            let script = root.join("xtask/grpc_client_check.py");
            let stubs = scratch.join("stubs");
            let args = [
                script.to_string_lossy().into_owned(),
                root.join("proto").to_string_lossy().into_owned(),
                stubs.to_string_lossy().into_owned(),
                format!("127.0.0.1:{grpc_port}"),
                key.to_owned(),
            ];
            run("python3", &args.iter().map(String::as_str).collect::<Vec<_>>())
        }
        _ => Err(anyhow::anyhow!("ctxd serve did not print its first API key")),
    };
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// The extraction quality gate over `../shared/data` (next to the checkout). A user's
/// checkout has no such folder and skips it; CI has it and must run it.
fn extraction_gate() -> anyhow::Result<()> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if !data.join("article-extraction").is_dir() {
        if std::env::var_os("CI").is_some() {
            bail!("CI needs the benchmark data at {}", data.display());
        }
        eprintln!("note: no benchmark data at {}; skipping the extraction quality gate", data.display());
        return Ok(());
    }
    let data = std::fs::canonicalize(&data)?;
    bench_extract(&["extract".into(), "--gate".into(), "--data".into(), data.to_string_lossy().into_owned()])
}

/// Checks the generated document against the OpenAPI 3.1 schema with an independent
/// validator (`openapi-spec-validator` from PyPI). Required in CI; elsewhere it runs
/// when the validator is installed.
fn validate_openapi() -> anyhow::Result<()> {
    let have_validator = Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|status| status.success());
    if !have_validator {
        if std::env::var_os("CI").is_some() {
            bail!("CI needs openapi-spec-validator (pip install openapi-spec-validator)");
        }
        eprintln!("note: openapi-spec-validator is not installed; skipping the OpenAPI validation");
        return Ok(());
    }
    cargo(&["build", "--workspace", "--bin", "ctxd"])?;
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let output = Command::new(format!("{target}/debug/ctxd")).arg("openapi").output().context("run ctxd openapi")?;
    if !output.status.success() {
        bail!("ctxd openapi failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let path = format!("{target}/openapi.json");
    std::fs::write(&path, &output.stdout)?;
    eprintln!("$ python3 -m openapi_spec_validator {path}");
    let validation = Command::new("python3").args(["-m", "openapi_spec_validator", &path]).output()?;
    // The validator echoes the whole document on failure; the first lines say why.
    let report = String::from_utf8_lossy(&validation.stdout);
    eprintln!("{}", report.chars().take(1500).collect::<String>());
    if !validation.status.success() {
        bail!("the OpenAPI document does not validate");
    }
    Ok(())
}
