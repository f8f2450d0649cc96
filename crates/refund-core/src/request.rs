//! A request built, signed and ready to send, which can also be shown without being sent
//! (dry run): every secret renders as `***`.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use serde::Serialize;
use url::Url;

use crate::error::{Error, Result};

/// What a masked secret renders as, everywhere.
pub const MASK: &str = "***";

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// The body of a [`PreparedRequest`]: the exact bytes to send and a rendering with secrets masked.
///
/// The masked rendering is made on first use ([`PreparedBody::redacted`], `Debug`, a dry run),
/// never on the send path: a request that is only sent pays for its bytes alone.
#[derive(Clone)]
pub struct PreparedBody {
    content_type: &'static str,
    bytes: Bytes,
    /// The names whose values are masked: the provider's constant list, never copied per request.
    secret_fields: &'static [&'static str],
    redacted: OnceLock<String>,
}

impl PreparedBody {
    /// A JSON body. `secret_fields` names the object keys (at any depth) whose values are secret;
    /// they render as `"***"` in [`PreparedBody::redacted`].
    ///
    /// ```
    /// use refund_core::PreparedBody;
    /// let body = PreparedBody::json(&serde_json::json!({"tid": "1", "otp": 1234}), &["otp"]).unwrap();
    /// assert_eq!(body.redacted(), r#"{"otp":"***","tid":"1"}"#);
    /// assert_eq!(body.bytes().as_ref(), br#"{"otp":1234,"tid":"1"}"#);
    /// ```
    pub fn json<T: Serialize + ?Sized>(
        value: &T,
        secret_fields: &'static [&'static str],
    ) -> Result<Self> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::config_from("request body could not be encoded as JSON", e))?;
        Ok(PreparedBody::new(JSON, bytes.into(), secret_fields))
    }

    fn new(
        content_type: &'static str,
        bytes: Bytes,
        secret_fields: &'static [&'static str],
    ) -> Self {
        PreparedBody { content_type, bytes, secret_fields, redacted: OnceLock::new() }
    }

    /// An `application/x-www-form-urlencoded` body from ordered fields. `secret_fields` render as
    /// `***` in [`PreparedBody::redacted`].
    ///
    /// ```
    /// use refund_core::PreparedBody;
    /// let body = PreparedBody::form(&[("apiKey", "k&1"), ("amount", "1.00")], &["apiKey"]);
    /// assert_eq!(body.bytes().as_ref(), b"apiKey=k%261&amount=1.00");
    /// assert_eq!(body.redacted(), "apiKey=***&amount=1.00");
    /// ```
    pub fn form(fields: &[(&str, &str)], secret_fields: &'static [&'static str]) -> Self {
        // Sized once and written directly: the common value (digits, ids, an amount) needs no
        // escaping and is copied as it is; the rest goes through the standard serializer's rules.
        // Exact when nothing needs escaping, so the `String` becomes `Bytes` without a reallocation.
        let capacity =
            fields.iter().map(|(n, v)| n.len() + v.len() + 2).sum::<usize>().saturating_sub(1);
        let mut real = String::with_capacity(capacity);
        for (name, value) in fields {
            if !real.is_empty() {
                real.push('&');
            }
            push_form_encoded(&mut real, name);
            real.push('=');
            push_form_encoded(&mut real, value);
        }
        PreparedBody::new(FORM, real.into(), secret_fields)
    }

    /// Renders a form body with the secret fields' values as `***`, from the encoded bytes
    /// (decoding and re-encoding a pair the serializer wrote gives back the same text; `*` needs
    /// no escaping, so the mask reads as `***`).
    fn redact_form(&self) -> String {
        let mut redacted = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in url::form_urlencoded::parse(&self.bytes) {
            let secret = self.secret_fields.iter().any(|s| **s == *name);
            redacted.append_pair(&name, if secret { MASK } else { &value });
        }
        redacted.finish()
    }

    /// The `Content-Type` of the body.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The exact bytes that go on the wire. Contains secrets: never log these.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The body with every secret masked, safe to print (rendered on first use).
    pub fn redacted(&self) -> &str {
        self.redacted.get_or_init(|| match self.content_type {
            FORM => self.redact_form(),
            _ => redact_json_text(&self.bytes, self.secret_fields),
        })
    }
}

impl fmt::Debug for PreparedBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedBody")
            .field("content_type", &self.content_type)
            .field("body", &self.redacted())
            .finish()
    }
}

/// A provider's header name. One in lower case, digits, `-` and `_` (every name the providers
/// use) is valid as it is and taken without a copy: parsing a name that is not a standard one
/// (`secret-key`) allocated it again on every request. Any other is parsed, and refused when it
/// is not a header name.
fn static_header_name(name: &'static str) -> Result<HeaderName> {
    let plain = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_';
    if !name.is_empty() && name.as_bytes().iter().all(plain) {
        return Ok(HeaderName::from_static(name));
    }
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| Error::config(format!("{name:?} is not a valid header name")))
}

/// `text` as a header value, marked `sensitive` (masked in every rendering, and for HTTP/2 header
/// compression) when it is a secret. Text that cannot be sent in a header is
/// [`Error::InvalidInput`] naming `field`: provider builders check their credentials with it once.
///
/// ```
/// let value = refund_core::header_value("token", "Bearer abc", true)?;
/// assert!(value.is_sensitive());
/// let err = refund_core::header_value("token", "a\nb", true).unwrap_err();
/// assert_eq!(err.kind(), "invalid_input");
/// # Ok::<(), refund_core::Error>(())
/// ```
pub fn header_value(field: &'static str, text: &str, sensitive: bool) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(text).map_err(|_| {
        Error::invalid_input(field, "contains characters that cannot be sent in an HTTP header")
    })?;
    value.set_sensitive(sensitive);
    Ok(value)
}

/// Appends `text` encoded as `application/x-www-form-urlencoded` does it (the WHATWG rules of
/// `url::form_urlencoded::byte_serialize`: `*-._` and alphanumerics as they are, space as `+`,
/// every other byte percent-encoded), with a fast path for text that needs no escaping.
fn push_form_encoded(out: &mut String, text: &str) {
    // A table, not a chain of comparisons per byte: this runs over every byte of every form body.
    const PLAIN: [bool; 256] = {
        let mut table = [false; 256];
        let mut c: u8 = 0;
        loop {
            table[c as usize] = c.is_ascii_alphanumeric() || matches!(c, b'*' | b'-' | b'.' | b'_');
            if c == u8::MAX {
                break table;
            }
            c += 1;
        }
    };
    if text.bytes().all(|b| PLAIN[usize::from(b)]) {
        out.push_str(text);
    } else {
        out.extend(url::form_urlencoded::byte_serialize(text.as_bytes()));
    }
}

/// Re-renders a JSON text with the values of `secret_fields` (object keys, at any depth) replaced by
/// `"***"`. Text that is not JSON renders as a placeholder rather than leaking.
///
/// ```
/// assert_eq!(refund_core::redact_json_text(br#"{"a":{"token":"t"}}"#, &["token"]), r#"{"a":{"token":"***"}}"#);
/// ```
pub fn redact_json_text(bytes: &[u8], secret_fields: &[&str]) -> String {
    match redact_json(bytes, secret_fields) {
        Some(value) => value.to_string(),
        None => format!("<{} bytes, not JSON>", bytes.len()),
    }
}

/// Parses a JSON text once and replaces the values of `secret_fields` (object keys, at any depth)
/// with `"***"`; `None` when the text is not JSON. For a record's `raw` field: one parse, where
/// going through [`redact_json_text`] and parsing its output would take three.
///
/// ```
/// let value = refund_core::redact_json(br#"{"a":{"token":"t"},"n":1}"#, &["token"]).unwrap();
/// assert_eq!(value, serde_json::json!({"a": {"token": "***"}, "n": 1}));
/// assert!(refund_core::redact_json(b"<html>", &["token"]).is_none());
/// ```
pub fn redact_json(bytes: &[u8], secret_fields: &[&str]) -> Option<serde_json::Value> {
    fn walk(value: &mut serde_json::Value, secret_fields: &[&str]) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if secret_fields.contains(&key.as_str()) {
                        *v = serde_json::Value::String(MASK.to_owned());
                    } else {
                        walk(v, secret_fields);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(|v| walk(v, secret_fields))
            }
            _ => {}
        }
    }
    let mut value = serde_json::from_slice::<serde_json::Value>(bytes).ok()?;
    if !secret_fields.is_empty() {
        walk(&mut value, secret_fields);
    }
    Some(value)
}

/// A request ready for the wire: method, URL, headers (secret ones marked sensitive) and body.
///
/// Providers build one per attempt; [`crate::Transport`] sends it; a dry run prints it with
/// [`PreparedRequest::to_curl`] or [`PreparedRequest::to_redacted_json`], secrets masked.
///
/// ```
/// use refund_core::{PreparedBody, PreparedRequest};
/// let req = PreparedRequest::post("https://aoc.example/api/refund".parse().unwrap())
///     .header("x-api-key", "s3cret", true).unwrap()
///     .body(PreparedBody::form(&[("amount", "1.00")], &[]));
/// let curl = req.to_curl();
/// assert!(curl.contains("x-api-key: ***"));
/// assert!(!curl.contains("s3cret"));
/// ```
#[derive(Clone)]
pub struct PreparedRequest {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<PreparedBody>,
}

impl PreparedRequest {
    /// A request with `method` to `url`, no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        PreparedRequest { method, url, headers: HeaderMap::new(), body: None }
    }

    /// A `POST` to `url`.
    pub fn post(url: Url) -> Self {
        Self::new(Method::POST, url)
    }

    /// A `GET` of `url`.
    pub fn get(url: Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// Adds a header. `sensitive` headers are masked in every rendering and marked sensitive for
    /// HTTP/2 header compression. Invalid header text is a [`Error::InvalidInput`] naming the header.
    pub fn header(mut self, name: &'static str, value: &str, sensitive: bool) -> Result<Self> {
        self.headers.append(static_header_name(name)?, header_value(name, value, sensitive)?);
        Ok(self)
    }

    /// Adds a header already validated: a value built once when the client is built (a static
    /// credential, a fixed id), so the request path skips parsing the name and checking the
    /// value. Mark secret values with [`HeaderValue::set_sensitive`]; they render as `***`.
    ///
    /// ```
    /// use refund_core::PreparedRequest;
    /// use refund_core::http::{HeaderName, HeaderValue};
    /// let mut key = HeaderValue::from_static("s3cret");
    /// key.set_sensitive(true);
    /// let req = PreparedRequest::get("https://x.example/".parse().unwrap())
    ///     .header_value(HeaderName::from_static("developer_key"), key);
    /// assert!(req.to_curl().contains("developer_key: ***"));
    /// ```
    #[must_use]
    pub fn header_value(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body (and its `Content-Type` header).
    #[must_use]
    pub fn body(mut self, body: PreparedBody) -> Self {
        self.headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
        self.body = Some(body);
        self
    }

    /// Method, URL, headers and body bytes, moved out for sending.
    pub(crate) fn into_parts(self) -> (Method, Url, HeaderMap, Option<Bytes>) {
        (self.method, self.url, self.headers, self.body.map(|b| b.bytes))
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
    /// The headers; sensitive ones are marked with [`HeaderValue::is_sensitive`].
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// The body, if any.
    pub fn body_ref(&self) -> Option<&PreparedBody> {
        self.body.as_ref()
    }

    fn shown_headers(&self) -> impl Iterator<Item = (&str, String)> {
        self.headers.iter().map(|(name, value)| {
            let shown = if value.is_sensitive() {
                MASK.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str(), shown)
        })
    }

    /// A `curl` command that would send this request, with every secret masked as `***`.
    pub fn to_curl(&self) -> String {
        let mut out = format!("curl --request {} {}", self.method, shell_quote(self.url.as_str()));
        for (name, value) in self.shown_headers() {
            out.push_str(" \\\n  --header ");
            out.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        if let Some(body) = &self.body {
            out.push_str(" \\\n  --data ");
            out.push_str(&shell_quote(body.redacted()));
        }
        out
    }

    /// `{"method", "url", "headers": {name: value}, "body"}` with every secret masked; the body is
    /// JSON for JSON requests and a string otherwise.
    pub fn to_redacted_json(&self) -> serde_json::Value {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .shown_headers()
            .map(|(n, v)| (n.to_owned(), serde_json::Value::String(v)))
            .collect();
        let body = match &self.body {
            None => serde_json::Value::Null,
            Some(b) if b.content_type == JSON => serde_json::from_str(b.redacted())
                .unwrap_or_else(|_| serde_json::Value::String(b.redacted().to_owned())),
            Some(b) => serde_json::Value::String(b.redacted().to_owned()),
        };
        serde_json::json!({
            "method": self.method.as_str(),
            "url": self.url.as_str(),
            "headers": headers,
            "body": body,
        })
    }
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, String)> = self.shown_headers().collect();
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The fast path writes exactly what the standard serializer writes.
        #[test]
        fn form_encoding_matches_the_standard_serializer(
            fields in proptest::collection::vec(("\\PC{0,12}", "\\PC{0,24}"), 0..5)
        ) {
            let fields: Vec<(&str, &str)> =
                fields.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let mut expected = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in &fields {
                expected.append_pair(name, value);
            }
            let expected = expected.finish();
            let body = PreparedBody::form(&fields, &[]);
            proptest::prop_assert_eq!(body.bytes().as_ref(), expected.as_bytes());
        }
    }

    #[test]
    fn every_rendering_masks_secrets() {
        let req = PreparedRequest::post("https://x.example/api/refund".parse().unwrap())
            .header("authorization", "Token tok-123", true)
            .unwrap()
            .header("companyid", "c-1", false)
            .unwrap()
            .body(
                PreparedBody::json(&serde_json::json!({"otp": 123456, "amount": 79.1}), &["otp"])
                    .unwrap(),
            );
        for shown in [req.to_curl(), req.to_redacted_json().to_string(), format!("{req:?}")] {
            assert!(!shown.contains("tok-123"), "{shown}");
            assert!(!shown.contains("123456"), "{shown}");
            assert!(shown.contains(MASK), "{shown}");
            assert!(shown.contains("c-1"), "{shown}");
        }
        assert_eq!(
            req.to_curl(),
            "curl --request POST 'https://x.example/api/refund' \\\n  --header 'authorization: ***' \\\n  --header 'companyid: c-1' \\\n  --header 'content-type: application/json' \\\n  --data '{\"amount\":79.1,\"otp\":\"***\"}'"
        );
    }

    #[test]
    fn form_masking_survives_encoding() {
        let body = PreparedBody::form(
            &[("apiKey", "a b"), ("username", "u"), ("spTransID", "x'y")],
            &["apiKey"],
        );
        assert_eq!(body.bytes().as_ref(), b"apiKey=a+b&username=u&spTransID=x%27y");
        assert_eq!(body.redacted(), "apiKey=***&username=u&spTransID=x%27y");
    }

    #[test]
    fn invalid_header_is_typed() {
        let req = PreparedRequest::post("https://x.example".parse().unwrap());
        let err = req.header("developer_key", "a\nb", true).unwrap_err();
        assert_eq!(err.field(), Some("developer_key"));
    }

    #[test]
    fn header_names_as_the_providers_write_them() {
        let req = PreparedRequest::get("https://x.example".parse().unwrap())
            .header("secret-key", "sig", true)
            .unwrap()
            .header("CompanyID", "c-1", false)
            .unwrap()
            .header("developer_key", "d", true)
            .unwrap();
        let names: Vec<&str> = req.headers().keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["secret-key", "companyid", "developer_key"]);
        assert!(req.headers()["secret-key"].is_sensitive());
        for bad in ["", "bad name", "x:y", "é"] {
            let err = PreparedRequest::get("https://x.example".parse().unwrap())
                .header(bad, "v", false)
                .unwrap_err();
            assert_eq!(err.kind(), "config", "{bad:?}");
        }
    }

    #[test]
    fn non_json_text_does_not_leak() {
        assert_eq!(redact_json_text(b"otp=1234", &["otp"]), "<8 bytes, not JSON>");
    }
}
