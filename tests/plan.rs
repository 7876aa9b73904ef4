//! `clan-migrate plan`: the summary and unified diff it prints for every
//! fixture (snapshotted as `tests/snapshots/plan-<case>.snap`), that
//! `git apply` takes that diff, `--stat`, `--check` exit codes, `--user`,
//! that planning touches nothing, and the library API behind it.
//!
//! The snapshots were reviewed by hand for NixOS semantics; the facts that
//! review relies on are also asserted one by one below, so accepting a
//! snapshot update cannot quietly accept a regression.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clan_migrate::plan::{self, PlanOptions};
use clan_migrate::{ScanOptions, Silent};

use common::{
    BLOCKED_CASES, NOTHING_TO_DO_CASES, REPEATED_CASES, Run, Sandbox, diff_part, diff_sections,
    fixture, tree_fingerprint,
};

/// Runs one check per fixture, as one `#[test]` each, so a single fixture's
/// known bug can be `#[ignore]`d without hiding the others.
macro_rules! per_case {
    ($module:ident, $check:path; $($(#[$attr:meta])* $name:ident => $case:literal,)*) => {
        mod $module {
            $(
                $(#[$attr])*
                #[test]
                fn $name() {
                    $check($case);
                }
            )*
        }
    };
}

/// `clan-migrate plan <fixture> --color never <extra>`, run on the fixture
/// itself (plan must not write, which `plan_touches_nothing` checks).
fn plan_fixture(case: &str, extra: &[&str]) -> Run {
    let sb = Sandbox::empty();
    let dir = fixture(case);
    let dir = dir.to_str().unwrap();
    let mut args = vec!["plan", dir, "--color", "never"];
    args.extend_from_slice(extra);
    sb.run(&args)
}

/// The summary part of `plan`'s output (everything before the diff).
fn summary_part(stdout: &str) -> &str {
    match stdout.find("diff --git ") {
        Some(i) => &stdout[..i],
        None => stdout,
    }
}

/// The library's plan of `repo` (all users, or `users`).
fn library_plan(repo: &Path, users: &[&str]) -> plan::Plan {
    let opts = PlanOptions {
        scan: ScanOptions::default(),
        users: users.iter().map(|u| u.to_string()).collect(),
        to: Default::default(),
    };
    plan::plan(repo, &opts, &Silent).unwrap_or_else(|e| panic!("plan {}: {e}", repo.display()))
}

// ---------------------------------------------------------------------------
// Snapshots of the whole output, one per fixture with repeated users
// ---------------------------------------------------------------------------

fn snapshot(case: &str) {
    let run = plan_fixture(case, &[]);
    run.expect_code(0);
    assert!(
        !run.stdout.contains('\x1b'),
        "{case}: --color never printed escape codes"
    );
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(format!("plan-{case}"), run.stdout);
    });
}

per_case! { snapshots, crate::snapshot;
    clan_inherited => "clan-inherited",
    colmena => "colmena",
    colmena_hive => "colmena-hive",
    computed_hosts => "computed-hosts",
    dir_conventions => "dir-conventions",
    dynamic_users => "dynamic-users",
    example => "example",
    flake_helper => "flake-helper",
    flake_literal => "flake-literal",
    flake_parts => "flake-parts",
    helper_modules => "helper-modules",
    let_host_set => "let-host-set",
    lite_config => "lite-config",
    machines_dir => "machines-dir",
    module_set => "module-set",
    nixops => "nixops",
    read_dir => "read-dir",
    read_dir_modules => "read-dir-modules",
    service => "service",
    service_bare => "service-bare",
    service_flake_parts => "service-flake-parts",
    service_inline => "service-inline",
    shared_first => "shared-first",
    spellings => "spellings",
    starter_configs => "starter-configs",
    traps => "traps",
    unbuilt_machine => "unbuilt-machine",
}

// ---------------------------------------------------------------------------
// --check and exit codes
// ---------------------------------------------------------------------------

#[test]
fn check_exits_2_while_anything_is_pending_with_the_same_output() {
    for case in REPEATED_CASES {
        let plain = plan_fixture(case, &[]);
        plain.expect_code(0);
        let check = plan_fixture(case, &["--check"]);
        check.expect_code(2);
        assert_eq!(
            plain.stdout, check.stdout,
            "{case}: --check must print what plan prints"
        );
        let stat = plan_fixture(case, &["--check", "--stat"]);
        stat.expect_code(2);
    }
}

#[test]
fn check_exits_0_when_nothing_is_pending() {
    for case in NOTHING_TO_DO_CASES {
        for extra in [&[][..], &["--check"][..], &["--check", "--stat"][..]] {
            let run = plan_fixture(case, extra);
            run.expect_code(0);
            assert!(
                run.stdout.starts_with("Nothing to do"),
                "{case} {extra:?}: {}",
                run.stdout
            );
            assert!(
                !run.stdout.contains("diff --git"),
                "{case}: an empty plan prints no diff:\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn scan_errors_exit_1_and_plan_nothing() {
    let expected = [
        ("broken-file", "hosts/beta/users.nix:6:17"),
        ("imports", "hosts/gamma/default.nix:6:5"),
    ];
    assert_eq!(expected.map(|(c, _)| c), BLOCKED_CASES);
    for (case, location) in expected {
        for extra in [&[][..], &["--check"][..], &["--stat"][..]] {
            let run = plan_fixture(case, extra);
            run.expect_code(1);
            assert!(
                run.stdout.is_empty(),
                "{case} {extra:?}: nothing may be planned, but stdout has:\n{}",
                run.stdout
            );
            assert!(
                run.stderr.contains(location),
                "{case}: the error must name {location}:\n{}",
                run.stderr
            );
            assert!(
                run.stderr.contains("nothing is planned"),
                "{case}: {}",
                run.stderr
            );
        }
    }
    // The library refuses the same way.
    for case in BLOCKED_CASES {
        let opts = PlanOptions {
            scan: ScanOptions::default(),
            users: Vec::new(),
            to: Default::default(),
        };
        match plan::plan(&fixture(case), &opts, &Silent) {
            Err(plan::PlanError::Blocked { diagnostics }) => assert!(!diagnostics.is_empty()),
            other => panic!("{case}: expected PlanError::Blocked, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// The diff: unified, a/ b/ prefixed, and `git apply` takes it
// ---------------------------------------------------------------------------

fn diff_is_unified_and_git_applies_it(case: &str) {
    let sb = Sandbox::tracked(case);
    let before = sb.files();
    let run = sb.run(&["plan", ".", "--color", "never"]);
    run.expect_code(0);
    let diff = diff_part(&run.stdout);
    assert!(!diff.is_empty(), "{case}: no diff in:\n{}", run.stdout);

    // Format: every section is a git-style file diff with a/ and b/ paths.
    let sections = diff_sections(diff);
    let expected = library_plan(&sb.repo, &[]).files();
    let expected_paths: Vec<String> = expected
        .iter()
        .map(|f| f.path.to_str().unwrap().to_string())
        .collect();
    let printed: Vec<String> = sections.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(
        printed, expected_paths,
        "{case}: the diff must have one section per changed file, in order"
    );
    for ((path, text), change) in sections.iter().zip(&expected) {
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], format!("diff --git a/{path} b/{path}"), "{case}");
        let new_file = change.before.is_none();
        let (minus, plus) = if new_file {
            assert_eq!(lines[1], "new file mode 100644", "{case} {path}");
            assert!(
                path.starts_with("users/"),
                "{case}: a new file outside users/: {path}"
            );
            (2, 3)
        } else {
            (1, 2)
        };
        let old = if new_file {
            "--- /dev/null".to_string()
        } else {
            format!("--- a/{path}")
        };
        assert_eq!(lines[minus], old, "{case} {path}");
        assert_eq!(lines[plus], format!("+++ b/{path}"), "{case} {path}");
        assert!(
            lines[plus + 1].starts_with("@@ -"),
            "{case} {path}: {}",
            lines[plus + 1]
        );
        // The section is exactly the library's rendering of that file.
        assert_eq!(text, &plan::unified_diff(change), "{case} {path}");
    }
    assert!(
        expected.iter().any(|f| f.before.is_none()),
        "{case}: a plan with repeated users creates users/<name>/ files"
    );

    // git takes the diff, new files included, and it yields the plan's files.
    let patch = sb.home.join("plan.diff");
    std::fs::write(&patch, diff).unwrap();
    let patch = patch.to_str().unwrap();
    let check = sb.git_cmd(&["apply", "--check", patch]).output().unwrap();
    assert!(
        check.status.success(),
        "{case}: git apply --check rejects the diff: {}\n{diff}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(sb.files(), before, "{case}: git apply --check wrote files");
    sb.git(&["apply", patch]);
    let after = sb.files();
    for change in &expected {
        let got = after.get(&change.path).map(|b| String::from_utf8_lossy(b));
        assert_eq!(
            got.as_deref(),
            change.after.as_deref(),
            "{case}: {} after git apply differs from the plan",
            change.path.display()
        );
    }
    let changed: BTreeSet<&PathBuf> = expected.iter().map(|c| &c.path).collect();
    for (path, bytes) in &before {
        if !changed.contains(path) {
            assert_eq!(
                after.get(path),
                Some(bytes),
                "{case}: {} is not in the diff but changed",
                path.display()
            );
        }
    }
}

per_case! { git_apply, crate::diff_is_unified_and_git_applies_it;
    clan_inherited => "clan-inherited",
    colmena => "colmena",
    colmena_hive => "colmena-hive",
    computed_hosts => "computed-hosts",
    dir_conventions => "dir-conventions",
    dynamic_users => "dynamic-users",
    example => "example",
    flake_helper => "flake-helper",
    flake_literal => "flake-literal",
    flake_parts => "flake-parts",
    helper_modules => "helper-modules",
    let_host_set => "let-host-set",
    lite_config => "lite-config",
    machines_dir => "machines-dir",
    module_set => "module-set",
    nixops => "nixops",
    read_dir => "read-dir",
    read_dir_modules => "read-dir-modules",
    shared_first => "shared-first",
    spellings => "spellings",
    starter_configs => "starter-configs",
    traps => "traps",
    unbuilt_machine => "unbuilt-machine",
}

#[test]
fn a_file_without_final_newline_still_applies() {
    let sb = Sandbox::copy("example");
    for host in ["alpha", "beta"] {
        let rel = format!("hosts/{host}/docker.nix");
        let text = sb.read(&rel);
        sb.write(&rel, text.trim_end());
    }
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["add", "-A"]);
    let run = sb.run(&["plan", ".", "--color", "never"]);
    run.expect_code(0);
    let diff = diff_part(&run.stdout);
    assert!(
        diff.contains("\\ No newline at end of file"),
        "the last line of docker.nix changes context: {diff}"
    );
    let patch = sb.home.join("plan.diff");
    std::fs::write(&patch, diff).unwrap();
    sb.git(&["apply", patch.to_str().unwrap()]);
    assert!(
        !sb.read("hosts/alpha/docker.nix")
            .contains("users.users.bob")
    );
}

// ---------------------------------------------------------------------------
// --stat
// ---------------------------------------------------------------------------

#[test]
fn stat_prints_one_line_per_file_matching_the_diff() {
    for case in REPEATED_CASES {
        let full = plan_fixture(case, &[]);
        let stat = plan_fixture(case, &["--stat"]);
        stat.expect_code(0);
        assert!(
            stat.stdout.starts_with(summary_part(&full.stdout)),
            "{case}: --stat keeps the summary:\n{}",
            stat.stdout
        );
        assert!(
            !stat.stdout.contains("diff --git") && !stat.stdout.contains("@@ "),
            "{case}: --stat prints no diff:\n{}",
            stat.stdout
        );
        let sections = diff_sections(diff_part(&full.stdout));
        let stat_lines: Vec<&str> = stat
            .stdout
            .lines()
            .filter(|l| l.starts_with(' ') && l.contains(" | "))
            .collect();
        assert_eq!(
            stat_lines.len(),
            sections.len(),
            "{case}: one stat line per file:\n{}",
            stat.stdout
        );
        for ((path, text), line) in sections.iter().zip(&stat_lines) {
            let added = text
                .lines()
                .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
                .count();
            let removed = text
                .lines()
                .filter(|l| l.starts_with('-') && !l.starts_with("---"))
                .count();
            let (name, counts) = line.trim().split_once(" | ").unwrap();
            assert_eq!(name.trim(), path, "{case}");
            assert_eq!(
                counts.trim(),
                format!("+{added} -{removed}"),
                "{case} {path}"
            );
        }
        let steps = library_plan(&fixture(case), &[]).steps.len();
        let total = stat.stdout.lines().last().unwrap_or_default().trim();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        assert!(
            total.starts_with(&format!(
                "{}, {} changed",
                plural(steps, "user", "users"),
                plural(sections.len(), "file", "files")
            )),
            "{case}: the last line totals users and files: {total:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Planning touches nothing
// ---------------------------------------------------------------------------

#[test]
fn plan_touches_nothing() {
    for case in REPEATED_CASES
        .iter()
        .chain(&NOTHING_TO_DO_CASES)
        .chain(&BLOCKED_CASES)
    {
        let sb = Sandbox::committed(case);
        // `git status` may refresh the index: settle it before measuring.
        let status = sb.status();
        let files = tree_fingerprint(&sb.repo);
        let head = sb.rev("HEAD");
        for extra in [
            &[][..],
            &["--check"][..],
            &["--stat"][..],
            &["--check", "--stat"][..],
        ] {
            let mut args = vec!["plan", ".", "--color", "never"];
            args.extend_from_slice(extra);
            let git_dir = tree_fingerprint(&sb.repo.join(".git"));
            let run = sb.run(&args);
            assert_eq!(
                tree_fingerprint(&sb.repo.join(".git")),
                git_dir,
                "{case} {extra:?}: plan wrote to .git"
            );
            assert!(matches!(run.code, Some(0..=2)), "{case} {extra:?}: {run:?}");
            assert_eq!(
                tree_fingerprint(&sb.repo),
                files,
                "{case} {extra:?}: plan wrote to the work tree"
            );
            assert_eq!(sb.status(), status, "{case}");
            assert_eq!(sb.rev("HEAD"), head, "{case}");
        }
    }
}

// ---------------------------------------------------------------------------
// The summary before the diff: per user, hosts, what moves, what stays, why
// ---------------------------------------------------------------------------

/// `(user, option, hosts, new file)` of every `NAME (OPTION) on HOSTS` /
/// `  to FILE` pair in a summary.
fn summary_moves(summary: &str) -> Vec<(String, String, String, String)> {
    let lines: Vec<&str> = summary.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(' ') || line.starts_with("skipped ") || line.starts_with("Nothing") {
            continue;
        }
        let Some((head, hosts)) = line.split_once(") on ") else {
            continue;
        };
        let (user, option) = head.split_once(" (").unwrap();
        let to = lines
            .get(i + 1)
            .and_then(|l| l.strip_prefix("  to "))
            .unwrap_or_else(|| panic!("`{line}` is not followed by `  to FILE`"));
        out.push((
            user.to_string(),
            option.to_string(),
            hosts.to_string(),
            to.to_string(),
        ));
    }
    out
}

#[test]
fn summary_comes_first_and_names_every_move_of_the_diff() {
    for case in REPEATED_CASES {
        let run = plan_fixture(case, &[]);
        let summary = summary_part(&run.stdout);
        assert!(
            !summary.is_empty() && summary.ends_with("\n\n"),
            "{case}: the summary precedes the diff, separated by a blank line:\n{}",
            run.stdout
        );
        let p = library_plan(&fixture(case), &[]);
        let expected: Vec<(String, String, String, String)> = p
            .steps
            .iter()
            .flat_map(|s| &s.moves)
            .map(|m| {
                (
                    m.user.clone(),
                    m.option.as_str().to_string(),
                    m.hosts.join(", "),
                    m.new_file.to_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(summary_moves(summary), expected, "{case}:\n{summary}");
        let new_files: BTreeSet<String> = diff_sections(diff_part(&run.stdout))
            .into_iter()
            .filter(|(_, text)| text.contains("\nnew file mode"))
            .map(|(p, _)| p)
            .collect();
        let targets: BTreeSet<String> = expected.iter().map(|m| m.3.clone()).collect();
        assert_eq!(
            new_files, targets,
            "{case}: the new files of the diff are the summary's targets"
        );
        for (user, _, _, to) in &expected {
            assert!(
                to == &format!("users/{user}/default.nix")
                    || to == &format!("users/{user}/home.nix"),
                "{case}: {user} goes to {to}"
            );
        }
        // Every move says what moves.
        for block in summary.split("\n").collect::<Vec<_>>().windows(3) {
            if block[1].starts_with("  to ") {
                assert!(
                    block[2].starts_with("  moves:  "),
                    "{case}: `{}` must be followed by what moves",
                    block[1]
                );
            }
        }
    }
}

#[test]
fn example_summary_says_what_moves_and_what_stays_and_why() {
    let run = plan_fixture("example", &[]);
    let summary = summary_part(&run.stdout);
    let expected = "\
alice (users.users) on alpha, beta, gamma
  to users/alice/default.nix
  moves:  isNormalUser, description, shell, openssh.authorizedKeys.keys
  moves:  extraGroups (elements common to every host; their order across modules may change)
  stays:  extraGroups: the elements not on every host stay
  stays:  hashedPassword: differs between hosts
alice (home-manager.users) on alpha, beta
  to users/alice/home.nix
  moves:  home.stateVersion, programs.git.enable, programs.git.userName, programs.git.userEmail
bob (users.users) on alpha, beta
  to users/bob/default.nix
  moves:  isNormalUser, extraGroups
root (users.users) on alpha, beta, gamma
  to users/root/default.nix
  moves:  openssh.authorizedKeys.keys

";
    assert_eq!(summary, expected);
}

#[test]
fn summaries_give_the_reason_a_value_stays() {
    let cases = [
        ("dir-conventions", "  stays:  uid: differs between hosts\n"),
        (
            "flake-literal",
            "  stays:  extraGroups on web: it is written inline in flake.nix, which clan-migrate does not edit\n",
        ),
        (
            "traps",
            "  stays:  openssh.authorizedKeys.keys: differs between hosts\n",
        ),
        (
            "spellings",
            "  stays:  openssh on alpha: it is inherited from another value (`inherit (…)`)\n",
        ),
        ("spellings", "skipped heidi (users.users): nothing can move"),
        ("spellings", "skipped judy (users.users): nothing can move"),
        (
            "machines-dir",
            "  stays:  extraGroups: the elements not on every host stay\n",
        ),
    ];
    for (case, line) in cases {
        let run = plan_fixture(case, &[]);
        assert!(
            summary_part(&run.stdout).contains(line),
            "{case}: the summary must say {line:?}:\n{}",
            run.stdout
        );
    }
}

// ---------------------------------------------------------------------------
// --user
// ---------------------------------------------------------------------------

#[test]
fn user_selects_only_that_users_changes() {
    let run = plan_fixture("example", &["--user", "alice"]);
    run.expect_code(0);
    let paths: Vec<String> = diff_sections(diff_part(&run.stdout))
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        paths,
        [
            "hosts/alpha/default.nix",
            "hosts/beta/default.nix",
            "hosts/gamma/default.nix",
            "users/alice/default.nix",
            "users/alice/home.nix"
        ]
    );
    let summary = summary_part(&run.stdout);
    assert!(
        !summary.contains("bob") && !summary.contains("root"),
        "{summary}"
    );
    assert!(!diff_part(&run.stdout).contains("users/bob"));

    let two = plan_fixture("example", &["--user", "bob", "--user", "root", "--check"]);
    two.expect_code(2);
    let users: Vec<String> = summary_moves(summary_part(&two.stdout))
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(users, ["bob", "root"]);
}

/// A host that imports what it lists in users/ would gain a user whose
/// module the plan writes there: verification refuses the move and names
/// the listing, in the batch and in the one-user path.
#[test]
fn move_into_a_listed_directory_is_refused_with_the_listing() {
    for args in [&[][..], &["--user", "zed"][..]] {
        let run = plan_fixture("listed-users", args);
        run.expect_code(0);
        assert!(run.stdout.starts_with("Nothing to do"), "{}", run.stdout);
        for part in [
            "skipped zed (users.users): verification refused the move",
            "host a: users.users.zed.isNormalUser changed",
            "hosts/a/default.nix:4:13 imports what it lists in users/, where users/zed/default.nix would be written",
        ] {
            assert!(run.stdout.contains(part), "{part}:\n{}", run.stdout);
        }
    }
}

#[test]
fn user_that_is_not_repeated_is_skipped_with_the_reason() {
    for extra in [&[][..], &["--check"][..]] {
        let mut args = vec!["--user", "carol"];
        args.extend_from_slice(extra);
        let run = plan_fixture("example", &args);
        run.expect_code(0);
        assert!(run.stdout.starts_with("Nothing to do"), "{}", run.stdout);
        assert!(
            run.stdout
                .contains("skipped carol (users.users): defined on gamma only"),
            "{}",
            run.stdout
        );
    }
    let run = plan_fixture("example", &["--user", "dave"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("skipped dave (users.users): already shared"),
        "{}",
        run.stdout
    );
}

#[test]
fn unknown_user_exits_1_listing_the_known_ones() {
    for extra in [&[][..], &["--check"][..]] {
        let mut args = vec!["--user", "nobody"];
        args.extend_from_slice(extra);
        let run = plan_fixture("example", &args);
        run.expect_code(1);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(
            run.stderr.contains("no user named nobody")
                && run.stderr.contains("alice, bob, carol, dave, root"),
            "{}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// The library API
// ---------------------------------------------------------------------------

#[test]
fn library_plan_of_example() {
    let p = library_plan(&fixture("example"), &[]);
    let users: Vec<&str> = p.steps.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users, ["alice", "bob", "root"]);
    assert!(p.skipped.is_empty(), "{:?}", p.skipped);
    let alice = &p.steps[0];
    let options: Vec<&str> = alice.moves.iter().map(|m| m.option.as_str()).collect();
    assert_eq!(options, ["users.users", "home-manager.users"]);
    assert_eq!(alice.moves[1].hosts, ["alpha", "beta"]);
    let msg = alice.commit_message();
    assert!(
        msg.starts_with("users: share alice across alpha, beta, gamma\n\n"),
        "{msg}"
    );
    for line in [
        "Moved to users/alice/default.nix:\n",
        "- isNormalUser\n",
        "- extraGroups (the elements common to every host)\n",
        "Stays on the hosts:\n",
        "- hashedPassword: differs between hosts\n",
        "Moved to users/alice/home.nix:\n",
        "- programs.git.userEmail\n",
    ] {
        assert!(msg.contains(line), "missing {line:?} in:\n{msg}");
    }
    assert_eq!(
        p.steps[1].commit_message().lines().next(),
        Some("users: share bob across alpha, beta")
    );

    // files(): every changed file once, sorted, from original to final.
    let files = p.files();
    let paths: Vec<&str> = files.iter().map(|f| f.path.to_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(paths, sorted);
    assert_eq!(
        paths,
        [
            "hosts/alpha/default.nix",
            "hosts/alpha/docker.nix",
            "hosts/beta/default.nix",
            "hosts/beta/docker.nix",
            "hosts/gamma/default.nix",
            "users/alice/default.nix",
            "users/alice/home.nix",
            "users/bob/default.nix",
            "users/root/default.nix",
        ]
    );
    for f in &files {
        let on_disk = std::fs::read_to_string(fixture("example").join(&f.path)).ok();
        assert_eq!(f.before, on_disk, "{}", f.path.display());
        assert!(f.after.is_some());
    }
    // The CLI prints exactly the library's diffs.
    let cli = plan_fixture("example", &[]);
    let rendered: String = files.iter().map(plan::unified_diff).collect();
    assert_eq!(diff_part(&cli.stdout), rendered);

    // --user through the library; an unknown user is an error.
    let only = library_plan(&fixture("example"), &["root"]);
    assert_eq!(only.steps.len(), 1);
    let opts = PlanOptions {
        scan: ScanOptions::default(),
        users: vec!["zed".into()],
        to: Default::default(),
    };
    assert!(matches!(
        plan::plan(&fixture("example"), &opts, &Silent),
        Err(plan::PlanError::UnknownUser { .. })
    ));
}

// ---------------------------------------------------------------------------
// Review findings: what the snapshots show and DESIGN.md rules out
// ---------------------------------------------------------------------------

/// The new files (`users/<name>/…`) the plan of `case` creates.
fn new_files(case: &str) -> Vec<(PathBuf, String)> {
    library_plan(&fixture(case), &[])
        .files()
        .into_iter()
        .filter(|f| f.before.is_none())
        .map(|f| (f.path, f.after.unwrap()))
        .collect()
}

/// Strips `"…"` strings and `#` comments from a line (fixture strings have
/// no `''` strings spanning lines in new files).
fn code_only(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_str = false;
                out.push('"');
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push('"');
            }
            '#' => break,
            _ => out.push(c),
        }
    }
    out
}

/// RFC 166 indentation: two spaces per open bracket (and per `let`).
fn check_indentation(path: &Path, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut depth: i32 = 0;
    for (n, line) in text.lines().enumerate() {
        let code = code_only(line);
        let trimmed = code.trim();
        if line.trim().is_empty() {
            continue;
        }
        let indent = (line.len() - line.trim_start().len()) as i32;
        let closes_first = trimmed.starts_with(['}', ']', ')']) || trimmed == "in";
        let expected = 2 * (depth - i32::from(closes_first));
        if indent != expected || line.contains('\t') {
            problems.push(format!(
                "{}:{}: indented {indent}, expected {expected}: {line:?}",
                path.display(),
                n + 1
            ));
        }
        for c in trimmed.chars() {
            match c {
                '{' | '[' | '(' => depth += 1,
                '}' | ']' | ')' => depth -= 1,
                _ => {}
            }
        }
        if trimmed == "let" {
            depth += 1;
        } else if trimmed == "in" {
            depth -= 1;
        }
    }
    if depth != 0 {
        problems.push(format!("{}: unbalanced brackets", path.display()));
    }
    problems
}

fn new_files_are_indented_by_nesting(case: &str) {
    let mut problems = Vec::new();
    for (path, text) in new_files(case) {
        assert!(text.ends_with("}\n"), "{}: {text:?}", path.display());
        problems.extend(check_indentation(&path, &text));
    }
    assert!(problems.is_empty(), "{case}:\n{}", problems.join("\n"));
}

per_case! { new_file_indentation, crate::new_files_are_indented_by_nesting;
    clan_inherited => "clan-inherited",
    colmena => "colmena",
    colmena_hive => "colmena-hive",
    computed_hosts => "computed-hosts",
    dir_conventions => "dir-conventions",
    dynamic_users => "dynamic-users",
    example => "example",
    flake_helper => "flake-helper",
    flake_literal => "flake-literal",
    flake_parts => "flake-parts",
    helper_modules => "helper-modules",
    let_host_set => "let-host-set",
    lite_config => "lite-config",
    machines_dir => "machines-dir",
    module_set => "module-set",
    nixops => "nixops",
    read_dir => "read-dir",
    read_dir_modules => "read-dir-modules",
    shared_first => "shared-first",
    spellings => "spellings",
    starter_configs => "starter-configs",
    traps => "traps",
    unbuilt_machine => "unbuilt-machine",
}

/// RFC 166 ("Attribute sets and lists"): a list is on one line only if it
/// has at most one element. DESIGN.md: new files are printed in that style.
fn new_files_expand_lists_of_several_elements(case: &str) {
    let mut problems = Vec::new();
    for (path, text) in new_files(case) {
        for (n, line) in text.lines().enumerate() {
            let code = code_only(line);
            let (Some(open), Some(close)) = (code.find('['), code.rfind(']')) else {
                continue;
            };
            if close < open {
                continue;
            }
            let inner = &code[open + 1..close];
            let elements = inner.split_whitespace().count();
            if elements > 1 {
                problems.push(format!(
                    "{}:{}: a list of {elements} elements on one line: {}",
                    path.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{case}:\n{}", problems.join("\n"));
}

per_case! { new_file_lists, crate::new_files_expand_lists_of_several_elements;
    clan_inherited => "clan-inherited",
    colmena => "colmena",
    colmena_hive => "colmena-hive",
    computed_hosts => "computed-hosts",
    dir_conventions => "dir-conventions",
    dynamic_users => "dynamic-users",
    example => "example",
    flake_helper => "flake-helper",
    flake_literal => "flake-literal",
    flake_parts => "flake-parts",
    helper_modules => "helper-modules",
    let_host_set => "let-host-set",
    lite_config => "lite-config",
    machines_dir => "machines-dir",
    module_set => "module-set",
    nixops => "nixops",
    read_dir => "read-dir",
    read_dir_modules => "read-dir-modules",
    shared_first => "shared-first",
    spellings => "spellings",
    starter_configs => "starter-configs",
    traps => "traps",
    unbuilt_machine => "unbuilt-machine",
}

#[test]
fn a_moved_comment_stays_next_to_its_attribute() {
    let (_, text) = new_files("machines-dir")
        .into_iter()
        .find(|(p, _)| p == Path::new("users/alice/default.nix"))
        .expect("users/alice/default.nix");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("# Password set via"))
        .expect("the comment moves along");
    assert!(
        lines[at + 1].starts_with("initialPassword = "),
        "the comment must precede initialPassword:\n{text}"
    );
}

#[test]
fn block_comments_move_with_their_attribute() {
    let sb = Sandbox::two_hosts(|_| {
        "{ ... }:\n{\n  users.users.dan = {\n    isNormalUser = true; # a trailing remark\n    /* block */ description = \"Dan\";\n  };\n}\n".into()
    });
    let p = library_plan(&sb.repo, &[]);
    let files = p.files();
    let dan = files
        .iter()
        .find(|f| f.path == Path::new("users/dan/default.nix"))
        .and_then(|f| f.after.clone())
        .expect("dan is shared");
    assert!(
        dan.contains("/* block */"),
        "the block comment is lost:\n{dan}"
    );
    let trailing = dan
        .lines()
        .find(|l| l.contains("a trailing remark"))
        .unwrap_or_else(|| panic!("the trailing comment is lost:\n{dan}"));
    assert!(
        trailing.contains("isNormalUser"),
        "the trailing comment left its line:\n{dan}"
    );
}

#[test]
fn a_user_emptied_by_the_move_is_removed_from_the_host() {
    let sb = Sandbox::two_hosts(|_| {
        "{ pkgs, ... }:\n{\n  users.users.alice = with pkgs; {\n    isNormalUser = true;\n    shell = zsh;\n  };\n}\n".into()
    });
    let p = library_plan(&sb.repo, &[]);
    assert_eq!(p.steps.len(), 1);
    for f in p.files() {
        if f.path.starts_with("hosts") {
            let after = f.after.unwrap();
            assert!(
                !after.contains("users.users.alice"),
                "{}: an empty definition of alice is left:\n{after}",
                f.path.display()
            );
        }
    }
}

#[test]
fn inserted_lines_keep_the_files_line_endings() {
    let sb = Sandbox::copy("dir-conventions");
    let rel = "hosts/alpha/configuration.nix";
    let crlf = sb.read(rel).replace('\n', "\r\n");
    sb.write(rel, &crlf);
    let p = library_plan(&sb.repo, &[]);
    let after = p
        .files()
        .into_iter()
        .find(|f| f.path == Path::new(rel))
        .and_then(|f| f.after)
        .expect("alpha changes");
    let bare_lf = after
        .split_inclusive('\n')
        .filter(|l| !l.ends_with("\r\n"))
        .collect::<Vec<_>>();
    assert!(bare_lf.is_empty(), "lines without CR: {bare_lf:?}");
}

#[test]
fn the_summary_reports_a_list_order_change() {
    for (case, user) in [("traps", "alice"), ("spellings", "karl")] {
        let run = plan_fixture(case, &[]);
        let summary = summary_part(&run.stdout);
        let block: String = summary
            .split_inclusive('\n')
            .skip_while(|l| !l.starts_with(&format!("{user} (users.users)")))
            .take_while(|l| l.starts_with(user) || l.starts_with("  "))
            .collect();
        assert!(
            block.contains("order"),
            "{case}: {user}'s extraGroups change order on a host, the summary must say so:\n{block}"
        );
    }
}

#[test]
fn plan_reports_what_it_cannot_move() {
    let run = plan_fixture("dynamic-users", &[]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("hosts/alpha/default.nix:17:3") || run.stdout.contains("dynamic"),
        "nothing tells the user that dynamic users are not migrated:\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn removals_leave_no_stray_blank_lines() {
    let mut problems = Vec::new();
    for case in REPEATED_CASES {
        for f in library_plan(&fixture(case), &[]).files() {
            let (Some(before), Some(after)) = (&f.before, &f.after) else {
                continue;
            };
            let stray = |text: &str| {
                let lines: Vec<&str> = text.lines().map(str::trim).collect();
                lines
                    .windows(2)
                    .filter(|w| {
                        (w[0].is_empty() && (w[1].is_empty() || w[1].starts_with('}')))
                            || (w[0].ends_with('{') && w[1].is_empty())
                    })
                    .count()
            };
            if stray(after) > stray(before) {
                problems.push(format!("{case}: {}", f.path.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `#` comment on a line (outside strings), if any.
fn comment_of(line: &str) -> Option<&str> {
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
        } else if c == '#' {
            return Some(&line[i..]);
        }
    }
    None
}

/// Every comment of the fixture: a move carries comments along, so each
/// must still exist after the plan, and none may be copied (equal copies
/// from several hosts may become one).
fn comments_are_neither_lost_nor_duplicated(case: &str) {
    let root = fixture(case);
    let mut before: std::collections::BTreeMap<PathBuf, String> = common::nix_files(&root)
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p.strip_prefix(&root).unwrap().to_path_buf(), text)
        })
        .collect();
    let count = |files: &std::collections::BTreeMap<PathBuf, String>| {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for text in files.values() {
            for line in text.lines() {
                if let Some(comment) = comment_of(line) {
                    *counts.entry(comment.trim().to_string()).or_default() += 1;
                }
            }
        }
        counts
    };
    let old = count(&before);
    for f in library_plan(&root, &[]).files() {
        match f.after {
            Some(text) => before.insert(f.path, text),
            None => before.remove(&f.path),
        };
    }
    let new = count(&before);
    let mut problems = Vec::new();
    for (comment, n) in &old {
        // Equal copies from several hosts become one: fewer is fine, none
        // (lost) or more (duplicated) is not.
        let m = new.get(comment).copied().unwrap_or(0);
        if m == 0 || m > *n {
            problems.push(format!("{comment:?}: {n} before, {m} after"));
        }
    }
    for (comment, m) in &new {
        if !old.contains_key(comment) {
            problems.push(format!("{comment:?}: new, {m} times"));
        }
    }
    assert!(problems.is_empty(), "{case}:\n{}", problems.join("\n"));
}

per_case! { comments, crate::comments_are_neither_lost_nor_duplicated;
    clan_inherited => "clan-inherited",
    colmena => "colmena",
    colmena_hive => "colmena-hive",
    computed_hosts => "computed-hosts",
    dir_conventions => "dir-conventions",
    dynamic_users => "dynamic-users",
    example => "example",
    flake_helper => "flake-helper",
    flake_literal => "flake-literal",
    flake_parts => "flake-parts",
    helper_modules => "helper-modules",
    let_host_set => "let-host-set",
    lite_config => "lite-config",
    machines_dir => "machines-dir",
    module_set => "module-set",
    nixops => "nixops",
    read_dir => "read-dir",
    read_dir_modules => "read-dir-modules",
    shared_first => "shared-first",
    spellings => "spellings",
    starter_configs => "starter-configs",
    traps => "traps",
    unbuilt_machine => "unbuilt-machine",
}

/// The new file of a two-host scratch repository's only user.
fn scratch_new_file(sb: &Sandbox, rel: &str) -> String {
    library_plan(&sb.repo, &[])
        .files()
        .into_iter()
        .find(|f| f.path == Path::new(rel))
        .and_then(|f| f.after)
        .unwrap_or_else(|| panic!("{rel} is not planned"))
}

#[test]
fn lists_behind_with_are_expanded_in_new_files() {
    let sb = Sandbox::two_hosts(|_| {
        "{ pkgs, ... }:\n{\n  users.users.alice = {\n    isNormalUser = true;\n    packages = with pkgs; [ git vim ];\n  };\n}\n".into()
    });
    let text = scratch_new_file(&sb, "users/alice/default.nix");
    assert!(text.contains("packages = with pkgs; ["), "{text}");
    assert!(
        !text.contains("[ git vim ]"),
        "a two-element list on one line:\n{text}"
    );
}

#[test]
fn with_is_kept_only_around_values_that_need_it() {
    let sb = Sandbox::two_hosts(|_| {
        "{ lib, pkgs, ... }:\nwith lib;\n{\n  users.users.alice = {\n    isNormalUser = true;\n    shell = mkForce pkgs.zsh;\n  };\n}\n".into()
    });
    let text = scratch_new_file(&sb, "users/alice/default.nix");
    assert!(
        text.contains("shell = with lib; mkForce pkgs.zsh;"),
        "mkForce needs the with:\n{text}"
    );
    assert!(
        text.contains("    isNormalUser = true;\n"),
        "a literal needs no with:\n{text}"
    );
}
