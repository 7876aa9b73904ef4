//! How much each command prints: `-q` prints nothing but errors, with
//! the same exit codes; `apply`'s summary stays short on a large fleet
//! unless `-v` asks for all of it.

mod common;

use common::Sandbox;

/// A committed fleet of `hosts` hosts (`hosts/h<i>/default.nix`), each
/// defining the same `users` people, with a password that differs per
/// host (so something stays on every host, and the summary says why).
fn fleet(hosts: usize, users: usize) -> Sandbox {
    let sb = Sandbox::empty();
    for h in 0..hosts {
        let mut text = format!(
            "{{ pkgs, ... }}:\n{{\n  networking.hostName = \"h{h}\";\n  system.stateVersion = \"24.05\";\n"
        );
        for u in 0..users {
            text.push_str(&format!(
                "  users.users.u{u:03} = {{\n    isNormalUser = true;\n    extraGroups = [ \"wheel\" ];\n    hashedPassword = \"h{h}-{u}\";\n  }};\n"
            ));
        }
        text.push_str("}\n");
        sb.write(&format!("hosts/h{h}/default.nix"), &text);
    }
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-q", "-m", "NixOS configuration"]);
    sb
}

const USERS: usize = 120;

fn commits_on_branch(sb: &Sandbox) -> usize {
    sb.git(&["rev-list", "--count", "main..clan-migrate/users"])
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn apply_summary_stays_short_on_a_large_fleet() {
    let sb = fleet(3, USERS);
    let run = sb.run(&["apply", ".", "--color", "never"]);
    run.expect_code(0);
    let lines = run.stdout.lines().count();
    assert!(lines < 100, "{lines} lines:\n{}", run.stdout);
    // The first users and commits, then how many more.
    assert!(run.stdout.starts_with("u000 (users.users) on h0, h1, h2\n"));
    assert!(
        run.stdout.contains("users: share u000 across h0, h1, h2"),
        "{}",
        run.stdout
    );
    let more = |what: &str| {
        run.stdout
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("... and ")?
                    .strip_suffix(&format!(" more {what} (-v shows all)"))?
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no `... and N more {what}`:\n{}", run.stdout))
    };
    let shown_users = run
        .stdout
        .lines()
        .filter(|l| l.ends_with("(users.users) on h0, h1, h2"))
        .count();
    assert_eq!(shown_users + more("users"), USERS);
    let shown_commits = run
        .stdout
        .lines()
        .filter(|l| l.contains(" users: share u"))
        .count();
    assert_eq!(shown_commits + more("commits"), USERS);
    assert!(
        run.stdout
            .contains(&format!("({USERS} commits on top of main)")),
        "{}",
        run.stdout
    );
    assert_eq!(commits_on_branch(&sb), USERS);
}

#[test]
fn apply_verbose_shows_every_user_and_commit() {
    let sb = fleet(3, USERS);
    let run = sb.run(&["apply", ".", "--color", "never", "-v"]);
    run.expect_code(0);
    assert!(!run.stdout.contains("more users"), "{}", run.stdout);
    for u in 0..USERS {
        let name = format!("u{u:03}");
        assert!(
            run.stdout
                .contains(&format!("{name} (users.users) on h0, h1, h2\n")),
            "{name} missing"
        );
        assert!(
            run.stdout
                .contains(&format!("users: share {name} across h0, h1, h2\n")),
            "commit of {name} missing"
        );
    }
}

#[test]
fn quiet_apply_prints_nothing_and_still_commits() {
    let sb = fleet(3, USERS);
    let run = sb.run(&["apply", ".", "-q"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "");
    assert_eq!(commits_on_branch(&sb), USERS);
    // An error still shows, with its exit code: the branch exists now.
    let again = sb.run(&["apply", ".", "-q"]);
    again.expect_code(1);
    assert_eq!(again.stdout, "");
    assert!(again.stderr.starts_with("error: "), "{}", again.stderr);
}

#[test]
fn quiet_prints_nothing_but_errors_on_every_command() {
    let sb = fleet(2, 3);
    let quiet = |args: &[&str], code: i32| {
        let mut all = args.to_vec();
        all.push("-q");
        let run = sb.run(&all);
        run.expect_code(code);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr, "", "{args:?}");
    };
    quiet(&["scan", "."], 0);
    quiet(&["plan", "."], 0);
    quiet(&["plan", ".", "--stat"], 0);
    // The CI gate: pending changes say so by the exit code alone.
    quiet(&["plan", ".", "--check"], 2);
    quiet(&["apply", "."], 0);
    quiet(&["verify", "."], 0);
    quiet(&["plan", ".", "--check"], 0);
}

#[test]
fn quiet_keeps_errors_on_stderr() {
    let sb = fleet(2, 3);
    // A file that does not parse: every command fails, saying where.
    sb.write(
        "hosts/h1/default.nix",
        "{\n  system.stateVersion = \"24.05\";\n  users.users.u000.uid = 1\n}\n",
    );
    sb.git(&["commit", "-q", "-am", "h1: broken"]);
    for cmd in ["scan", "plan", "apply"] {
        let run = sb.run(&[cmd, ".", "-q"]);
        run.expect_code(1);
        assert_eq!(run.stdout, "", "{cmd}");
        assert!(
            run.stderr.contains("hosts/h1/default.nix:4:"),
            "{cmd}: {}",
            run.stderr
        );
    }
    // A verification that fails shows its differences on stderr.
    let sb = fleet(2, 3);
    sb.write(
        "hosts/h1/default.nix",
        &sb.read("hosts/h1/default.nix")
            .replace("\"wheel\"", "\"audio\""),
    );
    sb.git(&["commit", "-q", "-am", "u*: audio on h1"]);
    let run = sb.run(&["verify", ".", "-q"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("differences"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// plan --json and apply --json
// ---------------------------------------------------------------------------

fn json_of(run: &common::Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", run.stdout))
}

fn plan_json(case: &str, extra: &[&str]) -> serde_json::Value {
    let sb = Sandbox::empty();
    let dir = common::fixture(case);
    let mut args = vec!["plan", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let run = sb.run(&args);
    run.expect_code(0);
    assert!(
        !run.stdout.contains(dir.to_str().unwrap()),
        "paths are relative to DIR"
    );
    json_of(&run)
}

#[test]
fn plan_json_snapshot_of_the_service_fixture() {
    let json = plan_json("service", &["--to", "service"]);
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_json_snapshot!("plan-json-service", json);
    });
}

#[test]
fn plan_json_is_what_the_library_plans() {
    use clan_migrate::plan::{self, PlanOptions, PlanReport, TargetKind};
    for (case, to) in [
        ("example", TargetKind::Module),
        ("service", TargetKind::Service),
        ("spellings", TargetKind::Module),
    ] {
        let cli = plan_json(case, &["--to", to.as_str()]);
        let opts = PlanOptions {
            scan: clan_migrate::ScanOptions::default(),
            users: Vec::new(),
            to,
        };
        let p = plan::plan(&common::fixture(case), &opts, &clan_migrate::Silent).unwrap();
        let lib = serde_json::to_value(PlanReport::build(&p, to)).unwrap();
        assert_eq!(cli, lib, "{case}");
        // Every changed file is some user's, and every user's files are
        // among the changed ones.
        let all = |v: &serde_json::Value| -> std::collections::BTreeSet<String> {
            ["created", "changed", "deleted"]
                .iter()
                .flat_map(|k| v[k].as_array().unwrap().iter())
                .map(|f| f.as_str().unwrap().to_string())
                .collect()
        };
        let files = all(&cli["files"]);
        let mut of_users = std::collections::BTreeSet::new();
        for u in cli["users"].as_array().unwrap() {
            of_users.extend(all(&u["files"]));
        }
        assert_eq!(files, of_users, "{case}");
        let diff_files: std::collections::BTreeSet<String> = p
            .changed_files()
            .iter()
            .map(|f| clan_migrate::source::display_path(&f.path))
            .collect();
        assert_eq!(files, diff_files, "{case}");
    }
}

#[test]
fn plan_json_fields_are_the_documented_contract() {
    let json = plan_json("service", &["--to", "service"]);
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    let mut top = keys(&json);
    top.sort();
    assert_eq!(
        top,
        [
            "diagnostics",
            "files",
            "notices",
            "skipped",
            "target",
            "users"
        ]
    );
    let user_keys = [
        "dropped",
        "files",
        "hosts",
        "instance",
        "module",
        "moves",
        "moves_common_elements",
        "name",
        "notices",
        "option",
        "reordered",
        "settings",
        "stays",
        "target",
    ];
    let notice_keys = [
        "code", "column", "commands", "file", "line", "message", "option", "severity", "user",
    ];
    let mut commands = Vec::new();
    for u in json["users"].as_array().unwrap() {
        let mut k = keys(u);
        k.sort();
        assert_eq!(k, user_keys);
        for n in u["notices"].as_array().unwrap() {
            let mut k = keys(n);
            k.sort();
            assert_eq!(k, notice_keys);
            assert_eq!(n["user"], u["name"]);
            if n["code"] == "password-superseded" {
                commands.extend(n["commands"].as_array().unwrap().iter().cloned());
            }
        }
    }
    // alice's shared hash, bob's two initial passwords: the exact commands.
    let commands: Vec<&str> = commands.iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(commands.len(), 6, "{commands:#?}");
    assert!(commands.iter().all(|c| c.contains("clan vars set ")));
    assert!(commands.contains(
        &"printf '%s' 'changeme-beta' | clan vars set beta user-password-bob/user-password"
    ));
    // The mutableUsers notice is about a place, not a user.
    let mutable = &json["notices"][0];
    assert_eq!(mutable["code"], "mutable-users-overridden");
    assert_eq!(mutable["file"], "machines/gamma/configuration.nix");
    assert_eq!(mutable["line"], 17);
    assert_eq!(mutable["column"], 3);
}

#[test]
fn plan_json_keeps_warnings_off_stderr_and_check_still_exits_2() {
    let dir = common::fixture("dynamic-users");
    let sb = Sandbox::empty();
    let human = sb.run(&["plan", dir.to_str().unwrap()]);
    assert!(!human.stderr.is_empty(), "the fixture has warnings");
    let run = sb.run(&["plan", dir.to_str().unwrap(), "--json", "--check"]);
    let json = json_of(&run);
    assert_eq!(run.stderr, "");
    assert!(!json["diagnostics"].as_array().unwrap().is_empty());
    let code = if json["users"].as_array().unwrap().is_empty() {
        0
    } else {
        2
    };
    run.expect_code(code);
}

#[test]
fn apply_json_says_what_was_committed() {
    let sb = Sandbox::committed("example");
    let planned = plan_json("example", &[]);
    // -q does not silence what --json asks for.
    let run = sb.run(&["apply", ".", "--json", "-q"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let json = json_of(&run);
    assert_eq!(json["branch"], "clan-migrate/users");
    assert_eq!(json["base"], "main");
    assert_eq!(json["users"], planned["users"]);
    let commits = json["commits"].as_array().unwrap();
    let log = sb.git(&[
        "log",
        "--format=%h %s",
        "--reverse",
        "main..clan-migrate/users",
    ]);
    let log: Vec<&str> = log.lines().collect();
    assert_eq!(commits.len(), log.len());
    for (c, l) in commits.iter().zip(&log) {
        let (id, summary) = l.split_once(' ').unwrap();
        assert!(
            id.starts_with(c["id"].as_str().unwrap()) || c["id"].as_str().unwrap().starts_with(id)
        );
        assert_eq!(c["summary"], summary);
    }
    assert_eq!(json["written"], serde_json::json!([]));

    // --no-commit: the files written, no branch.
    let sb = Sandbox::committed("example");
    let run = sb.run(&["apply", ".", "--json", "--no-commit"]);
    run.expect_code(0);
    let json = json_of(&run);
    assert_eq!(json["branch"], serde_json::Value::Null);
    assert_eq!(json["commits"], serde_json::json!([]));
    assert_eq!(
        json["written"].as_array().unwrap().len(),
        ["created", "changed", "deleted"]
            .iter()
            .map(|k| json["files"][k].as_array().unwrap().len())
            .sum::<usize>()
    );
}

// ---------------------------------------------------------------------------
// scan --json: users.mutableUsers per host
// ---------------------------------------------------------------------------

fn scan_json(case: &str) -> serde_json::Value {
    let sb = Sandbox::empty();
    let run = sb.run(&["scan", common::fixture(case).to_str().unwrap(), "--json"]);
    run.expect_code(0);
    json_of(&run)
}

fn mutable_users_of(json: &serde_json::Value, host: &str) -> serde_json::Value {
    json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == host)
        .unwrap_or_else(|| panic!("no host {host}"))["mutable_users"]
        .clone()
}

#[test]
fn scan_json_lists_each_host_s_mutable_users() {
    use serde_json::json;
    // Nested in `users = { … }` on alpha, dotted on beta.
    let json = scan_json("spellings");
    assert_eq!(
        mutable_users_of(&json, "alpha"),
        json!([{ "value": false, "expression": "false", "priority": 100, "conditional": false,
                 "file": "hosts/alpha/base-users.nix", "line": 6, "column": 5 }])
    );
    assert_eq!(
        mutable_users_of(&json, "beta"),
        json!([{ "value": false, "expression": "false", "priority": 100, "conditional": false,
                 "file": "hosts/beta/default.nix", "line": 12, "column": 3 }])
    );
    // mkDefault, on the one host whose module sets it.
    let json = scan_json("service");
    assert_eq!(
        mutable_users_of(&json, "gamma"),
        json!([{ "value": true, "expression": "true", "priority": 1000, "conditional": false,
                 "file": "machines/gamma/configuration.nix", "line": 17, "column": 3 }])
    );
    assert_eq!(mutable_users_of(&json, "alpha"), json!([]));
    // A shared module: every host that imports it.
    let json = scan_json("example");
    for h in json["hosts"].as_array().unwrap() {
        let m = &h["mutable_users"];
        assert_eq!(m.as_array().unwrap().len(), 1, "{h}");
        assert_eq!(m[0]["file"], "modules/common.nix");
    }
}

/// The service target's warnings read `users.mutableUsers` from the
/// index, so every spelling it knows is seen: here `mkForce` in an
/// `mkIf` around `config.users` of a module with options (re-reading the
/// file for `users = { mutableUsers = …; }` missed it).
#[test]
fn service_warns_of_mutable_users_in_any_spelling() {
    let sb = Sandbox::copy("service");
    let gamma = "machines/gamma/configuration.nix";
    let text = sb
        .read(gamma)
        .replace("  users.mutableUsers = lib.mkDefault true;\n", "");
    sb.write(gamma, &text);
    sb.write(
        "modules/mutable.nix",
        "{ config, lib, ... }:\n{\n  options.site.legacy = lib.mkEnableOption \"legacy logins\";\n  config.users = lib.mkIf config.site.legacy {\n    mutableUsers = lib.mkForce true;\n  };\n}\n",
    );
    let text = sb.read(gamma).replace(
        "./hardware-configuration.nix",
        "./hardware-configuration.nix\n    ../../modules/mutable.nix",
    );
    assert!(text.contains("modules/mutable.nix"), "{text}");
    sb.write(gamma, &text);
    let run = sb.run(&["plan", ".", "--to", "service", "--json"]);
    run.expect_code(0);
    let json = json_of(&run);
    let notices = json["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{notices:#?}");
    assert_eq!(notices[0]["code"], "mutable-users-forced");
    assert_eq!(notices[0]["file"], "modules/mutable.nix");
    assert_eq!(notices[0]["line"], 5);
    assert_eq!(notices[0]["column"], 5);
    assert!(
        notices[0]["message"]
            .as_str()
            .unwrap()
            .contains("overrides the users service's false on gamma"),
        "{}",
        notices[0]
    );
}
