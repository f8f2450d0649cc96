//! A sandbox on its own runtime and the `refund` command with a clean environment.

use std::process::Output;

use assert_cmd::Command;
use refund_sandbox::{RunningSandbox, Sandbox};

#[path = "../shared/cli_env.rs"]
mod cli_env;
pub(crate) use cli_env::ALL_VARS;

/// A running sandbox; the runtime serves it while the test thread runs commands.
pub(crate) struct Env {
    pub(crate) sandbox: RunningSandbox,
    _rt: tokio::runtime::Runtime,
}

impl Env {
    pub(crate) fn start() -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt.block_on(Sandbox::builder().build().start()).unwrap();
        Env { sandbox, _rt: rt }
    }
}

/// `refund` with none of its variables set.
pub(crate) fn bare() -> Command {
    let mut cmd = Command::cargo_bin("refund").unwrap();
    for var in ALL_VARS {
        cmd.env_remove(var);
    }
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A port nothing listens on.
pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A port that accepts connections and never answers (a provider that hangs): its listener thread
/// keeps every connection open until the process ends.
pub(crate) fn black_hole_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}
