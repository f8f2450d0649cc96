//! httpmock shortcuts: which requests a mock matches, and the reply. The plain ones (`any`,
//! `any_post`, `post`) only answer; `post_where` and `matching` take the test's own matchers (a
//! header, a form, a body predicate) and `post_json` checks an exact JSON body, so a mock that
//! checks what was sent no longer spells out `mock_async` either. `each_call` answers each call
//! in turn, for a reply that changes from one call to the next. Any other reply that needs more
//! than a status, a body, one header and a delay is still written out with `mock_async`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use httpmock::Method::POST;
use httpmock::{HttpMockRequest, HttpMockResponse, Mock, MockServer, When};
use serde_json::Value;

/// What a mock answers: a status, a body and at most one header, at once or after a delay.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    status: u16,
    body: &'a str,
    header: Option<(&'a str, &'a str)>,
    delay: Duration,
}

/// `status` with `body`, at once.
pub const fn reply(status: u16, body: &str) -> Reply<'_> {
    Reply { status, body, header: None, delay: Duration::ZERO }
}

impl<'a> Reply<'a> {
    /// The same reply with the header `name: value` (a `Retry-After`, a content type).
    #[must_use]
    pub const fn header(self, name: &'a str, value: &'a str) -> Self {
        Reply { header: Some((name, value)), ..self }
    }

    /// The same reply, labelled `content-type: application/json`.
    #[must_use]
    pub const fn json(self) -> Self {
        self.header("content-type", "application/json")
    }
}

impl Reply<'_> {
    /// The same reply, sent after `delay` (past a client's timeout, say).
    #[must_use]
    pub const fn after(self, delay: Duration) -> Self {
        Reply { delay, ..self }
    }

    /// The same reply, one second late: past the timeouts of a few hundred milliseconds that the
    /// tests give their clients.
    #[must_use]
    pub const fn late(self) -> Self {
        self.after(Duration::from_secs(1))
    }
}

/// Answers every request with `reply`; the mock counts the calls.
pub async fn any<'s>(server: &'s MockServer, reply: Reply<'_>) -> Mock<'s> {
    answer(server, reply, When::any_request).await
}

/// Answers every POST, whatever its path, with `reply`.
pub async fn any_post<'s>(server: &'s MockServer, reply: Reply<'_>) -> Mock<'s> {
    answer(server, reply, |when| when.method(POST)).await
}

/// Answers `POST path` with `reply`.
pub async fn post<'s>(server: &'s MockServer, path: &str, reply: Reply<'_>) -> Mock<'s> {
    answer(server, reply, |when| when.method(POST).path(path)).await
}

/// Answers `POST path` with `reply` when `predicate` holds for the request (an exact form, exact
/// bytes, a signature).
pub async fn post_if<'s>(
    server: &'s MockServer,
    path: &str,
    predicate: impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static,
    reply: Reply<'_>,
) -> Mock<'s> {
    post_where(server, path, |when| when.is_true(predicate), reply).await
}

/// Answers `POST path` with `reply` when the request also passes `also` (the test's own matchers:
/// headers, a form, a body predicate).
pub async fn post_where<'s>(
    server: &'s MockServer,
    path: &str,
    also: impl FnOnce(When) -> When,
    reply: Reply<'_>,
) -> Mock<'s> {
    answer(server, reply, |when| also(when.method(POST).path(path))).await
}

/// Answers `POST path` with `reply` when the request says `content-type: application/json` and its
/// body is exactly the JSON `body` (no field more or less; numbers stay numbers).
pub async fn post_json<'s>(
    server: &'s MockServer,
    path: &str,
    body: Value,
    reply: Reply<'_>,
) -> Mock<'s> {
    post_where(
        server,
        path,
        |when| when.header("content-type", "application/json").json_body(body),
        reply,
    )
    .await
}

/// Answers the requests that pass `requests` (method, path and all, as the test writes them) with
/// `reply`.
pub async fn matching<'s>(
    server: &'s MockServer,
    requests: impl FnOnce(When) -> When,
    reply: Reply<'_>,
) -> Mock<'s> {
    answer(server, reply, requests).await
}

/// Answers the requests that pass `requests` with `answer(n, request)`, where `n` counts them from
/// 1: a reply that changes from one call to the next (a failure, then a success).
pub async fn each_call<'s>(
    server: &'s MockServer,
    requests: impl FnOnce(When) -> When,
    answer: impl Fn(usize, &HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) -> Mock<'s> {
    let calls = AtomicUsize::new(0);
    server
        .mock_async(|when, then| {
            requests(when);
            then.respond_with(move |req: &HttpMockRequest| {
                answer(calls.fetch_add(1, Ordering::SeqCst) + 1, req)
            });
        })
        .await
}

async fn answer<'s>(
    server: &'s MockServer,
    reply: Reply<'_>,
    requests: impl FnOnce(When) -> When,
) -> Mock<'s> {
    let Reply { status, body, header, delay } = reply;
    server
        .mock_async(|when, then| {
            requests(when);
            let then = then.status(status).body(body).delay(delay);
            if let Some((name, value)) = header {
                then.header(name, value);
            }
        })
        .await
}
