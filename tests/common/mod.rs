//! Helpers shared by the integration tests: fixture paths, copying a
//! fixture into a scratch git repository, fingerprinting a tree to prove a
//! run left it alone, and skipping (or, on CI, failing) when an external
//! tool such as `nix` is missing.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Every fixture under `testdata/`, one per discovery or spelling pattern.
pub const CASES: [&str; 15] = [
    "already-shared",
    "broken-file",
    "clan-flake",
    "colmena",
    "dir-conventions",
    "dynamic-users",
    "eval-flake",
    "example",
    "flake-helper",
    "flake-literal",
    "imports",
    "lone-configuration",
    "machines-dir",
    "spellings",
    "traps",
];

/// `testdata/<case>` as an absolute path.
pub fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(case)
}

/// Whether `CI` says we run on continuous integration.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The executable `name` on `PATH`, if any.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether a test that needs the external tool `name` can run.
///
/// Missing locally: prints why the test is skipped and returns `false`.
/// Missing on CI (`CI=true`): panics, so a misconfigured runner cannot
/// turn the test into a silent pass.
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        return true;
    }
    if on_ci() {
        panic!("`{name}` is not on PATH, but CI=true: install it on the runner");
    }
    eprintln!("skipped: `{name}` is not on PATH (this would fail with CI=true)");
    false
}

/// Copies the directory tree `src` into `dst` (created if missing).
pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &to).unwrap();
        } else {
            panic!("unexpected non-file in fixture: {}", entry.path().display());
        }
    }
}

/// Runs `git <args>` in `dir`, with an identity so commits work anywhere.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A copy of fixture `case` in a fresh temp dir, as a git repository with
/// every file tracked (what Nix flakes need) but nothing committed.
pub fn git_fixture(case: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&fixture(case), tmp.path());
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "-A"]);
    tmp
}

/// What a file looked like: its bytes (hashed) and when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub len: u64,
    pub hash: u64,
    pub modified: Option<SystemTime>,
}

/// FNV-1a, 64 bits: stable, dependency-free, plenty for change detection.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Every file under `root` (relative path -> state), `.git` excluded.
/// Two fingerprints are equal only if no file was added, removed,
/// rewritten or touched.
pub fn tree_fingerprint(root: &Path) -> BTreeMap<PathBuf, FileState> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, FileState>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(
                    path.strip_prefix(root).unwrap().to_path_buf(),
                    FileState {
                        len: meta.len(),
                        hash: fnv1a(&bytes),
                        modified: meta.modified().ok(),
                    },
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Every `.nix` file under `root`, sorted.
pub fn nix_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "nix") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out.sort();
    out
}
