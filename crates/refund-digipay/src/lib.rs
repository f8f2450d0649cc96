#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// `#[must_use]` setters that store `Some(value.into())` in the field of their name, on the
/// struct itself or on its field given first (`setters! { fields: ... }`); `setters!(block)` is
/// the `new` and the `extra` setter of a block with fields the page does not name.
macro_rules! setters {
    (block) => {
        /// An empty block.
        pub fn new() -> Self {
            Self::default()
        }
        /// Adds a field the page does not name.
        #[must_use]
        pub fn extra(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
            self.extra.insert(name.into(), value.into());
            self
        }
    };
    ($inner:ident: $($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.$inner.$name = Some(value.into());
            self
        }
    )*};
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.$name = Some(value.into());
            self
        }
    )*};
}

mod auth;
mod client;
mod decode;
#[doc(hidden)]
pub mod fuzzing;
mod model;
mod wire;

pub use auth::{
    AuthScheme, ENV_AUTH_SCHEME, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_TOKEN, MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME,
};
pub use client::{
    CAPABILITIES, DigiPayClient, DigiPayClientBuilder, ENV_BASE_URL, ENV_COMPANY_ID,
    ENV_PAYMENT_MODE, ENV_TXN_CODE,
};
pub use model::{
    ChargesInfo, DeviceInfo, MAX_NOTE_LEN, MAX_TXN_CODE_LEN, TxnStatus, UserInfo, WalletRefund,
    WalletRefundRequest, WalletRefundRequestBuilder,
};
