//! A provider's answer kept as the bytes that arrived, shown as JSON with its secrets masked.

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess};
use serde::{Serialize, Serializer};

use crate::request::redact_json;

/// The provider's response body behind a record (`RefundRecord::raw` and the provider models'
/// `raw` fields), shown as JSON with the provider's secret fields masked as `"***"`.
///
/// It holds the received bytes (a reference-counted view of the body the transport read into its
/// own buffer, exactly the answer's size, not of the connection's) and parses them only when
/// asked: [`RawJson::to_value`], `Serialize`, `Display` or `Debug`.
/// Most callers never look at the raw answer, and building a masked `serde_json::Value` on every
/// call was the largest single cost the SDK added to a refund (docs/performance.md).
///
/// The unmasked bytes are not reachable through its API: every view goes through the mask.
///
/// ```
/// use refund_core::RawJson;
/// let raw = RawJson::new(&br#"{"data":{"apiKey":"k","errorCode":"00"}}"#[..], &["apiKey"]);
/// assert_eq!(raw.to_value()["data"]["errorCode"], "00");
/// assert_eq!(raw.to_string(), r#"{"data":{"apiKey":"***","errorCode":"00"}}"#);
/// assert_eq!(serde_json::to_value(&raw).unwrap()["data"]["apiKey"], "***");
/// assert!(RawJson::new(&b"<html>"[..], &[]).to_value().is_null());
/// ```
#[derive(Clone, Default)]
pub struct RawJson {
    body: Bytes,
    secret_fields: &'static [&'static str],
}

impl RawJson {
    /// The body as received, with `secret_fields` (object keys, at any depth) masked on every view.
    pub fn new(body: impl Into<Bytes>, secret_fields: &'static [&'static str]) -> Self {
        RawJson { body: body.into(), secret_fields }
    }

    /// From a JSON value (for records built by hand: tests, custom providers). Nothing is masked:
    /// the value is taken to be already free of secrets.
    ///
    /// ```
    /// let raw = refund_core::RawJson::from_value(&serde_json::json!({"id": 7}));
    /// assert_eq!(raw.to_value()["id"], 7);
    /// ```
    pub fn from_value(value: &serde_json::Value) -> Self {
        RawJson::new(value.to_string(), &[])
    }

    /// The answer as JSON, secret fields masked; `Null` when there was no body or it is not JSON
    /// (an HTML error page, say), so that no unparsed text can carry a secret out.
    pub fn to_value(&self) -> serde_json::Value {
        redact_json(&self.body, self.secret_fields).unwrap_or(serde_json::Value::Null)
    }

    /// Whether there is no answer to show (no body, or one that is not JSON).
    pub fn is_null(&self) -> bool {
        self.body.is_empty() || self.to_value().is_null()
    }
}

impl fmt::Display for RawJson {
    /// The masked JSON text (`null` when the body is not JSON).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_value(), f)
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_value(), f)
    }
}

impl PartialEq for RawJson {
    /// Equal when they show the same masked JSON.
    fn eq(&self, other: &Self) -> bool {
        (self.body == other.body && self.secret_fields == other.secret_fields)
            || self.to_value() == other.to_value()
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// A serde `deserialize_with` reader for a field that should be an object: the object read as `T`
/// where it stands, in the one pass over the body, or `None` for any other JSON value (providers
/// send `[]`, `""` or `null` for an empty object). Meant for types whose every field reads any
/// JSON value, so that reading one never fails half-way through an answer.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Reply {
///     #[serde(default, deserialize_with = "refund_core::object_or_none")]
///     data: Option<serde_json::Value>,
/// }
/// let read = |text| serde_json::from_str::<Reply>(text).unwrap().data;
/// assert_eq!(read(r#"{"data": {"a": 1}}"#).unwrap()["a"], 1);
/// assert!(read(r#"{"data": []}"#).is_none() && read(r#"{"data": ""}"#).is_none());
/// ```
pub fn object_or_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOrNone<T>(PhantomData<T>);
    // Any value but an object or array: absent. (serde_json reports `null` as a unit.)
    macro_rules! none {
        ($($visit:ident($($arg:ty)?)),*) => {$(
            fn $visit<E: de::Error>(self $(, _: $arg)?) -> Result<Self::Value, E> {
                Ok(None)
            }
        )*};
    }
    impl<'de, T: Deserialize<'de>> de::Visitor<'de> for ObjectOrNone<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        none!(visit_str(&str), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
        none!(visit_unit());
    }
    deserializer.deserialize_any(ObjectOrNone(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_is_masked() {
        let raw = RawJson::new(
            &br#"{"a":[{"token":"s3cret"}],"otp":"1234","n":1}"#[..],
            &["token", "otp"],
        );
        let views = [
            raw.to_string(),
            format!("{raw:?}"),
            serde_json::to_string(&raw).unwrap(),
            raw.to_value().to_string(),
        ];
        for view in views {
            assert!(!view.contains("s3cret") && !view.contains("1234"), "{view}");
            assert!(view.contains("***"), "{view}");
        }
    }

    #[test]
    fn not_json_shows_as_null_not_as_text() {
        for body in [&b""[..], b"<html>token=s3cret</html>", b"{\"token\":"] {
            let raw = RawJson::new(body, &["token"]);
            assert!(raw.is_null());
            assert_eq!(raw.to_string(), "null");
            assert!(!format!("{raw:?}").contains("s3cret"));
        }
        assert!(RawJson::default().is_null());
        assert!(RawJson::from_value(&serde_json::Value::Null).is_null());
    }

    #[test]
    fn equality_is_of_what_is_shown() {
        let a = RawJson::new(&br#"{"n": 1, "token": "a"}"#[..], &["token"]);
        let b = RawJson::new(&br#"{"token":"b","n":1}"#[..], &["token"]);
        assert_eq!(a, b);
        assert_ne!(a, RawJson::from_value(&serde_json::json!({"n": 2})));
        assert_eq!(RawJson::default(), RawJson::new(&b"not json"[..], &[]));
    }
}
