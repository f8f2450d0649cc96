//! The SDK's overhead, side by side with the plain alternatives, in one run (issue #8):
//!
//! 1. Per-call overhead of each provider's main operation: the SDK client versus raw `reqwest`
//!    sending the byte-identical request (taken from the SDK's own dry run, `prepare_*`) and
//!    parsing the same JSON, against one fixed-response loopback server. Sequential (latency per
//!    call) and 64 in flight (calls per second), measured alternately in the same run and reported
//!    as ratios SDK / raw; a third side, raw `reqwest` with the SDK's whole-request timeout, shows
//!    what that one safety feature costs by itself.
//! 2. Signing: Eko's `secret-key` through the crate's narrowest public path versus a bare
//!    HMAC-SHA256 + base64 loop with the key derived once, and the naive per-call derivation.
//! 3. The token cache under contention: 10,000 concurrent BOS claims across a token expiry.
//! 5. The sandbox's throughput for the AOC refund path.
//!
//! (4, memory, is `benches/memory.rs`: it needs its own process and global allocator.)
//!
//! `cargo bench -p refund --bench overhead` (or `cargo xtask bench`); `-- --quick` for a smoke run.
//!
//! A hand-rolled harness (harness = false) rather than criterion: the figures that matter are
//! ratios of two clients measured alternately in one process, and throughput under concurrency,
//! neither of which criterion's per-closure timing reports.

#![allow(missing_docs, clippy::unwrap_used)] // reason: a benchmark binary

mod support;

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use refund::aoc::{AocClient, AocRefundRequest};
use refund::bos::BosClient;
use refund::digipay::{DigiPayClient, WalletRefundRequest};
use refund::http::{HeaderMap, HeaderValue};
use refund::otp::OtpRefundClient;
use refund::{
    Currency, FetchedToken, ManualClock, Money, Otp, PreparedRequest, RefundReference,
    TransactionId,
};
use sha2::Sha256;

use support::{
    Latency, concurrent, concurrent_with_cpu, median, micros, quick, sequential_pair,
    start_fixed_server, start_fixed_server_h2,
};

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
type Op = Arc<dyn Fn() -> BoxFut + Send + Sync>;

// The documented success bodies (/work/shared/PROVIDERS.md).
const AOC_OK: &str = r#"{"data":{"aocTransID":"12345","transactionOperationStatus":"refunded","amountRefunded":"1.00","clientCorrelator":"CC-1","errorCode":"00","errorMessage":""}}"#;
const BOS_OK: &str =
    r#"{"status": true, "response_code": 1, "message": "Transaction Successfully Refunded"}"#;
const DIGIPAY_OK: &str = r#"{"success": 1, "error": [], "data": {"message": "Money successfully refunded", "transaction": {"txn_id": "TXN-1", "txn_number": "N-1", "txn_status": 1}}}"#;
const EKO_OK: &str = r#"{"status": 0, "response_status_id": 0, "response_type_id": 74, "message": "Refund done", "data": {"refund_tid": "2147591637", "tid": "13192443", "amount": "5000.00", "refunded_amount": "5050.00", "fee": "50.0", "tds": "7.1", "commission_reverse": "28.38", "currency": "INR", "balance": "2.22263731286E9", "timestamp": "2018-10-30T12:00:14.058Z"}}"#;

const EKO_ACCESS_KEY: &str = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30";
const TOKEN: &str = "bench-token-0123456789";

/// Raw reqwest: sends exactly the bytes the SDK would (its dry run, plus the `User-Agent` its
/// transport adds), reads the body and parses it as JSON, checking one field as the SDK does.
/// `per_call` edits the headers of each request (a real token in place of the dry run's mask, or
/// a fresh signature).
fn raw_op(
    http: reqwest::Client,
    prepared: &PreparedRequest,
    per_call: fn(&mut HeaderMap),
    check: fn(&serde_json::Value) -> bool,
    timeout: Option<Duration>,
) -> Op {
    let method = prepared.method().clone();
    let url = prepared.url().clone();
    let mut headers = prepared.headers().clone();
    headers.insert(refund::http::header::USER_AGENT, HeaderValue::from_static(refund::USER_AGENT));
    let body = prepared.body_ref().map(|b| b.bytes().clone()).unwrap_or_default();
    Arc::new(move || {
        let mut headers = headers.clone();
        per_call(&mut headers);
        let mut req = http.request(method.clone(), url.clone()).headers(headers).body(body.clone());
        if let Some(timeout) = timeout {
            req = req.timeout(timeout);
        }
        Box::pin(async move {
            let bytes = req.send().await.unwrap().bytes().await.unwrap();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert!(check(&value));
        })
    })
}

fn no_edit(_: &mut HeaderMap) {}

/// The raw reqwest side twice over, on one connection pool: as plain reqwest sends it (no
/// timeout, reqwest's default) and with the SDK's whole-request timeout (`DEFAULT_TIMEOUT`), the
/// one safety feature whose cost is reqwest's and tokio's, not the SDK's code.
struct Raw {
    plain: Op,
    timed: Op,
}

impl Raw {
    fn new(
        prepared: &PreparedRequest,
        per_call: fn(&mut HeaderMap),
        check: fn(&serde_json::Value) -> bool,
    ) -> Raw {
        let http = http_client();
        Raw {
            plain: raw_op(http.clone(), prepared, per_call, check, None),
            timed: raw_op(http, prepared, per_call, check, Some(refund::DEFAULT_TIMEOUT)),
        }
    }
}

struct Row {
    name: &'static str,
    sdk_seq: Latency,
    raw_seq: Latency,
    sdk_tput: f64,
    raw_tput: f64,
    raw_timed_tput: f64,
    /// Median over rounds of that round's SDK / raw throughput, with the quartiles.
    ratio: Spread,
    /// The same against raw reqwest with the SDK's timeout.
    ratio_timed: Spread,
    /// Median over rounds of raw / SDK process CPU time per call (higher is better, like the
    /// throughput ratio): what the SDK costs in CPU, whatever else the machine was doing.
    cpu_ratio: Spread,
    sdk_cpu_us: f64,
    raw_cpu_us: f64,
}

/// Median and quartiles of per-round ratios: how far one round's ratio strays on this machine.
struct Spread {
    median: f64,
    q1: f64,
    q3: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        // Nearest-rank quartiles: the index is `(n - 1) * num / 4`, in integers.
        let at = |num: usize| values[(values.len() - 1) * num / 4];
        Spread { median: at(2), q1: at(1), q3: at(3) }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}x ({:.2}–{:.2})", self.median, self.q1, self.q3)
    }
}

/// Compares the SDK with raw reqwest. `sides` builds both afresh (new clients, new connection
/// pools): each round gets its own, so that where one client's objects and connections happen
/// to land (heap addresses, which worker serves which connection) is noise that varies from
/// round to round, not a bias fixed for the whole run.
///
/// `--task-per-call`: every call runs in a task of its own, spawned and awaited, as a server
/// that spawns one per request runs them; by default the calls run in 64 long-lived tasks.
async fn compare(name: &'static str, sides: impl Fn() -> (Op, Raw)) -> Row {
    let task_per_call = std::env::args().any(|a| a == "--task-per-call");
    let sides = || {
        let (sdk, raw) = sides();
        if task_per_call {
            let raw = Raw { plain: in_own_task(raw.plain), timed: in_own_task(raw.timed) };
            (in_own_task(sdk), raw)
        } else {
            (sdk, raw)
        }
    };
    let (sdk, raw) = sides();
    let pick_side = |side: &str| match side {
        "sdk" => sdk.clone(),
        "raw-timed" => raw.timed.clone(),
        _ => raw.plain.clone(),
    };
    // `--calls N` sets how many calls the two profiling modes make.
    let calls =
        |default: usize| support::arg("--calls").and_then(|n| n.parse().ok()).unwrap_or(default);
    // `--profile sdk|raw|raw-timed`: only that side, sequentially, for `valgrind --tool=callgrind`.
    if let Some(side) = support::arg("--profile") {
        let op = pick_side(&side);
        for _ in 0..calls(2_000) {
            op().await;
        }
        std::process::exit(0);
    }
    // `--profile-concurrent sdk|raw|raw-timed`: only that side, 64 in flight, for `perf` or
    // `valgrind --tool=callgrind --cache-sim=yes`.
    if let Some(side) = support::arg("--profile-concurrent") {
        let op = pick_side(&side);
        warm(&op).await;
        let per_second = concurrent(calls(60_000), 64, move || op()).await;
        println!("{side}: {per_second:.0} calls/s");
        std::process::exit(0);
    }
    let (n_seq, n_conc, rounds) = if quick() { (20, 200, 1) } else { (1_000, 4_000, 25) };
    drop((sdk, raw));
    let mut sdk_seq = Vec::new();
    let mut raw_seq = Vec::new();
    let mut tput: [Vec<f64>; 3] = Default::default();
    let (mut ratio, mut ratio_timed, mut cpu_ratio) = (Vec::new(), Vec::new(), Vec::new());
    let mut cpu: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        let (sdk, raw) = sides();
        for side in [&sdk, &raw.plain, &raw.timed] {
            warm(side).await;
        }
        let sides = [&sdk, &raw.plain, &raw.timed];
        // Sequential: call by call, SDK and raw alternating, so drift hits both equally.
        let (s, r) = sequential_pair(n_seq, || sdk(), || (raw.plain)()).await;
        sdk_seq.push(s);
        raw_seq.push(r);
        // Under concurrency, one block per side, the order rotated every round; the ratio is
        // taken within the round (blocks seconds apart), then the median over rounds.
        let mut got = [0.0; 3];
        let mut cpu_us = [0.0; 3];
        for k in 0..3 {
            let i = (round + k) % 3;
            let op = sides[i].clone();
            let block = concurrent_with_cpu(n_conc, 64, move || op()).await;
            got[i] = block.calls_per_second;
            cpu_us[i] = block.cpu_us_per_call;
            tput[i].push(got[i]);
            cpu[i].push(cpu_us[i]);
        }
        ratio.push(got[0] / got[1]);
        ratio_timed.push(got[0] / got[2]);
        cpu_ratio.push(cpu_us[1] / cpu_us[0]);
    }
    let [sdk_tput, raw_tput, raw_timed_tput] = tput.map(median);
    let [sdk_cpu_us, raw_cpu_us, _] = cpu.map(median);
    Row {
        name,
        sdk_seq: pick(sdk_seq),
        raw_seq: pick(raw_seq),
        sdk_tput,
        raw_tput,
        raw_timed_tput,
        ratio: Spread::of(ratio),
        ratio_timed: Spread::of(ratio_timed),
        cpu_ratio: Spread::of(cpu_ratio),
        sdk_cpu_us,
        raw_cpu_us,
    }
}

/// Calls in flight while a new pool is warmed: more than the 64 measured.
const WARM_IN_FLIGHT: usize = 96;

/// Warms a side's new pool and code paths, opening more connections than the measured blocks
/// keep busy. With exactly 64 connections for 64 calls in flight, hyper-util's idle list for
/// the host empties on nearly every checkout, and it then removes the host's entry and inserts
/// it again on the next return: about 1.5k instructions and an allocation per call (callgrind,
/// `Checkout::poll` and `HashMap::remove`). Whether a warm-up at 64 left a pool at exactly 64,
/// or a few more, was chance, so that cost landed on one side or the other from round to
/// round, and moved a ratio by a point or two.
async fn warm(side: &Op) {
    let op = side.clone();
    concurrent(4 * WARM_IN_FLIGHT, WARM_IN_FLIGHT, move || op()).await;
}

/// The median over rounds of each round's median and p99.
fn pick(v: Vec<Latency>) -> Latency {
    let med = median(v.iter().map(|l| micros(l.median)).collect());
    let p99 = median(v.iter().map(|l| micros(l.p99)).collect());
    Latency { median: Duration::from_secs_f64(med / 1e6), p99: Duration::from_secs_f64(p99 / 1e6) }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// `op` with each call spawned as a task of its own (`--task-per-call`).
fn in_own_task(op: Op) -> Op {
    Arc::new(move || {
        let call = tokio::spawn(op());
        Box::pin(async move { call.await.unwrap() })
    })
}

fn op<F, Fut>(f: F) -> Op
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}

/// The SDK side of a comparison: each call clones the client and the shared input, as a caller's
/// task would, and makes `call` with them.
fn sdk_op<C, I, F, Fut>(client: C, input: Arc<I>, call: F) -> Op
where
    C: Clone + Send + Sync + 'static,
    I: Send + Sync + 'static,
    F: Fn(C, Arc<I>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    op(move || call(client.clone(), input.clone()))
}

// ---------------------------------------------------------------- 1. per-call overhead

async fn aoc(base: &str) -> Row {
    let request = AocRefundRequest::new(
        TransactionId::new("12345").unwrap(),
        Money::parse("1.00", Currency::Myr).unwrap(),
    )
    .with_sp_trans_id(RefundReference::new("bench-sp-1").unwrap());
    // Shared, not cloned per call: the raw side does not copy its inputs either.
    let request = Arc::new(request);
    compare("AOC refund", || {
        let client = AocClient::builder()
            .base_url(format!("{base}/aoc"))
            .username("bench")
            .api_key("bench-api-key")
            .http_client(http_client())
            .build()
            .unwrap();
        let prepared = client.prepare_refund(&*request).unwrap();
        let sdk = sdk_op(client, request.clone(), |client, request| async move {
            client.refund(&*request).await.unwrap();
        });
        (sdk, Raw::new(&prepared, no_edit, |v| v["data"]["errorCode"] == "00"))
    })
    .await
}

/// A BOS client with a static token, on `http`'s connections.
fn bos_static_token(base: &str, http: reqwest::Client) -> BosClient {
    let builder = BosClient::builder().base_url(format!("{base}/bos")).token(TOKEN);
    builder.http_client(http).build().unwrap()
}

async fn bos(base: &str) -> Row {
    let otp = Arc::new(Otp::new("576719").unwrap());
    compare("BOS claim_refund (static token)", || {
        let client = bos_static_token(base, http_client());
        let prepared = client.prepare_claim_refund("12345678931", "133", &otp).unwrap();
        let sdk = sdk_op(client, otp.clone(), |client, otp| async move {
            client.claim_refund("12345678931", "133", &otp).await.unwrap();
        });
        (sdk, Raw::new(&prepared, no_edit, |v| v["response_code"] == 1))
    })
    .await
}

async fn digipay(base: &str) -> Row {
    let request =
        WalletRefundRequest::builder("T-1", Money::parse("79.10", Currency::Inr).unwrap())
            .txn_code("CIB")
            .payment_mode(2)
            .build()
            .unwrap();
    let request = Arc::new(request);
    // The dry run masks even a static token; the raw side sends the real one, same length as
    // the SDK's header.
    fn real_token(headers: &mut HeaderMap) {
        let mut value = HeaderValue::from_str(&format!("Token {TOKEN}")).unwrap();
        value.set_sensitive(true);
        headers.insert(refund::http::header::AUTHORIZATION, value);
    }
    compare("DigiPay refund_money (static token)", || {
        let client = DigiPayClient::builder()
            .base_url(base)
            .company_id("c-1")
            .token(TOKEN)
            .http_client(http_client())
            .build()
            .unwrap();
        let prepared = client.prepare_refund_money(&request).unwrap();
        let sdk = sdk_op(client, request.clone(), |client, request| async move {
            client.refund_money(&request).await.unwrap();
        });
        (sdk, Raw::new(&prepared, real_token, |v| v["success"] == 1))
    })
    .await
}

fn eko_client(base: &str) -> OtpRefundClient {
    OtpRefundClient::builder()
        .base_url(format!("{base}/eko"))
        .developer_key("becbbce45f79c6f5109f848acd540567")
        .access_key(EKO_ACCESS_KEY)
        .initiator_id("9962981729")
        .user_code("20810200")
        .http_client(http_client())
        .build()
        .unwrap()
}

/// The HMAC keyed once with `base64(access_key)`, as Eko's recipe says.
fn eko_mac() -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(STANDARD.encode(EKO_ACCESS_KEY).as_bytes()).unwrap()
}

fn unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

async fn eko(base: &str) -> Row {
    let otp = Arc::new(Otp::new("576719").unwrap());
    // Signed per request like the SDK: a fresh millisecond timestamp and its signature.
    fn sign(headers: &mut HeaderMap) {
        thread_local! { static MAC: Hmac<Sha256> = eko_mac(); }
        let ts = unix_ms().to_string();
        let mut mac = MAC.with(Clone::clone);
        mac.update(ts.as_bytes());
        let sig = STANDARD.encode(mac.finalize().into_bytes());
        let mut sig = HeaderValue::from_str(&sig).unwrap();
        sig.set_sensitive(true);
        headers.insert("secret-key", sig);
        headers.insert("secret-key-timestamp", HeaderValue::from_str(&ts).unwrap());
    }
    compare("Eko refund (signed)", || {
        let client = eko_client(base);
        let prepared = client.prepare_refund("13192443", "ref-1", &otp).unwrap();
        let sdk = sdk_op(client, otp.clone(), |client, otp| async move {
            client.refund("13192443", "ref-1", &otp).await.unwrap();
        });
        (sdk, Raw::new(&prepared, sign, |v| v["status"] == 0))
    })
    .await
}

// ---------------------------------------------------------------- 2. signing

/// Nanoseconds per call of `f`: the median of 5 timed runs of `n` calls.
fn ns_per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        runs.push(start.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    median(runs)
}

fn signing() -> Vec<(&'static str, f64)> {
    let n = if quick() { 100 } else { 200_000 };
    let client = eko_client("http://127.0.0.1:9");
    let mac = eko_mac();
    let sdk = ns_per_call(n, || {
        // The narrowest public path that signs: a GET with no body (URL, 3 headers, signature).
        black_box(client.prepare_transaction(black_box("13192443")).unwrap());
    });
    let bare = ns_per_call(n, || {
        let ts = unix_ms().to_string();
        let mut m = mac.clone();
        m.update(ts.as_bytes());
        black_box(STANDARD.encode(m.finalize().into_bytes()));
    });
    let naive = ns_per_call(n, || {
        let ts = unix_ms().to_string();
        let key = STANDARD.encode(black_box(EKO_ACCESS_KEY));
        let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        m.update(ts.as_bytes());
        black_box(STANDARD.encode(m.finalize().into_bytes()));
    });
    vec![
        ("SDK `prepare_transaction` (URL + headers + timestamp + signature)", sdk),
        ("bare HMAC-SHA256 + base64, key derived once (timestamp included)", bare),
        ("naive: key derived per call (base64 + HMAC keying) + sign", naive),
    ]
}

// ---------------------------------------------------------------- 3. token cache

struct TokenRun {
    fetches_per_expiry: Vec<u64>,
    fetched: Latency,
    fetched_wall: Duration,
    static_: Latency,
    static_wall: Duration,
}

/// `n` concurrent claims, all spawned at once; `mid` runs once half of them are spawned (it moves
/// the clock past the token's expiry). Returns the per-call latencies and the wall time.
async fn burst(client: &BosClient, n: usize, mid: impl FnOnce()) -> (Latency, Duration) {
    let otp = Otp::new("576719").unwrap();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    let mut mid = Some(mid);
    for i in 0..n {
        if i == n / 2 {
            // Let the first half get going, then expire the token under them.
            tokio::task::yield_now().await;
            if let Some(f) = mid.take() {
                f();
            }
        }
        let client = client.clone();
        let otp = otp.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            client.claim_refund("12345678931", "133", &otp).await.unwrap();
            t.elapsed()
        }));
    }
    let mut samples = Vec::with_capacity(n);
    for t in tasks {
        samples.push(t.await.unwrap());
    }
    let wall = start.elapsed();
    samples.sort_unstable();
    (Latency { median: samples[n / 2], p99: samples[n * 99 / 100] }, wall)
}

async fn token_cache() -> TokenRun {
    let n = if quick() { 200 } else { 10_000 };
    let rounds = if quick() { 1 } else { 3 };
    // HTTP/2 to one server connection: 10,000 concurrent HTTP/1 calls would need 10,000 sockets
    // on each side, past this machine's 20,000 open-file limit. Both clients use it.
    let base = start_fixed_server_h2(&[("/bos/api/BOS/ClaimRefund", BOS_OK)]).await;
    let h2 = || reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let lifetime = Duration::from_secs(600);
    let clock = ManualClock::new(SystemTime::now());
    let fetches = Arc::new(AtomicU64::new(0));
    let counted = fetches.clone();
    let fetched = BosClient::builder()
        .base_url(format!("{base}/bos"))
        .token_fetcher_fn(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                // A token endpoint takes a while: widen the window in which callers pile up.
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(FetchedToken::new(TOKEN).with_lifetime(lifetime))
            }
        })
        .clock(Arc::new(clock.clone()))
        .http_client(h2())
        .build()
        .unwrap();
    let static_ = bos_static_token(&base, h2());
    // Warm: the first token, and the connection.
    let otp = Otp::new("576719").unwrap();
    fetched.claim_refund("12345678931", "133", &otp).await.unwrap();
    static_.claim_refund("12345678931", "133", &otp).await.unwrap();
    let mut per_expiry = Vec::new();
    let (mut f_lat, mut f_wall, mut s_lat, mut s_wall) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let before = fetches.load(Ordering::SeqCst);
        let c = clock.clone();
        let (l, w) = burst(&fetched, n, move || c.advance(lifetime + Duration::from_secs(1))).await;
        per_expiry.push(fetches.load(Ordering::SeqCst) - before);
        assert_eq!(fetched.token_fetch_count(), fetches.load(Ordering::SeqCst));
        f_lat.push(l);
        f_wall.push(w.as_secs_f64());
        let (l, w) = burst(&static_, n, || {}).await;
        s_lat.push(l);
        s_wall.push(w.as_secs_f64());
    }
    TokenRun {
        fetches_per_expiry: per_expiry,
        fetched: pick(f_lat),
        fetched_wall: Duration::from_secs_f64(median(f_wall)),
        static_: pick(s_lat),
        static_wall: Duration::from_secs_f64(median(s_wall)),
    }
}

// ---------------------------------------------------------------- 5. the sandbox

async fn sandbox() -> (f64, usize) {
    use refund_sandbox::{Sandbox, seed};
    let (per_round, rounds) = if quick() { (200, 1) } else { (4_000, 3) };
    let sandbox = Sandbox::builder().build().start().await.unwrap();
    let client = AocClient::builder()
        .base_url(sandbox.aoc_base_url())
        .username(seed::AOC_USERNAME)
        .api_key(seed::AOC_API_KEY)
        .build()
        .unwrap();
    let charge = TransactionId::new(seed::AOC_CHARGE_1002).unwrap();
    // 0.01 of a 50.00 charge: 5,000 refunds fit before the books run out; reset between rounds.
    let cent = Money::from_minor_units(1, Currency::Myr);
    let mut tputs = Vec::new();
    for _ in 0..rounds {
        sandbox.reset();
        let client = client.clone();
        let charge = charge.clone();
        tputs.push(
            concurrent(per_round, 64, move || {
                let client = client.clone();
                let request = AocRefundRequest::new(charge.clone(), cent);
                async move {
                    client.refund(&request).await.unwrap();
                }
            })
            .await,
        );
    }
    sandbox.shutdown().await;
    (median(tputs), per_round)
}

// ---------------------------------------------------------------- report

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // A section name (overhead, signing, token, sandbox) runs that section alone.
    let only = std::env::args()
        .skip(1)
        .find(|a| ["overhead", "signing", "token", "sandbox"].contains(&a.as_str()));
    let want = |section: &str| only.as_deref().is_none_or(|o| section.contains(o));
    if want("overhead") {
        let base = start_fixed_server(&[
            ("/aoc/api/refund", AOC_OK),
            ("/bos/api/BOS/ClaimRefund", BOS_OK),
            ("/digipay/v3/transaction/wallet_refund_money", DIGIPAY_OK),
            ("/eko/customer/payment/refund/13192443", EKO_OK),
        ])
        .await;
        let provider = support::arg("--provider");
        let run = |p: &str| provider.as_deref().is_none_or(|x| x == p);
        let mut rows = Vec::new();
        if run("aoc") {
            rows.push(aoc(&base).await);
        }
        if run("bos") {
            rows.push(bos(&base).await);
        }
        if run("digipay") {
            rows.push(digipay(&base).await);
        }
        if run("eko") {
            rows.push(eko(&base).await);
        }
        println!("\n## 1. Per-call overhead (SDK vs raw reqwest, same server, same run)\n");
        println!(
            "| operation | SDK median µs | raw median µs | added µs | SDK p99 µs | raw p99 µs | SDK calls/s @64 | raw calls/s @64 | throughput SDK/raw (quartiles) | raw + timeout calls/s @64 | SDK/(raw + timeout) (quartiles) | CPU µs/call SDK, raw | CPU raw/SDK (quartiles) |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for r in &rows {
            println!(
                "| {} | {:.1} | {:.1} | {:+.1} | {:.1} | {:.1} | {:.0} | {:.0} | {} | {:.0} | {} | {:.1}, {:.1} | {} |",
                r.name,
                micros(r.sdk_seq.median),
                micros(r.raw_seq.median),
                micros(r.sdk_seq.median) - micros(r.raw_seq.median),
                micros(r.sdk_seq.p99),
                micros(r.raw_seq.p99),
                r.sdk_tput,
                r.raw_tput,
                r.ratio,
                r.raw_timed_tput,
                r.ratio_timed,
                r.sdk_cpu_us,
                r.raw_cpu_us,
                r.cpu_ratio,
            );
        }
    }
    if want("signing") {
        println!("\n## 2. Eko signing (ns per request, median of 5 runs)\n");
        println!("| path | ns/request |");
        println!("|---|---|");
        for (name, ns) in signing() {
            println!("| {name} | {ns:.0} |");
        }
    }
    if want("token") {
        let t = token_cache().await;
        println!(
            "\n## 3. Token cache: 10,000 concurrent BOS claims across a token expiry (HTTP/2)\n"
        );
        println!("| client | fetches per expiry (each round) | median µs | p99 µs | wall ms |");
        println!("|---|---|---|---|---|");
        println!(
            "| fetched token, expired mid-burst | {:?} | {:.0} | {:.0} | {:.1} |",
            t.fetches_per_expiry,
            micros(t.fetched.median),
            micros(t.fetched.p99),
            t.fetched_wall.as_secs_f64() * 1e3
        );
        println!(
            "| static token | - | {:.0} | {:.0} | {:.1} |",
            micros(t.static_.median),
            micros(t.static_.p99),
            t.static_wall.as_secs_f64() * 1e3
        );
        println!(
            "\nadded by the cache across an expiry: median {:+.0} µs, wall {:+.1} ms",
            micros(t.fetched.median) - micros(t.static_.median),
            (t.fetched_wall.as_secs_f64() - t.static_wall.as_secs_f64()) * 1e3
        );
        assert!(t.fetches_per_expiry.iter().all(|&f| f == 1), "not one fetch per expiry");
    }
    if want("sandbox") {
        let (tput, n) = sandbox().await;
        println!("\n## 5. Sandbox: AOC refunds at 64 in flight\n");
        println!("{tput:.0} refunds/s (median of rounds of {n}, books reset between rounds)");
    }
}
