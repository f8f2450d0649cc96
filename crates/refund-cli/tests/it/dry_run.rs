//! `--dry-run` sends nothing, prints the request with every secret masked, and exits 0.

use refund_sandbox::seed;

use crate::common::{Env, args, json_of, run_hiding, stdout};

fn every_command() -> Vec<Vec<String>> {
    let (aoc, tid, txn) =
        (seed::AOC_CHARGE_1001, seed::EKO_TID_REFUNDABLE_1, seed::DIGIPAY_TXN_2001);
    [
        format!("aoc refund --aoc-trans-id {aoc} --amount 1.00 --sp-trans-id d-1"),
        "aoc status --sp-trans-id d-1".into(),
        format!("otp send-otp --tid {tid}"),
        format!("otp refund --tid {tid} --otp 987654 --otp-ref-id r-1"),
        "bos send-otp --reference-id 12345678931 --ackno 133".into(),
        "bos claim --reference-id 12345678931 --ackno 133 --otp 987654".into(),
        "bos status --reference-id 12345678931".into(),
        "bos qr --amount 10".into(),
        format!(
            "digipay refund --initial-txn-id {txn} --amount 100 --txn-code REFUND --payment-mode 1"
        ),
    ]
    .iter()
    .map(|line| args(line))
    .collect()
}

#[test]
fn dry_run_sends_nothing_and_masks_every_secret() {
    let env = Env::start();
    // The OTP and the registration id are secrets too.
    let hidden = ["987654", seed::BOS_REGISTRATION_ID];
    for args in every_command() {
        let out = run_hiding(env.cmd().arg("--dry-run").args(&args), 0, &hidden);
        let text = stdout(&out);
        assert!(text.contains("curl --request "), "{args:?}: {text}");
        assert!(text.contains("***"), "{args:?}: {text}");

        let out = run_hiding(env.cmd().args(&args).args(["--dry-run", "--json"]), 0, &hidden);
        let json = json_of(&out);
        let request = &json["request"];
        assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
        for key in ["method", "url", "headers", "body"] {
            assert!(request.get(key).is_some(), "{args:?}: {key} missing in {json}");
        }
        assert!(request["url"].as_str().unwrap().starts_with(&env.sandbox.base_url()), "{json}");
        assert!(json.to_string().contains("***"), "{args:?}: {json}");
    }
    assert_eq!(env.sandbox.total_requests(), 0, "a dry run sent a request");
}
