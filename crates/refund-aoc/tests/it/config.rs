//! Building clients, and dry runs that never touch the network.

use httpmock::When;
use httpmock::prelude::*;
use refund_aoc::AocClient;
use refund_core::{Currency, Money, RefundReference, TransactionId};
use refund_testkit::mock::{self, reply};

use crate::*;

#[test]
fn dry_run_needs_no_network() {
    let client = AocClient::builder()
        .base_url("https://aoc.example.com")
        .username(USERNAME)
        .api_key(API_KEY)
        .build()
        .unwrap();
    let prepared = client.prepare_refund(&request("6.5")).unwrap();
    let curl = prepared.to_curl();
    assert_eq!(
        curl,
        format!(
            "curl --request POST 'https://aoc.example.com/api/refund' \\\n  --header \
             'content-type: application/x-www-form-urlencoded' \\\n  --data \
             'apiKey=***&username={USERNAME}&spTransID={SP}&aocTransID=12345&amount=6.50'"
        )
    );
    let json = client
        .prepare_refund_status(&RefundReference::new(SP).unwrap())
        .unwrap()
        .to_redacted_json();
    assert_eq!(json["url"], "https://aoc.example.com/api/refundStatus");
    assert_eq!(json["body"], format!("apiKey=***&username={USERNAME}&spTransID={SP}"));
    assert!(!json.to_string().contains(API_KEY));
}

#[tokio::test]
async fn currency_is_configurable() {
    let server = MockServer::start_async().await;
    let done = answer("refunded", "100", "CC-3", "00", "");
    let amount = |when: When| when.form_urlencoded_tuple("amount", "100.00");
    let m = mock::post_where(&server, "/api/refund", amount, reply(200, &done)).await;
    let client = builder_for(&server).currency(Currency::Bdt).build().unwrap();
    assert_eq!(client.currency(), Currency::Bdt);
    let bdt = refund_aoc::AocRefundRequest::new(
        TransactionId::new("12345").unwrap(),
        Money::parse("100", Currency::Bdt).unwrap(),
    );
    let record = client.refund(&bdt).await.unwrap();
    assert_eq!(record.amount, Some(Money::from_minor_units(10_000, Currency::Bdt)));
    m.assert_calls_async(1).await;
    let err = client.refund(&request("1")).await.unwrap_err();
    assert_eq!(err.field(), Some("amount"));
}

#[test]
fn shared_http_client_and_clone_are_cheap() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<AocClient>();
    let client = AocClient::builder()
        .base_url("https://aoc.example.com")
        .username(USERNAME)
        .api_key(API_KEY)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let clone = client.clone();
    assert_eq!(format!("{client:?}"), format!("{clone:?}"));
}

#[test]
fn missing_settings_are_config_errors() {
    let err =
        AocClient::builder().base_url("https://aoc.example.com").username("u").build().unwrap_err();
    assert_eq!(err.kind(), "config");
    assert!(err.to_string().contains("AOC_API_KEY"), "{err}");
    let err = AocClient::builder().base_url("").username("u").api_key("k").build().unwrap_err();
    assert!(err.to_string().contains("AOC_BASE_URL"), "{err}");
    let err = AocClient::builder()
        .base_url("https://aoc.example.com")
        .username("")
        .api_key("k")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("AOC_USERNAME"), "{err}");
    let err =
        AocClient::builder().base_url("ftp://x").username("u").api_key("k").build().unwrap_err();
    assert_eq!(err.field(), Some("base_url"));
    // A caller's reference is validated before anything is built.
    assert_eq!(RefundReference::new("has space").unwrap_err().field(), Some("reference"));
}
