use std::time::{Duration, Instant};

use refund_sandbox::{
    ExecutedRefund, Fault, FaultSpec, OriginalTransaction, Provider, Route, Sandbox, seed,
};
use serde_json::json;

use crate::transactions::{bos_refund, digipay_body, digipay_refund, eko_refund};
use crate::{aoc, bos, client, eko, start};

fn entry(
    seq: u64,
    provider: Provider,
    original_id: &str,
    amount_minor: i64,
    key: &str,
    refund_id: &str,
) -> ExecutedRefund {
    ExecutedRefund {
        seq,
        provider,
        original_id: original_id.to_owned(),
        amount_minor,
        currency: if provider == Provider::Aoc { "MYR" } else { "INR" }.to_owned(),
        key: key.to_owned(),
        refund_id: refund_id.to_owned(),
    }
}

#[tokio::test]
async fn log_records_every_provider_with_its_key() {
    let s = start().await;
    let a = aoc::refund(&s.aoc_base_url(), "sp-log-1", seed::AOC_CHARGE_1001, "2.50").await;
    let (_, d1) = digipay_refund(&s, seed::DIGIPAY_TXN_2001, "12.5", Some("ledger-r-1")).await;
    let (_, d2) = digipay_refund(&s, seed::DIGIPAY_TXN_2002, "79.1", None).await;
    assert_eq!(bos_refund(&s, seed::BOS_REFERENCE_2, seed::BOS_ACKNO_2).await["response_code"], 1);
    let e = eko_refund(&s, seed::EKO_TID_REFUNDABLE_1).await;
    let bos_id = seed::BOS_REFERENCE_2.to_string();
    let (_, bos_status) = bos::post(
        &s.bos_base_url(),
        "TransactStatus",
        Some(seed::BOS_TOKEN),
        json!({"referenceid": seed::BOS_REFERENCE_2}),
    )
    .await;
    let text = |v: &serde_json::Value| v.as_str().expect("text").to_owned();
    let expected = vec![
        entry(
            1,
            Provider::Aoc,
            seed::AOC_CHARGE_1001,
            250,
            "sp-log-1",
            &text(&a["data"]["clientCorrelator"]),
        ),
        entry(
            2,
            Provider::Digipay,
            seed::DIGIPAY_TXN_2001,
            1250,
            "ledger-r-1",
            &text(&d1["data"]["transaction"]["txn_id"]),
        ),
        entry(
            3,
            Provider::Digipay,
            seed::DIGIPAY_TXN_2002,
            7910,
            "",
            &text(&d2["data"]["transaction"]["txn_id"]),
        ),
        entry(
            4,
            Provider::Bos,
            &bos_id,
            seed::BOS_AMOUNT_2_MINOR,
            &bos_id,
            &text(&bos_status["refundtxnid"]),
        ),
        entry(
            5,
            Provider::Eko,
            seed::EKO_TID_REFUNDABLE_1,
            seed::EKO_TID_REFUNDABLE_1_MINOR,
            seed::EKO_TID_REFUNDABLE_1,
            &text(&e["data"]["refund_tid"]),
        ),
    ];
    assert_eq!(s.executed_refunds(), expected);
    let r = client().get(format!("{}/_sandbox/refunds", s.base_url())).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let over_http: Vec<ExecutedRefund> = r.json().await.expect("json");
    assert_eq!(over_http, expected);
    assert!(ExecutedRefund::repeated_keys(&expected).is_empty());
}

#[tokio::test]
async fn refused_refunds_are_not_logged() {
    let s = start().await;
    let base = s.aoc_base_url();
    assert_eq!(
        aoc::refund(&base, "r-1", seed::AOC_CHARGE_1003, "5.00").await["data"]["errorCode"],
        "00"
    );
    // Over-refund, duplicate spTransID, unknown charge.
    assert_eq!(
        aoc::refund(&base, "r-2", seed::AOC_CHARGE_1003, "0.01").await["data"]["errorCode"],
        "AOC1015"
    );
    assert_eq!(
        aoc::refund(&base, "r-1", seed::AOC_CHARGE_1002, "1.00").await["data"]["errorCode"],
        "AOC1001"
    );
    assert_eq!(aoc::refund(&base, "r-3", "AOC-NOPE", "1.00").await["data"]["errorCode"], "AOC0001");
    // A fault that answers before acting.
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::ServiceUnavailable));
    let r = aoc::refund_request(&base, "r-4", seed::AOC_CHARGE_1002, "1.00").send().await;
    assert_eq!(r.expect("send").status(), 503);
    // DigiPay over-refund; BOS and Eko with a wrong OTP.
    assert_eq!(digipay_refund(&s, seed::DIGIPAY_TXN_2002, "79.11", Some("n-1")).await.0, 400);
    let t = Some(seed::BOS_TOKEN);
    let (r, a) = (seed::BOS_REFERENCE_1, seed::BOS_ACKNO_1);
    bos::post(&s.bos_base_url(), "RefundOTP", t, json!({"referenceid": r, "ackno": a})).await;
    let otp: u64 = s.otp(Provider::Bos, &r.to_string()).expect("otp").parse().expect("digits");
    let wrong = if otp == 999_999 { 100_000 } else { otp + 1 };
    let (_, v) = bos::post(
        &s.bos_base_url(),
        "ClaimRefund",
        t,
        json!({"referenceid": r, "ackno": a, "otp": wrong}),
    )
    .await;
    assert_eq!(v["response_code"], 3);
    let tid = seed::EKO_TID_REFUNDABLE_2;
    let (_, v) = eko::send_otp(&s.eko_base_url(), tid).await;
    let ref_id = v["data"]["otp_ref_id"].as_str().expect("ref").to_owned();
    let otp: u64 = s.otp(Provider::Eko, tid).expect("otp").parse().expect("digits");
    let wrong = if otp == 999_999 { 100_000 } else { otp + 1 };
    assert_eq!(
        eko::refund(&s.eko_base_url(), tid, eko::body(wrong, &ref_id)).await.1["status"],
        302
    );

    let log = s.executed_refunds();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].seq, log[0].key.as_str(), log[0].amount_minor), (1, "r-1", 500));
}

#[tokio::test]
async fn commit_then_timeout_is_logged_once() {
    let s = start().await;
    let base = s.aoc_base_url();
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: None }));
    let err = aoc::refund_request(&base, "ct-log-1", seed::AOC_CHARGE_1002, "3.00")
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout());
    // The client's retry with the same spTransID is refused: executed once.
    assert_eq!(
        aoc::refund(&base, "ct-log-1", seed::AOC_CHARGE_1002, "3.00").await["data"]["errorCode"],
        "AOC1001"
    );
    let log = s.executed_refunds();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].key.as_str(), log[0].amount_minor), ("ct-log-1", 300));
    assert!(ExecutedRefund::repeated_keys(&log).is_empty());
    // DigiPay has no idempotency key: a blind retry after an unknown outcome runs again, and the
    // log shows the same note twice.
    s.set_fault(Route::DigipayRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: None }));
    let err = client()
        .post(format!("{}/digipay/v3/transaction/wallet_refund_money", s.digipay_base_url()))
        .timeout(Duration::from_millis(300))
        .header("Authorization", format!("Token {}", seed::DIGIPAY_TOKEN))
        .header("CompanyID", seed::DIGIPAY_COMPANY_ID)
        .header("content-type", "application/json")
        .body(digipay_body(seed::DIGIPAY_TXN_2001, "1", Some("dp-retry")))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout());
    assert_eq!(digipay_refund(&s, seed::DIGIPAY_TXN_2001, "1", Some("dp-retry")).await.0, 200);
    assert_eq!(
        ExecutedRefund::repeated_keys(&s.executed_refunds()),
        [(Provider::Digipay, "dp-retry".to_owned(), 2)]
    );
}

#[tokio::test]
async fn a_hundred_thousand_charges_start_and_reset_fast() {
    let charges = (0..100_000)
        .map(|i| OriginalTransaction::Aoc { id: format!("LOAD-{i:06}"), amount_minor: 1000 });
    let t = Instant::now();
    let s = Sandbox::builder().transactions(charges).build().start().await.expect("start");
    let started = t.elapsed();
    assert!(started < Duration::from_secs(1), "start took {started:?}");
    assert_eq!(s.books().aoc.len(), 100_003);
    let base = s.aoc_base_url();
    for (i, id) in ["LOAD-000000", "LOAD-054321", "LOAD-099999"].into_iter().enumerate() {
        let v = aoc::refund(&base, &format!("load-sp-{i}"), id, "4.00").await;
        assert_eq!(v["data"]["errorCode"], "00", "{v}");
    }
    let log = s.executed_refunds();
    assert_eq!(
        log.iter().map(|r| (r.seq, r.original_id.as_str())).collect::<Vec<_>>(),
        [(1, "LOAD-000000"), (2, "LOAD-054321"), (3, "LOAD-099999")]
    );
    assert!(ExecutedRefund::repeated_keys(&log).is_empty());
    let t = Instant::now();
    s.reset();
    assert!(t.elapsed() < Duration::from_secs(1), "reset took {:?}", t.elapsed());
    assert!(s.executed_refunds().is_empty());
    assert_eq!(s.books().entry("LOAD-099999").map(|e| e.refunded_minor), Some(0));
}
