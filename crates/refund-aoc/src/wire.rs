//! AOC's own spelling of its answers. The only place that knows the provider's field names.

use std::borrow::Cow;

use refund_core::AmountText;
use serde::Deserialize;

/// `{"data": {...}}`: every AOC answer, success or not (PROVIDERS.md, AOC section).
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(borrow)]
    pub(crate) data: Data<'a>,
}

/// The answer's body. Only `errorCode` is required: success is exactly `errorCode == "00"`.
///
/// Text borrows from the response body where it can (no escapes in it): decoding is on every
/// call's path, and these fields are only read to fill the record.
#[derive(Debug, Deserialize)]
pub(crate) struct Data<'a> {
    #[serde(rename = "aocTransID", default, borrow)]
    pub(crate) aoc_trans_id: Option<Cow<'a, str>>,
    /// `"refunded"` or `"denied"`; the pages' tables write `"Refunded"`, so compare ignoring case.
    #[serde(rename = "transactionOperationStatus", default, borrow)]
    pub(crate) transaction_operation_status: Option<Cow<'a, str>>,
    /// `"1.00"` or `1`: read from its exact text, never through `f64`.
    #[serde(rename = "amountRefunded", default)]
    pub(crate) amount_refunded: Option<AmountText>,
    #[serde(rename = "clientCorrelator", default, borrow)]
    pub(crate) client_correlator: Option<Cow<'a, str>>,
    #[serde(rename = "errorCode", borrow)]
    pub(crate) error_code: Cow<'a, str>,
    #[serde(rename = "errorMessage", default, borrow)]
    pub(crate) error_message: Option<Cow<'a, str>>,
}

impl Data<'_> {
    /// The operation status, trimmed and lower-cased (`""` when absent); copied only when it
    /// has upper-case letters.
    pub(crate) fn status(&self) -> Cow<'_, str> {
        let status = self.transaction_operation_status.as_deref().unwrap_or("").trim();
        if status.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(status.to_ascii_lowercase())
        } else {
            Cow::Borrowed(status)
        }
    }

    /// The error message, `""` when absent.
    pub(crate) fn message(&self) -> &str {
        self.error_message.as_deref().unwrap_or("")
    }

    /// A field that is present and not blank.
    pub(crate) fn non_empty<'s>(field: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
        field.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
}

/// Why a body is not an AOC answer, in words for the error's detail.
pub(crate) fn parse(body: &[u8]) -> Result<Data<'_>, String> {
    // Looked at as bytes: JSON's whitespace is ASCII, and copying the body into a `String` to
    // trim it cost more than the rest of the decoding.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err("the response body is empty".into()),
        Some(b'<') => return Err("the response body is HTML or XML, not AOC's JSON".into()),
        Some(_) => {}
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) => Ok(envelope.data),
        Err(e) if e.is_syntax() || e.is_eof() => {
            Err(format!("the response body is not valid JSON ({e})"))
        }
        Err(e) => Err(format!("the response JSON is not AOC's {{\"data\": {{...}}}} answer ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::Currency;

    #[test]
    fn reads_the_documented_success() {
        let data = parse(include_bytes!("../tests/fixtures/refund_success.json")).unwrap();
        assert_eq!(data.error_code, "00");
        assert_eq!(data.status(), "refunded");
        assert_eq!(data.aoc_trans_id.as_deref(), Some("12345"));
        assert_eq!(data.client_correlator.as_deref(), Some("CC-778899"));
        let amount = data.amount_refunded.unwrap().to_money(Currency::Myr).unwrap();
        assert_eq!(amount.minor_units(), 100);
    }

    #[test]
    fn amount_as_number_and_status_in_any_case() {
        let data = parse(
            br#"{"data":{"transactionOperationStatus":" Refunded ","amountRefunded":1,"errorCode":"00"}}"#,
        )
        .unwrap();
        assert_eq!(data.status(), "refunded");
        assert_eq!(
            data.amount_refunded.as_ref().unwrap().to_money(Currency::Myr).unwrap().minor_units(),
            100
        );
        assert_eq!(data.message(), "");
    }

    #[test]
    fn nulls_are_absent() {
        let data = parse(
            br#"{"data":{"aocTransID":null,"clientCorrelator":null,"amountRefunded":null,"errorCode":"AOC1007","errorMessage":null}}"#,
        )
        .unwrap();
        assert!(data.aoc_trans_id.is_none() && data.amount_refunded.is_none());
        assert_eq!(Data::non_empty(&Some(Cow::Borrowed("  "))), None);
    }

    #[test]
    fn explains_what_is_wrong() {
        assert!(parse(b"").unwrap_err().contains("empty"));
        assert!(parse(b"  \n").unwrap_err().contains("empty"));
        assert!(parse(b"<html>502</html>").unwrap_err().contains("HTML"));
        assert!(parse(b"{\"data\":").unwrap_err().contains("not valid JSON"));
        assert!(parse(b"{}").unwrap_err().contains("not AOC's"));
        assert!(parse(br#"{"data":{"errorCode":0}}"#).unwrap_err().contains("not AOC's"));
        assert!(parse(br#"{"data":{"errorCode":"00","amountRefunded":true}}"#).is_err());
    }
}
