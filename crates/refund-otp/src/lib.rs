#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod decode;
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod sign;
mod wire;

use refund_core::{Capabilities, StatusKey};

pub use client::{
    DEFAULT_SERVICE_CODE, EKO_PRODUCTION_BASE_URL, EKO_UAT_BASE_URL, ENV_ACCESS_KEY, ENV_BASE_URL,
    ENV_DEVELOPER_KEY, ENV_INITIATOR_ID, ENV_USER_CODE, OtpRefundClient, OtpRefundClientBuilder,
};
pub use model::{
    EkoRefund, EkoStatusCode, EkoTransaction, MAX_OTP_REF_ID_LEN, MAX_TID_DIGITS,
    RefundOtpChallenge, TxStatus,
};
pub use sign::CLOCK_SKEW_TOLERANCE;

/// The provider's name in records, errors and logs.
pub const PROVIDER: &str = "otp-refund";

/// What this provider supports: the two-step OTP refund and a status read by the original
/// transaction; refunds are not deduplicated by Eko, so they are never retried once sent.
///
/// ```
/// assert!(refund_otp::CAPABILITIES.otp_refund);
/// assert!(!refund_otp::CAPABILITIES.idempotent_refund);
/// ```
pub const CAPABILITIES: Capabilities = Capabilities::new(PROVIDER, "Eko OTP refund")
    .with_otp_refund(true)
    .with_status_key(StatusKey::OriginalTransaction);
