//! The decoding of AOC's answers into records and errors.

use refund_core::{
    Currency, DeclineReason, Error, Operation, ProviderReply, RawJson, RawResponse, RefundRecord,
    RefundReference, RefundStatus, Result, redact_json,
};

use crate::client::{PROVIDER, REFUND, REFUND_STATUS, SECRET_FIELDS};
use crate::model::{AocErrorCode, AocRefundRequest};
use crate::wire::{self, Data};

/// How a refund answer decodes: a final record, or AOC's "duplicate spTransID" that needs a
/// status read.
#[derive(Debug)]
pub(crate) enum RefundAnswer {
    Done(RefundRecord),
    Duplicate(ProviderReply),
}

/// The body read once, through core's preamble (HTTP 401/403, other 5xx, unparsed bodies), then
/// AOC's answers that are not about the refund for either operation: `AOC0003` (credentials
/// refused) and `AOC1020` (not processed).
fn answer<'a>(raw: &'a RawResponse, op: &Operation) -> Result<(Data<'a>, AocErrorCode)> {
    let data = raw.preamble(op, wire::parse(raw.body()), || base_reply(raw, op))?;
    match AocErrorCode::parse(&data.error_code) {
        AocErrorCode::InvalidToken => Err(Error::auth(coded_reply(raw, op, &data))),
        AocErrorCode::TransactionInProgress => Err(Error::unavailable(
            coded_reply(raw, op, &data),
            "blocked by a transaction in progress; the request was not processed, retry later",
            None,
        )),
        code => Ok((data, code)),
    }
}

/// The reply for `op`, its body excerpt re-rendered with any secret field masked.
fn base_reply(raw: &RawResponse, op: &Operation) -> ProviderReply {
    let reply = op.reply().with_http_status(raw.status());
    match redact_json(raw.body(), SECRET_FIELDS) {
        Some(masked) => reply.with_body_excerpt(masked.to_string().as_bytes()),
        None => reply.with_body_excerpt(raw.body()),
    }
}

/// [`base_reply`] with AOC's code and message.
fn coded_reply(raw: &RawResponse, op: &Operation, data: &Data) -> ProviderReply {
    base_reply(raw, op).with_code(data.error_code.trim()).with_message(data.message())
}

/// A rejection with AOC's code; `00` with an error status is a rejection without a reason.
fn declined(code: &AocErrorCode, reply: ProviderReply) -> Error {
    let reason = match code {
        AocErrorCode::Success => DeclineReason::InvalidRequest,
        other => other.decline_reason(),
    };
    Error::declined(reason, reply)
}

pub(crate) fn decode_refund(
    raw: &RawResponse,
    request: &AocRefundRequest,
    currency: Currency,
) -> Result<RefundAnswer> {
    let (data, code) = answer(raw, &REFUND)?;
    let refunded = data.status() == "refunded";
    // Built only on the error paths: the success path never renders a reply.
    let reply = || coded_reply(raw, &REFUND, &data);
    let unreadable = |detail: String| REFUND.unreadable_answer(reply(), detail, None);
    if code == AocErrorCode::Success && raw.is_success() {
        if !refunded {
            return Err(unreadable(format!(
                "errorCode is 00 but transactionOperationStatus is {:?}, not \"refunded\"",
                data.transaction_operation_status.as_deref().unwrap_or("")
            )));
        }
        let mut record =
            success_record(raw, &data, request.sp_trans_id(), currency).map_err(unreadable)?;
        if record.original_transaction_id.is_none() {
            record.original_transaction_id = Some(request.aoc_trans_id().as_str().to_owned());
        }
        return Ok(RefundAnswer::Done(record));
    }
    if refunded {
        return Err(unreadable(format!(
            "transactionOperationStatus is \"refunded\" but errorCode is {code}"
        )));
    }
    match code {
        AocErrorCode::DuplicateSpTransId => Ok(RefundAnswer::Duplicate(reply())),
        code => Err(declined(&code, reply())),
    }
}

pub(crate) fn decode_status(
    raw: &RawResponse,
    sp_trans_id: &RefundReference,
    currency: Currency,
) -> Result<(RefundRecord, ProviderReply)> {
    let (data, code) = answer(raw, &REFUND_STATUS)?;
    let reply = coded_reply(raw, &REFUND_STATUS, &data);
    let record = |status| finish_record(status, raw, &data, sp_trans_id);
    let found = if code == AocErrorCode::InvalidParameter && raw.is_success() {
        // AOC0001 to a read whose fields were validated before sending: AOC knows no refund by
        // this spTransID, so none was made (the ledger re-sends such a refund under it).
        Ok(record(RefundStatus::NotRefunded))
    } else if !raw.is_success()
        || matches!(code, AocErrorCode::InvalidParameter | AocErrorCode::DuplicateSpTransId)
    {
        // About the read, not the refund: AOC0001 is also its answer for an unknown spTransID.
        return Err(declined(&code, reply));
    } else {
        match (&code, &*data.status()) {
            (AocErrorCode::Success, "refunded") => {
                success_record(raw, &data, sp_trans_id, currency)
            }
            (_, "refunded") => {
                Err(format!("transactionOperationStatus is \"refunded\" but errorCode is {code}"))
            }
            (AocErrorCode::Success, "") => {
                Err("errorCode is 00 but transactionOperationStatus is missing".to_owned())
            }
            (AocErrorCode::Success, other) if other != "denied" => {
                Ok(record(RefundStatus::Unknown(other.to_owned())))
            }
            // `denied`, or any other error code: the refund failed. (The amount of a denied
            // refund, often "0.00", is not an amount refunded and is not copied.)
            _ => Ok(record(RefundStatus::Failed)),
        }
    };
    match found {
        Ok(record) => Ok((record, reply)),
        Err(detail) => Err(REFUND_STATUS.unreadable_answer(reply, detail, None)),
    }
}

/// A `refunded` answer as a record; `Err` explains an unreadable amount.
fn success_record(
    raw: &RawResponse,
    data: &Data,
    sp_trans_id: &RefundReference,
    currency: Currency,
) -> std::result::Result<RefundRecord, String> {
    let mut record = finish_record(RefundStatus::Succeeded, raw, data, sp_trans_id);
    if let Some(text) = data.amount_refunded.as_ref().filter(|a| !a.as_str().trim().is_empty()) {
        record.amount = Some(text.to_money(currency).map_err(|e| {
            format!(
                "the refund succeeded but amountRefunded {:?} is unreadable: {e}",
                text.as_str()
            )
        })?);
    }
    Ok(record)
}

/// A record of `status` with AOC's ids, code and message, and the answer as `raw`.
fn finish_record(
    status: RefundStatus,
    raw: &RawResponse,
    data: &Data,
    sp_trans_id: &RefundReference,
) -> RefundRecord {
    let mut record = RefundRecord::new(PROVIDER, status)
        .with_reference(sp_trans_id.as_str())
        .with_provider_code(data.error_code.trim())
        .with_message(data.message())
        // The received bytes, shared not copied; masked and parsed only if someone looks.
        .with_raw(RawJson::new(raw.body().clone(), SECRET_FIELDS));
    record.refund_id = Data::non_empty(&data.client_correlator).map(str::to_owned);
    record.original_transaction_id = Data::non_empty(&data.aoc_trans_id).map(str::to_owned);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::{Money, TransactionId};

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse::new(status, Default::default(), body.to_owned())
    }

    fn request() -> AocRefundRequest {
        AocRefundRequest::new(
            TransactionId::new("12345").unwrap(),
            Money::parse("1", Currency::Myr).unwrap(),
        )
        .with_sp_trans_id(RefundReference::new("sp-1").unwrap())
    }

    #[test]
    fn decodes_success_and_declines() {
        let ok = decode_refund(
            &raw(200, include_str!("../tests/fixtures/refund_success.json")),
            &request(),
            Currency::Myr,
        )
        .unwrap();
        let RefundAnswer::Done(record) = ok else { panic!("{ok:?}") };
        assert_eq!(record.status, RefundStatus::Succeeded);
        assert_eq!(record.refund_id.as_deref(), Some("CC-778899"));
        assert_eq!(record.reference.as_deref(), Some("sp-1"));
        assert_eq!(record.amount.map(|m| m.to_fixed_string()).as_deref(), Some("1.00"));
        assert_eq!(record.raw.to_value()["data"]["errorCode"], "00");

        let denied = r#"{"data":{"transactionOperationStatus":"denied","errorCode":"AOC1012","errorMessage":"Charging denied"}}"#;
        let err = decode_refund(&raw(200, denied), &request(), Currency::Myr).unwrap_err();
        assert_eq!(err.decline_reason(), Some(&DeclineReason::Refused));
        assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC1012"));

        let dup = r#"{"data":{"transactionOperationStatus":"denied","errorCode":"AOC1001"}}"#;
        assert!(matches!(
            decode_refund(&raw(200, dup), &request(), Currency::Myr),
            Ok(RefundAnswer::Duplicate(_))
        ));
    }

    #[test]
    fn status_read_of_a_denied_refund_is_a_failed_record() {
        let denied = r#"{"data":{"aocTransID":"12345","transactionOperationStatus":"Denied","amountRefunded":"0.00","errorCode":"AOC1015","errorMessage":"Amount limit"}}"#;
        let (record, reply) =
            decode_status(&raw(200, denied), &RefundReference::new("sp-1").unwrap(), Currency::Myr)
                .unwrap();
        assert_eq!(record.status, RefundStatus::Failed);
        assert_eq!(record.provider_code.as_deref(), Some("AOC1015"));
        assert_eq!(record.amount, None);
        assert_eq!(reply.code(), Some("AOC1015"));
    }
}
