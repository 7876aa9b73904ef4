//! `clan-migrate verify --eval`: Nix evaluates every host's
//! `config.users.users` at the revision and in the work tree, and the two
//! must agree. On scratch git copies of `testdata/eval-flake`, whose flake
//! evaluates without nixpkgs. Skipped without `nix`, failing with `CI=true`.

mod common;

use common::{Run, Sandbox, require_tool};

/// eval-flake committed on `main`, then shared by `apply --eval` onto
/// `clan-migrate/users`.
fn applied() -> Sandbox {
    let sb = Sandbox::committed("eval-flake");
    sb.run(&["apply", ".", "--eval", "-q"]).expect_code(0);
    assert!(
        sb.read("hosts/alpha/users.nix").contains("users/alice"),
        "apply did not share alice"
    );
    sb
}

#[track_caller]
fn assert_contains(haystack: &str, needle: &str, run: &Run) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn nix_agrees_after_apply() {
    if !require_tool("nix") {
        return;
    }
    let sb = applied();
    let run = sb.run(&["verify", ".", "--eval"]);
    run.expect_code(0);
    assert_contains(
        &run.stdout,
        "Nix: compared users.users of 2 hosts with",
        &run,
    );
    assert_contains(&run.stdout, "(branch point with main)", &run);
    assert_contains(
        &run.stdout,
        "Nix agrees: every host's users.users evaluates the same (2 hosts).",
        &run,
    );
    // The shared module comes first now: a new order, the same groups.
    assert_contains(
        &run.stdout,
        "note: host alpha: users.users.alice.extraGroups: the same elements in another order",
        &run,
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn nix_finds_a_changed_user_and_names_host_user_attribute() {
    if !require_tool("nix") {
        return;
    }
    let sb = applied();
    let host = sb.read("hosts/alpha/users.nix");
    assert!(host.contains("\"networkmanager\""), "{host}");
    sb.write(
        "hosts/alpha/users.nix",
        &host.replace("\"networkmanager\"", "\"audio\""),
    );
    let shared = sb.read("users/alice/default.nix");
    sb.write(
        "users/alice/default.nix",
        &shared.replace(
            "isNormalUser = true;",
            "isNormalUser = true;\n    uid = 1001;",
        ),
    );
    let run = sb.run(&["verify", ".", "--eval"]);
    run.expect_code(1);
    for line in [
        "host alpha: users.users.alice.extraGroups: lost \"networkmanager\"; gained \"audio\"",
        "host alpha: users.users.alice.uid: absent → 1001",
        "host beta: users.users.alice.uid: absent → 1001",
        "3 differences in what Nix evaluates.",
    ] {
        assert_contains(&run.stdout, line, &run);
    }
    assert!(!run.stdout.contains("Nix agrees"), "{}", run.stdout);

    // Committed, the edit is found against the branch point, and not
    // against the commit that has it.
    sb.git(&["commit", "-q", "-am", "alice: uid"]);
    sb.run(&["verify", ".", "--eval"]).expect_code(1);
    let run = sb.run(&["verify", ".", "--eval", "--against", "HEAD"]);
    run.expect_code(0);
    assert_contains(&run.stdout, "Nix agrees", &run);
}

#[test]
fn nix_compares_the_revision_not_the_work_tree() {
    if !require_tool("nix") {
        return;
    }
    // An uncommitted edit of a tracked file: the revision's copy must not
    // see it, or both sides would look alike.
    let sb = Sandbox::committed("eval-flake");
    let common = sb.read("modules/common.nix");
    sb.write(
        "modules/common.nix",
        &common.replace("description = \"Dave\";", "description = \"Dave D.\";"),
    );
    let run = sb.run(&["verify", ".", "--eval", "--against", "HEAD"]);
    run.expect_code(1);
    for host in ["alpha", "beta"] {
        assert_contains(
            &run.stdout,
            &format!("host {host}: users.users.dave.description: \"Dave\" → \"Dave D.\""),
            &run,
        );
    }
}

#[test]
fn a_host_nix_cannot_evaluate_is_named_and_fails_the_check() {
    if !require_tool("nix") {
        return;
    }
    let sb = applied();
    let host = sb.read("hosts/beta/users.nix");
    assert!(host.contains("extraGroups = [ \"docker\" ];"), "{host}");
    // Parses, so the scan is not what stops it; Nix does.
    sb.write(
        "hosts/beta/users.nix",
        &host.replace(
            "extraGroups = [ \"docker\" ];",
            "extraGroups = [ \"docker\" ];\n    uid = noSuchVariable;",
        ),
    );
    let run = sb.run(&["verify", ".", "--eval"]);
    run.expect_code(1);
    assert_contains(
        &run.stderr,
        "warning: Nix could not evaluate host `beta` in the work tree:",
        &run,
    );
    assert_contains(&run.stderr, "undefined variable 'noSuchVariable'", &run);
    assert_contains(&run.stderr, "error: could not verify with Nix", &run);
    // alpha still evaluates on both sides and is compared.
    assert_contains(
        &run.stdout,
        "Nix: compared users.users of 1 host with",
        &run,
    );
    assert!(!run.stdout.contains("Nix agrees"), "{}", run.stdout);
}

#[test]
fn a_flake_with_missing_inputs_fails_fast_and_says_so() {
    if !require_tool("nix") {
        return;
    }
    let sb = Sandbox::committed("eval-flake");
    let flake = sb.read("flake.nix");
    // An input that cannot be fetched (like nixpkgs offline, without
    // waiting for a network).
    sb.write(
        "flake.nix",
        &flake
            .replace(
                "{\n  outputs =\n    { self }:",
                "{\n  inputs.gone.url = \"path:/nonexistent/clan-migrate-test-input\";\n  outputs =\n    { self, gone }:",
            ),
    );
    assert!(sb.read("flake.nix").contains("gone.url"));
    let run = sb.run(&["verify", ".", "--eval", "--against", "HEAD"]);
    run.expect_code(1);
    assert_contains(
        &run.stderr,
        "warning: Nix could not evaluate the flake in the work tree: `nix eval` failed:",
        &run,
    );
    assert_contains(&run.stderr, "/nonexistent/clan-migrate-test-input", &run);
    assert_contains(&run.stderr, "error: could not verify with Nix", &run);
    assert!(!run.stdout.contains("Nix agrees"), "{}", run.stdout);
}

#[test]
fn without_a_flake_there_is_nothing_for_nix_to_compare() {
    if !require_tool("nix") {
        return;
    }
    let sb = Sandbox::committed("dir-conventions");
    let run = sb.run(&["verify", ".", "--eval", "--against", "HEAD"]);
    run.expect_code(1);
    for side in ["at ", "in the work tree"] {
        assert_contains(
            &run.stderr,
            &format!("warning: Nix could not evaluate the flake {side}"),
            &run,
        );
    }
    assert_contains(&run.stderr, "no flake.nix", &run);
    assert_contains(&run.stderr, "error: could not verify with Nix", &run);
}

#[test]
fn without_nix_it_says_so_and_fails() {
    // Needs no Nix: the point is that there is none on PATH.
    let sb = Sandbox::committed("eval-flake");
    let out = sb
        .cmd(&["verify", ".", "--eval", "--against", "HEAD"])
        .env("PATH", "")
        .output()
        .expect("run clan-migrate");
    let run = Run::from(out);
    run.expect_code(1);
    assert_contains(&run.stderr, "cannot run `nix`", &run);
    assert_contains(
        &run.stderr,
        "install Nix 2.8 or later, or drop --eval",
        &run,
    );
    assert_contains(&run.stderr, "error: could not verify with Nix", &run);
}

#[test]
fn untracked_files_of_apply_no_commit_are_evaluated() {
    if !require_tool("nix") {
        return;
    }
    let sb = Sandbox::committed("eval-flake");
    sb.run(&["apply", ".", "--eval", "--no-commit", "-q"])
        .expect_code(0);
    // The shared module is new and untracked; the hosts import it. A git
    // flake reference would not see it, and every host would fail.
    assert!(
        sb.status().contains("?? users/alice/default.nix"),
        "{}",
        sb.status()
    );
    let run = sb.run(&["scan", ".", "--eval", "--json"]);
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    for host in json["hosts"].as_array().unwrap() {
        assert!(
            host["files"]
                .as_array()
                .unwrap()
                .contains(&"users/alice/default.nix".into()),
            "{host}"
        );
    }
    let run = sb.run(&["verify", ".", "--eval", "--against", "HEAD"]);
    run.expect_code(0);
    assert_contains(
        &run.stdout,
        "Every host's effective users are unchanged.",
        &run,
    );
    assert_contains(
        &run.stdout,
        "Nix agrees: every host's users.users evaluates the same (2 hosts).",
        &run,
    );
    // Nothing was written into the repository (no flake.lock).
    assert!(!sb.repo.join("flake.lock").exists());
}
