#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod decode;
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod wire;

pub use client::{
    AocClient, AocClientBuilder, CAPABILITIES, ENV_API_KEY, ENV_BASE_URL, ENV_USERNAME, PROVIDER,
};
pub use model::{AocErrorCode, AocRefundInput, AocRefundRequest};
