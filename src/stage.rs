//! Step 7, *stage*: land a migration as git commits on a new branch, safely.
//!
//! The order of operations is what makes it safe:
//!
//! 1. [`check_ready`] refuses anything but a clean, committed, non-bare work
//!    tree on a branch, with a committer identity and no other git process
//!    holding `index.lock` or `HEAD.lock`, and writes nothing.
//! 2. [`commit`] builds every commit's tree from the previous commit's tree
//!    (the first one from `HEAD`'s), making blobs, trees and commits **in
//!    memory** (`objects`) and writing nothing. The work tree, the index
//!    and every ref stay untouched, so an interruption here leaves nothing
//!    at all and a rerun just works.
//! 3. All new objects are written to the repository as **one packfile**
//!    (with its index), which beats hundreds of loose objects each
//!    compressed and written to a file of its own; git then reads the
//!    commits back. An interruption after this leaves an unreachable pack
//!    (which `git gc` collects).
//! 4. Only when the pack is in place is the branch ref created, at the last
//!    commit; it is never forced over an existing ref. The original branch
//!    ref is never written at all.
//! 5. The branch is checked out with a *safe* checkout (files that differ
//!    from `HEAD` are never overwritten, ignored files are never clobbered),
//!    `HEAD` is pointed at it and the index is written. Where git would
//!    write the files unconverted, the tool writes them itself (`checkout`),
//!    with the same checks; otherwise libgit2 does.
//!
//! [`write_worktree`] is the `--no-commit` variant: the same refusals, then
//! all or nothing: every file written to a temporary file first, then all
//! renamed into place, the old files kept until the end so that a failure
//! part-way puts them back.
//!
//! The module knows nothing about terminals: every [`StageError`] renders as
//! a sentence that says what is wrong and what to do about it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

mod checkout;
mod objects;
mod pack;
use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use git2::build::CheckoutBuilder;
use git2::{
    Branch, BranchType, ErrorCode, ObjectType, Oid, Repository, RepositoryOpenFlags,
    RepositoryState, Signature, Status, StatusOptions,
};

/// How many dirty paths a [`StageError::DirtyWorktree`] lists by name.
pub const DIRTY_LIST_LIMIT: usize = 10;

const MODE_BLOB: i32 = 0o100644;
const MODE_EXEC: i32 = 0o100755;
const MODE_LINK: i32 = 0o120000;
const MODE_TREE: i32 = 0o040000;
const MODE_COMMIT: i32 = 0o160000;

/// One file to write or delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Relative to the `repo_dir` given to [`commit`] / [`write_worktree`]
    /// (normally the work tree root; if `repo_dir` is a subdirectory of the
    /// work tree, relative to that subdirectory). No `..`, no `.git`.
    pub path: PathBuf,
    /// The new contents; `None` deletes the file.
    pub contents: Option<Vec<u8>>,
}

/// One commit: its message and the file changes relative to the commit
/// before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSpec {
    pub message: String,
    pub changes: Vec<FileChange>,
}

/// What [`commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// The branch the commits are on (now checked out).
    pub branch: String,
    /// The branch `HEAD` was on before the run; it has not moved.
    pub original: Option<String>,
    /// `(short id, summary line)` of each new commit, oldest first.
    pub commits: Vec<(String, String)>,
}

/// One path of a dirty work tree, for [`StageError::DirtyWorktree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyPath {
    /// Relative to the work tree root.
    pub path: String,
    /// `modified`, `untracked`, `deleted`, `staged`, `conflicted`, …
    pub change: String,
}

/// Why staging refused or failed. Each message says what is wrong and what
/// to do.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "`{}` is not a git repository ({reason}): run `git init` there and commit the configuration, or pass the directory of the repository that holds it",
        path.display()
    )]
    NotARepository { path: PathBuf, reason: String },

    #[error(
        "git refuses to open `{}`: {reason}; if you trust this repository, allow it with `git config --global --add safe.directory {}` and run again",
        path.display(),
        path.display()
    )]
    UnsafeRepository { path: PathBuf, reason: String },

    #[error(
        "`{}` is a bare git repository, it has no work tree to migrate: clone it (`git clone {} <dir>`) and run on the clone",
        path.display(),
        path.display()
    )]
    BareRepository { path: PathBuf },

    #[error(
        "a {state} is in progress in this repository: finish it or abort it ({hint}), then run again"
    )]
    OperationInProgress {
        /// `merge`, `rebase`, `cherry-pick`, `revert`, `bisect`, `git am`.
        state: String,
        /// The commands that finish or abort it.
        hint: String,
    },

    #[error(
        "HEAD is detached (at {commit}), not on a branch: check out the branch to migrate (`git switch <branch>`) and run again; the new branch starts from it"
    )]
    DetachedHead { commit: String },

    #[error(
        "the repository has no commits yet (branch `{branch}` is unborn): commit the configuration first (`git add -A && git commit -m \"NixOS configuration\"`) so the migration has something to start from, then run again"
    )]
    UnbornHead { branch: String },

    #[error("{}", dirty_message(*count, entries))]
    DirtyWorktree {
        /// How many paths are dirty in total.
        count: usize,
        /// The first [`DIRTY_LIST_LIMIT`] of them, in path order.
        entries: Vec<DirtyPath>,
    },

    #[error(
        "branch `{branch}` already exists: pass `--branch NAME` to use another name, or delete it (`git branch -D {branch}`) if it is left over from an earlier run"
    )]
    BranchExists { branch: String },

    #[error("cannot create branch `{branch}`: {reason}; pass `--branch NAME` with another name")]
    InvalidBranchName { branch: String, reason: String },

    #[error(
        "git has no committer identity ({reason}): set one with `git config user.name \"Your Name\"` and `git config user.email you@example.com` (add `--global` for every repository), then run again"
    )]
    NoIdentity { reason: String },

    #[error(
        "HEAD moved while the migration was being prepared (it was `{expected}`, now `{found}`): nothing was changed; run again"
    )]
    HeadMoved { expected: String, found: String },

    #[error(
        "commit {} of the plan has an empty message: nothing was changed; this is a bug in the migration plan, please report it",
        index + 1
    )]
    EmptyMessage {
        /// 0-based position in the `commits` slice.
        index: usize,
    },

    #[error(
        "cannot apply the planned change to `{}`: {reason}; nothing was changed — fix this (or run `clan-migrate plan` again if the repository changed since it was read) and run again",
        path.display()
    )]
    InvalidChange { path: PathBuf, reason: String },

    #[error(
        "git failed while {action}: {source}; your branch, index and work tree were not changed — check the repository (`git status`, `git fsck`) and run again"
    )]
    Git {
        action: String,
        #[source]
        source: git2::Error,
    },

    #[error(
        "could not {action} `{}`: {source}; the work tree was left as it was (what was already written has been undone) — fix the cause and run again",
        path.display()
    )]
    Io {
        action: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// [`write_worktree`] failed part-way and could not undo everything it
    /// had already written.
    #[error("{}", restore_failed_message(cause, failures))]
    RestoreFailed {
        /// What failed first (without the claim that it was undone).
        cause: String,
        /// One line per file that could not be restored.
        failures: Vec<String>,
    },

    #[error(
        "`{}` exists: another git process seems to be running in this repository; wait for it to finish or, if none is running (a git that crashed leaves this file behind), delete it (`rm {}`) and run again",
        lock.display(),
        lock.display()
    )]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },

    #[error(
        "stopped by an injected fault at `{point}`: {message}; this only happens in tests — run again without fault injection"
    )]
    Injected { point: String, message: String },

    /// The branch ref was created, but checking it out failed (or a fault
    /// was injected at `before-checkout`). The commits are safe on `branch`.
    #[error("{}", not_checked_out_message(branch, original, tip, *count, cause, *worktree_touched))]
    NotCheckedOut {
        branch: String,
        original: String,
        /// Short id of the branch tip.
        tip: String,
        /// How many commits the branch has on top of `original`.
        count: usize,
        cause: Box<StageError>,
        /// Whether the checkout may have written part of the work tree.
        worktree_touched: bool,
    },
}

fn dirty_message(count: usize, entries: &[DirtyPath]) -> String {
    let mut out = format!(
        "the work tree has {count} uncommitted change{}:",
        if count == 1 { "" } else { "s" }
    );
    for e in entries {
        out.push_str(&format!("\n    {}: {}", e.change, e.path));
    }
    if count > entries.len() {
        out.push_str(&format!("\n    … and {} more", count - entries.len()));
    }
    out.push_str(
        "\ncommit or stash them (`git stash -u`) and run again: the migration only runs on a clean tree, so its commits contain nothing else",
    );
    out
}

fn restore_failed_message(cause: &str, failures: &[String]) -> String {
    let mut out = format!(
        "{cause}; undoing what was already written failed too, so the work tree is partly changed:"
    );
    for f in failures {
        out.push_str(&format!("\n    {f}"));
    }
    out.push_str(
        "\nthe tree was clean before the run: `git status` shows what changed and `git stash -u` sets it all aside; then fix the cause and run again",
    );
    out
}

fn not_checked_out_message(
    branch: &str,
    original: &str,
    tip: &str,
    count: usize,
    cause: &StageError,
    worktree_touched: bool,
) -> String {
    // A git error's own text says nothing was changed, which is not so
    // once the checkout has started: name only what failed.
    let cause = match cause {
        StageError::Git { action, source } => format!("git failed while {action}: {source}"),
        other => other.to_string(),
    };
    let mut out = format!(
        "branch `{branch}` was created with {count} commit{} (tip {tip}) but was not checked out: {cause}\n",
        if count == 1 { "" } else { "s" }
    );
    if worktree_touched {
        out.push_str(&format!(
            "the checkout stopped part-way, so the work tree and index may be partly updated: `git switch --discard-changes {branch}` completes it (the tree was clean before the run, so nothing of yours is lost)"
        ));
    } else {
        out.push_str(&format!(
            "HEAD is still on `{original}` and the index and work tree are unchanged: review the commits with `git log -p {original}..{branch}`, check them out with `git switch {branch}`, or drop them with `git branch -D {branch}`"
        ));
    }
    out
}

/// Fault injection for tests. [`commit`] and [`write_worktree`] call
/// [`FaultPoint::at`] at named points; an `Err` aborts the run there with
/// [`StageError::Injected`] (wrapped in [`StageError::NotCheckedOut`] at
/// `before-checkout`).
///
/// The points of [`commit`], in order, with `N` counting commits from 1:
/// `before-commit-N`, `after-commit-N` (for each commit; the commits exist
/// in memory only), `before-pack` (before the new objects are written to
/// disk), `before-ref` (the pack is written, no ref has moved),
/// `before-checkout`.
///
/// The points of [`write_worktree`], with `N` counting the changes from 1
/// in the order given: first `before-write-N` for every change (before its
/// new contents are written to a temporary file), then `after-write-N` for
/// every change (after it is put in place: renamed over the old file, or
/// the file deleted). A failure at `after-write-N` undoes changes `1..=N`.
pub trait FaultPoint {
    fn at(&self, point: &str) -> Result<(), String> {
        let _ = point;
        Ok(())
    }

    /// An I/O error to simulate while [`write_worktree`] writes the new
    /// contents of change `N` (`point` is `write-N`), as if the operating
    /// system had returned it (say, `StorageFull` for a full disk). It takes
    /// the path a real write error takes. Changes that delete a file are
    /// never written, so they have no such point.
    fn io_error(&self, point: &str) -> Option<io::Error> {
        let _ = point;
        None
    }
}

/// The production [`FaultPoint`]: never fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFaults;

impl FaultPoint for NoFaults {}

fn git_err(action: impl Into<String>) -> impl FnOnce(git2::Error) -> StageError {
    let action = action.into();
    move |source| StageError::Git { action, source }
}

fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> StageError {
    StageError::InvalidChange {
        path: path.into(),
        reason: reason.into(),
    }
}

/// A repository that passed every refusal.
struct Ready {
    repo: Repository,
    workdir: PathBuf,
    /// Components of `repo_dir` below the work tree root.
    prefix: Vec<String>,
    /// `refs/heads/<original>`.
    head_ref: String,
    /// `<original>`.
    original: String,
    head: Oid,
    author: Signature<'static>,
    committer: Signature<'static>,
}

/// Refuses to stage unless `repo_dir` is (inside) the work tree of a
/// non-bare git repository with no operation in progress, `HEAD` on a branch
/// that has commits, a clean work tree (no modified, staged, deleted or
/// untracked-and-not-ignored files) and a committer identity. Writes
/// nothing.
///
/// Whether the target branch already exists is checked by [`check_branch`]
/// and again by [`commit`].
pub fn check_ready(repo_dir: &Path) -> Result<(), StageError> {
    ready(repo_dir).map(|_| ())
}

/// Refuses a branch name that is not valid, that already exists, or that
/// collides with an existing branch (`a` vs `a/b`). Writes nothing.
/// [`commit`] checks this too; callers may check early to refuse before
/// planning.
pub fn check_branch(repo_dir: &Path, branch: &str) -> Result<(), StageError> {
    let repo = open(repo_dir)?;
    branch_free(&repo, branch)
}

fn open(repo_dir: &Path) -> Result<Repository, StageError> {
    if !repo_dir.is_dir() {
        return Err(StageError::NotARepository {
            path: repo_dir.to_path_buf(),
            reason: "no such directory".into(),
        });
    }
    Repository::open_ext(
        repo_dir,
        RepositoryOpenFlags::empty(),
        &[] as &[&std::ffi::OsStr],
    )
    .map_err(|e| {
        if e.code() == ErrorCode::Owner {
            StageError::UnsafeRepository {
                path: repo_dir.to_path_buf(),
                reason: e.message().to_string(),
            }
        } else {
            StageError::NotARepository {
                path: repo_dir.to_path_buf(),
                reason: e.message().to_string(),
            }
        }
    })
}

fn ready(repo_dir: &Path) -> Result<Ready, StageError> {
    let r = ready_unchecked(repo_dir)?;
    dirty_check(&r.repo)?;
    Ok(r)
}

/// [`ready`] short of the dirty check, which [`commit_checked`] runs
/// alongside building the commits.
fn ready_unchecked(repo_dir: &Path) -> Result<Ready, StageError> {
    let repo = open(repo_dir)?;
    if repo.is_bare() {
        return Err(StageError::BareRepository {
            path: repo_dir.to_path_buf(),
        });
    }
    let Some(workdir) = repo.workdir().map(Path::to_path_buf) else {
        return Err(StageError::BareRepository {
            path: repo_dir.to_path_buf(),
        });
    };
    let prefix = prefix_of(repo_dir, &workdir)?;

    if let Some((state, hint)) = busy(repo.state()) {
        return Err(StageError::OperationInProgress {
            state: state.into(),
            hint: hint.into(),
        });
    }
    unlocked(&repo)?;

    let head = match repo.head() {
        Ok(h) => h,
        Err(e) if e.code() == ErrorCode::UnbornBranch || e.code() == ErrorCode::NotFound => {
            let branch = repo
                .find_reference("HEAD")
                .ok()
                .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
                .map(|t| t.strip_prefix("refs/heads/").unwrap_or(&t).to_string())
                .unwrap_or_else(|| "HEAD".into());
            return Err(StageError::UnbornHead { branch });
        }
        Err(e) => return Err(git_err("reading HEAD")(e)),
    };
    if !head.is_branch() {
        let commit = head
            .peel_to_commit()
            .ok()
            .and_then(|c| c.as_object().short_id().ok())
            .and_then(|b| b.as_str().ok().map(str::to_string))
            .unwrap_or_else(|| "an unknown commit".into());
        return Err(StageError::DetachedHead { commit });
    }
    let head_ref = head
        .name()
        .map_err(|_| StageError::InvalidBranchName {
            branch: String::from_utf8_lossy(head.name_bytes()).into_owned(),
            reason: "the current branch name is not UTF-8".into(),
        })?
        .to_string();
    let original = head_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(&head_ref)
        .to_string();
    let head_oid = head
        .peel_to_commit()
        .map_err(git_err("reading the commit HEAD points to"))?
        .id();
    drop(head);

    let (author, committer) = identity(&repo)?;

    Ok(Ready {
        repo,
        workdir,
        prefix,
        head_ref,
        original,
        head: head_oid,
        author,
        committer,
    })
}

/// The components of `repo_dir` below `workdir`.
fn prefix_of(repo_dir: &Path, workdir: &Path) -> Result<Vec<String>, StageError> {
    let not_inside = |reason: String| StageError::NotARepository {
        path: repo_dir.to_path_buf(),
        reason,
    };
    let dir = fs::canonicalize(repo_dir).map_err(|e| not_inside(e.to_string()))?;
    let wd = fs::canonicalize(workdir).map_err(|e| not_inside(e.to_string()))?;
    let rel = dir.strip_prefix(&wd).map_err(|_| {
        not_inside(format!(
            "it is outside the repository's work tree `{}`",
            wd.display()
        ))
    })?;
    let mut out = Vec::new();
    for c in rel.components() {
        match c.as_os_str().to_str() {
            Some(".git") => {
                return Err(not_inside("it is inside the `.git` directory".into()));
            }
            Some(s) => out.push(s.to_string()),
            None => {
                return Err(not_inside(format!(
                    "the path `{}` is not UTF-8",
                    rel.display()
                )));
            }
        }
    }
    Ok(out)
}

/// Refuses while `index.lock` or `HEAD.lock` exists: another git process
/// is writing (or crashed while writing), and the checkout at the end of
/// [`commit`] would fail after the branch and the work tree were written.
fn unlocked(repo: &Repository) -> Result<(), StageError> {
    for name in ["index.lock", "HEAD.lock"] {
        let lock = repo.path().join(name);
        if fs::symlink_metadata(&lock).is_ok() {
            return Err(StageError::Locked { lock });
        }
    }
    Ok(())
}

fn busy(state: RepositoryState) -> Option<(&'static str, &'static str)> {
    use RepositoryState as S;
    Some(match state {
        S::Clean => return None,
        S::Merge => ("merge", "`git merge --continue` or `git merge --abort`"),
        S::Revert | S::RevertSequence => {
            ("revert", "`git revert --continue` or `git revert --abort`")
        }
        S::CherryPick | S::CherryPickSequence => (
            "cherry-pick",
            "`git cherry-pick --continue` or `git cherry-pick --abort`",
        ),
        S::Bisect => ("bisect", "`git bisect reset`"),
        S::Rebase | S::RebaseInteractive | S::RebaseMerge => {
            ("rebase", "`git rebase --continue` or `git rebase --abort`")
        }
        S::ApplyMailbox => ("`git am`", "`git am --continue` or `git am --abort`"),
        S::ApplyMailboxOrRebase => (
            "rebase or `git am`",
            "`git rebase --continue`/`--abort` or `git am --continue`/`--abort`",
        ),
    })
}

fn dirty_check(repo: &Repository) -> Result<(), StageError> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .include_unmodified(false)
        .exclude_submodules(false)
        .update_index(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_err("reading the work tree status"))?;
    let mut count = 0;
    let mut entries = Vec::new();
    for entry in statuses.iter() {
        let status = entry.status();
        if status.is_empty() || status == Status::CURRENT || status.contains(Status::IGNORED) {
            continue;
        }
        count += 1;
        if entries.len() < DIRTY_LIST_LIMIT {
            entries.push(DirtyPath {
                path: String::from_utf8_lossy(entry.path_bytes()).into_owned(),
                change: describe(status),
            });
        }
    }
    if count == 0 {
        Ok(())
    } else {
        Err(StageError::DirtyWorktree { count, entries })
    }
}

fn describe(status: Status) -> String {
    if status.contains(Status::CONFLICTED) {
        return "conflicted".into();
    }
    let mut parts = Vec::new();
    if status.contains(Status::INDEX_NEW) {
        parts.push("staged new file");
    } else if status.contains(Status::INDEX_DELETED) {
        parts.push("staged deletion");
    } else if status
        .intersects(Status::INDEX_MODIFIED | Status::INDEX_RENAMED | Status::INDEX_TYPECHANGE)
    {
        parts.push("staged change");
    }
    if status.contains(Status::WT_NEW) {
        parts.push("untracked");
    } else if status.contains(Status::WT_DELETED) {
        parts.push("deleted");
    } else if status.contains(Status::WT_TYPECHANGE) {
        parts.push("type changed");
    } else if status.intersects(Status::WT_MODIFIED | Status::WT_RENAMED) {
        parts.push("modified");
    } else if status.contains(Status::WT_UNREADABLE) {
        parts.push("unreadable");
    }
    if parts.is_empty() {
        "changed".into()
    } else {
        parts.join(", ")
    }
}

/// Author and committer as `git commit` would pick them: `user.name` /
/// `user.email` from the configuration, overridable by `GIT_AUTHOR_*` /
/// `GIT_COMMITTER_*` (including `*_DATE`).
fn identity(repo: &Repository) -> Result<(Signature<'static>, Signature<'static>), StageError> {
    let no_identity = |e: git2::Error| StageError::NoIdentity {
        reason: e.message().to_string(),
    };
    let author = repo.author_from_env().map_err(no_identity)?;
    let committer = repo.committer_from_env().map_err(no_identity)?;
    Ok((author, committer))
}

fn branch_free(repo: &Repository, branch: &str) -> Result<(), StageError> {
    let bad = |reason: &str| StageError::InvalidBranchName {
        branch: branch.to_string(),
        reason: reason.to_string(),
    };
    if branch.is_empty() {
        return Err(bad("the name is empty"));
    }
    if branch.starts_with('-') || !Branch::name_is_valid(branch).unwrap_or(false) {
        return Err(bad("it is not a valid git branch name"));
    }
    let refname = format!("refs/heads/{branch}");
    match repo.find_reference(&refname) {
        Ok(_)
            if repo
                .head()
                .ok()
                .and_then(|h| h.name().ok().map(str::to_string))
                .as_deref()
                == Some(refname.as_str()) =>
        {
            return Err(StageError::InvalidBranchName {
                branch: branch.to_string(),
                reason: "it is the branch you are on, and the commits go on a new branch".into(),
            });
        }
        Ok(_) => {
            return Err(StageError::BranchExists {
                branch: branch.to_string(),
            });
        }
        Err(e) if e.code() == ErrorCode::NotFound => {}
        Err(e) => return Err(git_err(format!("looking up branch `{branch}`"))(e)),
    }
    let branches = repo
        .branches(Some(BranchType::Local))
        .map_err(git_err("listing branches"))?;
    for b in branches {
        let (b, _) = b.map_err(git_err("listing branches"))?;
        let Ok(Some(name)) = b.name() else { continue };
        if branch.starts_with(&format!("{name}/")) || name.starts_with(&format!("{branch}/")) {
            return Err(bad(&format!(
                "branch `{name}` exists and git cannot have both `{name}` and `{branch}`"
            )));
        }
    }
    Ok(())
}

/// A set of changes arranged as a directory tree (work-tree-relative).
enum Node<'a> {
    File(Option<&'a [u8]>),
    Dir(BTreeMap<String, Node<'a>>),
}

/// Validates a change path and returns its work-tree-relative components.
fn components(prefix: &[String], path: &Path) -> Result<Vec<String>, StageError> {
    let mut out = prefix.to_vec();
    let mut own = 0;
    for c in path.components() {
        match c {
            Component::Normal(s) => {
                let Some(s) = s.to_str() else {
                    return Err(invalid(path, "the path is not UTF-8"));
                };
                if s.eq_ignore_ascii_case(".git") {
                    return Err(invalid(path, "the path is inside `.git`"));
                }
                if s.contains('\0') {
                    return Err(invalid(path, "the path contains a NUL byte"));
                }
                out.push(s.to_string());
                own += 1;
            }
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(invalid(path, "the path contains `..`"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(invalid(path, "the path must be relative to the repository"));
            }
        }
    }
    if own == 0 {
        return Err(invalid(path, "the path is empty"));
    }
    Ok(out)
}

/// Arranges `changes` as a tree, refusing duplicate paths and a path that is
/// both a file and a directory. Returns the tree and the work-tree-relative
/// `/`-joined path of each change, in order.
fn arrange<'a>(
    prefix: &[String],
    changes: &'a [FileChange],
) -> Result<(BTreeMap<String, Node<'a>>, Vec<String>), StageError> {
    let mut root: BTreeMap<String, Node<'a>> = BTreeMap::new();
    let mut paths = Vec::with_capacity(changes.len());
    for change in changes {
        let comps = components(prefix, &change.path)?;
        let (last, dirs) = comps.split_last().expect("components are never empty");
        let mut map = &mut root;
        for d in dirs {
            let node = map
                .entry(d.clone())
                .or_insert_with(|| Node::Dir(BTreeMap::new()));
            match node {
                Node::Dir(m) => map = m,
                Node::File(_) => {
                    return Err(invalid(
                        &change.path,
                        format!("the plan also changes `{d}` as a file"),
                    ));
                }
            }
        }
        match map.get(last) {
            Some(Node::File(_)) => {
                return Err(invalid(&change.path, "the plan changes this path twice"));
            }
            Some(Node::Dir(_)) => {
                return Err(invalid(
                    &change.path,
                    "the plan also puts files below this path",
                ));
            }
            None => {
                map.insert(last.clone(), Node::File(change.contents.as_deref()));
            }
        }
        paths.push(comps.join("/"));
    }
    Ok((root, paths))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// The commits' objects, made in memory, and what they touched.
struct Builder<'r, 'a> {
    repo: &'r Repository,
    store: objects::Store<'a>,
    /// Each directory written so far (work-tree-relative, `""` the root):
    /// its entries as of the newest commit and the id of its tree then.
    dirs: HashMap<String, (objects::Dir, Option<Oid>)>,
    /// Per file written or deleted (work-tree-relative): its mode and id
    /// in the original tree (as its first change found it) and in the
    /// newest one, there with its contents.
    files: HashMap<String, checkout::File<'a>>,
}

impl<'r, 'a> Builder<'r, 'a> {
    fn new(repo: &'r Repository) -> Self {
        Builder {
            repo,
            store: objects::Store::default(),
            dirs: HashMap::new(),
            files: HashMap::new(),
        }
    }

    fn file(
        &mut self,
        path: String,
        before: Option<(i32, Oid)>,
        after: Option<checkout::Blob<'a>>,
    ) {
        self.files
            .entry(path)
            .or_insert(checkout::File {
                before,
                after: None,
            })
            .after = after;
    }

    /// Makes the tree of directory `dir` (whose tree is `base` in the
    /// original commit, unless an earlier commit changed it) with
    /// `changes` applied. `None` means the directory became empty (git
    /// does not store empty trees).
    fn tree(
        &mut self,
        dir: &str,
        base: Option<Oid>,
        changes: &BTreeMap<String, Node<'a>>,
    ) -> Result<Option<Oid>, StageError> {
        let (mut entries, before) = match self.dirs.remove(dir) {
            Some(known) => known,
            None => match base {
                None => (objects::Dir::default(), None),
                Some(id) => {
                    let tree = self
                        .repo
                        .find_tree(id)
                        .map_err(git_err(format!("reading tree `{dir}`")))?;
                    (objects::Dir::read(&tree), Some(id))
                }
            },
        };
        for (name, node) in changes {
            let path = join(dir, name);
            let existing = entries.get(name.as_bytes());
            match node {
                Node::File(Some(data)) => {
                    let mode = match existing {
                        None => MODE_BLOB,
                        Some((m, _)) if m == MODE_BLOB || m == MODE_EXEC => m,
                        Some((m, _)) => return Err(invalid(&path, cannot_write(m))),
                    };
                    let blob = self.store.add(
                        ObjectType::Blob,
                        Cow::Borrowed(data),
                        existing.map(|(_, id)| id),
                    );
                    entries.set(name.as_bytes(), mode, blob);
                    self.file(
                        path,
                        existing,
                        Some(checkout::Blob {
                            mode,
                            id: blob,
                            data,
                        }),
                    );
                }
                Node::File(None) => match existing {
                    None => {
                        return Err(invalid(&path, "it is to be deleted but does not exist"));
                    }
                    Some((m, _)) if m == MODE_BLOB || m == MODE_EXEC || m == MODE_LINK => {
                        entries.remove(name.as_bytes());
                        self.file(path, existing, None);
                    }
                    Some((m, _)) => return Err(invalid(&path, cannot_write(m))),
                },
                Node::Dir(children) => {
                    let sub = match existing {
                        None => None,
                        Some((MODE_TREE, id)) => Some(id),
                        Some((m, _)) => {
                            return Err(invalid(
                                &path,
                                format!("the plan puts files below it, but {}", what_is(m)),
                            ));
                        }
                    };
                    match self.tree(&path, sub, children)? {
                        Some(id) => entries.set(name.as_bytes(), MODE_TREE, id),
                        None => entries.remove(name.as_bytes()),
                    }
                }
            }
        }
        let id = if entries.is_empty() {
            None
        } else {
            Some(
                self.store
                    .add(ObjectType::Tree, Cow::Owned(entries.bytes()), before),
            )
        };
        self.dirs.insert(dir.to_string(), (entries, id));
        Ok(id)
    }
}

fn what_is(mode: i32) -> String {
    match mode {
        MODE_TREE => "it is a directory".into(),
        MODE_LINK => "it is a symbolic link in the repository".into(),
        MODE_COMMIT => "it is a submodule".into(),
        MODE_BLOB | MODE_EXEC => "it is a file".into(),
        m => format!("it has the unsupported mode {m:o}"),
    }
}

fn cannot_write(mode: i32) -> String {
    match mode {
        MODE_LINK => {
            "it is a symbolic link in the repository and the tool does not write through links: change the file it points to".into()
        }
        m => format!("{} and cannot be replaced by a file", what_is(m)),
    }
}

/// Stages `commits` on a new branch `branch`, then checks it out.
///
/// Every refusal of [`check_ready`] and [`check_branch`] applies, before
/// anything is written. The commits are built in memory, then their objects
/// are written to the object database as one pack, without touching the
/// work tree, the index or any ref; each is the parent of the next, the first a child of `HEAD`. Author and
/// committer are those `git commit` would use (configuration, then
/// `GIT_AUTHOR_*` / `GIT_COMMITTER_*`). New files get mode `100644`; a
/// changed file keeps its mode (so an executable stays executable); a
/// directory left empty disappears.
///
/// Only after all commits are on disk is `refs/heads/<branch>` created at the last
/// one (never over an existing ref); the original branch never moves. Then
/// the branch is checked out safely (nothing that differs from `HEAD` is
/// overwritten, no ignored file is clobbered), `HEAD` is set to it and the
/// index is written.
///
/// # Failure
///
/// A failure or interruption **before the ref is created** leaves the
/// original branch, `HEAD`, the index and the work tree exactly as they
/// were (at most an unreachable pack remains); a rerun works.
///
/// A failure **after the ref is created** (in the checkout, or a fault at
/// `before-checkout`) returns [`StageError::NotCheckedOut`]: the branch
/// exists with all the commits, `HEAD` is still on the original branch, and
/// the message says how to check the branch out (`git switch <branch>`) or
/// drop it. A rerun with the same name is then refused with
/// [`StageError::BranchExists`].
///
/// # Nothing to commit
///
/// With an empty `commits` slice the checks still run, but no branch is
/// created: the result is `Ok` with empty `commits`, and the caller decides
/// what to tell the user.
///
/// `fault` is for tests (see [`FaultPoint`]); pass [`NoFaults`].
pub fn commit(
    repo_dir: &Path,
    branch: &str,
    commits: &[CommitSpec],
    fault: &dyn FaultPoint,
) -> Result<Staged, StageError> {
    commit_checked(repo_dir, branch, commits, fault, &|| Ok(()))
}

/// [`commit`], running `check` (a validation of the commits' contents the
/// caller owes) on another thread while the objects are built in memory:
/// nothing reaches the repository unless it passes, and the two costs
/// overlap instead of adding up.
pub fn commit_checked(
    repo_dir: &Path,
    branch: &str,
    commits: &[CommitSpec],
    fault: &dyn FaultPoint,
    check: &(dyn Fn() -> Result<(), String> + Sync),
) -> Result<Staged, StageError> {
    std::thread::scope(|scope| {
        let checking = scope.spawn(check);
        // The work tree must still be clean (nothing may have changed
        // since the caller looked); that look, too, overlaps the build.
        let cleaning = scope.spawn(|| open(repo_dir).and_then(|repo| dirty_check(&repo)));
        let verdict = || {
            match cleaning.join() {
                Ok(result) => result?,
                Err(_) => return Err(StageError::Invalid("the work tree check failed".into())),
            }
            match checking.join() {
                Ok(result) => result.map_err(StageError::Invalid),
                Err(_) => Err(StageError::Invalid(
                    "the check of the commits failed".into(),
                )),
            }
        };
        commit_inner(repo_dir, branch, commits, fault, verdict)
    })
}

fn commit_inner(
    repo_dir: &Path,
    branch: &str,
    commits: &[CommitSpec],
    fault: &dyn FaultPoint,
    verdict: impl FnOnce() -> Result<(), StageError>,
) -> Result<Staged, StageError> {
    let ready = ready_unchecked(repo_dir)?;
    let repo = &ready.repo;
    branch_free(repo, branch)?;
    let mut staged = Staged {
        branch: branch.to_string(),
        original: Some(ready.original.clone()),
        commits: Vec::new(),
    };
    if commits.is_empty() {
        return Ok(staged);
    }

    // Validate the whole plan before writing any object.
    let mut plans = Vec::with_capacity(commits.len());
    for (index, spec) in commits.iter().enumerate() {
        let message = git2::message_prettify(spec.message.as_str(), None)
            .map_err(git_err("cleaning up a commit message"))?;
        if message.trim().is_empty() {
            return Err(StageError::EmptyMessage { index });
        }
        let (tree, _) = arrange(&ready.prefix, &spec.changes)?;
        plans.push((message, tree));
    }

    let inject = |point: String| {
        fault
            .at(&point)
            .map_err(|message| StageError::Injected { point, message })
    };

    let original_tree = repo
        .find_commit(ready.head)
        .and_then(|c| c.tree())
        .map_err(git_err("reading the HEAD tree"))?
        .id();
    let mut parent = ready.head;
    let mut builder = Builder::new(repo);
    let mut made = Vec::with_capacity(plans.len());
    for (i, (message, changes)) in plans.iter().enumerate() {
        let n = i + 1;
        inject(format!("before-commit-{n}"))?;
        let tree = match builder.tree("", Some(original_tree), changes)? {
            Some(id) => id,
            None => builder
                .store
                .add(ObjectType::Tree, Cow::Borrowed(&[]), None),
        };
        let bytes = objects::commit_bytes(tree, parent, &ready.author, &ready.committer, message);
        parent = builder
            .store
            .add(ObjectType::Commit, Cow::Owned(bytes), None);
        made.push(parent);
        inject(format!("after-commit-{n}"))?;
    }

    // Files the branch adds must not land on ignored files in the work tree.
    let mut added: Vec<&String> = builder
        .files
        .iter()
        .filter(|(_, f)| f.before.is_none() && f.after.is_some())
        .map(|(path, _)| path)
        .collect();
    added.sort();
    for path in added {
        room_for_new_file(&ready.workdir, path)?;
    }

    // The caller's check decides before anything reaches the disk.
    verdict()?;
    inject("before-pack".into())?;
    write_pack(repo, builder.store.objects())?;
    // Read back through git, which also proves it reads what was made.
    let tip = repo
        .find_commit(parent)
        .and_then(|c| c.tree().map(|_| c))
        .map_err(git_err("reading the new commits back"))?;
    // Short ids are unique among the objects on disk, the new ones now too.
    for oid in made {
        let summary = repo
            .find_commit(oid)
            .map_err(git_err("reading the new commits back"))?
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string();
        staged.commits.push((short_id(repo, oid), summary));
    }
    inject("before-ref".into())?;

    // Nothing may have moved or been locked under us since the checks.
    unlocked(repo)?;
    let now = repo
        .head()
        .ok()
        .and_then(|h| Some((h.name().ok()?.to_string(), h.target()?)));
    if now.as_ref().map(|(n, o)| (n.as_str(), *o)) != Some((ready.head_ref.as_str(), ready.head)) {
        return Err(StageError::HeadMoved {
            expected: format!("{} at {}", ready.original, ready.head),
            found: now
                .map(|(n, o)| format!("{n} at {o}"))
                .unwrap_or_else(|| "unreadable".into()),
        });
    }

    let refname = format!("refs/heads/{branch}");
    let log = format!(
        "clan-migrate: {} commit(s) on top of {}",
        commits.len(),
        ready.original
    );
    if let Err(e) = repo.reference(&refname, tip.id(), false, &log) {
        return Err(if e.code() == ErrorCode::Exists {
            StageError::BranchExists {
                branch: branch.to_string(),
            }
        } else {
            git_err(format!("creating branch `{branch}`"))(e)
        });
    }

    // The branch exists from here on: every failure says so.
    let not_checked_out = |cause: StageError, worktree_touched: bool| StageError::NotCheckedOut {
        branch: branch.to_string(),
        original: ready.original.clone(),
        tip: staged
            .commits
            .last()
            .map(|c| c.0.clone())
            .unwrap_or_default(),
        count: commits.len(),
        cause: Box::new(cause),
        worktree_touched,
    };
    inject("before-checkout".into()).map_err(|e| not_checked_out(e, false))?;

    let dirs = builder.dirs.iter().map(|(path, (d, _))| (path, d));
    if checkout::plain(repo, &ready.workdir, &builder.files, dirs) {
        checkout::write(repo, &ready.workdir, &builder.files)
            .map_err(|(e, touched)| not_checked_out(e, touched))?;
        repo.set_head(&refname).map_err(|e| {
            not_checked_out(git_err(format!("pointing HEAD at `{branch}`"))(e), true)
        })?;
    } else {
        let mut checkout = CheckoutBuilder::new();
        checkout.safe().overwrite_ignored(false);
        if let Err(e) = repo.checkout_tree(tip.as_object(), Some(&mut checkout)) {
            // A safe checkout detects conflicts before it writes anything.
            let touched = e.code() != ErrorCode::Conflict;
            return Err(not_checked_out(
                git_err(format!("checking out `{branch}`"))(e),
                touched,
            ));
        }
        repo.set_head(&refname).map_err(|e| {
            not_checked_out(git_err(format!("pointing HEAD at `{branch}`"))(e), true)
        })?;
        repo.index()
            .and_then(|mut index| index.write())
            .map_err(|e| not_checked_out(git_err("writing the index")(e), true))?;
    }

    Ok(staged)
}

/// Writes `made` to the repository as one packfile and its index, then
/// checks that a fresh look at the repository finds every object.
fn write_pack(repo: &Repository, made: &[objects::Made<'_>]) -> Result<(), StageError> {
    // A tree or file whose previous version is in the pack is stored as
    // a delta against it: a large directory (hosts/) rewritten by every
    // commit, or a host file edited by several, would otherwise be stored
    // whole each time. Chains stay as short as git's own.
    let mut entries: Vec<pack::Object<'_>> = made
        .iter()
        .map(|o| pack::Object {
            id: o.id,
            kind: o.kind,
            data: &o.data,
            base: None,
        })
        .collect();
    link_deltas(&mut entries, made);
    // `commondir`: a linked work tree keeps its objects with the main one.
    let dir = repo.commondir().join("objects").join("pack");
    pack::write(&dir, &entries).map_err(|e| {
        git_err(format!(
            "writing the new objects to a pack in `{}`",
            dir.display()
        ))(git2::Error::from_str(&e.to_string()))
    })?;
    let odb = repo.odb().map_err(git_err("opening the object database"))?;
    if let Some(missing) = made.iter().find(|o| !odb.exists(o.id)) {
        return Err(git_err("checking the pack of the new objects")(
            git2::Error::from_str(&format!("object {} is not in the repository", missing.id)),
        ));
    }
    Ok(())
}

/// Points each object at the earlier entry it replaced, where there is
/// one, keeping delta chains at most 50 long. Only an earlier entry: an
/// object that came back to an older version must not become a delta of
/// its own delta.
fn link_deltas<'a>(entries: &mut [pack::Object<'a>], made: &[objects::Made<'_>]) {
    const MAX_DEPTH: usize = 50;
    let index: HashMap<Oid, usize> = entries.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
    let mut depth = vec![0usize; entries.len()];
    for (at, m) in made.iter().enumerate() {
        let Some(&b) = m.replaces.as_ref().and_then(|b| index.get(b)) else {
            continue;
        };
        if b < at && depth[b] < MAX_DEPTH && entries[b].kind == entries[at].kind {
            depth[at] = depth[b] + 1;
            entries[at].base = Some((entries[b].id, entries[b].data));
        }
    }
}

fn short_id(repo: &Repository, oid: Oid) -> String {
    repo.find_object(oid, None)
        .ok()
        .and_then(|o| o.short_id().ok())
        .and_then(|b| b.as_str().ok().map(str::to_string))
        .unwrap_or_else(|| oid.to_string()[..7].to_string())
}

/// Refuses a new file whose place in the work tree is taken (necessarily by
/// something ignored, the tree being clean) or below a non-directory.
fn room_for_new_file(workdir: &Path, rel: &str) -> Result<(), StageError> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut cur = workdir.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        cur.push(part);
        let shown = parts[..=i].join("/");
        match fs::symlink_metadata(&cur) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(invalid(shown, format!("cannot inspect it: {e}")));
            }
            Ok(_) if i + 1 == parts.len() => {
                return Err(invalid(
                    shown,
                    "the plan creates it, but an ignored file of that name is in the work tree (move it away)",
                ));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(invalid(
                    shown,
                    format!(
                        "the plan creates `{rel}` below it, but it is an ignored file or link in the work tree (move it away)"
                    ),
                ));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// `--no-commit`: writes `changes` into the work tree, touching neither the
/// index nor any ref.
///
/// Every refusal of [`check_ready`] applies first. Then the whole list is
/// validated before anything is written: paths stay inside the work tree
/// and never go through a symbolic link; a changed file must be a tracked
/// regular file, a new file must not land on an (ignored) existing one, a
/// deleted file must exist. A changed file keeps its permissions; new files
/// are created like any other (mode `0666` less the umask); missing
/// directories are created and directories emptied by a deletion are
/// removed.
///
/// # Failure
///
/// The writing is all or nothing. First every new content is written (and
/// synced) to a temporary file next to its target
/// (`.<name>.clan-migrate-<pid>-<n>.tmp`); a failure there (a full disk, a
/// directory that cannot be written) removes the temporary files and the
/// directories created for them, so nothing changed. Then the files are put
/// in place one by one, each old file kept under a second name (a hard
/// link, `.<name>.clan-migrate-<pid>-<n>.bak`) until all are; if one fails,
/// every file already put in place is put back, by renames only (no data is
/// written, so this works on a full disk too), and the old files come back
/// as they were, contents, permissions and modification times. The error is
/// [`StageError::Io`] (or [`StageError::Injected`]); only if undoing fails
/// too is it [`StageError::RestoreFailed`], which lists what is left.
///
/// A process killed while writing can undo nothing: it leaves temporary or
/// backup files (untracked, so a rerun refuses the dirty tree and lists
/// them) and, if it was killed while putting files in place, part of the
/// new files.
///
/// `fault` is for tests (see [`FaultPoint`]); pass [`NoFaults`].
pub fn write_worktree(
    repo_dir: &Path,
    changes: &[FileChange],
    fault: &dyn FaultPoint,
) -> Result<(), StageError> {
    let ready = ready(repo_dir)?;
    let repo = &ready.repo;
    let (_, paths) = arrange(&ready.prefix, changes)?;
    let head_tree = repo
        .find_commit(ready.head)
        .and_then(|c| c.tree())
        .map_err(git_err("reading the HEAD tree"))?;

    // Validate everything before writing anything.
    let mut ops = Vec::with_capacity(changes.len());
    for (change, rel) in changes.iter().zip(&paths) {
        let tracked = head_tree
            .get_path(Path::new(rel))
            .ok()
            .map(|e| e.filemode());
        let parts: Vec<&str> = rel.split('/').collect();
        let mut full = ready.workdir.clone();
        for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
            full.push(part);
            match fs::symlink_metadata(&full) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(invalid(
                        parts[..=i].join("/"),
                        format!("cannot inspect it: {e}"),
                    ));
                }
                Ok(m) if m.is_dir() => {}
                Ok(m) => {
                    let what = if m.file_type().is_symlink() {
                        "a symbolic link, and the tool does not write through links"
                    } else {
                        "a file"
                    };
                    return Err(invalid(
                        parts[..=i].join("/"),
                        format!("the plan changes `{rel}` below it, but it is {what}"),
                    ));
                }
            }
        }
        full.push(parts[parts.len() - 1]);
        let meta = match fs::symlink_metadata(&full) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(invalid(rel, format!("cannot inspect it: {e}"))),
        };
        match (&change.contents, &meta) {
            (_, Some(m)) if m.is_dir() => {
                return Err(invalid(rel, "it is a directory"));
            }
            (Some(_), Some(m)) if m.file_type().is_symlink() => {
                return Err(invalid(rel, cannot_write(MODE_LINK)));
            }
            (Some(_), Some(_)) => match tracked {
                Some(MODE_BLOB | MODE_EXEC) => {}
                Some(m) => return Err(invalid(rel, cannot_write(m))),
                None => {
                    return Err(invalid(
                        rel,
                        "the plan creates it, but an ignored file of that name is in the work tree (move it away)",
                    ));
                }
            },
            (Some(_), None) => {}
            (None, None) => {
                return Err(invalid(rel, "it is to be deleted but does not exist"));
            }
            (None, Some(_)) if tracked.is_none() => {
                return Err(invalid(
                    rel,
                    "it is to be deleted but git does not track it (it is ignored)",
                ));
            }
            (None, Some(_)) => {}
        }
        ops.push((full, change.contents.as_deref(), meta));
    }

    let mut steps: Vec<Placement<'_>> = ops
        .into_iter()
        .map(|(full, contents, old)| Placement {
            full,
            contents,
            old,
            tmp: None,
            backup: None,
            placed: false,
        })
        .collect();
    let mut created = Vec::new();
    if let Err(err) = write_steps(&mut steps, &mut created, fault) {
        let failures = undo(&mut steps, &created);
        if failures.is_empty() {
            return Err(err);
        }
        return Err(StageError::RestoreFailed {
            cause: short_cause(&err),
            failures,
        });
    }

    // Done: drop the backups, then directories a deletion left empty.
    for step in &mut steps {
        if let Some(b) = step.backup.take() {
            let _ = fs::remove_file(b.path());
        }
    }
    let mut dirs = BTreeSet::new();
    for step in &steps {
        let Some(parent) = step.full.parent() else {
            continue;
        };
        dirs.insert(parent.to_path_buf());
        if step.contents.is_some() {
            continue;
        }
        // Like git: a directory left empty goes too.
        let mut dir = Some(parent);
        while let Some(d) = dir {
            if d == ready.workdir || !d.starts_with(&ready.workdir) {
                break;
            }
            if fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    // Make the renames durable.
    #[cfg(unix)]
    for d in dirs {
        if let Ok(d) = fs::File::open(d) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// One change of a [`write_worktree`] run, and how far it got.
struct Placement<'a> {
    /// Where it goes.
    full: PathBuf,
    /// The new contents; `None` deletes the file.
    contents: Option<&'a [u8]>,
    /// The file there before the run, if any.
    old: Option<fs::Metadata>,
    /// The new contents, written and synced next to `full`, not in place yet.
    tmp: Option<PathBuf>,
    /// The old file under a second name, until the whole run succeeded.
    backup: Option<Backup>,
    /// Whether `full` holds the new state (the new contents, or nothing).
    placed: bool,
}

/// Where [`write_worktree`] keeps an old file while it replaces it.
enum Backup {
    /// A hard link: the old file is still at its place too.
    Linked(PathBuf),
    /// Renamed away: nothing is at its place until the new file is.
    Moved(PathBuf),
}

impl Backup {
    fn path(&self) -> &Path {
        match self {
            Backup::Linked(p) | Backup::Moved(p) => p,
        }
    }
}

fn io_err(action: &str, path: &Path) -> impl FnOnce(io::Error) -> StageError {
    let (action, path) = (action.to_string(), path.to_path_buf());
    move |source| StageError::Io {
        action,
        path,
        source,
    }
}

/// Writes every temporary file, then puts every change in place; stops at
/// the first failure, leaving `steps` and `created` to say what to undo.
fn write_steps(
    steps: &mut [Placement<'_>],
    created: &mut Vec<PathBuf>,
    fault: &dyn FaultPoint,
) -> Result<(), StageError> {
    let inject = |point: String| {
        fault
            .at(&point)
            .map_err(|message| StageError::Injected { point, message })
    };
    for (i, step) in steps.iter_mut().enumerate() {
        let n = i + 1;
        inject(format!("before-write-{n}"))?;
        let Some(data) = step.contents else {
            continue;
        };
        if let Some(parent) = step.full.parent() {
            create_dirs(parent, created)?;
        }
        let perms = step.old.as_ref().map(|m| m.permissions());
        let tmp = write_temp(&step.full, data, perms, || {
            fault.io_error(&format!("write-{n}"))
        })
        .map_err(io_err("write", &step.full))?;
        step.tmp = Some(tmp);
    }
    for (i, step) in steps.iter_mut().enumerate() {
        place(step)?;
        inject(format!("after-write-{}", i + 1))?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents, recording each one created.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> Result<(), StageError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(&d) {
            Ok(()) => created.push(d),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(io_err("create directory", &d)(e)),
        }
    }
    Ok(())
}

/// Puts one change in place, keeping the old file under a second name.
fn place(step: &mut Placement<'_>) -> Result<(), StageError> {
    if step.contents.is_some() {
        if step.old.is_some() {
            step.backup = Some(keep(&step.full).map_err(io_err("keep a backup of", &step.full))?);
        }
        let tmp = step.tmp.as_ref().expect("written before it is placed");
        fs::rename(tmp, &step.full).map_err(io_err("write", &step.full))?;
        step.tmp = None;
    } else {
        let backup = unused_sibling(&step.full, "bak");
        fs::rename(&step.full, &backup).map_err(io_err("delete", &step.full))?;
        step.backup = Some(Backup::Moved(backup));
    }
    step.placed = true;
    Ok(())
}

/// Keeps `path` under a second name: a hard link if the file system has
/// them, else a rename.
fn keep(path: &Path) -> io::Result<Backup> {
    for n in 0..1000 {
        let link = sibling(path, n, "bak");
        match fs::hard_link(path, &link) {
            Ok(()) => return Ok(Backup::Linked(link)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => break,
        }
    }
    let moved = unused_sibling(path, "bak");
    fs::rename(path, &moved)?;
    Ok(Backup::Moved(moved))
}

/// `.<name>.clan-migrate-<pid>-<n>.<ext>` next to `path`.
fn sibling(path: &Path, n: u32, ext: &str) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(
        ".{name}.clan-migrate-{}-{n}.{ext}",
        std::process::id()
    ))
}

/// The first [`sibling`] of `path` that does not exist.
fn unused_sibling(path: &Path, ext: &str) -> PathBuf {
    (0..)
        .map(|n| sibling(path, n, ext))
        .find(|p| fs::symlink_metadata(p).is_err())
        .expect("an unused name")
}

/// Undoes a failed [`write_steps`], newest change first, by renames and
/// removals only. Returns what could not be undone, one line each.
fn undo(steps: &mut [Placement<'_>], created: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for step in steps.iter_mut().rev() {
        let shown = step.full.display().to_string();
        if let Some(tmp) = step.tmp.take()
            && let Err(e) = fs::remove_file(&tmp)
            && e.kind() != io::ErrorKind::NotFound
        {
            failures.push(format!(
                "`{}`: could not remove this temporary file: {e}",
                tmp.display()
            ));
        }
        match (step.backup.take(), step.placed) {
            // Still in place as it was: the second name goes.
            (Some(Backup::Linked(link)), false) => {
                if let Err(e) = fs::remove_file(&link) {
                    failures.push(format!(
                        "`{}`: could not remove this copy of `{shown}`: {e}",
                        link.display()
                    ));
                }
            }
            (Some(backup), _) => {
                if let Err(e) = fs::rename(backup.path(), &step.full) {
                    failures.push(format!(
                        "`{shown}`: could not put the original back from `{}`: {e}",
                        backup.path().display()
                    ));
                }
            }
            // A new file: it goes.
            (None, true) => {
                if let Err(e) = fs::remove_file(&step.full) {
                    failures.push(format!("`{shown}`: could not remove this new file: {e}"));
                }
            }
            (None, false) => {}
        }
        step.placed = false;
    }
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    failures
}

/// `err`'s message without what it says about the state of the work tree.
fn short_cause(err: &StageError) -> String {
    match err {
        StageError::Io {
            action,
            path,
            source,
        } => format!("could not {action} `{}`: {source}", path.display()),
        StageError::Injected { point, message } => {
            format!("stopped by an injected fault at `{point}`: {message}")
        }
        other => other.to_string(),
    }
}

/// Writes `data` (and `perms`) to a new temporary file next to `path` and
/// syncs it; returns its name. On failure, nothing is left. `injected` may
/// simulate an error after the data is written (see
/// [`FaultPoint::io_error`]).
fn write_temp(
    path: &Path,
    data: &[u8],
    perms: Option<fs::Permissions>,
    injected: impl FnOnce() -> Option<io::Error>,
) -> io::Result<PathBuf> {
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = sibling(path, attempt, "tmp");
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o666);
        }
        match opts.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        file.write_all(data)?;
        if let Some(e) = injected() {
            return Err(e);
        }
        if let Some(perms) = perms {
            file.set_permissions(perms)?;
        }
        file.sync_all()
    })();
    drop(file);
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    use std::process::{Command, Output};
    use tempfile::TempDir;

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
    const HOST_B2: &str = "{ ... }:\n{\n  imports = [ ../../users/alice ];\n  users.users.bob.isNormalUser = true;\n}\n";
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

    /// The tool writes the files itself only where git would write them
    /// unconverted.
    #[test]
    fn files_are_written_directly_only_without_conversion() {
        let fx = Fixture::new();
        let plain = |fx: &Fixture| {
            let repo = Repository::open(&fx.repo).unwrap();
            let files = HashMap::from([(
                "hosts/a/configuration.nix".to_string(),
                checkout::File {
                    before: None,
                    after: None,
                },
            )]);
            let dirs: HashMap<String, objects::Dir> =
                HashMap::from([(String::new(), objects::Dir::default())]);
            checkout::plain(&repo, &fx.repo, &files, dirs.iter())
        };
        assert!(plain(&fx));
        fx.git(&["config", "core.autocrlf", "input"]);
        assert!(!plain(&fx));
        fx.git(&["config", "core.autocrlf", "false"]);
        assert!(plain(&fx));
        fx.git(&["config", "core.sparseCheckout", "true"]);
        assert!(!plain(&fx));
        fx.git(&["config", "--unset", "core.sparseCheckout"]);
        fx.git(&[
            "update-index",
            "--assume-unchanged",
            "hosts/a/configuration.nix",
        ]);
        assert!(!plain(&fx));
        fx.git(&[
            "update-index",
            "--no-assume-unchanged",
            "hosts/a/configuration.nix",
        ]);
        fx.write(".gitattributes", "*.sh text\n");
        assert!(!plain(&fx));
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
        let chain = |n: usize| verbose.contains(&format!("chain length = {n}:"));
        assert!(
            chain(1) && chain(50),
            "deltas, and chains of at most 50:\n{verbose}"
        );
        assert!(!chain(51), "{verbose}");
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
        let ran = std::sync::atomic::AtomicBool::new(false);
        let failing = || {
            ran.store(true, std::sync::atomic::Ordering::SeqCst);
            Err("step 2 does not parse".to_string())
        };
        let err = commit_checked(&fx.repo, BRANCH, &specs(), &NoFaults, &failing).unwrap_err();
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
        assert!(
            matches!(&err, StageError::Invalid(m) if m == "step 2 does not parse"),
            "{err:?}"
        );
        assert_eq!(fx.snapshot(true), before, "a failed check wrote something");
        assert_eq!(objects_on_disk(&fx).1, 0, "no pack before the check passes");
        let staged = commit_checked(&fx.repo, BRANCH, &specs(), &NoFaults, &|| Ok(())).unwrap();
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
        let err =
            write_worktree(&fx.repo, &[change("x.nix", Some("{ }\n"))], &NoFaults).unwrap_err();
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
}
