//! What the workspace's test suites share, so that each thing is written once.
//!
//! - [`logs`]: every log event of the test process, at TRACE, in one buffer (the secrets tests).
//! - [`bad_input`]: the one catalogue of malformed values that the library's and the command's
//!   bad-input suites both iterate.
//! - [`eko`]: Eko's `secret-key` signature, computed with `hmac`, `sha2` and `base64`,
//!   independently of `refund-otp`.
//! - [`mock`]: httpmock shortcuts for mocks that only answer, and [`retries`] for clients that
//!   retry at once.
//! - [`net`]: ports that refuse connections or never answer; [`spawn_announcing`] for a server
//!   in a child process that prints where it listens.
//! - `sandbox` (feature `sandbox`): client builders for `refund-sandbox`'s seeded credentials and
//!   the providers' settings as the command's environment variables.
//! - `cli` (feature `cli`): the `refund` binary with a clean environment next to a running
//!   sandbox.
//!
//! A dev-dependency only (`publish = false`); `cargo xtask tidy` refuses it anywhere else.

pub mod bad_input;
#[cfg(feature = "cli")]
pub mod cli;
pub mod eko;
pub mod logs;
pub mod mock;
pub mod net;
#[cfg(feature = "sandbox")]
pub mod sandbox;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use refund_core::RetryPolicy;

/// A retry policy of at most `max_attempts` attempts, 1 ms apart: tests of retries need not wait.
pub fn retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default().max_attempts(max_attempts).initial_backoff(Duration::from_millis(1))
}

/// Starts `cmd` with its stdout piped and reads the first line it prints: a server in a child
/// process saying where it listens. Returns the child (the caller ends it) and that line.
pub fn spawn_announcing(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("the child starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("a piped stdout");
    BufReader::new(stdout).read_line(&mut line).expect("the child prints a line");
    (child, line)
}
