//! The exact requests on the wire and the success path.

use std::sync::Arc;

use httpmock::When;
use httpmock::prelude::*;
use refund_aoc::{AocRefundRequest, CAPABILITIES};
use refund_core::{
    Currency, DirectRefund, Money, RefundRequest, RefundStatus, StatusKey, TransactionId,
};
use refund_testkit::mock::{self, reply};

use crate::*;

#[tokio::test]
async fn refund_sends_exactly_the_five_form_fields() {
    let server = MockServer::start_async().await;
    let form = |when: When| {
        when.header("content-type", "application/x-www-form-urlencoded")
            .is_true(refund_form("1.00"))
    };
    let m = mock::post_where(&server, "/api/refund", form, reply(200, SUCCESS).json()).await;
    let record = client_for(&server).refund(&request("1")).await.expect("refunded");
    m.assert_calls_async(1).await;
    assert_eq!(record.provider, "aoc");
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.refund_id.as_deref(), Some("CC-778899"));
    assert_eq!(record.reference.as_deref(), Some(SP));
    assert_eq!(record.original_transaction_id.as_deref(), Some("12345"));
    assert_eq!(record.amount, Some(Money::from_minor_units(100, Currency::Myr)));
    assert_eq!(record.provider_code.as_deref(), Some("00"));
    assert_eq!(record.message, None);
    assert_eq!(record.raw.to_value()["data"]["clientCorrelator"], "CC-778899");
}

#[tokio::test]
async fn body_is_in_the_documented_order() {
    let server = MockServer::start_async().await;
    let expected =
        format!("apiKey={API_KEY}&username={USERNAME}&spTransID={SP}&aocTransID=12345&amount=6.50");
    let m =
        mock::post_where(&server, "/api/refund", |when| when.body(expected), reply(200, SUCCESS))
            .await;
    // amountRefunded says 1.00 while 6.50 was asked: the record reports what AOC says.
    let record = client_for(&server).refund(&request("6.5")).await.expect("refunded");
    m.assert_calls_async(1).await;
    assert_eq!(record.amount.map(|a| a.to_fixed_string()).as_deref(), Some("1.00"));
}

#[tokio::test]
async fn amounts_always_have_two_decimals() {
    for (given, sent) in [
        ("1", "1.00"),
        ("6.5", "6.50"),
        ("0.05", "0.05"),
        ("1234567.89", "1234567.89"),
        ("10.00", "10.00"),
    ] {
        let server = MockServer::start_async().await;
        let done = answer("refunded", sent, "CC-1", "00", "");
        let m = mock::post_if(&server, "/api/refund", refund_form(sent), reply(200, &done)).await;
        let record = client_for(&server).refund(&request(given)).await.expect("refunded");
        m.assert_calls_async(1).await;
        assert_eq!(record.amount.map(|a| a.to_fixed_string()).as_deref(), Some(sent));
    }
}

#[tokio::test]
async fn base_url_path_is_kept_and_amount_read_as_number() {
    let server = MockServer::start_async().await;
    let m = server
        .mock_async(|when, then| {
            when.method(POST).path("/gateway/api/refund").is_true(refund_form("1.00"));
            then.status(200).body(
                r#"{"data":{"aocTransID":"12345","transactionOperationStatus":"Refunded","amountRefunded":1,"clientCorrelator":"CC-9","errorCode":"00","errorMessage":""}}"#,
            );
        })
        .await;
    let client =
        builder_for(&server).base_url(format!("{}/gateway/", server.base_url())).build().unwrap();
    let record = client.refund(&request("1.00")).await.expect("refunded");
    m.assert_calls_async(1).await;
    assert_eq!(record.amount, Some(Money::from_minor_units(100, Currency::Myr)));
    assert_eq!(record.refund_id.as_deref(), Some("CC-9"));
}

#[tokio::test]
async fn core_request_through_the_trait_uses_its_reference() {
    let server = MockServer::start_async().await;
    let core = RefundRequest::new(TransactionId::new("12345").unwrap())
        .with_amount(Money::parse("2.5", Currency::Myr).unwrap())
        .with_note("not sent");
    let sp = core.reference().as_str().to_owned();
    let form = exact_form(&[
        ("apiKey", API_KEY),
        ("username", USERNAME),
        ("spTransID", &sp),
        ("aocTransID", "12345"),
        ("amount", "2.50"),
    ]);
    let done = answer("refunded", "2.50", "CC-2", "00", "");
    let m = mock::post_if(&server, "/api/refund", form, reply(200, &done)).await;
    let provider: Arc<dyn DirectRefund> = Arc::new(client_for(&server));
    let record = provider.refund(&core).await.expect("refunded");
    m.assert_calls_async(1).await;
    assert_eq!(record.reference.as_deref(), Some(sp.as_str()));
    assert_eq!(provider.capabilities(), CAPABILITIES);
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start_async().await;
    let m = mock::any(&server, reply(200, SUCCESS)).await;
    let client = client_for(&server);
    let no_amount = RefundRequest::new(TransactionId::new("12345").unwrap());
    let err = client.refund(&no_amount).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"), "{err}");
    let inr = AocRefundRequest::new(
        TransactionId::new("12345").unwrap(),
        Money::parse("1", Currency::Inr).unwrap(),
    );
    let err = client.refund(&inr).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"));
    assert!(err.to_string().contains("MYR"), "{err}");
    let zero = AocRefundRequest::new(
        TransactionId::new("12345").unwrap(),
        Money::from_minor_units(0, Currency::Myr),
    );
    assert_eq!(client.refund(&zero).await.unwrap_err().field(), Some("amount"));
    // Text the currency cannot express never becomes a request.
    let err: refund_core::Error = Money::parse("1.005", Currency::Myr).unwrap_err().into();
    assert_eq!(err.field(), Some("amount"));
    assert!(client.prepare_refund(&no_amount).is_err());
    m.assert_calls_async(0).await;
}

#[test]
fn capabilities_are_declared() {
    let flags = (
        CAPABILITIES.direct_refund,
        CAPABILITIES.partial_refund,
        CAPABILITIES.idempotent_refund,
        CAPABILITIES.otp_refund,
        CAPABILITIES.qr_code,
    );
    assert_eq!(flags, (true, true, true, false, false));
    assert_eq!(CAPABILITIES.status_key, Some(StatusKey::RefundReference));
    assert_eq!(CAPABILITIES.provider, "aoc");
}
