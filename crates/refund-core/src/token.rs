//! Short-lived bearer tokens (BOS: 600 s; DigiPay: until `expiry_time`): cached, refreshed ahead
//! of expiry, fetched once for any number of concurrent callers, and dropped on a 401.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::Result;
use crate::request::MASK;

/// A source of the current time, injectable so tests of expiry and signing are deterministic.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for tests.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use refund_core::{Clock, ManualClock};
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock { now: Arc::new(Mutex::new(start)) }
    }
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A token held so that `Debug` shows `"***"`: the structs that hold one derive theirs.
#[derive(Clone)]
struct Masked(SecretString);

impl fmt::Debug for Masked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(MASK, f)
    }
}

/// A token as a fetcher returns it.
#[derive(Clone, Debug)]
pub struct FetchedToken {
    token: Masked,
    lifetime: Option<Duration>,
}

impl FetchedToken {
    /// A token valid for the cache's default lifetime.
    pub fn new(token: impl Into<String>) -> Self {
        FetchedToken { token: Masked(SecretString::from(token.into())), lifetime: None }
    }
    crate::with_setters! {
        /// Sets how long the token is valid from now.
        with_lifetime => lifetime: Duration,
    }
}

/// Fetches a fresh token (a caller-supplied async function, or a provider's token endpoint).
///
/// ```
/// use refund_core::{FetchedToken, TokenFetcher};
/// #[derive(Debug)]
/// struct FromVault;
/// #[async_trait::async_trait]
/// impl TokenFetcher for FromVault {
///     async fn fetch(&self) -> refund_core::Result<FetchedToken> {
///         Ok(FetchedToken::new("token-from-vault"))
///     }
/// }
/// ```
#[async_trait]
pub trait TokenFetcher: Send + Sync + fmt::Debug {
    /// Fetches a new token.
    async fn fetch(&self) -> Result<FetchedToken>;
}

/// A token handed out by the cache, with the generation to pass to [`TokenCache::invalidate`].
#[derive(Clone, Debug)]
pub struct CachedToken {
    token: Masked,
    generation: u64,
}

impl CachedToken {
    /// The token. Handle with care: never log it.
    pub fn secret(&self) -> &SecretString {
        &self.token.0
    }
    /// Which fetch produced it.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

struct Slot {
    token: CachedToken,
    refresh_at: SystemTime,
    expires_at: SystemTime,
}

/// Caches one bearer token.
///
/// - Fresh tokens are served from a read lock, without waiting.
/// - Within `refresh_ahead` of expiry, one caller refreshes while the others keep using the
///   still-valid token.
/// - An expired or missing token is fetched exactly once, however many callers are waiting.
/// - [`TokenCache::invalidate`] drops a token the provider rejected (401), once per generation.
///
/// ```
/// use std::sync::Arc;
/// use refund_core::{FetchedToken, TokenCache, TokenFetcher};
/// # #[derive(Debug)] struct Static;
/// # #[async_trait::async_trait]
/// # impl TokenFetcher for Static { async fn fetch(&self) -> refund_core::Result<FetchedToken> { Ok(FetchedToken::new("t")) } }
/// # async fn run() -> refund_core::Result<()> {
/// let cache = TokenCache::new(Arc::new(Static));
/// let token = cache.get().await?;
/// assert_eq!(cache.fetch_count(), 1);
/// cache.invalidate(token.generation());
/// # Ok(()) }
/// ```
pub struct TokenCache {
    fetcher: Arc<dyn TokenFetcher>,
    clock: Arc<dyn Clock>,
    default_lifetime: Duration,
    refresh_ahead: Duration,
    slot: RwLock<Option<Slot>>,
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("fetcher", &self.fetcher)
            .field("default_lifetime", &self.default_lifetime)
            .field("refresh_ahead", &self.refresh_ahead)
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

/// Default token lifetime when the fetcher does not say: 600 s (BOS's documented value).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// Default refresh margin before expiry.
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(30);

impl TokenCache {
    /// A cache over `fetcher` with the system clock, a 600 s default lifetime and a 30 s refresh margin.
    pub fn new(fetcher: Arc<dyn TokenFetcher>) -> Self {
        TokenCache {
            fetcher,
            clock: Arc::new(SystemClock),
            default_lifetime: DEFAULT_TOKEN_LIFETIME,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            slot: RwLock::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    crate::with_setters! {
        /// Uses `clock` for expiry.
        with_clock => clock = Arc<dyn Clock>,
        /// Lifetime of tokens whose fetcher gives none.
        with_default_lifetime => default_lifetime = Duration,
        /// How long before expiry a refresh starts.
        with_refresh_ahead => refresh_ahead = Duration,
    }

    /// How many times the fetcher has been called.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid token: cached, or fetched once for all concurrent callers.
    pub async fn get(&self) -> Result<CachedToken> {
        match self.peek(self.clock.now()) {
            Freshness::Fresh(token) => return Ok(token),
            Freshness::Stale(token) => {
                // Still valid: one caller refreshes, the rest carry on with the current token.
                let Ok(_guard) = self.fetch_lock.try_lock() else { return Ok(token) };
                if let Freshness::Fresh(token) = self.peek(self.clock.now()) {
                    return Ok(token);
                }
                return Ok(self.fetch_and_store().await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "token refresh failed; using the current token until it expires");
                    token
                }));
            }
            Freshness::Missing => {}
        }
        let _guard = self.fetch_lock.lock().await;
        // Whoever held the lock before us may have fetched already.
        match self.peek(self.clock.now()) {
            Freshness::Fresh(token) | Freshness::Stale(token) => Ok(token),
            Freshness::Missing => self.fetch_and_store().await,
        }
    }

    /// Runs `call` with a valid token. When `rejected` says the provider refused that token (a 401:
    /// the request was not processed), drops it, fetches a new one once and runs `call` once more;
    /// the second answer stands, whatever it is. This is the one place the "repeat once on 401"
    /// rule lives, so even a money-moving call is repeated only after a definite refusal.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use refund_core::{FetchedToken, TokenCache, TokenFetcher};
    /// # #[derive(Debug)] struct Vault;
    /// # #[async_trait::async_trait]
    /// # impl TokenFetcher for Vault { async fn fetch(&self) -> refund_core::Result<FetchedToken> { Ok(FetchedToken::new("t")) } }
    /// # async fn run() -> refund_core::Result<()> {
    /// let cache = TokenCache::new(Arc::new(Vault));
    /// // `call` would send the request with the token and return the provider's HTTP status.
    /// let status = cache.with_token(|_token| async { Ok(200u16) }, |status| *status == 401).await?;
    /// assert_eq!(status, 200);
    /// # Ok(()) }
    /// ```
    pub async fn with_token<T, F, Fut>(&self, call: F, rejected: impl Fn(&T) -> bool) -> Result<T>
    where
        F: Fn(CachedToken) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let token = self.get().await?;
        let generation = token.generation();
        let answer = call(token).await?;
        if !rejected(&answer) {
            return Ok(answer);
        }
        drop(answer);
        tracing::info!(
            generation,
            "the provider rejected the token; fetching a new one and repeating once"
        );
        self.invalidate(generation);
        // Boxed: a rejected token is rare, and a second call held inline would double the size
        // of every call's future (which callers box or spawn per call).
        Box::pin(async { call(self.get().await?).await }).await
    }

    /// Drops the token of `generation` (the provider rejected it). A newer token is kept, so a
    /// burst of 401s for the same old token causes one refetch, not many.
    pub fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.as_ref().is_some_and(|s| s.token.generation == generation) {
            *slot = None;
        }
    }

    fn peek(&self, now: SystemTime) -> Freshness {
        let slot = self.slot.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.as_ref() {
            Some(s) if now < s.refresh_at => Freshness::Fresh(s.token.clone()),
            Some(s) if now < s.expires_at => Freshness::Stale(s.token.clone()),
            _ => Freshness::Missing,
        }
    }

    async fn fetch_and_store(&self) -> Result<CachedToken> {
        let generation = self.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(generation, "fetching a new token");
        let fetched = self.fetcher.fetch().await?;
        let lifetime = fetched.lifetime.unwrap_or(self.default_lifetime);
        let token = CachedToken { token: fetched.token, generation };
        let now = self.clock.now();
        let expires_at = now + lifetime;
        // A short-lived token must not be stale on arrival: refresh at most half-way through its life.
        let refresh_at = expires_at - self.refresh_ahead.min(lifetime / 2);
        *self.slot.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Slot { token: token.clone(), refresh_at, expires_at });
        Ok(token)
    }
}

enum Freshness {
    Fresh(CachedToken),
    Stale(CachedToken),
    Missing,
}
