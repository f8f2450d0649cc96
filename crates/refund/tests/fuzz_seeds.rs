//! Replays the fuzz seed corpus (`fuzz/seeds/<target>/`) and every saved crash
//! (`fuzz/regressions/<target>/`) through the same decoders the fuzz targets drive, on every
//! `cargo test`: nothing may panic, and the providers' documented success examples (seeds named
//! `ok-*`) must decode as successes.

#![allow(clippy::unwrap_used)] // reason: a test

use std::fs;
use std::path::{Path, PathBuf};

use refund::{Currency, Money};

const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The same dispatch as `fuzz/fuzz_targets/<target>.rs`: `Ok` for an answer that decodes as a
/// success, else the error's kind.
fn run(target: &str, data: &[u8]) -> Result<(), &'static str> {
    if target == "money" {
        let text = String::from_utf8_lossy(data);
        let parsed = Money::parse(&text, Currency::Inr).is_ok()
            | Money::from_provider_text(&text, Currency::Inr).is_ok();
        return if parsed { Ok(()) } else { Err("invalid_input") };
    }
    let [which, status, body @ ..] = data else { return Err("too short") };
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    match (target, which % 3) {
        ("aoc", 0) => refund::aoc::fuzzing::refund_response(status, body),
        ("aoc", _) => refund::aoc::fuzzing::status_response(status, body),
        ("bos", 0) => refund::bos::fuzzing::envelope_response(status, body),
        ("bos", 1) => refund::bos::fuzzing::status_response(status, body),
        ("bos", _) => refund::bos::fuzzing::qr_response(status, body),
        ("digipay", 0) => refund::digipay::fuzzing::refund_response(status, body),
        ("digipay", _) => refund::digipay::fuzzing::token_response(status, body),
        ("otp", 0) => refund::otp::fuzzing::send_otp_response(status, body),
        ("otp", 1) => refund::otp::fuzzing::refund_response(status, body),
        ("otp", _) => refund::otp::fuzzing::transaction_response(status, body),
        _ => panic!("unknown fuzz target {target}"),
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn seeds_and_regressions_replay() {
    let mut replayed = 0;
    for target in ["money", "aoc", "bos", "digipay", "otp"] {
        let seeds = files(&fuzz_dir().join("seeds").join(target));
        assert!(!seeds.is_empty(), "no seeds for {target}");
        for path in seeds.iter().chain(files(&fuzz_dir().join("regressions").join(target)).iter()) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let ok = run(target, &fs::read(path).unwrap()).is_ok();
            if name.starts_with("ok-") {
                assert!(ok, "{target}/{name}: a documented success must decode as one");
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 40, "only {replayed} inputs replayed");
}

/// Each documented failure decodes as the failure it is: a decline is not an outcome unknown.
#[test]
fn documented_failures_decode_as_their_kind() {
    for (target, name, kind) in [
        ("aoc", "refund-denied", "declined"),
        ("bos", "qr-wrong-amount", "outcome_unknown"),
        ("bos", "auth-401", "auth"),
        ("digipay", "malformed-400-documented", "declined"),
        ("otp", "send-otp-status0-no-ref", "declined"),
        ("otp", "refund-wrong-otp", "declined"),
    ] {
        let data = fs::read(fuzz_dir().join("seeds").join(target).join(name)).unwrap();
        assert_eq!(run(target, &data), Err(kind), "{target}/{name}");
    }
}
