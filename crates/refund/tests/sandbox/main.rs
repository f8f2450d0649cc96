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

use refund::RetryPolicy;
use refund::aoc::AocClient;
use refund::bos::BosClient;
use refund::digipay::DigiPayClient;
use refund::otp::OtpRefundClient;
use refund_testkit::sandbox;
pub(crate) use refund_testkit::sandbox::{inr, myr};

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
    refund_testkit::net::closed_url()
}

/// An AOC client for the sandbox (or anything) at `root`.
pub(crate) fn aoc_client(root: &str, timeout: Duration) -> AocClient {
    sandbox::aoc(root).timeout(timeout).retry_policy(fast_retries()).build().unwrap()
}

/// A BOS client with the sandbox's static token and registration id.
pub(crate) fn bos_client(root: &str, timeout: Duration) -> BosClient {
    sandbox::bos(root).timeout(timeout).retry_policy(fast_retries()).build().unwrap()
}

/// A DigiPay client with the sandbox's static token.
pub(crate) fn digipay_client(root: &str, timeout: Duration) -> DigiPayClient {
    let builder = sandbox::digipay(root).txn_code("MR / CR").payment_mode(2);
    builder.timeout(timeout).retry_policy(fast_retries()).build().unwrap()
}

/// A DigiPay client that exchanges the sandbox's client credentials for a token.
pub(crate) fn digipay_cc_client(root: &str, timeout: Duration) -> DigiPayClient {
    let builder = sandbox::digipay_client_credentials(root).txn_code("MR / CR").payment_mode(2);
    builder.timeout(timeout).retry_policy(fast_retries()).build().unwrap()
}

/// An Eko OTP refund client with the sandbox's keys.
pub(crate) fn eko_client(root: &str, timeout: Duration) -> OtpRefundClient {
    sandbox::eko(root).timeout(timeout).retry_policy(fast_retries()).build().unwrap()
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
