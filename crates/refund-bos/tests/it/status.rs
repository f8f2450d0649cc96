use httpmock::prelude::*;
use refund_core::{
    Currency, DeclineReason, Money, RefundReference, RefundStatus, RefundStatusRead, StatusKey,
    StatusQuery, TransactionId,
};
use refund_testkit::mock::{self, reply};
use serde_json::json;

use crate::{client_for, envelope};

async fn status_with(body: &str) -> refund_core::Result<refund_bos::BosTransaction> {
    let server = MockServer::start_async().await;
    let sent = json!({"referenceid": 12_345_678_931_u64});
    let m = mock::post_json(&server, "/api/BOS/TransactStatus", sent, reply(200, body)).await;
    let result = client_for(&server).status("12345678931").await;
    m.assert_calls_async(1).await;
    result
}

#[tokio::test]
async fn refunded_transfer_exposes_refund_fields() {
    let tx = status_with(include_str!("../fixtures/status_refunded.json")).await.unwrap();
    assert_eq!(tx.referenceid, "12345678931");
    assert_eq!(tx.ackno.as_deref(), Some("133"));
    assert_eq!(tx.utr.as_deref(), Some("UTR12345678931"));
    assert_eq!(tx.amount, Some(Money::parse("500", Currency::Inr).unwrap()));
    assert_eq!(tx.txn_status.as_deref(), Some("4"));
    assert_eq!(tx.refund_txn_id.as_deref(), Some("BOSRF00000007"));
    assert_eq!(tx.date_refunded.as_deref(), Some("2024-07-28 23:40:02"));
    assert_eq!(tx.charges.as_deref(), Some("0"));
    assert_eq!(tx.response_code, "1");
    assert_eq!(tx.refund_status(), RefundStatus::Succeeded);
    let record = tx.to_refund_record();
    assert_eq!(record.refund_id.as_deref(), Some("BOSRF00000007"));
    assert_eq!(record.original_transaction_id.as_deref(), Some("12345678931"));
    assert_eq!(record.amount.map(|m| m.minor_units()), Some(50_000));
    assert_eq!(record.raw.to_value()["refundtxnid"], json!("BOSRF00000007"));
}

#[tokio::test]
async fn pending_transfer_with_numbers_and_strings_mixed() {
    let tx = status_with(include_str!("../fixtures/status_pending.json")).await.unwrap();
    assert_eq!(tx.utr.as_deref(), Some("998877"));
    assert_eq!(tx.referenceid, "12345678931");
    assert_eq!(tx.amount.map(|m| m.to_fixed_string()).as_deref(), Some("500.00"));
    assert_eq!(tx.refund_txn_id, None);
    assert_eq!(tx.date_refunded, None);
    assert_eq!(tx.refund_status(), RefundStatus::NotRefunded);
}

#[tokio::test]
async fn other_txn_status_is_unknown_and_amounts_stay_exact() {
    let body =
        json!({"status": true, "responsecode": 1, "txn_status": 1, "amount": 79.1}).to_string();
    let tx = status_with(&body).await.unwrap();
    assert_eq!(tx.refund_status(), RefundStatus::Unknown("txn_status 1".into()));
    assert_eq!(tx.amount.map(|m| m.minor_units()), Some(7910));
}

#[tokio::test]
async fn not_found_and_malformed_answers() {
    let err = status_with(&envelope(json!(false), 2, "Transaction not found")).await.unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::TransactionNotFound));
    let err = status_with(r#"{"status": true, "response_code": 1, "amount": "12.345"}"#)
        .await
        .unwrap_err();
    // An unreadable answer to a read is "repeat it", never "read the status first" (circular).
    assert_eq!(err.kind(), "unavailable", "{err}");
    let err =
        status_with(r#"{"status": true, "response_code": 1, "utr": {"x": 1}}"#).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
}

#[tokio::test]
async fn core_status_trait_reads_by_original_transaction_only() {
    let server = MockServer::start_async().await;
    let refunded = reply(200, include_str!("../fixtures/status_refunded.json"));
    mock::post(&server, "/api/BOS/TransactStatus", refunded).await;
    let client = client_for(&server);
    let provider: &dyn RefundStatusRead = &client;
    assert_eq!(provider.capabilities().status_key, Some(StatusKey::OriginalTransaction));
    let record = provider
        .refund_status(&StatusQuery::OriginalTransaction(
            TransactionId::new("12345678931").unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.provider_code.as_deref(), Some("4"));
    let err = provider
        .refund_status(&StatusQuery::Reference(RefundReference::generate()))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("query"));
}
