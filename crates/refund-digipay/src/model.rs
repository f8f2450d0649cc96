//! Public request and response types of the DigiPay wallet refund.

use std::fmt;

use refund_core::{Currency, Error, Money, RefundRecord, Result, TransactionId};

use crate::client::{ENV_PAYMENT_MODE, ENV_TXN_CODE};
use serde_json::{Map, Value};

/// Longest `txn_code` accepted, in characters (the page gives no limit; codes look like `"CIB"` or
/// `"MR / CR"`).
pub const MAX_TXN_CODE_LEN: usize = 64;

/// Longest `note` accepted, in characters (the page gives no limit).
pub const MAX_NOTE_LEN: usize = 1000;

/// A user block of the refund body (`debit_user_info`, `credit_user_info`,
/// `company_admin_user_info`): the page says it "combines currency_id, wallet_id, user_id,
/// user_type, payment_type and username" without giving their types, so each takes any JSON value
/// (a string or a number), and [`UserInfo::extra`] carries fields the page does not name.
///
/// ```
/// use refund_digipay::UserInfo;
/// let user = UserInfo::new().wallet_id("w-1").user_type(2).username("asha").extra("branch", "x");
/// assert_eq!(user.user_type, Some(2.into()));
/// assert_eq!(user.extra["branch"], "x");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct UserInfo {
    /// The wallet's currency id.
    pub currency_id: Option<Value>,
    /// The wallet id.
    pub wallet_id: Option<Value>,
    /// The user id.
    pub user_id: Option<Value>,
    /// The user type.
    pub user_type: Option<Value>,
    /// The payment type.
    pub payment_type: Option<Value>,
    /// The user name.
    pub username: Option<Value>,
    /// Any further fields, sent as given.
    pub extra: Map<String, Value>,
}

impl UserInfo {
    setters!(block);
    setters! {
        /// Sets `currency_id`.
        currency_id: Value;
        /// Sets `wallet_id`.
        wallet_id: Value;
        /// Sets `user_id`.
        user_id: Value;
        /// Sets `user_type`.
        user_type: Value;
        /// Sets `payment_type`.
        payment_type: Value;
        /// Sets `username`.
        username: Value;
    }
}

/// `txn_device_info`: the page says it "combines device_id".
///
/// ```
/// use refund_digipay::DeviceInfo;
/// let device = DeviceInfo::new().device_id("pos-7");
/// assert_eq!(device.device_id, Some("pos-7".into()));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct DeviceInfo {
    /// The device id.
    pub device_id: Option<Value>,
    /// Any further fields, sent as given.
    pub extra: Map<String, Value>,
}

impl DeviceInfo {
    setters!(block);
    setters! {
        /// Sets `device_id`.
        device_id: Value;
    }
}

/// `charges_info`: "the total_charges amount with the arrayList of charges". `total_charges` goes
/// out as an exact JSON number like `txn_amount`. The page does not name the list's key: this SDK
/// sends it as `charges`; use [`ChargesInfo::extra`] if a deployment spells it otherwise.
///
/// ```
/// use refund_core::{Currency, Money};
/// use refund_digipay::ChargesInfo;
/// let charges = ChargesInfo::new()
///     .total_charges(Money::parse("2.50", Currency::Inr)?)
///     .charge(serde_json::json!({"name": "fee", "amount": 2.5}));
/// assert_eq!(charges.total_charges.map(|m| m.minor_units()), Some(250)); // sent as 2.5
/// assert_eq!(charges.charges.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChargesInfo {
    /// The total of the charges, written as an exact JSON number.
    pub total_charges: Option<Money>,
    /// The charges, sent as given.
    pub charges: Vec<Value>,
    /// Any further fields, sent as given.
    pub extra: Map<String, Value>,
}

impl ChargesInfo {
    setters!(block);
    refund_core::with_setters! {
        /// Sets `total_charges`.
        total_charges => total_charges: Money,
    }
    /// Appends one charge to the list.
    #[must_use]
    pub fn charge(mut self, charge: impl Into<Value>) -> Self {
        self.charges.push(charge.into());
        self
    }
}

/// A DigiPay wallet refund (`POST /digipay/v3/transaction/wallet_refund_money`).
///
/// `txn_code` and `payment_mode` fall back to the client's defaults when not set here.
///
/// ```
/// use refund_core::{Currency, Money};
/// use refund_digipay::{DeviceInfo, WalletRefundRequest};
/// let request = WalletRefundRequest::builder(
///     "bcdc063cf4844eea82e1c0e68a2360e8",
///     Money::parse("79.10", Currency::Inr)?,
/// )
/// .txn_code("MR / CR")
/// .payment_mode(2)
/// .note("Refund Money")
/// .txn_device_info(DeviceInfo::new().device_id("pos-7"))
/// .build()?;
/// assert_eq!(request.initial_txn_id().as_str(), "bcdc063cf4844eea82e1c0e68a2360e8");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WalletRefundRequest {
    pub(crate) initial_txn_id: TransactionId,
    pub(crate) amount: Money,
    pub(crate) fields: OptionalFields,
}

/// The request's optional fields, as set on the builder.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct OptionalFields {
    pub(crate) txn_code: Option<String>,
    pub(crate) payment_mode: Option<u32>,
    pub(crate) note: Option<String>,
    pub(crate) debit_user_info: Option<UserInfo>,
    pub(crate) credit_user_info: Option<UserInfo>,
    pub(crate) company_admin_user_info: Option<UserInfo>,
    pub(crate) charges_info: Option<ChargesInfo>,
    pub(crate) txn_device_info: Option<DeviceInfo>,
    pub(crate) payment_response: Option<Value>,
    pub(crate) card_info: Option<Value>,
    pub(crate) meta_data: Option<Value>,
}

impl WalletRefundRequest {
    /// A builder for a refund of `amount` against `initial_txn_id`.
    pub fn builder(initial_txn_id: impl Into<String>, amount: Money) -> WalletRefundRequestBuilder {
        let initial_txn_id = initial_txn_id.into();
        WalletRefundRequestBuilder { initial_txn_id, amount, fields: OptionalFields::default() }
    }
    /// The transaction being refunded.
    pub fn initial_txn_id(&self) -> &TransactionId {
        &self.initial_txn_id
    }
    /// The amount to refund.
    pub fn amount(&self) -> Money {
        self.amount
    }
    /// `txn_code`, if set on the request.
    pub fn txn_code(&self) -> Option<&str> {
        self.fields.txn_code.as_deref()
    }
    /// `payment_mode`, if set on the request.
    pub fn payment_mode(&self) -> Option<u32> {
        self.fields.payment_mode
    }
    /// The note, if any.
    pub fn note(&self) -> Option<&str> {
        self.fields.note.as_deref()
    }

    /// `txn_code` and `payment_mode`, falling back to the client's defaults; the amount must be
    /// in the client's currency.
    pub(crate) fn resolve<'a>(
        &'a self,
        currency: Currency,
        txn_code: Option<&'a str>,
        payment_mode: Option<u32>,
    ) -> Result<Resolved<'a>> {
        if self.amount.currency() != currency {
            let got = self.amount.currency();
            let reason = format!("must be in {currency} (the client's currency), got {got}");
            return Err(Error::invalid_input("amount", reason));
        }
        let txn_code = self.fields.txn_code.as_deref().or(txn_code).ok_or_else(|| {
            Error::config(format!(
                "txn_code is required: set it on the request, or the client default with .txn_code(..) or {ENV_TXN_CODE}"
            ))
        })?;
        let payment_mode = self.fields.payment_mode.or(payment_mode).ok_or_else(|| {
            Error::config(format!(
                "payment_mode is required: set it on the request, or the client default with .payment_mode(..) or {ENV_PAYMENT_MODE}"
            ))
        })?;
        Ok((txn_code, payment_mode))
    }
}

/// `txn_code` and `payment_mode` after the client's defaults are applied.
pub(crate) type Resolved<'a> = (&'a str, u32);

/// Builds a [`WalletRefundRequest`]; [`WalletRefundRequestBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct WalletRefundRequestBuilder {
    initial_txn_id: String,
    amount: Money,
    fields: OptionalFields,
}

impl WalletRefundRequestBuilder {
    setters! { fields:
        /// `txn_code` (`"MR / CR"`, `"CIB"`); defaults to the client's.
        txn_code: String;
        /// `note`.
        note: String;
        /// `debit_user_info`.
        debit_user_info: UserInfo;
        /// `credit_user_info`.
        credit_user_info: UserInfo;
        /// `company_admin_user_info`.
        company_admin_user_info: UserInfo;
        /// `charges_info`.
        charges_info: ChargesInfo;
        /// `txn_device_info`.
        txn_device_info: DeviceInfo;
        /// `payment_response` (contents not documented: sent as given).
        payment_response: Value;
        /// `card_info` (contents not documented: sent as given).
        card_info: Value;
        /// `meta_data` (contents not documented: sent as given).
        meta_data: Value;
    }
    /// `payment_mode`; defaults to the client's.
    #[must_use]
    pub fn payment_mode(mut self, mode: u32) -> Self {
        self.fields.payment_mode = Some(mode);
        self
    }

    /// Validates and builds: `initial_txn_id` (1 to 64 printable ASCII characters), a positive
    /// amount, `txn_code` (1 to [`MAX_TXN_CODE_LEN`] characters, no control characters) and `note`
    /// (at most [`MAX_NOTE_LEN`] characters). A bad field is [`Error::InvalidInput`] naming it.
    pub fn build(self) -> Result<WalletRefundRequest> {
        let initial_txn_id = TransactionId::new(self.initial_txn_id).map_err(|e| match e {
            Error::InvalidInput { reason, .. } => Error::invalid_input("initial_txn_id", reason),
            other => other,
        })?;
        check_amount(self.amount)?;
        if let Some(code) = &self.fields.txn_code {
            check_txn_code(code)?;
        }
        if let Some(note) = &self.fields.note {
            check_note(note)?;
        }
        Ok(WalletRefundRequest { initial_txn_id, amount: self.amount, fields: self.fields })
    }
}

pub(crate) fn check_amount(amount: Money) -> Result<()> {
    if amount.is_zero() {
        return Err(Error::invalid_input("amount", "must be greater than zero"));
    }
    // `Money::from_minor_units` does not check the SDK's limit; past 2^53 - 1 minor units the JSON
    // number `txn_amount` is no longer exact for a parser that reads doubles.
    if amount.minor_units() > refund_core::MAX_MINOR_UNITS {
        return Err(Error::invalid_input(
            "amount",
            format!("is too large (at most {} minor units)", refund_core::MAX_MINOR_UNITS),
        ));
    }
    Ok(())
}

pub(crate) fn check_txn_code(code: &str) -> Result<()> {
    if code.trim().is_empty() {
        return Err(Error::invalid_input("txn_code", "must not be empty"));
    }
    if code.chars().count() > MAX_TXN_CODE_LEN {
        return Err(Error::invalid_input(
            "txn_code",
            format!("must be at most {MAX_TXN_CODE_LEN} characters"),
        ));
    }
    if code.chars().any(char::is_control) {
        return Err(Error::invalid_input("txn_code", "must not contain control characters"));
    }
    Ok(())
}

pub(crate) fn check_note(note: &str) -> Result<()> {
    if note.chars().count() > MAX_NOTE_LEN {
        return Err(Error::invalid_input(
            "note",
            format!("must be at most {MAX_NOTE_LEN} characters"),
        ));
    }
    Ok(())
}

/// DigiPay's `txn_status` of a refund transaction.
///
/// DigiPay does not publish its values. The one documented response (a successful refund) carries
/// `1`, so `1` reads as [`TxnStatus::Success`]; every other number is kept as
/// [`TxnStatus::Other`]. The refund's outcome is decided by the response's `success` flag, not by
/// this value.
///
/// ```
/// use refund_digipay::TxnStatus;
/// assert_eq!(TxnStatus::from_code(1), TxnStatus::Success);
/// assert_eq!(TxnStatus::from_code(7).code(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TxnStatus {
    /// `1`: the value DigiPay's documented successful refund carries.
    Success,
    /// Any other value, kept verbatim.
    Other(i64),
}

impl TxnStatus {
    /// Reads the raw number.
    pub const fn from_code(code: i64) -> Self {
        match code {
            1 => TxnStatus::Success,
            other => TxnStatus::Other(other),
        }
    }
    /// The raw number.
    pub const fn code(self) -> i64 {
        match self {
            TxnStatus::Success => 1,
            TxnStatus::Other(code) => code,
        }
    }
}

impl fmt::Display for TxnStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// A successful DigiPay wallet refund (`success: 1` with an empty `error`).
///
/// Converts into the provider-neutral [`RefundRecord`] with `From`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WalletRefund {
    /// DigiPay's `txn_id` of the refund (also [`RefundRecord::refund_id`]).
    pub txn_id: Option<String>,
    /// DigiPay's `txn_number`.
    pub txn_number: Option<String>,
    /// DigiPay's `txn_status`.
    pub txn_status: Option<TxnStatus>,
    /// DigiPay's message (`"Money successfully refunded"`).
    pub message: Option<String>,
    /// The same refund in the SDK's provider-neutral terms.
    pub record: RefundRecord,
}

impl From<WalletRefund> for RefundRecord {
    fn from(refund: WalletRefund) -> Self {
        refund.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::Currency;

    #[test]
    fn amounts_past_the_exact_limit_are_refused() {
        // Issue 9 (bad input): `Money::from_minor_units` skips the limit; such a refund was sent
        // as a JSON number a double-reading parser cannot hold exactly.
        for minor in [refund_core::MAX_MINOR_UNITS + 1, u64::MAX] {
            let amount = Money::from_minor_units(minor, Currency::Inr);
            let err = WalletRefundRequest::builder("T-1", amount).build().unwrap_err();
            assert_eq!(err.field(), Some("amount"));
        }
        let most = Money::from_minor_units(refund_core::MAX_MINOR_UNITS, Currency::Inr);
        assert!(WalletRefundRequest::builder("T-1", most).build().is_ok());
    }
}
