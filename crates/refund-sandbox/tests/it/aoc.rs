use refund_sandbox::{Route, seed};
use serde_json::Value;

use reqwest::RequestBuilder;

use crate::{client, json_of, start};

/// AOC's five refund fields with the seeded username.
pub(crate) fn refund_form(
    api_key: &str,
    sp: &str,
    aoc_id: &str,
    amount: &str,
) -> [(&'static str, String); 5] {
    let fields = [api_key, seed::AOC_USERNAME, sp, aoc_id, amount].map(str::to_owned);
    let [api_key, username, sp, aoc_id, amount] = fields;
    [
        ("apiKey", api_key),
        ("username", username),
        ("spTransID", sp),
        ("aocTransID", aoc_id),
        ("amount", amount),
    ]
}

/// A refund request with the seeded credentials.
pub(crate) fn refund_request(base: &str, sp: &str, aoc_id: &str, amount: &str) -> RequestBuilder {
    let form = refund_form(seed::AOC_API_KEY, sp, aoc_id, amount);
    client().post(format!("{base}/api/refund")).form(&form)
}

pub(crate) async fn refund(base: &str, sp: &str, aoc_id: &str, amount: &str) -> Value {
    json_of(refund_request(base, sp, aoc_id, amount)).await
}

/// The `errorCode` of a refund's answer.
async fn refund_code(base: &str, sp: &str, aoc_id: &str, amount: &str) -> Value {
    refund(base, sp, aoc_id, amount).await["data"]["errorCode"].clone()
}

async fn status(base: &str, sp: &str) -> Value {
    let form = [("apiKey", seed::AOC_API_KEY), ("username", seed::AOC_USERNAME), ("spTransID", sp)];
    json_of(client().post(format!("{base}/api/refundStatus")).form(&form)).await
}

#[tokio::test]
async fn partial_refunds_accumulate_then_over_refund_is_denied() {
    let s = start().await;
    let base = s.aoc_base_url();
    let v = refund(&base, "sp-1", seed::AOC_CHARGE_1001, "4.00").await;
    let d = &v["data"];
    assert_eq!(d["transactionOperationStatus"], "refunded");
    assert_eq!(d["errorCode"], "00");
    assert_eq!(d["amountRefunded"], "4.00");
    assert_eq!(d["aocTransID"], seed::AOC_CHARGE_1001);
    assert!(d["clientCorrelator"].as_str().is_some_and(|c| !c.is_empty()));
    assert_eq!(d["errorMessage"], "");
    assert_eq!(refund_code(&base, "sp-2", seed::AOC_CHARGE_1001, "6.00").await, "00");
    let over = refund(&base, "sp-3", seed::AOC_CHARGE_1001, "0.01").await;
    assert_eq!(over["data"]["transactionOperationStatus"], "denied");
    assert_eq!(over["data"]["errorCode"], "AOC1015");
    let e = s.books().entry(seed::AOC_CHARGE_1001).cloned().expect("entry");
    assert_eq!((e.refunded_minor, e.refund_count), (1000, 2));
    assert_eq!(s.requests_seen(Route::AocRefund), 3);
}

#[tokio::test]
async fn duplicate_sp_trans_id_and_status() {
    let s = start().await;
    let base = s.aoc_base_url();
    assert_eq!(refund_code(&base, "dup-1", seed::AOC_CHARGE_1002, "1.00").await, "00");
    let dup = refund(&base, "dup-1", seed::AOC_CHARGE_1002, "1.00").await;
    assert_eq!(dup["data"]["errorCode"], "AOC1001");
    assert_eq!(dup["data"]["transactionOperationStatus"], "denied");
    let st = status(&base, "dup-1").await;
    assert_eq!(st["data"]["transactionOperationStatus"], "refunded");
    assert_eq!(st["data"]["amountRefunded"], "1.00");
    assert_eq!(s.books().entry(seed::AOC_CHARGE_1002).map(|e| e.refunded_minor), Some(100));
    // A denied refund's status says denied; an unknown one is AOC0001.
    refund(&base, "big", seed::AOC_CHARGE_1003, "5.01").await;
    assert_eq!(status(&base, "big").await["data"]["errorCode"], "AOC1015");
    assert_eq!(status(&base, "never").await["data"]["errorCode"], "AOC0001");
}

#[tokio::test]
async fn error_shapes() {
    let s = start().await;
    let base = s.aoc_base_url();
    for bad in ["1", "1.0", "1.000", "-1.00", "1e2", "0.00"] {
        let v = refund(&base, &format!("amt-{bad}"), seed::AOC_CHARGE_1002, bad).await;
        assert_eq!(v["data"]["errorCode"], "AOC0001", "{bad}");
    }
    let unknown = refund(&base, "u-1", "AOC-NOPE", "1.00").await;
    assert_eq!(unknown["data"]["errorCode"], "AOC0001");
    let form = refund_form("nope", "k-1", seed::AOC_CHARGE_1002, "1.00");
    let wrong_key = json_of(client().post(format!("{base}/api/refund")).form(&form)).await;
    assert_eq!(wrong_key["data"]["errorCode"], "AOC0003");
    assert_eq!(wrong_key["data"]["transactionOperationStatus"], "denied");
    // The page's sample shows JSON; the platform wants a form.
    let json_body =
        json_of(client().post(format!("{base}/api/refund")).json(
            &serde_json::json!({"apiKey": seed::AOC_API_KEY, "username": seed::AOC_USERNAME,
            "spTransID": "j-1", "aocTransID": seed::AOC_CHARGE_1002, "amount": "1.00"}),
        ))
        .await;
    assert_eq!(json_body["data"]["errorCode"], "AOC0001");
    assert!(s.books().aoc.iter().all(|e| e.refunded_minor == 0));
}
