//! Eko's `secret-key`: base64(HMAC-SHA256(key = base64(access key) as text, message = the
//! timestamp in milliseconds as text)), computed independently of `refund-otp`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Standard base64 with padding (how Eko encodes the key and the signature).
pub fn base64(data: impl AsRef<[u8]>) -> String {
    STANDARD.encode(data)
}

/// The `secret-key` header for `access_key` at `timestamp_ms`.
pub fn signature(access_key: &str, timestamp_ms: &str) -> String {
    EkoSigner::new(access_key).sign(timestamp_ms)
}

/// A signer keyed once, for tests that sign many timestamps with one key.
#[derive(Clone)]
pub struct EkoSigner(Hmac<Sha256>);

impl EkoSigner {
    /// The signer Eko's client builds from `access_key`.
    pub fn new(access_key: &str) -> EkoSigner {
        let key = base64(access_key);
        EkoSigner(Hmac::new_from_slice(key.as_bytes()).expect("HMAC takes a key of any length"))
    }

    /// The `secret-key` value for `timestamp_ms`.
    pub fn sign(&self, timestamp_ms: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(timestamp_ms.as_bytes());
        base64(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for EkoSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EkoSigner").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_known_answers() {
        assert_eq!(
            signature("test-access-key-123", "1700000000000"),
            "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="
        );
        assert_eq!(
            EkoSigner::new("TEST_ACCESS_KEY_DO_NOT_USE").sign("1700000000000"),
            "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
