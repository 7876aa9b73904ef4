//! The project's own `flake.nix`: it parses, and called with a stand-in
//! nixpkgs (`tests/flake/standin.nix`: the few lib functions and builders
//! it uses, returning what they were given) it yields the outputs a user
//! of `nix run`, `nix profile install` and `nix develop` expects. No machine
//! here has nixpkgs, so this is as far as a test can go without building.

mod common;

use std::path::{Path, PathBuf};

use std::process::Command;

use serde_json::Value;

const SYSTEMS: [&str; 4] = [
    "x86_64-linux",
    "aarch64-linux",
    "x86_64-darwin",
    "aarch64-darwin",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn flake_nix_parses() {
    if !common::require_tool("nix-instantiate") {
        return;
    }
    let failures = common::nix_parse_failures(&[root().join("flake.nix")]);
    assert!(failures.is_empty(), "{failures:?}");
}

fn report() -> Option<Value> {
    if !common::require_tool("nix-instantiate") {
        return None;
    }
    let flake = root().join("flake.nix");
    let out = Command::new("nix-instantiate")
        .args(["--store", "dummy://", "--eval", "--strict", "--json"])
        .arg("--arg")
        .arg("flake")
        .arg(format!("import {}", flake.display()))
        .arg(root().join("tests/flake/standin.nix"))
        .output()
        .expect("nix-instantiate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("JSON"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string"))
        .collect()
}

#[test]
fn outputs_for_every_system() {
    let Some(r) = report() else {
        return;
    };
    assert_eq!(
        strings(&r["outputs"]),
        ["apps", "checks", "devShells", "formatter", "packages"]
    );
    assert!(
        r["nixpkgsUrl"]
            .as_str()
            .unwrap()
            .starts_with("github:NixOS/nixpkgs/")
    );
    for system in SYSTEMS {
        let s = &r["systems"][system];
        assert_eq!(
            strings(&s["packages"]),
            ["clan-migrate", "default"],
            "{system}"
        );
        assert_eq!(s["pname"], env!("CARGO_PKG_NAME"));
        assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(s["description"], env!("CARGO_PKG_DESCRIPTION"));
        assert_eq!(s["mainProgram"], "clan-migrate");
        assert_eq!(s["lockExists"], true, "cargoLock.lockFile exists");
        assert_eq!(s["srcExists"], true, "every path of the source set exists");
        assert_eq!(s["app"]["type"], "app");
        assert!(
            s["app"]["program"]
                .as_str()
                .unwrap()
                .ends_with("-clan-migrate/bin/clan-migrate"),
            "{}",
            s["app"]["program"]
        );
        assert_eq!(strings(&s["checks"]), ["fmt", "package"]);
        assert_eq!(s["checkPackageIsThePackage"], true);
        assert_eq!(s["formatter"], "nixfmt");
        for tool in ["cargo", "rustc", "clippy", "rustfmt", "nix", "git"] {
            assert!(strings(&s["devShell"]).contains(&tool), "{system}: {tool}");
        }
        // The tests need nix and git, and must not skip what needs nix.
        assert_eq!(strings(&s["nativeCheckInputs"]), ["nix", "git"]);
        assert!(s["preCheck"].as_str().unwrap().contains("export CI=true"));
        let darwin = system.ends_with("-darwin");
        assert_eq!(
            strings(&s["buildInputs"]).contains(&"libiconv"),
            darwin,
            "{system}"
        );
    }
}

#[test]
fn the_source_set_holds_what_cargo_test_needs() {
    let Some(r) = report() else {
        return;
    };
    let files = strings(&r["systems"]["x86_64-linux"]["srcFiles"]);
    // Everything `cargo test --locked` reads: the manifest declares the
    // bench targets, the tests read the fixtures.
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "tests",
        "testdata",
        "benches",
    ] {
        assert!(
            files.contains(&needed),
            "{needed} is in the source: {files:?}"
        );
    }
}

#[test]
fn install_uses_subcommands_that_exist() {
    let Some(r) = report() else {
        return;
    };
    let script = r["systems"]["x86_64-linux"]["postInstall"]
        .as_str()
        .unwrap()
        .to_string();
    let bin = Path::new(env!("CARGO_BIN_EXE_clan-migrate"));
    for shell in ["bash", "zsh", "fish"] {
        assert!(script.contains(&format!(
            "--{shell} <($out/bin/clan-migrate completions {shell})"
        )));
        let ok = Command::new(bin)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(ok.status.success(), "completions {shell}");
    }
    let line = script
        .lines()
        .find(|l| l.starts_with("for sub in "))
        .expect("the man pages loop");
    let subs = line
        .trim_start_matches("for sub in ")
        .trim_end_matches("; do")
        .split_whitespace();
    for sub in subs {
        let out = Command::new(bin).args(["man", sub]).output().unwrap();
        assert!(
            out.status.success(),
            "man {sub}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
