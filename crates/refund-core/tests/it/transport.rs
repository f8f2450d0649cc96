//! The transport's error mapping for each failure class, and its retry counts per declared safety.

use std::time::Duration;

use httpmock::prelude::*;
use refund_core::{
    Error, Fate, Idempotency, Operation, PreparedBody, PreparedRequest, RetryPolicy, Transport,
};
use refund_testkit::mock::{self, Reply, reply};
use refund_testkit::net::closed_url;
use refund_testkit::retries;

const SAFE: Operation = Operation::new("test", "read", Idempotency::Safe);
const KEYED: Operation = Operation::new("test", "keyed_refund", Idempotency::Keyed);
const UNSAFE: Operation = Operation::new("test", "refund", Idempotency::Unsafe);

fn transport() -> Transport {
    Transport::builder()
        .timeout(Duration::from_millis(300))
        .retry_policy(retries(3))
        .build()
        .unwrap()
}

async fn send(
    t: &Transport,
    op: &Operation,
    url: String,
) -> refund_core::Result<refund_core::RawResponse> {
    t.send(op, |_| {
        Ok(PreparedRequest::post(url.parse().unwrap())
            .body(PreparedBody::json(&serde_json::json!({"ref": "R-1"}), &[]).unwrap()))
    })
    .await
}

fn closed_port_url() -> String {
    format!("{}/api", closed_url())
}

/// An answer that comes after the transport's 300 ms timeout.
const TOO_LATE: Reply<'static> = reply(200, "{}").after(Duration::from_millis(1500));

#[tokio::test]
async fn connection_refused_is_unavailable_for_every_operation() {
    let t = transport();
    for op in [SAFE, KEYED, UNSAFE] {
        let err = send(&t, &op, closed_port_url()).await.unwrap_err();
        assert!(matches!(err, Error::Unavailable { .. }), "{op:?}: {err:?}");
        assert_eq!(err.fate(), Fate::NotProcessed);
        assert!(
            err.to_string().contains("3 attempts"),
            "never-sent requests are retried even when Unsafe: {err}"
        );
    }
}

#[tokio::test]
async fn timeout_after_sending_depends_on_declared_safety() {
    let server = MockServer::start_async().await;
    let mut slow = mock::post(&server, "/api", TOO_LATE).await;
    let t = transport();

    let err = send(&t, &UNSAFE, server.url("/api")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("check the refund's status"), "{err}");
    // The cause says which limit passed, so an operator knows what to raise.
    let cause = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
    assert!(cause.contains("whole-request timeout"), "{cause}");
    slow.assert_calls_async(1).await;

    // Keyed and Safe calls are retried; a timed-out read changed nothing.
    for (op, kind) in [(KEYED, "outcome_unknown"), (SAFE, "unavailable")] {
        slow.delete_async().await;
        slow = mock::post(&server, "/api", TOO_LATE).await;
        let err = send(&t, &op, server.url("/api")).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{op:?}: {err:?}");
        slow.assert_calls_async(3).await;
    }
}

#[tokio::test]
async fn status_429_with_retry_after() {
    let server = MockServer::start_async().await;
    let limited =
        mock::post(&server, "/api", reply(429, "slow down").header("Retry-After", "7")).await;
    let t = transport();
    // Unsafe: returned at once, with the provider's Retry-After, and marked retryable.
    let err = send(&t, &UNSAFE, server.url("/api")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_retryable());
    assert_eq!(err.reply().and_then(|r| r.http_status()), Some(429));
    limited.assert_calls_async(1).await;
    // Safe: a 7 s Retry-After does not fit a 1 s deadline, so it gives up at once rather than ignore it.
    let t_short = Transport::builder()
        .retry_policy(
            RetryPolicy::default()
                .deadline(Duration::from_secs(1))
                .initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = send(&t_short, &SAFE, server.url("/api")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    limited.assert_calls_async(2).await;
}

#[tokio::test]
async fn retry_after_zero_is_retried_for_safe_calls() {
    let server = MockServer::start_async().await;
    let limited = mock::post(&server, "/api", reply(429, "").header("Retry-After", "0")).await;
    let err = send(&transport(), &SAFE, server.url("/api")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }));
    limited.assert_calls_async(3).await;
}

#[tokio::test]
async fn server_errors_per_safety() {
    // (status, op, expected kind, expected calls)
    let cases = [
        (500, UNSAFE, "outcome_unknown", 1),
        (502, UNSAFE, "outcome_unknown", 1),
        (504, UNSAFE, "outcome_unknown", 1),
        (503, UNSAFE, "unavailable", 1),
        (500, KEYED, "outcome_unknown", 3),
        (503, KEYED, "unavailable", 3),
        (500, SAFE, "unavailable", 3),
        (502, SAFE, "unavailable", 3),
        (503, SAFE, "unavailable", 3),
    ];
    let t = transport();
    for (status, op, kind, calls) in cases {
        let server = MockServer::start_async().await;
        let page = reply(status, "<html><body>Bad Gateway</body></html>");
        let mock = mock::post(&server, "/api", page.header("content-type", "text/html")).await;
        let err = send(&t, &op, server.url("/api")).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status} {op:?}: {err}");
        assert_eq!(err.reply().and_then(|r| r.http_status()), Some(status));
        assert!(
            err.reply().and_then(|r| r.body_excerpt()).is_some_and(|b| b.contains("Bad Gateway"))
        );
        mock.assert_calls_async(calls).await;
    }
}

#[tokio::test]
async fn oversized_success_body_is_unreadable_and_not_repeated() {
    let server = MockServer::start_async().await;
    let big = "x".repeat(2 * 1024 * 1024);
    let mock = mock::post(&server, "/api", reply(200, &big)).await;
    let err = send(&transport(), &KEYED, server.url("/api")).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(err.to_string().contains("larger than the 1048576-byte limit"), "{err}");
    mock.assert_calls_async(1).await;

    // A Safe call changes nothing: an answer too large to read is Unavailable (Operation::
    // unreadable_answer), still not repeated.
    let capped = Transport::builder().max_response_bytes(16).build().unwrap();
    let err = send(&capped, &SAFE, server.url("/api")).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    mock.assert_calls_async(2).await;
}

#[tokio::test]
async fn definite_answers_go_back_to_the_provider_crate() {
    let server = MockServer::start_async().await;
    for (status, body) in [
        (200, ""),
        (200, "<html>oops</html>"),
        (200, "{not json"),
        (400, "{\"error\"\": 1,}"),
        (404, ""),
    ] {
        let mock = mock::post(&server, "/api", reply(status, body)).await;
        let raw = send(&transport(), &UNSAFE, server.url("/api")).await.unwrap();
        assert_eq!(raw.status(), status);
        assert_eq!(raw.body().as_ref(), body.as_bytes());
        mock.assert_calls_async(1).await;
        mock.delete_async().await;
    }
}

#[tokio::test]
async fn every_request_carries_user_agent_and_content_type() {
    let server = MockServer::start_async().await;
    let mock = mock::post_where(
        &server,
        "/api",
        |when| {
            when.header("user-agent", refund_core::USER_AGENT)
                .header("content-type", "application/json")
                .json_body(serde_json::json!({"ref": "R-1"}))
        },
        reply(200, "{}"),
    )
    .await;
    send(&transport(), &UNSAFE, server.url("/api")).await.unwrap();
    mock.assert_calls_async(1).await;
    assert!(refund_core::USER_AGENT.starts_with("refund-rs/"));
}

#[tokio::test]
async fn build_closure_sees_each_attempt() {
    let server = MockServer::start_async().await;
    let mock = mock::post(&server, "/api", reply(503, "")).await;
    let seen = std::sync::Mutex::new(Vec::new());
    let url: url::Url = server.url("/api").parse().unwrap();
    let _ = transport()
        .send(&KEYED, |attempt| {
            seen.lock().unwrap().push(attempt);
            Ok(PreparedRequest::post(url.clone()))
        })
        .await;
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);
    mock.assert_calls_async(3).await;
}

#[test]
fn zero_timeout_is_rejected() {
    let err = Transport::builder().timeout(Duration::ZERO).build().unwrap_err();
    assert_eq!(err.field(), Some("timeout"));
}

/// A Keyed call whose first attempt timed out after sending and whose retries were answered 503
/// may still have been processed by that first attempt: its error must stay `OutcomeUnknown`,
/// not "definitely not processed" (which would invite a new request and a second refund). Found
/// by the sandbox concurrency test (crates/refund/tests/sandbox/concurrency.rs).
#[tokio::test]
async fn not_processed_retry_after_an_ambiguous_attempt_stays_outcome_unknown() {
    for (op, want) in [(KEYED, "outcome_unknown"), (SAFE, "unavailable")] {
        let server = MockServer::start_async().await;
        let slow =
            mock::post(&server, "/api", reply(200, "{}").after(Duration::from_secs(2))).await;
        let url = server.url("/api");
        let t = transport();
        let call = tokio::spawn(async move { send(&t, &op, url).await });
        while slow.calls_async().await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        slow.delete_async().await;
        let busy = mock::post(&server, "/api", reply(503, "").header("retry-after", "0")).await;
        let err = call.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), want, "{op:?}: {err}");
        busy.assert_calls_async(2).await;
        if want == "outcome_unknown" {
            assert!(err.to_string().contains("earlier attempt may have been processed"), "{err}");
        }
    }
}

#[tokio::test]
async fn a_busy_answer_after_a_lost_attempt_is_not_reported_as_not_processed() {
    // Attempt 1 times out after sending (it may have been processed); attempt 2 is answered. The
    // response remembers that, so a provider's "busy, not processed" decoding of it (AOC1020) is
    // qualified into outcome-unknown instead of inviting a retry under a fresh reference.
    let server = MockServer::start_async().await;
    let lost =
        mock::post_where(&server, "/api", |when| when.header("x-attempt", "1"), TOO_LATE).await;
    let busy_answer = reply(200, r#"{"errorCode":"AOC1020"}"#);
    let busy =
        mock::post_where(&server, "/api", |when| when.header("x-attempt", "2"), busy_answer).await;
    let url: url::Url = server.url("/api").parse().unwrap();
    let raw = transport()
        .send(&KEYED, |attempt| {
            PreparedRequest::post(url.clone()).header("x-attempt", &attempt.to_string(), false)
        })
        .await
        .unwrap();
    lost.assert_calls_async(1).await;
    busy.assert_calls_async(1).await;
    assert!(raw.earlier_attempt_maybe_processed());
    let decoded = Error::unavailable(KEYED.reply(), "transaction in progress", None);
    assert_eq!(raw.qualify(&KEYED, decoded).kind(), "outcome_unknown");
    // A read stays "unavailable": nothing it does can move money.
    let decoded = Error::unavailable(SAFE.reply(), "busy", None);
    assert_eq!(raw.qualify(&SAFE, decoded).kind(), "unavailable");
    // Without an earlier lost attempt, "not processed" stands.
    let fresh = refund_core::RawResponse::new(200, http::HeaderMap::new(), "{}");
    assert!(!fresh.earlier_attempt_maybe_processed());
    let decoded = Error::unavailable(KEYED.reply(), "busy", None);
    assert_eq!(fresh.qualify(&KEYED, decoded).kind(), "unavailable");
}
