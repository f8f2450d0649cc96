//! Eko's request signature: `secret-key = base64(HMAC-SHA256(key = base64(access_key) as ASCII
//! text, message = timestamp in ms as decimal text))` (PROVIDERS.md, "OTP refund"), and the clock
//! behind the timestamp.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use refund_core::http::{HeaderName, HeaderValue};
use refund_core::{
    Clock, Error, ExposeSecret, PreparedRequest, RawResponse, Result, SecretString, header_value,
};
use sha2::Sha256;

/// A `403` whose `Date` header is further than this from our clock is taken as clock skew: the
/// offset is corrected and the call repeated once.
pub const CLOCK_SKEW_TOLERANCE: Duration = Duration::from_secs(30);

const DEVELOPER_KEY: HeaderName = HeaderName::from_static("developer_key");
const SECRET_KEY: HeaderName = HeaderName::from_static("secret-key");
const SECRET_KEY_TIMESTAMP: HeaderName = HeaderName::from_static("secret-key-timestamp");

/// Signs requests: `developer_key`, `secret-key` and `secret-key-timestamp`, by our clock
/// corrected by what a 403's `Date` taught us.
pub(crate) struct Signer {
    /// The keyed HMAC state, derived once from the access key when the client is built and
    /// cloned for each signature, so no request re-encodes the key.
    mac: Hmac<Sha256>,
    /// The `developer_key` header, validated and marked sensitive once, at build.
    developer_key: HeaderValue,
    clock: Arc<dyn Clock>,
    /// Milliseconds added to our clock for `secret-key-timestamp`.
    offset_ms: AtomicI64,
}

fn unix_ms(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Signer {
    /// Keys the HMAC with the ASCII text of `base64(access_key)`; checks the developer key is
    /// sendable, so a bad one fails at build time, not on the first call.
    pub(crate) fn new(
        developer_key: &SecretString,
        access_key: &SecretString,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let developer_key = header_value("developer_key", developer_key.expose_secret(), true)?;
        // Held as a secret so the encoded key is zeroized when dropped.
        let key = SecretString::from(STANDARD.encode(access_key.expose_secret().as_bytes()));
        let mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        Ok(Signer { mac, developer_key, clock, offset_ms: AtomicI64::new(0) })
    }

    /// The correction applied to our clock, in milliseconds.
    pub(crate) fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Adds the three headers, signed now. The signature is over the timestamp header's own
    /// text, so the two cannot differ.
    pub(crate) fn sign(&self, request: PreparedRequest) -> Result<PreparedRequest> {
        let timestamp =
            HeaderValue::from(unix_ms(self.clock.now()).saturating_add(self.offset_ms()));
        let signature = self.signature(timestamp.as_bytes())?;
        Ok(request
            .header_value(DEVELOPER_KEY, self.developer_key.clone())
            .header_value(SECRET_KEY, signature)
            .header_value(SECRET_KEY_TIMESTAMP, timestamp))
    }

    /// The `secret-key` header value for `timestamp`, marked sensitive. The encoded text becomes
    /// the header's bytes, not copied: the header is the one place the signature is kept.
    fn signature(&self, timestamp: &[u8]) -> Result<HeaderValue> {
        let mut mac = self.mac.clone();
        mac.update(timestamp);
        let mut value = HeaderValue::try_from(STANDARD.encode(mac.finalize().into_bytes()))
            .map_err(|_| Error::config("the signature is not a valid header value"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Whether `raw` is a 403 whose `Date` is further than [`CLOCK_SKEW_TOLERANCE`] from our
    /// clock; if so, the offset is corrected.
    pub(crate) fn corrected_skew(&self, raw: &RawResponse) -> bool {
        let date = raw.headers().get(refund_core::http::header::DATE).and_then(|v| v.to_str().ok());
        let server = date.and_then(refund_core::parse_http_date).filter(|_| raw.status() == 403);
        let Some(server_ms) = server.map(unix_ms) else {
            return false;
        };
        let local_ms = unix_ms(self.clock.now());
        let skew = server_ms.saturating_sub(local_ms.saturating_add(self.offset_ms()));
        if u128::from(skew.unsigned_abs()) <= CLOCK_SKEW_TOLERANCE.as_millis() {
            return false;
        }
        let offset = server_ms.saturating_sub(local_ms);
        self.offset_ms.store(offset, Ordering::Relaxed);
        tracing::warn!(
            offset_ms = offset,
            "Eko refused the signature timestamp and its clock differs from ours; corrected the offset and repeating once"
        );
        true
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer(HMAC-SHA256, ***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(access_key: &str) -> Signer {
        let clock = Arc::new(refund_core::SystemClock);
        Signer::new(&SecretString::from("dev"), &SecretString::from(access_key), clock).unwrap()
    }

    fn sign(signer: &Signer, ts: &str) -> String {
        signer.signature(ts.as_bytes()).unwrap().to_str().unwrap().to_owned()
    }

    #[test]
    fn published_known_answers() {
        assert_eq!(
            sign(&signer("TEST_ACCESS_KEY_DO_NOT_USE"), "1700000000000"),
            "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="
        );
        // One signer signs many timestamps: the keyed state is not consumed by signing.
        let signer = signer("test-access-key-123");
        let known = "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo=";
        assert_eq!(sign(&signer, "1700000000000"), known);
        assert_ne!(sign(&signer, "1700000000001"), known);
        assert_eq!(sign(&signer, "1700000000000"), known);
        assert_eq!(format!("{signer:?}"), "Signer(HMAC-SHA256, ***)");
    }
}
