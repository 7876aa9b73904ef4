//! Fault injection and bad input, through the real binary on scratch git
//! copies of `testdata/example`: `apply` killed (SIGKILL) at points between
//! its steps, writes that fail (a full disk, an unwritable file, a real
//! write error), a read-only repository, a locked index, repositories in a
//! state `apply` must refuse, and every kind of bad input a user can type.
//! Each one exits with the documented code, says what is wrong (and where,
//! and what to do), and leaves the files, the index and the branches as
//! they were; where a rerun makes sense, it completes.
//!
//! The tests run as root on CI, and root ignores file permissions: a file
//! or directory made read-only with `chmod` is still written. So
//! unwritable files and a full disk are simulated inside the writer with
//! `CLAN_MIGRATE_TEST_FAULT=write-N:eacces` / `write-N:enospc` (the error
//! takes the path a real one takes), a real write error is made with
//! `RLIMIT_FSIZE` (which binds root too), and the read-only repository is
//! tested for real by running the binary as an unprivileged user through
//! `setpriv` (skipped when that is impossible).
//!
//! Already covered elsewhere and not repeated here (`tests/apply.rs`):
//! injected failures between commits and before checkout, SIGKILL after
//! the first commit, a missing identity, a dirty tree, an existing branch,
//! a directory that is not a git repository.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{FileState, Run, Sandbox, find_tool, tree_fingerprint};

const BRANCH: &str = "clan-migrate/users";

/// Everything a failed run must leave alone: every file of the work tree
/// (bytes and mtime), `git status`, what HEAD is (a branch, or detached)
/// and its commit, every ref.
#[derive(Debug, PartialEq)]
struct RepoState {
    files: BTreeMap<PathBuf, FileState>,
    status: String,
    head: String,
    head_commit: Option<String>,
    refs: String,
}

fn repo_state(sb: &Sandbox) -> RepoState {
    let head = sb
        .git_cmd(&["symbolic-ref", "-q", "HEAD"])
        .output()
        .expect("run git");
    RepoState {
        files: tree_fingerprint(&sb.repo),
        status: sb.status(),
        head: String::from_utf8_lossy(&head.stdout).trim().to_string(),
        head_commit: sb.rev("HEAD"),
        refs: sb.git(&["for-each-ref"]),
    }
}

/// Lock files a killed git writer could leave behind.
fn locks_left(sb: &Sandbox) -> Vec<String> {
    [
        "index.lock",
        "HEAD.lock",
        "refs/heads/main.lock",
        "refs/heads/clan-migrate/users.lock",
    ]
    .into_iter()
    .filter(|l| sb.repo.join(".git").join(l).exists())
    .map(str::to_string)
    .collect()
}

/// `clan-migrate <args>` with `CLAN_MIGRATE_TEST_FAULT=<fault>`.
fn run_with_fault(sb: &Sandbox, args: &[&str], fault: &str) -> Run {
    Run::from(
        sb.cmd(args)
            .env("CLAN_MIGRATE_TEST_FAULT", fault)
            .output()
            .expect("run clan-migrate"),
    )
}

#[track_caller]
fn assert_stderr_has(run: &Run, needles: &[&str]) {
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            run.stderr
        );
    }
}

/// A full `apply` that must succeed: the branch is checked out with one
/// commit per user on top of an unmoved `main`, the tree is clean and
/// nothing is left to share.
#[track_caller]
fn rerun_succeeds(sb: &Sandbox, main: &str) {
    sb.run(&["apply", ".", "-q", "--color", "never"])
        .expect_code(0);
    assert_eq!(sb.head_branch(), BRANCH);
    assert_eq!(sb.rev("main").as_deref(), Some(main), "main moved");
    assert_eq!(
        sb.git(&["rev-list", "--count", &format!("main..{BRANCH}")]),
        "3"
    );
    assert_eq!(sb.status(), "");
    sb.run(&["plan", ".", "--check", "-q"]).expect_code(0);
}

/// The files `plan` (and so `apply --no-commit`) writes, in the order it
/// writes them: `write-N` is the N-th.
fn planned_files(sb: &Sandbox) -> Vec<String> {
    let run = sb.run(&["plan", ".", "--stat", "--color", "never"]);
    run.expect_code(0);
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix(' ')?.split_once(" | +"))
        .map(|(path, _)| path.to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// SIGKILL between the steps of `apply`
// ---------------------------------------------------------------------------

/// Killed after some commits are built (in memory) or after they are
/// written (as one pack) but before the branch ref: at most an unreachable
/// pack is left, nothing else changed, a rerun just works.
fn sigkill_before_the_ref(point: &str) {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    let state = repo_state(&sb);
    common::kill_at(&sb, point);
    assert_eq!(repo_state(&sb), state, "{point}: the repository changed");
    assert_eq!(sb.branches(), ["main"], "{point}: a branch was left");
    assert_eq!(sb.status(), "", "{point}");
    assert_eq!(locks_left(&sb), Vec::<String>::new(), "{point}");
    rerun_succeeds(&sb, &main);
}

#[test]
fn sigkill_after_the_second_commit_changes_nothing() {
    sigkill_before_the_ref("after-commit-2");
}

#[test]
fn sigkill_before_the_pack_changes_nothing() {
    sigkill_before_the_ref("before-pack");
}

#[test]
fn sigkill_before_the_ref_changes_nothing() {
    sigkill_before_the_ref("before-ref");
}

#[test]
fn sigkill_before_the_checkout_leaves_only_the_branch() {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    let files = tree_fingerprint(&sb.repo);
    let index = std::fs::read(sb.repo.join(".git/index")).unwrap();
    common::kill_at(&sb, "before-checkout");
    // The branch holds every commit; HEAD, index and work tree are as
    // they were.
    assert_eq!(sb.branches(), [BRANCH, "main"]);
    assert_eq!(
        sb.git(&["rev-list", "--count", &format!("main..{BRANCH}")]),
        "3"
    );
    assert_eq!(sb.head_branch(), "main");
    assert_eq!(sb.rev("main").unwrap(), main);
    assert_eq!(std::fs::read(sb.repo.join(".git/index")).unwrap(), index);
    assert_eq!(tree_fingerprint(&sb.repo), files);
    assert_eq!(sb.status(), "");
    assert_eq!(locks_left(&sb), Vec::<String>::new());
    // A rerun says the branch is there and what to do about it ...
    let state = repo_state(&sb);
    let run = sb.run(&["apply", ".", "-q"]);
    run.expect_code(1);
    assert_stderr_has(
        &run,
        &[
            BRANCH,
            "already exists",
            &format!("git branch -D {BRANCH}"),
            "--branch NAME",
        ],
    );
    assert_eq!(repo_state(&sb), state);
    // ... and doing it lets the rerun complete.
    sb.git(&["branch", "-D", BRANCH]);
    rerun_succeeds(&sb, &main);
}

// ---------------------------------------------------------------------------
// Locks, and a read-only repository
// ---------------------------------------------------------------------------

#[test]
fn a_lock_held_by_another_git_process_is_refused_naming_it() {
    for lock in ["index.lock", "HEAD.lock"] {
        let sb = Sandbox::committed("example");
        let main = sb.rev("main").unwrap();
        let path = sb.repo.join(".git").join(lock);
        std::fs::write(&path, "").unwrap();
        let state = repo_state(&sb);
        for args in [&["apply", "."][..], &["apply", ".", "--no-commit"]] {
            let run = sb.run(args);
            run.expect_code(1);
            assert_stderr_has(
                &run,
                &[
                    &format!(".git/{lock}"),
                    "another git process",
                    "wait for it to finish",
                    &format!("rm {}", path.display()),
                ],
            );
            assert_eq!(repo_state(&sb), state, "{lock} {args:?}");
        }
        // What the message says to do works.
        std::fs::remove_file(&path).unwrap();
        rerun_succeeds(&sb, &main);
    }
}

/// Makes every file and directory under `root` (`.git` included)
/// read-only, or writable again by its owner.
fn set_read_only(root: &Path, read_only: bool) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(root).unwrap();
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = meta.permissions().mode();
    let mode = if read_only {
        mode & !0o222
    } else {
        mode | 0o200
    };
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode)).unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(root).unwrap() {
            set_read_only(&entry.unwrap().path(), read_only);
        }
    }
}

/// Makes a tree writable again when dropped, so a failed assertion does
/// not leave a temp dir that cannot be removed.
struct Writable<'a>(&'a Path);

impl Drop for Writable<'_> {
    fn drop(&mut self) {
        set_read_only(self.0, false);
    }
}

/// A way to run `clan-migrate` for which `sb`'s repository, made
/// read-only, really is read-only: as the current user when it is not
/// root, else as `nobody` (uid 65534) through `setpriv`. `None` (the test
/// is skipped) when neither works.
fn unprivileged(sb: &Sandbox) -> Option<impl Fn(&[&str]) -> Run + '_> {
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = if root {
        let Some(setpriv) = find_tool("setpriv") else {
            eprintln!("skipped: running as root and `setpriv` is not on PATH");
            return None;
        };
        // nobody must reach the repository, the HOME and the binary, and
        // git must accept a repository owned by someone else.
        use std::os::unix::fs::PermissionsExt;
        let sandbox = sb.repo.parent().unwrap();
        std::fs::set_permissions(sandbox, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(sb.home.join(".gitconfig"), "[safe]\n\tdirectory = *\n").unwrap();
        let probe = Command::new(&setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_clan-migrate"))
            .arg("--version")
            .output();
        if !probe.is_ok_and(|o| o.status.success()) {
            eprintln!("skipped: cannot run the binary as uid 65534 through setpriv");
            return None;
        }
        Some(setpriv)
    } else {
        None
    };
    Some(move |args: &[&str]| {
        let mut inner = sb.cmd(args);
        let Some(setpriv) = &setpriv else {
            return Run::from(inner.output().expect("run clan-migrate"));
        };
        let mut cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(inner.get_program())
            .args(inner.get_args())
            .current_dir(&sb.repo);
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        Run::from(cmd.output().expect("run setpriv"))
    })
}

#[test]
fn a_read_only_repository_is_refused_and_left_alone() {
    let sb = Sandbox::committed("example");
    let main = sb.rev("main").unwrap();
    let Some(run_as_user) = unprivileged(&sb) else {
        return;
    };
    let first = planned_files(&sb).remove(0);
    set_read_only(&sb.repo, true);
    let guard = Writable(&sb.repo);
    let state = repo_state(&sb);

    // Committing: the first object cannot be written, nothing moved.
    let run = run_as_user(&["apply", ".", "-q"]);
    run.expect_code(1);
    assert_stderr_has(&run, &["Permission denied", "were not changed"]);
    assert_eq!(repo_state(&sb), state);

    // Writing the work tree: the first file cannot be written.
    let run = run_as_user(&["apply", ".", "-q", "--no-commit"]);
    run.expect_code(1);
    assert_stderr_has(&run, &["Permission denied", &first, "left as it was"]);
    assert_eq!(repo_state(&sb), state);

    drop(guard);
    rerun_succeeds(&sb, &main);
}

// ---------------------------------------------------------------------------
// `apply --no-commit`: writes that fail part-way
// ---------------------------------------------------------------------------

/// `apply --no-commit` with `fault` fails with `needles` in its message and
/// changes nothing (not even an mtime, no temporary file left); then a run
/// without the fault writes every file.
fn no_commit_fails_cleanly(fault: &str, needles: &[&str]) {
    let sb = Sandbox::committed("example");
    let state = repo_state(&sb);
    let run = run_with_fault(&sb, &["apply", ".", "--no-commit", "-q"], fault);
    run.expect_code(1);
    assert_stderr_has(&run, needles);
    assert_eq!(repo_state(&sb), state, "{fault}: the repository changed");
    assert!(!sb.repo.join("users").exists(), "{fault}");
    let run = sb.run(&["apply", ".", "--no-commit", "--color", "never"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Wrote 9 files"), "{}", run.stdout);
    assert_eq!(sb.status().lines().count(), 9, "{}", sb.status());
}

#[test]
fn a_full_disk_while_writing_changes_nothing() {
    let sb = Sandbox::committed("example");
    let files = planned_files(&sb);
    assert_eq!(files.len(), 9, "{files:?}");
    // A changed file, and the last new file (in a new directory).
    for n in [2, 9] {
        no_commit_fails_cleanly(
            &format!("write-{n}:enospc"),
            &[
                "No space left on device",
                &files[n - 1],
                "could not write",
                "left as it was",
            ],
        );
    }
}

#[test]
fn an_unwritable_file_changes_nothing() {
    // `chmod 0444` would not stop root, so the writer is told to fail as
    // the kernel would for a file it may not write.
    let sb = Sandbox::committed("example");
    let files = planned_files(&sb);
    no_commit_fails_cleanly(
        "write-5:eacces",
        &["Permission denied", &files[4], "left as it was"],
    );
}

#[test]
fn a_failure_after_files_are_in_place_puts_them_back() {
    // Five changed host files and one new file are in place when it fails.
    no_commit_fails_cleanly(
        "after-write-6",
        &["injected fault at `after-write-6`", "run again"],
    );
}

#[test]
fn a_real_write_error_changes_nothing() {
    // RLIMIT_FSIZE binds root too: a write past it fails with EFBIG (with
    // SIGXFSZ ignored). Pick the limit so that a file after the first is
    // the first one too big.
    let written = Sandbox::committed("example");
    let files = planned_files(&written);
    written
        .run(&["apply", ".", "--no-commit", "-q"])
        .expect_code(0);
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(written.repo.join(f)).unwrap().len())
        .collect();
    let (failing, limit) = (1..sizes.len())
        .rev()
        .map(|k| (k, *sizes[..k].iter().max().unwrap()))
        .find(|&(k, before)| sizes[k] > before)
        .unwrap_or((0, sizes[0] - 1));

    let sb = Sandbox::committed("example");
    let state = repo_state(&sb);
    let mut cmd = sb.cmd(&["apply", ".", "--no-commit", "-q"]);
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: signal and setrlimit are async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let run = Run::from(cmd.output().unwrap());
    run.expect_code(1);
    assert_stderr_has(&run, &["File too large", &files[failing], "left as it was"]);
    assert_eq!(repo_state(&sb), state);
    sb.run(&["apply", ".", "--no-commit", "-q"]).expect_code(0);
    assert_eq!(
        common::read_tree(&sb.repo),
        common::read_tree(&written.repo)
    );
}

#[test]
fn a_file_where_the_plan_needs_a_directory_is_refused_in_both_modes() {
    // An ignored file `users` takes the place of the directory the plan
    // creates: found before anything is written.
    let sb = Sandbox::committed("example");
    sb.write(".gitignore", "/users\n");
    sb.git(&["add", ".gitignore"]);
    sb.git(&["commit", "-q", "-m", "ignore users"]);
    sb.write("users", "not a directory\n");
    let state = repo_state(&sb);
    for (args, what) in [
        (&["apply", ".", "-q"][..], "ignored file or link"),
        (&["apply", ".", "-q", "--no-commit"], "but it is a file"),
    ] {
        let run = sb.run(args);
        run.expect_code(1);
        assert_stderr_has(
            &run,
            &[
                "`users`",
                "users/alice/default.nix",
                what,
                "nothing was changed",
            ],
        );
        assert_eq!(repo_state(&sb), state, "{args:?}");
    }
    std::fs::remove_file(sb.repo.join("users")).unwrap();
    let main = sb.rev("main").unwrap();
    rerun_succeeds(&sb, &main);
}

// ---------------------------------------------------------------------------
// Repositories `apply` refuses: rebase in progress, detached HEAD, bare
// ---------------------------------------------------------------------------

/// Both modes of `apply` in `dir` exit 1 with `needles` and leave `sb` as
/// it was.
#[track_caller]
fn apply_refused(sb: &Sandbox, dir: &str, needles: &[&str]) {
    let state = repo_state(sb);
    for args in [&["apply", dir][..], &["apply", dir, "--no-commit"]] {
        let run = sb.run(args);
        run.expect_code(1);
        assert_stderr_has(&run, needles);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert_eq!(repo_state(sb), state, "{args:?}");
    }
}

#[test]
fn a_rebase_in_progress_is_refused() {
    let sb = Sandbox::committed("example");
    sb.write("README.md", "edited\n");
    sb.git(&["commit", "-q", "-am", "edit the readme"]);
    // A real interactive rebase stopped at `edit`: clean tree, HEAD
    // detached, the rebase in progress.
    let out = sb
        .git_cmd(&["rebase", "-q", "-i", "HEAD~1"])
        .env("GIT_SEQUENCE_EDITOR", "sed -i -e 1s/^pick/edit/")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(sb.repo.join(".git/rebase-merge").exists());
    apply_refused(
        &sb,
        ".",
        &[
            "a rebase is in progress",
            "git rebase --continue",
            "git rebase --abort",
        ],
    );
    let main = sb.rev("main").unwrap();
    sb.git(&["rebase", "--abort"]);
    rerun_succeeds(&sb, &main);
}

#[test]
fn a_detached_head_is_refused() {
    let sb = Sandbox::committed("example");
    sb.git(&["switch", "-q", "--detach"]);
    let head = sb.git(&["rev-parse", "--short", "HEAD"]);
    apply_refused(
        &sb,
        ".",
        &["HEAD is detached", &head, "git switch <branch>"],
    );
}

#[test]
fn a_bare_repository_is_refused() {
    let sb = Sandbox::committed("example");
    let bare = sb.repo.parent().unwrap().join("bare.git");
    sb.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let before = tree_fingerprint(&bare);
    let shown = bare.to_str().unwrap();
    apply_refused(
        &sb,
        shown,
        &[
            "is a bare git repository",
            shown,
            &format!("git clone {shown}"),
        ],
    );
    assert_eq!(
        tree_fingerprint(&bare),
        before,
        "the bare repository changed"
    );
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

/// Runs each `(args, code, needles)` in `sb` and checks the exit code, the
/// message, and that the work tree and (if any) the repository did not
/// change.
#[track_caller]
fn bad_input(sb: &Sandbox, cases: &[(&[&str], i32, &[&str])]) {
    let git = sb.repo.join(".git").exists();
    let files = tree_fingerprint(&sb.repo);
    let state = git.then(|| repo_state(sb));
    for (args, code, needles) in cases {
        let run = sb.run(args);
        assert_eq!(
            run.code,
            Some(*code),
            "{args:?}: expected exit {code}\n--- stderr\n{}",
            run.stderr
        );
        for n in *needles {
            assert!(
                run.stderr.contains(n),
                "{args:?}: stderr lacks {n:?}:\n{}",
                run.stderr
            );
        }
        if *code == 2 {
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        }
        assert_eq!(tree_fingerprint(&sb.repo), files, "{args:?} wrote files");
        if let Some(state) = &state {
            assert_eq!(&repo_state(sb), state, "{args:?}");
        }
    }
}

#[test]
fn a_syntax_error_is_reported_with_its_location_by_every_command() {
    let loc = "hosts/beta/users.nix:6:17";
    let blocked = "nothing is planned until they are fixed";
    // Without git, then as a committed repository (what apply needs).
    bad_input(
        &Sandbox::copy("broken-file"),
        &[
            (&["scan", "."], 1, &[loc, "syntax error"]),
            (&["scan", ".", "--json"], 1, &[]),
            (&["plan", "."], 1, &[loc, blocked]),
            (&["plan", ".", "--check"], 1, &[loc, blocked]),
        ],
    );
    bad_input(
        &Sandbox::committed("broken-file"),
        &[
            (&["plan", ".", "--stat"], 1, &[loc, blocked]),
            (&["apply", "."], 1, &[loc, blocked]),
            (&["apply", ".", "--no-commit"], 1, &[loc, blocked]),
        ],
    );
}

#[test]
fn an_unknown_user_is_refused_listing_the_known_ones() {
    let known = "the users defined here are: alice, bob, carol, dave, root";
    let help = "`clan-migrate scan` lists the users";
    bad_input(
        &Sandbox::committed("example"),
        &[
            (
                &["plan", ".", "--user", "nobody"],
                1,
                &["nobody", known, help],
            ),
            (
                &[
                    "plan", ".", "--check", "--user", "alice", "--user", "nobody",
                ],
                1,
                &["nobody", known],
            ),
            (
                &["apply", ".", "--user", "nobody"],
                1,
                &["nobody", known, help],
            ),
            (
                &["apply", ".", "--no-commit", "--user", "nobody"],
                1,
                &["nobody", known],
            ),
        ],
    );
}

#[test]
fn bad_host_flags_are_refused() {
    let usage = "expected NAME=PATH, got `x`";
    let missing = "host `x`: `missing/path` is neither a .nix file nor a directory";
    bad_input(
        &Sandbox::committed("example"),
        &[
            // Not NAME=PATH: a usage error, whatever the command.
            (&["scan", ".", "--host", "x"], 2, &[usage]),
            (&["plan", ".", "--host", "x"], 2, &[usage]),
            (&["apply", ".", "--host", "x"], 2, &[usage]),
            (&["verify", ".", "--host", "x"], 2, &[usage]),
            // A path that is not there: named, with its host.
            (&["scan", ".", "--host", "x=missing/path"], 1, &[missing]),
            (&["plan", ".", "--host", "x=missing/path"], 1, &[missing]),
            (&["apply", ".", "--host", "x=missing/path"], 1, &[missing]),
            (
                &["apply", ".", "--no-commit", "--host", "x=missing/path"],
                1,
                &[missing],
            ),
        ],
    );
}

#[test]

fn verify_refuses_a_host_flag_with_a_missing_path() {
    let sb = Sandbox::committed("example");
    bad_input(
        &sb,
        &[(
            &[
                "verify",
                ".",
                "--against",
                "HEAD",
                "--host",
                "x=missing/path",
            ],
            1,
            &["host `x`", "missing/path"],
        )],
    );
}

#[test]

fn verify_reports_a_syntax_error_with_its_location() {
    let sb = Sandbox::committed("broken-file");
    bad_input(
        &sb,
        &[(
            &["verify", ".", "--against", "HEAD"],
            1,
            &["hosts/beta/users.nix:6:17"],
        )],
    );
}

#[test]
fn a_nonexistent_directory_is_refused_by_every_command() {
    let sb = Sandbox::committed("example");
    let gone = sb.repo.parent().unwrap().join("no-such-dir");
    let gone = gone.to_str().unwrap();
    bad_input(
        &sb,
        &[
            (&["scan", gone], 1, &[gone, "no such directory"]),
            (&["scan", gone, "--json"], 1, &[gone, "no such directory"]),
            (&["plan", gone], 1, &[gone, "no such directory"]),
            (&["plan", gone, "--check"], 1, &[gone, "no such directory"]),
            (&["apply", gone], 1, &[gone, "no such directory"]),
            (
                &["apply", gone, "--no-commit"],
                1,
                &[gone, "no such directory"],
            ),
            (&["verify", gone], 1, &[gone, "not inside a git repository"]),
        ],
    );
    assert!(!Path::new(gone).exists(), "a run created the directory");
}

#[test]
fn flags_a_command_does_not_take_are_usage_errors() {
    // No flags conflict through clap; flags of another command are
    // refused with exit 2 and the usage, before anything is read.
    bad_input(
        &Sandbox::committed("example"),
        &[
            (
                &["verify", ".", "--json"],
                2,
                &["unexpected argument '--json'"],
            ),
            (
                &["plan", ".", "--json", "--stat"],
                2,
                &["'--json' cannot be used with '--stat'"],
            ),
            (
                &["apply", ".", "--check"],
                2,
                &["unexpected argument '--check'"],
            ),
            (
                &["apply", ".", "--stat"],
                2,
                &["unexpected argument '--stat'"],
            ),
            (
                &["scan", ".", "--user", "alice"],
                2,
                &["unexpected argument '--user'"],
            ),
            (&["scan", ".", "--no-commit"], 2, &["unexpected argument"]),
            (
                &["verify", ".", "--branch", "x"],
                2,
                &["unexpected argument"],
            ),
            (&["apply", ".", "--branch"], 2, &["a value is required"]),
            (
                &["plan", ".", "--min-hosts", "two"],
                2,
                &["invalid value 'two'"],
            ),
            (
                &["plan", ".", "--to", "cluster"],
                2,
                &["invalid value 'cluster'"],
            ),
            (
                &["plan", ".", "extra-dir"],
                2,
                &["unexpected argument 'extra-dir'"],
            ),
        ],
    );
    // Allowed together: --check with --stat (exit 2: pending).
    let sb = Sandbox::committed("example");
    let files = tree_fingerprint(&sb.repo);
    let run = sb.run(&["plan", ".", "--check", "--stat", "--color", "never"]);
    run.expect_code(2);
    assert!(run.stdout.contains("9 files changed"), "{}", run.stdout);
    assert_eq!(tree_fingerprint(&sb.repo), files);
}
