//! The facade's clients and the command's settings for `refund-sandbox`'s seeded credentials.

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

/// One value for every secret the command takes (and the BOS registration id, which the SDK masks
/// too).
#[derive(Clone, Copy, Debug)]
pub struct Credentials {
    /// `AOC_API_KEY`.
    pub aoc_api_key: &'static str,
    /// `BOS_TOKEN`.
    pub bos_token: &'static str,
    /// `BOS_REGISTRATION_ID`.
    pub bos_registration_id: &'static str,
    /// `DIGIPAY_TOKEN`.
    pub digipay_token: &'static str,
    /// `OTP_REFUND_DEVELOPER_KEY`.
    pub eko_developer_key: &'static str,
    /// `OTP_REFUND_ACCESS_KEY`.
    pub eko_access_key: &'static str,
}

/// The credentials the sandbox accepts.
pub const SEEDED: Credentials = Credentials {
    aoc_api_key: seed::AOC_API_KEY,
    bos_token: seed::BOS_TOKEN,
    bos_registration_id: seed::BOS_REGISTRATION_ID,
    digipay_token: seed::DIGIPAY_TOKEN,
    eko_developer_key: seed::EKO_DEVELOPER_KEY,
    eko_access_key: seed::EKO_ACCESS_KEY,
};

impl Credentials {
    /// Every value, to look for in an output.
    pub fn values(&self) -> [&'static str; 6] {
        [
            self.aoc_api_key,
            self.bos_token,
            self.bos_registration_id,
            self.digipay_token,
            self.eko_developer_key,
            self.eko_access_key,
        ]
    }
}

/// Where each provider is reached.
#[derive(Clone, Debug)]
pub struct BaseUrls {
    /// `AOC_BASE_URL`.
    pub aoc: String,
    /// `BOS_BASE_URL`.
    pub bos: String,
    /// `DIGIPAY_BASE_URL`.
    pub digipay: String,
    /// `OTP_REFUND_BASE_URL`.
    pub eko: String,
}

impl BaseUrls {
    /// Each provider at its place in `sandbox`.
    pub fn of(sandbox: &RunningSandbox) -> BaseUrls {
        BaseUrls {
            aoc: sandbox.aoc_base_url(),
            bos: sandbox.bos_base_url(),
            digipay: sandbox.digipay_base_url(),
            eko: sandbox.eko_base_url(),
        }
    }

    /// Every provider at `url` (a closed port, a peer that never answers).
    pub fn all(url: &str) -> BaseUrls {
        BaseUrls { aoc: url.into(), bos: url.into(), digipay: url.into(), eko: url.into() }
    }
}

/// Every provider's settings as the command's environment variables.
pub fn env_vars(credentials: &Credentials, bases: &BaseUrls) -> Vec<(&'static str, String)> {
    let c = credentials;
    vec![
        ("AOC_BASE_URL", bases.aoc.clone()),
        ("AOC_USERNAME", seed::AOC_USERNAME.into()),
        ("AOC_API_KEY", c.aoc_api_key.into()),
        ("BOS_BASE_URL", bases.bos.clone()),
        ("BOS_TOKEN", c.bos_token.into()),
        ("BOS_REGISTRATION_ID", c.bos_registration_id.into()),
        ("DIGIPAY_BASE_URL", bases.digipay.clone()),
        ("DIGIPAY_TOKEN", c.digipay_token.into()),
        ("DIGIPAY_COMPANY_ID", seed::DIGIPAY_COMPANY_ID.into()),
        ("OTP_REFUND_BASE_URL", bases.eko.clone()),
        ("OTP_REFUND_DEVELOPER_KEY", c.eko_developer_key.into()),
        ("OTP_REFUND_ACCESS_KEY", c.eko_access_key.into()),
        ("OTP_REFUND_INITIATOR_ID", seed::EKO_INITIATOR_ID.into()),
        ("OTP_REFUND_USER_CODE", seed::EKO_USER_CODE.into()),
    ]
}
