//! How much each command prints: `-q` prints nothing but errors, with
//! the same exit codes; `apply`'s summary stays short on a large fleet
//! unless `-v` asks for all of it.

mod common;

use common::Sandbox;

/// A committed fleet of `hosts` hosts (`hosts/h<i>/default.nix`), each
/// defining the same `users` people, with a password that differs per
/// host (so something stays on every host, and the summary says why).
fn fleet(hosts: usize, users: usize) -> Sandbox {
    let sb = Sandbox::empty();
    for h in 0..hosts {
        let mut text = format!(
            "{{ pkgs, ... }}:\n{{\n  networking.hostName = \"h{h}\";\n  system.stateVersion = \"24.05\";\n"
        );
        for u in 0..users {
            text.push_str(&format!(
                "  users.users.u{u:03} = {{\n    isNormalUser = true;\n    extraGroups = [ \"wheel\" ];\n    hashedPassword = \"h{h}-{u}\";\n  }};\n"
            ));
        }
        text.push_str("}\n");
        sb.write(&format!("hosts/h{h}/default.nix"), &text);
    }
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-q", "-m", "NixOS configuration"]);
    sb
}

const USERS: usize = 120;

fn commits_on_branch(sb: &Sandbox) -> usize {
    sb.git(&["rev-list", "--count", "main..clan-migrate/users"])
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn apply_summary_stays_short_on_a_large_fleet() {
    let sb = fleet(3, USERS);
    let run = sb.run(&["apply", ".", "--color", "never"]);
    run.expect_code(0);
    let lines = run.stdout.lines().count();
    assert!(lines < 100, "{lines} lines:\n{}", run.stdout);
    // The first users and commits, then how many more.
    assert!(run.stdout.starts_with("u000 (users.users) on h0, h1, h2\n"));
    assert!(
        run.stdout.contains("users: share u000 across h0, h1, h2"),
        "{}",
        run.stdout
    );
    let more = |what: &str| {
        run.stdout
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("... and ")?
                    .strip_suffix(&format!(" more {what} (-v shows all)"))?
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no `... and N more {what}`:\n{}", run.stdout))
    };
    let shown_users = run
        .stdout
        .lines()
        .filter(|l| l.ends_with("(users.users) on h0, h1, h2"))
        .count();
    assert_eq!(shown_users + more("users"), USERS);
    let shown_commits = run
        .stdout
        .lines()
        .filter(|l| l.contains(" users: share u"))
        .count();
    assert_eq!(shown_commits + more("commits"), USERS);
    assert!(
        run.stdout
            .contains(&format!("({USERS} commits on top of main)")),
        "{}",
        run.stdout
    );
    assert_eq!(commits_on_branch(&sb), USERS);
}

#[test]
fn apply_verbose_shows_every_user_and_commit() {
    let sb = fleet(3, USERS);
    let run = sb.run(&["apply", ".", "--color", "never", "-v"]);
    run.expect_code(0);
    assert!(!run.stdout.contains("more users"), "{}", run.stdout);
    for u in 0..USERS {
        let name = format!("u{u:03}");
        assert!(
            run.stdout
                .contains(&format!("{name} (users.users) on h0, h1, h2\n")),
            "{name} missing"
        );
        assert!(
            run.stdout
                .contains(&format!("users: share {name} across h0, h1, h2\n")),
            "commit of {name} missing"
        );
    }
}

#[test]
fn quiet_apply_prints_nothing_and_still_commits() {
    let sb = fleet(3, USERS);
    let run = sb.run(&["apply", ".", "-q"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");
    assert_eq!(commits_on_branch(&sb), USERS);
    // An error still shows, with its exit code: the branch exists now.
    let again = sb.run(&["apply", ".", "-q"]);
    again.expect_code(1);
    assert_eq!(again.stdout, "");
    assert!(again.stderr.starts_with("error: "), "{}", again.stderr);
}

#[test]
fn quiet_prints_nothing_but_errors_on_every_command() {
    let sb = fleet(2, 3);
    let quiet = |args: &[&str], code: i32| {
        let mut all = args.to_vec();
        all.push("-q");
        let run = sb.run(&all);
        run.expect_code(code);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr, "", "{args:?}");
    };
    quiet(&["scan", "."], 0);
    quiet(&["plan", "."], 0);
    quiet(&["plan", ".", "--stat"], 0);
    // The CI gate: pending changes say so by the exit code alone.
    quiet(&["plan", ".", "--check"], 2);
    quiet(&["apply", "."], 0);
    quiet(&["verify", "."], 0);
    quiet(&["plan", ".", "--check"], 0);
}

#[test]
fn quiet_keeps_errors_on_stderr() {
    let sb = fleet(2, 3);
    // A file that does not parse: every command fails, saying where.
    sb.write(
        "hosts/h1/default.nix",
        "{\n  system.stateVersion = \"24.05\";\n  users.users.u000.uid = 1\n}\n",
    );
    sb.git(&["commit", "-q", "-am", "h1: broken"]);
    for cmd in ["scan", "plan", "apply"] {
        let run = sb.run(&[cmd, ".", "-q"]);
        run.expect_code(1);
        assert_eq!(run.stdout, "", "{cmd}");
        assert!(
            run.stderr.contains("hosts/h1/default.nix:4:"),
            "{cmd}: {}",
            run.stderr
        );
    }
    // A verification that fails shows its differences on stderr.
    let sb = fleet(2, 3);
    sb.write(
        "hosts/h1/default.nix",
        &sb.read("hosts/h1/default.nix")
            .replace("\"wheel\"", "\"audio\""),
    );
    sb.git(&["commit", "-q", "-am", "u*: audio on h1"]);
    let run = sb.run(&["verify", ".", "-q"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("differences"), "{}", run.stderr);
}
