//! Integration tests of the AOC client against httpmock.

#![allow(clippy::unwrap_used)] // reason: tests fail loudly on any unexpected error

mod config;
mod failures;
mod retry;
mod secrets;
mod status;
mod wire_format;

use std::collections::BTreeMap;
use std::time::Duration;

use httpmock::{HttpMockRequest, MockServer};
use refund_aoc::{AocClient, AocClientBuilder, AocRefundRequest};
use refund_core::{Currency, Money, RefundReference, TransactionId};
use refund_testkit::retries;

pub(crate) const API_KEY: &str = "aoc-K3y-Do-Not-Leak";
pub(crate) const USERNAME: &str = "merchant-1";
pub(crate) const SP: &str = "201903192030-test1";

pub(crate) fn builder_for(server: &MockServer) -> AocClientBuilder {
    builder_at(server.base_url())
}

/// The tests' client settings, for AOC at `base_url`.
pub(crate) fn builder_at(base_url: String) -> AocClientBuilder {
    AocClient::builder()
        .base_url(base_url)
        .username(USERNAME)
        .api_key(API_KEY)
        .timeout(Duration::from_secs(5))
        .retry_policy(retries(3))
}

pub(crate) fn client_for(server: &MockServer) -> AocClient {
    builder_for(server).build().expect("client builds")
}

pub(crate) fn request(amount: &str) -> AocRefundRequest {
    AocRefundRequest::new(
        TransactionId::new("12345").expect("id"),
        Money::parse(amount, Currency::Myr).expect("amount"),
    )
    .with_sp_trans_id(RefundReference::new(SP).expect("reference"))
}

/// The request's form fields; `None` if a field appears twice.
pub(crate) fn form(req: &HttpMockRequest) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(req.body_ref()) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(out)
}

/// A matcher: the form has exactly these fields and values, nothing extra, and the content type.
pub(crate) fn exact_form(
    expected: &[(&str, &str)],
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static + use<> {
    let expected: BTreeMap<String, String> =
        expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |req| {
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default();
        content_type == "application/x-www-form-urlencoded" && form(req).as_ref() == Some(&expected)
    }
}

pub(crate) fn refund_fields(amount: &str) -> Vec<(&'static str, String)> {
    vec![
        ("apiKey", API_KEY.to_owned()),
        ("username", USERNAME.to_owned()),
        ("spTransID", SP.to_owned()),
        ("aocTransID", "12345".to_owned()),
        ("amount", amount.to_owned()),
    ]
}

pub(crate) fn refund_form(
    amount: &str,
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static + use<> {
    let fields = refund_fields(amount);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    exact_form(&borrowed)
}

pub(crate) fn status_form(
    sp: &str,
) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static + use<> {
    exact_form(&[("apiKey", API_KEY), ("username", USERNAME), ("spTransID", sp)])
}

pub(crate) fn answer(
    status: &str,
    amount: &str,
    correlator: &str,
    code: &str,
    message: &str,
) -> String {
    serde_json::json!({"data": {
        "aocTransID": "12345",
        "transactionOperationStatus": status,
        "amountRefunded": amount,
        "clientCorrelator": correlator,
        "errorCode": code,
        "errorMessage": message,
    }})
    .to_string()
}

pub(crate) fn denied(code: &str, message: &str) -> String {
    answer("denied", "0.00", "", code, message)
}

pub(crate) const SUCCESS: &str = include_str!("../fixtures/refund_success.json");
