//! The AOC client, its builder, and its operations.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use refund_core::{
    Capabilities, Currency, DirectRefund, Error, ExposeSecret, Idempotency, MASK, Operation,
    PreparedBody, PreparedRequest, Provider, ProviderReply, RefundRecord, RefundReference,
    RefundRequest, RefundStatusRead, Result, SecretString, StatusKey, StatusQuery, Transport,
    TransportBuilder, async_trait, join_path, require_secret, require_setting, url::Url,
};

use crate::decode::{RefundAnswer, after_duplicate, decode_refund, decode_status};
use crate::model::{AocRefundInput, AocRefundRequest};

/// Provider name used in records and errors.
pub const PROVIDER: &str = "aoc";

/// What AOC supports: direct full or partial refunds, deduplicated by `spTransID`, and a status
/// read keyed by that reference.
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER, "BoostConnect AOC")
    .with_direct_refund(true)
    .with_partial_refund(true)
    .with_status_key(StatusKey::RefundReference)
    .with_idempotent_refund(true);

/// Environment variable with the merchant's AOC server (required; there is no default).
pub const ENV_BASE_URL: &str = "AOC_BASE_URL";
/// Environment variable with the username BoostConnect issued.
pub const ENV_USERNAME: &str = "AOC_USERNAME";
/// Environment variable with the API key BoostConnect issued.
pub const ENV_API_KEY: &str = "AOC_API_KEY";

/// The refund call: `Keyed`, because AOC deduplicates by `spTransID` and every attempt of one
/// request carries the same one.
pub(crate) const REFUND: Operation = Operation::new(PROVIDER, "refund", Idempotency::Keyed);
/// The status read: changes nothing.
pub(crate) const REFUND_STATUS: Operation =
    Operation::new(PROVIDER, "refund_status", Idempotency::Safe);

/// Form fields holding secrets: masked in dry runs and logs.
pub(crate) const SECRET_FIELDS: &[&str] = &["apiKey"];

/// A BoostConnect AOC client. Cheap to clone (clones share one connection pool); `Send + Sync`.
///
/// ```no_run
/// use refund_aoc::{AocClient, AocRefundRequest};
/// use refund_core::{Currency, Money, TransactionId};
/// # async fn run() -> refund_core::Result<()> {
/// let client = AocClient::builder()
///     .base_url("https://aoc.example.com")
///     .username("merchant")
///     .api_key("secret")
///     .build()?;
/// let request = AocRefundRequest::new(TransactionId::new("12345")?, Money::parse("1.00", Currency::Myr)?);
/// let record = client.refund(&request).await?;
/// println!("{} {:?}", record.status, record.refund_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AocClient {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    /// `{base}/api/refund` and `{base}/api/refundStatus`, joined once at build.
    refund_url: Url,
    status_url: Url,
    username: String,
    api_key: SecretString,
    currency: Currency,
    transport: Transport,
}

impl fmt::Debug for AocClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AocClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("username", &self.inner.username)
            .field("api_key", &MASK)
            .field("currency", &self.inner.currency)
            .field("timeout", &self.inner.transport.timeout())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AocClient`]. Every setting is checked by [`AocClientBuilder::build`].
#[derive(Default)]
pub struct AocClientBuilder {
    base_url: Option<String>,
    username: Option<String>,
    api_key: Option<SecretString>,
    currency: Option<Currency>,
    transport: TransportBuilder,
}

impl fmt::Debug for AocClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AocClientBuilder")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("api_key", &self.api_key.as_ref().map(|_| MASK))
            .field("currency", &self.currency)
            .field("transport", &self.transport)
            .finish()
    }
}

impl AocClientBuilder {
    refund_core::with_setters! {
        /// The merchant's AOC server (`<AOC_SERVER>`), e.g. `https://aoc.example.com`. Required.
        base_url => base_url: String,
        /// The username BoostConnect issued. Required.
        username => username: String,
        /// The API key BoostConnect issued. Required; kept secret (never printed or logged).
        api_key => api_key: secret,
        /// The currency of the merchant's charges (default MYR). Amounts in another currency are
        /// rejected before sending.
        currency => currency: Currency,
    }
    refund_core::transport_setters!();

    /// Checks every setting and builds the client.
    ///
    /// A missing base URL, username or API key is [`Error::Config`] naming the setting and its
    /// environment variable; a bad base URL is [`Error::InvalidInput`] naming `base_url`.
    pub fn build(self) -> Result<AocClient> {
        let base_url = require_setting(
            self.base_url,
            "the AOC base URL (each merchant's own server; there is no default)",
            "base_url",
            ENV_BASE_URL,
        )?;
        let base_url = self.transport.parse_base_url(&base_url)?;
        let username =
            require_setting(self.username, "the AOC username", "username", ENV_USERNAME)?;
        let api_key = require_secret(self.api_key, "the AOC API key", "api_key", ENV_API_KEY)?;
        let currency = self.currency.unwrap_or(Currency::Myr);
        if currency.exponent() != 2 {
            return Err(Error::config(format!(
                "AOC amounts have two decimals; {currency} does not"
            )));
        }
        Ok(AocClient {
            inner: Arc::new(Inner {
                refund_url: join_path(&base_url, &["api", "refund"])?,
                status_url: join_path(&base_url, &["api", "refundStatus"])?,
                base_url,
                username,
                api_key,
                currency,
                transport: self.transport.build()?,
            }),
        })
    }
}

impl AocClient {
    /// A builder with nothing set.
    pub fn builder() -> AocClientBuilder {
        AocClientBuilder::default()
    }

    /// A builder preloaded from `AOC_BASE_URL`, `AOC_USERNAME` and `AOC_API_KEY` (those that are
    /// set), so the caller can override any of them before [`AocClientBuilder::build`].
    pub fn builder_from_env() -> AocClientBuilder {
        builder_from_lookup(|name| std::env::var(name).ok())
    }

    /// A client from `AOC_BASE_URL`, `AOC_USERNAME` and `AOC_API_KEY`.
    pub fn from_env() -> Result<AocClient> {
        Self::builder_from_env().build()
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The currency amounts are sent and read in.
    pub fn currency(&self) -> Currency {
        self.inner.currency
    }

    /// Builds the refund request without sending it (dry run): `apiKey` renders as `***` in
    /// [`PreparedRequest::to_curl`] and [`PreparedRequest::to_redacted_json`].
    ///
    /// ```
    /// use refund_aoc::{AocClient, AocRefundRequest};
    /// use refund_core::{Currency, Money, RefundReference, TransactionId};
    /// let client = AocClient::builder()
    ///     .base_url("https://aoc.example.com").username("merchant").api_key("k3y").build()?;
    /// let request = AocRefundRequest::new(TransactionId::new("12345")?, Money::parse("6.5", Currency::Myr)?)
    ///     .with_sp_trans_id(RefundReference::new("sp-1")?);
    /// let prepared = client.prepare_refund(&request)?;
    /// assert_eq!(
    ///     prepared.body_ref().unwrap().redacted(),
    ///     "apiKey=***&username=merchant&spTransID=sp-1&aocTransID=12345&amount=6.50"
    /// );
    /// assert!(!prepared.to_curl().contains("k3y"));
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    pub fn prepare_refund<R: AocRefundInput + ?Sized>(
        &self,
        request: &R,
    ) -> Result<PreparedRequest> {
        let request = self.checked(request)?;
        self.build_refund(&request)
    }

    /// Builds the status request without sending it (dry run), `apiKey` masked.
    pub fn prepare_refund_status(&self, sp_trans_id: &RefundReference) -> Result<PreparedRequest> {
        let fields = [
            ("apiKey", self.inner.api_key.expose_secret()),
            ("username", self.inner.username.as_str()),
            ("spTransID", sp_trans_id.as_str()),
        ];
        Ok(PreparedRequest::post(self.inner.status_url.clone())
            .body(PreparedBody::form(&fields, SECRET_FIELDS)))
    }

    /// Refunds (fully or partly) an AOC charge: `POST {base}/api/refund`.
    ///
    /// Accepts an [`AocRefundRequest`] or a core [`RefundRequest`] (which must have an amount).
    /// Retries after a timeout or 5xx reuse the same `spTransID`; when AOC answers `AOC1001`
    /// (duplicate: an earlier attempt went through) the client reads `refundStatus` for that
    /// `spTransID` and returns the real outcome.
    ///
    /// Returns a [`RefundStatus::Succeeded`](refund_core::RefundStatus::Succeeded) record, or
    /// [`Error::Declined`] with AOC's code, [`Error::Auth`] (`AOC0003`), [`Error::Unavailable`]
    /// (`AOC1020`, 429/503, unreachable), or [`Error::OutcomeUnknown`] (read the status before
    /// anything else).
    pub async fn refund<R: AocRefundInput + ?Sized>(&self, request: &R) -> Result<RefundRecord> {
        let request = self.checked(request)?;
        tracing::debug!(
            sp_trans_id = request.sp_trans_id().as_str(),
            aoc_trans_id = request.aoc_trans_id().as_str(),
            amount = %request.amount(),
            "aoc refund"
        );
        let answer = self
            .inner
            .transport
            .call(
                &REFUND,
                |_attempt| self.build_refund(&request),
                |raw| decode_refund(raw, &request, self.inner.currency),
            )
            .await?;
        match answer {
            RefundAnswer::Done(record) => Ok(record),
            RefundAnswer::Duplicate(reply) => {
                let sp_trans_id = request.sp_trans_id();
                tracing::info!(
                    sp_trans_id = sp_trans_id.as_str(),
                    "AOC1001 duplicate spTransID: reading refundStatus for the real outcome"
                );
                // Boxed: the duplicate path is rare and its status read would double this
                // future's size.
                let read = Box::pin(self.read_status(sp_trans_id)).await;
                after_duplicate(&request, reply, read)
            }
        }
    }

    /// Reads a refund's status by its `spTransID`: `POST {base}/api/refundStatus`.
    ///
    /// An answer about the refund is a record: `refunded` is `RefundStatus::Succeeded`, `denied`
    /// (or any error code about the refund) is `RefundStatus::Failed` with AOC's code in
    /// `provider_code`. `AOC0001` with HTTP 200 (AOC knows no refund by this `spTransID`) is
    /// [`RefundStatus::NotRefunded`](refund_core::RefundStatus::NotRefunded): no refund was made
    /// under it. Other answers about the read
    /// itself are errors: `AOC0001` with a 4xx status is [`Error::Declined`], `AOC0003` is
    /// [`Error::Auth`], `AOC1020` and unreadable answers are [`Error::Unavailable`] (a read is
    /// always safe to repeat).
    pub async fn refund_status(&self, sp_trans_id: &RefundReference) -> Result<RefundRecord> {
        self.read_status(sp_trans_id).await.map(|(record, _)| record)
    }

    async fn read_status(
        &self,
        sp_trans_id: &RefundReference,
    ) -> Result<(RefundRecord, ProviderReply)> {
        tracing::debug!(sp_trans_id = sp_trans_id.as_str(), "aoc refund status");
        self.inner
            .transport
            .call(
                &REFUND_STATUS,
                |_attempt| self.prepare_refund_status(sp_trans_id),
                |raw| decode_status(raw, sp_trans_id, self.inner.currency),
            )
            .await
    }

    /// The input as an [`AocRefundRequest`] (borrowed when it is one), its amount checked before
    /// anything is sent.
    fn checked<'r, R: AocRefundInput + ?Sized>(
        &self,
        request: &'r R,
    ) -> Result<Cow<'r, AocRefundRequest>> {
        let request = match request.as_aoc_refund() {
            Some(request) => Cow::Borrowed(request),
            None => Cow::Owned(request.to_aoc_refund()?),
        };
        let amount = request.amount();
        let problem = if amount.currency() != self.inner.currency {
            format!(
                "is in {} but this AOC client refunds in {} (see AocClientBuilder::currency)",
                amount.currency(),
                self.inner.currency
            )
        } else if amount.is_zero() {
            "must be greater than zero".to_owned()
        } else if amount.minor_units() > refund_core::MAX_MINOR_UNITS {
            "is too large".to_owned()
        } else {
            return Ok(request);
        };
        Err(Error::invalid_input("amount", problem))
    }

    fn build_refund(&self, request: &AocRefundRequest) -> Result<PreparedRequest> {
        let amount = request.amount().to_fixed_string();
        let fields = [
            ("apiKey", self.inner.api_key.expose_secret()),
            ("username", self.inner.username.as_str()),
            ("spTransID", request.sp_trans_id().as_str()),
            ("aocTransID", request.aoc_trans_id().as_str()),
            ("amount", &amount),
        ];
        Ok(PreparedRequest::post(self.inner.refund_url.clone())
            .body(PreparedBody::form(&fields, SECRET_FIELDS)))
    }
}

fn builder_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AocClientBuilder {
    AocClientBuilder {
        base_url: lookup(ENV_BASE_URL),
        username: lookup(ENV_USERNAME),
        api_key: lookup(ENV_API_KEY).map(SecretString::from),
        ..AocClientBuilder::default()
    }
}

impl Provider for AocClient {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn as_status_read(&self) -> Option<&dyn RefundStatusRead> {
        Some(self)
    }
}

#[async_trait]
impl DirectRefund for AocClient {
    async fn refund(&self, request: &RefundRequest) -> Result<RefundRecord> {
        AocClient::refund(self, request).await
    }
}

#[async_trait]
impl RefundStatusRead for AocClient {
    async fn refund_status(&self, query: &StatusQuery) -> Result<RefundRecord> {
        match query {
            StatusQuery::Reference(reference) => AocClient::refund_status(self, reference).await,
            _ => Err(Error::invalid_input(
                "query",
                "AOC reads a refund's status by its reference (spTransID), not by the original \
                 transaction",
            )),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use refund_core::{InsecureHttp, Money, TransactionId};
    use std::time::Duration;

    /// Every AOC variable set, as the test client has them.
    fn env(name: &str) -> Option<String> {
        match name {
            ENV_BASE_URL => Some("https://aoc.example.com".to_owned()),
            ENV_USERNAME => Some("merchant".to_owned()),
            ENV_API_KEY => Some("k3y-Secret".to_owned()),
            _ => None,
        }
    }

    fn client() -> AocClient {
        builder_from_lookup(env).build().unwrap()
    }

    /// A refund of 1.00 MYR of charge 12345 under spTransID `sp-1` (also for decode's tests).
    pub(crate) fn request() -> AocRefundRequest {
        AocRefundRequest::new(
            TransactionId::new("12345").unwrap(),
            Money::parse("1", Currency::Myr).unwrap(),
        )
        .with_sp_trans_id(RefundReference::new("sp-1").unwrap())
    }

    #[test]
    fn debug_output_is_pinned_and_masks_the_key() {
        let builder = AocClient::builder()
            .base_url("https://aoc.example.com")
            .username("merchant")
            .api_key("k3y-Secret");
        assert_eq!(
            format!("{builder:?}"),
            "AocClientBuilder { base_url: Some(\"https://aoc.example.com\"), username: \
             Some(\"merchant\"), api_key: Some(\"***\"), currency: None, transport: \
             TransportBuilder { timeout: None, http_client: None, retry_policy: None, \
             insecure_http: LoopbackOnly, .. } }"
        );
        assert_eq!(
            format!("{:?}", client()),
            "AocClient { base_url: \"https://aoc.example.com/\", username: \"merchant\", \
             api_key: \"***\", currency: Myr, timeout: 30s, .. }"
        );
    }

    #[test]
    fn missing_settings_name_their_env_vars() {
        for missing in [ENV_BASE_URL, ENV_USERNAME, ENV_API_KEY] {
            let lookup = |name: &str| env(name).filter(|_| name != missing);
            let err = builder_from_lookup(lookup).build().unwrap_err();
            assert_eq!(err.kind(), "config", "{err}");
            assert!(err.to_string().contains(missing), "{err}");
        }
        let base = || AocClient::builder().username("u").api_key("k");
        let lan = || base().base_url("http://10.0.0.1");
        assert_eq!(lan().build().unwrap_err().field(), Some("base_url"));
        assert!(lan().insecure_http(InsecureHttp::Allow).build().is_ok());
        let zero = base().base_url("https://a.example").timeout(Duration::ZERO).build();
        assert_eq!(zero.unwrap_err().field(), Some("timeout"));
    }

    #[test]
    fn env_lookup_fills_the_builder() {
        let client = builder_from_lookup(env).build().unwrap();
        assert_eq!(client.base_url().as_str(), "https://aoc.example.com/");
        let err = builder_from_lookup(|_| None).build().unwrap_err();
        assert!(err.to_string().contains(ENV_BASE_URL));
    }

    #[test]
    fn refund_form_is_exact() {
        let prepared = client().prepare_refund(&request()).unwrap();
        assert_eq!(prepared.url().as_str(), "https://aoc.example.com/api/refund");
        let body = prepared.body_ref().unwrap();
        assert_eq!(body.content_type(), "application/x-www-form-urlencoded");
        assert_eq!(
            body.bytes().as_ref(),
            b"apiKey=k3y-Secret&username=merchant&spTransID=sp-1&aocTransID=12345&amount=1.00"
        );
        let shown = format!("{}{}{prepared:?}", prepared.to_curl(), prepared.to_redacted_json());
        assert!(!shown.contains("k3y-Secret"), "{shown}");
        let status =
            client().prepare_refund_status(&RefundReference::new("sp-1").unwrap()).unwrap();
        assert_eq!(status.url().as_str(), "https://aoc.example.com/api/refundStatus");
        assert_eq!(
            status.body_ref().unwrap().redacted(),
            "apiKey=***&username=merchant&spTransID=sp-1"
        );
    }
}
