//! Checking the new branch out: libgit2's *safe* checkout of its tip, which
//! updates the work tree and the index (applying attributes, end-of-line
//! conversion and sparse checkout as git does), then `HEAD`.
//!
//! A safe checkout looks at every file it would write before it writes the
//! first: one that no longer holds what `HEAD` has (edited by another
//! process since the tree was found clean) is a conflict, and nothing is
//! written. Ignored files in the way are never overwritten.

use std::cell::RefCell;

use git2::build::CheckoutBuilder;
use git2::{CheckoutNotificationType, Commit, ErrorClass, ErrorCode, Repository};

use super::error::git_err;
use super::{DIRTY_LIST_LIMIT, StageError};

/// Checks `tip` out and points `HEAD` at `refname`. On failure the error
/// says whether the work tree or index may have been written (`true`) or
/// the checkout refused before writing anything (`false`).
pub(super) fn checkout(
    repo: &Repository,
    tip: &Commit<'_>,
    refname: &str,
    branch: &str,
) -> Result<(), (StageError, bool)> {
    let conflicts = RefCell::new(Vec::new());
    let mut opts = CheckoutBuilder::new();
    opts.safe()
        .overwrite_ignored(false)
        .notify_on(CheckoutNotificationType::CONFLICT)
        .notify(|_, path, _, _, _| {
            if let Some(p) = path {
                conflicts
                    .borrow_mut()
                    .push(p.to_string_lossy().into_owned());
            }
            true
        });
    let result = repo.checkout_tree(tip.as_object(), Some(&mut opts));
    drop(opts);
    if let Err(e) = result {
        // A safe checkout finds conflicts before it writes anything.
        if e.code() == ErrorCode::Conflict {
            let e = conflict_error(&conflicts.into_inner()).unwrap_or(e);
            return Err((git_err(format!("checking out `{branch}`"))(e), false));
        }
        return Err((git_err(format!("checking out `{branch}`"))(e), true));
    }
    repo.set_head(refname)
        .map_err(|e| (git_err(format!("pointing HEAD at `{branch}`"))(e), true))
}

/// libgit2's conflict error, naming the files (it only counts them).
fn conflict_error(paths: &[String]) -> Option<git2::Error> {
    if paths.is_empty() {
        return None;
    }
    let mut named = paths[..paths.len().min(DIRTY_LIST_LIMIT)].join(", ");
    if paths.len() > DIRTY_LIST_LIMIT {
        named += &format!(" and {} more", paths.len() - DIRTY_LIST_LIMIT);
    }
    Some(git2::Error::new(
        ErrorCode::Conflict,
        ErrorClass::Checkout,
        format!(
            "{} changed in the work tree since it was found clean, so checking out would overwrite {}: {named}",
            if paths.len() == 1 {
                "1 file was".to_string()
            } else {
                format!("{} files were", paths.len())
            },
            if paths.len() == 1 { "it" } else { "them" },
        ),
    ))
}
