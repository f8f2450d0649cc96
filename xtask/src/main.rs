//! Workspace automation: `cargo xtask <task>`.
//!
//! One small binary, one subcommand per task (matklad's cargo-xtask pattern). It shells out to
//! cargo and reads `cargo metadata`; it has no dependencies beyond `serde_json`.

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use serde_json::Value;

mod bench;
mod fuzz;
mod reliability;

pub(crate) type Result<T = (), E = String> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  lint                 fmt check, clippy -D warnings (all targets, all features), rustdoc -D warnings,
                       the facade with no provider and with each provider alone
  tidy                 architecture checks: each provider depends on refund-core alone (its tests may
                       add refund-testkit), is a facade feature and a row of the README's feature
                       table; refund-testkit is unpublished and a dev-dependency only; every crate
                       uses workspace lints
  release --dry-run    versions agree, CHANGELOG has the version's heading, `cargo package` of every
                       publishable crate in dependency order
  test                 the README's test command: cargo test --workspace
  ci                   lint + tidy + release --dry-run + test
  reliability          rerun the sandbox fault matrix and rewrite its table in docs/reliability.md
  bench [--quick]      SDK overhead, signing, token cache, memory, sandbox and ledger benchmarks
                       (docs/performance.md); --quick is a smoke run
  fuzz [--seconds N] [TARGET...]
                       run the cargo-fuzz targets (money, aoc, bos, digipay, otp) N seconds each
";

/// Provider crates and their facade feature names (STYLE.md: the provider's name without prefix).
const PROVIDERS: &[(&str, &str)] = &[
    ("refund-aoc", "aoc"),
    ("refund-bos", "bos"),
    ("refund-digipay", "digipay"),
    ("refund-otp", "otp-refund"),
];

/// The facade's ledger features: the embedded SQLite ledger, and the shared PostgreSQL one.
const LEDGER_FEATURES: [&str; 2] = ["ledger", "ledger-postgres"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["lint"] => lint(),
        ["tidy"] => tidy(),
        ["release", "--dry-run"] => release_dry_run(),
        ["release"] => {
            Err("only `release --dry-run` is automated; publishing is done by a maintainer".into())
        }
        ["test"] => test(),
        ["ci"] => ci(),
        ["bench", rest @ ..] => bench::bench(rest),
        ["fuzz", rest @ ..] => fuzz::fuzz(rest),
        ["reliability"] => reliability::reliability(),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn root() -> PathBuf {
    // xtask/ sits at the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn cargo(args: &[&str]) -> Result {
    run_cargo(args, &[])
}

fn run_cargo(args: &[&str], envs: &[(&str, &str)]) -> Result {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn lint() -> Result {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"])?;
    run_cargo(
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // The facade must build with no provider, with each provider alone, and with each ledger
    // backend alone (a user of one provider never builds a database driver it did not ask for).
    cargo(&["check", "-p", "refund", "--no-default-features"])?;
    for feature in PROVIDERS.iter().map(|(_, f)| *f).chain(LEDGER_FEATURES) {
        cargo(&["check", "-p", "refund", "--no-default-features", "--features", feature])?;
    }
    if command_exists("cargo-deny") {
        cargo(&["deny", "--offline", "check", "licenses", "bans", "sources"])?;
    } else {
        eprintln!(
            "note: cargo-deny is not installed; skipping the supply-chain check (`cargo install cargo-deny`)"
        );
    }
    Ok(())
}

fn command_exists(name: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

fn metadata() -> Result<Value> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata printed invalid JSON: {e}"))
}

fn packages(meta: &Value) -> Vec<&Value> {
    meta["packages"].as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

fn name(package: &Value) -> &str {
    package["name"].as_str().unwrap_or("")
}

/// The crate that holds what the tests share: a dev-dependency of any crate, never anything more.
const TESTKIT: &str = "refund-testkit";

/// Names of this package's dependencies that are workspace members: the dev-dependencies when
/// `dev`, else those of every other kind (normal and build).
fn workspace_deps<'a>(
    package: &'a Value,
    members: &BTreeSet<&str>,
    dev: bool,
) -> BTreeSet<&'a str> {
    package["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| (d["kind"].as_str() == Some("dev")) == dev)
        .filter_map(|d| d["name"].as_str())
        .filter(|n| members.contains(n))
        .collect()
}

fn tidy() -> Result {
    let meta = metadata()?;
    let pkgs = packages(&meta);
    let members: BTreeSet<&str> = pkgs.iter().map(|p| name(p)).collect();
    let readme =
        fs::read_to_string(root().join("README.md")).map_err(|e| format!("README.md: {e}"))?;
    let facade =
        pkgs.iter().find(|p| name(p) == "refund").ok_or("the facade crate `refund` is missing")?;
    let mut problems = Vec::new();

    for (crate_name, feature) in PROVIDERS {
        let Some(pkg) = pkgs.iter().find(|p| name(p) == *crate_name) else {
            problems.push(format!("provider crate {crate_name} is missing"));
            continue;
        };
        let deps = workspace_deps(pkg, &members, false);
        if deps != BTreeSet::from(["refund-core"]) {
            problems.push(format!("{crate_name} must depend on refund-core and no other workspace crate; it depends on {deps:?}"));
        }
        // Its tests may use the testkit, and no other provider or the facade.
        let dev_deps = workspace_deps(pkg, &members, true);
        let others: BTreeSet<&str> =
            dev_deps.into_iter().filter(|d| !["refund-core", TESTKIT].contains(d)).collect();
        if !others.is_empty() {
            problems.push(format!("{crate_name}'s tests may use refund-core and {TESTKIT} and no other workspace crate; they use {others:?}"));
        }
        let enables = facade["features"][*feature].as_array().is_some_and(|items| {
            items.iter().any(|i| i.as_str() == Some(&format!("dep:{crate_name}")))
        });
        if !enables {
            problems
                .push(format!("the facade has no feature `{feature}` enabling dep:{crate_name}"));
        }
        let defaults = facade["features"]["default"]
            .as_array()
            .is_some_and(|d| d.iter().any(|i| i.as_str() == Some(feature)));
        if !defaults {
            problems.push(format!("the facade's default features do not include `{feature}`"));
        }
        if !readme.lines().any(|l| l.starts_with('|') && l.contains(&format!("`{feature}`"))) {
            problems.push(format!("README.md's feature table has no row for `{feature}`"));
        }
    }
    // The ledger drives refunds through the core traits alone, never through a provider crate.
    match pkgs.iter().find(|p| name(p) == "refund-ledger") {
        Some(ledger)
            if workspace_deps(ledger, &members, false) != BTreeSet::from(["refund-core"]) =>
        {
            problems.push(format!(
                "refund-ledger must depend on refund-core and no other workspace crate; it depends on {:?}",
                workspace_deps(ledger, &members, false)
            ));
        }
        Some(_) => {}
        None => problems.push("the ledger crate refund-ledger is missing".to_owned()),
    }
    for feature in LEDGER_FEATURES {
        let enables = facade["features"][feature].as_array().is_some_and(|items| {
            items.iter().any(|i| i.as_str().is_some_and(|i| i.starts_with("refund-ledger/")))
        });
        let default = facade["features"]["default"]
            .as_array()
            .is_some_and(|d| d.iter().any(|i| i.as_str() == Some(feature)));
        if !enables || default {
            problems.push(format!(
                "the facade needs a feature `{feature}` that enables a refund-ledger backend and is not in `default`"
            ));
        }
    }
    // Any other refund-* crate with "provider" in its description would be an unregistered provider.
    for pkg in &pkgs {
        let n = name(pkg);
        if n.starts_with("refund-")
            && !PROVIDERS.iter().any(|(c, _)| *c == n)
            && !["refund-core", "refund-cli", "refund-sandbox", "refund-ledger", TESTKIT]
                .contains(&n)
        {
            problems.push(format!(
                "{n} is not a known crate: add it to xtask's PROVIDERS table if it is a provider"
            ));
        }
        if workspace_deps(pkg, &members, false).contains(TESTKIT) {
            problems.push(format!(
                "{n} depends on {TESTKIT} outside [dev-dependencies]: it is for tests only"
            ));
        }
        if n == TESTKIT && !pkg["publish"].as_array().is_some_and(Vec::is_empty) {
            problems.push(format!("{TESTKIT} must set `publish = false`"));
        }
        let manifest = pkg["manifest_path"].as_str().unwrap_or("");
        let text = fs::read_to_string(manifest).unwrap_or_default();
        if !text.contains("[lints]\nworkspace = true") {
            problems.push(format!(
                "{n} does not opt into the workspace lints (`[lints] workspace = true`)"
            ));
        }
    }
    if problems.is_empty() {
        eprintln!("tidy: ok ({} crates)", pkgs.len());
        Ok(())
    } else {
        Err(format!("tidy found {} problem(s):\n  - {}", problems.len(), problems.join("\n  - ")))
    }
}

fn release_dry_run() -> Result {
    let meta = metadata()?;
    let pkgs = packages(&meta);
    let publishable: Vec<&&Value> =
        pkgs.iter().filter(|p| !p["publish"].as_array().is_some_and(Vec::is_empty)).collect();
    let versions: BTreeSet<&str> =
        publishable.iter().filter_map(|p| p["version"].as_str()).collect();
    if versions.len() != 1 {
        return Err(format!("publishable crates disagree on the version: {versions:?}"));
    }
    let version = versions.into_iter().next().unwrap_or_default();
    let changelog = fs::read_to_string(root().join("CHANGELOG.md"))
        .map_err(|e| format!("CHANGELOG.md: {e}"))?;
    if !changelog.lines().any(|l| l.starts_with(&format!("## [{version}]"))) {
        return Err(format!("CHANGELOG.md has no `## [{version}]` heading"));
    }
    for pkg in &publishable {
        for field in ["description", "license", "repository"] {
            if pkg[field].as_str().is_none_or(str::is_empty) {
                return Err(format!("{} has no `{field}`, which crates.io requires", name(pkg)));
            }
        }
    }
    // `cargo package` over several crates orders them by dependency and resolves the unpublished
    // workspace crates against each other.
    let mut args = vec!["package", "--no-verify", "--allow-dirty"];
    let names: Vec<String> = publishable.iter().map(|p| name(p).to_owned()).collect();
    for n in &names {
        args.push("-p");
        args.push(n);
    }
    cargo(&args)?;
    eprintln!("release --dry-run: {} crates at {version} package cleanly", names.len());
    Ok(())
}

fn test() -> Result {
    // The README's test command.
    cargo(&["test", "--workspace"])
}

fn ci() -> Result {
    lint()?;
    tidy()?;
    release_dry_run()?;
    test()
}
