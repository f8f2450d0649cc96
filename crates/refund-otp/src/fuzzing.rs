//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.
//!
//! Each returns `Ok(())` for an answer that decodes as a success and otherwise the error's
//! [`kind`](refund_core::Error::kind), so a test can tell a decline from an outcome unknown.

use refund_core::{RawResponse, http::HeaderMap};

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}

fn outcome<T>(decoded: refund_core::Result<T>) -> Outcome {
    decoded.map(drop).map_err(|e| e.kind())
}

/// Decodes `body` as an answer to get-refund-OTP: `Ok` when it reads as a success, else the error's kind.
pub fn send_otp_response(status: u16, body: &[u8]) -> Outcome {
    outcome(crate::decode::decode_send_otp(&raw(status, body), "13192443"))
}

/// Decodes `body` as an answer to initiate-refund: `Ok` when it reads as a success, else the error's kind.
pub fn refund_response(status: u16, body: &[u8]) -> Outcome {
    outcome(crate::decode::decode_refund(&raw(status, body), "13192443"))
}

/// Decodes `body` as an answer to the transaction inquiry: `Ok` when it reads as a success, else the error's kind.
pub fn transaction_response(status: u16, body: &[u8]) -> Outcome {
    outcome(crate::decode::decode_transaction(&raw(status, body), "13192443"))
}

/// What a decoder made of an answer: success, or the error's kind.
pub type Outcome = Result<(), &'static str>;
