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
pub const CASES: [&str; 41] = [
    "already-shared",
    "already-shared-clan",
    "broken-file",
    "clan-darwin",
    "clan-flake",
    "clan-inherited",
    "colmena",
    "colmena-hive",
    "computed-hosts",
    "convert-flake-parts",
    "convert-helper",
    "convert-literal",
    "convert-other-outputs",
    "convert-second-nixpkgs",
    "dir-conventions",
    "dynamic-users",
    "eval-flake",
    "example",
    "flake-helper",
    "flake-literal",
    "flake-parts",
    "helper-modules",
    "imports",
    "let-host-set",
    "listed-users",
    "lite-config",
    "lone-configuration",
    "machines-dir",
    "module-set",
    "nixops",
    "read-dir",
    "read-dir-modules",
    "service",
    "service-bare",
    "service-flake-parts",
    "service-inline",
    "shared-first",
    "spellings",
    "starter-configs",
    "traps",
    "unbuilt-machine",
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

// ---------------------------------------------------------------------------
// Migration tests (`tests/plan.rs`, `tests/apply.rs`): the Nix oracle, the
// fixtures with repeated users, and a hermetic sandbox (scratch git repo +
// its own HOME) to run the binary and git in.
// ---------------------------------------------------------------------------

pub mod oracle;

/// The fixtures whose plan is not empty: users repeated across hosts.
pub const REPEATED_CASES: [&str; 28] = [
    "clan-darwin",
    "clan-inherited",
    "colmena",
    "colmena-hive",
    "computed-hosts",
    "dir-conventions",
    "dynamic-users",
    "example",
    "flake-helper",
    "flake-literal",
    "flake-parts",
    "helper-modules",
    "let-host-set",
    "lite-config",
    "machines-dir",
    "module-set",
    "nixops",
    "read-dir",
    "read-dir-modules",
    "service",
    "service-bare",
    "service-flake-parts",
    "service-inline",
    "shared-first",
    "spellings",
    "starter-configs",
    "traps",
    "unbuilt-machine",
];

/// The fixtures with nothing to migrate (plan empty, `--check` exits 0).
pub const NOTHING_TO_DO_CASES: [&str; 5] = [
    "already-shared",
    "already-shared-clan",
    "clan-flake",
    "listed-users",
    "lone-configuration",
];

/// The fixtures a scan error blocks (exit 1, nothing planned).
pub const BLOCKED_CASES: [&str; 2] = ["broken-file", "imports"];

/// The identity every sandboxed git and `clan-migrate` run commits with.
pub const SANDBOX_NAME: &str = "Sandbox Tester";
pub const SANDBOX_EMAIL: &str = "sandbox@example.com";

/// A scratch copy of a fixture as a git repository, with a HOME of its own
/// so neither the runner's git configuration nor its identity leaks in.
pub struct Sandbox {
    _tmp: tempfile::TempDir,
    /// The repository (work tree root).
    pub repo: PathBuf,
    /// An empty HOME (and XDG_CONFIG_HOME) for every process started here.
    pub home: PathBuf,
}

impl Sandbox {
    /// An empty sandbox: `repo` exists but is not a git repository.
    pub fn empty() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("repo");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(home.join(".config")).unwrap();
        Sandbox {
            _tmp: tmp,
            repo,
            home,
        }
    }

    /// Fixture `case` copied into the sandbox, not a git repository.
    pub fn copy(case: &str) -> Sandbox {
        let sb = Sandbox::empty();
        copy_tree(&fixture(case), &sb.repo);
        sb
    }

    /// Fixture `case` as a git repository on branch `main`, every file
    /// tracked, nothing committed (what `git apply --check` needs).
    pub fn tracked(case: &str) -> Sandbox {
        let sb = Sandbox::copy(case);
        sb.git(&["init", "-q", "-b", "main"]);
        sb.git(&["add", "-A"]);
        sb
    }

    /// Fixture `case` committed on branch `main` with a clean work tree.
    pub fn committed(case: &str) -> Sandbox {
        let sb = Sandbox::tracked(case);
        sb.git(&["commit", "-q", "-m", "NixOS configuration"]);
        sb
    }

    /// The hermetic environment: own HOME, no system config, a fixed identity.
    fn hermetic(&self, cmd: &mut Command) {
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_CONFIG",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_SYSTEM",
            "EMAIL",
            "NO_COLOR",
            "CLICOLOR_FORCE",
            "CLAN_MIGRATE_TEST_FAULT",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", SANDBOX_NAME)
            .env("GIT_AUTHOR_EMAIL", SANDBOX_EMAIL)
            .env("GIT_COMMITTER_NAME", SANDBOX_NAME)
            .env("GIT_COMMITTER_EMAIL", SANDBOX_EMAIL);
    }

    /// `clan-migrate <args>` with the hermetic environment, run in `repo`.
    /// Arguments are passed as given (add the directory yourself, usually
    /// `.`).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clan-migrate"));
        self.hermetic(&mut cmd);
        cmd.current_dir(&self.repo).args(args);
        cmd
    }

    /// Runs `clan-migrate <args>` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run clan-migrate"))
    }

    /// `git <args>` in `repo` with the hermetic environment.
    pub fn git_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        self.hermetic(&mut cmd);
        cmd.args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(&self.repo);
        cmd
    }

    /// `git <args>`, which must succeed; its stdout, trimmed.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_cmd(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed in {}: {}",
            self.repo.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Whether `git <args>` succeeds.
    pub fn git_ok(&self, args: &[&str]) -> bool {
        self.git_cmd(args)
            .output()
            .expect("run git")
            .status
            .success()
    }

    /// `git rev-parse --verify <rev>`, if it resolves.
    pub fn rev(&self, rev: &str) -> Option<String> {
        let out = self
            .git_cmd(&["rev-parse", "--verify", "-q", &format!("{rev}^{{commit}}")])
            .output()
            .expect("run git");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The branch HEAD is on (`git symbolic-ref --short HEAD`).
    pub fn head_branch(&self) -> String {
        self.git(&["symbolic-ref", "--short", "HEAD"])
    }

    /// Local branch names, sorted.
    pub fn branches(&self) -> Vec<String> {
        let out = self.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads"]);
        let mut v: Vec<String> = out.lines().map(str::to_string).collect();
        v.sort();
        v
    }

    /// `git status --porcelain --untracked-files=all`.
    pub fn status(&self) -> String {
        self.git(&["status", "--porcelain", "--untracked-files=all"])
    }

    /// Every file of the work tree (`.git` excluded): relative path -> bytes.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        read_tree(&self.repo)
    }

    /// Writes `text` to `rel` inside the repository (creating directories).
    pub fn write(&self, rel: &str, text: &str) {
        let path = self.repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The text of `rel` inside the repository.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.repo.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }
}

/// Every file under `root` (`.git` excluded): relative path -> bytes.
pub fn read_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    tree_fingerprint(root)
        .into_keys()
        .map(|rel| {
            let bytes = std::fs::read(root.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// A finished process: exit code, stdout, stderr (lossy UTF-8).
#[derive(Debug, Clone)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics (showing both streams) unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}, got {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Splits a unified diff (as `plan` prints it) into per-file sections,
/// each starting with its `diff --git` line: `(path, section)`.
pub fn diff_sections(diff: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in diff.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            let path = rest
                .trim_end()
                .split(" b/")
                .next()
                .unwrap_or_default()
                .to_string();
            out.push((path, String::new()));
        }
        if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
        }
    }
    out
}

/// The part of `plan`'s output from the first `diff --git` on.
pub fn diff_part(plan_stdout: &str) -> &str {
    match plan_stdout.find("diff --git ") {
        Some(i) => &plan_stdout[i..],
        None => "",
    }
}

/// Runs `nix-instantiate --parse` on every file (in batches); returns the
/// failures as `path: message`.
pub fn nix_parse_failures(files: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for chunk in files.chunks(64) {
        let out = Command::new("nix-instantiate")
            .args(["--store", "dummy://", "--parse"])
            .args(chunk)
            .output()
            .expect("run nix-instantiate");
        if !out.status.success() {
            // Find the culprit(s) one by one for a precise report.
            for f in chunk {
                let one = Command::new("nix-instantiate")
                    .args(["--store", "dummy://", "--parse"])
                    .arg(f)
                    .output()
                    .expect("run nix-instantiate");
                if !one.status.success() {
                    failures.push(format!(
                        "{}: {}",
                        f.display(),
                        String::from_utf8_lossy(&one.stderr).trim()
                    ));
                }
            }
        }
    }
    failures
}

impl Sandbox {
    /// A scratch flake with hosts `alpha` and `beta` (`./hosts/<h>`), each
    /// `hosts/<h>/default.nix` given by `host(name)`; not a git repository.
    pub fn two_hosts(host: impl Fn(&str) -> String) -> Sandbox {
        let sb = Sandbox::empty();
        sb.write(
            "flake.nix",
            "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem { modules = [ ./hosts/alpha ]; };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem { modules = [ ./hosts/beta ]; };\n  };\n}\n",
        );
        for name in ["alpha", "beta"] {
            sb.write(&format!("hosts/{name}/default.nix"), &host(name));
        }
        sb
    }
}

/// Each host's entry files (inline modules left out), as discovery finds
/// them: what the oracle evaluates a host from.
pub fn entry_modules(repo: &Path) -> Vec<(String, Vec<PathBuf>)> {
    let discovery =
        clan_migrate::discover::discover(repo, &clan_migrate::DiscoverOptions::default());
    discovery
        .hosts
        .iter()
        .map(|h| {
            let files: Vec<PathBuf> = h
                .modules
                .iter()
                .filter(|m| m.inline.is_none())
                .map(|m| m.file.clone())
                .collect();
            (h.name.clone(), files)
        })
        .collect()
}

/// Starts `apply` sleeping at `point`, waits until it says it sleeps there,
/// and kills it with SIGKILL.
pub fn kill_at(sb: &Sandbox, point: &str) {
    use std::io::BufRead;
    let mut child = sb
        .cmd(&["apply", ".", "-q", "--color", "never"])
        .env("CLAN_MIGRATE_TEST_FAULT", format!("{point}:sleep"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn clan-migrate");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let marker = format!("sleeping 60 s at {point}");
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(line) if line.contains(&marker) => break,
            Ok(line) => seen.push(line),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{point}: apply never reached the point ({e}); stderr:\n{seen:#?}");
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{point}: {status:?}");
}

/// After an `apply` on a `Sandbox::committed` repository that read
/// `before`: the work tree now, and the files that changed, asserting that
/// none was deleted and that the commits since `main` hold exactly them.
pub fn changed_by_apply(
    sb: &Sandbox,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    case: &str,
) -> (
    BTreeMap<PathBuf, Vec<u8>>,
    std::collections::BTreeSet<PathBuf>,
) {
    let after = read_tree(&sb.repo);
    let changed: std::collections::BTreeSet<PathBuf> = after
        .iter()
        .filter(|(path, bytes)| before.get(*path) != Some(*bytes))
        .map(|(path, _)| path.clone())
        .collect();
    let removed: Vec<&PathBuf> = before.keys().filter(|p| !after.contains_key(*p)).collect();
    assert!(removed.is_empty(), "{case}: files deleted: {removed:?}");
    assert_eq!(
        sb.git(&["diff", "--name-only", "main", "HEAD"])
            .lines()
            .map(PathBuf::from)
            .collect::<std::collections::BTreeSet<_>>(),
        changed,
        "{case}: the commits hold exactly the changed files"
    );
    (after, changed)
}

/// After an `apply --no-commit` on a `Sandbox::committed` repository whose
/// `HEAD` was `head`: no commit was made, `main` is the only branch and is
/// checked out, every file of `expected` holds its planned contents, and
/// nothing is staged. Returns `git status`, one line per changed file.
pub fn assert_written_uncommitted(
    sb: &Sandbox,
    head: &str,
    expected: &[clan_migrate::plan::FileChange],
) -> String {
    assert_eq!(sb.rev("HEAD").unwrap(), head, "--no-commit made a commit");
    assert_eq!(sb.head_branch(), "main");
    assert_eq!(sb.branches(), ["main"]);
    for change in expected {
        assert_eq!(
            Some(sb.read(change.path.to_str().unwrap())),
            change.after,
            "{}",
            change.path.display()
        );
    }
    let status = sb.status();
    assert_eq!(status.lines().count(), expected.len(), "{status}");
    // Nothing staged: the index is still HEAD's.
    assert_eq!(sb.git(&["diff", "--cached", "--name-only"]), "");
    status
}
