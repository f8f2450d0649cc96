//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.

use refund_core::{Currency, Money, RawResponse, http::HeaderMap};

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}

/// Decodes `body` as an answer to `RefundOTP` / `ClaimRefund` (one envelope); `true` on success.
pub fn envelope_response(status: u16, body: &[u8]) -> bool {
    crate::decode::envelope(&raw(status, body), &crate::client::CLAIM).is_ok()
}

/// Decodes `body` as an answer to `TransactStatus`; `true` when it reads as a transaction.
pub fn status_response(status: u16, body: &[u8]) -> bool {
    crate::decode::status(&raw(status, body), "12345678931").is_ok()
}

/// Decodes `body` as an answer to `DynamicQRCode` for ₹10; `true` when it is a usable QR.
pub fn qr_response(status: u16, body: &[u8]) -> bool {
    let Ok(amount) = Money::parse("10", Currency::Inr) else { return false };
    crate::decode::qr(&raw(status, body), amount).is_ok()
}
