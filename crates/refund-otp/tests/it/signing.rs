use httpmock::prelude::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::*;

#[test]
fn known_answers_of_the_independent_helper() {
    assert_eq!(
        expected_signature("test-access-key-123", "1700000000000"),
        "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="
    );
    assert_eq!(
        expected_signature("TEST_ACCESS_KEY_DO_NOT_USE", "1700000000000"),
        "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="
    );
}

#[tokio::test]
async fn every_request_is_signed_with_the_injected_clock() {
    let server = MockServer::start_async().await;
    let want = expected_signature(ACCESS_KEY, "1700000000000");
    let m = server
        .mock_async(|when, then| {
            when.method(POST)
                .path(path("/customer/payment/refund/13192443/otp"))
                .header("developer_key", DEV_KEY)
                .header("secret-key-timestamp", "1700000000000")
                .header("secret-key", want.as_str())
                .is_true(signed_correctly);
            then.status(200).body(SEND_OTP_OK);
        })
        .await;
    client_for(&server).send_otp("13192443").await.unwrap();
    m.assert_calls_async(1).await;
}

/// A clock that moves 5 s every time it is read.
#[derive(Debug)]
struct TickingClock(AtomicU64);

impl refund_core::Clock for TickingClock {
    fn now(&self) -> SystemTime {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        UNIX_EPOCH + Duration::from_millis(T0_MS + n * 5_000)
    }
}

#[tokio::test]
async fn each_attempt_is_signed_afresh() {
    // A 503 is retried for the safe get-OTP call; each attempt must carry a fresh timestamp and a
    // signature valid for it.
    let server = MockServer::start_async().await;
    let client =
        builder_for(&server).clock(Arc::new(TickingClock(AtomicU64::new(0)))).build().unwrap();
    let first = server
        .mock_async(|when, then| {
            when.header("secret-key-timestamp", "1700000000000").is_true(signed_correctly);
            then.status(503);
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.header("secret-key-timestamp", "1700000005000").is_true(signed_correctly);
            then.status(200).body(SEND_OTP_OK);
        })
        .await;
    client.send_otp("13192443").await.unwrap();
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
}
