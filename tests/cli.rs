//! The `clan-migrate` binary: exit codes, what goes to stdout and what to
//! stderr, argument errors, colour, and that a scan never writes.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

use common::{CASES, fixture};

const BIN: &str = env!("CARGO_BIN_EXE_clan-migrate");
const ESC: u8 = 0x1b;

/// The binary, with colour-related variables from the caller's
/// environment removed so every test states what it relies on.
fn cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR");
    c
}

fn scan(case: &str) -> Command {
    let mut c = cmd();
    c.arg("scan").arg(fixture(case));
    c
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn has_esc(bytes: &[u8]) -> bool {
    bytes.contains(&ESC)
}

/// SGR (colour/style) sequences: `ESC [ <digits;> m`.
fn has_sgr(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(i, w)| {
        w == [ESC, b'[']
            && bytes[i + 2..]
                .iter()
                .find(|b| !(b.is_ascii_digit() || **b == b';'))
                == Some(&b'm')
    })
}

// ---------------------------------------------------------------------------
// The human report and exit codes
// ---------------------------------------------------------------------------

#[test]
fn scan_example_prints_the_matrix_and_exits_0() {
    let out = scan("example")
        .arg("--color")
        .arg("never")
        .assert()
        .success();
    let out = out.get_output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(
            "3 hosts, 6 users: 4 repeated, 1 shared, 1 single, 0 dynamic; 0 errors, 0 warnings\n"
        ),
        "{stdout}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.split_whitespace().eq(["alpha", "beta", "gamma"]))
        .unwrap_or_else(|| panic!("no matrix header:\n{stdout}"));
    let row = |label: &[&str]| {
        lines[header + 1..]
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|w| w.starts_with(label))
            .unwrap_or_else(|| panic!("no matrix row {label:?}:\n{stdout}"))
    };
    assert_eq!(row(&["alice", "L"]), ["alice", "L", "L", "L", "repeated"]);
    assert_eq!(
        row(&["alice", "(home-manager)"]),
        ["alice", "(home-manager)", "L", "L", ".", "repeated"]
    );
    assert_eq!(row(&["bob"]), ["bob", "L", "L", ".", "repeated"]);
    assert_eq!(row(&["root"]), ["root", "L", "L", "L", "repeated"]);
    assert_eq!(row(&["dave"]), ["dave", "S", "S", "S", "shared"]);
    assert_eq!(row(&["carol"]), ["carol", ".", ".", "L", "single"]);
    assert!(stdout.contains("L: defined in the host's own files"));
    assert!(stdout.contains("alice (users.users), repeated on alpha, beta, gamma"));
    assert!(stdout.contains("  differing: extraGroups, hashedPassword"));
    assert!(
        out.stderr.is_empty(),
        "no diagnostics, no progress off a terminal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scan_defaults_to_the_current_directory() {
    let out = cmd()
        .current_dir(fixture("example"))
        .args(["scan", "--json"])
        .assert()
        .success();
    let json = stdout_json(out.get_output());
    assert_eq!(json["hosts"].as_array().unwrap().len(), 3);
}

#[test]
fn json_for_every_fixture_matches_the_contract_and_the_library() {
    for case in CASES {
        let out = scan(case).arg("--json").output().unwrap();
        let json = stdout_json(&out);
        let obj = json.as_object().expect("one JSON object");
        for key in ["hosts", "users", "diagnostics"] {
            assert!(obj[key].is_array(), "{case}: top-level `{key}` array");
        }
        for h in json["hosts"].as_array().unwrap() {
            for key in ["name", "root", "found_by", "files"] {
                assert!(h.get(key).is_some(), "{case}: host without {key}: {h}");
            }
        }
        for u in json["users"].as_array().unwrap() {
            for key in [
                "name",
                "status",
                "hosts",
                "definitions",
                "common",
                "differing",
            ] {
                assert!(u.get(key).is_some(), "{case}: user without {key}: {u}");
            }
            for d in u["definitions"].as_array().unwrap() {
                for key in ["host", "file", "line", "column", "attrs"] {
                    assert!(
                        d.get(key).is_some(),
                        "{case}: definition without {key}: {d}"
                    );
                }
            }
        }
        let mut errors = 0;
        for d in json["diagnostics"].as_array().unwrap() {
            for key in ["severity", "code", "file", "line", "column", "message"] {
                assert!(
                    d.get(key).is_some(),
                    "{case}: diagnostic without {key}: {d}"
                );
            }
            if d["severity"] == "error" {
                errors += 1;
            }
        }
        // Exit 1 exactly when there is an error; never 0 after one.
        let expected = if errors > 0 { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{case}: {errors} errors, stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The binary prints what the library reports.
        let lib = clan_migrate::scan(
            &fixture(case),
            &clan_migrate::ScanOptions::default(),
            &clan_migrate::Silent,
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::to_value(&lib).unwrap(),
            "{case}: CLI and library disagree"
        );
    }
}

#[test]
fn json_keeps_warnings_off_stderr() {
    // dynamic-users has warnings only: in the JSON, not on stderr.
    let out = scan("dynamic-users").arg("--json").assert().success();
    let out = out.get_output();
    let json = stdout_json(out);
    assert!(!json["diagnostics"].as_array().unwrap().is_empty());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The human report shows them on stderr, stdout stays data.
    scan("dynamic-users")
        .assert()
        .success()
        .stderr(predicate::str::contains("hosts/alpha/default.nix:17:3"))
        .stderr(predicate::str::contains("computed"))
        .stdout(predicate::str::contains("hosts/alpha/default.nix:17:3").not());
}

#[test]
fn broken_file_exits_1_with_the_location() {
    let out = scan("broken-file").assert().code(1);
    let out = out.get_output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hosts/beta/users.nix:6:17"), "{stderr}");
    assert!(stderr.contains("syntax error"), "{stderr}");
    // The report is still printed.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 hosts"), "{stdout}");
    assert!(stdout.contains("1 errors"), "{stdout}");

    // With --json: still exit 1, the error on stderr and in the JSON.
    let out = scan("broken-file").arg("--json").assert().code(1);
    let out = out.get_output();
    assert!(String::from_utf8_lossy(&out.stderr).contains("hosts/beta/users.nix:6:17"));
    let json = stdout_json(out);
    assert!(
        json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "parse-error" && d["line"] == 6 && d["column"] == 17)
    );
}

#[test]
fn quiet_prints_only_errors() {
    // Warnings are dropped, errors stay.
    scan("dynamic-users")
        .arg("-q")
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    scan("broken-file")
        .arg("--quiet")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("hosts/beta/users.nix:6:17"));
}

#[test]
fn missing_import_exits_1() {
    scan("imports")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("hosts/gamma/default.nix:6:5"))
        .stderr(predicate::str::contains("missing.nix"));
}

#[test]
fn eval_flake_without_eval_finds_no_hosts_and_exits_1() {
    let out = scan("eval-flake").arg("--json").assert().code(1);
    let json = stdout_json(out.get_output());
    assert_eq!(json["hosts"], Value::Array(vec![]));
    for u in json["users"].as_array().unwrap() {
        assert_eq!(u["hosts"], Value::Array(vec![]), "{}", u["name"]);
    }
    scan("eval-flake")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no hosts found"));
}

#[test]
fn eval_flag_on_the_cli() {
    if !common::require_tool("nix") {
        return;
    }
    let tmp = common::git_fixture("eval-flake");
    let out = cmd()
        .arg("scan")
        .arg(tmp.path())
        .args(["--eval", "--json"])
        .assert()
        .success();
    let json = stdout_json(out.get_output());
    let hosts: Vec<(&str, &str)> = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["found_by"].as_str().unwrap()))
        .collect();
    assert_eq!(hosts, [("alpha", "eval"), ("beta", "eval")]);
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

#[test]
fn nonexistent_dir_exits_1_with_a_message_and_no_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-repo");
    for json in [false, true] {
        let mut c = cmd();
        c.arg("scan").arg(&missing);
        if json {
            c.arg("--json");
        }
        c.assert()
            .code(1)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(missing.to_string_lossy().as_ref()))
            .stderr(predicate::str::contains("no such directory"));
    }
}

#[test]
fn file_instead_of_dir_exits_1() {
    let file = fixture("example").join("flake.nix");
    cmd()
        .arg("scan")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("not a directory"));
}

#[test]
fn host_flag_with_missing_path_exits_1_naming_the_host() {
    let out = scan("flake-literal")
        .args(["--host", "web=hosts/nope"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr);
    assert!(stderr.contains("`web`"), "{stderr}");
    assert!(stderr.contains("hosts/nope"), "{stderr}");

    let out = scan("flake-literal")
        .args(["--host", "web=hosts/nope", "--json"])
        .assert()
        .code(1);
    let json = stdout_json(out.get_output());
    let d = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .expect("an error diagnostic");
    assert!(d["message"].as_str().unwrap().contains("web"), "{d}");
}

#[test]
fn host_flag_without_equals_is_a_usage_error() {
    // clap rejects the value: exit 2, usage message on stderr, no report.
    for bad in ["web", "=hosts/web", "web="] {
        scan("flake-literal")
            .args(["--host", bad])
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("--host"))
            .stderr(predicate::str::contains("NAME=PATH"));
    }
}

#[test]
fn unknown_flag_and_bad_color_are_usage_errors() {
    scan("example")
        .arg("--no-such-flag")
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
    scan("example")
        .args(["--color", "sometimes"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
    scan("example")
        .args(["--min-hosts", "many"])
        .assert()
        .code(2);
}

#[test]
fn host_flag_overrides_discovery() {
    let out = scan("flake-literal")
        .args(["--host", "web=hosts/web", "--json"])
        .assert()
        .success();
    let json = stdout_json(out.get_output());
    let hosts = json["hosts"].as_array().unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["mail", "storage.home", "web"],
        "replaced, not added"
    );
    for h in hosts {
        let expected = if h["name"] == "web" { "flag" } else { "flake" };
        assert_eq!(h["found_by"], expected, "{}", h["name"]);
    }
    let web = hosts.iter().find(|h| h["name"] == "web").unwrap();
    assert_eq!(web["root"], "hosts/web/default.nix");
    assert!(
        web["files"]
            .as_array()
            .unwrap()
            .contains(&Value::from("hosts/web/default.nix"))
    );
}

#[test]
fn host_flags_add_hosts() {
    let out = scan("flake-literal")
        .args(["--host", "extra=hosts/mail/default.nix"])
        .args(["--host", "other=hosts/storage", "--json"])
        .assert()
        .success();
    let json = stdout_json(out.get_output());
    let found: Vec<(&str, &str)> = json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["found_by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            ("extra", "flag"),
            ("mail", "flake"),
            ("other", "flag"),
            ("storage.home", "flake"),
            ("web", "flake"),
        ]
    );
}

// ---------------------------------------------------------------------------
// Help
// ---------------------------------------------------------------------------

#[test]
fn help_documents_exit_codes() {
    for args in [&["--help"][..], &["scan", "--help"][..]] {
        let out = cmd().args(args).assert().success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout);
        assert!(stdout.contains("Exit codes"), "{args:?}:\n{stdout}");
        for code in ["0", "1", "2"] {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{args:?}: exit code {code} not documented:\n{stdout}"
            );
        }
    }
    cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_subcommand_is_a_usage_error() {
    cmd().assert().code(2).stdout(predicate::str::is_empty());
}

// ---------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------

#[test]
fn color_never_has_no_escape_bytes() {
    for case in ["example", "broken-file", "dynamic-users"] {
        let out = scan(case).args(["--color", "never"]).output().unwrap();
        assert!(!has_esc(&out.stdout), "{case}: ESC on stdout");
        assert!(!has_esc(&out.stderr), "{case}: ESC on stderr");
    }
}

#[test]
fn no_color_env_has_no_escape_bytes() {
    for case in ["example", "broken-file", "dynamic-users"] {
        let out = scan(case).env("NO_COLOR", "1").output().unwrap();
        assert!(!has_esc(&out.stdout), "{case}: ESC on stdout");
        assert!(!has_esc(&out.stderr), "{case}: ESC on stderr");
    }
}

#[test]
fn color_always_colours_even_off_a_terminal() {
    // Proves the ESC checks above can fail.
    let out = scan("example")
        .args(["--color", "always"])
        .output()
        .unwrap();
    assert!(has_sgr(&out.stdout), "--color always must colour stdout");
    let json = scan("example")
        .args(["--color", "always", "--json"])
        .output()
        .unwrap();
    assert!(!has_esc(&json.stdout), "JSON is never coloured");
}

/// Runs the binary with stdout (and, if asked, stderr) on a pseudo
/// terminal, so `--color auto` sees a terminal. Returns the exit code, what
/// the terminal received, and the piped stderr (empty if on the terminal).
fn run_on_pty(
    args: &[&str],
    envs: &[(&str, &str)],
    stderr_on_pty: bool,
) -> (i32, Vec<u8>, Vec<u8>) {
    let (mut m, mut s) = (-1, -1);
    // SAFETY: openpty writes two fresh descriptors into `m` and `s`; the
    // optional name, termios and winsize arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };

    let mut c = std::process::Command::new(BIN);
    c.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env("TERM", "xterm-256color")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().unwrap()));
    if stderr_on_pty {
        c.stderr(Stdio::from(slave));
    } else {
        c.stderr(Stdio::piped());
        drop(slave);
    }
    let mut child = c.spawn().unwrap();
    // Close the parent's copies of the terminal's slave side, so reading
    // the master ends (EIO) once the child exits.
    drop(c);
    let reader = std::thread::spawn(move || {
        let mut f = std::fs::File::from(master);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match f.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading the pty: {e}"),
            }
        }
        buf
    });
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_end(&mut stderr).unwrap();
    }
    let status = child.wait().unwrap();
    let tty = reader.join().unwrap();
    (status.code().unwrap_or(-1), tty, stderr)
}

fn fixture_arg(case: &str) -> String {
    fixture(case).to_string_lossy().into_owned()
}

#[test]
fn on_a_terminal_auto_colours_but_never_and_no_color_do_not() {
    let dir = fixture_arg("example");
    let (code, tty, _) = run_on_pty(&["scan", &dir], &[], false);
    assert_eq!(code, 0);
    assert!(
        has_sgr(&tty),
        "auto colours on a terminal (checks the pty harness): {}",
        String::from_utf8_lossy(&tty)
    );
    assert!(String::from_utf8_lossy(&tty).contains("repeated"));

    let (code, tty, stderr) = run_on_pty(&["scan", &dir, "--color", "never"], &[], false);
    assert_eq!(code, 0);
    assert!(!has_esc(&tty), "{}", String::from_utf8_lossy(&tty));
    assert!(!has_esc(&stderr));

    let (code, tty, stderr) = run_on_pty(&["scan", &dir], &[("NO_COLOR", "1")], false);
    assert_eq!(code, 0);
    assert!(!has_esc(&tty), "{}", String::from_utf8_lossy(&tty));
    assert!(!has_esc(&stderr));

    // An empty NO_COLOR does not count (no-color.org).
    let (_, tty, _) = run_on_pty(&["scan", &dir], &[("NO_COLOR", "")], false);
    assert!(has_sgr(&tty));
}

#[test]
fn diagnostics_on_a_terminal_are_uncoloured_with_never_and_no_color() {
    // stderr on the terminal: the diagnostics (and a progress bar, whose
    // line-erase sequences are not colour) are drawn there.
    let dir = fixture_arg("broken-file");
    let (code, tty, _) = run_on_pty(&["scan", &dir], &[], true);
    assert_eq!(code, 1);
    let text = String::from_utf8_lossy(&tty);
    assert!(text.contains("hosts/beta/users.nix:6:17"), "{text}");
    assert!(
        has_sgr(&tty),
        "auto colours diagnostics on a terminal: {text}"
    );

    for (args, envs) in [
        (vec!["scan", &dir, "--color", "never"], vec![]),
        (vec!["scan", &dir], vec![("NO_COLOR", "1")]),
    ] {
        let (code, tty, _) = run_on_pty(&args, &envs, true);
        assert_eq!(code, 1);
        let text = String::from_utf8_lossy(&tty);
        assert!(text.contains("hosts/beta/users.nix:6:17"), "{text}");
        assert!(
            !has_sgr(&tty),
            "{args:?} {envs:?}: colour on a terminal: {text:?}"
        );
    }

    // Quiet: no progress bar either, so no escape bytes at all.
    let (code, tty, _) = run_on_pty(&["scan", &dir, "--color", "never", "-q"], &[], true);
    assert_eq!(code, 1);
    assert!(!has_esc(&tty), "{:?}", String::from_utf8_lossy(&tty));
}

// ---------------------------------------------------------------------------
// Scanning is read-only
// ---------------------------------------------------------------------------

#[test]
fn scanning_never_modifies_the_fixtures() {
    for case in CASES {
        let dir = fixture(case);
        let before = common::tree_fingerprint(&dir);
        let _ = scan(case).output().unwrap();
        let _ = scan(case).arg("--json").output().unwrap();
        assert_eq!(
            common::tree_fingerprint(&dir),
            before,
            "{case}: scan changed the tree"
        );
    }
}

#[test]
fn scanning_a_git_repo_leaves_it_clean() {
    let tmp = common::git_fixture("example");
    common::git(tmp.path(), &["commit", "-q", "-m", "fixture"]);
    let before = common::tree_fingerprint(tmp.path());
    cmd().arg("scan").arg(tmp.path()).assert().success();
    assert_eq!(common::tree_fingerprint(tmp.path()), before);
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--ignored"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(status.status.success());
    assert!(
        status.stdout.is_empty(),
        "git status after scan: {}",
        String::from_utf8_lossy(&status.stdout)
    );
    assert!(Path::new(&tmp.path().join(".git")).is_dir());
}

#[test]
fn flags_that_contradict_each_other_are_usage_errors() {
    for args in [
        vec!["apply", "--no-commit", "--branch", "x"],
        vec!["scan", "-q", "-v"],
        vec!["plan", "--quiet", "--verbose"],
    ] {
        let mut c = cmd();
        c.args(&args).arg(fixture("example"));
        c.assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("cannot be used with"));
    }
}

#[test]
fn an_explicit_host_settles_a_host_the_flake_could_not_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("hosts/alpha")).unwrap();
    std::fs::write(
        root.join("flake.nix"),
        "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem { modules = self.hostModules; };\n  };\n}\n",
    )
    .unwrap();
    std::fs::write(
        root.join("hosts/alpha/default.nix"),
        "{ ... }:\n{\n  networking.hostName = \"alpha\";\n  users.users.alice.isNormalUser = true;\n}\n",
    )
    .unwrap();
    // Guessed from the directory, with a warning saying so.
    let guessed = cmd().args(["scan", "--json"]).arg(root).output().unwrap();
    let report = stdout_json(&guessed);
    assert!(
        report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "host-module-unresolved"),
        "{report}"
    );
    // Named explicitly: settled, no warning left.
    let explicit = cmd()
        .args(["scan", "--json", "--host", "alpha=hosts/alpha"])
        .arg(root)
        .output()
        .unwrap();
    let report = stdout_json(&explicit);
    assert_eq!(report["hosts"][0]["found_by"], "flag");
    assert!(
        report["diagnostics"].as_array().unwrap().is_empty(),
        "{report}"
    );
}
