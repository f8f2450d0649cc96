//! Settings: flag, else environment (clap does the precedence), else a default or a configuration
//! error naming the variable and the flag. Nothing is sent before every setting is resolved.

use crate::error::{CliError, missing_setting};

/// A required setting; empty counts as missing.
pub(crate) fn required(
    provider: &'static str,
    value: &Option<impl AsRef<str>>,
    what: &str,
    env: &str,
    flag: &str,
) -> Result<String, CliError> {
    optional(value).ok_or_else(|| missing_setting(provider, what, env, flag))
}

/// A setting with a default. Absent means the default; set but blank is a configuration error, so
/// an empty `--base-url ""` or `BOS_BASE_URL=` meant to point at a sandbox can never silently send
/// to the provider's live default instead.
pub(crate) fn with_default(
    provider: &'static str,
    value: &Option<String>,
    default: &str,
    env: &str,
    flag: &str,
) -> Result<String, CliError> {
    match value.as_deref().map(str::trim) {
        None => Ok(default.to_owned()),
        Some("") => Err(CliError::sdk(
            provider,
            refund::Error::config(format!(
                "{env} or {flag} is set but empty; unset it to use the default {default}"
            )),
        )),
        Some(v) => Ok(v.to_owned()),
    }
}

/// An optional setting; empty counts as absent.
pub(crate) fn optional(value: &Option<impl AsRef<str>>) -> Option<String> {
    value.as_ref().map(|v| v.as_ref().trim()).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A client builder's own error, re-worded to point at the setting: a malformed base URL or token
/// in the environment is a configuration problem (exit 3), not bad command input. `settings` are
/// the provider's `(env var, flag)` pairs; the one whose flag spells the builder's field is named.
pub(crate) fn build_error(
    provider: &'static str,
    settings: &[(&str, &str)],
    err: refund::Error,
) -> CliError {
    match err {
        refund::Error::InvalidInput { field, reason } => {
            let named = |flag: &&str| flag.trim_start_matches("--").replace('-', "_") == field;
            let source = match settings.iter().find(|(_, flag)| named(flag)) {
                Some((env, flag)) => format!(" ({env} or {flag})"),
                None => String::new(),
            };
            let message = format!("invalid {field}{source}: {reason}");
            CliError::sdk(provider, refund::Error::config(message))
        }
        other => CliError::sdk(provider, other),
    }
}

/// Reads a variable for commands without flags (batch).
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
