//! One test per exit code, with the error object's shape.

use refund_sandbox::{Fault, FaultSpec, Route, seed};

use crate::common::{
    Env, args, assert_error, bare, closed_port, eko_otp, json_of, run, stderr, stdout,
};

#[test]
fn usage_error_is_2_and_json_with_json() {
    let out = run(bare().args(["aoc", "refund", "--no-such-flag"]), 2);
    assert!(stderr(&out).contains("--no-such-flag"));
    let out = run(bare().args(["--json", "aoc", "refund", "--aoc-trans-id", "X"]), 2);
    assert_error(&json_of(&out), "invalid_input");
    run(bare().args(["--timeout", "0", "demo"]), 2);
    run(&mut bare(), 2);
}

#[test]
fn bad_amount_is_2_and_nothing_is_sent() {
    let env = Env::start();
    for amount in ["1.001", "-1", "0", "1e3", "abc"] {
        let charge = seed::AOC_CHARGE_1001;
        let line = format!("--json aoc refund --aoc-trans-id {charge} --amount");
        let out = run(env.cmd().args(args(&line)).arg(amount), 2);
        let json = json_of(&out);
        assert_error(&json, "invalid_input");
        assert!(json["error"]["message"].as_str().unwrap().contains("amount"), "{json}");
    }
    run(env.cmd().args(["bos", "status", "--reference-id", "12ab"]), 2);
    run(env.cmd().args(["otp", "refund", "--tid", "1", "--otp", "12x", "--otp-ref-id", "r"]), 2);
    assert_eq!(env.sandbox.total_requests(), 0);
}

/// A setting missing, or set to a value the client refuses: exit 3, naming that setting's own
/// variable and flag (never another's), and never echoing a credential.
#[test]
fn missing_or_invalid_setting_is_3_naming_its_variable_and_flag() {
    let env = Env::start();
    let digipay = "digipay refund --initial-txn-id x --amount 1 --txn-code c --payment-mode 1";
    let (aoc, otp) = ("aoc status --sp-trans-id x", "otp send-otp --tid 1");
    let (missing, bad_text, bad_url) = (None, Some("line\nbreak"), Some("ftp://x.example"));
    let cases = [
        (aoc, "AOC_API_KEY", "--api-key", missing),
        (otp, "OTP_REFUND_DEVELOPER_KEY", "--developer-key", missing),
        (digipay, "DIGIPAY_TOKEN", "--token", missing),
        ("bos qr --amount 10", "BOS_REGISTRATION_ID", "--registration-id", missing),
        (aoc, "AOC_BASE_URL", "--base-url", missing),
        (digipay, "DIGIPAY_TOKEN", "--token", bad_text),
        (digipay, "DIGIPAY_COMPANY_ID", "--company-id", bad_text),
        (otp, "OTP_REFUND_DEVELOPER_KEY", "--developer-key", bad_text),
        (aoc, "AOC_BASE_URL", "--base-url", bad_url),
    ];
    for (line, var, flag, value) in cases {
        let mut cmd = env.cmd();
        match value {
            Some(value) => cmd.env(var, value),
            None => cmd.env_remove(var),
        };
        let out = run(cmd.args(args(line)), 3);
        let text = stderr(&out);
        assert!(text.contains(var) && text.contains(flag), "{line}: {text}");
        let json = json_of(&run(cmd.arg("--json"), 3));
        assert_error(&json, "config");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(var) && message.contains(flag), "{json}");
        if value.is_some() {
            assert!(message.contains(&format!("({var} or {flag})")), "{line}: {json}");
            assert!(!message.contains("break"), "a credential was echoed: {json}");
        }
    }
    assert_eq!(env.sandbox.total_requests(), 0);
}

#[test]
fn blank_base_url_is_3_never_the_live_default() {
    // BOS and Eko have live defaults; a blank flag or variable meant for a sandbox must not fall
    // back to them (a --dry-run would otherwise show https://api.bos.center).
    let env = Env::start();
    let cases: [(&[&str], &str); 4] = [
        (&["bos", "status", "--reference-id", "12345678931", "--base-url", ""], "BOS_BASE_URL"),
        (&["otp", "send-otp", "--tid", "13192443", "--base-url", " "], "OTP_REFUND_BASE_URL"),
        (&["bos", "status", "--reference-id", "12345678931"], "BOS_BASE_URL"),
        (&["otp", "send-otp", "--tid", "13192443"], "OTP_REFUND_BASE_URL"),
    ];
    for (i, (args, var)) in cases.into_iter().enumerate() {
        let mut cmd = env.cmd();
        if i >= 2 {
            cmd.env(var, "");
        }
        let out = run(cmd.args(args).args(["--json", "--dry-run"]), 3);
        let json = json_of(&out);
        assert_error(&json, "config");
        let message = json["error"]["message"].as_str().unwrap();
        assert!(message.contains(var) && message.contains("--base-url"), "{json}");
        assert!(!stdout(&out).contains("curl"), "nothing may be prepared: {}", stdout(&out));
    }
    assert_eq!(env.sandbox.total_requests(), 0);
}

#[test]
fn rejected_credentials_are_3() {
    let env = Env::start();
    let out = run(
        env.cmd().env("AOC_API_KEY", "wrong-key").args(args("--json aoc status --sp-trans-id x")),
        3,
    );
    let json = json_of(&out);
    assert_error(&json, "auth");
    assert_eq!(json["error"]["provider"], "aoc");
    // The flag wins over the environment.
    let (charge, key) = (seed::AOC_CHARGE_1001, seed::AOC_API_KEY);
    let line = format!("aoc refund --aoc-trans-id {charge} --amount 1.00 --api-key {key}");
    run(env.cmd().env("AOC_API_KEY", "wrong-key").args(args(&line)), 0);
}

#[test]
fn declined_is_4_wrong_otp_and_over_refund() {
    let env = Env::start();
    let (otp, otp_ref_id) = eko_otp(&env, seed::EKO_TID_REFUNDABLE_1);
    let wrong = if otp == "111111" { "222222" } else { "111111" };
    let wrong_refund = format!(
        "otp refund --tid {} --otp {wrong} --otp-ref-id {otp_ref_id}",
        seed::EKO_TID_REFUNDABLE_1
    );
    let out = run(env.cmd().arg("--json").args(args(&wrong_refund)), 4);
    let json = json_of(&out);
    assert_error(&json, "declined");
    assert_eq!(json["error"]["provider"], "otp-refund");
    assert_eq!(json["error"]["provider_code"], "302");

    let line = format!("--json aoc refund --aoc-trans-id {} --amount 5.01", seed::AOC_CHARGE_1003);
    let out = run(env.cmd().args(args(&line)), 4);
    let json = json_of(&out);
    assert_error(&json, "declined");
    assert_eq!(json["error"]["provider"], "aoc");
    assert_eq!(json["error"]["provider_code"], "AOC1015");
    assert_eq!(json["error"]["http_status"], 200);

    let out = run(env.cmd().args(args(&wrong_refund)), 4);
    assert!(stderr(&out).contains("error (declined)"), "{}", stderr(&out));
}

#[test]
fn connection_refused_is_5() {
    let port = closed_port();
    let line = "--json --timeout 5 digipay refund --initial-txn-id DP-TXN-2001 --amount 1";
    let out = run(
        bare()
            .args(args(line))
            .args(["--txn-code", "REFUND", "--payment-mode", "1"])
            .env("DIGIPAY_BASE_URL", format!("http://127.0.0.1:{port}/digipay"))
            .env("DIGIPAY_TOKEN", seed::DIGIPAY_TOKEN)
            .env("DIGIPAY_COMPANY_ID", seed::DIGIPAY_COMPANY_ID),
        5,
    );
    let json = json_of(&out);
    assert_error(&json, "unavailable");
    assert_eq!(json["error"]["provider"], "digipay");
    assert_eq!(json["error"]["http_status"], serde_json::Value::Null);
    let out = run(
        bare()
            .args(["bos", "status", "--reference-id", "1"])
            .env("BOS_BASE_URL", format!("http://127.0.0.1:{port}")),
        5,
    );
    assert!(stderr(&out).contains("safe to retry"), "{}", stderr(&out));
}

#[test]
fn service_unavailable_is_5() {
    let env = Env::start();
    env.sandbox.set_fault(Route::AocRefundStatus, FaultSpec::always(Fault::ServiceUnavailable));
    let out = run(env.cmd().args(["--json", "aoc", "status", "--sp-trans-id", "x"]), 5);
    let json = json_of(&out);
    assert_error(&json, "unavailable");
    assert_eq!(json["error"]["http_status"], 503);
}

#[test]
fn commit_then_timeout_is_6_and_inquiry_resolves_it() {
    let env = Env::start();
    let tid = seed::EKO_TID_REFUNDABLE_2;
    let (otp, otp_ref_id) = eko_otp(&env, tid);
    let lost_answer = Fault::CommitThenTimeout { ms: Some(2000) };
    env.sandbox.set_fault(Route::EkoRefund, FaultSpec::next(2, lost_answer));
    let refund = format!("otp refund --tid {tid} --otp {otp} --otp-ref-id {otp_ref_id}");
    let out = run(env.cmd().args(["--json", "--timeout", "0.3"]).args(args(&refund)), 6);
    let json = json_of(&out);
    assert_error(&json, "outcome_unknown");
    assert_eq!(json["error"]["provider"], "otp-refund");
    // The refund did happen: the books show it.
    let books = env.sandbox.books();
    assert!(books.entry(tid).is_some_and(|e| e.refunded_minor > 0));
    // The hint names the command that reads the status, and that command tells: refunded.
    let out = run(env.cmd().args(args(&refund)).args(["--timeout", "0.3"]), 6);
    let command = format!("refund otp status --tid {tid}");
    let text = stderr(&out);
    assert!(text.contains(&format!("read its status: {command}")), "{text}");
    assert!(text.contains("do not repeat the refund"), "{text}");
    let status = json_of(&run(env.cmd().arg("--json").args(args(&command).iter().skip(1)), 0));
    assert_eq!((&status["status"], &status["tx_status"]), (&"succeeded".into(), &"4".into()));
    assert_eq!(env.sandbox.executed_refunds().len(), 1);
    let out = run(env.cmd().args(args(&refund)).args(["--timeout", "0.3"]), 4);
    assert!(stderr(&out).contains("error (declined)"), "{}", stderr(&out));
}

#[test]
fn aoc_outcome_unknown_reports_the_reference_to_check_and_reuse() {
    // Every attempt is booked and then never answered: the refund went through once (the same
    // spTransID deduplicates the retries), but the caller cannot know. It must be told the
    // generated reference, or it could neither check the refund nor retry it safely.
    let env = Env::start();
    let lost_answer = Fault::CommitThenTimeout { ms: Some(2000) };
    env.sandbox.set_fault(Route::AocRefund, FaultSpec::always(lost_answer));
    let line =
        format!("--timeout 0.3 aoc refund --aoc-trans-id {} --amount 1.00", seed::AOC_CHARGE_1002);
    let args = args(&line);
    let out = run(env.cmd().arg("--json").args(&args), 6);
    let json = json_of(&out);
    assert_error(&json, "outcome_unknown");
    let reference = json["error"]["reference"].as_str().unwrap().to_owned();
    assert!(!reference.is_empty());
    let out = run(env.cmd().args(&args), 6);
    let text = stderr(&out);
    assert!(text.contains("refund aoc status --sp-trans-id rf"), "{text}");
    assert!(text.contains("--sp-trans-id"), "{text}");
    // The printed status command resolves the first refund: it went through, exactly once.
    env.sandbox.clear_faults();
    let out = run(env.cmd().args(["--json", "aoc", "status", "--sp-trans-id", &reference]), 0);
    assert_eq!(json_of(&out)["status"], "succeeded");
    let entry = env.sandbox.books();
    let entry = entry.entry(seed::AOC_CHARGE_1002).unwrap();
    assert_eq!((entry.refund_count, entry.refunded_minor), (2, 200), "one refund per command run");
}

#[test]
fn malformed_2xx_is_6() {
    let env = Env::start();
    env.sandbox.set_fault(Route::DigipayRefund, FaultSpec::next(1, Fault::MalformedBody));
    let line = format!("digipay refund --initial-txn-id {}", seed::DIGIPAY_TXN_2001);
    let settings = ["--amount", "1", "--txn-code", "REFUND", "--payment-mode", "1"];
    let out = run(env.cmd().args(args(&line)).args(settings), 6);
    assert!(stderr(&out).contains("read the status before retrying"), "{}", stderr(&out));
}

#[test]
fn ctrl_c_during_a_request_is_6() {
    let env = Env::start();
    let slow = Fault::TimeoutBeforeActing { ms: Some(10_000) };
    env.sandbox.set_fault(Route::AocRefund, FaultSpec::next(1, slow));
    let mut cmd = env.std_cmd();
    cmd.args(args(&format!(
        "--json aoc refund --aoc-trans-id {} --amount 1.00",
        seed::AOC_CHARGE_1002
    )));
    let child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    // Wait until the request reached the sandbox, then interrupt.
    let start = std::time::Instant::now();
    while env.sandbox.total_requests() == 0 && start.elapsed() < std::time::Duration::from_secs(10)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_error(&json, "outcome_unknown");
}
