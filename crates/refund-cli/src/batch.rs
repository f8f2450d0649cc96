//! `refund batch FILE.csv`: one refund per row, in order, one result line per row.
//!
//! Columns: `provider,original_transaction_id,amount,reference` (header row required). `provider`
//! is `aoc` or `digipay` (the providers with direct refunds). `reference` is AOC's `spTransID`
//! (generated when empty) and DigiPay's note. Settings come from the environment only; DigiPay
//! rows also need `DIGIPAY_TXN_CODE` and `DIGIPAY_PAYMENT_MODE`. Rows run one after another, never
//! in parallel; a failed row does not stop the batch. The exit code is the highest of the rows'.

use std::io::Write;

use serde_json::Value;

use crate::cli::{AocSettings, BatchArgs, DigipaySettings, Global};
use crate::error::{CliError, missing_setting};
use crate::output::{Success, error_json};
use crate::settings::env;
use crate::{aoc, digipay};

/// One CSV row.
struct Row {
    provider: String,
    original: String,
    amount: String,
    reference: String,
}

pub(crate) async fn run(args: BatchArgs, global: &Global) -> Result<u8, CliError> {
    let bad_file = |reason: String| CliError::Sdk {
        provider: None,
        follow_up: None,
        error: refund::Error::invalid_input("file", reason),
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(&args.file)
        .map_err(|e| bad_file(format!("cannot read {}: {e}", args.file.display())))?;
    let headers = reader.headers().map_err(|e| bad_file(e.to_string()))?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| bad_file(format!("no column {name:?} in the header row")))
    };
    let (p, o, a, r) = (
        column("provider")?,
        column("original_transaction_id")?,
        column("amount")?,
        column("reference")?,
    );
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad_file(format!("row {}: {e}", index + 2)))?;
        let get = |i: usize| record.get(i).unwrap_or("").to_owned();
        rows.push(Row { provider: get(p), original: get(o), amount: get(a), reference: get(r) });
    }

    let total = rows.len();
    let mut worst = 0u8;
    for (index, row) in rows.iter().enumerate() {
        let number = index + 1;
        let result = refund_row(row, global).await;
        let (line, summary) = match &result {
            Ok(success) => {
                let mut json = success.json.clone();
                json.insert("row".into(), number.into());
                let status = json.get("status").and_then(Value::as_str).unwrap_or("").to_owned();
                (Value::Object(json), status)
            }
            Err(err) => {
                worst = worst.max(err.exit_code());
                let mut json = error_json(err);
                if let Some(obj) = json.as_object_mut() {
                    obj.insert("row".into(), number.into());
                }
                (json, format!("{} (exit {}): {err}", err.kind(), err.exit_code()))
            }
        };
        eprintln!("[{number}/{total}] {} {} {}: {summary}", row.provider, row.original, row.amount);
        let mut out = std::io::stdout().lock();
        let _ = if global.json {
            writeln!(out, "{line}")
        } else {
            match &result {
                Ok(success) => write!(out, "row {number}: {}", success.text),
                Err(_) => writeln!(out, "row {number}: error: {summary}"),
            }
        };
    }
    eprintln!("{total} rows done");
    Ok(worst)
}

async fn refund_row(row: &Row, global: &Global) -> Result<Success, CliError> {
    let reference = Some(row.reference.as_str()).filter(|r| !r.is_empty());
    match row.provider.to_ascii_lowercase().as_str() {
        "aoc" => {
            let request = aoc::refund_request(&row.original, &row.amount, reference)?;
            let settings = AocSettings {
                base_url: env("AOC_BASE_URL"),
                username: env("AOC_USERNAME"),
                api_key: env("AOC_API_KEY"),
            };
            let client = aoc::client(&settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(
                    &client.prepare_refund(&request).map_err(|e| CliError::sdk("aoc", e))?,
                ));
            }
            let record = client.refund(&request).await.map_err(|e| CliError::sdk("aoc", e))?;
            Ok(Success::from_record("refund", &record))
        }
        "digipay" => {
            let txn_code = env("DIGIPAY_TXN_CODE").ok_or_else(|| {
                missing_setting(
                    "digipay",
                    "the DigiPay txn code for batch rows",
                    "DIGIPAY_TXN_CODE",
                    "(no flag in batch)",
                )
            })?;
            let mode = env("DIGIPAY_PAYMENT_MODE").ok_or_else(|| {
                missing_setting(
                    "digipay",
                    "the DigiPay payment mode for batch rows",
                    "DIGIPAY_PAYMENT_MODE",
                    "(no flag in batch)",
                )
            })?;
            let mode: u32 = mode.parse().map_err(|_| {
                CliError::sdk(
                    "digipay",
                    refund::Error::config("DIGIPAY_PAYMENT_MODE must be a number"),
                )
            })?;
            let request =
                digipay::refund_request(&row.original, &row.amount, &txn_code, mode, reference)?;
            let settings = DigipaySettings {
                base_url: env("DIGIPAY_BASE_URL"),
                token: env("DIGIPAY_TOKEN"),
                company_id: env("DIGIPAY_COMPANY_ID"),
            };
            let client = digipay::client(&settings, global)?;
            if global.dry_run {
                return Ok(Success::dry_run(
                    &client
                        .prepare_refund_money(&request)
                        .map_err(|e| CliError::sdk("digipay", e))?,
                ));
            }
            let refund =
                client.refund_money(&request).await.map_err(|e| CliError::sdk("digipay", e))?;
            Ok(digipay::success(&refund))
        }
        other => Err(CliError::Sdk {
            provider: None,
            follow_up: None,
            error: refund::Error::invalid_input(
                "provider",
                format!(
                    "{other:?} cannot be batched: use aoc or digipay (OTP refunds need a person)"
                ),
            ),
        }),
    }
}
