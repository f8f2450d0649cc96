use base64::Engine;
use hmac::{Hmac, Mac};
use refund_sandbox::{Provider, Sandbox, seed};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{client, start};

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
}

/// The test side's signature: the testkit's, computed with `hmac`, `sha2` and `base64`.
pub(crate) use refund_testkit::eko::signature as sign;

pub(crate) fn signed(
    req: reqwest::RequestBuilder,
    ts_ms: i64,
    access_key: &str,
) -> reqwest::RequestBuilder {
    let ts = ts_ms.to_string();
    req.header("developer_key", seed::EKO_DEVELOPER_KEY)
        .header("secret-key", sign(access_key, &ts))
        .header("secret-key-timestamp", ts)
}

pub(crate) async fn send_otp(base: &str, tid: &str) -> (u16, Value) {
    let req = client().post(format!("{base}/customer/payment/refund/{tid}/otp"));
    let resp = signed(req, now_ms(), seed::EKO_ACCESS_KEY)
        .json(&json!({"initiator_id": seed::EKO_INITIATOR_ID}))
        .send()
        .await
        .expect("send");
    let code = resp.status().as_u16();
    (code, resp.json().await.expect("json"))
}

pub(crate) async fn refund(base: &str, tid: &str, body: Value) -> (u16, Value) {
    let req = client().post(format!("{base}/customer/payment/refund/{tid}"));
    let resp = signed(req, now_ms(), seed::EKO_ACCESS_KEY).json(&body).send().await.expect("send");
    let code = resp.status().as_u16();
    (code, resp.json().await.expect("json"))
}

async fn inquiry(base: &str, tid: &str) -> Value {
    let req = client().get(format!(
        "{base}/tools/reference/transaction/{tid}?initiator_id={}&user_code={}",
        seed::EKO_INITIATOR_ID,
        seed::EKO_USER_CODE
    ));
    signed(req, now_ms(), seed::EKO_ACCESS_KEY)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

pub(crate) fn body(otp: u64, otp_ref_id: &str) -> Value {
    json!({"initiator_id": seed::EKO_INITIATOR_ID, "user_code": seed::EKO_USER_CODE, "otp": otp,
           "otp_ref_id": otp_ref_id, "service_code": 80, "state": "1"})
}

#[test]
fn test_side_signature_matches_published_vector() {
    assert_eq!(
        sign("test-access-key-123", "1700000000000"),
        "88lqTf9ew69XbVbeczjxVL8/B4vibfp1MvTi1mIj2Xo="
    );
}

#[tokio::test]
async fn otp_wrong_then_right() {
    let s = start().await;
    let base = s.eko_base_url();
    let tid = seed::EKO_TID_REFUNDABLE_1;
    let (code, v) = send_otp(&base, tid).await;
    assert_eq!(code, 200);
    assert_eq!(v["status"], 2133);
    assert_eq!(v["response_type_id"], 2133);
    assert_eq!(v["message"], "Send OTP");
    let ref_id = v["data"]["otp_ref_id"].as_str().expect("ref").to_owned();
    assert_eq!(s.otp_ref_id(Provider::Eko, tid).as_deref(), Some(ref_id.as_str()));
    let otp: u64 = s.otp(Provider::Eko, tid).expect("otp").parse().expect("digits");
    let wrong = if otp == 999_999 { 100_000 } else { otp + 1 };
    let (_, v) = refund(&base, tid, body(wrong, &ref_id)).await;
    assert_eq!(v["status"], 302);
    assert_eq!(inquiry(&base, tid).await["data"]["tx_status"], "3");
    let (code, v) = refund(&base, tid, body(otp, &ref_id)).await;
    assert_eq!(code, 200);
    assert_eq!(v["status"], 0, "{v}");
    let d = &v["data"];
    assert!(d["refund_tid"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(d["tid"], tid);
    assert_eq!(d["amount"], "5000.00");
    assert_eq!(d["refunded_amount"], "5050.00");
    assert_eq!(d["balance"], "2.22263731286E9");
    assert_eq!(d["currency"], "INR");
    let inq = inquiry(&base, tid).await;
    assert_eq!(inq["data"]["tx_status"], "4");
    assert_eq!(inq["data"]["refund_tid"], d["refund_tid"]);
    assert_eq!(s.books().entry(tid).map(|e| e.refunded_minor), Some(500_000));
    // Refunded already: no new OTP.
    let (_, v) = send_otp(&base, tid).await;
    assert_ne!(v["status"], 2133);
}

#[tokio::test]
async fn expired_otp_is_303() {
    let s = Sandbox::builder()
        .otp_ttl(std::time::Duration::from_millis(1))
        .build()
        .start()
        .await
        .expect("start");
    let base = s.eko_base_url();
    let tid = seed::EKO_TID_REFUNDABLE_2;
    let (_, v) = send_otp(&base, tid).await;
    let ref_id = v["data"]["otp_ref_id"].as_str().expect("ref").to_owned();
    let otp: u64 = s.otp(Provider::Eko, tid).expect("otp").parse().expect("digits");
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let (_, v) = refund(&base, tid, body(otp, &ref_id)).await;
    assert_eq!(v["status"], 303);
}

#[tokio::test]
async fn error_statuses() {
    let s = start().await;
    let base = s.eko_base_url();
    let (_, v) = send_otp(&base, "99999999").await;
    assert_eq!(v["status"], 168);
    let (_, v) = refund(&base, "99999999", body(123_456, "x")).await;
    assert_eq!(v["status"], 168);
    let (_, v) = send_otp(&base, seed::EKO_TID_SUCCESS).await;
    assert_eq!(v["status"], 1, "a successful transfer is not refundable");
    let mut b = body(123_456, "x");
    b["initiator_id"] = json!("1111111111");
    let (_, v) = refund(&base, seed::EKO_TID_REFUNDABLE_1, b).await;
    assert_eq!(v["status"], 319);
    // Types: otp as a string, service_code as a string.
    for (k, val) in [("otp", json!("123456")), ("service_code", json!("80")), ("state", json!(1))] {
        let mut b = body(123_456, "x");
        b[k] = val;
        let (code, _) = refund(&base, seed::EKO_TID_REFUNDABLE_1, b).await;
        assert_eq!(code, 400, "{k}");
    }
}

#[tokio::test]
async fn bad_signature_and_stale_timestamp_are_403_with_date() {
    let s = start().await;
    let base = s.eko_base_url();
    let url = format!("{base}/customer/payment/refund/{}/otp", seed::EKO_TID_REFUNDABLE_1);
    let b = json!({"initiator_id": seed::EKO_INITIATOR_ID});
    // Signed with the wrong key.
    let resp =
        signed(client().post(&url), now_ms(), "wrong-key").json(&b).send().await.expect("send");
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().contains_key("date"));
    // Correct signature, timestamp ten minutes old.
    let resp = signed(client().post(&url), now_ms() - 600_000, seed::EKO_ACCESS_KEY)
        .json(&b)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);
    // Seconds instead of milliseconds.
    let resp = signed(client().post(&url), now_ms() / 1000, seed::EKO_ACCESS_KEY)
        .json(&b)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);
    // PHP argument order mistake: key = timestamp, message = base64(access key).
    let ts = now_ms().to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut mac = Hmac::<Sha256>::new_from_slice(ts.as_bytes()).expect("key");
    mac.update(b64.encode(seed::EKO_ACCESS_KEY).as_bytes());
    let swapped = b64.encode(mac.finalize().into_bytes());
    let resp = client()
        .post(&url)
        .header("developer_key", seed::EKO_DEVELOPER_KEY)
        .header("secret-key", swapped)
        .header("secret-key-timestamp", ts)
        .json(&b)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);
    // Missing developer key.
    let resp = client().post(&url).json(&b).send().await.expect("send");
    assert_eq!(resp.status(), 403);
    assert_eq!(s.otp(Provider::Eko, seed::EKO_TID_REFUNDABLE_1), None);
}

#[tokio::test]
async fn inquiry_errors_and_commit_then_timeout_on_refund() {
    use refund_sandbox::{Fault, FaultSpec, Route};
    let s = start().await;
    let base = s.eko_base_url();
    let req = client().get(format!(
        "{base}/tools/reference/transaction/{}?initiator_id=1&user_code=1",
        seed::EKO_TID_SUCCESS
    ));
    let v: Value = signed(req, now_ms(), seed::EKO_ACCESS_KEY)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(v["status"], 319);
    assert_eq!(inquiry(&base, "424242").await["status"], 168);
    assert_eq!(inquiry(&base, seed::EKO_TID_SUCCESS).await["data"]["tx_status"], "0");

    let tid = seed::EKO_TID_REFUNDABLE_2;
    let (_, v) = send_otp(&base, tid).await;
    let ref_id = v["data"]["otp_ref_id"].as_str().expect("ref").to_owned();
    let otp: u64 = s.otp(Provider::Eko, tid).expect("otp").parse().expect("digits");
    s.set_fault(Route::EkoRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: None }));
    let req = client()
        .post(format!("{base}/customer/payment/refund/{tid}"))
        .timeout(std::time::Duration::from_millis(300));
    let err = signed(req, now_ms(), seed::EKO_ACCESS_KEY)
        .json(&body(otp, &ref_id))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout());
    assert_eq!(
        inquiry(&base, tid).await["data"]["tx_status"],
        "4",
        "inquiry resolves the unknown outcome"
    );
}
