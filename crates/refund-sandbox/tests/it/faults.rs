use std::time::{Duration, Instant};

use refund_sandbox::{Fault, FaultSpec, Route, RunningSandbox, Sandbox, seed};
use serde_json::{Value, json};

use crate::digipay::{self, COMPANY};
use crate::{aoc, client, start};

async fn send(base: &str, sp: &str, timeout: Duration) -> reqwest::Result<reqwest::Response> {
    aoc::refund_request(base, sp, seed::AOC_CHARGE_1002, "1.00").timeout(timeout).send().await
}

fn refunded(s: &RunningSandbox) -> i64 {
    s.books().entry(seed::AOC_CHARGE_1002).map(|e| e.refunded_minor).unwrap_or(-1)
}

const LONG: Duration = Duration::from_secs(10);

/// Faults the next AOC refund with `fault` and sends the refund `sp`, which the client must give
/// up on after `wait`.
async fn times_out(s: &RunningSandbox, fault: Fault, sp: &str, wait: Duration) {
    s.set_fault(Route::AocRefund, FaultSpec::next(1, fault));
    let err = send(&s.aoc_base_url(), sp, wait).await.expect_err("times out");
    assert!(err.is_timeout(), "{sp}: {err}");
}

/// Sends the refund `sp` and reads its JSON answer, which must take at least `least`.
async fn answered_after(base: &str, sp: &str, least: Duration) -> Value {
    let t = Instant::now();
    let v = send(base, sp, LONG).await.expect("send").json().await.expect("json");
    assert!(t.elapsed() >= least, "{sp}: answered in {:?}", t.elapsed());
    v
}

#[tokio::test]
async fn latency_delays_a_normal_answer() {
    let s = start().await;
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::Latency { ms: 300 }));
    let v = answered_after(&s.aoc_base_url(), "lat-1", Duration::from_millis(300)).await;
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
    times_out(&s, Fault::TimeoutBeforeActing { ms: None }, "tb-1", Duration::from_millis(200))
        .await;
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::TimeoutBeforeActing { ms: Some(100) }));
    assert_eq!(send(&base, "tb-2", LONG).await.expect("send").status(), 504);
    assert_eq!(refunded(&s), 0);
}

#[tokio::test]
async fn commit_then_timeout_applies_the_refund() {
    let s = start().await;
    let base = s.aoc_base_url();
    times_out(&s, Fault::CommitThenTimeout { ms: None }, "ct-1", Duration::from_millis(300)).await;
    assert_eq!(refunded(&s), 100);
    // The retry with the same spTransID is a duplicate; status tells the truth.
    assert_eq!(
        aoc::refund(&base, "ct-1", seed::AOC_CHARGE_1002, "1.00").await["data"]["errorCode"],
        "AOC1001"
    );
    s.set_fault(Route::AocRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: Some(200) }));
    let v = answered_after(&base, "ct-2", Duration::from_millis(200)).await;
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
    let v = answered_after(&base, "m-3", Duration::from_millis(100)).await;
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
    let refund = digipay::wallet_refund(&s.digipay_base_url(), &digipay::token(), COMPANY, body);
    assert_eq!(refund.send().await.expect("send").status(), 503);
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
