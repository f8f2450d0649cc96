//! Integration tests of the BOS client against httpmock.
// Tests assert with unwrap.
#![allow(clippy::unwrap_used)]

mod auth;
mod qr;
mod refund;
mod secrets;
mod status;

use std::time::Duration;

use httpmock::MockServer;
use refund_bos::{BosClient, BosClientBuilder};
use refund_testkit::retries;

pub(crate) const CLAIM_OK: &str = include_str!("../fixtures/claim_ok.json");
pub(crate) const AUTH_401: &str = include_str!("../fixtures/auth_401.json");

/// Fast retries, a short timeout, the documented registration id, no token.
pub(crate) fn builder_for(server: &MockServer) -> BosClientBuilder {
    builder_at(server.base_url())
}

/// The same settings, for BOS at `base_url`.
pub(crate) fn builder_at(base_url: String) -> BosClientBuilder {
    BosClient::builder()
        .base_url(base_url)
        .registration_id("BOS-554")
        .timeout(Duration::from_millis(500))
        .retry_policy(retries(3))
}

pub(crate) fn client_for(server: &MockServer) -> BosClient {
    builder_for(server).build().unwrap()
}

pub(crate) fn envelope(status: serde_json::Value, code: i64, message: &str) -> String {
    serde_json::json!({"status": status, "response_code": code, "message": message}).to_string()
}
