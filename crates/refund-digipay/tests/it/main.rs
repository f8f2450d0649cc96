//! Integration tests of the DigiPay client against httpmock.
#![allow(clippy::unwrap_used)] // reason: tests fail by panicking

mod direct;
mod refund;
mod replies;
mod secrets;
mod token;
mod transport;

use std::time::Duration;

use httpmock::{Mock, MockServer, When};
use refund_core::{Currency, Money};
use refund_digipay::{DigiPayClient, DigiPayClientBuilder, WalletRefundRequest};
use refund_testkit::mock::Reply;
use refund_testkit::retries;

pub(crate) const TOKEN: &str = "duik7309njdlkhdauhknksadhjkas986876sd873j";
pub(crate) const COMPANY: &str = "76bc712200ca444fa334f9e55e5fd7a8";
pub(crate) const TXN: &str = "bcdc063cf4844eea82e1c0e68a2360e8";
pub(crate) const REFUND_PATH: &str = "/digipay/v3/transaction/wallet_refund_money";
pub(crate) const AUTH_PATH: &str = "/digipay/v3/auth/authenticate";
pub(crate) const CLIENT_ID: &str = "client-id-1";
pub(crate) const CLIENT_SECRET: &str = "client-secret-xyz";

pub(crate) const SUCCESS: &str = include_str!("../fixtures/refund_success.json");
pub(crate) const DECLINED: &str = include_str!("../fixtures/refund_declined.json");
pub(crate) const PAGE_400: &str = include_str!("../fixtures/refund_bad_request_page.txt");

pub(crate) fn builder_for(server: &MockServer) -> DigiPayClientBuilder {
    builder_at(server.base_url())
}

/// The tests' client settings (no credentials), for DigiPay at `base_url`.
pub(crate) fn builder_at(base_url: String) -> DigiPayClientBuilder {
    DigiPayClient::builder()
        .base_url(base_url)
        .company_id(COMPANY)
        .timeout(Duration::from_millis(300))
        .retry_policy(retries(3))
}

/// Answers `POST REFUND_PATH` with `reply` when the request also passes `also`.
pub(crate) async fn refund_mock<'s>(
    server: &'s MockServer,
    also: impl FnOnce(When) -> When,
    reply: Reply<'_>,
) -> Mock<'s> {
    refund_testkit::mock::post_where(server, REFUND_PATH, also, reply).await
}

pub(crate) fn client_for(server: &MockServer) -> DigiPayClient {
    builder_for(server).token(TOKEN).build().unwrap()
}

pub(crate) fn inr(text: &str) -> Money {
    Money::parse(text, Currency::Inr).unwrap()
}

pub(crate) fn request(amount: &str) -> WalletRefundRequest {
    WalletRefundRequest::builder(TXN, inr(amount))
        .txn_code("MR / CR")
        .payment_mode(2)
        .note("Refund Money")
        .build()
        .unwrap()
}
