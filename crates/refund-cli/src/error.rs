//! The command's own error: an SDK error (classified by `kind()`), or an internal failure.
//!
//! The exit code is a pure function of the kind, so scripts can branch on it:
//! `invalid_input` 2, `config`/`auth` 3, `declined` 4, `unavailable` 5, `outcome_unknown` 6,
//! `internal` 1.

use std::fmt;

use refund::ledger::{IntentState, LedgerError};

/// Everything that can end a command unsuccessfully.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// An error from the SDK (or one the CLI raised in the SDK's terms: bad input, missing setting).
    #[error("{error}")]
    Sdk {
        /// The provider the command talked to, when there is one.
        provider: Option<&'static str>,
        /// The SDK's error.
        error: refund::Error,
        /// The refund's own reference and how to read its status, once a refund may have been sent.
        follow_up: Option<Box<FollowUp>>,
    },
    /// An error of the refund ledger (which keeps the provider's error, and its fate, inside).
    #[error("{0}")]
    Ledger(refund::ledger::LedgerError),
    /// A usage error reported by the argument parser.
    #[error("{0}")]
    Usage(String),
    /// Something that is a bug or an environment failure of the CLI itself (exit 1).
    #[error("{0}")]
    Internal(String),
}

/// What an operator needs after a refund call failed: the reference it went out under, and the
/// command that reads its status. Without it, an outcome-unknown refund could not be checked, and
/// running the command again would mint a fresh reference (and could refund twice).
#[derive(Debug)]
pub(crate) struct FollowUp {
    /// Our reference for the refund (AOC `spTransID`).
    pub(crate) reference: String,
    /// The command that reads the refund's status.
    pub(crate) status_command: String,
    /// The flag that reuses the reference when retrying; `None` where no retry is safe (Eko: read
    /// the status first, and never refund twice).
    pub(crate) retry_flag: Option<&'static str>,
}

/// The stable error kind printed in JSON and mapped to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    InvalidInput,
    Config,
    Auth,
    Declined,
    Unavailable,
    OutcomeUnknown,
    /// The ledger: the key is used for another refund (nothing sent).
    Conflict,
    /// The ledger: the refund would exceed the charge (nothing sent).
    OverRefund,
    /// The ledger: another process is sending this refund now.
    InProgress,
    Internal,
}

impl Kind {
    /// From `refund::Error::kind()`; an unknown future kind is treated as internal.
    pub(crate) fn from_sdk(kind: &str) -> Kind {
        match kind {
            "invalid_input" => Kind::InvalidInput,
            "config" => Kind::Config,
            "auth" => Kind::Auth,
            "declined" => Kind::Declined,
            "unavailable" => Kind::Unavailable,
            "outcome_unknown" => Kind::OutcomeUnknown,
            _ => Kind::Internal,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::InvalidInput => "invalid_input",
            Kind::Config => "config",
            Kind::Auth => "auth",
            Kind::Declined => "declined",
            Kind::Unavailable => "unavailable",
            Kind::OutcomeUnknown => "outcome_unknown",
            Kind::Conflict => "conflict",
            Kind::OverRefund => "over_refund",
            Kind::InProgress => "in_progress",
            Kind::Internal => "internal",
        }
    }

    /// From a ledger error: the provider's error keeps its own kind; an answer from the ledger's
    /// records takes the kind of the state it reports.
    pub(crate) fn from_ledger(error: &LedgerError) -> Kind {
        match error {
            LedgerError::Refund { source, .. } => Kind::from_sdk(source.kind()),
            LedgerError::Recorded { record } => match record.state {
                IntentState::Declined => Kind::Declined,
                IntentState::NotProcessed | IntentState::Reserved => Kind::Unavailable,
                _ => Kind::OutcomeUnknown,
            },
            LedgerError::InProgress { .. } => Kind::InProgress,
            LedgerError::Conflict { .. } => Kind::Conflict,
            LedgerError::OverRefund { .. } => Kind::OverRefund,
            LedgerError::InvalidInput { .. } | LedgerError::NotFound(_) => Kind::InvalidInput,
            LedgerError::Config { .. } | LedgerError::SchemaTooNew { .. } => Kind::Config,
            other => match other.fate() {
                refund::Fate::Unknown => Kind::OutcomeUnknown,
                _ => Kind::Unavailable,
            },
        }
    }

    /// The process exit code of this kind (see the README's table).
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Kind::Internal => 1,
            Kind::InvalidInput => 2,
            Kind::Config | Kind::Auth => 3,
            Kind::Declined => 4,
            Kind::Unavailable => 5,
            Kind::OutcomeUnknown | Kind::InProgress => 6,
            Kind::Conflict => 2,
            Kind::OverRefund => 4,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CliError {
    /// An SDK error raised while talking to `provider`.
    pub(crate) fn sdk(provider: &'static str, error: refund::Error) -> Self {
        CliError::Sdk { provider: Some(provider), error, follow_up: None }
    }

    /// Attaches the refund's reference and status command (see [`FollowUp`]).
    pub(crate) fn with_follow_up(mut self, follow_up: FollowUp) -> Self {
        if let CliError::Sdk { follow_up: slot, .. } = &mut self {
            *slot = Some(Box::new(follow_up));
        }
        self
    }

    /// The follow-up, if one was attached.
    pub(crate) fn follow_up(&self) -> Option<&FollowUp> {
        match self {
            CliError::Sdk { follow_up, .. } => follow_up.as_deref(),
            _ => None,
        }
    }

    /// A configuration error that belongs to no provider (the ledger's location).
    pub(crate) fn config(message: impl Into<String>) -> Self {
        CliError::Sdk { provider: None, error: refund::Error::config(message), follow_up: None }
    }

    /// Bad input that belongs to no provider (a flag of `refund ledger`).
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        CliError::Sdk {
            provider: None,
            error: refund::Error::invalid_input(field, reason),
            follow_up: None,
        }
    }

    /// The SDK's error inside, where there is one (directly, or inside a ledger error).
    fn sdk_error(&self) -> Option<&refund::Error> {
        match self {
            CliError::Sdk { error, .. } => Some(error),
            CliError::Ledger(error) => error.refund_error(),
            _ => None,
        }
    }

    /// The ledger's record of the refund, for a ledger error about one.
    pub(crate) fn record(&self) -> Option<&refund::ledger::IntentRecord> {
        match self {
            CliError::Ledger(error) => error.record(),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            CliError::Sdk { error, .. } => Kind::from_sdk(error.kind()),
            CliError::Ledger(error) => Kind::from_ledger(error),
            CliError::Usage(_) => Kind::InvalidInput,
            CliError::Internal(_) => Kind::Internal,
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }

    /// `declined (exit 4)`: how the step logs and reports name a failure.
    pub(crate) fn kind_and_exit(&self) -> String {
        format!("{} (exit {})", self.kind(), self.exit_code())
    }

    /// The provider, from the SDK's reply when there is one, else from the command.
    pub(crate) fn provider(&self) -> Option<String> {
        match self {
            CliError::Sdk { provider, error, .. } => {
                error.reply().map(|r| r.provider()).or(*provider).map(str::to_owned)
            }
            CliError::Ledger(error) => error
                .refund_error()
                .and_then(|e| e.reply())
                .map(|r| r.provider().to_owned())
                .or_else(|| error.record().map(|r| r.provider.clone())),
            _ => None,
        }
    }

    pub(crate) fn provider_code(&self) -> Option<&str> {
        self.sdk_error()
            .and_then(|e| e.reply())
            .and_then(|r| r.code())
            .or_else(|| self.record().and_then(|r| r.provider_code.as_deref()))
    }

    pub(crate) fn http_status(&self) -> Option<u16> {
        self.sdk_error().and_then(|e| e.reply()).and_then(|r| r.http_status())
    }

    /// A one-line hint for people, by kind.
    pub(crate) fn hint(&self) -> Option<&'static str> {
        match (self.kind(), self.record().is_some()) {
            (Kind::Unavailable, true) => Some(
                "nothing was processed; the same command (same key) sends it again, under the same reference",
            ),
            (Kind::Unavailable, false) => Some("nothing was processed; it is safe to retry"),
            (Kind::OutcomeUnknown, true) => Some(
                "the refund may have gone through: `refund reconcile` reads its status; the same key never sends it twice",
            ),
            (Kind::OutcomeUnknown, false) => {
                Some("the request may have been processed: read the status before retrying")
            }
            (Kind::InProgress, _) => Some(
                "another process is sending this refund now: read it later with `refund ledger show`",
            ),
            (Kind::Declined, _) => {
                Some("the provider refused; repeating the same call will not help")
            }
            _ => None,
        }
    }
}

impl From<LedgerError> for CliError {
    fn from(error: LedgerError) -> Self {
        CliError::Ledger(error)
    }
}

/// A configuration error for a missing setting, naming the variable and the flag.
pub(crate) fn missing_setting(
    provider: &'static str,
    what: &str,
    env: &str,
    flag: &str,
) -> CliError {
    CliError::sdk(
        provider,
        refund::Error::config(format!("missing {what}: set {env} or pass {flag}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_exit_code() {
        let cases = [
            (Kind::Internal, 1),
            (Kind::InvalidInput, 2),
            (Kind::Config, 3),
            (Kind::Auth, 3),
            (Kind::Declined, 4),
            (Kind::Unavailable, 5),
            (Kind::OutcomeUnknown, 6),
            (Kind::InProgress, 6),
            (Kind::Conflict, 2),
            (Kind::OverRefund, 4),
        ];
        for (kind, code) in cases {
            assert_eq!(kind.exit_code(), code, "{kind}");
            // The SDK's kinds round-trip; the ledger's own are not the SDK's.
            let ledger_only = matches!(kind, Kind::InProgress | Kind::Conflict | Kind::OverRefund);
            assert_eq!(Kind::from_sdk(kind.as_str()) == kind, !ledger_only, "{kind}");
        }
        let err =
            refund::Error::outcome_unknown(refund::ProviderReply::new("aoc", "refund"), "t", None);
        assert_eq!(CliError::sdk("aoc", err).exit_code(), 6);
    }
}
