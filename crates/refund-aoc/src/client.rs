//! The AOC client, its builder, and the decoding of AOC's answers.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use refund_core::{
    Capabilities, Currency, DeclineReason, DirectRefund, Error, ExposeSecret, Idempotency,
    InsecureHttp, MASK, Operation, PreparedBody, PreparedRequest, Provider, ProviderReply, RawJson,
    RawResponse, RefundRecord, RefundReference, RefundRequest, RefundStatus, RefundStatusRead,
    Result, RetryPolicy, SecretString, StatusKey, StatusQuery, Transport, TransportBuilder,
    async_trait, join_path, parse_base_url, redact_json_text, url::Url,
};

use crate::model::{AocErrorCode, AocRefundInput, AocRefundRequest};
use crate::wire::{self, Data};

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
const REFUND_STATUS: Operation = Operation::new(PROVIDER, "refund_status", Idempotency::Safe);

/// Form fields holding secrets: masked in dry runs and logs.
const SECRET_FIELDS: &[&str] = &["apiKey"];

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
    insecure_http: InsecureHttp,
}

impl fmt::Debug for AocClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AocClientBuilder")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("api_key", &self.api_key.as_ref().map(|_| MASK))
            .field("currency", &self.currency)
            .field("transport", &self.transport)
            .field("insecure_http", &self.insecure_http)
            .finish()
    }
}

impl AocClientBuilder {
    /// The merchant's AOC server (`<AOC_SERVER>`), e.g. `https://aoc.example.com`. Required.
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }
    /// The username BoostConnect issued. Required.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
    /// The API key BoostConnect issued. Required; kept secret (never printed or logged).
    #[must_use]
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(api_key.into()));
        self
    }
    /// The currency of the merchant's charges (default MYR). Amounts in another currency are
    /// rejected before sending.
    #[must_use]
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }
    /// Whole-request timeout (default [`refund_core::DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport = self.transport.timeout(timeout);
        self
    }
    /// Share this `reqwest::Client` (and its connection pool) instead of building one.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = self.transport.client(client);
        self
    }
    /// Retry policy (default [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.transport = self.transport.retry_policy(policy);
        self
    }
    /// Allow plain `http` to a non-loopback host (a private network you vouch for).
    #[must_use]
    pub fn insecure_http(mut self, insecure: InsecureHttp) -> Self {
        self.insecure_http = insecure;
        self
    }

    /// Checks every setting and builds the client.
    ///
    /// A missing base URL, username or API key is [`Error::Config`] naming the setting and its
    /// environment variable; a bad base URL is [`Error::InvalidInput`] naming `base_url`.
    pub fn build(self) -> Result<AocClient> {
        let base_url = self.base_url.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Error::config(format!(
                "the AOC base URL is not set: call .base_url(..) or set {ENV_BASE_URL} \
                 (BoostConnect gives each merchant its own server; there is no default)"
            ))
        })?;
        let base_url = parse_base_url(&base_url, self.insecure_http)?;
        let username = self.username.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            Error::config(format!(
                "the AOC username is not set: call .username(..) or set {ENV_USERNAME}"
            ))
        })?;
        let api_key =
            self.api_key.filter(|k| !k.expose_secret().trim().is_empty()).ok_or_else(|| {
                Error::config(format!(
                    "the AOC API key is not set: call .api_key(..) or set {ENV_API_KEY}"
                ))
            })?;
        let currency = self.currency.unwrap_or(Currency::Myr);
        if currency.exponent() != 2 {
            return Err(Error::config(format!(
                "AOC amounts have two decimals; {currency} does not"
            )));
        }
        let transport = self.transport.build()?;
        let refund_url = join_path(&base_url, &["api", "refund"])?;
        let status_url = join_path(&base_url, &["api", "refundStatus"])?;
        Ok(AocClient {
            inner: Arc::new(Inner {
                base_url,
                refund_url,
                status_url,
                username,
                api_key,
                currency,
                transport,
            }),
        })
    }
}

/// How a refund answer decodes: a final record, or AOC's "duplicate spTransID" that needs a
/// status read.
#[derive(Debug)]
pub(crate) enum RefundAnswer {
    Done(RefundRecord),
    Duplicate(ProviderReply),
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
        let request = aoc_request(request)?;
        self.check_amount(&request)?;
        self.build_refund(&request)
    }

    /// Builds the status request without sending it (dry run), `apiKey` masked.
    pub fn prepare_refund_status(&self, sp_trans_id: &RefundReference) -> Result<PreparedRequest> {
        self.build_status(sp_trans_id)
    }

    /// Refunds (fully or partly) an AOC charge: `POST {base}/api/refund`.
    ///
    /// Accepts an [`AocRefundRequest`] or a core [`RefundRequest`] (which must have an amount).
    /// Retries after a timeout or 5xx reuse the same `spTransID`; when AOC answers `AOC1001`
    /// (duplicate: an earlier attempt went through) the client reads `refundStatus` for that
    /// `spTransID` and returns the real outcome.
    ///
    /// Returns a [`RefundStatus::Succeeded`] record, or [`Error::Declined`] with AOC's code,
    /// [`Error::Auth`] (`AOC0003`), [`Error::Unavailable`] (`AOC1020`, 429/503, unreachable),
    /// or [`Error::OutcomeUnknown`] (read the status before anything else).
    pub async fn refund<R: AocRefundInput + ?Sized>(&self, request: &R) -> Result<RefundRecord> {
        let request = aoc_request(request)?;
        self.check_amount(&request)?;
        tracing::debug!(
            sp_trans_id = request.sp_trans_id().as_str(),
            aoc_trans_id = request.aoc_trans_id().as_str(),
            amount = %request.amount(),
            "aoc refund"
        );
        let raw =
            self.inner.transport.send(&REFUND, |_attempt| self.build_refund(&request)).await?;
        match decode_refund(&raw, &request, self.inner.currency)
            .map_err(|e| raw.qualify(&REFUND, e))?
        {
            RefundAnswer::Done(record) => Ok(record),
            // Boxed: the duplicate path is rare and its status read would double this future's size.
            RefundAnswer::Duplicate(reply) => {
                Box::pin(self.resolve_duplicate(&request, reply)).await
            }
        }
    }

    /// Reads a refund's status by its `spTransID`: `POST {base}/api/refundStatus`.
    ///
    /// An answer about the refund is a record: `refunded` is [`RefundStatus::Succeeded`], `denied`
    /// (or any error code about the refund) is [`RefundStatus::Failed`] with AOC's code in
    /// `provider_code`. `AOC0001` with HTTP 200 (AOC knows no refund by this `spTransID`) is
    /// [`RefundStatus::NotRefunded`]: no refund was made under it. Other answers about the read
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
        let raw = self
            .inner
            .transport
            .send(&REFUND_STATUS, |_attempt| self.build_status(sp_trans_id))
            .await?;
        decode_status(&raw, sp_trans_id, self.inner.currency)
    }

    /// `AOC1001`: an earlier attempt with this `spTransID` went through. Its outcome is the answer.
    async fn resolve_duplicate(
        &self,
        request: &AocRefundRequest,
        duplicate: ProviderReply,
    ) -> Result<RefundRecord> {
        tracing::info!(
            sp_trans_id = request.sp_trans_id().as_str(),
            "AOC1001 duplicate spTransID: reading refundStatus for the real outcome"
        );
        let (record, status_reply) = match self.read_status(request.sp_trans_id()).await {
            Ok(found) => found,
            Err(e) => {
                return Err(Error::outcome_unknown(
                    duplicate,
                    format!(
                        "AOC answered AOC1001 (duplicate spTransID {}: an earlier attempt reached \
                         it) and the status read failed: {e}",
                        request.sp_trans_id()
                    ),
                    Some(Box::new(e)),
                ));
            }
        };
        if let Some(other) = record.original_transaction_id.as_deref()
            && other != request.aoc_trans_id().as_str()
        {
            // The caller reused a spTransID of another refund: this one was refused.
            return Err(Error::declined(
                DeclineReason::InvalidRequest,
                duplicate.with_message(format!(
                    "spTransID {} was already used for a refund of aocTransID {other}; use a new \
                     reference for a new refund",
                    request.sp_trans_id()
                )),
            ));
        }
        match record.status {
            RefundStatus::Succeeded => match record.amount {
                Some(amount) if amount != request.amount() => Err(Error::outcome_unknown(
                    status_reply,
                    format!(
                        "spTransID {} is recorded as a refund of {amount}, not the {} requested",
                        request.sp_trans_id(),
                        request.amount()
                    ),
                    None,
                )),
                _ => {
                    let mut record = record;
                    record.original_transaction_id =
                        Some(request.aoc_trans_id().as_str().to_owned());
                    Ok(record)
                }
            },
            RefundStatus::Failed => {
                let code = AocErrorCode::parse(record.provider_code.as_deref().unwrap_or(""));
                Err(Error::declined(code.decline_reason(), status_reply))
            }
            other => Err(Error::outcome_unknown(
                status_reply,
                format!("after AOC1001 the status read says {other:?}, not a final outcome"),
                None,
            )),
        }
    }

    /// Rejects, before sending, an amount AOC cannot take.
    fn check_amount(&self, request: &AocRefundRequest) -> Result<()> {
        let amount = request.amount();
        if amount.currency() != self.inner.currency {
            return Err(Error::invalid_input(
                "amount",
                format!(
                    "is in {} but this AOC client refunds in {} (see AocClientBuilder::currency)",
                    amount.currency(),
                    self.inner.currency
                ),
            ));
        }
        if amount.is_zero() {
            return Err(Error::invalid_input("amount", "must be greater than zero"));
        }
        if amount.minor_units() > refund_core::MAX_MINOR_UNITS {
            return Err(Error::invalid_input("amount", "is too large"));
        }
        Ok(())
    }

    fn build_refund(&self, request: &AocRefundRequest) -> Result<PreparedRequest> {
        // On the stack: the form body copies it once, where it is written.
        let amount = request.amount().fixed_decimal();
        let fields = [
            ("apiKey", self.inner.api_key.expose_secret()),
            ("username", self.inner.username.as_str()),
            ("spTransID", request.sp_trans_id().as_str()),
            ("aocTransID", request.aoc_trans_id().as_str()),
            ("amount", amount.as_str()),
        ];
        Ok(PreparedRequest::post(self.inner.refund_url.clone())
            .body(PreparedBody::form(&fields, SECRET_FIELDS)))
    }

    fn build_status(&self, sp_trans_id: &RefundReference) -> Result<PreparedRequest> {
        let fields = [
            ("apiKey", self.inner.api_key.expose_secret()),
            ("username", self.inner.username.as_str()),
            ("spTransID", sp_trans_id.as_str()),
        ];
        Ok(PreparedRequest::post(self.inner.status_url.clone())
            .body(PreparedBody::form(&fields, SECRET_FIELDS)))
    }
}

/// The input as an [`AocRefundRequest`]: borrowed when it is one, converted otherwise.
fn aoc_request<R: AocRefundInput + ?Sized>(request: &R) -> Result<Cow<'_, AocRefundRequest>> {
    match request.as_aoc_refund() {
        Some(request) => Ok(Cow::Borrowed(request)),
        None => request.to_aoc_refund().map(Cow::Owned),
    }
}

fn builder_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> AocClientBuilder {
    let mut builder = AocClient::builder();
    if let Some(v) = lookup(ENV_BASE_URL) {
        builder = builder.base_url(v);
    }
    if let Some(v) = lookup(ENV_USERNAME) {
        builder = builder.username(v);
    }
    if let Some(v) = lookup(ENV_API_KEY) {
        builder = builder.api_key(v);
    }
    builder
}

/// The reply for `op`, its body excerpt re-rendered with any secret field masked.
fn base_reply(raw: &RawResponse, op: &Operation) -> ProviderReply {
    let body = raw.body();
    let reply = op.reply().with_http_status(raw.status());
    if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        reply.with_body_excerpt(redact_json_text(body, SECRET_FIELDS).as_bytes())
    } else {
        reply.with_body_excerpt(body)
    }
}

fn raw_json(raw: &RawResponse) -> RawJson {
    // The received bytes, shared not copied; masked and parsed only if someone looks.
    RawJson::new(raw.body().clone(), SECRET_FIELDS)
}

/// An answer that is not about the refund's outcome, for either operation, or `None`.
fn common_error(raw: &RawResponse, op: &Operation, data: Option<&Data>) -> Option<Error> {
    let code = data.map(|d| AocErrorCode::parse(&d.error_code));
    let reply = || match data {
        Some(d) => coded_reply(raw, op, d),
        None => base_reply(raw, op),
    };
    if matches!(raw.status(), 401 | 403) || code == Some(AocErrorCode::InvalidToken) {
        return Some(Error::auth(reply()));
    }
    if code == Some(AocErrorCode::TransactionInProgress) {
        return Some(Error::unavailable(
            reply(),
            "blocked by a transaction in progress; the request was not processed, retry later",
            None,
        ));
    }
    None
}

/// [`base_reply`] with AOC's code and message.
fn coded_reply(raw: &RawResponse, op: &Operation, data: &Data) -> ProviderReply {
    base_reply(raw, op).with_code(data.error_code.trim()).with_message(data.message())
}

pub(crate) fn decode_refund(
    raw: &RawResponse,
    request: &AocRefundRequest,
    currency: Currency,
) -> Result<RefundAnswer> {
    let parsed = wire::parse(raw.body());
    if let Some(err) = common_error(raw, &REFUND, parsed.as_ref().ok()) {
        return Err(err);
    }
    let status = raw.status();
    let data = match parsed {
        Ok(data) if raw.is_success() || (400..500).contains(&status) => data,
        Ok(_) | Err(_) if (500..600).contains(&status) => {
            return Err(Error::outcome_unknown(
                base_reply(raw, &REFUND),
                format!("AOC answered HTTP {status}; the refund may have been processed"),
                None,
            ));
        }
        Err(detail) if raw.is_success() => {
            return Err(Error::outcome_unknown(base_reply(raw, &REFUND), detail, None));
        }
        // A 4xx that is not AOC's answer is still a definite rejection.
        Err(_) | Ok(_) => {
            return Err(Error::declined(DeclineReason::InvalidRequest, base_reply(raw, &REFUND)));
        }
    };
    let code = AocErrorCode::parse(&data.error_code);
    let op_status = data.status();
    // Built only on the error paths: the success path never renders a reply.
    let reply = || coded_reply(raw, &REFUND, &data);
    if code == AocErrorCode::Success && raw.is_success() {
        if op_status != "refunded" {
            return Err(Error::outcome_unknown(
                reply(),
                format!(
                    "errorCode is 00 but transactionOperationStatus is {:?}, not \"refunded\"",
                    data.transaction_operation_status.as_deref().unwrap_or("")
                ),
                None,
            ));
        }
        let record = success_record(raw, &data, request.sp_trans_id(), currency)
            .map_err(|detail| Error::outcome_unknown(reply(), detail, None))?;
        let record = if record.original_transaction_id.is_none() {
            record.with_original_transaction_id(request.aoc_trans_id().as_str())
        } else {
            record
        };
        return Ok(RefundAnswer::Done(record));
    }
    if op_status == "refunded" {
        return Err(Error::outcome_unknown(
            reply(),
            format!("transactionOperationStatus is \"refunded\" but errorCode is {code}"),
            None,
        ));
    }
    match code {
        AocErrorCode::DuplicateSpTransId => Ok(RefundAnswer::Duplicate(reply())),
        // `00` with a 4xx status: a rejection without a reason.
        AocErrorCode::Success => Err(Error::declined(DeclineReason::InvalidRequest, reply())),
        other => Err(Error::declined(other.decline_reason(), reply())),
    }
}

/// A `refunded` answer as a record; `Err` explains an unreadable amount.
fn success_record(
    raw: &RawResponse,
    data: &Data,
    sp_trans_id: &RefundReference,
    currency: Currency,
) -> std::result::Result<RefundRecord, String> {
    let mut record = RefundRecord::new(PROVIDER, RefundStatus::Succeeded);
    if let Some(text) = data.amount_refunded.as_ref().filter(|a| !a.as_str().trim().is_empty()) {
        let amount = text.to_money(currency).map_err(|e| {
            format!(
                "the refund succeeded but amountRefunded {:?} is unreadable: {e}",
                text.as_str()
            )
        })?;
        record = record.with_amount(amount);
    }
    Ok(finish_record(record, raw, data, sp_trans_id))
}

fn finish_record(
    mut record: RefundRecord,
    raw: &RawResponse,
    data: &Data,
    sp_trans_id: &RefundReference,
) -> RefundRecord {
    if let Some(id) = Data::non_empty(&data.client_correlator) {
        record = record.with_refund_id(id);
    }
    if let Some(id) = Data::non_empty(&data.aoc_trans_id) {
        record = record.with_original_transaction_id(id);
    }
    record
        .with_reference(sp_trans_id.as_str())
        .with_provider_code(data.error_code.trim())
        .with_message(data.message())
        .with_raw(raw_json(raw))
}

pub(crate) fn decode_status(
    raw: &RawResponse,
    sp_trans_id: &RefundReference,
    currency: Currency,
) -> Result<(RefundRecord, ProviderReply)> {
    let parsed = wire::parse(raw.body());
    if let Some(err) = common_error(raw, &REFUND_STATUS, parsed.as_ref().ok()) {
        return Err(err);
    }
    let status = raw.status();
    let unreadable = |detail: String| {
        Error::unavailable(
            base_reply(raw, &REFUND_STATUS),
            format!("{detail}; this read changes nothing and is safe to repeat"),
            None,
        )
    };
    let data = match parsed {
        Ok(data) if raw.is_success() || (400..500).contains(&status) => data,
        Ok(_) | Err(_) if (500..600).contains(&status) => {
            return Err(unreadable(format!("AOC answered HTTP {status}")));
        }
        Err(detail) if raw.is_success() => return Err(unreadable(detail)),
        Err(_) | Ok(_) => {
            return Err(Error::declined(
                DeclineReason::InvalidRequest,
                base_reply(raw, &REFUND_STATUS),
            ));
        }
    };
    let code = AocErrorCode::parse(&data.error_code);
    let op_status = data.status();
    let reply = coded_reply(raw, &REFUND_STATUS, &data);
    if matches!(code, AocErrorCode::InvalidParameter) && raw.is_success() {
        // AOC0001 to a read whose fields were validated before sending: AOC knows no refund by
        // this spTransID, so none was made (the ledger re-sends such a refund under it).
        let record = RefundRecord::new(PROVIDER, RefundStatus::NotRefunded);
        return Ok((finish_record(record, raw, &data, sp_trans_id), reply));
    }
    if matches!(code, AocErrorCode::InvalidParameter | AocErrorCode::DuplicateSpTransId)
        || (400..500).contains(&status)
    {
        // About the read, not the refund: AOC0001 is also its answer for an unknown spTransID.
        return Err(Error::declined(
            match code {
                AocErrorCode::Success => DeclineReason::InvalidRequest,
                other => other.decline_reason(),
            },
            reply,
        ));
    }
    let record = match (&code, &*op_status) {
        (AocErrorCode::Success, "refunded") => {
            success_record(raw, &data, sp_trans_id, currency).map_err(unreadable)?
        }
        (_, "refunded") => {
            return Err(unreadable(format!(
                "transactionOperationStatus is \"refunded\" but errorCode is {code}"
            )));
        }
        (AocErrorCode::Success, "") => {
            return Err(unreadable(
                "errorCode is 00 but transactionOperationStatus is missing".to_owned(),
            ));
        }
        (AocErrorCode::Success, "denied") => finish_record(
            RefundRecord::new(PROVIDER, RefundStatus::Failed),
            raw,
            &data,
            sp_trans_id,
        ),
        (AocErrorCode::Success, other) => finish_record(
            RefundRecord::new(PROVIDER, RefundStatus::Unknown(other.to_owned())),
            raw,
            &data,
            sp_trans_id,
        ),
        // `denied`, or any other error code: the refund failed. (The amount of a denied refund,
        // often "0.00", is not an amount refunded and is not copied.)
        _ => finish_record(
            RefundRecord::new(PROVIDER, RefundStatus::Failed),
            raw,
            &data,
            sp_trans_id,
        ),
    };
    Ok((record, reply))
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
mod tests {
    use super::*;
    use refund_core::{Money, TransactionId};

    fn client() -> AocClient {
        AocClient::builder()
            .base_url("https://aoc.example.com/")
            .username("merchant")
            .api_key("k3y-Secret")
            .build()
            .unwrap()
    }

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse::new(status, Default::default(), body.to_owned())
    }

    fn request() -> AocRefundRequest {
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
             TransportBuilder { timeout: None, http_client: None, retry_policy: None, .. }, \
             insecure_http: LoopbackOnly }"
        );
        assert_eq!(
            format!("{:?}", client()),
            "AocClient { base_url: \"https://aoc.example.com/\", username: \"merchant\", \
             api_key: \"***\", currency: Myr, timeout: 30s, .. }"
        );
    }

    #[test]
    fn missing_settings_name_their_env_vars() {
        let err = AocClient::builder().username("u").api_key("k").build().unwrap_err();
        assert_eq!(err.kind(), "config");
        assert!(err.to_string().contains("AOC_BASE_URL"), "{err}");
        let err = AocClient::builder().base_url("https://a.example").api_key("k").build();
        assert!(err.unwrap_err().to_string().contains("AOC_USERNAME"));
        let err = AocClient::builder().base_url("https://a.example").username("u").build();
        assert!(err.unwrap_err().to_string().contains("AOC_API_KEY"));
        let err =
            AocClient::builder().base_url("http://10.0.0.1").username("u").api_key("k").build();
        assert_eq!(err.unwrap_err().field(), Some("base_url"));
        let ok = AocClient::builder()
            .base_url("http://10.0.0.1")
            .insecure_http(InsecureHttp::Allow)
            .username("u")
            .api_key("k")
            .build();
        assert!(ok.is_ok());
        let zero = AocClient::builder()
            .base_url("https://a.example")
            .username("u")
            .api_key("k")
            .timeout(Duration::ZERO)
            .build();
        assert_eq!(zero.unwrap_err().field(), Some("timeout"));
    }

    #[test]
    fn env_lookup_fills_the_builder() {
        let vars = [
            (ENV_BASE_URL, "https://aoc.example.com"),
            (ENV_USERNAME, "merchant"),
            (ENV_API_KEY, "k3y-Secret"),
        ];
        let lookup =
            |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        let client = builder_from_lookup(lookup).build().unwrap();
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

    #[test]
    fn decodes_success_and_declines() {
        let ok = decode_refund(
            &raw(200, include_str!("../tests/fixtures/refund_success.json")),
            &request(),
            Currency::Myr,
        )
        .unwrap();
        let RefundAnswer::Done(record) = ok else { panic!("{ok:?}") };
        assert_eq!(record.status, RefundStatus::Succeeded);
        assert_eq!(record.refund_id.as_deref(), Some("CC-778899"));
        assert_eq!(record.reference.as_deref(), Some("sp-1"));
        assert_eq!(record.amount.map(|m| m.to_fixed_string()).as_deref(), Some("1.00"));
        assert_eq!(record.raw.to_value()["data"]["errorCode"], "00");

        let denied = r#"{"data":{"transactionOperationStatus":"denied","errorCode":"AOC1012","errorMessage":"Charging denied"}}"#;
        let err = decode_refund(&raw(200, denied), &request(), Currency::Myr).unwrap_err();
        assert_eq!(err.decline_reason(), Some(&DeclineReason::Refused));
        assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC1012"));

        let dup = r#"{"data":{"transactionOperationStatus":"denied","errorCode":"AOC1001"}}"#;
        assert!(matches!(
            decode_refund(&raw(200, dup), &request(), Currency::Myr),
            Ok(RefundAnswer::Duplicate(_))
        ));
    }

    #[test]
    fn status_read_of_a_denied_refund_is_a_failed_record() {
        let denied = r#"{"data":{"aocTransID":"12345","transactionOperationStatus":"Denied","amountRefunded":"0.00","errorCode":"AOC1015","errorMessage":"Amount limit"}}"#;
        let (record, reply) =
            decode_status(&raw(200, denied), &RefundReference::new("sp-1").unwrap(), Currency::Myr)
                .unwrap();
        assert_eq!(record.status, RefundStatus::Failed);
        assert_eq!(record.provider_code.as_deref(), Some("AOC1015"));
        assert_eq!(record.amount, None);
        assert_eq!(reply.code(), Some("AOC1015"));
    }
}
