//! The DigiPay client, its builder, and the client-credentials token exchange.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use refund_core::http::header::{ACCEPT, AUTHORIZATION};
use refund_core::http::{HeaderName, HeaderValue};
use refund_core::url::Url;
use refund_core::{
    Capabilities, Clock, Currency, DEFAULT_TOKEN_LIFETIME, DeclineReason, DirectRefund, Error,
    ExposeSecret, FetchedToken, Idempotency, InsecureHttp, MASK, Operation, PreparedBody,
    PreparedRequest, Provider, ProviderReply, RawJson, RawResponse, RefundRecord, RefundRequest,
    RefundStatus, Result, RetryPolicy, SecretString, SystemClock, TokenCache, TokenFetcher,
    Transport, TransportBuilder, async_trait, join_path, parse_base_url, redact_json_text,
};

use crate::model::{TxnStatus, WalletRefund, WalletRefundRequest, check_txn_code};
use crate::wire::{self, RefundBody, RefundReply, Success, TokenReply};

/// What DigiPay supports: a direct refund, full or partial; no status read, and no deduplication
/// (so a refund that may have arrived is never resent).
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER, "DigiPay")
    .with_direct_refund(true)
    .with_partial_refund(true)
    .with_idempotent_refund(false);

/// DigiPay's `CompanyID` header (HTTP header names are case-insensitive; HTTP/1 sends it lower-case).
const COMPANY_ID: HeaderName = HeaderName::from_static("companyid");
const PROVIDER: &str = "digipay";

/// The refund moves money and DigiPay has no idempotency key: never repeated once it may have
/// arrived.
const REFUND_MONEY: Operation = Operation::new(PROVIDER, "refund_money", Idempotency::Unsafe);

/// Getting a token moves no money: safe to repeat.
const AUTHENTICATE: Operation = Operation::new(PROVIDER, "authenticate", Idempotency::Safe);

const REFUND_MONEY_PATH: &[&str] = &["digipay", "v3", "transaction", "wallet_refund_money"];
const AUTHENTICATE_PATH: &[&str] = &["digipay", "v3", "auth", "authenticate"];

/// Env var of the base URL (required; each company gets its own).
pub const ENV_BASE_URL: &str = "DIGIPAY_BASE_URL";
/// Env var of the static token.
pub const ENV_TOKEN: &str = "DIGIPAY_TOKEN";
/// Env var of the `CompanyID` header value.
pub const ENV_COMPANY_ID: &str = "DIGIPAY_COMPANY_ID";
/// Env var of the client id for the token exchange (instead of [`ENV_TOKEN`]).
pub const ENV_CLIENT_ID: &str = "DIGIPAY_CLIENT_ID";
/// Env var of the client secret for the token exchange.
pub const ENV_CLIENT_SECRET: &str = "DIGIPAY_CLIENT_SECRET";
/// Env var of the authorization scheme word (`Token` or `Bearer`).
pub const ENV_AUTH_SCHEME: &str = "DIGIPAY_AUTH_SCHEME";
/// Env var of the default `txn_code`.
pub const ENV_TXN_CODE: &str = "DIGIPAY_TXN_CODE";
/// Env var of the default `payment_mode`.
pub const ENV_PAYMENT_MODE: &str = "DIGIPAY_PAYMENT_MODE";

/// Shortest lifetime given to a fetched token, whatever its `expiry_time` says.
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Longest lifetime given to a fetched token, whatever its `expiry_time` says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

const RECONCILE_HINT: &str = "DigiPay has no status endpoint and no idempotency key, so the SDK \
     cannot check or safely resend this refund: reconcile with DigiPay (by initial_txn_id) before \
     retrying";

/// The word before the token in `Authorization`: `Token` (DigiPay) or `Bearer` (white-label twins).
///
/// ```
/// use refund_digipay::AuthScheme;
/// assert_eq!("bearer".parse::<AuthScheme>()?, AuthScheme::Bearer);
/// assert_eq!(AuthScheme::default().as_str(), "Token");
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Authorization: Token <token>`, as DigiPay documents.
    #[default]
    Token,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

impl AuthScheme {
    /// The word as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Token => "Token",
            AuthScheme::Bearer => "Bearer",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthScheme {
    type Err = Error;
    /// `Token` or `Bearer`, any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "token" => Ok(AuthScheme::Token),
            "bearer" => Ok(AuthScheme::Bearer),
            _ => Err(Error::invalid_input("auth_scheme", "must be Token or Bearer")),
        }
    }
}

#[derive(Clone)]
enum Credentials {
    Token(SecretString),
    ClientCredentials { client_id: String, client_secret: SecretString },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(***)"),
            Credentials::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &format_args!("{MASK}"))
                .finish(),
        }
    }
}

/// Builds a [`DigiPayClient`]; [`DigiPayClientBuilder::build`] validates every setting.
pub struct DigiPayClientBuilder {
    base_url: Option<String>,
    company_id: Option<String>,
    credentials: Option<Credentials>,
    auth_scheme: AuthScheme,
    currency: Currency,
    txn_code: Option<String>,
    payment_mode: Option<u32>,
    transport: TransportBuilder,
    insecure_http: InsecureHttp,
    clock: Option<Arc<dyn Clock>>,
    env_error: Option<String>,
}

impl fmt::Debug for DigiPayClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigiPayClientBuilder")
            .field("base_url", &self.base_url)
            .field("company_id", &self.company_id)
            .field("credentials", &self.credentials)
            .field("auth_scheme", &self.auth_scheme)
            .field("currency", &self.currency)
            .field("txn_code", &self.txn_code)
            .field("payment_mode", &self.payment_mode)
            .field("transport", &self.transport)
            .field("insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

impl Default for DigiPayClientBuilder {
    fn default() -> Self {
        DigiPayClientBuilder {
            base_url: None,
            company_id: None,
            credentials: None,
            auth_scheme: AuthScheme::Token,
            currency: Currency::Inr,
            txn_code: None,
            payment_mode: None,
            transport: TransportBuilder::default(),
            insecure_http: InsecureHttp::LoopbackOnly,
            clock: None,
            env_error: None,
        }
    }
}

impl DigiPayClientBuilder {
    /// The company's DigiPay base URL (required; no default). `https`, or `http` to localhost
    /// unless [`DigiPayClientBuilder::insecure_http`] allows more.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }
    /// The `CompanyID` header value (required).
    #[must_use]
    pub fn company_id(mut self, id: impl Into<String>) -> Self {
        self.company_id = Some(id.into());
        self
    }
    /// A static token, sent as `Authorization: <scheme> <token>`. Replaces client credentials.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Token(SecretString::from(token.into())));
        self
    }
    /// A client id and secret, exchanged at `POST /digipay/v3/auth/authenticate` (HTTP Basic)
    /// for a token that is cached until its `expiry_time`. Replaces a static token.
    #[must_use]
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::ClientCredentials {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        });
        self
    }
    /// The `Authorization` scheme word (default [`AuthScheme::Token`]).
    #[must_use]
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth_scheme = scheme;
        self
    }
    /// The wallet currency (default INR). Refund amounts must be in it.
    #[must_use]
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }
    /// The `txn_code` used when a request does not set one (needed by [`DirectRefund`]).
    #[must_use]
    pub fn txn_code(mut self, code: impl Into<String>) -> Self {
        self.txn_code = Some(code.into());
        self
    }
    /// The `payment_mode` used when a request does not set one (needed by [`DirectRefund`]).
    #[must_use]
    pub fn payment_mode(mut self, mode: u32) -> Self {
        self.payment_mode = Some(mode);
        self
    }
    /// Whole-request timeout (default 30 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.timeout(timeout);
        self
    }
    /// Shares this `reqwest::Client` (and its connection pool).
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.client(client);
        self
    }
    /// The retry policy. The refund itself is only ever repeated when it provably never left.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry_policy(policy);
        self
    }
    /// Allows plain `http` to hosts other than localhost (the page's example is a LAN address).
    #[must_use]
    pub fn insecure_http(mut self, insecure: InsecureHttp) -> Self {
        self.insecure_http = insecure;
        self
    }
    /// The clock used for token expiry (tests use [`refund_core::ManualClock`]).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the settings and builds the client. A missing setting is [`Error::Config`] naming
    /// it and its env var; a bad value is [`Error::InvalidInput`] naming the field.
    pub fn build(self) -> Result<DigiPayClient> {
        if let Some(message) = self.env_error {
            return Err(Error::config(message));
        }
        let base_url = self.base_url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            Error::config(format!(
                "base_url is required (each company gets its own DigiPay URL): set .base_url(..) or {ENV_BASE_URL}"
            ))
        })?;
        let base_url = parse_base_url(&base_url, self.insecure_http)?;
        let company_id = self.company_id.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
            Error::config(format!(
                "company_id is required (the CompanyID header): set .company_id(..) or {ENV_COMPANY_ID}"
            ))
        })?;
        let Ok(company_id_header) = HeaderValue::from_str(&company_id) else {
            return Err(Error::invalid_input(
                "company_id",
                "contains characters that cannot be sent in an HTTP header",
            ));
        };
        let credentials = self.credentials.ok_or_else(|| {
            Error::config(format!(
                "credentials are required: set .token(..) ({ENV_TOKEN}) or .client_credentials(..) ({ENV_CLIENT_ID} and {ENV_CLIENT_SECRET})"
            ))
        })?;
        if let Some(code) = &self.txn_code {
            check_txn_code(code)?;
        }
        let transport = self.transport.build()?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let auth = match credentials {
            Credentials::Token(token) => {
                let text = token.expose_secret();
                if text.trim().is_empty() {
                    return Err(Error::config(format!("the token is empty: check {ENV_TOKEN}")));
                }
                if HeaderValue::from_str(&format!("{} {text}", self.auth_scheme)).is_err() {
                    return Err(Error::invalid_input(
                        "token",
                        "contains characters that cannot be sent in an HTTP header",
                    ));
                }
                Auth::Static(token)
            }
            Credentials::ClientCredentials { client_id, client_secret } => {
                if client_id.trim().is_empty() {
                    return Err(Error::config(format!(
                        "the client id is empty: check {ENV_CLIENT_ID}"
                    )));
                }
                if client_id.contains(':') {
                    return Err(Error::invalid_input(
                        "client_id",
                        "must not contain ':' (HTTP Basic)",
                    ));
                }
                if client_secret.expose_secret().is_empty() {
                    return Err(Error::config(format!(
                        "the client secret is empty: check {ENV_CLIENT_SECRET}"
                    )));
                }
                let exchange = TokenExchange {
                    url: join_path(&base_url, AUTHENTICATE_PATH)?,
                    client_id: client_id.clone(),
                    client_secret,
                    transport: transport.clone(),
                    clock: clock.clone(),
                };
                let cache = TokenCache::new(Arc::new(exchange))
                    .with_clock(clock)
                    .with_default_lifetime(DEFAULT_TOKEN_LIFETIME);
                Auth::Fetched { client_id, cache }
            }
        };
        Ok(DigiPayClient {
            inner: Arc::new(Inner {
                refund_url: join_path(&base_url, REFUND_MONEY_PATH)?,
                base_url,
                company_id,
                company_id_header,
                auth,
                auth_scheme: self.auth_scheme,
                currency: self.currency,
                txn_code: self.txn_code,
                payment_mode: self.payment_mode,
                transport,
            }),
        })
    }
}

enum Auth {
    Static(SecretString),
    Fetched { client_id: String, cache: TokenCache },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Static(_) => f.write_str("Token(***)"),
            Auth::Fetched { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &format_args!("{MASK}"))
                .finish(),
        }
    }
}

struct Inner {
    base_url: Url,
    refund_url: Url,
    company_id: String,
    /// The `CompanyID` header, validated once at build.
    company_id_header: HeaderValue,
    auth: Auth,
    auth_scheme: AuthScheme,
    currency: Currency,
    txn_code: Option<String>,
    payment_mode: Option<u32>,
    transport: Transport,
}

/// A DigiPay wallet refund client. Cheap to clone (clones share the connection pool and the token
/// cache); `Send + Sync`.
///
/// ```no_run
/// use refund_core::{Currency, Money};
/// use refund_digipay::{DigiPayClient, WalletRefundRequest};
/// # async fn run() -> refund_core::Result<()> {
/// let client = DigiPayClient::builder()
///     .base_url("https://digipay.example.com")
///     .company_id("76bc712200ca444fa334f9e55e5fd7a8")
///     .token("duik7309njdlkhdauhknksadhjkas986876sd873j")
///     .build()?;
/// let request = WalletRefundRequest::builder("bcdc063cf4844eea82e1c0e68a2360e8", Money::parse("100", Currency::Inr)?)
///     .txn_code("MR / CR")
///     .payment_mode(2)
///     .note("Refund Money")
///     .build()?;
/// let refund = client.refund_money(&request).await?;
/// println!("{:?} {:?}", refund.txn_id, refund.txn_status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DigiPayClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for DigiPayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigiPayClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("company_id", &self.inner.company_id)
            .field("auth", &self.inner.auth)
            .field("auth_scheme", &self.inner.auth_scheme)
            .field("currency", &self.inner.currency)
            .field("txn_code", &self.inner.txn_code)
            .field("payment_mode", &self.inner.payment_mode)
            .finish_non_exhaustive()
    }
}

/// `txn_code` and `payment_mode` after the client's defaults are applied.
struct Resolved<'a> {
    txn_code: &'a str,
    payment_mode: u32,
}

impl DigiPayClient {
    /// A builder with the defaults.
    pub fn builder() -> DigiPayClientBuilder {
        DigiPayClientBuilder::default()
    }

    /// A client from `DIGIPAY_BASE_URL`, `DIGIPAY_COMPANY_ID` and `DIGIPAY_TOKEN` (or
    /// `DIGIPAY_CLIENT_ID` + `DIGIPAY_CLIENT_SECRET`), with the optional `DIGIPAY_AUTH_SCHEME`,
    /// `DIGIPAY_TXN_CODE` and `DIGIPAY_PAYMENT_MODE`.
    pub fn from_env() -> Result<Self> {
        Self::builder_from_env().build()
    }

    /// A builder preset from the environment (see [`DigiPayClient::from_env`]), to override before
    /// building.
    pub fn builder_from_env() -> DigiPayClientBuilder {
        Self::builder_from_vars(|name| std::env::var(name).ok())
    }

    /// A builder preset from `lookup` (an env var name to its value), the way
    /// [`DigiPayClient::from_env`] reads the environment. Empty values count as unset.
    ///
    /// ```
    /// use refund_digipay::DigiPayClient;
    /// let client = DigiPayClient::builder_from_vars(|name| match name {
    ///     "DIGIPAY_BASE_URL" => Some("https://digipay.example.com".into()),
    ///     "DIGIPAY_COMPANY_ID" => Some("c-1".into()),
    ///     "DIGIPAY_TOKEN" => Some("t-1".into()),
    ///     _ => None,
    /// })
    /// .build()?;
    /// assert_eq!(client.company_id(), "c-1");
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    pub fn builder_from_vars(lookup: impl Fn(&str) -> Option<String>) -> DigiPayClientBuilder {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut builder = Self::builder();
        let mut errors = Vec::new();
        if let Some(url) = get(ENV_BASE_URL) {
            builder = builder.base_url(url);
        }
        if let Some(id) = get(ENV_COMPANY_ID) {
            builder = builder.company_id(id);
        }
        let token = get(ENV_TOKEN);
        let client_id = get(ENV_CLIENT_ID);
        let client_secret = get(ENV_CLIENT_SECRET);
        match (token, client_id, client_secret) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => errors.push(format!(
                "set either {ENV_TOKEN} or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}, not both"
            )),
            (Some(token), None, None) => builder = builder.token(token),
            (None, Some(id), Some(secret)) => builder = builder.client_credentials(id, secret),
            (None, Some(_), None) => {
                errors.push(format!("{ENV_CLIENT_ID} is set without {ENV_CLIENT_SECRET}"))
            }
            (None, None, Some(_)) => {
                errors.push(format!("{ENV_CLIENT_SECRET} is set without {ENV_CLIENT_ID}"))
            }
            (None, None, None) => {}
        }
        if let Some(scheme) = get(ENV_AUTH_SCHEME) {
            match scheme.parse() {
                Ok(scheme) => builder = builder.auth_scheme(scheme),
                Err(_) => errors.push(format!("{ENV_AUTH_SCHEME} must be Token or Bearer")),
            }
        }
        if let Some(code) = get(ENV_TXN_CODE) {
            builder = builder.txn_code(code);
        }
        if let Some(mode) = get(ENV_PAYMENT_MODE) {
            match mode.trim().parse() {
                Ok(mode) => builder = builder.payment_mode(mode),
                Err(_) => errors.push(format!("{ENV_PAYMENT_MODE} must be a whole number")),
            }
        }
        if !errors.is_empty() {
            builder.env_error = Some(errors.join("; "));
        }
        builder
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }
    /// The `CompanyID` header value.
    pub fn company_id(&self) -> &str {
        &self.inner.company_id
    }
    /// The wallet currency.
    pub fn currency(&self) -> Currency {
        self.inner.currency
    }

    /// The DigiPay request for a provider-neutral [`RefundRequest`]: `original_transaction_id` →
    /// `initial_txn_id`, the amount (required), the note; `txn_code` and `payment_mode` come from
    /// the client's defaults.
    pub fn wallet_request_from(&self, request: &RefundRequest) -> Result<WalletRefundRequest> {
        let amount = request.amount().ok_or_else(|| {
            Error::invalid_input(
                "amount",
                "DigiPay needs the amount to refund (it has no full-refund shorthand)",
            )
        })?;
        let mut builder =
            WalletRefundRequest::builder(request.original_transaction_id().as_str(), amount);
        if let Some(note) = request.note() {
            builder = builder.note(note);
        }
        let wallet = builder.build()?;
        self.resolve(&wallet)?;
        Ok(wallet)
    }

    /// The refund request exactly as [`DigiPayClient::refund_money`] would send it, for a dry run:
    /// no network, and the `Authorization` token shown as `***` (a fetched token is not fetched).
    ///
    /// ```
    /// use refund_core::{Currency, Money};
    /// use refund_digipay::{DigiPayClient, WalletRefundRequest};
    /// let client = DigiPayClient::builder()
    ///     .base_url("https://digipay.example.com")
    ///     .company_id("c-1")
    ///     .client_credentials("id", "secret")
    ///     .build()?;
    /// let request = WalletRefundRequest::builder("T-1", Money::parse("79.10", Currency::Inr)?)
    ///     .txn_code("CIB")
    ///     .payment_mode(2)
    ///     .build()?;
    /// let curl = client.prepare_refund_money(&request)?.to_curl();
    /// assert!(curl.contains("authorization: ***"));
    /// assert!(curl.contains(r#""txn_amount":79.1"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare_refund_money(&self, request: &WalletRefundRequest) -> Result<PreparedRequest> {
        let resolved = self.resolve(request)?;
        self.build_refund(request, &resolved, MASK)
    }

    /// [`DigiPayClient::prepare_refund_money`] for a provider-neutral [`RefundRequest`].
    pub fn prepare_refund(&self, request: &RefundRequest) -> Result<PreparedRequest> {
        self.prepare_refund_money(&self.wallet_request_from(request)?)
    }

    /// Refunds money to a wallet: `POST /digipay/v3/transaction/wallet_refund_money`.
    ///
    /// Never resent once it may have reached DigiPay: a timeout, a lost connection or a 5xx is
    /// [`Error::OutcomeUnknown`] (reconcile with DigiPay before retrying). `success: 0` or a 4xx is
    /// [`Error::Declined`]; 401/403 is [`Error::Auth`] (with client credentials, a 401 first drops
    /// the cached token and repeats the call once with a new one: a 401 means not processed).
    pub async fn refund_money(&self, request: &WalletRefundRequest) -> Result<WalletRefund> {
        let resolved = self.resolve(request)?;
        let raw = match &self.inner.auth {
            Auth::Static(token) => {
                self.send_refund(request, &resolved, token.expose_secret()).await?
            }
            Auth::Fetched { cache, .. } => {
                // A 401 means not processed: the cache drops the token and repeats once. Boxed:
                // the cache's future would otherwise size every call's, static tokens included.
                let resolved = &resolved;
                Box::pin(cache.with_token(
                    |token| async move {
                        self.send_refund(request, resolved, token.secret().expose_secret()).await
                    },
                    |raw| raw.status() == 401,
                ))
                .await?
            }
        };
        let outcome = decode_refund(&raw, request);
        match &outcome {
            Ok(refund) => tracing::info!(
                initial_txn_id = request.initial_txn_id.as_str(),
                txn_id = refund.txn_id.as_deref().unwrap_or(""),
                "digipay refund succeeded"
            ),
            Err(e) => tracing::warn!(
                initial_txn_id = request.initial_txn_id.as_str(),
                error = %e,
                "digipay refund failed"
            ),
        }
        outcome
    }

    fn resolve<'a>(&'a self, request: &'a WalletRefundRequest) -> Result<Resolved<'a>> {
        if request.amount.currency() != self.inner.currency {
            return Err(Error::invalid_input(
                "amount",
                format!(
                    "must be in {} (the client's currency), got {}",
                    self.inner.currency,
                    request.amount.currency()
                ),
            ));
        }
        let txn_code = request.txn_code.as_deref().or(self.inner.txn_code.as_deref()).ok_or_else(
            || {
                Error::config(format!(
                    "txn_code is required: set it on the request, or the client default with .txn_code(..) or {ENV_TXN_CODE}"
                ))
            },
        )?;
        let payment_mode = request.payment_mode.or(self.inner.payment_mode).ok_or_else(|| {
            Error::config(format!(
                "payment_mode is required: set it on the request, or the client default with .payment_mode(..) or {ENV_PAYMENT_MODE}"
            ))
        })?;
        Ok(Resolved { txn_code, payment_mode })
    }

    fn build_refund(
        &self,
        request: &WalletRefundRequest,
        resolved: &Resolved<'_>,
        token: &str,
    ) -> Result<PreparedRequest> {
        let body = RefundBody {
            initial_txn_id: request.initial_txn_id.as_str(),
            txn_amount: request.amount,
            txn_code: resolved.txn_code,
            payment_mode: resolved.payment_mode,
            note: request.note.as_deref(),
            charges_info: request.charges_info.as_ref(),
            debit_user_info: request.debit_user_info.as_ref(),
            credit_user_info: request.credit_user_info.as_ref(),
            company_admin_user_info: request.company_admin_user_info.as_ref(),
            txn_device_info: request.txn_device_info.as_ref(),
            payment_response: request.payment_response.as_ref(),
            card_info: request.card_info.as_ref(),
            meta_data: request.meta_data.as_ref(),
        };
        let body = body.to_json().map_err(|e| Error::Config {
            message: "the refund body could not be encoded as JSON".into(),
            source: Some(e.into()),
        })?;
        // The fixed headers were validated at build; only the token's is checked per request.
        let scheme = self.inner.auth_scheme.as_str();
        let mut authorization = String::with_capacity(scheme.len() + 1 + token.len());
        authorization.push_str(scheme);
        authorization.push(' ');
        authorization.push_str(token);
        // Moved into the header, not copied (`PreparedRequest::header` takes text and copies it).
        let mut authorization = HeaderValue::try_from(authorization).map_err(|_| {
            Error::invalid_input(
                "authorization",
                "contains characters that cannot be sent in an HTTP header",
            )
        })?;
        authorization.set_sensitive(true);
        Ok(PreparedRequest::post(self.inner.refund_url.clone())
            .header_value(AUTHORIZATION, authorization)
            .header_value(COMPANY_ID, self.inner.company_id_header.clone())
            .header_value(ACCEPT, HeaderValue::from_static("application/json"))
            .body(PreparedBody::json_encoded(body, &[])))
    }

    async fn send_refund(
        &self,
        request: &WalletRefundRequest,
        resolved: &Resolved<'_>,
        token: &str,
    ) -> Result<RawResponse> {
        self.inner
            .transport
            .send(&REFUND_MONEY, |_attempt| self.build_refund(request, resolved, token))
            .await
            .map_err(with_reconcile_hint)
    }
}

/// Adds to an outcome-unknown error that there is nothing the SDK can check.
fn with_reconcile_hint(error: Error) -> Error {
    match error {
        Error::OutcomeUnknown { reply, detail, source } => {
            Error::OutcomeUnknown { reply, detail: format!("{detail}; {RECONCILE_HINT}"), source }
        }
        other => other,
    }
}

pub(crate) fn decode_refund(
    raw: &RawResponse,
    request: &WalletRefundRequest,
) -> Result<WalletRefund> {
    let status = raw.status();
    let parsed = match serde_json::from_slice::<RefundReply>(raw.body()) {
        // The success, first and by value: its ids and message move into the result.
        Ok(parsed)
            if raw.is_success()
                && parsed.success() == Success::Yes
                && parsed.error_codes().is_empty() =>
        {
            return Ok(success(raw, parsed, request));
        }
        other => other,
    };
    let reply = || {
        let mut reply = raw.reply(&REFUND_MONEY);
        if let Ok(parsed) = &parsed {
            let codes = parsed.error_codes();
            if !codes.is_empty() {
                reply = reply.with_code(codes.join(","));
            }
            if let Some(message) = parsed.message() {
                reply = reply.with_message(message);
            }
        }
        reply
    };
    match status {
        401 | 403 => Err(Error::auth(reply())),
        200..=299 => {
            let parsed = match &parsed {
                Ok(parsed) => parsed,
                Err(e) => {
                    return Err(Error::outcome_unknown(
                        reply(),
                        format!(
                            "the HTTP {status} body is not DigiPay's JSON reply; {RECONCILE_HINT}"
                        ),
                        Some(e.to_string().into()),
                    ));
                }
            };
            match parsed.success() {
                // A success without errors returned above.
                Success::Yes => Err(Error::outcome_unknown(
                    reply(),
                    format!("the reply says success 1 but also lists errors; {RECONCILE_HINT}"),
                    None,
                )),
                Success::No => {
                    let reason = decline_reason(status, parsed.message().as_deref());
                    Err(Error::declined(reason, reply()))
                }
                Success::Unreadable => Err(Error::outcome_unknown(
                    reply(),
                    format!("the reply has no readable success flag; {RECONCILE_HINT}"),
                    None,
                )),
            }
        }
        // A 4xx is a definite rejection, even when its body is not JSON (the page's own 400
        // example is not): the raw text stays in the reply's body excerpt.
        400..=499 => {
            let message = parsed.as_ref().ok().and_then(RefundReply::message);
            Err(Error::declined(decline_reason(status, message.as_deref()), reply()))
        }
        _ => Err(Error::outcome_unknown(
            reply(),
            format!("DigiPay answered HTTP {status}; {RECONCILE_HINT}"),
            None,
        )),
    }
}

fn success(raw: &RawResponse, parsed: RefundReply, request: &WalletRefundRequest) -> WalletRefund {
    let (message, mut txn) = parsed
        .data
        .map_or((None, None), |data| (data.message.and_then(wire::into_text), data.transaction));
    let txn_id = txn.as_mut().and_then(|t| t.txn_id.take()).and_then(wire::into_text);
    let txn_number = txn.as_mut().and_then(|t| t.txn_number.take()).and_then(wire::into_text);
    let txn = txn.as_ref();
    let txn_status = txn.and_then(|t| t.txn_status_code()).map(TxnStatus::from_code);
    let amount = txn
        .and_then(|t| t.txn_amount.as_ref())
        .and_then(|a| a.to_money(request.amount.currency()).ok())
        .unwrap_or(request.amount);
    // The received bytes, shared not copied; masked and parsed only if someone looks.
    let raw_json = RawJson::new(raw.body().clone(), &["access_token"]);
    let mut record = RefundRecord::new(PROVIDER, RefundStatus::Succeeded)
        .with_original_transaction_id(request.initial_txn_id.as_str())
        .with_amount(amount)
        .with_raw(raw_json);
    if let Some(id) = &txn_id {
        record = record.with_refund_id(id.clone());
    }
    if let Some(status) = txn_status {
        record = record.with_provider_code(status.code().to_string());
    }
    if let Some(message) = &message {
        record = record.with_message(message.clone());
    }
    WalletRefund { txn_id, txn_number, txn_status, message, record }
}

/// DigiPay's failure messages are upper-snake words (`BAD_REQUEST`); read what they say, then the
/// HTTP status.
fn decline_reason(status: u16, message: Option<&str>) -> DeclineReason {
    let m = message.unwrap_or_default().to_ascii_uppercase().replace(' ', "_");
    if m.contains("NOT_FOUND") {
        DeclineReason::TransactionNotFound
    } else if m.contains("ALREADY") && m.contains("REFUND") {
        DeclineReason::AlreadyRefunded
    } else if m.contains("EXCEED") || m.contains("LIMIT") {
        DeclineReason::LimitExceeded
    } else if m.contains("INSUFFICIENT") {
        DeclineReason::InsufficientBalance
    } else if status == 404 {
        DeclineReason::TransactionNotFound
    } else if m.contains("BAD_REQUEST") || m.contains("INVALID") || matches!(status, 400 | 422) {
        DeclineReason::InvalidRequest
    } else {
        DeclineReason::Refused
    }
}

impl Provider for DigiPayClient {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

#[async_trait]
impl DirectRefund for DigiPayClient {
    /// Maps the request with [`DigiPayClient::wallet_request_from`] and calls
    /// [`DigiPayClient::refund_money`].
    async fn refund(&self, request: &RefundRequest) -> Result<RefundRecord> {
        let wallet = self.wallet_request_from(request)?;
        self.refund_money(&wallet).await.map(RefundRecord::from)
    }
}

/// The client-credentials exchange: `POST /digipay/v3/auth/authenticate` with HTTP Basic.
struct TokenExchange {
    url: Url,
    client_id: String,
    client_secret: SecretString,
    transport: Transport,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigiPayTokenExchange")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &format_args!("{MASK}"))
            .finish()
    }
}

impl TokenExchange {
    fn prepare(&self) -> Result<PreparedRequest> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose_secret()
        ));
        PreparedRequest::post(self.url.clone())
            .header("Authorization", &format!("Basic {basic}"), true)?
            .header("Accept", "application/json", false)
    }
}

#[async_trait]
impl TokenFetcher for TokenExchange {
    async fn fetch(&self) -> Result<FetchedToken> {
        let raw = self.transport.send(&AUTHENTICATE, |_attempt| self.prepare()).await?;
        decode_token(&raw, self.clock.now())
    }
}

fn token_reply(raw: &RawResponse) -> ProviderReply {
    let body = raw.body();
    let shown = if serde_json::from_slice::<serde_json::Value>(body).is_ok() || raw.is_success() {
        redact_json_text(body, &["access_token"])
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    AUTHENTICATE.reply().with_http_status(raw.status()).with_body_excerpt(shown.as_bytes())
}

pub(crate) fn decode_token(raw: &RawResponse, now: SystemTime) -> Result<FetchedToken> {
    let status = raw.status();
    if !raw.is_success() {
        return Err(if (400..=499).contains(&status) {
            // The token endpoint refused our client id and secret.
            Error::auth(token_reply(raw))
        } else {
            Error::unavailable(
                token_reply(raw),
                format!("the token endpoint answered HTTP {status}; the refund was not sent"),
                None,
            )
        });
    }
    let data = serde_json::from_slice::<TokenReply>(raw.body()).ok().and_then(|r| r.data);
    let Some(data) = data else {
        return Err(Error::unavailable(
            token_reply(raw),
            "the token endpoint's answer is not the expected JSON; the refund was not sent",
            None,
        ));
    };
    let Some(token) = data.access_token.filter(|t| !t.trim().is_empty()) else {
        return Err(Error::unavailable(
            token_reply(raw),
            "the token endpoint's answer has no access_token; the refund was not sent",
            None,
        ));
    };
    if HeaderValue::from_str(&token).is_err() {
        return Err(Error::unavailable(
            token_reply(raw),
            "the token endpoint returned a token that cannot be sent in a header",
            None,
        ));
    }
    let lifetime = token_lifetime(data.expiry_time.as_deref(), now);
    tracing::debug!(lifetime_s = lifetime.as_secs(), "digipay token fetched");
    Ok(FetchedToken::new(token).with_lifetime(lifetime))
}

/// `expiry_time` (read as UTC) minus now, clamped to [`MIN_TOKEN_LIFETIME`]..=[`MAX_TOKEN_LIFETIME`];
/// the core default (600 s) when it is missing or unreadable.
fn token_lifetime(expiry_time: Option<&str>, now: SystemTime) -> Duration {
    let Some(text) = expiry_time else {
        tracing::warn!("the DigiPay token has no expiry_time; assuming the default lifetime");
        return DEFAULT_TOKEN_LIFETIME;
    };
    let Some(expires_at) = wire::parse_expiry_time(text) else {
        tracing::warn!(
            expiry_time = text,
            "unreadable DigiPay expiry_time; assuming the default lifetime"
        );
        return DEFAULT_TOKEN_LIFETIME;
    };
    match expires_at.duration_since(now) {
        Ok(lifetime) => lifetime.clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME),
        Err(_) => {
            tracing::warn!(
                expiry_time = text,
                "the DigiPay token's expiry_time (read as UTC) is already past; using it for the minimum lifetime"
            );
            MIN_TOKEN_LIFETIME
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: a panic is how a test fails
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn builder_debug_is_pinned_and_masks_secrets() {
        let builder = DigiPayClient::builder()
            .base_url("https://digipay.example.com")
            .company_id("c-1")
            .client_credentials("cid", "very-secret")
            .txn_code("CIB")
            .payment_mode(2);
        assert_eq!(
            format!("{builder:?}"),
            "DigiPayClientBuilder { base_url: Some(\"https://digipay.example.com\"), company_id: Some(\"c-1\"), credentials: Some(ClientCredentials { client_id: \"cid\", client_secret: *** }), auth_scheme: Token, currency: Inr, txn_code: Some(\"CIB\"), payment_mode: Some(2), transport: TransportBuilder { timeout: None, http_client: None, retry_policy: None, .. }, insecure_http: LoopbackOnly, .. }"
        );
        let builder = DigiPayClient::builder().token("tok-secret");
        assert!(format!("{builder:?}").contains("credentials: Some(Token(***))"));
        assert!(!format!("{builder:?}").contains("tok-secret"));
    }

    #[test]
    fn client_debug_is_pinned_and_masks_secrets() {
        let client = DigiPayClient::builder()
            .base_url("https://digipay.example.com/")
            .company_id("c-1")
            .token("tok-secret")
            .auth_scheme(AuthScheme::Bearer)
            .build()
            .unwrap();
        assert_eq!(
            format!("{client:?}"),
            "DigiPayClient { base_url: \"https://digipay.example.com/\", company_id: \"c-1\", auth: Token(***), auth_scheme: Bearer, currency: Inr, txn_code: None, payment_mode: None, .. }"
        );
        let client = DigiPayClient::builder()
            .base_url("https://digipay.example.com")
            .company_id("c-1")
            .client_credentials("cid", "very-secret")
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("auth: ClientCredentials { client_id: \"cid\", client_secret: *** }")
        );
        assert!(!shown.contains("very-secret"));
    }

    #[test]
    fn token_lifetime_is_clamped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_706_120_318 - 3600);
        assert_eq!(token_lifetime(Some("2024-01-24 18:18:38"), now), Duration::from_secs(3600));
        assert_eq!(token_lifetime(Some("2024-01-24 17:18:40"), now), MIN_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("2020-01-01 00:00:00"), now), MIN_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("2030-01-01 00:00:00"), now), MAX_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("soon"), now), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(None, now), DEFAULT_TOKEN_LIFETIME);
    }

    #[test]
    fn decline_reasons() {
        assert_eq!(decline_reason(400, Some("BAD_REQUEST")), DeclineReason::InvalidRequest);
        assert_eq!(decline_reason(400, None), DeclineReason::InvalidRequest);
        assert_eq!(decline_reason(404, None), DeclineReason::TransactionNotFound);
        assert_eq!(
            decline_reason(404, Some("TRANSACTION_NOT_FOUND")),
            DeclineReason::TransactionNotFound
        );
        assert_eq!(
            decline_reason(400, Some("REFUND_AMOUNT_EXCEEDS_TRANSACTION_AMOUNT")),
            DeclineReason::LimitExceeded
        );
        assert_eq!(
            decline_reason(200, Some("Insufficient balance")),
            DeclineReason::InsufficientBalance
        );
        assert_eq!(decline_reason(200, Some("nope")), DeclineReason::Refused);
        assert_eq!(decline_reason(409, Some("Already refunded")), DeclineReason::AlreadyRefunded);
    }

    #[test]
    fn env_lookup() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let err = DigiPayClient::builder_from_vars(vars(&[])).build().unwrap_err();
        assert!(err.to_string().contains(ENV_BASE_URL), "{err}");
        let err = DigiPayClient::builder_from_vars(vars(&[(ENV_BASE_URL, "https://d.example")]))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(ENV_COMPANY_ID), "{err}");
        let err = DigiPayClient::builder_from_vars(vars(&[
            (ENV_BASE_URL, "https://d.example"),
            (ENV_COMPANY_ID, "c"),
        ]))
        .build()
        .unwrap_err();
        assert!(err.to_string().contains(ENV_TOKEN), "{err}");
        let err = DigiPayClient::builder_from_vars(vars(&[
            (ENV_BASE_URL, "https://d.example"),
            (ENV_COMPANY_ID, "c"),
            (ENV_TOKEN, "t"),
            (ENV_CLIENT_ID, "i"),
        ]))
        .build()
        .unwrap_err();
        assert_eq!(err.kind(), "config");
        let client = DigiPayClient::builder_from_vars(vars(&[
            (ENV_BASE_URL, "https://d.example"),
            (ENV_COMPANY_ID, "c"),
            (ENV_CLIENT_ID, "i"),
            (ENV_CLIENT_SECRET, "s3cr3t-value"),
            (ENV_AUTH_SCHEME, "bearer"),
            (ENV_TXN_CODE, "CIB"),
            (ENV_PAYMENT_MODE, "2"),
        ]))
        .build()
        .unwrap();
        assert_eq!(client.inner.auth_scheme, AuthScheme::Bearer);
        assert_eq!(client.inner.payment_mode, Some(2));
        let err = DigiPayClient::builder_from_vars(vars(&[(ENV_PAYMENT_MODE, "two")]))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(ENV_PAYMENT_MODE), "{err}");
    }

    #[test]
    fn bad_settings_are_rejected() {
        let base = || DigiPayClient::builder().base_url("https://d.example").company_id("c");
        assert_eq!(
            base().base_url("http://10.0.0.1").token("t").build().unwrap_err().field(),
            Some("base_url")
        );
        assert!(
            base()
                .base_url("http://10.0.0.1")
                .token("t")
                .insecure_http(InsecureHttp::Allow)
                .build()
                .is_ok()
        );
        assert_eq!(base().token("a\nb").build().unwrap_err().field(), Some("token"));
        assert_eq!(
            base().company_id("a\nb").token("t").build().unwrap_err().field(),
            Some("company_id")
        );
        assert_eq!(
            base().client_credentials("a:b", "s").build().unwrap_err().field(),
            Some("client_id")
        );
        assert_eq!(base().token("t").txn_code("").build().unwrap_err().field(), Some("txn_code"));
        assert_eq!(base().token("").build().unwrap_err().kind(), "config");
    }

    #[test]
    fn client_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<DigiPayClient>();
    }
}
