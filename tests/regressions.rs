//! Regression tests for what the fuzzer (`fuzz/`) and the property test
//! (`tests/properties.rs`) found.
//!
//! - Fuzz crashes: each input under `tests/regressions/` is in the
//!   `scan_bytes` format (`fuzz/src/lib.rs`: files separated by 0xFF, each
//!   named by a 0xFE line); [`replay`] writes it to a scratch directory and
//!   runs `scan` and `plan` exactly as the fuzz targets do: no panic, no
//!   hang, and a successful plan reparses and plans nothing more.
//! - Property failures: a shrunk fleet is a fixture `testdata/prop-*/`;
//!   [`apply_keeps_users`] applies the migration to it and checks what
//!   `tests/properties.rs` checks.
//!
//! A `plan_mutated` crash input is turned into the `scan_bytes` format with
//! `FUZZ_INPUT=<crash file> FUZZ_OUTPUT=tests/regressions/<name> cargo test
//! --test regressions -- --ignored materialise_plan_mutated_input`.

#[path = "../fuzz/src/lib.rs"]
mod harness;

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use common::{Sandbox, nix_files, nix_parse_failures, oracle};

/// A fuzz input that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(60);

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")
}

/// Runs `scan` and `plan` on the saved input `name`, on a thread of its
/// own so a hang fails the test instead of stalling the suite.
fn replay(name: &str) {
    let bytes = std::fs::read(regressions_dir().join(name))
        .unwrap_or_else(|e| panic!("tests/regressions/{name}: {e}"));
    let files = harness::files_from_bytes(&bytes);
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("replay {name}"))
        .spawn(move || {
            let outcome = harness::check_repo(&files);
            let _ = tx.send(outcome);
        })
        .unwrap();
    match rx.recv_timeout(HANG) {
        Ok(outcome) => eprintln!("{name}: {outcome:?}"),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: scan + plan still running after {HANG:?}")
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("{name}: scan or plan panicked (message above)")
        }
    }
}

/// One `#[test]` per saved input, so each known crash can be `#[ignore]`d
/// on its own until it is fixed.
macro_rules! replays {
    ($($(#[$attr:meta])* $name:ident => $file:literal,)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                replay($file);
            }
        )*
        /// Every saved input has its test.
        #[test]
        fn every_saved_input_is_replayed() {
            let known: &[&str] = &[$($file),*];
            let mut missing = Vec::new();
            if let Ok(entries) = std::fs::read_dir(regressions_dir()) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !known.contains(&name.as_str()) {
                        missing.push(name);
                    }
                }
            }
            assert!(missing.is_empty(), "no test replays tests/regressions/{missing:?}");
        }
    };
}

replays! {
    /// `imports = [ ./x ${x} ];` (a parse error) in a host file: rnix's
    /// `PathRel::parts()` meets a whitespace token inside the path node.
    path_with_interpolation_after_space => "path-with-interpolation-after-space.bin",
}

// ---------------------------------------------------------------------------
// Shrunk property-test failures (`testdata/prop-*`)
// ---------------------------------------------------------------------------

/// The hosts of a generated fleet: `hosts/<h>/`, in name order.
#[allow(dead_code)] // for `testdata/prop-*` fixtures: none so far
fn fleet_hosts(repo: &Path) -> Vec<String> {
    let mut hosts: Vec<String> = std::fs::read_dir(repo.join("hosts"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    hosts.sort();
    hosts
}

#[allow(dead_code)]
fn evaluate(repo: &Path, hosts: &[String]) -> Vec<serde_json::Value> {
    hosts
        .iter()
        .map(|h| {
            oracle::effective_users(repo, &[PathBuf::from(format!("hosts/{h}"))], None)
                .unwrap_or_else(|e| panic!("host {h}: {e}"))
        })
        .collect()
}

/// What `tests/properties.rs` checks, on fixture `case`: `apply` exits 0,
/// every host's effective users are unchanged, every file parses, and
/// `plan --check` and `verify` exit 0 afterwards.
#[allow(dead_code)]
fn apply_keeps_users(case: &str) {
    if !oracle::nix_available() {
        return;
    }
    let sb = Sandbox::committed(case);
    let hosts = fleet_hosts(&sb.repo);
    let before = evaluate(&sb.repo, &hosts);
    sb.run(&["apply", ".", "--color", "never", "-q"])
        .expect_code(0);
    let after = evaluate(&sb.repo, &hosts);
    let mut report = String::new();
    for ((h, b), a) in hosts.iter().zip(&before).zip(&after) {
        if let Some(diff) = oracle::users_diff(b, a) {
            report.push_str(&format!("host {h}:\n{diff}\n"));
        }
    }
    assert!(
        report.is_empty(),
        "{case}: effective users changed:\n{report}"
    );
    let parse = nix_parse_failures(&nix_files(&sb.repo));
    assert!(parse.is_empty(), "{case}: {parse:?}");
    sb.run(&["plan", ".", "--check", "--color", "never"])
        .expect_code(0);
    sb.run(&["verify", ".", "--against", "main", "--color", "never"])
        .expect_code(0);
}

// ---------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------

/// Turns a `plan_mutated` input (`FUZZ_INPUT`) into the repository it
/// stands for, in the `scan_bytes` format (`FUZZ_OUTPUT`), so it replays
/// without the fixtures it was mutated from.
#[test]
#[ignore = "a tool: FUZZ_INPUT=<file> FUZZ_OUTPUT=<file>"]
fn materialise_plan_mutated_input() {
    let input = std::env::var("FUZZ_INPUT").expect("FUZZ_INPUT");
    let output = std::env::var("FUZZ_OUTPUT").expect("FUZZ_OUTPUT");
    let data = std::fs::read(&input).unwrap();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let files = harness::mutated_fixture(&testdata, &data).expect("a fixture with .nix files");
    std::fs::write(&output, harness::to_bytes(&files)).unwrap();
    eprintln!("{output}: {} files", files.len());
}

/// The fuzz harness's `CLAN_FUZZ_SKIP_KNOWN` filter recognises each saved
/// crash it claims to (and lets an ordinary fixture through).
#[test]
fn known_crash_filter_matches_the_saved_crashes() {
    let bytes =
        std::fs::read(regressions_dir().join("path-with-interpolation-after-space.bin")).unwrap();
    assert!(harness::known_crash(&harness::files_from_bytes(&bytes)).is_some());
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for case in harness::FIXTURES {
        let files = harness::fixture_files(&testdata, case);
        assert_eq!(harness::known_crash(&files), None, "{case}");
    }
}
