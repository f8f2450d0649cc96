use std::time::{Duration, Instant};

use refund_sandbox::{Fault, FaultSpec, Route, Sandbox, seed};
use serde_json::{Value, json};

use crate::{aoc, client, start};

fn form(sp: &str) -> [(&'static str, String); 5] {
    [
        ("apiKey", seed::AOC_API_KEY.to_owned()),
        ("username", seed::AOC_USERNAME.to_owned()),
        ("spTransID", sp.to_owned()),
        ("aocTransID", seed::AOC_CHARGE_1002.to_owned()),
        ("amount", "1.00".to_owned()),
    ]
}

async fn send(base: &str, sp: &str, timeout: Duration) -> reqwest::Result<reqwest::Response> {
    client().post(format!("{base}/api/refund")).timeout(timeout).form(&form(sp)).send().await
}

fn refunded(s: &refund_sandbox::RunningSandbox) -> i64 {
    s.books().entry(seed::AOC_CHARGE_1002).map(|e| e.refunded_minor).unwrap_or(-1)
}

const LONG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn latency_delays_a_normal_answer() {
    let s = start().await;
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::Latency { ms: 300 }));
    let t = Instant::now();
    let v: Value =
        send(&s.aoc_base_url(), "lat-1", LONG).await.expect("send").json().await.expect("json");
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(v["data"]["errorCode"], "00");
    assert_eq!(refunded(&s), 100);
}

#[tokio::test]
async fn status_faults_leave_books_untouched() {
    let s = start().await;
    let base = s.aoc_base_url();
    s.set_fault(
        Route::AocRefund,
        FaultSpec::next(1, Fault::TooManyRequests { retry_after_secs: 3 }),
    );
    let r = send(&base, "f-1", LONG).await.expect("send");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    s.set_fault(Route::AocRefund, FaultSpec::next(2, Fault::ServiceUnavailable));
    assert_eq!(send(&base, "f-2", LONG).await.expect("send").status(), 503);
    assert_eq!(send(&base, "f-3", LONG).await.expect("send").status(), 503);
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::InternalError));
    assert_eq!(send(&base, "f-4", LONG).await.expect("send").status(), 500);
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::BadGatewayHtml));
    let r = send(&base, "f-5", LONG).await.expect("send");
    assert_eq!(r.status(), 502);
    assert!(r.headers()["content-type"].to_str().expect("ct").starts_with("text/html"));
    assert!(r.text().await.expect("text").contains("<html>"));
    assert_eq!(refunded(&s), 0);
    // The `next` budget is spent: the same spTransID now goes through.
    let r: Value = send(&base, "f-5", LONG).await.expect("send").json().await.expect("json");
    assert_eq!(r["data"]["errorCode"], "00");
    assert_eq!(refunded(&s), 100);
    assert_eq!(s.requests_seen(Route::AocRefund), 6);
}

#[tokio::test]
async fn timeout_before_acting_does_not_touch_the_books() {
    let s = start().await;
    let base = s.aoc_base_url();
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::TimeoutBeforeActing { ms: None }));
    let err = send(&base, "tb-1", Duration::from_millis(200)).await.expect_err("times out");
    assert!(err.is_timeout());
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::TimeoutBeforeActing { ms: Some(100) }));
    assert_eq!(send(&base, "tb-2", LONG).await.expect("send").status(), 504);
    assert_eq!(refunded(&s), 0);
}

#[tokio::test]
async fn commit_then_timeout_applies_the_refund() {
    let s = start().await;
    let base = s.aoc_base_url();
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: None }));
    let err = send(&base, "ct-1", Duration::from_millis(300)).await.expect_err("times out");
    assert!(err.is_timeout());
    assert_eq!(refunded(&s), 100);
    // The retry with the same spTransID is a duplicate; status tells the truth.
    assert_eq!(
        aoc::refund(&base, "ct-1", seed::AOC_CHARGE_1002, "1.00").await["data"]["errorCode"],
        "AOC1001"
    );
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: Some(200) }));
    let t = Instant::now();
    let v: Value = send(&base, "ct-2", LONG).await.expect("send").json().await.expect("json");
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(v["data"]["errorCode"], "00");
    assert_eq!(refunded(&s), 200);
}

#[tokio::test]
async fn drop_mid_response() {
    let s = start().await;
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::DropMidResponse));
    let r = send(&s.aoc_base_url(), "d-1", LONG).await.expect("headers arrive");
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.is_err(), "body must fail");
    assert_eq!(refunded(&s), 100);
}

#[tokio::test]
async fn malformed_oversized_and_trickled_bodies() {
    let s = start().await;
    let base = s.aoc_base_url();
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::MalformedBody));
    let r = send(&base, "m-1", LONG).await.expect("send");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("text");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    s.set_fault(
        Route::AocRefund,
        FaultSpec::next(1, Fault::OversizedBody { bytes: 2 * 1024 * 1024 }),
    );
    let r = send(&base, "m-2", LONG).await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").len(), 2 * 1024 * 1024);
    s.set_fault(
        Route::AocRefund,
        FaultSpec::next(1, Fault::Trickle { chunk_bytes: 40, delay_ms: 50 }),
    );
    let t = Instant::now();
    let v: Value = send(&base, "m-3", LONG).await.expect("send").json().await.expect("json");
    assert!(t.elapsed() >= Duration::from_millis(100));
    assert_eq!(v["data"]["errorCode"], "00");
    assert_eq!(refunded(&s), 300);
}

#[tokio::test]
async fn faults_from_builder_and_control_endpoint() {
    let s = Sandbox::builder()
        .fault(Route::DigipayRefund, FaultSpec::always(Fault::ServiceUnavailable))
        .fault(Route::AocRefund, FaultSpec::rate(0.0, Fault::ServiceUnavailable))
        .build()
        .start()
        .await
        .expect("start");
    let body =
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":1,"txn_code":"CIB","payment_mode":2}"#;
    let (code, _) = async {
        let r = client()
            .post(format!("{}/digipay/v3/transaction/wallet_refund_money", s.digipay_base_url()))
            .header("Authorization", format!("Token {}", seed::DIGIPAY_TOKEN))
            .header("CompanyID", seed::DIGIPAY_COMPANY_ID)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        (r.status().as_u16(), ())
    }
    .await;
    assert_eq!(code, 503);
    assert_eq!(send(&s.aoc_base_url(), "r-0", LONG).await.expect("send").status(), 200);
    // Through HTTP, as the CLI and other languages would.
    let r = client()
        .post(format!("{}/_sandbox/faults", s.base_url()))
        .json(&json!({"route": "aoc.refund", "fault": {"kind": "too_many_requests", "retry_after_secs": 7}, "trigger": {"next": 1}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = send(&s.aoc_base_url(), "r-1", LONG).await.expect("send");
    assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().expect("h")), (429, "7"));
    let r = client()
        .post(format!("{}/_sandbox/faults", s.base_url()))
        .json(&json!({"route": "aoc.nope", "fault": {"kind": "service_unavailable"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let r =
        client().delete(format!("{}/_sandbox/faults", s.base_url())).send().await.expect("send");
    assert_eq!(r.status(), 200);
    s.clear_faults();
    assert_eq!(send(&s.aoc_base_url(), "r-2", LONG).await.expect("send").status(), 200);
}
