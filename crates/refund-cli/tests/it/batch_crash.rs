//! `refund batch` killed at random moments, and two batches at once on one ledger: every row is
//! refunded exactly once in the sandbox's books.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use refund_sandbox::{ExecutedRefund, Fault, FaultSpec, Route, Sandbox, SandboxBuilder};
use serde_json::Value;

use crate::common::{Env, PgDb, Running, intents, json_lines};

/// `--timeout 1`: the ledger holds a crashed run's rows for 4 × 1 s + 2 s.
const LEASE: Duration = Duration::from_secs(6);

/// `aoc` rows on `aoc` charges and `digipay` rows on `digipay` transactions, two rows each,
/// shuffled by `rng`; and a sandbox that holds them, every refund answered `latency_ms` late.
fn workload(
    prefix: &str,
    aoc: usize,
    digipay: usize,
    latency_ms: u64,
    rng: &mut fastrand::Rng,
) -> (SandboxBuilder, String) {
    let slow = FaultSpec::always(Fault::Latency { ms: latency_ms });
    let mut builder =
        Sandbox::builder().fault(Route::AocRefund, slow.clone()).fault(Route::DigipayRefund, slow);
    let mut rows = Vec::new();
    for i in 0..aoc {
        let id = format!("{prefix}-AOC-{i:03}");
        rows.push(format!("aoc,{id},1.00"));
        rows.push(format!("aoc,{id},2.50"));
        builder = builder.aoc_charge(id, 1000);
    }
    for i in 0..digipay {
        let id = format!("{prefix}-DP-{i:03}");
        rows.push(format!("digipay,{id},10.00"));
        rows.push(format!("digipay,{id},5.00"));
        builder = builder.digipay_transaction(id, 10_000);
    }
    rng.shuffle(&mut rows);
    (builder, format!("provider,original_transaction_id,amount\n{}\n", rows.join("\n")))
}

/// How often the sandbox executed each intent's refund request (by provider and reference).
pub(crate) fn executions(env: &Env, intents: &[Value]) -> Vec<usize> {
    let executed = env.sandbox.executed_refunds();
    let repeated = ExecutedRefund::repeated_keys(&executed);
    assert!(repeated.is_empty(), "refund requests executed more than once: {repeated:?}");
    let mut count: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for refund in &executed {
        *count.entry((refund.provider.as_str(), refund.key.as_str())).or_default() += 1;
    }
    let counts: Vec<usize> = intents
        .iter()
        .map(|i| {
            let key = (i["provider"].as_str().unwrap(), i["reference"].as_str().unwrap());
            count.get(&key).copied().unwrap_or(0)
        })
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), executed.len(), "a refund no intent sent");
    counts
}

/// Every AOC row refunded once, every DigiPay row once or, when its outcome was lost, in review
/// and sent once at most; the books hold exactly those refunds. Returns how many are in review.
fn every_row_refunded_once(env: &Env, intents: &[Value], rows: usize) -> usize {
    assert_eq!(intents.len(), rows, "one intent per row");
    let executions = executions(env, intents);
    let mut in_review = 0;
    let mut refunded: BTreeMap<&str, i64> = BTreeMap::new();
    for (intent, executed) in intents.iter().zip(executions) {
        let state = intent["state"].as_str().unwrap();
        let provider = intent["provider"].as_str().unwrap();
        match (provider, state) {
            (_, "succeeded") => assert_eq!(executed, 1, "{intent}"),
            ("digipay", "needs_review") => {
                in_review += 1;
                assert!(executed <= 1, "{intent}");
                // Claimed once, never sent again.
                assert_eq!(intent["attempts"], 1, "{intent}");
            }
            _ => panic!("a row ended {state}: {intent}"),
        }
        if executed == 1 {
            let minor = intent["amount"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap();
            *refunded.entry(intent["original_transaction_id"].as_str().unwrap()).or_default() +=
                minor;
        }
    }
    let books = env.sandbox.books();
    for (id, minor) in refunded {
        assert_eq!(books.entry(id).map(|e| e.refunded_minor), Some(minor), "{id}");
    }
    in_review
}

/// Reruns the batch until no row is left open, waiting out the leases of killed runs; returns
/// the last run's exit code and lines.
fn rerun_until_done(env: &Env, args: &[&str], ledger: &str) -> (i32, Vec<Value>) {
    let deadline = Instant::now() + LEASE * 4;
    loop {
        let out = env.cmd().env("REFUND_LEDGER_URL", ledger).args(args).output().unwrap();
        let lines = json_lines(&out);
        let open = lines
            .iter()
            .filter(|l| !matches!(l["status"].as_str(), Some("succeeded" | "needs_review")))
            .count();
        if open == 0 {
            return (out.status.code().unwrap(), lines);
        }
        assert!(Instant::now() < deadline, "{open} rows still open: {lines:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn killed_at_random_moments_then_rerun_every_row_is_refunded_once() {
    const KILLS: usize = 20;
    let seed = std::env::var("REFUND_TEST_SEED").ok().and_then(|s| s.parse().ok());
    let seed = seed.unwrap_or(0x5EED_2026_1206_u64);
    eprintln!("kill moments from seed {seed} (set REFUND_TEST_SEED={seed} to repeat them)");
    let mut rng = fastrand::Rng::with_seed(seed);
    // 140 AOC rows and 60 DigiPay rows, each answered 150 ms late, four at a time: about 7.5 s
    // of work, so that every kill lands mid-flight.
    let (builder, csv) = workload("KILL", 70, 30, 150, &mut rng);
    let env = Env::with(builder);
    let file = env.file("kill.csv", csv);
    let ledger = env.ledger_url();
    let args = ["--json", "--timeout", "1", "batch", file.to_str().unwrap(), "--concurrency"];

    let started = Instant::now();
    let mut mid_flight = 0;
    for _ in 0..KILLS {
        let moment = Duration::from_millis(rng.u64(150..=650));
        let before = env.sandbox.total_requests();
        let mut child = Running(
            env.std_cmd()
                .args(args)
                .arg("4")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        std::thread::sleep(moment);
        let alive = child.0.try_wait().unwrap().is_none();
        // SIGKILL: no handler runs, nothing is flushed.
        child.0.kill().unwrap();
        child.wait(Duration::from_secs(10));
        if alive && env.sandbox.total_requests() > before {
            mid_flight += 1;
        }
    }
    let killed = intents(env.cmd().env("REFUND_LEDGER_URL", &ledger));
    let sending = killed.iter().filter(|i| i["state"] == "sending").count();
    eprintln!(
        "{KILLS} kills in {:?}: {mid_flight} mid-flight; {} intents, {sending} left sending, {} refunds executed",
        started.elapsed(),
        killed.len(),
        env.sandbox.executed_refunds().len()
    );
    // Nearly all do here; a slow machine may start some runs late.
    assert!(mid_flight >= KILLS / 4, "only {mid_flight} of {KILLS} kills landed mid-flight");
    assert!(sending > 0, "the last kill left no refund in flight");

    let (code, lines) = rerun_until_done(&env, &[&args[..], &["8"]].concat(), &ledger);
    eprintln!("done {:?} after the first kill", started.elapsed());
    let all = intents(env.cmd().env("REFUND_LEDGER_URL", &ledger));
    let in_review = every_row_refunded_once(&env, &all, 200);
    let resent = all.iter().filter(|i| i["attempts"] != 1).count();
    eprintln!("{in_review} DigiPay rows in review; {resent} AOC rows sent again (never arrived)");
    assert_eq!(lines.len(), 200);
    assert_eq!(code, if in_review > 0 { 6 } else { 0 });
    // What a person reads: each DigiPay refund in review was claimed once and never sent again.
    for intent in all.iter().filter(|i| i["state"] == "needs_review") {
        let id = intent["ledger_id"].to_string();
        let out = crate::common::run(env.cmd().args(["--json", "ledger", "show", &id]), 0);
        let events = crate::common::json_of(&out)["events"].as_array().unwrap().clone();
        let sends = events.iter().filter(|e| e["to"] == "sending").count();
        assert_eq!(sends, 1, "{events:?}");
    }
    // Nothing more to send: a last run asks the sandbox nothing.
    let before = env.sandbox.total_requests();
    let out = env.cmd().args(args).arg("8").output().unwrap();
    assert_eq!(out.status.code(), Some(code));
    assert_eq!(env.sandbox.total_requests(), before);
}

/// Two `refund batch` processes on the same file and the same ledger at once.
fn two_batches_at_once(ledger: &str) {
    let mut rng = fastrand::Rng::with_seed(7);
    // About 1.5 s of work for one process: the second starts well before the first is done.
    let (builder, csv) = workload("TWO", 40, 20, 100, &mut rng);
    let env = Env::with(builder);
    let file = env.file("two.csv", csv);
    let args = ["--json", "--timeout", "1", "batch", file.to_str().unwrap(), "--concurrency", "8"];
    let start = || {
        let mut cmd = env.std_cmd();
        cmd.env("REFUND_LEDGER_URL", ledger)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        Running(cmd.spawn().unwrap())
    };
    let (mut a, mut b) = (start(), start());
    let read = |child: &mut Running| {
        let mut text = String::new();
        std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut text).unwrap();
        let code = child.wait(Duration::from_secs(60)).code();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        (code, lines)
    };
    let (code_a, lines_a) = read(&mut a);
    let (code_b, lines_b) = read(&mut b);
    let first = (lines_a.first(), lines_b.first());
    assert_eq!((lines_a.len(), lines_b.len()), (120, 120), "first lines: {first:?}");
    // Each row went out from one of them; the other found it done or in flight.
    let sent = |lines: &[Value]| {
        lines.iter().filter(|l| l["status"] == "succeeded" && l["replayed"] == false).count()
    };
    let (sent_a, sent_b) = (sent(&lines_a), sent(&lines_b));
    eprintln!("{ledger}: the first process sent {sent_a} rows, the second {sent_b}");
    assert!(sent_a > 0 && sent_b > 0, "the two batches did not overlap");
    assert_eq!(sent_a + sent_b, 120);
    // A row the other process was sending at that moment is reported in_progress (exit 6).
    for (code, lines) in [(code_a, &lines_a), (code_b, &lines_b)] {
        for line in lines {
            let status = line["status"].as_str().unwrap();
            assert!(matches!(status, "succeeded" | "sending"), "{line}");
        }
        let busy = lines.iter().any(|l| l["status"] == "sending");
        assert_eq!(code, Some(if busy { 6 } else { 0 }));
    }
    let all = intents(env.cmd().env("REFUND_LEDGER_URL", ledger));
    assert_eq!(every_row_refunded_once(&env, &all, 120), 0);
    assert!(all.iter().all(|i| i["attempts"] == 1), "a row was claimed twice");
}

#[test]
fn two_batches_at_once_on_sqlite_refund_every_row_once() {
    let folder = tempfile::tempdir().unwrap();
    two_batches_at_once(&folder.path().join("shared.sqlite").display().to_string());
}

#[test]
fn two_batches_at_once_on_postgres_refund_every_row_once() {
    if let Some(db) = PgDb::create() {
        two_batches_at_once(&db.url);
    }
}

#[test]
fn ctrl_c_starts_no_new_row_and_records_those_in_flight() {
    let mut rng = fastrand::Rng::with_seed(3);
    let (builder, csv) = workload("INT", 15, 5, 300, &mut rng);
    let env = Env::with(builder);
    let file = env.file("int.csv", csv);
    let mut cmd = env.std_cmd();
    cmd.args(["--json", "batch"]).arg(&file).args(["--concurrency", "4"]);
    let mut child = Running(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    // Once the first rows are with the sandbox, interrupt.
    let start = Instant::now();
    while env.sandbox.requests_seen(Route::AocRefund)
        + env.sandbox.requests_seen(Route::DigipayRefund)
        < 4
    {
        assert!(start.elapsed() < Duration::from_secs(20), "no row was sent");
        std::thread::sleep(Duration::from_millis(10));
    }
    let signal = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(signal.success());
    let mut text = String::new();
    std::io::Read::read_to_string(child.0.stdout.as_mut().unwrap(), &mut text).unwrap();
    let mut errors = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut errors).unwrap();
    assert_eq!(child.wait(Duration::from_secs(20)).code(), Some(130), "{errors}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sent = env.sandbox.requests_seen(Route::AocRefund)
        + env.sandbox.requests_seen(Route::DigipayRefund);
    eprintln!("{} rows printed, {sent} sent", lines.len());
    assert!(sent < 40, "every row started after Ctrl-C");
    assert!(errors.contains("Resume with: refund batch"), "{errors}");
    // Those in flight finished and were recorded: none is left sending.
    let after = intents(&mut env.cmd());
    assert!(after.iter().all(|i| i["state"] != "sending"), "{after:?}");
    assert_eq!(lines.iter().filter(|l| l["status"] == "succeeded").count() as u64, sent);

    let out = env.cmd().args(["--json", "batch"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all = intents(&mut env.cmd());
    assert_eq!(every_row_refunded_once(&env, &all, 40), 0);
}

#[test]
fn charge_amount_guards_over_refunds_across_rows_runs_and_processes() {
    let mut builder = Sandbox::builder().aoc_charge("GUARD-1", 1000);
    for i in 0..20 {
        builder = builder.aoc_charge(format!("GUARD-P-{i:02}"), 1000);
    }
    let env =
        Env::with(builder.fault(Route::AocRefund, FaultSpec::always(Fault::Latency { ms: 20 })));
    let header = "provider,original_transaction_id,amount,charge_amount,idempotency_key";

    // Across rows of one file, then across runs.
    let file = env.file("guard.csv", format!("{header}\naoc,GUARD-1,4.00,10.00,g-1\naoc,GUARD-1,4.00,10.00,g-2\naoc,GUARD-1,4.00,10.00,g-3\n"));
    let out = crate::common::run(env.cmd().args(["--json", "batch"]).arg(&file), 4);
    let lines = json_lines(&out);
    let states: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(states, ["succeeded", "succeeded", "not_sent"]);
    assert_eq!(lines[2]["error"]["kind"], "over_refund");
    assert!(
        lines[2]["error"]["message"].as_str().unwrap().contains("8.00 MYR of its 10.00 MYR"),
        "{}",
        lines[2]
    );
    let file = env.file("guard-2.csv", format!("{header}\naoc,GUARD-1,0.01,10.00,g-4\naoc,GUARD-1,2.00,10.00,g-5\naoc,GUARD-1,0.01,10.00,g-6\n"));
    let out =
        crate::common::run(env.cmd().args(["--json", "batch", "--concurrency", "1"]).arg(&file), 4);
    let states: Vec<String> =
        json_lines(&out).iter().map(|l| l["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(states, ["succeeded", "not_sent", "succeeded"]);
    assert_eq!(env.sandbox.books().entry("GUARD-1").unwrap().refunded_minor, 802);

    // Across processes: two files refund 6.00 of the same twenty 10.00 charges at once, under
    // keys of their own. One of each pair goes out; the other is refused before it is sent.
    let two = |side: &str| {
        let rows: Vec<String> =
            (0..20).map(|i| format!("aoc,GUARD-P-{i:02},6.00,10.00,{side}-{i}")).collect();
        env.file(&format!("{side}.csv"), format!("{header}\n{}\n", rows.join("\n")))
    };
    let before = env.sandbox.requests_seen(Route::AocRefund);
    let start = |file: std::path::PathBuf| {
        let mut cmd = env.std_cmd();
        cmd.args(["--json", "batch"]).arg(file).stdout(Stdio::null()).stderr(Stdio::null());
        Running(cmd.spawn().unwrap())
    };
    let (mut a, mut b) = (start(two("a")), start(two("b")));
    let codes = (a.wait(Duration::from_secs(60)).code(), b.wait(Duration::from_secs(60)).code());
    assert_eq!(
        env.sandbox.requests_seen(Route::AocRefund) - before,
        20,
        "a refused refund was sent"
    );
    let all = intents(&mut env.cmd());
    let pairs = all
        .iter()
        .filter(|i| i["original_transaction_id"].as_str().unwrap().starts_with("GUARD-P"));
    assert_eq!(pairs.clone().count(), 20, "a refused row became an intent");
    assert!(pairs.clone().all(|i| i["state"] == "succeeded"));
    let books = env.sandbox.books();
    for i in 0..20 {
        assert_eq!(books.entry(&format!("GUARD-P-{i:02}")).unwrap().refunded_minor, 600);
    }
    // Each process refused the rows the other had taken (unless one took them all).
    assert!(
        codes == (Some(4), Some(4)) || codes == (Some(0), Some(4)) || codes == (Some(4), Some(0)),
        "{codes:?}"
    );
}
