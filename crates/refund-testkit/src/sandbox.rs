//! The facade's clients for `refund-sandbox`'s seeded credentials.

use refund::aoc::{AocClient, AocClientBuilder};
use refund::bos::{BosClient, BosClientBuilder};
use refund::digipay::{DigiPayClient, DigiPayClientBuilder};
use refund::otp::{OtpRefundClient, OtpRefundClientBuilder};
use refund::{Currency, Money};
use refund_sandbox::{RunningSandbox, Sandbox, seed};

/// A sandbox with the default seed, started on the current runtime.
pub async fn start() -> RunningSandbox {
    Sandbox::builder().build().start().await.expect("the sandbox starts")
}

/// An AOC client builder with the seeded credentials, for the sandbox (or anything) at `root`
/// (`http://127.0.0.1:PORT`, as [`RunningSandbox::base_url`] gives it).
pub fn aoc(root: &str) -> AocClientBuilder {
    AocClient::builder()
        .base_url(format!("{root}/aoc"))
        .username(seed::AOC_USERNAME)
        .api_key(seed::AOC_API_KEY)
}

/// A BOS client builder with the seeded static token and registration id.
pub fn bos(root: &str) -> BosClientBuilder {
    let builder = BosClient::builder().base_url(format!("{root}/bos"));
    builder.token(seed::BOS_TOKEN).registration_id(seed::BOS_REGISTRATION_ID)
}

/// A DigiPay client builder with the seeded company and static token (and no request defaults).
pub fn digipay(root: &str) -> DigiPayClientBuilder {
    let builder = DigiPayClient::builder().base_url(format!("{root}/digipay"));
    builder.company_id(seed::DIGIPAY_COMPANY_ID).token(seed::DIGIPAY_TOKEN)
}

/// A DigiPay client builder that exchanges the seeded client credentials for a token.
pub fn digipay_client_credentials(root: &str) -> DigiPayClientBuilder {
    let builder = DigiPayClient::builder().base_url(format!("{root}/digipay"));
    let builder = builder.company_id(seed::DIGIPAY_COMPANY_ID);
    builder.client_credentials(seed::DIGIPAY_CLIENT_ID, seed::DIGIPAY_CLIENT_SECRET)
}

/// An Eko OTP refund client builder with the seeded keys, initiator and user code.
pub fn eko(root: &str) -> OtpRefundClientBuilder {
    let builder = OtpRefundClient::builder().base_url(format!("{root}/eko/v3"));
    let keys = builder.developer_key(seed::EKO_DEVELOPER_KEY).access_key(seed::EKO_ACCESS_KEY);
    keys.initiator_id(seed::EKO_INITIATOR_ID).user_code(seed::EKO_USER_CODE)
}

/// Ringgit from text that must parse.
pub fn myr(text: &str) -> Money {
    Money::parse(text, Currency::Myr).expect("a valid MYR amount")
}

/// Rupees from text that must parse.
pub fn inr(text: &str) -> Money {
    Money::parse(text, Currency::Inr).expect("a valid INR amount")
}
