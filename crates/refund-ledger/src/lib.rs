#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod intent;
mod ledger;
mod record;
mod store;

pub use error::{LedgerError, Result};
pub use intent::{DirectTarget, Intent, MAX_KEY_LEN, OtpRefundIntent, RefundIntent};
pub use ledger::{DEFAULT_LEASE, Ledger, LedgerBuilder};
pub use record::{
    IntentEvent, IntentKind, IntentRecord, IntentState, ListFilter, ReconcileChange,
    ReconcileReport, Resolution,
};
