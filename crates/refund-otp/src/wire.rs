//! Eko's JSON exactly as it is spelled on the wire. Numbers may arrive as strings and vice versa
//! (PROVIDERS.md, "OTP refund"), so every scalar here is read leniently; amounts keep their text.

use std::borrow::Cow;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Body of `POST /customer/payment/refund/{tid}/otp`.
#[derive(Debug, Serialize)]
pub(crate) struct SendOtpBody<'a> {
    pub(crate) initiator_id: &'a str,
}

/// Body of `POST /customer/payment/refund/{tid}`. `otp` and `service_code` are JSON integers,
/// `state` the string `"1"`, as documented.
// No Debug: it holds a secret (the OTP or the registration id); the dry run masks it.
#[derive(Serialize)]
pub(crate) struct RefundBody<'a> {
    pub(crate) initiator_id: &'a str,
    pub(crate) user_code: &'a str,
    pub(crate) otp: u64,
    pub(crate) otp_ref_id: &'a str,
    pub(crate) service_code: u32,
    pub(crate) state: &'static str,
}

/// Every answer: `{"status", "message", "response_status_id", "response_type_id", "data"}`
/// (`response_type_id` is not needed to decide anything and is left to `raw`), read in one pass.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct Answer<'a> {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) status: Option<i64>,
    /// A string or a number; anything else is ignored ([`Answer::message`]).
    pub(crate) message: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) response_status_id: Option<i64>,
    /// Error answers send `{}`, `[]`, `""` or nothing: anything but an object is absent.
    #[serde(default, deserialize_with = "refund_core::object_or_none")]
    pub(crate) data: Option<Data<'a>>,
}

impl Answer<'_> {
    /// Eko's `message` as text.
    pub(crate) fn message(&self) -> Option<String> {
        self.message.and_then(|m| json_text(m).ok()).map(Cow::into_owned)
    }
}

/// `data` of any of the three answers, each value borrowed as its JSON text (no allocation per
/// field: docs/performance.md, "Fifth pass") and read by [`json_text`] when the decoder needs it.
/// `balance` comes in exponent form (`"2.22263731286E9"`), which stays verbatim.
#[derive(Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
pub(crate) struct Data<'a> {
    pub(crate) otp_ref_id: Option<&'a RawValue>,
    pub(crate) refund_tid: Option<&'a RawValue>,
    pub(crate) tid: Option<&'a RawValue>,
    pub(crate) amount: Option<&'a RawValue>,
    pub(crate) refunded_amount: Option<&'a RawValue>,
    pub(crate) fee: Option<&'a RawValue>,
    pub(crate) tds: Option<&'a RawValue>,
    pub(crate) commission_reverse: Option<&'a RawValue>,
    pub(crate) currency: Option<&'a RawValue>,
    pub(crate) balance: Option<&'a RawValue>,
    pub(crate) timestamp: Option<&'a RawValue>,
    pub(crate) tx_status: Option<&'a RawValue>,
    pub(crate) txstatus_desc: Option<&'a RawValue>,
}

/// The text of a JSON scalar sent as a string or a number: a string's content (borrowed unless
/// it had escapes), a number's exact text (`5000.00` stays `5000.00`). `Err` names what it was
/// instead (an object, an array, a boolean), for the caller's error.
pub(crate) fn json_text(raw: &RawValue) -> Result<Cow<'_, str>, String> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => match text.get(1..text.len() - 1) {
            Some(inner) if !inner.contains('\\') => Ok(Cow::Borrowed(inner)),
            _ => serde_json::from_str::<String>(text).map(Cow::Owned).map_err(|e| e.to_string()),
        },
        Some(b'-' | b'0'..=b'9') => Ok(Cow::Borrowed(text)),
        // The kind only, never the value: an object here could carry anything, an OTP included,
        // and this text goes into an error.
        Some(b'{') => Err("expected a string or a number, got an object".to_owned()),
        Some(b'[') => Err("expected a string or a number, got an array".to_owned()),
        _ => Err("expected a string or a number, got a boolean".to_owned()),
    }
}

/// An integer sent as a number or as text (`0`, `"2133"`, `" 1 "`); `null` and blank text are
/// absent; anything else (`1.5`, `"x"`, `true`) makes the answer unreadable.
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let Some(raw) = Option::<&'de RawValue>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match json_text(raw).map_err(de::Error::custom)?.trim() {
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| de::Error::custom(format!("not an integer: {t:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes sent, pinned: the documented JSON types, and escapes as serde_json writes them.
    #[test]
    fn refund_body_has_the_documented_json_types() {
        let cases = [
            (
                ("9962981729", "20810200", 80, 576_719, "ref-1"),
                r#"{"initiator_id":"9962981729","user_code":"20810200","otp":576719,"otp_ref_id":"ref-1","service_code":80,"state":"1"}"#,
            ),
            (
                ("1", "a\"b\\c", 7, 1234, "x\"y"),
                r#"{"initiator_id":"1","user_code":"a\"b\\c","otp":1234,"otp_ref_id":"x\"y","service_code":7,"state":"1"}"#,
            ),
            (
                ("99", "user", 4_000_000_000, 99_999_999, "\\"),
                r#"{"initiator_id":"99","user_code":"user","otp":99999999,"otp_ref_id":"\\","service_code":4000000000,"state":"1"}"#,
            ),
            (
                ("99", "é \n", 0, 12_345_678, "sp ace\u{7f}"),
                "{\"initiator_id\":\"99\",\"user_code\":\"é \\n\",\"otp\":12345678,\"otp_ref_id\":\"sp ace\u{7f}\",\"service_code\":0,\"state\":\"1\"}",
            ),
        ];
        for ((initiator_id, user_code, service_code, otp, otp_ref_id), want) in cases {
            let body =
                RefundBody { initiator_id, user_code, otp, otp_ref_id, service_code, state: "1" };
            let sent = refund_core::PreparedBody::json(&body, &["otp"]).unwrap();
            assert_eq!(sent.bytes().as_ref(), want.as_bytes(), "{otp_ref_id:?}");
        }
    }

    #[test]
    fn envelope_reads_numbers_as_strings() {
        let env: Answer<'_> = serde_json::from_str(
            r#"{"status":"2133","response_status_id":" 1 ","response_type_id":2133,"message":"Send OTP","data":{"otp_ref_id":"abc"}}"#,
        )
        .unwrap();
        assert_eq!(env.status, Some(2133));
        assert_eq!(env.response_status_id, Some(1));
        assert_eq!(text(env.data.and_then(|d| d.otp_ref_id)).as_deref(), Some("abc"));
    }

    #[test]
    fn envelope_tolerates_odd_data() {
        // Every kind of non-object `data`, and none at all.
        let data =
            ["[]", r#""""#, "null", "-1", "1", "1.5", "true"].map(|d| format!(r#","data":{d}"#));
        for rest in data.iter().map(String::as_str).chain([""]) {
            let body = format!(r#"{{"status":302{rest}}}"#);
            let env: Answer<'_> = serde_json::from_str(&body).unwrap();
            assert_eq!(env.status, Some(302));
            assert!(env.data.and_then(|d| d.otp_ref_id).is_none(), "{body}");
        }
        assert!(serde_json::from_str::<Answer<'_>>(r#"{"status":"x"}"#).is_err());
        assert!(serde_json::from_str::<Answer<'_>>(r#"{"status":1.5}"#).is_err());
    }

    fn text(raw: Option<&RawValue>) -> Option<String> {
        raw.map(|r| json_text(r).unwrap().into_owned())
    }

    #[test]
    fn refund_data_keeps_amount_text() {
        let answer: Answer<'_> =
            serde_json::from_str(include_str!("../tests/fixtures/refund_done.json")).unwrap();
        let data = answer.data.unwrap();
        assert_eq!(text(data.refund_tid).as_deref(), Some("2147591637"));
        assert_eq!(text(data.balance).as_deref(), Some("2.22263731286E9"));
        assert_eq!(text(data.refunded_amount).as_deref(), Some("5050.00"));
        let numeric: Data<'_> =
            serde_json::from_str(r#"{"refund_tid":2147591637,"amount":5000.10,"tid":null}"#)
                .unwrap();
        assert_eq!(text(numeric.refund_tid).as_deref(), Some("2147591637"));
        assert_eq!(text(numeric.amount).as_deref(), Some("5000.10"));
        assert!(numeric.tid.is_none() && numeric.fee.is_none());
    }

    #[test]
    fn json_text_reads_strings_and_numbers_only() {
        let read = |json: &str| {
            let raw: &RawValue = serde_json::from_str(json).unwrap();
            json_text(raw).map(Cow::into_owned)
        };
        assert_eq!(read(r#""INR""#).as_deref(), Ok("INR"));
        assert_eq!(read(r#""""#).as_deref(), Ok(""));
        assert_eq!(read(r#""a\"b\u0041""#).as_deref(), Ok("a\"bA"));
        assert_eq!(read("-12.50").as_deref(), Ok("-12.50"));
        assert_eq!(read("2.2E9").as_deref(), Ok("2.2E9"));
        for odd in ["true", "false", "{}", r#"{"a":1}"#, "[1]"] {
            let err = read(odd).unwrap_err();
            assert!(err.contains("expected a string or a number"), "{odd}: {err}");
        }
        // What the value held never reaches the error.
        let err = read(r#"{"otp":"576719"}"#).unwrap_err();
        assert_eq!(err, "expected a string or a number, got an object");
        assert_eq!(
            read(r#"["576719"]"#).unwrap_err(),
            "expected a string or a number, got an array"
        );
    }
}
