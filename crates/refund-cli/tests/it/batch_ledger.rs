//! `refund batch` on the ledger: a rerun is a resume, bad files and bad rows are reported with
//! their row numbers and send nothing, faults end in a report that matches the sandbox's books.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use refund_sandbox::{Fault, FaultSpec, Route, Sandbox, seed};
use serde_json::Value;

use crate::common::{
    Env, Running, assert_error, intents, json_lines, json_of, run, stderr, stdout,
};

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

    let out = run(env.cmd().args(["--json", "batch"]).arg(&file), 4);
    // Where the ledger is comes first; the money refunded per currency last.
    let progress = stderr(&out);
    assert!(progress.starts_with(&format!("ledger: {}\n", env.ledger_url())), "{progress}");
    let summary = progress.lines().last().unwrap();
    assert!(summary.contains("8 of 8 rows: 1 declined, 1 not_sent, 6 succeeded"), "{summary}");
    assert!(summary.ends_with("refunded 16.00 INR, 5.00 MYR"), "{summary}");
    let first = json_lines(&out);
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

#[test]
fn a_file_that_is_not_a_batch_stops_before_anything_is_written_or_sent() {
    let env = Env::start();
    let not_csv: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10";
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n", "is empty"),
        ("columns.csv", b"provider,amount\naoc,1.00\n", "no column \"original_transaction_id\""),
        ("image.csv", not_csv, "no column \"provider\""),
    ];
    for (name, contents, says) in cases {
        let file = env.file(name, contents);
        let out = run(env.cmd().args(["--json", "batch"]).arg(&file), 2);
        let json = json_of(&out);
        assert_error(&json, "invalid_input");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(name) && message.contains(says), "{name}: {message}");
        let out = run(env.cmd().arg("batch").arg(&file), 2);
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
    }
    assert_eq!(env.sandbox.total_requests(), 0);
    assert!(
        !std::path::Path::new(&env.ledger_url()).exists(),
        "the ledger was opened for a file that cannot be a batch"
    );

    // A header and no rows: nothing to do, and it says so.
    let file = env.file("header.csv", "provider,original_transaction_id,amount\n");
    let out = run(env.cmd().args(["--json", "batch"]).arg(&file), 0);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("0 of 0 rows: no rows"), "{}", stderr(&out));
    assert_eq!(env.sandbox.total_requests(), 0);
}

#[test]
fn bad_rows_are_reported_by_row_number_and_send_nothing() {
    let env = Env::with(
        Sandbox::builder()
            .aoc_charge("BR-AOC-1", 1000)
            .aoc_charge("BR-AOC-2", 1000)
            .digipay_transaction("BR-DP-1", 10_000),
    );
    let mut text =
        b"provider,original_transaction_id,amount,idempotency_key,charge_amount\n".to_vec();
    for row in [
        /* 1 */ "aoc,BR-AOC-1,1.00,k-1,",
        /* 2 */ "aoc,BR-AOC-1,1.001,,",
        /* 3 */ "aoc,BR-AOC-1,-1.00,,",
        /* 4 */ "aoc,BR-AOC-1,1e3,,",
        /* 5 */ "digipay,BR-DP-1,,,",
        /* 6 */ "paypal,BR-AOC-1,1.00,,",
        /* 7 */ "eko,13192443,1.00,,",
        /* 8 */ "aoc,BR-AOC-1,2.00,k-1,", // k-1 again with another amount
        /* 9 */ "aoc,BR-AOC-1,1.00,k-1,", // k-1 again, the same refund
        /* 10 */ "aoc,BR-AOC-2,1.00,,abc",
        /* 11 */ "aoc,BR-AOC-2,1.00,,,extra",
        /* 12 */ "aoc,,1.00,,",
    ] {
        text.extend_from_slice(row.as_bytes());
        text.push(b'\n');
    }
    /* 13 */
    text.extend_from_slice(b"aoc,BR-AOC-\xff\xfe,1.00,,\n");
    /* 14 */
    text.extend_from_slice(b"digipay,BR-DP-1,10.00,,100.00\n");
    let file = env.file("bad-rows.csv", text);
    let out = run(
        env.cmd()
            .args(["--json", "batch"])
            .arg(&file)
            .arg("--report")
            .arg(env.ledger.path().join("bad.report.csv")),
        2,
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 14, "{}", stdout(&out));
    let expect: [(&str, &str, &str); 14] = [
        ("succeeded", "", ""),
        ("not_sent", "invalid_input", "3 decimal places"),
        ("not_sent", "invalid_input", "amount"),
        ("not_sent", "invalid_input", "amount"),
        ("not_sent", "invalid_input", "amount"),
        ("not_sent", "invalid_input", "\"paypal\" is not a provider"),
        ("not_sent", "invalid_input", "need the customer's OTP"),
        ("not_sent", "conflict", "amount 1.00 MYR ≠ 2.00 MYR"),
        ("succeeded", "", ""),
        ("not_sent", "invalid_input", "charge_amount"),
        ("not_sent", "invalid_input", "row 11"),
        ("not_sent", "invalid_input", "original_transaction_id"),
        ("not_sent", "invalid_input", "row 13 is not valid UTF-8"),
        ("succeeded", "", ""),
    ];
    for (i, (line, (status, kind, says))) in lines.iter().zip(expect).enumerate() {
        assert_eq!(line["row"], i + 1, "{line}");
        assert_eq!(line["status"], status, "{line}");
        if kind.is_empty() {
            assert_eq!(line["exit_code"], 0, "{line}");
            continue;
        }
        assert_eq!(line["error"]["kind"], kind, "{line}");
        let message = line["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "row {}: {message}", i + 1);
        assert!(line.get("ledger_id").is_none(), "a bad row became an intent: {line}");
    }
    // Row 9 is row 1's refund, told from the ledger.
    assert_eq!((&lines[8]["same_key_as_row"], &lines[8]["replayed"]), (&1.into(), &true.into()));
    assert_eq!(lines[8]["refund_id"], lines[0]["refund_id"]);
    assert_eq!(lines[12]["original_transaction_id"], "BR-AOC-\u{fffd}\u{fffd}");
    // Only rows 1 and 14 went out.
    assert_eq!(refund_requests(&env), (1, 1));
    let intents = intents(&mut env.cmd());
    assert_eq!(intents.len(), 2, "{intents:?}");
    // The text output names every bad row by its number.
    let out = run(env.cmd().arg("batch").arg(&file), 2);
    let text = stdout(&out);
    for row in [2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13] {
        assert!(text.contains(&format!("row {row}: ")), "row {row}:\n{text}");
    }
    assert!(
        text.contains("row 9: aoc BR-AOC-1 1.00: succeeded") && text.contains("the key of row 1"),
        "{text}"
    );
    assert_eq!(refund_requests(&env), (1, 1));
    // The report says the same, row by row.
    let report = std::fs::read_to_string(env.ledger.path().join("bad.report.csv")).unwrap();
    let states: Vec<&str> = report.lines().skip(1).map(|l| l.split(',').nth(6).unwrap()).collect();
    assert_eq!(states, expect.map(|(status, _, _)| status));

    // The key again in another run, with another amount: refused, nothing sent.
    let file = env.file(
        "reuse.csv",
        "provider,original_transaction_id,amount,idempotency_key\naoc,BR-AOC-2,5.00,k-1\n",
    );
    let out = run(env.cmd().args(["--json", "batch"]).arg(&file), 2);
    let line = &json_lines(&out)[0];
    assert_eq!((&line["status"], &line["error"]["kind"]), (&"not_sent".into(), &"conflict".into()));
    assert_eq!(refund_requests(&env), (1, 1));
}

/// The most memory the process `pid` has held so far (Linux: VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_50_mb_file_is_streamed_to_its_last_row() {
    // 50 MB of rows, nearly all bad (a 1 kB reference each, and an amount that is not one), with
    // a good row first and last: every row is read and answered, in flat memory, and only the
    // two good rows are sent.
    let env = Env::start();
    let path = env.ledger.path().join("big.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(file, "provider,original_transaction_id,amount,reference").unwrap();
    writeln!(file, "aoc,{},0.10,", seed::AOC_CHARGE_1001).unwrap();
    let filler = "x".repeat(1000);
    let mut bad = 0u64;
    let mut written = 0;
    while written < 50 * 1024 * 1024 {
        let line = format!("aoc,{},1.0{}x,{filler}\n", seed::AOC_CHARGE_1001, bad % 10);
        file.write_all(line.as_bytes()).unwrap();
        written += line.len();
        bad += 1;
    }
    writeln!(file, "aoc,{},0.20,", seed::AOC_CHARGE_1002).unwrap();
    drop(file);
    let rows = bad + 2;

    let out_path = env.ledger.path().join("big.out");
    let started = Instant::now();
    let mut child = Running(
        env.std_cmd()
            .args(["--json", "batch"])
            .arg(&path)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut peak = None;
    while child.0.try_wait().unwrap().is_none() {
        peak = peak_rss_kib(child.0.id()).or(peak);
        assert!(started.elapsed() < Duration::from_secs(120), "the 50 MB batch takes too long");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(child.wait(Duration::ZERO).code(), Some(2));
    eprintln!("50 MB, {rows} rows: {:?}, peak RSS {peak:?} KiB", started.elapsed());

    let output = std::io::BufReader::new(std::fs::File::open(&out_path).unwrap());
    let mut count = 0;
    for (i, line) in output.lines().enumerate() {
        let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let number = i as u64 + 1;
        assert_eq!(line["row"], number);
        if number == 1 || number == rows {
            assert_eq!(line["status"], "succeeded", "{line}");
        } else {
            assert_eq!((&line["status"], &line["exit_code"]), (&"not_sent".into(), &2.into()));
            let message = line["error"]["message"].as_str().unwrap();
            assert!(message.contains("amount"), "row {number}: {message}");
        }
        count += 1;
    }
    assert_eq!(count, rows, "every row is answered");
    assert_eq!(refund_requests(&env), (2, 0), "only the two good rows are sent");
    if cfg!(target_os = "linux") {
        // The file alone is 50 MiB: a process that held it would be past this.
        let peak = peak.unwrap();
        assert!(peak < 40 * 1024, "peak RSS {peak} KiB: the file is not streamed");
    }
}

/// The `--report` file: one map per row, by column name.
fn report_rows(path: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    // The report's columns are part of its stable shape.
    assert_eq!(
        header.join(","),
        "row,idempotency_key,provider,original_transaction_id,amount,currency,state,refund_id,\
         provider_code,message"
    );
    reader
        .records()
        .map(|r| header.iter().cloned().zip(r.unwrap().iter().map(str::to_owned)).collect())
        .collect()
}

/// Each report row against the sandbox's log of executed refunds: a succeeded row was executed
/// once under its reference, with the refund id the report gives; a row refused or not
/// processed never was; an unknown one at most once. Returns the states seen.
fn report_matches_the_books(env: &Env, report: &std::path::Path) -> BTreeMap<String, usize> {
    let intents = intents(&mut env.cmd());
    let executed = env.sandbox.executed_refunds();
    let mut states = BTreeMap::new();
    for row in report_rows(report) {
        let state = row["state"].as_str();
        *states.entry(row["state"].clone()).or_default() += 1;
        let intent =
            intents.iter().find(|i| i["idempotency_key"] == row["idempotency_key"].as_str());
        let runs: Vec<_> = intent
            .map(|i| {
                executed
                    .iter()
                    .filter(|e| {
                        e.provider.as_str() == i["provider"]
                            && e.key == i["reference"].as_str().unwrap()
                    })
                    .collect()
            })
            .unwrap_or_default();
        match state {
            "succeeded" => {
                assert_eq!(runs.len(), 1, "{row:?}");
                // A person's decision has no refund id: their note says what they saw.
                if row["refund_id"].is_empty() {
                    assert!(row["message"].starts_with("resolved by a person as succeeded: "));
                } else {
                    assert_eq!(runs[0].refund_id, row["refund_id"], "{row:?}");
                }
                assert_eq!(runs[0].original_id, row["original_transaction_id"], "{row:?}");
            }
            "declined" | "not_processed" | "not_sent" => assert!(runs.is_empty(), "{row:?}"),
            "unknown" | "needs_review" => assert!(runs.len() <= 1, "{row:?}"),
            other => panic!("a batch that finished left a row {other}: {row:?}"),
        }
    }
    states
}

#[test]
fn faults_on_a_share_of_the_rows_report_matches_the_books_and_reconcile_settles() {
    let mut builder = Sandbox::builder();
    let mut first = Vec::new();
    for i in 0..12 {
        builder = builder
            .aoc_charge(format!("FA-AOC-{i:02}"), 1000)
            .digipay_transaction(format!("FA-DP-{i:02}"), 10_000);
        first.push(format!("aoc,FA-AOC-{i:02},1.00"));
        first.push(format!("digipay,FA-DP-{i:02},10.00"));
    }
    let env = Env::with(builder);
    let header = "provider,original_transaction_id,amount";
    let first = env.file("first.csv", format!("{header}\n{}\n", first.join("\n")));
    let second = env.file(
        "second.csv",
        format!(
            "{header}\naoc,FA-AOC-00,2.00\ndigipay,FA-DP-03,5.00\naoc,FA-AOC-01,2.00\n\
             digipay,FA-DP-04,5.00\naoc,FA-AOC-02,2.00\ndigipay,FA-DP-05,5.00\n"
        ),
    );
    let batch = |file: &std::path::Path, code: i32| {
        let report = file.with_extension("report.csv");
        let out = run(
            env.cmd()
                .args(["--json", "--timeout", "0.5", "batch", "--concurrency", "4"])
                .arg(file)
                .arg("--report")
                .arg(&report),
            code,
        );
        (json_lines(&out), report_matches_the_books(&env, &report))
    };
    let counts = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect()
    };

    // Three AOC answers lost after the refund was booked: the retry under the same spTransID
    // finds it (succeeded). Three DigiPay 503s: not processed, exit 5.
    env.sandbox.set_fault(
        Route::AocRefund,
        FaultSpec::next(3, Fault::CommitThenTimeout { ms: Some(2000) }),
    );
    env.sandbox.set_fault(Route::DigipayRefund, FaultSpec::next(3, Fault::ServiceUnavailable));
    let (_, states) = batch(&first, 5);
    assert_eq!(states, counts(&[("not_processed", 3), ("succeeded", 21)]));
    assert!(env.sandbox.requests_seen(Route::AocRefund) > 12, "no AOC answer was lost");

    // Every AOC attempt times out before acting: unknown, never booked. Two DigiPay answers
    // lost after booking: unknown.
    env.sandbox.set_fault(
        Route::AocRefund,
        FaultSpec::always(Fault::TimeoutBeforeActing { ms: Some(2000) }),
    );
    env.sandbox.set_fault(
        Route::DigipayRefund,
        FaultSpec::next(2, Fault::CommitThenTimeout { ms: Some(2000) }),
    );
    let (_, states) = batch(&second, 6);
    assert_eq!(states, counts(&[("succeeded", 1), ("unknown", 5)]));
    env.sandbox.clear_faults();

    // reconcile: the AOC refunds never arrived (sent again by the next run); DigiPay's are for a
    // person.
    let out = run(env.cmd().args(["--json", "reconcile"]), 6);
    let json = json_of(&out);
    let changed = json["changed"].as_array().unwrap();
    let to = |provider: &str| -> Vec<&str> {
        changed
            .iter()
            .filter(|c| c["provider"] == provider)
            .map(|c| c["state"].as_str().unwrap())
            .collect()
    };
    assert_eq!(to("aoc"), ["not_processed"; 3]);
    assert_eq!(to("digipay"), ["needs_review"; 2]);
    assert_eq!(json["open"], 2);
    let out = run(env.cmd().arg("reconcile"), 6);
    assert!(stdout(&out).contains("still needs_review"), "{}", stdout(&out));
    assert!(stdout(&out).matches("refund ledger resolve ").count() == 2, "{}", stdout(&out));

    // The reruns send what was not processed, and nothing else.
    let before = refund_requests(&env);
    let (_, states) = batch(&first, 0);
    assert_eq!(states, counts(&[("succeeded", 24)]));
    let (lines, states) = batch(&second, 6);
    assert_eq!(states, counts(&[("needs_review", 2), ("succeeded", 4)]));
    assert_eq!(refund_requests(&env), (before.0 + 3, before.1 + 3));

    // A person reads DigiPay's records (here, the sandbox's log) and settles each one.
    let executed = env.sandbox.executed_refunds();
    for line in lines.iter().filter(|l| l["status"] == "needs_review") {
        let booked =
            executed.iter().find(|e| e.key == line["reference"].as_str().unwrap()).unwrap();
        let id = line["ledger_id"].to_string();
        let note = format!("DigiPay dashboard: refunded as txn {}", booked.refund_id);
        let out = run(
            env.cmd().args([
                "--json",
                "ledger",
                "resolve",
                &id,
                "--as",
                "succeeded",
                "--note",
                &note,
            ]),
            0,
        );
        let json = json_of(&out);
        assert_eq!((&json["operation"], &json["status"]), (&"resolve".into(), &"succeeded".into()));
        let out = run(env.cmd().args(["--json", "ledger", "show", &id]), 0);
        let events = json_of(&out)["events"].as_array().unwrap().clone();
        let last = events.last().unwrap();
        assert_eq!(
            (&last["from"], &last["to"]),
            (&"needs_review".into(), &"succeeded".into()),
            "{events:?}"
        );
        assert_eq!(last["error_kind"], "resolved");
        assert!(last["detail"].as_str().unwrap().contains(&note), "{last}");
    }
    let out = run(env.cmd().args(["--json", "reconcile"]), 0);
    assert_eq!(json_of(&out)["open"], 0);
    let (_, states) = batch(&second, 0);
    assert_eq!(states, counts(&[("succeeded", 6)]));

    // The books hold exactly what the ledger says was refunded, charge by charge.
    let books = env.sandbox.books();
    for i in 0..12 {
        let aoc = if i < 3 { 300 } else { 100 };
        let digipay = if (3..6).contains(&i) { 1500 } else { 1000 };
        assert_eq!(books.entry(&format!("FA-AOC-{i:02}")).unwrap().refunded_minor, aoc);
        assert_eq!(books.entry(&format!("FA-DP-{i:02}")).unwrap().refunded_minor, digipay);
    }
    assert!(
        refund_sandbox::ExecutedRefund::repeated_keys(&env.sandbox.executed_refunds()).is_empty()
    );
}
