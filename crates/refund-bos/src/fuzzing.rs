//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.
//!
//! Each returns `Ok(())` for an answer that decodes as a success and otherwise the error's
//! [`kind`](refund_core::Error::kind), so a test can tell a decline from an outcome unknown.

use refund_core::{Currency, Money, RawResponse, http::HeaderMap};

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}

/// Decodes `body` as an answer to `RefundOTP` / `ClaimRefund` (one envelope): `Ok` when it reads as a success, else the error's kind.
pub fn envelope_response(status: u16, body: &[u8]) -> Outcome {
    crate::decode::envelope(&raw(status, body), &crate::client::CLAIM)
        .map(drop)
        .map_err(|e| e.kind())
}

/// Decodes `body` as an answer to `TransactStatus`: `Ok` when it reads as a success, else the error's kind.
pub fn status_response(status: u16, body: &[u8]) -> Outcome {
    crate::decode::status(&raw(status, body), "12345678931").map(drop).map_err(|e| e.kind())
}

/// Decodes `body` as an answer to `DynamicQRCode` for ₹10: `Ok` when it reads as a success, else the error's kind.
pub fn qr_response(status: u16, body: &[u8]) -> Outcome {
    let Ok(amount) = Money::parse("10", Currency::Inr) else { return Err("setup") };
    crate::decode::qr(&raw(status, body), amount).map(drop).map_err(|e| e.kind())
}

/// What a decoder made of an answer: success, or the error's kind.
pub type Outcome = Result<(), &'static str>;
