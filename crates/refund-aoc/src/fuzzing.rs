//! Entry points for the fuzz targets in `fuzz/`: the same decoders the client runs on every
//! response, fed an arbitrary HTTP status and body. Not part of the public API.

use refund_core::{Currency, Money, RawResponse, RefundReference, TransactionId, http::HeaderMap};

use crate::AocRefundRequest;

/// Decodes `body` as an answer to `POST /api/refund`; `true` when it reads as a success.
pub fn refund_response(status: u16, body: &[u8]) -> bool {
    let (Ok(id), Ok(reference)) = (TransactionId::new("12345"), RefundReference::new("sp-1"))
    else {
        return false;
    };
    let request = AocRefundRequest::new(id, Money::from_minor_units(100, Currency::Myr))
        .with_sp_trans_id(reference);
    crate::decode::decode_refund(&raw(status, body), &request, Currency::Myr).is_ok()
}

/// Decodes `body` as an answer to `POST /api/refundStatus`; `true` when it reads as a record.
pub fn status_response(status: u16, body: &[u8]) -> bool {
    let Ok(reference) = RefundReference::new("sp-1") else { return false };
    crate::decode::decode_status(&raw(status, body), &reference, Currency::Myr).is_ok()
}

fn raw(status: u16, body: &[u8]) -> RawResponse {
    RawResponse::new(status, HeaderMap::new(), body.to_vec())
}
