//! Output checks of the contract tests; the sandbox and the `refund` command wired to it come from
//! `refund_testkit::cli`.

use std::process::{Child, ExitStatus, Output};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use refund_sandbox::seed;
pub(crate) use refund_testkit::cli::{Env, args, bare, stderr, stdout};
pub(crate) use refund_testkit::net::closed_port;
use serde_json::Value;

/// Secret values of the seeded credentials: none may appear in any output.
pub(crate) const SECRETS: [&str; 5] = [
    seed::AOC_API_KEY,
    seed::BOS_TOKEN,
    seed::DIGIPAY_TOKEN,
    seed::EKO_DEVELOPER_KEY,
    seed::EKO_ACCESS_KEY,
];

/// Asks the sandbox for a send-otp through the CLI and returns the OTP the customer got and the
/// `otp_ref_id`.
pub(crate) fn eko_otp(env: &Env, tid: &str) -> (String, String) {
    let out = run(env.cmd().args(["--json", "otp", "send-otp", "--tid", tid]), 0);
    let json = json_of(&out);
    let otp = env.sandbox.otp(refund_sandbox::Provider::Eko, tid).unwrap();
    (otp, json["otp_ref_id"].as_str().unwrap().to_owned())
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
