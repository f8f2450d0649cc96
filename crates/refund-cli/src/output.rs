//! What the command prints: text for people, or exactly one JSON object on stdout with `--json`.

use std::io::Write;

use refund::{PreparedRequest, RefundRecord};
use serde_json::{Map, Value, json};

use crate::error::CliError;

/// A successful result: the JSON object and the text shown to people.
#[derive(Debug, Clone)]
pub(crate) struct Success {
    /// `{"provider", "operation", "status", ...}` (or `{"request": ...}` for a dry run).
    pub(crate) json: Map<String, Value>,
    /// Readable lines for text mode.
    pub(crate) text: String,
}

impl Success {
    /// A result of `operation` on `provider` with `status`; add fields with [`Success::field`].
    pub(crate) fn new(provider: &str, operation: &str, status: &str) -> Self {
        let mut json = Map::new();
        json.insert("provider".into(), provider.into());
        json.insert("operation".into(), operation.into());
        json.insert("status".into(), status.into());
        Success { json, text: format!("{provider} {operation}: {status}\n") }
    }

    /// Adds a field to both renderings; `None` is left out of both.
    #[must_use]
    pub(crate) fn field(mut self, key: &str, value: Option<impl Into<String>>) -> Self {
        if let Some(value) = value {
            let value = value.into();
            self.text.push_str(&format!("  {key}: {value}\n"));
            self.json.insert(key.into(), Value::String(value));
        }
        self
    }

    /// Adds a number or flag to both renderings.
    #[must_use]
    pub(crate) fn value(mut self, key: &str, value: Value) -> Self {
        self.text.push_str(&format!("  {key}: {value}\n"));
        self.json.insert(key.into(), value);
        self
    }

    /// A result that is one JSON object as given (its text rendering is the JSON itself, until
    /// [`Success::with_text`] replaces it).
    pub(crate) fn object(value: Value) -> Self {
        let text = format!("{value}\n");
        let json = match value {
            Value::Object(map) => map,
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        Success { json, text }
    }

    /// Replaces the people's rendering.
    #[must_use]
    pub(crate) fn with_text(mut self, text: String) -> Self {
        self.text = text;
        self
    }

    /// Adds the provider's response body (secrets already removed by the SDK), JSON only.
    #[must_use]
    pub(crate) fn raw(mut self, raw: Value) -> Self {
        if !raw.is_null() {
            self.json.insert("raw".into(), raw);
        }
        self
    }

    /// Appends free text to the people's rendering only.
    #[must_use]
    pub(crate) fn note(mut self, text: &str) -> Self {
        self.text.push_str(text);
        if !text.ends_with('\n') {
            self.text.push('\n');
        }
        self
    }

    /// A refund record as the command's result.
    pub(crate) fn from_record(operation: &str, record: &RefundRecord) -> Self {
        Success::new(record.provider, operation, record.status.as_str())
            .field("refund_id", record.refund_id.clone())
            .field("reference", record.reference.clone())
            .field("original_transaction_id", record.original_transaction_id.clone())
            .field("amount", record.amount.map(|m| m.to_fixed_string()))
            .field("currency", record.amount.map(|m| m.currency().code()))
            .field("message", record.message.clone())
            .field("provider_code", record.provider_code.clone())
            .raw(record.raw.to_value())
    }

    /// A dry run: the request that would be sent, secrets masked.
    pub(crate) fn dry_run(request: &PreparedRequest) -> Self {
        let mut json = Map::new();
        json.insert("request".into(), request.to_redacted_json());
        let text = format!(
            "# dry run: nothing was sent; secrets are shown as {}\n{}\n",
            refund::MASK,
            request.to_curl()
        );
        Success { json, text }
    }
}

/// How to print.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    pub(crate) json: bool,
}

impl Printer {
    pub(crate) fn success(&self, success: &Success) {
        let mut out = std::io::stdout().lock();
        let result = if self.json {
            writeln!(out, "{}", Value::Object(success.json.clone()))
        } else {
            write!(out, "{}", success.text)
        };
        // A closed stdout (`refund ... | head`) is not worth a panic.
        let _ = result.and_then(|()| out.flush());
    }

    pub(crate) fn error(&self, error: &CliError) {
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", error_json(error)).and_then(|()| out.flush());
        } else {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error ({}): {error}", error.kind());
            if let Some(hint) = error.hint() {
                let _ = writeln!(err, "  {hint}");
            }
            if let Some(f) = error.follow_up() {
                let _ = writeln!(err, "  refund reference: {}", f.reference);
                let _ = writeln!(err, "  read its status: {}", f.status_command);
                let _ = match f.retry_flag {
                    Some(flag) => writeln!(
                        err,
                        "  to retry, reuse it ({flag} {}) so the provider can recognise a duplicate",
                        f.reference
                    ),
                    None => {
                        writeln!(err, "  do not repeat the refund before the status says it failed")
                    }
                };
            }
        }
    }
}

/// `{"error": {"kind", "message", "provider", "provider_code", "http_status", "reference"}}`;
/// unknown values are null. `reference` is the refund's own reference once one may have been sent.
pub(crate) fn error_json(error: &CliError) -> Value {
    json!({
        "error": {
            "kind": error.kind().as_str(),
            "message": error.to_string(),
            "provider": error.provider(),
            "provider_code": error.provider_code(),
            "http_status": error.http_status(),
            "reference": error
                .follow_up()
                .map(|f| f.reference.as_str())
                .or_else(|| error.record().map(|r| r.reference.as_str())),
            "ledger_id": error.record().map(|r| r.id),
            "idempotency_key": error.record().map(|r| r.idempotency_key.as_str()),
            "state": error.record().map(|r| r.state.as_str()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund::{Currency, Money, RefundStatus};

    #[test]
    fn record_json_shape() {
        let record = RefundRecord::new("aoc", RefundStatus::Succeeded)
            .with_refund_id("R-1")
            .with_amount(Money::from_minor_units(100, Currency::Myr));
        let s = Success::from_record("refund", &record);
        assert_eq!(
            Value::Object(s.json),
            json!({"provider": "aoc", "operation": "refund", "status": "succeeded",
                   "refund_id": "R-1", "amount": "1.00", "currency": "MYR"})
        );
    }

    #[test]
    fn error_json_shape() {
        let reply =
            refund::ProviderReply::new("aoc", "refund").with_http_status(200).with_code("AOC1007");
        let err =
            CliError::sdk("aoc", refund::Error::declined(refund::DeclineReason::Refused, reply));
        let v = error_json(&err);
        assert_eq!(v["error"]["kind"], "declined");
        assert_eq!(v["error"]["provider"], "aoc");
        assert_eq!(v["error"]["provider_code"], "AOC1007");
        assert_eq!(v["error"]["http_status"], 200);
    }
}
