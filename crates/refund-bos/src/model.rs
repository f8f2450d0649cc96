//! Public request and response types of the BOS API, in the SDK's words.

use std::fmt;

use refund_core::{Currency, Error, Money, RawJson, RefundRecord, RefundStatus, Result};

/// A UPI payment intent (`upi://pay?pa=...&am=10`), parsed into its parameters.
///
/// The named accessors cover the parameters of the NPCI UPI linking specification that BOS sends;
/// [`UpiIntent::params`] keeps every parameter in order, decoded.
///
/// ```
/// use refund_core::{Currency, Money};
/// use refund_bos::UpiIntent;
/// let intent = UpiIntent::parse("upi://pay?pa=shop@bank&pn=Shop%20One&am=10.50&cu=INR&tr=T1")?;
/// assert_eq!(intent.pa(), Some("shop@bank"));
/// assert_eq!(intent.pn(), Some("Shop One"));
/// assert_eq!(intent.amount()?, Some(Money::parse("10.5", Currency::Inr)?));
/// assert_eq!(intent.get("tr"), Some("T1"));
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpiIntent {
    text: String,
    params: Vec<(String, String)>,
}

impl UpiIntent {
    /// Parses a `upi://pay?...` URI. Anything else (another scheme or action, no query) is an
    /// [`Error::InvalidInput`] naming `upi_intent`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::invalid_input("upi_intent", reason.to_owned());
        let text = text.trim();
        let url = url::Url::parse(text).map_err(|_| bad("is not a URI"))?;
        if !url.scheme().eq_ignore_ascii_case("upi") {
            return Err(bad("must start with upi://"));
        }
        if !url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("pay")) {
            return Err(bad("must be a upi://pay intent"));
        }
        if url.query().is_none_or(str::is_empty) {
            return Err(bad("has no parameters"));
        }
        let params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        Ok(UpiIntent { text: text.to_owned(), params })
    }

    /// The intent exactly as BOS sent it (what goes into the QR image or a deep link).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every parameter, in order, percent-decoded.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The first value of parameter `name` (case-sensitive, as the specification spells them).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `pa`: the payee's virtual payment address.
    pub fn pa(&self) -> Option<&str> {
        self.get("pa")
    }
    /// `pn`: the payee's name.
    pub fn pn(&self) -> Option<&str> {
        self.get("pn")
    }
    /// `am`: the amount, as text.
    pub fn am(&self) -> Option<&str> {
        self.get("am")
    }
    /// `tr`: the transaction reference.
    pub fn tr(&self) -> Option<&str> {
        self.get("tr")
    }
    /// `cu`: the currency (`INR`).
    pub fn cu(&self) -> Option<&str> {
        self.get("cu")
    }
    /// `mc`: the merchant category code.
    pub fn mc(&self) -> Option<&str> {
        self.get("mc")
    }
    /// `tn`: the transaction note.
    pub fn tn(&self) -> Option<&str> {
        self.get("tn")
    }

    /// `am` as exact rupees (`None` when absent). A `cu` other than `INR`, or an `am` that is not a
    /// plain decimal with at most two places, is an [`Error::InvalidInput`] naming `upi_intent`.
    pub fn amount(&self) -> Result<Option<Money>> {
        if let Some(cu) = self.cu()
            && !cu.eq_ignore_ascii_case("INR")
        {
            return Err(Error::invalid_input("upi_intent", format!("currency {cu:?} is not INR")));
        }
        self.am()
            .map(|am| {
                Money::parse_non_negative(am, Currency::Inr).map_err(|e| {
                    Error::invalid_input("upi_intent", format!("am={am:?} is not an amount: {e}"))
                })
            })
            .transpose()
    }
}

impl fmt::Display for UpiIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A dynamic UPI QR code created by [`crate::BosClient::dynamic_qr`], already checked to be for
/// the amount asked for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DynamicQr {
    /// BOS's QR id (`id`, e.g. `qr_Oe8y06oN0Kj1cx`), when given.
    pub id: Option<String>,
    /// BOS's transaction reference (`txnRefranceID`, e.g. `BOS554V221201`), when given.
    pub reference: Option<String>,
    /// The UPI intent to render as the QR image (`UPIIntend`, or `qrCode`).
    pub upi_intent: UpiIntent,
    /// The amount, checked equal to the intent's `am` (and to `PaymentAmount` when present).
    pub amount: Money,
    /// When the QR was created, as BOS wrote it (`CreatedDateTime`, RFC 3339 with +05:30).
    pub created_at: Option<String>,
    /// When the QR expires, as BOS wrote it (`ExpireDateTime`).
    pub expires_at: Option<String>,
    /// The QR's state (`status`, e.g. `active`) or outcome as BOS wrote it.
    pub status: Option<String>,
    /// The virtual VPA (`virtualVPA`), when given.
    pub virtual_vpa: Option<String>,
    /// BOS's message.
    pub message: Option<String>,
    /// The response JSON ([`RawJson::to_value`]).
    pub raw: RawJson,
}

/// Where an original transfer and its refund stand, from [`crate::BosClient::status`].
///
/// Every field is text as BOS sent it (numbers and strings both accepted), except `amount`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BosTransaction {
    /// The transfer's `referenceid`.
    pub referenceid: String,
    /// The acknowledgement number (`ackno`).
    pub ackno: Option<String>,
    /// The bank's UTR.
    pub utr: Option<String>,
    /// The transfer amount, exact, in rupees.
    pub amount: Option<Money>,
    /// The (masked) account.
    pub account: Option<String>,
    /// BOS's transaction status code (`txn_status`); see [`BosTransaction::refund_status`].
    pub txn_status: Option<String>,
    /// The refund's transaction id (`refundtxnid`), once refunded.
    pub refund_txn_id: Option<String>,
    /// When it was refunded (`daterefunded`), as BOS wrote it.
    pub date_refunded: Option<String>,
    /// Charges, as BOS wrote them.
    pub charges: Option<String>,
    /// BOS's message.
    pub message: Option<String>,
    /// The response code (`1`).
    pub response_code: String,
    /// The response JSON ([`RawJson::to_value`]).
    pub raw: RawJson,
}

impl BosTransaction {
    /// The refund's state: [`RefundStatus::Succeeded`] when a `refundtxnid` is present or
    /// `txn_status` is `4` (refunded), [`RefundStatus::NotRefunded`] for `3` (refund pending:
    /// the transfer still awaits its refund claim), and [`RefundStatus::Unknown`]
    /// (`"txn_status <n>"`) otherwise. BOS mirrors PaySprint's codes: 0 failed, 1 success,
    /// 2 pending, 3 refund pending, 4 refunded, 5 on hold.
    pub fn refund_status(&self) -> RefundStatus {
        if self.refund_txn_id.is_some() {
            return RefundStatus::Succeeded;
        }
        match self.txn_status.as_deref() {
            Some("4") => RefundStatus::Succeeded,
            Some("3") => RefundStatus::NotRefunded,
            Some(other) => RefundStatus::Unknown(format!("txn_status {other}")),
            None => RefundStatus::Unknown("txn_status missing".to_owned()),
        }
    }

    /// The same, as the core [`RefundRecord`] (`refund_id` = `refundtxnid`,
    /// `original_transaction_id` = `referenceid`, `provider_code` = `txn_status`).
    pub fn to_refund_record(&self) -> RefundRecord {
        let mut record = RefundRecord::new("bos", self.refund_status())
            .with_original_transaction_id(self.referenceid.clone())
            .with_raw(self.raw.clone());
        record.refund_id.clone_from(&self.refund_txn_id);
        record.amount = self.amount;
        record.message.clone_from(&self.message);
        record.provider_code.clone_from(&self.txn_status);
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_intent() {
        let intent = UpiIntent::parse("upi://pay?ver=01&mode=22&pa=random@razorpay&pn=BOSCENTERPRIVATELIMITED&tr=RZPOe8y06oN0Kj1cxqrv2&cu=INR&mc=8299&qrMedium=04&tn=PaymenttoBOSCENTERPRIVATELIMITED&am=10").unwrap();
        assert_eq!(intent.pa(), Some("random@razorpay"));
        assert_eq!(intent.pn(), Some("BOSCENTERPRIVATELIMITED"));
        assert_eq!(intent.tr(), Some("RZPOe8y06oN0Kj1cxqrv2"));
        assert_eq!(intent.cu(), Some("INR"));
        assert_eq!(intent.mc(), Some("8299"));
        assert_eq!(intent.tn(), Some("PaymenttoBOSCENTERPRIVATELIMITED"));
        assert_eq!(intent.am(), Some("10"));
        assert_eq!(intent.get("qrMedium"), Some("04"));
        assert_eq!(intent.params().len(), 10);
        assert_eq!(intent.amount().unwrap(), Some(Money::from_minor_units(1000, Currency::Inr)));
    }

    #[test]
    fn rejects_other_uris_and_odd_amounts() {
        for bad in ["", "https://pay?am=1", "upi://collect?am=1", "upi://pay", "upi://pay?"] {
            assert_eq!(UpiIntent::parse(bad).unwrap_err().field(), Some("upi_intent"), "{bad}");
        }
        for am in ["1e3", "10.001", "-1", "ten"] {
            let intent = UpiIntent::parse(&format!("upi://pay?pa=a@b&am={am}")).unwrap();
            assert!(intent.amount().is_err(), "{am}");
        }
        let usd = UpiIntent::parse("upi://pay?pa=a@b&am=1&cu=USD").unwrap();
        assert!(usd.amount().is_err());
        let none = UpiIntent::parse("upi://pay?pa=a@b").unwrap();
        assert_eq!(none.amount().unwrap(), None);
    }
}
