//! Secrets never show: not in Debug, not in errors, not in logs.

use std::time::Duration;

use base64::Engine as _;
use httpmock::prelude::*;
use refund_testkit::logs::{Logs, Secrets};
use refund_testkit::mock::{self, reply};

use crate::*;

const FETCHED: &str = "fetched-access-token-1";

fn secrets() -> Secrets {
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    Secrets::new([TOKEN.to_owned(), CLIENT_SECRET.to_owned(), FETCHED.to_owned(), basic])
}

#[tokio::test]
async fn no_secret_in_debug_errors_or_trace_logs() {
    let logs = Logs::capture();
    let secrets = secrets();

    let server = MockServer::start_async().await;
    mock::post(&server, AUTH_PATH, reply(200, include_str!("../fixtures/token.json"))).await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(REFUND_PATH).body_includes(r#""txn_amount":1,"#);
            then.status(200).body(SUCCESS);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(REFUND_PATH).body_includes(r#""txn_amount":2,"#);
            then.status(400).body(PAGE_400);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(REFUND_PATH).body_includes(r#""txn_amount":3,"#);
            then.status(200).body(SUCCESS).delay(Duration::from_secs(1));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path(REFUND_PATH).body_includes(r#""txn_amount":4,"#);
            then.status(401).body(r#"{"success":0,"error":[1],"data":{"message":"UNAUTHORIZED"}}"#);
        })
        .await;

    let static_client = client_for(&server);
    let fetched_client = builder_for(&server)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    secrets.assert_absent("static client Debug", &format!("{static_client:?}"));
    secrets.assert_absent("fetched client Debug", &format!("{fetched_client:?}"));
    secrets.assert_absent(
        "builder Debug",
        &format!(
            "{:?}",
            DigiPayClient::builder().token(TOKEN).client_credentials(CLIENT_ID, CLIENT_SECRET)
        ),
    );

    for client in [&static_client, &fetched_client] {
        let ok = client.refund_money(&request("1")).await.unwrap();
        secrets.assert_absent("record", &format!("{ok:?}"));
        for amount in ["2", "3", "4"] {
            let err = client.refund_money(&request(amount)).await.unwrap_err();
            secrets.assert_absent("error Display", &err.to_string());
            secrets.assert_absent("error Debug", &format!("{err:?}"));
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                secrets.assert_absent("error source", &s.to_string());
                source = s.source();
            }
        }
        let prepared = client.prepare_refund_money(&request("1")).unwrap();
        secrets.assert_absent("dry run", &prepared.to_curl());
        secrets.assert_absent("dry run json", &prepared.to_redacted_json().to_string());
        secrets.assert_absent("prepared Debug", &format!("{prepared:?}"));
    }

    let logs = logs.text();
    assert!(logs.contains("refund_call"), "the capture works: {logs}");
    assert!(logs.contains("digipay refund succeeded"), "{logs}");
    secrets.assert_absent("logs", &logs);
}

#[test]
fn bad_credentials_errors_do_not_echo_them() {
    let err = DigiPayClient::builder()
        .base_url("https://digipay.example.com")
        .company_id(COMPANY)
        .token("secret-with\nnewline")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("secret-with"), "{err}");
    assert!(!format!("{err:?}").contains("secret-with"), "{err:?}");
}
