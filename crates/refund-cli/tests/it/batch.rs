//! `refund batch FILE.csv`: one line per row, progress on stderr, the worst row's exit code.

use refund_sandbox::seed;

use crate::common::{Env, run, stderr, stdout};

fn csv_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("refund-cli-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn batch_rows_in_order_with_the_worst_exit_code() {
    let env = Env::start();
    let file = csv_file(
        "mixed.csv",
        &format!(
            "provider,original_transaction_id,amount,reference\n\
             aoc,{a},1.00,b-1\n\
             digipay,{d},10.00,batch note\n\
             aoc,{a},100.00,\n\
             otp,13192443,1.00,\n",
            a = seed::AOC_CHARGE_1001,
            d = seed::DIGIPAY_TXN_2001
        ),
    );
    let mut cmd = env.cmd();
    cmd.env("DIGIPAY_TXN_CODE", "REFUND").env("DIGIPAY_PAYMENT_MODE", "1");
    let out = run(cmd.args(["--json", "batch"]).arg(&file), 4);
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4, "{}", stdout(&out));
    assert_eq!(lines[0]["status"], "succeeded");
    assert_eq!(lines[0]["row"], 1);
    assert_eq!(lines[1]["provider"], "digipay");
    assert_eq!(lines[1]["status"], "succeeded");
    assert_eq!(lines[2]["error"]["kind"], "declined");
    assert_eq!(lines[2]["row"], 3);
    assert_eq!(lines[3]["error"]["kind"], "invalid_input");
    assert!(stderr(&out).contains("[4/4]"), "{}", stderr(&out));
}

#[test]
fn batch_without_a_file_is_2() {
    let env = Env::start();
    run(env.cmd().args(["batch", "/nonexistent/refunds.csv"]), 2);
    let file = csv_file("bad-header.csv", "provider,id\naoc,x\n");
    run(env.cmd().arg("batch").arg(&file), 2);
    assert_eq!(env.sandbox.total_requests(), 0);
}
