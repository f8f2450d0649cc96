//! BoostConnect AOC, server side: form-encoded refunds with partial amounts and `spTransID` idempotency.
//!
//! Decisions where the pages are silent (also in the README): an unknown `aocTransID` is `AOC0001`
//! (invalid parameter); a refund that would take the total past the charge is `AOC1015` (amount limit);
//! a JSON body is `AOC0001`. Every answer is HTTP 200, as the page shows.

use std::collections::HashMap;

use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::fault::Provider;
use crate::money;
use crate::seed;
use crate::state::{Answer, Reply, State};

fn denied(aoc_trans_id: &str, code: &str, message: &str) -> Value {
    json!({"data": {
        "aocTransID": aoc_trans_id,
        "transactionOperationStatus": "denied",
        "amountRefunded": "0.00",
        "clientCorrelator": "",
        "errorCode": code,
        "errorMessage": message,
    }})
}

/// Parses the form body; `None` when the request is not form-urlencoded.
fn form(headers: &HeaderMap, body: &[u8]) -> Option<HashMap<String, String>> {
    let ct = headers.get(axum::http::header::CONTENT_TYPE)?.to_str().ok()?;
    if !ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    Some(url::form_urlencoded::parse(body).into_owned().collect())
}

/// Common checks; `Err` carries the answer.
fn authorize(
    headers: &HeaderMap,
    body: &[u8],
    fields: &[&str],
) -> Result<HashMap<String, String>, Reply> {
    let Some(f) = form(headers, body) else {
        return Err(Reply::ok(&denied(
            "",
            "AOC0001",
            "Invalid parameter: body must be application/x-www-form-urlencoded",
        )));
    };
    let echo = f.get("aocTransID").cloned().unwrap_or_default();
    for name in fields {
        if f.get(*name).is_none_or(|v| v.is_empty()) {
            return Err(Reply::ok(&denied(
                &echo,
                "AOC0001",
                &format!("Invalid parameter: {name} is mandatory"),
            )));
        }
    }
    if f.get("username").map(String::as_str) != Some(seed::AOC_USERNAME)
        || f.get("apiKey").map(String::as_str) != Some(seed::AOC_API_KEY)
    {
        return Err(Reply::ok(&denied(&echo, "AOC0003", "Invalid token")));
    }
    Ok(f)
}

pub(crate) fn refund(state: &mut State, headers: &HeaderMap, body: &[u8]) -> Answer {
    let f = authorize(headers, body, &["apiKey", "username", "spTransID", "aocTransID", "amount"])?;
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let (sp, aoc_id, amount_text) = (get("spTransID"), get("aocTransID"), get("amount"));
    if state.aoc_refunds.contains_key(sp) {
        return Err(Reply::ok(&denied(aoc_id, "AOC1001", "Duplicate spTransID")));
    }
    let Some(amount) = money::parse_exact_two_decimals(amount_text) else {
        return Err(Reply::ok(&denied(
            aoc_id,
            "AOC0001",
            "Invalid parameter: amount must have two decimals, e.g. 1.00",
        )));
    };
    let Some(charge) = state.aoc_charges.get_mut(aoc_id) else {
        return Err(Reply::ok(&denied(
            aoc_id,
            "AOC0001",
            "Invalid parameter: aocTransID not found",
        )));
    };
    let answer = if charge.refunded_minor + amount > charge.amount_minor {
        denied(
            aoc_id,
            "AOC1015",
            "Amount limit exceeded: total refunded would exceed the original charge",
        )
    } else {
        charge.refunded_minor += amount;
        charge.refund_count += 1;
        let n = state.next_id();
        let correlator = format!("AOC-CC-{n:08}");
        tracing::info!(aoc_trans_id = aoc_id, sp_trans_id = sp, amount = amount_text, "aoc refund");
        state.record_refund(Provider::Aoc, aoc_id, amount, sp, &correlator);
        json!({"data": {
            "aocTransID": aoc_id,
            "transactionOperationStatus": "refunded",
            "amountRefunded": money::format_two(amount),
            "clientCorrelator": correlator,
            "errorCode": "00",
            "errorMessage": "",
        }})
    };
    state.aoc_refunds.insert(sp.to_owned(), answer.clone());
    Ok(Reply::ok(&answer))
}

pub(crate) fn refund_status(state: &mut State, headers: &HeaderMap, body: &[u8]) -> Answer {
    let f = authorize(headers, body, &["apiKey", "username", "spTransID"])?;
    let sp = f.get("spTransID").map(String::as_str).unwrap_or_default();
    match state.aoc_refunds.get(sp) {
        Some(v) => Ok(Reply::ok(v)),
        None => Err(Reply::ok(&denied("", "AOC0001", "Invalid parameter: spTransID not found"))),
    }
}
