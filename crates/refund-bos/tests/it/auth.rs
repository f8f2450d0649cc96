use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use httpmock::prelude::*;
use httpmock::{Mock, When};
use refund_core::{FetchedToken, ManualClock, Otp, RefundStatus, TokenFetcher};
use refund_testkit::mock::{self, Reply, reply};
use serde_json::json;

use crate::{AUTH_401, CLAIM_OK, builder_for, client_for};

const STATUS: &str = include_str!("../fixtures/status_refunded.json");

/// Answers requests to `path` that carry `authorization: Bearer {token}`, whatever the method.
async fn bearer<'s>(server: &'s MockServer, path: &str, token: &str, reply: Reply<'_>) -> Mock<'s> {
    let authorization = format!("Bearer {token}");
    mock::matching(server, |when| when.path(path).header("authorization", authorization), reply)
        .await
}

/// Hands out `tok-1`, `tok-2`, ... after a short pause, counting calls.
#[derive(Debug, Default)]
struct CountingFetcher {
    calls: AtomicUsize,
}

#[refund_core::async_trait]
impl TokenFetcher for CountingFetcher {
    async fn fetch(&self) -> refund_core::Result<FetchedToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(FetchedToken::new(format!("tok-{n}")))
    }
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    let server = MockServer::start_async().await;
    let no_token = |when: When| when.path("/api/BOS/ClaimRefund").header_missing("authorization");
    let m = mock::matching(&server, no_token, reply(200, CLAIM_OK)).await;
    client_for(&server).claim_refund("1", "2", &Otp::new("576719").unwrap()).await.unwrap();
    m.assert_calls_async(1).await;
}

#[tokio::test]
async fn static_token_is_sent_as_bearer_and_a_401_is_auth_without_repeat() {
    let server = MockServer::start_async().await;
    let ok = bearer(&server, "/api/BOS/RefundOTP", "static-tok", reply(200, CLAIM_OK)).await;
    let client = builder_for(&server).token("static-tok").build().unwrap();
    client.send_refund_otp("1", "2").await.unwrap();
    ok.assert_calls_async(1).await;

    let rejected = mock::post(&server, "/api/BOS/ClaimRefund", reply(401, AUTH_401)).await;
    let err = client.claim_refund("1", "2", &Otp::new("576719").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert_eq!(err.reply().and_then(|r| r.code()), Some("9"));
    assert_eq!(err.reply().and_then(|r| r.message()), Some("Authentication failed."));
    rejected.assert_calls_async(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_fetched_once_for_500_concurrent_calls_and_refreshed_after_expiry() {
    let server = MockServer::start_async().await;
    let first = bearer(&server, "/api/BOS/TransactStatus", "tok-1", reply(200, STATUS)).await;
    let fetcher = Arc::new(CountingFetcher::default());
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let client = builder_for(&server)
        .timeout(Duration::from_secs(20))
        .token_fetcher(fetcher.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let client = client.clone();
        calls.spawn(async move { client.status("12345678931").await });
    }
    while let Some(result) = calls.join_next().await {
        assert_eq!(result.unwrap().unwrap().refund_status(), RefundStatus::Succeeded);
    }
    first.assert_calls_async(500).await;
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
    assert_eq!(client.token_fetch_count(), 1);

    // Still fresh a little later: no fetch.
    clock.advance(Duration::from_secs(60));
    client.status("12345678931").await.unwrap();
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);

    // Past the 600 s lifetime: one new token.
    let second = bearer(&server, "/api/BOS/TransactStatus", "tok-2", reply(200, STATUS)).await;
    clock.advance(Duration::from_secs(600));
    client.status("12345678931").await.unwrap();
    client.status("12345678931").await.unwrap();
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    second.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_401_with_a_fetched_token_refetches_once_and_repeats_once() {
    let server = MockServer::start_async().await;
    let stale = bearer(&server, "/api/BOS/ClaimRefund", "tok-1", reply(401, AUTH_401)).await;
    let claim = json!({"referenceid": 12_345_678_931_u64, "ackno": 133, "otp": 576_719});
    let fresh_token = |when: When| {
        when.path("/api/BOS/ClaimRefund").header("authorization", "Bearer tok-2").json_body(claim)
    };
    let fresh = mock::matching(&server, fresh_token, reply(200, CLAIM_OK)).await;
    let fetcher = Arc::new(CountingFetcher::default());
    let client = builder_for(&server).token_fetcher(fetcher.clone()).build().unwrap();
    let record =
        client.claim_refund("12345678931", "133", &Otp::new("576719").unwrap()).await.unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    stale.assert_calls_async(1).await;
    fresh.assert_calls_async(1).await;
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_401_is_auth_after_exactly_one_repeat() {
    let server = MockServer::start_async().await;
    let m = mock::post(&server, "/api/BOS/ClaimRefund", reply(401, AUTH_401)).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = builder_for(&server)
        .token_fetcher_fn(move || {
            let counter = counter.clone();
            async move {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(FetchedToken::new(format!("fn-tok-{n}")).with_lifetime(Duration::from_secs(300)))
            }
        })
        .build()
        .unwrap();
    let err = client.claim_refund("1", "2", &Otp::new("576719").unwrap()).await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    m.assert_calls_async(2).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_fetcher_sends_nothing() {
    let server = MockServer::start_async().await;
    let m = mock::any(&server, reply(200, CLAIM_OK)).await;
    let client = builder_for(&server)
        .token_fetcher_fn(|| async { Err(refund_core::Error::config("vault is sealed")) })
        .build()
        .unwrap();
    let err = client.send_refund_otp("1", "2").await.unwrap_err();
    assert_eq!(err.kind(), "config");
    m.assert_calls_async(0).await;
}

#[tokio::test]
async fn an_auth_code_in_a_200_with_a_fetched_token_also_refetches_once() {
    let server = MockServer::start_async().await;
    let expired = crate::envelope(json!(false), 7, "Token expired");
    let stale = bearer(&server, "/api/BOS/RefundOTP", "tok-1", reply(200, &expired)).await;
    let sent = crate::envelope(json!(true), 1, "OTP sent");
    let fresh = bearer(&server, "/api/BOS/RefundOTP", "tok-2", reply(200, &sent)).await;
    let fetcher = Arc::new(CountingFetcher::default());
    let client = builder_for(&server).token_fetcher(fetcher.clone()).build().unwrap();
    client.send_refund_otp("12345678931", "133").await.unwrap();
    stale.assert_calls_async(1).await;
    fresh.assert_calls_async(1).await;
    assert_eq!(client.token_fetch_count(), 2);
}
