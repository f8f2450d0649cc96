//! The traits every provider implements, and the records they return.
//!
//! All traits are object safe: an application can hold `Arc<dyn DirectRefund>` (or any other) for
//! whichever provider it is configured with.

use std::fmt;

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::{Otp, RefundReference, TransactionId};
use crate::money::Money;
use crate::raw_json::RawJson;

/// Where a refund stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefundStatus {
    /// The money was returned.
    Succeeded,
    /// Accepted, not final yet: read the status later.
    Pending,
    /// The refund failed (reported by a status read; a refused refund call is an error instead).
    Failed,
    /// No refund was made: the provider knows no refund under this reference (AOC: an unknown
    /// `spTransID`), or the original transaction still awaits its refund (BOS `txn_status` 3,
    /// Eko `tx_status` 3). Read after a call whose outcome was unknown, it proves the call did
    /// not take effect.
    NotRefunded,
    /// A status this SDK does not know, kept verbatim.
    Unknown(String),
}

impl RefundStatus {
    /// A stable snake_case name (`"succeeded"`, `"pending"`, `"failed"`, `"not_refunded"`, or
    /// the unknown text).
    pub fn as_str(&self) -> &str {
        match self {
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Pending => "pending",
            RefundStatus::Failed => "failed",
            RefundStatus::NotRefunded => "not_refunded",
            RefundStatus::Unknown(s) => s,
        }
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refund request in the SDK's terms.
///
/// A request gets its [`RefundReference`] when it is created; retrying the same request value
/// reuses it, so a retry can never go out under a fresh reference.
///
/// ```
/// use refund_core::{Currency, Money, RefundRequest, TransactionId};
/// let request = RefundRequest::new(TransactionId::new("AOC-CHARGE-1001")?)
///     .with_amount(Money::parse("1.00", Currency::Myr)?)
///     .with_note("damaged item");
/// assert_eq!(request.original_transaction_id().as_str(), "AOC-CHARGE-1001");
/// assert_eq!(request.reference().as_str().len(), 28);
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    original_transaction_id: TransactionId,
    amount: Option<Money>,
    reference: RefundReference,
    note: Option<String>,
}

impl RefundRequest {
    /// A refund of `original_transaction_id`, with a newly generated reference.
    pub fn new(original_transaction_id: TransactionId) -> Self {
        RefundRequest {
            original_transaction_id,
            amount: None,
            reference: RefundReference::generate(),
            note: None,
        }
    }
    crate::with_setters! {
        /// The amount to refund (a partial refund, or the full amount). Providers that need one
        /// reject a request without it before sending.
        with_amount => amount: Money,
        /// A free-text note for the provider.
        with_note => note: String,
        /// Uses the caller's own reference instead of the generated one.
        with_reference => reference = RefundReference,
    }
    /// The original transaction.
    pub fn original_transaction_id(&self) -> &TransactionId {
        &self.original_transaction_id
    }
    /// The amount, if given.
    pub fn amount(&self) -> Option<Money> {
        self.amount
    }
    /// Our reference for this refund: the same on every retry of this request.
    pub fn reference(&self) -> &RefundReference {
        &self.reference
    }
    /// The note, if given.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// What a provider reported about a refund.
///
/// ```
/// use refund_core::{RefundRecord, RefundStatus};
/// let record = RefundRecord::new("aoc", RefundStatus::Succeeded).with_refund_id("CC-1");
/// assert_eq!(record.refund_id.as_deref(), Some("CC-1"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RefundRecord {
    /// The provider (`"aoc"`, `"bos"`, `"digipay"`, `"otp-refund"`).
    pub provider: &'static str,
    /// Where the refund stands.
    pub status: RefundStatus,
    /// The provider's id of the refund, if it gives one.
    pub refund_id: Option<String>,
    /// Our reference for the refund, if the provider keys refunds by one.
    pub reference: Option<String>,
    /// The original transaction.
    pub original_transaction_id: Option<String>,
    /// The amount refunded, read exactly.
    pub amount: Option<Money>,
    /// The provider's message.
    pub message: Option<String>,
    /// The provider's own status or error code.
    pub provider_code: Option<String>,
    /// The provider's response body, shown as JSON with secrets masked ([`RawJson::to_value`]).
    pub raw: RawJson,
}

impl RefundRecord {
    /// A record with only provider and status set.
    pub fn new(provider: &'static str, status: RefundStatus) -> Self {
        RefundRecord {
            provider,
            status,
            refund_id: None,
            reference: None,
            original_transaction_id: None,
            amount: None,
            message: None,
            provider_code: None,
            raw: RawJson::default(),
        }
    }
    crate::with_setters! {
        /// Sets the provider's refund id.
        with_refund_id => refund_id: String,
        /// Sets our reference.
        with_reference => reference: String,
        /// Sets the original transaction id.
        with_original_transaction_id => original_transaction_id: String,
        /// Sets the amount.
        with_amount => amount: Money,
        /// Sets the message (ignored when empty).
        with_message => message: String if non_empty,
        /// Sets the provider code.
        with_provider_code => provider_code: String,
        /// Sets the raw response.
        with_raw => raw = RawJson,
    }
}

/// How a provider keys its status read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusKey {
    /// By our refund reference (AOC `spTransID`).
    RefundReference,
    /// By the original transaction (BOS `referenceid`, Eko `tid`).
    OriginalTransaction,
}

/// A status read: by our reference or by the original transaction, per [`Capabilities::status_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusQuery {
    /// By our refund reference.
    Reference(RefundReference),
    /// By the original transaction.
    OriginalTransaction(TransactionId),
}

/// What a provider supports, so generic code and the docs can show a feature matrix.
///
/// ```
/// use refund_core::Capabilities;
/// const CAPS: Capabilities = Capabilities::new("aoc", "BoostConnect AOC").with_direct_refund(true).with_partial_refund(true);
/// assert!(CAPS.direct_refund && !CAPS.otp_refund);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Short name (`"aoc"`).
    pub provider: &'static str,
    /// Human name (`"BoostConnect AOC"`).
    pub display_name: &'static str,
    /// Implements [`DirectRefund`].
    pub direct_refund: bool,
    /// Accepts an amount below the original.
    pub partial_refund: bool,
    /// Implements [`OtpRefund`].
    pub otp_refund: bool,
    /// How [`RefundStatusRead`] is keyed, if implemented.
    pub status_key: Option<StatusKey>,
    /// The provider deduplicates refunds by our reference, so refund calls are retried safely.
    pub idempotent_refund: bool,
    /// Creates dynamic UPI QR codes.
    pub qr_code: bool,
}

/// `const fn` setters of [`Capabilities`]' flags: `with_x => x` sets `self.x`.
macro_rules! capability_setters {
    ($($setter:ident => $field:ident),* $(,)?) => {$(
        #[doc = concat!("Sets [`Capabilities::", stringify!($field), "`].")]
        pub const fn $setter(mut self, yes: bool) -> Self {
            self.$field = yes;
            self
        }
    )*};
}

impl Capabilities {
    /// Nothing supported yet.
    pub const fn new(provider: &'static str, display_name: &'static str) -> Self {
        Capabilities {
            provider,
            display_name,
            direct_refund: false,
            partial_refund: false,
            otp_refund: false,
            status_key: None,
            idempotent_refund: false,
            qr_code: false,
        }
    }
    capability_setters! {
        with_direct_refund => direct_refund, with_partial_refund => partial_refund,
        with_otp_refund => otp_refund, with_idempotent_refund => idempotent_refund,
        with_qr_code => qr_code,
    }
    /// Sets [`Capabilities::status_key`].
    pub const fn with_status_key(mut self, key: StatusKey) -> Self {
        self.status_key = Some(key);
        self
    }
}

/// Every provider client: a name and its capabilities.
pub trait Provider: Send + Sync + fmt::Debug {
    /// What this provider supports.
    fn capabilities(&self) -> Capabilities;

    /// This client's status read, when the provider has one, so that code holding a
    /// `&dyn DirectRefund` or `&dyn OtpRefund` (the refund ledger, say) can settle a refund whose
    /// outcome was unknown. `None` (the default) for a provider without a status endpoint.
    ///
    /// ```
    /// use refund_core::{Capabilities, Provider};
    /// #[derive(Debug)]
    /// struct NoStatus;
    /// impl Provider for NoStatus {
    ///     fn capabilities(&self) -> Capabilities {
    ///         Capabilities::new("none", "No status endpoint")
    ///     }
    /// }
    /// assert!(NoStatus.as_status_read().is_none());
    /// ```
    fn as_status_read(&self) -> Option<&dyn RefundStatusRead> {
        None
    }
}

/// A refund in one call (AOC, DigiPay).
///
/// ```no_run
/// use std::sync::Arc;
/// use refund_core::{DirectRefund, RefundRequest, TransactionId};
/// async fn refund_any(provider: Arc<dyn DirectRefund>) -> refund_core::Result<()> {
///     let request = RefundRequest::new(TransactionId::new("T-1")?);
///     let record = provider.refund(&request).await?;
///     println!("{}: {}", record.provider, record.status);
///     Ok(())
/// }
/// ```
#[async_trait]
pub trait DirectRefund: Provider {
    /// Refunds `request`. Retrying the same request value reuses its reference.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundRecord>;
}

/// A status read of a refund or of the original transaction.
#[async_trait]
pub trait RefundStatusRead: Provider {
    /// Reads the status. A query of the wrong kind for this provider ([`Capabilities::status_key`])
    /// is an invalid-input error.
    async fn refund_status(&self, query: &StatusQuery) -> Result<RefundRecord>;
}

/// What a two-step OTP refund starts from: the original transfer, and the acknowledgement number
/// where the provider needs one (BOS `ackno`).
///
/// ```
/// use refund_core::{OtpRefundTarget, TransactionId};
/// let target = OtpRefundTarget::new(TransactionId::new("13192443")?);
/// assert!(target.acknowledgement().is_none());
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRefundTarget {
    transaction_id: TransactionId,
    acknowledgement: Option<String>,
}

impl OtpRefundTarget {
    /// A target with no acknowledgement number.
    pub fn new(transaction_id: TransactionId) -> Self {
        OtpRefundTarget { transaction_id, acknowledgement: None }
    }
    crate::with_setters! {
        /// Sets the acknowledgement number.
        with_acknowledgement => acknowledgement: String,
    }
    /// The original transfer.
    pub fn transaction_id(&self) -> &TransactionId {
        &self.transaction_id
    }
    /// The acknowledgement number, if any.
    pub fn acknowledgement(&self) -> Option<&str> {
        self.acknowledgement.as_deref()
    }
}

/// The first step's result: the OTP was sent; confirm with the customer's OTP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtpChallenge {
    /// The provider.
    pub provider: &'static str,
    /// What the OTP was sent for.
    pub target: OtpRefundTarget,
    /// The provider's OTP session reference, where it has one (Eko `otp_ref_id`).
    pub otp_ref_id: Option<String>,
    /// The provider's message.
    pub message: Option<String>,
}

impl OtpChallenge {
    /// A challenge for `target`.
    pub fn new(provider: &'static str, target: OtpRefundTarget) -> Self {
        OtpChallenge { provider, target, otp_ref_id: None, message: None }
    }
    crate::with_setters! {
        /// Sets the OTP session reference.
        with_otp_ref_id => otp_ref_id: String,
        /// Sets the message (ignored when empty).
        with_message => message: String if non_empty,
    }
}

/// The two-step OTP refund (BOS, Eko): send (or resend) the OTP, then confirm with it.
///
/// ```no_run
/// use refund_core::{Otp, OtpRefund, OtpRefundTarget, TransactionId};
/// async fn run(provider: &dyn OtpRefund, customer_otp: &str) -> refund_core::Result<()> {
///     let challenge = provider.send_otp(&OtpRefundTarget::new(TransactionId::new("13192443")?)).await?;
///     let record = provider.confirm_otp(&challenge, &Otp::new(customer_otp)?).await?;
///     println!("{}", record.status);
///     Ok(())
/// }
/// ```
#[async_trait]
pub trait OtpRefund: Provider {
    /// Sends or resends the refund OTP to the customer. Safe to repeat.
    async fn send_otp(&self, target: &OtpRefundTarget) -> Result<OtpChallenge>;
    /// Claims the refund with the customer's OTP. Never repeated automatically once it may have
    /// reached the provider.
    async fn confirm_otp(&self, challenge: &OtpChallenge, otp: &Otp) -> Result<RefundRecord>;
}
