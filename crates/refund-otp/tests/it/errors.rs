use httpmock::prelude::*;
use refund_core::{DeclineReason, Fate, Otp};
use refund_testkit::mock::{self, reply};
use serde_json::json;

use crate::*;

fn envelope(status: i64, response_status_id: i64, message: &str) -> String {
    json!({"status": status, "response_status_id": response_status_id, "response_type_id": status, "message": message, "data": {}})
        .to_string()
}

/// (body, HTTP status, expected kind, expected decline reason)
fn cases() -> Vec<(String, u16, &'static str, Option<DeclineReason>)> {
    vec![
        (WRONG_OTP.to_owned(), 200, "declined", Some(DeclineReason::InvalidOtp)),
        (envelope(303, 1, "OTP expired"), 200, "declined", Some(DeclineReason::OtpExpired)),
        (
            envelope(168, 1, "TID does not exist"),
            200,
            "declined",
            Some(DeclineReason::TransactionNotFound),
        ),
        (
            envelope(347, 1, "Insufficient balance"),
            200,
            "declined",
            Some(DeclineReason::InsufficientBalance),
        ),
        (envelope(319, 1, "Invalid initiator"), 200, "auth", None),
        (envelope(463, 1, "User not found"), 200, "auth", None),
        (envelope(1, -2, "Another transaction in progress"), 200, "unavailable", None),
        (
            r#"{"status":"302","response_status_id":"1","message":"Wrong OTP"}"#.to_owned(),
            200,
            "declined",
            Some(DeclineReason::InvalidOtp),
        ),
        (envelope(302, 1, "Wrong OTP"), 400, "declined", Some(DeclineReason::InvalidOtp)),
        (
            envelope(1, 1, "service_code must be 80"),
            400,
            "declined",
            Some(DeclineReason::InvalidRequest),
        ),
        (
            "<html>Bad Request</html>".to_owned(),
            400,
            "declined",
            Some(DeclineReason::InvalidRequest),
        ),
        (envelope(403, 1, "Invalid secret-key"), 403, "auth", None),
        ("Forbidden".to_owned(), 403, "auth", None),
        (
            envelope(9999, 1, "Something failed"),
            200,
            "declined",
            Some(DeclineReason::Other("9999".into())),
        ),
    ]
}

#[tokio::test]
async fn every_listed_refund_error() {
    let server = MockServer::start_async().await;
    let client = client_for(&server);
    let otp = Otp::new("576719").unwrap();
    for (body, http, kind, reason) in cases() {
        let now = http_date(T0_MS / 1000);
        let m = server
            .mock_async(|when, then| {
                when.method(POST).path(path("/customer/payment/refund/13192443"));
                // A Date that agrees with our clock: a 403 here is not clock skew.
                then.status(http).header("date", now.as_str()).body(body.as_str());
            })
            .await;
        let err = client.refund("13192443", "ref-1", &otp).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{body}: {err}");
        assert_eq!(err.decline_reason(), reason.as_ref(), "{body}");
        assert_eq!(err.reply().and_then(|r| r.http_status()), Some(http));
        assert_ne!(err.fate(), Fate::Unknown);
        m.assert_calls_async(1).await;
        m.delete_async().await;
    }
}

#[tokio::test]
async fn errors_carry_the_provider_code_and_message() {
    let server = MockServer::start_async().await;
    mock::any_post(&server, reply(200, WRONG_OTP)).await;
    let err = client_for(&server)
        .refund("13192443", "ref-1", &Otp::new("5767").unwrap())
        .await
        .unwrap_err();
    let reply = err.reply().unwrap();
    assert_eq!(reply.provider(), "otp-refund");
    assert_eq!(reply.operation(), "refund");
    assert_eq!(reply.code(), Some("302"));
    assert_eq!(reply.message(), Some("Wrong OTP"));
    assert_eq!(err.to_string(), "declined by otp-refund refund (HTTP 200): code 302: Wrong OTP");
}

#[tokio::test]
async fn send_otp_and_transaction_map_the_same_codes() {
    let server = MockServer::start_async().await;
    let client = client_for(&server);
    for (body, kind, reason) in [
        (
            envelope(168, 1, "TID does not exist"),
            "declined",
            Some(DeclineReason::TransactionNotFound),
        ),
        (envelope(319, 1, "Invalid initiator"), "auth", None),
        (envelope(1, -2, "Another transaction in progress"), "unavailable", None),
    ] {
        let m = server
            .mock_async(|_when, then| {
                then.status(200).body(body.as_str());
            })
            .await;
        let err = client.send_otp("13192443").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{body}");
        assert_eq!(err.decline_reason(), reason.as_ref());
        let err = client.transaction("13192443").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{body}");
        assert_eq!(err.decline_reason(), reason.as_ref());
        m.assert_calls_async(2).await;
        m.delete_async().await;
    }
}

#[tokio::test]
async fn unreadable_2xx_answers() {
    let server = MockServer::start_async().await;
    let client = client_for(&server);
    for body in [
        "",
        "<html>ok</html>",
        "[]",
        r#"{"status":0,"data":{"refund_tid":""}}"#,
        r#"{"status":"zero"}"#,
    ] {
        let m = server
            .mock_async(|_when, then| {
                then.status(200).body(body);
            })
            .await;
        let err = client.refund("1", "r", &Otp::new("5767").unwrap()).await.unwrap_err();
        assert_eq!(err.kind(), "outcome_unknown", "{body}");
        // A read that cannot be understood is repeated, not "read the status first" (circular).
        let err = client.transaction("1").await.unwrap_err();
        assert_eq!(err.kind(), "unavailable", "{body}");
        m.delete_async().await;
    }
}
