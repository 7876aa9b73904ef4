//! Running `nix eval` on a flake exactly as one tree holds it: a
//! revision's tree, or the work tree as `git add -A` would commit it
//! (tracked files as they are on disk, untracked files that are not
//! ignored). The files are copied into a temporary directory and
//! evaluated as a `path:` flake, so neither the work tree's uncommitted
//! state leaks into a revision nor does Nix's git fetcher hide untracked
//! files (a new `users/<name>/default.nix` from `apply --no-commit`).

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A flake's files copied into a temporary directory, removed on drop.
pub struct FlakeCopy {
    dir: tempfile::TempDir,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CopyError {
    #[error("cannot create a temporary directory to evaluate in: {0}")]
    TempDir(String),
    #[error("cannot copy `{path}` to evaluate it: {message}")]
    Write { path: PathBuf, message: String },
    #[error("git: {0}")]
    Git(String),
}

impl From<git2::Error> for CopyError {
    fn from(e: git2::Error) -> Self {
        CopyError::Git(e.message().to_string())
    }
}

impl FlakeCopy {
    fn new() -> Result<Self, CopyError> {
        let dir = tempfile::Builder::new()
            .prefix("clan-migrate-eval-")
            .tempdir()
            .map_err(|e| CopyError::TempDir(e.to_string()))?;
        Ok(FlakeCopy { dir })
    }

    /// The directory holding the copy (the flake's root).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `path:<dir>`, the flake reference Nix evaluates.
    pub fn flake_ref(&self) -> String {
        format!("path:{}", self.dir.path().display())
    }

    /// The files of `tree` below `prefix` (a subdirectory of the
    /// repository, empty for its root), with their modes; submodules are
    /// left out (Nix's `path:` fetcher would not see into them either).
    pub fn of_tree(
        repo: &git2::Repository,
        tree: &git2::Tree<'_>,
        prefix: &Path,
    ) -> Result<Self, CopyError> {
        let copy = FlakeCopy::new()?;
        let root = copy.path().to_path_buf();
        let mut failure = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            let Ok(name) = entry.name() else {
                return git2::TreeWalkResult::Skip;
            };
            let full = Path::new(dir).join(name);
            let Ok(rel) = full.strip_prefix(prefix) else {
                return if prefix.starts_with(&full) {
                    git2::TreeWalkResult::Ok
                } else {
                    git2::TreeWalkResult::Skip
                };
            };
            if entry.kind() != Some(git2::ObjectType::Blob) {
                return git2::TreeWalkResult::Ok;
            }
            let result = repo
                .find_blob(entry.id())
                .map_err(CopyError::from)
                .and_then(|blob| {
                    write_entry(&root.join(rel), blob.content(), entry.filemode()).map_err(|e| {
                        CopyError::Write {
                            path: full.clone(),
                            message: e.to_string(),
                        }
                    })
                });
            match result {
                Ok(()) => git2::TreeWalkResult::Ok,
                Err(e) => {
                    failure = Some(e);
                    git2::TreeWalkResult::Abort
                }
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(copy),
        }
    }

    /// The work tree below `prefix` as `git add -A` would commit it:
    /// tracked files as they are on disk (deleted ones left out) and
    /// untracked files git does not ignore.
    pub fn of_worktree(repo: &git2::Repository, prefix: &Path) -> Result<Self, CopyError> {
        let workdir = repo
            .workdir()
            .ok_or_else(|| CopyError::Git("the repository has no work tree".into()))?;
        let copy = FlakeCopy::new()?;
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_unmodified(true)
            .include_ignored(false)
            .exclude_submodules(true);
        let statuses = repo.statuses(Some(&mut opts))?;
        for entry in statuses.iter() {
            use std::os::unix::ffi::OsStrExt;
            let path = Path::new(std::ffi::OsStr::from_bytes(entry.path_bytes()));
            let Ok(rel) = path.strip_prefix(prefix) else {
                continue;
            };
            let src = workdir.join(path);
            let Ok(meta) = src.symlink_metadata() else {
                // Deleted in the work tree: not part of it.
                continue;
            };
            copy_file(&src, &meta, &copy.path().join(rel)).map_err(|e| CopyError::Write {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        Ok(copy)
    }
}

impl FlakeCopy {
    /// [`FlakeCopy::of_worktree`] of the repository containing `dir`,
    /// below `dir`; `None` when `dir` is not in a git work tree (then Nix
    /// takes the directory as it is anyway).
    pub fn of_worktree_at(dir: &Path) -> Result<Option<Self>, CopyError> {
        let Ok(repo) = git2::Repository::discover(dir) else {
            return Ok(None);
        };
        let Some(workdir) = repo.workdir() else {
            return Ok(None);
        };
        let (Ok(abs), Ok(top)) = (dir.canonicalize(), workdir.canonicalize()) else {
            return Ok(None);
        };
        let Ok(prefix) = abs.strip_prefix(&top) else {
            return Ok(None);
        };
        FlakeCopy::of_worktree(&repo, prefix).map(Some)
    }
}

fn write_entry(dest: &Path, content: &[u8], mode: i32) -> io::Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match mode {
        0o120000 => {
            let target = std::str::from_utf8(content)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "symlink target"))?;
            std::os::unix::fs::symlink(target, dest)
        }
        _ => {
            std::fs::write(dest, content)?;
            if mode == 0o100755 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dest, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        }
    }
}

fn copy_file(src: &Path, meta: &std::fs::Metadata, dest: &Path) -> io::Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(src)?, dest)
    } else if meta.is_file() {
        std::fs::copy(src, dest).map(|_| ())
    } else {
        Ok(())
    }
}

/// Why Nix did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NixError {
    #[error("cannot run `nix` ({0}); install Nix 2.8 or later, or drop --eval")]
    NotRunnable(String),
    #[error("`nix eval` failed: {0}")]
    Failed(String),
    #[error("unexpected output from `nix eval`: {0}")]
    Output(String),
}

/// `nix eval --json <flake_ref>#<attr> --apply <apply>`, with flakes
/// enabled, offline (no substituters; nothing is fetched that is not
/// already there) and never writing a lock file. Nix's `--store dummy://`
/// cannot hold the flake's source, so the default store is used, as for
/// `nix eval .#…`.
pub fn eval_json(flake_ref: &str, attr: &str, apply: &str) -> Result<serde_json::Value, NixError> {
    let output = Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command flakes",
            "eval",
            "--json",
            "--offline",
            "--no-write-lock-file",
        ])
        .arg(format!("{flake_ref}#{attr}"))
        .args(["--apply", apply])
        .output()
        .map_err(|e| NixError::NotRunnable(e.to_string()))?;
    if !output.status.success() {
        return Err(NixError::Failed(first_lines(
            &String::from_utf8_lossy(&output.stderr),
            3,
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| NixError::Output(e.to_string()))
}

/// The first `n` lines of Nix's error output that say something, joined
/// with " / ": warnings, source excerpts (`  8| }`, `   | ^`) and the
/// `--show-trace` hint left out.
pub fn first_lines(stderr: &str, n: usize) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("warning:")
                && !l.starts_with("(use '--show-trace'")
                && !l
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .starts_with('|')
        })
        .take(n)
        .collect();
    if lines.is_empty() {
        "no error message".to_string()
    } else {
        lines.join(" / ")
    }
}

/// `s` as a Nix string literal.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_what_nix_interprets() {
        assert_eq!(string_literal("alpha"), "\"alpha\"");
        assert_eq!(string_literal("a\"b\\c${d}"), "\"a\\\"b\\\\c\\${d}\"");
    }

    #[test]
    fn first_lines_skip_noise() {
        let err = "warning: Git tree '/x' is dirty\nerror: attribute 'nixpkgs' missing\n\n       at /nix/store/x/flake.nix:3:5:\n            3|   a\n             |   ^\n(use '--show-trace' to show detailed location information)\n";
        assert_eq!(
            first_lines(err, 3),
            "error: attribute 'nixpkgs' missing / at /nix/store/x/flake.nix:3:5:"
        );
    }
}
