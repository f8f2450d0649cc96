//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs each cargo-fuzz target for N seconds.
//!
//! The stable toolchain builds libFuzzer targets with `RUSTC_BOOTSTRAP=1` (cargo-fuzz needs a
//! nightly flag). Our code forbids `unsafe`, so the address sanitizer would only slow the search;
//! `--sanitizer none` finds the panics we are after several times faster. Each run starts from the
//! seed corpus (`fuzz/seeds/<target>`, the providers' documented examples) plus whatever earlier
//! runs found (`fuzz/corpus/<target>`, not committed). A crash is saved by libFuzzer under
//! `fuzz/artifacts/<target>/`; copy it to `fuzz/regressions/<target>/` so `cargo test` replays it.

use std::fs;
use std::process::Command;

use crate::{Result, root};

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
pub(crate) const TARGETS: &[&str] = &["money", "aoc", "bos", "digipay", "otp"];

pub(crate) fn fuzz(args: &[&str]) -> Result {
    let mut seconds = 30u64;
    let mut targets: Vec<&str> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a whole number of seconds")?;
            }
            t if TARGETS.contains(&t) => targets.push(t),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?}; targets: {}",
                    TARGETS.join(", ")
                ));
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let has_cargo_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        return Err("cargo-fuzz is not installed: `cargo install cargo-fuzz --locked`".into());
    }
    let fuzz_dir = root().join("fuzz");
    let mut summary = Vec::new();
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let seeds = fuzz_dir.join("seeds").join(target);
        let max_time = format!("-max_total_time={seconds}");
        let corpus_arg = corpus.display().to_string();
        let seeds_arg = seeds.display().to_string();
        eprintln!("$ cargo fuzz run {target} --sanitizer none ({seconds} s)");
        let output = Command::new("cargo")
            .args(["fuzz", "run", target, "--sanitizer", "none", "--release", "--debug-assertions"])
            .args([
                &corpus_arg,
                &seeds_arg,
                "--",
                &max_time,
                "-print_final_stats=1",
                "-rss_limit_mb=2048",
            ])
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&fuzz_dir)
            .output()
            .map_err(|e| format!("could not run cargo fuzz: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let execs = stderr
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .map_or_else(|| "?".to_owned(), |n| n.trim().to_owned());
        if !output.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "fuzz target {target} failed after {execs} executions:\n{}\nsave the crash under fuzz/regressions/{target}/ and fix it",
                tail.join("\n")
            ));
        }
        summary.push(format!("{target}: {execs} executions in {seconds} s, 0 crashes"));
    }
    for line in &summary {
        eprintln!("fuzz: {line}");
    }
    Ok(())
}
