//! Turning Eko's answers into typed results and errors (decisions: README "Decisions").

use std::borrow::Cow;
use std::str::FromStr;

use refund_core::{
    Currency, DeclineReason, Error, Money, Operation, ProviderReply, RawJson, RawResponse, Result,
    redact_json,
};
use serde_json::value::RawValue;

use crate::client::{REFUND, SEND_OTP, TRANSACTION};
use crate::model::{
    EkoRefund, EkoStatusCode, EkoTransaction, MAX_OTP_REF_ID_LEN, RefundOtpChallenge, TxStatus,
    check_printable,
};
use crate::wire::{Answer, Data, json_text};

/// Fields removed from any answer before it is kept in a record or an error.
pub(crate) const RESPONSE_SECRET_FIELDS: &[&str] =
    &["otp", "developer_key", "secret-key", "access_key"];

/// `response_status_id` of "another transaction is in progress": not processed, retry later.
const ANOTHER_TRANSACTION_IN_PROGRESS: i64 = -2;

/// The reply for errors: a body excerpt whose secret fields are masked, and Eko's `status` and
/// `message` when the answer has them.
fn reply(op: &Operation, raw: &RawResponse, answer: Option<&Answer<'_>>) -> ProviderReply {
    let masked = redact_json(raw.body(), RESPONSE_SECRET_FIELDS).map(|v| v.to_string());
    let excerpt = masked.as_ref().map_or(raw.body().as_ref(), |m| m.as_bytes());
    let mut reply = op.reply().with_http_status(raw.status()).with_body_excerpt(excerpt);
    if let Some(status) = answer.and_then(|a| a.status) {
        reply = reply.with_code(status.to_string());
    }
    if let Some(message) = answer.and_then(Answer::message) {
        reply = reply.with_message(message);
    }
    reply
}

/// An answer we cannot understand: outcome unknown for the refund, "repeat it" for the safe calls.
fn unknown(op: &Operation, raw: &RawResponse, detail: impl Into<String>) -> Error {
    op.unreadable_answer(reply(op, raw, None), detail, None)
}

/// Parses the answer once and runs the checks every call shares: [`RawResponse::preamble`]
/// (401/403, 5xx, a body that is not Eko's JSON), then a non-2xx answer is a definite rejection,
/// named by Eko's code when it has one. `read` decodes a 2xx answer.
fn decode<'a, T>(
    op: &Operation,
    raw: &'a RawResponse,
    read: impl FnOnce(&Answer<'a>) -> Result<T>,
) -> Result<T> {
    let parsed = serde_json::from_slice::<Answer<'a>>(raw.body());
    let answer = raw.preamble(op, parsed.as_ref(), || reply(op, raw, parsed.as_ref().ok()))?;
    if !raw.is_success() {
        return Err(known_failure(op, raw, answer).unwrap_or_else(|| {
            Error::declined(DeclineReason::InvalidRequest, reply(op, raw, Some(answer)))
        }));
    }
    read(answer)
}

/// The error a known failure code or `response_status_id` stands for, if any.
fn known_failure(op: &Operation, raw: &RawResponse, answer: &Answer<'_>) -> Option<Error> {
    let reply = || reply(op, raw, Some(answer));
    if answer.response_status_id == Some(ANOTHER_TRANSACTION_IN_PROGRESS) {
        return Some(Error::unavailable(
            reply(),
            "another transaction is in progress (response_status_id -2); the request was not processed",
            None,
        ));
    }
    let declined = |reason| Some(Error::declined(reason, reply()));
    match EkoStatusCode::from_code(answer.status?) {
        EkoStatusCode::WrongOtp => declined(DeclineReason::InvalidOtp),
        EkoStatusCode::OtpExpired => declined(DeclineReason::OtpExpired),
        EkoStatusCode::TidNotFound => declined(DeclineReason::TransactionNotFound),
        EkoStatusCode::InsufficientBalance => declined(DeclineReason::InsufficientBalance),
        // Both name a client setting (OTP_REFUND_INITIATOR_ID / OTP_REFUND_USER_CODE): no call
        // with these credentials will work until they are fixed.
        EkoStatusCode::InvalidInitiator | EkoStatusCode::UserNotFound => Some(Error::auth(reply())),
        _ => None,
    }
}

/// `data` of a `status: 0` answer. Any other status is Eko's known failure, or what `otherwise`
/// makes of it; no status, or no data object, leaves the outcome unknown.
fn succeeded<'d, 'a>(
    op: &Operation,
    raw: &RawResponse,
    answer: &'d Answer<'a>,
    otherwise: impl FnOnce(i64, ProviderReply) -> Error,
) -> Result<&'d Data<'a>> {
    match answer.status {
        Some(0) => {
            answer.data.as_ref().ok_or_else(|| unknown(op, raw, "no data object in the answer"))
        }
        Some(code) => Err(known_failure(op, raw, answer)
            .unwrap_or_else(|| otherwise(code, reply(op, raw, Some(answer))))),
        None => Err(unknown(op, raw, "the answer has no status")),
    }
}

/// Get-OTP: success is exactly a non-empty `data.otp_ref_id`, whatever `status` says (the official
/// sample answers `status: 2133`; a `status: 0` without `otp_ref_id` sent no OTP).
pub(crate) fn decode_send_otp(raw: &RawResponse, tid: &str) -> Result<RefundOtpChallenge> {
    let op = &SEND_OTP;
    decode(op, raw, |answer| {
        let otp_ref_id = answer.data.as_ref().and_then(|d| json_text(d.otp_ref_id?).ok());
        if let Some(otp_ref_id) = otp_ref_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
            check_printable("otp_ref_id", otp_ref_id, MAX_OTP_REF_ID_LEN)
                .map_err(|e| unknown(op, raw, format!("Eko sent an unusable otp_ref_id: {e}")))?;
            return RefundOtpChallenge::new(tid, otp_ref_id)
                .map(|c| c.with_message(answer.message()));
        }
        // No OTP session: the customer has nothing to confirm. Unless Eko's code says more,
        // declined, not "unknown": there is no refund to check on, and `send_otp` is safe to
        // call again.
        Err(known_failure(op, raw, answer).unwrap_or_else(|| {
            let code = answer.status.map_or_else(|| "none".to_owned(), |s| s.to_string());
            let why = "no otp_ref_id in the answer: the OTP was not sent";
            let message =
                answer.message().map_or_else(|| why.to_owned(), |m| format!("{m} ({why})"));
            let reply = reply(op, raw, Some(answer)).with_code(code.clone()).with_message(message);
            Error::declined(DeclineReason::Other(code), reply)
        }))
    })
}

fn currency_of(text: Option<&str>) -> Option<Currency> {
    let code = text.map(str::trim).filter(|t| !t.is_empty());
    code.map_or(Some(Currency::Inr), |code| Currency::from_str(code).ok())
}

/// A `data` field's text ([`json_text`]); a value that is not a string or a number leaves the
/// outcome unknown, naming the field.
#[inline(never)]
fn field_text<'d>(
    op: &Operation,
    raw: &RawResponse,
    field: &str,
    value: Option<&'d RawValue>,
) -> Result<Option<Cow<'d, str>>> {
    value
        .map(json_text)
        .transpose()
        .map_err(|e| unknown(op, raw, format!("unexpected data: {field}: {e}")))
}

/// A `data` amount read exactly, or `None` (kept in `raw` only, with a warning) when it cannot
/// be; or the error of [`field_text`]. Out of line: the six amounts of a refund share this code.
#[inline(never)]
fn amount_field(
    op: &Operation,
    raw: &RawResponse,
    field: &str,
    value: Option<&RawValue>,
    currency: Option<Currency>,
) -> Result<Option<Money>> {
    let (Some(text), Some(currency)) = (field_text(op, raw, field, value)?, currency) else {
        return Ok(None);
    };
    Ok(Money::from_provider_text(&text, currency)
        .inspect_err(|e| tracing::warn!(field, error = %e, "an Eko amount could not be read exactly; kept in raw only"))
        .ok())
}

/// Initiate refund: success is `status == 0` with a `data.refund_tid`; every field must be a
/// string or a number (anything else leaves the outcome unknown, with the field named).
pub(crate) fn decode_refund(raw: &RawResponse, tid: &str) -> Result<EkoRefund> {
    let op = &REFUND;
    decode(op, raw, |answer| {
        let data = succeeded(op, raw, answer, |code, reply| match answer.response_status_id {
            Some(1) => Error::declined(DeclineReason::Other(code.to_string()), reply),
            _ => Error::outcome_unknown(
                reply,
                "Eko answered a status this SDK does not know without marking it a failure",
                None,
            ),
        })?;
        let text = |field, value| field_text(op, raw, field, value);
        let currency = currency_of(text("currency", data.currency)?.as_deref());
        let refund_tid = text("refund_tid", data.refund_tid)?
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| unknown(op, raw, "status 0 without data.refund_tid"))?
            .to_owned();
        if currency.is_none() {
            tracing::warn!("Eko sent an unknown currency; amounts kept in raw only");
        }
        let amount = |field, value| amount_field(op, raw, field, value, currency);
        Ok(EkoRefund {
            refund_tid,
            tid: text("tid", data.tid)?
                .filter(|t| !t.is_empty())
                .map_or_else(|| tid.to_owned(), Cow::into_owned),
            amount: amount("amount", data.amount)?,
            refunded_amount: amount("refunded_amount", data.refunded_amount)?,
            fee: amount("fee", data.fee)?,
            tds: amount("tds", data.tds)?,
            commission_reverse: amount("commission_reverse", data.commission_reverse)?,
            balance: amount("balance", data.balance)?,
            currency: currency.unwrap_or(Currency::Inr),
            timestamp: text("timestamp", data.timestamp)?.map(Cow::into_owned),
            message: answer.message(),
            // The received bytes, shared not copied; masked and parsed only if someone looks.
            raw: RawJson::new(raw.body().clone(), RESPONSE_SECRET_FIELDS),
        })
    })
}

/// Transaction inquiry: `status == 0` with a `data.tx_status`.
pub(crate) fn decode_transaction(raw: &RawResponse, tid: &str) -> Result<EkoTransaction> {
    let op = &TRANSACTION;
    decode(op, raw, |answer| {
        let data = succeeded(op, raw, answer, |code, reply| {
            Error::declined(DeclineReason::Other(code.to_string()), reply)
        })?;
        let text = |field, value| field_text(op, raw, field, value);
        let tx_status = match text("tx_status", data.tx_status)?.as_deref().map(str::trim) {
            None | Some("") => return Err(unknown(op, raw, "status 0 without data.tx_status")),
            Some(code) => code.parse().map(TxStatus::from_code).map_err(|_| {
                unknown(op, raw, format!("unexpected data: tx_status: {code:?} is not an integer"))
            })?,
        };
        let currency = currency_of(text("currency", data.currency)?.as_deref());
        Ok(EkoTransaction {
            tid: text("tid", data.tid)?
                .filter(|t| !t.is_empty())
                .map_or_else(|| tid.to_owned(), Cow::into_owned),
            tx_status,
            status_text: text("txstatus_desc", data.txstatus_desc)?
                .filter(|t| !t.is_empty())
                .map(Cow::into_owned),
            amount: amount_field(op, raw, "amount", data.amount, currency)?,
            refund_tid: text("refund_tid", data.refund_tid)?
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            message: answer.message(),
            raw: RawJson::new(raw.body().clone(), RESPONSE_SECRET_FIELDS),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_core::http::HeaderMap;

    fn raw(status: u16, body: &str) -> RawResponse {
        RawResponse::new(status, HeaderMap::new(), body.to_owned())
    }

    #[test]
    fn refund_sample_reads_exactly() {
        let body = include_str!("../tests/fixtures/refund_done.json");
        let r = decode_refund(&raw(200, body), "13192443").unwrap();
        assert_eq!(r.refund_tid, "2147591637");
        assert_eq!(r.refunded_amount.map(|m| m.to_fixed_string()).as_deref(), Some("5050.00"));
        assert_eq!(r.fee.map(|m| m.minor_units()), Some(5000));
        assert_eq!(r.tds.map(|m| m.minor_units()), Some(710));
        assert_eq!(r.commission_reverse.map(|m| m.minor_units()), Some(2838));
        assert_eq!(r.balance.map(|m| m.to_fixed_string()).as_deref(), Some("2222637312.86"));
        assert_eq!(r.raw.to_value()["data"]["balance"], "2.22263731286E9");
    }

    #[test]
    fn status_zero_answers_the_one_pass_cannot_read_keep_their_reasons() {
        // Read in one pass: numbers as text, the status as a string.
        let ok = r#"{"status":"0","message":"Refund done","data":{"refund_tid":2147591637,"amount":5000}}"#;
        let r = decode_refund(&raw(200, ok), "13192443").unwrap();
        assert_eq!((r.refund_tid.as_str(), r.tid.as_str()), ("2147591637", "13192443"));
        assert_eq!(r.amount.map(|m| m.minor_units()), Some(500_000));
        assert_eq!(r.message.as_deref(), Some("Refund done"));
        // Not readable as a refund (or not JSON at all): the error says why, and the refund's
        // outcome is unknown.
        for (body, reason) in [
            (r#"{"status":0,"data":{"refund_tid":"1","amount":true}}"#, "unexpected data"),
            (r#"{"status":0,"data":null}"#, "no data object"),
            (r#"{"status":0}"#, "no data object"),
            (r#"{"status":0,"data":{"tid":"1"}}"#, "without data.refund_tid"),
            (r#"{"status":0,"data":{}}"#, "without data.refund_tid"),
            (r#"{"message":"x"}"#, "the answer has no status"),
            (r#"{"status":77,"response_status_id":3}"#, "a status this SDK does not know"),
            ("", "outcome unknown"),
            ("<html>oops</html>", "outcome unknown"),
            ("{", "outcome unknown"),
        ] {
            let err = decode_refund(&raw(200, body), "13192443").unwrap_err();
            assert_eq!(err.kind(), "outcome_unknown", "{body}");
            assert!(err.to_string().contains(reason), "{body}: {err}");
        }
        // A failure status is never read as a refund, whatever data holds.
        let wrong_otp = r#"{"status":302,"message":"Wrong OTP","data":{"refund_tid":"1"}}"#;
        assert_eq!(decode_refund(&raw(200, wrong_otp), "1").unwrap_err().kind(), "declined");
    }

    #[test]
    fn status_0_without_otp_ref_id_is_declined() {
        let body = include_str!("../tests/fixtures/send_otp_status0_no_ref.json");
        let err = decode_send_otp(&raw(200, body), "1").unwrap_err();
        assert_eq!(err.decline_reason(), Some(&DeclineReason::Other("0".into())));
        assert!(err.to_string().contains("the OTP was not sent"), "{err}");
    }

    #[test]
    fn non_json_4xx_is_a_definite_rejection() {
        let err = decode_refund(&raw(400, "<html>bad</html>"), "1").unwrap_err();
        assert_eq!(err.decline_reason(), Some(&DeclineReason::InvalidRequest));
        let err = decode_refund(&raw(401, "nope"), "1").unwrap_err();
        assert_eq!(err.kind(), "auth");
        let err = decode_refund(&raw(501, "nope"), "1").unwrap_err();
        assert_eq!(err.kind(), "outcome_unknown");
        let err = decode_send_otp(&raw(501, "nope"), "1").unwrap_err();
        assert_eq!(err.kind(), "unavailable");
    }
}
