//! Building the commits and the pack, and faults on the way to the ref.

use super::*;

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
    // How long the chains grow is libgit2's choice (its delta search runs
    // on every core, so it varies from run to run); that there are deltas,
    // and none deeper than git's own limit of 50, is the pack's promise.
    let chain = |n: usize| verbose.contains(&format!("chain length = {n}:"));
    assert!(chain(1), "deltas:\n{verbose}");
    assert!((51..=100).all(|n| !chain(n)), "{verbose}");
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
fn the_narrow_delta_search_is_set_on_a_repository_of_its_own() {
    let fx = Fixture::new();
    let config = fs::read(fx.repo.join(".git/config")).unwrap();
    let repo = git2::Repository::open(&fx.repo).unwrap();
    let packing = git2::Repository::from_odb(repo.odb().unwrap()).unwrap();
    let settings = build::narrow_delta_search(&packing).expect("a temporary file");
    let window = |r: &git2::Repository| r.config().unwrap().get_i64("pack.windowMemory").ok();
    assert_eq!(window(&packing), Some(1));
    // Neither the user's repository nor its configuration sees it.
    assert_eq!(window(&repo), None);
    drop(settings);
    assert_eq!(fs::read(fx.repo.join(".git/config")).unwrap(), config);
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
    // It sees each commit, in order, and the first refusal counts.
    let seen = std::sync::Mutex::new(Vec::new());
    let failing = |commit: &CommitSpec| {
        let mut seen = seen.lock().unwrap();
        seen.push(commit.clone());
        if seen.len() == 2 {
            return Err("step 2 does not parse".to_string());
        }
        Ok(())
    };
    let err = commit_checked(&fx.repo, BRANCH, specs(), &NoFaults, &failing).unwrap_err();
    assert_eq!(seen.into_inner().unwrap(), specs()[..2]);
    assert!(
        matches!(&err, StageError::Invalid(m) if m == "step 2 does not parse"),
        "{err:?}"
    );
    assert_eq!(fx.snapshot(true), before, "a failed check wrote something");
    assert_eq!(objects_on_disk(&fx).1, 0, "no pack before the check passes");
    let staged = commit_checked(&fx.repo, BRANCH, specs(), &NoFaults, &|_| Ok(())).unwrap();
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
