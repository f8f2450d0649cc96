//! Token cache: single flight, refresh ahead of expiry, invalidation after a 401.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use refund_core::{ExposeSecret, FetchedToken, ManualClock, TokenCache, TokenFetcher};

#[derive(Debug, Default)]
struct CountingFetcher {
    calls: AtomicU64,
    delay: Duration,
    lifetime: Option<Duration>,
}

#[async_trait::async_trait]
impl TokenFetcher for CountingFetcher {
    async fn fetch(&self) -> refund_core::Result<FetchedToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        let token = FetchedToken::new(format!("token-{n}"));
        Ok(match self.lifetime {
            Some(l) => token.with_lifetime(l),
            None => token,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_callers_cause_one_fetch() {
    let fetcher =
        Arc::new(CountingFetcher { delay: Duration::from_millis(50), ..Default::default() });
    let cache = Arc::new(TokenCache::new(fetcher.clone()));
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(
                async move { cache.get().await.unwrap().secret().expose_secret().to_owned() },
            )
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), "token-1");
    }
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.fetch_count(), 1);
}

#[tokio::test]
async fn expiry_and_refresh_ahead_follow_the_clock() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let fetcher = Arc::new(CountingFetcher {
        lifetime: Some(Duration::from_secs(600)),
        ..Default::default()
    });
    let cache = TokenCache::new(fetcher.clone())
        .with_clock(Arc::new(clock.clone()))
        .with_refresh_ahead(Duration::from_secs(30));
    assert_eq!(cache.get().await.unwrap().secret().expose_secret(), "token-1");
    clock.advance(Duration::from_secs(500));
    assert_eq!(
        cache.get().await.unwrap().secret().expose_secret(),
        "token-1",
        "fresh: served from cache"
    );
    clock.advance(Duration::from_secs(80)); // 580 s: inside the 30 s refresh margin
    assert_eq!(
        cache.get().await.unwrap().secret().expose_secret(),
        "token-2",
        "refreshed ahead of expiry"
    );
    clock.advance(Duration::from_secs(601)); // past expiry of token-2
    assert_eq!(cache.get().await.unwrap().secret().expose_secret(), "token-3");
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn short_lived_tokens_are_not_stale_on_arrival() {
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    let fetcher =
        Arc::new(CountingFetcher { lifetime: Some(Duration::from_secs(10)), ..Default::default() });
    let cache = TokenCache::new(fetcher.clone()).with_clock(Arc::new(clock.clone()));
    for _ in 0..5 {
        cache.get().await.unwrap();
    }
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalidate_drops_only_the_rejected_generation() {
    let fetcher = Arc::new(CountingFetcher::default());
    let cache = TokenCache::new(fetcher.clone());
    let first = cache.get().await.unwrap();
    cache.invalidate(first.generation());
    let second = cache.get().await.unwrap();
    assert_eq!(second.secret().expose_secret(), "token-2");
    // A late 401 for the old token must not throw away the new one.
    cache.invalidate(first.generation());
    assert_eq!(cache.get().await.unwrap().secret().expose_secret(), "token-2");
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
}

#[derive(Debug)]
struct FailingFetcher;

#[async_trait::async_trait]
impl TokenFetcher for FailingFetcher {
    async fn fetch(&self) -> refund_core::Result<FetchedToken> {
        Err(refund_core::Error::config("no credentials"))
    }
}

#[tokio::test]
async fn fetch_errors_reach_the_caller() {
    let cache = TokenCache::new(Arc::new(FailingFetcher));
    assert_eq!(cache.get().await.unwrap_err().kind(), "config");
}

#[tokio::test]
async fn with_token_repeats_once_after_a_rejection_and_never_twice() {
    let fetcher = Arc::new(CountingFetcher::default());
    let cache = TokenCache::new(fetcher.clone());
    let calls = AtomicU64::new(0);
    // The provider refuses every token: one repeat with a fresh token, then the refusal stands.
    let answer = cache
        .with_token(
            |token| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { Ok((401u16, token.secret().expose_secret().to_owned())) }
            },
            |(status, _)| *status == 401,
        )
        .await
        .unwrap();
    assert_eq!(answer, (401, "token-2".to_owned()));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    // An accepted token is used once, from the cache.
    let answer = cache.with_token(|_| async { Ok(200u16) }, |s| *s == 401).await.unwrap();
    assert_eq!(answer, 200);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
}
