//! The shared HTTP transport: one `reqwest::Client`, timeouts, a response size cap, and retries
//! decided by each operation's declared [`Idempotency`], never guessed.
//!
//! The rules, in one place:
//!
//! | failure | `Safe` | `Keyed` | `Unsafe` | error when retries run out |
//! |---|---|---|---|---|
//! | connect refused / DNS (never left) | retry | retry | retry | `Unavailable` |
//! | HTTP 429 / 503 (not processed) | retry | retry | no | `Unavailable` with `Retry-After` |
//! | timeout after sending, connection lost, HTTP 500/502/504 | retry | retry | no | `Safe`: `Unavailable`; otherwise `OutcomeUnknown` |
//! | 2xx body too large | no | no | no | `Safe`: `Unavailable`; otherwise `OutcomeUnknown` |
//!
//! Once an attempt may have been processed, the call's error stays `OutcomeUnknown` (for `Keyed`
//! and `Unsafe` operations) even if a later retry is answered 429 / 503 or refused: those say
//! nothing about the earlier attempt.
//!
//! Every other response (2xx, 4xx, other 5xx) goes back to the provider crate, which decodes it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use tracing::Instrument;

use crate::error::{BoxError, DeclineReason, Error, ProviderReply, Result};
use crate::ids::{InsecureHttp, parse_base_url};
use crate::request::PreparedRequest;
use crate::token::{Clock, SystemClock};

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("refund-rs/", env!("CARGO_PKG_VERSION"));

/// Default cap on a response body: 1 MiB. A larger body is an error, never an out-of-memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether an operation may be repeated, declared by the provider crate for each operation.
///
/// ```
/// use refund_core::Idempotency;
/// assert!(Idempotency::Keyed.may_repeat_after_sending());
/// assert!(!Idempotency::Unsafe.may_repeat_after_sending());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Idempotency {
    /// Reads and OTP (re)sends: repeating has no effect on money.
    Safe,
    /// The provider deduplicates by a reference we send and reuse on every attempt (AOC's
    /// `spTransID`): repeating is safe because the reference stays the same.
    Keyed,
    /// Moves money with no deduplication (DigiPay refund, BOS claim, Eko refund): repeated only
    /// when the request provably never left this process.
    Unsafe,
}

impl Idempotency {
    /// Whether a request that may have reached the provider can be sent again.
    pub const fn may_repeat_after_sending(self) -> bool {
        matches!(self, Idempotency::Safe | Idempotency::Keyed)
    }
}

/// One provider operation: who, what, and whether it may be repeated.
///
/// ```
/// use refund_core::{Idempotency, Operation};
/// const REFUND: Operation = Operation::new("aoc", "refund", Idempotency::Keyed);
/// assert_eq!(REFUND.name(), "refund");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    provider: &'static str,
    name: &'static str,
    idempotency: Idempotency,
}

impl Operation {
    /// Declares an operation.
    pub const fn new(provider: &'static str, name: &'static str, idempotency: Idempotency) -> Self {
        Operation { provider, name, idempotency }
    }
    /// The provider's name.
    pub const fn provider(&self) -> &'static str {
        self.provider
    }
    /// The operation's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
    /// Its declared idempotency.
    pub const fn idempotency(&self) -> Idempotency {
        self.idempotency
    }
    /// A [`ProviderReply`] for this operation with nothing else filled in.
    pub fn reply(&self) -> ProviderReply {
        ProviderReply::new(self.provider, self.name)
    }

    /// The error for an answer that arrived but cannot be understood (a 2xx body that is empty,
    /// HTML, malformed, of the wrong shape, or self-contradictory).
    ///
    /// The request may have been processed, so for an operation that moves money this is
    /// [`Error::OutcomeUnknown`]: read the status first. For a [`Idempotency::Safe`] operation (a
    /// read, an OTP resend) "read the status first" would be circular: nothing moved, and the call
    /// is safe to repeat, so it is [`Error::Unavailable`]. Every provider crate uses this one rule.
    ///
    /// ```
    /// use refund_core::{Idempotency, Operation};
    /// const STATUS: Operation = Operation::new("aoc", "refund_status", Idempotency::Safe);
    /// const REFUND: Operation = Operation::new("aoc", "refund", Idempotency::Keyed);
    /// assert_eq!(STATUS.unreadable_answer(STATUS.reply(), "not JSON", None).kind(), "unavailable");
    /// assert_eq!(REFUND.unreadable_answer(REFUND.reply(), "not JSON", None).kind(), "outcome_unknown");
    /// ```
    pub fn unreadable_answer(
        &self,
        reply: ProviderReply,
        detail: impl Into<String>,
        source: Option<BoxError>,
    ) -> Error {
        let detail = detail.into();
        match self.idempotency {
            Idempotency::Safe => Error::Unavailable {
                reply: Box::new(reply),
                detail: format!("{detail}; this call changes nothing and is safe to repeat"),
                retry_after: None,
                source,
            },
            Idempotency::Keyed | Idempotency::Unsafe => {
                Error::outcome_unknown(reply, detail, source)
            }
        }
    }
}

/// How retries are spaced and bounded: exponential backoff with full jitter, a maximum number of
/// attempts and a total deadline. A `Retry-After` from the provider is honoured when it fits in the
/// deadline.
///
/// ```
/// use std::time::Duration;
/// use refund_core::RetryPolicy;
/// let policy = RetryPolicy::default().max_attempts(5).initial_backoff(Duration::from_millis(50));
/// assert_eq!(policy.get_max_attempts(), 5);
/// let none = RetryPolicy::never();
/// assert_eq!(none.get_max_attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, backoff from 200 ms up to 5 s, within 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn never() -> Self {
        RetryPolicy { max_attempts: 1, ..Self::default() }
    }
    /// Total attempts, including the first (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
    crate::with_setters! {
        /// The backoff cap before the first retry; it doubles each retry.
        initial_backoff => initial_backoff = Duration,
        /// The largest backoff cap.
        max_backoff => max_backoff = Duration,
        /// No retry starts after this much time since the first attempt.
        deadline => deadline = Duration,
    }
    /// Total attempts allowed.
    pub fn get_max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Full jitter: a random delay in `[0, min(max, initial * 2^retry)]`.
    fn backoff(&self, retry: u32) -> Duration {
        let cap = self.initial_backoff.saturating_mul(1u32 << retry.min(16)).min(self.max_backoff);
        let cap_micros = u64::try_from(cap.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(fastrand::u64(0..=cap_micros))
    }
}

/// A response the transport did not classify itself, for the provider crate to decode.
#[derive(Clone)]
pub struct RawResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    earlier_attempt_maybe_processed: bool,
}

impl RawResponse {
    /// A response from parts (for tests and custom transports).
    pub fn new(status: u16, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        RawResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            body: body.into(),
            earlier_attempt_maybe_processed: false,
        }
    }
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
    /// The response headers. Their values share the connection's read buffer with hyper, which
    /// is fine for the one call's decoding a `RawResponse` is for; copy a value you keep longer
    /// (the body is already a copy of its own).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The body (at most the transport's size cap).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
    /// Whether an earlier attempt of this call timed out or lost its connection after sending, so
    /// that it may have been processed even though this response came from a later attempt.
    pub fn earlier_attempt_maybe_processed(&self) -> bool {
        self.earlier_attempt_maybe_processed
    }

    /// Qualifies an error decoded from this response: an [`Error::Unavailable`] ("not processed")
    /// of a money-moving call becomes [`Error::OutcomeUnknown`] when an earlier attempt may have
    /// been processed. Otherwise a caller would retry under a fresh reference and refund twice
    /// (e.g. AOC's "transaction in progress" answering a retry whose first try went through).
    /// Provider crates pass every decoded error of a `Keyed` call through this (an `Unsafe` call is
    /// never repeated once it may have been sent, so the question does not arise for it).
    pub fn qualify(&self, op: &Operation, error: Error) -> Error {
        qualify_after_ambiguity(op, error, self.earlier_attempt_maybe_processed)
    }

    /// A [`ProviderReply`] for `op` with this response's status and a body excerpt.
    pub fn reply(&self, op: &Operation) -> ProviderReply {
        op.reply().with_http_status(self.status()).with_body_excerpt(&self.body)
    }

    /// The checks every provider's decoder makes before reading the provider's own fields, given
    /// the body as the provider parsed it and the reply an error carries:
    ///
    /// - HTTP 401 or 403: [`Error::Auth`];
    /// - any answer neither 2xx nor 4xx: a 5xx the transport passed on (501, 505, ...), or a 3xx
    ///   (redirects are not followed, and a redirect proves nothing about the refund):
    ///   [`Operation::unreadable_answer`], so "outcome unknown" for a call that moves money;
    /// - a 2xx body that did not parse: [`Operation::unreadable_answer`] with the parser's detail;
    /// - a 4xx whose body did not parse (an HTML page): [`Error::Declined`] with
    ///   [`DeclineReason::InvalidRequest`], a definite rejection without the provider's reason.
    ///
    /// Otherwise the parsed body, for the provider's own codes.
    ///
    /// ```
    /// use refund_core::{Idempotency, Operation, RawResponse};
    /// const REFUND: Operation = Operation::new("demo", "refund", Idempotency::Unsafe);
    /// let raw = RawResponse::new(200, Default::default(), "<html>");
    /// let parsed = serde_json::from_slice::<serde_json::Value>(raw.body());
    /// let err = raw.preamble(&REFUND, parsed, || raw.reply(&REFUND)).unwrap_err();
    /// assert_eq!(err.kind(), "outcome_unknown");
    /// let raw = RawResponse::new(401, Default::default(), "{}");
    /// let parsed = serde_json::from_slice::<serde_json::Value>(raw.body());
    /// assert_eq!(raw.preamble(&REFUND, parsed, || raw.reply(&REFUND)).unwrap_err().kind(), "auth");
    /// let raw = RawResponse::new(302, Default::default(), "{}");
    /// let parsed = serde_json::from_slice::<serde_json::Value>(raw.body());
    /// let err = raw.preamble(&REFUND, parsed, || raw.reply(&REFUND)).unwrap_err();
    /// assert_eq!(err.kind(), "outcome_unknown");
    /// ```
    pub fn preamble<T, E: fmt::Display>(
        &self,
        op: &Operation,
        parsed: std::result::Result<T, E>,
        reply: impl FnOnce() -> ProviderReply,
    ) -> Result<T> {
        let status = self.status();
        if matches!(status, 401 | 403) {
            return Err(Error::auth(reply()));
        }
        if !self.is_success() && !(400..500).contains(&status) {
            return Err(op.unreadable_answer(
                reply(),
                format!("{} answered HTTP {status}", op.provider()),
                None,
            ));
        }
        match parsed {
            Ok(parsed) => Ok(parsed),
            Err(detail) if self.is_success() => {
                Err(op.unreadable_answer(reply(), detail.to_string(), None))
            }
            Err(_) => Err(Error::declined(DeclineReason::InvalidRequest, reply())),
        }
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Sends [`PreparedRequest`]s over one shared `reqwest::Client` and applies the retry rules.
/// Cheap to clone: clones share the connection pool.
///
/// ```no_run
/// use refund_core::{Idempotency, Operation, PreparedRequest, Transport};
/// # async fn run() -> refund_core::Result<()> {
/// let transport = Transport::builder().build()?;
/// const READ: Operation = Operation::new("demo", "status", Idempotency::Safe);
/// let response = transport
///     .send(&READ, |_attempt| Ok(PreparedRequest::get("https://example.com/".parse().unwrap())))
///     .await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Transport {
    inner: Arc<TransportInner>,
}

struct TransportInner {
    client: reqwest::Client,
    timeout: Duration,
    max_response_bytes: usize,
    retry: RetryPolicy,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Transport`]. Provider client builders hold one and delegate their `timeout`,
/// `http_client` and `retry_policy` setters to it, so every provider builds its transport alike.
#[derive(Default, Clone)]
pub struct TransportBuilder {
    client: Option<reqwest::Client>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    max_response_bytes: Option<usize>,
    retry: Option<RetryPolicy>,
    insecure_http: InsecureHttp,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("timeout", &self.timeout)
            // reqwest's own Debug lists its internals; whose pool it is is what matters here.
            .field("http_client", &self.client.as_ref().map(|_| "custom"))
            .field("retry_policy", &self.retry)
            .field("insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

impl TransportBuilder {
    crate::with_setters! {
        /// Use this client (and its connection pool) instead of building one. Its own connect
        /// timeout applies; the whole-request timeout below still applies per request.
        client => client: reqwest::Client,
        /// Whole-request timeout, body included (default 30 s), per attempt: reqwest's own
        /// per-request timer. Zero, or a timeout too large to add to the clock (`Duration::MAX`),
        /// is refused by [`TransportBuilder::build`].
        timeout => timeout: Duration,
        /// Connect timeout for the client this builder creates (default 10 s).
        connect_timeout => connect_timeout: Duration,
        /// Largest response body accepted (default 1 MiB).
        max_response_bytes => max_response_bytes: usize,
        /// The retry policy (default [`RetryPolicy::default`]).
        retry_policy => retry: RetryPolicy,
        /// The clock for token expiry and request timestamps (default [`SystemClock`]).
        clock => clock: Arc<dyn Clock>,
        /// Allow plain `http` to a non-loopback host (default: only `https`, or `http` to
        /// loopback).
        insecure_http => insecure_http = InsecureHttp,
    }
    /// Checks a provider's base URL with this builder's [`InsecureHttp`] setting
    /// ([`parse_base_url`]).
    pub fn parse_base_url(&self, text: &str) -> Result<url::Url> {
        parse_base_url(text, self.insecure_http)
    }
    /// The clock set, or the system's.
    pub fn clock_or_system(&self) -> Arc<dyn Clock> {
        self.clock.clone().unwrap_or_else(|| Arc::new(SystemClock))
    }
    /// Builds the transport.
    pub fn build(self) -> Result<Transport> {
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::invalid_input("timeout", "must be greater than zero"));
        }
        // Every attempt's deadline is now + timeout: a timeout that cannot be added to the clock
        // is refused here, never an overflow mid-call.
        if Instant::now().checked_add(timeout).is_none() {
            return Err(Error::invalid_input(
                "timeout",
                format!("{timeout:?} is too large to add to the clock; use at most a few hours"),
            ));
        }
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .user_agent(USER_AGENT)
                // A refund API that redirects is misconfigured; following it could resend a body.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| Error::config_from("could not build the HTTP client", e))?,
        };
        Ok(Transport {
            inner: Arc::new(TransportInner {
                client,
                timeout,
                max_response_bytes: self.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
                retry: self.retry.unwrap_or_default(),
            }),
        })
    }
}

/// What went wrong with one attempt, before deciding whether to retry.
enum AttemptFailure {
    /// The request never left: safe to repeat whatever the operation.
    NotSent(BoxError),
    /// The provider said it did not process the request (429, 503).
    NotProcessed { response: RawResponse, retry_after: Option<Duration> },
    /// The request may have been processed (timeout, lost connection, 500/502/504).
    Ambiguous { detail: String, response: Option<RawResponse>, source: Option<BoxError> },
    /// Definitive and not worth repeating (2xx body too large).
    Final(Error),
}

impl Transport {
    /// A builder with the defaults.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }

    /// The whole-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Sends like [`Transport::send`], then decodes the answer with `decode` and passes its error
    /// through [`RawResponse::qualify`]: the one path every provider call takes, so no provider
    /// can forget that an earlier attempt may have been processed.
    ///
    /// ```no_run
    /// use refund_core::{Idempotency, Operation, PreparedRequest, Transport};
    /// # async fn run() -> refund_core::Result<()> {
    /// const READ: Operation = Operation::new("demo", "status", Idempotency::Safe);
    /// let transport = Transport::builder().build()?;
    /// let url: refund_core::url::Url = "https://example.com/".parse().unwrap();
    /// let status = transport
    ///     .call(&READ, |_| Ok(PreparedRequest::get(url.clone())), |raw| Ok(raw.status()))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<F, T>(
        &self,
        op: &Operation,
        build: F,
        decode: impl FnOnce(&RawResponse) -> Result<T>,
    ) -> Result<T>
    where
        F: Fn(u32) -> Result<PreparedRequest>,
    {
        let raw = self.send(op, build).await?;
        decode(&raw).map_err(|e| raw.qualify(op, e))
    }

    /// Sends the request that `build` makes (called once per attempt, with the attempt number from
    /// 1, so signatures and timestamps are fresh) and applies `op`'s retry rules.
    ///
    /// Returns the response for the provider crate to decode, or the classified error.
    pub async fn send<F>(&self, op: &Operation, build: F) -> Result<RawResponse>
    where
        F: Fn(u32) -> Result<PreparedRequest>,
    {
        let span = tracing::info_span!(
            "refund_call",
            provider = op.provider(),
            operation = op.name(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        self.send_in_span(op, &build).instrument(span).await
    }

    /// The retry loop, inside the call's `refund_call` span, which gets the attempt, status and
    /// latency recorded.
    async fn send_in_span<F>(&self, op: &Operation, build: &F) -> Result<RawResponse>
    where
        F: Fn(u32) -> Result<PreparedRequest>,
    {
        let started = Instant::now();
        let mut attempt = 1;
        // Whether an earlier attempt may have reached the provider and been processed. A later
        // "not processed" answer (429, 503, connection refused) says nothing about that attempt.
        let mut maybe_processed = false;
        loop {
            let request = build(attempt)?;
            tracing::Span::current().record("attempt", attempt);
            let attempt_started = Instant::now();
            let sent = self.start(request);
            let outcome = self.attempt(op, sent).await;
            tracing::Span::current().record("latency_ms", millis(attempt_started.elapsed()));
            // Decided in a plain function, so that only the delay is held across the backoff's
            // await, not the 176-byte outcome: every call's future is sized for its largest state.
            match self.next_step(op, outcome, attempt, started, &mut maybe_processed) {
                Step::Done(result) => return result,
                Step::RetryAfter(delay) => {
                    tracing::info!(attempt, delay_ms = millis(delay), "retrying");
                    // Boxed: a retry is rare, and a `Sleep` held inline would grow every call's
                    // future.
                    Box::pin(tokio::time::sleep(delay)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// What follows an attempt: its result, or a retry after a delay (only when the operation's
    /// idempotency, the attempt budget and the deadline all allow one).
    fn next_step(
        &self,
        op: &Operation,
        outcome: Result<RawResponse, AttemptFailure>,
        attempt: u32,
        started: Instant,
        maybe_processed: &mut bool,
    ) -> Step {
        let policy = &self.inner.retry;
        let failure = match outcome {
            Ok(mut response) => {
                response.earlier_attempt_maybe_processed = *maybe_processed;
                tracing::Span::current().record("status", response.status());
                tracing::debug!(status = response.status(), "response received");
                return Step::Done(Ok(response));
            }
            Err(failure) => failure,
        };
        let earlier_maybe_processed = *maybe_processed;
        *maybe_processed |= matches!(failure, AttemptFailure::Ambiguous { .. });
        let repeatable = op.idempotency().may_repeat_after_sending();
        let (may_retry, retry_after) = match &failure {
            AttemptFailure::NotSent(_) => (true, None),
            AttemptFailure::NotProcessed { retry_after, .. } => (repeatable, *retry_after),
            AttemptFailure::Ambiguous { .. } => (repeatable, None),
            AttemptFailure::Final(_) => (false, None),
        };
        let delay = policy.backoff(attempt - 1).max(retry_after.unwrap_or_default());
        // Saturating: a `Retry-After` of u64::MAX seconds must not overflow.
        let within_deadline = started.elapsed().saturating_add(delay) <= policy.deadline;
        if may_retry && attempt < policy.max_attempts && within_deadline {
            return Step::RetryAfter(delay);
        }
        let error = self.final_error(op, failure, attempt);
        Step::Done(Err(qualify_after_ambiguity(op, error, earlier_maybe_processed)))
    }

    fn final_error(&self, op: &Operation, failure: AttemptFailure, attempts: u32) -> Error {
        let tries = format!("{attempts} attempt{}", if attempts == 1 { "" } else { "s" });
        match failure {
            AttemptFailure::NotSent(source) => Error::Unavailable {
                reply: Box::new(op.reply()),
                detail: format!("could not connect (the request was not sent; {tries})"),
                retry_after: None,
                source: Some(source),
            },
            AttemptFailure::NotProcessed { response, retry_after } => Error::unavailable(
                response.reply(op),
                format!("the provider did not process the request ({tries})"),
                retry_after,
            ),
            // The one rule of `Operation::unreadable_answer`: unavailable for a `Safe` call.
            AttemptFailure::Ambiguous { detail, response, source } => op.unreadable_answer(
                response.map_or_else(|| op.reply(), |r| r.reply(op)),
                format!("{detail} ({tries})"),
                source,
            ),
            AttemptFailure::Final(error) => error,
        }
    }

    /// The cause to report for a failed attempt: reqwest's error, named as our timeout when it is
    /// one.
    fn cause(&self, error: reqwest::Error) -> BoxError {
        if error.is_timeout() {
            Box::new(TimedOut { timeout: self.inner.timeout, source: error })
        } else {
            error.into()
        }
    }

    /// Hands the request to reqwest. Not `async`: the request (≈ 300 bytes) is moved into
    /// reqwest's own boxed future here, instead of being stored in every caller's future, which
    /// callers box or spawn per call (docs/performance.md).
    ///
    /// The whole-request timeout is reqwest's: it covers connecting, sending and reading the
    /// body, and a body read cut short by it reports `is_timeout()`.
    fn start(
        &self,
        request: PreparedRequest,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
        // The request is ours (built for this attempt): its parts move into a `reqwest::Request`
        // built directly, no copies (`RequestBuilder::headers` would copy every header).
        let (method, url, mut headers, body) = request.into_parts();
        headers.append(http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT));
        let mut outgoing = reqwest::Request::new(method, url);
        *outgoing.headers_mut() = headers;
        *outgoing.timeout_mut() = Some(self.inner.timeout);
        *outgoing.body_mut() = body.map(reqwest::Body::from);
        self.inner.client.execute(outgoing)
    }

    async fn attempt(
        &self,
        op: &Operation,
        sent: impl Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Result<RawResponse, AttemptFailure> {
        // One match, no named intermediate: a binding here would be kept across the body read
        // below and grow every call's future.
        let mut response = match sent.await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Err(AttemptFailure::NotSent(e.into())),
            Err(e) if e.is_builder() => {
                let error = Error::config_from("the request could not be built", e);
                return Err(AttemptFailure::Final(error));
            }
            Err(e) => {
                let detail = if e.is_timeout() {
                    "timed out waiting for the response after sending"
                } else {
                    "the connection failed after the request was sent"
                };
                return Err(AttemptFailure::Ambiguous {
                    detail: detail.into(),
                    response: None,
                    source: Some(self.cause(e)),
                });
            }
        };
        let status = response.status();
        let cap = self.inner.max_response_bytes;
        let (body, body_error) = read_capped(&mut response, cap).await;
        // Taken after the body, not before: a map held across that await would grow the future.
        let headers = std::mem::take(response.headers_mut());
        let raw = RawResponse { status, headers, body, earlier_attempt_maybe_processed: false };
        match status.as_u16() {
            429 | 503 => {
                let retry_after = parse_retry_after(&raw.headers);
                Err(AttemptFailure::NotProcessed { response: raw, retry_after })
            }
            500 | 502 | 504 => Err(AttemptFailure::Ambiguous {
                detail: format!("the provider answered HTTP {}", status.as_u16()),
                response: Some(raw),
                source: None,
            }),
            _ if status.is_success() => match body_error {
                None => Ok(raw),
                // An answer we cannot read: OutcomeUnknown for a call that moves money,
                // Unavailable for a Safe one (the one rule of `Operation::unreadable_answer`).
                // Never repeated: the same answer would come back.
                Some(BodyError::TooLarge) => Err(AttemptFailure::Final(op.unreadable_answer(
                    raw.reply(op),
                    format!(
                        "the response body is larger than the {cap}-byte limit and was not read"
                    ),
                    None,
                ))),
                Some(BodyError::Read(e)) => Err(AttemptFailure::Ambiguous {
                    detail: if e.is_timeout() {
                        "timed out reading the response body".into()
                    } else {
                        "the connection was lost while reading the response".into()
                    },
                    response: Some(raw),
                    source: Some(self.cause(e)),
                }),
            },
            // Any other status is a definite answer; a body cut short still carries the status.
            _ => Ok(raw),
        }
    }
}

/// Whole milliseconds, for the logs.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What the retry loop does after an attempt.
enum Step {
    Done(Result<RawResponse>),
    RetryAfter(Duration),
}

/// An earlier attempt timed out or lost its connection after sending: it may have been processed,
/// whatever the last attempt heard. "Not processed" would invite a new request (a new reference)
/// and a second refund, so for a money-moving call it becomes "outcome unknown".
fn qualify_after_ambiguity(op: &Operation, error: Error, earlier_maybe_processed: bool) -> Error {
    match error {
        Error::Unavailable { reply, detail, source, .. }
            if earlier_maybe_processed && op.idempotency() != Idempotency::Safe =>
        {
            Error::OutcomeUnknown {
                reply,
                detail: format!(
                    "an earlier attempt may have been processed (it timed out or lost its \
                     connection after sending); the last one: {detail}"
                ),
                source,
            }
        }
        other => other,
    }
}

/// Why a body was not read in full.
enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The source of a timeout error: which limit passed, so an operator knows what to raise.
#[derive(Debug, thiserror::Error)]
#[error("no complete answer within the {timeout:?} whole-request timeout")]
struct TimedOut {
    timeout: Duration,
    #[source]
    source: reqwest::Error,
}

/// Reads at most `cap` bytes of the body into a buffer of our own: what arrived, and why it
/// stopped short if it did.
///
/// hyper hands out the body as slices of the connection's read buffer (8 KiB and more); a record
/// keeping one as its raw JSON pinned that whole buffer, shared with a connection (often on
/// another thread) that goes on reading into it. Copying the few hundred bytes we keep costs less
/// (docs/performance.md, "Fourth pass"; tests/retained_memory.rs). The headers stay slices: a
/// `RawResponse` lives for one call's decoding.
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> (Bytes, Option<BodyError>) {
    let announced = response.content_length();
    if announced.is_some_and(|len| len > cap as u64) {
        return (Bytes::new(), Some(BodyError::TooLarge));
    }
    // Sized once when the length is announced, at most 64 KiB up front: a length is a claim, and
    // a body that is longer still grows the buffer up to the cap.
    let up_front = announced.map_or(0, |len| usize::try_from(len).unwrap_or(cap).min(64 * 1024));
    let mut body = BytesMut::with_capacity(up_front);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    return (body.freeze(), Some(BodyError::TooLarge));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return (body.freeze(), None),
            Err(e) => return (body.freeze(), Some(BodyError::Read(e))),
        }
    }
}

/// Reads `Retry-After` as delta-seconds or as an HTTP-date (relative to the local clock).
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(text)?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// Parses an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, and the obsolete forms RFC 9110 says
/// recipients must accept), as servers send in `Date` and `Retry-After`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = refund_core::parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT").unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// assert!(refund_core::parse_http_date("yesterday").is_none());
/// ```
pub fn parse_http_date(text: &str) -> Option<std::time::SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_cap() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1));
        for retry in 0..40 {
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << retry.min(16))
                .min(Duration::from_secs(1));
            assert!(policy.backoff(retry) <= cap);
        }
    }

    #[test]
    fn retry_after_seconds() {
        let after = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from_str(value).unwrap());
            parse_retry_after(&headers)
        };
        assert_eq!(after("7"), Some(Duration::from_secs(7)));
        // A date in the past means "now".
        assert_eq!(after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let wait = after(&soon).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        assert_eq!(after("soon"), None);
    }
}
