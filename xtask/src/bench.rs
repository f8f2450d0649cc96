//! `cargo xtask bench [--quick]`: the performance benchmarks of `docs/performance.md`.
//!
//! Runs `cargo bench -p refund` (the `overhead` and `memory` benches, release profile, custom
//! harnesses). `--quick` is passed through to the benches: one short iteration of each, a smoke
//! run that keeps them compiling and running, not a measurement.

use crate::{Result, run_cargo};

pub(crate) fn bench(args: &[&str]) -> Result {
    let quick = match args {
        [] => false,
        ["--quick"] => true,
        other => return Err(format!("unknown bench arguments {other:?}; usage: bench [--quick]")),
    };
    for bench in ["overhead", "memory"] {
        let mut cargo = vec!["bench", "-p", "refund", "--bench", bench];
        if quick {
            cargo.extend(["--", "--quick"]);
        }
        run_cargo(&cargo, &[])?;
    }
    Ok(())
}
