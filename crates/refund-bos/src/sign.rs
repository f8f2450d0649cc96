//! BOS's published client-secret recipe (PROVIDERS.md, BOS, "Authentication").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use refund_core::SecretString;
use sha2::{Digest, Sha256};

/// The client secret BOS derives from a merchant's registration id, for merchants who must hand
/// one over: `secret_key = base64(sha256(registration_id))`, then
/// `client_secret = base64(hmac_sha256(key = secret_key as ASCII text, message = registration_id))`.
///
/// The registration id alone determines the secret, so treat the registration id with the same
/// care (this crate masks it in `Debug` and dry runs).
///
/// ```
/// use refund_core::ExposeSecret;
/// let secret = refund_bos::client_secret("BOS-554");
/// assert_eq!(secret.expose_secret(), "bnixvc/wDjhQCek9gzTX/HiGeBNZEGRK5FreoZlUCT0=");
/// ```
pub fn client_secret(registration_id: &str) -> SecretString {
    let secret_key = STANDARD.encode(Sha256::digest(registration_id.as_bytes()));
    // HMAC accepts keys of any length; the error arm cannot happen.
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes()).map(|mut mac| {
        mac.update(registration_id.as_bytes());
        mac.finalize().into_bytes()
    });
    SecretString::from(mac.map_or_else(|_| String::new(), |bytes| STANDARD.encode(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::ExposeSecret;

    #[test]
    fn published_vector() {
        assert_eq!(
            client_secret("BOS-554").expose_secret(),
            "bnixvc/wDjhQCek9gzTX/HiGeBNZEGRK5FreoZlUCT0="
        );
        assert_ne!(
            client_secret("BOS-555").expose_secret(),
            client_secret("BOS-554").expose_secret()
        );
    }
}
