//! Tests of `stage`, one file per job as in `stage/` itself: the
//! fixture and the helpers they share are here.

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

mod checkout;
mod commit;
mod error;
mod preflight;
mod worktree;

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
