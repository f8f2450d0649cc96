//! A body the caller keeps must cost what its own bytes cost, not the connection's buffer.
//!
//! hyper reads each connection into one buffer (8 KiB and up) and hands out the body as a slice
//! of it. Every `RefundRecord` keeps its response's body (its raw JSON): while the body was that
//! slice, each kept record pinned a whole buffer, and a batch that kept 10,000 records kept
//! 10,000 buffers. Sharing the connection's buffer also cost the SDK ≈ 4 points of throughput at
//! 64 in flight (docs/performance.md, "Fourth pass").
//!
//! Its own test binary: the counting allocator sees every allocation of the process.

#![allow(clippy::unwrap_used)] // reason: a test fails by panicking

use std::alloc::System;

use httpmock::prelude::*;
use refund_core::{Idempotency, Operation, PreparedRequest, Transport};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const READ: Operation = Operation::new("test", "read", Idempotency::Safe);
const BODY: &str = r#"{"data":{"errorCode":"00","aocTransID":"12345"}}"#;

#[tokio::test(flavor = "current_thread")]
async fn a_kept_body_holds_its_own_bytes_not_the_connections_read_buffer() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/status");
            then.status(200).header("content-type", "application/json").body(BODY);
        })
        .await;
    let transport = Transport::builder().build().unwrap();
    let url: url::Url = server.url("/status").parse().unwrap();
    let send = || transport.send(&READ, |_| Ok(PreparedRequest::get(url.clone())));
    // The connection and its buffers exist before the measurement starts.
    for _ in 0..10 {
        send().await.unwrap();
    }

    const KEPT: usize = 200;
    let mut kept = Vec::with_capacity(KEPT);
    let region = Region::new(GLOBAL);
    for _ in 0..KEPT {
        let response = send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "application/json");
        // What a record keeps (`RawJson::new(raw.body().clone(), ..)`); the response goes.
        kept.push(response.body().clone());
    }
    let change = region.change();
    let retained = change.bytes_allocated.saturating_sub(change.bytes_deallocated);
    let per_body = retained / KEPT;
    println!("each kept body retains {per_body} bytes");
    // The body's own 48 bytes and its allocator overhead. A pinned read buffer is 8 KiB or more.
    assert!(per_body < 512, "each kept body retains {per_body} bytes");
    assert!(kept.iter().all(|body| body.as_ref() == BODY.as_bytes()));
}
