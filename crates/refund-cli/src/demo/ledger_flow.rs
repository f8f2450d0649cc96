//! The demo's ledger section: a batch interrupted and resumed, and an Eko refund whose answer is
//! lost, settled by `reconcile`. Everything happens in a throwaway ledger in a temporary folder.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use refund::Otp;
use refund::ledger::{IntentState, Ledger, ListFilter, OtpRefundIntent};
use refund::{OtpRefundTarget, TransactionId};
use refund_sandbox::{Fault, FaultSpec, Provider, Route, RunningSandbox};

use super::{Log, demo_global, eko_settings};
use crate::batch::{self, Input, Options};
use crate::cli::AocSettings;
use crate::env_clients::EnvClients;
use crate::error::CliError;
use crate::{aoc, otp};

/// The demo batch's charges: seeded by the demo's sandbox, 10.00 MYR each.
pub(super) const BATCH_ROWS: usize = 20;
/// Where the batch is cut off.
const INTERRUPT_AFTER: u64 = 7;
/// A refundable Eko transfer the demo's sandbox adds for this section.
pub(super) const EKO_TID: &str = "13192450";

pub(super) fn charge(row: usize) -> String {
    format!("DEMO-BATCH-{row:02}")
}

fn internal(what: &str) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Internal(format!("{what}: {e}"))
}

pub(super) async fn run(sb: &RunningSandbox, log: &mut Log) -> Result<(), CliError> {
    log.section("The ledger: a batch interrupted and resumed; a lost answer settled by reconcile");
    let folder = tempfile::tempdir().map_err(internal("cannot create a temporary folder"))?;
    // A short lease, so the rerun may settle what the interruption left in flight a second later.
    let ledger = Ledger::builder(folder.path().join("ledger.sqlite").display().to_string())
        .lease(Duration::from_secs(1))
        .open()
        .await?;
    log.text(&format!("    (a throwaway ledger: {})", ledger.location()));
    let global = demo_global(Duration::from_secs(5));
    let settings = AocSettings {
        base_url: Some(sb.aoc_base_url()),
        username: Some(refund_sandbox::seed::AOC_USERNAME.into()),
        api_key: Some(refund_sandbox::seed::AOC_API_KEY.into()),
    };
    let clients = EnvClients::of(Some(aoc::client(&settings, &global)?), None);
    let file = folder.path().join("refunds.csv");
    let rows: String = (1..=BATCH_ROWS).map(|i| format!("aoc,{},2.50\n", charge(i))).collect();
    std::fs::write(&file, format!("provider,original_transaction_id,amount\n{rows}"))
        .map_err(internal("cannot write the demo's CSV"))?;

    // First run: two rows at a time, each answer 100 ms late; it is cut off after 7 rows.
    sb.set_fault(Route::AocRefund, FaultSpec::always(Fault::Latency { ms: 100 }));
    let done = AtomicU64::new(0);
    {
        let options = Options { concurrency: 2, limiters: Default::default() };
        let stop = Arc::new(AtomicBool::new(false));
        let run =
            batch::drive(Input::open(&file)?, &ledger, &clients, &options, &stop, |_, summary| {
                done.store(summary.rows, Ordering::SeqCst);
                Ok(())
            });
        let cut = async {
            // After 7 rows, and while a request is at the sandbox: a crash mid-request.
            while done.load(Ordering::SeqCst) < INTERRUPT_AFTER
                || sb.requests_seen(Route::AocRefund) <= done.load(Ordering::SeqCst)
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        // Whichever ends first; at the cut the batch is dropped mid-flight, as a crash would.
        tokio::select! {
            result = run => { result?; }
            () = cut => {}
        }
    }
    sb.clear_faults();
    let states = states(&ledger).await?;
    log.step(
        &format!("run a batch of {BATCH_ROWS} AOC refunds and abort it after {INTERRUPT_AFTER} rows (requests in flight): expect rows left unsent"),
        if states.contains("succeeded") && executed(sb) < BATCH_ROWS {
            Ok(format!("aborted; the ledger holds: {states}"))
        } else {
            Err(format!("the ledger holds: {states}"))
        },
    );

    // The rerun: what the abort left in flight is settled by a status read, the rest is sent.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let options = Options { concurrency: 4, limiters: Default::default() };
    let stop = Arc::new(AtomicBool::new(false));
    let summary =
        batch::drive(Input::open(&file)?, &ledger, &clients, &options, &stop, |_, _| Ok(()))
            .await?;
    let books = sb.books();
    let once = (1..=BATCH_ROWS).all(|i| {
        books.entry(&charge(i)).is_some_and(|e| e.refunded_minor == 250 && e.refund_count == 1)
    });
    log.step(
        "rerun the same file: expect every row refunded exactly once (finished rows from the ledger)",
        if once && executed(sb) == BATCH_ROWS && summary.by_state.get("succeeded") == Some(&(BATCH_ROWS as u64)) {
            Ok(format!(
                "{} ({} answered from the ledger, no request; {} left in flight settled by status reads first); the sandbox's books: {} through {}, 2.50 of 10.00 MYR refunded each, in 1 refund each",
                summary.counts(),
                summary.from_ledger,
                summary.settled_first,
                charge(1),
                charge(BATCH_ROWS)
            ))
        } else {
            Err(format!("{}; books not refunded exactly once", summary.counts()))
        },
    );

    // An Eko refund whose answer never arrives: recorded as unknown, settled by reconcile.
    let eko = otp::client(&eko_settings(sb), &demo_global(Duration::from_millis(400)))?;
    let intent = OtpRefundIntent::new(
        "demo/eko-lost-answer",
        OtpRefundTarget::new(
            TransactionId::new(EKO_TID).map_err(|e| CliError::sdk("otp-refund", e))?,
        ),
    );
    ledger.send_otp(&eko, &intent).await?;
    let otp = Otp::new(sb.otp(Provider::Eko, EKO_TID).unwrap_or_default())
        .map_err(|e| CliError::sdk("otp-refund", e))?;
    sb.set_fault(Route::EkoRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: Some(1000) }));
    let eko_refunds_before = sb.requests_seen(Route::EkoRefund);
    let lost = ledger.confirm_otp(&eko, intent.idempotency_key(), &otp).await;
    log.step(
        "confirm an Eko refund through the ledger, its answer lost: expect it recorded as unknown",
        match &lost {
            Err(e) if e.record().is_some_and(|r| r.state == IntentState::Unknown) => Ok(format!(
                "{} ({}): recorded as unknown, never to be confirmed again",
                e.kind(),
                e.fate().as_str()
            )),
            other => Err(format!("{other:?}")),
        },
    );
    let report = ledger.reconcile(&[&eko]).await?;
    log.step(
        "refund reconcile: expect Eko's transaction inquiry to settle it as succeeded",
        match report.changed.first() {
            Some(change) if change.record.state == IntentState::Succeeded => Ok(format!(
                "{} → {}: {}; Eko saw one refund request",
                change.from, change.record.state, change.detail
            )),
            _ => Err(format!("{report:?}")),
        }
        .and_then(|ok| match sb.requests_seen(Route::EkoRefund) - eko_refunds_before {
            1 => Ok(ok),
            n => Err(format!("Eko saw {n} refund requests for one intent")),
        }),
    );
    ledger.close().await;
    Ok(())
}

/// The ledger's intents, counted by state.
async fn states(ledger: &Ledger) -> Result<String, CliError> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for record in ledger.list(&ListFilter::new()).await? {
        *counts.entry(record.state.as_str()).or_default() += 1;
    }
    Ok(counts.iter().map(|(state, n)| format!("{n} {state}")).collect::<Vec<_>>().join(", "))
}

/// Refunds the sandbox executed for the demo batch's charges.
fn executed(sb: &RunningSandbox) -> usize {
    sb.executed_refunds().iter().filter(|r| r.original_id.starts_with("DEMO-BATCH-")).count()
}
