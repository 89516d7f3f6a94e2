//! Helpers shared by the binary's integration tests: run `ctxd` as a child process.

use std::process::{Child, Command};

/// The `ctxd` binary with a clean configuration environment.
pub fn ctxd() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ctxd"));
    // A developer's environment must not leak into what is being tested.
    command.env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    for (key, _) in std::env::vars() {
        if key.starts_with("CTXD_") {
            command.env_remove(key);
        }
    }
    // Tests start servers in parallel: gRPC must not want the same fixed port.
    command.env("CTXD_GRPC__LISTEN", "127.0.0.1:0");
    command
}

/// A child process killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now, for a child process to bind.
// Not every test binary that includes this module starts a server on a fixed port.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
