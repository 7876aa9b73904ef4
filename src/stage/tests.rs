use std::cell::RefCell;
use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use super::*;

const HOST_A: &str = "{ ... }:\n{\n  imports = [ ./hardware.nix ];\n  users.users.alice = {\n    isNormalUser = true;\n    extraGroups = [ \"wheel\" ];\n  };\n}\n";
const HOST_B: &str = "{ ... }:\n{\n  users.users.alice = {\n    isNormalUser = true;\n    extraGroups = [ \"wheel\" ];\n  };\n  users.users.bob.isNormalUser = true;\n}\n";
const DEPLOY: &str = "#!/bin/sh\nnixos-rebuild switch --flake .#\"$1\"\n";

/// A repository on `main` with one commit, its own empty global git
/// configuration, and an ignored file in the work tree.
struct Fixture {
    tmp: TempDir,
    repo: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let fx = Fixture::empty();
        fx.git(&["init", "-q", "-b", "main"]);
        fx.git(&["config", "user.name", "Stage Test"]);
        fx.git(&["config", "user.email", "stage@example.com"]);
        fx.write("flake.nix", "{ outputs = _: { }; }\n");
        fx.write("hosts/a/configuration.nix", HOST_A);
        fx.write("hosts/a/hardware.nix", "{ }\n");
        fx.write("hosts/b/configuration.nix", HOST_B);
        fx.write("old.nix", "{ }\n");
        fx.write("scripts/deploy.sh", DEPLOY);
        fx.write(".gitignore", "result\n");
        fx.set_exec("scripts/deploy.sh");
        fx.git(&["add", "-A"]);
        fx.git(&["commit", "-q", "-m", "initial configuration"]);
        fx.write("result", "an ignored build result\n");
        fx
    }

    fn empty() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        fs::create_dir(&repo).unwrap();
        fs::write(tmp.path().join("gitconfig"), "").unwrap();
        Fixture { tmp, repo }
    }

    fn cmd(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", self.tmp.path().join("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Fixture")
            .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
            .env("GIT_COMMITTER_NAME", "Fixture")
            .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
            .env("GIT_EDITOR", "true")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .output()
            .expect("git runs")
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.repo, args)
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.cmd(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    }

    fn write(&self, rel: &str, contents: &str) {
        let p = self.repo.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, contents).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.repo.join(rel)).unwrap()
    }

    fn set_exec(&self, rel: &str) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = self.repo.join(rel);
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        #[cfg(not(unix))]
        self.git(&["update-index", "--chmod=+x", rel]);
    }

    fn status(&self) -> String {
        self.git(&["--no-optional-locks", "status", "--porcelain"])
    }

    /// Everything a failed run must leave alone: HEAD, refs, index,
    /// status and every work tree file (contents and mode).
    fn snapshot(&self, with_refs: bool) -> String {
        let mut out = String::new();
        // Lenient: HEAD may be detached or unborn here.
        for args in [
            &["symbolic-ref", "HEAD"][..],
            &["rev-parse", "HEAD", "main"],
        ] {
            let o = self.cmd(&self.repo, args);
            out += &format!("{} {}\n", o.status, String::from_utf8_lossy(&o.stdout));
        }
        if with_refs {
            out += &self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
            out += "\n";
        }
        out += &self.git(&[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--ignored",
            "--untracked-files=all",
        ]);
        out += "\n";
        out += &self.git(&["ls-files", "-s"]);
        out += "\n";
        let index = fs::read(self.repo.join(".git/index")).unwrap_or_default();
        out += &format!("index {} {:x}\n", index.len(), hash(&index));
        let mut files = Vec::new();
        walk(&self.repo, &self.repo, &mut files);
        files.sort();
        for f in files {
            out += &f;
            out += "\n";
        }
        out
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == ".git" {
            continue;
        }
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.push(format!("{rel}/"));
            walk(root, &path, out);
        } else if meta.file_type().is_symlink() {
            out.push(format!(
                "{rel} -> {}",
                fs::read_link(&path).unwrap().display()
            ));
        } else {
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode()
            };
            #[cfg(not(unix))]
            let mode = 0;
            let data = fs::read(&path).unwrap();
            out.push(format!("{rel} {mode:o} {:x}", hash(&data)));
        }
    }
}

fn change(path: &str, contents: Option<&str>) -> FileChange {
    FileChange {
        path: PathBuf::from(path),
        contents: contents.map(|c| c.as_bytes().to_vec()),
    }
}

const ALICE: &str = "{ ... }:\n{\n  users.users.alice = {\n    isNormalUser = true;\n    extraGroups = [ \"wheel\" ];\n  };\n}\n";
const HOST_A2: &str =
    "{ ... }:\n{\n  imports = [\n    ./hardware.nix\n    ../../users/alice\n  ];\n}\n";
const HOST_B2: &str =
    "{ ... }:\n{\n  imports = [ ../../users/alice ];\n  users.users.bob.isNormalUser = true;\n}\n";
const DEPLOY2: &str = "#!/bin/sh\nset -eu\nnixos-rebuild switch --flake .#\"$1\"\n";

fn specs() -> Vec<CommitSpec> {
    vec![
        CommitSpec {
            message:
                "users: extract alice into users/alice\n\nalice was defined identically on a.\n"
                    .into(),
            changes: vec![
                change("users/alice/default.nix", Some(ALICE)),
                change("hosts/a/configuration.nix", Some(HOST_A2)),
            ],
        },
        CommitSpec {
            message: "users: import alice on b".into(),
            changes: vec![
                change("hosts/b/configuration.nix", Some(HOST_B2)),
                change("old.nix", None),
            ],
        },
        CommitSpec {
            message: "scripts: stop on errors".into(),
            changes: vec![change("scripts/deploy.sh", Some(DEPLOY2))],
        },
    ]
}

const BRANCH: &str = "clan-migrate/users";

fn assert_migrated(fx: &Fixture, staged: &Staged, main_before: &str) {
    assert_eq!(staged.branch, BRANCH);
    assert_eq!(staged.original.as_deref(), Some("main"));
    let summaries: Vec<&str> = staged.commits.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "users: extract alice into users/alice",
            "users: import alice on b",
            "scripts: stop on errors"
        ]
    );
    // The original branch did not move; HEAD is on the new branch.
    assert_eq!(fx.git(&["rev-parse", "main"]), main_before);
    assert_eq!(
        fx.git(&["symbolic-ref", "HEAD"]),
        format!("refs/heads/{BRANCH}")
    );
    // Three commits, chained on top of main.
    assert_eq!(
        fx.git(&["log", "--format=%s", &format!("main..{BRANCH}")]),
        "scripts: stop on errors\nusers: import alice on b\nusers: extract alice into users/alice"
    );
    assert_eq!(fx.git(&["rev-parse", &format!("{BRANCH}~3")]), main_before);
    // The objects this tool made itself are ones git accepts as its own.
    fx.git(&["fsck", "--strict", "--no-dangling"]);
    for (i, (short, _)) in staged.commits.iter().enumerate() {
        let full = fx.git(&["rev-parse", &format!("{BRANCH}~{}", 2 - i)]);
        assert!(full.starts_with(short.as_str()), "{full} vs {short}");
        let parents = fx.git(&["rev-list", "--parents", "-n", "1", &full]);
        assert_eq!(parents.split(' ').count(), 2, "one parent: {parents}");
    }
    assert_eq!(
        fx.git(&["log", "-1", "--format=%B", &format!("{BRANCH}~2")]),
        "users: extract alice into users/alice\n\nalice was defined identically on a."
    );
    assert_eq!(
        fx.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH]),
        "Stage Test <stage@example.com>|Stage Test <stage@example.com>"
    );
    // The work tree has the new content and is clean, down to the
    // index's stat data (diff-files trusts it and reads no file).
    assert_eq!(fx.git(&["diff-files", "--name-status"]), "");
    assert_eq!(fx.read("users/alice/default.nix"), ALICE);
    assert_eq!(fx.read("hosts/a/configuration.nix"), HOST_A2);
    assert_eq!(fx.read("hosts/b/configuration.nix"), HOST_B2);
    assert_eq!(fx.read("scripts/deploy.sh"), DEPLOY2);
    assert!(!fx.repo.join("old.nix").exists());
    assert_eq!(fx.read("result"), "an ignored build result\n");
    assert_eq!(fx.status(), "");
    // Modes: new file 100644, the executable stays executable.
    assert_eq!(
        fx.git(&[
            "ls-tree",
            BRANCH,
            "users/alice/default.nix",
            "scripts/deploy.sh"
        ])
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect::<Vec<_>>(),
        ["100755", "100644"]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(fx.repo.join("scripts/deploy.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "deploy.sh is still executable");
    }
}

#[test]
fn commits_on_a_new_branch_and_checks_it_out() {
    let fx = Fixture::new();
    let main_before = fx.git(&["rev-parse", "main"]);
    check_ready(&fx.repo).unwrap();
    check_branch(&fx.repo, BRANCH).unwrap();
    let staged = commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap();
    assert_migrated(&fx, &staged, &main_before);
    // The branch exists now, checked out: a second run with the same
    // name is refused, saying it is the current branch.
    let err = commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap_err();
    assert!(
        matches!(err, StageError::InvalidBranchName { .. })
            && err.to_string().contains("you are on"),
        "{err:?}"
    );
    assert!(matches!(
        check_branch(&fx.repo, BRANCH),
        Err(StageError::InvalidBranchName { .. })
    ));
}

/// With attributes git converts files on checkout: the tool leaves the
/// checkout to git then, and the work tree is what git makes of it.
#[test]
fn files_git_converts_are_checked_out_by_git() {
    let fx = Fixture::new();
    fx.write(".gitattributes", "*.nix text eol=crlf\n");
    fx.git(&["add", ".gitattributes"]);
    fx.git(&["commit", "-q", "-m", "crlf"]);
    // Checked out again under the attribute, as a clone would be.
    fx.git(&["rm", "-q", "--cached", "-r", "."]);
    fx.git(&["reset", "-q", "--hard"]);
    commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap();
    assert_eq!(
        fx.read("users/alice/default.nix"),
        ALICE.replace('\n', "\r\n")
    );
    assert_eq!(fx.read("scripts/deploy.sh"), DEPLOY2);
    assert_eq!(fx.status(), "");
}

/// Attributes only in the work tree (ignored there) count as well.
#[test]
fn attributes_only_in_the_work_tree_hand_the_checkout_to_git() {
    let fx = Fixture::new();
    fx.write(".git/info/exclude", ".gitattributes\n");
    fx.write(".gitattributes", "*.nix text eol=crlf\n");
    commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap();
    assert_eq!(
        fx.read("users/alice/default.nix"),
        ALICE.replace('\n', "\r\n")
    );
}

/// A file edited after the checks (by another process) is not
/// overwritten: the checkout refuses before writing anything.
#[test]
fn a_file_changed_before_the_checkout_is_not_overwritten() {
    let fx = Fixture::new();
    let hook = Hook(|point: &str| {
        if point == "before-checkout" {
            fs::write(fx.repo.join("hosts/b/configuration.nix"), "# mine\n").unwrap();
        }
        Ok(())
    });
    let err = commit(&fx.repo, BRANCH, &specs(), &hook).unwrap_err();
    let StageError::NotCheckedOut {
        worktree_touched, ..
    } = &err
    else {
        panic!("unexpected {err:?}");
    };
    assert!(!worktree_touched, "{err}");
    assert!(
        err.to_string().contains("hosts/b/configuration.nix"),
        "{err}"
    );
    assert_eq!(fx.read("hosts/b/configuration.nix"), "# mine\n");
    assert_eq!(fx.read("hosts/a/configuration.nix"), HOST_A);
    assert!(!fx.repo.join("users").exists());
    assert_eq!(fx.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
}

#[test]
fn deleting_the_last_file_of_a_directory_removes_it() {
    let fx = Fixture::new();
    let spec = CommitSpec {
        message: "drop host a hardware".into(),
        changes: vec![
            change("hosts/a/hardware.nix", None),
            change("hosts/a/configuration.nix", None),
        ],
    };
    commit(&fx.repo, "drop-a", &[spec], &NoFaults).unwrap();
    assert_eq!(
        fx.git(&["ls-tree", "-d", "--name-only", "drop-a", "hosts/"]),
        "hosts/b"
    );
    assert!(!fx.repo.join("hosts/a").exists());
    assert_eq!(fx.status(), "");
}

/// Records every fault point (and every `write-N` I/O point), fails at
/// one of them or simulates a full disk at one `write-N`.
struct Faults {
    fail_at: Option<String>,
    disk_full: Option<String>,
    seen: RefCell<Vec<String>>,
}

impl Faults {
    fn none() -> Faults {
        Faults {
            fail_at: None,
            disk_full: None,
            seen: RefCell::new(Vec::new()),
        }
    }

    fn at(point: &str) -> Faults {
        Faults {
            fail_at: Some(point.to_string()),
            ..Faults::none()
        }
    }

    fn disk_full(point: &str) -> Faults {
        Faults {
            disk_full: Some(point.to_string()),
            ..Faults::none()
        }
    }
}

impl FaultPoint for Faults {
    fn at(&self, point: &str) -> Result<(), String> {
        self.seen.borrow_mut().push(point.to_string());
        if self.fail_at.as_deref() == Some(point) {
            Err("simulated crash".into())
        } else {
            Ok(())
        }
    }

    fn io_error(&self, point: &str) -> Option<io::Error> {
        self.seen.borrow_mut().push(point.to_string());
        (self.disk_full.as_deref() == Some(point))
            .then(|| io::Error::new(io::ErrorKind::StorageFull, "No space left on device"))
    }
}

/// Runs a closure at every fault point: it may change the repository
/// as a concurrent process would, and fail.
struct Hook<F: Fn(&str) -> Result<(), String>>(F);

impl<F: Fn(&str) -> Result<(), String>> FaultPoint for Hook<F> {
    fn at(&self, point: &str) -> Result<(), String> {
        (self.0)(point)
    }
}

#[test]
fn fault_points_are_called_in_order() {
    let fx = Fixture::new();
    let faults = Faults::none();
    commit(&fx.repo, BRANCH, &specs(), &faults).unwrap();
    assert_eq!(
        faults.seen.into_inner(),
        [
            "before-commit-1",
            "after-commit-1",
            "before-commit-2",
            "after-commit-2",
            "before-commit-3",
            "after-commit-3",
            "before-pack",
            "before-ref",
            "before-checkout"
        ]
    );
}

/// `(loose objects, packed objects)` in the fixture's repository.
fn objects_on_disk(fx: &Fixture) -> (u64, u64) {
    let counts = fx.git(&["count-objects", "-v"]);
    let get = |key: &str| {
        counts
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap()
    };
    (get("count:"), get("in-pack:"))
}

#[test]
fn the_commits_reach_the_disk_as_one_pack_before_the_ref_moves() {
    let fx = Fixture::new();
    let (loose, packed) = objects_on_disk(&fx);

    // Until the pack, every object is in memory only.
    let err = commit(&fx.repo, BRANCH, &specs(), &Faults::at("before-pack")).unwrap_err();
    assert!(matches!(err, StageError::Injected { .. }), "{err:?}");
    assert_eq!(objects_on_disk(&fx), (loose, packed));

    // Then they are all in one pack, and no ref has moved.
    let refs = fx.git(&["for-each-ref"]);
    let seen = RefCell::new(None);
    let hook = Hook(|point: &str| {
        if point == "before-ref" {
            *seen.borrow_mut() = Some((
                objects_on_disk(&fx),
                fx.git(&["for-each-ref"]),
                fx.git(&["fsck", "--no-dangling", "--strict"]),
            ));
            return Err("stop".into());
        }
        Ok(())
    });
    commit(&fx.repo, BRANCH, &specs(), &hook).unwrap_err();
    let (counts, refs_then, _fsck) = seen.into_inner().expect("reached before-ref");
    assert_eq!(counts.0, loose, "no loose object was written");
    assert!(counts.1 > packed, "the new objects are packed: {counts:?}");
    assert_eq!(refs_then, refs);
    let packs: Vec<PathBuf> = fs::read_dir(fx.repo.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idx"))
        .collect();
    assert_eq!(packs.len(), 1, "{packs:?}");
    fx.git(&["verify-pack", packs[0].to_str().unwrap()]);

    // The rerun reuses nothing it must not: it lands as usual.
    let main_before = fx.git(&["rev-parse", "main"]);
    let staged = commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap();
    assert_migrated(&fx, &staged, &main_before);
    fx.git(&["fsck", "--strict"]);
}

#[test]
fn rewritten_directories_are_packed_as_deltas_git_reads() {
    let fx = Fixture::new();
    let many: Vec<String> = (0..300).map(|i| format!("d/f{i:03}.nix")).collect();
    let mut specs = vec![CommitSpec {
        message: "add".into(),
        changes: many
            .iter()
            .map(|p| change(p, Some("{ }\n")))
            .chain([change("d/x.nix", Some("a\n"))])
            .collect(),
    }];
    for i in 0..80 {
        specs.push(CommitSpec {
            message: format!("edit {i}"),
            changes: vec![change(&many[i * 3], Some(&format!("{{ n = {i}; }}\n")))],
        });
    }
    // d/ goes back to a tree it had: it must not become a delta of
    // its own delta.
    for x in ["b\n", "a\n"] {
        specs.push(CommitSpec {
            message: format!("x {x}"),
            changes: vec![change("d/x.nix", Some(x))],
        });
    }
    let main_before = fx.git(&["rev-parse", "main"]);
    commit(&fx.repo, BRANCH, &specs, &NoFaults).unwrap();
    fx.git(&["fsck", "--strict"]);
    let pack = fs::read_dir(fx.repo.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx"))
        .unwrap();
    let verbose = fx.git(&["verify-pack", "-v", pack.to_str().unwrap()]);
    // How long the chains grow is libgit2's choice (its delta search runs
    // on every core, so it varies from run to run); that there are deltas,
    // and none deeper than git's own limit of 50, is the pack's promise.
    let chain = |n: usize| verbose.contains(&format!("chain length = {n}:"));
    assert!(chain(1), "deltas:\n{verbose}");
    assert!((51..=100).all(|n| !chain(n)), "{verbose}");
    // Every version reads back as written.
    assert_eq!(fx.read("d/f009.nix"), "{ n = 3; }\n");
    assert_eq!(fx.read("d/x.nix"), "a\n");
    for i in [0, 41, 79] {
        let rev = format!("{BRANCH}~{}", 81 - i);
        let text = fx.git(&["show", &format!("{rev}:{}", many[i * 3])]);
        assert_eq!(text.trim_end(), format!("{{ n = {i}; }}"));
    }
    assert_eq!(
        fx.git(&["rev-list", "--count", &format!("{main_before}..{BRANCH}")]),
        "83"
    );
}

#[test]
fn the_narrow_delta_search_is_set_on_a_repository_of_its_own() {
    let fx = Fixture::new();
    let config = fs::read(fx.repo.join(".git/config")).unwrap();
    let repo = git2::Repository::open(&fx.repo).unwrap();
    let packing = git2::Repository::from_odb(repo.odb().unwrap()).unwrap();
    let settings = build::narrow_delta_search(&packing).expect("a temporary file");
    let window = |r: &git2::Repository| r.config().unwrap().get_i64("pack.windowMemory").ok();
    assert_eq!(window(&packing), Some(1));
    // Neither the user's repository nor its configuration sees it.
    assert_eq!(window(&repo), None);
    drop(settings);
    assert_eq!(fs::read(fx.repo.join(".git/config")).unwrap(), config);
}

#[test]
fn a_fault_before_the_ref_changes_nothing_and_a_rerun_works() {
    for point in [
        "before-commit-1",
        "after-commit-1",
        "before-commit-2",
        "after-commit-2",
        "before-commit-3",
        "after-commit-3",
        "before-pack",
        "before-ref",
    ] {
        let fx = Fixture::new();
        let main_before = fx.git(&["rev-parse", "main"]);
        let before = fx.snapshot(true);
        let err = commit(&fx.repo, BRANCH, &specs(), &Faults::at(point)).unwrap_err();
        match &err {
            StageError::Injected { point: p, .. } => assert_eq!(p, point),
            other => panic!("{point}: unexpected {other:?}"),
        }
        assert!(err.to_string().contains("run again"), "{err}");
        assert_eq!(
            fx.snapshot(true),
            before,
            "fault at {point} changed something"
        );
        let staged = commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap();
        assert_migrated(&fx, &staged, &main_before);
    }
}

#[test]
fn a_failed_check_changes_nothing_and_a_passed_one_commits() {
    let fx = Fixture::new();
    let main_before = fx.git(&["rev-parse", "main"]);
    let before = fx.snapshot(true);
    // It sees each commit, in order, and the first refusal counts.
    let seen = std::sync::Mutex::new(Vec::new());
    let failing = |commit: &CommitSpec| {
        let mut seen = seen.lock().unwrap();
        seen.push(commit.clone());
        if seen.len() == 2 {
            return Err("step 2 does not parse".to_string());
        }
        Ok(())
    };
    let err = commit_checked(&fx.repo, BRANCH, specs(), &NoFaults, &failing).unwrap_err();
    assert_eq!(seen.into_inner().unwrap(), specs()[..2]);
    assert!(
        matches!(&err, StageError::Invalid(m) if m == "step 2 does not parse"),
        "{err:?}"
    );
    assert_eq!(fx.snapshot(true), before, "a failed check wrote something");
    assert_eq!(objects_on_disk(&fx).1, 0, "no pack before the check passes");
    let staged = commit_checked(&fx.repo, BRANCH, specs(), &NoFaults, &|_| Ok(())).unwrap();
    assert_migrated(&fx, &staged, &main_before);
}

#[test]
fn a_fault_before_checkout_leaves_the_branch_with_the_commits() {
    let fx = Fixture::new();
    let main_before = fx.git(&["rev-parse", "main"]);
    let before = fx.snapshot(false);
    let err = commit(&fx.repo, BRANCH, &specs(), &Faults::at("before-checkout")).unwrap_err();
    let StageError::NotCheckedOut {
        branch,
        original,
        count,
        cause,
        worktree_touched,
        ..
    } = &err
    else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(
        (branch.as_str(), original.as_str(), *count),
        (BRANCH, "main", 3)
    );
    assert!(matches!(**cause, StageError::Injected { .. }));
    assert!(!worktree_touched);
    let msg = err.to_string();
    assert!(msg.contains(&format!("git switch {BRANCH}")), "{msg}");
    assert!(msg.contains("was created with 3 commits"), "{msg}");
    // HEAD, index and work tree as before; the branch holds the commits.
    assert_eq!(fx.snapshot(false), before);
    assert_eq!(fx.git(&["rev-parse", &format!("{BRANCH}~3")]), main_before);
    // A rerun is refused (the branch exists); checking it out works.
    assert!(matches!(
        commit(&fx.repo, BRANCH, &specs(), &NoFaults),
        Err(StageError::BranchExists { .. })
    ));
    fx.git(&["switch", "-q", BRANCH]);
    assert_eq!(fx.read("users/alice/default.nix"), ALICE);
    assert_eq!(fx.status(), "");
}

#[test]
fn no_commits_creates_no_branch() {
    let fx = Fixture::new();
    let before = fx.snapshot(true);
    let staged = commit(&fx.repo, BRANCH, &[], &NoFaults).unwrap();
    assert_eq!(
        staged,
        Staged {
            branch: BRANCH.into(),
            original: Some("main".into()),
            commits: vec![]
        }
    );
    assert_eq!(fx.snapshot(true), before);
}

/// `check_ready` and `commit` both refuse, and nothing is written.
fn refused(fx: &Fixture, dir: &Path) -> StageError {
    let before = fx
        .repo
        .join(".git/HEAD")
        .exists()
        .then(|| fx.snapshot(true));
    let err = check_ready(dir).unwrap_err();
    let again = commit(dir, BRANCH, &specs(), &NoFaults).unwrap_err();
    assert_eq!(err.to_string(), again.to_string());
    let wt = write_worktree(dir, &specs()[0].changes, &NoFaults).unwrap_err();
    assert_eq!(err.to_string(), wt.to_string());
    if let Some(before) = before {
        assert_eq!(fx.snapshot(true), before);
    }
    err
}

#[test]
fn refuses_a_directory_that_is_not_a_repository() {
    let fx = Fixture::empty();
    fs::write(fx.repo.join("flake.nix"), "{ }\n").unwrap();
    let err = refused(&fx, &fx.repo);
    assert!(matches!(err, StageError::NotARepository { .. }), "{err:?}");
    assert!(err.to_string().contains("git init"), "{err}");
    let missing = check_ready(&fx.repo.join("nope")).unwrap_err();
    assert!(matches!(missing, StageError::NotARepository { .. }));
}

#[test]
fn refuses_a_bare_repository() {
    let fx = Fixture::new();
    let bare = fx.tmp.path().join("bare.git");
    fx.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let err = refused(&fx, &bare);
    assert!(matches!(err, StageError::BareRepository { .. }), "{err:?}");
    assert!(err.to_string().contains("git clone"), "{err}");
}

#[test]
fn refuses_a_detached_head() {
    let fx = Fixture::new();
    fx.git(&["switch", "-q", "--detach"]);
    let err = refused(&fx, &fx.repo);
    assert!(matches!(err, StageError::DetachedHead { .. }), "{err:?}");
    assert!(err.to_string().contains("git switch <branch>"), "{err}");
}

#[test]
fn refuses_an_unborn_head() {
    let fx = Fixture::empty();
    fx.git(&["init", "-q", "-b", "trunk"]);
    fx.write("flake.nix", "{ }\n");
    let err = refused(&fx, &fx.repo);
    match &err {
        StageError::UnbornHead { branch } => assert_eq!(branch, "trunk"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().contains("commit the configuration first"),
        "{err}"
    );
}

fn assert_dirty(err: &StageError, path: &str, what: &str) {
    match err {
        StageError::DirtyWorktree { count, entries } => {
            assert_eq!(*count, 1, "{err}");
            assert_eq!(entries[0].path, path);
            assert_eq!(entries[0].change, what);
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(path) && msg.contains("git stash -u"), "{msg}");
}

#[test]
fn refuses_a_modified_file() {
    let fx = Fixture::new();
    fx.write("hosts/b/configuration.nix", "{ }\n");
    assert_dirty(
        &refused(&fx, &fx.repo),
        "hosts/b/configuration.nix",
        "modified",
    );
}

#[test]
fn refuses_an_untracked_file_but_not_an_ignored_one() {
    let fx = Fixture::new();
    fx.write("result", "ignored, changed\n");
    check_ready(&fx.repo).unwrap();
    fx.write("hosts/c/configuration.nix", "{ }\n");
    assert_dirty(
        &refused(&fx, &fx.repo),
        "hosts/c/configuration.nix",
        "untracked",
    );
}

#[test]
fn refuses_a_staged_change() {
    let fx = Fixture::new();
    fx.write("flake.nix", "{ outputs = _: { x = 1; }; }\n");
    fx.git(&["add", "flake.nix"]);
    assert_dirty(&refused(&fx, &fx.repo), "flake.nix", "staged change");
}

#[test]
fn refuses_a_deleted_file() {
    let fx = Fixture::new();
    fs::remove_file(fx.repo.join("old.nix")).unwrap();
    assert_dirty(&refused(&fx, &fx.repo), "old.nix", "deleted");
}

#[test]
fn lists_at_most_ten_dirty_paths_and_the_count() {
    let fx = Fixture::new();
    for i in 0..12 {
        fx.write(&format!("new/{i:02}.nix"), "{ }\n");
    }
    let err = refused(&fx, &fx.repo);
    let StageError::DirtyWorktree { count, entries } = &err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!((*count, entries.len()), (12, DIRTY_LIST_LIMIT));
    assert_eq!(entries[0].path, "new/00.nix");
    let msg = err.to_string();
    assert!(msg.contains("12 uncommitted changes"), "{msg}");
    assert!(
        msg.contains("new/09.nix") && !msg.contains("new/10.nix"),
        "{msg}"
    );
    assert!(msg.contains("and 2 more"), "{msg}");
}

#[test]
fn refuses_a_rebase_in_progress() {
    let fx = Fixture::new();
    fs::create_dir(fx.repo.join(".git/rebase-merge")).unwrap();
    let err = refused(&fx, &fx.repo);
    match &err {
        StageError::OperationInProgress { state, .. } => assert_eq!(state, "rebase"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("git rebase --abort"), "{err}");
}

#[test]
fn refuses_a_real_conflicting_rebase_and_merge() {
    let fx = Fixture::new();
    fx.git(&["switch", "-q", "-c", "feature"]);
    fx.write("flake.nix", "{ outputs = _: { feature = true; }; }\n");
    fx.git(&["commit", "-q", "-am", "feature"]);
    fx.git(&["switch", "-q", "main"]);
    fx.write("flake.nix", "{ outputs = _: { main = true; }; }\n");
    fx.git(&["commit", "-q", "-am", "main"]);

    let merge = fx.cmd(&fx.repo, &["merge", "-q", "feature"]);
    assert!(!merge.status.success(), "the merge conflicts");
    let err = check_ready(&fx.repo).unwrap_err();
    assert!(
        matches!(&err, StageError::OperationInProgress { state, .. } if state == "merge"),
        "{err:?}"
    );
    assert!(err.to_string().contains("git merge --abort"), "{err}");
    fx.git(&["merge", "--abort"]);
    check_ready(&fx.repo).unwrap();

    fx.git(&["switch", "-q", "feature"]);
    let rebase = fx.cmd(&fx.repo, &["rebase", "main"]);
    assert!(!rebase.status.success(), "the rebase conflicts");
    let err = refused(&fx, &fx.repo);
    assert!(
        matches!(&err, StageError::OperationInProgress { state, .. } if state == "rebase"),
        "{err:?}"
    );
}

#[test]
fn refuses_an_existing_or_colliding_or_invalid_branch() {
    let fx = Fixture::new();
    fx.git(&["branch", "taken"]);
    fx.git(&["branch", "clan"]);
    let before = fx.snapshot(true);
    let err = commit(&fx.repo, "taken", &specs(), &NoFaults).unwrap_err();
    assert!(matches!(err, StageError::BranchExists { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("--branch NAME") && msg.contains("git branch -D taken"),
        "{msg}"
    );
    // The current branch is refused without suggesting to delete it.
    let err = commit(&fx.repo, "main", &specs(), &NoFaults).unwrap_err();
    assert!(
        matches!(err, StageError::InvalidBranchName { .. })
            && !err.to_string().contains("branch -D"),
        "{err:?}"
    );
    let err = commit(&fx.repo, "clan/users", &specs(), &NoFaults).unwrap_err();
    assert!(
        matches!(err, StageError::InvalidBranchName { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("`clan`"), "{err}");
    for bad in ["", "a..b", "-x", "HEAD", "ends/", "sp ace"] {
        let err = commit(&fx.repo, bad, &specs(), &NoFaults).unwrap_err();
        assert!(
            matches!(err, StageError::InvalidBranchName { .. }),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(fx.snapshot(true), before);
}

#[test]
fn refuses_without_a_committer_identity() {
    if std::env::var_os("GIT_AUTHOR_NAME").is_some()
        || std::env::var_os("GIT_COMMITTER_NAME").is_some()
    {
        eprintln!("skipped: GIT_AUTHOR_NAME / GIT_COMMITTER_NAME set in the environment");
        return;
    }
    let fx = Fixture::new();
    // Empty repository-local values override any global identity.
    fx.git(&["config", "user.name", ""]);
    fx.git(&["config", "user.email", ""]);
    let err = refused(&fx, &fx.repo);
    assert!(matches!(err, StageError::NoIdentity { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("git config user.name") && msg.contains("user.email"),
        "{msg}"
    );
}

#[test]
fn refuses_invalid_changes_before_writing_anything() {
    let fx = Fixture::new();
    let cases: Vec<(Vec<FileChange>, &str)> = vec![
        (vec![change("missing.nix", None)], "does not exist"),
        (vec![change("../outside.nix", Some("x"))], "`..`"),
        (vec![change("/abs.nix", Some("x"))], "relative"),
        (vec![change(".git/config", Some("x"))], "`.git`"),
        (vec![change("", Some("x"))], "empty"),
        (
            vec![change("a.nix", Some("x")), change("a.nix", None)],
            "twice",
        ),
        (
            vec![change("d", Some("x")), change("d/e.nix", Some("y"))],
            "as a file",
        ),
        (vec![change("hosts", Some("x"))], "directory"),
        (vec![change("flake.nix/x.nix", Some("x"))], "is a file"),
        (vec![change("result", Some("x"))], "ignored file"),
        (vec![change("result/x.nix", Some("x"))], "ignored file"),
    ];
    for (changes, needle) in cases {
        let before = fx.snapshot(true);
        let specs = vec![
            specs()[0].clone(),
            CommitSpec {
                message: "bad".into(),
                changes: changes.clone(),
            },
        ];
        let err = commit(&fx.repo, BRANCH, &specs, &NoFaults).unwrap_err();
        assert!(
            matches!(err, StageError::InvalidChange { .. }),
            "{changes:?}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{changes:?}: {err}");
        let err = write_worktree(
            &fx.repo,
            &[specs[0].changes.clone(), changes.clone()].concat(),
            &NoFaults,
        )
        .unwrap_err();
        assert!(
            matches!(err, StageError::InvalidChange { .. }),
            "{changes:?}: {err:?}"
        );
        assert_eq!(fx.snapshot(true), before, "{changes:?}");
    }
    let err = commit(
        &fx.repo,
        BRANCH,
        &[CommitSpec {
            message: " \n".into(),
            changes: vec![],
        }],
        &NoFaults,
    )
    .unwrap_err();
    assert!(
        matches!(err, StageError::EmptyMessage { index: 0 }),
        "{err:?}"
    );
}

#[cfg(unix)]
#[test]
fn refuses_to_write_through_a_symbolic_link() {
    let fx = Fixture::new();
    std::os::unix::fs::symlink("hosts/a/configuration.nix", fx.repo.join("link.nix")).unwrap();
    std::os::unix::fs::symlink("hosts", fx.repo.join("linkdir")).unwrap();
    fx.git(&["add", "link.nix", "linkdir"]);
    fx.git(&["commit", "-q", "-m", "links"]);
    let before = fx.snapshot(true);
    for path in ["link.nix", "linkdir/x.nix"] {
        let changes = vec![change(path, Some("{ }\n"))];
        let spec = CommitSpec {
            message: "through a link".into(),
            changes: changes.clone(),
        };
        let err = commit(&fx.repo, BRANCH, &[spec], &NoFaults).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = write_worktree(&fx.repo, &changes, &NoFaults).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
    assert_eq!(fx.snapshot(true), before);
    // Deleting the link itself is fine.
    let spec = CommitSpec {
        message: "drop link".into(),
        changes: vec![change("link.nix", None)],
    };
    commit(&fx.repo, BRANCH, &[spec], &NoFaults).unwrap();
    assert!(fs::symlink_metadata(fx.repo.join("link.nix")).is_err());
    assert_eq!(fx.read("hosts/a/configuration.nix"), HOST_A);
}

#[test]
fn paths_are_relative_to_a_subdirectory_repo_dir() {
    let fx = Fixture::new();
    let sub = fx.repo.join("hosts");
    let spec = CommitSpec {
        message: "in hosts".into(),
        changes: vec![change("c/configuration.nix", Some("{ }\n"))],
    };
    let staged = commit(&sub, BRANCH, &[spec], &NoFaults).unwrap();
    assert_eq!(staged.commits.len(), 1);
    assert_eq!(
        fx.git(&["show", "--name-only", "--format=", BRANCH]),
        "hosts/c/configuration.nix"
    );
    assert_eq!(fx.status(), "");
}

#[test]
fn write_worktree_writes_and_deletes_files_only() {
    let fx = Fixture::new();
    let head = fx.git(&["rev-parse", "HEAD"]);
    let index = fs::read(fx.repo.join(".git/index")).unwrap();
    let changes: Vec<FileChange> = specs().into_iter().flat_map(|s| s.changes).collect();
    write_worktree(&fx.repo, &changes, &NoFaults).unwrap();
    assert_eq!(fx.read("users/alice/default.nix"), ALICE);
    assert_eq!(fx.read("hosts/a/configuration.nix"), HOST_A2);
    assert_eq!(fx.read("scripts/deploy.sh"), DEPLOY2);
    assert!(!fx.repo.join("old.nix").exists());
    // No ref, no index change; the status shows exactly the plan.
    assert_eq!(fx.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(fx.git(&["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(fs::read(fx.repo.join(".git/index")).unwrap(), index);
    assert_eq!(
        fx.git(&[
            "--no-optional-locks",
            "status",
            "--porcelain",
            "--untracked-files=all"
        ]),
        " M hosts/a/configuration.nix\n M hosts/b/configuration.nix\n D old.nix\n M scripts/deploy.sh\n?? users/alice/default.nix"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| fs::metadata(fx.repo.join(p)).unwrap().permissions().mode();
        assert_eq!(mode("scripts/deploy.sh") & 0o111, 0o111);
        assert_eq!(mode("users/alice/default.nix") & 0o111, 0);
        assert_ne!(
            mode("users/alice/default.nix") & 0o044,
            0,
            "readable like any new file"
        );
    }
    // No temporary file is left behind.
    let mut files = Vec::new();
    walk(&fx.repo, &fx.repo, &mut files);
    assert!(
        files.iter().all(|f| !f.contains(".clan-migrate-")),
        "{files:?}"
    );
    // Deleting the last file of a directory removes the directory.
    fx.git(&["stash", "-q", "-u"]);
    write_worktree(
        &fx.repo,
        &[
            change("hosts/a/hardware.nix", None),
            change("hosts/a/configuration.nix", None),
        ],
        &NoFaults,
    )
    .unwrap();
    assert!(!fx.repo.join("hosts/a").exists());
    assert!(fx.repo.join("hosts/b").exists());
    // And it refuses a dirty tree like commit does.
    let err = write_worktree(&fx.repo, &[change("x.nix", Some("{ }\n"))], &NoFaults).unwrap_err();
    assert!(matches!(err, StageError::DirtyWorktree { .. }), "{err:?}");
}

/// Every change of [`specs`], in order: a new file, two changed files,
/// a deletion, a changed executable.
fn all_changes() -> Vec<FileChange> {
    specs().into_iter().flat_map(|s| s.changes).collect()
}

/// Modification time of every file of the work tree (`.git` excluded).
fn mtimes(root: &Path) -> BTreeMap<String, std::time::SystemTime> {
    let mut files = Vec::new();
    walk(root, root, &mut files);
    files
        .iter()
        .filter(|f| !f.ends_with('/'))
        .map(|f| f.split(' ').next().unwrap().to_string())
        .map(|rel| {
            let t = fs::symlink_metadata(root.join(&rel))
                .unwrap()
                .modified()
                .unwrap();
            (rel, t)
        })
        .collect()
}

/// What `write_worktree(all_changes())` leaves in `git status`.
const WRITTEN_STATUS: &str = " M hosts/a/configuration.nix\n M hosts/b/configuration.nix\n D old.nix\n M scripts/deploy.sh\n?? users/alice/default.nix";

fn written_status(fx: &Fixture) -> String {
    fx.git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=all",
    ])
}

#[test]
fn write_worktree_fault_points_are_called_in_order() {
    let fx = Fixture::new();
    let faults = Faults::none();
    write_worktree(&fx.repo, &all_changes(), &faults).unwrap();
    assert_eq!(
        faults.seen.into_inner(),
        [
            "before-write-1",
            "write-1",
            "before-write-2",
            "write-2",
            "before-write-3",
            "write-3",
            // 4 deletes old.nix: nothing to write.
            "before-write-4",
            "before-write-5",
            "write-5",
            "after-write-1",
            "after-write-2",
            "after-write-3",
            "after-write-4",
            "after-write-5",
        ]
    );
    assert_eq!(written_status(&fx), WRITTEN_STATUS);
}

#[test]
fn a_failure_part_way_through_write_worktree_restores_every_file() {
    let mut cases: Vec<(String, Faults)> = Vec::new();
    for n in 1..=5 {
        for point in [format!("before-write-{n}"), format!("after-write-{n}")] {
            cases.push((point.clone(), Faults::at(&point)));
        }
    }
    for n in [1, 2, 3, 5] {
        let point = format!("write-{n}");
        cases.push((point.clone(), Faults::disk_full(&point)));
    }
    for (point, faults) in cases {
        let fx = Fixture::new();
        let before = fx.snapshot(true);
        let times = mtimes(&fx.repo);
        let err = write_worktree(&fx.repo, &all_changes(), &faults).unwrap_err();
        match &err {
            StageError::Injected { point: p, .. } => assert_eq!(p, &point),
            StageError::Io { action, source, .. } => {
                assert!(point.starts_with("write-"), "{point}: {err}");
                assert_eq!(action, "write");
                assert_eq!(source.kind(), io::ErrorKind::StorageFull);
                assert!(err.to_string().contains("left as it was"), "{err}");
            }
            other => panic!("{point}: unexpected {other:?}"),
        }
        // Contents, modes, directories, no temporary or backup file
        // left, and the old files are the old files (same mtimes).
        assert_eq!(fx.snapshot(true), before, "{point} changed something");
        assert_eq!(mtimes(&fx.repo), times, "{point}: a file was rewritten");
        assert!(!fx.repo.join("users").exists(), "{point}");
        // A rerun without the fault works.
        write_worktree(&fx.repo, &all_changes(), &NoFaults).unwrap();
        assert_eq!(written_status(&fx), WRITTEN_STATUS, "{point}");
        assert_eq!(fx.read("hosts/a/configuration.nix"), HOST_A2);
    }
}

#[test]
fn a_real_error_while_putting_files_in_place_is_undone() {
    let fx = Fixture::new();
    let before = fx.snapshot(true);
    let times = mtimes(&fx.repo);
    // Another process takes old.nix away before it is deleted (change 4).
    let away = fx.tmp.path().join("old.nix");
    let hook = Hook(|point: &str| {
        if point == "after-write-3" {
            fs::rename(fx.repo.join("old.nix"), &away).unwrap();
        }
        Ok(())
    });
    let err = write_worktree(&fx.repo, &all_changes(), &hook).unwrap_err();
    let StageError::Io {
        action,
        path,
        source,
    } = &err
    else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(action, "delete");
    assert!(path.ends_with("old.nix"), "{err}");
    assert_eq!(source.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("left as it was"), "{err}");
    fs::rename(&away, fx.repo.join("old.nix")).unwrap();
    assert_eq!(fx.snapshot(true), before);
    assert_eq!(mtimes(&fx.repo), times);
}

#[test]
fn a_failed_undo_says_what_is_left() {
    let fx = Fixture::new();
    // The backup of hosts/a/configuration.nix (change 2) disappears,
    // then the run fails.
    let hook = Hook(|point: &str| {
        if point != "after-write-2" {
            return Ok(());
        }
        for entry in fs::read_dir(fx.repo.join("hosts/a")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.starts_with(".configuration.nix.clan-migrate-") && name.ends_with(".bak") {
                fs::remove_file(fx.repo.join("hosts/a").join(name)).unwrap();
            }
        }
        Err("simulated crash".into())
    });
    let err = write_worktree(&fx.repo, &all_changes(), &hook).unwrap_err();
    let StageError::RestoreFailed { failures, .. } = &err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(failures.len(), 1, "{err}");
    let msg = err.to_string();
    for needle in [
        "injected fault at `after-write-2`",
        "hosts/a/configuration.nix",
        "partly changed",
        "git stash -u",
    ] {
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
    // Everything else was undone.
    assert_eq!(written_status(&fx), " M hosts/a/configuration.nix", "{msg}");
    assert_eq!(fx.read("hosts/a/configuration.nix"), HOST_A2);
}

#[test]
fn refuses_a_locked_index_or_head() {
    for name in ["index.lock", "HEAD.lock"] {
        let fx = Fixture::new();
        let lock = fx.repo.join(".git").join(name);
        fs::write(&lock, "").unwrap();
        let err = refused(&fx, &fx.repo);
        assert!(matches!(err, StageError::Locked { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&lock.display().to_string())
                && msg.contains("another git process")
                && msg.contains("rm "),
            "{msg}"
        );
        fs::remove_file(&lock).unwrap();
        check_ready(&fx.repo).unwrap();
    }
}

#[test]
fn a_lock_taken_during_the_run_stops_it_before_the_ref() {
    let fx = Fixture::new();
    let before = fx.snapshot(true);
    let lock = fx.repo.join(".git/index.lock");
    let hook = Hook(|point: &str| {
        if point == "after-commit-2" {
            fs::write(&lock, "").unwrap();
        }
        Ok(())
    });
    let err = commit(&fx.repo, BRANCH, &specs(), &hook).unwrap_err();
    assert!(matches!(err, StageError::Locked { .. }), "{err:?}");
    assert_eq!(fx.snapshot(true), before);
    fs::remove_file(&lock).unwrap();
    commit(&fx.repo, BRANCH, &specs(), &NoFaults).unwrap();
    assert_eq!(fx.status(), "");
}

#[test]
fn messages_say_what_to_do() {
    let errors = [
        StageError::Injected {
            point: "before-ref".into(),
            message: "x".into(),
        },
        StageError::HeadMoved {
            expected: "a".into(),
            found: "b".into(),
        },
        StageError::Io {
            action: "write".into(),
            path: "x".into(),
            source: io::Error::other("disk full"),
        },
        StageError::RestoreFailed {
            cause: "could not write `x`: disk full".into(),
            failures: vec!["`y`: could not remove this new file: boom".into()],
        },
        StageError::Locked {
            lock: ".git/index.lock".into(),
        },
        StageError::NotCheckedOut {
            branch: "b".into(),
            original: "main".into(),
            tip: "abc1234".into(),
            count: 1,
            cause: Box::new(StageError::Git {
                action: "checking out".into(),
                source: git2::Error::from_str("boom"),
            }),
            worktree_touched: true,
        },
    ];
    for e in errors {
        let msg = e.to_string();
        assert!(
            msg.contains("run again") || msg.contains("git switch"),
            "{msg}"
        );
    }
}
