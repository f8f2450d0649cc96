use httpmock::prelude::*;
use refund_core::Otp;

use crate::*;

const HOUR_MS: u64 = 3_600_000;

#[tokio::test]
async fn a_403_with_a_far_date_corrects_the_clock_and_repeats_once() {
    let server = MockServer::start_async().await;
    let server_now = http_date((T0_MS + HOUR_MS) / 1000);
    let rejected = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path("/customer/payment/refund/13192443"))
                .header("secret-key-timestamp", "1700000000000");
            then.status(403).header("date", server_now.as_str()).body(
                r#"{"status":403,"message":"secret-key-timestamp is too far from server time"}"#,
            );
        })
        .await;
    let accepted = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path("/customer/payment/refund/13192443"))
                .header("secret-key-timestamp", "1700003600000")
                .is_true(signed_correctly);
            then.status(200).body(REFUND_DONE);
        })
        .await;
    let client = client_for(&server);
    let refund = client.refund("13192443", "ref-1", &Otp::new("576719").unwrap()).await.unwrap();
    assert_eq!(refund.refund_tid, "2147591637");
    rejected.assert_calls_async(1).await;
    accepted.assert_calls_async(1).await;
    assert_eq!(client.clock_offset_ms(), 3_600_000);
    // Later calls use the corrected clock from the start.
    let prepared = client.prepare_send_otp("1").unwrap();
    assert_eq!(prepared.to_redacted_json()["headers"]["secret-key-timestamp"], "1700003600000");
}

#[tokio::test]
async fn a_persistent_403_is_auth_after_exactly_two_calls() {
    let server = MockServer::start_async().await;
    let server_now = http_date((T0_MS - HOUR_MS) / 1000);
    let m = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(403).header("date", server_now.as_str()).body("Forbidden");
        })
        .await;
    let client = client_for(&server);
    let err = client.refund("13192443", "ref-1", &Otp::new("576719").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    m.assert_calls_async(2).await;
    assert_eq!(client.clock_offset_ms(), -3_600_000);
}

#[tokio::test]
async fn a_403_with_a_close_date_is_auth_after_one_call() {
    let server = MockServer::start_async().await;
    let server_now = http_date(T0_MS / 1000 + 10);
    let m = server
        .mock_async(|when, then| {
            when.method(POST);
            then.status(403)
                .header("date", server_now.as_str())
                .body(r#"{"status":403,"message":"Invalid developer_key"}"#);
        })
        .await;
    let client = client_for(&server);
    let err = client.send_otp("13192443").await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert_eq!(err.reply().and_then(|r| r.message()), Some("Invalid developer_key"));
    m.assert_calls_async(1).await;
    assert_eq!(client.clock_offset_ms(), 0);
}
