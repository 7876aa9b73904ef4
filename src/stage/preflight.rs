//! The refusals before anything is written: a repository that is not one,
//! bare, busy (a rebase, a merge, a lock), on no branch or an unborn one,
//! with a dirty work tree, no committer identity, or an existing branch of
//! the name asked for; and a new file whose place an ignored file holds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use git2::{
    Branch, BranchType, ErrorCode, Oid, Repository, RepositoryOpenFlags, RepositoryState,
    Signature, Status, StatusOptions,
};

use super::error::{git_err, invalid};
use super::{DIRTY_LIST_LIMIT, DirtyPath, StageError};

/// A repository that passed every refusal.
pub(super) struct Ready {
    pub repo: Repository,
    pub workdir: PathBuf,
    /// Components of `repo_dir` below the work tree root.
    pub prefix: Vec<String>,
    /// `refs/heads/<original>`.
    pub head_ref: String,
    /// `<original>`.
    pub original: String,
    pub head: Oid,
    pub author: Signature<'static>,
    pub committer: Signature<'static>,
}

/// Refuses to stage unless `repo_dir` is (inside) the work tree of a
/// non-bare git repository with no operation in progress, `HEAD` on a branch
/// that has commits, a clean work tree (no modified, staged, deleted or
/// untracked-and-not-ignored files) and a committer identity. Writes
/// nothing.
///
/// Whether the target branch already exists is checked by [`check_branch`]
/// and again by [`commit`](super::commit).
pub fn check_ready(repo_dir: &Path) -> Result<(), StageError> {
    ready(repo_dir).map(|_| ())
}

/// Refuses a branch name that is not valid, that already exists, or that
/// collides with an existing branch (`a` vs `a/b`). Writes nothing.
/// [`commit`](super::commit) checks this too; callers may check early to refuse before
/// planning.
pub fn check_branch(repo_dir: &Path, branch: &str) -> Result<(), StageError> {
    let repo = open(repo_dir)?;
    branch_free(&repo, branch)
}

pub(super) fn open(repo_dir: &Path) -> Result<Repository, StageError> {
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

pub(super) fn ready(repo_dir: &Path) -> Result<Ready, StageError> {
    let r = ready_unchecked(repo_dir)?;
    dirty_check(&r.repo)?;
    Ok(r)
}

/// [`ready`] short of the dirty check, which [`commit_checked`] runs
/// alongside building the commits.
pub(super) fn ready_unchecked(repo_dir: &Path) -> Result<Ready, StageError> {
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
/// [`commit`](super::commit) would fail after the branch and the work tree were written.
pub(super) fn unlocked(repo: &Repository) -> Result<(), StageError> {
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

pub(super) fn dirty_check(repo: &Repository) -> Result<(), StageError> {
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

pub(super) fn branch_free(repo: &Repository, branch: &str) -> Result<(), StageError> {
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

/// Refuses a new file whose place in the work tree is taken (necessarily by
/// something ignored, the tree being clean) or below a non-directory.
pub(super) fn room_for_new_file(workdir: &Path, rel: &str) -> Result<(), StageError> {
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
