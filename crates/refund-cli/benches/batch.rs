//! `refund batch` throughput and memory (issue 21): a CSV of AOC refunds against the in-process
//! sandbox, through the SQLite ledger, at `--concurrency 64`.
//!
//! `cargo bench -p refund-cli --bench batch` measures, in one run:
//! - the batch: the built `refund` binary as a child process (its own ledger file in a temporary
//!   folder), rows per second (wall time of the whole command: start-up, the CSV, the ledger, the
//!   requests) and its peak RSS (`VmHWM`, read from /proc while it runs), for 10,000 and 100,000
//!   rows;
//! - the baseline: the same refunds through the AOC client alone, 64 in flight, in this process,
//!   against a sandbox seeded the same way (what the ledger and the command cost on top);
//! - and again the batch over the same file and ledger: the resume, where every row is answered
//!   from the ledger.
//!
//! Figures are medians of `--rounds` runs (default 3); ratios are against the baseline of the same
//! round. `-- --quick` for a smoke run (1,000 rows, one round).

#![allow(missing_docs, clippy::unwrap_used)] // reason: a benchmark binary

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use refund::aoc::AocClient;
use refund::{Currency, Money, RefundRequest, TransactionId};
use refund_sandbox::{OriginalTransaction, RunningSandbox, Sandbox, seed};

const CONCURRENCY: usize = 64;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn charge(i: usize) -> String {
    format!("BENCH-{i:07}")
}

async fn sandbox(rows: usize) -> RunningSandbox {
    let charges = (0..rows).map(|i| OriginalTransaction::Aoc { id: charge(i), amount_minor: 1000 });
    Sandbox::builder().transactions(charges).build().start().await.unwrap()
}

/// The batch command on `file`, to completion: (seconds, peak RSS in MiB, exit code).
fn run_batch(
    sandbox: &RunningSandbox,
    file: &std::path::Path,
    ledger: &std::path::Path,
) -> (f64, f64, i32) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_refund"))
        .args(["batch", "--concurrency", &CONCURRENCY.to_string(), "--ledger"])
        .arg(ledger)
        .arg(file)
        .env("AOC_BASE_URL", sandbox.aoc_base_url())
        .env("AOC_USERNAME", seed::AOC_USERNAME)
        .env("AOC_API_KEY", seed::AOC_API_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        // VmHWM only grows: the last reading before the exit is the peak, to within 5 ms.
        if let Some(kib) = std::fs::read_to_string(&status_path).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        }) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (started.elapsed().as_secs_f64(), peak_kib as f64 / 1024.0, status.code().unwrap_or(-1))
}

/// The same refunds through the client alone, 64 in flight: seconds.
async fn baseline(sandbox: &RunningSandbox, rows: usize) -> f64 {
    let client = Arc::new(
        AocClient::builder()
            .base_url(sandbox.aoc_base_url())
            .username(seed::AOC_USERNAME)
            .api_key(seed::AOC_API_KEY)
            .build()
            .unwrap(),
    );
    let started = Instant::now();
    futures_util::stream::iter(0..rows)
        .map(|i| {
            let client = client.clone();
            async move {
                let request = RefundRequest::new(TransactionId::new(charge(i)).unwrap())
                    .with_amount(Money::from_minor_units(100, Currency::Myr));
                client.refund(&request).await.unwrap();
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds: usize = arg("--rounds").map_or(if quick { 1 } else { 3 }, |r| r.parse().unwrap());
    let sizes: Vec<usize> = if quick { vec![1_000] } else { vec![10_000, 100_000] };
    println!(
        "refund batch, AOC rows through the SQLite ledger at --concurrency {CONCURRENCY}; {rounds} round(s)"
    );
    println!(
        "{:>8} | {:>12} | {:>12} | {:>6} | {:>12} | {:>12} | {:>12}",
        "rows",
        "batch rows/s",
        "client alone",
        "ratio",
        "rerun rows/s",
        "peak RSS MiB",
        "rerun RSS MiB"
    );
    for rows in sizes {
        let (mut batch_rates, mut client_rates, mut rerun_rates, mut peaks, mut rerun_peaks) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let folder = tempfile::tempdir().unwrap();
            let file = folder.path().join("refunds.csv");
            let mut csv = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
            writeln!(csv, "provider,original_transaction_id,amount").unwrap();
            for i in 0..rows {
                writeln!(csv, "aoc,{},1.00", charge(i)).unwrap();
            }
            csv.flush().unwrap();
            drop(csv);
            let ledger = folder.path().join("ledger.sqlite");

            let alone = sandbox(rows).await;
            client_rates.push(rows as f64 / baseline(&alone, rows).await);
            alone.shutdown().await;

            let sb = sandbox(rows).await;
            let (seconds, peak, code) = run_batch(&sb, &file, &ledger);
            assert_eq!(code, 0, "the batch failed");
            assert_eq!(sb.executed_refunds().len(), rows, "every row refunded once");
            batch_rates.push(rows as f64 / seconds);
            peaks.push(peak);
            let (seconds, peak, code) = run_batch(&sb, &file, &ledger);
            assert_eq!(code, 0, "the rerun failed");
            assert_eq!(sb.executed_refunds().len(), rows, "the rerun sent nothing");
            rerun_rates.push(rows as f64 / seconds);
            rerun_peaks.push(peak);
            sb.shutdown().await;
        }
        let (batch, alone) = (median(&mut batch_rates), median(&mut client_rates));
        println!(
            "{rows:>8} | {batch:>12.0} | {alone:>12.0} | {:>5.3}x | {:>12.0} | {:>12.1} | {:>12.1}",
            batch / alone,
            median(&mut rerun_rates),
            median(&mut peaks),
            median(&mut rerun_peaks)
        );
        println!(
            "         each round: batch {batch_rates:.0?} rows/s, client alone {client_rates:.0?}, peak {peaks:.1?} MiB"
        );
    }
}
