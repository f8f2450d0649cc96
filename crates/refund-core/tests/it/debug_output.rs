//! Pinned `Debug` output: no secret ever appears, and the safe fields do.

use std::sync::Arc;
use std::time::Duration;

use refund_core::{
    FetchedToken, Otp, PreparedBody, PreparedRequest, TokenCache, TokenFetcher, Transport,
};

#[test]
fn transport_debug_is_pinned() {
    let t = Transport::builder().timeout(Duration::from_secs(5)).build().unwrap();
    assert_eq!(
        format!("{t:?}"),
        "Transport { timeout: 5s, max_response_bytes: 1048576, retry: RetryPolicy { max_attempts: 3, initial_backoff: 200ms, max_backoff: 5s, deadline: 60s }, .. }"
    );
}

#[derive(Debug)]
struct Fetcher;

#[async_trait::async_trait]
impl TokenFetcher for Fetcher {
    async fn fetch(&self) -> refund_core::Result<FetchedToken> {
        Ok(FetchedToken::new("canary-token-value"))
    }
}

#[tokio::test]
async fn token_types_never_print_the_token() {
    let cache = TokenCache::new(Arc::new(Fetcher));
    let token = cache.get().await.unwrap();
    assert_eq!(format!("{token:?}"), "CachedToken { token: \"***\", generation: 1 }");
    assert_eq!(
        format!("{cache:?}"),
        "TokenCache { fetcher: Fetcher, default_lifetime: 600s, refresh_ahead: 30s, fetches: 1, .. }"
    );
    let fetched = FetchedToken::new("canary-token-value").with_lifetime(Duration::from_secs(9));
    assert_eq!(format!("{fetched:?}"), "FetchedToken { token: \"***\", lifetime: Some(9s) }");
}

#[test]
fn otp_and_prepared_request_mask_secrets() {
    assert_eq!(format!("{:?}", Otp::new("123456").unwrap()), "Otp(***)");
    let req = PreparedRequest::post("https://x.example/api".parse().unwrap())
        .header("authorization", "Bearer canary-token-value", true)
        .unwrap()
        .body(PreparedBody::form(&[("apiKey", "canary-key"), ("amount", "1.00")], &["apiKey"]));
    let shown = format!("{req:?}");
    assert!(!shown.contains("canary"), "{shown}");
    assert_eq!(
        shown,
        "PreparedRequest { method: POST, url: \"https://x.example/api\", headers: [(\"authorization\", \"***\"), (\"content-type\", \"application/x-www-form-urlencoded\")], body: Some(PreparedBody { content_type: \"application/x-www-form-urlencoded\", body: \"apiKey=***&amount=1.00\" }) }"
    );
}
