//! BOS's own spelling of requests and responses. Nothing outside this crate sees these types.

use std::fmt;

use serde::de;
use serde::{Deserialize, Deserializer, Serialize};

use refund_core::{AmountText, Currency, Error, MAX_MINOR_UNITS, Money, Otp, PreparedBody, Result};

/// Largest `referenceid` / `ackno` text: 20 digits (the width of `u64`).
const MAX_NUMBER_DIGITS: usize = 20;

/// `POST /api/BOS/RefundOTP` (`referenceid`, `ackno`), `ClaimRefund` (and `otp`) and
/// `TransactStatus` (`referenceid` alone), numbers as documented (PROVIDERS.md, BOS): `referenceid`,
/// not the code samples' `RegistrationID`.
// No Debug: it holds a secret (the OTP or the registration id); the dry run masks it.
#[derive(Serialize)]
pub(crate) struct RefundBody {
    pub(crate) referenceid: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ackno: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) otp: Option<u64>,
}

impl RefundBody {
    /// Checks the numbers and encodes them; the OTP shows as `***` in dry runs.
    pub(crate) fn json(
        referenceid: &str,
        ackno: Option<&str>,
        otp: Option<&Otp>,
    ) -> Result<PreparedBody> {
        let body = RefundBody {
            referenceid: parse_number("referenceid", referenceid)?,
            ackno: ackno.map(|ackno| parse_number("ackno", ackno)).transpose()?,
            otp: otp.map(parse_otp).transpose()?,
        };
        PreparedBody::json(&body, &["otp"])
    }
}

/// `POST /api/BOS/V4/DynamicQRCode`: the amount is a rupee string (`"10"`, `"10.5"`), never a float.
// No Debug: it holds a secret (the OTP or the registration id); the dry run masks it.
#[derive(Serialize)]
pub(crate) struct DynamicQrBody<'a> {
    #[serde(rename = "RegistrationID")]
    pub(crate) registration_id: &'a str,
    pub(crate) amount: &'a str,
}

/// A QR amount as BOS's rupee string: INR, more than zero, within the SDK's limit.
pub(crate) fn qr_amount(amount: Money) -> Result<String> {
    let reason = if amount.currency() != Currency::Inr {
        format!("BOS QR codes are in INR, not {}", amount.currency())
    } else if amount.is_zero() {
        "must be greater than zero".to_owned()
    } else if amount.minor_units() > MAX_MINOR_UNITS {
        // `Money::from_minor_units` does not check the limit; past it the amount cannot be read
        // back exactly (the QR check would refuse the answer after BOS made the code).
        format!("is too large (at most {MAX_MINOR_UNITS} paise)")
    } else {
        return Ok(amount.to_shortest_string());
    };
    Err(Error::invalid_input("amount", reason))
}

/// The merchant registration id, sent as `RegistrationID`: printable ASCII without spaces.
pub(crate) fn check_registration_id(id: &str) -> Result<()> {
    let max = refund_core::MAX_ID_LEN;
    if id.is_empty() || id.len() > max || !id.bytes().all(|b| b.is_ascii_graphic()) {
        let reason = format!("must be 1 to {max} printable ASCII characters without spaces");
        return Err(Error::invalid_input("registration_id", reason));
    }
    Ok(())
}

/// Validated `referenceid` / `ackno`: digits that fit `u64`, without a leading zero (a JSON number
/// cannot carry one, and dropping it would name a different transfer).
pub(crate) fn parse_number(field: &str, text: &str) -> Result<u64> {
    refund_core::check_digits(field, text, MAX_NUMBER_DIGITS)?;
    if text.len() > 1 && text.starts_with('0') {
        return Err(Error::invalid_input(
            field,
            "must not start with 0: BOS takes it as a JSON number, which cannot carry a leading zero",
        ));
    }
    text.parse::<u64>()
        .map_err(|_| Error::invalid_input(field, "is too large (at most 18446744073709551615)"))
}

/// The OTP as a JSON number. An OTP starting with `0` is refused rather than sent without its zero
/// (`076123` would go out as `76123`, a wrong OTP that burns an attempt): see the crate README.
fn parse_otp(otp: &Otp) -> Result<u64> {
    let digits = otp.expose();
    if digits.starts_with('0') {
        return Err(Error::invalid_input(
            "otp",
            "starts with 0, which BOS cannot receive: it takes the OTP as a JSON number; \
             check the OTP with the customer, or send a new one with send_refund_otp",
        ));
    }
    digits.parse::<u64>().map_err(|_| Error::invalid_input("otp", "must be 4 to 8 digits"))
}

/// The refund envelope. The 200 answer spells the code `response_code`, the 401 answer
/// `responsecode` (PROVIDERS.md): both are read, as two fields so a body with both still parses.
/// `status` is a bool or a string (`"True"`, `"ERROR"`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Envelope {
    pub(crate) status: Text,
    pub(crate) response_code: Text,
    pub(crate) responsecode: Text,
    pub(crate) message: Text,
}

impl Envelope {
    /// The code under either spelling, as text.
    pub(crate) fn code_text(&self) -> Option<&str> {
        self.response_code.0.as_deref().or(self.responsecode.0.as_deref())
    }
    /// The code as a number, if it is one.
    pub(crate) fn code(&self) -> Option<i64> {
        self.code_text().and_then(|c| c.trim().parse().ok())
    }
}

/// The status read: the envelope and the transfer's fields, in one parse. Values may arrive as
/// strings or numbers (PROVIDERS.md): every field is lenient.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StatusWire {
    #[serde(flatten)]
    pub(crate) envelope: Envelope,
    pub(crate) utr: Text,
    pub(crate) amount: Option<AmountText>,
    pub(crate) ackno: Text,
    pub(crate) referenceid: Text,
    pub(crate) account: Text,
    pub(crate) txn_status: Text,
    pub(crate) daterefunded: Text,
    pub(crate) refundtxnid: Text,
    pub(crate) charges: Text,
}

/// The QR answer. The page documents `status`/`subCode`/`message`/`qrCode`/`virtualVPA`, its example
/// returns `id`/`txnRefranceID`/`UPIIntend`/`PaymentAmount`/`status`/`Status`/... : both are read
/// (PROVIDERS.md). `status` (QR state or outcome) and `Status` (outcome) are distinct keys.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct QrWire {
    pub(crate) id: Text,
    #[serde(rename = "txnRefranceID")]
    pub(crate) txn_reference: Text,
    #[serde(rename = "CreatedDateTime")]
    pub(crate) created: Text,
    #[serde(rename = "ExpireDateTime")]
    pub(crate) expires: Text,
    #[serde(rename = "UPIIntend")]
    pub(crate) upi_intend: Text,
    #[serde(rename = "qrCode")]
    pub(crate) qr_code: Text,
    #[serde(rename = "virtualVPA")]
    pub(crate) virtual_vpa: Text,
    #[serde(rename = "PaymentAmount")]
    pub(crate) payment_amount: Option<AmountText>,
    pub(crate) status: Text,
    #[serde(rename = "Status")]
    pub(crate) outcome: Text,
    #[serde(rename = "subCode")]
    pub(crate) sub_code: Text,
    pub(crate) message: Text,
}

/// A JSON string, number or bool as text; `null` and `""` (after trimming) as `None`, as is a
/// field left out (every struct reading it is `#[serde(default)]`).
///
/// A visitor, not a `serde_json::Value` first: every field of every answer comes through here,
/// and the `Value` cost two allocations per field (the value, then its trimmed copy).
#[derive(Debug, Default)]
pub(crate) struct Text(pub(crate) Option<String>);

impl Text {
    /// A status read as a flag: `Some(true)` for `true`/`"True"`/`"success"`, `Some(false)` for
    /// `false`/`"False"`/`"ERROR"`/`"FAILED"`, `None` when absent or unrecognised.
    pub(crate) fn flag(&self) -> Option<bool> {
        const TRUE: [&str; 4] = ["true", "success", "successful", "1"];
        const FALSE: [&str; 6] = ["false", "error", "failed", "failure", "fail", "0"];
        // Compared without case, in place: lower-casing a copy cost an allocation per answer.
        let status = self.0.as_deref()?.trim();
        if TRUE.iter().any(|t| t.eq_ignore_ascii_case(status)) {
            Some(true)
        } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(status)) {
            Some(false)
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl<'de> de::Visitor<'de> for TextVisitor {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or bool")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let trimmed = v.trim();
        Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // As `serde_json::Value` renders a float (`2.5`, `1.0`, `1e300`).
        Ok(Some(serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom("expected a string, number or bool, found an array"))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom("expected a string, number or bool, found an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reading `Text` replaced: through a `serde_json::Value`.
    fn text_by_value(json: &str) -> Result<Option<String>, String> {
        match serde_json::from_str::<serde_json::Value>(json).map_err(|e| e.to_string())? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Array(_) => Err("an array".into()),
            serde_json::Value::Object(_) => Err("an object".into()),
            value => {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                let trimmed = text.trim();
                Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
            }
        }
    }

    #[test]
    fn text_reads_as_the_value_reading_did() {
        #[derive(Deserialize)]
        struct One {
            v: Text,
        }
        for json in [
            r#""a""#,
            r#"" a ""#,
            r#""""#,
            r#""  ""#,
            r#""\u0020x\t""#,
            r#""é""#,
            "0",
            "-7",
            "18446744073709551615",
            "2.5",
            "1.0",
            "1e300",
            "-0.0",
            "true",
            "false",
            "null",
            "[]",
            "[1]",
            "{}",
            r#"{"a":1}"#,
        ] {
            let new = serde_json::from_str::<One>(&format!(r#"{{"v":{json}}}"#))
                .map(|o| o.v.0)
                .map_err(|e| e.to_string());
            match text_by_value(json) {
                Ok(old) => assert_eq!(new, Ok(old), "{json}"),
                Err(kind) => assert!(new.unwrap_err().contains(&format!("found {kind}")), "{json}"),
            }
        }
    }

    #[test]
    fn status_flag_ignores_case_and_padding() {
        for (text, flag) in [
            ("True", Some(true)),
            (" SUCCESS ", Some(true)),
            ("Successful", Some(true)),
            ("1", Some(true)),
            ("ERROR", Some(false)),
            ("Fail", Some(false)),
            ("0", Some(false)),
            ("truthy", None),
            ("", None),
        ] {
            assert_eq!(Text(Some(text.to_owned())).flag(), flag, "{text:?}");
        }
        assert_eq!(Text(None).flag(), None);
    }

    #[test]
    fn envelope_reads_both_spellings_and_status_kinds() {
        for (json, code, flag) in [
            (
                r#"{"status": true, "response_code": 1, "message": "Transaction Successfully Refunded"}"#,
                Some(1),
                Some(true),
            ),
            (
                r#"{"status": false, "responsecode": 9, "message": "Authentication failed."}"#,
                Some(9),
                Some(false),
            ),
            (r#"{"status": "True", "response_code": "1"}"#, Some(1), Some(true)),
            (r#"{"status": "ERROR", "response_code": 4, "responsecode": 4}"#, Some(4), Some(false)),
            ("{}", None, None),
        ] {
            let envelope: Envelope = serde_json::from_str(json).unwrap();
            assert_eq!((envelope.code(), envelope.status.flag()), (code, flag), "{json}");
        }
    }

    #[test]
    fn request_bodies_use_json_numbers() {
        for (referenceid, ackno, otp) in
            [(12_345_678_931, 133, 576_719), (0, 1, 1000), (u64::MAX, 10, 99_999_999)]
        {
            let body = RefundBody { referenceid, ackno: Some(ackno), otp: Some(otp) };
            assert_eq!(
                serde_json::to_string(&body).unwrap(),
                format!(r#"{{"referenceid":{referenceid},"ackno":{ackno},"otp":{otp}}}"#)
            );
        }
        let qr = DynamicQrBody { registration_id: "BOS-554", amount: "10" };
        assert_eq!(
            serde_json::to_string(&qr).unwrap(),
            r#"{"RegistrationID":"BOS-554","amount":"10"}"#
        );
    }

    #[test]
    fn numbers_are_validated() {
        assert_eq!(parse_number("referenceid", "12345678931").unwrap(), 12_345_678_931);
        assert_eq!(parse_number("ackno", "0").unwrap(), 0);
        for bad in ["", "12a", "-1", "0133", "99999999999999999999", "1 2"] {
            assert_eq!(parse_number("ackno", bad).unwrap_err().field(), Some("ackno"), "{bad}");
        }
        assert_eq!(parse_number("referenceid", "18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn leading_zero_otp_is_refused() {
        let err = parse_otp(&Otp::new("076123").unwrap()).unwrap_err();
        assert_eq!(err.field(), Some("otp"));
        assert!(!err.to_string().contains("076123"));
        assert_eq!(parse_otp(&Otp::new("576719").unwrap()).unwrap(), 576_719);
    }

    #[test]
    fn status_fields_are_lenient() {
        let w: StatusWire = serde_json::from_str(
            r#"{"utr": 123, "amount": "500.00", "ackno": "133", "referenceid": 12345678931,
                "txn_status": 4, "refundtxnid": "", "charges": 0, "daterefunded": null}"#,
        )
        .unwrap();
        assert_eq!(w.utr.0.as_deref(), Some("123"));
        assert_eq!(w.ackno.0.as_deref(), Some("133"));
        assert_eq!(w.referenceid.0.as_deref(), Some("12345678931"));
        assert_eq!(w.txn_status.0.as_deref(), Some("4"));
        assert_eq!(w.refundtxnid.0, None);
        assert_eq!(w.daterefunded.0, None);
        assert_eq!(w.amount.map(|a| a.as_str().to_owned()).as_deref(), Some("500.00"));
        let w: StatusWire = serde_json::from_str(r#"{"amount": 500}"#).unwrap();
        assert_eq!(w.amount.map(|a| a.as_str().to_owned()).as_deref(), Some("500"));
        assert!(serde_json::from_str::<StatusWire>(r#"{"utr": [1]}"#).is_err());
    }

    #[test]
    fn qr_example_parses_with_both_status_keys() {
        let w: QrWire =
            serde_json::from_str(include_str!("../tests/fixtures/qr_example.json")).unwrap();
        assert_eq!(w.status.0.as_deref(), Some("active"));
        assert_eq!(w.outcome.0.as_deref(), Some("True"));
        assert_eq!(w.txn_reference.0.as_deref(), Some("BOS554V221201"));
        assert_eq!(w.payment_amount.map(|a| a.as_str().to_owned()).as_deref(), Some("10"));
    }
}
