//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.

use refund_core::{RawResponse, http::HeaderMap};

use crate::client::{REFUND, SEND_OTP, TRANSACTION};

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}

/// Decodes `body` as an answer to get-refund-OTP; `true` when an OTP was sent.
pub fn send_otp_response(status: u16, body: &[u8]) -> bool {
    crate::decode::decode_send_otp(&SEND_OTP, &raw(status, body), "13192443").is_ok()
}

/// Decodes `body` as an answer to initiate-refund; `true` when the refund succeeded.
pub fn refund_response(status: u16, body: &[u8]) -> bool {
    crate::decode::decode_refund(&REFUND, &raw(status, body), "13192443").is_ok()
}

/// Decodes `body` as an answer to the transaction inquiry; `true` when it reads as a transaction.
pub fn transaction_response(status: u16, body: &[u8]) -> bool {
    crate::decode::decode_transaction(&TRANSACTION, &raw(status, body), "13192443").is_ok()
}
