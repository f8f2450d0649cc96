//! Client credentials: exchanged for a token, cached until its expiry_time, refreshed on a 401.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use httpmock::HttpMockResponse;
use httpmock::Mock;
use httpmock::prelude::*;
use refund_core::{Fate, ManualClock};
use refund_testkit::mock::{self, Reply, reply};

use crate::*;

/// 2024-01-24 17:18:38 UTC: one hour before the page's `expiry_time`.
fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_706_120_318 - 3600))
}

fn basic() -> String {
    let creds = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(creds))
}

fn token_body(token: &str) -> String {
    format!(r#"{{"data":{{"access_token":"{token}","expiry_time":"2024-01-24 18:18:38"}}}}"#)
}

/// Answers refunds sent with `authorization: Token {token}`.
async fn with_token<'s>(server: &'s MockServer, token: &str, reply: Reply<'_>) -> Mock<'s> {
    let authorization = format!("Token {token}");
    refund_mock(server, |when| when.header("authorization", authorization), reply).await
}

fn credentials_client(server: &MockServer, clock: &ManualClock) -> DigiPayClient {
    builder_for(server)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn exchanges_credentials_and_reuses_the_token_until_expiry() {
    let server = MockServer::start_async().await;
    let token = include_str!("../fixtures/token.json");
    let basic_auth = |when: When| when.header("authorization", basic());
    let auth = mock::post_where(&server, AUTH_PATH, basic_auth, reply(200, token)).await;
    let fetched = |when: When| {
        when.header("authorization", "Token fetched-access-token-1").header("companyid", COMPANY)
    };
    let refund = refund_mock(&server, fetched, reply(200, SUCCESS)).await;
    let clock = clock();
    let client = credentials_client(&server, &clock);
    client.refund_money(&request("1")).await.unwrap();
    client.clone().refund_money(&request("2")).await.unwrap();
    auth.assert_calls_async(1).await;
    // Still valid 50 minutes later; past expiry_time, a new token.
    for (secs, amount, fetches) in [(3000, "3", 1), (601, "4", 2)] {
        clock.advance(Duration::from_secs(secs));
        client.refund_money(&request(amount)).await.unwrap();
        auth.assert_calls_async(fetches).await;
    }
    refund.assert_calls_async(4).await;
}

#[tokio::test]
async fn a_401_drops_the_token_and_repeats_once() {
    let server = MockServer::start_async().await;
    let auth = mock::each_call(
        &server,
        |when| when.method(POST).path(AUTH_PATH),
        |n, _| {
            HttpMockResponse::builder().status(200).body(token_body(&format!("tok-{n}"))).build()
        },
    )
    .await;
    let unauthorized = r#"{"success":0,"error":[1],"data":{"message":"UNAUTHORIZED"}}"#;
    let stale = with_token(&server, "tok-1", reply(401, unauthorized)).await;
    let fresh = with_token(&server, "tok-2", reply(200, SUCCESS)).await;
    let clock = clock();
    let refund = credentials_client(&server, &clock).refund_money(&request("1")).await.unwrap();
    assert_eq!(refund.txn_id.as_deref(), Some(TXN));
    auth.assert_calls_async(2).await;
    stale.assert_calls_async(1).await;
    fresh.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_second_401_is_auth_after_exactly_two_refund_calls() {
    let server = MockServer::start_async().await;
    let auth = mock::post(&server, AUTH_PATH, reply(200, &token_body("tok"))).await;
    let refund = server
        .mock_async(|when, then| {
            when.method(POST).path(REFUND_PATH);
            then.status(401)
                .body(r#"{"success":0,"error":[1],"data":{"message":"INVALID_COMPANY"}}"#);
        })
        .await;
    let err = credentials_client(&server, &clock()).refund_money(&request("1")).await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert_eq!(err.reply().unwrap().message(), Some("INVALID_COMPANY"));
    auth.assert_calls_async(2).await;
    refund.assert_calls_async(2).await;
}

#[tokio::test]
async fn rejected_credentials_are_auth_and_send_no_refund() {
    let server = MockServer::start_async().await;
    let unauthorized = r#"{"success":0,"error":[1],"data":{"message":"UNAUTHORIZED"}}"#;
    let auth = mock::post(&server, AUTH_PATH, reply(401, unauthorized)).await;
    let refund = mock::post(&server, REFUND_PATH, reply(200, SUCCESS)).await;
    let err = credentials_client(&server, &clock()).refund_money(&request("1")).await.unwrap_err();
    assert_eq!(err.kind(), "auth");
    assert_eq!(err.reply().unwrap().operation(), "authenticate");
    auth.assert_calls_async(1).await;
    refund.assert_calls_async(0).await;
}

#[tokio::test]
async fn unreadable_token_answers_are_not_processed() {
    for body in ["<html>", r#"{"data":{}}"#, r#"{"data":{"access_token":""}}"#] {
        let server = MockServer::start_async().await;
        mock::post(&server, AUTH_PATH, reply(200, body)).await;
        let refund = mock::post(&server, REFUND_PATH, reply(200, SUCCESS)).await;
        let err =
            credentials_client(&server, &clock()).refund_money(&request("1")).await.unwrap_err();
        assert_eq!(err.fate(), Fate::NotProcessed, "{body}: {err}");
        refund.assert_calls_async(0).await;
    }
}

#[tokio::test]
async fn token_without_expiry_gets_the_default_lifetime() {
    let server = MockServer::start_async().await;
    let auth =
        mock::post(&server, AUTH_PATH, reply(200, r#"{"data":{"access_token":"tok"}}"#)).await;
    with_token(&server, "tok", reply(200, SUCCESS)).await;
    let clock = ManualClock::new(SystemTime::now());
    let client = credentials_client(&server, &clock);
    client.refund_money(&request("1")).await.unwrap();
    for (secs, fetches) in [(500, 1), (101, 2)] {
        clock.advance(Duration::from_secs(secs));
        client.refund_money(&request("1")).await.unwrap();
        auth.assert_calls_async(fetches).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_share_one_token_fetch() {
    let server = MockServer::start_async().await;
    let token = token_body("tok");
    let auth =
        mock::post(&server, AUTH_PATH, reply(200, &token).after(Duration::from_millis(50))).await;
    let refund = with_token(&server, "tok", reply(200, SUCCESS)).await;
    let client = credentials_client(&server, &clock());
    let calls = (0..5).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.refund_money(&request("1")).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    auth.assert_calls_async(1).await;
    refund.assert_calls_async(5).await;
}
