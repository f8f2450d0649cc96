//! Every command family with at least 30 malformed inputs: exit 2 with one JSON error of kind
//! `invalid_input` naming the field (exit 3, kind `config`, for a bad base URL setting), and not
//! one request at the sandbox. Values are passed as `--flag=value` so a leading `-` is a value.
//!
//! The values come from `refund_testkit::bad_input`, the catalogue the library's suite
//! (`refund/tests/bad_input`) iterates too; only those no command line can carry (a NUL byte) are
//! left out here.

use assert_cmd::Command;
use refund::digipay::{MAX_NOTE_LEN, MAX_TXN_CODE_LEN};
use refund::otp::MAX_OTP_REF_ID_LEN;
use refund_sandbox::{RunningSandbox, seed};
use refund_testkit::bad_input::{self, LEADING_ZERO_OTPS, fits_a_command_line};
use refund_testkit::cli::{Env, bare};
use refund_testkit::sandbox::{BaseUrls, SEEDED, env_vars};
use serde_json::Value;

/// The least number of malformed inputs per command family.
const MIN_INPUTS: usize = 30;

/// One malformed command line and what it must produce.
struct Case {
    args: Vec<String>,
    code: i32,
    kind: &'static str,
    /// Text the error message must contain (the field; `-` read as `_`).
    names: String,
}

fn case(args: &[&str], code: i32, kind: &'static str, names: &str) -> Case {
    Case {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code,
        kind,
        names: names.to_owned(),
    }
}

/// Flags no command has, and values for flags that take none.
fn unknown_flags() -> Vec<&'static str> {
    vec!["--apikey=x", "--amount-minor=1", "--force", "-x", "--json=1", "--dry-run=yes"]
}

/// `refund --json <family> ...` with every setting pointing at the sandbox, through the environment.
fn cmd(sb: &RunningSandbox) -> Command {
    let mut cmd = bare();
    cmd.envs(env_vars(&SEEDED, &BaseUrls::of(sb))).arg("--json");
    cmd
}

fn check(sb: &RunningSandbox, family: &str, case: &Case) {
    let out = cmd(sb).args(&case.args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let what = format!("{family} {:?}\nstdout: {stdout}\nstderr: {stderr}", case.args);
    assert_eq!(out.status.code(), Some(case.code), "{what}");
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line expected: {what}");
    let json: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["error"]["kind"], case.kind, "{what}");
    let message = json["error"]["message"].as_str().unwrap_or("").to_ascii_lowercase();
    let message = message.replace('-', "_");
    let names = case.names.to_ascii_lowercase().replace('-', "_");
    assert!(message.contains(&names), "message does not name {names:?}: {what}");
    assert_eq!(sb.total_requests(), 0, "{what}\nreached the sandbox");
}

/// Runs a family's cases on two threads and prints the count.
fn run_family(sb: &RunningSandbox, family: &str, cases: Vec<Case>) -> usize {
    let n = cases.len();
    assert!(n >= MIN_INPUTS, "{family}: only {n} inputs");
    let (a, b) = cases.split_at(n / 2);
    std::thread::scope(|s| {
        s.spawn(|| a.iter().for_each(|c| check(sb, family, c)));
        b.iter().for_each(|c| check(sb, family, c));
    });
    println!("hardening: refund {family:<18} {n:>4} malformed inputs: exit 2/3, named, 0 requests");
    n
}

/// One case per value of `flag` that a command line can carry (see `fits_a_command_line`).
fn value_cases(base: &[&str], flag: &str, values: &[String], names: &str) -> Vec<Case> {
    values
        .iter()
        .filter(|v| fits_a_command_line(v))
        .map(|v| {
            let mut args: Vec<String> = base.iter().map(|a| (*a).to_owned()).collect();
            args.push(format!("--{flag}={v}"));
            Case { args, code: 2, kind: "invalid_input", names: names.to_owned() }
        })
        .collect()
}

fn setting_cases(base: &[&str]) -> Vec<Case> {
    bad_input::base_urls()
        .into_iter()
        .filter(|url| fits_a_command_line(url))
        .map(|url| {
            let mut c = case(base, 3, "config", "base_url");
            c.args.push(format!("--base-url={url}"));
            c
        })
        .collect()
}

fn flag_cases(base: &[&str]) -> Vec<Case> {
    unknown_flags()
        .into_iter()
        .map(|flag| {
            let mut c = case(base, 2, "invalid_input", "");
            c.args.push(flag.to_owned());
            c
        })
        .collect()
}

#[test]
fn every_command_rejects_malformed_input_before_sending() {
    let env = Env::start();
    let sb = &env.sandbox;
    let mut total = 0;
    let reference = seed::BOS_REFERENCE_1.to_string();
    let ackno = seed::BOS_ACKNO_1.to_string();
    let tid = seed::EKO_TID_REFUNDABLE_1;

    // aoc refund
    let ok: &[&str] = &["aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1001, "--amount", "1"];
    let mut cases = value_cases(
        &["aoc", "refund", "--aoc-trans-id", seed::AOC_CHARGE_1001],
        "amount",
        &bad_input::amounts(),
        "amount",
    );
    cases.extend(value_cases(
        &["aoc", "refund", "--amount", "1"],
        "aoc-trans-id",
        &bad_input::ids(),
        "aoc_trans_id",
    ));
    cases.extend(value_cases(ok, "sp-trans-id", &bad_input::ids(), "sp_trans_id"));
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "aoc refund", cases);

    // aoc status
    let ok: &[&str] = &["aoc", "status", "--sp-trans-id", "sp-1"];
    let mut cases =
        value_cases(&["aoc", "status"], "sp-trans-id", &bad_input::ids(), "sp_trans_id");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "aoc status", cases);

    // otp send-otp
    let ok: &[&str] = &["otp", "send-otp", "--tid", tid];
    let mut cases = value_cases(&["otp", "send-otp"], "tid", &bad_input::numbers(), "tid");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "otp send-otp", cases);

    // otp refund
    let ok: &[&str] = &["otp", "refund", "--tid", tid, "--otp", "576719", "--otp-ref-id", "r-1"];
    let mut cases = value_cases(
        &["otp", "refund", "--otp", "576719", "--otp-ref-id", "r-1"],
        "tid",
        &bad_input::numbers(),
        "tid",
    );
    let otp_values: Vec<String> =
        bad_input::otps().into_iter().chain(LEADING_ZERO_OTPS.map(String::from)).collect();
    cases.extend(value_cases(
        &["otp", "refund", "--tid", tid, "--otp-ref-id", "r-1"],
        "otp",
        &otp_values,
        "otp",
    ));
    cases.extend(value_cases(
        &["otp", "refund", "--tid", tid, "--otp", "576719"],
        "otp-ref-id",
        &bad_input::otp_ref_ids(MAX_OTP_REF_ID_LEN),
        "otp_ref_id",
    ));
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "otp refund", cases);

    // bos send-otp / claim / status
    let ok: &[&str] = &["bos", "send-otp", "--reference-id", &reference, "--ackno", &ackno];
    let mut cases = value_cases(
        &["bos", "send-otp", "--ackno", &ackno],
        "reference-id",
        &bad_input::numbers(),
        "referenceid",
    );
    cases.extend(value_cases(
        &["bos", "send-otp", "--reference-id", &reference],
        "ackno",
        &bad_input::numbers(),
        "ackno",
    ));
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "bos send-otp", cases);

    let claim: &[&str] =
        &["bos", "claim", "--reference-id", &reference, "--ackno", &ackno, "--otp", "576719"];
    let mut cases = value_cases(
        &["bos", "claim", "--ackno", &ackno, "--otp", "576719"],
        "reference-id",
        &bad_input::numbers(),
        "referenceid",
    );
    cases.extend(value_cases(
        &["bos", "claim", "--reference-id", &reference, "--ackno", &ackno],
        "otp",
        &otp_values,
        "otp",
    ));
    cases.extend(setting_cases(claim));
    cases.extend(flag_cases(claim));
    total += run_family(sb, "bos claim", cases);

    let ok: &[&str] = &["bos", "status", "--reference-id", &reference];
    let mut cases =
        value_cases(&["bos", "status"], "reference-id", &bad_input::numbers(), "referenceid");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "bos status", cases);

    // bos qr
    let ok: &[&str] = &["bos", "qr", "--amount", "10"];
    let mut cases = value_cases(&["bos", "qr"], "amount", &bad_input::amounts(), "amount");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "bos qr", cases);

    // digipay refund
    let base = ["digipay", "refund", "--txn-code", "REFUND", "--payment-mode", "1"];
    let ok: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--initial-txn-id", seed::DIGIPAY_TXN_2001, "--amount", "1"])
        .collect();
    let with =
        |extra: [&'static str; 2]| -> Vec<&str> { base.iter().copied().chain(extra).collect() };
    let mut cases = value_cases(
        &with(["--initial-txn-id", seed::DIGIPAY_TXN_2001]),
        "amount",
        &bad_input::amounts(),
        "amount",
    );
    cases.extend(value_cases(
        &with(["--amount", "1"]),
        "initial-txn-id",
        &bad_input::ids(),
        "initial_txn_id",
    ));
    let codes = bad_input::txn_codes(MAX_TXN_CODE_LEN);
    let ok_no_code: Vec<&str> = [
        "digipay",
        "refund",
        "--payment-mode",
        "1",
        "--initial-txn-id",
        seed::DIGIPAY_TXN_2001,
        "--amount",
        "1",
    ]
    .to_vec();
    cases.extend(value_cases(&ok_no_code, "txn-code", &codes, "txn_code"));
    let ok_no_mode: Vec<&str> = [
        "digipay",
        "refund",
        "--txn-code",
        "REFUND",
        "--initial-txn-id",
        seed::DIGIPAY_TXN_2001,
        "--amount",
        "1",
    ]
    .to_vec();
    let modes = bad_input::payment_modes();
    cases.extend(value_cases(&ok_no_mode, "payment-mode", &modes, "payment_mode"));
    cases.extend(value_cases(&ok, "note", &bad_input::notes(MAX_NOTE_LEN), "note"));
    cases.extend(setting_cases(&ok));
    cases.extend(flag_cases(&ok));
    total += run_family(sb, "digipay refund", cases);

    // Global flags, on any command.
    let timeouts = bad_input::timeouts();
    let mut cases =
        value_cases(&["aoc", "status", "--sp-trans-id", "sp-1"], "timeout", &timeouts, "timeout");
    cases.extend(value_cases(
        &["bos", "status", "--reference-id", &reference],
        "timeout",
        &timeouts,
        "timeout",
    ));
    cases.extend(value_cases(&["otp", "send-otp", "--tid", tid], "timeout", &timeouts, "timeout"));
    cases.extend(value_cases(
        &[
            "digipay",
            "refund",
            "--amount",
            "1",
            "--initial-txn-id",
            "x",
            "--txn-code",
            "R",
            "--payment-mode",
            "1",
        ],
        "timeout",
        &timeouts,
        "timeout",
    ));
    total += run_family(sb, "--timeout (global)", cases);

    println!("hardening: {total} malformed command lines in all, 0 requests at the sandbox");
}
