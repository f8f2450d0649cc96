//! The single-refund commands through the ledger (`--idempotency-key`), `refund otp status`,
//! `refund ledger list|show|export|resolve`, and no secret in any of their outputs nor in the
//! ledger's file.

use std::collections::BTreeSet;

use refund_sandbox::{Provider, Route, seed};
use serde_json::Value;

use crate::common::{Env, assert_error, intents, json_of, run, run_hiding, stdout};

/// `refund --json ARGS`, checked for its exit code and that no secret nor any of `hidden` shows.
fn json(env: &Env, args: &[&str], code: i32, hidden: &[&str]) -> Value {
    json_of(&run_hiding(env.cmd().arg("--json").args(args), code, hidden))
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn otp_status_reads_a_transfer_as_bos_status_does() {
    let env = Env::start();
    let eko = json(&env, &["otp", "status", "--tid", seed::EKO_TID_REFUNDABLE_1], 0, &[]);
    assert_eq!(eko["provider"], "otp-refund");
    assert_eq!(eko["operation"], "status");
    assert_eq!(eko["status"], "not_refunded");
    assert_eq!(eko["tx_status"], "3");
    assert_eq!((&eko["amount"], &eko["currency"]), (&"5000.00".into(), &"INR".into()));
    assert_eq!(eko["original_transaction_id"], seed::EKO_TID_REFUNDABLE_1);
    assert!(eko["raw"].is_object());
    let reference = seed::BOS_REFERENCE_1.to_string();
    let bos = json(&env, &["bos", "status", "--reference-id", &reference], 0, &[]);
    // The same fields, each provider's own status code under its own name.
    let mut eko_keys = keys(&eko);
    let mut bos_keys = keys(&bos);
    assert!(eko_keys.remove("tx_status") && bos_keys.remove("txn_status"));
    assert_eq!(eko_keys, bos_keys);
    let out = run(env.cmd().args(["otp", "status", "--tid", seed::EKO_TID_SUCCESS]), 0);
    assert!(stdout(&out).contains("tx_status: 0"), "{}", stdout(&out));
    assert_eq!(env.sandbox.requests_seen(Route::EkoTransaction), 2);
}

/// The number of refund requests the sandbox saw, all providers.
fn refunds_seen(env: &Env) -> u64 {
    [Route::AocRefund, Route::DigipayRefund, Route::EkoRefund, Route::BosClaimRefund]
        .iter()
        .map(|r| env.sandbox.requests_seen(*r))
        .sum()
}

#[test]
fn idempotency_key_sends_once_and_replays_the_recorded_result() {
    let env = Env::start();
    let aoc = ["aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1001, "--amount", "1.00"];
    let key = ["--idempotency-key", "order-7/refund-1"];
    let digipay = ["digipay", "refund", "--initial-txn-id", seed::DIGIPAY_TXN_2001, "--amount"];
    let digipay_flags = ["--txn-code", "REFUND", "--payment-mode", "1"];
    let dp_key = ["--idempotency-key", "return-42"];

    // The dry run shows the spTransID the ledger derives from the key, and sends nothing.
    let dry = json(&env, &[&aoc[..], &key, &["--dry-run"]].concat(), 0, &[]);
    let body = dry["request"]["body"].to_string();
    for (args, expect_sent) in [
        (&[&aoc[..], &key].concat(), 1),
        (&[&digipay[..], &["10"], &digipay_flags, &dp_key].concat(), 2),
    ] {
        let first = json(&env, args, 0, &[]);
        assert_eq!((&first["status"], &first["replayed"]), (&"succeeded".into(), &false.into()));
        assert_eq!(refunds_seen(&env), expect_sent);
        let again = json(&env, args, 0, &[]);
        assert_eq!(again["replayed"], true);
        for field in ["refund_id", "reference", "ledger_id", "idempotency_key", "amount", "status"]
        {
            assert_eq!(again[field], first[field], "{field}");
        }
        assert_eq!(refunds_seen(&env), expect_sent, "a replay sent a request");
        let out = run(env.cmd().args(args), 0);
        assert!(stdout(&out).contains("(from the ledger: nothing was sent)"), "{}", stdout(&out));
        assert!(stdout(&out).contains("replayed: true"), "{}", stdout(&out));
    }
    let aoc_record = &intents(&mut env.cmd())[0];
    assert!(body.contains(aoc_record["reference"].as_str().unwrap()), "{body}");

    // The same key for another refund: refused, nothing sent.
    let conflicts: [Vec<&str>; 3] = [
        ["aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1001, "--amount", "2.00"]
            .into_iter()
            .chain(key)
            .collect(),
        [&digipay[..], &["20"], &digipay_flags, &dp_key].concat(),
        // Another provider under the AOC refund's key.
        [&digipay[..], &["10"], &digipay_flags, &key].concat(),
    ];
    for args in conflicts {
        let err = json(&env, &args, 2, &[]);
        assert_error(&err, "conflict");
        assert!(err["error"]["message"].as_str().unwrap().contains("already used"), "{err}");
    }
    assert_eq!(refunds_seen(&env), 2);
    assert_eq!(env.sandbox.executed_refunds().len(), 2);
}

#[test]
fn idempotency_key_on_otp_refunds_confirms_once() {
    let env = Env::start();
    // Eko: the ledger keeps the otp_ref_id between send-otp and refund.
    let tid = seed::EKO_TID_REFUNDABLE_1;
    let sent = json(&env, &["otp", "send-otp", "--tid", tid, "--idempotency-key", "eko-1"], 0, &[]);
    assert_eq!((&sent["status"], &sent["idempotency_key"]), (&"reserved".into(), &"eko-1".into()));
    assert_eq!(sent["otp_ref_id"].as_str(), env.sandbox.otp_ref_id(Provider::Eko, tid).as_deref());
    let eko_otp = env.sandbox.otp(Provider::Eko, tid).unwrap();
    let refund = ["otp", "refund", "--tid", tid, "--otp", &eko_otp, "--idempotency-key", "eko-1"];
    let first = json(&env, &refund, 0, &[&eko_otp]);
    assert_eq!((&first["status"], &first["replayed"]), (&"succeeded".into(), &false.into()));
    let again = json(&env, &refund, 0, &[&eko_otp]);
    assert_eq!((&again["replayed"], &again["refund_id"]), (&true.into(), &first["refund_id"]));
    // A finished refund sends no OTP either.
    let resent =
        json(&env, &["otp", "send-otp", "--tid", tid, "--idempotency-key", "eko-1"], 0, &[]);
    assert_eq!((&resent["status"], &resent["replayed"]), (&"succeeded".into(), &true.into()));
    assert_eq!(env.sandbox.requests_seen(Route::EkoRefund), 1);
    assert_eq!(env.sandbox.requests_seen(Route::EkoSendOtp), 1);
    // The key is this transfer's refund, not another's.
    let other = ["otp", "refund", "--tid", seed::EKO_TID_REFUNDABLE_2, "--otp", "123456"];
    let err = json(&env, &[&other[..], &["--idempotency-key", "eko-1"]].concat(), 2, &[]);
    assert!(err["error"]["message"].as_str().unwrap().contains("not 13192444"), "{err}");

    // BOS: send-otp, then claim under the same key.
    let (reference, ackno) = (seed::BOS_REFERENCE_1.to_string(), seed::BOS_ACKNO_1.to_string());
    let target = ["--reference-id", reference.as_str(), "--ackno", ackno.as_str()];
    let key = ["--idempotency-key", "bos-1"];
    let sent = json(&env, &[&["bos", "send-otp"][..], &target, &key].concat(), 0, &[]);
    assert_eq!(sent["status"], "reserved");
    let bos_otp = env.sandbox.otp(Provider::Bos, &reference).unwrap();
    let claim = [&["bos", "claim"][..], &target, &["--otp", &bos_otp], &key].concat();
    let first = json(&env, &claim, 0, &[&bos_otp]);
    assert_eq!((&first["status"], &first["replayed"]), (&"succeeded".into(), &false.into()));
    let again = json(&env, &claim, 0, &[&bos_otp]);
    assert_eq!(again["replayed"], true);
    assert_eq!(env.sandbox.requests_seen(Route::BosClaimRefund), 1);
    let wrong = ["bos", "claim", "--reference-id", &reference, "--ackno", "999", "--otp", "123456"];
    let err = json(&env, &[&wrong[..], &key].concat(), 2, &[]);
    assert!(err["error"]["message"].as_str().unwrap().contains("send the OTP first"), "{err}");
    assert_eq!(env.sandbox.executed_refunds().len(), 2);
    assert_eq!(env.sandbox.requests_seen(Route::BosClaimRefund), 1);
}
