//! One error type whose variants answer the caller's real question: did the money move?

use std::fmt;
use std::time::Duration;

/// Result alias used across the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed foreign error (reqwest, serde_json, ...), kept as a `source` so their versions stay out
/// of our public API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What became of the request: the one thing a caller must know before doing anything else.
///
/// ```
/// use refund_core::{Error, Fate};
/// let err = Error::invalid_input("amount", "must be positive");
/// assert_eq!(err.fate(), Fate::NotSent);
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fate {
    /// Rejected before sending: nothing left the process.
    NotSent,
    /// The provider definitively refused. No money moved; repeating the same call will not help.
    Declined,
    /// The provider did not process the request (unreachable, overloaded, credentials refused).
    /// No money moved.
    NotProcessed,
    /// The request may have been processed. Read the status before retrying or giving up.
    Unknown,
}

impl Fate {
    /// A stable snake_case name (`"not_sent"`, `"declined"`, `"not_processed"`, `"unknown"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Fate::NotSent => "not_sent",
            Fate::Declined => "declined",
            Fate::NotProcessed => "not_processed",
            Fate::Unknown => "unknown",
        }
    }
}

/// What the provider said, kept as data: which call, the HTTP status, the provider's own code and
/// message, and a short excerpt of the body with secrets removed.
///
/// ```
/// use refund_core::ProviderReply;
/// let reply = ProviderReply::new("aoc", "refund").with_http_status(200).with_code("AOC1007");
/// assert_eq!(reply.code(), Some("AOC1007"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderReply {
    provider: &'static str,
    operation: &'static str,
    http_status: Option<u16>,
    code: Option<String>,
    message: Option<String>,
    body_excerpt: Option<String>,
}

/// Longest body excerpt kept in an error, in characters.
pub const BODY_EXCERPT_CHARS: usize = 256;

impl ProviderReply {
    /// A reply of `provider` to `operation` with nothing else known yet.
    pub fn new(provider: &'static str, operation: &'static str) -> Self {
        ProviderReply { provider, operation, ..Default::default() }
    }

    crate::with_setters! {
        /// Sets the HTTP status.
        with_http_status => http_status: u16,
        /// Sets the provider's own code (`"AOC1007"`, `"302"`, ...).
        with_code => code: String,
        /// Sets the provider's message (ignored when empty).
        with_message => message: String if non_empty,
    }

    /// Keeps a short excerpt of the raw body. The caller must pass a body whose secrets are already
    /// removed; provider bodies never echo our credentials, and [`crate::redact_json_text`] helps where
    /// one might. The excerpt is cut to [`BODY_EXCERPT_CHARS`] and control characters are escaped.
    #[must_use]
    pub fn with_body_excerpt(mut self, body: &[u8]) -> Self {
        if body.is_empty() {
            return self;
        }
        let text = String::from_utf8_lossy(body);
        let (mut chars, mut excerpt) = (text.chars(), String::new());
        for c in chars.by_ref().take(BODY_EXCERPT_CHARS) {
            if c.is_control() {
                excerpt.extend(c.escape_default());
            } else {
                excerpt.push(c);
            }
        }
        if chars.next().is_some() {
            excerpt.push('…');
        }
        self.body_excerpt = Some(excerpt);
        self
    }

    /// Provider name (`"aoc"`, `"bos"`, `"digipay"`, `"otp-refund"`).
    pub fn provider(&self) -> &'static str {
        self.provider
    }
    /// Operation name (`"refund"`, `"refund_status"`, ...).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
    /// HTTP status, if a response arrived.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }
    /// The provider's own error code.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    /// The provider's message.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// A short, redacted excerpt of the body.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.body_excerpt.as_deref()
    }
}

impl fmt::Display for ProviderReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.provider, self.operation)?;
        if let Some(status) = self.http_status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(code) = &self.code {
            write!(f, ": code {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// Why a declined refund was declined, in the SDK's words; the provider's own code stays in
/// [`ProviderReply::code`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeclineReason {
    /// The OTP was wrong.
    InvalidOtp,
    /// The OTP expired; request a new one.
    OtpExpired,
    /// The original transaction does not exist or cannot be found.
    TransactionNotFound,
    /// The transaction was already refunded.
    AlreadyRefunded,
    /// The refund would exceed the original amount, or a count/amount/daily/monthly limit.
    LimitExceeded,
    /// The original transaction is too old to refund.
    Expired,
    /// The provider rejected a field or the request shape.
    InvalidRequest,
    /// The transaction is not in a state that can be refunded.
    InvalidState,
    /// Not enough balance to refund.
    InsufficientBalance,
    /// The provider refused without a more specific reason.
    Refused,
    /// A reason the SDK does not classify; the text is the provider's code.
    Other(String),
}

/// Every way a refund call can fail, classified by what happened to the request.
///
/// Match on the variant, or ask [`Error::fate`] / [`Error::is_retryable`].
///
/// ```
/// use refund_core::{Error, Fate, ProviderReply};
/// fn handle(err: &Error) -> &'static str {
///     match err.fate() {
///         Fate::NotSent => "fix the input",
///         Fate::Declined => "tell the customer",
///         Fate::NotProcessed => "try again later",
///         Fate::Unknown => "read the status first",
///         _ => "unexpected",
///     }
/// }
/// let err = Error::outcome_unknown(ProviderReply::new("digipay", "refund"), "timed out after sending", None);
/// assert_eq!(handle(&err), "read the status first");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was rejected before anything was sent: fix `field` and call again.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field, as the caller knows it (`"amount"`, `"tid"`, `"base_url"`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The client is misconfigured (missing setting, bad base URL, TLS setup). Nothing was sent.
    #[error("configuration error: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The provider rejected our credentials (HTTP 401/403, or its own auth code). It did not process
    /// the request; fix the credentials before retrying.
    #[error("authentication failed: {reply}")]
    Auth {
        /// The provider's answer.
        reply: Box<ProviderReply>,
    },

    /// The provider definitively refused the request. No money moved; repeating it unchanged will
    /// be refused again.
    #[error("declined by {reply}")]
    Declined {
        /// The SDK's classification of the reason.
        reason: DeclineReason,
        /// The provider's answer, with its code and message.
        reply: Box<ProviderReply>,
    },

    /// The request was definitely not processed (connection refused, DNS failure, HTTP 429 or 503,
    /// "another transaction in progress"). Safe to retry, after [`Error::retry_after`] if given.
    #[error("provider unavailable: {reply}: {detail}")]
    Unavailable {
        /// The provider's answer, or just the call if none arrived.
        reply: Box<ProviderReply>,
        /// What happened.
        detail: String,
        /// How long the provider asked us to wait.
        retry_after: Option<Duration>,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The request may have been processed: a timeout after sending, a connection lost mid-response,
    /// a 5xx on an operation that is not safe to repeat, or a 2xx body we could not read. Read the
    /// refund's status before doing anything else; do not resend blindly.
    #[error("outcome unknown: {reply}: {detail}; check the refund's status before retrying")]
    OutcomeUnknown {
        /// The provider's answer, or just the call if none arrived.
        reply: Box<ProviderReply>,
        /// What happened.
        detail: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// An [`Error::InvalidInput`] for `field`.
    pub fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput { field: field.into(), reason: reason.into() }
    }

    /// An [`Error::Config`] without a source.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config { message: message.into(), source: None }
    }

    /// An [`Error::Config`] with the error that caused it.
    pub(crate) fn config_from(message: &str, source: impl Into<BoxError>) -> Self {
        Error::Config { message: message.into(), source: Some(source.into()) }
    }

    /// An [`Error::Auth`].
    pub fn auth(reply: ProviderReply) -> Self {
        Error::Auth { reply: Box::new(reply) }
    }

    /// An [`Error::Declined`].
    pub fn declined(reason: DeclineReason, reply: ProviderReply) -> Self {
        Error::Declined { reason, reply: Box::new(reply) }
    }

    /// An [`Error::Unavailable`].
    pub fn unavailable(
        reply: ProviderReply,
        detail: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        Error::Unavailable {
            reply: Box::new(reply),
            detail: detail.into(),
            retry_after,
            source: None,
        }
    }

    /// An [`Error::OutcomeUnknown`].
    pub fn outcome_unknown(
        reply: ProviderReply,
        detail: impl Into<String>,
        source: Option<BoxError>,
    ) -> Self {
        Error::OutcomeUnknown { reply: Box::new(reply), detail: detail.into(), source }
    }

    /// What became of the request.
    pub fn fate(&self) -> Fate {
        match self {
            Error::InvalidInput { .. } | Error::Config { .. } => Fate::NotSent,
            Error::Auth { .. } | Error::Unavailable { .. } => Fate::NotProcessed,
            Error::Declined { .. } => Fate::Declined,
            Error::OutcomeUnknown { .. } => Fate::Unknown,
        }
    }

    /// A stable snake_case name of the variant (`"invalid_input"`, `"config"`, `"auth"`,
    /// `"declined"`, `"unavailable"`, `"outcome_unknown"`), as the CLI prints it.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::Config { .. } => "config",
            Error::Auth { .. } => "auth",
            Error::Declined { .. } => "declined",
            Error::Unavailable { .. } => "unavailable",
            Error::OutcomeUnknown { .. } => "outcome_unknown",
        }
    }

    /// Whether repeating the same call is safe and may succeed: only [`Error::Unavailable`].
    /// An [`Error::OutcomeUnknown`] is never retryable: read the status first.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    /// How long the provider asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The provider's answer, if the error came from (or while talking to) a provider.
    pub fn reply(&self) -> Option<&ProviderReply> {
        match self {
            Error::Auth { reply }
            | Error::Declined { reply, .. }
            | Error::Unavailable { reply, .. }
            | Error::OutcomeUnknown { reply, .. } => Some(reply),
            Error::InvalidInput { .. } | Error::Config { .. } => None,
        }
    }

    /// The decline reason, for [`Error::Declined`].
    pub fn decline_reason(&self) -> Option<&DeclineReason> {
        match self {
            Error::Declined { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// The offending field, for [`Error::InvalidInput`].
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<crate::MoneyError> for Error {
    fn from(err: crate::MoneyError) -> Self {
        Error::invalid_input("amount", err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_and_kinds() {
        let reply = || ProviderReply::new("aoc", "refund");
        let cases = [
            (Error::invalid_input("amount", "x"), Fate::NotSent, "invalid_input", false),
            (Error::config("x"), Fate::NotSent, "config", false),
            (Error::auth(reply()), Fate::NotProcessed, "auth", false),
            (Error::declined(DeclineReason::Refused, reply()), Fate::Declined, "declined", false),
            (Error::unavailable(reply(), "503", None), Fate::NotProcessed, "unavailable", true),
            (
                Error::outcome_unknown(reply(), "timeout", None),
                Fate::Unknown,
                "outcome_unknown",
                false,
            ),
        ];
        for (err, fate, kind, retryable) in cases {
            assert_eq!(err.fate(), fate);
            assert_eq!(err.kind(), kind);
            assert_eq!(err.is_retryable(), retryable);
        }
    }

    #[test]
    fn reply_display_and_excerpt() {
        let body = "x".repeat(1000);
        let reply = ProviderReply::new("aoc", "refund")
            .with_http_status(200)
            .with_code("AOC1007")
            .with_message("refund failed")
            .with_body_excerpt(body.as_bytes());
        assert_eq!(reply.to_string(), "aoc refund (HTTP 200): code AOC1007: refund failed");
        assert_eq!(reply.body_excerpt().map(|e| e.chars().count()), Some(BODY_EXCERPT_CHARS + 1));
        let err = Error::declined(DeclineReason::Refused, reply);
        assert_eq!(
            err.to_string(),
            "declined by aoc refund (HTTP 200): code AOC1007: refund failed"
        );
        let with_newline = ProviderReply::new("a", "b").with_body_excerpt(b"<html>\n</html>");
        assert_eq!(with_newline.body_excerpt(), Some("<html>\\n</html>"));
    }
}
