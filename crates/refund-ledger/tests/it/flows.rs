//! Direct refunds (AOC, DigiPay) through the ledger: once, replayed, re-sent only when safe,
//! settled by status reads, and the over-refund guard.

use std::sync::Arc;
use std::time::Duration;

use refund_core::{Fate, TransactionId};
use refund_ledger::{IntentState, LedgerError, ListFilter, RefundIntent, Resolution};
use refund_sandbox::{Fault, FaultSpec, Route, seed};

use crate::common::{ANSWER_LOST, Env, NEVER_ARRIVES, TestDb, inr, myr, on_both_backends};

on_both_backends!(
    a_refund_goes_out_once_and_is_replayed_from_the_ledger,
    the_same_key_with_other_parameters_is_a_conflict,
    not_processed_is_sent_again_under_the_same_reference,
    an_unknown_aoc_refund_is_settled_by_its_status_not_sent_again,
    an_aoc_refund_that_never_arrived_is_sent_again_under_the_same_reference,
    an_unknown_digipay_refund_waits_for_a_person,
    the_guard_refuses_over_refunds_and_declines_release_their_hold,
    concurrent_partial_refunds_never_exceed_the_charge,
    the_same_key_from_many_tasks_is_sent_once,
    reserved_rows_are_sent_by_a_later_refund,
    events_are_the_audit_trail,
    list_selects_by_state_provider_and_batch,
);

fn aoc_intent(key: &str, charge: &str, amount: &str) -> RefundIntent {
    RefundIntent::new(key, TransactionId::new(charge).unwrap()).amount(myr(amount))
}

async fn a_refund_goes_out_once_and_is_replayed_from_the_ledger(db: TestDb) {
    let (env, ledger) = db.start().await;
    let intent =
        aoc_intent("order-7/refund-1", seed::AOC_CHARGE_1001, "1.00").charge_amount(myr("10.00"));

    let first = ledger.refund(&env.aoc, &intent).await.unwrap();
    assert_eq!((first.state, first.replayed, first.attempts), (IntentState::Succeeded, false, 1));
    assert!(first.refund_id.is_some(), "{first:?}");
    assert_eq!(first.amount, Some(myr("1.00")));

    let again = ledger.refund(&env.aoc, &intent).await.unwrap();
    assert_eq!((again.id, again.state, again.replayed), (first.id, IntentState::Succeeded, true));
    // Another instance on the same ledger answers from it too.
    let other = db.open().await;
    assert!(other.refund(&env.aoc, &intent).await.unwrap().replayed);

    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 1);
    env.assert_executed_once(&first.reference);
    assert_eq!(env.sandbox.books().entry(seed::AOC_CHARGE_1001).unwrap().refunded_minor, 100);
}

async fn the_same_key_with_other_parameters_is_a_conflict(db: TestDb) {
    let (env, ledger) = db.start().await;
    ledger.refund(&env.aoc, &aoc_intent("k", seed::AOC_CHARGE_1001, "1.00")).await.unwrap();
    for other in [
        aoc_intent("k", seed::AOC_CHARGE_1001, "2.00"),
        aoc_intent("k", seed::AOC_CHARGE_1002, "1.00"),
        aoc_intent("k", seed::AOC_CHARGE_1001, "1.00").note("other"),
    ] {
        let err = ledger.refund(&env.aoc, &other).await.unwrap_err();
        assert!(matches!(err, LedgerError::Conflict { .. }), "{err}");
        assert_eq!(err.fate(), Fate::NotSent);
        assert!(err.to_string().contains("use a new key"), "{err}");
    }
    // Another provider under the same key is a conflict too.
    let digipay = RefundIntent::new("k", TransactionId::new(seed::DIGIPAY_TXN_2001).unwrap())
        .amount(inr("1"));
    assert_eq!(ledger.refund(&env.digipay, &digipay).await.unwrap_err().kind(), "conflict");
    assert_eq!(env.sandbox.total_requests(), 1);
}

async fn not_processed_is_sent_again_under_the_same_reference(db: TestDb) {
    let (env, ledger) = db.start().await;
    env.fail_next(Route::AocRefund, Fault::ServiceUnavailable);
    let intent = aoc_intent("retry-me", seed::AOC_CHARGE_1002, "2.50");

    let err = ledger.refund(&env.aoc, &intent).await.unwrap_err();
    assert_eq!(err.fate(), Fate::NotProcessed, "{err}");
    let record = err.record().unwrap().clone();
    assert_eq!((record.state, record.attempts), (IntentState::NotProcessed, 1));
    assert_eq!(record.last_error_kind.as_deref(), Some("unavailable"));

    let done = ledger.refund(&env.aoc, &intent).await.unwrap();
    assert_eq!((done.state, done.attempts, done.replayed), (IntentState::Succeeded, 2, false));
    assert_eq!(done.reference, record.reference);
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 2);
    env.assert_executed_once(&record.reference);
}

async fn an_unknown_aoc_refund_is_settled_by_its_status_not_sent_again(db: TestDb) {
    let (env, ledger) = db.start().await;
    env.fail_next(Route::AocRefund, ANSWER_LOST);
    let intent = aoc_intent("lost-answer", seed::AOC_CHARGE_1002, "3.00");

    let err = ledger.refund(&env.aoc, &intent).await.unwrap_err();
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
    assert_eq!(err.record().unwrap().state, IntentState::Unknown);

    // The same key again: the status read settles it; nothing is sent again.
    let settled = ledger.refund(&env.aoc, &intent).await.unwrap();
    assert_eq!(
        (settled.state, settled.replayed, settled.attempts),
        (IntentState::Succeeded, true, 1)
    );
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 1);
    assert_eq!(env.sandbox.requests_seen(Route::AocRefundStatus), 1);
    assert_eq!(env.sandbox.executed_refunds().len(), 1);
}

async fn an_aoc_refund_that_never_arrived_is_sent_again_under_the_same_reference(db: TestDb) {
    let (env, ledger) = db.start().await;
    env.fail_next(Route::AocRefund, NEVER_ARRIVES);
    let intent = aoc_intent("never-arrived", seed::AOC_CHARGE_1002, "4.00");

    let err = ledger.refund(&env.aoc, &intent).await.unwrap_err();
    assert_eq!(err.fate(), Fate::Unknown, "{err}");

    let report = ledger.reconcile(&[&env.aoc]).await.unwrap();
    assert_eq!(report.changed.len(), 1, "{report:?}");
    assert_eq!(
        (report.changed[0].from, report.changed[0].record.state),
        (IntentState::Unknown, IntentState::NotProcessed)
    );
    assert!(report.changed[0].detail.contains("never arrived"), "{report:?}");
    assert_eq!(env.sandbox.executed_refunds().len(), 0, "reconcile sends nothing");

    let done = ledger.refund(&env.aoc, &intent).await.unwrap();
    assert_eq!((done.state, done.attempts), (IntentState::Succeeded, 2));
    env.assert_executed_once(&done.reference);
}

async fn an_unknown_digipay_refund_waits_for_a_person(db: TestDb) {
    let (env, ledger) = db.start().await;
    env.fail_next(Route::DigipayRefund, ANSWER_LOST);
    let intent = RefundIntent::new("dp-1", TransactionId::new(seed::DIGIPAY_TXN_2002).unwrap())
        .amount(inr("79.10"));

    assert_eq!(ledger.refund(&env.digipay, &intent).await.unwrap_err().fate(), Fate::Unknown);
    let report = ledger.reconcile(&[&env.digipay]).await.unwrap();
    let record = &report.changed[0].record;
    assert_eq!(record.state, IntentState::NeedsReview);
    assert!(report.changed[0].detail.contains("a person"), "{report:?}");

    // Never sent again: the same key answers from the ledger.
    let err = ledger.refund(&env.digipay, &intent).await.unwrap_err();
    assert!(matches!(err, LedgerError::Recorded { .. }), "{err}");
    assert_eq!(err.fate(), Fate::Unknown);
    assert_eq!(env.sandbox.requests_seen(Route::DigipayRefund), 1);

    // The note sent to DigiPay carries the reference a person looks for.
    assert_eq!(env.sandbox.executed_refunds()[0].key, record.reference);
    assert!(ledger.resolve(record.id, Resolution::Succeeded, "  ").await.is_err());
    let resolved = ledger
        .resolve(record.id, Resolution::Succeeded, "seen in DigiPay's dashboard")
        .await
        .unwrap();
    assert_eq!(resolved.state, IntentState::Succeeded);
    assert!(resolved.message.unwrap().contains("seen in DigiPay's dashboard"));
    let last = ledger.events(record.id).await.unwrap().pop().unwrap();
    assert_eq!(last.error_kind.as_deref(), Some("resolved"));
    assert!(last.detail.unwrap().contains("seen in DigiPay's dashboard"));
    assert_eq!(
        ledger.resolve(record.id, Resolution::Declined, "x").await.unwrap_err().kind(),
        "invalid_input"
    );
}

async fn the_guard_refuses_over_refunds_and_declines_release_their_hold(db: TestDb) {
    let (env, ledger) = db.start().await;
    let charge = myr("10.00");
    let part = |key: &str, amount: &str| {
        aoc_intent(key, seed::AOC_CHARGE_1001, amount).charge_amount(charge)
    };
    ledger.refund(&env.aoc, &part("a", "6.00")).await.unwrap();
    let err = ledger.refund(&env.aoc, &part("b", "5.00")).await.unwrap_err();
    assert!(matches!(err, LedgerError::OverRefund { .. }), "{err}");
    assert_eq!(err.fate(), Fate::NotSent);
    assert!(err.to_string().contains("6.00 MYR of its 10.00 MYR"), "{err}");
    assert!(ledger.by_key("b").await.unwrap().is_none(), "a refused intent is not written");
    ledger.refund(&env.aoc, &part("c", "4.00")).await.unwrap();
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 2);

    // AOC-CHARGE-1003 is 5.00 in the provider's books; told 20.00, the ledger lets 6.00 through
    // and AOC declines it. The decline gives the hold back: 15.00 then fits under 20.00.
    let wrong = |key: &str, amount: &str| {
        aoc_intent(key, seed::AOC_CHARGE_1003, amount).charge_amount(myr("20.00"))
    };
    let declined = ledger.refund(&env.aoc, &wrong("d", "6.00")).await.unwrap_err();
    assert_eq!(
        (declined.fate(), declined.record().unwrap().state),
        (Fate::Declined, IntentState::Declined)
    );
    let second = ledger.refund(&env.aoc, &wrong("e", "15.00")).await.unwrap_err();
    assert_eq!(second.kind(), "declined", "the first decline released its hold: {second}");

    // Every refund of one charge must name the same charge amount.
    let mismatch =
        ledger.refund(&env.aoc, &part("f", "0.01").charge_amount(myr("11.00"))).await.unwrap_err();
    assert_eq!(mismatch.kind(), "invalid_input", "{mismatch}");
}

async fn concurrent_partial_refunds_never_exceed_the_charge(db: TestDb) {
    let env = Arc::new(Env::start().await);
    let ledger = db.open().await;
    // 40 refunds of 0.50 against a charge the ledger is told is 10.00: exactly 20 fit.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (env, ledger) = (env.clone(), ledger.clone());
            tokio::spawn(async move {
                let intent = aoc_intent(&format!("part-{i}"), seed::AOC_CHARGE_1002, "0.50")
                    .charge_amount(myr("10.00"));
                ledger.refund(&env.aoc, &intent).await
            })
        })
        .collect();
    let mut refunded = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(record) => refunded += record.amount.unwrap().minor_units(),
            Err(LedgerError::OverRefund { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(refunded, 1000);
    assert_eq!(env.sandbox.books().entry(seed::AOC_CHARGE_1002).unwrap().refunded_minor, 1000);
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 20);
}

async fn the_same_key_from_many_tasks_is_sent_once(db: TestDb) {
    let env = Arc::new(Env::start().await);
    env.sandbox.set_fault(Route::AocRefund, FaultSpec::always(Fault::Latency { ms: 100 }));
    let ledger = db.open().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (env, ledger) = (env.clone(), ledger.clone());
            tokio::spawn(async move {
                ledger.refund(&env.aoc, &aoc_intent("one-key", seed::AOC_CHARGE_1001, "1.00")).await
            })
        })
        .collect();
    let (mut sent, mut in_progress, mut replayed) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(record) if !record.replayed => sent += 1,
            Ok(_) => replayed += 1,
            Err(LedgerError::InProgress { .. }) => in_progress += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(sent, 1, "in progress {in_progress}, replayed {replayed}");
    assert_eq!(sent + in_progress + replayed, 16);
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 1);
}

async fn reserved_rows_are_sent_by_a_later_refund(db: TestDb) {
    let (env, ledger) = db.start().await;
    let rows = [
        aoc_intent("row-1", seed::AOC_CHARGE_1001, "1.00").batch("b.csv", 1),
        aoc_intent("row-2", seed::AOC_CHARGE_1002, "2.00").batch("b.csv", 2),
        aoc_intent("row-1", seed::AOC_CHARGE_1001, "9.00").batch("b.csv", 3),
    ];
    let provider: &dyn refund_core::Provider = &env.aoc;
    let results = ledger.reserve_all(rows.iter().map(|r| (provider, r))).await.unwrap();
    assert_eq!(results[0].as_ref().unwrap().state, IntentState::Reserved);
    assert!(!results[0].as_ref().unwrap().replayed);
    assert_eq!(results[1].as_ref().unwrap().batch, Some(("b.csv".to_owned(), 2)));
    assert_eq!(results[2].as_ref().unwrap_err().kind(), "conflict");
    assert_eq!(env.sandbox.total_requests(), 0, "reserving sends nothing");

    for row in &rows[..2] {
        let record = ledger.refund(&env.aoc, row).await.unwrap();
        assert_eq!((record.state, record.replayed), (IntentState::Succeeded, false));
    }
    let again = ledger.reserve_all(rows[..2].iter().map(|r| (provider, r))).await.unwrap();
    assert!(
        again
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| r.replayed && r.state == IntentState::Succeeded))
    );
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), 2);
}

async fn events_are_the_audit_trail(db: TestDb) {
    let (env, ledger) = db.start().await;
    env.fail_next(Route::AocRefund, Fault::ServiceUnavailable);
    let intent = aoc_intent("audited", seed::AOC_CHARGE_1001, "1.00");
    let _ = ledger.refund(&env.aoc, &intent).await.unwrap_err();
    let record = ledger.refund(&env.aoc, &intent).await.unwrap();
    let events = ledger.events(record.id).await.unwrap();
    let path: Vec<_> =
        events.iter().map(|e| (e.from.map(|s| s.as_str()), e.to.as_str(), e.attempt)).collect();
    assert_eq!(
        path,
        [
            (None, "reserved", 0),
            (Some("reserved"), "sending", 1),
            (Some("sending"), "not_processed", 1),
            (Some("not_processed"), "sending", 2),
            (Some("sending"), "succeeded", 2),
        ]
    );
    assert_eq!(events[2].error_kind.as_deref(), Some("unavailable"));
    assert!(events.windows(2).all(|w| w[0].id < w[1].id && w[0].at <= w[1].at));
    // Append-only: the database itself refuses to rewrite history.
    assert!(
        crate::common::raw_execute(&db, "UPDATE refund_events SET detail = 'x'").await.is_err()
    );
    assert!(crate::common::raw_execute(&db, "DELETE FROM refund_events").await.is_err());
}

async fn list_selects_by_state_provider_and_batch(db: TestDb) {
    let (env, ledger) = db.start().await;
    let provider: &dyn refund_core::Provider = &env.aoc;
    let rows: Vec<_> = (1..=5)
        .map(|i| aoc_intent(&format!("l-{i}"), seed::AOC_CHARGE_1002, "0.10").batch("list.csv", i))
        .collect();
    ledger.reserve_all(rows.iter().map(|r| (provider, r))).await.unwrap();
    ledger.refund(&env.aoc, &rows[0]).await.unwrap();
    let dp = RefundIntent::new("l-dp", TransactionId::new(seed::DIGIPAY_TXN_2001).unwrap())
        .amount(inr("1"));
    ledger.refund(&env.digipay, &dp).await.unwrap();

    let keys = |records: Vec<refund_ledger::IntentRecord>| {
        records.into_iter().map(|r| r.idempotency_key).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(ledger.list(&ListFilter::new().state(IntentState::Succeeded)).await.unwrap()),
        ["l-1", "l-dp"]
    );
    assert_eq!(keys(ledger.list(&ListFilter::new().provider("digipay")).await.unwrap()), ["l-dp"]);
    assert_eq!(ledger.list(&ListFilter::new().batch("list.csv")).await.unwrap().len(), 5);
    let page = ledger.list(&ListFilter::new().limit(2)).await.unwrap();
    assert_eq!(keys(page.clone()), ["l-1", "l-2"]);
    assert_eq!(
        keys(ledger.list(&ListFilter::new().after(page[1].id).limit(2)).await.unwrap()),
        ["l-3", "l-4"]
    );
    let future = std::time::SystemTime::now() + Duration::from_secs(3600);
    assert!(ledger.list(&ListFilter::new().since(future)).await.unwrap().is_empty());
}
