//! The BOS client, its builder, and the calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use refund_core::http::HeaderValue;
use refund_core::http::header::AUTHORIZATION;
use refund_core::{
    CachedToken, Capabilities, Error, ExposeSecret, Idempotency, MASK, Money, Operation, Otp,
    OtpChallenge, OtpRefund, OtpRefundTarget, PreparedBody, PreparedRequest, Provider, RawResponse,
    RefundRecord, RefundStatusRead, Result, SecretString, StatusKey, StatusQuery, TransactionId,
    Transport, TransportBuilder, async_trait, require_secret,
};
use url::Url;

use crate::decode;
use crate::model::{BosTransaction, DynamicQr};
use crate::token::{Auth, TokenSource, bearer_header};
use crate::wire::{DynamicQrBody, RefundBody, check_registration_id, qr_amount};

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

/// Sends (or resends) the refund OTP: changes nothing, safe to repeat.
pub(crate) const SEND_OTP: Operation = Operation::new("bos", "send_refund_otp", Idempotency::Safe);
/// Claims the refund: moves money and BOS has no deduplication key.
pub(crate) const CLAIM: Operation = Operation::new("bos", "claim_refund", Idempotency::Unsafe);
/// Reads the transfer's status.
pub(crate) const STATUS: Operation = Operation::new("bos", "status", Idempotency::Safe);
/// Creates a QR code: moves no money, but a repeat would create a second payable QR.
pub(crate) const DYNAMIC_QR: Operation = Operation::new("bos", "dynamic_qr", Idempotency::Unsafe);

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
    pub(crate) token: TokenSource,
    pub(crate) token_lifetime: Option<Duration>,
    transport: TransportBuilder,
}

impl fmt::Debug for BosClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BosClientBuilder")
            .field("base_url", &self.base_url)
            .field("registration_id", &self.registration_id.as_ref().map(|_| MASK))
            .field("token", &self.token)
            .field("token_lifetime", &self.token_lifetime)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl BosClientBuilder {
    refund_core::with_setters! {
        /// The base URL (default [`DEFAULT_BASE_URL`]; env `BOS_BASE_URL`).
        base_url => base_url: String,
        /// The merchant registration id (`"BOS-554"`), sent as `RegistrationID` by
        /// [`BosClient::dynamic_qr`] (env `BOS_REGISTRATION_ID`). Masked in `Debug` and dry runs:
        /// the published client secret derives from it alone ([`crate::client_secret`]).
        registration_id => registration_id: secret,
    }
    // The token setters are beside the token source, in token.rs.
    refund_core::transport_setters!(clock);

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<BosClient> {
        let base_url =
            self.transport.parse_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        if let Some(id) = &self.registration_id {
            check_registration_id(id.expose_secret())?;
        }
        let auth = Auth::new(self.token, self.token_lifetime, self.transport.clock_or_system())?;
        // Joined once: joining per call re-parsed each URL (docs/performance.md).
        let join = |name: &str| refund_core::join_path(&base_url, &["api", "BOS", name]);
        Ok(BosClient {
            inner: Arc::new(Inner {
                otp_url: join("RefundOTP")?,
                claim_url: join("ClaimRefund")?,
                status_url: join("TransactStatus")?,
                qr_url: refund_core::join_path(&base_url, &["api", "BOS", "V4", "DynamicQRCode"])?,
                base_url,
                registration_id: self.registration_id,
                auth,
                transport: self.transport.build()?,
            }),
        })
    }
}

struct Inner {
    base_url: Url,
    otp_url: Url,
    claim_url: Url,
    status_url: Url,
    qr_url: Url,
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

/// A `POST` of `body` to `url`, with the `Authorization` header when there is one.
fn request(url: &Url, body: PreparedBody, bearer: Option<&HeaderValue>) -> PreparedRequest {
    let request = PreparedRequest::post(url.clone());
    match bearer {
        Some(value) => request.header_value(AUTHORIZATION, value.clone()),
        None => request,
    }
    .body(body)
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

    /// A dry run of `body` (when valid): a fetched token shows as `***` and is not fetched.
    fn dry_run(&self, url: &Url, body: Result<PreparedBody>) -> Result<PreparedRequest> {
        Ok(request(url, body?, self.inner.auth.dry_run_header().as_ref()))
    }

    /// Sends with the current token and decodes the answer with `read`; with a fetched token, a
    /// refusal (HTTP 401 or an auth code) drops it and repeats the call once with a fresh one (BOS
    /// did not process a refused call, so even the claim may repeat that once).
    async fn call<T>(
        &self,
        op: &Operation,
        url: &Url,
        body: &PreparedBody,
        read: impl Fn(&RawResponse) -> Result<T>,
    ) -> Result<T> {
        let send = async |bearer: Option<&HeaderValue>| {
            let build = |_attempt| Ok(request(url, body.clone(), bearer));
            self.inner.transport.call(op, build, &read).await
        };
        let bearer = match &self.inner.auth {
            Auth::None => None,
            Auth::Static(header) => Some(header),
            // Boxed: the token cache's future (a fetch, a call, maybe one repeat) would otherwise
            // size every call's future, including the static-token ones, past 1 KiB.
            Auth::Cached(cache) => {
                let call = async |token: CachedToken| {
                    let header = bearer_header(token.secret().expose_secret())?;
                    Ok(send(Some(&header)).await)
                };
                return Box::pin(cache.with_token(call, decode::token_refused)).await?;
            }
        };
        send(bearer).await
    }

    /// The `RefundOTP` request, for a dry run (a fetched token shows as `***`, nothing is fetched).
    pub fn prepare_send_refund_otp(
        &self,
        referenceid: &str,
        ackno: &str,
    ) -> Result<PreparedRequest> {
        self.dry_run(&self.inner.otp_url, RefundBody::json(referenceid, Some(ackno), None))
    }

    /// Sends (or resends) the refund OTP to the customer of the failed transfer `referenceid`
    /// (digits, the merchant's reference) with acknowledgement number `ackno`:
    /// `POST /api/BOS/RefundOTP`. Safe to repeat.
    pub async fn send_refund_otp(&self, referenceid: &str, ackno: &str) -> Result<OtpChallenge> {
        let body = RefundBody::json(referenceid, Some(ackno), None)?;
        let read = |raw: &RawResponse| decode::envelope(raw, &SEND_OTP);
        let envelope = self.call(&SEND_OTP, &self.inner.otp_url, &body, read).await?;
        let target =
            OtpRefundTarget::new(TransactionId::new(referenceid)?).with_acknowledgement(ackno);
        Ok(OtpChallenge::new("bos", target).with_message(envelope.message.0.unwrap_or_default()))
    }

    /// The `ClaimRefund` request, for a dry run (the OTP and token show as `***`).
    pub fn prepare_claim_refund(
        &self,
        referenceid: &str,
        ackno: &str,
        otp: &Otp,
    ) -> Result<PreparedRequest> {
        self.dry_run(&self.inner.claim_url, RefundBody::json(referenceid, Some(ackno), Some(otp)))
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
        let body = RefundBody::json(referenceid, Some(ackno), Some(otp))?;
        self.call(&CLAIM, &self.inner.claim_url, &body, |raw| decode::claim(raw, referenceid)).await
    }

    /// The `TransactStatus` request, for a dry run.
    pub fn prepare_status(&self, referenceid: &str) -> Result<PreparedRequest> {
        self.dry_run(&self.inner.status_url, RefundBody::json(referenceid, None, None))
    }

    /// Reads the failed transfer `referenceid` and its refund: `POST /api/BOS/TransactStatus`.
    pub async fn status(&self, referenceid: &str) -> Result<BosTransaction> {
        let body = RefundBody::json(referenceid, None, None)?;
        self.call(&STATUS, &self.inner.status_url, &body, |raw| decode::status(raw, referenceid))
            .await
    }

    fn qr_body(&self, amount: Money) -> Result<PreparedBody> {
        let amount = qr_amount(amount)?;
        let id = require_secret(
            self.inner.registration_id.clone(),
            "the BOS registration id",
            "registration_id",
            ENV_REGISTRATION_ID,
        )?;
        let body = DynamicQrBody { registration_id: id.expose_secret(), amount: &amount };
        PreparedBody::json(&body, &["RegistrationID"])
    }

    /// The `DynamicQRCode` request, for a dry run (the registration id and token show as `***`).
    pub fn prepare_dynamic_qr(&self, amount: Money) -> Result<PreparedRequest> {
        self.dry_run(&self.inner.qr_url, self.qr_body(amount))
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
        self.call(&DYNAMIC_QR, &self.inner.qr_url, &body, |raw| decode::qr(raw, amount)).await
    }
}

fn builder_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> BosClientBuilder {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    BosClientBuilder {
        base_url: get(ENV_BASE_URL),
        registration_id: get(ENV_REGISTRATION_ID).map(SecretString::from),
        token: get(ENV_TOKEN).map_or(TokenSource::None, |t| TokenSource::Static(t.into())),
        ..BosClientBuilder::default()
    }
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
    use refund_core::{Currency, FetchedToken, MAX_MINOR_UNITS};

    #[test]
    fn qr_amounts_past_the_exact_limit_are_refused() {
        // Issue 9 (bad input): `Money::from_minor_units` skips the limit; such a QR was requested.
        let client = BosClient::builder().registration_id("BOS-554").build().unwrap();
        for minor in [MAX_MINOR_UNITS + 1, u64::MAX] {
            let amount = Money::from_minor_units(minor, Currency::Inr);
            assert_eq!(client.prepare_dynamic_qr(amount).unwrap_err().field(), Some("amount"));
        }
        let most = Money::from_minor_units(MAX_MINOR_UNITS, Currency::Inr);
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
             http_client: None, retry_policy: None, insecure_http: LoopbackOnly, .. }, .. }"
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
        let err =
            client.prepare_dynamic_qr(Money::from_minor_units(1000, Currency::Inr)).unwrap_err();
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
        let qr = client.prepare_dynamic_qr(Money::from_minor_units(1050, Currency::Inr)).unwrap();
        let shown = qr.to_redacted_json().to_string();
        assert!(!shown.contains("BOS-554") && shown.contains("\"amount\":\"10.5\""), "{shown}");
        assert_eq!(client.token_fetch_count(), 0);
        let none = BosClient::builder().build().unwrap();
        let req = none.prepare_status("12345678927").unwrap();
        assert!(req.headers().get("authorization").is_none());
    }
}
