//! Eko's JSON exactly as it is spelled on the wire. Numbers may arrive as strings and vice versa
//! (PROVIDERS.md, "OTP refund"), so every scalar here is read leniently; amounts keep their text.

use std::borrow::Cow;
use std::fmt;

use refund_core::{AmountText, push_json_string};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Body of `POST /customer/payment/refund/{tid}/otp`.
#[derive(Debug, Serialize)]
pub(crate) struct SendOtpBody<'a> {
    pub(crate) initiator_id: &'a str,
}

/// Body of `POST /customer/payment/refund/{tid}`. `otp` and `service_code` are JSON integers,
/// `state` the string `"1"`, as documented. The definition of the body, kept for the tests: the
/// client sends it through [`RefundBodyTemplate`], which they hold to this serialization byte
/// for byte.
#[cfg(test)]
#[derive(Serialize)]
pub(crate) struct RefundBody<'a> {
    pub(crate) initiator_id: &'a str,
    pub(crate) user_code: &'a str,
    pub(crate) otp: u64,
    pub(crate) otp_ref_id: &'a str,
    pub(crate) service_code: u32,
    pub(crate) state: &'static str,
}

/// The refund body (`RefundBody`, the tests' definition of it) with the client's own fields
/// encoded once, when the client is built: a refund writes only its `otp` and `otp_ref_id`
/// between the two halves, instead of running the JSON serializer over all six fields on every
/// call.
#[derive(Debug)]
pub(crate) struct RefundBodyTemplate {
    /// `{"initiator_id":…,"user_code":…,"otp":`
    head: Vec<u8>,
    /// `,"service_code":…,"state":"1"}`
    tail: Vec<u8>,
}

impl RefundBodyTemplate {
    pub(crate) fn new(initiator_id: &str, user_code: &str, service_code: u32) -> Self {
        let mut head = br#"{"initiator_id":"#.to_vec();
        push_json_string(&mut head, initiator_id);
        head.extend_from_slice(br#","user_code":"#);
        push_json_string(&mut head, user_code);
        head.extend_from_slice(br#","otp":"#);
        let tail = format!(r#","service_code":{service_code},"state":"1"}}"#).into_bytes();
        RefundBodyTemplate { head, tail }
    }

    /// The body for `otp`, given as its digits (the text of a JSON integer: no sign, no leading
    /// zero, which the caller has checked), and `otp_ref_id`.
    ///
    /// Sized up front for an id that needs no escaping (every id Eko sends, and
    /// `check_otp_ref_id` allows only printable ASCII), so the vector does not grow.
    pub(crate) fn render(&self, otp_digits: &str, otp_ref_id: &str) -> Vec<u8> {
        const REF_KEY: &[u8] = br#","otp_ref_id":"#;
        let len = self.head.len()
            + otp_digits.len()
            + REF_KEY.len()
            + otp_ref_id.len()
            + 2
            + self.tail.len();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(otp_digits.as_bytes());
        out.extend_from_slice(REF_KEY);
        push_json_string(&mut out, otp_ref_id);
        out.extend_from_slice(&self.tail);
        out
    }
}

/// Every answer: `{"status", "message", "response_status_id", "response_type_id", "data"}`
/// (`response_type_id` is not needed to decide anything and is left to `raw`), with `data` read
/// as `D`.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "D: Deserialize<'de>"))]
pub(crate) struct Answer<D> {
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) status: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) message: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) response_status_id: Option<i64>,
    #[serde(default)]
    pub(crate) data: Option<D>,
}

/// The two-step reading, for any answer: `data` kept raw (error answers send `{}`, `[]`, `""` or
/// nothing, and amounts inside it must be read from their exact text), read by
/// [`Envelope::data_as`] or [`Envelope::data_strict`], whose errors say which part is wrong.
pub(crate) type Envelope<'a> = Answer<&'a RawValue>;

impl<'a> Envelope<'a> {
    /// `data` read as `T`, or `None` when it is absent, `null` or not of that shape.
    pub(crate) fn data_as<T: Deserialize<'a>>(&self) -> Option<T> {
        self.data.and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// `data` read as `T`, with the reason when it is not of that shape.
    pub(crate) fn data_strict<T: Deserialize<'a>>(&self) -> Result<T, String> {
        let raw = self.data.ok_or_else(|| "the answer has no data object".to_owned())?;
        serde_json::from_str(raw.get()).map_err(|e| format!("unexpected data: {e}"))
    }
}

/// `data` of the get-OTP answer.
#[derive(Debug, Deserialize)]
pub(crate) struct OtpData {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) otp_ref_id: Option<String>,
}

/// `data` of the refund answer: `{"refund_tid", "tid", "amount", "refunded_amount", "fee", "tds",
/// "commission_reverse", "currency", "balance", "timestamp"}`, each value borrowed as its JSON
/// text and read by [`json_text`]. `balance` comes in exponent form (`"2.22263731286E9"`), which
/// stays verbatim.
///
/// Borrowed, and of one type, on purpose: this is read on every refund. Owned fields cost an
/// allocation each (a `String`, or the boxed text of an [`AmountText`]) that the caller mostly
/// never sees, since amounts become [`refund_core::Money`]; borrowing them took Eko to the
/// throughput budget (docs/performance.md, "Fifth pass"). The leniency is unchanged: a string or
/// a number, `null` being absent, anything else refused, naming the field, when it is read.
#[derive(Debug, Deserialize)]
pub(crate) struct RefundData<'a> {
    #[serde(default, borrow)]
    pub(crate) refund_tid: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) tid: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) amount: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) refunded_amount: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) fee: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) tds: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) commission_reverse: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) currency: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) balance: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub(crate) timestamp: Option<&'a RawValue>,
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

/// `data` of the transaction inquiry; `tx_status` arrives as `"4"` as often as `4`.
#[derive(Debug, Deserialize)]
pub(crate) struct TransactionData {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) tid: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) tx_status: Option<i64>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) txstatus_desc: Option<String>,
    #[serde(default)]
    pub(crate) amount: Option<AmountText>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) currency: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(crate) refund_tid: Option<String>,
}

/// An integer sent as a number or as text (`0`, `"2133"`, `" 1 "`); `null` and blank text are
/// absent. Read by a visitor, not through a `serde_json::Value`: it runs on every answer.
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct LenientI64;
    impl<'de> de::Visitor<'de> for LenientI64 {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer, as a number or as text")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom(format!("expected an integer, got {v}")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Err(E::custom(format!("expected an integer, got {}", number_text(v))))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse().map(Some).map_err(|_| E::custom(format!("expected an integer, got {v:?}")))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(LenientI64)
}

/// Text sent as a string or as a number (`"13192443"`, `13192443`); `null` is absent.
fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    struct LenientString;
    impl<'de> de::Visitor<'de> for LenientString {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(number_text(v)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    deserializer.deserialize_any(LenientString)
}

/// A float as `serde_json` writes it (`2222637312.86`), the text `Value::Number` gave before.
fn number_text(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refund_body_has_the_documented_json_types() {
        let body = RefundBody {
            initiator_id: "9962981729",
            user_code: "20810200",
            otp: 576_719,
            otp_ref_id: "ref-1",
            service_code: 80,
            state: "1",
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"initiator_id":"9962981729","user_code":"20810200","otp":576719,"otp_ref_id":"ref-1","service_code":80,"state":"1"}"#
        );
    }

    #[test]
    fn refund_body_template_writes_what_serde_writes() {
        let cases = [
            ("9962981729", "20810200", 80, "576719", "ref-1"),
            ("1", "a\"b\\c", 7, "1234", "x\"y"),
            ("99", "user", 4_000_000_000, "99999999", "\\"),
            ("99", "é \n", 0, "12345678", "sp ace\u{7f}"),
        ];
        for (initiator_id, user_code, service_code, otp, otp_ref_id) in cases {
            let body = RefundBody {
                initiator_id,
                user_code,
                otp: otp.parse().unwrap(),
                otp_ref_id,
                service_code,
                state: "1",
            };
            let rendered = RefundBodyTemplate::new(initiator_id, user_code, service_code)
                .render(otp, otp_ref_id);
            assert_eq!(
                String::from_utf8(rendered).unwrap(),
                serde_json::to_string(&body).unwrap(),
                "{otp_ref_id:?}"
            );
        }
    }

    #[test]
    fn envelope_reads_numbers_as_strings() {
        let env: Envelope<'_> = serde_json::from_str(
            r#"{"status":"2133","response_status_id":" 1 ","response_type_id":2133,"message":"Send OTP","data":{"otp_ref_id":"abc"}}"#,
        )
        .unwrap();
        assert_eq!(env.status, Some(2133));
        assert_eq!(env.response_status_id, Some(1));
        assert_eq!(env.data_as::<OtpData>().and_then(|d| d.otp_ref_id).as_deref(), Some("abc"));
    }

    #[test]
    fn envelope_tolerates_odd_data() {
        for body in [
            r#"{"status":302,"data":[]}"#,
            r#"{"status":302,"data":""}"#,
            r#"{"status":302,"data":null}"#,
            r#"{"status":302}"#,
        ] {
            let env: Envelope<'_> = serde_json::from_str(body).unwrap();
            assert_eq!(env.status, Some(302));
            assert!(env.data_as::<OtpData>().and_then(|d| d.otp_ref_id).is_none(), "{body}");
        }
        assert!(serde_json::from_str::<Envelope<'_>>(r#"{"status":"x"}"#).is_err());
        assert!(serde_json::from_str::<Envelope<'_>>(r#"{"status":1.5}"#).is_err());
    }

    fn text(raw: Option<&RawValue>) -> Option<String> {
        raw.map(|r| json_text(r).unwrap().into_owned())
    }

    #[test]
    fn refund_data_keeps_amount_text() {
        let answer: Answer<RefundData<'_>> =
            serde_json::from_str(include_str!("../tests/fixtures/refund_done.json")).unwrap();
        let data = answer.data.unwrap();
        assert_eq!(text(data.refund_tid).as_deref(), Some("2147591637"));
        assert_eq!(text(data.balance).as_deref(), Some("2.22263731286E9"));
        assert_eq!(text(data.refunded_amount).as_deref(), Some("5050.00"));
        let numeric: RefundData<'_> =
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
