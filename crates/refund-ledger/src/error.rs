//! The ledger's one error type. Like the SDK's, every error answers "did the money move?" through
//! [`LedgerError::fate`].

use refund_core::{BoxError, Fate, Money};

use crate::record::IntentRecord;

/// Every way a ledger call can fail.
///
/// | variant | [`Fate`] |
/// |---|---|
/// | [`LedgerError::Refund`] | the provider error's own fate |
/// | [`LedgerError::Recorded`] | from the recorded state: declined, or unknown (read the status) |
/// | [`LedgerError::InProgress`] | [`Fate::Unknown`]: another process is sending it now |
/// | [`LedgerError::Conflict`], [`LedgerError::OverRefund`], [`LedgerError::InvalidInput`], [`LedgerError::NotFound`], [`LedgerError::Config`], [`LedgerError::SchemaTooNew`], [`LedgerError::Unavailable`] | [`Fate::NotSent`] |
/// | [`LedgerError::Storage`] | its `fate` field: whether a request went out before storage failed |
///
/// ```
/// use refund_core::Fate;
/// use refund_ledger::LedgerError;
/// let err = LedgerError::invalid_input("idempotency_key", "must not be empty");
/// assert_eq!(err.fate(), Fate::NotSent);
/// assert_eq!(err.kind(), "invalid_input");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The provider's call failed. The ledger recorded what became of it in `record` (declined,
    /// not processed, or unknown); `source` is the SDK's error, with its fate and the provider's
    /// answer.
    #[error("refund {}: {source}", record.idempotency_key)]
    Refund {
        /// The intent as recorded after the call.
        record: Box<IntentRecord>,
        /// The provider's error.
        #[source]
        source: refund_core::Error,
    },

    /// The intent under this key already ended without a refund (declined), or its outcome is not
    /// known (unknown, needs review), and no status read could settle it now. Nothing was sent by
    /// this call; `record` says what the ledger knows.
    #[error("refund {} is {} in the ledger{}; nothing was sent", record.idempotency_key, record.state, recorded_hint(record))]
    Recorded {
        /// The intent.
        record: Box<IntentRecord>,
    },

    /// Another process holds this intent and is sending it now. Read it again later.
    #[error(
        "refund {} is being sent by another process (lease until its request ends); nothing was sent by this call",
        record.idempotency_key
    )]
    InProgress {
        /// The intent.
        record: Box<IntentRecord>,
    },

    /// The idempotency key is already used for a refund with other parameters. Nothing was sent.
    #[error(
        "idempotency key {key:?} is already used for another refund ({differs}); nothing was sent: use a new key for a new refund"
    )]
    Conflict {
        /// The key.
        key: String,
        /// What differs, in words.
        differs: String,
        /// The intent already under this key.
        existing: Box<IntentRecord>,
    },

    /// The refund would take what is held against the original charge past the charge's amount.
    /// Nothing was written and nothing was sent.
    #[error(
        "refusing to refund {requested} of {provider} {original_transaction_id}: {held} of its {charge} is already refunded or held by other refunds"
    )]
    OverRefund {
        /// The provider.
        provider: String,
        /// The original charge.
        original_transaction_id: String,
        /// The charge's amount.
        charge: Money,
        /// What is already held against it (reserved, sending, pending, unknown, succeeded, not
        /// processed, needs review).
        held: Money,
        /// The amount asked for.
        requested: Money,
    },

    /// The input was rejected before anything was written or sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// No intent with this id or key.
    #[error("no refund intent {0} in the ledger")]
    NotFound(String),

    /// The ledger cannot be opened as configured (a malformed URL, a folder that cannot be
    /// created, a backend this build lacks).
    #[error("ledger configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The database was written by a newer version of this crate. Upgrade before using it.
    #[error(
        "the ledger at {location} was written by a newer version (schema {found}; this build knows up to {supported}); upgrade refund-ledger"
    )]
    SchemaTooNew {
        /// Where the ledger is (password masked).
        location: String,
        /// The newest schema version in the database.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },

    /// The database cannot be reached now (the server is down, the SQLite file is locked by
    /// another process past the busy timeout). Nothing was sent.
    #[error("ledger unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// Storage failed in the middle of a refund. `fate` says whether a request may have gone
    /// out: [`Fate::NotSent`] when it failed before the request, [`Fate::Unknown`] when the
    /// provider's answer could not be recorded (the intent stays `sending`; `reconcile` settles it).
    #[error("ledger storage failed ({}): {message}", fate.as_str())]
    Storage {
        /// Whether a request may have gone out.
        fate: Fate,
        /// What happened.
        message: String,
        /// The database's error.
        #[source]
        source: Option<BoxError>,
    },
}

fn recorded_hint(record: &IntentRecord) -> &'static str {
    match record.state {
        crate::IntentState::NeedsReview => {
            ": no status read can settle it; a person decides with `resolve`"
        }
        crate::IntentState::Unknown | crate::IntentState::Sending => {
            ": it may have been refunded; reconcile reads its status"
        }
        _ => "",
    }
}

impl LedgerError {
    /// An [`LedgerError::InvalidInput`].
    ///
    /// ```
    /// let err = refund_ledger::LedgerError::invalid_input("note", "must not be empty");
    /// assert_eq!(err.to_string(), "invalid note: must not be empty");
    /// ```
    pub fn invalid_input(field: &'static str, reason: impl Into<String>) -> Self {
        LedgerError::InvalidInput { field, reason: reason.into() }
    }

    pub(crate) fn config(message: impl Into<String>, source: Option<BoxError>) -> Self {
        LedgerError::Config { message: message.into(), source }
    }

    /// What became of the refund, in the SDK's terms.
    ///
    /// ```
    /// use refund_core::Fate;
    /// let err = refund_ledger::LedgerError::NotFound("7".into());
    /// assert_eq!(err.fate(), Fate::NotSent);
    /// ```
    pub fn fate(&self) -> Fate {
        match self {
            LedgerError::Refund { source, .. } => source.fate(),
            LedgerError::Recorded { record } => record.state.fate(),
            LedgerError::InProgress { .. } => Fate::Unknown,
            LedgerError::Storage { fate, .. } => *fate,
            LedgerError::Conflict { .. }
            | LedgerError::OverRefund { .. }
            | LedgerError::InvalidInput { .. }
            | LedgerError::NotFound(_)
            | LedgerError::Config { .. }
            | LedgerError::SchemaTooNew { .. }
            | LedgerError::Unavailable { .. } => Fate::NotSent,
        }
    }

    /// A stable snake_case name: the SDK error's kind for [`LedgerError::Refund`]
    /// (`"declined"`, `"outcome_unknown"`, ...), else `"recorded"`, `"in_progress"`,
    /// `"conflict"`, `"over_refund"`, `"invalid_input"`, `"not_found"`, `"config"`,
    /// `"schema_too_new"`, `"unavailable"` or `"storage"`.
    ///
    /// ```
    /// assert_eq!(refund_ledger::LedgerError::NotFound("x".into()).kind(), "not_found");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            LedgerError::Refund { source, .. } => source.kind(),
            LedgerError::Recorded { .. } => "recorded",
            LedgerError::InProgress { .. } => "in_progress",
            LedgerError::Conflict { .. } => "conflict",
            LedgerError::OverRefund { .. } => "over_refund",
            LedgerError::InvalidInput { .. } => "invalid_input",
            LedgerError::NotFound(_) => "not_found",
            LedgerError::Config { .. } => "config",
            LedgerError::SchemaTooNew { .. } => "schema_too_new",
            LedgerError::Unavailable { .. } => "unavailable",
            LedgerError::Storage { .. } => "storage",
        }
    }

    /// The intent the error is about, where there is one.
    ///
    /// ```
    /// assert!(refund_ledger::LedgerError::NotFound("x".into()).record().is_none());
    /// ```
    pub fn record(&self) -> Option<&IntentRecord> {
        match self {
            LedgerError::Refund { record, .. }
            | LedgerError::Recorded { record }
            | LedgerError::InProgress { record }
            | LedgerError::Conflict { existing: record, .. } => Some(record),
            _ => None,
        }
    }

    /// The provider's error, for [`LedgerError::Refund`].
    ///
    /// ```
    /// assert!(refund_ledger::LedgerError::NotFound("x".into()).refund_error().is_none());
    /// ```
    pub fn refund_error(&self) -> Option<&refund_core::Error> {
        match self {
            LedgerError::Refund { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Result alias of the ledger.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
