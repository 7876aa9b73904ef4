//! What the binary says about itself: `--help`, the man page and the shell
//! completion scripts, all drawn from the one clap definition.

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_clan-migrate");
const SUBCOMMANDS: [&str; 6] = ["scan", "plan", "apply", "verify", "completions", "man"];
const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
        String::from_utf8(out.stderr).expect("UTF-8 errors"),
    )
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn help_is_stable() {
    let (code, top, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in SUBCOMMANDS {
        assert!(top.contains(sub), "--help lists `{sub}`:\n{top}");
    }
    snapshot("help", &top);
    let (code, plan, _) = run(&["plan", "--help"]);
    assert_eq!(code, 0);
    snapshot("help-plan", &plan);
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    for shell in SHELLS {
        let (code, script, err) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(err.is_empty(), "{shell}: {err}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} completes `{sub}`");
        }
        // The flags of a subcommand are completed too, not only its name.
        assert!(script.contains("--json"), "{shell} completes --json");
    }
}

#[test]
fn the_bash_script_is_valid_bash() {
    let Ok(bash) = which("bash") else {
        return;
    };
    let (_, script, _) = run(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("clan-migrate.bash");
    std::fs::write(&path, script).expect("written");
    let status = Command::new(bash)
        .arg("-n")
        .arg(&path)
        .status()
        .expect("bash runs");
    assert!(status.success(), "bash -n accepts the completion script");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let (code, out, err) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn man_page_header_is_stable() {
    let (code, page, err) = run(&["man"]);
    assert_eq!(code, 0, "{err}");
    let header: Vec<&str> = page.lines().take(8).collect();
    snapshot("man-header", &header.join("\n"));
    assert!(page.contains(".SH SUBCOMMANDS"), "a section lists them");
    for sub in ["scan", "plan", "apply", "verify"] {
        assert!(page.contains(sub), "the page names `{sub}`");
    }
}

#[test]
fn each_subcommand_has_its_own_page() {
    let (code, page, err) = run(&["man", "plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        page.contains(".TH clan-migrate-plan 1"),
        "{}",
        page.lines().take(4).collect::<Vec<_>>().join("\n")
    );
    assert!(
        page.contains("\\-\\-check"),
        "plan's own flags are on its page"
    );
    let (code, _, err) = run(&["man", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn the_man_page_renders() {
    let Ok(groff) = which("groff") else {
        return;
    };
    let (_, page, _) = run(&["man"]);
    let mut child = Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("page written");
    let out = child.wait_with_output().expect("groff finishes");
    assert!(out.status.success());
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.trim().is_empty(), "groff warns: {warnings}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("SYNOPSIS"));
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    for args in [&["completions", "zsh"][..], &["man"][..]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("it ends");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
