//! The provider-neutral trait.

use std::sync::Arc;

use httpmock::prelude::*;
use refund_core::{DirectRefund, Provider, RefundRequest, RefundStatus, TransactionId};
use refund_testkit::mock::{self, reply};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn maps_the_core_request_with_client_defaults() {
    let server = MockServer::start_async().await;
    let sent = json!({
        "initial_txn_id": TXN,
        "txn_amount": 79.1,
        "txn_code": "MR / CR",
        "payment_mode": 2,
        "note": "damaged item"
    });
    let mock = refund_mock(&server, |when| when.json_body(sent), reply(200, SUCCESS)).await;
    let client =
        builder_for(&server).token(TOKEN).txn_code("MR / CR").payment_mode(2).build().unwrap();
    let provider: Arc<dyn DirectRefund> = Arc::new(client);
    let request = RefundRequest::new(TransactionId::new(TXN).unwrap())
        .with_amount(inr("79.10"))
        .with_note("damaged item");
    let record = provider.refund(&request).await.unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.refund_id.as_deref(), Some(TXN));
    assert_eq!(record.amount, Some(inr("79.10")));
    // DigiPay does not key refunds by our reference.
    assert_eq!(record.reference, None);
}

#[tokio::test]
async fn amount_and_defaults_are_required_before_sending() {
    let server = MockServer::start_async().await;
    let mock = mock::any(&server, reply(200, SUCCESS)).await;
    let with_defaults =
        builder_for(&server).token(TOKEN).txn_code("CIB").payment_mode(2).build().unwrap();
    let no_amount = RefundRequest::new(TransactionId::new(TXN).unwrap());
    let err = with_defaults.refund(&no_amount).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"));
    assert!(with_defaults.prepare_refund(&no_amount).is_err());

    let request = RefundRequest::new(TransactionId::new(TXN).unwrap()).with_amount(inr("1"));
    let no_code = builder_for(&server).token(TOKEN).payment_mode(2).build().unwrap();
    let err = no_code.refund(&request).await.unwrap_err();
    assert_eq!(err.kind(), "config");
    assert!(
        err.to_string().contains("txn_code") && err.to_string().contains("DIGIPAY_TXN_CODE"),
        "{err}"
    );
    let no_mode = builder_for(&server).token(TOKEN).txn_code("CIB").build().unwrap();
    let err = no_mode.refund(&request).await.unwrap_err();
    assert_eq!(err.kind(), "config");
    assert!(
        err.to_string().contains("payment_mode")
            && err.to_string().contains("DIGIPAY_PAYMENT_MODE"),
        "{err}"
    );
    mock.assert_calls_async(0).await;

    let prepared = with_defaults.prepare_refund(&request).unwrap();
    let body = std::str::from_utf8(prepared.body_ref().unwrap().bytes()).unwrap();
    assert!(body.contains(r#""txn_code":"CIB","payment_mode":2"#), "{body}");
}

#[test]
fn capabilities() {
    let caps = refund_digipay::CAPABILITIES;
    assert_eq!(caps.provider, "digipay");
    assert!(caps.direct_refund && caps.partial_refund);
    assert!(!caps.otp_refund && !caps.idempotent_refund && !caps.qr_code);
    assert_eq!(caps.status_key, None);
    let client = DigiPayClient::builder()
        .base_url("https://digipay.example.com")
        .company_id(COMPANY)
        .token(TOKEN)
        .build()
        .unwrap();
    assert_eq!(client.capabilities(), caps);
}
