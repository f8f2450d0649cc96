//! Where the bearer token comes from, and the `Authorization` header it makes.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use refund_core::http::HeaderValue;
use refund_core::{
    Clock, DEFAULT_TOKEN_LIFETIME, Error, ExposeSecret, FetchedToken, MASK, Result, SecretString,
    TokenCache, TokenFetcher, async_trait, header_value, require_secret,
};

use crate::client::{BosClientBuilder, ENV_TOKEN};

/// Where the bearer token comes from.
///
/// BOS publishes no token endpoint, so the SDK takes a token source (PROVIDERS.md, BOS,
/// "Authentication"): none, a fixed token, or a fetcher whose tokens are cached for their lifetime
/// (600 s unless the fetcher says otherwise), refreshed ahead of expiry, fetched once for all
/// concurrent callers, and replaced once on an HTTP 401.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum TokenSource {
    /// No `Authorization` header (the default).
    #[default]
    None,
    /// The same token on every call. A 401 is an [`Error::Auth`].
    Static(SecretString),
    /// Tokens from this fetcher, cached by core's [`TokenCache`].
    Fetcher(Arc<dyn TokenFetcher>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::None => f.write_str("None"),
            TokenSource::Static(_) => write!(f, "Static({MASK})"),
            TokenSource::Fetcher(fetcher) => f.debug_tuple("Fetcher").field(fetcher).finish(),
        }
    }
}

impl BosClientBuilder {
    /// A static bearer token (env `BOS_TOKEN`), sent as `Authorization: Bearer <token>`.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = TokenSource::Static(SecretString::from(token.into()));
        self
    }

    /// Tokens from `fetcher`, cached for their lifetime.
    #[must_use]
    pub fn token_fetcher(mut self, fetcher: Arc<dyn TokenFetcher>) -> Self {
        self.token = TokenSource::Fetcher(fetcher);
        self
    }

    /// Tokens from an async closure, cached for their lifetime.
    ///
    /// ```
    /// use refund_core::FetchedToken;
    /// let client = refund_bos::BosClient::builder()
    ///     .token_fetcher_fn(|| async { Ok(FetchedToken::new("fresh-token")) })
    ///     .build()?;
    /// # Ok::<(), refund_core::Error>(())
    /// ```
    #[must_use]
    pub fn token_fetcher_fn<F, Fut>(self, fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<FetchedToken>> + Send + 'static,
    {
        self.token_fetcher(Arc::new(FnFetcher(fetch)))
    }

    refund_core::with_setters! {
        /// The token source, in one go.
        token_source => token = TokenSource,
        /// Lifetime of fetched tokens whose fetcher gives none (default 600 s, BOS's documented
        /// value).
        token_lifetime => token_lifetime: Duration,
    }
}

/// A [`TokenFetcher`] from an async closure (see [`crate::BosClientBuilder::token_fetcher_fn`]).
struct FnFetcher<F>(F);

impl<F> fmt::Debug for FnFetcher<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnFetcher")
    }
}

#[async_trait]
impl<F, Fut> TokenFetcher for FnFetcher<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<FetchedToken>> + Send,
{
    async fn fetch(&self) -> Result<FetchedToken> {
        (self.0)().await
    }
}

/// The token source of a built client.
pub(crate) enum Auth {
    None,
    /// The whole `Authorization: Bearer <token>` value, built and validated once.
    Static(HeaderValue),
    Cached(Arc<TokenCache>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Static(_) => write!(f, "Static({MASK})"),
            Auth::Cached(_) => f.write_str("Fetched"),
        }
    }
}

impl Auth {
    /// Checks the token source; a fetcher's tokens live `lifetime` unless it says otherwise.
    pub(crate) fn new(
        source: TokenSource,
        lifetime: Option<Duration>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Ok(match source {
            TokenSource::None => Auth::None,
            TokenSource::Static(token) => {
                let token = require_secret(Some(token), "the BOS token", "token", ENV_TOKEN)?;
                Auth::Static(bearer_header(token.expose_secret())?)
            }
            TokenSource::Fetcher(fetcher) => {
                if lifetime.is_some_and(|l| l.is_zero()) {
                    return Err(Error::invalid_input(
                        "token_lifetime",
                        "must be greater than zero",
                    ));
                }
                let lifetime = lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME);
                let cache =
                    TokenCache::new(fetcher).with_clock(clock).with_default_lifetime(lifetime);
                Auth::Cached(Arc::new(cache))
            }
        })
    }

    /// The header a dry run shows: a fetched token as `***`, never fetched.
    pub(crate) fn dry_run_header(&self) -> Option<HeaderValue> {
        match self {
            Auth::None => None,
            Auth::Static(header) => Some(header.clone()),
            Auth::Cached(_) => {
                let mut header = HeaderValue::from_static("Bearer ***");
                header.set_sensitive(true);
                Some(header)
            }
        }
    }
}

/// `Bearer <token>`, printable ASCII only, marked sensitive (masked in every rendering).
pub(crate) fn bearer_header(token: &str) -> Result<HeaderValue> {
    // Stricter than a header value, which also allows a tab and bytes past ASCII.
    if !token.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(Error::invalid_input("token", "must be printable ASCII"));
    }
    header_value("token", &["Bearer ", token].concat(), true)
}
