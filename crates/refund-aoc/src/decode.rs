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
    match code {
        AocErrorCode::Success if raw.is_success() && refunded => {
            let mut record =
                to_record(RefundStatus::Succeeded, raw, &data, request.sp_trans_id(), currency)
                    .map_err(unreadable)?;
            record
                .original_transaction_id
                .get_or_insert_with(|| request.aoc_trans_id().as_str().to_owned());
            Ok(RefundAnswer::Done(record))
        }
        AocErrorCode::Success if raw.is_success() => Err(unreadable(format!(
            "errorCode is 00 but transactionOperationStatus is {:?}, not \"refunded\"",
            data.transaction_operation_status.as_deref().unwrap_or("")
        ))),
        _ if refunded => Err(unreadable(format!(
            "transactionOperationStatus is \"refunded\" but errorCode is {code}"
        ))),
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
    let reply = || coded_reply(raw, &REFUND_STATUS, &data);
    let unreadable = |detail: String| Err(REFUND_STATUS.unreadable_answer(reply(), detail, None));
    let status = match (&code, &*data.status()) {
        // AOC0001 to a read whose fields were validated before sending: AOC knows no refund by
        // this spTransID, so none was made (the ledger re-sends such a refund under it).
        (AocErrorCode::InvalidParameter, _) if raw.is_success() => RefundStatus::NotRefunded,
        // About the read, not the refund: AOC0001 is also its answer for an unknown spTransID.
        (AocErrorCode::InvalidParameter | AocErrorCode::DuplicateSpTransId, _) => {
            return Err(declined(&code, reply()));
        }
        _ if !raw.is_success() => return Err(declined(&code, reply())),
        (AocErrorCode::Success, "refunded") => RefundStatus::Succeeded,
        (_, "refunded") => {
            return unreadable(format!(
                "transactionOperationStatus is \"refunded\" but errorCode is {code}"
            ));
        }
        (AocErrorCode::Success, "") => {
            return unreadable("errorCode is 00 but transactionOperationStatus is missing".into());
        }
        (AocErrorCode::Success, other) if other != "denied" => {
            RefundStatus::Unknown(other.to_owned())
        }
        // `denied`, or any other error code: the refund failed. (The amount of a denied refund,
        // often "0.00", is not an amount refunded and is not copied.)
        _ => RefundStatus::Failed,
    };
    match to_record(status, raw, &data, sp_trans_id, currency) {
        Ok(record) => Ok((record, reply())),
        Err(detail) => unreadable(detail),
    }
}

/// `AOC1001`: an earlier attempt with this `spTransID` went through, and `read` is what the status
/// read of it said. That outcome is the refund's.
pub(crate) fn after_duplicate(
    request: &AocRefundRequest,
    duplicate: ProviderReply,
    read: Result<(RefundRecord, ProviderReply)>,
) -> Result<RefundRecord> {
    let sp = request.sp_trans_id();
    let (mut record, reply) = match read {
        Ok(found) => found,
        Err(e) => {
            let detail = format!(
                "AOC answered AOC1001 (duplicate spTransID {sp}: an earlier attempt reached it) \
                 and the status read failed: {e}"
            );
            return Err(Error::outcome_unknown(duplicate, detail, Some(Box::new(e))));
        }
    };
    let charge = request.aoc_trans_id().as_str();
    if let Some(other) = record.original_transaction_id.as_deref().filter(|id| *id != charge) {
        // The caller reused a spTransID of another refund: this one was refused.
        let message = format!(
            "spTransID {sp} was already used for a refund of aocTransID {other}; use a new \
             reference for a new refund"
        );
        return Err(Error::declined(
            DeclineReason::InvalidRequest,
            duplicate.with_message(message),
        ));
    }
    let detail = match (&record.status, record.amount) {
        (RefundStatus::Succeeded, Some(amount)) if amount != request.amount() => format!(
            "spTransID {sp} is recorded as a refund of {amount}, not the {} requested",
            request.amount()
        ),
        (RefundStatus::Succeeded, _) => {
            record.original_transaction_id = Some(charge.to_owned());
            return Ok(record);
        }
        (RefundStatus::Failed, _) => {
            let code = AocErrorCode::parse(record.provider_code.as_deref().unwrap_or(""));
            return Err(Error::declined(code.decline_reason(), reply));
        }
        (other, _) => format!("after AOC1001 the status read says {other:?}, not a final outcome"),
    };
    Err(Error::outcome_unknown(reply, detail, None))
}

/// A record of `status` with AOC's ids, code and message, and the answer as `raw`; the amount is
/// read for a success only, `Err` explaining why it is unreadable.
fn to_record(
    status: RefundStatus,
    raw: &RawResponse,
    data: &Data,
    sp_trans_id: &RefundReference,
    currency: Currency,
) -> std::result::Result<RefundRecord, String> {
    let amount = match &data.amount_refunded {
        Some(text)
            if matches!(status, RefundStatus::Succeeded) && !text.as_str().trim().is_empty() =>
        {
            Some(text.to_money(currency).map_err(|e| {
                format!(
                    "the refund succeeded but amountRefunded {:?} is unreadable: {e}",
                    text.as_str()
                )
            })?)
        }
        _ => None,
    };
    let mut record = RefundRecord::new(PROVIDER, status)
        .with_reference(sp_trans_id.as_str())
        .with_provider_code(data.error_code.trim())
        .with_message(data.message())
        // The received bytes, shared not copied; masked and parsed only if someone looks.
        .with_raw(RawJson::new(raw.body().clone(), SECRET_FIELDS));
    record.amount = amount;
    record.refund_id = Data::non_empty(&data.client_correlator).map(str::to_owned);
    record.original_transaction_id = Data::non_empty(&data.aoc_trans_id).map(str::to_owned);
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::request;
    use crate::fuzzing::raw;

    #[test]
    fn decodes_success_and_declines() {
        let refund = |body: &str| decode_refund(&raw(200, body), &request(), Currency::Myr);
        let ok = refund(include_str!("../tests/fixtures/refund_success.json")).unwrap();
        let RefundAnswer::Done(record) = ok else { panic!("{ok:?}") };
        assert_eq!(record.status, RefundStatus::Succeeded);
        assert_eq!(record.refund_id.as_deref(), Some("CC-778899"));
        assert_eq!(record.reference.as_deref(), Some("sp-1"));
        assert_eq!(record.amount.map(|m| m.to_fixed_string()).as_deref(), Some("1.00"));
        assert_eq!(record.raw.to_value()["data"]["errorCode"], "00");

        let denied = r#"{"data":{"transactionOperationStatus":"denied","errorCode":"AOC1012","errorMessage":"Charging denied"}}"#;
        let err = refund(denied).unwrap_err();
        assert_eq!(err.decline_reason(), Some(&DeclineReason::Refused));
        assert_eq!(err.reply().and_then(|r| r.code()), Some("AOC1012"));

        let dup = r#"{"data":{"transactionOperationStatus":"denied","errorCode":"AOC1001"}}"#;
        assert!(matches!(refund(dup), Ok(RefundAnswer::Duplicate(_))));
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
