//! `refund batch FILE.csv`: every row through the ledger, concurrently, exactly once, resumable.
//!
//! The file is streamed: rows are read a chunk at a time, each chunk's intents are written to the
//! ledger (one statement each; on SQLite committed together by its group commit), and then its
//! rows are sent, at most `--concurrency` at once.
//! Results print in row order. A rerun of the same file (or the same rows in another order)
//! finds each row's intent by its key: finished rows are reported from the ledger, open ones are
//! settled by status reads first (the ledger does it, and a reconcile runs before any row), the
//! rest are sent.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use refund::ledger::{IntentRecord, IntentState, Ledger, LedgerError, RefundIntent};
use refund::{Currency, Money, Provider, RefundReference, TransactionId};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::cli::{BatchArgs, Global};
use crate::env_clients::EnvClients;
use crate::error::CliError;
use crate::ledger;
use crate::output::{Success, error_json};

/// Rows written to the ledger per transaction.
const CHUNK: usize = 256;

/// The header's columns: three required, three optional.
#[derive(Clone, Copy)]
struct Columns {
    provider: usize,
    original: usize,
    amount: usize,
    reference: Option<usize>,
    key: Option<usize>,
    charge: Option<usize>,
}

/// A row as the file gives it, for reports (before it is known to be valid).
#[derive(Debug, Clone, Default)]
struct RowText {
    number: u64,
    provider: String,
    original: String,
    amount: String,
}

impl RowText {
    /// `aoc AOC-CHARGE-1001 1.00`: the refund the row asks for, as the reports name it.
    fn refund(&self) -> String {
        format!("{} {} {}", self.provider, self.original, self.amount)
    }
}

/// A valid row: its intent and the provider it goes to.
struct Row {
    text: RowText,
    provider: &'static str,
    intent: RefundIntent,
    /// The earlier row of this file with the same `idempotency_key` column, if any.
    repeat_of: Option<u64>,
}

/// What became of a row.
pub(crate) struct RowResult {
    text: RowText,
    key: Option<String>,
    result: Result<IntentRecord, CliError>,
    /// The earlier row with the same key: this row is that refund, read from the ledger once
    /// that row is done.
    repeat_of: Option<u64>,
}

/// A row to send, or one already settled (bad, refused, finished in the ledger, or a repeat of
/// an earlier row's key).
enum Job {
    Send(Box<Row>),
    Done(Box<RowResult>),
}

/// Runs the batch; the exit code is the worst row's, or 130 when interrupted.
pub(crate) async fn run(args: BatchArgs, global: &Global) -> Result<u8, CliError> {
    let input = Input::open(&args.file)?;
    let clients = EnvClients::from_env(global);
    if global.dry_run {
        return dry_run(input, &clients, global);
    }
    let ledger = ledger::open(global).await?;
    eprintln!("ledger: {}", ledger.location());
    let mut report = match &args.report {
        Some(path) => Some(report_writer(path)?),
        None => None,
    };
    let options = Options {
        concurrency: usize::from(args.concurrency),
        limiters: args
            .rate
            .iter()
            .map(|(provider, n)| (provider.clone(), RateLimiter::direct(Quota::per_second(*n))))
            .collect(),
    };
    let stop = interrupt_on_ctrl_c();
    let total = input.total;
    let mut progress = Progress::new(total);
    let summary = drive(input, &ledger, &clients, &options, &stop, |row, summary| {
        progress.row(row, summary);
        print_row(row, global);
        report.as_mut().map_or(Ok(()), |report| write_report(report, row))
    })
    .await?;
    progress.finish(&summary);
    if let Some(mut report) = report {
        report.flush().map_err(|e| CliError::Internal(format!("cannot write the report: {e}")))?;
    }
    summary.print(total, &args.file, global);
    Ok(if stop.load(Ordering::SeqCst) { 130 } else { summary.worst })
}

/// An open batch file: its rows (not read yet), its columns, how many rows it has, and its name
/// (the ledger's batch id).
pub(crate) struct Input {
    reader: csv::Reader<File>,
    columns: Columns,
    pub(crate) total: u64,
    batch_id: String,
}

impl Input {
    /// Opens the file and reads its header: a file that cannot be read, is empty, or lacks a
    /// required column stops here, before anything is written or sent.
    pub(crate) fn open(path: &Path) -> Result<Input, CliError> {
        let (reader, columns) = open_csv(path)?;
        Ok(Input {
            reader,
            columns,
            total: count_rows(path)?,
            batch_id: path
                .file_name()
                .map_or_else(|| "batch".to_owned(), |n| n.to_string_lossy().into_owned()),
        })
    }
}

/// How rows are sent.
pub(crate) struct Options {
    pub(crate) concurrency: usize,
    pub(crate) limiters: HashMap<String, DefaultDirectRateLimiter>,
}

/// What every row needs.
#[derive(Clone, Copy)]
struct Batch<'a> {
    ledger: &'a Ledger,
    clients: &'a EnvClients,
    /// Set by Ctrl-C (or a failed ledger): no new rows start.
    stop: &'a Arc<AtomicBool>,
}

/// Settles what an earlier run left open, then streams the rows through the ledger: `on_row`
/// sees each result, in row order, as it comes. Returns the counts when the file ends or `stop`
/// is set (rows in flight finish first).
pub(crate) async fn drive(
    input: Input,
    ledger: &Ledger,
    clients: &EnvClients,
    options: &Options,
    stop: &Arc<AtomicBool>,
    mut on_row: impl FnMut(&RowResult, &Summary) -> Result<(), CliError>,
) -> Result<Summary, CliError> {
    // Resume: settle what an earlier run left open before sending anything.
    let mut summary = Summary::default();
    let providers = clients.available(None)?;
    if !providers.is_empty() {
        summary.settled_first = ledger.reconcile(&providers).await?.changed.len();
    }
    let batch = Batch { ledger, clients, stop };
    let rows = Rows::new(input.reader, input.columns, &input.batch_id);
    let chunks = Chunks { rows, stop: stop.clone() };
    let limiters = &options.limiters;
    let results = futures_util::stream::iter(chunks)
        .then(|chunk| reserve(batch, chunk))
        .flat_map(futures_util::stream::iter)
        // A chunk holds up to CHUNK rows: after Ctrl-C none of them starts. (`buffered` takes
        // the next row only when one in flight is done, so this is checked as each would start.)
        .take_while(|_| std::future::ready(!batch.stop.load(Ordering::SeqCst)))
        .map(|job| run_job(batch, limiters, job))
        .buffered(options.concurrency)
        .filter_map(std::future::ready);
    futures_util::pin_mut!(results);
    while let Some(mut row) = results.next().await {
        // Results come in row order, so the earlier row with this key is done by now.
        if row.repeat_of.is_some() {
            row = row.reread(batch.ledger).await;
        }
        summary.add(&row);
        on_row(&row, &summary)?;
    }
    Ok(summary)
}

/// Writes a chunk's valid rows to the ledger (`Ledger::reserve_all`) and decides, for each row,
/// whether it still has to be sent.
async fn reserve(batch: Batch<'_>, chunk: Vec<Result<Row, Box<RowResult>>>) -> Vec<Job> {
    let mut jobs = Vec::with_capacity(chunk.len());
    let mut pending: Vec<(Row, &dyn Provider)> = Vec::new();
    for parsed in chunk {
        match parsed {
            Ok(row) => match batch.clients.direct(row.provider) {
                Ok(client) => pending.push((row, client)),
                Err(error) => jobs.push(Job::Done(Box::new(RowResult::failed(
                    row.text,
                    Some(row.intent.idempotency_key().to_owned()),
                    error,
                )))),
            },
            Err(bad) => jobs.push(Job::Done(bad)),
        }
    }
    let reserved =
        batch.ledger.reserve_all(pending.iter().map(|(row, client)| (*client, &row.intent))).await;
    let reserved: Vec<refund::ledger::Result<IntentRecord>> = match reserved {
        Ok(results) => results,
        // The ledger itself failed: every row of the chunk says so, nothing was sent, and no
        // further row is read.
        Err(e) => {
            batch.stop.store(true, Ordering::SeqCst);
            let message = e.to_string();
            pending
                .iter()
                .map(|_| Err(LedgerError::Unavailable { message: message.clone(), source: None }))
                .collect()
        }
    };
    for ((row, _), result) in pending.into_iter().zip(reserved) {
        let key = Some(row.intent.idempotency_key().to_owned());
        jobs.push(match result {
            Ok(record) if is_settled(&record) => {
                Job::Done(Box::new(RowResult::recorded(row.text, record).repeating(row.repeat_of)))
            }
            // Sending it too would find the earlier row's request in flight (in_progress, exit
            // 6) or done, by timing: it is that refund, whatever the timing.
            Ok(record) if row.repeat_of.is_some() => {
                Job::Done(Box::new(RowResult::recorded(row.text, record).repeating(row.repeat_of)))
            }
            Ok(_) => Job::Send(Box::new(row)),
            Err(error) => Job::Done(Box::new(RowResult::failed(row.text, key, error.into()))),
        });
    }
    jobs.sort_by_key(|job| match job {
        Job::Send(row) => row.text.number,
        Job::Done(result) => result.text.number,
    });
    jobs
}

/// Whether a reserved row's intent needs no request: finished, pending, or waiting for a person.
fn is_settled(record: &IntentRecord) -> bool {
    matches!(
        record.state,
        IntentState::Succeeded
            | IntentState::Declined
            | IntentState::Pending
            | IntentState::NeedsReview
    )
}

async fn run_job(
    batch: Batch<'_>,
    limiters: &HashMap<String, DefaultDirectRateLimiter>,
    job: Job,
) -> Option<RowResult> {
    let row = match job {
        Job::Done(result) => return Some(*result),
        Job::Send(row) => *row,
    };
    if let Some(limiter) = limiters.get(row.provider) {
        limiter.until_ready().await;
        // Ctrl-C while it waited for its turn: it has not started (it stays reserved).
        if batch.stop.load(Ordering::SeqCst) {
            return None;
        }
    }
    let key = Some(row.intent.idempotency_key().to_owned());
    let result = match batch.clients.direct(row.provider) {
        Ok(client) => batch.ledger.refund(client, &row.intent).await.map_err(CliError::from),
        Err(error) => Err(error),
    };
    Some(RowResult { text: row.text, key, result, repeat_of: None })
}

impl RowResult {
    fn failed(text: RowText, key: Option<String>, error: CliError) -> Self {
        RowResult { text, key, result: Err(error), repeat_of: None }
    }

    fn repeating(mut self, repeat_of: Option<u64>) -> Self {
        self.repeat_of = repeat_of;
        self
    }

    /// A repeat of an earlier row's key: that refund as the ledger has it now.
    async fn reread(self, ledger: &Ledger) -> RowResult {
        let Some(key) = self.key.clone() else { return self };
        let repeat_of = self.repeat_of;
        match ledger.by_key(&key).await {
            Ok(Some(mut record)) => {
                record.replayed = true;
                RowResult::recorded(self.text, record).repeating(repeat_of)
            }
            Ok(None) => self,
            Err(e) => RowResult::failed(self.text, Some(key), e.into()).repeating(repeat_of),
        }
    }

    /// A row answered from the ledger: succeeded or pending is a success, the rest an error that
    /// carries the record.
    fn recorded(text: RowText, record: IntentRecord) -> Self {
        let key = Some(record.idempotency_key.clone());
        let result = match record.state {
            IntentState::Succeeded | IntentState::Pending => Ok(record),
            _ => Err(LedgerError::Recorded { record: Box::new(record) }.into()),
        };
        RowResult { text, key, result, repeat_of: None }
    }

    /// This row's intent. A row refused for a key another refund holds has none: the record
    /// in its conflict error is that other refund's.
    fn record(&self) -> Option<&IntentRecord> {
        match &self.result {
            Ok(record) => Some(record),
            Err(CliError::Ledger(LedgerError::Conflict { .. })) => None,
            Err(error) => error.record(),
        }
    }

    /// The row's state: the ledger's, or `not_sent` for a row that never became an intent.
    fn state(&self) -> &'static str {
        self.record().map_or("not_sent", |r| r.state.as_str())
    }

    fn exit_code(&self) -> u8 {
        match &self.result {
            Ok(_) => 0,
            Err(error) => error.exit_code(),
        }
    }

    /// One JSON object: the row, its intent, and its error.
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("row".into(), self.text.number.into());
        map.insert("idempotency_key".into(), self.key.clone().into());
        map.insert("provider".into(), self.text.provider.clone().into());
        map.insert("original_transaction_id".into(), self.text.original.clone().into());
        map.insert("amount".into(), self.text.amount.clone().into());
        if let Some(record) = self.record() {
            map.extend(ledger::record_json(record));
            map.insert("replayed".into(), record.replayed.into());
        }
        map.insert("status".into(), self.state().into());
        if let Some(row) = self.repeat_of {
            map.insert("same_key_as_row".into(), row.into());
        }
        if let Err(error) = &self.result {
            map.insert("error".into(), error_json(error)["error"].clone());
        }
        map.insert("exit_code".into(), self.exit_code().into());
        Value::Object(map)
    }
}

fn print_row(row: &RowResult, global: &Global) {
    let mut out = std::io::stdout().lock();
    let t = &row.text;
    let line = if global.json {
        row.to_json().to_string()
    } else {
        match &row.result {
            Ok(record) => {
                format!(
                    "row {}: {}: {}{}{}",
                    t.number,
                    t.refund(),
                    record.state,
                    record
                        .refund_id
                        .as_deref()
                        .map(|id| format!(", refund id {id}"))
                        .unwrap_or_default(),
                    if record.replayed { " (from the ledger)" } else { "" }
                ) + &row
                    .repeat_of
                    .map(|n| format!(" (the key of row {n}: the same refund)"))
                    .unwrap_or_default()
            }
            Err(error) => {
                format!("row {}: {}: {}: {error}", t.number, t.refund(), error.kind_and_exit())
            }
        }
    };
    // A closed stdout (`refund batch f.csv | head`) stops nothing: the ledger records every row.
    let _ = writeln!(out, "{line}");
}

/// The header of `--report`.
const REPORT_COLUMNS: [&str; 10] = [
    "row",
    "idempotency_key",
    "provider",
    "original_transaction_id",
    "amount",
    "currency",
    "state",
    "refund_id",
    "provider_code",
    "message",
];

fn report_writer(path: &Path) -> Result<csv::Writer<File>, CliError> {
    let file = File::create(path).map_err(|e| {
        CliError::invalid("report", format!("cannot create {}: {e}", path.display()))
    })?;
    let mut writer = csv::Writer::from_writer(file);
    writer
        .write_record(REPORT_COLUMNS)
        .map_err(|e| CliError::Internal(format!("cannot write the report: {e}")))?;
    Ok(writer)
}

fn write_report(report: &mut csv::Writer<File>, row: &RowResult) -> Result<(), CliError> {
    let record = row.record();
    let message = match &row.result {
        Ok(record) => record.message.clone().unwrap_or_default(),
        Err(error) => error.to_string(),
    };
    report
        .write_record([
            row.text.number.to_string(),
            row.key.clone().unwrap_or_default(),
            row.text.provider.clone(),
            row.text.original.clone(),
            record
                .and_then(|r| r.amount)
                .map_or_else(|| row.text.amount.clone(), |m| m.to_fixed_string()),
            record
                .and_then(|r| r.amount)
                .map(|m| m.currency().code().to_owned())
                .unwrap_or_default(),
            row.state().to_owned(),
            record.and_then(|r| r.refund_id.clone()).unwrap_or_default(),
            record.and_then(|r| r.provider_code.clone()).unwrap_or_default(),
            message,
        ])
        .map_err(|e| CliError::Internal(format!("cannot write the report: {e}")))
}

/// Counts by outcome and the money refunded, as the rows come in.
#[derive(Default)]
pub(crate) struct Summary {
    pub(crate) rows: u64,
    pub(crate) by_state: BTreeMap<&'static str, u64>,
    pub(crate) from_ledger: u64,
    /// Open intents of an earlier run settled by status reads before any row was sent.
    pub(crate) settled_first: usize,
    refunded: BTreeMap<Currency, u64>,
    worst: u8,
}

impl Summary {
    fn add(&mut self, row: &RowResult) {
        self.rows += 1;
        *self.by_state.entry(row.state()).or_default() += 1;
        self.worst = self.worst.max(row.exit_code());
        if let Some(record) = row.record() {
            if record.replayed {
                self.from_ledger += 1;
            }
            // A repeat of an earlier row's key is that row's refund: counted once.
            if let (IntentState::Succeeded, Some(amount), None) =
                (record.state, record.amount, row.repeat_of)
            {
                *self.refunded.entry(amount.currency()).or_default() += amount.minor_units();
            }
        }
    }

    pub(crate) fn counts(&self) -> String {
        if self.by_state.is_empty() {
            return "no rows".to_owned();
        }
        self.by_state.iter().map(|(state, n)| format!("{n} {state}")).collect::<Vec<_>>().join(", ")
    }

    fn print(&self, total: u64, file: &Path, global: &Global) {
        if self.settled_first > 0 {
            eprintln!(
                "settled {} open refund(s) of an earlier run by status reads before sending",
                self.settled_first
            );
        }
        let money = self
            .refunded
            .iter()
            .map(|(currency, minor)| Money::from_minor_units(*minor, *currency).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!(
            "{} of {total} rows: {} ({} answered from the ledger); refunded {}",
            self.rows,
            self.counts(),
            self.from_ledger,
            if money.is_empty() { "nothing".to_owned() } else { money }
        );
        if self.rows < total {
            let ledger =
                global.ledger.as_deref().map(|l| format!(" --ledger {l}")).unwrap_or_default();
            eprintln!(
                "interrupted: {} row(s) not started. Resume with: refund batch {}{ledger}\n  (finished rows are not sent again; open ones are settled by status reads first)",
                total - self.rows,
                file.display()
            );
        }
    }
}

/// A bar on a terminal; otherwise a plain line at most once a second, and one per row that did
/// not succeed.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, total, started: Instant::now(), last_line: Instant::now() }
    }

    fn row(&mut self, row: &RowResult, summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(summary.counts());
            return;
        }
        let t = &row.text;
        if let Err(error) = &row.result {
            eprintln!(
                "[{}/{}] row {} {}: {}",
                summary.rows,
                self.total,
                t.number,
                t.refund(),
                error.kind_and_exit()
            );
        } else if self.last_line.elapsed() >= Duration::from_secs(1) {
            self.last_line = Instant::now();
            let rate = summary.rows as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            eprintln!("[{}/{}] {rate:.0} rows/s: {}", summary.rows, self.total, summary.counts());
        }
    }

    fn finish(&self, summary: &Summary) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(summary.counts()),
            None => eprintln!(
                "[{}/{}] done in {:.1} s",
                summary.rows,
                self.total,
                self.started.elapsed().as_secs_f64()
            ),
        }
    }
}

/// The first Ctrl-C stops starting rows (those in flight finish and are recorded); the second
/// exits at once: the ledger already holds every intent, so nothing is lost.
fn interrupt_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
            eprintln!(
                "\nCtrl-C: no new rows start; rows in flight finish and are recorded. Ctrl-C again to exit now."
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "exiting: every row's intent is in the ledger; rerun the batch to resume"
                );
                std::process::exit(130);
            }
        }
    });
    stop
}

/// The file's header, read.
fn open_csv(path: &Path) -> Result<(csv::Reader<File>, Columns), CliError> {
    let bad = |reason: String| CliError::invalid("file", reason);
    let file = File::open(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
    let headers = reader
        .byte_headers()
        .map_err(|e| bad(format!("{} is not a CSV file: {e}", path.display())))?
        .clone();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err(bad(format!(
            "{} is empty: the first line must be a header row (provider,original_transaction_id,amount)",
            path.display()
        )));
    }
    let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes()));
    let require = |name: &str| {
        find(name).ok_or_else(|| {
            bad(format!(
                "{} has no column {name:?} in its header row (needed: provider, original_transaction_id, amount; optional: reference, idempotency_key, charge_amount)",
                path.display()
            ))
        })
    };
    let columns = Columns {
        provider: require("provider")?,
        original: require("original_transaction_id")?,
        amount: require("amount")?,
        reference: find("reference"),
        key: find("idempotency_key"),
        charge: find("charge_amount"),
    };
    Ok((reader, columns))
}

/// How many rows the file has (a quick pass, for the progress bar and the summary).
fn count_rows(path: &Path) -> Result<u64, CliError> {
    let file = File::open(path)
        .map_err(|e| CliError::invalid("file", format!("cannot read {}: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut count = 0;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(count),
            // A failing disk fails every read after it: stop, or this would count forever.
            Err(e) if e.is_io_error() => {
                return Err(CliError::invalid(
                    "file",
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
            // A malformed row is still a row: the pass that parses it reports it by number.
            Ok(true) | Err(_) => count += 1,
        }
    }
}

/// The file's rows, parsed into intents, each with its key.
struct Rows<'a> {
    reader: csv::Reader<File>,
    columns: Columns,
    batch_id: &'a str,
    number: u64,
    /// How often each row content was seen so far (keyed by a hash of it): the occurrence is part
    /// of a derived key, so two identical rows are two refunds, on every run, in any order.
    seen: HashMap<u128, u32>,
    /// The first row of each `idempotency_key` given in the file (keyed by a hash of it).
    keys: HashMap<u128, u64>,
}

impl<'a> Rows<'a> {
    fn new(reader: csv::Reader<File>, columns: Columns, batch_id: &'a str) -> Self {
        Rows { reader, columns, batch_id, number: 0, seen: HashMap::new(), keys: HashMap::new() }
    }

    fn parse(&mut self, record: &csv::ByteRecord) -> Result<Row, Box<RowResult>> {
        let field = |i: Option<usize>| -> Result<String, ()> {
            match i.and_then(|i| record.get(i)) {
                None => Ok(String::new()),
                Some(bytes) => std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| ()),
            }
        };
        let mut text = RowText { number: self.number, ..RowText::default() };
        let fields = (
            field(Some(self.columns.provider)),
            field(Some(self.columns.original)),
            field(Some(self.columns.amount)),
            field(self.columns.reference),
            field(self.columns.key),
            field(self.columns.charge),
        );
        let (Ok(provider), Ok(original), Ok(amount), Ok(reference), Ok(key), Ok(charge)) = fields
        else {
            // Shown as far as it can be, so the person finds the row.
            let lossy = |i: usize| String::from_utf8_lossy(record.get(i).unwrap_or_default());
            text.provider = lossy(self.columns.provider).into_owned();
            text.original = lossy(self.columns.original).into_owned();
            text.amount = lossy(self.columns.amount).into_owned();
            return Err(Box::new(RowResult::failed(
                text,
                None,
                CliError::invalid("row", format!("row {} is not valid UTF-8", self.number)),
            )));
        };
        text.provider = provider.clone();
        text.original = original.clone();
        text.amount = amount.clone();
        let fail = |text: RowText, error: CliError| Box::new(RowResult::failed(text, None, error));
        let (provider, currency) = match provider.to_ascii_lowercase().as_str() {
            "aoc" => ("aoc", Currency::Myr),
            "digipay" => ("digipay", Currency::Inr),
            "bos" | "otp" | "otp-refund" | "eko" => {
                return Err(fail(
                    text,
                    CliError::invalid(
                        "provider",
                        format!(
                            "{provider:?} refunds need the customer's OTP, so they cannot be batched: use `refund {}` for each",
                            if provider.eq_ignore_ascii_case("bos") {
                                "bos send-otp/claim"
                            } else {
                                "otp send-otp/refund"
                            }
                        ),
                    ),
                ));
            }
            other => {
                return Err(fail(
                    text,
                    CliError::invalid(
                        "provider",
                        format!(
                            "{other:?} is not a provider that can be batched: use aoc or digipay"
                        ),
                    ),
                ));
            }
        };
        let original_id = match TransactionId::new(&original) {
            Ok(id) => id,
            Err(e) => return Err(fail(text, CliError::sdk(provider, e))),
        };
        let amount = match Money::parse(&amount, currency) {
            Ok(amount) => amount,
            Err(e) => return Err(fail(text, CliError::sdk(provider, e.into()))),
        };
        let mut repeat_of = None;
        let key = if key.is_empty() {
            let content =
                format!("{provider}:{original}:{}{}", amount.to_fixed_string(), currency.code());
            let occurrence = self.seen.entry(digest(&content)).or_default();
            *occurrence += 1;
            format!("{content}:{occurrence}")
        } else {
            let first = *self.keys.entry(digest(&key)).or_insert(self.number);
            repeat_of = (first != self.number).then_some(first);
            key
        };
        let mut intent =
            RefundIntent::new(key, original_id).amount(amount).batch(self.batch_id, self.number);
        if !charge.is_empty() {
            match Money::parse(&charge, currency) {
                Ok(charge) => intent = intent.charge_amount(charge),
                Err(e) => {
                    return Err(fail(text, CliError::invalid("charge_amount", e.to_string())));
                }
            }
        }
        if !reference.is_empty() {
            if provider == "aoc" {
                match RefundReference::new(&reference) {
                    Ok(reference) => intent = intent.reference(reference),
                    Err(e) => return Err(fail(text, CliError::sdk(provider, e))),
                }
            } else {
                intent = intent.note(reference);
            }
        }
        Ok(Row { text, provider, intent, repeat_of })
    }
}

/// 128 bits of the SHA-256 of `text`: what the rows remember of a key or a content.
fn digest(text: &str) -> u128 {
    let digest: [u8; 16] = Sha256::digest(text.as_bytes())[..16].try_into().unwrap_or([0; 16]);
    u128::from_be_bytes(digest)
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, Box<RowResult>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = csv::ByteRecord::new();
        let read = self.reader.read_byte_record(&mut record);
        self.number += 1;
        match read {
            Ok(true) => Some(self.parse(&record)),
            Ok(false) => None,
            // A malformed row (a field count unlike the header's, say) is reported; the rest go on.
            Err(e) => {
                let text = RowText { number: self.number, ..RowText::default() };
                Some(Err(Box::new(RowResult::failed(
                    text,
                    None,
                    CliError::invalid("row", format!("row {}: {e}", self.number)),
                ))))
            }
        }
    }
}

/// The rows in chunks of [`CHUNK`], until the file ends or Ctrl-C.
struct Chunks<'a> {
    rows: Rows<'a>,
    stop: Arc<AtomicBool>,
}

impl Iterator for Chunks<'_> {
    type Item = Vec<Result<Row, Box<RowResult>>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let chunk: Vec<_> = self.rows.by_ref().take(CHUNK).collect();
        (!chunk.is_empty()).then_some(chunk)
    }
}

/// `--dry-run`: each row's request as it would be sent, secrets masked; nothing is written or sent.
fn dry_run(input: Input, clients: &EnvClients, global: &Global) -> Result<u8, CliError> {
    let mut worst = 0;
    for parsed in Rows::new(input.reader, input.columns, &input.batch_id) {
        let shown = parsed.map_err(|bad| bad.result.err()).and_then(|row| {
            let request = row.intent.request();
            let prepared = match row.provider {
                "aoc" => clients
                    .aoc
                    .as_ref()
                    .map_err(|e| CliError::config(e.clone()))?
                    .prepare_refund(&request),
                _ => {
                    let client =
                        clients.digipay.as_ref().map_err(|e| CliError::config(e.clone()))?;
                    client
                        .wallet_request_from(&request)
                        .and_then(|wallet| client.prepare_refund_money(&wallet))
                }
            };
            prepared.map_err(|e| Some(CliError::sdk(row.provider, e)))
        });
        match shown {
            Ok(prepared) => {
                crate::output::Printer { json: global.json }.success(&Success::dry_run(&prepared))
            }
            Err(Some(error)) => {
                worst = worst.max(error.exit_code());
                crate::output::Printer { json: global.json }.error(&error);
            }
            Err(None) => {}
        }
    }
    Ok(worst)
}
