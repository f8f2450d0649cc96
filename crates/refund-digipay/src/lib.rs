#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod decode;
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod wire;

pub use auth::{AuthScheme, MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};
pub use client::{
    CAPABILITIES, DigiPayClient, DigiPayClientBuilder, ENV_AUTH_SCHEME, ENV_BASE_URL,
    ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_COMPANY_ID, ENV_PAYMENT_MODE, ENV_TOKEN, ENV_TXN_CODE,
};
pub use model::{
    ChargesInfo, DeviceInfo, MAX_NOTE_LEN, MAX_TXN_CODE_LEN, TxnStatus, UserInfo, WalletRefund,
    WalletRefundRequest, WalletRefundRequestBuilder,
};
