use std::time::Duration;

use httpmock::When;
use httpmock::prelude::*;
use refund_core::{
    DeclineReason, Error, Fate, Otp, OtpRefund, OtpRefundTarget, RefundStatus, TransactionId,
};
use refund_testkit::mock::{self, reply};
use refund_testkit::net::closed_url;
use serde_json::json;

use crate::{CLAIM_OK, builder_at, builder_for, client_for, envelope};

#[tokio::test]
async fn send_refund_otp_sends_numbers_without_auth_header() {
    let server = MockServer::start_async().await;
    let sent = envelope(json!(true), 1, "OTP sent");
    let numbers = |when: When| {
        when.header("content-type", "application/json")
            .header_missing("authorization")
            .json_body(json!({"referenceid": 12_345_678_926_u64, "ackno": 127}))
    };
    let m = mock::post_where(&server, "/api/BOS/RefundOTP", numbers, reply(200, &sent)).await;
    let challenge = client_for(&server).send_refund_otp("12345678926", "127").await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(challenge.provider, "bos");
    assert_eq!(challenge.target.transaction_id().as_str(), "12345678926");
    assert_eq!(challenge.target.acknowledgement(), Some("127"));
    assert_eq!(challenge.message.as_deref(), Some("OTP sent"));
}

#[tokio::test]
async fn claim_refund_sends_referenceid_ackno_and_otp_as_numbers() {
    let server = MockServer::start_async().await;
    let numbers = |when: When| {
        when.header("content-type", "application/json")
            .json_body(json!({"referenceid": 12_345_678_931_u64, "ackno": 133, "otp": 576_719}))
            .is_true(|req| {
                // Exact bytes: numbers, and never the code samples' RegistrationID.
                let body = String::from_utf8_lossy(req.body().as_ref()).into_owned();
                body == r#"{"referenceid":12345678931,"ackno":133,"otp":576719}"#
            })
    };
    let m = mock::post_where(&server, "/api/BOS/ClaimRefund", numbers, reply(200, CLAIM_OK)).await;
    let client = client_for(&server);
    let record =
        client.claim_refund("12345678931", "133", &Otp::new("576719").unwrap()).await.unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.provider, "bos");
    assert_eq!(record.original_transaction_id.as_deref(), Some("12345678931"));
    assert_eq!(record.message.as_deref(), Some("Transaction Successfully Refunded"));
    assert_eq!(record.provider_code.as_deref(), Some("1"));
    assert_eq!(record.raw.to_value()["response_code"], json!(1));
}

/// (body, HTTP status, expected kind, expected decline reason)
fn code_cases() -> Vec<(String, u16, &'static str, Option<DeclineReason>)> {
    let e = |status: serde_json::Value, code: i64, msg: &str| envelope(status, code, msg);
    vec![
        (e(json!(true), 1, "Transaction Successfully Refunded"), 200, "ok", None),
        (e(json!("True"), 1, "ok"), 200, "ok", None),
        (json!({"status": true, "responsecode": 1}).to_string(), 200, "ok", None),
        (json!({"status": "True", "response_code": "1"}).to_string(), 200, "ok", None),
        (
            e(json!(false), 2, "Transaction already refunded"),
            200,
            "declined",
            Some(DeclineReason::AlreadyRefunded),
        ),
        (
            e(json!(false), 2, "Transaction not found"),
            200,
            "declined",
            Some(DeclineReason::TransactionNotFound),
        ),
        (e(json!(false), 3, "Invalid OTP"), 200, "declined", Some(DeclineReason::InvalidOtp)),
        (e(json!(false), 3, "OTP expired"), 200, "declined", Some(DeclineReason::OtpExpired)),
        (
            e(json!("ERROR"), 4, "ackno is required"),
            200,
            "declined",
            Some(DeclineReason::InvalidRequest),
        ),
        (e(json!(false), 6, "Token missing"), 200, "auth", None),
        (e(json!(false), 7, "Token expired"), 200, "auth", None),
        (e(json!(false), 9, "Authentication failed."), 200, "auth", None),
        (crate::AUTH_401.to_owned(), 401, "auth", None),
        (json!({"status": false, "response_code": 9}).to_string(), 401, "auth", None),
        (e(json!(false), 5, "Unable to resend"), 200, "outcome_unknown", None),
        (e(json!(false), 42, "Something new"), 200, "outcome_unknown", None),
        (json!({"status": true, "message": "no code"}).to_string(), 200, "outcome_unknown", None),
        (e(json!(false), 1, "contradiction"), 200, "outcome_unknown", None),
        ("<html>gateway</html>".to_owned(), 200, "outcome_unknown", None),
        (String::new(), 200, "outcome_unknown", None),
        (
            "<html>bad request</html>".to_owned(),
            400,
            "declined",
            Some(DeclineReason::InvalidRequest),
        ),
        (e(json!(false), 4, "bad"), 400, "declined", Some(DeclineReason::InvalidRequest)),
        ("forbidden".to_owned(), 403, "auth", None),
        ("not implemented".to_owned(), 501, "outcome_unknown", None),
    ]
}

#[tokio::test]
async fn every_documented_code_of_claim_refund() {
    for (body, status, kind, reason) in code_cases() {
        let server = MockServer::start_async().await;
        let m = mock::post(&server, "/api/BOS/ClaimRefund", reply(status, &body)).await;
        let result = client_for(&server)
            .claim_refund("12345678931", "133", &Otp::new("576719").unwrap())
            .await;
        m.assert_calls_async(1).await;
        match (result, kind) {
            (Ok(record), "ok") => assert_eq!(record.status, RefundStatus::Succeeded, "{body}"),
            (Err(err), kind) => {
                assert_eq!(err.kind(), kind, "{body} (HTTP {status}): {err}");
                assert_eq!(err.decline_reason(), reason.as_ref(), "{body}");
                assert_eq!(err.reply().and_then(|r| r.http_status()), Some(status));
            }
            (Ok(_), kind) => panic!("{body}: expected {kind}, got success"),
        }
    }
}

#[tokio::test]
async fn code_5_on_resend_is_unavailable_and_code_3_is_no_record() {
    for (code, kind, reason) in [
        (5, "unavailable", None),
        (3, "declined", Some(DeclineReason::TransactionNotFound)),
        (2, "declined", Some(DeclineReason::TransactionNotFound)),
    ] {
        let server = MockServer::start_async().await;
        mock::post(&server, "/api/BOS/RefundOTP", reply(200, &envelope(json!(false), code, "no")))
            .await;
        let err = client_for(&server).send_refund_otp("1", "2").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{code}");
        assert_eq!(err.decline_reason(), reason.as_ref(), "{code}");
        assert_eq!(err.reply().and_then(|r| r.code()), Some(code.to_string().as_str()));
    }
}

#[tokio::test]
async fn claim_is_never_resent_after_a_timeout() {
    let server = MockServer::start_async().await;
    let m = mock::post(&server, "/api/BOS/ClaimRefund", reply(200, CLAIM_OK).late()).await;
    let client = builder_for(&server).timeout(Duration::from_millis(200)).build().unwrap();
    let err =
        client.claim_refund("12345678931", "133", &Otp::new("576719").unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
    assert_eq!(err.fate(), Fate::Unknown);
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn claim_is_never_resent_after_a_502() {
    let server = MockServer::start_async().await;
    let m = mock::post(&server, "/api/BOS/ClaimRefund", reply(502, "bad gateway")).await;
    let err = client_for(&server)
        .claim_refund("12345678931", "133", &Otp::new("576719").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "outcome_unknown");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn otp_send_is_retried_after_a_timeout() {
    let server = MockServer::start_async().await;
    let m = mock::post(&server, "/api/BOS/RefundOTP", reply(200, CLAIM_OK).late()).await;
    let client = builder_for(&server).timeout(Duration::from_millis(200)).build().unwrap();
    let err = client.send_refund_otp("12345678931", "133").await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    m.assert_calls_async(3).await;
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start_async().await;
    let m = mock::any(&server, reply(200, CLAIM_OK)).await;
    let client = client_for(&server);
    let otp = Otp::new("576719").unwrap();
    let cases = [
        (client.claim_refund("12345678931", "133", &Otp::new("076123").unwrap()).await, "otp"),
        (client.claim_refund("1234x", "133", &otp).await, "referenceid"),
        (client.claim_refund("12345678931", "", &otp).await, "ackno"),
        (client.claim_refund("012345", "133", &otp).await, "referenceid"),
        (client.claim_refund("99999999999999999999", "133", &otp).await, "referenceid"),
    ];
    for (result, field) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
        assert_eq!(err.fate(), Fate::NotSent);
    }
    let err = client.send_refund_otp("../x", "1").await.unwrap_err();
    assert_eq!(err.field(), Some("referenceid"));
    let err = client.status("1 2").await.unwrap_err();
    assert_eq!(err.field(), Some("referenceid"));
    m.assert_calls_async(0).await;
}

#[tokio::test]
async fn connection_refused_is_unavailable_even_for_the_claim() {
    let never = refund_core::RetryPolicy::never();
    let client = builder_at(closed_url()).retry_policy(never).build().unwrap();
    let err = client.claim_refund("1", "2", &Otp::new("576719").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    assert_eq!(err.fate(), Fate::NotProcessed);
}

#[tokio::test]
async fn the_core_otp_trait_drives_both_steps() {
    let server = MockServer::start_async().await;
    let sent = envelope(json!(true), 1, "OTP sent");
    let send_body = json!({"referenceid": 12_345_678_931_u64, "ackno": 133});
    let send = |when: When| when.path("/api/BOS/RefundOTP").json_body(send_body);
    let otp_mock = mock::matching(&server, send, reply(200, &sent)).await;
    let claim_body = json!({"referenceid": 12_345_678_931_u64, "ackno": 133, "otp": 576_719});
    let claim = |when: When| when.path("/api/BOS/ClaimRefund").json_body(claim_body);
    let claim_mock = mock::matching(&server, claim, reply(200, CLAIM_OK)).await;
    let provider: std::sync::Arc<dyn OtpRefund> = std::sync::Arc::new(client_for(&server));
    assert!(provider.capabilities().otp_refund);
    let target = OtpRefundTarget::new(TransactionId::new("12345678931").unwrap())
        .with_acknowledgement("133");
    let challenge = provider.send_otp(&target).await.unwrap();
    let record = provider.confirm_otp(&challenge, &Otp::new("576719").unwrap()).await.unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    otp_mock.assert_calls_async(1).await;
    claim_mock.assert_calls_async(1).await;
    let no_ack = OtpRefundTarget::new(TransactionId::new("12345678931").unwrap());
    assert_eq!(provider.send_otp(&no_ack).await.unwrap_err().field(), Some("ackno"));
}
