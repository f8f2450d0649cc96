//! Secret canaries: no secret value reaches stdout or stderr, whatever the command, the output mode,
//! the verbosity or the way the secret was given.
//!
//! Happy paths need credentials the sandbox accepts, so there the canaries are the seeded values
//! themselves (`sandbox-aoc-api-key`, ...: just as distinctive). Dry runs and error paths use
//! `CANARY-...` values. Every run is checked for every canary, both credential sets, every OTP
//! issued so far, base64 of each Eko access key, and the Eko `secret-key` signature of each access
//! key for every millisecond of the run (± 1 s).

use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use refund_sandbox::seed::{AOC_CHARGE_1001, AOC_CHARGE_1002, DIGIPAY_TXN_2001, DIGIPAY_TXN_2002};
use refund_sandbox::{Provider, seed};
use refund_testkit::cli::{Env, args, bare, stderr, stdout};
use refund_testkit::eko::{EkoSigner, base64};
use refund_testkit::net::{black_hole_port, closed_port};
use refund_testkit::sandbox::{BaseUrls, Credentials, SEEDED, env_vars};

/// Distinctive values for every secret (and the BOS registration id, which the SDK masks too).
const CANARY: Credentials = Credentials {
    aoc_api_key: "CANARY-aoc-api-key-5b1e77",
    bos_token: "CANARY-bos-token-4d7a19",
    bos_registration_id: "CANARY-bos-reg-2f9d03",
    digipay_token: "CANARY-digipay-token-9c2f52",
    eko_developer_key: "CANARY-eko-developer-key-1a8c64",
    eko_access_key: "CANARY-eko-access-key-6e3b88",
};

/// OTPs given on error paths (never valid): they must not be echoed either.
const CANARY_OTPS: [&str; 2] = ["739182", "628413"];

/// How the secrets reach the command, and how loud and in which format it runs.
#[derive(Clone, Copy, Debug)]
struct Mode {
    flags: bool,
    verbose: &'static str,
    json: bool,
}

const MODES: [Mode; 4] = [
    Mode { flags: false, verbose: "-v", json: false },
    Mode { flags: false, verbose: "-vvv", json: true },
    Mode { flags: true, verbose: "-v", json: true },
    Mode { flags: true, verbose: "-vvv", json: false },
];

/// Every setting of `provider` as flags.
fn flags(provider: &str, creds: &Credentials, bases: &BaseUrls) -> Vec<String> {
    let f = |k: &str, v: &str| format!("--{k}={v}");
    match provider {
        "aoc" => vec![
            f("base-url", &bases.aoc),
            f("username", seed::AOC_USERNAME),
            f("api-key", creds.aoc_api_key),
        ],
        "bos" => vec![f("base-url", &bases.bos), f("token", creds.bos_token)],
        "digipay" => vec![
            f("base-url", &bases.digipay),
            f("token", creds.digipay_token),
            f("company-id", seed::DIGIPAY_COMPANY_ID),
        ],
        "otp" => vec![
            f("base-url", &bases.eko),
            f("developer-key", creds.eko_developer_key),
            f("access-key", creds.eko_access_key),
            f("initiator-id", seed::EKO_INITIATOR_ID),
            f("user-code", seed::EKO_USER_CODE),
        ],
        _ => vec![],
    }
}

/// What every output is checked against.
struct Watch {
    /// Fixed strings: both credential sets, the canary OTPs, base64 of the access keys.
    fixed: Vec<String>,
    /// OTPs the sandbox issued so far.
    otps: Vec<String>,
    signers: Vec<(&'static str, EkoSigner)>,
    runs: usize,
    signatures_checked: u64,
}

impl Watch {
    fn new() -> Watch {
        let mut fixed: Vec<String> = SEEDED
            .values()
            .iter()
            .chain(CANARY.values().iter())
            .chain(CANARY_OTPS.iter())
            .map(|s| (*s).to_owned())
            .collect();
        for key in [SEEDED.eko_access_key, CANARY.eko_access_key] {
            fixed.push(base64(key.as_bytes()));
        }
        let signers = [SEEDED.eko_access_key, CANARY.eko_access_key]
            .into_iter()
            .map(|k| (k, EkoSigner::new(k)))
            .collect();
        Watch { fixed, otps: Vec::new(), signers, runs: 0, signatures_checked: 0 }
    }

    fn otp(&mut self, otp: &str) {
        self.otps.push(otp.to_owned());
    }

    /// Asserts that nothing watched appears in the run's output.
    fn check(&mut self, what: &str, out: &Output, started: u128, ended: u128, eko: bool) {
        self.runs += 1;
        let all = format!("{}\n{}", stdout(out), stderr(out));
        for secret in &self.fixed {
            assert!(!all.contains(secret.as_str()), "{what}: printed {secret:?}:\n{all}");
        }
        // The demo's in-process sandbox logs the OTPs it issues under `-v` (it plays the customer's
        // phone): those lines are the simulated provider's, not the SDK's, and are left out here.
        let ours: String = all
            .lines()
            .filter(|line| !line.contains("refund_sandbox"))
            .collect::<Vec<_>>()
            .join("\n");
        for otp in &self.otps {
            assert!(!ours.contains(otp.as_str()), "{what}: printed the OTP {otp:?}:\n{all}");
        }
        if eko {
            for ms in started.saturating_sub(1000)..=ended + 1000 {
                let ts = ms.to_string();
                for (key, signer) in &self.signers {
                    let sig = signer.sign(&ts);
                    assert!(
                        !all.contains(&sig),
                        "{what}: printed the secret-key of {key:?} at {ts}:\n{all}"
                    );
                    self.signatures_checked += 1;
                }
            }
        }
    }
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

/// Runs `refund` with the arguments of `line` (provider first), the settings given per `mode`, and
/// checks the output; returns it.
#[allow(clippy::too_many_arguments, reason = "a test helper; each is one dimension of the run")]
fn run(
    watch: &mut Watch,
    mode: Mode,
    creds: &Credentials,
    bases: &BaseUrls,
    extra_global: &[&str],
    line: &str,
    expect: &[i32],
) -> Output {
    let args = args(line);
    let mut cmd = bare();
    cmd.env("RUST_LOG", "trace");
    cmd.arg(mode.verbose);
    if mode.json {
        cmd.arg("--json");
    }
    cmd.args(extra_global);
    cmd.args(&args);
    let provider = args.first().map_or("", String::as_str);
    if mode.flags {
        cmd.args(flags(provider, creds, bases));
        if args.get(1).is_some_and(|a| a == "qr") {
            cmd.arg(format!("--registration-id={}", creds.bos_registration_id));
        }
    } else {
        for (k, v) in env_vars(creds, bases) {
            cmd.env(k, v);
        }
    }
    let started = now_ms();
    let out = cmd.output().unwrap();
    let ended = now_ms();
    let what = format!("{mode:?} {extra_global:?} {args:?}");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        expect.contains(&code),
        "{what}: exit {code}, expected {expect:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    watch.check(&what, &out, started, ended, provider == "otp" || provider == "demo");
    out
}

/// The happy paths with the seeded credentials (the sandbox accepts nothing else), including a
/// wrong OTP before the right one.
fn happy_paths(env: &Env, watch: &mut Watch, mode: Mode, variant: usize) {
    let sb = &env.sandbox;
    sb.reset();
    let bases = BaseUrls::of(sb);
    let run = |watch: &mut Watch, line: &str, expect: &[i32]| {
        run(watch, mode, &SEEDED, &bases, &[], line, expect)
    };
    let sp = format!("canary-sp-{variant}");
    let out = run(
        watch,
        &format!("aoc refund --aoc-trans-id {AOC_CHARGE_1002} --amount 1.00 --sp-trans-id {sp}"),
        &[0],
    );
    assert!(mode.verbose != "-vvv" || !stderr(&out).is_empty(), "{mode:?}: -vvv logged nothing");
    run(watch, &format!("aoc status --sp-trans-id {sp}"), &[0]);

    let tid = seed::EKO_TID_REFUNDABLE_1;
    run(watch, &format!("otp send-otp --tid {tid}"), &[0]);
    let otp = sb.otp(Provider::Eko, tid).unwrap();
    let otp_ref = sb.otp_ref_id(Provider::Eko, tid).unwrap();
    watch.otp(&otp);
    let wrong = CANARY_OTPS.iter().find(|w| **w != otp).unwrap();
    run(watch, &format!("otp refund --tid {tid} --otp {wrong} --otp-ref-id {otp_ref}"), &[4]);
    run(watch, &format!("otp refund --tid {tid} --otp {otp} --otp-ref-id {otp_ref}"), &[0]);

    let reference = seed::BOS_REFERENCE_1;
    let ackno = seed::BOS_ACKNO_1;
    run(watch, &format!("bos send-otp --reference-id {reference} --ackno {ackno}"), &[0]);
    let otp = sb.otp(Provider::Bos, &reference.to_string()).unwrap();
    watch.otp(&otp);
    let wrong = CANARY_OTPS.iter().find(|w| **w != otp).unwrap();
    let claim = format!("bos claim --reference-id {reference} --ackno {ackno} --otp");
    run(watch, &format!("{claim} {wrong}"), &[4]);
    run(watch, &format!("{claim} {otp}"), &[0]);
    run(watch, &format!("bos status --reference-id {reference}"), &[0]);
    run(watch, "bos qr --amount 10", &[0]);
    run(
        watch,
        &format!("digipay refund --initial-txn-id {DIGIPAY_TXN_2001} {DIGIPAY_DEFAULTS}"),
        &[0],
    );
}

/// The DigiPay refund's amount and request settings, the same in every run.
const DIGIPAY_DEFAULTS: &str = "--amount 1 --txn-code REFUND --payment-mode 1";

/// Every command once, with the canary OTPs where an OTP is needed.
fn every_command() -> Vec<String> {
    let [eko_otp, bos_otp] = CANARY_OTPS;
    let (tid, reference) = (seed::EKO_TID_REFUNDABLE_2, "12345678926");
    vec![
        format!("aoc refund --aoc-trans-id {AOC_CHARGE_1001} --amount 1.00"),
        "aoc status --sp-trans-id canary-sp-x".into(),
        format!("otp send-otp --tid {tid}"),
        format!("otp refund --tid {tid} --otp {eko_otp} --otp-ref-id ref-x"),
        format!("bos send-otp --reference-id {reference} --ackno 127"),
        format!("bos claim --reference-id {reference} --ackno 127 --otp {bos_otp}"),
        format!("bos status --reference-id {reference}"),
        "bos qr --amount 10".into(),
        format!("digipay refund --initial-txn-id {DIGIPAY_TXN_2002} {DIGIPAY_DEFAULTS}"),
    ]
}

#[test]
fn no_secret_reaches_the_output() {
    let env = Env::start();
    let sb = &env.sandbox;
    let mut watch = Watch::new();
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let hole = format!("http://127.0.0.1:{}", black_hole_port());

    for (variant, mode) in MODES.into_iter().enumerate() {
        happy_paths(&env, &mut watch, mode, variant);

        // Dry runs with the canaries: masked, and nothing sent.
        let seen = sb.total_requests();
        let bases = BaseUrls::of(sb);
        for line in every_command() {
            let out = run(&mut watch, mode, &CANARY, &bases, &["--dry-run"], &line, &[0]);
            assert!(stdout(&out).contains(refund::MASK), "{line}: dry run shows no mask");
        }
        assert_eq!(sb.total_requests(), seen, "{mode:?}: a dry run sent a request");

        // Wrong credentials: the sandbox refuses the canaries. The BOS QR with a canary
        // registration id may be refused as a bad request (4); OTP steps with a canary OTP may be
        // refused as declined before any auth. Then nothing listening, and a provider that never
        // answers.
        let failures = [
            (bases, &[][..], &[3, 4][..]),
            (BaseUrls::all(&closed), &[], &[5]),
            (BaseUrls::all(&hole), &["--timeout", "0.3"], &[5, 6]),
        ];
        for (bases, global, expect) in &failures {
            for line in every_command() {
                run(&mut watch, mode, &CANARY, bases, global, &line, expect);
            }
        }
    }

    // The demo walks every flow with the seeded credentials on its own sandbox.
    for mode in [MODES[0], MODES[1]] {
        let mut cmd_mode = mode;
        cmd_mode.json = false;
        run(&mut watch, cmd_mode, &SEEDED, &BaseUrls::all(&closed), &[], "demo", &[0]);
    }
    println!(
        "hardening: {} runs checked for {} fixed secrets and {} Eko signatures; none printed",
        watch.runs,
        watch.fixed.len(),
        watch.signatures_checked
    );
}
