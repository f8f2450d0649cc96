//! Instances: several processes share one ledger (a PostgreSQL database, or one SQLite file) and
//! submit refunds at once. The same intents from every process go out once each; partial refunds
//! of one charge from every process never take more than the charge, and the ledger's guard
//! refuses the excess before the provider has to.
//!
//! The processes are this test binary run again (`process::child`), against the sandbox
//! running here, in the parent.

use std::collections::HashSet;
use std::ops::Range;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use refund_core::TransactionId;
use refund_ledger::{IntentState, Ledger, LedgerError, ListFilter, RefundIntent};
use refund_sandbox::{ExecutedRefund, OriginalTransaction, Route, Sandbox};

use crate::common::{Clients, Env, TestDb, myr, on_both_backends};
use crate::process::{self, ChildProcess, LEDGER_URL, SANDBOX_URL};

on_both_backends!(
    eight_processes_send_each_of_a_thousand_intents_once,
    a_thousand_partial_refunds_of_one_charge_never_exceed_it,
);

/// Intents each process submits at once.
const IN_FLIGHT: usize = 32;
/// The longest a child may take.
const CHILD_LIMIT: Duration = Duration::from_secs(120);
/// Printed by a child when it is done: its [`Tally`] follows.
const RESULT: &str = "INSTANCE-CHILD-RESULT";
/// The child's settings.
const JOB: &str = "INSTANCE_JOB";
const SEED: &str = "INSTANCE_SEED";

/// What a child submits: intents `range` of the kind `job` names.
#[derive(Clone, Debug)]
struct Job {
    kind: JobKind,
    range: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobKind {
    /// Intent `i` refunds 1.00 of its own charge `SAME-i` (10.00 MYR).
    Same,
    /// Intent `i` refunds 0.10 of the one charge [`ONE_CHARGE`] (50.00 MYR).
    Partial,
}

const ONE_CHARGE: &str = "ONE-CHARGE";
const ONE_CHARGE_MINOR: i64 = 5_000;

impl Job {
    fn setting(&self) -> String {
        format!("{:?} {} {}", self.kind, self.range.start, self.range.end)
    }

    fn parse(setting: &str) -> Job {
        let mut words = setting.split(' ');
        let kind = match words.next() {
            Some("Same") => JobKind::Same,
            Some("Partial") => JobKind::Partial,
            other => panic!("job {other:?}"),
        };
        let mut bound = || words.next().unwrap().parse::<usize>().unwrap();
        Job { kind, range: bound()..bound() }
    }

    fn intent(&self, i: usize) -> RefundIntent {
        let (key, charge, amount, whole) = match self.kind {
            JobKind::Same => (format!("same-{i:04}"), same_charge(i), "1.00", "10.00"),
            JobKind::Partial => (format!("part-{i:04}"), ONE_CHARGE.to_owned(), "0.10", "50.00"),
        };
        RefundIntent::new(key, TransactionId::new(charge).unwrap())
            .amount(myr(amount))
            .charge_amount(myr(whole))
    }
}

fn same_charge(i: usize) -> String {
    format!("SAME-{i:04}")
}

/// How a child's submissions ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    /// Sent by this process (`Ok`, not replayed).
    sent: usize,
    /// Answered from the ledger: another process had sent it.
    replayed: usize,
    /// `InProgress`: another process was sending it.
    in_progress: usize,
    /// `OverRefund`: refused by the guard, nothing sent.
    over_refund: usize,
}

impl Tally {
    fn line(&self) -> String {
        format!("{} {} {} {}", self.sent, self.replayed, self.in_progress, self.over_refund)
    }

    fn parse(line: &str) -> Tally {
        let n: Vec<usize> = line.split(' ').map(|n| n.parse().unwrap()).collect();
        Tally { sent: n[0], replayed: n[1], in_progress: n[2], over_refund: n[3] }
    }

    fn add(self, other: Tally) -> Tally {
        Tally {
            sent: self.sent + other.sent,
            replayed: self.replayed + other.replayed,
            in_progress: self.in_progress + other.in_progress,
            over_refund: self.over_refund + other.over_refund,
        }
    }
}

/// Runs one child per job against `env`'s sandbox and the ledger at `url`, all at once, and
/// adds up their tallies. Every child must exit cleanly.
async fn run_children(url: &str, env: &Env, jobs: &[Job]) -> Tally {
    let children: Vec<ChildProcess> = jobs
        .iter()
        .enumerate()
        .map(|(seed, job)| {
            ChildProcess::spawn(
                "instance",
                &[
                    (LEDGER_URL, url.to_owned()),
                    (SANDBOX_URL, env.sandbox.base_url()),
                    (JOB, job.setting()),
                    (SEED, (seed / 2).to_string()),
                ],
            )
        })
        .collect();
    let mut total = Tally::default();
    for mut child in children {
        match tokio::time::timeout(CHILD_LIMIT, child.line(RESULT)).await {
            Ok(Some(line)) => total = total.add(Tally::parse(&line)),
            _ => panic!("a child gave no result; its stderr:\n{}", child.kill().await),
        }
        child.wait(CHILD_LIMIT).await;
    }
    total
}

pub(crate) async fn run_child() {
    let job = Job::parse(&process::setting(JOB));
    let ledger =
        Ledger::builder(process::setting(LEDGER_URL)).max_connections(4).open().await.unwrap();
    let clients = Clients::new(&process::setting(SANDBOX_URL), Duration::from_secs(10));
    // Each process takes the intents in an order of its own, so they meet at every key.
    let mut order: Vec<usize> = job.range.clone().collect();
    fastrand::Rng::with_seed(process::setting(SEED).parse().unwrap()).shuffle(&mut order);
    let results: Vec<_> = futures_util::stream::iter(order)
        .map(|i| {
            let (ledger, clients, intent) = (&ledger, &clients, job.intent(i));
            async move { ledger.refund(&clients.aoc, &intent).await }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let mut tally = Tally::default();
    let mut failed = Vec::new();
    for result in results {
        match result {
            Ok(record) if record.replayed => tally.replayed += 1,
            Ok(_) => tally.sent += 1,
            Err(LedgerError::InProgress { .. }) => tally.in_progress += 1,
            Err(LedgerError::OverRefund { .. }) => tally.over_refund += 1,
            Err(other) => failed.push(other.to_string()),
        }
    }
    process::say(&format!("{RESULT} {}", tally.line()));
    assert!(failed.is_empty(), "{} submissions failed: {failed:#?}", failed.len());
}

async fn eight_processes_send_each_of_a_thousand_intents_once(db: TestDb) {
    const INTENTS: usize = 1_000;
    let charges =
        (0..INTENTS).map(|i| OriginalTransaction::Aoc { id: same_charge(i), amount_minor: 1_000 });
    let env = Env::with(Sandbox::builder().transactions(charges)).await;
    let started = Instant::now();
    let jobs = vec![Job { kind: JobKind::Same, range: 0..INTENTS }; 8];
    let tally = run_children(&db.url, &env, &jobs).await;
    let elapsed = started.elapsed();

    // Exactly one process sent each intent; the others found it sent or being sent.
    assert_eq!(tally.sent, INTENTS, "{tally:?}");
    assert_eq!(tally.sent + tally.replayed + tally.in_progress, 8 * INTENTS, "{tally:?}");
    assert_eq!(tally.over_refund, 0);
    // The sandbox saw one request per intent (AOC would refuse a repeated spTransID, so a
    // second request would show here, not in the log) and executed each once.
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), INTENTS as u64);
    let log = env.sandbox.executed_refunds();
    assert!(ExecutedRefund::repeated_keys(&log).is_empty());
    assert_eq!(log.len(), INTENTS);
    let books = env.sandbox.books();
    for i in 0..INTENTS {
        let entry = books.entry(&same_charge(i)).unwrap();
        assert_eq!((entry.refunded_minor, entry.refund_count), (100, 1), "{}", same_charge(i));
    }
    // And the ledger holds each intent once, succeeded at its first attempt, under the
    // reference the sandbox executed.
    let ledger = db.open().await;
    let records = ledger.list(&ListFilter::new()).await.unwrap();
    assert_eq!(records.len(), INTENTS);
    assert!(records.iter().all(|r| (r.state, r.attempts) == (IntentState::Succeeded, 1)));
    let references: HashSet<&str> = records.iter().map(|r| r.reference.as_str()).collect();
    assert_eq!(references, log.iter().map(|r| r.key.as_str()).collect());
    eprintln!(
        "instances ({}): 8 processes x {INTENTS} intents in {elapsed:.1?}: {tally:?}",
        db.backend
    );
}

async fn a_thousand_partial_refunds_of_one_charge_never_exceed_it(db: TestDb) {
    const REFUNDS: usize = 1_000;
    const PROCESSES: usize = 8;
    let env = Env::with(Sandbox::builder().aoc_charge(ONE_CHARGE, ONE_CHARGE_MINOR)).await;
    let ledger = db.open().await;
    let started = Instant::now();
    let share = REFUNDS / PROCESSES;
    let jobs: Vec<Job> = (0..PROCESSES)
        .map(|p| Job { kind: JobKind::Partial, range: p * share..(p + 1) * share })
        .collect();
    // While they run, what the ledger holds on the charge and what the books show refunded
    // never exceed it.
    let mut samples = 0;
    let sample = async {
        loop {
            let records = ledger.list(&ListFilter::new()).await.unwrap();
            let held: i64 = records
                .iter()
                .filter(|r| r.state.holds_reservation())
                .map(|r| i64::try_from(r.amount.unwrap().minor_units()).unwrap())
                .sum();
            let refunded = env.sandbox.books().entry(ONE_CHARGE).unwrap().refunded_minor;
            assert!(held <= ONE_CHARGE_MINOR && refunded <= ONE_CHARGE_MINOR, "{held} {refunded}");
            samples += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let tally = tokio::select! {
        tally = run_children(&db.url, &env, &jobs) => tally,
        () = sample => unreachable!(),
    };
    let elapsed = started.elapsed();

    // 0.10 each of 50.00: exactly 500 fit. The guard refused the other 500 before sending.
    let fit = usize::try_from(ONE_CHARGE_MINOR / 10).unwrap();
    assert_eq!(tally, Tally { sent: fit, replayed: 0, in_progress: 0, over_refund: REFUNDS - fit });
    // The sandbox was never asked for more than the charge, so it declined nothing (no
    // AOC1015): every request it saw, it executed.
    assert_eq!(env.sandbox.requests_seen(Route::AocRefund), fit as u64);
    assert_eq!(env.sandbox.executed_refunds().len(), fit);
    let entry = env.sandbox.books().entry(ONE_CHARGE).cloned().unwrap();
    assert_eq!((entry.refunded_minor, entry.refund_count), (ONE_CHARGE_MINOR, 500));
    // The ledger's sum is the charge: 500 succeeded, none declined, the refused ones unwritten.
    let records = ledger.list(&ListFilter::new()).await.unwrap();
    assert_eq!(records.len(), fit);
    assert!(records.iter().all(|r| r.state == IntentState::Succeeded), "{records:?}");
    let sum: u64 = records.iter().map(|r| r.amount.unwrap().minor_units()).sum();
    assert_eq!(sum, u64::try_from(ONE_CHARGE_MINOR).unwrap());
    eprintln!(
        "instances ({}): {REFUNDS} partial refunds of one charge from {PROCESSES} processes in {elapsed:.1?} ({samples} samples): {tally:?}",
        db.backend
    );
}
