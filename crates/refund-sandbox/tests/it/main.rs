//! Integration tests: a plain HTTP client speaking each provider's exact wire format to the sandbox.

mod aoc;
mod bos;
mod concurrency;
mod control;
mod digipay;
mod eko;
mod faults;
mod refund_log;
mod transactions;

use refund_sandbox::{RunningSandbox, Sandbox};
use serde_json::Value;

pub(crate) async fn start() -> RunningSandbox {
    Sandbox::builder().build().start().await.expect("sandbox starts")
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().expect("client")
}

/// Sends `request` and reads its JSON answer.
pub(crate) async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.expect("send").json().await.expect("json")
}
