use std::time::Duration;

use httpmock::When;
use httpmock::prelude::*;
use refund_core::{
    DeclineReason, Otp, OtpRefund, OtpRefundTarget, RefundStatus, RefundStatusRead, StatusQuery,
    TransactionId,
};
use refund_otp::TxStatus;
use refund_testkit::mock::{self, reply};
use refund_testkit::net::closed_url;
use serde_json::json;

use crate::*;
use refund_testkit::retries;

#[tokio::test]
async fn send_otp_accepts_the_2133_quirk() {
    let server = MockServer::start_async().await;
    let sent = json!({"initiator_id": INITIATOR});
    let send_path = path("/customer/payment/refund/13192443/otp");
    let m = mock::post_json(&server, &send_path, sent, reply(200, SEND_OTP_OK)).await;
    let challenge = client_for(&server).send_otp("13192443").await.unwrap();
    assert_eq!(challenge.tid(), "13192443");
    assert_eq!(challenge.otp_ref_id(), "d3e0a8f4-5b6c-4e1f-9a2b-7c8d9e0f1a2b");
    assert_eq!(challenge.message(), Some("Send OTP"));
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn send_otp_status_0_without_otp_ref_id_is_not_success() {
    let server = MockServer::start_async().await;
    for body in
        [SEND_OTP_STATUS0_NO_REF, r#"{"status":0,"data":{"otp_ref_id":""}}"#, r#"{"status":"0"}"#]
    {
        let m = mock::any_post(&server, reply(200, body)).await;
        let err = client_for(&server).send_otp("13192443").await.unwrap_err();
        assert_eq!(err.kind(), "declined", "{body}");
        assert_eq!(err.decline_reason(), Some(&DeclineReason::Other("0".into())), "{body}");
        assert_eq!(err.reply().and_then(|r| r.code()), Some("0"));
        m.assert_calls_async(1).await;
        m.delete_async().await;
    }
}

#[tokio::test]
async fn send_otp_with_status_0_and_a_reference_is_success() {
    let server = MockServer::start_async().await;
    mock::any_post(&server, reply(200, r#"{"status":"0","data":{"otp_ref_id":12345}}"#)).await;
    let challenge = client_for(&server).send_otp("1").await.unwrap();
    assert_eq!(challenge.otp_ref_id(), "12345");
}

#[tokio::test]
async fn refund_sends_the_documented_json_types() {
    let server = MockServer::start_async().await;
    let sent = json!({
        "initiator_id": INITIATOR,
        "user_code": USER_CODE,
        "otp": 576719,
        "otp_ref_id": "ref-1",
        "service_code": 80,
        "state": "1",
    });
    let signed = |when: When| {
        when.header("content-type", "application/json").json_body(sent).is_true(signed_correctly)
    };
    let refund_path = path("/customer/payment/refund/13192443");
    let m = mock::post_where(&server, &refund_path, signed, reply(200, REFUND_DONE)).await;
    let refund = client_for(&server)
        .refund("13192443", "ref-1", &Otp::new("576719").unwrap())
        .await
        .unwrap();
    m.assert_calls_async(1).await;
    assert_eq!(refund.refund_tid, "2147591637");
    assert_eq!(refund.tid, "13192443");
    assert_eq!(refund.amount.unwrap().to_fixed_string(), "5000.00");
    assert_eq!(refund.refunded_amount.unwrap().to_fixed_string(), "5050.00");
    assert_eq!(refund.balance.unwrap().to_fixed_string(), "2222637312.86");
    assert_eq!(refund.timestamp.as_deref(), Some("2018-10-30T12:00:14.058Z"));
    let record = refund.to_record();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.refund_id.as_deref(), Some("2147591637"));
    assert_eq!(record.amount.unwrap().minor_units(), 505_000);
    assert_eq!(record.raw.to_value()["data"]["balance"], "2.22263731286E9");
}

#[tokio::test]
async fn the_core_traits_run_the_two_step_flow() {
    let server = MockServer::start_async().await;
    let send_path = path("/customer/payment/refund/13192443/otp");
    let send = mock::post(&server, &send_path, reply(200, SEND_OTP_OK)).await;
    let confirmed = |when: When| {
        when.json_body_includes(
            r#"{"otp_ref_id": "d3e0a8f4-5b6c-4e1f-9a2b-7c8d9e0f1a2b", "otp": 4321}"#,
        )
    };
    let refund_path = path("/customer/payment/refund/13192443");
    let refund = mock::post_where(&server, &refund_path, confirmed, reply(200, REFUND_DONE)).await;
    let provider: std::sync::Arc<dyn OtpRefund> = std::sync::Arc::new(client_for(&server));
    assert!(provider.capabilities().otp_refund);
    let target = OtpRefundTarget::new(TransactionId::new("13192443").unwrap());
    let challenge = provider.send_otp(&target).await.unwrap();
    assert_eq!(challenge.provider, "otp-refund");
    let record = provider.confirm_otp(&challenge, &Otp::new("4321").unwrap()).await.unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    send.assert_calls_async(1).await;
    refund.assert_calls_async(1).await;
}

#[tokio::test]
async fn transaction_inquiry_is_a_get_with_query() {
    let server = MockServer::start_async().await;
    let signed_get = |when: When| {
        when.method(GET)
            .path(path("/tools/reference/transaction/13192443"))
            .query_param("initiator_id", INITIATOR)
            .query_param("user_code", USER_CODE)
            .is_true(signed_correctly)
    };
    let m = mock::matching(&server, signed_get, reply(200, TRANSACTION)).await;
    let client = client_for(&server);
    let tx = client.transaction("13192443").await.unwrap();
    assert_eq!(tx.tx_status, TxStatus::Refunded);
    assert_eq!(tx.refund_tid.as_deref(), Some("2147591637"));
    assert_eq!(tx.amount.unwrap().to_fixed_string(), "5000.00");
    let record = client
        .refund_status(&StatusQuery::OriginalTransaction(TransactionId::new("13192443").unwrap()))
        .await
        .unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.provider_code.as_deref(), Some("tx_status:4"));
    m.assert_calls_async(2).await;
    let err = client
        .refund_status(&StatusQuery::Reference(refund_core::RefundReference::generate()))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("query"));
}

#[tokio::test]
async fn tx_status_numbers_and_strings() {
    let server = MockServer::start_async().await;
    for (value, want) in [
        (json!(3), TxStatus::RefundPending),
        (json!("0"), TxStatus::Success),
        (json!(1), TxStatus::Failed),
        (json!("2"), TxStatus::Initiated),
        (json!(5), TxStatus::Hold),
        (json!("17"), TxStatus::Other(17)),
    ] {
        let m = server
            .mock_async(|when, then| {
                when.method(GET);
                then.status(200)
                    .json_body(json!({"status": "0", "data": {"tid": 7, "tx_status": value}}));
            })
            .await;
        let tx = client_for(&server).transaction("7").await.unwrap();
        assert_eq!(tx.tx_status, want);
        assert_eq!(tx.tid, "7");
        m.delete_async().await;
    }
}

#[tokio::test]
async fn ids_cannot_change_the_path_and_nothing_is_sent() {
    let server = MockServer::start_async().await;
    let any = mock::any(&server, reply(200, REFUND_DONE)).await;
    let client = client_for(&server);
    let otp = Otp::new("576719").unwrap();
    for tid in ["../x", "1/otp", "1?x=1", "", "12a", "1 2", "..", "1%2F"] {
        assert_eq!(client.send_otp(tid).await.unwrap_err().field(), Some("tid"), "{tid}");
        assert_eq!(client.refund(tid, "r", &otp).await.unwrap_err().field(), Some("tid"), "{tid}");
        assert_eq!(client.transaction(tid).await.unwrap_err().field(), Some("tid"), "{tid}");
        assert_eq!(client.prepare_refund(tid, "r", &otp).unwrap_err().field(), Some("tid"));
    }
    for bad_ref in ["", "a b", "a\nb"] {
        let err = client.refund("1", bad_ref, &otp).await.unwrap_err();
        assert_eq!(err.field(), Some("otp_ref_id"));
    }
    let err = client.refund("1", "r", &Otp::new("012345").unwrap()).await.unwrap_err();
    assert_eq!(err.field(), Some("otp"));
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn refund_is_never_resent_after_a_timeout() {
    let server = MockServer::start_async().await;
    let refund_path = path("/customer/payment/refund/13192443");
    let m = mock::post(&server, &refund_path, reply(200, REFUND_DONE).late()).await;
    let client = builder_for(&server)
        .timeout(Duration::from_millis(200))
        .retry_policy(retries(5))
        .build()
        .unwrap();
    let err = client.refund("13192443", "ref-1", &Otp::new("576719").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "outcome_unknown", "{err}");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn safe_calls_are_retried_after_a_timeout() {
    let server = MockServer::start_async().await;
    let m = mock::any_post(&server, reply(200, SEND_OTP_OK).late()).await;
    let client = builder_for(&server)
        .timeout(Duration::from_millis(200))
        .retry_policy(retries(2))
        .build()
        .unwrap();
    let err = client.send_otp("13192443").await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    m.assert_calls_async(2).await;
}

#[tokio::test]
async fn refund_5xx_is_outcome_unknown_after_one_call() {
    let server = MockServer::start_async().await;
    let m = mock::any_post(&server, reply(502, "bad gateway")).await;
    let err = client_for(&server).refund("1", "r", &Otp::new("5767").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "outcome_unknown");
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let client = builder_at(format!("{}/v3", closed_url())).build().unwrap();
    let err = client.refund("1", "r", &Otp::new("5767").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable", "{err}");
    assert!(err.is_retryable());
}

#[test]
fn dry_runs_mask_secrets_and_keep_types() {
    let server = MockServer::start();
    let client = client_for(&server);
    let req = client.prepare_refund("13192443", "ref-1", &Otp::new("576719").unwrap()).unwrap();
    let shown = req.to_redacted_json();
    assert_eq!(shown["method"], "POST");
    assert_eq!(shown["body"]["otp"], "***");
    assert_eq!(shown["body"]["service_code"], 80);
    assert_eq!(shown["body"]["state"], "1");
    assert_eq!(shown["headers"]["developer_key"], "***");
    assert_eq!(shown["headers"]["secret-key"], "***");
    assert_eq!(shown["headers"]["secret-key-timestamp"], "1700000000000");
    let req = client.prepare_transaction("13192443").unwrap();
    assert_eq!(
        req.url().as_str(),
        format!(
            "{}/tools/reference/transaction/13192443?initiator_id=9962981729&user_code=20810200",
            server.url(BASE_PATH)
        )
    );
    let req = client.prepare_send_otp("13192443").unwrap();
    assert_eq!(req.to_redacted_json()["body"], json!({"initiator_id": INITIATOR}));
}
