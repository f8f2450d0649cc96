//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.

use std::time::SystemTime;

use refund_core::{Currency, Money, RawResponse, http::HeaderMap};

use crate::WalletRefundRequest;

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}

/// Decodes `body` as an answer to `wallet_refund_money`; `true` when it reads as a success.
pub fn refund_response(status: u16, body: &[u8]) -> bool {
    let Ok(amount) = Money::parse("79.10", Currency::Inr) else { return false };
    let Ok(request) =
        WalletRefundRequest::builder("DP-TXN-2002", amount).txn_code("CIB").payment_mode(2).build()
    else {
        return false;
    };
    crate::decode::decode_refund(&raw(status, body), &request).is_ok()
}

/// Decodes `body` as an answer to `auth/authenticate`; `true` when it yields a token.
pub fn token_response(status: u16, body: &[u8]) -> bool {
    crate::decode::decode_token(&raw(status, body), SystemTime::UNIX_EPOCH).is_ok()
}
