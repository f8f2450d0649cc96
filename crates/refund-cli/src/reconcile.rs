//! `refund reconcile`: settle every open intent in the ledger by the providers' status reads.

use refund::ledger::{IntentRecord, IntentState, Ledger, ListFilter, ReconcileChange};
use serde_json::{Map, Value, json};

use crate::cli::{Global, ReconcileArgs};
use crate::env_clients::EnvClients;
use crate::error::CliError;
use crate::ledger;

/// Runs the reconciliation and prints what changed; the exit code is 6 while an intent is still
/// open (unknown, needs review, or being sent by another process), else 0.
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
    let looked_at: Vec<i64> =
        report.changed.iter().chain(&report.unchanged).map(|c| c.record.id).collect();
    // What no status read settles: those a person has still to decide on (from earlier runs),
    // and those another process is sending now.
    let awaiting = open_intents(&ledger, IntentState::NeedsReview, args.provider.as_deref())
        .await?
        .into_iter()
        .filter(|r| !looked_at.contains(&r.id))
        .collect::<Vec<_>>();
    let in_flight = open_intents(&ledger, IntentState::Sending, args.provider.as_deref())
        .await?
        .into_iter()
        .filter(|r| !r.lease_expired() && !looked_at.contains(&r.id))
        .collect::<Vec<_>>();
    let open = report.changed.iter().chain(&report.unchanged).filter(still_open).count()
        + awaiting.len()
        + in_flight.len();
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
            "awaiting_review": awaiting.iter().map(ledger::record_json).collect::<Vec<_>>(),
            "in_flight": in_flight.iter().map(ledger::record_json).collect::<Vec<_>>(),
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
        for record in &awaiting {
            println!("{}: still needs_review", describe_record(record));
            println!("{}", resolve_hint(record.id));
        }
        for record in &in_flight {
            println!(
                "{}: being sent by another process now; reconcile again once it is done",
                describe_record(record)
            );
        }
        eprintln!(
            "reconcile: {} changed, {} unchanged, {} open{}",
            report.changed.len(),
            report.unchanged.len(),
            open,
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
    describe_record(&change.record)
}

fn describe_record(r: &IntentRecord) -> String {
    format!("{} {} {} ({})", r.id, r.provider, r.original_transaction_id, r.idempotency_key)
}

/// Every intent in `state` (of `provider`, if given).
async fn open_intents(
    ledger: &Ledger,
    state: IntentState,
    provider: Option<&str>,
) -> Result<Vec<IntentRecord>, CliError> {
    let mut filter = ListFilter::new().state(state);
    if let Some(provider) = provider {
        filter = filter.provider(provider);
    }
    let mut records = Vec::new();
    ledger::each_page(ledger, filter, None, |r| {
        records.push(r.clone());
        Ok(())
    })
    .await?;
    Ok(records)
}

fn resolve_hint(id: i64) -> String {
    format!(
        "  a person settles it: refund ledger resolve {id} --as succeeded|declined --note 'what the provider's records show'"
    )
}
