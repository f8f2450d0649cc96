use refund_sandbox::{Fault, FaultSpec, Route, Sandbox, seed};
use serde_json::Value;

use crate::aoc;
use crate::digipay::{self, COMPANY};

const CHARGE: &str = seed::AOC_CHARGE_1002;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_partial_refunds_never_exceed_the_charge() {
    let s = Sandbox::builder()
        .fault(Route::AocRefund, FaultSpec::rate(0.2, Fault::ServiceUnavailable))
        .build()
        .start()
        .await
        .expect("start");
    let base = s.aoc_base_url();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let refund = aoc::refund_request(&base, &format!("conc-{i}"), CHARGE, "1.00");
            let r = refund.send().await.expect("send");
            if r.status() != 200 {
                return false;
            }
            let v: Value = r.json().await.expect("json");
            v["data"]["errorCode"] == "00"
        }));
    }
    let mut ok = 0i64;
    for t in tasks {
        if t.await.expect("task") {
            ok += 1;
        }
    }
    let e = s.books().entry(seed::AOC_CHARGE_1002).cloned().expect("entry");
    assert!(e.refunded_minor <= e.original_minor);
    assert_eq!(e.refunded_minor, ok * 100);
    assert_eq!(i64::from(e.refund_count), ok);
    assert_eq!(ok, 50, "200 tries with 20% faults still fill a 50.00 charge");
    assert_eq!(s.requests_seen(Route::AocRefund), 200);
    // Nothing more fits.
    s.clear_faults();
    assert_eq!(
        aoc::refund(&base, "conc-last", seed::AOC_CHARGE_1002, "1.00").await["data"]["errorCode"],
        "AOC1015"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_digipay_refunds_never_exceed_the_transaction() {
    let s = Sandbox::builder().build().start().await.expect("start");
    let base = s.digipay_base_url();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let body = r#"{"initial_txn_id":"DP-TXN-2002","txn_amount":0.5,"txn_code":"CIB","payment_mode":2}"#;
            let refund = digipay::wallet_refund(&base, &digipay::token(), COMPANY, body);
            let r = refund.send().await.expect("send");
            r.status() == 200
        }));
    }
    let mut ok = 0i64;
    for t in tasks {
        if t.await.expect("task") {
            ok += 1;
        }
    }
    // 79.10 / 0.50 = 158 whole refunds.
    assert_eq!(ok, 158);
    assert_eq!(s.books().entry(seed::DIGIPAY_TXN_2002).map(|e| e.refunded_minor), Some(7900));
}
