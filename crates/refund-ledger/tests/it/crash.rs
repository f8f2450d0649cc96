//! Crashes, with processes: a child process refunding through the ledger against the sandbox
//! (which runs here, in the parent) is killed with SIGKILL at every point of its sequence; after
//! each kill the parent reconciles and submits the same keys again, and the sandbox's books must
//! show no refund executed twice and every intent ending as the books say. A second test kills
//! the process that recovers, too. The method is in docs/reliability.md ("Crashes and
//! instances").
//!
//! The child is this test binary run again (`process::child`). It stops itself at its kill point:
//! a `tracing` layer watches the ledger's `step` events and sqlx's statement events and, at the
//! chosen one, prints a marker and blocks forever; the parent reads the marker and kills it.
//! Mid-request kills need no marker: the sandbox holds the request, and the parent kills the
//! child once the sandbox has seen it arrive.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use refund_core::{DirectRefund, Money, Otp, OtpRefund, OtpRefundTarget, TransactionId};
use refund_ledger::{
    IntentRecord, IntentState, Ledger, LedgerError, ListFilter, OtpRefundIntent, RefundIntent,
};
use refund_sandbox::{ExecutedRefund, Fault, FaultSpec, Provider, Route, seed};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

use crate::common::{Clients, Env, TestDb, inr, myr, on_both_backends};
use crate::process::{self, ChildProcess, LEDGER_URL, SANDBOX_URL};

on_both_backends!(
    a_process_killed_anywhere_never_refunds_twice,
    a_process_killed_while_recovering_never_refunds_twice,
);

/// The child's lease: the parent waits this long after a kill before the killed child's
/// `sending` intent may be settled.
const LEASE: Duration = Duration::from_secs(1);
/// The child's lease while a request is held at the sandbox: the ledger stops waiting for the
/// answer at three quarters of it, and the parent must kill the child before then.
const HELD_LEASE: Duration = Duration::from_secs(3);
/// The clients' timeout, in the child and the parent: above every call budget, so that only the
/// ledger ends a call that waits.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the sandbox holds a request for a mid-request kill (past every call budget).
const HOLD_MS: u64 = 4_000;
/// Kill points run at once, each with a child, a sandbox and a ledger of its own.
const IN_FLIGHT: usize = 8;
/// What the child prints to its parent: `STOPPED op key [step]` when it stops at its kill
/// point, `FINISHED` when it got through without meeting it.
const SAYS: &str = "CRASH-CHILD-";
/// The child's settings.
const STOP_AT: &str = "CRASH_STOP_AT";
const LEASE_MS: &str = "CRASH_LEASE_MS";
/// Set for a recovering child: the key of the intent it settles and submits again.
const RECOVER: &str = "CRASH_RECOVER";

// ---------------------------------------------------------------------------------------------
// The sequence: two refunds through each provider, in this order.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Aoc,
    Digipay,
    Eko,
    Bos,
}

impl Kind {
    fn sandbox(self) -> Provider {
        match self {
            Kind::Aoc => Provider::Aoc,
            Kind::Digipay => Provider::Digipay,
            Kind::Eko => Provider::Eko,
            Kind::Bos => Provider::Bos,
        }
    }

    /// The route that moves the money (an OTP refund's confirmation).
    fn refund_route(self) -> Route {
        match self {
            Kind::Aoc => Route::AocRefund,
            Kind::Digipay => Route::DigipayRefund,
            Kind::Eko => Route::EkoRefund,
            Kind::Bos => Route::BosClaimRefund,
        }
    }

    fn is_otp(self) -> bool {
        matches!(self, Kind::Eko | Kind::Bos)
    }
}

/// One refund of the sequence.
struct Op {
    key: &'static str,
    kind: Kind,
    /// The original transaction (BOS: the referenceid), refunded by this intent alone.
    original: String,
    ackno: Option<u64>,
    /// The amount and the charge (direct refunds).
    amount: Option<(Money, Money)>,
}

fn sequence() -> Vec<Op> {
    let direct = |key, kind, original: &str, amount, charge| Op {
        key,
        kind,
        original: original.to_owned(),
        ackno: None,
        amount: Some((amount, charge)),
    };
    let otp = |key, kind, original: String, ackno| Op { key, kind, original, ackno, amount: None };
    vec![
        direct("crash-aoc-1", Kind::Aoc, seed::AOC_CHARGE_1001, myr("1.00"), myr("10.00")),
        direct("crash-dp-1", Kind::Digipay, seed::DIGIPAY_TXN_2001, inr("10.00"), inr("100.00")),
        otp("crash-eko-1", Kind::Eko, seed::EKO_TID_REFUNDABLE_1.to_owned(), None),
        otp("crash-bos-1", Kind::Bos, seed::BOS_REFERENCE_1.to_string(), Some(seed::BOS_ACKNO_1)),
        direct("crash-aoc-2", Kind::Aoc, seed::AOC_CHARGE_1002, myr("2.50"), myr("50.00")),
        direct("crash-dp-2", Kind::Digipay, seed::DIGIPAY_TXN_2002, inr("5.00"), inr("79.10")),
        otp("crash-eko-2", Kind::Eko, seed::EKO_TID_REFUNDABLE_2.to_owned(), None),
        otp("crash-bos-2", Kind::Bos, seed::BOS_REFERENCE_2.to_string(), Some(seed::BOS_ACKNO_2)),
    ]
}

impl Op {
    /// Refunds through the ledger: a direct refund, or the OTP, reading it from the sandbox's
    /// control route (as the customer would read it out), then its confirmation. `mark` is told
    /// which call is about to run (`refund`, `send_otp`, `confirm`).
    async fn run(
        &self,
        ledger: &Ledger,
        clients: &Clients,
        sandbox_url: &str,
        mark: &dyn Fn(&'static str),
    ) -> Result<IntentRecord, LedgerError> {
        let original = TransactionId::new(self.original.clone()).unwrap();
        let client: &dyn OtpRefund = match self.kind {
            Kind::Aoc | Kind::Digipay => {
                let (amount, charge) = self.amount.unwrap();
                let intent =
                    RefundIntent::new(self.key, original).amount(amount).charge_amount(charge);
                let client: &dyn DirectRefund =
                    if self.kind == Kind::Aoc { &clients.aoc } else { &clients.digipay };
                mark("refund");
                return ledger.refund(client, &intent).await;
            }
            Kind::Eko => &clients.eko,
            Kind::Bos => &clients.bos,
        };
        let mut target = OtpRefundTarget::new(original);
        if let Some(ackno) = self.ackno {
            target = target.with_acknowledgement(ackno.to_string());
        }
        mark("send_otp");
        let record = ledger.send_otp(client, &OtpRefundIntent::new(self.key, target)).await?;
        if !matches!(record.state, IntentState::Reserved | IntentState::NotProcessed) {
            return Ok(record);
        }
        let otp = read_otp(sandbox_url, self.kind.sandbox(), &self.original).await;
        mark("confirm");
        ledger.confirm_otp(client, self.key, &otp).await
    }

    /// The refunds the sandbox executed for this intent (its original is refunded by no other).
    fn executed<'a>(&self, log: &'a [ExecutedRefund]) -> Vec<&'a ExecutedRefund> {
        log.iter()
            .filter(|r| r.provider == self.kind.sandbox() && r.original_id == self.original)
            .collect()
    }
}

/// The current OTP, from `GET /_sandbox/otp/{provider}/{id}` (from any process).
async fn read_otp(sandbox_url: &str, provider: Provider, id: &str) -> Otp {
    let url = format!("{sandbox_url}/_sandbox/otp/{}/{id}", provider.as_str());
    let body: serde_json::Value =
        reqwest::get(&url).await.unwrap().error_for_status().unwrap().json().await.unwrap();
    Otp::new(body["otp"].as_str().expect("an OTP was sent")).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Kill points.

/// Where the child is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillAt {
    /// At the nth `step` event of the ledger, counted over the whole sequence.
    Step(usize),
    /// Just after the `INSERT` that writes the nth new intent (its triggers hold its amount and
    /// record its events in the same statement). SQLite: inside the group commit's transaction,
    /// not committed; PostgreSQL: the statement committed on its own.
    Insert(usize),
    /// Just after the nth claim of a written intent (an OTP confirmation), as above.
    Claim(usize),
    /// Just after the nth `UPDATE` that changes an intent (an outcome, or an OTP's reference),
    /// as above.
    Change(usize),
    /// At the nth of any of the above (a recovering child).
    Any(usize),
    /// While the first refund request to this provider is held at the sandbox; `true`: the
    /// sandbox executed it and holds the answer (`commit_then_timeout`), `false`: it holds the
    /// request without acting (`timeout_before_acting`).
    Request(Kind, bool),
}

impl KillAt {
    /// The child's `CRASH_STOP_AT`: what it stops itself at (nothing for a mid-request kill).
    fn setting(self) -> String {
        match self {
            KillAt::Step(n) => format!("step {n}"),
            KillAt::Insert(n) => format!("insert {n}"),
            KillAt::Claim(n) => format!("claim {n}"),
            KillAt::Change(n) => format!("change {n}"),
            KillAt::Any(n) => format!("any {n}"),
            KillAt::Request(..) => "none".to_owned(),
        }
    }
}

/// How far the intent in flight got when the child was killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Its first write not committed: the ledger has no trace of it.
    Unwritten,
    /// An OTP intent written down (`reserved`); its confirmation not claimed (committed).
    Reserved,
    /// Claimed (`sending`, committed with its lease); the request not sent.
    Claimed,
    /// The request at the provider, held before the provider acted.
    Held,
    /// The provider executed it; its answer lost, or not committed.
    Executed,
    /// Its outcome committed.
    Recorded,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One kill point: where, which intent of the sequence is in flight, how far it got, and the
/// marker the child prints when it stops there (`op key [step]`; none for a mid-request kill).
#[derive(Debug)]
struct KillPoint {
    at: KillAt,
    victim: usize,
    phase: Phase,
    marker: String,
}

/// Every kill point of the sequence: just after each write's statement, each ledger step, and
/// each provider's request held at the sandbox, acted on or not. `autocommit`: a statement
/// commits on its own (PostgreSQL); otherwise it waits for its group's commit (SQLite).
fn kill_points(ops: &[Op], autocommit: bool) -> Vec<KillPoint> {
    let mut points = Vec::new();
    let (mut steps, mut claims, mut changes) = (0, 0, 0);
    // Where a statement's kill leaves the intent: as before it, or as after it when it committed.
    let after = |before: Phase, after: Phase| if autocommit { after } else { before };
    for (victim, op) in ops.iter().enumerate() {
        let mut point = |at, phase, marker: String| {
            points.push(KillPoint { at, victim, phase, marker });
        };
        let (first, then) =
            if op.kind.is_otp() { ("send_otp", "confirm") } else { ("refund", "refund") };
        let committed = if op.kind.is_otp() { Phase::Reserved } else { Phase::Claimed };
        let written = after(Phase::Unwritten, committed);
        point(KillAt::Insert(victim + 1), written, format!("{first} {}", op.key));
        for (step, call, phase) in [
            ("intent_committed", first, committed),
            ("sending", then, Phase::Claimed),
            ("answer_received", then, Phase::Executed),
            ("outcome_committed", then, Phase::Recorded),
        ] {
            steps += 1;
            point(KillAt::Step(steps), phase, format!("{call} {} {step}", op.key));
        }
        if op.kind.is_otp() {
            changes += 1; // Eko's otp_ref_id, recorded after the OTP went out
            point(KillAt::Change(changes), Phase::Reserved, format!("send_otp {}", op.key));
            claims += 1;
            let claimed = after(Phase::Reserved, Phase::Claimed);
            point(KillAt::Claim(claims), claimed, format!("confirm {}", op.key));
        }
        changes += 1;
        let recorded = after(Phase::Executed, Phase::Recorded);
        point(KillAt::Change(changes), recorded, format!("{then} {}", op.key));
        if ops[..victim].iter().all(|o| o.kind != op.kind) {
            point(KillAt::Request(op.kind, true), Phase::Executed, String::new());
            point(KillAt::Request(op.kind, false), Phase::Held, String::new());
        }
    }
    points
}

impl KillPoint {
    /// The intent in flight when the child was killed, as the parent finds it: its state (none
    /// if unwritten) and how many refunds the sandbox executed for it.
    fn at_kill(&self) -> (Option<IntentState>, usize) {
        match self.phase {
            Phase::Unwritten => (None, 0),
            Phase::Reserved => (Some(IntentState::Reserved), 0),
            Phase::Claimed | Phase::Held => (Some(IntentState::Sending), 0),
            Phase::Executed => (Some(IntentState::Sending), 1),
            Phase::Recorded => (Some(IntentState::Succeeded), 1),
        }
    }

    /// The events (steps, and statements a child can stop after) a child goes through when
    /// it recovers from this kill point: `reconcile` settles the intent in flight (its change,
    /// then the `settled` step), then its key is submitted again: `begin` tries its `INSERT`
    /// (the key is there: nothing written), and only an AOC refund that never arrived is sent
    /// again (a claim, four steps, the outcome's change).
    fn recovery_events(&self, kind: Kind) -> usize {
        if kind == Kind::Aoc && self.phase != Phase::Executed { 9 } else { 3 }
    }

    /// The same after `reconcile` and a resubmission. A request that may have gone out is
    /// settled by a status read, never sent again, except AOC's: its `refundStatus` proves it
    /// never arrived, and it goes again under the same `spTransID`. DigiPay has no status read:
    /// a person decides (`needs_review`). Eko and BOS read the transfer: still awaiting its
    /// refund, the claim did not take effect (`declined`).
    fn settled(&self, kind: Kind) -> (IntentState, usize) {
        match (self.phase, kind) {
            (Phase::Unwritten | Phase::Reserved | Phase::Recorded, _) | (_, Kind::Aoc) => {
                (IntentState::Succeeded, 1)
            }
            (Phase::Executed, Kind::Digipay) => (IntentState::NeedsReview, 1),
            (_, Kind::Digipay) => (IntentState::NeedsReview, 0),
            (Phase::Executed, _) => (IntentState::Succeeded, 1),
            _ => (IntentState::Declined, 0),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The parent.

async fn a_process_killed_anywhere_never_refunds_twice(db: TestDb) {
    let ops = sequence();
    let points = kill_points(&ops, db.backend == "postgres");
    assert!(points.len() >= 50, "{} kill points", points.len());
    run_matrix(&db, "crash matrix", points.iter().map(|p| (p, None)).collect(), &ops).await;
}

/// The child is killed as above, at each step of the first intent of every provider (claimed,
/// and executed with its answer not recorded); then a second child recovers (reconcile, and
/// that key submitted again) and is killed too, at every event it goes through; then the
/// parent recovers. A crash while recovering changes nothing of the outcome.
async fn a_process_killed_while_recovering_never_refunds_twice(db: TestDb) {
    let ops = sequence();
    let points = kill_points(&ops, db.backend == "postgres");
    let mut runs = Vec::new();
    for point in &points {
        let KillAt::Step(_) = point.at else { continue };
        let kind = ops[point.victim].kind;
        let first = ops.iter().position(|o| o.kind == kind) == Some(point.victim);
        if first && matches!(point.phase, Phase::Claimed | Phase::Executed) {
            // One more than it has: that recovery must get through without stopping.
            for n in 1..=point.recovery_events(kind) + 1 {
                runs.push((point, Some(n)));
            }
        }
    }
    run_matrix(&db, "crash while recovering", runs, &ops).await;
}

/// Runs every kill point (with its recovery kill, if any) at once, [`IN_FLIGHT`] at a time, and
/// prints how the intents in flight were settled.
async fn run_matrix(db: &TestDb, name: &str, runs: Vec<(&KillPoint, Option<usize>)>, ops: &[Op]) {
    let started = Instant::now();
    let count = runs.len();
    let settled: Vec<(Phase, Kind, IntentState)> = futures_util::stream::iter(runs)
        .enumerate()
        .map(|(i, (point, recovery))| kill_and_recover(db, i, point, recovery, ops))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for (phase, kind, state) in settled {
        *tally.entry(format!("{phase} {kind:?} -> {state}")).or_default() += 1;
    }
    eprintln!("{name} ({}): {count} runs in {:.1?}: {tally:#?}", db.backend, started.elapsed());
}

/// Runs the child up to `point` and kills it, checks what it left; with `recovery`, runs a
/// recovering child up to its `recovery`th event and kills it too; then reconciles, resubmits
/// every key, and checks the books. Returns how the intent in flight was settled.
async fn kill_and_recover(
    db: &TestDb,
    index: usize,
    point: &KillPoint,
    recovery: Option<usize>,
    ops: &[Op],
) -> (Phase, Kind, IntentState) {
    let url = db.another_ledger(&format!("kill_{index}")).await;
    let env = Env::start().await;
    let sandbox_url = env.sandbox.base_url();
    let mut lease = LEASE;
    if let KillAt::Request(kind, acted) = point.at {
        let fault = if acted {
            Fault::CommitThenTimeout { ms: Some(HOLD_MS) }
        } else {
            Fault::TimeoutBeforeActing { ms: Some(HOLD_MS) }
        };
        env.sandbox.set_fault(kind.refund_route(), FaultSpec::next(1, fault));
        lease = HELD_LEASE;
    }
    let settings = |stop_at: KillAt, lease: Duration| {
        vec![
            (LEDGER_URL, url.clone()),
            (SANDBOX_URL, sandbox_url.clone()),
            (STOP_AT, stop_at.setting()),
            (LEASE_MS, lease.as_millis().to_string()),
        ]
    };
    let mut child = ChildProcess::spawn("crash", &settings(point.at, lease));
    if let KillAt::Request(kind, _) = point.at {
        let route = kind.refund_route();
        let arrived = tokio::time::timeout(Duration::from_secs(30), async {
            while env.sandbox.requests_seen(route) == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        if arrived.await.is_err() {
            panic!(
                "{point:?}: no request reached {route:?}; the child's stderr:\n{}",
                child.kill().await
            );
        }
    } else {
        let said = child.line(SAYS).await;
        if said != Some(format!("STOPPED {}", point.marker)) {
            panic!(
                "{point:?}: the child said {said:?}, not that it stopped at {:?}; its stderr:\n{}",
                point.marker,
                child.kill().await
            );
        }
    }
    child.kill().await;

    // What the killed child left: everything before the intent in flight done, nothing after it
    // begun, and the intent in flight exactly as far as the kill point says.
    let ledger = Ledger::builder(&url).lease(Duration::from_secs(30)).open().await.unwrap();
    let log = env.sandbox.executed_refunds();
    for (i, op) in ops.iter().enumerate() {
        let found = ledger.by_key(op.key).await.unwrap().map(|r| r.state);
        let want = match i.cmp(&point.victim) {
            std::cmp::Ordering::Less => (Some(IntentState::Succeeded), 1),
            std::cmp::Ordering::Equal => point.at_kill(),
            std::cmp::Ordering::Greater => (None, 0),
        };
        assert_eq!((found, op.executed(&log).len()), want, "{point:?}, at the kill: {}", op.key);
    }
    let mut open = sending_once_expired(&ledger).await;

    if let Some(n) = recovery {
        let key = ops[point.victim].key;
        let mut vars = settings(KillAt::Any(n), LEASE);
        vars.push((RECOVER, key.to_owned()));
        let mut child = ChildProcess::spawn("crash", &vars);
        let said = child.line(SAYS).await;
        let stderr = child.kill().await;
        let events = point.recovery_events(ops[point.victim].kind);
        let stopped = said.as_deref().is_some_and(|s| s.starts_with("STOPPED "));
        let finished = said.as_deref() == Some("FINISHED");
        assert!(
            if n <= events { stopped } else { finished },
            "{point:?}, recovery stopped at event {n} of {events}: the child said {said:?}; its stderr:\n{stderr}"
        );
        open = sending_once_expired(&ledger).await;
    }

    let clients = Clients::new(&sandbox_url, CLIENT_TIMEOUT);
    let report = ledger.reconcile(&clients.all()).await.unwrap();
    assert_eq!(
        (report.changed.len(), report.unchanged.len()),
        (open, 0),
        "{point:?}: reconcile settles what the child left sending: {report:?}"
    );

    // The same keys again, as a restarted application would submit them.
    let resubmit = || async {
        for op in ops {
            resubmitted(op, op.run(&ledger, &clients, &sandbox_url, &|_| {}).await);
        }
    };
    resubmit().await;

    // The books: nothing executed twice, and every intent as they say.
    let log = env.sandbox.executed_refunds();
    assert!(ExecutedRefund::repeated_keys(&log).is_empty(), "{point:?}: {log:?}");
    let books = env.sandbox.books();
    let mut settled = IntentState::Succeeded;
    for (i, op) in ops.iter().enumerate() {
        let record = ledger.by_key(op.key).await.unwrap().unwrap();
        let executed = op.executed(&log);
        let want =
            if i == point.victim { point.settled(op.kind) } else { (IntentState::Succeeded, 1) };
        assert_eq!((record.state, executed.len()), want, "{point:?}: {} settled", op.key);
        assert_eq!(books.entry(&op.original).unwrap().refund_count as usize, executed.len());
        if !op.kind.is_otp() {
            assert!(executed.iter().all(|r| r.key == record.reference), "{point:?}: {executed:?}");
        }
        if record.state == IntentState::NeedsReview {
            assert_eq!(record.attempts, 1, "{point:?}: {} was sent again", op.key);
        }
        if let Some((amount, charge)) = op.amount {
            // What the guard holds on the charge is this intent's amount, once: a killed
            // transaction left no hold, and recovery took none twice. (Refused: nothing written.)
            let whole =
                RefundIntent::new("probe", TransactionId::new(op.original.clone()).unwrap())
                    .amount(charge)
                    .charge_amount(charge);
            let provider: &dyn refund_core::Provider =
                if op.kind == Kind::Aoc { &clients.aoc } else { &clients.digipay };
            match ledger.reserve(provider, &whole).await {
                Err(LedgerError::OverRefund { held, .. }) => assert_eq!(held, amount, "{point:?}"),
                other => panic!("{point:?}: {other:?}"),
            }
        }
        if i == point.victim {
            settled = record.state;
        }
    }

    // And once more: everything is settled, so nothing goes out at all.
    let requests = env.sandbox.total_requests();
    resubmit().await;
    assert_eq!(
        env.sandbox.total_requests(),
        requests,
        "{point:?}: a third submission sent requests"
    );
    ledger.close().await;
    (point.phase, ops[point.victim].kind, settled)
}

/// Waits until no intent is held by a killed child's lease; how many it left `sending`.
async fn sending_once_expired(ledger: &Ledger) -> usize {
    let open = ledger.list(&ListFilter::new().state(IntentState::Sending)).await.unwrap();
    if let Some(until) = open.iter().filter_map(|r| r.lease_until).max() {
        let left = until.duration_since(SystemTime::now()).unwrap_or_default();
        tokio::time::sleep(left + Duration::from_millis(20)).await;
    }
    open.len()
}

/// A resubmission's result must be a recorded outcome: succeeded, or (for the intent in
/// flight) declined or waiting for a person.
fn resubmitted(op: &Op, result: Result<IntentRecord, LedgerError>) {
    match result {
        Ok(record) => assert_eq!(record.state, IntentState::Succeeded, "{}", op.key),
        Err(LedgerError::Recorded { record })
            if matches!(record.state, IntentState::Declined | IntentState::NeedsReview) => {}
        Err(other) => panic!("resubmitting {}: {other}", op.key),
    }
}

// ---------------------------------------------------------------------------------------------
// The child.

pub(crate) async fn run_child() {
    let current = Arc::new(Mutex::new(("open", String::new())));
    let stop_at = process::setting(STOP_AT);
    if let Some((kind, n)) = stop_at.split_once(' ') {
        let stop = StopAt {
            kind: kind.to_owned(),
            n: n.parse().unwrap(),
            seen: AtomicUsize::new(0),
            current: current.clone(),
        };
        let only_ours = tracing_subscriber::filter::filter_fn(|meta| {
            matches!(meta.target(), "refund_ledger::ledger" | "sqlx::query")
        });
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(stop.with_filter(only_ours)),
        )
        .unwrap();
    }
    let lease = Duration::from_millis(process::setting(LEASE_MS).parse().unwrap());
    let ledger = Ledger::builder(process::setting(LEDGER_URL))
        .lease(lease)
        .max_connections(2)
        .open()
        .await
        .unwrap();
    let sandbox_url = process::setting(SANDBOX_URL);
    let clients = Clients::new(&sandbox_url, CLIENT_TIMEOUT);
    if let Ok(key) = std::env::var(RECOVER) {
        *current.lock().unwrap() = ("reconcile", String::new());
        ledger.reconcile(&clients.all()).await.unwrap();
        let op = sequence().into_iter().find(|op| op.key == key).unwrap();
        let mark = |call: &'static str| *current.lock().unwrap() = (call, op.key.to_owned());
        resubmitted(&op, op.run(&ledger, &clients, &sandbox_url, &mark).await);
        process::say(&format!("{SAYS}FINISHED"));
        return;
    }
    for op in sequence() {
        let mark = |call: &'static str| *current.lock().unwrap() = (call, op.key.to_owned());
        let record = op.run(&ledger, &clients, &sandbox_url, &mark).await;
        assert_eq!(record.map(|r| r.state).unwrap(), IntentState::Succeeded, "{}", op.key);
    }
    // Reached only when the kill point was not: the parent reports it.
    process::say(&format!("{SAYS}FINISHED"));
}

/// A `tracing` layer that stops the process at the `n`th event of its `kind`: `step` (the
/// ledger's `step` events) or one of [`STATEMENTS`] (sqlx's event for that statement). sqlx
/// logs a statement once it ran: on SQLite inside its group commit's transaction, so the process
/// stops before the commit; on PostgreSQL after the statement committed on its own.
struct StopAt {
    kind: String,
    n: usize,
    seen: AtomicUsize,
    /// The call in flight and its key, as `Op::run` marks them.
    current: Arc<Mutex<(&'static str, String)>>,
}

/// The statements a child can stop after, by the kind its
/// `CRASH_STOP_AT` names: what sqlx logs of each contains the text.
const STATEMENTS: [(&str, &str); 3] = [
    ("insert", "INSERT INTO refund_intents"),
    ("claim", "SET state = 'sending'"),
    ("change", "SET state = $3"),
];

impl<S: tracing::Subscriber> Layer<S> for StopAt {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let (kind, detail) = match (event.metadata().target(), fields.step) {
            ("refund_ledger::ledger", Some(step)) => ("step", step),
            ("sqlx::query", _) => {
                match STATEMENTS.iter().find(|(_, text)| fields.statement.contains(text)) {
                    Some((kind, _)) => (*kind, String::new()),
                    None => return,
                }
            }
            _ => return,
        };
        if (kind != self.kind && self.kind != "any")
            || self.seen.fetch_add(1, Ordering::SeqCst) + 1 != self.n
        {
            return;
        }
        let (call, key) = self.current.lock().unwrap().clone();
        process::say(&format!("{SAYS}STOPPED {call} {key} {detail}"));
        // Blocks this thread (a runtime worker, or sqlx's SQLite worker) until the parent's
        // SIGKILL: the transaction it is in never commits.
        loop {
            std::thread::park();
        }
    }
}

/// The fields of an event that say where the process is.
#[derive(Default)]
struct Fields {
    step: Option<String>,
    statement: String,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "step" => self.step = Some(value.to_owned()),
            "summary" | "db.statement" => self.statement.push_str(value),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}
