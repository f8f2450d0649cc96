#![doc = include_str!("../README.md")]
//!
//! ## The path of a refund
//!
//! A provider client validates the request ([`Money`], [`TransactionId`],
//! [`parse_base_url`]), builds a [`PreparedRequest`] (which a dry run prints with secrets masked),
//! hands it to the [`Transport`], which sends it and retries only as the operation's
//! [`Idempotency`] allows, and decodes the answer into a [`RefundRecord`] or an [`Error`] whose
//! [`Fate`] says whether money may have moved.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod ids;
mod money;
mod provider;
mod raw_json;
mod request;
mod settings;
mod token;
mod transport;

pub use error::{BODY_EXCERPT_CHARS, BoxError, DeclineReason, Error, Fate, ProviderReply, Result};
pub use ids::{
    InsecureHttp, MAX_ID_LEN, Otp, RefundReference, TransactionId, check_digits, join_path,
    parse_base_url,
};
pub use money::{AmountText, Currency, MAX_MINOR_UNITS, Money, MoneyError};
pub use provider::{
    Capabilities, DirectRefund, OtpChallenge, OtpRefund, OtpRefundTarget, Provider, RefundRecord,
    RefundRequest, RefundStatus, RefundStatusRead, StatusKey, StatusQuery,
};
pub use raw_json::{RawJson, object_or_none};
pub use request::{
    MASK, PreparedBody, PreparedRequest, header_value, redact_json, redact_json_text,
};
pub use settings::{require_secret, require_setting};
pub use token::{
    CachedToken, Clock, DEFAULT_REFRESH_AHEAD, DEFAULT_TOKEN_LIFETIME, FetchedToken, ManualClock,
    SystemClock, TokenCache, TokenFetcher,
};
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Idempotency, Operation,
    RawResponse, RetryPolicy, Transport, TransportBuilder, USER_AGENT, parse_http_date,
};

/// Re-exported so provider crates and users name one version of these.
pub use secrecy::{self, ExposeSecret, SecretString};
pub use {async_trait::async_trait, http, reqwest, serde_json, url};
