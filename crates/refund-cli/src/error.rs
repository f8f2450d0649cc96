//! The command's own error: an SDK error (classified by `kind()`), or an internal failure.
//!
//! The exit code is a pure function of the kind, so scripts can branch on it:
//! `invalid_input` 2, `config`/`auth` 3, `declined` 4, `unavailable` 5, `outcome_unknown` 6,
//! `internal` 1.

use std::fmt;

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
    /// The flag that reuses the reference when retrying.
    pub(crate) retry_flag: &'static str,
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
            Kind::Internal => "internal",
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
            Kind::OutcomeUnknown => 6,
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

    pub(crate) fn kind(&self) -> Kind {
        match self {
            CliError::Sdk { error, .. } => Kind::from_sdk(error.kind()),
            CliError::Usage(_) => Kind::InvalidInput,
            CliError::Internal(_) => Kind::Internal,
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }

    /// The provider, from the SDK's reply when there is one, else from the command.
    pub(crate) fn provider(&self) -> Option<&'static str> {
        match self {
            CliError::Sdk { provider, error, .. } => {
                error.reply().map(|r| r.provider()).or(*provider)
            }
            _ => None,
        }
    }

    pub(crate) fn provider_code(&self) -> Option<&str> {
        match self {
            CliError::Sdk { error, .. } => error.reply().and_then(|r| r.code()),
            _ => None,
        }
    }

    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            CliError::Sdk { error, .. } => error.reply().and_then(|r| r.http_status()),
            _ => None,
        }
    }

    /// A one-line hint for people, by kind.
    pub(crate) fn hint(&self) -> Option<&'static str> {
        match self.kind() {
            Kind::Unavailable => Some("nothing was processed; it is safe to retry"),
            Kind::OutcomeUnknown => {
                Some("the request may have been processed: read the status before retrying")
            }
            Kind::Declined => Some("the provider refused; repeating the same call will not help"),
            _ => None,
        }
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
        ];
        for (kind, code) in cases {
            assert_eq!(kind.exit_code(), code, "{kind}");
            assert_eq!(Kind::from_sdk(kind.as_str()), kind);
        }
        let err =
            refund::Error::outcome_unknown(refund::ProviderReply::new("aoc", "refund"), "t", None);
        assert_eq!(CliError::sdk("aoc", err).exit_code(), 6);
    }
}
