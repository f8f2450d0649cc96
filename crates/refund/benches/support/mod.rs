//! Shared pieces of the benchmark binaries: a minimal fixed-response HTTP server and the
//! measurement loops.
//!
//! The server answers every request on a path with one fixed, documented response body and does no
//! other work, so it is never the bottleneck and both sides of a comparison see the same server.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)] // reason: bench support code

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Starts the fixed-response server (HTTP/1.1, keep-alive) on a free loopback port and returns its
/// base URL.
pub async fn start_fixed_server(routes: &[(&str, &'static str)]) -> String {
    start_server(routes, false).await
}

/// The same server speaking HTTP/2 only (prior knowledge), so thousands of concurrent calls share
/// one connection instead of needing a socket (two file descriptors) each.
pub async fn start_fixed_server_h2(routes: &[(&str, &'static str)]) -> String {
    start_server(routes, true).await
}

async fn start_server(routes: &[(&str, &'static str)], h2: bool) -> String {
    let routes: Arc<HashMap<String, Bytes>> = Arc::new(
        routes
            .iter()
            .map(|(path, body)| ((*path).to_owned(), Bytes::from_static(body.as_bytes())))
            .collect(),
    );
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let routes = routes.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let routes = routes.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        // Drain the request body, as a real server would.
                        let _ = req.into_body().collect().await;
                        let body =
                            routes.get(&path).cloned().unwrap_or_else(|| Bytes::from_static(b"{}"));
                        Ok::<_, Infallible>(
                            Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                if h2 {
                    let _ = http2::Builder::new(TokioExecutor::new())
                        .max_concurrent_streams(20_000)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                } else {
                    let _ = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Latency figures of one sequential run.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub median: Duration,
    pub p99: Duration,
}

/// Runs `op` `n` times one after another and returns the median and p99 latency.
pub async fn sequential<F, Fut>(n: usize, op: F) -> Latency
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        op().await;
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    Latency { median: samples[n / 2], p99: samples[(n * 99) / 100] }
}

/// Runs `a` and `b` `n` times each, alternating call by call (`a`, `b`, `a`, ...), so that drift
/// on a shared machine hits both sides alike; returns the latency of each.
pub async fn sequential_pair<A, FA, B, FB>(n: usize, a: A, b: B) -> (Latency, Latency)
where
    A: Fn() -> FA,
    FA: Future<Output = ()>,
    B: Fn() -> FB,
    FB: Future<Output = ()>,
{
    let mut sa = Vec::with_capacity(n);
    let mut sb = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        a().await;
        sa.push(start.elapsed());
        let start = Instant::now();
        b().await;
        sb.push(start.elapsed());
    }
    let stats = |mut s: Vec<Duration>| {
        s.sort_unstable();
        Latency { median: s[n / 2], p99: s[(n * 99) / 100] }
    };
    (stats(sa), stats(sb))
}

/// Runs `total` calls of `op` with `in_flight` at once and returns calls per second.
pub async fn concurrent<F, Fut>(total: usize, in_flight: usize, op: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    // Without the CPU clock: rustix reads it through the vDSO, whose set-up crashes under
    // valgrind, and `--profile-concurrent` is meant for `valgrind --tool=callgrind`.
    run_concurrent(total, in_flight, op).await
}

async fn run_concurrent<F, Fut>(total: usize, in_flight: usize, op: F) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let op = op.clone();
            let next = next.clone();
            tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    op().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// What a block of concurrent calls measured.
pub struct Block {
    pub calls_per_second: f64,
    /// CPU time of the whole process (client, server and runtime, user and kernel) per call, in
    /// µs. Unlike calls per second, it does not count time the machine gave to other processes.
    pub cpu_us_per_call: f64,
}

/// CPU time consumed so far by this process, all threads.
pub fn process_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}

/// [`concurrent`], also reporting the process's CPU time per call.
pub async fn concurrent_with_cpu<F, Fut>(total: usize, in_flight: usize, op: F) -> Block
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let cpu_start = process_cpu_time();
    let start = Instant::now();
    run_concurrent(total, in_flight, op).await;
    let wall = start.elapsed();
    let cpu = process_cpu_time().saturating_sub(cpu_start);
    Block {
        calls_per_second: total as f64 / wall.as_secs_f64(),
        cpu_us_per_call: cpu.as_secs_f64() * 1e6 / total as f64,
    }
}

/// Median of a few values.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Whether the harness was asked for a smoke run (`cargo bench -- --quick` or `BENCH_QUICK=1`):
/// one short iteration of each, to keep the benchmarks compiling and running in CI.
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick") || std::env::var_os("BENCH_QUICK").is_some()
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The value after `name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}
