//! Each documented AOC failure, and the HTTP-level failures, classified.

use std::time::Duration;

use httpmock::prelude::*;
use refund_core::{DeclineReason, Error, Fate};
use refund_testkit::mock::{self, reply};
use refund_testkit::net::closed_url;
use refund_testkit::retries;

use crate::*;

async fn refund_answered(status: u16, body: &str) -> (Error, usize) {
    let server = MockServer::start_async().await;
    let m = mock::post(&server, "/api/refund", reply(status, body)).await;
    let err = client_for(&server).refund(&request("1")).await.expect_err("must fail");
    (err, m.calls_async().await)
}

#[tokio::test]
async fn every_documented_decline_code() {
    let cases = [
        ("AOC0001", "Invalid parameter", DeclineReason::InvalidRequest),
        ("AOC0002", "Invalid state", DeclineReason::InvalidState),
        ("AOC1003", "Invalid OTP", DeclineReason::InvalidOtp),
        ("AOC1007", "Refund failed", DeclineReason::Refused),
        ("AOC1012", "Charging denied", DeclineReason::Refused),
        ("AOC1014", "Count limit", DeclineReason::LimitExceeded),
        ("AOC1015", "Amount limit", DeclineReason::LimitExceeded),
        ("AOC1016", "Daily limit", DeclineReason::LimitExceeded),
        ("AOC1017", "Monthly limit", DeclineReason::LimitExceeded),
        ("AOC1019", "Transaction expired", DeclineReason::Expired),
        ("AOC7777", "Something new", DeclineReason::Other("AOC7777".into())),
    ];
    for (code, message, reason) in cases {
        let (err, calls) = refund_answered(200, &denied(code, message)).await;
        assert_eq!(calls, 1, "{code}: a decline is never retried");
        assert_eq!(err.fate(), Fate::Declined, "{code}: {err}");
        assert_eq!(err.decline_reason(), Some(&reason), "{code}");
        let reply = err.reply().expect("reply");
        assert_eq!(reply.code(), Some(code));
        assert_eq!(reply.message(), Some(message));
        assert_eq!(reply.http_status(), Some(200));
        assert_eq!(reply.operation(), "refund");
        assert!(err.to_string().contains(code), "{err}");
    }
}

#[tokio::test]
async fn invalid_token_is_auth() {
    let (err, calls) = refund_answered(200, &denied("AOC0003", "Invalid token")).await;
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC0003"));
    assert_eq!(calls, 1);
    for status in [401, 403] {
        let (err, _) = refund_answered(status, "Unauthorized").await;
        assert_eq!(err.kind(), "auth", "{status}");
    }
}

#[tokio::test]
async fn transaction_in_progress_is_unavailable() {
    let (err, calls) =
        refund_answered(200, &denied("AOC1020", "Blocked by a transaction in progress")).await;
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC1020"));
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn unreadable_success_bodies_are_outcome_unknown() {
    let bodies = [
        ("", "empty"),
        ("   ", "empty"),
        ("<html><body>Bad Gateway</body></html>", "HTML"),
        ("{\"data\": {\"errorCode\": \"00\"", "not valid JSON"),
        ("not json at all", "not valid JSON"),
        ("{\"result\": \"ok\"}", "not AOC's"),
        ("{\"data\": {\"errorCode\": 0}}", "not AOC's"),
        (
            "{\"data\": {\"errorCode\": \"00\", \"transactionOperationStatus\": \"refunded\", \"amountRefunded\": true}}",
            "not AOC's",
        ),
        (
            "{\"data\": {\"errorCode\": \"00\", \"transactionOperationStatus\": \"refunded\", \"amountRefunded\": \"1.001\"}}",
            "amountRefunded",
        ),
        (
            "{\"data\": {\"errorCode\": \"00\", \"transactionOperationStatus\": \"pending\"}}",
            "pending",
        ),
        (
            "{\"data\": {\"errorCode\": \"AOC1007\", \"transactionOperationStatus\": \"refunded\"}}",
            "errorCode is AOC1007",
        ),
    ];
    for (body, detail) in bodies {
        let (err, calls) = refund_answered(200, body).await;
        assert_eq!(err.fate(), Fate::Unknown, "{body:?}: {err}");
        assert!(err.to_string().contains(detail), "{body:?}: {err}");
        assert_eq!(calls, 1, "{body:?}");
    }
}

#[tokio::test]
async fn client_errors_are_definite_rejections() {
    let (err, _) = refund_answered(400, "<html>Bad Request</html>").await;
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest), "{err}");
    assert_eq!(err.reply().and_then(|r| r.http_status()), Some(400));
    let (err, _) = refund_answered(404, "").await;
    assert_eq!(err.fate(), Fate::Declined);
    let (err, _) = refund_answered(400, &denied("AOC0001", "amount is mandatory")).await;
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    assert_eq!(err.reply().and_then(|r| r.message()), Some("amount is mandatory"));
}

#[tokio::test]
async fn server_errors_are_classified_per_core() {
    // 500/502/504 on a Keyed call: retried with the same spTransID, then outcome unknown.
    for status in [500, 502, 504] {
        let (err, calls) = refund_answered(status, "oops").await;
        assert_eq!(err.fate(), Fate::Unknown, "{status}: {err}");
        assert_eq!(calls, 3, "{status}: retried up to the policy's 3 attempts");
    }
    // 503 (and 429): not processed.
    let (err, calls) = refund_answered(503, "busy").await;
    assert!(err.is_retryable(), "{err}");
    assert_eq!(calls, 3);
    // Another 5xx reaches the decoder: may have been processed.
    let (err, calls) = refund_answered(501, "").await;
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn timeout_is_outcome_unknown_after_keyed_retries() {
    let server = MockServer::start_async().await;
    let m = mock::post_if(&server, "/api/refund", refund_form("1.00"), reply(200, SUCCESS).late())
        .await;
    let client = builder_for(&server)
        .timeout(Duration::from_millis(200))
        .retry_policy(retries(2))
        .build()
        .unwrap();
    let err = client.refund(&request("1")).await.unwrap_err();
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    // Both attempts matched the exact form, so both carried the same spTransID.
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let client = builder_at(closed_url()).build().unwrap();
    let err = client.refund(&request("1")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(err.fate(), Fate::NotProcessed);
    let err =
        client.refund_status(&refund_core::RefundReference::new(SP).unwrap()).await.unwrap_err();
    assert!(err.is_retryable());
}
