//! [`OtpRefundClient`], its builder and its operations.

use std::fmt;
use std::sync::Arc;

use refund_core::{
    Capabilities, Error, Idempotency, Operation, Otp, OtpChallenge, OtpRefund, OtpRefundTarget,
    PreparedBody, PreparedRequest, Provider, RawResponse, RefundRecord, RefundStatusRead, Result,
    SecretString, StatusQuery, Transport, TransportBuilder, async_trait, join_path, require_secret,
    require_setting,
};
use url::Url;

use crate::decode::{decode_refund, decode_send_otp, decode_transaction};
use crate::model::{
    EkoRefund, EkoTransaction, MAX_OTP_REF_ID_LEN, RefundOtpChallenge, check_printable, check_tid,
    otp_json_integer,
};
use crate::sign::Signer;
use crate::wire::{RefundBody, SendOtpBody};
use crate::{CAPABILITIES, PROVIDER};

/// Eko's UAT (staging) base URL, the default.
pub const EKO_UAT_BASE_URL: &str = "https://staging.eko.in/ekoapi/v3";

/// Eko's production base URL. Newer Eko pages drop the port; set the base URL to match your
/// account's.
pub const EKO_PRODUCTION_BASE_URL: &str = "https://api.eko.in:25002/ekoicici/v3";

/// The `service_code` of a refund, `80` unless Eko tells you otherwise.
pub const DEFAULT_SERVICE_CODE: u32 = 80;

/// Environment variable for the base URL (optional; default [`EKO_UAT_BASE_URL`]).
pub const ENV_BASE_URL: &str = "OTP_REFUND_BASE_URL";
/// Environment variable for the developer key.
pub const ENV_DEVELOPER_KEY: &str = "OTP_REFUND_DEVELOPER_KEY";
/// Environment variable for the access key.
pub const ENV_ACCESS_KEY: &str = "OTP_REFUND_ACCESS_KEY";
/// Environment variable for the initiator id.
pub const ENV_INITIATOR_ID: &str = "OTP_REFUND_INITIATOR_ID";
/// Environment variable for the user code.
pub const ENV_USER_CODE: &str = "OTP_REFUND_USER_CODE";

pub(crate) const SEND_OTP: Operation = Operation::new(PROVIDER, "send_otp", Idempotency::Safe);
// No idempotency key exists: a refund that may have reached Eko is never sent again.
pub(crate) const REFUND: Operation = Operation::new(PROVIDER, "refund", Idempotency::Unsafe);
pub(crate) const TRANSACTION: Operation =
    Operation::new(PROVIDER, "transaction", Idempotency::Safe);

/// Secret body fields, masked in dry runs.
const BODY_SECRET_FIELDS: &[&str] = &["otp"];

/// A client of Eko's OTP refund API. Cheap to clone (an `Arc` inside), `Send + Sync`.
///
/// ```no_run
/// use refund_otp::OtpRefundClient;
/// # fn main() -> refund_core::Result<()> {
/// let client = OtpRefundClient::builder()
///     .developer_key("becbbce45f79c6f5109f848acd540567")
///     .access_key("d2fe1d99-6298-4af2-8cc5-d97dcf46df30")
///     .initiator_id("9962981729")
///     .user_code("20810200")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OtpRefundClient {
    inner: Arc<Inner>,
}

struct Inner {
    base_url: Url,
    /// `base_url` + `customer/payment/refund` and + `tools/reference/transaction`: joined once at
    /// build, so a call appends only the `tid` (joining all four segments per call cost ~4k
    /// instructions, docs/performance.md).
    refund_prefix: Url,
    transaction_prefix: Url,
    signer: Signer,
    initiator_id: String,
    user_code: String,
    service_code: u32,
    transport: Transport,
}

impl fmt::Debug for OtpRefundClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("OtpRefundClient")
            .field("base_url", &inner.base_url.as_str())
            .field("developer_key", &"***")
            .field("access_key", &"***")
            .field("initiator_id", &inner.initiator_id)
            .field("user_code", &inner.user_code)
            .field("service_code", &inner.service_code)
            .field("clock_offset_ms", &inner.signer.offset_ms())
            .finish_non_exhaustive()
    }
}

/// Builds an [`OtpRefundClient`]; see [`OtpRefundClient::builder`].
#[derive(Default)]
pub struct OtpRefundClientBuilder {
    base_url: Option<String>,
    developer_key: Option<SecretString>,
    access_key: Option<SecretString>,
    initiator_id: Option<String>,
    user_code: Option<String>,
    service_code: Option<u32>,
    transport: TransportBuilder,
}

impl fmt::Debug for OtpRefundClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |s: &Option<SecretString>| s.as_ref().map(|_| "***");
        f.debug_struct("OtpRefundClientBuilder")
            .field("base_url", &self.base_url)
            .field("developer_key", &masked(&self.developer_key))
            .field("access_key", &masked(&self.access_key))
            .field("initiator_id", &self.initiator_id)
            .field("user_code", &self.user_code)
            .field("service_code", &self.service_code)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl OtpRefundClientBuilder {
    refund_core::with_setters! {
        /// The base URL (default [`EKO_UAT_BASE_URL`]; production: [`EKO_PRODUCTION_BASE_URL`]).
        base_url => base_url: String,
        /// The `developer_key` (secret).
        developer_key => developer_key: secret,
        /// The access key behind the `secret-key` signature (secret). Only the keyed HMAC state
        /// is kept once the client is built.
        access_key => access_key: secret,
        /// The `initiator_id`: the API user's registered mobile number (digits).
        initiator_id => initiator_id: String,
        /// The `user_code` of the agent.
        user_code => user_code: String,
        /// The refund `service_code` (default [`DEFAULT_SERVICE_CODE`], 80).
        service_code => service_code: u32,
    }
    refund_core::transport_setters!(clock);

    /// Validates the settings and builds the client.
    ///
    /// A missing credential is an [`Error::Config`] naming the setting and its environment
    /// variable; a malformed one an [`Error::InvalidInput`] naming the setting.
    pub fn build(self) -> Result<OtpRefundClient> {
        let base_url =
            self.transport.parse_base_url(self.base_url.as_deref().unwrap_or(EKO_UAT_BASE_URL))?;
        let developer_key = require_secret(
            self.developer_key,
            "developer_key",
            "developer_key",
            ENV_DEVELOPER_KEY,
        )?;
        let access_key =
            require_secret(self.access_key, "access_key", "access_key", ENV_ACCESS_KEY)?;
        // Set but blank or malformed is an invalid input naming the setting; only unset is missing.
        if let Some(id) = &self.initiator_id {
            refund_core::check_digits("initiator_id", id, 20)?;
        }
        if let Some(code) = &self.user_code {
            check_printable("user_code", code, 64)?;
        }
        let initiator_id =
            require_setting(self.initiator_id, "initiator_id", "initiator_id", ENV_INITIATOR_ID)?;
        let user_code = require_setting(self.user_code, "user_code", "user_code", ENV_USER_CODE)?;
        let signer = Signer::new(&developer_key, &access_key, self.transport.clock_or_system())?;
        Ok(OtpRefundClient {
            inner: Arc::new(Inner {
                refund_prefix: join_path(&base_url, &["customer", "payment", "refund"])?,
                transaction_prefix: join_path(&base_url, &["tools", "reference", "transaction"])?,
                base_url,
                signer,
                initiator_id,
                user_code,
                service_code: self.service_code.unwrap_or(DEFAULT_SERVICE_CODE),
                transport: self.transport.build()?,
            }),
        })
    }
}

impl OtpRefundClient {
    /// A builder with the defaults.
    pub fn builder() -> OtpRefundClientBuilder {
        OtpRefundClientBuilder::default()
    }

    /// A builder preset from `OTP_REFUND_BASE_URL`, `OTP_REFUND_DEVELOPER_KEY`,
    /// `OTP_REFUND_ACCESS_KEY`, `OTP_REFUND_INITIATOR_ID` and `OTP_REFUND_USER_CODE` (unset or
    /// empty ones are left unset), for the caller to override before `build()`.
    pub fn builder_from_env() -> OtpRefundClientBuilder {
        OtpRefundClientBuilder {
            base_url: env_var(ENV_BASE_URL),
            developer_key: env_var(ENV_DEVELOPER_KEY).map(SecretString::from),
            access_key: env_var(ENV_ACCESS_KEY).map(SecretString::from),
            initiator_id: env_var(ENV_INITIATOR_ID),
            user_code: env_var(ENV_USER_CODE),
            ..Self::builder()
        }
    }

    /// A client configured from the environment ([`OtpRefundClient::builder_from_env`]).
    pub fn from_env() -> Result<Self> {
        Self::builder_from_env().build()
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The correction applied to our clock for `secret-key-timestamp`, in milliseconds (0 until a
    /// 403 showed our clock to be off).
    pub fn clock_offset_ms(&self) -> i64 {
        self.inner.signer.offset_ms()
    }

    /// The signed get-OTP request for `tid`, for a dry run (secrets render as `***`).
    ///
    /// ```
    /// # let client = refund_otp::OtpRefundClient::builder().developer_key("d").access_key("a")
    /// #     .initiator_id("9962981729").user_code("20810200").build()?;
    /// let req = client.prepare_send_otp("13192443")?;
    /// assert_eq!(req.url().path(), "/ekoapi/v3/customer/payment/refund/13192443/otp");
    /// assert!(req.to_curl().contains("secret-key: ***"));
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    pub fn prepare_send_otp(&self, tid: &str) -> Result<PreparedRequest> {
        check_tid(tid)?;
        let url = join_path(&self.inner.refund_prefix, &[tid, "otp"])?;
        let body = SendOtpBody { initiator_id: &self.inner.initiator_id };
        let body = PreparedBody::json(&body, BODY_SECRET_FIELDS)?;
        self.inner.signer.sign(PreparedRequest::post(url).body(body))
    }

    /// The signed refund request, for a dry run: the `otp` renders as `***`.
    ///
    /// An OTP starting with `0` is refused (naming `otp`): Eko takes the OTP as a JSON integer, in
    /// which the leading zero cannot be written, so it would send a different OTP.
    pub fn prepare_refund(
        &self,
        tid: &str,
        otp_ref_id: &str,
        otp: &Otp,
    ) -> Result<PreparedRequest> {
        check_tid(tid)?;
        check_printable("otp_ref_id", otp_ref_id, MAX_OTP_REF_ID_LEN)?;
        let inner = &self.inner;
        let body = RefundBody {
            initiator_id: &inner.initiator_id,
            user_code: &inner.user_code,
            otp: otp_json_integer(otp)?,
            otp_ref_id,
            service_code: inner.service_code,
            state: "1",
        };
        let url = join_path(&inner.refund_prefix, &[tid])?;
        let body = PreparedBody::json(&body, BODY_SECRET_FIELDS)?;
        self.inner.signer.sign(PreparedRequest::post(url).body(body))
    }

    /// The signed transaction inquiry, for a dry run.
    pub fn prepare_transaction(&self, tid: &str) -> Result<PreparedRequest> {
        check_tid(tid)?;
        let mut url = join_path(&self.inner.transaction_prefix, &[tid])?;
        url.query_pairs_mut()
            .append_pair("initiator_id", &self.inner.initiator_id)
            .append_pair("user_code", &self.inner.user_code);
        self.inner.signer.sign(PreparedRequest::get(url))
    }

    /// Sends through the transport (re-signing every attempt; an invalid input fails the first
    /// build, before anything is sent) and decodes; on a 403 whose `Date` shows our clock is
    /// off, corrects the offset and sends once more. A 403 was not processed, so this holds even
    /// for the refund.
    async fn call<T>(
        &self,
        op: &Operation,
        build: impl Fn() -> Result<PreparedRequest>,
        decode: impl Fn(&RawResponse) -> Result<T>,
    ) -> Result<T> {
        let transport = &self.inner.transport;
        let skewed = |raw: &RawResponse| self.inner.signer.corrected_skew(raw);
        let first = transport
            .call(op, |_| build(), |raw| if skewed(raw) { Ok(None) } else { decode(raw).map(Some) })
            .await?;
        match first {
            Some(answer) => Ok(answer),
            // Boxed: a clock correction is rare, and a second call held inline would double the
            // size of every call's future (which callers box or spawn per call).
            None => Box::pin(transport.call(op, |_| build(), decode)).await,
        }
    }

    /// Sends (or resends) the refund OTP to the customer for `tid`. Safe to repeat.
    ///
    /// Success is exactly a non-empty `data.otp_ref_id` (Eko's own sample answers `status: 2133`);
    /// an answer without one is [`Error::Declined`] with reason `Other(<status>)`.
    pub async fn send_otp(&self, tid: &str) -> Result<RefundOtpChallenge> {
        self.call(&SEND_OTP, || self.prepare_send_otp(tid), |raw| decode_send_otp(raw, tid)).await
    }

    /// Claims the refund of `tid` with the customer's `otp` and the `otp_ref_id` of
    /// [`OtpRefundClient::send_otp`]. Never sent twice once it may have reached Eko: on
    /// [`Error::OutcomeUnknown`], read [`OtpRefundClient::transaction`] first.
    pub async fn refund(&self, tid: &str, otp_ref_id: &str, otp: &Otp) -> Result<EkoRefund> {
        let decode = |raw: &RawResponse| decode_refund(raw, tid);
        self.call(&REFUND, || self.prepare_refund(tid, otp_ref_id, otp), decode).await
    }

    /// [`OtpRefundClient::refund`] with a challenge from [`OtpRefundClient::send_otp`].
    pub async fn confirm(&self, challenge: &RefundOtpChallenge, otp: &Otp) -> Result<EkoRefund> {
        self.refund(challenge.tid(), challenge.otp_ref_id(), otp).await
    }

    /// Reads the transaction `tid` (its `tx_status`). Safe to repeat.
    pub async fn transaction(&self, tid: &str) -> Result<EkoTransaction> {
        let decode = |raw: &RawResponse| decode_transaction(raw, tid);
        self.call(&TRANSACTION, || self.prepare_transaction(tid), decode).await
    }
}

impl Provider for OtpRefundClient {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn as_status_read(&self) -> Option<&dyn RefundStatusRead> {
        Some(self)
    }
}

#[async_trait]
impl OtpRefund for OtpRefundClient {
    async fn send_otp(&self, target: &OtpRefundTarget) -> Result<OtpChallenge> {
        OtpRefundClient::send_otp(self, target.transaction_id().as_str()).await.map(Into::into)
    }

    async fn confirm_otp(&self, challenge: &OtpChallenge, otp: &Otp) -> Result<RefundRecord> {
        let challenge = RefundOtpChallenge::try_from(challenge)?;
        self.confirm(&challenge, otp).await.map(|r| r.to_record())
    }
}

#[async_trait]
impl RefundStatusRead for OtpRefundClient {
    /// Reads [`StatusQuery::OriginalTransaction`] with [`OtpRefundClient::transaction`]; Eko keys
    /// nothing by our reference, so [`StatusQuery::Reference`] is an invalid input (`query`).
    async fn refund_status(&self, query: &StatusQuery) -> Result<RefundRecord> {
        match query {
            StatusQuery::OriginalTransaction(tid) => {
                self.transaction(tid.as_str()).await.map(|t| t.to_record())
            }
            _ => Err(Error::invalid_input(
                "query",
                "Eko reads status by the original transaction (tid), not by a refund reference",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> OtpRefundClientBuilder {
        OtpRefundClient::builder()
            .developer_key("dev-key-SECRET")
            .access_key("access-key-SECRET")
            .initiator_id("9962981729")
            .user_code("20810200")
    }

    #[test]
    fn debug_output_is_pinned_and_masked() {
        assert_eq!(
            format!("{:?}", builder()),
            r#"OtpRefundClientBuilder { base_url: None, developer_key: Some("***"), access_key: Some("***"), initiator_id: Some("9962981729"), user_code: Some("20810200"), service_code: None, transport: TransportBuilder { timeout: None, http_client: None, retry_policy: None, insecure_http: LoopbackOnly, .. }, .. }"#
        );
        let client = builder().build().unwrap();
        assert_eq!(
            format!("{client:?}"),
            r#"OtpRefundClient { base_url: "https://staging.eko.in/ekoapi/v3", developer_key: "***", access_key: "***", initiator_id: "9962981729", user_code: "20810200", service_code: 80, clock_offset_ms: 0, .. }"#
        );
    }

    #[test]
    fn missing_settings_name_their_env_var() {
        let cases = [
            (OtpRefundClient::builder(), "OTP_REFUND_DEVELOPER_KEY"),
            (OtpRefundClient::builder().developer_key("d"), "OTP_REFUND_ACCESS_KEY"),
            (
                OtpRefundClient::builder().developer_key("d").access_key("a"),
                "OTP_REFUND_INITIATOR_ID",
            ),
            (
                OtpRefundClient::builder().developer_key("d").access_key("a").initiator_id("1"),
                "OTP_REFUND_USER_CODE",
            ),
        ];
        for (b, env) in cases {
            let err = b.build().unwrap_err();
            assert_eq!(err.kind(), "config");
            assert!(err.to_string().contains(env), "{err}");
        }
        for (b, field) in [
            (builder().initiator_id("99x"), "initiator_id"),
            (builder().user_code("a b"), "user_code"),
            (builder().base_url("http://eko.example"), "base_url"),
            (builder().developer_key("a\nb"), "developer_key"),
        ] {
            assert_eq!(b.build().unwrap_err().field(), Some(field));
        }
        assert_eq!(
            builder().base_url(EKO_PRODUCTION_BASE_URL).build().unwrap().base_url().as_str(),
            EKO_PRODUCTION_BASE_URL
        );
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        // Setting variables needs `unsafe` in edition 2024 (forbidden here): only the unset case.
        if std::env::var_os(ENV_DEVELOPER_KEY).is_none() {
            let err = OtpRefundClient::from_env().unwrap_err();
            assert_eq!(err.kind(), "config");
            assert!(err.to_string().contains(ENV_DEVELOPER_KEY), "{err}");
        }
        let b = OtpRefundClient::builder_from_env().developer_key("d").access_key("a");
        let b = b.initiator_id("9962981729").user_code("1");
        assert!(b.build().is_ok());
    }

    #[test]
    fn client_is_send_sync_clone() {
        fn assert_traits<T: Send + Sync + Clone + 'static>() {}
        assert_traits::<OtpRefundClient>();
    }
}
