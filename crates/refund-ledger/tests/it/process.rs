//! Child processes for the crash and instance tests: this test binary started again to run its
//! `child` test, which does the work [`ROLE`] names (in a normal run it returns at once).
//! The parent reads the lines the child prints with a prefix of its own, kills it with SIGKILL,
//! and never leaves it running: the child is killed on drop, so a failing assertion or a panic
//! in the parent takes it down too, and a child whose parent died (its stdin closes) exits.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// Set in a child's environment to the role of the child test that should act.
const ROLE: &str = "REFUND_LEDGER_TEST_CHILD";
/// Settings every child gets: the ledger's URL, and the sandbox's root URL.
pub(crate) const LEDGER_URL: &str = "REFUND_LEDGER_TEST_LEDGER_URL";
pub(crate) const SANDBOX_URL: &str = "REFUND_LEDGER_TEST_SANDBOX_URL";

/// A running child process (killed on drop).
pub(crate) struct ChildProcess {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
    /// Held open for the child's life: it exits when this closes.
    _stdin: ChildStdin,
}

impl ChildProcess {
    /// Runs this binary's [`child`] test in a new process as `role` (`crash`, `instance`), with
    /// `vars` set in its environment.
    pub(crate) fn spawn(role: &str, vars: &[(&str, String)]) -> ChildProcess {
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "process::child", "--nocapture", "--test-threads=1"])
            .env(ROLE, role)
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        ChildProcess { _stdin: child.stdin.take().unwrap(), child, stdout, stderr }
    }

    /// What follows `prefix` on the next line of the child's stdout that holds it (the test
    /// harness prints text of its own, even on the same line); `None` when the child closed
    /// stdout first.
    pub(crate) async fn line(&mut self, prefix: &str) -> Option<String> {
        while let Some(line) = self.stdout.next_line().await.unwrap() {
            if let Some((_, rest)) = line.split_once(prefix) {
                return Some(rest.trim().to_owned());
            }
        }
        None
    }

    /// SIGKILL, then waits until the process is gone. Returns what it wrote on stderr.
    pub(crate) async fn kill(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        self.stderr.await.unwrap_or_default()
    }

    /// Waits up to `limit` for the child to exit on its own; panics with its stderr if it failed
    /// or took longer (it is killed then).
    pub(crate) async fn wait(mut self, limit: Duration) {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            other => panic!("the child failed ({other:?}); its stderr:\n{}", self.kill().await),
        }
    }
}

/// The children's entry point: in a child, runs the work of its role with [`block_on`]; in a
/// normal test run, nothing.
#[test]
fn child() {
    match std::env::var(ROLE).as_deref() {
        Ok("crash") => block_on(crate::crash::run_child()),
        Ok("instance") => block_on(crate::instances::run_child()),
        _ => {}
    }
}

/// In a child: the setting `name` its parent gave it.
pub(crate) fn setting(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the parent sets {name}"))
}

/// In a child: one line to the parent, on stdout, flushed now. Written to the handle rather
/// than with `println!`, which the test harness may capture.
pub(crate) fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// In a child: runs its work on a runtime of its own (the child test is a plain `#[test]`), and
/// exits as soon as its parent is gone (stdin closes), whatever the work is doing.
fn block_on<F: Future>(work: F) -> F::Output {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(3);
    });
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}
