//! Output checks of the contract tests; the sandbox and the `refund` command wired to it come from
//! `refund_testkit::cli`.

use std::process::Output;

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
