//! The public request and response types, in the SDK's words.

use refund_core::{
    Currency, Error, Money, Otp, OtpChallenge, OtpRefundTarget, RawJson, RefundRecord,
    RefundStatus, Result, TransactionId,
};

use crate::PROVIDER;

/// Longest Eko `tid` accepted (Eko tids are decimal numbers; 20 digits is more than `u64`).
pub const MAX_TID_DIGITS: usize = 20;

/// Longest `otp_ref_id` accepted.
pub const MAX_OTP_REF_ID_LEN: usize = 128;

/// Checks an Eko `tid`: 1 to [`MAX_TID_DIGITS`] ASCII digits without a leading zero, so it can
/// never change the URL path nor name another transaction.
pub(crate) fn check_tid(tid: &str) -> Result<()> {
    refund_core::check_digits("tid", tid, MAX_TID_DIGITS)?;
    // Eko numbers its transactions; `0013192443` is no tid Eko issued, and a server that reads the
    // path as a number would take it for `13192443`: refuse the padded form before sending.
    if tid.starts_with('0') {
        return Err(Error::invalid_input(
            "tid",
            "must not start with 0: Eko tids are decimal numbers without leading zeros",
        ));
    }
    Ok(())
}

/// Checks an `otp_ref_id` (at most [`MAX_OTP_REF_ID_LEN`] characters) or a `user_code` (64):
/// 1 to `max_len` printable ASCII characters without spaces.
pub(crate) fn check_printable(field: &str, text: &str, max_len: usize) -> Result<()> {
    if text.is_empty() || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_input(
            field,
            format!("must be 1 to {max_len} printable ASCII characters without spaces"),
        ));
    }
    Ok(())
}

/// The OTP as the JSON integer Eko expects; a leading zero cannot survive that and is refused.
pub(crate) fn otp_json_integer(otp: &Otp) -> Result<u64> {
    let digits = otp.expose();
    if digits.starts_with('0') {
        return Err(Error::invalid_input(
            "otp",
            "starts with 0, which Eko's integer otp field cannot carry; request a new OTP",
        ));
    }
    // `Otp` holds 4 to 8 ASCII digits, which always fit.
    digits.parse().map_err(|_| Error::invalid_input("otp", "must be 4 to 8 digits"))
}

/// The first step's result: Eko sent the refund OTP to the customer for `tid`; confirm with
/// [`crate::OtpRefundClient::confirm`] (or `refund(tid, otp_ref_id, otp)`).
///
/// Converts to and from the core [`OtpChallenge`].
///
/// ```
/// use refund_otp::RefundOtpChallenge;
/// let challenge = RefundOtpChallenge::new("13192443", "ref-1")?;
/// let core: refund_core::OtpChallenge = challenge.clone().into();
/// assert_eq!(core.otp_ref_id.as_deref(), Some("ref-1"));
/// assert_eq!(RefundOtpChallenge::try_from(&core)?, challenge);
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOtpChallenge {
    tid: TransactionId,
    otp_ref_id: String,
    message: Option<String>,
}

impl RefundOtpChallenge {
    /// A challenge from a stored `tid` and `otp_ref_id`, both validated.
    pub fn new(tid: impl Into<String>, otp_ref_id: impl Into<String>) -> Result<Self> {
        let tid = tid.into();
        check_tid(&tid)?;
        let otp_ref_id = otp_ref_id.into();
        check_printable("otp_ref_id", &otp_ref_id, MAX_OTP_REF_ID_LEN)?;
        Ok(RefundOtpChallenge { tid: TransactionId::new(tid)?, otp_ref_id, message: None })
    }

    pub(crate) fn with_message(mut self, message: Option<String>) -> Self {
        self.message = message.filter(|m| !m.is_empty());
        self
    }

    /// The original transaction (Eko `tid`).
    pub fn tid(&self) -> &str {
        self.tid.as_str()
    }
    /// Eko's OTP session reference, to send back with the OTP.
    pub fn otp_ref_id(&self) -> &str {
        &self.otp_ref_id
    }
    /// Eko's message (`"Send OTP"`).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl From<RefundOtpChallenge> for OtpChallenge {
    fn from(c: RefundOtpChallenge) -> Self {
        let mut challenge =
            OtpChallenge::new(PROVIDER, OtpRefundTarget::new(c.tid)).with_otp_ref_id(c.otp_ref_id);
        challenge.message = c.message; // never empty: `with_message` filters it
        challenge
    }
}

impl TryFrom<&OtpChallenge> for RefundOtpChallenge {
    type Error = Error;

    /// Fails (naming `provider`, `otp_ref_id` or `tid`) when the challenge is not one of ours.
    fn try_from(c: &OtpChallenge) -> Result<Self> {
        if c.provider != PROVIDER {
            return Err(Error::invalid_input(
                "provider",
                format!("the challenge is from {:?}, not {PROVIDER:?}", c.provider),
            ));
        }
        let otp_ref_id = c.otp_ref_id.as_deref().ok_or_else(|| {
            Error::invalid_input("otp_ref_id", "the challenge carries no otp_ref_id")
        })?;
        Ok(RefundOtpChallenge::new(c.target.transaction_id().as_str(), otp_ref_id)?
            .with_message(c.message.clone()))
    }
}

/// A refund Eko reported as done (`status: 0`). Amounts are read exactly from Eko's strings;
/// one that cannot be read exactly is `None` here and stays visible in [`EkoRefund::raw`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EkoRefund {
    /// Eko's id of the refund (`data.refund_tid`).
    pub refund_tid: String,
    /// The original transaction.
    pub tid: String,
    /// The original transaction amount (`data.amount`).
    pub amount: Option<Money>,
    /// The amount refunded to the customer (`data.refunded_amount`), fees included.
    pub refunded_amount: Option<Money>,
    /// The fee reversed (`data.fee`).
    pub fee: Option<Money>,
    /// TDS reversed (`data.tds`).
    pub tds: Option<Money>,
    /// Commission reversed (`data.commission_reverse`).
    pub commission_reverse: Option<Money>,
    /// The agent's balance after the refund (`data.balance`, which Eko writes in exponent form:
    /// `"2.22263731286E9"` reads as exactly `2222637312.86`).
    pub balance: Option<Money>,
    /// The currency (`data.currency`, INR).
    pub currency: Currency,
    /// Eko's timestamp of the refund, as sent (`"2018-10-30T12:00:14.058Z"`).
    pub timestamp: Option<String>,
    /// Eko's message (`"Refund done"`).
    pub message: Option<String>,
    /// The response JSON, secret fields masked ([`RawJson::to_value`]).
    pub raw: RawJson,
}

impl EkoRefund {
    /// The core record: status [`RefundStatus::Succeeded`], refund id `refund_tid`, amount the
    /// refunded amount (or the transaction amount when Eko omits it).
    pub fn to_record(&self) -> RefundRecord {
        let mut record = RefundRecord::new(PROVIDER, RefundStatus::Succeeded)
            .with_refund_id(self.refund_tid.clone())
            .with_original_transaction_id(self.tid.clone())
            .with_provider_code("0")
            .with_raw(self.raw.clone());
        record.amount = self.refunded_amount.or(self.amount);
        record.message = self.message.clone().filter(|m| !m.is_empty());
        record
    }
}

/// An enum of Eko's numeric codes and its two conversions, `from_code` and `code`, from one
/// table, so that they cannot disagree; any other number is kept in the variant listed first.
macro_rules! eko_codes {
    ($(#[$meta:meta])* $name:ident {
        $(#[$other_doc:meta])* $other:ident(i64);
        $($(#[$doc:meta])* $variant:ident = $code:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$doc])* $variant,)*
            $(#[$other_doc])* $other(i64),
        }

        impl $name {
            /// From Eko's number.
            pub fn from_code(code: i64) -> Self {
                match code {
                    $($code => $name::$variant,)*
                    other => $name::$other(other),
                }
            }
            /// Eko's number.
            pub fn code(self) -> i64 {
                match self {
                    $($name::$variant => $code,)*
                    $name::$other(code) => code,
                }
            }
        }
    };
}

eko_codes! {
    /// Eko's `tx_status` of a transaction.
    ///
    /// ```
    /// use refund_otp::TxStatus;
    /// assert_eq!(TxStatus::from_code(4), TxStatus::Refunded);
    /// assert_eq!(TxStatus::from_code(9), TxStatus::Other(9));
    /// assert_eq!(TxStatus::Other(9).code(), 9);
    /// ```
    TxStatus {
        /// Any other value, kept: treat as initiated and inquire again.
        Other(i64);
        /// `0`: the transfer succeeded.
        Success = 0,
        /// `1`: the transfer failed.
        Failed = 1,
        /// `2`: initiated, not final yet.
        Initiated = 2,
        /// `3`: refund pending: the transfer failed and the refund OTP was sent; claim it with
        /// `send_otp` / `refund`.
        RefundPending = 3,
        /// `4`: refunded.
        Refunded = 4,
        /// `5`: on hold.
        Hold = 5,
    }
}

impl TxStatus {
    /// Where the refund of this transaction stands, for [`refund_core::RefundStatusRead`]:
    /// `4` succeeded; `3` (refund pending: the transfer still awaits its refund) not refunded;
    /// `2`, `5` and unknown values pending; `1` failed; `0` (the transfer succeeded, nothing to
    /// refund) unknown, as `"transfer_succeeded"`.
    pub fn refund_status(self) -> RefundStatus {
        match self {
            TxStatus::Refunded => RefundStatus::Succeeded,
            TxStatus::RefundPending => RefundStatus::NotRefunded,
            TxStatus::Initiated | TxStatus::Hold | TxStatus::Other(_) => RefundStatus::Pending,
            TxStatus::Failed => RefundStatus::Failed,
            TxStatus::Success => RefundStatus::Unknown("transfer_succeeded".into()),
        }
    }
}

/// A transaction inquiry's answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EkoTransaction {
    /// The transaction id.
    pub tid: String,
    /// Its `tx_status`.
    pub tx_status: TxStatus,
    /// Eko's text for it (`txstatus_desc`: `"Refunded"`).
    pub status_text: Option<String>,
    /// The transaction amount, read exactly.
    pub amount: Option<Money>,
    /// The refund's id, once refunded (`refund_tid`; absent or empty before).
    pub refund_tid: Option<String>,
    /// Eko's message.
    pub message: Option<String>,
    /// The response JSON, secret fields masked ([`RawJson::to_value`]).
    pub raw: RawJson,
}

impl EkoTransaction {
    /// The core record: the refund's status per [`TxStatus::refund_status`], provider code
    /// `tx_status:<n>`.
    pub fn to_record(&self) -> RefundRecord {
        let mut record = RefundRecord::new(PROVIDER, self.tx_status.refund_status())
            .with_original_transaction_id(self.tid.clone())
            .with_provider_code(format!("tx_status:{}", self.tx_status.code()))
            .with_raw(self.raw.clone());
        record.refund_id.clone_from(&self.refund_tid);
        record.amount = self.amount;
        record.message = self.status_text.as_ref().or(self.message.as_ref()).cloned();
        record.message = record.message.filter(|m| !m.is_empty());
        record
    }
}

eko_codes! {
    /// Eko's `status` codes this SDK knows (PROVIDERS.md); anything else is kept in
    /// [`EkoStatusCode::Unknown`].
    ///
    /// ```
    /// use refund_otp::EkoStatusCode;
    /// assert_eq!(EkoStatusCode::from_code(302), EkoStatusCode::WrongOtp);
    /// assert_eq!(EkoStatusCode::from_code(77).code(), 77);
    /// ```
    EkoStatusCode {
        /// Any other code.
        Unknown(i64);
        /// `0`: success.
        Success = 0,
        /// `168`: the TID does not exist.
        TidNotFound = 168,
        /// `302`: wrong OTP.
        WrongOtp = 302,
        /// `303`: OTP expired.
        OtpExpired = 303,
        /// `319`: invalid initiator (the `initiator_id` setting).
        InvalidInitiator = 319,
        /// `347`: insufficient balance.
        InsufficientBalance = 347,
        /// `463`: user not found (the `user_code` setting).
        UserNotFound = 463,
        /// `2133`: "Send OTP", the status of the official get-OTP sample's success answer.
        OtpSent = 2133,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_tids_are_refused() {
        // Issue 9 (bad input): a padded tid names no transaction Eko issued; it was sent.
        for tid in ["0", "00", "013192443", "0013192443"] {
            assert_eq!(check_tid(tid).unwrap_err().field(), Some("tid"), "{tid}");
        }
        assert!(check_tid("13192443").is_ok());
        assert!(RefundOtpChallenge::new("013192443", "ref-1").is_err());
    }

    #[test]
    fn otp_must_survive_as_an_integer() {
        assert_eq!(otp_json_integer(&Otp::new("576719").unwrap()).unwrap(), 576_719);
        let err = otp_json_integer(&Otp::new("076123").unwrap()).unwrap_err();
        assert_eq!(err.field(), Some("otp"));
        assert!(!err.to_string().contains("76123"));
    }

    #[test]
    fn codes_round_trip() {
        for code in [0, 168, 302, 303, 319, 347, 463, 2133, 1, -2, 9999] {
            assert_eq!(EkoStatusCode::from_code(code).code(), code);
        }
        for code in [-1, 0, 1, 2, 3, 4, 5, 6] {
            assert_eq!(TxStatus::from_code(code).code(), code);
        }
    }

    #[test]
    fn tx_status_to_refund_status() {
        assert_eq!(TxStatus::Refunded.refund_status(), RefundStatus::Succeeded);
        assert_eq!(TxStatus::RefundPending.refund_status(), RefundStatus::NotRefunded);
        assert_eq!(TxStatus::Hold.refund_status(), RefundStatus::Pending);
        assert_eq!(TxStatus::Other(7).refund_status(), RefundStatus::Pending);
        assert_eq!(TxStatus::Failed.refund_status(), RefundStatus::Failed);
        assert_eq!(
            TxStatus::Success.refund_status(),
            RefundStatus::Unknown("transfer_succeeded".into())
        );
    }

    #[test]
    fn challenge_validation_names_fields() {
        let target = OtpRefundTarget::new(TransactionId::new("1").unwrap());
        let foreign = OtpChallenge::new("bos", target.clone()).with_otp_ref_id("r");
        let no_ref = OtpChallenge::new(PROVIDER, target);
        for (challenge, field) in [
            (RefundOtpChallenge::new("1/otp", "r"), "tid"),
            (RefundOtpChallenge::new("1", ""), "otp_ref_id"),
            (RefundOtpChallenge::new("1", "a b"), "otp_ref_id"),
            (RefundOtpChallenge::try_from(&foreign), "provider"),
            (RefundOtpChallenge::try_from(&no_ref), "otp_ref_id"),
        ] {
            assert_eq!(challenge.unwrap_err().field(), Some(field));
        }
    }
}
