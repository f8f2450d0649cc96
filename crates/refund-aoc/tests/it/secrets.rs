//! The API key never appears in Debug output, errors or logs.

use std::time::Duration;

use httpmock::prelude::*;
use refund_core::RefundReference;
use refund_testkit::logs::Logs;
use refund_testkit::mock::{self, reply};
use refund_testkit::retries;

use crate::*;

#[tokio::test]
async fn key_absent_from_debug_errors_and_logs() {
    let logs = Logs::capture();

    let server = MockServer::start_async().await;
    // An answer that (wrongly) echoes the key must not leak it either.
    let echo = format!(
        r#"{{"data":{{"apiKey":"{API_KEY}","transactionOperationStatus":"denied","errorCode":"AOC1007","errorMessage":"Refund failed"}}}}"#
    );
    mock::post(&server, "/api/refund", reply(200, &echo)).await;
    mock::post(&server, "/api/refundStatus", reply(500, "")).await;
    let client = builder_for(&server)
        .timeout(Duration::from_millis(500))
        .retry_policy(retries(3))
        .build()
        .unwrap();

    let mut shown = vec![format!("{client:?}")];
    let builder = builder_for(&server);
    shown.push(format!("{builder:?}"));
    let refund_err = client.refund(&request("1")).await.unwrap_err();
    let status_err = client.refund_status(&RefundReference::new(SP).unwrap()).await.unwrap_err();
    for err in [&refund_err, &status_err] {
        shown.push(err.to_string());
        shown.push(format!("{err:?}"));
        if let Some(reply) = err.reply() {
            shown.push(format!("{:?}", reply.body_excerpt()));
        }
    }
    let prepared = client.prepare_refund(&request("1")).unwrap();
    shown.push(format!("{prepared:?}"));
    shown.push(prepared.to_curl());
    shown.push(prepared.to_redacted_json().to_string());
    let logged = logs.text();
    assert!(logged.contains("refund_call"), "logs were captured: {logged}");
    // With a subscriber listening, the call's span carries what the transport records into it.
    for field in ["attempt=1", "latency_ms=", "status=200"] {
        assert!(logged.contains(field), "{field} not recorded: {logged}");
    }
    shown.push(logged);
    for text in &shown {
        assert!(!text.contains(API_KEY), "leaked: {text}");
    }
    assert!(refund_err.reply().and_then(|r| r.body_excerpt()).unwrap().contains("***"));
}
