//! Every command family with at least 30 malformed inputs: exit 2 with one JSON error of kind
//! `invalid_input` naming the field (exit 3, kind `config`, for a bad base URL setting), and not
//! one request at the sandbox. Values are passed as `--flag=value` so a leading `-` is a value.

use assert_cmd::Command;
use refund_sandbox::{RunningSandbox, seed};
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

fn amounts() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "-1",
        "+1",
        "-0.01",
        "0",
        "0.00",
        "0.001",
        "1e3",
        "1E3",
        "1e-2",
        "0x10",
        "1.005",
        "1.2.3",
        ".5",
        "5.",
        "..",
        "1,000",
        "1_000",
        "1 000",
        "1'000",
        "1٫00",
        " 1",
        "1 ",
        "1\n",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "١٢",
        "１",
        "$1",
        "₹1",
        "1 INR",
        "½",
        "12a",
        "18446744073709551616",
        "90071992547409.92",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("9".repeat(400));
    v
}

fn ids() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "a b",
        " a",
        "a\tb",
        "a\nb",
        "a\r\nb",
        "a\u{7f}b",
        "a\u{1b}[31mb",
        "é",
        "交易",
        "a\u{00a0}b",
        "a\u{200b}b",
        "💸",
        "../x",
        "..",
        ".",
        "1/otp",
        "1?x=1",
        "1#x",
        "%2e%2e",
        "..%2f..%2fetc",
        "a\\b",
        "a%0d%0ab",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("x".repeat(65));
    v.push("x".repeat(5000));
    v
}

fn numbers() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "abc",
        "12a",
        "-1",
        "+1",
        "1.0",
        "1e5",
        "0x1F",
        "1_000",
        "1,000",
        "1 2",
        " 1",
        "1\n",
        "١٢٣",
        "１２３",
        "../x",
        "..",
        "1/otp",
        "1?x=1",
        "%2e%2e",
        "1\\2",
        "00",
        "01",
        "0013192443",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("1".repeat(21));
    v.push("9".repeat(200));
    v
}

fn otps() -> Vec<&'static str> {
    vec![
        "",
        " ",
        "1",
        "123",
        "123456789",
        "abcdef",
        "12a456",
        "12 456",
        " 123456",
        "123456\n",
        "12-456",
        "-12345",
        "+12345",
        "1234.5",
        "١٢٣٤٥٦",
        "１２３４５６",
        "0x1234",
        "../123",
        "%31%32%33%34",
    ]
}

fn base_urls() -> Vec<&'static str> {
    vec![
        "x",
        "x.example",
        "//x.example",
        "https://",
        "https:///path",
        "https://exa mple.com",
        "https://x.example:99999",
        "ftp://x",
        "file:///etc/passwd",
        "ws://localhost:1",
        "javascript:alert(1)",
        "http://example.com",
        "http://10.0.0.5",
        "http://169.254.169.254/latest",
        "http://127.0.0.1@evil.example",
        "https://user:pass@x.example",
        "https://x.example?a=1",
        "https://x.example/#frag",
        "https://aoc.exa\tmple.com",
    ]
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

fn value_cases(base: &[&str], flag: &str, values: &[String], names: &str) -> Vec<Case> {
    values
        .iter()
        .map(|v| {
            let mut args: Vec<String> = base.iter().map(|a| (*a).to_owned()).collect();
            args.push(format!("--{flag}={v}"));
            Case { args, code: 2, kind: "invalid_input", names: names.to_owned() }
        })
        .collect()
}

fn setting_cases(base: &[&str]) -> Vec<Case> {
    base_urls()
        .into_iter()
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

fn strs(v: &[String]) -> Vec<String> {
    v.to_vec()
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
        &amounts(),
        "amount",
    );
    cases.extend(value_cases(
        &["aoc", "refund", "--amount", "1"],
        "aoc-trans-id",
        &ids(),
        "aoc_trans_id",
    ));
    cases.extend(value_cases(ok, "sp-trans-id", &ids(), "sp_trans_id"));
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "aoc refund", cases);

    // aoc status
    let ok: &[&str] = &["aoc", "status", "--sp-trans-id", "sp-1"];
    let mut cases = value_cases(&["aoc", "status"], "sp-trans-id", &ids(), "sp_trans_id");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "aoc status", cases);

    // otp send-otp
    let ok: &[&str] = &["otp", "send-otp", "--tid", tid];
    let mut cases = value_cases(&["otp", "send-otp"], "tid", &strs(&numbers()), "tid");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "otp send-otp", cases);

    // otp refund
    let ok: &[&str] = &["otp", "refund", "--tid", tid, "--otp", "576719", "--otp-ref-id", "r-1"];
    let mut cases = value_cases(
        &["otp", "refund", "--otp", "576719", "--otp-ref-id", "r-1"],
        "tid",
        &numbers(),
        "tid",
    );
    let otp_values: Vec<String> =
        otps().into_iter().chain(["0123", "012345"]).map(str::to_owned).collect();
    cases.extend(value_cases(
        &["otp", "refund", "--tid", tid, "--otp-ref-id", "r-1"],
        "otp",
        &otp_values,
        "otp",
    ));
    let refs: Vec<String> = ["", " ", "ref 1", "ref\n1", "réf", "\u{7f}"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([("r".repeat(129))])
        .collect();
    cases.extend(value_cases(
        &["otp", "refund", "--tid", tid, "--otp", "576719"],
        "otp-ref-id",
        &refs,
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
        &numbers(),
        "referenceid",
    );
    cases.extend(value_cases(
        &["bos", "send-otp", "--reference-id", &reference],
        "ackno",
        &numbers(),
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
        &numbers(),
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
    let mut cases = value_cases(&["bos", "status"], "reference-id", &numbers(), "referenceid");
    cases.extend(setting_cases(ok));
    cases.extend(flag_cases(ok));
    total += run_family(sb, "bos status", cases);

    // bos qr
    let ok: &[&str] = &["bos", "qr", "--amount", "10"];
    let mut cases = value_cases(&["bos", "qr"], "amount", &amounts(), "amount");
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
        &amounts(),
        "amount",
    );
    cases.extend(value_cases(&with(["--amount", "1"]), "initial-txn-id", &ids(), "initial_txn_id"));
    let codes: Vec<String> = ["", " ", "RE\nFUND", "RE\u{1b}FUND"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["C".repeat(65)])
        .collect();
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
    let modes: Vec<String> = ["", "abc", "-1", "1.5", "4294967296", "1e3", "１"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    cases.extend(value_cases(&ok_no_mode, "payment-mode", &modes, "payment_mode"));
    cases.extend(value_cases(&ok, "note", &["n".repeat(1001)], "note"));
    cases.extend(setting_cases(&ok));
    cases.extend(flag_cases(&ok));
    total += run_family(sb, "digipay refund", cases);

    // Global flags, on any command.
    let timeouts: Vec<String> = ["", "abc", "0", "-1", "NaN", "inf", "1e400", "1s"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
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
