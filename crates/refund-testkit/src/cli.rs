//! The `refund` binary in a clean environment, next to a sandbox served by its own runtime.

use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use refund_sandbox::{RunningSandbox, Sandbox, SandboxBuilder};

use crate::sandbox::{BaseUrls, SEEDED, env_vars};

/// Every variable the command or the SDK reads: removed before each run so the developer's shell
/// cannot leak in. One list, so a new setting is cleared everywhere.
pub const ALL_VARS: [&str; 21] = [
    "AOC_BASE_URL",
    "AOC_USERNAME",
    "AOC_API_KEY",
    "BOS_BASE_URL",
    "BOS_TOKEN",
    "BOS_REGISTRATION_ID",
    "DIGIPAY_BASE_URL",
    "DIGIPAY_TOKEN",
    "DIGIPAY_COMPANY_ID",
    "DIGIPAY_CLIENT_ID",
    "DIGIPAY_CLIENT_SECRET",
    "DIGIPAY_AUTH_SCHEME",
    "DIGIPAY_TXN_CODE",
    "DIGIPAY_PAYMENT_MODE",
    "OTP_REFUND_BASE_URL",
    "OTP_REFUND_DEVELOPER_KEY",
    "OTP_REFUND_ACCESS_KEY",
    "OTP_REFUND_INITIATOR_ID",
    "OTP_REFUND_USER_CODE",
    "REFUND_LEDGER_URL",
    "RUST_LOG",
];

/// How long one run of the command may take before the test fails instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A running sandbox; its runtime serves it while the test thread runs commands.
#[derive(Debug)]
pub struct Env {
    /// The sandbox every provider's settings point at.
    pub sandbox: RunningSandbox,
    /// The test's own refund ledger (`REFUND_LEDGER_URL`), in a folder removed after the test.
    pub ledger: tempfile::TempDir,
    /// Serves the sandbox; kept alive for the test.
    _rt: tokio::runtime::Runtime,
}

impl Env {
    /// Starts a sandbox with the default seed on a runtime of its own.
    pub fn start() -> Env {
        Env::with(Sandbox::builder())
    }

    /// Starts the sandbox `builder` describes (extra transactions, faults) on a runtime of its own.
    pub fn with(builder: SandboxBuilder) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let sandbox = rt.block_on(builder.build().start()).expect("the sandbox starts");
        let ledger = tempfile::tempdir().expect("a temporary folder");
        Env { sandbox, ledger, _rt: rt }
    }

    /// Every provider's settings pointing at the sandbox, with the seeded credentials, and the
    /// test's own ledger.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        let mut vars = env_vars(&SEEDED, &BaseUrls::of(&self.sandbox));
        vars.push(("REFUND_LEDGER_URL", self.ledger_url()));
        // What DigiPay batch rows do not carry (commands with flags ignore them).
        vars.push(("DIGIPAY_TXN_CODE", "REFUND".to_owned()));
        vars.push(("DIGIPAY_PAYMENT_MODE", "1".to_owned()));
        vars
    }

    /// Writes `contents` to `name` in the test's folder (next to its ledger) and returns the path.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> std::path::PathBuf {
        let path = self.ledger.path().join(name);
        std::fs::write(&path, contents).expect("the test's folder is writable");
        path
    }

    /// The test's ledger: a SQLite file in its own folder.
    pub fn ledger_url(&self) -> String {
        self.ledger.path().join("ledger.sqlite").display().to_string()
    }

    /// `refund` with no settings at all.
    pub fn bare(&self) -> Command {
        bare()
    }

    /// `refund` with every provider's settings pointing at the sandbox, through the environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = bare();
        cmd.envs(self.vars());
        cmd
    }

    /// The same as a plain process, for tests that signal it.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("refund"));
        for var in ALL_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(self.vars());
        cmd
    }
}

/// `refund` with none of its variables set.
pub fn bare() -> Command {
    let mut cmd = Command::cargo_bin("refund").expect("the `refund` binary is built");
    for var in ALL_VARS {
        cmd.env_remove(var);
    }
    // The default ledger lives in the data directory: never the developer's own.
    cmd.env("XDG_DATA_HOME", std::env::temp_dir().join("refund-cli-tests-data"));
    cmd.timeout(RUN_LIMIT);
    cmd
}

/// A command line's arguments written as one line and split at spaces (none of the values given
/// this way holds one): `args("aoc status --sp-trans-id sp-1")`.
pub fn args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// The run's stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The run's stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
