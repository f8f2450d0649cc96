//! Bad input at every public entry point: each malformed value is a typed error naming its field
//! (`Error::InvalidInput`, or `Error::Config` for a missing setting) and nothing reaches the wire.
//!
//! Every client points at an in-process sandbox holding the seeded credentials, so a value that
//! slipped through validation would be sent and counted: after every input the sandbox must still
//! have seen zero requests. Inputs reach the clients the way a caller's text does: through the
//! public constructors (`Money::parse`, `TransactionId::new`, `Otp::new`, ...) and then the call.
//!
//! The malformed values come from `refund_testkit::bad_input`, the catalogue the command's suite
//! (`refund-cli/tests/hardening`) iterates too.
//!
//! Run with `cargo test -p refund --test bad_input -- --nocapture` to see the count per entry point.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a panic is the failure report")]

use std::fmt::Debug;

use refund::aoc::{AocClient, AocRefundRequest};
use refund::bos::BosClient;
use refund::digipay::{
    DigiPayClient, MAX_NOTE_LEN, MAX_TXN_CODE_LEN, WalletRefund, WalletRefundRequest,
};
use refund::otp::{MAX_OTP_REF_ID_LEN, OtpRefundClient};
use refund::{
    Currency, Error, InsecureHttp, MAX_MINOR_UNITS, Money, Otp, RefundRecord, RefundReference,
    RefundRequest, Result, TransactionId, parse_base_url,
};
use refund_sandbox::{RunningSandbox, seed};
use refund_testkit::bad_input::{self, LEADING_ZERO_OTPS};
use refund_testkit::sandbox::{self, inr, myr};

/// The least number of malformed inputs every entry point must be tried with.
const MIN_INPUTS: usize = 30;

/// What a rejected input must produce.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `Error::InvalidInput` whose `field()` is this.
    Field(&'static str),
    /// `Error::Config` whose message contains this (the setting or its variable).
    Config(&'static str),
}

use Expect::{Config, Field};

/// Counts the inputs tried at one entry point and checks each against the sandbox's request count.
struct Tally<'a> {
    entry: &'static str,
    tried: usize,
    sandbox: &'a RunningSandbox,
}

impl<'a> Tally<'a> {
    fn new(entry: &'static str, sandbox: &'a RunningSandbox) -> Self {
        Tally { entry, tried: 0, sandbox }
    }

    /// Checks one outcome: the expected typed error, and still nothing on the wire.
    fn check<T: Debug>(&mut self, input: &dyn Debug, expect: Expect, result: Result<T>) {
        self.tried += 1;
        let entry = self.entry;
        match (expect, result) {
            (_, Ok(value)) => {
                panic!("{entry}: {input:?} was accepted ({value:?}); expected {expect:?}")
            }
            (Field(field), Err(err)) => {
                assert!(
                    matches!(err, Error::InvalidInput { .. }),
                    "{entry}: {input:?} gave {err:?}, not InvalidInput"
                );
                assert_eq!(err.field(), Some(field), "{entry}: {input:?} gave {err}");
                assert!(err.to_string().contains(field), "{entry}: {input:?}: message {err}");
            }
            (Config(name), Err(err)) => {
                assert!(
                    matches!(err, Error::Config { .. }),
                    "{entry}: {input:?} gave {err:?}, not Config"
                );
                assert!(err.to_string().contains(name), "{entry}: {input:?}: {err} lacks {name}");
            }
        }
        assert_eq!(
            self.sandbox.total_requests(),
            0,
            "{entry}: {input:?} reached the sandbox before being rejected"
        );
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        println!(
            "bad_input: {:<44} {:>4} malformed inputs rejected, 0 requests sent",
            self.entry, self.tried
        );
        assert!(
            self.tried >= MIN_INPUTS,
            "{}: only {} inputs tried (at least {MIN_INPUTS} expected)",
            self.entry,
            self.tried
        );
    }
}

// ------------------------------------------------------------------ clients on the sandbox

fn aoc(sb: &RunningSandbox) -> AocClient {
    sandbox::aoc(&sb.base_url()).build().unwrap()
}

fn bos(sb: &RunningSandbox) -> BosClient {
    sandbox::bos(&sb.base_url()).build().unwrap()
}

fn digipay(sb: &RunningSandbox) -> DigiPayClient {
    sandbox::digipay(&sb.base_url()).build().unwrap()
}

fn eko(sb: &RunningSandbox) -> OtpRefundClient {
    sandbox::eko(&sb.base_url()).build().unwrap()
}

/// Amounts that parse but no provider may be sent: zero and past the SDK's exact-number limit,
/// made with `Money::from_minor_units` (which does not check).
fn unparsed_bad_amounts(currency: Currency) -> Vec<Money> {
    vec![
        Money::from_minor_units(0, currency),
        Money::from_minor_units(MAX_MINOR_UNITS + 1, currency),
        Money::from_minor_units(u64::MAX, currency),
    ]
}

/// Bad OTPs for BOS and Eko, which send the OTP as a JSON number: the catalogue's, and valid ones
/// with a leading zero.
fn otps_sent_as_numbers() -> Vec<String> {
    bad_input::otps().into_iter().chain(LEADING_ZERO_OTPS.map(String::from)).collect()
}

// ------------------------------------------------------------------ core

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_constructors() {
    let sb = sandbox::start().await;

    let mut t = Tally::new("refund::Money::parse (MYR and INR)", &sb);
    for text in bad_input::amounts() {
        t.check(&text, Field("amount"), Money::parse(&text, Currency::Myr).map_err(Error::from));
        t.check(&text, Field("amount"), Money::parse(&text, Currency::Inr).map_err(Error::from));
    }
    drop(t);

    let mut t = Tally::new("refund::TransactionId::new", &sb);
    for id in bad_input::ids() {
        t.check(&id, Field("original_transaction_id"), TransactionId::new(id.as_str()));
    }
    drop(t);

    let mut t = Tally::new("refund::RefundReference::new", &sb);
    for id in bad_input::ids() {
        t.check(&id, Field("reference"), RefundReference::new(id.as_str()));
    }
    drop(t);

    let mut t = Tally::new("refund::Otp::new", &sb);
    for otp in bad_input::otps() {
        t.check(&otp, Field("otp"), Otp::new(otp.as_str()).map(|_| "accepted"));
    }
    drop(t);

    let mut t = Tally::new("refund::parse_base_url", &sb);
    for url in bad_input::base_urls() {
        t.check(&url, Field("base_url"), parse_base_url(&url, InsecureHttp::LoopbackOnly));
    }
    for url in ["", " ", "ftp://x", "https://u:p@x.example", "https://x.example?a=1", "file:///x"] {
        t.check(&url, Field("base_url"), parse_base_url(url, InsecureHttp::Allow));
    }
    drop(t);
    // The explicit opt-in is what lets plain http reach a non-loopback host.
    assert!(parse_base_url("http://10.0.0.5", InsecureHttp::Allow).is_ok());
    assert!(parse_base_url("http://127.0.0.1:1/aoc", InsecureHttp::LoopbackOnly).is_ok());
    sb.shutdown().await;
}

// ------------------------------------------------------------------ builders

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_builders() {
    let sb = sandbox::start().await;

    let mut t = Tally::new("aoc::AocClientBuilder::build", &sb);
    let good = || sandbox::aoc(&sb.base_url());
    for url in bad_input::base_urls() {
        t.check(&url, Field("base_url"), good().base_url(url.as_str()).build());
    }
    for timeout in bad_input::timeout_durations() {
        t.check(&format!("{timeout:?}"), Field("timeout"), good().timeout(timeout).build());
    }
    for url in ["", "   "] {
        t.check(&url, Config("AOC_BASE_URL"), good().base_url(url).build());
    }
    let missing = AocClient::builder().username("u").api_key("k");
    t.check(&"no base_url", Config("AOC_BASE_URL"), missing.build());
    let missing = AocClient::builder().base_url(sb.aoc_base_url()).api_key("k");
    t.check(&"no username", Config("AOC_USERNAME"), missing.build());
    t.check(&"blank username", Config("AOC_USERNAME"), good().username(" ").build());
    let missing = AocClient::builder().base_url(sb.aoc_base_url()).username("u");
    t.check(&"no api key", Config("AOC_API_KEY"), missing.build());
    t.check(&"blank api key", Config("AOC_API_KEY"), good().api_key("\t").build());
    drop(t);

    let mut t = Tally::new("bos::BosClientBuilder::build", &sb);
    let good = || sandbox::bos(&sb.base_url());
    for url in bad_input::base_urls() {
        t.check(&url, Field("base_url"), good().base_url(url.as_str()).build());
    }
    for timeout in bad_input::timeout_durations() {
        t.check(&format!("{timeout:?}"), Field("timeout"), good().timeout(timeout).build());
    }
    for id in ["", " ", "BOS 554", "BOS\n554", "BÖS-554", "BOS\0", &"B".repeat(65)] {
        t.check(&id, Field("registration_id"), good().registration_id(id).build());
    }
    for token in ["tok\nen", "tok\ren", "tok\0en", "tök", "tok\u{7f}"] {
        t.check(&token, Field("token"), good().token(token).build());
    }
    for token in ["", "  "] {
        t.check(&token, Config("BOS_TOKEN"), good().token(token).build());
    }
    let zero = BosClient::builder()
        .base_url(sb.bos_base_url())
        .token_fetcher_fn(|| async { Err(Error::config("never called")) })
        .token_lifetime(std::time::Duration::ZERO);
    t.check(&"token_lifetime 0", Field("token_lifetime"), zero.build());
    drop(t);

    let mut t = Tally::new("digipay::DigiPayClientBuilder::build", &sb);
    let good = || sandbox::digipay(&sb.base_url());
    for url in bad_input::base_urls() {
        t.check(&url, Field("base_url"), good().base_url(url.as_str()).build());
    }
    for timeout in bad_input::timeout_durations() {
        t.check(&format!("{timeout:?}"), Field("timeout"), good().timeout(timeout).build());
    }
    t.check(&"blank base_url", Config("DIGIPAY_BASE_URL"), good().base_url(" ").build());
    let missing = DigiPayClient::builder().token("t").company_id("c");
    t.check(&"no base_url", Config("DIGIPAY_BASE_URL"), missing.build());
    let missing = DigiPayClient::builder().base_url(sb.digipay_base_url()).token("t");
    t.check(&"no company_id", Config("DIGIPAY_COMPANY_ID"), missing.build());
    t.check(&"blank company_id", Config("DIGIPAY_COMPANY_ID"), good().company_id("").build());
    for id in ["c\n1", "c\r1", "c\0x"] {
        t.check(&id, Field("company_id"), good().company_id(id).build());
    }
    let missing = DigiPayClient::builder().base_url(sb.digipay_base_url()).company_id("c");
    t.check(&"no credentials", Config("DIGIPAY_TOKEN"), missing.build());
    t.check(&"blank token", Config("DIGIPAY_TOKEN"), good().token(" ").build());
    for token in ["t\nx", "t\rx", "t\0x"] {
        t.check(&token, Field("token"), good().token(token).build());
    }
    t.check(&"client id a:b", Field("client_id"), good().client_credentials("a:b", "s").build());
    let bad = good().client_credentials(" ", "s");
    t.check(&"blank client id", Config("DIGIPAY_CLIENT_ID"), bad.build());
    let bad = good().client_credentials("id", "");
    t.check(&"empty client secret", Config("DIGIPAY_CLIENT_SECRET"), bad.build());
    for code in bad_input::txn_codes(MAX_TXN_CODE_LEN) {
        t.check(&code, Field("txn_code"), good().txn_code(code.as_str()).build());
    }
    drop(t);

    let mut t = Tally::new("otp::OtpRefundClientBuilder::build", &sb);
    let good = || sandbox::eko(&sb.base_url());
    for url in bad_input::base_urls() {
        t.check(&url, Field("base_url"), good().base_url(url.as_str()).build());
    }
    for timeout in bad_input::timeout_durations() {
        t.check(&format!("{timeout:?}"), Field("timeout"), good().timeout(timeout).build());
    }
    let b = || OtpRefundClient::builder().base_url(sb.eko_base_url());
    let no_dev = b().access_key("a").initiator_id("1").user_code("u");
    t.check(&"no developer_key", Config("OTP_REFUND_DEVELOPER_KEY"), no_dev.build());
    t.check(&"empty developer_key", Config("OTP_REFUND_DEVELOPER_KEY"), {
        good().developer_key("").build()
    });
    let no_access = b().developer_key("d").initiator_id("1").user_code("u");
    t.check(&"no access_key", Config("OTP_REFUND_ACCESS_KEY"), no_access.build());
    t.check(&"empty access_key", Config("OTP_REFUND_ACCESS_KEY"), good().access_key("").build());
    let no_init = b().developer_key("d").access_key("a").user_code("u");
    t.check(&"no initiator_id", Config("OTP_REFUND_INITIATOR_ID"), no_init.build());
    let no_user = b().developer_key("d").access_key("a").initiator_id("1");
    t.check(&"no user_code", Config("OTP_REFUND_USER_CODE"), no_user.build());
    for id in ["", "99629x1729", "+919962981729", "9962 981729", "١٢٣", &"9".repeat(21)] {
        t.check(&id, Field("initiator_id"), good().initiator_id(id).build());
    }
    for code in ["", " ", "2081 0200", "2081\n0200", "é", &"2".repeat(65)] {
        t.check(&code, Field("user_code"), good().user_code(code).build());
    }
    for key in ["dev\nkey", "dev\rkey", "dev\0key"] {
        t.check(&key, Field("developer_key"), good().developer_key(key).build());
    }
    drop(t);
    sb.shutdown().await;
}

// ------------------------------------------------------------------ AOC calls

/// The AOC refund as a caller builds it from text (id, amount in MYR, optional spTransID), sent.
async fn aoc_refund(
    client: &AocClient,
    id: &str,
    amount: &str,
    sp: Option<&str>,
) -> Result<RefundRecord> {
    let mut request =
        AocRefundRequest::new(TransactionId::new(id)?, Money::parse(amount, Currency::Myr)?);
    if let Some(sp) = sp {
        request = request.with_sp_trans_id(RefundReference::new(sp)?);
    }
    client.refund(&request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aoc_calls() {
    let sb = sandbox::start().await;
    let client = aoc(&sb);

    let mut t = Tally::new("aoc::AocClient::refund", &sb);
    for amount in bad_input::amounts() {
        let r = aoc_refund(&client, seed::AOC_CHARGE_1001, &amount, None).await;
        t.check(&amount, Field("amount"), r);
    }
    for id in bad_input::ids() {
        let r = aoc_refund(&client, &id, "1.00", None).await;
        t.check(&id, Field("original_transaction_id"), r);
        let r = aoc_refund(&client, seed::AOC_CHARGE_1001, "1.00", Some(&id)).await;
        t.check(&id, Field("reference"), r);
    }
    // Typed amounts that are wrong for AOC: zero, past the exact-number limit, another currency.
    for amount in unparsed_bad_amounts(Currency::Myr).into_iter().chain([inr("1.00")]) {
        let id = TransactionId::new(seed::AOC_CHARGE_1001).unwrap();
        let r = client.refund(&AocRefundRequest::new(id, amount)).await;
        t.check(&amount, Field("amount"), r);
    }
    let no_amount = RefundRequest::new(TransactionId::new(seed::AOC_CHARGE_1001).unwrap());
    t.check(&"RefundRequest without amount", Field("amount"), client.refund(&no_amount).await);
    drop(t);

    let mut t = Tally::new("aoc::AocClient::refund_status", &sb);
    for id in bad_input::ids() {
        let r = async { client.refund_status(&RefundReference::new(id.as_str())?).await };
        t.check(&id, Field("reference"), r.await);
    }
    drop(t);
    sb.shutdown().await;
}

// ------------------------------------------------------------------ BOS calls

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bos_calls() {
    let sb = sandbox::start().await;
    let client = bos(&sb);
    let reference = seed::BOS_REFERENCE_1.to_string();
    let ackno = seed::BOS_ACKNO_1.to_string();

    let mut t = Tally::new("bos::BosClient::send_refund_otp", &sb);
    for n in bad_input::numbers() {
        t.check(&n, Field("referenceid"), client.send_refund_otp(&n, &ackno).await);
        t.check(&n, Field("ackno"), client.send_refund_otp(&reference, &n).await);
    }
    drop(t);

    let mut t = Tally::new("bos::BosClient::claim_refund", &sb);
    let good_otp = Otp::new("576719").unwrap();
    for n in bad_input::numbers() {
        t.check(&n, Field("referenceid"), client.claim_refund(&n, &ackno, &good_otp).await);
        t.check(&n, Field("ackno"), client.claim_refund(&reference, &n, &good_otp).await);
    }
    for otp in otps_sent_as_numbers() {
        let r = async { client.claim_refund(&reference, &ackno, &Otp::new(otp.as_str())?).await };
        t.check(&otp, Field("otp"), r.await);
    }
    drop(t);

    let mut t = Tally::new("bos::BosClient::status", &sb);
    for n in bad_input::numbers() {
        t.check(&n, Field("referenceid"), client.status(&n).await);
    }
    drop(t);

    let mut t = Tally::new("bos::BosClient::dynamic_qr", &sb);
    for amount in bad_input::amounts() {
        let r = async { client.dynamic_qr(Money::parse(&amount, Currency::Inr)?).await };
        t.check(&amount, Field("amount"), r.await);
    }
    for amount in unparsed_bad_amounts(Currency::Inr).into_iter().chain([myr("10")]) {
        t.check(&amount, Field("amount"), client.dynamic_qr(amount).await);
    }
    let unregistered =
        BosClient::builder().base_url(sb.bos_base_url()).token(seed::BOS_TOKEN).build().unwrap();
    let r = unregistered.dynamic_qr(inr("10")).await;
    t.check(&"no registration id", Config("BOS_REGISTRATION_ID"), r);
    drop(t);
    sb.shutdown().await;
}

// ------------------------------------------------------------------ DigiPay calls

/// The wallet refund as a caller builds it from text.
fn wallet_request(
    id: &str,
    amount: &str,
    txn_code: &str,
    note: Option<&str>,
) -> Result<WalletRefundRequest> {
    let mut builder = WalletRefundRequest::builder(id, Money::parse(amount, Currency::Inr)?)
        .txn_code(txn_code)
        .payment_mode(1);
    if let Some(note) = note {
        builder = builder.note(note);
    }
    builder.build()
}

/// The same, sent.
async fn wallet_refund(
    client: &DigiPayClient,
    id: &str,
    amount: &str,
    txn_code: &str,
    note: Option<&str>,
) -> Result<WalletRefund> {
    client.refund_money(&wallet_request(id, amount, txn_code, note)?).await
}

/// Bad `txn_code`s and `note`s with the field they must be named by.
fn bad_codes_and_notes() -> Vec<(String, Option<String>, &'static str)> {
    let codes = bad_input::txn_codes(MAX_TXN_CODE_LEN).into_iter().map(|c| (c, None, "txn_code"));
    let notes = bad_input::notes(MAX_NOTE_LEN).into_iter();
    codes.chain(notes.map(|n| ("REFUND".to_owned(), Some(n), "note"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digipay_calls() {
    let sb = sandbox::start().await;
    let client = digipay(&sb);

    let mut t = Tally::new("digipay::WalletRefundRequestBuilder::build", &sb);
    for amount in bad_input::amounts() {
        t.check(
            &amount,
            Field("amount"),
            wallet_request(seed::DIGIPAY_TXN_2001, &amount, "REFUND", None),
        );
    }
    for id in bad_input::ids() {
        t.check(&id, Field("initial_txn_id"), wallet_request(&id, "1.00", "REFUND", None));
    }
    for (code, note, field) in bad_codes_and_notes() {
        let r = wallet_request(seed::DIGIPAY_TXN_2001, "1.00", &code, note.as_deref());
        t.check(&(&code, &note), Field(field), r);
    }
    let zero = WalletRefundRequest::builder(
        seed::DIGIPAY_TXN_2001,
        Money::from_minor_units(0, Currency::Inr),
    );
    t.check(&"zero", Field("amount"), zero.build());
    drop(t);

    let mut t = Tally::new("digipay::DigiPayClient::refund_money", &sb);
    for amount in bad_input::amounts() {
        let r = wallet_refund(&client, seed::DIGIPAY_TXN_2001, &amount, "REFUND", None).await;
        t.check(&amount, Field("amount"), r);
    }
    for id in bad_input::ids() {
        let r = wallet_refund(&client, &id, "1.00", "REFUND", None).await;
        t.check(&id, Field("initial_txn_id"), r);
    }
    for (code, note, field) in bad_codes_and_notes() {
        let r = wallet_refund(&client, seed::DIGIPAY_TXN_2001, "1.00", &code, note.as_deref());
        t.check(&(&code, &note), Field(field), r.await);
    }
    // Typed amounts: zero and past the exact-number limit (the builder is bypassed for neither),
    // and another currency than the client's.
    for amount in unparsed_bad_amounts(Currency::Inr).into_iter().chain([myr("1.00")]) {
        let r = async {
            let request = WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, amount)
                .txn_code("REFUND")
                .payment_mode(1)
                .build()?;
            client.refund_money(&request).await
        };
        t.check(&amount, Field("amount"), r.await);
    }
    // Settings the request leaves to the client, which has none: configuration errors.
    let bare = WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, inr("1")).build().unwrap();
    t.check(&"no txn_code anywhere", Config("DIGIPAY_TXN_CODE"), client.refund_money(&bare).await);
    let coded = WalletRefundRequest::builder(seed::DIGIPAY_TXN_2001, inr("1"))
        .txn_code("REFUND")
        .build()
        .unwrap();
    let r = client.refund_money(&coded).await;
    t.check(&"no payment_mode anywhere", Config("DIGIPAY_PAYMENT_MODE"), r);
    drop(t);
    sb.shutdown().await;
}

// ------------------------------------------------------------------ Eko calls

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eko_calls() {
    let sb = sandbox::start().await;
    let client = eko(&sb);
    let tid = seed::EKO_TID_REFUNDABLE_1;

    let mut t = Tally::new("otp::OtpRefundClient::send_otp", &sb);
    for n in bad_input::numbers() {
        t.check(&n, Field("tid"), client.send_otp(&n).await);
    }
    drop(t);

    let mut t = Tally::new("otp::OtpRefundClient::refund", &sb);
    let good_otp = Otp::new("576719").unwrap();
    for n in bad_input::numbers() {
        t.check(&n, Field("tid"), client.refund(&n, "ref-1", &good_otp).await);
    }
    for r in bad_input::otp_ref_ids(MAX_OTP_REF_ID_LEN) {
        t.check(&r, Field("otp_ref_id"), client.refund(tid, &r, &good_otp).await);
    }
    for otp in otps_sent_as_numbers() {
        let r = async { client.refund(tid, "ref-1", &Otp::new(otp.as_str())?).await };
        t.check(&otp, Field("otp"), r.await);
    }
    drop(t);

    let mut t = Tally::new("otp::OtpRefundClient::transaction", &sb);
    for n in bad_input::numbers() {
        t.check(&n, Field("tid"), client.transaction(&n).await);
    }
    drop(t);
    sb.shutdown().await;
}
