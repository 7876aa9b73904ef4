//! Commits land on a new branch, which is checked out as git would.

use super::*;

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
