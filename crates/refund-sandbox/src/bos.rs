//! BOS Center, server side: refund OTP and claim for failed transfers, status, and dynamic UPI QR codes.
//!
//! Codes follow PROVIDERS.md: 1 success, 2 not found / already refunded, 3 invalid or expired OTP,
//! 4 validation error, 9 authentication (HTTP 401, spelled `responsecode`).

use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use crate::clock;
use crate::fault::Provider;
use crate::money;
use crate::seed;
use crate::state::{Answer, Config, Reply, State};

fn answer(status: bool, code: u8, message: &str) -> Reply {
    Reply::ok(&json!({"status": status, "response_code": code, "message": message}))
}

/// `Err` is the 401 answer when the bearer token is required and missing or wrong.
pub(crate) fn check_token(config: &Config, headers: &HeaderMap) -> Result<(), Reply> {
    if !config.bos_token_required {
        return Ok(());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(str::trim);
    if token == Some(seed::BOS_TOKEN) {
        Ok(())
    } else {
        Err(Reply::json(
            StatusCode::UNAUTHORIZED,
            &json!({"status": false, "responsecode": 9, "message": "Authentication failed."}),
        ))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"))
}

/// The prologue of every JSON route but the QR one: the bearer token, then the named fields as JSON
/// integers; `Err` is the 401 or the code-4 answer.
fn authenticated_numbers<const N: usize>(
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
    names: [&str; N],
) -> Result<[u64; N], Reply> {
    check_token(config, headers)?;
    if !is_json(headers) {
        return Err(answer(false, 4, "Content-Type must be application/json"));
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(answer(false, 4, "Invalid request body"));
    };
    let mut out = [0u64; N];
    for (slot, name) in out.iter_mut().zip(names) {
        match map.get(name).and_then(Value::as_u64) {
            Some(v) => *slot = v,
            None => {
                return Err(answer(false, 4, &format!("{name} is required and must be a number")));
            }
        }
    }
    Ok(out)
}

pub(crate) fn refund_otp(
    state: &mut State,
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let [reference, ackno] =
        authenticated_numbers(config, headers, body, ["referenceid", "ackno"])?;
    match state.bos.get(&reference).filter(|t| t.ackno == ackno) {
        None => return Err(answer(false, 2, "Transaction not found")),
        Some(t) if t.refund_txn_id.is_some() => {
            return Err(answer(false, 2, "Transaction already refunded"));
        }
        Some(_) => {}
    }
    // Drawn only for an eligible transfer, so the OTP sequence of a fresh sandbox is predictable.
    let otp = state.new_otp(config);
    let Some(t) = state.bos.get_mut(&reference) else {
        return Err(answer(false, 2, "Transaction not found"));
    };
    tracing::info!(provider = "bos", referenceid = reference, otp = %otp.text(), "sandbox refund OTP issued");
    t.otp = Some(otp);
    Ok(answer(true, 1, "Refund OTP sent successfully"))
}

pub(crate) fn claim_refund(
    state: &mut State,
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let [reference, ackno, otp] =
        authenticated_numbers(config, headers, body, ["referenceid", "ackno", "otp"])?;
    let n = state.next_id();
    let Some(t) = state.bos.get_mut(&reference).filter(|t| t.ackno == ackno) else {
        return Err(answer(false, 2, "Transaction not found"));
    };
    if t.refund_txn_id.is_some() {
        return Err(answer(false, 2, "Transaction already refunded"));
    }
    let Some(issued) = &t.otp else {
        return Err(answer(false, 3, "No OTP record found: call RefundOTP first"));
    };
    if issued.expires <= Instant::now() {
        return Err(answer(false, 3, "OTP expired"));
    }
    if u64::from(issued.code) != otp {
        return Err(answer(false, 3, "Invalid OTP"));
    }
    let refund_txn_id = format!("BOSRF{n:08}");
    t.otp = None;
    t.refund_txn_id = Some(refund_txn_id.clone());
    t.date_refunded = Some(clock::utc_plain(clock::now_ms() / 1000 + 19_800));
    t.charge.refunded_minor = t.charge.amount_minor;
    t.charge.refund_count += 1;
    let amount = t.charge.amount_minor;
    tracing::info!(provider = "bos", referenceid = reference, "bos refund claimed");
    let reference = reference.to_string();
    state.record_refund(Provider::Bos, &reference, amount, &reference, &refund_txn_id);
    Ok(answer(true, 1, "Transaction Successfully Refunded"))
}

pub(crate) fn status(
    state: &mut State,
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let [reference] = authenticated_numbers(config, headers, body, ["referenceid"])?;
    let Some(t) = state.bos.get(&reference) else {
        return Err(answer(false, 2, "Transaction not found"));
    };
    let refunded = t.refund_txn_id.is_some();
    // Strings and numbers mixed on purpose: the docs warn values may arrive as either.
    Ok(Reply::ok(&json!({
        "status": true,
        "response_code": 1,
        "utr": format!("UTR{reference}"),
        "amount": money::format_short(t.charge.amount_minor),
        "ackno": t.ackno,
        "referenceid": reference.to_string(),
        "account": "XXXXXXXX4321",
        "txn_status": if refunded { "4" } else { "3" },
        "message": if refunded { "Transaction Refunded" } else { "Transaction Failed, Refund Pending" },
        "daterefunded": t.date_refunded.clone().unwrap_or_default(),
        "refundtxnid": t.refund_txn_id.clone().unwrap_or_default(),
        "charges": 0,
    })))
}

fn qr_error(message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({"status": "ERROR", "subCode": "400", "message": message}),
    )
}

pub(crate) fn qr(state: &mut State, config: &Config, headers: &HeaderMap, body: &[u8]) -> Answer {
    check_token(config, headers)?;
    if !is_json(headers) {
        return Err(qr_error("Content-Type must be application/json"));
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(qr_error("Invalid request body"));
    };
    let Some(Value::String(amount_text)) = map.get("amount") else {
        return Err(qr_error("amount is required and must be a string"));
    };
    let Some(amount) = money::parse_decimal(amount_text) else {
        return Err(qr_error("amount must be a positive amount in rupees, e.g. \"10\""));
    };
    if map.get("RegistrationID").and_then(Value::as_str) != Some(seed::BOS_REGISTRATION_ID) {
        return Err(qr_error("VPA does not exist for the account provided"));
    }
    let n = state.next_id();
    let now = clock::now_ms() / 1000;
    let am = money::format_short(amount);
    let id = format!("qr_Sbx{n:010}");
    let payment_amount: Value =
        serde_json::from_str(&am).unwrap_or_else(|_| Value::String(am.clone()));
    Ok(Reply::ok(&json!({
        "id": id,
        "txnRefranceID": format!("BOS554V{n:06}"),
        "entity": "qr_code",
        "CreatedDateTime": clock::ist_rfc3339(now),
        "UPIIntend": format!("upi://pay?ver=01&mode=22&pa=sandbox@razorpay&pn=BOSCENTERPRIVATELIMITED&tr=RZP{id}qrv2&cu=INR&mc=8299&qrMedium=04&tn=PaymenttoBOSCENTERPRIVATELIMITED&am={am}"),
        "PaymentAmount": payment_amount,
        "status": "active",
        "ExpireDateTime": clock::ist_rfc3339(now + 293),
        "Status": "True",
        "message": "QR Code Generated",
        "Value": "",
    })))
}
