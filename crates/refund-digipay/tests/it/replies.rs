//! How DigiPay's answers are read.

use httpmock::prelude::*;
use refund_core::{DeclineReason, Error, Fate, RefundRecord, RefundStatus};
use refund_digipay::TxnStatus;
use refund_testkit::mock::{self, reply};

use crate::*;

async fn answer(
    status: u16,
    body: &str,
) -> (refund_core::Result<refund_digipay::WalletRefund>, usize) {
    let server = MockServer::start_async().await;
    let body = body.to_owned();
    let mock = mock::post(&server, REFUND_PATH, reply(status, &body)).await;
    let result = client_for(&server).refund_money(&request("79.10")).await;
    (result, mock.calls_async().await)
}

#[tokio::test]
async fn documented_success() {
    let (result, calls) = answer(200, SUCCESS).await;
    assert_eq!(calls, 1);
    let refund = result.unwrap();
    assert_eq!(refund.txn_id.as_deref(), Some(TXN));
    assert_eq!(refund.txn_number.as_deref(), Some(TXN));
    assert_eq!(refund.txn_status, Some(TxnStatus::Success));
    assert_eq!(refund.message.as_deref(), Some("Money successfully refunded"));
    let record = RefundRecord::from(refund);
    assert_eq!(record.provider, "digipay");
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.refund_id.as_deref(), Some(TXN));
    assert_eq!(record.original_transaction_id.as_deref(), Some(TXN));
    assert_eq!(record.amount, Some(inr("79.10")));
    assert_eq!(record.provider_code.as_deref(), Some("1"));
    assert_eq!(record.raw.to_value()["data"]["transaction"]["txn_status"], 1);
}

#[tokio::test]
async fn unknown_txn_status_and_echoed_amount_are_kept_exactly() {
    let body = r#"{"success":1,"error":[],"data":{"message":"ok","transaction":{"txn_id":"R-9","txn_number":"N-9","txn_status":7,"txn_amount":79.10}}}"#;
    let refund = answer(200, body).await.0.unwrap();
    assert_eq!(refund.txn_status, Some(TxnStatus::Other(7)));
    assert_eq!(refund.record.amount.map(|m| m.minor_units()), Some(7910));
    assert_eq!(refund.record.provider_code.as_deref(), Some("7"));
}

#[tokio::test]
async fn success_zero_is_declined_with_codes() {
    let (result, calls) = answer(200, DECLINED).await;
    assert_eq!(calls, 1);
    let err = result.unwrap_err();
    assert_eq!(err.fate(), Fate::Declined);
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    let reply = err.reply().unwrap();
    assert_eq!(reply.code(), Some("1"));
    assert_eq!(reply.message(), Some("BAD_REQUEST"));
    assert_eq!(reply.http_status(), Some(200));
}

#[tokio::test]
async fn documented_400_json_is_declined() {
    let err = answer(400, DECLINED).await.0.unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    assert_eq!(err.reply().unwrap().code(), Some("1"));
}

#[tokio::test]
async fn the_pages_malformed_400_is_still_a_rejection() {
    let (result, calls) = answer(400, PAGE_400).await;
    assert_eq!(calls, 1);
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Declined { .. }), "{err:?}");
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    let reply = err.reply().unwrap();
    assert_eq!(reply.http_status(), Some(400));
    // The raw text, control characters escaped.
    let excerpt = reply.body_excerpt().unwrap();
    assert!(excerpt.contains(r#""error"": [1],"#), "{excerpt}");
    assert!(excerpt.contains("BAD_REQUEST"), "{excerpt}");
}

#[tokio::test]
async fn not_found_and_limits() {
    let err =
        answer(404, r#"{"success":0,"error":[1],"data":{"message":"TRANSACTION_NOT_FOUND"}}"#)
            .await
            .0
            .unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::TransactionNotFound));
    let err = answer(404, "<html>Not Found</html>").await.0.unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::TransactionNotFound));
    let err = answer(
        400,
        r#"{"success":0,"error":[1],"data":{"message":"REFUND_AMOUNT_EXCEEDS_TRANSACTION_AMOUNT"}}"#,
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(err.decline_reason(), Some(&DeclineReason::LimitExceeded));
}

#[tokio::test]
async fn unauthorized_with_a_static_token_is_auth_and_not_repeated() {
    for status in [401, 403] {
        let (result, calls) =
            answer(status, r#"{"success":0,"error":[1],"data":{"message":"UNAUTHORIZED"}}"#).await;
        let err = result.unwrap_err();
        assert_eq!(calls, 1);
        assert_eq!(err.kind(), "auth");
        assert_eq!(err.fate(), Fate::NotProcessed);
        assert_eq!(err.reply().unwrap().message(), Some("UNAUTHORIZED"));
    }
}

#[tokio::test]
async fn unreadable_2xx_is_outcome_unknown() {
    for body in [
        "",
        "<html>ok</html>",
        r#"{"success":1"#,
        r#"{"error":[]}"#,
        r#"{"success":1,"error":[5],"data":{}}"#,
        r#"[1,2]"#,
    ] {
        let (result, calls) = answer(200, body).await;
        let err = result.unwrap_err();
        assert_eq!(calls, 1, "{body}");
        assert_eq!(err.fate(), Fate::Unknown, "{body}: {err}");
        assert!(err.to_string().contains("no status endpoint"), "{err}");
    }
}

#[tokio::test]
async fn odd_statuses_are_outcome_unknown() {
    for status in [302, 501, 520] {
        let (result, calls) = answer(status, "").await;
        assert_eq!(calls, 1);
        assert_eq!(result.unwrap_err().fate(), Fate::Unknown, "{status}");
    }
}

/// Issue 22, item 6: the page's own 400 sample, byte for byte (`"error"": [1]`, a trailing
/// comma), is not JSON; the decline still carries DigiPay's message.
#[tokio::test]
async fn the_pages_malformed_400_keeps_its_message() {
    const PAGE_SAMPLE: &str =
        "{\n\"success\": 0,\n\"error\"\": [1],\n\"data\": {\n\"message\": \"BAD_REQUEST\",\n}\n}\n";
    assert_eq!(PAGE_SAMPLE, PAGE_400);
    let err = answer(400, PAGE_SAMPLE).await.0.unwrap_err();
    assert!(matches!(err, Error::Declined { .. }), "{err:?}");
    assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
    assert_eq!(err.reply().unwrap().message(), Some("BAD_REQUEST"));
    assert!(err.to_string().ends_with("(HTTP 400): BAD_REQUEST"), "{err}");
}
