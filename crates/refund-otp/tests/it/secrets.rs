use httpmock::prelude::*;
use refund_core::Otp;
use refund_testkit::eko::base64;
use refund_testkit::logs::{Logs, Secrets};
use refund_testkit::mock::{self, reply};

use crate::*;

const OTP: &str = "576719";

fn forbidden() -> Secrets {
    Secrets::new([
        DEV_KEY.to_owned(),
        ACCESS_KEY.to_owned(),
        base64(ACCESS_KEY),
        expected_signature(ACCESS_KEY, "1700000000000"),
        expected_signature(ACCESS_KEY, "1700003600000"),
        OTP.to_owned(),
    ])
}

#[tokio::test]
async fn secrets_stay_out_of_debug_errors_and_logs() {
    let logs = Logs::capture();
    let forbidden = forbidden();

    let server = MockServer::start_async().await;
    let skewed = server
        .mock_async(|when, then| {
            when.header("secret-key-timestamp", "1700000000000");
            then.status(403)
                .header("date", http_date(T0_MS / 1000 + 3600).as_str())
                .body("Forbidden");
        })
        .await;
    let wrong =
        mock::post(&server, &path("/customer/payment/refund/13192443"), reply(200, WRONG_OTP))
            .await;
    let client = client_for(&server);
    forbidden.assert_absent("client Debug", &format!("{client:?}"));
    forbidden.assert_absent("builder Debug", &format!("{:?}", builder_for(&server)));

    let otp = Otp::new(OTP).unwrap();
    let err = client.refund("13192443", "ref-1", &otp).await.unwrap_err();
    assert_eq!(err.kind(), "declined");
    skewed.assert_calls_async(1).await;
    wrong.assert_calls_async(1).await;
    forbidden.assert_absent("error Display", &err.to_string());
    forbidden.assert_absent("error Debug", &format!("{err:?}"));

    // A leading-zero OTP and a dry run.
    let err = client.refund("13192443", "ref-1", &Otp::new("012345").unwrap()).await.unwrap_err();
    assert!(!format!("{err:?}").contains("012345"));
    let prepared = client.prepare_refund("13192443", "ref-1", &otp).unwrap();
    forbidden.assert_absent("dry run curl", &prepared.to_curl());
    forbidden.assert_absent("dry run json", &prepared.to_redacted_json().to_string());
    forbidden.assert_absent("dry run Debug", &format!("{prepared:?}"));

    // A timeout on the refund, which is logged by the transport.
    let slow = MockServer::start_async().await;
    slow.mock_async(|_when, then| {
        then.status(200).body(REFUND_DONE).delay(std::time::Duration::from_secs(1));
    })
    .await;
    let client = builder_for(&slow).timeout(std::time::Duration::from_millis(100)).build().unwrap();
    let err = client.refund("13192443", "ref-1", &otp).await.unwrap_err();
    forbidden.assert_absent("timeout error", &format!("{err} {err:?}"));

    let logs = logs.text();
    assert!(logs.contains("refund_call"), "the capture works: {logs}");
    assert!(logs.contains("corrected the offset"), "{logs}");
    forbidden.assert_absent("logs", &logs);
}
