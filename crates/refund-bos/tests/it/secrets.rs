use httpmock::prelude::*;
use refund_core::{Currency, FetchedToken, Money, Otp};
use refund_testkit::logs::Logs;
use refund_testkit::mock::{self, reply};

use crate::{AUTH_401, builder_for};

const STATIC_TOKEN: &str = "static-SECRET-token-1";
const FETCHED_TOKEN: &str = "fetched-SECRET-token-2";
const OTP: &str = "576719";
const REGISTRATION_ID: &str = "BOS-SECRET-554";

#[tokio::test]
async fn secrets_never_reach_debug_errors_or_logs() {
    let logs = Logs::capture();

    let server = MockServer::start_async().await;
    mock::any(&server, reply(401, AUTH_401)).await;
    let with_static =
        builder_for(&server).registration_id(REGISTRATION_ID).token(STATIC_TOKEN).build().unwrap();
    let with_fetcher = builder_for(&server)
        .registration_id(REGISTRATION_ID)
        .token_fetcher_fn(|| async { Ok(FetchedToken::new(FETCHED_TOKEN)) })
        .build()
        .unwrap();
    let otp = Otp::new(OTP).unwrap();
    let mut shown = vec![
        format!("{with_static:?}"),
        format!("{with_fetcher:?}"),
        format!("{:?}", builder_for(&server).token(STATIC_TOKEN).registration_id(REGISTRATION_ID)),
    ];
    for client in [&with_static, &with_fetcher] {
        let errors = [
            client.claim_refund("12345678931", "133", &otp).await.unwrap_err(),
            client.send_refund_otp("12345678931", "133").await.unwrap_err(),
            client.status("12345678931").await.unwrap_err(),
            client.dynamic_qr(Money::parse("10", Currency::Inr).unwrap()).await.unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.kind(), "auth", "{err}");
            shown.push(err.to_string());
            shown.push(format!("{err:?}"));
        }
        for req in [
            client.prepare_claim_refund("12345678931", "133", &otp).unwrap(),
            client.prepare_dynamic_qr(Money::parse("10", Currency::Inr).unwrap()).unwrap(),
        ] {
            shown.push(req.to_curl());
            shown.push(req.to_redacted_json().to_string());
            shown.push(format!("{req:?}"));
        }
    }
    let logs = logs.text();
    assert!(logs.contains("refund_call"), "the subscriber captured nothing: {logs}");
    shown.push(logs);
    for text in &shown {
        for secret in [STATIC_TOKEN, FETCHED_TOKEN, OTP, REGISTRATION_ID] {
            assert!(!text.contains(secret), "{secret} leaked in: {text}");
        }
    }
}
