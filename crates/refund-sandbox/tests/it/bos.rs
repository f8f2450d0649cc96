use refund_sandbox::{Provider, Sandbox, seed};
use serde_json::{Value, json};

use crate::{client, start};

pub(crate) async fn post(base: &str, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = client().post(format!("{base}/api/BOS/{path}")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

const T: Option<&str> = Some(seed::BOS_TOKEN);

/// Asks for the refund OTP of `referenceid` with the seeded token.
pub(crate) async fn send_otp(base: &str, referenceid: u64, ackno: u64) -> (u16, Value) {
    post(base, "RefundOTP", T, json!({"referenceid": referenceid, "ackno": ackno})).await
}

/// Claims the refund of `referenceid` with `otp` (a JSON number) and the seeded token.
async fn claim(base: &str, referenceid: u64, ackno: u64, otp: u64) -> Value {
    let body = json!({"referenceid": referenceid, "ackno": ackno, "otp": otp});
    post(base, "ClaimRefund", T, body).await.1
}

#[tokio::test]
async fn otp_wrong_then_right_then_already_refunded() {
    let s = start().await;
    let base = s.bos_base_url();
    let r = seed::BOS_REFERENCE_1;
    let (code, v) = send_otp(&base, r, seed::BOS_ACKNO_1).await;
    assert_eq!(
        (code, v["status"].clone(), v["response_code"].clone()),
        (200, json!(true), json!(1))
    );
    let otp: u64 =
        s.otp(Provider::Bos, &r.to_string()).expect("otp issued").parse().expect("digits");
    assert!((100_000..1_000_000).contains(&otp));
    let wrong = if otp == 999_999 { 100_000 } else { otp + 1 };
    let v = claim(&base, r, seed::BOS_ACKNO_1, wrong).await;
    assert_eq!(v["response_code"], 3);
    assert_eq!(v["status"], false);
    let (_, st) = post(&base, "TransactStatus", T, json!({"referenceid": r})).await;
    assert_eq!(st["txn_status"], "3");
    let v = claim(&base, r, seed::BOS_ACKNO_1, otp).await;
    assert_eq!(
        v,
        json!({"status": true, "response_code": 1, "message": "Transaction Successfully Refunded"})
    );
    let v = claim(&base, r, seed::BOS_ACKNO_1, otp).await;
    assert_eq!(v["response_code"], 2);
    let (_, st) = post(&base, "TransactStatus", T, json!({"referenceid": r})).await;
    for field in [
        "status",
        "response_code",
        "utr",
        "amount",
        "ackno",
        "referenceid",
        "account",
        "txn_status",
        "message",
        "daterefunded",
        "refundtxnid",
    ] {
        assert!(st.get(field).is_some(), "{field} missing in {st}");
    }
    assert_eq!(st["txn_status"], "4");
    assert_eq!(st["amount"], "500");
    assert_eq!(st["ackno"], 133);
    assert!(st["refundtxnid"].as_str().is_some_and(|x| !x.is_empty()));
    let e = s.books().entry(&r.to_string()).cloned().expect("entry");
    assert_eq!((e.refunded_minor, e.refund_count), (50_000, 1));
}

#[tokio::test]
async fn expired_otp_is_code_3() {
    let s = start().await;
    let base = s.bos_base_url();
    let r = seed::BOS_REFERENCE_2;
    send_otp(&base, r, seed::BOS_ACKNO_2).await;
    let otp: u64 = s.otp(Provider::Bos, &r.to_string()).expect("otp").parse().expect("digits");
    // Through the control endpoint, as a CLI test would.
    let resp = client()
        .post(format!("{}/_sandbox/otp/bos/{r}/expire", s.base_url()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v = claim(&base, r, seed::BOS_ACKNO_2, otp).await;
    assert_eq!(v["response_code"], 3);
    assert_eq!(v["message"], "OTP expired");
}

#[tokio::test]
async fn auth_and_validation_errors() {
    let s = start().await;
    let base = s.bos_base_url();
    let body = json!({"referenceid": seed::BOS_REFERENCE_1, "ackno": seed::BOS_ACKNO_1});
    for token in [None, Some("wrong")] {
        let (code, v) = post(&base, "RefundOTP", token, body.clone()).await;
        assert_eq!(code, 401);
        assert_eq!(
            v,
            json!({"status": false, "responsecode": 9, "message": "Authentication failed."})
        );
    }
    // Numbers as strings, the page's `RegistrationID` spelling, garbage: code 4.
    for bad in [
        json!({"referenceid": "12345678931", "ackno": 133}),
        json!({"RegistrationID": 12345678931u64, "ackno": 133}),
        json!({"referenceid": 12345678931u64, "ackno": 133, "otp": "123456"}),
    ] {
        let (code, v) = post(&base, "ClaimRefund", T, bad.clone()).await;
        assert_eq!((code, v["response_code"].clone()), (200, json!(4)), "{bad}");
    }
    let (_, v) = post(&base, "RefundOTP", T, json!({"referenceid": 1, "ackno": 1})).await;
    assert_eq!(v["response_code"], 2);
    let v = claim(&base, seed::BOS_REFERENCE_1, seed::BOS_ACKNO_1, 123456).await;
    assert_eq!(v["response_code"], 3, "no OTP issued yet");
}

#[tokio::test]
async fn token_optional_when_configured() {
    let s = Sandbox::builder().bos_token_required(false).build().start().await.expect("start");
    let (code, v) = post(
        &s.bos_base_url(),
        "TransactStatus",
        None,
        json!({"referenceid": seed::BOS_REFERENCE_1}),
    )
    .await;
    assert_eq!((code, v["response_code"].clone()), (200, json!(1)));
}

#[tokio::test]
async fn dynamic_qr_code() {
    let s = start().await;
    let base = s.bos_base_url();
    let (code, v) =
        post(&base, "V4/DynamicQRCode", T, json!({"RegistrationID": "BOS-554", "amount": "10"}))
            .await;
    assert_eq!(code, 200);
    assert!(
        v["UPIIntend"]
            .as_str()
            .is_some_and(|u| u.starts_with("upi://pay?") && u.ends_with("&am=10")),
        "{v}"
    );
    assert_eq!(v["Status"], "True");
    assert_eq!(v["PaymentAmount"], 10);
    for k in [
        "id",
        "txnRefranceID",
        "entity",
        "CreatedDateTime",
        "status",
        "ExpireDateTime",
        "message",
        "Value",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let (code, v) =
        post(&base, "V4/DynamicQRCode", T, json!({"RegistrationID": "BOS-999", "amount": "10"}))
            .await;
    assert_eq!(code, 400);
    assert_eq!(
        v,
        json!({"status": "ERROR", "subCode": "400", "message": "VPA does not exist for the account provided"})
    );
    let (code, v) =
        post(&base, "V4/DynamicQRCode", T, json!({"RegistrationID": "BOS-554", "amount": 10}))
            .await;
    assert_eq!((code, v["status"].clone()), (400, json!("ERROR")));
}

#[tokio::test]
async fn leading_zero_otps_when_configured() {
    let s = Sandbox::builder().otp_leading_zero(true).build().start().await.expect("start");
    let base = s.bos_base_url();
    let r = seed::BOS_REFERENCE_1;
    send_otp(&base, r, seed::BOS_ACKNO_1).await;
    let text = s.otp(Provider::Bos, &r.to_string()).expect("otp");
    assert_eq!(text.len(), 6);
    assert!(text.starts_with('0'), "{text}");
    // As a JSON number the leading zero is gone; the server compares the number.
    let otp: u64 = text.parse().expect("digits");
    let v = claim(&base, r, seed::BOS_ACKNO_1, otp).await;
    assert_eq!(v["response_code"], 1);
}

#[tokio::test]
async fn faults_apply_to_bos_routes_too() {
    use refund_sandbox::{Fault, FaultSpec, Route};
    let s = start().await;
    s.set_fault(Route::BosClaimRefund, FaultSpec::next(1, Fault::CommitThenTimeout { ms: None }));
    let base = s.bos_base_url();
    let r = seed::BOS_REFERENCE_2;
    send_otp(&base, r, seed::BOS_ACKNO_2).await;
    let otp: u64 = s.otp(Provider::Bos, &r.to_string()).expect("otp").parse().expect("digits");
    let err = client()
        .post(format!("{base}/api/BOS/ClaimRefund"))
        .bearer_auth(seed::BOS_TOKEN)
        .timeout(std::time::Duration::from_millis(300))
        .json(&json!({"referenceid": r, "ackno": seed::BOS_ACKNO_2, "otp": otp}))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout());
    let (_, st) = post(&base, "TransactStatus", T, json!({"referenceid": r})).await;
    assert_eq!(st["txn_status"], "4", "the claim went through");
}
