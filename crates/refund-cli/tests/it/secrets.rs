//! No secret value reaches stdout or stderr, even at the most verbose logging.

use refund_sandbox::seed;

use crate::common::{Env, args, eko_otp, run_hiding, stderr};

#[test]
fn verbose_logs_hold_no_secrets() {
    let env = Env::start();
    let (otp, otp_ref_id) = eko_otp(&env, seed::EKO_TID_REFUNDABLE_1);
    let hidden = [otp.as_str(), seed::BOS_REGISTRATION_ID];
    let tid = seed::EKO_TID_REFUNDABLE_1;
    let line = format!("-vvv otp refund --tid {tid} --otp {otp} --otp-ref-id {otp_ref_id}");
    let out = run_hiding(env.cmd().args(args(&line)), 0, &hidden);
    assert!(!stderr(&out).is_empty(), "-vvv logged nothing");
    let reference = seed::BOS_REFERENCE_2.to_string();
    let ackno = seed::BOS_ACKNO_2.to_string();
    let line = format!("-vvv bos send-otp --reference-id {reference} --ackno {ackno}");
    run_hiding(env.cmd().args(args(&line)), 0, &hidden);
    let bos_otp = env.sandbox.otp(refund_sandbox::Provider::Bos, &reference).unwrap();
    let (charge, txn) = (seed::AOC_CHARGE_1002, seed::DIGIPAY_TXN_2001);
    for line in [
        format!("-vvv bos claim --reference-id {reference} --ackno {ackno} --otp {bos_otp}"),
        "-vvv bos qr --amount 1".into(),
        format!("-vvv aoc refund --aoc-trans-id {charge} --amount 2.00"),
        "-vvv aoc status --sp-trans-id nope".into(),
        format!("-vvv --json digipay refund --initial-txn-id {txn} {DIGIPAY_SETTINGS}"),
    ] {
        let args = args(&line);
        let out = env.cmd().args(&args).output().unwrap();
        for secret in crate::common::SECRETS.iter().chain(&hidden).chain([&bos_otp.as_str()]) {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!all.contains(secret), "{args:?} printed {secret}:\n{all}");
        }
    }
}

/// The DigiPay refund's amount and request settings.
const DIGIPAY_SETTINGS: &str = "--amount 1 --txn-code REFUND --payment-mode 1";

#[test]
fn secrets_passed_as_flags_are_not_echoed_in_errors() {
    let env = Env::start();
    let out = run_hiding(
        env.bare()
            .args(["--json", "aoc", "status", "--sp-trans-id", "x", "--base-url", "not a url"])
            .args(["--username", "u", "--api-key", seed::AOC_API_KEY]),
        3,
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("base_url"));
    // Help never shows environment values.
    let out = run_hiding(env.cmd().args(["aoc", "refund", "--help"]), 0, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("[env: AOC_API_KEY]"));
}
