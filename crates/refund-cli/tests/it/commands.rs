//! Every command against the sandbox: its exit code, its JSON shape, its text.

use std::process::Stdio;

use predicates::prelude::PredicateBooleanExt;
use refund_sandbox::{Provider, seed};
use refund_testkit::spawn_announcing;

use crate::common::{Env, args, bare, eko_otp, json_of, run, run_hiding, stdout};

#[test]
fn help_has_examples_for_every_command() {
    bare().arg("--help").assert().success().stdout(
        predicates::str::contains("Examples:").and(predicates::str::contains("Exit codes")),
    );
    bare().arg("--version").assert().success().stdout(predicates::str::starts_with("refund "));
    for args in [
        &["aoc", "refund"][..],
        &["aoc", "status"],
        &["otp", "send-otp"],
        &["otp", "refund"],
        &["bos", "send-otp"],
        &["bos", "claim"],
        &["bos", "status"],
        &["bos", "qr"],
        &["digipay", "refund"],
        &["batch"],
        &["sandbox"],
        &["demo"],
    ] {
        let out = run(bare().args(args).arg("--help"), 0);
        assert!(stdout(&out).contains("Example"), "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn aoc_refund_then_status() {
    let env = Env::start();
    let charge = seed::AOC_CHARGE_1001;
    let line =
        format!("--json aoc refund --aoc-trans-id {charge} --amount 1.00 --sp-trans-id t-aoc-1");
    let out = run(env.cmd().args(args(&line)), 0);
    let json = json_of(&out);
    assert_eq!(json["provider"], "aoc");
    assert_eq!(json["operation"], "refund");
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["amount"], "1.00");
    assert_eq!(json["original_transaction_id"], seed::AOC_CHARGE_1001);
    assert!(json["refund_id"].is_string());
    assert!(json["raw"].is_object());

    // Global flags after the subcommand, settings as flags.
    let (base, user, key) = (env.sandbox.aoc_base_url(), seed::AOC_USERNAME, seed::AOC_API_KEY);
    let line = format!("aoc status --sp-trans-id t-aoc-1 --json --base-url {base}");
    let out = run(env.bare().args(args(&line)).args(["--username", user, "--api-key", key]), 0);
    let json = json_of(&out);
    assert_eq!(json["operation"], "status");
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["amount"], "1.00");

    let out = run(env.cmd().args(["aoc", "status", "--sp-trans-id", "t-aoc-1"]), 0);
    assert!(stdout(&out).starts_with("aoc status: succeeded"), "{}", stdout(&out));
}

#[test]
fn aoc_refund_generates_and_prints_a_reference() {
    let env = Env::start();
    let out = run(
        env.cmd().args(["aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1002, "--amount", "5"]),
        0,
    );
    let text = stdout(&out);
    assert!(text.contains("aoc refund: succeeded"), "{text}");
    assert!(text.contains("refund aoc status --sp-trans-id "), "{text}");
}

#[test]
fn eko_send_otp_then_refund() {
    let env = Env::start();
    let (otp, otp_ref_id) = eko_otp(&env, seed::EKO_TID_REFUNDABLE_1);
    let out =
        run_hiding(
            env.cmd()
                .args(["--json", "otp", "refund", "--tid", seed::EKO_TID_REFUNDABLE_1])
                .args(["--otp", &otp, "--otp-ref-id", &otp_ref_id]),
            0,
            &[&otp],
        );
    let json = json_of(&out);
    assert_eq!(json["provider"], "otp-refund");
    assert_eq!(json["operation"], "refund");
    assert_eq!(json["status"], "succeeded");
}

#[test]
fn otp_send_otp_json_shape() {
    let env = Env::start();
    let out =
        run(env.cmd().args(["--json", "otp", "send-otp", "--tid", seed::EKO_TID_REFUNDABLE_2]), 0);
    let json = json_of(&out);
    assert_eq!(json["provider"], "otp-refund");
    assert_eq!(json["operation"], "send-otp");
    assert_eq!(json["status"], "otp_sent");
    assert_eq!(
        json["otp_ref_id"].as_str(),
        env.sandbox.otp_ref_id(Provider::Eko, seed::EKO_TID_REFUNDABLE_2).as_deref()
    );
}

#[test]
fn bos_send_otp_claim_status() {
    let env = Env::start();
    let reference = seed::BOS_REFERENCE_1.to_string();
    let ackno = seed::BOS_ACKNO_1.to_string();
    let line = format!("--json bos send-otp --reference-id {reference} --ackno {ackno}");
    let out = run(env.cmd().args(args(&line)), 0);
    let json = json_of(&out);
    assert_eq!(
        (json["provider"].as_str(), json["status"].as_str()),
        (Some("bos"), Some("otp_sent"))
    );
    let otp = env.sandbox.otp(Provider::Bos, &reference).unwrap();

    let out = run(env.cmd().args(["--json", "bos", "status", "--reference-id", &reference]), 0);
    assert_eq!(json_of(&out)["status"], "not_refunded");

    let line = format!("--json bos claim --reference-id {reference} --ackno {ackno} --otp {otp}");
    let out = run_hiding(env.cmd().args(args(&line)), 0, &[&otp]);
    let json = json_of(&out);
    assert_eq!(json["operation"], "claim");
    assert_eq!(json["status"], "succeeded");

    let out = run(env.cmd().args(["--json", "bos", "status", "--reference-id", &reference]), 0);
    let json = json_of(&out);
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["amount"], "500.00");
}

#[test]
fn bos_qr_draws_and_writes_png() {
    let env = Env::start();
    let dir = std::env::temp_dir().join(format!("refund-cli-qr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("qr.png");
    let out = run_hiding(
        env.cmd().args(["bos", "qr", "--amount", "10", "--png"]).arg(&png),
        0,
        &[seed::BOS_REGISTRATION_ID],
    );
    let text = stdout(&out);
    assert!(text.contains("upi_intent: upi://pay?"), "{text}");
    assert!(text.contains('▀') && text.contains('█'), "{text}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));

    let out = run(env.cmd().args(["--json", "bos", "qr", "--amount", "10.50"]), 0);
    let json = json_of(&out);
    assert_eq!(json["operation"], "qr");
    assert_eq!(json["status"], "created");
    assert_eq!(json["amount"], "10.50");
    assert!(json["upi_intent"].as_str().unwrap().starts_with("upi://pay?"));
}

#[test]
fn digipay_refund() {
    let env = Env::start();
    let txn = seed::DIGIPAY_TXN_2002;
    let settings = "--amount 79.10 --txn-code REFUND --payment-mode 1 --note t";
    let line = format!("--json digipay refund --initial-txn-id {txn} {settings}");
    let out = run(env.cmd().args(args(&line)), 0);
    let json = json_of(&out);
    assert_eq!(json["provider"], "digipay");
    assert_eq!(json["status"], "succeeded");
    assert_eq!(json["amount"], "79.10");
    let books = env.sandbox.books();
    assert_eq!(books.entry(seed::DIGIPAY_TXN_2002).map(|e| e.refunded_minor), Some(7910));
}

#[test]
fn demo_passes() {
    let out = run(bare().arg("demo"), 0);
    let text = stdout(&out);
    assert!(text.contains("All 18 steps behaved as expected"), "{text}");
    assert!(text.contains("outcome_unknown"), "{text}");
    let out = run(bare().args(["demo", "--json"]), 0);
    let json = json_of(&out);
    assert_eq!(json["status"], "passed");
    assert_eq!(json["steps"].as_array().map(Vec::len), Some(18));
}

#[test]
fn sandbox_command_serves_until_killed() {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("refund"));
    let (mut child, line) =
        spawn_announcing(cmd.args(["--json", "sandbox", "--port", "0"]).stderr(Stdio::null()));
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    let aoc = json["sandbox"]["aoc_base_url"].as_str().unwrap().to_owned();
    let line = format!("--json aoc refund --aoc-trans-id {} --amount 5.00", seed::AOC_CHARGE_1003);
    let out = run(
        bare()
            .args(args(&line))
            .env("AOC_BASE_URL", &aoc)
            .env("AOC_USERNAME", seed::AOC_USERNAME)
            .env("AOC_API_KEY", seed::AOC_API_KEY),
        0,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(json_of(&out)["status"], "succeeded");

    let out = bare().args(["sandbox", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--port"));
}
