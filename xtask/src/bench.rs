//! `cargo xtask bench [--quick]`: the performance benchmarks of `docs/performance.md`.
//!
//! Runs `cargo bench -p refund` (the `overhead` and `memory` benches) and the ledger's bench
//! (`-p refund-ledger --features postgres`; its PostgreSQL sides need
//! `REFUND_BENCH_POSTGRES_URL`), release profile, custom harnesses. `--quick` is passed through
//! to the benches: one short iteration of each, a smoke run that keeps them compiling and
//! running, not a measurement.

use crate::{Result, run_cargo};

pub(crate) fn bench(args: &[&str]) -> Result {
    let quick = match args {
        [] => false,
        ["--quick"] => true,
        other => return Err(format!("unknown bench arguments {other:?}; usage: bench [--quick]")),
    };
    let benches = [
        &["-p", "refund", "--bench", "overhead"][..],
        &["-p", "refund", "--bench", "memory"],
        &["-p", "refund-ledger", "--features", "postgres", "--bench", "ledger"],
    ];
    for bench in benches {
        let mut cargo = vec!["bench"];
        cargo.extend(bench);
        if quick {
            cargo.extend(["--", "--quick"]);
        }
        run_cargo(&cargo, &[])?;
    }
    Ok(())
}
