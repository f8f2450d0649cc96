//! httpmock shortcuts for the mocks that only answer: which requests, and the reply. A mock that
//! checks what was sent (a header, a form, a JSON body) is still written out with `mock_async`.

use std::time::Duration;

use httpmock::Method::POST;
use httpmock::{Mock, MockServer, When};

/// What a mock answers: a status and a body, at once or after a delay.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    status: u16,
    body: &'a str,
    delay: Duration,
}

/// `status` with `body`, at once.
pub const fn reply(status: u16, body: &str) -> Reply<'_> {
    Reply { status, body, delay: Duration::ZERO }
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

async fn answer<'s>(
    server: &'s MockServer,
    reply: Reply<'_>,
    requests: impl FnOnce(When) -> When,
) -> Mock<'s> {
    let Reply { status, body, delay } = reply;
    server
        .mock_async(|when, then| {
            requests(when);
            then.status(status).body(body).delay(delay);
        })
        .await
}
