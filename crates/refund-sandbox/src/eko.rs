//! Eko (`otp-refund`), server side: signed headers, refund OTP, refund, transaction inquiry.
//!
//! Decisions where the docs are silent (also in the README): a transfer not in `tx_status` 3 answers
//! status 1 ("not eligible"); a body with a missing or mistyped field answers HTTP 400 with status 1;
//! a bad developer key, signature or timestamp answers HTTP 403.

use std::collections::HashMap;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::clock;
use crate::fault::Provider;
use crate::money;
use crate::seed;
use crate::state::{Answer, Config, Reply, State};

/// `base64(HMAC-SHA256(key = base64(access_key) as ASCII, message = timestamp text))`.
pub(crate) fn signature(access_key: &str, timestamp: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.encode(access_key.as_bytes());
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.as_bytes());
    b64.encode(mac.finalize().into_bytes())
}

fn envelope(status: i64, status_id: i64, type_id: i64, message: &str, data: Value) -> Value {
    json!({"status": status, "response_status_id": status_id, "response_type_id": type_id, "message": message, "data": data})
}

fn failure(status: i64, message: &str) -> Reply {
    Reply::ok(&envelope(status, 1, status, message, json!({})))
}

fn bad_request(message: &str) -> Reply {
    Reply::json(StatusCode::BAD_REQUEST, &envelope(1, 1, 1, message, json!({})))
}

fn forbidden(message: &str) -> Reply {
    let mut r = Reply::json(StatusCode::FORBIDDEN, &envelope(403, 1, 403, message, json!({})));
    // hyper adds `Date` to every answer; it is what lets a client measure its clock offset.
    r.headers.push((header::CACHE_CONTROL, header::HeaderValue::from_static("no-store")));
    r
}

/// Checks `developer_key`, `secret-key` and `secret-key-timestamp`.
pub(crate) fn check_headers(config: &Config, headers: &HeaderMap) -> Result<(), Reply> {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    if get("developer_key") != Some(seed::EKO_DEVELOPER_KEY) {
        return Err(forbidden("Invalid developer_key"));
    }
    let (Some(sig), Some(ts)) = (get("secret-key"), get("secret-key-timestamp")) else {
        return Err(forbidden("Missing secret-key or secret-key-timestamp"));
    };
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return Err(forbidden("secret-key-timestamp must be Unix time in milliseconds"));
    };
    if (clock::now_ms() - ts_ms).abs() > config.eko_clock_skew_ms {
        return Err(forbidden("secret-key-timestamp is too far from server time"));
    }
    if sig != signature(seed::EKO_ACCESS_KEY, ts) {
        return Err(forbidden("Invalid secret-key"));
    }
    Ok(())
}

/// The prologue of the two POST routes, run by the router before [`send_otp`] or [`refund`]: the
/// signed headers, then a JSON object body.
pub(crate) fn signed_json_object(
    config: &Config,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Reply> {
    check_headers(config, headers)?;
    let ct_ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"));
    if !ct_ok {
        return Err(bad_request("content-type must be application/json"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(bad_request("Invalid JSON body")),
    }
}

fn string_field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, Reply> {
    m.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request(&format!("{name} must be a string")))
}

fn int_field(m: &Map<String, Value>, name: &str) -> Result<u64, Reply> {
    m.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad_request(&format!("{name} must be an integer")))
}

pub(crate) fn send_otp(
    state: &mut State,
    config: &Config,
    tid: &str,
    m: &Map<String, Value>,
) -> Answer {
    let initiator = string_field(m, "initiator_id")?;
    if initiator != seed::EKO_INITIATOR_ID {
        return Err(failure(319, "Invalid initiator"));
    }
    match state.eko.get(tid) {
        None => return Err(failure(168, "TID does not exist")),
        Some(t) if t.tx_status != 3 => {
            return Err(failure(1, "Transaction is not eligible for refund"));
        }
        Some(_) => {}
    }
    // Drawn only for an eligible transfer, so the OTP sequence of a fresh sandbox is predictable.
    let otp = state.new_otp(config);
    let Some(t) = state.eko.get_mut(tid) else {
        return Err(failure(168, "TID does not exist"));
    };
    tracing::info!(provider = "eko", tid, otp = %otp.text(), otp_ref_id = %otp.ref_id, "sandbox refund OTP issued");
    let ref_id = otp.ref_id.clone();
    t.otp = Some(otp);
    Ok(Reply::ok(&envelope(2133, 1, 2133, "Send OTP", json!({"otp_ref_id": ref_id}))))
}

pub(crate) fn refund(state: &mut State, tid: &str, m: &Map<String, Value>) -> Answer {
    let initiator = string_field(m, "initiator_id")?;
    let user_code = string_field(m, "user_code")?;
    let otp = int_field(m, "otp")?;
    let otp_ref_id = string_field(m, "otp_ref_id")?;
    let service_code = int_field(m, "service_code")?;
    let st = string_field(m, "state")?;
    if service_code != 80 || st != "1" {
        return Err(bad_request("service_code must be 80 and state \"1\""));
    }
    if initiator != seed::EKO_INITIATOR_ID {
        return Err(failure(319, "Invalid initiator"));
    }
    if user_code != seed::EKO_USER_CODE {
        return Err(failure(463, "User not found"));
    }
    let n = state.next_id();
    let Some(t) = state.eko.get_mut(tid) else {
        return Err(failure(168, "TID does not exist"));
    };
    if t.tx_status != 3 {
        return Err(failure(1, "Transaction is not eligible for refund"));
    }
    let Some(issued) = &t.otp else {
        return Err(failure(302, "Wrong OTP"));
    };
    if issued.ref_id != otp_ref_id || u64::from(issued.code) != otp {
        return Err(failure(302, "Wrong OTP"));
    }
    if issued.expires <= Instant::now() {
        return Err(failure(303, "OTP expired"));
    }
    let refund_tid = format!("{}", 2_147_591_636 + n);
    t.otp = None;
    t.tx_status = 4;
    t.refund_tid = Some(refund_tid.clone());
    t.charge.refunded_minor = t.charge.amount_minor;
    t.charge.refund_count += 1;
    let amount = t.charge.amount_minor;
    let fee = 5000; // 50.00 INR, refunded with the amount as in Eko's sample.
    tracing::info!(provider = "eko", tid, refund_tid = %refund_tid, "eko refund done");
    state.record_refund(Provider::Eko, tid, amount, tid, &refund_tid);
    Ok(Reply::ok(&envelope(
        0,
        0,
        74,
        "Refund done",
        json!({
            "refund_tid": refund_tid,
            "tid": tid,
            "amount": money::format_two(amount),
            "refunded_amount": money::format_two(amount + fee),
            "fee": "50.0",
            "tds": "7.1",
            "commission_reverse": "28.38",
            "currency": "INR",
            "balance": "2.22263731286E9",
            "timestamp": clock::utc_rfc3339_ms(clock::now_ms()),
        }),
    )))
}

pub(crate) fn transaction(
    state: &mut State,
    config: &Config,
    headers: &HeaderMap,
    tid: &str,
    query: &HashMap<String, String>,
) -> Answer {
    check_headers(config, headers)?;
    if query.get("initiator_id").map(String::as_str) != Some(seed::EKO_INITIATOR_ID) {
        return Err(failure(319, "Invalid initiator"));
    }
    if query.get("user_code").map(String::as_str) != Some(seed::EKO_USER_CODE) {
        return Err(failure(463, "User not found"));
    }
    let Some(t) = state.eko.get(tid) else {
        return Err(failure(168, "TID does not exist"));
    };
    let desc = match t.tx_status {
        0 => "Success",
        1 => "Fail",
        2 => "Initiated",
        3 => "Refund Pending",
        4 => "Refunded",
        _ => "Hold",
    };
    // Numbers arrive as strings here, as they do from Eko.
    Ok(Reply::ok(&envelope(
        0,
        0,
        69,
        "Transaction Details",
        json!({
            "tid": tid,
            "tx_status": t.tx_status.to_string(),
            "txstatus_desc": desc,
            "amount": money::format_two(t.charge.amount_minor),
            "currency": "INR",
            "refund_tid": t.refund_tid.clone().unwrap_or_default(),
        }),
    )))
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn known_answers() {
        assert_eq!(
            signature("test-access-key-123", "1700000000000"),
            "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="
        );
        assert_eq!(
            signature("TEST_ACCESS_KEY_DO_NOT_USE", "1700000000000"),
            "u30ak/iOGwKCaspqCeiYng8fd98QDx7kF3DBBOadQHk="
        );
    }
}
