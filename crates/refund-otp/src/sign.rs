//! Eko's request signature: `secret-key = base64(HMAC-SHA256(key = base64(access_key) as ASCII
//! text, message = timestamp in ms as decimal text))` (PROVIDERS.md, "OTP refund").

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use refund_core::http::HeaderValue;
use refund_core::{Error, ExposeSecret, Result, SecretString};
use sha2::Sha256;

/// The keyed HMAC state, derived once from the access key when the client is built and cloned for
/// each signature, so no request re-encodes the key.
#[derive(Clone)]
pub(crate) struct Signer {
    mac: Hmac<Sha256>,
}

impl Signer {
    /// Keys the HMAC with the ASCII text of `base64(access_key)`.
    pub(crate) fn new(access_key: &SecretString) -> Result<Self> {
        // Held as a secret so the encoded key is zeroized when dropped.
        let key = SecretString::from(STANDARD.encode(access_key.expose_secret().as_bytes()));
        let mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes()).map_err(|e| {
            Error::Config {
                message: "the access key could not be used as an HMAC key".into(),
                source: Some(e.to_string().into()),
            }
        })?;
        Ok(Signer { mac })
    }

    /// The `secret-key` for `timestamp` (milliseconds since the epoch, decimal text).
    #[cfg(test)]
    pub(crate) fn sign(&self, timestamp: &str) -> SecretString {
        SecretString::from(self.encoded_signature(timestamp.as_bytes()))
    }

    /// The `secret-key` header value for `timestamp`, marked sensitive. The encoded text becomes
    /// the header's bytes, not copied: the header is the one place the signature is kept.
    pub(crate) fn sign_header(&self, timestamp: &[u8]) -> Result<HeaderValue> {
        let mut value = HeaderValue::try_from(self.encoded_signature(timestamp))
            .map_err(|_| Error::config("the signature is not a valid header value"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn encoded_signature(&self, timestamp: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(timestamp);
        STANDARD.encode(mac.finalize().into_bytes())
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

    fn sign(access_key: &str, ts: &str) -> String {
        Signer::new(&SecretString::from(access_key)).unwrap().sign(ts).expose_secret().to_owned()
    }

    #[test]
    fn published_known_answers() {
        assert_eq!(
            sign("test-access-key-123", "1700000000000"),
            "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="
        );
        assert_eq!(
            sign("TEST_ACCESS_KEY_DO_NOT_USE", "1700000000000"),
            "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="
        );
    }

    #[test]
    fn one_signer_signs_many_timestamps() {
        let signer = Signer::new(&SecretString::from("test-access-key-123")).unwrap();
        let a = signer.sign("1700000000000");
        let b = signer.sign("1700000000001");
        assert_ne!(a.expose_secret(), b.expose_secret());
        // The keyed state is not consumed by signing.
        assert_eq!(
            signer.sign("1700000000000").expose_secret(),
            "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="
        );
        assert_eq!(format!("{signer:?}"), "Signer(HMAC-SHA256, ***)");
    }
}
