//! BOS's answers, decoded into records and errors. Each body is parsed once.

use std::convert::Infallible;

use refund_core::{
    Currency, DeclineReason, Error, Money, Operation, ProviderReply, RawJson, RawResponse,
    RefundRecord, RefundStatus, Result,
};
use serde::de::DeserializeOwned;

use crate::client::{CLAIM, DYNAMIC_QR, SEND_OTP, STATUS};
use crate::model::{BosTransaction, DynamicQr, UpiIntent};
use crate::wire::{Envelope, QrWire, StatusWire};

/// The body parsed as `T`, through [`RawResponse::preamble`] with one BOS difference: an auth or
/// 5xx answer that parsed keeps what it says (`reply`) in the error, as the documented 401 answer
/// carries a code and message.
fn parse<T: DeserializeOwned>(
    raw: &RawResponse,
    op: &Operation,
    reply: impl FnOnce(&T) -> ProviderReply,
) -> Result<T> {
    match serde_json::from_slice::<T>(raw.body()) {
        Ok(value) => {
            raw.preamble(op, Ok::<_, Infallible>(()), || reply(&value))?;
            Ok(value)
        }
        Err(e) => raw.preamble(op, Err(e), || raw.reply(op)),
    }
}

/// Reads a refund envelope (`RefundOTP`, `ClaimRefund`).
pub(crate) fn envelope(raw: &RawResponse, op: &Operation) -> Result<Envelope> {
    let envelope = parse::<Envelope>(raw, op, |e| envelope_reply(raw, op, e))?;
    check(raw, op, &envelope)?;
    Ok(envelope)
}

/// A `ClaimRefund` answer for the transfer `referenceid`.
pub(crate) fn claim(raw: &RawResponse, referenceid: &str) -> Result<RefundRecord> {
    let envelope = envelope(raw, &CLAIM)?;
    let mut record = RefundRecord::new("bos", RefundStatus::Succeeded)
        .with_original_transaction_id(referenceid)
        .with_provider_code(envelope.code_text().unwrap_or("1"))
        .with_raw(raw_json(raw));
    record.message = envelope.message.0;
    Ok(record)
}

/// Maps the envelope's code (PROVIDERS.md, BOS): 1 success; 2 not found / already refunded;
/// 3 invalid OTP (claim) or no record; 4 validation; 5 unable to resend; 6/7/9 authentication;
/// anything else needs a status read (for the safe calls: repeat them; see
/// [`Operation::unreadable_answer`]).
fn check(raw: &RawResponse, op: &Operation, envelope: &Envelope) -> Result<()> {
    if envelope.code() == Some(1) && raw.is_success() && envelope.status.flag() != Some(false) {
        // The success path builds no reply: it is only for errors.
        return Ok(());
    }
    let reply = envelope_reply(raw, op, envelope);
    let message = envelope.message.0.as_deref().unwrap_or("").to_ascii_lowercase();
    let claim = *op == CLAIM;
    Err(match envelope.code() {
        Some(1) => op.unreadable_answer(
            reply,
            "BOS answered code 1 (success) with a failure status: the outcome is unclear",
            None,
        ),
        Some(2) if message.contains("already") => {
            Error::declined(DeclineReason::AlreadyRefunded, reply)
        }
        Some(2) => Error::declined(DeclineReason::TransactionNotFound, reply),
        Some(3) if claim && message.contains("expire") => {
            Error::declined(DeclineReason::OtpExpired, reply)
        }
        Some(3) if claim => Error::declined(DeclineReason::InvalidOtp, reply),
        Some(3) => Error::declined(DeclineReason::TransactionNotFound, reply),
        Some(4) => Error::declined(DeclineReason::InvalidRequest, reply),
        Some(5) if *op == SEND_OTP => {
            Error::unavailable(reply, "BOS could not resend the OTP now; try again later", None)
        }
        Some(6 | 7 | 9) => Error::auth(reply),
        // Any other 4xx without a known code is still a definite rejection.
        None if !raw.is_success() => Error::declined(DeclineReason::InvalidRequest, reply),
        Some(_) | None => op.unreadable_answer(
            reply,
            match envelope.code_text() {
                Some(code) => format!("unknown response code {code}"),
                None => "the answer has no response code".to_owned(),
            },
            None,
        ),
    })
}

fn envelope_reply(raw: &RawResponse, op: &Operation, envelope: &Envelope) -> ProviderReply {
    with_code_and_message(raw.reply(op), envelope.code_text(), envelope.message.0.as_deref())
}

fn with_code_and_message(
    reply: ProviderReply,
    code: Option<&str>,
    message: Option<&str>,
) -> ProviderReply {
    // An empty message is ignored.
    let reply = reply.with_message(message.unwrap_or_default());
    match code {
        Some(code) => reply.with_code(code),
        None => reply,
    }
}

/// BOS refused the token: HTTP 401, or an authentication code (6, 7, 9). Either way it did not
/// process the request, so the call may repeat once with a fresh token.
pub(crate) fn token_refused<T>(answer: &Result<T>) -> bool {
    let Err(error @ Error::Auth { .. }) = answer else { return false };
    error.reply().is_some_and(|reply| {
        reply.http_status() == Some(401)
            || reply
                .code()
                .and_then(|c| c.parse().ok())
                .is_some_and(|c: i64| matches!(c, 6 | 7 | 9))
    })
}

/// Decodes a `TransactStatus` answer for `referenceid`: its envelope and fields in one parse.
pub(crate) fn status(raw: &RawResponse, referenceid: &str) -> Result<BosTransaction> {
    let wire = parse::<StatusWire>(raw, &STATUS, |w| envelope_reply(raw, &STATUS, &w.envelope))?;
    check(raw, &STATUS, &wire.envelope)?;
    let amount = match &wire.amount {
        Some(text) if !text.as_str().trim().is_empty() => {
            Some(text.to_money(Currency::Inr).map_err(|e| {
                STATUS.unreadable_answer(
                    raw.reply(&STATUS),
                    format!("the status answer's amount {:?} is not an amount: {e}", text.as_str()),
                    None,
                )
            })?)
        }
        _ => None,
    };
    Ok(BosTransaction {
        referenceid: wire.referenceid.0.unwrap_or_else(|| referenceid.to_owned()),
        ackno: wire.ackno.0,
        utr: wire.utr.0,
        amount,
        account: wire.account.0,
        txn_status: wire.txn_status.0,
        refund_txn_id: wire.refundtxnid.0,
        date_refunded: wire.daterefunded.0,
        charges: wire.charges.0,
        response_code: wire.envelope.code_text().unwrap_or("1").to_owned(),
        message: wire.envelope.message.0,
        raw: raw_json(raw),
    })
}

/// Decodes a `DynamicQRCode` answer, which must be a QR for exactly `amount`.
pub(crate) fn qr(raw: &RawResponse, amount: Money) -> Result<DynamicQr> {
    let op = &DYNAMIC_QR;
    let reply = |w: &QrWire| {
        with_code_and_message(raw.reply(op), w.sub_code.0.as_deref(), w.message.0.as_deref())
    };
    let wire = parse(raw, op, reply)?;
    // HTTP 400 `{"status": "ERROR", "subCode": "400", "message": "..."}`: nothing was created.
    if !raw.is_success() || wire.outcome.flag() == Some(false) || wire.status.flag() == Some(false)
    {
        return Err(Error::declined(DeclineReason::InvalidRequest, reply(&wire)));
    }
    let unusable = |detail: String| Error::outcome_unknown(reply(&wire), detail, None);
    let Some(intent_text) = wire.upi_intend.0.as_deref().or(wire.qr_code.0.as_deref()) else {
        return Err(unusable(
            "the QR answer has no UPI intent; a QR may have been created but cannot be checked: do not show it"
                .to_owned(),
        ));
    };
    let upi_intent = UpiIntent::parse(intent_text).map_err(|e| {
        unusable(format!("the QR's UPI intent cannot be read ({e}); do not show it"))
    })?;
    let intent_mismatch = match upi_intent.amount() {
        Ok(Some(am)) if am == amount => None,
        Ok(Some(am)) => {
            Some(format!("asked for {amount}, the UPI intent says am={}", am.to_shortest_string()))
        }
        Ok(None) => Some(format!("asked for {amount}, the UPI intent has no am")),
        Err(e) => Some(format!("asked for {amount}: {e}")),
    };
    let paid_mismatch = || {
        let paid = wire.payment_amount.as_ref()?;
        (paid.to_money(Currency::Inr).ok() != Some(amount))
            .then(|| format!("asked for {amount}, PaymentAmount is {:?}", paid.as_str()))
    };
    if let Some(detail) = intent_mismatch.or_else(paid_mismatch) {
        return Err(unusable(format!(
            "QR created for a different amount; do not show it ({detail})"
        )));
    }
    Ok(DynamicQr {
        id: wire.id.0,
        reference: wire.txn_reference.0,
        upi_intent,
        amount,
        created_at: wire.created.0,
        expires_at: wire.expires.0,
        status: wire.status.0.or(wire.outcome.0),
        virtual_vpa: wire.virtual_vpa.0,
        message: wire.message.0,
        raw: raw_json(raw),
    })
}

/// The response JSON (BOS never echoes our credentials; the registration id is masked anyway).
/// The received bytes, shared not copied; masked and parsed only if someone looks.
fn raw_json(raw: &RawResponse) -> RawJson {
    RawJson::new(raw.body().clone(), &["RegistrationID"])
}
