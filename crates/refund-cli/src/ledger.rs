//! The refund ledger from the command line: where it is, how its records print, and
//! `refund ledger list|show|export|resolve`.

use std::io::Write;
use std::time::{Duration, SystemTime};

use refund::ledger::{IntentRecord, IntentState, Ledger, ListFilter, Resolution};
use serde_json::{Map, Value, json};

use crate::cli::{Global, LedgerCommand};
use crate::error::CliError;
use crate::output::Success;

/// The variable naming the ledger (the `--ledger` flag wins).
pub(crate) const ENV_LEDGER: &str = "REFUND_LEDGER_URL";

/// Where the ledger is: `--ledger`, else `REFUND_LEDGER_URL`, else `ledger.sqlite` in the
/// platform's data directory. No home directory: a configuration error naming both.
pub(crate) fn location(global: &Global) -> Result<String, CliError> {
    if let Some(url) = global.ledger.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        return Ok(url.to_owned());
    }
    directories::ProjectDirs::from("", "", "refund")
        .map(|dirs| dirs.data_dir().join("ledger.sqlite").display().to_string())
        .ok_or_else(|| {
            CliError::config(format!(
                "no place for the refund ledger: pass --ledger URL or set {ENV_LEDGER} (there is \
                 no home directory for the default)"
            ))
        })
}

/// Opens the ledger (creating a SQLite file and its folder on first use).
pub(crate) async fn open(global: &Global) -> Result<Ledger, CliError> {
    Ledger::builder(location(global)?)
        .lease(lease(global.timeout))
        .open()
        .await
        .map_err(CliError::from)
}

/// How long this process holds an intent it sends: the client's whole deadline (three attempts
/// of `--timeout` and the backoff between them) with room to spare, so that the ledger never
/// cuts a request short. Not the ledger's default five minutes: after a crash (`kill -9`), the
/// intents it left `sending` are settled by the next run once their lease is over.
fn lease(timeout: Duration) -> Duration {
    timeout.saturating_mul(4).saturating_add(Duration::from_secs(2))
}

/// An intent as a command's result: the ledger's state is the `status`.
pub(crate) fn success(operation: &str, record: &IntentRecord) -> Success {
    let mut success = Success::new(&record.provider, operation, record.state.as_str())
        .field("refund_id", record.refund_id.clone())
        .field("reference", Some(record.reference.as_str()))
        .field("original_transaction_id", Some(record.original_transaction_id.as_str()))
        .field("amount", record.amount.map(|m| m.to_fixed_string()))
        .field("currency", record.amount.map(|m| m.currency().code()))
        .field("message", record.message.clone())
        .field("provider_code", record.provider_code.clone())
        .field("idempotency_key", Some(record.idempotency_key.as_str()))
        .value("ledger_id", record.id.into())
        .value("attempts", record.attempts.into())
        .value("replayed", record.replayed.into());
    if record.replayed {
        success = success.note("  (from the ledger: nothing was sent)");
    }
    success
}

/// A record as one JSON object (list, export, batch lines).
pub(crate) fn record_json(record: &IntentRecord) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    put("ledger_id", record.id.into());
    put("idempotency_key", record.idempotency_key.clone().into());
    put("kind", record.kind.as_str().into());
    put("provider", record.provider.clone().into());
    put("original_transaction_id", record.original_transaction_id.clone().into());
    put("acknowledgement", record.acknowledgement.clone().into());
    put("amount", record.amount.map(|m| m.to_fixed_string()).into());
    put("currency", record.amount.map(|m| m.currency().code()).into());
    put("charge_amount", record.charge_amount.map(|m| m.to_fixed_string()).into());
    put("reference", record.reference.clone().into());
    put("state", record.state.as_str().into());
    put("attempts", record.attempts.into());
    put("refund_id", record.refund_id.clone().into());
    put("provider_code", record.provider_code.clone().into());
    put("message", record.message.clone().into());
    put("last_error_kind", record.last_error_kind.clone().into());
    put("batch", record.batch.as_ref().map(|(id, _)| id.clone()).into());
    put("batch_row", record.batch.as_ref().map(|(_, row)| *row).into());
    put("created_at", rfc3339(record.created_at).into());
    put("updated_at", rfc3339(record.updated_at).into());
    map
}

/// The columns of `refund ledger export --format csv`, in order.
const EXPORT_COLUMNS: [&str; 20] = [
    "ledger_id",
    "idempotency_key",
    "kind",
    "provider",
    "original_transaction_id",
    "acknowledgement",
    "amount",
    "currency",
    "charge_amount",
    "reference",
    "state",
    "attempts",
    "refund_id",
    "provider_code",
    "message",
    "last_error_kind",
    "batch",
    "batch_row",
    "created_at",
    "updated_at",
];

pub(crate) fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// `--since`: a date (midnight UTC) or an RFC 3339 time.
fn parse_since(text: &str) -> Result<SystemTime, CliError> {
    let text = text.trim();
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_owned() };
    humantime::parse_rfc3339_weak(&full).map_err(|_| {
        CliError::invalid(
            "since",
            format!("{text:?} is not a date like 2026-12-01 or 2026-12-01T09:30:00Z"),
        )
    })
}

/// How many intents a page of `list`/`export` reads at a time: memory stays flat.
const PAGE: u32 = 1000;

/// Every intent `filter` selects, page by page, handed to `each`.
pub(crate) async fn each_page(
    ledger: &Ledger,
    filter: ListFilter,
    limit: Option<u32>,
    mut each: impl FnMut(&IntentRecord) -> std::io::Result<()>,
) -> Result<u64, CliError> {
    let (mut seen, mut after) = (0u64, 0i64);
    loop {
        let left = limit
            .map_or(PAGE, |l| PAGE.min(l.saturating_sub(u32::try_from(seen).unwrap_or(u32::MAX))));
        if left == 0 {
            return Ok(seen);
        }
        let page = ledger.list(&filter.clone().after(after).limit(left)).await?;
        for record in &page {
            each(record)
                .map_err(|e| CliError::Internal(format!("cannot write the output: {e}")))?;
            seen += 1;
        }
        match page.last() {
            Some(last) if page.len() == usize::try_from(left).unwrap_or(usize::MAX) => {
                after = last.id
            }
            _ => return Ok(seen),
        }
    }
}

/// `refund ledger ...`; prints as it goes for list and export.
pub(crate) async fn run(
    command: LedgerCommand,
    global: &Global,
) -> Result<Option<Success>, CliError> {
    let ledger = open(global).await?;
    eprintln!("ledger: {}", ledger.location());
    let mut out = std::io::stdout().lock();
    match command {
        LedgerCommand::List { state, provider, since, limit } => {
            let mut filter = ListFilter::new();
            if let Some(state) = state {
                filter = filter.state(state.parse::<IntentState>()?);
            }
            if let Some(provider) = provider {
                filter = filter.provider(provider);
            }
            if let Some(since) = since {
                filter = filter.since(parse_since(&since)?);
            }
            let mut intents = Vec::new();
            let count = each_page(&ledger, filter, limit, |r| {
                if global.json {
                    intents.push(Value::Object(record_json(r)));
                    Ok(())
                } else {
                    writeln!(out, "{}", list_line(r))
                }
            })
            .await?;
            if global.json {
                return Ok(Some(Success::object(
                    json!({"operation": "ledger list", "intents": intents}),
                )));
            }
            eprintln!("{count} intent(s)");
            Ok(None)
        }
        LedgerCommand::Show { id } => {
            let by_id = match id.parse::<i64>() {
                Ok(n) => ledger.get(n).await?,
                Err(_) => None,
            };
            let record = match by_id {
                Some(record) => record,
                None => ledger.by_key(&id).await?.ok_or_else(|| {
                    CliError::from(refund::ledger::LedgerError::NotFound(id.clone()))
                })?,
            };
            let events = ledger.events(record.id).await?;
            let mut json = record_json(&record);
            let events_json: Vec<Value> = events
                .iter()
                .map(|e| {
                    json!({
                        "at": rfc3339(e.at),
                        "from": e.from.map(|s| s.as_str()),
                        "to": e.to.as_str(),
                        "attempt": e.attempt,
                        "error_kind": e.error_kind,
                        "provider_code": e.provider_code,
                        "detail": e.detail,
                    })
                })
                .collect();
            let mut text = String::new();
            for (key, value) in &json {
                if !value.is_null() {
                    text.push_str(&format!(
                        "{key}: {}\n",
                        value.as_str().map_or_else(|| value.to_string(), str::to_owned)
                    ));
                }
            }
            text.push_str("events:\n");
            for e in &events {
                text.push_str(&format!(
                    "  {}  {} → {}  attempt {}{}{}\n",
                    rfc3339(e.at),
                    e.from.map_or("(new)", |s| s.as_str()),
                    e.to,
                    e.attempt,
                    e.error_kind.as_deref().map(|k| format!("  [{k}]")).unwrap_or_default(),
                    e.detail.as_deref().map(|d| format!("  {d}")).unwrap_or_default(),
                ));
            }
            json.insert("events".into(), Value::Array(events_json));
            json.insert("operation".into(), "ledger show".into());
            Ok(Some(Success::object(Value::Object(json)).with_text(text)))
        }
        LedgerCommand::Export { format } => {
            let csv_out = format == "csv";
            let mut writer = csv::Writer::from_writer(std::io::stdout());
            if csv_out {
                writer
                    .write_record(EXPORT_COLUMNS)
                    .map_err(|e| CliError::Internal(e.to_string()))?;
            } else {
                write!(out, "[").map_err(|e| CliError::Internal(e.to_string()))?;
            }
            let mut first = true;
            let count = each_page(&ledger, ListFilter::new(), None, |r| {
                let json = record_json(r);
                if csv_out {
                    let fields = EXPORT_COLUMNS.map(|c| match &json[c] {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    writer.write_record(fields).map_err(std::io::Error::other)
                } else {
                    let sep = if std::mem::take(&mut first) { "\n" } else { ",\n" };
                    write!(out, "{sep}{}", Value::Object(json))
                }
            })
            .await?;
            if csv_out {
                writer.flush().map_err(|e| CliError::Internal(e.to_string()))?;
            } else {
                writeln!(out, "\n]").map_err(|e| CliError::Internal(e.to_string()))?;
            }
            eprintln!("exported {count} intent(s)");
            Ok(None)
        }
        LedgerCommand::Resolve { id, resolution, note } => {
            let resolution = if resolution == "succeeded" {
                Resolution::Succeeded
            } else {
                Resolution::Declined
            };
            let record = ledger.resolve(id, resolution, &note).await?;
            Ok(Some(success("resolve", &record)))
        }
    }
}

/// One intent on one line, for people.
pub(crate) fn list_line(r: &IntentRecord) -> String {
    format!(
        "{:>6}  {:<13} {:<10} {:<20} {:>12} {:<4} {:<28} {}",
        r.id,
        r.state.as_str(),
        r.provider,
        r.original_transaction_id,
        r.amount.map(|m| m.to_fixed_string()).unwrap_or_default(),
        r.amount.map(|m| m.currency().code()).unwrap_or_default(),
        r.idempotency_key,
        r.refund_id.as_deref().unwrap_or(""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_outlasts_three_attempts_and_their_backoff() {
        assert_eq!(lease(Duration::from_secs(30)), Duration::from_secs(122));
        assert_eq!(lease(Duration::from_secs(1)), Duration::from_secs(6));
        assert_eq!(lease(Duration::MAX), Duration::MAX);
        // The ledger waits for an answer until a little before the lease is over (at least
        // three quarters of it): still past three attempts and the 0.2 + 0.4 s between them.
        for ms in [100, 1000, 30_000, 120_000] {
            let timeout = Duration::from_millis(ms);
            assert!(lease(timeout).mul_f64(0.75) > timeout * 3 + Duration::from_millis(600));
        }
    }
}
