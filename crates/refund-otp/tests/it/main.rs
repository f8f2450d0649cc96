//! Integration tests against httpmock: one binary, a module per area.

#![allow(clippy::unwrap_used)] // reason: tests

mod errors;
mod flow;
mod secrets;
mod signing;
mod skew;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use httpmock::MockServer;
use httpmock::prelude::HttpMockRequest;
use refund_core::{ManualClock, RetryPolicy};
use refund_otp::{OtpRefundClient, OtpRefundClientBuilder};
use sha2::Sha256;

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
    OtpRefundClient::builder()
        .base_url(server.url(BASE_PATH))
        .developer_key(DEV_KEY)
        .access_key(ACCESS_KEY)
        .initiator_id(INITIATOR)
        .user_code(USER_CODE)
        .clock(Arc::new(clock()))
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(1)))
}

pub(crate) fn client_for(server: &MockServer) -> OtpRefundClient {
    builder_for(server).build().unwrap()
}

pub(crate) fn path(rest: &str) -> String {
    format!("{BASE_PATH}{rest}")
}

/// The signature, computed independently of the crate: base64(HMAC-SHA256(key = base64(access
/// key) as text, message = timestamp text)).
pub(crate) fn expected_signature(access_key: &str, timestamp: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut mac = Hmac::<Sha256>::new_from_slice(b64.encode(access_key).as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    b64.encode(mac.finalize().into_bytes())
}

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
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = i64::try_from(unix_secs / 86_400).unwrap();
    let rem = unix_secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[usize::try_from(days % 7).unwrap()],
        MONTHS[usize::try_from(m - 1).unwrap()],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn http_date_helper() {
    assert_eq!(http_date(T0_MS / 1000), "Tue, 14 Nov 2023 22:13:20 GMT");
    let _ = SystemTime::now();
}

pub(crate) const SEND_OTP_OK: &str = include_str!("../fixtures/send_otp.json");
pub(crate) const SEND_OTP_STATUS0_NO_REF: &str =
    include_str!("../fixtures/send_otp_status0_no_ref.json");
pub(crate) const REFUND_DONE: &str = include_str!("../fixtures/refund_done.json");
pub(crate) const TRANSACTION: &str = include_str!("../fixtures/transaction.json");
pub(crate) const WRONG_OTP: &str = include_str!("../fixtures/wrong_otp.json");
