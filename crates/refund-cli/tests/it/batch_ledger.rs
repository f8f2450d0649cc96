//! `refund batch` on the ledger: a rerun is a resume, bad files and bad rows are reported with
//! their row numbers and send nothing, faults end in a report that matches the sandbox's books.

use std::collections::BTreeMap;

use refund_sandbox::{Route, Sandbox};
use serde_json::Value;

use crate::common::{Env, json_lines, run, stderr};

/// What a row's line says about its refund, `replayed` aside: the same on every run.
fn outcome(line: &Value) -> (Value, Value, Value, Value, Value) {
    (
        line["status"].clone(),
        line["refund_id"].clone(),
        line["reference"].clone(),
        line["ledger_id"].clone(),
        line["exit_code"].clone(),
    )
}

/// The lines of rows that became intents, by idempotency key.
fn by_key(lines: &[Value]) -> BTreeMap<String, Value> {
    lines
        .iter()
        .filter_map(|l| Some((l["idempotency_key"].as_str()?.to_owned(), l.clone())))
        .collect()
}

fn refund_requests(env: &Env) -> (u64, u64) {
    (env.sandbox.requests_seen(Route::AocRefund), env.sandbox.requests_seen(Route::DigipayRefund))
}

#[test]
fn a_rerun_sends_nothing_for_finished_rows_and_prints_the_same_results() {
    let env = Env::with(
        Sandbox::builder()
            .aoc_charge("RR-AOC-1", 1000)
            .aoc_charge("RR-AOC-2", 1000)
            .aoc_charge("RR-AOC-3", 1000)
            .aoc_charge("RR-AOC-4", 1000)
            .digipay_transaction("RR-DP-1", 10_000)
            .digipay_transaction("RR-DP-2", 10_000)
            .digipay_transaction("RR-DP-3", 10_000),
    );
    let header = "provider,original_transaction_id,amount,reference,idempotency_key\n";
    let rows = [
        "aoc,RR-AOC-1,1.00,,",
        // The same content again: a second refund (its key counts the occurrence).
        "aoc,RR-AOC-1,1.00,,",
        "digipay,RR-DP-1,10.00,damaged,",
        // More than the charge: declined by AOC.
        "aoc,RR-AOC-2,20.00,,",
        "digipay,RR-DP-2,5.00,,order-77/refund-1",
        // A bad amount: reported, never sent.
        "aoc,RR-AOC-3,1.0x,,",
        "aoc,RR-AOC-4,3.00,MY-REF-7,",
        "digipay,RR-DP-3,1.00,,",
    ];
    let file = env.file("rerun.csv", format!("{header}{}\n", rows.join("\n")));

    let first = run(env.cmd().args(["--json", "batch"]).arg(&file), 4);
    let first = json_lines(&first);
    assert_eq!(first.len(), 8);
    let states: Vec<&str> = first.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        [
            "succeeded",
            "succeeded",
            "succeeded",
            "declined",
            "succeeded",
            "not_sent",
            "succeeded",
            "succeeded"
        ]
    );
    assert!(first.iter().all(|l| l["replayed"] != true), "nothing came from the ledger yet");
    assert_ne!(first[0]["idempotency_key"], first[1]["idempotency_key"]);
    assert_eq!(first[4]["idempotency_key"], "order-77/refund-1");
    assert_eq!(first[6]["reference"], "MY-REF-7");
    assert_eq!(first[5]["row"], 6);
    assert!(first[5]["error"]["message"].as_str().unwrap().contains("amount"), "{}", first[5]);
    assert_eq!(refund_requests(&env), (4, 3), "one request per sendable row");
    let executed = env.sandbox.executed_refunds().len();
    assert_eq!(executed, 6);

    // The same file again: every finished row from the ledger, not one request of any kind.
    let before = env.sandbox.total_requests();
    let out = run(env.cmd().args(["--json", "batch"]).arg(&file), 4);
    let second = json_lines(&out);
    assert_eq!(env.sandbox.total_requests(), before, "the rerun sent a request");
    assert_eq!(second.len(), first.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!((&a["row"], &a["idempotency_key"]), (&b["row"], &b["idempotency_key"]));
        assert_eq!(outcome(a), outcome(b), "row {}", a["row"]);
        if a["status"] != "not_sent" {
            assert_eq!(b["replayed"], true, "{b}");
        }
    }
    assert!(stderr(&out).contains("(7 answered from the ledger)"), "{}", stderr(&out));

    // The same rows in another order, the broken row fixed: only that row is sent.
    let mut fixed: Vec<&str> = rows.iter().rev().copied().collect();
    fixed[2] = "aoc,RR-AOC-3,1.00,,";
    let file = env.file("rerun-fixed.csv", format!("{header}{}\n", fixed.join("\n")));
    let third = json_lines(&run(env.cmd().args(["--json", "batch"]).arg(&file), 4));
    assert_eq!(refund_requests(&env), (5, 3), "only the fixed row went out");
    assert_eq!(env.sandbox.executed_refunds().len(), executed + 1);
    let (first, third) = (by_key(&first), by_key(&third));
    assert_eq!(third.len(), first.len() + 1);
    for (key, line) in &first {
        assert_eq!(outcome(line), outcome(&third[key]), "{key}");
    }
    let new: Vec<_> = third.values().filter(|l| l["replayed"] == false).collect();
    assert_eq!(new.len(), 1);
    assert_eq!(
        (&new[0]["original_transaction_id"], &new[0]["status"]),
        (&"RR-AOC-3".into(), &"succeeded".into())
    );
}
