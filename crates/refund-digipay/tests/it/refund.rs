//! What goes on the wire.

use httpmock::prelude::*;
use refund_testkit::mock::{self, reply};
use serde_json::json;

use crate::*;
use refund_digipay::{ChargesInfo, DeviceInfo, UserInfo, WalletRefundRequest};

#[tokio::test]
async fn sends_documented_headers_and_body() {
    let server = MockServer::start_async().await;
    let sent = |when: When| {
        // Header names match case-insensitively, as on the wire (sent lower case).
        when.header("Authorization", format!("Token {TOKEN}"))
            .header("companyid", COMPANY)
            .header("COMPANYID", COMPANY)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .json_body(json!({
                "initial_txn_id": TXN,
                "txn_amount": 79.1,
                "txn_code": "MR / CR",
                "payment_mode": 2,
                "note": "Refund Money"
            }))
            // The exact text: a JSON number written from minor units, never a string or 79.09999.
            .body_includes(r#""txn_amount":79.1,"#)
            .body_includes(r#""initial_txn_id":"bcdc063cf4844eea82e1c0e68a2360e8""#)
            .body_includes(r#""payment_mode":2,"#)
            .body_excludes("debit_user_info")
    };
    let mock = refund_mock(&server, sent, reply(200, SUCCESS).json()).await;
    let refund = client_for(&server).refund_money(&request("79.10")).await.unwrap();
    mock.assert_calls_async(1).await;
    assert_eq!(refund.txn_id.as_deref(), Some(TXN));
}

#[tokio::test]
async fn whole_amounts_go_out_as_integers() {
    let server = MockServer::start_async().await;
    let whole = |when: When| when.body_includes(r#""txn_amount":100,"#);
    let mock = refund_mock(&server, whole, reply(200, SUCCESS)).await;
    client_for(&server).refund_money(&request("100.00")).await.unwrap();
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn bearer_scheme_for_white_label_twins() {
    let server = MockServer::start_async().await;
    let bearer = |when: When| when.header("authorization", format!("Bearer {TOKEN}"));
    let mock = refund_mock(&server, bearer, reply(200, SUCCESS)).await;
    let client = builder_for(&server)
        .token(TOKEN)
        .auth_scheme(refund_digipay::AuthScheme::Bearer)
        .build()
        .unwrap();
    client.refund_money(&request("1")).await.unwrap();
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn optional_objects_are_sent_typed() {
    let server = MockServer::start_async().await;
    let sent = json!({
        "initial_txn_id": TXN,
        "txn_amount": 10.5,
        "txn_code": "CIB",
        "payment_mode": 1,
        "charges_info": {"total_charges": 1.25, "charges": [{"name": "fee", "amount": 1.25}]},
        "debit_user_info": {"currency_id": 1, "wallet_id": "w-admin", "user_id": "u-admin", "user_type": 1, "payment_type": 2, "username": "admin"},
        "credit_user_info": {"wallet_id": "w-cust", "username": "asha", "branch": "x"},
        "company_admin_user_info": {"user_id": "u-admin"},
        "txn_device_info": {"device_id": "pos-7"},
        "payment_response": {"gateway": "ok"},
        "card_info": [],
        "meta_data": {"order": "o-1"}
    });
    let typed = |when: When| when.json_body(sent).body_includes(r#""total_charges":1.25"#);
    let mock = refund_mock(&server, typed, reply(200, SUCCESS)).await;
    let request = WalletRefundRequest::builder(TXN, inr("10.50"))
        .txn_code("CIB")
        .payment_mode(1)
        .charges_info(
            ChargesInfo::new()
                .total_charges(inr("1.25"))
                .charge(json!({"name": "fee", "amount": 1.25})),
        )
        .debit_user_info(
            UserInfo::new()
                .currency_id(1)
                .wallet_id("w-admin")
                .user_id("u-admin")
                .user_type(1)
                .payment_type(2)
                .username("admin"),
        )
        .credit_user_info(UserInfo::new().wallet_id("w-cust").username("asha").extra("branch", "x"))
        .company_admin_user_info(UserInfo::new().user_id("u-admin"))
        .txn_device_info(DeviceInfo::new().device_id("pos-7"))
        .payment_response(json!({"gateway": "ok"}))
        .card_info(json!([]))
        .meta_data(json!({"order": "o-1"}))
        .build()
        .unwrap();
    client_for(&server).refund_money(&request).await.unwrap();
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn client_defaults_fill_txn_code_and_payment_mode() {
    let server = MockServer::start_async().await;
    let sent =
        json!({"initial_txn_id": TXN, "txn_amount": 5, "txn_code": "CIB", "payment_mode": 3});
    let mock = refund_mock(&server, |when| when.json_body(sent), reply(200, SUCCESS)).await;
    let client = builder_for(&server).token(TOKEN).txn_code("CIB").payment_mode(3).build().unwrap();
    let request = WalletRefundRequest::builder(TXN, inr("5")).build().unwrap();
    client.refund_money(&request).await.unwrap();
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let server = MockServer::start_async().await;
    let mock = mock::any(&server, reply(200, SUCCESS)).await;
    let client = client_for(&server);
    let bad_id = WalletRefundRequest::builder("has space", inr("1")).build().unwrap_err();
    assert_eq!(bad_id.field(), Some("initial_txn_id"));
    let zero = WalletRefundRequest::builder(TXN, Money::from_minor_units(0, Currency::Inr))
        .build()
        .unwrap_err();
    assert_eq!(zero.field(), Some("amount"));
    let code = WalletRefundRequest::builder(TXN, inr("1")).txn_code("a\nb").build().unwrap_err();
    assert_eq!(code.field(), Some("txn_code"));
    let note = WalletRefundRequest::builder(TXN, inr("1"))
        .note("x".repeat(refund_digipay::MAX_NOTE_LEN + 1))
        .build()
        .unwrap_err();
    assert_eq!(note.field(), Some("note"));
    let myr = WalletRefundRequest::builder(TXN, Money::parse("1", Currency::Myr).unwrap())
        .txn_code("CIB")
        .payment_mode(1)
        .build()
        .unwrap();
    assert_eq!(client.refund_money(&myr).await.unwrap_err().field(), Some("amount"));
    let no_code = WalletRefundRequest::builder(TXN, inr("1")).payment_mode(1).build().unwrap();
    let err = client.refund_money(&no_code).await.unwrap_err();
    assert_eq!(err.kind(), "config");
    assert!(err.to_string().contains("txn_code") && err.to_string().contains("DIGIPAY_TXN_CODE"));
    let no_mode = WalletRefundRequest::builder(TXN, inr("1")).txn_code("CIB").build().unwrap();
    let err = client.refund_money(&no_mode).await.unwrap_err();
    assert!(err.to_string().contains("payment_mode"), "{err}");
    mock.assert_calls_async(0).await;
}

#[tokio::test]
async fn dry_run_needs_no_network_and_masks_the_token() {
    // A closed port: any attempt to connect would fail.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for client in [
        DigiPayClient::builder()
            .base_url(format!("http://127.0.0.1:{port}"))
            .company_id(COMPANY)
            .token(TOKEN)
            .build()
            .unwrap(),
        DigiPayClient::builder()
            .base_url(format!("http://127.0.0.1:{port}"))
            .company_id(COMPANY)
            .client_credentials(CLIENT_ID, CLIENT_SECRET)
            .build()
            .unwrap(),
    ] {
        let prepared = client.prepare_refund_money(&request("79.10")).unwrap();
        let curl = prepared.to_curl();
        assert_eq!(
            curl,
            format!(
                "curl --request POST 'http://127.0.0.1:{port}/digipay/v3/transaction/wallet_refund_money' \\\n  --header 'authorization: ***' \\\n  --header 'companyid: {COMPANY}' \\\n  --header 'accept: application/json' \\\n  --header 'content-type: application/json' \\\n  --data '{{\"initial_txn_id\":\"{TXN}\",\"note\":\"Refund Money\",\"payment_mode\":2,\"txn_amount\":79.1,\"txn_code\":\"MR / CR\"}}'"
            )
        );
        // The bytes that would go out keep the page's field order and the exact number.
        assert_eq!(
            std::str::from_utf8(prepared.body_ref().unwrap().bytes()).unwrap(),
            format!(
                r#"{{"initial_txn_id":"{TXN}","txn_amount":79.1,"txn_code":"MR / CR","payment_mode":2,"note":"Refund Money"}}"#
            )
        );
        let shown = prepared.to_redacted_json().to_string();
        assert!(!shown.contains(TOKEN) && !shown.contains(CLIENT_SECRET));
        assert!(shown.contains(r#""authorization":"***""#), "{shown}");
    }
}
