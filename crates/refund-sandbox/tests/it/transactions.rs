use std::io::ErrorKind;

use refund_sandbox::{
    OriginalTransaction, Provider, RunningSandbox, Sandbox, TransactionError, seed,
};
use serde_json::{Value, json};

use crate::{aoc, bos, client, digipay, eko, start};

/// Sends the refund OTP for a BOS transfer, then claims the refund with it.
pub(crate) async fn bos_refund(s: &RunningSandbox, referenceid: u64, ackno: u64) -> Value {
    let (base, t) = (s.bos_base_url(), Some(seed::BOS_TOKEN));
    let (_, v) =
        bos::post(&base, "RefundOTP", t, json!({"referenceid": referenceid, "ackno": ackno})).await;
    assert_eq!(v["response_code"], 1, "{v}");
    let otp: u64 =
        s.otp(Provider::Bos, &referenceid.to_string()).expect("otp").parse().expect("digits");
    let claim = json!({"referenceid": referenceid, "ackno": ackno, "otp": otp});
    bos::post(&base, "ClaimRefund", t, claim).await.1
}

/// Sends the refund OTP for an Eko transfer, then refunds it with that OTP.
pub(crate) async fn eko_refund(s: &RunningSandbox, tid: &str) -> Value {
    let base = s.eko_base_url();
    let (_, v) = eko::send_otp(&base, tid).await;
    let ref_id = v["data"]["otp_ref_id"].as_str().expect("otp_ref_id").to_owned();
    let otp: u64 = s.otp(Provider::Eko, tid).expect("otp").parse().expect("digits");
    eko::refund(&base, tid, eko::body(otp, &ref_id)).await.1
}

/// The body of a DigiPay refund of `amount` (JSON number text) with an optional `note`.
pub(crate) fn digipay_body(txn: &str, amount: &str, note: Option<&str>) -> String {
    let note = note.map(|n| format!(r#","note":"{n}""#)).unwrap_or_default();
    format!(
        r#"{{"initial_txn_id":"{txn}","txn_amount":{amount},"txn_code":"CIB","payment_mode":2{note}}}"#
    )
}

/// A DigiPay refund of `amount` (JSON number text) with an optional `note`.
pub(crate) async fn digipay_refund(
    s: &RunningSandbox,
    txn: &str,
    amount: &str,
    note: Option<&str>,
) -> (u16, Value) {
    let auth = format!("Token {}", seed::DIGIPAY_TOKEN);
    let body = digipay_body(txn, amount, note);
    digipay::refund_raw(&s.digipay_base_url(), &auth, "CompanyID", &body).await
}

async fn post_transaction(s: &RunningSandbox, body: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{}/_sandbox/transactions", s.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("send");
    (r.status().as_u16(), r.json().await.expect("json"))
}

fn refunded(s: &RunningSandbox, id: &str) -> Option<(i64, i64, u32)> {
    s.books().entry(id).map(|e| (e.original_minor, e.refunded_minor, e.refund_count))
}

#[tokio::test]
async fn builder_adds_transactions_that_refund_like_seeded_ones() {
    let s = Sandbox::builder()
        .aoc_charge("AOC-EXTRA-1", 2000)
        .digipay_transaction("DP-EXTRA-1", 5000)
        .eko_transfer("77000001", 30_000)
        .bos_transfer(90_000_000_001, 901, 10_000)
        .build()
        .start()
        .await
        .expect("start");
    let books = s.books();
    assert_eq!(
        (books.aoc.len(), books.digipay.len(), books.bos.len(), books.eko.len()),
        (4, 3, 3, 4)
    );
    let aoc = books.entry("AOC-EXTRA-1").expect("aoc entry");
    assert_eq!((aoc.currency.as_str(), aoc.original_minor), ("MYR", 2000));
    assert_eq!(books.entry("90000000001").map(|e| e.currency.as_str()), Some("INR"));

    let base = s.aoc_base_url();
    assert_eq!(aoc::refund(&base, "x-1", "AOC-EXTRA-1", "15.00").await["data"]["errorCode"], "00");
    assert_eq!(
        aoc::refund(&base, "x-2", "AOC-EXTRA-1", "5.01").await["data"]["errorCode"],
        "AOC1015"
    );
    assert_eq!(refunded(&s, "AOC-EXTRA-1"), Some((2000, 1500, 1)));

    let (code, _) = digipay_refund(&s, "DP-EXTRA-1", "50", None).await;
    assert_eq!(code, 200);
    assert_eq!(digipay_refund(&s, "DP-EXTRA-1", "0.01", None).await.0, 400);
    assert_eq!(refunded(&s, "DP-EXTRA-1"), Some((5000, 5000, 1)));

    // The ackno must match, as for the seeded transfers.
    let (_, v) = bos::post(
        &s.bos_base_url(),
        "RefundOTP",
        Some(seed::BOS_TOKEN),
        json!({"referenceid": 90_000_000_001_u64, "ackno": 902}),
    )
    .await;
    assert_eq!(v["response_code"], 2);
    assert_eq!(bos_refund(&s, 90_000_000_001, 901).await["response_code"], 1);
    assert_eq!(refunded(&s, "90000000001"), Some((10_000, 10_000, 1)));

    assert_eq!(eko_refund(&s, "77000001").await["status"], 0);
    assert_eq!(refunded(&s, "77000001"), Some((30_000, 30_000, 1)));
    let text = s.describe();
    assert_eq!(text.matches("+ 1 added original transactions").count(), 4, "{text}");
}

#[tokio::test]
async fn builder_with_a_bad_transaction_does_not_start() {
    for (builder, needle) in [
        (Sandbox::builder().aoc_charge(seed::AOC_CHARGE_1001, 100), "already has"),
        (Sandbox::builder().aoc_charge("A", 100).aoc_charge("A", 200), "already has"),
        (Sandbox::builder().bos_transfer(seed::BOS_REFERENCE_1, 1, 100), "already has"),
        (Sandbox::builder().digipay_transaction("D", 0), "out of range"),
        (Sandbox::builder().eko_transfer("E", -100), "out of range"),
        (Sandbox::builder().aoc_charge("", 100), "must not be empty"),
    ] {
        let err = builder.build().start().await.expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[tokio::test]
async fn running_sandbox_adds_transactions() {
    let s = start().await;
    let tx = OriginalTransaction::Aoc { id: "AOC-LATE-1".into(), amount_minor: 700 };
    assert_eq!(s.add_transaction(tx.clone()), Ok(()));
    assert_eq!(
        s.add_transaction(tx),
        Err(TransactionError::DuplicateId { provider: Provider::Aoc, id: "AOC-LATE-1".into() })
    );
    let seeded = OriginalTransaction::Eko { tid: seed::EKO_TID_SUCCESS.into(), amount_minor: 1 };
    assert!(matches!(s.add_transaction(seeded), Err(TransactionError::DuplicateId { .. })));
    let zero = OriginalTransaction::Digipay { id: "DP-ZERO".into(), amount_minor: 0 };
    assert!(matches!(s.add_transaction(zero), Err(TransactionError::AmountOutOfRange { .. })));
    assert_eq!(s.books().entry("DP-ZERO"), None);
    // The same id under another provider is a different transaction.
    let eko = OriginalTransaction::Eko { tid: "AOC-LATE-1".into(), amount_minor: 100 };
    assert_eq!(s.add_transaction(eko), Ok(()));
    let r = aoc::refund(&s.aoc_base_url(), "late-1", "AOC-LATE-1", "7.00").await;
    assert_eq!(r["data"]["errorCode"], "00");
    assert_eq!(refunded(&s, "AOC-LATE-1"), Some((700, 700, 1)));
    let bos = OriginalTransaction::Bos { referenceid: 5, ackno: 6, amount_minor: 700 };
    assert_eq!(s.add_transaction(bos), Ok(()));
    assert_eq!(bos_refund(&s, 5, 6).await["response_code"], 1);
}

#[tokio::test]
async fn control_route_adds_transactions_and_refuses_bad_bodies() {
    let s = start().await;
    let (code, v) =
        post_transaction(&s, r#"{"provider":"aoc","id":"AOC-X","amount_minor":1000}"#).await;
    assert_eq!(code, 200);
    assert_eq!(
        v,
        json!({"ok": true, "provider": "aoc", "id": "AOC-X", "amount_minor": 1000, "currency": "MYR"})
    );
    for body in [
        r#"{"provider":"digipay","id":"DP-X","amount_minor":7910}"#,
        r#"{"provider":"eko","id":"77000009","amount_minor":5000}"#,
        r#"{"provider":"bos","id":90000000009,"ackno":909,"amount_minor":25000}"#,
        r#"{"provider":"bos","referenceid":90000000010,"ackno":910,"amount_minor":25000}"#,
    ] {
        assert_eq!(post_transaction(&s, body).await.0, 200, "{body}");
    }
    let books = s.books();
    assert_eq!(books.entry("DP-X").map(|e| e.original_minor), Some(7910));
    assert_eq!(books.entry("77000009").map(|e| e.original_minor), Some(5000));
    assert_eq!(books.entry("90000000010").map(|e| e.original_minor), Some(25000));
    assert_eq!(bos_refund(&s, 90_000_000_009, 909).await["response_code"], 1);

    for (body, needle) in [
        (r#"{"provider":"paypal","id":"P","amount_minor":1}"#, "unknown provider `paypal`"),
        (r#"{"provider":"aoc","id":"AOC-X","amount_minor":5}"#, "already has"),
        (r#"{"provider":"aoc","id":"AOC-CHARGE-1001","amount_minor":5}"#, "already has"),
        (r#"{"provider":"aoc","id":"AOC-Y","amount_minor":0}"#, "out of range"),
        (r#"{"provider":"digipay","id":"DP-Y","amount_minor":-100}"#, "out of range"),
        (r#"{"provider":"aoc","id":"AOC-Y","amount_minor":10.5}"#, "integer"),
        (r#"{"provider":"aoc","id":"","amount_minor":5}"#, "must not be empty"),
        (r#"{"provider":"bos","id":1,"amount_minor":5}"#, "ackno is required"),
        (r#"{"provider":"aoc","id":"AOC-Y"}"#, "missing field `amount_minor`"),
        (r#"{"provider":"aoc","id":"AOC-Y","amount":5}"#, "unknown field `amount`"),
        ("provider=aoc", "invalid transaction body"),
    ] {
        let (code, v) = post_transaction(&s, body).await;
        assert_eq!(code, 400, "{body}");
        let error = v["error"].as_str().expect("error text");
        assert!(error.contains(needle), "{body}: {error}");
    }
    assert_eq!(s.books().entry("AOC-Y"), None);
    assert_eq!(s.books().entry("AOC-X").map(|e| e.original_minor), Some(1000));
}

#[tokio::test]
async fn reset_keeps_added_transactions_and_clears_their_refunds() {
    let s = Sandbox::builder().aoc_charge("AOC-KEEP-1", 1000).build().start().await.expect("start");
    let late = OriginalTransaction::Eko { tid: "77000002".into(), amount_minor: 9000 };
    s.add_transaction(late).expect("added");
    let base = s.aoc_base_url();
    assert_eq!(aoc::refund(&base, "k-1", "AOC-KEEP-1", "10.00").await["data"]["errorCode"], "00");
    assert_eq!(eko_refund(&s, "77000002").await["status"], 0);
    assert_eq!(s.executed_refunds().len(), 2);

    let r = client().post(format!("{}/_sandbox/reset", s.base_url())).send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(refunded(&s, "AOC-KEEP-1"), Some((1000, 0, 0)));
    assert_eq!(refunded(&s, "77000002"), Some((9000, 0, 0)));
    assert_eq!(s.books().aoc.len(), 4);
    assert!(s.executed_refunds().is_empty());
    // Refundable again, with the same spTransID: the refunds were forgotten too.
    assert_eq!(aoc::refund(&base, "k-1", "AOC-KEEP-1", "10.00").await["data"]["errorCode"], "00");
    assert_eq!(eko_refund(&s, "77000002").await["status"], 0);
    s.reset();
    assert_eq!(refunded(&s, "77000002"), Some((9000, 0, 0)));
    // Still there, so still a duplicate.
    let again = OriginalTransaction::Aoc { id: "AOC-KEEP-1".into(), amount_minor: 1 };
    assert!(s.add_transaction(again).is_err());
}
