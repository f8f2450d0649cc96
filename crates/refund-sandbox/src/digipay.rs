//! DigiPay, server side: wallet refunds with `Authorization: Token`, `CompanyID` and a JSON number amount.

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::clock;
use crate::fault::Provider;
use crate::money;
use crate::seed;
use crate::state::{Answer, Reply, State};

fn fail(status: StatusCode, message: &str) -> Reply {
    Reply::json(status, &json!({"success": 0, "error": [1], "data": {"message": message}}))
}

/// The body as sent; `txn_amount` is kept as its JSON text so it is parsed exactly.
#[derive(Deserialize)]
struct RefundBody<'a> {
    #[serde(borrow)]
    initial_txn_id: Option<&'a RawValue>,
    #[serde(borrow)]
    txn_amount: Option<&'a RawValue>,
    txn_code: Option<Value>,
    payment_mode: Option<Value>,
    note: Option<Value>,
}

fn token_ok(state: &State, headers: &HeaderMap) -> bool {
    let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, token)) = auth.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("token") && !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let token = token.trim();
    token == seed::DIGIPAY_TOKEN
        || state.digipay_tokens.get(token).is_some_and(|exp| *exp * 1000 > clock::now_ms())
}

pub(crate) fn refund(state: &mut State, headers: &HeaderMap, body: &[u8]) -> Answer {
    if !token_ok(state, headers) {
        return Err(fail(StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    }
    // Header names are case-insensitive (white-label twins send `companyid`); `HeaderMap` already is.
    if headers.get("companyid").and_then(|v| v.to_str().ok()).map(str::trim)
        != Some(seed::DIGIPAY_COMPANY_ID)
    {
        return Err(fail(StatusCode::UNAUTHORIZED, "INVALID_COMPANY"));
    }
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json_ct {
        return Err(fail(StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    }
    let Ok(b) = serde_json::from_slice::<RefundBody<'_>>(body) else {
        return Err(fail(StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    };
    let Some(txn_id) = b.initial_txn_id.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
    else {
        return Err(fail(StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    };
    // A JSON number only: a string "100" starts with a quote and fails here.
    let Some(amount) = b.txn_amount.and_then(|r| money::parse_decimal(r.get())) else {
        return Err(fail(StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    };
    let types_ok = matches!(b.txn_code, Some(Value::String(ref s)) if !s.is_empty())
        && matches!(b.payment_mode, Some(Value::Number(ref n)) if n.is_i64() || n.is_u64())
        && matches!(b.note, None | Some(Value::String(_)));
    if !types_ok {
        return Err(fail(StatusCode::BAD_REQUEST, "BAD_REQUEST"));
    }
    let Some(txn) = state.digipay_txns.get_mut(&txn_id) else {
        return Err(fail(StatusCode::NOT_FOUND, "TRANSACTION_NOT_FOUND"));
    };
    if txn.refunded_minor + amount > txn.amount_minor {
        return Err(fail(StatusCode::BAD_REQUEST, "REFUND_AMOUNT_EXCEEDS_TRANSACTION_AMOUNT"));
    }
    txn.refunded_minor += amount;
    txn.refund_count += 1;
    let n = state.next_id();
    let refund_txn_id = format!("{:032x}", 0xd161_0000_0000_u64 + n);
    tracing::info!(initial_txn_id = %txn_id, amount = %money::format_two(amount), "digipay refund");
    // The note is the only field that can carry the caller's own reference for the refund.
    let note = match &b.note {
        Some(Value::String(note)) => note.as_str(),
        _ => "",
    };
    state.record_refund(Provider::Digipay, &txn_id, amount, note, &refund_txn_id);
    Ok(Reply::ok(&json!({
        "success": 1,
        "error": [],
        "data": {
            "message": "Money successfully refunded",
            "transaction": {
                "txn_id": refund_txn_id,
                "txn_number": format!("DPRF{n:010}"),
                "txn_status": 1,
            }
        }
    })))
}

pub(crate) fn authenticate(state: &mut State, headers: &HeaderMap) -> Answer {
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Basic ").map(str::to_owned))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let expected = format!("{}:{}", seed::DIGIPAY_CLIENT_ID, seed::DIGIPAY_CLIENT_SECRET);
    if creds.as_deref() != Some(expected.as_str()) {
        return Err(fail(StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    }
    let n = state.next_id();
    let token = format!("sandbox-digipay-session-{n:06}");
    let expiry = clock::now_ms() / 1000 + 3600;
    state.digipay_tokens.insert(token.clone(), expiry);
    Ok(Reply::ok(
        &json!({"data": {"access_token": token, "expiry_time": clock::utc_plain(expiry)}}),
    ))
}
