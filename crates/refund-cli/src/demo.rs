//! `refund demo`: every flow of every provider, with the real clients, against an in-process
//! sandbox. Each step states what should happen and checks that it did; any surprise exits 1.

use std::fmt::Write as _;
use std::time::Duration;

use refund::otp::{OtpRefundClient, RefundOtpChallenge, TxStatus};
use refund::{Money, Otp, RefundStatus};
use refund_sandbox::{Fault, FaultSpec, Provider, Route, RunningSandbox, Sandbox, seed};
use serde_json::{Value, json};

use crate::cli::{AocSettings, BosSettings, DigipaySettings, Global, OtpSettings};
use crate::error::CliError;
use crate::{aoc, bos, digipay, otp, qr};

mod ledger_flow;

/// The step log: printed as it goes in text mode, collected for one JSON object with `--json`.
struct Log {
    json: bool,
    steps: Vec<Value>,
    failed: usize,
    number: usize,
}

impl Log {
    fn section(&mut self, title: &str) {
        if !self.json {
            println!("\n== {title}");
        }
    }

    /// Records one step: what was expected, and what happened (Ok) or what went wrong (Err).
    fn step(&mut self, what: &str, outcome: Result<String, String>) -> bool {
        self.number += 1;
        let ok = outcome.is_ok();
        let detail = match outcome {
            Ok(d) | Err(d) => d,
        };
        if !ok {
            self.failed += 1;
        }
        if self.json {
            self.steps.push(json!({"step": self.number, "what": what, "ok": ok, "detail": detail}));
        } else {
            let mark = if ok { "ok" } else { "UNEXPECTED" };
            println!("{:>2}. {what}\n    {mark}: {}", self.number, detail.replace('\n', "\n    "));
        }
        ok
    }

    fn text(&self, text: &str) {
        if !self.json {
            println!("{text}");
        }
    }
}

fn demo_global(timeout: Duration) -> Global {
    Global { json: false, dry_run: false, timeout, verbose: 0, ledger: None }
}

fn describe_err(err: &CliError) -> String {
    format!("{}: {err}", err.kind_and_exit())
}

/// Runs the demo; the exit code is 0 when every step behaved as expected.
pub(crate) async fn run(global: &Global) -> Result<u8, CliError> {
    let sandbox = (1..=ledger_flow::BATCH_ROWS)
        .fold(Sandbox::builder(), |builder, row| builder.aoc_charge(ledger_flow::charge(row), 1000))
        .eko_transfer(ledger_flow::EKO_TID, 250_000)
        .build()
        .start()
        .await
        .map_err(|e| CliError::Internal(format!("cannot start the sandbox: {e}")))?;
    let mut log = Log { json: global.json, steps: Vec::new(), failed: 0, number: 0 };
    log.text(&format!(
        "refund demo: the real clients against the sandbox at {} (seeded data: `refund sandbox`)",
        sandbox.base_url()
    ));
    let timeout = Duration::from_secs(5);
    let outcome = async {
        aoc_flow(&sandbox, &mut log, timeout).await?;
        eko_flow(&sandbox, &mut log, timeout).await?;
        bos_flow(&sandbox, &mut log, timeout).await?;
        digipay_flow(&sandbox, &mut log, timeout).await?;
        outcome_unknown_flow(&sandbox, &mut log).await?;
        ledger_flow::run(&sandbox, &mut log).await
    }
    .await;
    if let Err(err) = outcome {
        log.step("setting up a client", Err(describe_err(&err)));
    }
    let requests = sandbox.total_requests();
    sandbox.shutdown().await;
    let passed = log.failed == 0;
    if log.json {
        let value = json!({
            "operation": "demo",
            "status": if passed { "passed" } else { "failed" },
            "requests": requests,
            "steps": log.steps,
        });
        println!("{value}");
    } else if passed {
        println!(
            "\nAll {} steps behaved as expected ({requests} requests to the sandbox).",
            log.number
        );
    } else {
        println!("\n{} of {} steps did NOT behave as expected.", log.failed, log.number);
    }
    Ok(if passed { 0 } else { 1 })
}

async fn aoc_flow(sb: &RunningSandbox, log: &mut Log, timeout: Duration) -> Result<(), CliError> {
    log.section("AOC (BoostConnect): partial refund, status, over-refund");
    let settings = AocSettings {
        base_url: Some(sb.aoc_base_url()),
        username: Some(seed::AOC_USERNAME.into()),
        api_key: Some(seed::AOC_API_KEY.into()),
    };
    let client = aoc::client(&settings, &demo_global(timeout))?;
    let charge = seed::AOC_CHARGE_1001;
    let request = aoc::refund_request(charge, "1.00", Some("demo-aoc-1"))?;
    let refund = client.refund(&request).await;
    log.step(
        &format!(
            "refund 1.00 MYR of {charge} (10.00 MYR) with spTransID demo-aoc-1: expect succeeded"
        ),
        match refund {
            Ok(r) if r.status == RefundStatus::Succeeded => {
                Ok(format!("succeeded, refund id {}", r.refund_id.unwrap_or_default()))
            }
            Ok(r) => Err(format!("status {}", r.status)),
            Err(e) => Err(e.to_string()),
        },
    );
    let status = client.refund_status(request.sp_trans_id()).await;
    log.step(
        "read the status of demo-aoc-1: expect succeeded, 1.00",
        match status {
            Ok(r) if r.status == RefundStatus::Succeeded => Ok(format!(
                "succeeded, amount {}",
                r.amount.map(|m| m.to_string()).unwrap_or_else(|| "?".into())
            )),
            Ok(r) => Err(format!("status {}", r.status)),
            Err(e) => Err(e.to_string()),
        },
    );
    let over = aoc::refund_request(charge, "9.50", None)?;
    let result = client.refund(&over).await;
    log.step(
        &format!("refund 9.50 MYR more of {charge} (only 9.00 left): expect declined, exit 4"),
        expect_kind(result.map(|r| r.status.to_string()), "declined"),
    );
    Ok(())
}

async fn eko_flow(sb: &RunningSandbox, log: &mut Log, timeout: Duration) -> Result<(), CliError> {
    log.section("Eko OTP refund: send the OTP, a wrong OTP, then the right one");
    let client = otp::client(&eko_settings(sb), &demo_global(timeout))?;
    let tid = seed::EKO_TID_REFUNDABLE_1;
    let what = format!("send the refund OTP for tid {tid} (refund pending): expect an otp_ref_id");
    let Some((challenge, real)) = eko_send_otp(sb, log, &client, tid, &what).await else {
        return Ok(());
    };
    log.text("    (the customer reads the OTP from their phone; the demo asks the sandbox)");
    let wrong = Otp::new(wrong_otp(&real)).map_err(|e| CliError::sdk("otp-refund", e))?;
    let result = client.refund(tid, challenge.otp_ref_id(), &wrong).await;
    log.step(
        "refund with a wrong OTP: expect declined (Eko status 302), exit 4",
        expect_kind(result.map(|r| r.refund_tid), "declined"),
    );
    let right = Otp::new(real).map_err(|e| CliError::sdk("otp-refund", e))?;
    let result = client.refund(tid, challenge.otp_ref_id(), &right).await;
    log.step(
        "refund with the right OTP: expect succeeded",
        match result {
            Ok(r) => Ok(format!(
                "refunded, refund tid {}, transfer {}, refunded_amount {} (Eko includes its fee)",
                r.refund_tid,
                r.amount.map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
                r.refunded_amount.map(|m| m.to_string()).unwrap_or_else(|| "?".into())
            )),
            Err(e) => Err(e.to_string()),
        },
    );
    Ok(())
}

async fn bos_flow(sb: &RunningSandbox, log: &mut Log, timeout: Duration) -> Result<(), CliError> {
    log.section("BOS Center: refund OTP, claim, status, dynamic QR code");
    let settings =
        BosSettings { base_url: Some(sb.bos_base_url()), token: Some(seed::BOS_TOKEN.into()) };
    let client =
        bos::client(&settings, Some(seed::BOS_REGISTRATION_ID.into()), &demo_global(timeout))?;
    let reference = seed::BOS_REFERENCE_1.to_string();
    let ackno = seed::BOS_ACKNO_1.to_string();
    let sent = step_ok(
        log,
        &format!("send the refund OTP for referenceid {reference} ackno {ackno}: expect sent"),
        client.send_refund_otp(&reference, &ackno).await,
        |c| format!("OTP sent: {}", c.message.clone().unwrap_or_default()),
    );
    if sent.is_none() {
        return Ok(());
    }
    let Some(real) = customer_otp(sb, log, Provider::Bos, &reference) else {
        return Ok(());
    };
    let otp = Otp::new(real).map_err(|e| CliError::sdk("bos", e))?;
    let result = client.claim_refund(&reference, &ackno, &otp).await;
    log.step(
        "claim the refund with the OTP: expect succeeded",
        match result {
            Ok(r) if r.status == RefundStatus::Succeeded => {
                Ok(format!("succeeded: {}", r.message.unwrap_or_default()))
            }
            Ok(r) => Err(format!("status {}", r.status)),
            Err(e) => Err(e.to_string()),
        },
    );
    let result = client.status(&reference).await;
    log.step(
        "read the transfer's status: expect refunded (txn_status 4)",
        match result {
            Ok(t) if t.refund_status() == RefundStatus::Succeeded => Ok(format!(
                "refunded, refund txn {}, amount {}",
                t.refund_txn_id.unwrap_or_default(),
                t.amount.map(|m| m.to_string()).unwrap_or_else(|| "?".into())
            )),
            Ok(t) => Err(format!("status {}", t.refund_status())),
            Err(e) => Err(e.to_string()),
        },
    );
    let amount =
        Money::parse("10", refund::Currency::Inr).map_err(|e| CliError::sdk("bos", e.into()))?;
    let result = client.dynamic_qr(amount).await;
    let mut drawn = None;
    log.step(
        "create a dynamic UPI QR code for 10 INR: expect a upi:// intent for exactly 10",
        match result {
            Ok(q) => {
                drawn = Some(q.upi_intent.as_str().to_owned());
                Ok(format!("created: {}", q.upi_intent.as_str()))
            }
            Err(e) => Err(e.to_string()),
        },
    );
    if let Some(intent) = drawn
        && !log.json
    {
        println!("{}", qr::to_terminal(&intent)?);
    }
    Ok(())
}

async fn digipay_flow(
    sb: &RunningSandbox,
    log: &mut Log,
    timeout: Duration,
) -> Result<(), CliError> {
    log.section("DigiPay: wallet refund");
    let settings = DigipaySettings {
        base_url: Some(sb.digipay_base_url()),
        token: Some(seed::DIGIPAY_TOKEN.into()),
        company_id: Some(seed::DIGIPAY_COMPANY_ID.into()),
    };
    let client = digipay::client(&settings, None, &demo_global(timeout))?;
    let txn = seed::DIGIPAY_TXN_2002;
    let request = digipay::refund_request(txn, "79.10", "REFUND", 1, Some("refund demo"))?;
    let result = client.refund_money(&request).await;
    log.step(
        &format!("refund 79.10 INR of {txn} (sent as the JSON number 79.1, never a float): expect succeeded"),
        match result {
            Ok(r) if r.record.status == RefundStatus::Succeeded => Ok(format!(
                "succeeded, txn {}",
                r.txn_number.or(r.txn_id).unwrap_or_default()
            )),
            Ok(r) => Err(format!("status {}", r.record.status)),
            Err(e) => Err(e.to_string()),
        },
    );
    Ok(())
}

async fn outcome_unknown_flow(sb: &RunningSandbox, log: &mut Log) -> Result<(), CliError> {
    log.section("Outcome unknown: Eko records the refund, then the answer never arrives");
    // A short client timeout; the sandbox holds the answer longer than that.
    let client = otp::client(&eko_settings(sb), &demo_global(Duration::from_millis(400)))?;
    let tid = seed::EKO_TID_REFUNDABLE_2;
    let what = format!("send the refund OTP for tid {tid}: expect an otp_ref_id");
    let Some((challenge, real)) = eko_send_otp(sb, log, &client, tid, &what).await else {
        return Ok(());
    };
    let otp = Otp::new(real).map_err(|e| CliError::sdk("otp-refund", e))?;
    sb.set_fault(Route::EkoRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: Some(1000) }));
    log.text(
        "    (fault injected: the next Eko refund is recorded, then its answer is held for 1 s)",
    );
    let result = client.refund(tid, challenge.otp_ref_id(), &otp).await;
    let ok = log.step(
        "refund with a 0.4 s timeout: expect outcome_unknown, exit 6 (do NOT retry blindly)",
        expect_kind(result.map(|r| r.refund_tid), "outcome_unknown"),
    );
    if !ok {
        return Ok(());
    }
    let result = client.transaction(tid).await;
    log.step(
        "resolve it with a transaction inquiry: expect tx_status 4 (refunded), so the refund went through",
        match result {
            Ok(t) if t.tx_status == TxStatus::Refunded => Ok(format!(
                "tx_status {} (refunded){}: the money moved; nothing to retry",
                t.tx_status.code(),
                t.refund_tid.map(|id| format!(", refund tid {id}")).unwrap_or_default()
            )),
            Ok(t) => Err(format!("tx_status {}", t.tx_status.code())),
            Err(e) => Err(e.to_string()),
        },
    );
    Ok(())
}

fn eko_settings(sb: &RunningSandbox) -> OtpSettings {
    OtpSettings {
        base_url: Some(sb.eko_base_url()),
        developer_key: Some(seed::EKO_DEVELOPER_KEY.into()),
        access_key: Some(seed::EKO_ACCESS_KEY.into()),
        initiator_id: Some(seed::EKO_INITIATOR_ID.into()),
        user_code: Some(seed::EKO_USER_CODE.into()),
    }
}

/// A six-digit OTP that differs from `real` (and does not start with 0).
fn wrong_otp(real: &str) -> String {
    if real == "111111" { "222222".into() } else { "111111".into() }
}

/// The OTP the customer got for `id`, as the sandbox tells it; `None` (a failed step) when there is
/// none.
fn customer_otp(
    sb: &RunningSandbox,
    log: &mut Log,
    provider: Provider,
    id: &str,
) -> Option<String> {
    let otp = sb.otp(provider, id);
    if otp.is_none() {
        log.step("read the OTP the customer got (sandbox)", Err("no OTP issued".into()));
    }
    otp
}

/// The step `what`: Eko sends the refund OTP for `tid`; then the OTP the customer got. `None` once
/// either went wrong (the log has the failed step).
async fn eko_send_otp(
    sb: &RunningSandbox,
    log: &mut Log,
    client: &OtpRefundClient,
    tid: &str,
    what: &str,
) -> Option<(RefundOtpChallenge, String)> {
    let challenge = step_ok(log, what, client.send_otp(tid).await, |c| {
        format!("OTP sent, otp_ref_id {}", c.otp_ref_id())
    })?;
    let otp = customer_otp(sb, log, Provider::Eko, tid)?;
    Some((challenge, otp))
}

/// Logs a step that must succeed; returns its value when it did.
fn step_ok<T>(
    log: &mut Log,
    what: &str,
    result: refund::Result<T>,
    show: impl FnOnce(&T) -> String,
) -> Option<T> {
    log.step(what, result.as_ref().map(show).map_err(ToString::to_string));
    result.ok()
}

/// A step that must fail with an error of `kind`.
fn expect_kind<T: std::fmt::Display>(
    result: refund::Result<T>,
    kind: &str,
) -> Result<String, String> {
    match result {
        Err(e) if e.kind() == kind => {
            let mut text = format!("{kind}: {e}");
            if let Some(code) = e.reply().and_then(|r| r.code()) {
                let _ = write!(text, " [provider code {code}]");
            }
            Ok(text)
        }
        Err(e) => Err(format!("{} instead of {kind}: {e}", e.kind())),
        Ok(value) => Err(format!("succeeded ({value}) instead of {kind}")),
    }
}
