//! DigiPay's credentials: a static token, or a client id and secret exchanged for a cached token.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use refund_core::http::HeaderValue;
use refund_core::url::Url;
use refund_core::{
    Clock, Error, ExposeSecret, FetchedToken, Idempotency, MASK, Operation, PreparedRequest,
    Result, SecretString, TokenCache, TokenFetcher, Transport, async_trait, header_value,
    join_path, require_secret, require_setting,
};

use crate::client::{DigiPayClientBuilder, PROVIDER};
use crate::decode::decode_token;

/// Getting a token moves no money: safe to repeat.
pub(crate) const AUTHENTICATE: Operation =
    Operation::new(PROVIDER, "authenticate", Idempotency::Safe);
const AUTHENTICATE_PATH: &[&str] = &["digipay", "v3", "auth", "authenticate"];

/// Env var of the static token.
pub const ENV_TOKEN: &str = "DIGIPAY_TOKEN";
/// Env var of the client id for the token exchange (instead of [`ENV_TOKEN`]).
pub const ENV_CLIENT_ID: &str = "DIGIPAY_CLIENT_ID";
/// Env var of the client secret for the token exchange.
pub const ENV_CLIENT_SECRET: &str = "DIGIPAY_CLIENT_SECRET";
/// Env var of the authorization scheme word (`Token` or `Bearer`).
pub const ENV_AUTH_SCHEME: &str = "DIGIPAY_AUTH_SCHEME";

/// Shortest lifetime given to a fetched token, whatever its `expiry_time` says.
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Longest lifetime given to a fetched token, whatever its `expiry_time` says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The word before the token in `Authorization`: `Token` (DigiPay) or `Bearer` (white-label twins).
///
/// ```
/// use refund_digipay::AuthScheme;
/// assert_eq!("bearer".parse::<AuthScheme>()?, AuthScheme::Bearer);
/// assert_eq!(AuthScheme::default().as_str(), "Token");
/// # Ok::<(), refund_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Authorization: Token <token>`, as DigiPay documents.
    #[default]
    Token,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

impl AuthScheme {
    /// The word as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthScheme::Token => "Token",
            AuthScheme::Bearer => "Bearer",
        }
    }

    /// `Authorization: <scheme> <token>`, checked and marked sensitive (it renders as `***`).
    pub(crate) fn header(self, token: &str) -> Result<HeaderValue> {
        header_value("token", &format!("{self} {token}"), true)
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthScheme {
    type Err = Error;
    /// `Token` or `Bearer`, any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "token" => Ok(AuthScheme::Token),
            "bearer" => Ok(AuthScheme::Bearer),
            _ => Err(Error::invalid_input("auth_scheme", "must be Token or Bearer")),
        }
    }
}

/// The credentials as set on the builder.
#[derive(Clone)]
pub(crate) enum Credentials {
    Token(SecretString),
    ClientCredentials { client_id: String, client_secret: SecretString },
}

/// The credentials of a built client: the static token's `Authorization` value (built once, not
/// per call), or the cache of fetched tokens.
pub(crate) enum Auth {
    Static(HeaderValue),
    Fetched { client_id: String, cache: TokenCache },
}

/// `Token(***)` or `ClientCredentials { client_id, client_secret: *** }`, for both enums.
fn debug_credentials(f: &mut fmt::Formatter<'_>, client_id: Option<&String>) -> fmt::Result {
    match client_id {
        None => f.write_str("Token(***)"),
        Some(client_id) => f
            .debug_struct("ClientCredentials")
            .field("client_id", client_id)
            .field("client_secret", &format_args!("{MASK}"))
            .finish(),
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => debug_credentials(f, None),
            Credentials::ClientCredentials { client_id, .. } => {
                debug_credentials(f, Some(client_id))
            }
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Static(_) => debug_credentials(f, None),
            Auth::Fetched { client_id, .. } => debug_credentials(f, Some(client_id)),
        }
    }
}

impl Credentials {
    /// The credentials and scheme from env vars (`get` gives a set, non-blank value); a
    /// contradiction is pushed to `errors`.
    pub(crate) fn from_vars(
        get: impl Fn(&str) -> Option<String>,
        errors: &mut Vec<String>,
    ) -> (Option<Credentials>, Option<AuthScheme>) {
        let credentials = match (get(ENV_TOKEN), get(ENV_CLIENT_ID), get(ENV_CLIENT_SECRET)) {
            (Some(token), None, None) => Ok(Some(Credentials::Token(token.into()))),
            (None, Some(client_id), Some(secret)) => {
                Ok(Some(Credentials::ClientCredentials { client_id, client_secret: secret.into() }))
            }
            (None, None, None) => Ok(None),
            (Some(_), _, _) => Err(format!(
                "set either {ENV_TOKEN} or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}, not both"
            )),
            (None, Some(_), None) => {
                Err(format!("{ENV_CLIENT_ID} is set without {ENV_CLIENT_SECRET}"))
            }
            (None, None, Some(_)) => {
                Err(format!("{ENV_CLIENT_SECRET} is set without {ENV_CLIENT_ID}"))
            }
        };
        let credentials = credentials.unwrap_or_else(|message| {
            errors.push(message);
            None
        });
        let scheme = get(ENV_AUTH_SCHEME).and_then(|scheme| {
            let parsed = scheme.parse().ok();
            if parsed.is_none() {
                errors.push(format!("{ENV_AUTH_SCHEME} must be Token or Bearer"));
            }
            parsed
        });
        (credentials, scheme)
    }

    /// Checks the credentials; client credentials get a token cache that fetches from `base_url`.
    pub(crate) fn into_auth(
        credentials: Option<Self>,
        scheme: AuthScheme,
        base_url: &Url,
        transport: &Transport,
        clock: Arc<dyn Clock>,
    ) -> Result<Auth> {
        let credentials = credentials.ok_or_else(|| {
            Error::config(format!(
                "credentials are required: set .token(..) ({ENV_TOKEN}) or .client_credentials(..) ({ENV_CLIENT_ID} and {ENV_CLIENT_SECRET})"
            ))
        })?;
        match credentials {
            Credentials::Token(token) => {
                let token = require_secret(Some(token), "the DigiPay token", "token", ENV_TOKEN)?;
                Ok(Auth::Static(scheme.header(token.expose_secret())?))
            }
            Credentials::ClientCredentials { client_id, client_secret } => {
                let what = "the DigiPay client id";
                let client_id =
                    require_setting(Some(client_id), what, "client_credentials", ENV_CLIENT_ID)?;
                if client_id.contains(':') {
                    return Err(Error::invalid_input(
                        "client_id",
                        "must not contain ':' (HTTP Basic)",
                    ));
                }
                let what = "the DigiPay client secret";
                let client_secret = require_secret(
                    Some(client_secret),
                    what,
                    "client_credentials",
                    ENV_CLIENT_SECRET,
                )?;
                let exchange = TokenExchange {
                    url: join_path(base_url, AUTHENTICATE_PATH)?,
                    client_id: client_id.clone(),
                    client_secret,
                    transport: transport.clone(),
                    clock: clock.clone(),
                };
                let cache = TokenCache::new(Arc::new(exchange)).with_clock(clock);
                Ok(Auth::Fetched { client_id, cache })
            }
        }
    }
}

impl DigiPayClientBuilder {
    /// A static token, sent as `Authorization: <scheme> <token>`. Replaces client credentials.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Token(token.into().into()));
        self
    }
    /// A client id and secret, exchanged at `POST /digipay/v3/auth/authenticate` (HTTP Basic)
    /// for a token that is cached until its `expiry_time`. Replaces a static token.
    #[must_use]
    pub fn client_credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let (client_id, client_secret) = (client_id.into(), client_secret.into().into());
        self.credentials = Some(Credentials::ClientCredentials { client_id, client_secret });
        self
    }
    refund_core::with_setters! {
        /// The `Authorization` scheme word (default [`AuthScheme::Token`]).
        auth_scheme => auth_scheme = AuthScheme,
    }
}

/// The client-credentials exchange: `POST /digipay/v3/auth/authenticate` with HTTP Basic.
struct TokenExchange {
    url: Url,
    client_id: String,
    client_secret: SecretString,
    transport: Transport,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigiPayTokenExchange")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &format_args!("{MASK}"))
            .finish()
    }
}

impl TokenExchange {
    fn prepare(&self) -> Result<PreparedRequest> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose_secret()
        ));
        PreparedRequest::post(self.url.clone())
            .header("Authorization", &format!("Basic {basic}"), true)?
            .header("Accept", "application/json", false)
    }
}

#[async_trait]
impl TokenFetcher for TokenExchange {
    async fn fetch(&self) -> Result<FetchedToken> {
        let decode = |raw: &_| decode_token(raw, self.clock.now());
        self.transport.call(&AUTHENTICATE, |_attempt| self.prepare(), decode).await
    }
}

/// The credentials' masking, as the builder's and the client's `Debug` show it.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: a panic is how a test fails
mod tests {
    use crate::{AuthScheme, DigiPayClient, DigiPayClientBuilder};

    fn builder() -> DigiPayClientBuilder {
        DigiPayClient::builder().base_url("https://digipay.example.com").company_id("c-1")
    }

    #[test]
    fn builder_debug_is_pinned_and_masks_secrets() {
        let builder =
            builder().client_credentials("cid", "very-secret").txn_code("CIB").payment_mode(2);
        assert_eq!(
            format!("{builder:?}"),
            "DigiPayClientBuilder { base_url: Some(\"https://digipay.example.com\"), company_id: Some(\"c-1\"), credentials: Some(ClientCredentials { client_id: \"cid\", client_secret: *** }), auth_scheme: Token, currency: Inr, txn_code: Some(\"CIB\"), payment_mode: Some(2), transport: TransportBuilder { timeout: None, http_client: None, retry_policy: None, insecure_http: LoopbackOnly, .. }, .. }"
        );
        let builder = DigiPayClient::builder().token("tok-secret");
        assert!(format!("{builder:?}").contains("credentials: Some(Token(***))"));
        assert!(!format!("{builder:?}").contains("tok-secret"));
    }

    #[test]
    fn client_debug_is_pinned_and_masks_secrets() {
        let client = builder().token("tok-secret").auth_scheme(AuthScheme::Bearer).build().unwrap();
        assert_eq!(
            format!("{client:?}"),
            "DigiPayClient { base_url: \"https://digipay.example.com/\", company_id: \"c-1\", auth: Token(***), auth_scheme: Bearer, currency: Inr, txn_code: None, payment_mode: None, .. }"
        );
        let client = builder().client_credentials("cid", "very-secret").build().unwrap();
        let shown = format!("{client:?}");
        assert!(
            shown.contains("auth: ClientCredentials { client_id: \"cid\", client_secret: *** }")
        );
        assert!(!shown.contains("very-secret"));
    }
}
