use base64::Engine;
use refund_sandbox::seed;
use serde_json::{Value, json};

use crate::{client, start};

/// A wallet refund with `auth` as the Authorization, `company` as the company header (name and
/// value) and a JSON `body`.
pub(crate) fn wallet_refund(
    base: &str,
    auth: &str,
    company: (&str, &str),
    body: &str,
) -> reqwest::RequestBuilder {
    client()
        .post(format!("{base}/digipay/v3/transaction/wallet_refund_money"))
        .header("Authorization", auth)
        .header(company.0, company.1)
        .header("content-type", "application/json")
        .body(body.to_owned())
}

/// The seeded company, in the header's documented spelling.
pub(crate) const COMPANY: (&str, &str) = ("CompanyID", seed::DIGIPAY_COMPANY_ID);

pub(crate) async fn refund_raw(
    base: &str,
    auth: &str,
    company_header: &str,
    body: &str,
) -> (u16, Value) {
    let company = (company_header, seed::DIGIPAY_COMPANY_ID);
    let resp = wallet_refund(base, auth, company, body).send().await.expect("send");
    let code = resp.status().as_u16();
    (code, resp.json().await.expect("json"))
}

pub(crate) fn token() -> String {
    format!("Token {}", seed::DIGIPAY_TOKEN)
}

#[tokio::test]
async fn refund_happy_path_and_over_refund() {
    let s = start().await;
    let base = s.digipay_base_url();
    let body = r#"{"initial_txn_id":"DP-TXN-2002","txn_amount":79.1,"txn_code":"MR / CR","payment_mode":2,"note":"Refund Money"}"#;
    let (code, v) = refund_raw(&base, &token(), "CompanyID", body).await;
    assert_eq!(code, 200);
    assert_eq!(v["success"], 1);
    assert_eq!(v["error"], json!([]));
    assert_eq!(v["data"]["message"], "Money successfully refunded");
    assert_eq!(v["data"]["transaction"]["txn_status"], 1);
    assert!(v["data"]["transaction"]["txn_id"].is_string());
    assert!(v["data"]["transaction"]["txn_number"].is_string());
    let e = s.books().entry(seed::DIGIPAY_TXN_2002).cloned().expect("entry");
    assert_eq!(e.refunded_minor, 7910);
    let one =
        r#"{"initial_txn_id":"DP-TXN-2002","txn_amount":0.01,"txn_code":"CIB","payment_mode":2}"#;
    let (code, v) = refund_raw(&base, &token(), "companyid", one).await;
    assert_eq!((code, v["success"].clone()), (400, json!(0)));
    // Lower-case header name and Bearer scheme are accepted.
    let ok =
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":100,"txn_code":"CIB","payment_mode":2}"#;
    let (code, _) =
        refund_raw(&base, &format!("Bearer {}", seed::DIGIPAY_TOKEN), "companyid", ok).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn error_shapes() {
    let s = start().await;
    let base = s.digipay_base_url();
    let string_amount =
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":"100","txn_code":"CIB","payment_mode":2}"#;
    let (code, v) = refund_raw(&base, &token(), "CompanyID", string_amount).await;
    assert_eq!(code, 400);
    assert_eq!(v, json!({"success": 0, "error": [1], "data": {"message": "BAD_REQUEST"}}));
    for bad in [
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":79.999,"txn_code":"CIB","payment_mode":2}"#,
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":1e2,"txn_code":"CIB","payment_mode":2}"#,
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":-1,"txn_code":"CIB","payment_mode":2}"#,
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":1,"txn_code":"CIB","payment_mode":"2"}"#,
        r#"{"initial_txn_id":2001,"txn_amount":1,"txn_code":"CIB","payment_mode":2}"#,
        r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":1,"payment_mode":2}"#,
        r#"not json"#,
    ] {
        let (code, v) = refund_raw(&base, &token(), "CompanyID", bad).await;
        assert_eq!((code, v["success"].clone()), (400, json!(0)), "{bad}");
    }
    let ok = r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":1,"txn_code":"CIB","payment_mode":2}"#;
    let (code, v) = refund_raw(&base, "Token nope", "CompanyID", ok).await;
    assert_eq!((code, v["success"].clone()), (401, json!(0)));
    let unknown =
        r#"{"initial_txn_id":"DP-NOPE","txn_amount":1,"txn_code":"CIB","payment_mode":2}"#;
    let (code, _) = refund_raw(&base, &token(), "CompanyID", unknown).await;
    assert_eq!(code, 404);
    let other_company = ("CompanyID", "other-company");
    let resp = wallet_refund(&base, &token(), other_company, ok).send().await.expect("send");
    assert_eq!(resp.status(), 401);
    assert!(s.books().digipay.iter().all(|e| e.refunded_minor == 0));
}

#[tokio::test]
async fn authenticate_issues_a_usable_token() {
    let s = start().await;
    let base = s.digipay_base_url();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        seed::DIGIPAY_CLIENT_ID,
        seed::DIGIPAY_CLIENT_SECRET
    ));
    let resp = client()
        .post(format!("{base}/digipay/v3/auth/authenticate"))
        .header("Authorization", format!("Basic {basic}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    let tok = v["data"]["access_token"].as_str().expect("token").to_owned();
    let exp = v["data"]["expiry_time"].as_str().expect("expiry");
    assert_eq!(exp.len(), 19, "{exp}");
    assert_eq!(&exp[4..5], "-");
    assert_eq!(&exp[10..11], " ");
    let ok = r#"{"initial_txn_id":"DP-TXN-2001","txn_amount":1,"txn_code":"CIB","payment_mode":2}"#;
    let (code, _) = refund_raw(&base, &format!("Token {tok}"), "CompanyID", ok).await;
    assert_eq!(code, 200);
    let resp = client()
        .post(format!("{base}/digipay/v3/auth/authenticate"))
        .basic_auth(seed::DIGIPAY_CLIENT_ID, Some("wrong"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn form_body_is_bad_request() {
    let s = start().await;
    let resp = client()
        .post(format!("{}/digipay/v3/transaction/wallet_refund_money", s.digipay_base_url()))
        .header("Authorization", token())
        .header("CompanyID", seed::DIGIPAY_COMPANY_ID)
        .form(&[("initial_txn_id", "DP-TXN-2001"), ("txn_amount", "1")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
}
