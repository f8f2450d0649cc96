//! Public request and response types, in the SDK's words.

use std::fmt;

use refund_core::{
    DeclineReason, Error, Money, RefundReference, RefundRequest, Result, TransactionId,
};

/// One AOC refund: the original charge (`aocTransID`), the amount, and our reference (`spTransID`),
/// the idempotency key.
///
/// The reference is generated when the request is created (or set with
/// [`AocRefundRequest::with_sp_trans_id`]); every retry of this value sends the same one.
///
/// ```
/// use refund_aoc::AocRefundRequest;
/// use refund_core::{Currency, Money, RefundReference, TransactionId};
///
/// let request = AocRefundRequest::new(
///     TransactionId::new("12345")?,
///     Money::parse("6.5", Currency::Myr)?,
/// )
/// .with_sp_trans_id(RefundReference::new("201903192030-test1")?);
/// assert_eq!(request.sp_trans_id().as_str(), "201903192030-test1");
/// assert_eq!(request.amount().to_fixed_string(), "6.50");
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AocRefundRequest {
    aoc_trans_id: TransactionId,
    amount: Money,
    sp_trans_id: RefundReference,
}

impl AocRefundRequest {
    /// A refund of `amount` (full or partial) of the charge `aoc_trans_id`, with a newly generated
    /// `spTransID`.
    pub fn new(aoc_trans_id: TransactionId, amount: Money) -> Self {
        AocRefundRequest { aoc_trans_id, amount, sp_trans_id: RefundReference::generate() }
    }

    /// Uses the caller's own `spTransID` (already validated: non-empty printable ASCII, at most
    /// [`refund_core::MAX_ID_LEN`] characters).
    #[must_use]
    pub fn with_sp_trans_id(mut self, sp_trans_id: RefundReference) -> Self {
        self.sp_trans_id = sp_trans_id;
        self
    }

    /// The original charge (`aocTransID`).
    pub fn aoc_trans_id(&self) -> &TransactionId {
        &self.aoc_trans_id
    }

    /// The amount to refund.
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// Our reference (`spTransID`): the same on every retry of this request.
    pub fn sp_trans_id(&self) -> &RefundReference {
        &self.sp_trans_id
    }
}

impl TryFrom<&RefundRequest> for AocRefundRequest {
    type Error = Error;

    /// Takes the original transaction as `aocTransID` and the request's reference as `spTransID`.
    /// AOC needs an amount: a request without one is [`Error::InvalidInput`] naming `amount`.
    /// AOC has no note field; a note is not sent.
    fn try_from(request: &RefundRequest) -> Result<Self> {
        let amount = request.amount().ok_or_else(|| {
            Error::invalid_input(
                "amount",
                "AOC needs the amount to refund (give the full charge amount for a full refund)",
            )
        })?;
        Ok(AocRefundRequest {
            aoc_trans_id: request.original_transaction_id().clone(),
            amount,
            sp_trans_id: request.reference().clone(),
        })
    }
}

/// What [`crate::AocClient::refund`] accepts: an [`AocRefundRequest`] or the SDK's generic
/// [`RefundRequest`] (which must carry an amount).
pub trait AocRefundInput {
    /// The AOC refund this input describes, or [`Error::InvalidInput`].
    fn to_aoc_refund(&self) -> Result<AocRefundRequest>;

    /// The input itself when it already is an [`AocRefundRequest`], so that a call borrows it
    /// instead of copying its ids ([`AocRefundInput::to_aoc_refund`] otherwise).
    fn as_aoc_refund(&self) -> Option<&AocRefundRequest> {
        None
    }
}

impl AocRefundInput for AocRefundRequest {
    fn to_aoc_refund(&self) -> Result<AocRefundRequest> {
        Ok(self.clone())
    }

    fn as_aoc_refund(&self) -> Option<&AocRefundRequest> {
        Some(self)
    }
}

impl AocRefundInput for RefundRequest {
    fn to_aoc_refund(&self) -> Result<AocRefundRequest> {
        AocRefundRequest::try_from(self)
    }
}

/// AOC's `errorCode`, typed. Codes this SDK does not know are kept in [`AocErrorCode::Unknown`].
///
/// ```
/// use refund_aoc::AocErrorCode;
/// use refund_core::DeclineReason;
/// let code = AocErrorCode::parse("AOC1015");
/// assert_eq!(code, AocErrorCode::AmountLimitExceeded);
/// assert_eq!(code.decline_reason(), DeclineReason::LimitExceeded);
/// assert_eq!(AocErrorCode::parse("AOC4242").as_str(), "AOC4242");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AocErrorCode {
    /// `00`: success.
    Success,
    /// `AOC0001`: invalid parameter.
    InvalidParameter,
    /// `AOC0002`: invalid state.
    InvalidState,
    /// `AOC0003`: invalid token (credentials refused).
    InvalidToken,
    /// `AOC1001`: duplicate `spTransID` (a retry whose first try went through).
    DuplicateSpTransId,
    /// `AOC1003`: invalid OTP.
    InvalidOtp,
    /// `AOC1007`: charging / refund failed.
    ChargingFailed,
    /// `AOC1012`: charging denied.
    ChargingDenied,
    /// `AOC1014`: count limit exceeded.
    CountLimitExceeded,
    /// `AOC1015`: amount limit exceeded (including a refund past the original charge).
    AmountLimitExceeded,
    /// `AOC1016`: daily limit exceeded.
    DailyLimitExceeded,
    /// `AOC1017`: monthly limit exceeded.
    MonthlyLimitExceeded,
    /// `AOC1019`: transaction expired.
    TransactionExpired,
    /// `AOC1020`: blocked by a transaction in progress (not processed; retry later).
    TransactionInProgress,
    /// A code this SDK does not know, verbatim.
    Unknown(String),
}

/// Every code this SDK knows, as AOC writes it, and the reason of a refund declined with it;
/// `00` first, the answer to nearly every call.
static KNOWN_CODES: [(&str, AocErrorCode, Option<DeclineReason>); 14] = [
    ("00", AocErrorCode::Success, None),
    ("AOC0001", AocErrorCode::InvalidParameter, Some(DeclineReason::InvalidRequest)),
    ("AOC0002", AocErrorCode::InvalidState, Some(DeclineReason::InvalidState)),
    ("AOC0003", AocErrorCode::InvalidToken, None),
    ("AOC1001", AocErrorCode::DuplicateSpTransId, None),
    ("AOC1003", AocErrorCode::InvalidOtp, Some(DeclineReason::InvalidOtp)),
    ("AOC1007", AocErrorCode::ChargingFailed, Some(DeclineReason::Refused)),
    ("AOC1012", AocErrorCode::ChargingDenied, Some(DeclineReason::Refused)),
    ("AOC1014", AocErrorCode::CountLimitExceeded, Some(DeclineReason::LimitExceeded)),
    ("AOC1015", AocErrorCode::AmountLimitExceeded, Some(DeclineReason::LimitExceeded)),
    ("AOC1016", AocErrorCode::DailyLimitExceeded, Some(DeclineReason::LimitExceeded)),
    ("AOC1017", AocErrorCode::MonthlyLimitExceeded, Some(DeclineReason::LimitExceeded)),
    ("AOC1019", AocErrorCode::TransactionExpired, Some(DeclineReason::Expired)),
    ("AOC1020", AocErrorCode::TransactionInProgress, None),
];

impl AocErrorCode {
    /// Reads a code; surrounding spaces and letter case are ignored (`"aoc1007"` is `AOC1007`).
    pub fn parse(code: &str) -> Self {
        let trimmed = code.trim();
        match KNOWN_CODES.iter().find(|(text, ..)| text.eq_ignore_ascii_case(trimmed)) {
            Some((_, known, _)) => known.clone(),
            None => AocErrorCode::Unknown(trimmed.to_owned()),
        }
    }

    /// The code as AOC writes it (`"00"`, `"AOC1007"`, or the unknown text).
    pub fn as_str(&self) -> &str {
        match self {
            AocErrorCode::Unknown(code) => code,
            known => {
                KNOWN_CODES.iter().find(|(_, code, _)| code == known).map_or("", |(text, ..)| text)
            }
        }
    }

    /// The SDK's reason for a refund declined with this code. (`AOC0003` and `AOC1020` never
    /// become declines: they are [`Error::Auth`] and [`Error::Unavailable`].)
    pub fn decline_reason(&self) -> DeclineReason {
        match KNOWN_CODES.iter().find(|(_, code, _)| code == self) {
            Some((_, _, Some(reason))) => reason.clone(),
            _ => DeclineReason::Other(self.as_str().to_owned()),
        }
    }
}

impl fmt::Display for AocErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::Currency;

    #[test]
    fn every_documented_code_round_trips() {
        let codes = [
            "00", "AOC0001", "AOC0002", "AOC0003", "AOC1001", "AOC1003", "AOC1007", "AOC1012",
            "AOC1014", "AOC1015", "AOC1016", "AOC1017", "AOC1019", "AOC1020",
        ];
        for code in codes {
            let parsed = AocErrorCode::parse(code);
            assert!(!matches!(parsed, AocErrorCode::Unknown(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
            assert_eq!(AocErrorCode::parse(&code.to_ascii_lowercase()), parsed);
        }
        assert_eq!(AocErrorCode::parse(" AOC9 "), AocErrorCode::Unknown("AOC9".into()));
        assert_eq!(AocErrorCode::parse(" aOc1020\n"), AocErrorCode::TransactionInProgress);
        for unknown in ["AOC10150", "XOC1020", "1020", "AOC 1020", "ÀOC1020", ""] {
            assert_eq!(AocErrorCode::parse(unknown), AocErrorCode::Unknown(unknown.trim().into()));
        }
        assert_eq!(
            AocErrorCode::parse("AOC9").decline_reason(),
            DeclineReason::Other("AOC9".into())
        );
        assert_eq!(AocErrorCode::parse("AOC1019").decline_reason(), DeclineReason::Expired);
        assert_eq!(AocErrorCode::parse("AOC1012").to_string(), "AOC1012");
    }

    #[test]
    fn core_request_needs_an_amount() {
        let base = RefundRequest::new(TransactionId::new("12345").unwrap());
        let err = AocRefundRequest::try_from(&base).unwrap_err();
        assert_eq!(err.field(), Some("amount"));
        let with = base.clone().with_amount(Money::parse("1", Currency::Myr).unwrap());
        let aoc = with.to_aoc_refund().unwrap();
        assert_eq!(aoc.sp_trans_id(), base.reference());
        assert_eq!(aoc.aoc_trans_id().as_str(), "12345");
    }
}
