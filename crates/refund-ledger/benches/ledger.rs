//! What the refund ledger costs per refund (issue 20, "Performance"), measured in one run:
//!
//! - `client alone`: AOC refunds through the in-process sandbox, `DirectRefund::refund` with no
//!   ledger, the same request the ledger builds (reference, amount, note);
//! - `ledger, SQLite` and `ledger, PostgreSQL`: the same refunds through `Ledger::refund` (each
//!   against its own charge, with the over-refund guard), on a fresh SQLite file in a temporary
//!   folder and on a fresh PostgreSQL database, both opened with the defaults;
//! - `plain SQLite` and `plain PostgreSQL`: no HTTP and no ledger, only two write transactions
//!   per refund (an insert, then an update, one commit each), on SQLite in WAL mode with
//!   `synchronous=FULL`, begun `IMMEDIATE`, through the same driver and one writer connection as
//!   the ledger's; on PostgreSQL through a pool as large as the ledger's. That is the floor the
//!   ledger's two commits per refund stand on, the issue's baseline.
//!
//! Each at 1 and at 64 refunds in flight. A round runs one block of every side at every level,
//! in an order rotated each round; ratios are taken within a round (blocks seconds apart); the
//! report gives the median over rounds and the range. Every side is warmed up first. Each block
//! also reads the CPU time this process and the PostgreSQL server spent on it (`/proc`), which
//! other tenants of the machine do not move the way they move refunds/s.
//!
//! ```text
//! cargo bench -p refund-ledger --features postgres --bench ledger -- [--rounds N] [--count N]
//!     [--in-flight 1,64] [--only client,ledger-sqlite,plain-sqlite,ledger-postgres,plain-postgres]
//!     [--pg-connections N] [--quick]
//! ```
//!
//! `--rounds` (default 5), `--count`: refunds per block at 16 or more in flight (default 4,000;
//! an eighth of it below), `--pg-connections`: the PostgreSQL pools (default 16, the ledger's).
//! PostgreSQL comes from `REFUND_BENCH_POSTGRES_URL` (or `REFUND_TEST_POSTGRES_URL`): a database
//! is created on that server and dropped after the run. Unset: the PostgreSQL sides are skipped.

#![allow(missing_docs, clippy::unwrap_used)] // reason: a benchmark binary

#[path = "../tests/it/common.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
// reason: the tests' helpers; the bench uses a few
mod common;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use refund_core::{
    Currency, DEFAULT_TIMEOUT, DirectRefund, Money, RefundReference, RefundRequest, RefundStatus,
    TransactionId,
};
use refund_ledger::{IntentState, Ledger, RefundIntent};
use refund_sandbox::Sandbox;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use common::{Env, TestDb};

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;
/// One refund, numbered: the number makes its key, reference and charge.
type Op = Arc<dyn Fn(u64) -> BoxFut + Send + Sync>;

/// Charges seeded in the sandbox; refund `n` goes against charge `n % CHARGES`, so the refunds
/// of a block never share one.
const CHARGES: u64 = 10_000;
/// 10,000.00 MYR each: room for a cent from every refund of a long run.
const CHARGE_MINOR: u64 = 1_000_000;
/// The sides (the PostgreSQL ones only with a server), their names in the report and for
/// `--only`.
const CLIENT: usize = 0;
const LEDGER_SQLITE: usize = 1;
const PLAIN_SQLITE: usize = 2;
const LEDGER_POSTGRES: usize = 3;
const PLAIN_POSTGRES: usize = 4;
const NAMES: [&str; 5] = [
    "client alone",
    "ledger, SQLite",
    "plain SQLite, 2 commits",
    "ledger, PostgreSQL",
    "plain PostgreSQL, 2 commits",
];
const SHORT: [&str; 5] =
    ["client", "ledger-sqlite", "plain-sqlite", "ledger-postgres", "plain-postgres"];

fn charge(n: u64) -> TransactionId {
    TransactionId::new(format!("BENCH-{:05}", n % CHARGES)).unwrap()
}

fn cent() -> Money {
    Money::from_minor_units(1, Currency::Myr)
}

/// The client alone: the request `Ledger::refund` would build for refund `n`.
fn client_op(env: &Env) -> Op {
    let aoc = env.aoc.clone();
    Arc::new(move |n| {
        let aoc = aoc.clone();
        Box::pin(async move {
            let reference = format!("bn{n:026}");
            let request = RefundRequest::new(charge(n))
                .with_reference(RefundReference::new(reference.clone()).unwrap())
                .with_amount(cent())
                .with_note(reference);
            let record = DirectRefund::refund(&aoc, &request).await.unwrap();
            assert_eq!(record.status, RefundStatus::Succeeded);
        })
    })
}

fn ledger_op(env: &Env, ledger: Ledger) -> Op {
    let aoc = env.aoc.clone();
    let charge_amount = Money::from_minor_units(CHARGE_MINOR, Currency::Myr);
    Arc::new(move |n| {
        let (aoc, ledger) = (aoc.clone(), ledger.clone());
        Box::pin(async move {
            let intent = RefundIntent::new(format!("bench/{n}"), charge(n))
                .amount(cent())
                .charge_amount(charge_amount);
            let record = ledger.refund(&aoc, &intent).await.unwrap();
            assert_eq!(record.state, IntentState::Succeeded);
        })
    })
}

/// The baseline: two commits per refund and nothing else.
#[derive(Clone)]
enum Plain {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Plain {
    async fn sqlite(path: &Path) -> Plain {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        Plain::Sqlite(pool).created().await
    }

    async fn postgres(url: &str, connections: u32) -> Plain {
        let pool = PgPoolOptions::new().max_connections(connections).connect(url).await.unwrap();
        Plain::Postgres(pool).created().await
    }

    async fn created(self) -> Plain {
        self.run("CREATE TABLE plain_refunds (key TEXT PRIMARY KEY, state TEXT NOT NULL)").await;
        self
    }

    /// One transaction, as one round trip: no statement of the ledger's is in the way.
    async fn commit(&self, statement: &str) {
        let begin = match self {
            Plain::Sqlite(_) => "BEGIN IMMEDIATE",
            Plain::Postgres(_) => "BEGIN",
        };
        self.run(&format!("{begin}; {statement}; COMMIT")).await;
    }

    async fn run(&self, sql: &str) {
        match self {
            Plain::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
            Plain::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
        }
        .unwrap();
    }

    fn op(&self) -> Op {
        let plain = self.clone();
        Arc::new(move |n| {
            let plain = plain.clone();
            Box::pin(async move {
                let key = format!("bench/{n}");
                plain
                    .commit(&format!(
                        "INSERT INTO plain_refunds (key, state) VALUES ('{key}', 'sending')"
                    ))
                    .await;
                plain
                    .commit(&format!(
                        "UPDATE plain_refunds SET state = 'succeeded' WHERE key = '{key}'"
                    ))
                    .await;
            })
        })
    }
}

struct Side {
    /// `CLIENT`, `LEDGER_SQLITE`, ...
    id: usize,
    op: Op,
}

/// What one block measured.
#[derive(Clone, Copy)]
struct Block {
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// CPU time per refund of this process and of the PostgreSQL server, in µs: unlike
    /// refunds/s, it does not count the time the machine gave to other processes.
    cpu_us: f64,
}

/// CPU time (user and system) so far of this process and of every process named `postgres`,
/// in clock ticks (`USER_HZ`, 100 a second on Linux), from `/proc`; 0 elsewhere.
fn cpu_ticks() -> u64 {
    let ticks = |stat: &str| -> u64 {
        // `pid (comm) state ppid ...`: utime and stime are the 12th and 13th fields after comm.
        let fields = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        fields.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum()
    };
    let own = std::fs::read_to_string("/proc/self/stat").map_or(0, |s| ticks(&s));
    let server: u64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| ticks(&stat))
        .sum();
    own + server
}

/// Runs refunds `first..first + total` with `in_flight` at once: that many tasks, each taking the
/// next number until none is left.
async fn block(op: &Op, first: u64, total: usize, in_flight: usize) -> Block {
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_start = cpu_ticks();
    let start = Instant::now();
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break latencies;
                    }
                    let started = Instant::now();
                    op(first + i as u64).await;
                    latencies.push(started.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let wall = start.elapsed();
    let cpu = cpu_ticks().saturating_sub(cpu_start);
    latencies.sort_unstable();
    Block {
        per_second: total as f64 / wall.as_secs_f64(),
        p50: latencies[total / 2],
        p99: latencies[(total * 99) / 100],
        cpu_us: cpu as f64 * 1e4 / total as f64,
    }
}

struct Args {
    rounds: usize,
    count: usize,
    in_flight: Vec<usize>,
    /// The sides to run (`--only client,ledger-sqlite,...`); all by default.
    only: Option<Vec<String>>,
    /// The ledger's PostgreSQL pool, and the plain loop's (`--pg-connections`; the ledger's
    /// default, 16).
    pg_connections: u32,
}

impl Args {
    fn parse() -> Args {
        let args: Vec<String> = std::env::args().collect();
        let value = |name: &str| {
            args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(|v| {
                v.parse::<usize>().unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
            })
        };
        let quick =
            args.iter().any(|a| a == "--quick") || std::env::var_os("BENCH_QUICK").is_some();
        let list = |name: &str| {
            let i = args.iter().position(|a| a == name)?;
            Some(args[i + 1].split(',').map(|v| v.trim().to_owned()).collect::<Vec<_>>())
        };
        Args {
            rounds: value("--rounds").unwrap_or(if quick { 1 } else { 5 }),
            count: value("--count").unwrap_or(if quick { 64 } else { 4_000 }),
            in_flight: list("--in-flight")
                .map_or(vec![1, 64], |l| l.iter().map(|n| n.parse().unwrap()).collect()),
            only: list("--only"),
            pg_connections: value("--pg-connections").map_or(16, |n| u32::try_from(n).unwrap()),
        }
    }

    fn wants(&self, side: usize) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|o| o == SHORT[side]))
    }

    /// Refunds per block: `--count` at 16 in flight or more, an eighth of it below (one at a
    /// time, a refund takes several times as long; the median settles within a few hundred).
    fn block_size(&self, in_flight: usize) -> usize {
        if in_flight >= 16 { self.count } else { (self.count / 8).max(16) }
    }
}

/// A database on the server of `REFUND_BENCH_POSTGRES_URL` or `REFUND_TEST_POSTGRES_URL`.
async fn postgres() -> Option<TestDb> {
    let admin = ["REFUND_BENCH_POSTGRES_URL", "REFUND_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|u| !u.is_empty()));
    match admin {
        Some(admin) if cfg!(feature = "postgres") => Some(TestDb::postgres_on(admin).await),
        Some(_) => {
            eprintln!("skipped: the PostgreSQL sides (build with `--features postgres`)");
            None
        }
        None => {
            eprintln!(
                "skipped: the PostgreSQL sides (set REFUND_BENCH_POSTGRES_URL, e.g. \
                 postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median and range, as the report prints them.
fn spread(values: Vec<f64>, digits: usize) -> String {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mid = median(values);
    if low == high {
        format!("{mid:.digits$}")
    } else {
        format!("{mid:.digits$} ({low:.digits$}–{high:.digits$})")
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let seeded = (0..CHARGES).fold(Sandbox::builder(), |builder, n| {
        builder.aoc_charge(charge(n).as_str(), i64::try_from(CHARGE_MINOR).unwrap())
    });
    let env = Env::with_timeout(seeded, DEFAULT_TIMEOUT).await;
    let sqlite = TestDb::sqlite();
    let postgres = if args.wants(LEDGER_POSTGRES) || args.wants(PLAIN_POSTGRES) {
        postgres().await
    } else {
        None
    };
    let mut ledgers = Vec::new();
    let mut sides = Vec::new();
    for id in (CLIENT..=PLAIN_POSTGRES).filter(|&id| args.wants(id)) {
        let pg =
            || postgres.as_ref().map(|db| (db, db.builder().max_connections(args.pg_connections)));
        let op = match id {
            CLIENT => client_op(&env),
            LEDGER_SQLITE => {
                ledgers.push(sqlite.open().await);
                ledger_op(&env, ledgers[ledgers.len() - 1].clone())
            }
            // In the ledger's folder, which the ledger created (run with `--only plain-sqlite`
            // alone, it is made here).
            PLAIN_SQLITE => {
                let path = Path::new(&sqlite.url).with_file_name("plain.sqlite");
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                Plain::sqlite(&path).await.op()
            }
            LEDGER_POSTGRES => match pg() {
                Some((_, builder)) => {
                    ledgers.push(builder.open().await.unwrap());
                    ledger_op(&env, ledgers[ledgers.len() - 1].clone())
                }
                None => continue,
            },
            _ => match pg() {
                Some((db, _)) => Plain::postgres(&db.url, args.pg_connections).await.op(),
                None => continue,
            },
        };
        sides.push(Side { id, op });
    }

    let load_before = load_average();
    let mut n = 0;
    let mut run = async |side: &Side, total: usize, in_flight: usize| {
        env.sandbox.reset();
        let measured = block(&side.op, n, total, in_flight).await;
        n += total as u64;
        if matches!(side.id, CLIENT | LEDGER_SQLITE | LEDGER_POSTGRES) {
            // Every refund executed, and each exactly once.
            assert_eq!(env.sandbox.executed_refunds().len(), total, "{}", NAMES[side.id]);
        }
        measured
    };
    let top = args.in_flight.iter().copied().max().unwrap_or(1);
    for side in &sides {
        run(side, args.block_size(top).min(512), top).await;
    }
    // results[side][level]: one block per round.
    let mut results = vec![vec![Vec::new(); args.in_flight.len()]; sides.len()];
    for round in 0..args.rounds {
        for (level, &in_flight) in args.in_flight.iter().enumerate() {
            for offset in 0..sides.len() {
                let s = (offset + round) % sides.len();
                let measured = run(&sides[s], args.block_size(in_flight), in_flight).await;
                results[s][level].push(measured);
            }
        }
    }

    println!(
        "\n## The refund ledger: AOC refunds through the in-process sandbox\n\n{} rounds; blocks \
         of {} refunds at 16 or more in flight, {} below; median (range) over rounds; PostgreSQL \
         pools of {}. {} cores; load average {load_before} before, {} after.\n",
        args.rounds,
        args.count,
        args.block_size(1),
        args.pg_connections,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
    );
    println!("| side | in flight | refunds/s | p50 ms | p99 ms | CPU µs/refund |");
    println!("|---|---|---|---|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (s, side) in sides.iter().enumerate() {
        for (level, &in_flight) in args.in_flight.iter().enumerate() {
            let blocks = &results[s][level];
            println!(
                "| {} | {in_flight} | {} | {} | {} | {} |",
                NAMES[side.id],
                spread(blocks.iter().map(|b| b.per_second).collect(), 0),
                spread(blocks.iter().map(|b| ms(b.p50)).collect(), 2),
                spread(blocks.iter().map(|b| ms(b.p99)).collect(), 2),
                spread(blocks.iter().map(|b| b.cpu_us).collect(), 0),
            );
        }
    }

    // Within each round: throughput a / b, and the wall time a refund costs more (1/a − 1/b).
    let at = |id: usize| sides.iter().position(|s| s.id == id);
    println!(
        "\n| a / b, within each round |{} µs more per refund ({}) |",
        args.in_flight.iter().map(|f| format!(" throughput, {f} in flight |")).collect::<String>(),
        args.in_flight.iter().map(|f| format!("{f} in flight")).collect::<Vec<_>>().join(", "),
    );
    println!("|---|{}---|", "---|".repeat(args.in_flight.len()));
    let pairs = [
        (LEDGER_SQLITE, PLAIN_SQLITE),
        (LEDGER_SQLITE, CLIENT),
        (LEDGER_POSTGRES, CLIENT),
        (LEDGER_POSTGRES, PLAIN_POSTGRES),
    ];
    for (a, b) in pairs.into_iter().filter_map(|(a, b)| Some((at(a)?, at(b)?))) {
        let per_level = |f: fn(&Block, &Block) -> f64, digits| {
            (0..args.in_flight.len())
                .map(|level| {
                    let pairs = results[a][level].iter().zip(&results[b][level]);
                    spread(pairs.map(|(x, y)| f(x, y)).collect(), digits)
                })
                .collect::<Vec<_>>()
        };
        println!(
            "| {} / {} | {} | {} |",
            NAMES[sides[a].id],
            NAMES[sides[b].id],
            per_level(|x, y| x.per_second / y.per_second, 3).join(" | "),
            per_level(|x, y| (1.0 / x.per_second - 1.0 / y.per_second) * 1e6, 0).join(", "),
        );
    }

    let top_level = args.in_flight.iter().position(|&f| f == top).unwrap_or(0);
    for s in [LEDGER_SQLITE, LEDGER_POSTGRES].into_iter().filter_map(at) {
        let rate = median(results[s][top_level].iter().map(|b| b.per_second).collect());
        println!(
            "\ngoal, at least 2,000 refunds/s at {top} in flight: {} {} (median {rate:.0}/s)",
            NAMES[sides[s].id],
            if rate >= 2_000.0 { "met" } else { "NOT met" },
        );
    }

    for ledger in ledgers {
        ledger.close().await;
    }
    env.sandbox.shutdown().await;
}
