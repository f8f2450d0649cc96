//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.
//!
//! Each returns `Ok(())` for an answer that decodes as a success and otherwise the error's
//! [`kind`](refund_core::Error::kind), so a test can tell a decline from an outcome unknown.

use refund_core::{Currency, Money, RawResponse, RefundReference, TransactionId, http::HeaderMap};

use crate::AocRefundRequest;

/// Decodes `body` as an answer to `POST /api/refund`: `Ok` when it reads as a success, else the error's kind.
pub fn refund_response(status: u16, body: &[u8]) -> Outcome {
    let (Ok(id), Ok(reference)) = (TransactionId::new("12345"), RefundReference::new("sp-1"))
    else {
        return Err("setup");
    };
    let request = AocRefundRequest::new(id, Money::from_minor_units(100, Currency::Myr))
        .with_sp_trans_id(reference);
    crate::decode::decode_refund(&raw(status, body), &request, Currency::Myr)
        .map(drop)
        .map_err(|e| e.kind())
}

/// Decodes `body` as an answer to `POST /api/refundStatus`: `Ok` when it reads as a success, else the error's kind.
pub fn status_response(status: u16, body: &[u8]) -> Outcome {
    let Ok(reference) = RefundReference::new("sp-1") else { return Err("setup") };
    crate::decode::decode_status(&raw(status, body), &reference, Currency::Myr)
        .map(drop)
        .map_err(|e| e.kind())
}

/// An answer with `status` and `body` (also for decode's tests).
pub(crate) fn raw(status: u16, body: impl AsRef<[u8]>) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.as_ref().to_vec())
}

/// What a decoder made of an answer: success, or the error's kind.
pub type Outcome = Result<(), &'static str>;
