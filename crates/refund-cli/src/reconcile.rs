//! `refund reconcile`: settle every open intent in the ledger by the providers' status reads.

use refund::ledger::{IntentState, ReconcileChange};
use serde_json::{Map, Value, json};

use crate::cli::{Global, ReconcileArgs};
use crate::env_clients::EnvClients;
use crate::error::CliError;
use crate::ledger;

/// Runs the reconciliation and prints what changed; the exit code is 6 while an intent it looked
/// at is still unknown or needs review, else 0.
pub(crate) async fn run(args: ReconcileArgs, global: &Global) -> Result<u8, CliError> {
    let ledger = ledger::open(global).await?;
    eprintln!("ledger: {}", ledger.location());
    let clients = EnvClients::from_env(global);
    let providers = clients.available(args.provider.as_deref())?;
    let report = ledger.reconcile(&providers).await?;
    let still_open = |c: &&ReconcileChange| {
        matches!(
            c.record.state,
            IntentState::Unknown | IntentState::NeedsReview | IntentState::Sending
        )
    };
    let open = report.changed.iter().chain(&report.unchanged).filter(still_open).count();
    if global.json {
        let entry = |c: &ReconcileChange| {
            let mut map: Map<String, Value> = ledger::record_json(&c.record);
            map.insert("from".into(), c.from.as_str().into());
            map.insert("detail".into(), c.detail.clone().into());
            Value::Object(map)
        };
        let value = json!({
            "operation": "reconcile",
            "changed": report.changed.iter().map(entry).collect::<Vec<_>>(),
            "unchanged": report.unchanged.iter().map(entry).collect::<Vec<_>>(),
            "skipped": report.skipped,
            "open": open,
        });
        println!("{value}");
    } else {
        for change in &report.changed {
            println!(
                "{}: {} → {}: {}",
                describe(change),
                change.from,
                change.record.state,
                change.detail
            );
            if change.record.state == IntentState::NeedsReview {
                println!("{}", resolve_hint(change.record.id));
            }
        }
        for change in &report.unchanged {
            println!("{}: still {}: {}", describe(change), change.record.state, change.detail);
            if change.record.state == IntentState::NeedsReview {
                println!("{}", resolve_hint(change.record.id));
            }
        }
        eprintln!(
            "reconcile: {} changed, {} unchanged{}",
            report.changed.len(),
            report.unchanged.len(),
            if report.skipped > 0 {
                format!(
                    ", {} skipped (no settings for their provider: set its environment variables)",
                    report.skipped
                )
            } else {
                String::new()
            }
        );
    }
    Ok(if open > 0 { 6 } else { 0 })
}

fn describe(change: &ReconcileChange) -> String {
    let r = &change.record;
    format!("{} {} {} ({})", r.id, r.provider, r.original_transaction_id, r.idempotency_key)
}

fn resolve_hint(id: i64) -> String {
    format!(
        "  a person settles it: refund ledger resolve {id} --as succeeded|declined --note 'what the provider's records show'"
    )
}
