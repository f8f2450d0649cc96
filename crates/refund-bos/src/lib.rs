#![doc = include_str!("../README.md")]

mod client;
mod decode;
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod sign;
mod token;
mod wire;

pub use client::{
    BosClient, BosClientBuilder, CAPABILITIES, DEFAULT_BASE_URL, ENV_BASE_URL, ENV_REGISTRATION_ID,
    ENV_TOKEN,
};
pub use model::{BosTransaction, DynamicQr, UpiIntent};
pub use sign::client_secret;
pub use token::TokenSource;
