//! What `apply` refuses before it writes anything, and locks.

use super::*;

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
