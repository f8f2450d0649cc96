//! Integration tests against httpmock: one binary, a module per area.

#![allow(clippy::unwrap_used)] // reason: tests

mod errors;
mod flow;
mod secrets;
mod signing;
mod skew;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use httpmock::MockServer;
use httpmock::prelude::HttpMockRequest;
use refund_core::ManualClock;
use refund_otp::{OtpRefundClient, OtpRefundClientBuilder};
use refund_testkit::retries;

pub(crate) const DEV_KEY: &str = "dev-key-SECRET-becbbce4";
pub(crate) const ACCESS_KEY: &str = "access-key-SECRET-d2fe1d99";
pub(crate) const INITIATOR: &str = "9962981729";
pub(crate) const USER_CODE: &str = "20810200";
/// The injected clock's time: 2023-11-14T22:13:20Z.
pub(crate) const T0_MS: u64 = 1_700_000_000_000;
pub(crate) const BASE_PATH: &str = "/ekoapi/v3";

pub(crate) fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_millis(T0_MS))
}

pub(crate) fn builder_for(server: &MockServer) -> OtpRefundClientBuilder {
    builder_at(server.url(BASE_PATH))
}

/// The tests' client settings, for Eko at `base_url`.
pub(crate) fn builder_at(base_url: String) -> OtpRefundClientBuilder {
    OtpRefundClient::builder()
        .base_url(base_url)
        .developer_key(DEV_KEY)
        .access_key(ACCESS_KEY)
        .initiator_id(INITIATOR)
        .user_code(USER_CODE)
        .clock(Arc::new(clock()))
        .timeout(Duration::from_secs(5))
        .retry_policy(retries(3))
}

pub(crate) fn client_for(server: &MockServer) -> OtpRefundClient {
    builder_for(server).build().unwrap()
}

pub(crate) fn path(rest: &str) -> String {
    format!("{BASE_PATH}{rest}")
}

/// The signature, computed independently of the crate: base64(HMAC-SHA256(key = base64(access
/// key) as text, message = timestamp text)), by the testkit with `hmac`, `sha2` and `base64`.
pub(crate) use refund_testkit::eko::signature as expected_signature;

/// True when the request carries our developer key and a signature valid for its own timestamp.
pub(crate) fn signed_correctly(req: &HttpMockRequest) -> bool {
    let headers = req.headers();
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match (get("developer_key"), get("secret-key"), get("secret-key-timestamp")) {
        (Some(dev), Some(sig), Some(ts)) => {
            dev == DEV_KEY
                && ts.bytes().all(|b| b.is_ascii_digit())
                && sig == expected_signature(ACCESS_KEY, &ts)
        }
        _ => false,
    }
}

/// An IMF-fixdate for `unix_secs`.
pub(crate) fn http_date(unix_secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(unix_secs))
}

#[test]
fn http_date_helper() {
    assert_eq!(http_date(T0_MS / 1000), "Tue, 14 Nov 2023 22:13:20 GMT");
}

pub(crate) const SEND_OTP_OK: &str = include_str!("../fixtures/send_otp.json");
pub(crate) const SEND_OTP_STATUS0_NO_REF: &str =
    include_str!("../fixtures/send_otp_status0_no_ref.json");
pub(crate) const REFUND_DONE: &str = include_str!("../fixtures/refund_done.json");
pub(crate) const TRANSACTION: &str = include_str!("../fixtures/transaction.json");
pub(crate) const WRONG_OTP: &str = include_str!("../fixtures/wrong_otp.json");
