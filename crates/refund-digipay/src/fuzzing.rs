//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.
//!
//! Each returns `Ok(())` for an answer that decodes as a success and otherwise the error's
//! [`kind`](refund_core::Error::kind), so a test can tell a decline from an outcome unknown.

use std::time::SystemTime;

use refund_core::{Currency, Money, RawResponse, http::HeaderMap};

use crate::WalletRefundRequest;

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}

/// Decodes `body` as an answer to `wallet_refund_money`: `Ok` when it reads as a success, else the error's kind.
pub fn refund_response(status: u16, body: &[u8]) -> Outcome {
    let Ok(amount) = Money::parse("79.10", Currency::Inr) else { return Err("setup") };
    let Ok(request) =
        WalletRefundRequest::builder("DP-TXN-2002", amount).txn_code("CIB").payment_mode(2).build()
    else {
        return Err("setup");
    };
    crate::decode::decode_refund(&raw(status, body), &request).map(drop).map_err(|e| e.kind())
}

/// Decodes `body` as an answer to `auth/authenticate`: `Ok` when it reads as a success, else the error's kind.
pub fn token_response(status: u16, body: &[u8]) -> Outcome {
    crate::decode::decode_token(&raw(status, body), SystemTime::UNIX_EPOCH)
        .map(drop)
        .map_err(|e| e.kind())
}

/// What a decoder made of an answer: success, or the error's kind.
pub type Outcome = Result<(), &'static str>;
