//! Validated identifiers, OTPs and base URLs: bad input is a typed error before a byte is sent.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result};

/// Longest identifier the SDK sends.
pub const MAX_ID_LEN: usize = 64;

fn check_id(field: &str, text: &str) -> Result<()> {
    let refuse = |reason: String| Err(Error::invalid_input(field, reason));
    if text.is_empty() {
        return refuse("must not be empty".into());
    }
    if text.len() > MAX_ID_LEN {
        return refuse(format!("must be at most {MAX_ID_LEN} characters"));
    }
    if let Some(bad) = text.chars().find(|c| !c.is_ascii_graphic()) {
        let shown = bad.escape_default().to_string();
        return refuse(format!("must be printable ASCII without spaces; found {shown:?}"));
    }
    // An id is an opaque token. Characters that mean something in a URL or a path (`/`, `\`, `?`,
    // `#`, `%`) and the dot segments are refused wherever the id is sent, so no provider (nor a
    // later change that moves an id into a path or query) can read `../x`, `1/otp`, `1?x=1` or
    // `%2e%2e` as anything but a typo.
    if let Some(bad) = text.chars().find(|c| ['/', '\\', '?', '#', '%'].contains(c)) {
        return refuse(format!("must not contain {bad:?}: it has a meaning in URLs and paths"));
    }
    if matches!(text, "." | "..") {
        return refuse("must not be a dot path segment".into());
    }
    Ok(())
}

/// Checks that `text` is a non-empty run of ASCII digits of at most `max_len` (Eko tids, BOS
/// reference numbers), naming `field` in the error.
///
/// ```
/// assert!(refund_core::check_digits("tid", "13192443", 20).is_ok());
/// assert!(refund_core::check_digits("tid", "1/otp", 20).is_err());
/// ```
pub fn check_digits(field: &str, text: &str, max_len: usize) -> Result<()> {
    if text.is_empty() {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    if text.len() > max_len {
        return Err(Error::invalid_input(field, format!("must be at most {max_len} digits")));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_input(field, "must contain digits only"));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `text`: non-empty, printable ASCII without spaces and without the
            /// URL-significant `/ \ ? # %` (nor exactly `.` or `..`), at most
            #[doc = concat!("[`MAX_ID_LEN`] characters. The error names the field `", $field, "`.")]
            pub fn new(text: impl Into<String>) -> Result<Self> {
                let text = text.into();
                check_id($field, &text)?;
                Ok($name(text))
            }
            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// The provider's id of the original transaction being refunded (AOC `aocTransID`, DigiPay
    /// `initial_txn_id`, Eko `tid`, BOS `referenceid`).
    ///
    /// ```
    /// use refund_core::TransactionId;
    /// assert!(TransactionId::new("AOC-12345").is_ok());
    /// assert!(TransactionId::new("../x").is_err()); // nor `1/otp`, `1?x=1`, `%2e%2e`, `..`
    /// assert!(TransactionId::new("a b").is_err());
    /// ```
    TransactionId,
    "original_transaction_id"
);

id_type!(
    /// Our own reference for one refund (AOC `spTransID`): the idempotency key. Keep it with the
    /// refund: every retry of the same refund must carry the same reference.
    ///
    /// ```
    /// use refund_core::RefundReference;
    /// let a = RefundReference::generate();
    /// let b = RefundReference::generate();
    /// assert_ne!(a, b);
    /// assert!(RefundReference::new("201903192030-test1").is_ok());
    /// ```
    RefundReference,
    "reference"
);

impl RefundReference {
    /// A new unique reference: `rf` + milliseconds since the epoch + a process-unique counter +
    /// random bits, 28 characters of `[0-9a-z]`.
    pub fn generate() -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff;
        RefundReference(format!("rf{millis:013}{count:04x}{:09x}", fastrand::u64(..1 << 36)))
    }
}

/// A customer's one-time password. Never printed: `Debug` shows `Otp(***)`.
///
/// ```
/// use refund_core::Otp;
/// let otp = Otp::new("076123").unwrap();
/// assert_eq!(format!("{otp:?}"), "Otp(***)");
/// assert!(Otp::new("12a4").is_err());
/// ```
#[derive(Clone)]
pub struct Otp(SecretString);

impl Otp {
    /// Validates an OTP: 4 to 8 ASCII digits.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        let ok = (4..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        if !ok {
            return Err(Error::invalid_input("otp", "must be 4 to 8 digits"));
        }
        Ok(Otp(SecretString::from(text)))
    }

    /// The digits. Handle with care: never log them.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Otp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Otp(***)")
    }
}

/// Whether a plain-`http` base URL to a non-loopback host is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsecureHttp {
    /// Only `https`, or `http` to a loopback address (a local sandbox or mock). The default.
    #[default]
    LoopbackOnly,
    /// Also `http` to any host: for a private network the caller vouches for.
    Allow,
}

/// Parses and checks a provider base URL, naming the field `base_url` in errors: `http` or `https`
/// only; plain `http` only to loopback unless `insecure` allows it; no credentials, query or
/// fragment. A trailing `/` is removed so paths join cleanly.
///
/// ```
/// use refund_core::{parse_base_url, InsecureHttp};
/// assert!(parse_base_url("https://api.bos.center", InsecureHttp::LoopbackOnly).is_ok());
/// assert!(parse_base_url("http://127.0.0.1:8080/aoc/", InsecureHttp::LoopbackOnly).is_ok());
/// assert!(parse_base_url("http://10.0.0.5", InsecureHttp::LoopbackOnly).is_err());
/// assert!(parse_base_url("ftp://x", InsecureHttp::Allow).is_err());
/// ```
pub fn parse_base_url(text: &str, insecure: InsecureHttp) -> Result<Url> {
    let bad = |reason: &str| {
        let shown: String = text.chars().take(80).collect();
        Error::invalid_input("base_url", format!("{reason} (got {shown:?})"))
    };
    let trimmed = text.trim();
    // URL parsing drops tabs and newlines inside the text (`https://aoc.exa\tmple.com` would
    // become another host without a word): a setting with them is refused instead.
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    let mut url = Url::parse(trimmed).map_err(|e| bad(&format!("is not a valid URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback && insecure == InsecureHttp::LoopbackOnly {
                return Err(bad(
                    "must use https (plain http is only allowed to localhost unless explicitly enabled)",
                ));
            }
        }
        _ => return Err(bad("must be an http or https URL")),
    }
    // URL parsing also forgives `https:///path` (host `path`) and `https:\\x`: ask for the plain
    // `scheme://host` form so the host in use is the host written.
    let written_host = trimmed
        .get(url.scheme().len()..)
        .and_then(|rest| rest.strip_prefix("://"))
        .is_some_and(|rest| !rest.starts_with(['/', '\\']));
    if url.host().is_none() || !written_host {
        return Err(bad("must have a host, written as scheme://host[:port][/path]"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// Appends path segments to a base URL, percent-encoding each one, so an id like `../x`, `1/otp`
/// or `1?x=1` can never change the path or add a query. A segment that is exactly `.` or `..` (which
/// URLs resolve even when percent-encoded) or empty is refused as invalid input.
///
/// ```
/// let base = url::Url::parse("https://x.example/v3").unwrap();
/// let url = refund_core::join_path(&base, &["refund", "1/otp?x=1"]).unwrap();
/// assert_eq!(url.as_str(), "https://x.example/v3/refund/1%2Fotp%3Fx=1");
/// assert!(refund_core::join_path(&base, &[".."]).is_err());
/// ```
pub fn join_path(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::invalid_input("base_url", "cannot have path segments"))?;
        path.pop_if_empty();
        for segment in segments {
            if matches!(*segment, "" | "." | "..") {
                return Err(Error::invalid_input(
                    "path",
                    format!("{segment:?} is not allowed as a path segment"),
                ));
            }
            path.push(segment);
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_bad_text() {
        for bad in [
            "",
            " ",
            "a b",
            "a\nb",
            "é",
            &"x".repeat(65),
            "../x",
            "..",
            ".",
            "1/otp",
            "1?x=1",
            "1#x",
            "%2e%2e",
            "a\\b",
        ] {
            let err = TransactionId::new(bad).unwrap_err();
            assert_eq!(err.field(), Some("original_transaction_id"), "{bad:?}");
        }
        assert_eq!(RefundReference::new("").unwrap_err().field(), Some("reference"));
    }

    #[test]
    fn generated_references_are_valid_and_unique() {
        let refs: std::collections::HashSet<_> =
            (0..10_000).map(|_| RefundReference::generate()).collect();
        assert_eq!(refs.len(), 10_000);
        for r in refs.iter().take(10) {
            assert!(RefundReference::new(r.as_str()).is_ok());
            assert_eq!(r.as_str().len(), 28);
        }
    }

    #[test]
    fn path_segments_cannot_escape() {
        let base = Url::parse("https://x.example/v3").unwrap();
        let join = |segs: &[&str]| join_path(&base, segs).map(|u| u.to_string());
        for bad in [".", "..", ""] {
            assert_eq!(join(&[bad]).unwrap_err().field(), Some("path"));
        }
        assert_eq!(join(&["../x"]).unwrap(), "https://x.example/v3/..%2Fx");
        assert_eq!(join(&["a#b"]).unwrap(), "https://x.example/v3/a%23b");
        assert_eq!(join(&["1?x=1"]).unwrap(), "https://x.example/v3/1%3Fx=1");
        let root = Url::parse("https://x.example").unwrap();
        assert_eq!(
            join_path(&root, &["api", "refund"]).unwrap().as_str(),
            "https://x.example/api/refund"
        );
    }

    #[test]
    fn base_urls() {
        let ok = |t: &str| parse_base_url(t, InsecureHttp::LoopbackOnly).map(|u| u.to_string());
        assert_eq!(ok("https://x.example/aoc/").unwrap(), "https://x.example/aoc");
        assert!(ok("http://localhost:1/").is_ok());
        assert!(ok("http://[::1]:1/").is_ok());
        for bad in [
            "",
            "x",
            "ftp://x",
            "http://example.com",
            "https://u:p@x.example",
            "https://x.example?a=1",
            "file:///etc",
            "https:///path",
            "https:\\\\x.example",
            "https:x.example",
            "https://aoc.exa\tmple.com",
            "https://aoc.example.com\n/api",
        ] {
            assert_eq!(ok(bad).unwrap_err().field(), Some("base_url"), "{bad}");
        }
        assert!(parse_base_url("http://10.1.2.3", InsecureHttp::Allow).is_ok());
    }
}
