use std::time::Duration;

use httpmock::prelude::*;
use refund_core::{Currency, DeclineReason, Error, Money};
use refund_testkit::mock::{self, reply};
use serde_json::json;

use crate::{builder_for, client_for};

fn inr(text: &str) -> Money {
    Money::parse(text, Currency::Inr).unwrap()
}

async fn qr_with(
    status: u16,
    body: &str,
    amount: &str,
) -> refund_core::Result<refund_bos::DynamicQr> {
    let server = MockServer::start_async().await;
    let sent = json!({"RegistrationID": "BOS-554", "amount": amount});
    let m = mock::post_json(&server, "/api/BOS/V4/DynamicQRCode", sent, reply(status, body)).await;
    let result = client_for(&server).dynamic_qr(inr(amount)).await;
    m.assert_calls_async(1).await;
    result
}

#[tokio::test]
async fn example_shape_is_parsed_and_checked() {
    let qr = qr_with(200, include_str!("../fixtures/qr_example.json"), "10").await.unwrap();
    assert_eq!(qr.id.as_deref(), Some("qr_Oe8y06oN0Kj1cx"));
    assert_eq!(qr.reference.as_deref(), Some("BOS554V221201"));
    assert_eq!(qr.amount, inr("10"));
    assert_eq!(qr.created_at.as_deref(), Some("2024-07-28T23:31:16+05:30"));
    assert_eq!(qr.expires_at.as_deref(), Some("2024-07-28T23:36:09+05:30"));
    assert_eq!(qr.status.as_deref(), Some("active"));
    assert_eq!(qr.message.as_deref(), Some("QR Code Generated"));
    assert_eq!(qr.upi_intent.pa(), Some("random@razorpay"));
    assert_eq!(qr.upi_intent.am(), Some("10"));
    assert_eq!(qr.upi_intent.tr(), Some("RZPOe8y06oN0Kj1cxqrv2"));
    assert!(qr.upi_intent.as_str().starts_with("upi://pay?ver=01&mode=22"));
    assert_eq!(qr.raw.to_value()["entity"], json!("qr_code"));
}

#[tokio::test]
async fn documented_shape_is_parsed_and_checked() {
    let qr = qr_with(200, include_str!("../fixtures/qr_documented.json"), "10.5").await.unwrap();
    assert_eq!(qr.amount, inr("10.50"));
    assert_eq!(qr.virtual_vpa.as_deref(), Some("bos554@yesbank"));
    assert_eq!(qr.upi_intent.pn(), Some("BOS CENTER"));
    assert_eq!(qr.upi_intent.am(), Some("10.50"));
    assert_eq!(qr.status.as_deref(), Some("SUCCESS"));
    assert_eq!(qr.id, None);
}

#[tokio::test]
async fn http_400_error_is_declined_with_the_message() {
    let err = qr_with(400, include_str!("../fixtures/qr_error.json"), "10").await.unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    let reply = err.reply().unwrap();
    assert_eq!(reply.message(), Some("VPA does not exist for the account provided"));
    assert_eq!(reply.code(), Some("400"));
    assert_eq!(reply.http_status(), Some(400));
    let err = qr_with(200, include_str!("../fixtures/qr_error.json"), "10").await.unwrap_err();
    assert_eq!(err.kind(), "declined");
}

#[tokio::test]
async fn a_qr_for_another_amount_is_refused() {
    // The example's intent says am=10; we asked for 20.
    let mut body: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/qr_example.json")).unwrap();
    body["PaymentAmount"] = json!(20);
    let err = qr_with(200, &body.to_string(), "20").await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }));
    assert!(err.to_string().contains("QR created for a different amount; do not show it"), "{err}");

    // Intent right, PaymentAmount wrong.
    body["PaymentAmount"] = json!("10.01");
    let err = qr_with(200, &body.to_string(), "10").await.unwrap_err();
    assert!(err.to_string().contains("different amount"), "{err}");

    // 10.5 asked, 10.05 in the intent.
    let body =
        json!({"status": "SUCCESS", "qrCode": "upi://pay?pa=a@b&am=10.05&cu=INR"}).to_string();
    let err = qr_with(200, &body, "10.5").await.unwrap_err();
    assert!(err.to_string().contains("different amount"), "{err}");

    // No amount in the intent: the payer could choose any.
    let body = json!({"status": "SUCCESS", "qrCode": "upi://pay?pa=a@b&cu=INR"}).to_string();
    let err = qr_with(200, &body, "10").await.unwrap_err();
    assert!(err.to_string().contains("different amount"), "{err}");
}

#[tokio::test]
async fn an_answer_without_intent_or_json_is_outcome_unknown() {
    for body in [r#"{"Status": "True", "message": "QR Code Generated"}"#, "<html>", ""] {
        let err = qr_with(200, body, "10").await.unwrap_err();
        assert_eq!(err.kind(), "outcome_unknown", "{body}: {err}");
    }
    let body = json!({"Status": "True", "UPIIntend": "https://not-upi"}).to_string();
    assert_eq!(qr_with(200, &body, "10").await.unwrap_err().kind(), "outcome_unknown");
}

#[tokio::test]
async fn qr_is_not_repeated_after_a_timeout() {
    let server = MockServer::start_async().await;
    let late = reply(200, include_str!("../fixtures/qr_example.json")).late();
    let m = mock::matching(&server, |when| when.path("/api/BOS/V4/DynamicQRCode"), late).await;
    let client = builder_for(&server).timeout(Duration::from_millis(200)).build().unwrap();
    let err = client.dynamic_qr(inr("10")).await.unwrap_err();
    assert_eq!(err.kind(), "outcome_unknown");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn bad_amount_or_missing_registration_id_sends_nothing() {
    let server = MockServer::start_async().await;
    let m = mock::any(&server, reply(200, include_str!("../fixtures/qr_example.json"))).await;
    let client = client_for(&server);
    let err = client.dynamic_qr(Money::parse("10", Currency::Myr).unwrap()).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"));
    let err = client.dynamic_qr(Money::from_minor_units(0, Currency::Inr)).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"));
    let no_id = refund_bos::BosClient::builder().base_url(server.base_url()).build().unwrap();
    let err = no_id.dynamic_qr(inr("10")).await.unwrap_err();
    assert_eq!(err.kind(), "config");
    assert!(err.to_string().contains("BOS_REGISTRATION_ID"));
    m.assert_calls_async(0).await;
}
