//! `cargo xtask`: the project's automation. `ci` runs exactly what CI runs.

use std::process::Command;

use anyhow::{Context, bail};

mod tidy;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                  format check, clippy (warnings are errors), the whole test suite
                      (unit and end-to-end, on SQLite and PostgreSQL) with cargo-nextest,
                      and validation of the generated OpenAPI document
  bench queue [--runs N] [--workers W]
                      durable-queue throughput with a no-op pipeline on Postgres, next to
                      the raw SKIP LOCKED claim+complete rate of the same server
  bench refresh [--sources N]
                      unchanged refreshes per second end to end against a local origin
                      answering 304 (Postgres)";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
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

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    // The Postgres half must run in CI: test-support fails (never skips) when CI is set
    // and no server can be found or started.
    if std::env::var_os("CI").is_none() {
        eprintln!("note: CI is not set; Postgres tests are skipped if no server can be found or started");
    }
    cargo(&["nextest", "run", "--workspace", "--no-fail-fast"])?;
    validate_openapi()
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
