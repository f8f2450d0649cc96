//! The BOS client, its builder, and the calls.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use refund_core::http::HeaderValue;
use refund_core::http::header::AUTHORIZATION;
use refund_core::{
    Capabilities, Clock, DeclineReason, Error, ExposeSecret, FetchedToken, Idempotency,
    InsecureHttp, MASK, Money, Operation, Otp, OtpChallenge, OtpRefund, OtpRefundTarget,
    PreparedBody, PreparedRequest, Provider, RawJson, RawResponse, RefundRecord, RefundStatus,
    RefundStatusRead, Result, RetryPolicy, SecretString, StatusKey, StatusQuery, TokenCache,
    TokenFetcher, Transport, TransportBuilder, async_trait,
};
use url::Url;

use crate::model::{BosTransaction, DynamicQr, UpiIntent};
use crate::wire;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.bos.center";

/// Env var for the base URL (optional; default [`DEFAULT_BASE_URL`]).
pub const ENV_BASE_URL: &str = "BOS_BASE_URL";
/// Env var for a static bearer token (optional; no token when unset).
pub const ENV_TOKEN: &str = "BOS_TOKEN";
/// Env var for the merchant registration id (needed by [`BosClient::dynamic_qr`] only).
pub const ENV_REGISTRATION_ID: &str = "BOS_REGISTRATION_ID";

/// What BOS supports in this SDK.
pub const CAPABILITIES: Capabilities = Capabilities::new("bos", "BOS Center")
    .with_otp_refund(true)
    .with_status_key(StatusKey::OriginalTransaction)
    .with_qr_code(true);

/// BOS's endpoints. Their URLs are joined to the base URL once, when the client is built: joining
/// per call re-parsed the URL on every request (docs/performance.md).
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    RefundOtp,
    ClaimRefund,
    Status,
    DynamicQr,
}

impl Endpoint {
    fn path(self) -> &'static [&'static str] {
        match self {
            Endpoint::RefundOtp => &["api", "BOS", "RefundOTP"],
            Endpoint::ClaimRefund => &["api", "BOS", "ClaimRefund"],
            Endpoint::Status => &["api", "BOS", "TransactStatus"],
            Endpoint::DynamicQr => &["api", "BOS", "V4", "DynamicQRCode"],
        }
    }
}

/// Sends (or resends) the refund OTP: changes nothing, safe to repeat.
const SEND_OTP: Operation = Operation::new("bos", "send_refund_otp", Idempotency::Safe);
/// Claims the refund: moves money and BOS has no deduplication key.
pub(crate) const CLAIM: Operation = Operation::new("bos", "claim_refund", Idempotency::Unsafe);
/// Reads the transfer's status.
const STATUS: Operation = Operation::new("bos", "status", Idempotency::Safe);
/// Creates a QR code: moves no money, but a repeat would create a second payable QR.
const DYNAMIC_QR: Operation = Operation::new("bos", "dynamic_qr", Idempotency::Unsafe);

/// Largest `referenceid` / `ackno` text: 20 digits (the width of `u64`).
const MAX_NUMBER_DIGITS: usize = 20;

/// Where the bearer token comes from.
///
/// BOS publishes no token endpoint, so the SDK takes a token source (PROVIDERS.md, BOS,
/// "Authentication"): none, a fixed token, or a fetcher whose tokens are cached for their lifetime
/// (600 s unless the fetcher says otherwise), refreshed ahead of expiry, fetched once for all
/// concurrent callers, and replaced once on an HTTP 401.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum TokenSource {
    /// No `Authorization` header (the default).
    #[default]
    None,
    /// The same token on every call. A 401 is an [`Error::Auth`].
    Static(SecretString),
    /// Tokens from this fetcher, cached by core's [`TokenCache`].
    Fetcher(Arc<dyn TokenFetcher>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::None => f.write_str("None"),
            TokenSource::Static(_) => write!(f, "Static({MASK})"),
            TokenSource::Fetcher(fetcher) => f.debug_tuple("Fetcher").field(fetcher).finish(),
        }
    }
}

/// A [`TokenFetcher`] from an async closure (see [`BosClientBuilder::token_fetcher_fn`]).
struct FnFetcher<F>(F);

impl<F> fmt::Debug for FnFetcher<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnFetcher")
    }
}

#[async_trait]
impl<F, Fut> TokenFetcher for FnFetcher<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<FetchedToken>> + Send,
{
    async fn fetch(&self) -> Result<FetchedToken> {
        (self.0)().await
    }
}

/// Builds a [`BosClient`]. Every setting is optional: the defaults talk to production without a
/// token.
///
/// ```
/// use std::time::Duration;
/// use refund_bos::BosClient;
/// let client = BosClient::builder()
///     .base_url("https://api.bos.center")
///     .registration_id("BOS-554")
///     .token("my-bearer-token")
///     .timeout(Duration::from_secs(20))
///     .build()?;
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Default)]
pub struct BosClientBuilder {
    base_url: Option<String>,
    registration_id: Option<SecretString>,
    token: TokenSource,
    token_lifetime: Option<Duration>,
    clock: Option<Arc<dyn Clock>>,
    transport: TransportBuilder,
    insecure_http: InsecureHttp,
}

impl fmt::Debug for BosClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BosClientBuilder")
            .field("base_url", &self.base_url)
            .field("registration_id", &self.registration_id.as_ref().map(|_| MASK))
            .field("token", &self.token)
            .field("token_lifetime", &self.token_lifetime)
            .field("transport", &self.transport)
            .field("insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

impl BosClientBuilder {
    /// The base URL (default [`DEFAULT_BASE_URL`]; env `BOS_BASE_URL`).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The merchant registration id (`"BOS-554"`), sent as `RegistrationID` by
    /// [`BosClient::dynamic_qr`] (env `BOS_REGISTRATION_ID`). Masked in `Debug` and dry runs:
    /// the published client secret derives from it alone ([`crate::client_secret`]).
    #[must_use]
    pub fn registration_id(mut self, id: impl Into<String>) -> Self {
        self.registration_id = Some(SecretString::from(id.into()));
        self
    }

    /// A static bearer token (env `BOS_TOKEN`), sent as `Authorization: Bearer <token>`.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = TokenSource::Static(SecretString::from(token.into()));
        self
    }

    /// Tokens from `fetcher`, cached for their lifetime.
    #[must_use]
    pub fn token_fetcher(mut self, fetcher: Arc<dyn TokenFetcher>) -> Self {
        self.token = TokenSource::Fetcher(fetcher);
        self
    }

    /// Tokens from an async closure, cached for their lifetime.
    ///
    /// ```
    /// use refund_core::FetchedToken;
    /// let client = refund_bos::BosClient::builder()
    ///     .token_fetcher_fn(|| async { Ok(FetchedToken::new("fresh-token")) })
    ///     .build()?;
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    #[must_use]
    pub fn token_fetcher_fn<F, Fut>(self, fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<FetchedToken>> + Send + 'static,
    {
        self.token_fetcher(Arc::new(FnFetcher(fetch)))
    }

    /// The token source, in one go.
    #[must_use]
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.token = source;
        self
    }

    /// Lifetime of fetched tokens whose fetcher gives none (default 600 s, BOS's documented value).
    #[must_use]
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = Some(lifetime);
        self
    }

    /// The clock the token cache uses for expiry (default: the system clock). For tests.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Whole-request timeout (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.timeout(timeout);
        self
    }

    /// Share this `reqwest::Client` (and its connection pool).
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.client(client);
        self
    }

    /// Retry policy for what each operation allows (see the crate docs' idempotency table).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry_policy(policy);
        self
    }

    /// Allow plain `http` to a non-loopback host.
    #[must_use]
    pub fn insecure_http(mut self, insecure: InsecureHttp) -> Self {
        self.insecure_http = insecure;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<BosClient> {
        let base_url = refund_core::parse_base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.insecure_http,
        )?;
        if let Some(id) = &self.registration_id {
            check_registration_id(id.expose_secret())?;
        }
        let auth = match self.token {
            TokenSource::None => Auth::None,
            TokenSource::Static(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::config(format!(
                        "the BOS token is empty: set a token with .token(..) or {ENV_TOKEN}"
                    )));
                }
                check_header_text("token", token.expose_secret())?;
                let mut header = HeaderValue::from_str(&bearer_text(token.expose_secret()))
                    .map_err(|_| {
                        Error::invalid_input(
                            "token",
                            "contains characters that cannot be sent in an HTTP header",
                        )
                    })?;
                header.set_sensitive(true);
                Auth::Static(header)
            }
            TokenSource::Fetcher(fetcher) => {
                let mut cache = TokenCache::new(fetcher);
                if let Some(clock) = self.clock {
                    cache = cache.with_clock(clock);
                }
                if let Some(lifetime) = self.token_lifetime {
                    if lifetime.is_zero() {
                        return Err(Error::invalid_input(
                            "token_lifetime",
                            "must be greater than zero",
                        ));
                    }
                    cache = cache.with_default_lifetime(lifetime);
                }
                Auth::Cached(Arc::new(cache))
            }
        };
        let join = |e: Endpoint| refund_core::join_path(&base_url, e.path());
        // In declaration order: `Inner::endpoint_urls` is indexed by `Endpoint as usize`.
        let endpoint_urls = [
            join(Endpoint::RefundOtp)?,
            join(Endpoint::ClaimRefund)?,
            join(Endpoint::Status)?,
            join(Endpoint::DynamicQr)?,
        ];
        Ok(BosClient {
            inner: Arc::new(Inner {
                base_url,
                endpoint_urls,
                registration_id: self.registration_id,
                auth,
                transport: self.transport.build()?,
            }),
        })
    }
}

/// `Bearer <token>`, concatenated (the request path: `format!` costs several times as much).
fn bearer_text(token: &str) -> String {
    let mut text = String::with_capacity(7 + token.len());
    text.push_str("Bearer ");
    text.push_str(token);
    text
}

fn check_registration_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= refund_core::MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "registration_id",
            format!(
                "must be 1 to {} printable ASCII characters without spaces",
                refund_core::MAX_ID_LEN
            ),
        ))
    }
}

fn check_header_text(field: &str, text: &str) -> Result<()> {
    if text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            "contains characters that cannot be sent in an HTTP header",
        ))
    }
}

enum Auth {
    None,
    /// The whole `Authorization: Bearer <token>` value, built and validated once, marked sensitive.
    Static(HeaderValue),
    Cached(Arc<TokenCache>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Static(_) => write!(f, "Static({MASK})"),
            Auth::Cached(_) => f.write_str("Fetched"),
        }
    }
}

/// What goes in the `Authorization` header of one request.
#[derive(Clone, Copy)]
enum Bearer<'a> {
    None,
    /// A static token's prepared header value.
    Header(&'a HeaderValue),
    Token(&'a str),
    /// Dry run of a fetched token: shown as `***`, never fetched.
    Placeholder,
}

struct Inner {
    base_url: Url,
    /// Indexed by `Endpoint as usize`.
    endpoint_urls: [Url; 4],
    registration_id: Option<SecretString>,
    auth: Auth,
    transport: Transport,
}

/// The BOS Center client: refund OTP, refund claim, status, and dynamic UPI QR codes.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`.
///
/// ```no_run
/// use refund_bos::BosClient;
/// use refund_core::Otp;
/// # async fn run() -> refund_core::Result<()> {
/// let client = BosClient::from_env()?;
/// client.send_refund_otp("12345678931", "133").await?;
/// let record = client.claim_refund("12345678931", "133", &Otp::new("576719")?).await?;
/// println!("{}", record.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BosClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for BosClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BosClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("registration_id", &self.inner.registration_id.as_ref().map(|_| MASK))
            .field("auth", &self.inner.auth)
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

/// Validated `referenceid` / `ackno`: digits that fit `u64`, without a leading zero (a JSON number
/// cannot carry one, and dropping it would name a different transfer).
fn parse_number(field: &str, text: &str) -> Result<u64> {
    refund_core::check_digits(field, text, MAX_NUMBER_DIGITS)?;
    if text.len() > 1 && text.starts_with('0') {
        return Err(Error::invalid_input(
            field,
            "must not start with 0: BOS takes it as a JSON number, which cannot carry a leading zero",
        ));
    }
    text.parse::<u64>()
        .map_err(|_| Error::invalid_input(field, "is too large (at most 18446744073709551615)"))
}

/// The OTP as a JSON number. An OTP starting with `0` is refused rather than sent without its zero
/// (`076123` would go out as `76123`, a wrong OTP that burns an attempt): see the crate README.
fn parse_otp(otp: &Otp) -> Result<u64> {
    let digits = otp.expose();
    if digits.starts_with('0') {
        return Err(Error::invalid_input(
            "otp",
            "starts with 0, which BOS cannot receive: it takes the OTP as a JSON number; \
             check the OTP with the customer, or send a new one with send_refund_otp",
        ));
    }
    digits.parse::<u64>().map_err(|_| Error::invalid_input("otp", "must be 4 to 8 digits"))
}

impl BosClient {
    /// A builder with the defaults (production URL, no token, no registration id).
    pub fn builder() -> BosClientBuilder {
        BosClientBuilder::default()
    }

    /// A builder from `BOS_BASE_URL`, `BOS_TOKEN` and `BOS_REGISTRATION_ID` (each optional; an
    /// empty variable counts as unset), which the caller may override before building.
    pub fn builder_from_env() -> BosClientBuilder {
        builder_from_lookup(|name| std::env::var(name).ok())
    }

    /// A client from `BOS_BASE_URL`, `BOS_TOKEN` and `BOS_REGISTRATION_ID`.
    pub fn from_env() -> Result<Self> {
        Self::builder_from_env().build()
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// How many tokens the fetcher has fetched (0 without a fetcher).
    pub fn token_fetch_count(&self) -> u64 {
        match &self.inner.auth {
            Auth::Cached(cache) => cache.fetch_count(),
            _ => 0,
        }
    }

    fn request(
        &self,
        endpoint: Endpoint,
        body: PreparedBody,
        bearer: Bearer<'_>,
    ) -> Result<PreparedRequest> {
        let mut request =
            PreparedRequest::post(self.inner.endpoint_urls[endpoint as usize].clone());
        match bearer {
            Bearer::None => {}
            Bearer::Header(value) => {
                request = request.header_value(AUTHORIZATION, value.clone());
            }
            Bearer::Token(token) => {
                request = request.header("authorization", &bearer_text(token), true)?;
            }
            Bearer::Placeholder => {
                request = request.header("authorization", &bearer_text(MASK), true)?;
            }
        }
        Ok(request.body(body))
    }

    fn dry_run_bearer(&self) -> Bearer<'_> {
        match &self.inner.auth {
            Auth::None => Bearer::None,
            Auth::Static(header) => Bearer::Header(header),
            Auth::Cached(_) => Bearer::Placeholder,
        }
    }

    async fn send_once(
        &self,
        op: &Operation,
        endpoint: Endpoint,
        body: &PreparedBody,
        bearer: Bearer<'_>,
    ) -> Result<RawResponse> {
        self.inner.transport.send(op, |_attempt| self.request(endpoint, body.clone(), bearer)).await
    }

    /// Sends with the current token; with a fetched token, a rejection (HTTP 401 or an auth code)
    /// drops it and repeats the call once with a fresh one (BOS did not process a rejected call, so
    /// even the claim may repeat that once).
    async fn execute(
        &self,
        op: &Operation,
        endpoint: Endpoint,
        body: &PreparedBody,
    ) -> Result<RawResponse> {
        match &self.inner.auth {
            Auth::None => self.send_once(op, endpoint, body, Bearer::None).await,
            Auth::Static(header) => {
                self.send_once(op, endpoint, body, Bearer::Header(header)).await
            }
            // Boxed: the token cache's future (a fetch, a call, maybe one repeat) would otherwise
            // size every call's future, including the static-token ones, past 1 KiB.
            Auth::Cached(cache) => {
                Box::pin(cache.with_token(
                    |token| async move {
                        let bearer = Bearer::Token(token.secret().expose_secret());
                        self.send_once(op, endpoint, body, bearer).await
                    },
                    token_rejected,
                ))
                .await
            }
        }
    }

    // ---- send_refund_otp ----

    fn otp_body(referenceid: &str, ackno: &str) -> Result<PreparedBody> {
        let wire = wire::RefundOtpBody {
            referenceid: parse_number("referenceid", referenceid)?,
            ackno: parse_number("ackno", ackno)?,
        };
        PreparedBody::json(&wire, &[])
    }

    /// The `RefundOTP` request, for a dry run (a fetched token shows as `***`, nothing is fetched).
    pub fn prepare_send_refund_otp(
        &self,
        referenceid: &str,
        ackno: &str,
    ) -> Result<PreparedRequest> {
        self.request(
            Endpoint::RefundOtp,
            Self::otp_body(referenceid, ackno)?,
            self.dry_run_bearer(),
        )
    }

    /// Sends (or resends) the refund OTP to the customer of the failed transfer `referenceid`
    /// (digits, the merchant's reference) with acknowledgement number `ackno`:
    /// `POST /api/BOS/RefundOTP`. Safe to repeat.
    pub async fn send_refund_otp(&self, referenceid: &str, ackno: &str) -> Result<OtpChallenge> {
        let body = Self::otp_body(referenceid, ackno)?;
        let raw = self.execute(&SEND_OTP, Endpoint::RefundOtp, &body).await?;
        let envelope = decode_envelope(&raw, &SEND_OTP)?;
        let target = OtpRefundTarget::new(refund_core::TransactionId::new(referenceid)?)
            .with_acknowledgement(ackno);
        Ok(OtpChallenge::new("bos", target).with_message(envelope.message.unwrap_or_default()))
    }

    // ---- claim_refund ----

    fn claim_body(referenceid: &str, ackno: &str, otp: &Otp) -> Result<PreparedBody> {
        let wire = wire::ClaimRefundBody {
            referenceid: parse_number("referenceid", referenceid)?,
            ackno: parse_number("ackno", ackno)?,
            otp: parse_otp(otp)?,
        };
        Ok(PreparedBody::json_encoded(wire.to_json(), &["otp"]))
    }

    /// The `ClaimRefund` request, for a dry run (the OTP and token show as `***`).
    pub fn prepare_claim_refund(
        &self,
        referenceid: &str,
        ackno: &str,
        otp: &Otp,
    ) -> Result<PreparedRequest> {
        self.request(
            Endpoint::ClaimRefund,
            Self::claim_body(referenceid, ackno, otp)?,
            self.dry_run_bearer(),
        )
    }

    /// Claims the refund of `referenceid`/`ackno` with the customer's OTP:
    /// `POST /api/BOS/ClaimRefund`, all three as JSON numbers.
    ///
    /// Never resent once it may have reached BOS: a timeout or a lost connection is an
    /// [`Error::OutcomeUnknown`]; read [`BosClient::status`] before anything else. An OTP that
    /// starts with `0` is refused before sending (see the README's decisions).
    pub async fn claim_refund(
        &self,
        referenceid: &str,
        ackno: &str,
        otp: &Otp,
    ) -> Result<RefundRecord> {
        let body = Self::claim_body(referenceid, ackno, otp)?;
        let raw = self.execute(&CLAIM, Endpoint::ClaimRefund, &body).await?;
        let envelope = decode_envelope(&raw, &CLAIM)?;
        let mut record = RefundRecord::new("bos", RefundStatus::Succeeded)
            .with_original_transaction_id(referenceid)
            .with_provider_code(envelope.code_text().unwrap_or("1"))
            .with_raw(raw_json(&raw));
        if let Some(message) = envelope.message {
            record = record.with_message(message);
        }
        Ok(record)
    }

    // ---- status ----

    fn status_body(referenceid: &str) -> Result<PreparedBody> {
        let wire = wire::StatusBody { referenceid: parse_number("referenceid", referenceid)? };
        PreparedBody::json(&wire, &[])
    }

    /// The `TransactStatus` request, for a dry run.
    pub fn prepare_status(&self, referenceid: &str) -> Result<PreparedRequest> {
        self.request(Endpoint::Status, Self::status_body(referenceid)?, self.dry_run_bearer())
    }

    /// Reads the failed transfer `referenceid` and its refund: `POST /api/BOS/TransactStatus`.
    pub async fn status(&self, referenceid: &str) -> Result<BosTransaction> {
        let body = Self::status_body(referenceid)?;
        let raw = self.execute(&STATUS, Endpoint::Status, &body).await?;
        decode_status(&raw, referenceid)
    }

    // ---- dynamic_qr ----

    fn qr_body(&self, amount: Money) -> Result<PreparedBody> {
        if amount.currency() != refund_core::Currency::Inr {
            return Err(Error::invalid_input(
                "amount",
                format!("BOS QR codes are in INR, not {}", amount.currency()),
            ));
        }
        if amount.is_zero() {
            return Err(Error::invalid_input("amount", "must be greater than zero"));
        }
        // `Money::from_minor_units` does not check the SDK's limit; past it the amount cannot be
        // read back exactly (the QR check would refuse the answer after BOS made the code).
        if amount.minor_units() > refund_core::MAX_MINOR_UNITS {
            return Err(Error::invalid_input(
                "amount",
                format!("is too large (at most {} paise)", refund_core::MAX_MINOR_UNITS),
            ));
        }
        let Some(registration_id) = &self.inner.registration_id else {
            return Err(Error::config(format!(
                "the BOS registration id is not set: call .registration_id(..) on the builder or set {ENV_REGISTRATION_ID}"
            )));
        };
        let wire = wire::DynamicQrBody {
            registration_id: registration_id.expose_secret(),
            amount: amount.to_shortest_string(),
        };
        PreparedBody::json(&wire, &["RegistrationID"])
    }

    /// The `DynamicQRCode` request, for a dry run (the registration id and token show as `***`).
    pub fn prepare_dynamic_qr(&self, amount: Money) -> Result<PreparedRequest> {
        self.request(Endpoint::DynamicQr, self.qr_body(amount)?, self.dry_run_bearer())
    }

    /// Creates a dynamic UPI QR code for `amount` (INR): `POST /api/BOS/V4/DynamicQRCode` with
    /// the amount as a rupee string (`"10"`, `"10.5"`).
    ///
    /// The answer's UPI intent must carry exactly `amount` (`am`): a QR for any other amount, or
    /// none, is an [`Error::OutcomeUnknown`] ("do not show it"). Not repeated automatically once it
    /// may have reached BOS, so one call never leaves two payable QR codes behind.
    ///
    /// ```no_run
    /// use refund_core::{Currency, Money};
    /// # async fn run(client: refund_bos::BosClient) -> refund_core::Result<()> {
    /// let qr = client.dynamic_qr(Money::parse("10", Currency::Inr)?).await?;
    /// println!("{}", qr.upi_intent);
    /// # Ok(()) }
    /// ```
    pub async fn dynamic_qr(&self, amount: Money) -> Result<DynamicQr> {
        let body = self.qr_body(amount)?;
        let raw = self.execute(&DYNAMIC_QR, Endpoint::DynamicQr, &body).await?;
        decode_qr(&raw, amount)
    }
}

/// BOS refused the token: HTTP 401, or an authentication code (6, 7, 9) in the envelope. Either
/// way it did not process the request.
fn token_rejected(raw: &RawResponse) -> bool {
    raw.status() == 401
        || serde_json::from_slice::<wire::Envelope>(raw.body())
            .is_ok_and(|e| matches!(e.code(), Some(6 | 7 | 9)))
}

fn builder_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> BosClientBuilder {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let mut builder = BosClient::builder();
    if let Some(url) = get(ENV_BASE_URL) {
        builder = builder.base_url(url);
    }
    if let Some(token) = get(ENV_TOKEN) {
        builder = builder.token(token);
    }
    if let Some(id) = get(ENV_REGISTRATION_ID) {
        builder = builder.registration_id(id);
    }
    builder
}

/// The response JSON (BOS never echoes our credentials; the registration id is masked anyway).
fn raw_json(raw: &RawResponse) -> RawJson {
    // The received bytes, shared not copied; masked and parsed only if someone looks.
    RawJson::new(raw.body().clone(), &["RegistrationID"])
}

/// Decodes a `TransactStatus` answer for `referenceid`.
pub(crate) fn decode_status(raw: &RawResponse, referenceid: &str) -> Result<BosTransaction> {
    let envelope = decode_envelope(raw, &STATUS)?;
    let wire: wire::StatusWire = serde_json::from_slice(raw.body()).map_err(|e| {
        STATUS.unreadable_answer(
            raw.reply(&STATUS),
            "the status answer has fields of unexpected types",
            Some(e.into()),
        )
    })?;
    let amount = match &wire.amount {
        Some(text) if !text.as_str().trim().is_empty() => {
            Some(text.to_money(refund_core::Currency::Inr).map_err(|e| {
                STATUS.unreadable_answer(
                    raw.reply(&STATUS),
                    format!("the status answer's amount {:?} is not an amount: {e}", text.as_str()),
                    None,
                )
            })?)
        }
        _ => None,
    };
    Ok(BosTransaction {
        referenceid: wire.referenceid.unwrap_or_else(|| referenceid.to_owned()),
        ackno: wire.ackno,
        utr: wire.utr,
        amount,
        account: wire.account,
        txn_status: wire.txn_status,
        refund_txn_id: wire.refundtxnid,
        date_refunded: wire.daterefunded,
        charges: wire.charges,
        response_code: envelope.code_text().unwrap_or("1").to_owned(),
        message: envelope.message,
        raw: raw_json(raw),
    })
}

/// Reads the refund envelope and maps its code (PROVIDERS.md, BOS): 1 success; 2 not found /
/// already refunded; 3 invalid OTP (claim) or no record; 4 validation; 5 unable to resend;
/// 6/7/9 authentication; anything else needs a status read (for the safe calls: repeat them;
/// see [`Operation::unreadable_answer`]).
pub(crate) fn decode_envelope(raw: &RawResponse, op: &Operation) -> Result<wire::Envelope> {
    let status = raw.status();
    if status == 401 || status == 403 {
        let mut reply = raw.reply(op);
        if let Ok(envelope) = serde_json::from_slice::<wire::Envelope>(raw.body()) {
            reply = with_envelope(reply, &envelope);
        }
        return Err(Error::auth(reply));
    }
    let parsed = serde_json::from_slice::<wire::Envelope>(raw.body());
    if status >= 500 {
        let reply = match &parsed {
            Ok(envelope) => with_envelope(raw.reply(op), envelope),
            Err(_) => raw.reply(op),
        };
        let detail = format!("BOS answered HTTP {status}");
        return Err(op.unreadable_answer(reply, detail, None));
    }
    let envelope = match parsed {
        Ok(envelope) => envelope,
        Err(e) if raw.is_success() => {
            return Err(op.unreadable_answer(
                raw.reply(op),
                "the answer is not the expected JSON",
                Some(e.into()),
            ));
        }
        // A 4xx is a definite rejection even when its body is not JSON.
        Err(_) => return Err(Error::declined(DeclineReason::InvalidRequest, raw.reply(op))),
    };
    if envelope.code() == Some(1) && raw.is_success() && envelope.status_flag() != Some(false) {
        // The success path builds no reply: it is only for errors.
        return Ok(envelope);
    }
    let reply = with_envelope(raw.reply(op), &envelope);
    let message = envelope.message.as_deref().unwrap_or("").to_ascii_lowercase();
    match envelope.code() {
        Some(1) => Err(op.unreadable_answer(
            reply,
            "BOS answered code 1 (success) with a failure status: the outcome is unclear",
            None,
        )),
        Some(2) if message.contains("already") => {
            Err(Error::declined(DeclineReason::AlreadyRefunded, reply))
        }
        Some(2) => Err(Error::declined(DeclineReason::TransactionNotFound, reply)),
        Some(3) if op.name() == CLAIM.name() && message.contains("expire") => {
            Err(Error::declined(DeclineReason::OtpExpired, reply))
        }
        Some(3) if op.name() == CLAIM.name() => {
            Err(Error::declined(DeclineReason::InvalidOtp, reply))
        }
        Some(3) => Err(Error::declined(DeclineReason::TransactionNotFound, reply)),
        Some(4) => Err(Error::declined(DeclineReason::InvalidRequest, reply)),
        Some(5) if op.name() == SEND_OTP.name() => Err(Error::unavailable(
            reply,
            "BOS could not resend the OTP now; try again later",
            None,
        )),
        Some(6 | 7 | 9) => Err(Error::auth(reply)),
        // Any other 4xx without a known code is still a definite rejection.
        None if !raw.is_success() => Err(Error::declined(DeclineReason::InvalidRequest, reply)),
        Some(_) | None => Err(op.unreadable_answer(
            reply,
            match envelope.code_text() {
                Some(code) => format!("unknown response code {code}"),
                None => "the answer has no response code".to_owned(),
            },
            None,
        )),
    }
}

fn with_envelope(
    mut reply: refund_core::ProviderReply,
    envelope: &wire::Envelope,
) -> refund_core::ProviderReply {
    if let Some(code) = envelope.code_text() {
        reply = reply.with_code(code);
    }
    if let Some(message) = &envelope.message {
        reply = reply.with_message(message.clone());
    }
    reply
}

pub(crate) fn decode_qr(raw: &RawResponse, amount: Money) -> Result<DynamicQr> {
    let op = &DYNAMIC_QR;
    let status = raw.status();
    let parsed = serde_json::from_slice::<wire::QrWire>(raw.body());
    let reply_for = |wire: Option<&wire::QrWire>| {
        let mut reply = raw.reply(op);
        if let Some(w) = wire {
            if let Some(code) = &w.sub_code {
                reply = reply.with_code(code.clone());
            }
            if let Some(message) = &w.message {
                reply = reply.with_message(message.clone());
            }
        }
        reply
    };
    if status == 401 || status == 403 {
        return Err(Error::auth(reply_for(parsed.as_ref().ok())));
    }
    if status >= 500 {
        return Err(Error::outcome_unknown(
            reply_for(parsed.as_ref().ok()),
            format!("BOS answered HTTP {status}"),
            None,
        ));
    }
    if !raw.is_success() {
        // HTTP 400 `{"status": "ERROR", "subCode": "400", "message": "..."}`: nothing was created.
        return Err(Error::declined(
            DeclineReason::InvalidRequest,
            reply_for(parsed.as_ref().ok()),
        ));
    }
    let wire = parsed.map_err(|e| {
        Error::outcome_unknown(
            raw.reply(op),
            "the QR answer is not the expected JSON",
            Some(e.into()),
        )
    })?;
    let reply = reply_for(Some(&wire));
    let failed = wire::status_flag(wire.outcome.as_deref()) == Some(false)
        || wire::status_flag(wire.status.as_deref()) == Some(false);
    if failed {
        return Err(Error::declined(DeclineReason::InvalidRequest, reply));
    }
    let Some(intent_text) = wire.upi_intend.as_deref().or(wire.qr_code.as_deref()) else {
        return Err(Error::outcome_unknown(
            reply,
            "the QR answer has no UPI intent; a QR may have been created but cannot be checked: do not show it",
            None,
        ));
    };
    let mismatch = |detail: String| {
        Error::outcome_unknown(
            reply_for(Some(&wire)),
            format!("QR created for a different amount; do not show it ({detail})"),
            None,
        )
    };
    let upi_intent = UpiIntent::parse(intent_text).map_err(|e| {
        Error::outcome_unknown(
            reply_for(Some(&wire)),
            format!("the QR's UPI intent cannot be read ({e}); do not show it"),
            None,
        )
    })?;
    match upi_intent.amount() {
        Ok(Some(am)) if am == amount => {}
        Ok(Some(am)) => {
            return Err(mismatch(format!(
                "asked for {amount}, the UPI intent says am={}",
                am.to_shortest_string()
            )));
        }
        Ok(None) => return Err(mismatch(format!("asked for {amount}, the UPI intent has no am"))),
        Err(e) => return Err(mismatch(format!("asked for {amount}: {e}"))),
    }
    if let Some(paid) = &wire.payment_amount {
        match paid.to_money(refund_core::Currency::Inr) {
            Ok(m) if m == amount => {}
            _ => {
                return Err(mismatch(format!(
                    "asked for {amount}, PaymentAmount is {:?}",
                    paid.as_str()
                )));
            }
        }
    }
    Ok(DynamicQr {
        id: wire.id,
        reference: wire.txn_reference,
        upi_intent,
        amount,
        created_at: wire.created,
        expires_at: wire.expires,
        status: wire.status.or(wire.outcome),
        virtual_vpa: wire.virtual_vpa,
        message: wire.message,
        raw: raw_json(raw),
    })
}

impl Provider for BosClient {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn as_status_read(&self) -> Option<&dyn RefundStatusRead> {
        Some(self)
    }
}

fn ackno_of(target: &OtpRefundTarget) -> Result<&str> {
    target.acknowledgement().ok_or_else(|| {
        Error::invalid_input("ackno", "BOS needs the transfer's acknowledgement number (ackno)")
    })
}

#[async_trait]
impl OtpRefund for BosClient {
    /// `target`: the transfer's `referenceid` and, as its acknowledgement, `ackno`.
    async fn send_otp(&self, target: &OtpRefundTarget) -> Result<OtpChallenge> {
        self.send_refund_otp(target.transaction_id().as_str(), ackno_of(target)?).await
    }

    async fn confirm_otp(&self, challenge: &OtpChallenge, otp: &Otp) -> Result<RefundRecord> {
        let target = &challenge.target;
        self.claim_refund(target.transaction_id().as_str(), ackno_of(target)?, otp).await
    }
}

#[async_trait]
impl RefundStatusRead for BosClient {
    /// By [`StatusQuery::OriginalTransaction`] (the `referenceid`) only.
    async fn refund_status(&self, query: &StatusQuery) -> Result<RefundRecord> {
        match query {
            StatusQuery::OriginalTransaction(id) => {
                Ok(self.status(id.as_str()).await?.to_refund_record())
            }
            _ => Err(Error::invalid_input(
                "query",
                "BOS reads status by the original transfer's referenceid (StatusQuery::OriginalTransaction)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_amounts_past_the_exact_limit_are_refused() {
        // Issue 9 (bad input): `Money::from_minor_units` skips the limit; such a QR was requested.
        let client = BosClient::builder().registration_id("BOS-554").build().unwrap();
        for minor in [refund_core::MAX_MINOR_UNITS + 1, u64::MAX] {
            let amount = Money::from_minor_units(minor, refund_core::Currency::Inr);
            assert_eq!(client.prepare_dynamic_qr(amount).unwrap_err().field(), Some("amount"));
        }
        let most =
            Money::from_minor_units(refund_core::MAX_MINOR_UNITS, refund_core::Currency::Inr);
        assert!(client.prepare_dynamic_qr(most).is_ok());
    }

    #[test]
    fn debug_output_is_pinned_and_masks_secrets() {
        let builder = BosClient::builder()
            .base_url("https://bos.example")
            .registration_id("BOS-554")
            .token("tok-secret-1");
        assert_eq!(
            format!("{builder:?}"),
            "BosClientBuilder { base_url: Some(\"https://bos.example\"), registration_id: Some(\"***\"), \
             token: Static(***), token_lifetime: None, transport: TransportBuilder { timeout: None, \
             http_client: None, retry_policy: None, .. }, insecure_http: LoopbackOnly, .. }"
        );
        let client = builder.timeout(Duration::from_secs(5)).build().unwrap();
        assert_eq!(
            format!("{client:?}"),
            "BosClient { base_url: \"https://bos.example/\", registration_id: Some(\"***\"), \
             auth: Static(***), transport: Transport { timeout: 5s, max_response_bytes: 1048576, \
             retry: RetryPolicy { max_attempts: 3, initial_backoff: 200ms, max_backoff: 5s, \
             deadline: 60s }, .. }, .. }"
        );
        let fetched = BosClient::builder()
            .token_fetcher_fn(|| async { Ok(FetchedToken::new("x")) })
            .build()
            .unwrap();
        assert!(format!("{fetched:?}").contains("auth: Fetched"));
    }

    #[test]
    fn numbers_are_validated() {
        assert_eq!(parse_number("referenceid", "12345678931").unwrap(), 12_345_678_931);
        assert_eq!(parse_number("ackno", "0").unwrap(), 0);
        for bad in ["", "12a", "-1", "0133", "99999999999999999999", "1 2"] {
            assert_eq!(parse_number("ackno", bad).unwrap_err().field(), Some("ackno"), "{bad}");
        }
        assert_eq!(parse_number("referenceid", "18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn leading_zero_otp_is_refused() {
        let err = parse_otp(&Otp::new("076123").unwrap()).unwrap_err();
        assert_eq!(err.field(), Some("otp"));
        assert!(!err.to_string().contains("076123"));
        assert_eq!(parse_otp(&Otp::new("576719").unwrap()).unwrap(), 576_719);
    }

    #[test]
    fn env_lookup() {
        let vars = |name: &str| match name {
            ENV_BASE_URL => Some("http://127.0.0.1:9".to_owned()),
            ENV_TOKEN => Some("env-token".to_owned()),
            ENV_REGISTRATION_ID => Some(String::new()),
            _ => None,
        };
        let builder = builder_from_lookup(vars);
        let shown = format!("{builder:?}");
        assert!(shown.contains("http://127.0.0.1:9") && shown.contains("Static(***)"), "{shown}");
        assert!(shown.contains("registration_id: None"), "{shown}");
        assert!(!shown.contains("env-token"));
        assert!(builder_from_lookup(|_| None).build().is_ok());
    }

    #[test]
    fn missing_registration_id_is_a_config_error_naming_the_env_var() {
        let client = BosClient::builder().build().unwrap();
        let err = client
            .prepare_dynamic_qr(Money::from_minor_units(1000, refund_core::Currency::Inr))
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }));
        assert!(err.to_string().contains(ENV_REGISTRATION_ID));
    }

    #[test]
    fn dry_runs_mask_secrets_without_fetching() {
        let client = BosClient::builder()
            .registration_id("BOS-554")
            .token_fetcher_fn(|| async { Err(Error::config("must not be called")) })
            .build()
            .unwrap();
        let req = client
            .prepare_claim_refund("12345678931", "133", &Otp::new("576719").unwrap())
            .unwrap();
        assert_eq!(
            req.to_curl(),
            "curl --request POST 'https://api.bos.center/api/BOS/ClaimRefund' \\\n  \
             --header 'authorization: ***' \\\n  --header 'content-type: application/json' \\\n  \
             --data '{\"ackno\":133,\"otp\":\"***\",\"referenceid\":12345678931}'"
        );
        let qr = client
            .prepare_dynamic_qr(Money::from_minor_units(1050, refund_core::Currency::Inr))
            .unwrap();
        let shown = qr.to_redacted_json().to_string();
        assert!(!shown.contains("BOS-554") && shown.contains("\"amount\":\"10.5\""), "{shown}");
        assert_eq!(client.token_fetch_count(), 0);
        let none = BosClient::builder().build().unwrap();
        let req = none.prepare_status("12345678927").unwrap();
        assert!(req.headers().get("authorization").is_none());
    }
}
