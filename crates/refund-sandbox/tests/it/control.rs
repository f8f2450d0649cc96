use refund_sandbox::{Route, seed};
use serde_json::{Value, json};

use crate::{aoc, bos, client, json_of, start};

#[tokio::test]
async fn books_requests_otp_reset_describe() {
    let s = start().await;
    let base = s.base_url();
    aoc::refund(&s.aoc_base_url(), "c-1", seed::AOC_CHARGE_1001, "2.50").await;
    let books: Value = json_of(client().get(format!("{base}/_sandbox/books"))).await;
    let entry = books["aoc"]
        .as_array()
        .expect("aoc")
        .iter()
        .find(|e| e["id"] == seed::AOC_CHARGE_1001)
        .cloned();
    assert_eq!(
        entry.map(|e| (e["refunded_minor"].clone(), e["refund_count"].clone())),
        Some((json!(250), json!(1)))
    );
    assert_eq!(books["bos"].as_array().map(Vec::len), Some(2));
    assert_eq!(books["eko"].as_array().map(Vec::len), Some(3));
    assert_eq!(books["digipay"].as_array().map(Vec::len), Some(2));
    let counts: Value = json_of(client().get(format!("{base}/_sandbox/requests"))).await;
    assert_eq!(counts["aoc.refund"], 1);
    assert_eq!(counts["bos.claim_refund"], 0);

    let r = client()
        .get(format!("{base}/_sandbox/otp/bos/{}", seed::BOS_REFERENCE_1))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    bos::send_otp(&s.bos_base_url(), seed::BOS_REFERENCE_1, seed::BOS_ACKNO_1).await;
    let v: Value =
        json_of(client().get(format!("{base}/_sandbox/otp/bos/{}", seed::BOS_REFERENCE_1))).await;
    let otp = v["otp"].as_str().expect("otp");
    assert_eq!(otp.len(), 6);
    assert!(!otp.starts_with('0'));

    let r = client().post(format!("{base}/_sandbox/reset")).send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert!(s.books().aoc.iter().all(|e| e.refunded_minor == 0));
    assert_eq!(s.requests_seen(Route::AocRefund), 0);
    assert_eq!(s.total_requests(), 0);

    let text = s.describe();
    for needle in [
        seed::AOC_API_KEY,
        seed::BOS_TOKEN,
        seed::DIGIPAY_TOKEN,
        seed::EKO_DEVELOPER_KEY,
        "13192443",
        &s.aoc_base_url(),
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    let r = client().get(format!("{base}/_sandbox/describe")).send().await.expect("send");
    assert!(r.text().await.expect("text").contains(seed::AOC_CHARGE_1002));
    let r = client().get(format!("{base}/nope")).send().await.expect("send");
    assert_eq!(r.status(), 404);
    s.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_otps() {
    let mut otps = Vec::new();
    for _ in 0..2 {
        let s = start().await;
        bos::send_otp(&s.bos_base_url(), seed::BOS_REFERENCE_2, seed::BOS_ACKNO_2).await;
        otps.push(s.otp(refund_sandbox::Provider::Bos, &seed::BOS_REFERENCE_2.to_string()));
    }
    assert!(otps[0].is_some());
    assert_eq!(otps[0], otps[1]);
}
