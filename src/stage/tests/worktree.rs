//! `--no-commit`: writing the work tree, all or nothing.

use super::*;

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
    let err = write_worktree(&fx.repo, &[change("x.nix", Some("{ }\n"))], &NoFaults).unwrap_err();
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
