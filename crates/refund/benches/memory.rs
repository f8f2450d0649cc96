//! Memory of the SDK under load (issue #8, benchmark 4): peak RSS of a process driving AOC refunds
//! at a given number in flight, and the bytes allocated per call (a counting global allocator).
//!
//! `cargo bench -p refund --bench memory` runs the fixed-response server in one child process and
//! each measurement in a fresh child process (peak RSS only ever grows, so every figure needs its
//! own process): 1,000, 10,000 and 30,000 total calls at 256 in flight, and 10,000 at 16 in flight, SDK
//! and raw `reqwest`. Memory that grows with in-flight calls and not with total calls is the
//! budget. One child by hand, under `/usr/bin/time -v`:
//!
//! ```text
//! target/release/deps/memory-<hash> --serve &          # prints its base URL
//! /usr/bin/time -v target/release/deps/memory-<hash> --client <URL> --total 10000 --in-flight 256
//! ```
//!
//! `--keep` keeps every record, to show what kept records hold.
//!
//! `-- --quick` for a smoke run.

#![allow(missing_docs, clippy::unwrap_used)] // reason: a benchmark binary

mod support;

use std::alloc::System;
use std::process::{Command, Stdio};
use std::sync::Arc;

use refund::aoc::{AocClient, AocRefundRequest};
use refund::{Currency, Money, RefundReference, TransactionId};
use refund_testkit::spawn_announcing;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

use support::{arg, concurrent, quick, start_fixed_server};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const AOC_OK: &str = r#"{"data":{"aocTransID":"12345","transactionOperationStatus":"refunded","amountRefunded":"1.00","clientCorrelator":"CC-1","errorCode":"00","errorMessage":""}}"#;

/// `VmHWM` (peak resident set) from /proc/self/status, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn serve() {
    let base = start_fixed_server(&[("/aoc/api/refund", AOC_OK)]).await;
    println!("{base}");
    // Until the parent closes our stdin (or kills us).
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    })
    .await
    .unwrap();
}

/// One measurement: `total` refunds at `in_flight`, SDK or raw; prints
/// `peak_rss_kib bytes_per_call allocs_per_call`.
async fn client(base: String, total: usize, in_flight: usize, raw: bool, keep: bool) {
    let http = reqwest::Client::builder().build().unwrap();
    let client = AocClient::builder()
        .base_url(format!("{base}/aoc"))
        .username("bench")
        .api_key("bench-api-key")
        .http_client(http.clone())
        .build()
        .unwrap();
    let request = AocRefundRequest::new(
        TransactionId::new("12345").unwrap(),
        Money::parse("1.00", Currency::Myr).unwrap(),
    )
    .with_sp_trans_id(RefundReference::new("bench-sp-1").unwrap());
    let prepared = Arc::new(client.prepare_refund(&request).unwrap());
    let request = Arc::new(request);
    // `--keep`: every record is kept, as a batch that reports at the end would keep them; what
    // is still allocated at the end is then what the records hold.
    let kept = Arc::new(std::sync::Mutex::new(Vec::with_capacity(if keep { total } else { 0 })));
    let keeper = kept.clone();
    let call = move || {
        let kept = keeper.clone();
        let client = client.clone();
        let request = request.clone();
        let prepared = prepared.clone();
        let http = http.clone();
        async move {
            if raw {
                let body = prepared.body_ref().unwrap().bytes().clone();
                let bytes = http
                    .post(prepared.url().clone())
                    .headers(prepared.headers().clone())
                    .header("user-agent", refund::USER_AGENT)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(v["data"]["errorCode"], "00");
            } else {
                let record = client.refund(&*request).await.unwrap();
                if keep {
                    kept.lock().unwrap().push(record);
                }
            }
        }
    };
    let region = Region::new(GLOBAL);
    concurrent(total, in_flight, call).await;
    let stats = region.change();
    let per = |x: usize| x as f64 / total as f64;
    println!(
        "{} {:.0} {:.1} {}",
        peak_rss_kib(),
        per(stats.bytes_allocated),
        per(stats.allocations),
        stats.bytes_allocated.saturating_sub(stats.bytes_deallocated)
    );
}

fn measure(base: &str, total: usize, in_flight: usize, raw: bool, keep: bool) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "--client",
        base,
        "--total",
        &total.to_string(),
        "--in-flight",
        &in_flight.to_string(),
    ]);
    if raw {
        cmd.arg("--raw");
    }
    if keep {
        cmd.arg("--keep");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_owned).collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--serve") {
        return serve().await;
    }
    if let Some(base) = arg("--client") {
        let total = arg("--total").map_or(10_000, |t| t.parse().unwrap());
        let in_flight = arg("--in-flight").map_or(256, |t| t.parse().unwrap());
        let raw = std::env::args().any(|a| a == "--raw");
        let keep = std::env::args().any(|a| a == "--keep");
        return client(base, total, in_flight, raw, keep).await;
    }
    // The server in its own process, so the client's figures are the client's alone.
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    let (mut server, base) = spawn_announcing(cmd.arg("--serve").stdin(Stdio::piped()));
    let base = base.trim().to_owned();
    let (small, large) = if quick() { (100, 200) } else { (1_000, 10_000) };
    let runs = [(small, 256), (large, 256), (3 * large, 256), (large, 16)];
    println!("\n## 4. Memory: AOC refunds, each line a fresh process\n");
    println!(
        "| client | total calls | in flight | peak RSS (VmHWM) KiB | bytes allocated / call | allocations / call | still allocated at end, bytes |"
    );
    println!("|---|---|---|---|---|---|---|");
    for raw in [false, true] {
        for (total, in_flight) in runs {
            let f = measure(&base, total, in_flight, raw, false);
            println!(
                "| {} | {total} | {in_flight} | {} | {} | {} | {} |",
                if raw { "raw reqwest" } else { "SDK" },
                f[0],
                f[1],
                f[2],
                f[3]
            );
        }
    }
    // Kept records must cost what they hold (their fields and the body's own bytes), not the
    // connection buffers hyper reads into (crates/refund-core/tests/retained_memory.rs).
    // At 16 in flight, so that the pool's own memory (the row above with 16) stays small.
    let f = measure(&base, large, 16, false, true);
    let still: f64 = f[3].parse().unwrap();
    println!(
        "\nSDK, {large} records kept (`--keep`, 16 in flight): peak RSS {} KiB, still allocated at the end {} bytes, {:.0} bytes per kept record",
        f[0],
        f[3],
        still / large as f64
    );
    drop(server.stdin.take());
    let _ = server.kill();
    let _ = server.wait();
}
