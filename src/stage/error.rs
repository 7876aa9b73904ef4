//! Why staging refused or failed: [`StageError`], whose every message says
//! what is wrong and what to do about it.

use std::io;
use std::path::PathBuf;

use crate::stage::DirtyPath;

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
        /// The first [`DIRTY_LIST_LIMIT`](super::DIRTY_LIST_LIMIT) of them, in path order.
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

    /// [`write_worktree`](super::write_worktree) failed part-way and could not undo everything it
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

pub(super) fn git_err(action: impl Into<String>) -> impl FnOnce(git2::Error) -> StageError {
    let action = action.into();
    move |source| StageError::Git { action, source }
}

pub(super) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> StageError {
    StageError::InvalidChange {
        path: path.into(),
        reason: reason.into(),
    }
}
