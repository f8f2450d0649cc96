//! The DigiPay client, its builder, and the refund operation.

use std::fmt;
use std::sync::Arc;

use refund_core::http::header::{ACCEPT, AUTHORIZATION};
use refund_core::http::{HeaderName, HeaderValue};
use refund_core::url::Url;
use refund_core::{
    Capabilities, Currency, DirectRefund, Error, ExposeSecret, Idempotency, MASK, Operation,
    PreparedBody, PreparedRequest, Provider, RefundRecord, RefundRequest, Result, Transport,
    TransportBuilder, async_trait, header_value, join_path, require_setting,
};

use crate::auth::{Auth, AuthScheme, Credentials};
use crate::decode::{decode_refund, with_reconcile_hint};
use crate::model::{Resolved, WalletRefund, WalletRefundRequest, check_txn_code};
use crate::wire::RefundBody;

/// What DigiPay supports: a direct refund, full or partial; no status read, and no deduplication
/// (so a refund that may have arrived is never resent).
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER, "DigiPay")
    .with_direct_refund(true)
    .with_partial_refund(true)
    .with_idempotent_refund(false);

/// DigiPay's `CompanyID` header (HTTP header names are case-insensitive; HTTP/1 sends it lower-case).
const COMPANY_ID: HeaderName = HeaderName::from_static("companyid");
pub(crate) const PROVIDER: &str = "digipay";

/// The refund moves money and DigiPay has no idempotency key: never repeated once it may have
/// arrived.
pub(crate) const REFUND_MONEY: Operation =
    Operation::new(PROVIDER, "refund_money", Idempotency::Unsafe);
const REFUND_MONEY_PATH: &[&str] = &["digipay", "v3", "transaction", "wallet_refund_money"];

/// Env var of the base URL (required; each company gets its own).
pub const ENV_BASE_URL: &str = "DIGIPAY_BASE_URL";
/// Env var of the `CompanyID` header value.
pub const ENV_COMPANY_ID: &str = "DIGIPAY_COMPANY_ID";
/// Env var of the default `txn_code`.
pub const ENV_TXN_CODE: &str = "DIGIPAY_TXN_CODE";
/// Env var of the default `payment_mode`.
pub const ENV_PAYMENT_MODE: &str = "DIGIPAY_PAYMENT_MODE";

/// Builds a [`DigiPayClient`]; [`DigiPayClientBuilder::build`] validates every setting.
#[derive(Default)]
pub struct DigiPayClientBuilder {
    base_url: Option<String>,
    company_id: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) auth_scheme: AuthScheme,
    /// INR when not set.
    currency: Option<Currency>,
    txn_code: Option<String>,
    payment_mode: Option<u32>,
    transport: TransportBuilder,
    env_error: Option<String>,
}

impl fmt::Debug for DigiPayClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigiPayClientBuilder")
            .field("base_url", &self.base_url)
            .field("company_id", &self.company_id)
            .field("credentials", &self.credentials)
            .field("auth_scheme", &self.auth_scheme)
            .field("currency", &self.currency.unwrap_or(Currency::Inr))
            .field("txn_code", &self.txn_code)
            .field("payment_mode", &self.payment_mode)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl DigiPayClientBuilder {
    refund_core::with_setters! {
        /// The company's DigiPay base URL (required; no default). `https`, or `http` to localhost
        /// unless [`DigiPayClientBuilder::insecure_http`] allows more (the page's example is a LAN
        /// address).
        base_url => base_url: String,
        /// The `CompanyID` header value (required).
        company_id => company_id: String,
        /// The `txn_code` used when a request does not set one (needed by [`DirectRefund`]).
        txn_code => txn_code: String,
        /// The wallet currency (default INR). Refund amounts must be in it.
        currency => currency: Currency,
        /// The `payment_mode` used when a request does not set one (needed by [`DirectRefund`]).
        payment_mode => payment_mode: u32,
    }
    refund_core::transport_setters!(clock);

    /// Validates the settings and builds the client. A missing setting is [`Error::Config`] naming
    /// it and its env var; a bad value is [`Error::InvalidInput`] naming the field.
    pub fn build(self) -> Result<DigiPayClient> {
        if let Some(message) = self.env_error {
            return Err(Error::config(message));
        }
        let what = "the DigiPay base URL (each company gets its own)";
        let base_url = require_setting(self.base_url, what, "base_url", ENV_BASE_URL)?;
        let base_url = self.transport.parse_base_url(&base_url)?;
        let what = "the DigiPay company id (the CompanyID header)";
        let company_id = require_setting(self.company_id, what, "company_id", ENV_COMPANY_ID)?;
        let company_id_header = header_value("company_id", &company_id, false)?;
        if let Some(code) = &self.txn_code {
            check_txn_code(code)?;
        }
        let clock = self.transport.clock_or_system();
        let transport = self.transport.build()?;
        let auth = Credentials::into_auth(
            self.credentials,
            self.auth_scheme,
            &base_url,
            &transport,
            clock,
        )?;
        Ok(DigiPayClient {
            inner: Arc::new(Inner {
                refund_url: join_path(&base_url, REFUND_MONEY_PATH)?,
                base_url,
                company_id,
                company_id_header,
                auth,
                auth_scheme: self.auth_scheme,
                currency: self.currency.unwrap_or(Currency::Inr),
                txn_code: self.txn_code,
                payment_mode: self.payment_mode,
                transport,
            }),
        })
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
        let mut errors = Vec::new();
        let (credentials, auth_scheme) = Credentials::from_vars(get, &mut errors);
        let payment_mode = get(ENV_PAYMENT_MODE).and_then(|mode| mode.trim().parse().ok());
        if payment_mode.is_none() && get(ENV_PAYMENT_MODE).is_some() {
            errors.push(format!("{ENV_PAYMENT_MODE} must be a whole number"));
        }
        DigiPayClientBuilder {
            base_url: get(ENV_BASE_URL),
            company_id: get(ENV_COMPANY_ID),
            credentials,
            auth_scheme: auth_scheme.unwrap_or_default(),
            txn_code: get(ENV_TXN_CODE),
            payment_mode,
            env_error: (!errors.is_empty()).then(|| errors.join("; ")),
            ..Self::builder()
        }
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
        self.build_refund(request, &resolved, &self.inner.auth_scheme.header(MASK)?)
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
        let resolved = &self.resolve(request)?;
        let outcome = match &self.inner.auth {
            Auth::Static(authorization) => self.send_refund(request, resolved, authorization).await,
            // A 401 means not processed: the cache drops the token and repeats once. Boxed: the
            // cache's future would otherwise size every call's, static tokens included.
            Auth::Fetched { cache, .. } => Box::pin(cache.with_token(
                |token| async move {
                    let authorization = self.inner.auth_scheme.header(token.secret().expose_secret())?;
                    Ok(self.send_refund(request, resolved, &authorization).await)
                },
                |outcome| {
                    matches!(outcome, Err(Error::Auth { reply }) if reply.http_status() == Some(401))
                },
            ))
            .await
            .and_then(|outcome| outcome),
        }
        .map_err(with_reconcile_hint);
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
        let inner = &self.inner;
        request.resolve(inner.currency, inner.txn_code.as_deref(), inner.payment_mode)
    }

    fn build_refund(
        &self,
        request: &WalletRefundRequest,
        resolved: &Resolved<'_>,
        authorization: &HeaderValue,
    ) -> Result<PreparedRequest> {
        let body = RefundBody::new(request, resolved);
        // Every header value was checked before: at build, or once per fetched token.
        Ok(PreparedRequest::post(self.inner.refund_url.clone())
            .header_value(AUTHORIZATION, authorization.clone())
            .header_value(COMPANY_ID, self.inner.company_id_header.clone())
            .header_value(ACCEPT, HeaderValue::from_static("application/json"))
            .body(PreparedBody::json(&body, &[])?))
    }

    /// One refund call: sent once (never resent once it may have arrived), then decoded.
    async fn send_refund(
        &self,
        request: &WalletRefundRequest,
        resolved: &Resolved<'_>,
        authorization: &HeaderValue,
    ) -> Result<WalletRefund> {
        let build = |_attempt| self.build_refund(request, resolved, authorization);
        self.inner.transport.call(&REFUND_MONEY, build, |raw| decode_refund(raw, request)).await
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: a panic is how a test fails
mod tests {
    use super::*;
    use crate::auth::{ENV_AUTH_SCHEME, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_TOKEN};
    use refund_core::InsecureHttp;

    #[test]
    fn env_lookup() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        const URL: (&str, &str) = (ENV_BASE_URL, "https://d.example");
        const COMPANY: (&str, &str) = (ENV_COMPANY_ID, "c");
        for (pairs, named) in [
            (&[][..], ENV_BASE_URL),
            (&[URL], ENV_COMPANY_ID),
            (&[URL, COMPANY], ENV_TOKEN),
            (&[URL, COMPANY, (ENV_TOKEN, "t"), (ENV_CLIENT_ID, "i")], ENV_CLIENT_ID),
            (&[(ENV_PAYMENT_MODE, "two")], ENV_PAYMENT_MODE),
        ] {
            let err = DigiPayClient::builder_from_vars(vars(pairs)).build().unwrap_err();
            assert_eq!(err.kind(), "config", "{err}");
            assert!(err.to_string().contains(named), "{err}");
        }
        let client = DigiPayClient::builder_from_vars(vars(&[
            URL,
            COMPANY,
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
    }

    #[test]
    fn bad_settings_are_rejected() {
        let base = || DigiPayClient::builder().base_url("https://d.example").company_id("c");
        let lan = || base().base_url("http://10.0.0.1").token("t");
        for (builder, field) in [
            (lan(), "base_url"),
            (base().token("a\nb"), "token"),
            (base().company_id("a\nb").token("t"), "company_id"),
            (base().client_credentials("a:b", "s"), "client_id"),
            (base().token("t").txn_code(""), "txn_code"),
        ] {
            assert_eq!(builder.build().unwrap_err().field(), Some(field));
        }
        assert!(lan().insecure_http(InsecureHttp::Allow).build().is_ok());
        assert_eq!(base().token("").build().unwrap_err().kind(), "config");
    }

    #[test]
    fn client_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<DigiPayClient>();
    }
}
