//! The library against `refund-sandbox`: end-to-end flows of every provider client (issue #7), the
//! fault matrix generated into `docs/reliability.md` and the concurrency proof (issue #9).
//!
//! Run: `cargo test -p refund --test sandbox`. Regenerate the matrix in the docs:
//! `cargo xtask reliability` (or `REFUND_BLESS=1 cargo test -p refund --test sandbox fault_matrix`).

// Tests unwrap: a failed setup step should stop the test with its message, and every outcome under
// test is asserted explicitly rather than propagated.
#![allow(clippy::unwrap_used)]

mod concurrency;
mod e2e;
mod fault_matrix;

use std::time::Duration;

use refund::aoc::AocClient;
use refund::bos::BosClient;
use refund::digipay::DigiPayClient;
use refund::otp::OtpRefundClient;
use refund::{Currency, Money, RetryPolicy};
use refund_sandbox::seed;

/// Short whole-request timeout: sandbox delays are set just past it.
pub(crate) const TIMEOUT: Duration = Duration::from_millis(300);

/// Three attempts with a 1 ms backoff, so retries cost nothing but the faults themselves.
pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

/// `http://127.0.0.1:PORT` of a port that was just free and is now closed: connection refused.
pub(crate) fn closed_root() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// An AOC client for the sandbox (or anything) at `root`.
pub(crate) fn aoc_client(root: &str, timeout: Duration) -> AocClient {
    AocClient::builder()
        .base_url(format!("{root}/aoc"))
        .username(seed::AOC_USERNAME)
        .api_key(seed::AOC_API_KEY)
        .timeout(timeout)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// A BOS client with the sandbox's static token and registration id.
pub(crate) fn bos_client(root: &str, timeout: Duration) -> BosClient {
    BosClient::builder()
        .base_url(format!("{root}/bos"))
        .token(seed::BOS_TOKEN)
        .registration_id(seed::BOS_REGISTRATION_ID)
        .timeout(timeout)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// A DigiPay client with the sandbox's static token.
pub(crate) fn digipay_client(root: &str, timeout: Duration) -> DigiPayClient {
    DigiPayClient::builder()
        .base_url(format!("{root}/digipay"))
        .company_id(seed::DIGIPAY_COMPANY_ID)
        .token(seed::DIGIPAY_TOKEN)
        .txn_code("MR / CR")
        .payment_mode(2)
        .timeout(timeout)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// A DigiPay client that exchanges the sandbox's client credentials for a token.
pub(crate) fn digipay_cc_client(root: &str, timeout: Duration) -> DigiPayClient {
    DigiPayClient::builder()
        .base_url(format!("{root}/digipay"))
        .company_id(seed::DIGIPAY_COMPANY_ID)
        .client_credentials(seed::DIGIPAY_CLIENT_ID, seed::DIGIPAY_CLIENT_SECRET)
        .txn_code("MR / CR")
        .payment_mode(2)
        .timeout(timeout)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// An Eko OTP refund client with the sandbox's keys.
pub(crate) fn eko_client(root: &str, timeout: Duration) -> OtpRefundClient {
    OtpRefundClient::builder()
        .base_url(format!("{root}/eko/v3"))
        .developer_key(seed::EKO_DEVELOPER_KEY)
        .access_key(seed::EKO_ACCESS_KEY)
        .initiator_id(seed::EKO_INITIATOR_ID)
        .user_code(seed::EKO_USER_CODE)
        .timeout(timeout)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

pub(crate) fn myr(text: &str) -> Money {
    Money::parse(text, Currency::Myr).unwrap()
}

pub(crate) fn inr(text: &str) -> Money {
    Money::parse(text, Currency::Inr).unwrap()
}

/// A six-digit OTP that differs from `real` in its last digit (and so never starts with 0 when
/// `real` does not).
pub(crate) fn wrong_otp(real: &str) -> String {
    let mut chars: Vec<char> = real.chars().collect();
    let last = chars.last_mut().unwrap();
    let digit = last.to_digit(10).unwrap();
    *last = char::from_digit((digit + 1) % 10, 10).unwrap();
    chars.into_iter().collect()
}
