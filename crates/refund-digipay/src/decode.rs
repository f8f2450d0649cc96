//! DigiPay's answers read into a refund, a token, or an error.

use std::time::{Duration, SystemTime};

use refund_core::http::HeaderValue;
use refund_core::{
    DEFAULT_TOKEN_LIFETIME, DeclineReason, Error, FetchedToken, ProviderReply, RawJson,
    RawResponse, RefundRecord, RefundStatus, Result, redact_json,
};

use crate::auth::{AUTHENTICATE, MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};
use crate::client::{PROVIDER, REFUND_MONEY};
use crate::model::{TxnStatus, WalletRefund, WalletRefundRequest};
use crate::wire::{self, RefundReply, Success, TokenReply, text_of};

/// The answer to `wallet_refund_money`. An outcome-unknown error gets [`with_reconcile_hint`]
/// from the client, whatever the step it ends at.
pub(crate) fn decode_refund(
    raw: &RawResponse,
    request: &WalletRefundRequest,
) -> Result<WalletRefund> {
    let status = raw.status();
    let parsed = RefundReply::read(raw.body(), status);
    let reply = || reply_of(raw, parsed.as_ref().ok());
    let body = raw.preamble(&REFUND_MONEY, parsed.as_ref(), reply)?;
    let declined = || Error::declined(decline_reason(status, body.message().as_deref()), reply());
    if !raw.is_success() {
        // A 4xx is a definite rejection, JSON or not; the raw text stays in the body excerpt.
        return Err(declined());
    }
    let unknown = |detail: &str| Error::outcome_unknown(reply(), detail, None);
    match body.success() {
        Success::Yes if body.error_codes().is_empty() => Ok(success(raw, body, request)),
        Success::Yes => Err(unknown("the reply says success 1 but also lists errors")),
        Success::No => Err(declined()),
        Success::Unreadable => Err(unknown("the reply has no readable success flag")),
    }
}

/// Adds to an outcome-unknown error that there is nothing the SDK can check.
pub(crate) fn with_reconcile_hint(error: Error) -> Error {
    match error {
        Error::OutcomeUnknown { reply, detail, source } => {
            Error::OutcomeUnknown { reply, detail: format!("{detail}; {RECONCILE_HINT}"), source }
        }
        other => other,
    }
}

const RECONCILE_HINT: &str = "DigiPay has no status endpoint and no idempotency key, so the SDK \
     cannot check or safely resend this refund: reconcile with DigiPay (by initial_txn_id) before \
     retrying";

/// The reply an error carries: status and body excerpt, with DigiPay's codes and message.
fn reply_of(raw: &RawResponse, parsed: Option<&RefundReply>) -> ProviderReply {
    let mut reply = raw.reply(&REFUND_MONEY);
    if let Some(parsed) = parsed {
        let codes = parsed.error_codes();
        if !codes.is_empty() {
            reply = reply.with_code(codes.join(","));
        }
        if let Some(message) = parsed.message() {
            reply = reply.with_message(message);
        }
    }
    reply
}

fn success(raw: &RawResponse, parsed: &RefundReply, request: &WalletRefundRequest) -> WalletRefund {
    let txn = parsed.transaction();
    let text = |field: Option<&serde_json::Value>| field.and_then(text_of);
    let txn_id = text(txn.and_then(|t| t.txn_id.as_ref()));
    let txn_number = text(txn.and_then(|t| t.txn_number.as_ref()));
    let txn_status = txn.and_then(|t| t.txn_status_code()).map(TxnStatus::from_code);
    let message = parsed.message();
    let amount = txn
        .and_then(|t| t.txn_amount.as_ref())
        .and_then(|a| a.to_money(request.amount.currency()).ok())
        .unwrap_or(request.amount);
    // The received bytes, shared not copied; masked and parsed only if someone looks.
    let raw_json = RawJson::new(raw.body().clone(), &["access_token"]);
    let mut record = RefundRecord::new(PROVIDER, RefundStatus::Succeeded)
        .with_original_transaction_id(request.initial_txn_id.as_str())
        .with_amount(amount)
        .with_raw(raw_json);
    record.refund_id.clone_from(&txn_id);
    record.provider_code = txn_status.map(|status| status.code().to_string());
    record.message.clone_from(&message);
    WalletRefund { txn_id, txn_number, txn_status, message, record }
}

/// DigiPay's failure messages are upper-snake words (`BAD_REQUEST`); read what they say, then the
/// HTTP status.
fn decline_reason(status: u16, message: Option<&str>) -> DeclineReason {
    let m = message.unwrap_or_default().to_ascii_uppercase().replace(' ', "_");
    if m.contains("NOT_FOUND") {
        DeclineReason::TransactionNotFound
    } else if m.contains("ALREADY") && m.contains("REFUND") {
        DeclineReason::AlreadyRefunded
    } else if m.contains("EXCEED") || m.contains("LIMIT") {
        DeclineReason::LimitExceeded
    } else if m.contains("INSUFFICIENT") {
        DeclineReason::InsufficientBalance
    } else if status == 404 {
        DeclineReason::TransactionNotFound
    } else if m.contains("BAD_REQUEST") || m.contains("INVALID") || matches!(status, 400 | 422) {
        DeclineReason::InvalidRequest
    } else {
        DeclineReason::Refused
    }
}

/// The token endpoint's reply, `access_token` masked; a 2xx that is not JSON may hold the token
/// in any shape, so only its size is shown.
fn token_reply(raw: &RawResponse) -> ProviderReply {
    let body = raw.body();
    let shown = match redact_json(body, &["access_token"]) {
        Some(value) => value.to_string(),
        None if raw.is_success() => format!("<{} bytes, not JSON>", body.len()),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    AUTHENTICATE.reply().with_http_status(raw.status()).with_body_excerpt(shown.as_bytes())
}

/// The answer to `auth/authenticate`. Every failure leaves the refund unsent.
pub(crate) fn decode_token(raw: &RawResponse, now: SystemTime) -> Result<FetchedToken> {
    let status = raw.status();
    let reply = || token_reply(raw);
    let not_sent = |detail: String| {
        Error::unavailable(reply(), format!("{detail}; the refund was not sent"), None)
    };
    // DigiPay's difference from the preamble: any 4xx refuses our client id and secret, and a
    // 3xx is not an answer.
    match status {
        400..=499 => return Err(Error::auth(reply())),
        300..=399 => return Err(not_sent(format!("the token endpoint answered HTTP {status}"))),
        _ => {}
    }
    let parsed = serde_json::from_slice::<TokenReply>(raw.body());
    let data = raw.preamble(&AUTHENTICATE, parsed, reply)?.data;
    let Some(data) = data else {
        return Err(not_sent("the token endpoint's answer is not the expected JSON".into()));
    };
    let Some(token) = data.access_token.filter(|t| !t.trim().is_empty()) else {
        return Err(not_sent("the token endpoint's answer has no access_token".into()));
    };
    if HeaderValue::from_str(&token).is_err() {
        return Err(not_sent("the token endpoint returned a token that cannot be sent".into()));
    }
    let lifetime = token_lifetime(data.expiry_time.as_deref(), now);
    tracing::debug!(lifetime_s = lifetime.as_secs(), "digipay token fetched");
    Ok(FetchedToken::new(token).with_lifetime(lifetime))
}

/// `expiry_time` (read as UTC) minus now, clamped to [`MIN_TOKEN_LIFETIME`]..=[`MAX_TOKEN_LIFETIME`];
/// the core default (600 s) when it is missing or unreadable.
fn token_lifetime(expiry_time: Option<&str>, now: SystemTime) -> Duration {
    let Some(text) = expiry_time else {
        tracing::warn!("the DigiPay token has no expiry_time; assuming the default lifetime");
        return DEFAULT_TOKEN_LIFETIME;
    };
    let Some(expires_at) = wire::parse_expiry_time(text) else {
        tracing::warn!(
            expiry_time = text,
            "unreadable DigiPay expiry_time; assuming the default lifetime"
        );
        return DEFAULT_TOKEN_LIFETIME;
    };
    match expires_at.duration_since(now) {
        Ok(lifetime) => lifetime.clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME),
        Err(_) => {
            tracing::warn!(
                expiry_time = text,
                "the DigiPay token's expiry_time (read as UTC) is already past; using it for the minimum lifetime"
            );
            MIN_TOKEN_LIFETIME
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: a panic is how a test fails
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn token_lifetime_is_clamped() {
        let now = UNIX_EPOCH + Duration::from_secs(1_706_120_318 - 3600);
        assert_eq!(token_lifetime(Some("2024-01-24 18:18:38"), now), Duration::from_secs(3600));
        assert_eq!(token_lifetime(Some("2024-01-24 17:18:40"), now), MIN_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("2020-01-01 00:00:00"), now), MIN_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("2030-01-01 00:00:00"), now), MAX_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(Some("soon"), now), DEFAULT_TOKEN_LIFETIME);
        assert_eq!(token_lifetime(None, now), DEFAULT_TOKEN_LIFETIME);
    }

    #[test]
    fn decline_reasons() {
        use DeclineReason::*;
        for (status, message, reason) in [
            (400, Some("BAD_REQUEST"), InvalidRequest),
            (400, None, InvalidRequest),
            (404, None, TransactionNotFound),
            (404, Some("TRANSACTION_NOT_FOUND"), TransactionNotFound),
            (400, Some("REFUND_AMOUNT_EXCEEDS_TRANSACTION_AMOUNT"), LimitExceeded),
            (200, Some("Insufficient balance"), InsufficientBalance),
            (200, Some("nope"), Refused),
            (409, Some("Already refunded"), AlreadyRefunded),
        ] {
            assert_eq!(decline_reason(status, message), reason, "{status} {message:?}");
        }
    }
}
