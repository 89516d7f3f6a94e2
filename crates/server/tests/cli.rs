//! The `ctxd` binary as a user runs it: first start, key creation, migrations and
//! configuration errors.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::Stdio,
    time::{Duration, Instant},
};

use common::{Server, ctxd};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

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

#[test]
fn serve_on_a_fresh_data_dir_prints_a_working_first_key_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let start = |port: u16| {
        let mut child = ctxd()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
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
