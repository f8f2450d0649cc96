//! The refund is never repeated once it may have arrived.

use std::time::Duration;

use httpmock::prelude::*;
use refund_core::{Error, Fate};
use refund_testkit::mock::{self, reply};
use refund_testkit::net::closed_url;

use crate::*;

#[tokio::test]
async fn timeout_is_one_call_and_outcome_unknown() {
    let server = MockServer::start_async().await;
    let mock = mock::post(&server, REFUND_PATH, reply(200, SUCCESS).late()).await;
    let client =
        builder_for(&server).token(TOKEN).timeout(Duration::from_millis(200)).build().unwrap();
    let err = client.refund_money(&request("79.10")).await.unwrap_err();
    mock.assert_calls_async(1).await;
    assert_eq!(err.fate(), Fate::Unknown);
    assert!(!err.is_retryable());
    let Error::OutcomeUnknown { detail, .. } = &err else { panic!("{err:?}") };
    assert!(detail.contains("timed out"), "{detail}");
    assert!(detail.contains("no status endpoint"), "{detail}");
    assert!(detail.contains("reconcile with DigiPay"), "{detail}");
}

#[tokio::test]
async fn server_errors_are_not_repeated() {
    for status in [500, 502, 504] {
        let server = MockServer::start_async().await;
        let mock = mock::post(&server, REFUND_PATH, reply(status, "")).await;
        let err = client_for(&server).refund_money(&request("1")).await.unwrap_err();
        mock.assert_calls_async(1).await;
        assert_eq!(err.fate(), Fate::Unknown, "{status}");
        assert!(err.to_string().contains("reconcile with DigiPay"), "{err}");
    }
}

#[tokio::test]
async fn overload_is_not_processed_and_not_repeated() {
    for status in [429, 503] {
        let server = MockServer::start_async().await;
        let mock =
            mock::post(&server, REFUND_PATH, reply(status, "").header("retry-after", "3")).await;
        let err = client_for(&server).refund_money(&request("1")).await.unwrap_err();
        mock.assert_calls_async(1).await;
        assert_eq!(err.kind(), "unavailable");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    }
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let client = builder_at(closed_url()).token(TOKEN).build().unwrap();
    let err = client.refund_money(&request("1")).await.unwrap_err();
    assert_eq!(err.kind(), "unavailable");
    assert_eq!(err.fate(), Fate::NotProcessed);
    assert!(err.is_retryable());
}
