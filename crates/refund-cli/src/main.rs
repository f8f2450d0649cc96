#![doc = include_str!("../README.md")]

mod aoc;
mod batch;
mod bos;
mod cli;
mod demo;
mod digipay;
mod env_clients;
mod error;
mod ledger;
mod otp;
mod output;
mod qr;
mod reconcile;
mod sandbox;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::{Printer, Success};

fn main() -> ExitCode {
    let wants_json = std::env::args_os().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err, wants_json),
    };
    init_logging(cli.global.verbose, matches!(cli.command, Command::Sandbox(_)));
    let printer = Printer { json: cli.global.json };
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                printer.error(&CliError::Internal(format!("cannot start the async runtime: {e}")));
                return ExitCode::from(1);
            }
        };
    let code = runtime.block_on(run(cli, printer));
    // Do not wait for idle keep-alive connections or a stuck sandbox task.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    ExitCode::from(code)
}

/// Runs the command and prints its result; returns the exit code.
async fn run(cli: Cli, printer: Printer) -> u8 {
    let global = cli.global;
    let result: Result<Outcome, CliError> = match cli.command {
        Command::Aoc(args) => interruptible("aoc", aoc::run(args, &global)).await,
        Command::Otp(args) => interruptible("otp-refund", otp::run(args, &global)).await,
        Command::Bos(args) => interruptible("bos", bos::run(args, &global)).await,
        Command::Digipay(args) => interruptible("digipay", digipay::run(args, &global)).await,
        Command::Batch(args) => batch::run(args, &global).await.map(Outcome::Code),
        Command::Reconcile(args) => reconcile::run(args, &global).await.map(Outcome::Code),
        Command::Ledger(command) => ledger::run(command, &global)
            .await
            .map(|printed| printed.map_or(Outcome::Code(0), Outcome::One)),
        Command::Sandbox(args) => sandbox::run(args, &global).await.map(|()| Outcome::Code(0)),
        Command::Demo => demo::run(&global).await.map(Outcome::Code),
    };
    match result {
        Ok(Outcome::One(success)) => {
            printer.success(&success);
            0
        }
        Ok(Outcome::Code(code)) => code,
        Err(err) => {
            tracing::debug!(kind = %err.kind(), "command failed");
            printer.error(&err);
            err.exit_code()
        }
    }
}

/// Runs one provider command; Ctrl-C while it runs is reported as outcome unknown (exit 6): the
/// request may already be with the provider, so the operator must read the status before retrying.
async fn interruptible(
    provider: &'static str,
    command: impl std::future::Future<Output = Result<Success, CliError>>,
) -> Result<Outcome, CliError> {
    tokio::select! {
        result = command => result.map(Outcome::One),
        _ = tokio::signal::ctrl_c() => Err(CliError::sdk(
            provider,
            refund::Error::outcome_unknown(
                refund::ProviderReply::new(provider, "command"),
                "interrupted by Ctrl-C while the request may have been in flight",
                None,
            ),
        )),
    }
}

/// What a command produced: one result to print, or an exit code (the command printed as it went).
enum Outcome {
    One(Success),
    Code(u8),
}

/// Clap's usage errors exit 2 (as JSON with `--json`); `--help` and `--version` exit 0.
fn usage_error(err: clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand && !json
    {
        let _ = err.print();
        return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
    }
    if json {
        let text = err.kind().as_str().map_or_else(|| "usage error".to_owned(), str::to_owned);
        let detail = err.render().to_string();
        let first = detail.lines().next().unwrap_or(&text).trim_start_matches("error: ").to_owned();
        Printer { json: true }.error(&CliError::Usage(first));
    } else {
        let _ = err.print();
    }
    ExitCode::from(2)
}

/// `-v` logs the SDK's own events to stderr. Only our crates' targets are enabled: the HTTP stack's
/// trace output is not ours to vouch for. The sandbox always logs at info (that is where OTPs show).
fn init_logging(verbose: u8, sandbox: bool) {
    let level = match verbose {
        0 if sandbox => "info",
        0 => return,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let targets = if sandbox && verbose == 0 {
        "refund_sandbox".to_owned()
    } else {
        [
            "refund",
            "refund_core",
            "refund_aoc",
            "refund_bos",
            "refund_digipay",
            "refund_otp",
            "refund_ledger",
            "refund_sandbox",
        ]
        .iter()
        .map(|t| format!("{t}={level}"))
        .collect::<Vec<_>>()
        .join(",")
    };
    let filter = if sandbox && verbose == 0 { format!("{targets}=info") } else { targets };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 0)
        .try_init();
}
