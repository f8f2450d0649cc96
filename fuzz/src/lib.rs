//! What the decoder targets share: the statuses they feed, and the target itself.

#[doc(hidden)]
pub use libfuzzer_sys;

/// The HTTP statuses a decoder is fed: the documented ones and those the transport treats apart.
pub const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

/// A fuzz target over a provider crate's response decoders (`fn(u16, &[u8]) -> _`), which must
/// classify any status and body without panicking. Input: byte 0 picks the decoder, byte 1 the
/// HTTP status, the rest is the body.
#[macro_export]
macro_rules! decoders_target {
    ($($decoder:path),+ $(,)?) => {
        $crate::libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            let [which, status, body @ ..] = data else { return };
            let status = $crate::STATUSES[usize::from(*status) % $crate::STATUSES.len()];
            let decoders = [$($decoder as fn(u16, &[u8]) -> _),+];
            let _ = decoders[usize::from(*which) % decoders.len()](status, body);
        });
    };
}
