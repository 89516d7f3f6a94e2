//! The `ctxd` binary as a user runs it: first start, key creation, migrations and
//! configuration errors.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::{Duration, Instant},
};

use common::{Server, ctxd, free_port};

fn http_get(port: u16, path: &str, key: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// `ctxd serve` on `port` with its data in `data_dir`, stdout piped, stderr dropped.
fn serve(port: u16, data_dir: &std::path::Path) -> std::process::Child {
    ctxd()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// `ctxd serve | head -1` closes the pipe after the key's line: the server must go on
/// serving (printing to a closed stdout used to panic it).
#[test]
fn serve_keeps_serving_when_nobody_reads_its_stdout() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = serve(port, data_dir.path());
    // Close the read end before the server writes anything.
    drop(child.stdout.take());
    let mut server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let key_file = data_dir.path().join("first-api-key");
    while !key_file.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(server.0.try_wait().unwrap().is_none(), "the server died");
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.0.try_wait().unwrap().is_none(), "the server died after printing its key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(http_get(port, "/v1/spaces", key.trim()).starts_with("HTTP/1.1 200"));
}

#[test]
fn serve_on_a_fresh_data_dir_prints_a_working_first_key_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let start = |port: u16| {
        let mut child = serve(port, data_dir.path());
        let stdout = child.stdout.take().unwrap();
        (Server(child), BufReader::new(stdout))
    };
    let (server, mut stdout) = start(port);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let key = line.trim().strip_prefix("API key: ").expect("first line is the key").to_owned();
    assert!(key.starts_with("ctxd_"));

    let file = data_dir.path().join("first-api-key");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        if let Ok(stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            drop(stream);
            break http_get(port, "/v1/spaces", &key);
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    drop(server);

    // A second start on the same data keeps the key and prints nothing.
    let port = free_port();
    let (_server, mut stdout) = start(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not restart");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(http_get(port, "/v1/spaces", &key).starts_with("HTTP/1.1 200"));
    drop(_server);
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(stdout.get_mut(), &mut rest);
    assert!(!rest.contains("API key"), "the key is printed only on the first start: {rest}");
}

#[test]
fn keys_create_prints_only_the_key() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = ctxd()
        .args(["keys", "create", "--user", "ops", "--plan", "FREE", "--data-dir"])
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(stdout.starts_with("ctxd_"));
    let again = ctxd().args(["keys", "create", "--user", "ops", "--data-dir"]).arg(data_dir.path()).output().unwrap();
    assert!(again.status.success());
    assert_ne!(again.stdout, stdout.as_bytes(), "every call mints a new key");
}

#[test]
fn migrate_applies_the_schema_and_is_idempotent() {
    let data_dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let output = ctxd().arg("migrate").arg("--data-dir").arg(data_dir.path()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(data_dir.path().join("ctxd.db").is_file());
}

#[test]
fn invalid_configuration_stops_start_up_with_one_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ctxd.toml");
    std::fs::write(&config, "listen = \"nowhere\"\n[limits]\nmax_content_bytes = 0\n").unwrap();
    let output = ctxd().args(["serve", "--config"]).arg(&config).env("DATABASE_URL", "mysql://x").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let problems: Vec<_> = stderr.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(problems.len(), 3, "{stderr}");
    assert!(stderr.contains("listen:") && stderr.contains("database_url:") && stderr.contains("max_content_bytes"));
}

#[test]
fn extract_prints_markdown_or_one_json_line_per_input_offline() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    std::fs::write(&page, "<html><title>Notes</title><body><p>See <a href=\"/next\">next</a>.</p></body></html>")
        .unwrap();
    let chat = dir.path().join("chat.txt");
    std::fs::write(&chat, "User: How do I run it?\nAssistant: Like this:\n\n```bash\nctxd serve\n```\n").unwrap();

    let markdown = ctxd().args(["extract", "--url", "https://example.com/a/"]).arg(&page).output().unwrap();
    assert!(markdown.status.success(), "{}", String::from_utf8_lossy(&markdown.stderr));
    assert_eq!(String::from_utf8(markdown.stdout).unwrap(), "# Notes\n\nSee [next](https://example.com/next).\n");

    let json = ctxd().args(["extract", "--json"]).arg(&page).arg(&chat).output().unwrap();
    assert!(json.status.success());
    let lines: Vec<serde_json::Value> =
        String::from_utf8(json.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "one line per input, in order");
    assert_eq!(lines[0]["format"], "html");
    assert_eq!(lines[1]["format"], "chat");
    assert_eq!(lines[1]["artifacts"][0]["kind"], "COMMAND");
    assert!(lines[1]["context"]["extractor_version"].as_str().unwrap().contains("extractive"));

    // stdin, a forced type, and a failing input among good ones.
    let mut child = ctxd()
        .args(["extract", "--type", "markdown", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"# Title\r\n\r\nbody\r\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "# Title\n\nbody\n");
    let missing = ctxd().args(["extract"]).arg(&page).arg(dir.path().join("missing.md")).output().unwrap();
    assert!(!missing.status.success(), "a failed input fails the command");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.md"));
    assert!(String::from_utf8_lossy(&missing.stdout).starts_with("# Notes"), "the good input still prints");
    let bad_type = ctxd().args(["extract", "--type", "docx"]).arg(&page).output().unwrap();
    assert_eq!(bad_type.status.code(), Some(2));
}

/// Runs `ctxd` with `args` and the given environment; returns (exit code, stdout, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = ctxd();
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (output.status.code(), text(output.stdout), text(output.stderr))
}

#[test]
fn serve_takes_grpc_listen_logs_both_addresses_without_colour_and_sends_browsers_to_the_console() {
    use std::sync::mpsc;
    let data_dir = tempfile::tempdir().unwrap();
    let (rest, grpc) = (free_port(), free_port());
    let mut child = ctxd()
        .args(["serve", "--listen", &format!("127.0.0.1:{rest}"), "--grpc-listen", &format!("127.0.0.1:{grpc}")])
        .arg("--data-dir")
        .arg(data_dir.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _server = Server(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let serving = loop {
        let line = received.recv_timeout(Duration::from_secs(30)).expect("a start-up line");
        if line.contains("ctxd is serving") {
            break line;
        }
    };
    assert!(serving.contains(&format!("grpc=127.0.0.1:{grpc}")), "{serving}");
    assert!(serving.contains(&format!("address=127.0.0.1:{rest}")), "{serving}");
    assert!(serving.contains(&format!("console=http://127.0.0.1:{rest}/")), "{serving}");
    assert!(!serving.contains('\u{1b}'), "no colour codes into a pipe: {serving:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", grpc)).is_ok(), "gRPC listens where it was told");

    // A browser pointed at the server lands on the console's sign-in.
    let root = http_get(rest, "/", "");
    assert!(root.starts_with("HTTP/1.1 303"), "{root}");
    assert!(root.to_ascii_lowercase().contains("location: /sign-in"), "{root}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(data_dir.path().join("upload-signing.key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600, "the signing key is private");
    }
}

#[test]
fn one_shot_commands_are_quiet_and_name_the_flag_a_user_got_wrong() {
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_str().unwrap();
    // No RUST_LOG: the defaults a user gets.
    let mut command = ctxd();
    command.env_remove("RUST_LOG").args(["keys", "create", "--user", "ops", "--data-dir", dir]);
    let output = command.output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stderr), "", "no migration lines on a first run");

    let (code, stdout, stderr) = run(&["keys", "create", "--user", "", "--data-dir", dir], &[]);
    assert_eq!(code, Some(1));
    assert_eq!(stdout, "");
    assert!(stderr.contains("--user: must not be empty"), "{stderr}");

    let (code, help, _) = run(&["--help"], &[]);
    assert_eq!(code, Some(0));
    for needle in ["reusable context", "DATABASE_URL", "CTXD_", "README.md", "--help"] {
        assert!(help.contains(needle), "{needle} in\n{help}");
    }
    assert!(!help.contains("composition root"), "no crate comment for users:\n{help}");
    // Each command is described by its own line, not its neighbour's.
    let described = |command: &str| {
        help.lines().find(|line| line.trim_start().starts_with(&format!("{command} "))).unwrap_or_default().to_owned()
    };
    assert!(described("migrate").contains("Apply database migrations"), "{help}");
    assert!(described("mcp").contains("Serve MCP") && !described("mcp").contains("migrations"), "{help}");
}

#[test]
fn every_configuration_problem_is_reported_at_once_with_the_nearest_valid_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ctxd.toml");
    std::fs::write(&config, "[limits]\nmax_conent_bytes = 5\n[worker]\ncount = \"many\"\n").unwrap();
    let env = [("CTXD_WORKER__LEASE_SECONDS", "soon"), ("CTXD_GRPC__LISTN", "127.0.0.1:1")];
    let (code, _, stderr) = run(&["serve", "--config", config.to_str().unwrap()], &env);
    assert_eq!(code, Some(2), "{stderr}");
    let problems: Vec<&str> = stderr.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(problems.len(), 4, "{stderr}");
    for needle in [
        "limits.max_conent_bytes (in ",
        "unknown key; did you mean limits.max_content_bytes?",
        "worker.count (in ",
        "CTXD_WORKER__LEASE_SECONDS: invalid type",
        "CTXD_GRPC__LISTN: unknown variable; did you mean CTXD_GRPC__LISTEN?",
    ] {
        assert!(stderr.contains(needle), "{needle} in\n{stderr}");
    }
}

#[test]
fn an_unreachable_database_fails_start_up_naming_the_host_and_not_the_password() {
    let (code, _, stderr) =
        run(&["migrate"], &[("DATABASE_URL", "postgres://ctxd:hunter2@127.0.0.1:1/ctxd"), ("RUST_LOG", "off")]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot open the database at postgres://ctxd@127.0.0.1:1/ctxd"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn extract_refuses_images_and_random_bytes_and_still_prints_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("logo.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0").unwrap();
    let noise = dir.path().join("noise.bin");
    std::fs::write(&noise, (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<_>>())
        .unwrap();
    let page = dir.path().join("notes.md");
    std::fs::write(&page, "# Notes\n\nkept\n").unwrap();
    let args = ["extract", png.to_str().unwrap(), page.to_str().unwrap(), noise.to_str().unwrap()];
    let (code, stdout, stderr) = run(&args, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout, "# Notes\n\nkept\n");
    assert!(stderr.contains("logo.png: the content is binary (image/png)"), "{stderr}");
    assert!(stderr.contains("noise.bin: the content is binary data"), "{stderr}");
}
