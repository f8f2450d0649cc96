//! The single-refund commands through the ledger (`--idempotency-key`), `refund otp status`,
//! `refund ledger list|show|export|resolve`, and no secret in any of their outputs nor in the
//! ledger's file.

use std::collections::BTreeSet;

use refund_sandbox::{Fault, FaultSpec, Provider, Route, seed};
use serde_json::Value;

use crate::common::{Env, SECRETS, assert_error, intents, json_lines, json_of, run, run_hiding};
use crate::common::{stderr, stdout};

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

/// Six intents in every state a person meets: three succeeded, one declined, one DigiPay refund
/// whose answer was lost (needs_review), one Eko refund waiting for its OTP (reserved).
fn a_ledger_with_every_state(env: &Env) {
    let file = env.file(
        "day.csv",
        format!(
            "provider,original_transaction_id,amount\naoc,{},1.00\naoc,{},9.00\ndigipay,{},10.00\n",
            seed::AOC_CHARGE_1001,
            seed::AOC_CHARGE_1003,
            seed::DIGIPAY_TXN_2001
        ),
    );
    run(env.cmd().arg("batch").arg(&file), 4);
    let aoc = ["aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1002, "--amount", "2.00"];
    run(env.cmd().args(aoc).args(["--idempotency-key", "order-7/refund-1"]), 0);
    env.sandbox.set_fault(
        Route::DigipayRefund,
        FaultSpec::next(1, Fault::CommitThenTimeout { ms: Some(2000) }),
    );
    let digipay = ["digipay", "refund", "--initial-txn-id", seed::DIGIPAY_TXN_2002];
    let flags = ["--amount", "1", "--txn-code", "REFUND", "--payment-mode", "1"];
    run(
        env.cmd()
            .args(["--timeout", "0.3"])
            .args(digipay)
            .args(flags)
            .args(["--idempotency-key", "dp-lost"]),
        6,
    );
    run(env.cmd().arg("reconcile"), 6);
    let tid = seed::EKO_TID_REFUNDABLE_2;
    run(env.cmd().args(["otp", "send-otp", "--tid", tid, "--idempotency-key", "eko-2"]), 0);
}

fn list(env: &Env, filters: &[&str]) -> Vec<Value> {
    let json = json(env, &[&["ledger", "list"][..], filters].concat(), 0, &[]);
    assert_eq!(json["operation"], "ledger list");
    json["intents"].as_array().unwrap().clone()
}

fn field<'a>(intents: &'a [Value], name: &str) -> Vec<&'a str> {
    intents.iter().map(|i| i[name].as_str().unwrap()).collect()
}

#[test]
fn ledger_list_show_export_and_resolve() {
    let env = Env::start();
    a_ledger_with_every_state(&env);
    let all = list(&env, &[]);
    assert_eq!(
        field(&all, "state"),
        ["succeeded", "declined", "succeeded", "succeeded", "needs_review", "reserved"]
    );
    let ids: Vec<i64> = all.iter().map(|i| i["ledger_id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    // Filters, alone and together.
    assert_eq!(field(&list(&env, &["--state", "succeeded"]), "state"), ["succeeded"; 3]);
    let review = list(&env, &["--state", "needs_review"]);
    assert_eq!(field(&review, "idempotency_key"), ["dp-lost"]);
    assert_eq!(field(&list(&env, &["--provider", "aoc"]), "provider"), ["aoc"; 3]);
    assert_eq!(field(&list(&env, &["--provider", "otp-refund"]), "idempotency_key"), ["eko-2"]);
    let both = list(&env, &["--state", "succeeded", "--provider", "digipay"]);
    assert_eq!(field(&both, "original_transaction_id"), [seed::DIGIPAY_TXN_2001]);
    assert_eq!(list(&env, &["--since", "2000-01-01"]), all);
    let tomorrow = std::time::SystemTime::now() + std::time::Duration::from_secs(86_400);
    let tomorrow = humantime::format_rfc3339(tomorrow).to_string();
    assert!(list(&env, &["--since", &tomorrow[..10]]).is_empty());
    let cut = all[3]["created_at"].as_str().unwrap();
    let since = list(&env, &["--since", cut]);
    let later: Vec<&Value> =
        all.iter().filter(|i| i["created_at"].as_str().unwrap() >= cut).collect();
    assert_eq!(since.iter().collect::<Vec<_>>(), later);
    assert!(since.len() >= 3 && since.len() < all.len(), "{cut}: {since:?}");
    assert_eq!(list(&env, &["--limit", "2"]), all[..2]);
    for (flag, value, says) in
        [("--state", "done", "not a state"), ("--since", "yesterday", "not a date")]
    {
        let err = json(&env, &["ledger", "list", flag, value], 2, &[]);
        assert_error(&err, "invalid_input");
        assert!(err["error"]["message"].as_str().unwrap().contains(says), "{err}");
    }
    let out = run(env.cmd().args(["ledger", "list", "--provider", "aoc"]), 0);
    assert_eq!(stdout(&out).lines().count(), 3, "{}", stdout(&out));
    assert!(stdout(&out).contains("order-7/refund-1"), "{}", stdout(&out));
    assert!(stderr(&out).contains("3 intent(s)"), "{}", stderr(&out));

    // show: by id or by key, with the audit trail.
    let id = review[0]["ledger_id"].to_string();
    let by_id = json(&env, &["ledger", "show", &id], 0, &[]);
    assert_eq!(json(&env, &["ledger", "show", "dp-lost"], 0, &[]), by_id);
    assert_eq!(by_id["operation"], "ledger show");
    assert_eq!(by_id["state"], "needs_review");
    let events = by_id["events"].as_array().unwrap();
    let path: Vec<(&Value, &Value)> = events.iter().map(|e| (&e["from"], &e["to"])).collect();
    assert_eq!(
        path,
        [
            (&Value::Null, &"reserved".into()),
            (&"reserved".into(), &"sending".into()),
            (&"sending".into(), &"unknown".into()),
            (&"unknown".into(), &"needs_review".into()),
        ]
    );
    for event in events {
        for key in ["at", "attempt", "error_kind", "provider_code", "detail"] {
            assert!(event.get(key).is_some(), "{key} missing: {event}");
        }
    }
    assert_eq!(events[2]["error_kind"], "outcome_unknown");
    let out = run(env.cmd().args(["ledger", "show", "dp-lost"]), 0);
    let text = stdout(&out);
    assert!(text.contains("state: needs_review") && text.contains("(new) → reserved"), "{text}");
    for missing in ["9999", "no-such-key"] {
        let err = json(&env, &["ledger", "show", missing], 2, &[]);
        assert!(err["error"]["message"].as_str().unwrap().contains(missing), "{err}");
    }

    // export: a CSV with its header, and a JSON array, both every intent.
    let out = run(env.cmd().args(["ledger", "export", "--format", "csv"]), 0);
    let mut csv = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header.len(), 20);
    assert_eq!(header[..3], ["ledger_id", "idempotency_key", "kind"]);
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), all.len());
    for (row, intent) in rows.iter().zip(&all) {
        for (column, value) in header.iter().zip(row.iter()) {
            let expected = match &intent[column] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(value, expected, "{column} of {intent}");
        }
    }
    assert!(stderr(&out).contains("exported 6 intent(s)"), "{}", stderr(&out));
    let out = run(env.cmd().args(["ledger", "export", "--format", "json"]), 0);
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported.as_array().unwrap(), &all);
    run(env.cmd().args(["ledger", "export", "--format", "xml"]), 2);

    // resolve: only what is open, only with a reason.
    let succeeded = all[0]["ledger_id"].to_string();
    let cases: [(&str, &str, &str); 3] = [
        (&succeeded, "a note", "already succeeded"),
        (&id, "   ", "note"),
        ("9999", "a note", "9999"),
    ];
    for (target, note, says) in cases {
        let err =
            json(&env, &["ledger", "resolve", target, "--as", "declined", "--note", note], 2, &[]);
        assert_error(&err, "invalid_input");
        assert!(err["error"]["message"].as_str().unwrap().contains(says), "{err}");
    }
    run(env.cmd().args(["ledger", "resolve", &id, "--as", "refunded", "--note", "x"]), 2);
    assert_eq!(list(&env, &[]), all, "a refused resolution changed the ledger");
    // A reserved Eko refund the customer never confirmed: a person abandons it.
    let reserved = all[5]["ledger_id"].to_string();
    let note = "customer refunded at the counter";
    let done =
        json(&env, &["ledger", "resolve", &reserved, "--as", "declined", "--note", note], 0, &[]);
    assert_eq!(done["status"], "declined");
    assert!(done["message"].as_str().unwrap().contains(note), "{done}");
    assert_eq!(list(&env, &["--state", "reserved"]), Vec::<Value>::new());
}

#[test]
fn no_secret_nor_otp_in_any_output_nor_in_the_ledger_file() {
    let env = Env::start();
    let mut otps: Vec<String> = Vec::new();
    let file = env.file(
        "secrets.csv",
        format!(
            "provider,original_transaction_id,amount,reference\naoc,{},1.00,\ndigipay,{},10.00,a note\n",
            seed::AOC_CHARGE_1001,
            seed::DIGIPAY_TXN_2001
        ),
    );
    let report = env.ledger.path().join("secrets.report.csv");
    // Every command that writes to the ledger, at the most verbose, in both output modes.
    let mut outputs = Vec::new();
    for json_flag in [&["--json"][..], &[]] {
        let out = run(
            env.cmd()
                .args(json_flag)
                .args(["-vvv", "batch"])
                .arg(&file)
                .arg("--report")
                .arg(&report),
            0,
        );
        outputs.push(out);
    }
    let tid = seed::EKO_TID_REFUNDABLE_1;
    let out = run(
        env.cmd().args(["-vvv", "otp", "send-otp", "--tid", tid, "--idempotency-key", "eko-s"]),
        0,
    );
    outputs.push(out);
    otps.push(env.sandbox.otp(Provider::Eko, tid).unwrap());
    let (reference, ackno) = (seed::BOS_REFERENCE_2.to_string(), seed::BOS_ACKNO_2.to_string());
    let target = ["--reference-id", reference.as_str(), "--ackno", ackno.as_str()];
    outputs.push(run(
        env.cmd()
            .args(["-vvv", "bos", "send-otp"])
            .args(target)
            .args(["--idempotency-key", "bos-s"]),
        0,
    ));
    otps.push(env.sandbox.otp(Provider::Bos, &reference).unwrap());
    let hidden: Vec<&str> = otps.iter().map(String::as_str).collect();
    for _ in 0..2 {
        let eko = [
            "-vvv",
            "otp",
            "refund",
            "--tid",
            tid,
            "--otp",
            &otps[0],
            "--idempotency-key",
            "eko-s",
        ];
        outputs.push(run_hiding(env.cmd().args(eko), 0, &hidden));
        let bos = [
            &["-vvv", "bos", "claim"][..],
            &target,
            &["--otp", &otps[1], "--idempotency-key", "bos-s"],
        ]
        .concat();
        outputs.push(run_hiding(env.cmd().args(bos), 0, &hidden));
    }
    let aoc =
        ["-vvv", "aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1002, "--amount", "1.00"];
    outputs.push(run(env.cmd().args(aoc).args(["--idempotency-key", "aoc-s"]), 0));
    for args in [
        &["reconcile"][..],
        &["ledger", "list"],
        &["--json", "ledger", "list"],
        &["ledger", "show", "eko-s"],
        &["--json", "ledger", "show", "bos-s"],
        &["ledger", "export", "--format", "csv"],
        &["ledger", "export", "--format", "json"],
    ] {
        outputs.push(run_hiding(env.cmd().arg("-vvv").args(args), 0, &hidden));
    }
    assert_eq!(env.sandbox.executed_refunds().len(), 5);
    assert_eq!(json_lines(&outputs[0]).len(), 2);

    // Not in any output (run_hiding checked each), nor in the report, nor in the ledger's bytes
    // (the SQLite file and its write-ahead log).
    let mut stored = std::fs::read(&report).unwrap();
    for entry in std::fs::read_dir(env.ledger.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("ledger.sqlite") {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(stored.len() > 4096, "no ledger file found in {:?}", env.ledger.path());
    let stored = String::from_utf8_lossy(&stored);
    for secret in SECRETS.iter().chain(&hidden) {
        assert!(!stored.contains(secret), "{secret} is stored in the ledger or the report");
    }
    // The ledger does hold the refunds (the search looked at the right bytes).
    assert!(
        stored.contains("eko-s")
            && stored.contains("bos-s")
            && stored.contains(seed::AOC_CHARGE_1002)
    );
}
