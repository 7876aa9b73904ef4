//! Step 7, *stage*: land a migration as git commits on a new branch, safely.
//!
//! Every object, ref, index entry and work-tree file is made by libgit2
//! (`git2`); this module only decides the order, which is what makes it
//! safe:
//!
//! 1. [`check_ready`] (`preflight`) refuses anything but a clean,
//!    committed, non-bare work tree on a branch, with a committer identity
//!    and no other git process holding `index.lock` or `HEAD.lock`, and
//!    writes nothing.
//! 2. [`commit`] builds every commit (`build`): blobs, trees (one
//!    `TreeBuilder` per changed directory, kept from one commit to the
//!    next) and commits go to an object store **in memory** (libgit2's
//!    mempack backend) and nothing reaches the disk. The work tree, the
//!    index and every ref stay untouched, so an interruption here leaves
//!    nothing at all and a rerun just works.
//! 3. All new objects are written to the repository as **one packfile**,
//!    built by libgit2's pack builder (each object tried as a delta of one
//!    neighbour, not ten: see `build::narrow_delta_search`) and indexed by
//!    its pack writer. An interruption after this leaves an unreachable
//!    pack (which `git gc` collects).
//! 4. Only when the pack is in place is the branch ref created, at the last
//!    commit; it is never forced over an existing ref. The original branch
//!    ref is never written at all.
//! 5. The branch is checked out (`checkout`) by libgit2's *safe* checkout
//!    (files that differ from `HEAD` are never overwritten, ignored files
//!    are never clobbered, attributes and `core.autocrlf` apply), which
//!    updates the index; then `HEAD` is pointed at it.
//!
//! [`write_worktree`] (`worktree`) is the `--no-commit` variant: the same
//! refusals, then all or nothing: every file written to a temporary file
//! first, then all renamed into place, the old files kept until the end so
//! that a failure part-way puts them back.
//!
//! The module knows nothing about terminals: every [`StageError`]
//! (`error`) renders as a sentence that says what is wrong and what to do
//! about it.

mod build;
mod checkout;
mod error;
mod preflight;
#[cfg(test)]
mod tests;
mod worktree;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use git2::ErrorCode;

use error::git_err;

pub use error::StageError;
pub use preflight::{check_branch, check_ready};
pub use worktree::write_worktree;

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

/// Stages `commits` on a new branch `branch`, then checks it out.
///
/// Every refusal of [`check_ready`] and [`check_branch`] applies, before
/// anything is written. The commits are built in memory, then their objects
/// are written to the object database as one pack, without touching the
/// work tree, the index or any ref; each is the parent of the next, the
/// first a child of `HEAD`. Author and
/// committer are those `git commit` would use (configuration, then
/// `GIT_AUTHOR_*` / `GIT_COMMITTER_*`). New files get mode `100644`; a
/// changed file keeps its mode (so an executable stays executable); a
/// directory left empty disappears.
///
/// Only after all commits are on disk is `refs/heads/<branch>` created at the last
/// one (never over an existing ref); the original branch never moves. Then
/// the branch is checked out safely (nothing that differs from `HEAD` is
/// overwritten, no ignored file is clobbered), which writes the index, and
/// `HEAD` is set to it.
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
    commit_checked(repo_dir, branch, commits.to_vec(), fault, &|_| Ok(()))
}

/// [`commit`], running `check` (a validation of each commit's contents
/// the caller owes) on another thread, commit by commit, while the
/// objects are built in memory: nothing reaches the repository unless
/// every commit passes, and the two costs overlap instead of adding up.
/// It owns the commits so that each one's texts are freed as soon as its
/// objects are built and it is checked: on a large fleet all of them at
/// once are tens of megabytes.
pub fn commit_checked(
    repo_dir: &Path,
    branch: &str,
    commits: Vec<CommitSpec>,
    fault: &dyn FaultPoint,
    check: &(dyn Fn(&CommitSpec) -> Result<(), String> + Sync),
) -> Result<Staged, StageError> {
    // Each commit has two holders, the builder and the check; whichever
    // is done with it last frees it.
    let commits: Vec<Arc<CommitSpec>> = commits.into_iter().map(Arc::new).collect();
    std::thread::scope(|scope| {
        let to_check = commits.clone();
        let checking = scope.spawn(move || to_check.into_iter().try_for_each(|c| check(&c)));
        // The work tree must still be clean (nothing may have changed
        // since the caller looked); that look, too, overlaps the build.
        let cleaning = scope
            .spawn(|| preflight::open(repo_dir).and_then(|repo| preflight::dirty_check(&repo)));
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
    commits: Vec<Arc<CommitSpec>>,
    fault: &dyn FaultPoint,
    verdict: impl FnOnce() -> Result<(), StageError>,
) -> Result<Staged, StageError> {
    let ready = preflight::ready_unchecked(repo_dir)?;
    let repo = &ready.repo;
    preflight::branch_free(repo, branch)?;
    let mut staged = Staged {
        branch: branch.to_string(),
        original: Some(ready.original.clone()),
        commits: Vec::new(),
    };
    let count = commits.len();
    if count == 0 {
        return Ok(staged);
    }

    // Validate the whole plan before making any object.
    for (index, spec) in commits.iter().enumerate() {
        build::plan(&ready.prefix, index, spec)?;
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
    // From here on every object is written to memory only, until the pack:
    // the mempack outranks the disk backends, so all writes go to it, and
    // reads see both.
    let odb = repo
        .odb()
        .map_err(git_err("setting up an object store in memory"))?;
    let mempack = odb
        .add_new_mempack_backend(MEMPACK_PRIORITY)
        .map_err(git_err("setting up an object store in memory"))?;
    let mut builder = build::Builder::new(repo);
    let mut parent = ready.head;
    for (i, spec) in commits.into_iter().enumerate() {
        let n = i + 1;
        inject(format!("before-commit-{n}"))?;
        // Arranged again (cheap): the arrangement borrows the texts, which
        // go as soon as the commit is made.
        let plan = build::plan(&ready.prefix, i, &spec)?;
        parent = builder.commit(
            original_tree,
            parent,
            &plan,
            &ready.author,
            &ready.committer,
        )?;
        inject(format!("after-commit-{n}"))?;
        // Its texts are in the objects now (and go once checked).
        drop(plan);
        drop(spec);
    }
    let built = builder.finish();

    // Files the branch adds must not land on ignored files in the work tree.
    for path in &built.added {
        preflight::room_for_new_file(&ready.workdir, path)?;
    }

    // The caller's check decides before anything reaches the disk.
    verdict()?;
    inject("before-pack".into())?;
    build::write_pack(repo, &mempack, &built)?;
    // Read back from the disk, which also proves git reads what was made.
    let tip = repo
        .find_commit(parent)
        .and_then(|c| c.tree().map(|_| c))
        .map_err(git_err("reading the new commits back"))?;
    // Short ids are unique among the objects on disk, the new ones now too.
    for &oid in &built.commits {
        let summary = repo
            .find_commit(oid)
            .map_err(git_err("reading the new commits back"))?
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_string();
        staged.commits.push((build::short_id(repo, oid), summary));
    }
    drop(built);
    inject("before-ref".into())?;

    // Nothing may have moved or been locked under us since the checks.
    preflight::unlocked(repo)?;
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
        count, ready.original
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
        count,
        cause: Box::new(cause),
        worktree_touched,
    };
    inject("before-checkout".into()).map_err(|e| not_checked_out(e, false))?;
    checkout::checkout(repo, &tip, &refname, branch)
        .map_err(|(e, touched)| not_checked_out(e, touched))?;

    Ok(staged)
}

/// Above the loose (1) and packed (2) backends libgit2 opens a repository
/// with, so that every write goes to memory.
const MEMPACK_PRIORITY: i32 = 1000;
