//! What every provider's client builder shares: the check of a required setting, and the
//! transport setters ([`transport_setters!`](crate::transport_setters)), written once.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// A required text setting: the value when it is set and not blank, else [`Error::Config`]
/// naming what is missing, the builder's setter and the environment variable that fills it.
///
/// ```
/// use refund_core::require_setting;
/// assert_eq!(require_setting(Some("u".to_owned()), "the AOC username", "username", "AOC_USERNAME").unwrap(), "u");
/// let err = require_setting(Some(" ".to_owned()), "the AOC username", "username", "AOC_USERNAME");
/// assert_eq!(
///     err.unwrap_err().to_string(),
///     "configuration error: the AOC username is not set: call .username(..) or set AOC_USERNAME"
/// );
/// ```
pub fn require_setting(
    value: Option<String>,
    what: &str,
    setter: &str,
    env: &str,
) -> Result<String> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| missing(what, setter, env))
}

/// [`require_setting`] for a secret: the message names the setting, never its value.
///
/// ```
/// use refund_core::{SecretString, require_secret};
/// let err = require_secret(Some(SecretString::from("")), "the AOC API key", "api_key", "AOC_API_KEY");
/// assert!(err.unwrap_err().to_string().contains("AOC_API_KEY"));
/// ```
pub fn require_secret(
    value: Option<SecretString>,
    what: &str,
    setter: &str,
    env: &str,
) -> Result<SecretString> {
    value.filter(|v| !v.expose_secret().trim().is_empty()).ok_or_else(|| missing(what, setter, env))
}

fn missing(what: &str, setter: &str, env: &str) -> Error {
    Error::config(format!("{what} is not set: call .{setter}(..) or set {env}"))
}

/// The transport setters of a provider's client builder, delegated to its
/// [`TransportBuilder`](crate::TransportBuilder) field named `transport`: `timeout`,
/// `http_client`, `retry_policy`, `insecure_http`, and with `clock` as argument also `clock`.
///
/// ```
/// use refund_core::TransportBuilder;
/// #[derive(Default)]
/// pub struct DemoClientBuilder {
///     transport: TransportBuilder,
/// }
/// impl DemoClientBuilder {
///     refund_core::transport_setters!(clock);
/// }
/// let builder = DemoClientBuilder::default().timeout(std::time::Duration::from_secs(5));
/// ```
#[macro_export]
macro_rules! transport_setters {
    () => {
        $crate::transport_setters! {@delegate
            /// Whole-request timeout per attempt, body included (default
            /// [`refund_core::DEFAULT_TIMEOUT`]). Zero, or one too large to add to the clock, is
            /// refused by `build`.
            timeout => timeout: ::std::time::Duration,
            /// Share this `reqwest::Client` (and its connection pool) instead of building one.
            http_client => client: $crate::reqwest::Client,
            /// Retry policy (default [`refund_core::RetryPolicy::default`]); money-moving calls are
            /// retried only when the request provably did not go through.
            retry_policy => retry_policy: $crate::RetryPolicy,
            /// Allow plain `http` to a non-loopback host (a private network you vouch for).
            insecure_http => insecure_http: $crate::InsecureHttp,
        }
    };
    (clock) => {
        $crate::transport_setters!();
        $crate::transport_setters! {@delegate
            /// The clock for token expiry and request timestamps (default
            /// [`refund_core::SystemClock`]); tests inject a [`refund_core::ManualClock`].
            clock => clock: ::std::sync::Arc<dyn $crate::Clock>,
        }
    };
    // One setter per line above: `setter => the TransportBuilder method it calls: its argument`.
    (@delegate $($(#[$attr:meta])* $setter:ident => $method:ident: $ty:ty,)*) => {$(
        $(#[$attr])*
        #[must_use]
        pub fn $setter(mut self, value: $ty) -> Self {
            self.transport = self.transport.$method(value);
            self
        }
    )*};
}

/// Builder-style setters of optional fields, one line each: `with_x => x: T` writes
/// `pub fn with_x(self, value: T) -> Self` that sets `self.x = Some(value)` (for `String`,
/// `value: impl Into<String>`); `with_x => x: String if non_empty` ignores an empty string (a
/// provider's blank message); `with_x => x: secret` keeps the text as a [`SecretString`](crate::SecretString);
/// `with_x => x = T` sets a field that is not an `Option`: `self.x = value`.
///
/// ```
/// #[derive(Default)]
/// pub struct Note { text: Option<String>, pages: Option<u32>, draft: bool }
/// impl Note {
///     refund_core::with_setters! {
///         /// Sets the text (ignored when empty).
///         with_text => text: String if non_empty,
///         /// Sets the page count.
///         with_pages => pages: u32,
///         /// Marks it a draft, or not.
///         with_draft => draft = bool,
///     }
/// }
/// let note = Note::default().with_text("hello").with_text("").with_pages(2).with_draft(true);
/// assert_eq!((note.text.as_deref(), note.pages, note.draft), (Some("hello"), Some(2), true));
/// ```
#[macro_export]
macro_rules! with_setters {
    () => {};
    ($(#[$attr:meta])* $setter:ident => $field:ident: String if non_empty $(, $($rest:tt)*)?) => {
        $(#[$attr])*
        #[must_use]
        pub fn $setter(mut self, value: impl Into<String>) -> Self {
            let value = value.into();
            if !value.is_empty() {
                self.$field = Some(value);
            }
            self
        }
        $($crate::with_setters!($($rest)*);)?
    };
    // A `SecretString` is made from a `String` like a `String` is: the one arm below does both.
    ($(#[$attr:meta])* $setter:ident => $field:ident: secret $(, $($rest:tt)*)?) => {
        $crate::with_setters!($(#[$attr])* $setter => $field: String $(, $($rest)*)?);
    };
    ($(#[$attr:meta])* $setter:ident => $field:ident: String $(, $($rest:tt)*)?) => {
        $(#[$attr])*
        #[must_use]
        pub fn $setter(mut self, value: impl Into<String>) -> Self {
            self.$field = Some(value.into().into());
            self
        }
        $($crate::with_setters!($($rest)*);)?
    };
    ($(#[$attr:meta])* $setter:ident => $field:ident = $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$attr])*
        #[must_use]
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$field = value;
            self
        }
        $($crate::with_setters!($($rest)*);)?
    };
    ($(#[$attr:meta])* $setter:ident => $field:ident: $ty:ty $(, $($rest:tt)*)?) => {
        $(#[$attr])*
        #[must_use]
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$field = Some(value);
            self
        }
        $($crate::with_setters!($($rest)*);)?
    };
}
