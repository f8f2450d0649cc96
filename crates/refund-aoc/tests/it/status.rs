//! The refund status read.

use std::time::Duration;

use httpmock::prelude::*;
use refund_core::{
    DeclineReason, Error, Fate, RefundReference, RefundStatus, RefundStatusRead, RetryPolicy,
    StatusQuery, TransactionId,
};
use refund_testkit::mock::{self, reply};

use crate::*;

async fn status_answered(
    status: u16,
    body: &str,
) -> (refund_core::Result<refund_core::RefundRecord>, usize) {
    let server = MockServer::start_async().await;
    let m = mock::post_if(&server, "/api/refundStatus", status_form(SP), reply(status, body)).await;
    let result = client_for(&server).refund_status(&RefundReference::new(SP).unwrap()).await;
    (result, m.calls_async().await)
}

#[tokio::test]
async fn refunded_is_succeeded() {
    let (record, calls) = status_answered(200, SUCCESS).await;
    let record = record.expect("record");
    assert_eq!(calls, 1);
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.reference.as_deref(), Some(SP));
    assert_eq!(record.refund_id.as_deref(), Some("CC-778899"));
    assert_eq!(record.original_transaction_id.as_deref(), Some("12345"));
}

#[tokio::test]
async fn denied_is_a_failed_record() {
    for code in ["AOC1007", "AOC1012", "AOC1015", "AOC1019", "AOC0002", "AOC4040"] {
        let (record, _) = status_answered(200, &denied(code, "no")).await;
        let record = record.expect("a denied refund is a record");
        assert_eq!(record.status, RefundStatus::Failed, "{code}");
        assert_eq!(record.provider_code.as_deref(), Some(code));
        assert_eq!(record.message.as_deref(), Some("no"));
        assert_eq!(record.amount, None);
    }
    let (record, _) = status_answered(200, &answer("processing", "", "", "00", "")).await;
    assert_eq!(record.unwrap().status, RefundStatus::Unknown("processing".into()));
}

#[tokio::test]
async fn answers_about_the_read_are_errors() {
    // AOC0001 with HTTP 200: AOC knows no refund by this spTransID, so none was made.
    let (record, _) = status_answered(200, &denied("AOC0001", "spTransID not found")).await;
    let record = record.unwrap();
    assert_eq!(record.status, RefundStatus::NotRefunded);
    assert_eq!(record.provider_code.as_deref(), Some("AOC0001"));
    let (err, _) = status_answered(400, &denied("AOC0001", "bad field")).await;
    let err = err.unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC0001"));
    let (err, _) = status_answered(200, &denied("AOC0003", "Invalid token")).await;
    assert!(matches!(err, Err(Error::Auth { .. })));
    let (err, _) = status_answered(200, &denied("AOC1020", "in progress")).await;
    assert!(err.unwrap_err().is_retryable());
    let (err, _) = status_answered(200, &denied("AOC1001", "Duplicate")).await;
    assert_eq!(err.unwrap_err().fate(), Fate::Declined);
    let (err, _) = status_answered(401, "").await;
    assert_eq!(err.unwrap_err().kind(), "auth");
    let (err, _) = status_answered(400, "<html>").await;
    assert_eq!(err.unwrap_err().fate(), Fate::Declined);
}

#[tokio::test]
async fn unreadable_or_failing_reads_are_unavailable() {
    for body in [
        "",
        "<html>oops</html>",
        "{",
        "{\"data\":{}}",
        "{\"data\":{\"errorCode\":\"00\"}}",
        "{\"data\":{\"errorCode\":\"AOC1007\",\"transactionOperationStatus\":\"refunded\"}}",
    ] {
        let (err, calls) = status_answered(200, body).await;
        let err = err.unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{body:?}: {err:?}");
        assert!(err.to_string().contains("safe to repeat"), "{err}");
        assert_eq!(calls, 1);
    }
    for status in [500, 502, 504, 503] {
        let (err, calls) = status_answered(status, "").await;
        assert!(err.unwrap_err().is_retryable(), "{status}");
        assert_eq!(calls, 3, "{status}");
    }
    let (err, calls) = status_answered(501, "").await;
    assert!(err.unwrap_err().is_retryable());
    assert_eq!(calls, 1);
}

#[tokio::test]
async fn timeout_of_a_read_is_unavailable() {
    let server = MockServer::start_async().await;
    let m = mock::post(&server, "/api/refundStatus", reply(200, SUCCESS).late()).await;
    let client = builder_for(&server)
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let err = client.refund_status(&RefundReference::new(SP).unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn trait_reads_by_reference_only() {
    let server = MockServer::start_async().await;
    let m = mock::post_if(&server, "/api/refundStatus", status_form(SP), reply(200, SUCCESS)).await;
    let client = client_for(&server);
    let reader: &dyn RefundStatusRead = &client;
    let record = reader
        .refund_status(&StatusQuery::Reference(RefundReference::new(SP).unwrap()))
        .await
        .unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    let err = reader
        .refund_status(&StatusQuery::OriginalTransaction(TransactionId::new("12345").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("query"));
    m.assert_calls_async(1).await;
}
