//! Retries reuse the spTransID; a duplicate answer is resolved through refundStatus.

use std::sync::{Arc, Mutex};

use httpmock::HttpMockResponse;
use httpmock::prelude::*;
use refund_core::{DeclineReason, Error, Fate, RefundStatus};
use refund_testkit::mock::{self, reply};

use crate::*;

fn respond(status: u16, body: String) -> HttpMockResponse {
    HttpMockResponse::builder().status(status).body(body).build()
}

#[tokio::test]
async fn retry_after_500_reuses_the_sp_trans_id() {
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let m = mock::each_call(
        &server,
        |when| when.method(POST).path("/api/refund").is_true(refund_form("1.00")),
        move |n, req| {
            let sp = form(req).and_then(|f| f.get("spTransID").cloned()).unwrap_or_default();
            s.lock().unwrap().push(sp);
            if n == 1 {
                respond(500, "Internal Server Error".into())
            } else {
                respond(200, SUCCESS.into())
            }
        },
    )
    .await;
    let record = client_for(&server).refund(&request("1")).await.expect("refunded on retry");
    assert_eq!(record.status, RefundStatus::Succeeded);
    m.assert_calls_async(2).await;
    assert_eq!(*seen.lock().unwrap(), vec![SP.to_owned(), SP.to_owned()]);
}

#[tokio::test]
async fn retry_answered_duplicate_reads_the_status() {
    let server = MockServer::start_async().await;
    // First attempt: processed, but the answer is lost (500). Second: AOC1001 duplicate.
    let refund = mock::each_call(
        &server,
        |when| when.method(POST).path("/api/refund").is_true(refund_form("1.00")),
        |n, _| {
            if n == 1 {
                respond(500, String::new())
            } else {
                respond(200, denied("AOC1001", "Duplicate spTransID"))
            }
        },
    )
    .await;
    let status = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/refundStatus")
                .header("content-type", "application/x-www-form-urlencoded")
                .is_true(status_form(SP));
            then.status(200).body(SUCCESS);
        })
        .await;
    let record = client_for(&server).refund(&request("1")).await.expect("the real outcome");
    refund.assert_calls_async(2).await;
    status.assert_calls_async(1).await;
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.refund_id.as_deref(), Some("CC-778899"));
    assert_eq!(record.reference.as_deref(), Some(SP));
    assert_eq!(record.amount.map(|a| a.to_fixed_string()).as_deref(), Some("1.00"));
}

async fn duplicate_then(status_code: u16, status_body: String, amount: &str) -> (Error, usize) {
    let server = MockServer::start_async().await;
    mock::post(&server, "/api/refund", reply(200, &denied("AOC1001", "Duplicate spTransID"))).await;
    let answer = reply(status_code, &status_body);
    let status = mock::post_if(&server, "/api/refundStatus", status_form(SP), answer).await;
    let err = client_for(&server).refund(&request(amount)).await.expect_err("not a success");
    (err, status.calls_async().await)
}

#[tokio::test]
async fn duplicate_of_a_denied_refund_is_that_decline() {
    let (err, calls) = duplicate_then(200, denied("AOC1015", "Amount limit exceeded"), "1").await;
    assert_eq!(calls, 1);
    assert_eq!(err.decline_reason(), Some(&DeclineReason::LimitExceeded), "{err}");
    let reply = err.reply().unwrap();
    assert_eq!(reply.code(), Some("AOC1015"));
    assert_eq!(reply.operation(), "refund_status");
}

#[tokio::test]
async fn duplicate_with_a_failed_status_read_is_outcome_unknown() {
    let (err, calls) = duplicate_then(500, String::new(), "1").await;
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
    assert!(err.to_string().contains("AOC1001"), "{err}");
    assert_eq!(calls, 3, "the Safe status read is itself retried");
    let (err, _) = duplicate_then(200, "<html></html>".into(), "1").await;
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
    let (err, _) = duplicate_then(200, denied("AOC0001", "spTransID not found"), "1").await;
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
}

#[tokio::test]
async fn duplicate_of_another_refund_is_declined() {
    let other = SUCCESS.replace("\"12345\"", "\"99999\"");
    let (err, _) = duplicate_then(200, other, "1").await;
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest), "{err}");
    assert!(err.to_string().contains("99999"), "{err}");
    // Same charge, another amount: cannot tell which refund this reference made.
    let (err, _) = duplicate_then(200, SUCCESS.into(), "2").await;
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
}
