//! A sandbox on its own runtime, a `refund` command wired to it, and output checks.

use std::path::PathBuf;
use std::process::{Child, ExitStatus, Output};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use refund_sandbox::{RunningSandbox, Sandbox, SandboxBuilder, seed};
use serde_json::Value;

#[path = "../shared/cli_env.rs"]
mod cli_env;
pub(crate) use cli_env::ALL_VARS;

/// Secret values of the seeded credentials: none may appear in any output.
pub(crate) const SECRETS: [&str; 5] = [
    seed::AOC_API_KEY,
    seed::BOS_TOKEN,
    seed::DIGIPAY_TOKEN,
    seed::EKO_DEVELOPER_KEY,
    seed::EKO_ACCESS_KEY,
];

/// A running sandbox; the runtime serves it while the test thread runs commands.
pub(crate) struct Env {
    pub(crate) sandbox: RunningSandbox,
    /// The test's own ledger (`REFUND_LEDGER_URL`) and files, in a folder removed after the test.
    pub(crate) ledger: tempfile::TempDir,
    /// Serves the sandbox; kept alive for the test.
    _rt: tokio::runtime::Runtime,
}

impl Env {
    pub(crate) fn start() -> Env {
        Env::with(Sandbox::builder())
    }

    /// A sandbox from `builder`: more original transactions, faults from the start.
    pub(crate) fn with(builder: SandboxBuilder) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = rt.block_on(builder.build().start()).unwrap();
        Env { sandbox, ledger: tempfile::tempdir().unwrap(), _rt: rt }
    }

    /// Writes `contents` to `name` in the test's folder.
    pub(crate) fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.ledger.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// `refund` with no settings at all.
    pub(crate) fn bare(&self) -> Command {
        bare()
    }

    /// Every provider's settings pointing at the sandbox.
    pub(crate) fn vars(&self) -> Vec<(&'static str, String)> {
        let sb = &self.sandbox;
        vec![
            ("AOC_BASE_URL", sb.aoc_base_url()),
            ("AOC_USERNAME", seed::AOC_USERNAME.into()),
            ("AOC_API_KEY", seed::AOC_API_KEY.into()),
            ("BOS_BASE_URL", sb.bos_base_url()),
            ("BOS_TOKEN", seed::BOS_TOKEN.into()),
            ("BOS_REGISTRATION_ID", seed::BOS_REGISTRATION_ID.into()),
            ("DIGIPAY_BASE_URL", sb.digipay_base_url()),
            ("DIGIPAY_TOKEN", seed::DIGIPAY_TOKEN.into()),
            ("DIGIPAY_COMPANY_ID", seed::DIGIPAY_COMPANY_ID.into()),
            // What batch rows do not carry (commands with flags ignore them).
            ("DIGIPAY_TXN_CODE", "REFUND".into()),
            ("DIGIPAY_PAYMENT_MODE", "1".into()),
            ("OTP_REFUND_BASE_URL", sb.eko_base_url()),
            ("OTP_REFUND_DEVELOPER_KEY", seed::EKO_DEVELOPER_KEY.into()),
            ("OTP_REFUND_ACCESS_KEY", seed::EKO_ACCESS_KEY.into()),
            ("OTP_REFUND_INITIATOR_ID", seed::EKO_INITIATOR_ID.into()),
            ("OTP_REFUND_USER_CODE", seed::EKO_USER_CODE.into()),
            ("REFUND_LEDGER_URL", self.ledger_url()),
        ]
    }

    /// The test's ledger file.
    pub(crate) fn ledger_url(&self) -> String {
        self.ledger.path().join("ledger.sqlite").display().to_string()
    }

    /// `refund` with every provider's settings pointing at the sandbox, through the environment.
    pub(crate) fn cmd(&self) -> Command {
        let mut cmd = bare();
        cmd.envs(self.vars());
        cmd
    }

    /// The same as a plain process, for tests that signal it.
    pub(crate) fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("refund"));
        for var in ALL_VARS {
            cmd.env_remove(var);
        }
        cmd.envs(self.vars());
        cmd
    }

    /// Asks the sandbox for a send-otp through the CLI and returns the OTP the customer got.
    pub(crate) fn eko_otp(&self, tid: &str) -> (String, String) {
        let out = run(self.cmd().args(["--json", "otp", "send-otp", "--tid", tid]), 0);
        let json = json_of(&out);
        let otp = self.sandbox.otp(refund_sandbox::Provider::Eko, tid).unwrap();
        (otp, json["otp_ref_id"].as_str().unwrap().to_owned())
    }
}

pub(crate) fn bare() -> Command {
    let mut cmd = Command::cargo_bin("refund").unwrap();
    for var in ALL_VARS {
        cmd.env_remove(var);
    }
    // The default ledger lives in the data directory: never the developer's own.
    cmd.env("XDG_DATA_HOME", std::env::temp_dir().join("refund-cli-tests-data"));
    cmd.timeout(std::time::Duration::from_secs(30));
    cmd
}

/// Runs, checks the exit code and that no secret (nor any of `extra`) was printed; returns the output.
pub(crate) fn run_hiding(cmd: &mut Command, code: i32, extra: &[&str]) -> Output {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for secret in SECRETS.iter().chain(extra) {
        assert!(!stdout.contains(secret), "{secret} in stdout:\n{stdout}");
        assert!(!stderr.contains(secret), "{secret} in stderr:\n{stderr}");
    }
    out
}

pub(crate) fn run(cmd: &mut Command, code: i32) -> Output {
    run_hiding(cmd, code, &[])
}

/// The single JSON object on stdout.
pub(crate) fn json_of(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim().lines().count(), 1, "one line of JSON expected:\n{text}");
    serde_json::from_str(text.trim()).unwrap()
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

/// Every line of stdout as JSON (`refund --json batch`: one object per row).
pub(crate) fn json_lines(out: &Output) -> Vec<Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every intent in the ledger `cmd` names, oldest first (`refund --json ledger list`).
pub(crate) fn intents(cmd: &mut Command) -> Vec<Value> {
    let out = run(cmd.args(["--json", "ledger", "list"]), 0);
    json_of(&out)["intents"].as_array().unwrap().clone()
}

/// A child process that is killed and reaped however the test ends: no orphans.
pub(crate) struct Running(pub(crate) Child);

impl Running {
    /// Waits at most `limit` for the process to exit.
    pub(crate) fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < limit, "still running after {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Checks the error object's shape and kind.
pub(crate) fn assert_error(json: &Value, kind: &str) {
    let err = &json["error"];
    assert_eq!(err["kind"], kind, "{json}");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
    for key in ["provider", "provider_code", "http_status"] {
        assert!(err.get(key).is_some(), "{key} missing: {json}");
    }
    assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
}

/// A PostgreSQL database of its own for one test, dropped after it: on the server of
/// `REFUND_TEST_POSTGRES_URL` (as the ledger's own tests do). `None`, with a note, when it is
/// unset, unless `REFUND_TEST_REQUIRE_POSTGRES` says this run needs it.
pub(crate) struct PgDb {
    pub(crate) url: String,
    admin: String,
    name: String,
}

impl PgDb {
    pub(crate) fn create() -> Option<PgDb> {
        let admin = std::env::var("REFUND_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
        let Some(admin) = admin else {
            assert!(
                std::env::var_os("REFUND_TEST_REQUIRE_POSTGRES").is_none(),
                "REFUND_TEST_REQUIRE_POSTGRES is set but REFUND_TEST_POSTGRES_URL is not"
            );
            eprintln!("skipped: PostgreSQL ledger test (set REFUND_TEST_POSTGRES_URL to run it)");
            return None;
        };
        let name = format!("refund_cli_test_{}_{}", std::process::id(), fastrand::u32(..));
        admin_execute(&admin, &format!("CREATE DATABASE {name}"));
        let (base, _) = admin.rsplit_once('/').expect("a URL ending in /DATABASE");
        Some(PgDb { url: format!("{base}/{name}"), admin, name })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        admin_execute(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn admin_execute(admin: &str, sql: &str) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut conn = sqlx::PgConnection::connect(admin).await.expect("the PostgreSQL server");
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
}
