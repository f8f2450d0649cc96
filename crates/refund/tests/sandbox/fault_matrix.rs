//! The fault matrix (issue #9, item 1): every provider operation x every fault, each cell checked
//! against the error kind the docs promise, the requests the sandbox saw, and the sandbox's books.
//!
//! Every fault is injected on the operation's route for every request (`FaultSpec::always`), so a
//! cell shows what the caller gets once the SDK's retries (3 attempts) run out. The expectation is
//! derived from the operation's declared idempotency (docs/architecture.md, refund-core's
//! transport rules) and the provider READMEs' documented deviations, never from the result.
//!
//! The rows are compared with the table in `docs/reliability.md`; `REFUND_BLESS=1` (or
//! `cargo xtask reliability`) rewrites it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use refund::aoc::AocRefundRequest;
use refund::digipay::WalletRefundRequest;
use refund::otp::TxStatus;
use refund::{Error, Fate, Idempotency, Otp, RefundReference, RefundStatus, TransactionId};
use refund_sandbox::{Fault, FaultSpec, Provider, Route, RunningSandbox, Sandbox, seed};
use refund_testkit::sandbox::start;

use crate::{TIMEOUT, aoc_client, bos_client, closed_root, digipay_client, eko_client, inr, myr};

const START: &str = "<!-- fault-matrix:start -->";
const END: &str = "<!-- fault-matrix:end -->";

/// A comfortable timeout for the setup and truth-reading calls, which run without faults.
const CLEAN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    AocRefund,
    AocStatus,
    BosSendOtp,
    BosClaim,
    BosStatus,
    BosQr,
    DigipayRefund,
    EkoSendOtp,
    EkoRefund,
    EkoTransaction,
}

impl Op {
    const ALL: [Op; 10] = [
        Op::AocRefund,
        Op::AocStatus,
        Op::BosSendOtp,
        Op::BosClaim,
        Op::BosStatus,
        Op::BosQr,
        Op::DigipayRefund,
        Op::EkoSendOtp,
        Op::EkoRefund,
        Op::EkoTransaction,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::AocRefund => "aoc refund",
            Op::AocStatus => "aoc refund_status",
            Op::BosSendOtp => "bos send_refund_otp",
            Op::BosClaim => "bos claim_refund",
            Op::BosStatus => "bos status",
            Op::BosQr => "bos dynamic_qr",
            Op::DigipayRefund => "digipay refund_money",
            Op::EkoSendOtp => "eko send_otp",
            Op::EkoRefund => "eko refund",
            Op::EkoTransaction => "eko transaction",
        }
    }

    fn route(self) -> Route {
        match self {
            Op::AocRefund => Route::AocRefund,
            Op::AocStatus => Route::AocRefundStatus,
            Op::BosSendOtp => Route::BosRefundOtp,
            Op::BosClaim => Route::BosClaimRefund,
            Op::BosStatus => Route::BosStatus,
            Op::BosQr => Route::BosQr,
            Op::DigipayRefund => Route::DigipayRefund,
            Op::EkoSendOtp => Route::EkoSendOtp,
            Op::EkoRefund => Route::EkoRefund,
            Op::EkoTransaction => Route::EkoTransaction,
        }
    }

    /// As declared in docs/architecture.md and the provider READMEs.
    fn idempotency(self) -> Idempotency {
        match self {
            Op::AocRefund => Idempotency::Keyed,
            Op::BosClaim | Op::BosQr | Op::DigipayRefund | Op::EkoRefund => Idempotency::Unsafe,
            Op::AocStatus
            | Op::BosSendOtp
            | Op::BosStatus
            | Op::EkoSendOtp
            | Op::EkoTransaction => Idempotency::Safe,
        }
    }

    fn idempotency_name(self) -> &'static str {
        match self.idempotency() {
            Idempotency::Safe => "Safe",
            Idempotency::Keyed => "Keyed",
            _ => "Unsafe",
        }
    }

    /// Operations that move money, whose books and status are checked after every cell.
    fn moves_money(self) -> bool {
        matches!(self, Op::AocRefund | Op::BosClaim | Op::DigipayRefund | Op::EkoRefund)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Refused,
    TooManyRequests,
    ServiceUnavailable,
    InternalError,
    BadGatewayHtml,
    TimeoutBeforeActing,
    CommitThenTimeout,
    DropMidResponse,
    MalformedBody,
    OversizedBody,
    Trickle,
}

impl Case {
    const ALL: [Case; 11] = [
        Case::Refused,
        Case::TooManyRequests,
        Case::ServiceUnavailable,
        Case::InternalError,
        Case::BadGatewayHtml,
        Case::TimeoutBeforeActing,
        Case::CommitThenTimeout,
        Case::DropMidResponse,
        Case::MalformedBody,
        Case::OversizedBody,
        Case::Trickle,
    ];

    fn name(self) -> &'static str {
        match self {
            Case::Refused => "connection refused",
            Case::TooManyRequests => "429 Retry-After: 0",
            Case::ServiceUnavailable => "503 Retry-After: 1",
            Case::InternalError => "500",
            Case::BadGatewayHtml => "502 HTML body",
            Case::TimeoutBeforeActing => "timeout before acting",
            Case::CommitThenTimeout => "commit then timeout",
            Case::DropMidResponse => "dropped mid-response",
            Case::MalformedBody => "malformed 2xx body",
            Case::OversizedBody => "oversized 2xx body (2 MiB)",
            Case::Trickle => "body trickled past the timeout",
        }
    }

    /// The sandbox fault; `None` for a closed port. Delays are well past [`TIMEOUT`] (300 ms).
    fn fault(self) -> Option<Fault> {
        Some(match self {
            Case::Refused => return None,
            Case::TooManyRequests => Fault::TooManyRequests { retry_after_secs: 0 },
            Case::ServiceUnavailable => Fault::ServiceUnavailable,
            Case::InternalError => Fault::InternalError,
            Case::BadGatewayHtml => Fault::BadGatewayHtml,
            Case::TimeoutBeforeActing => Fault::TimeoutBeforeActing { ms: Some(1_000) },
            Case::CommitThenTimeout => Fault::CommitThenTimeout { ms: Some(1_000) },
            Case::DropMidResponse => Fault::DropMidResponse,
            Case::MalformedBody => Fault::MalformedBody,
            Case::OversizedBody => Fault::OversizedBody { bytes: 2 * 1024 * 1024 },
            Case::Trickle => Fault::Trickle { chunk_bytes: 1, delay_ms: 100 },
        })
    }

    /// Whether the sandbox applies the operation to its books before spoiling the answer.
    fn commits(self) -> bool {
        matches!(
            self,
            Case::CommitThenTimeout
                | Case::DropMidResponse
                | Case::MalformedBody
                | Case::OversizedBody
                | Case::Trickle
        )
    }
}

/// What the docs promise for a cell: the error kind and the requests the provider sees.
fn expected(op: Op, case: Case) -> (&'static str, u64) {
    let repeats = op.idempotency() != Idempotency::Unsafe;
    let attempts = if repeats { 3 } else { 1 };
    // core: once sent, an ambiguous failure is Unavailable for a Safe call, else OutcomeUnknown.
    let ambiguous =
        if op.idempotency() == Idempotency::Safe { "unavailable" } else { "outcome_unknown" };
    match case {
        // Never left: retried for any operation, then Unavailable; the provider saw nothing.
        Case::Refused => ("unavailable", 0),
        // 429 / 503: not processed; repeated only when the operation may be.
        Case::TooManyRequests | Case::ServiceUnavailable => ("unavailable", attempts),
        // Maybe processed: repeated only when Safe or Keyed.
        Case::InternalError
        | Case::BadGatewayHtml
        | Case::TimeoutBeforeActing
        | Case::CommitThenTimeout
        | Case::DropMidResponse
        | Case::Trickle => (ambiguous, attempts),
        // A 2xx the client cannot read: OutcomeUnknown for a call that moves money, Unavailable for
        // a Safe one (core's `Operation::unreadable_answer`, the rule every provider README states:
        // "read the status first" would be circular for a read). Never repeated by the transport.
        Case::MalformedBody => (ambiguous, 1),
        // A 2xx body over the size cap is unreadable too: the same rule, never repeated.
        Case::OversizedBody => (ambiguous, 1),
    }
}

/// One row of the table, plus everything a cell found wrong.
struct CellResult {
    row: String,
    problems: Vec<String>,
}

/// The calls' results, reduced to what the matrix needs.
type CallResult = Result<String, Error>;

async fn run_cell(op: Op, case: Case) -> CellResult {
    let sb = start().await;
    let root = sb.base_url();
    let clean_root = root.clone();
    let call_root = if case == Case::Refused { closed_root() } else { root.clone() };
    let mut problems = Vec::new();

    // Setup without faults: what the operation needs to exist.
    let sp_trans_id = RefundReference::new(format!("fm-{}", case_slug(case))).unwrap();
    let bos_ref = seed::BOS_REFERENCE_1.to_string();
    let bos_ack = seed::BOS_ACKNO_1.to_string();
    let eko_tid = seed::EKO_TID_REFUNDABLE_1;
    let mut otp = "123456".to_owned();
    let mut otp_ref_id = "otpref-000000".to_owned();
    match op {
        Op::AocStatus => {
            let req = AocRefundRequest::new(
                TransactionId::new(seed::AOC_CHARGE_1001).unwrap(),
                myr("1.00"),
            )
            .with_sp_trans_id(sp_trans_id.clone());
            aoc_client(&clean_root, CLEAN_TIMEOUT).refund(&req).await.unwrap();
        }
        Op::BosClaim => {
            bos_client(&clean_root, CLEAN_TIMEOUT)
                .send_refund_otp(&bos_ref, &bos_ack)
                .await
                .unwrap();
            otp = sb.otp(Provider::Bos, &bos_ref).unwrap();
        }
        Op::EkoRefund => {
            let challenge = eko_client(&clean_root, CLEAN_TIMEOUT).send_otp(eko_tid).await.unwrap();
            otp = sb.otp(Provider::Eko, eko_tid).unwrap();
            otp_ref_id = challenge.otp_ref_id().to_owned();
        }
        _ => {}
    }
    let books_before = sb.books();
    let seen_before = sb.requests_seen(op.route());
    let total_before = sb.total_requests();
    if let Some(fault) = case.fault() {
        sb.set_fault(op.route(), FaultSpec::always(fault));
    }

    // The call under test, through the real client with a short timeout.
    let otp = Otp::new(otp).unwrap();
    let result: CallResult = match op {
        Op::AocRefund => {
            let req = AocRefundRequest::new(
                TransactionId::new(seed::AOC_CHARGE_1001).unwrap(),
                myr("1.00"),
            )
            .with_sp_trans_id(sp_trans_id.clone());
            aoc_client(&call_root, TIMEOUT).refund(&req).await.map(|r| r.status.to_string())
        }
        Op::AocStatus => aoc_client(&call_root, TIMEOUT)
            .refund_status(&sp_trans_id)
            .await
            .map(|r| r.status.to_string()),
        Op::BosSendOtp => bos_client(&call_root, TIMEOUT)
            .send_refund_otp(&bos_ref, &bos_ack)
            .await
            .map(|_| "otp sent".to_owned()),
        Op::BosClaim => bos_client(&call_root, TIMEOUT)
            .claim_refund(&bos_ref, &bos_ack, &otp)
            .await
            .map(|r| r.status.to_string()),
        Op::BosStatus => bos_client(&call_root, TIMEOUT)
            .status(&bos_ref)
            .await
            .map(|t| t.refund_status().to_string()),
        Op::BosQr => bos_client(&call_root, TIMEOUT)
            .dynamic_qr(inr("10"))
            .await
            .map(|q| q.amount.to_string()),
        Op::DigipayRefund => {
            let req =
                WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, inr("10.00")).build().unwrap();
            digipay_client(&call_root, TIMEOUT)
                .refund_money(&req)
                .await
                .map(|r| r.record.status.to_string())
        }
        Op::EkoSendOtp => eko_client(&call_root, TIMEOUT)
            .send_otp(eko_tid)
            .await
            .map(|c| c.otp_ref_id().to_owned()),
        Op::EkoRefund => eko_client(&call_root, TIMEOUT)
            .refund(eko_tid, &otp_ref_id, &otp)
            .await
            .map(|r| r.refund_tid),
        Op::EkoTransaction => eko_client(&call_root, TIMEOUT)
            .transaction(eko_tid)
            .await
            .map(|t| format!("{:?}", t.tx_status)),
    };
    let seen = sb.requests_seen(op.route()) - seen_before;
    let total_seen = sb.total_requests() - total_before;
    sb.clear_faults();
    // Let a committed-then-delayed answer finish its bookkeeping (it is recorded before the delay).
    let books_after = sb.books();

    let cell = format!("{} x {}", op.name(), case.name());
    let kind = match &result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    };
    let (want_kind, want_seen) = expected(op, case);
    if kind != want_kind {
        problems.push(format!("{cell}: got {kind} ({result:?}), the docs promise {want_kind}"));
    }
    if seen != want_seen {
        problems.push(format!("{cell}: the sandbox saw {seen} requests, expected {want_seen}"));
    }
    if seen != total_seen {
        problems.push(format!("{cell}: {total_seen} requests in all but {seen} on {}", op.route()));
    }
    if let Err(e) = &result
        && e.fate() == Fate::NotProcessed
        && e.kind() == "unavailable"
        && case == Case::TooManyRequests
        && e.retry_after() != Some(Duration::ZERO)
    {
        problems.push(format!("{cell}: Retry-After 0 not carried: {:?}", e.retry_after()));
    }

    // The books: nothing refunded twice, nothing refunded by a call that was not processed.
    let mut outcome = kind.to_owned();
    let changed: Vec<_> = books_after
        .aoc
        .iter()
        .chain(&books_after.bos)
        .chain(&books_after.digipay)
        .chain(&books_after.eko)
        .filter(|e| books_before.entry(&e.id) != Some(*e))
        .collect();
    let refunds: u32 = changed
        .iter()
        .map(|e| e.refund_count - books_before.entry(&e.id).map_or(0, |b| b.refund_count))
        .sum();
    if refunds > 1 {
        problems.push(format!("{cell}: {refunds} refunds executed: {changed:?}"));
    }
    if !op.moves_money() && refunds != 0 {
        problems.push(format!("{cell}: a call that moves no money changed the books: {changed:?}"));
    }
    if op.moves_money() {
        let committed = case.commits() && seen > 0;
        let want_refunds = u32::from(committed);
        if refunds != want_refunds {
            problems
                .push(format!("{cell}: {refunds} refunds in the books, expected {want_refunds}"));
        }
        match &result {
            Ok(_) if refunds != 1 => problems.push(format!("{cell}: Ok but {refunds} refunds")),
            Err(e) if e.fate() != Fate::Unknown && refunds != 0 => {
                problems.push(format!("{cell}: {} yet the books show a refund", e.kind()));
            }
            _ => {}
        }
        if let Err(e) = &result
            && e.fate() == Fate::Unknown
        {
            // The outcome is unknown to the caller: the status read must tell the truth.
            let truth = read_truth(op, &sb, &sp_trans_id, &bos_ref, eko_tid, e).await;
            match truth {
                Ok(text) => {
                    let said_refunded = text.starts_with("refunded");
                    if said_refunded != (refunds == 1) {
                        problems.push(format!(
                            "{cell}: the status read says {text:?} but the books show {refunds} refunds"
                        ));
                    }
                    outcome = format!("{kind} → {text}");
                }
                Err(p) => problems.push(format!("{cell}: {p}")),
            }
        }
    }
    sb.shutdown().await;
    let row = format!(
        "| {} ({}) | {} | {} | {} |",
        op.name(),
        op.idempotency_name(),
        case.name(),
        outcome,
        seen
    );
    CellResult { row, problems }
}

/// After an outcome-unknown money call: what the provider's own status read says (DigiPay has no
/// status endpoint: the books are the truth, and the error must say to reconcile).
async fn read_truth(
    op: Op,
    sb: &RunningSandbox,
    sp_trans_id: &RefundReference,
    bos_ref: &str,
    eko_tid: &str,
    err: &Error,
) -> Result<String, String> {
    let root = sb.base_url();
    match op {
        Op::AocRefund => {
            match aoc_client(&root, CLEAN_TIMEOUT).refund_status(sp_trans_id).await {
                Ok(r) if r.status == RefundStatus::Succeeded && r.amount == Some(myr("1.00")) => {
                    Ok("refunded once (refundStatus by the same spTransID)".into())
                }
                // AOC0001: AOC knows no refund by this spTransID.
                Ok(r) if r.status == RefundStatus::NotRefunded => {
                    Ok("not refunded (refundStatus: unknown spTransID)".into())
                }
                Ok(r) => Err(format!("refundStatus answered {r:?}")),
                Err(e) => Err(format!("refundStatus failed: {e}")),
            }
        }
        Op::BosClaim => match bos_client(&root, CLEAN_TIMEOUT).status(bos_ref).await {
            Ok(t) if t.refund_status() == RefundStatus::Succeeded => {
                Ok("refunded once (TransactStatus)".into())
            }
            Ok(t) if t.refund_status() == RefundStatus::NotRefunded => {
                Ok("not refunded (TransactStatus: refund pending)".into())
            }
            Ok(t) => Err(format!("TransactStatus answered {t:?}")),
            Err(e) => Err(format!("TransactStatus failed: {e}")),
        },
        Op::EkoRefund => match eko_client(&root, CLEAN_TIMEOUT).transaction(eko_tid).await {
            Ok(t) if t.tx_status == TxStatus::Refunded => Ok("refunded once (inquiry)".into()),
            Ok(t) if t.tx_status == TxStatus::RefundPending => {
                Ok("not refunded (inquiry: refund pending)".into())
            }
            Ok(t) => Err(format!("inquiry answered {t:?}")),
            Err(e) => Err(format!("inquiry failed: {e}")),
        },
        Op::DigipayRefund => {
            if !err.to_string().contains("reconcile") {
                return Err(format!("the error does not say to reconcile: {err}"));
            }
            let entry = sb.books().entry(seed::DIGIPAY_TXN_2001).cloned().unwrap();
            Ok(match entry.refund_count {
                0 => "not refunded (books; no status endpoint: the error says reconcile)".into(),
                1 if entry.refunded_minor == 1000 => {
                    "refunded once (books; no status endpoint: the error says reconcile)".into()
                }
                n => return Err(format!("{n} refunds in the books: {entry:?}")),
            })
        }
        _ => Err("not a money operation".into()),
    }
}

fn case_slug(case: Case) -> String {
    format!("{case:?}").to_ascii_lowercase()
}

fn render(rows: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| operation (idempotency) | fault | outcome | requests seen |");
    let _ = writeln!(s, "|---|---|---|---|");
    for row in rows {
        let _ = writeln!(s, "{row}");
    }
    s
}

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/reliability.md")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix() {
    // One task per operation (its cells in order, each on a fresh sandbox), all operations at once.
    let mut tasks = Vec::new();
    for op in Op::ALL {
        tasks.push(tokio::spawn(async move {
            let mut cells = Vec::new();
            for case in Case::ALL {
                cells.push(run_cell(op, case).await);
            }
            cells
        }));
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for task in tasks {
        for cell in task.await.unwrap() {
            rows.push(cell.row);
            problems.extend(cell.problems);
        }
    }
    assert_eq!(rows.len(), Op::ALL.len() * Case::ALL.len());
    let table = render(&rows);
    assert!(
        problems.is_empty(),
        "{} cells broke a promise:\n{}\n\n{table}",
        problems.len(),
        problems.join("\n")
    );

    let path = docs_path();
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
        panic!("{} has no {START} ... {END} section", path.display());
    };
    let current = &doc[start + START.len()..end];
    let generated = format!("\n{table}");
    if std::env::var_os("REFUND_BLESS").is_some_and(|v| v == "1") {
        if current != generated {
            let updated = format!("{}{START}{generated}{}", &doc[..start], &doc[end..]);
            std::fs::write(&path, updated).unwrap();
        }
    } else {
        assert!(
            current == generated,
            "docs/reliability.md's fault matrix is out of date: run `cargo xtask reliability`.\n\ngenerated:\n{table}"
        );
    }
}

/// A sandbox that records the first AOC refund and loses its answer, a client for it, and a refund
/// of `amount` with the reference `sp`.
async fn aoc_first_answer_lost(
    amount: &str,
    sp: &str,
) -> (RunningSandbox, refund::aoc::AocClient, AocRefundRequest) {
    let lost = FaultSpec::next(1, Fault::CommitThenTimeout { ms: Some(1_000) });
    let sb = Sandbox::builder().fault(Route::AocRefund, lost).build().start().await.unwrap();
    let client = aoc_client(&sb.base_url(), TIMEOUT);
    let charge = TransactionId::new(seed::AOC_CHARGE_1002).unwrap();
    let req = AocRefundRequest::new(charge, myr(amount))
        .with_sp_trans_id(RefundReference::new(sp).unwrap());
    (sb, client, req)
}

/// A Keyed retry reuses its reference: the first attempt is recorded and its answer lost, the
/// retry carries the same spTransID, AOC answers AOC1001, and the client resolves it through
/// refundStatus. One refund in the books, an Ok to the caller.
#[tokio::test]
async fn aoc_keyed_retry_reuses_sp_trans_id() {
    let (sb, client, req) = aoc_first_answer_lost("2.00", "fm-keyed-1").await;
    let record = client.refund(&req).await.unwrap();
    assert_eq!(record.status, RefundStatus::Succeeded);
    assert_eq!(record.reference.as_deref(), Some("fm-keyed-1"));
    assert_eq!(record.amount, Some(myr("2.00")));
    assert_eq!(sb.requests_seen(Route::AocRefund), 2, "the first attempt and one retry");
    assert_eq!(sb.requests_seen(Route::AocRefundStatus), 1, "AOC1001 resolved by refundStatus");
    let entry = sb.books().entry(seed::AOC_CHARGE_1002).cloned().unwrap();
    assert_eq!((entry.refunded_minor, entry.refund_count), (200, 1), "refunded exactly once");
}

/// The first attempt is processed and its answer lost, every retry is answered 503: the caller must
/// hear "outcome unknown" (read the status), never "not processed" (found by the concurrency test;
/// fixed in refund-core's transport).
#[tokio::test]
async fn aoc_retry_answered_503_after_a_lost_answer_stays_outcome_unknown() {
    let (sb, client, req) = aoc_first_answer_lost("3.00", "fm-lost-then-503").await;
    let call = {
        let client = client.clone();
        let req = req.clone();
        tokio::spawn(async move { client.refund(&req).await })
    };
    while sb.requests_seen(Route::AocRefund) == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sb.set_fault(Route::AocRefund, FaultSpec::always(Fault::ServiceUnavailable));
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), "outcome_unknown", "{err}");
    assert_eq!(sb.requests_seen(Route::AocRefund), 3);
    sb.clear_faults();
    let status = client.refund_status(req.sp_trans_id()).await.unwrap();
    assert_eq!(status.status, RefundStatus::Succeeded, "the status read tells the truth");
    let entry = sb.books().entry(seed::AOC_CHARGE_1002).cloned().unwrap();
    assert_eq!((entry.refunded_minor, entry.refund_count), (300, 1));
}
