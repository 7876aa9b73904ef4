//! Checks the Nix oracle (`tests/oracle/eval-users.nix` through
//! `tests/common/oracle.rs`) against facts the fixtures' READMEs state, and
//! against NixOS merge semantics on small inline repos.

#[path = "common/oracle.rs"]
mod oracle;

use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(case)
}

fn eval_in(repo: &Path, entries: &[&str], special: Option<&str>) -> Value {
    let entries: Vec<PathBuf> = entries.iter().map(PathBuf::from).collect();
    oracle::effective_users(repo, &entries, special)
        .unwrap_or_else(|e| panic!("oracle failed on {} {entries:?}:\n{e}", repo.display()))
}

fn eval(case: &str, entries: &[&str]) -> Value {
    eval_in(&fixture(case), entries, None)
}

/// A scratch repository from `(path, contents)` pairs.
fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap_or_else(|| panic!("not a string: {x}")))
        .collect()
}

fn user_names(v: &Value) -> Vec<&str> {
    v["users"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn example_alpha_has_the_users_its_readme_describes() {
    if !oracle::nix_available() {
        return;
    }
    let alpha = eval("example", &["hosts/alpha"]);
    let users = &alpha["users"];
    let alice_groups = strings(&users["alice"]["extraGroups"]);
    assert!(alice_groups.contains(&"wheel"), "{alice_groups:?}");
    assert!(alice_groups.contains(&"networkmanager"), "{alice_groups:?}");
    assert_eq!(users["alice"]["shell"], json!("pkgs.zsh"));
    assert_eq!(users["alice"]["isNormalUser"], json!(true));
    assert_eq!(
        strings(&users["alice"]["openssh"]["authorizedKeys"]["keys"]).len(),
        2
    );
    assert_eq!(users["bob"]["extraGroups"], json!(["docker"]));
    assert_eq!(users["bob"]["isNormalUser"], json!(true));
    // dave comes from modules/common.nix
    assert_eq!(users["dave"]["description"], json!("Dave (backups)"));
    assert!(users["root"]["openssh"]["authorizedKeys"]["keys"].is_array());
    assert_eq!(user_names(&alpha), ["alice", "bob", "dave", "root"]);
    let hm = &alpha["home-manager"]["alice"];
    assert_eq!(hm["programs"]["git"]["userName"], json!("Alice"));
    assert_eq!(hm["programs"]["git"]["enable"], json!(true));
    assert_eq!(hm["home"]["stateVersion"], json!("24.05"));
}

#[test]
fn example_hosts_differ_where_the_readme_says() {
    if !oracle::nix_available() {
        return;
    }
    let alpha = eval("example", &["hosts/alpha"]);
    let beta = eval("example", &["hosts/beta"]);
    let gamma = eval("example", &["hosts/gamma"]);
    let report = oracle::users_diff(&alpha, &beta).expect("alpha and beta differ");
    // only alice's extraGroups (beta also "docker")
    assert!(report.contains("users.\"alice\" differs"), "{report}");
    assert!(report.contains("users.alice.extraGroups"), "{report}");
    assert!(!report.contains("bob"), "{report}");
    assert!(!report.contains("home-manager"), "{report}");
    let report = oracle::users_diff(&alpha, &gamma).expect("alpha and gamma differ");
    assert!(report.contains("users.alice.hashedPassword"), "{report}");
    assert!(report.contains("users.\"carol\" differs"), "{report}");
    assert!(report.contains("users.\"bob\" differs"), "{report}");
    assert!(
        report.contains("home-manager.\"alice\" differs"),
        "{report}"
    );
}

#[test]
fn spellings_alpha_and_beta_define_identical_users() {
    if !oracle::nix_available() {
        return;
    }
    let alpha = eval("spellings", &["hosts/alpha"]);
    let beta = eval("spellings", &["hosts/beta"]);
    let expected = [
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
        "frank",
        "gina",
        "heidi",
        "ivan",
        "judy",
        "karl",
        "lena",
        "ls1.internet",
        "oscar",
        "root",
    ];
    assert_eq!(user_names(&alpha), expected);
    assert_eq!(user_names(&beta), expected);
    for name in expected {
        assert_eq!(
            oracle::normalise(&alpha)["users"][name],
            oracle::normalise(&beta)["users"][name],
            "user {name}"
        );
    }
    oracle::assert_same_users(&alpha, &beta);
    // karl's groups: same elements, other order; equal only as multisets
    assert_eq!(
        alpha["users"]["karl"]["extraGroups"],
        json!(["wheel", "video"])
    );
    assert_eq!(
        beta["users"]["karl"]["extraGroups"],
        json!(["video", "wheel"])
    );
    // wrappers were applied, not carried: mkIf (heidi), mkForce (ivan), lena
    // copies karl's openssh through `config`
    assert_eq!(alpha["users"]["heidi"]["description"], json!("Heidi"));
    assert_eq!(alpha["users"]["ivan"]["shell"], json!("pkgs.zsh"));
    assert_eq!(alpha["users"]["ivan"]["extraGroups"], json!(["audio"]));
    assert_eq!(
        alpha["users"]["lena"]["openssh"],
        alpha["users"]["karl"]["openssh"]
    );
    assert_eq!(alpha["users"]["alice"]["uid"], json!(1000));
    assert_eq!(alpha["users"]["gina"]["description"], json!("Gina"));
    assert_eq!(alpha["users"]["frank"]["description"], json!("Frank"));
}

#[test]
fn traps_alice_keys_differ_and_containers_are_not_host_users() {
    if !oracle::nix_available() {
        return;
    }
    let modules = |h: &'static str| [h, "modules/my.nix", "modules/foo.nix"];
    let alpha = eval("traps", &modules("hosts/alpha"));
    let beta = eval("traps", &modules("hosts/beta"));
    assert_eq!(user_names(&alpha), ["alice", "root", "sonarr"]);
    assert_eq!(user_names(&beta), ["alice", "hydra-www", "root"]);
    assert!(alpha["users"].get("www").is_none());
    let keys = |v: &Value| v["users"]["alice"]["openssh"]["authorizedKeys"]["keys"].clone();
    assert_ne!(keys(&alpha), keys(&beta));
    assert!(keys(&alpha)[0].as_str().unwrap().ends_with("alice@laptop"));
    assert!(
        keys(&beta)[0]
            .as_str()
            .unwrap()
            .ends_with("alice@old-laptop")
    );
    let (a, b) = (oracle::normalise(&alpha), oracle::normalise(&beta));
    assert_eq!(
        a["users"]["alice"]["extraGroups"],
        b["users"]["alice"]["extraGroups"]
    );
    assert_eq!(a["users"]["root"], b["users"]["root"]);
    let report = oracle::users_diff(&alpha, &beta).unwrap();
    assert!(
        report.contains("users.alice.openssh.authorizedKeys.keys"),
        "{report}"
    );
}

#[test]
fn every_fixture_host_evaluates() {
    if !oracle::nix_available() {
        return;
    }
    let hosts: &[(&str, &[&str], Option<&str>)] = &[
        ("already-shared", &["machines/desktop"], None),
        ("already-shared", &["machines/laptop"], None),
        ("broken-file", &["hosts/alpha"], None),
        (
            "clan-flake",
            &["machines/jon/configuration.nix", "users/alice/home.nix"],
            None,
        ),
        (
            "clan-flake",
            &["machines/sara/configuration.nix", "users/alice/home.nix"],
            None,
        ),
        ("colmena", &["modules/base.nix", "hosts/web1"], None),
        ("dir-conventions", &["hosts/alpha/configuration.nix"], None),
        ("dir-conventions", &["hosts/beta"], None),
        ("dir-conventions", &["hosts/gamma.nix"], None),
        (
            "dynamic-users",
            &["hosts/alpha", "modules/admin.nix"],
            Some(r#"{ username = "dave"; }"#),
        ),
        (
            "dynamic-users",
            &["hosts/beta", "modules/admin.nix"],
            Some(r#"{ username = "dave"; }"#),
        ),
        (
            "eval-flake",
            &["hosts/alpha/users.nix", "modules/common.nix"],
            None,
        ),
        (
            "eval-flake",
            &["hosts/beta/users.nix", "modules/common.nix"],
            None,
        ),
        ("example", &["hosts/gamma"], None),
        ("flake-helper", &["hosts/alpha.nix", "common"], None),
        ("flake-helper", &["hosts/beta.nix", "common"], None),
        ("flake-helper", &["machines/gamma"], None),
        ("flake-literal", &["hosts/web"], None),
        ("flake-literal", &["hosts/storage", "extra.nix"], None),
        ("flake-literal", &["hosts/mail"], None),
        ("imports", &["hosts/alpha"], None),
        ("imports", &["hosts/beta"], None),
        ("lone-configuration", &["configuration.nix"], None),
        (
            "machines-dir",
            &["machines/desktop/configuration.nix"],
            None,
        ),
        ("machines-dir", &["machines/laptop/configuration.nix"], None),
    ];
    for (case, entries, special) in hosts {
        let v = eval_in(&fixture(case), entries, *special);
        assert!(
            !v["users"].as_object().unwrap().is_empty(),
            "{case} {entries:?}: no users"
        );
        assert!(
            !v.to_string().contains("__conflict"),
            "{case} {entries:?}: {v}"
        );
    }

    // a few README facts from the smoke run
    let laptop = eval("already-shared", &["machines/laptop"]);
    // "video" is in the shared module and host-local: NixOS keeps both
    assert_eq!(
        laptop["users"]["alice"]["extraGroups"],
        json!(["video", "wheel", "networkmanager", "video"])
    );
    let lone = eval("lone-configuration", &["configuration.nix"]);
    assert_eq!(
        lone["users"]["alice"]["packages"],
        json!(["pkgs.firefox", "pkgs.tree"])
    );
    assert!(lone["users"].get("media").is_none());
    let imports_alpha = eval("imports", &["hosts/alpha"]);
    // lib.optionals false [ ../../roles/desktop.nix ]: no carol
    assert_eq!(user_names(&imports_alpha), ["alice", "bob", "erin", "root"]);
    let imports_beta = eval("imports", &["hosts/beta"]);
    // the directory listing brings dave in (the tool follows it), and
    // `import ./extra/list.nix` ci (the tool cannot follow it)
    assert_eq!(user_names(&imports_beta), ["alice", "ci", "dave", "root"]);
    // lite-config: a Linux host's modules; the listing of users/ through
    // `"${inputs.self}/users"` gives ana and ben, not users/lib.nix
    let build01 = eval_in(
        &fixture("lite-config"),
        &["hosts/build01", "modules/nix.nix", "modules/nixos"],
        Some(r#"{ inputs.self = { outPath = toString ./.; }; }"#),
    );
    assert_eq!(user_names(&build01), ["ana", "ben", "kim", "oncall"]);
    let listed_a = eval("listed-users", &["hosts/a"]);
    assert_eq!(user_names(&listed_a), ["ops"]);
    let dynamic = eval_in(
        &fixture("dynamic-users"),
        &["hosts/alpha", "modules/admin.nix"],
        Some(r#"{ username = "dave"; }"#),
    );
    assert_eq!(
        user_names(&dynamic),
        ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]
    );
    assert_eq!(
        dynamic["users"]["dave"],
        json!({ "extraGroups": ["wheel"] })
    );
    let storage = eval("flake-literal", &["hosts/storage", "extra.nix"]);
    assert_eq!(
        storage["home-manager"]["erin"]["programs"]["tmux"]["enable"],
        json!(true)
    );
    let colmena = eval("colmena", &["modules/base.nix", "hosts/db"]);
    // root's keys are `config.users.users.dave.openssh.authorizedKeys.keys`
    assert_eq!(
        colmena["users"]["root"]["openssh"],
        colmena["users"]["dave"]["openssh"]
    );
}

#[test]
fn broken_and_missing_files_are_errors() {
    if !oracle::nix_available() {
        return;
    }
    let err = oracle::effective_users(
        &fixture("broken-file"),
        &[PathBuf::from("hosts/beta")],
        None,
    )
    .unwrap_err();
    assert!(err.contains("syntax error"), "{err}");
    assert!(err.contains("users.nix:6:17"), "{err}");
    let err = oracle::effective_users(&fixture("imports"), &[PathBuf::from("hosts/gamma")], None)
        .unwrap_err();
    assert!(err.contains("missing.nix"), "{err}");
    let err = oracle::effective_users(&fixture("imports"), &[PathBuf::from("hosts/nope")], None)
        .unwrap_err();
    assert!(err.contains("hosts/nope"), "{err}");
}

#[test]
fn priorities_pick_the_strongest_definition() {
    if !oracle::nix_available() {
        return;
    }
    let repo = scratch(&[
        (
            "host.nix",
            r#"{ lib, pkgs, ... }: {
  imports = [ ./other.nix ];
  users.users.alice = {
    uid = lib.mkForce 1001;
    description = lib.mkDefault "loses";
    home = lib.mkOverride 900 "/home/a";
    extraGroups = lib.mkAfter [ "last" ];
  };
  users.users.bob = lib.mkForce { uid = 7; };
  users.users.carol = lib.mkIf false { uid = 1; };
  users.users.dave = lib.mkIf true { uid = 4; };
  users.users.erin.shell = lib.mkDefault pkgs.bash;
}"#,
        ),
        (
            "other.nix",
            r#"{ lib, pkgs, ... }: {
  users.users.alice = {
    uid = 1000;
    description = "Alice";
    home = "/home/alice";
    extraGroups = lib.mkMerge [ [ "middle" ] (lib.mkBefore [ "first" ]) ];
  };
  users.users.bob.description = "dropped: bob's whole definition is mkForce";
  users.users.erin.shell = pkgs.fish;
}"#,
        ),
    ]);
    let v = eval_in(repo.path(), &["host.nix"], None);
    let users = &v["users"];
    assert_eq!(
        users["alice"]["uid"],
        json!(1001),
        "mkForce beats a plain definition"
    );
    assert_eq!(
        users["alice"]["description"],
        json!("Alice"),
        "mkDefault loses"
    );
    assert_eq!(
        users["alice"]["home"],
        json!("/home/alice"),
        "mkOverride 900 loses to a plain definition (100)"
    );
    assert_eq!(
        users["alice"]["extraGroups"],
        json!(["first", "middle", "last"]),
        "mkBefore / mkAfter order"
    );
    assert_eq!(users["bob"], json!({ "uid": 7 }));
    assert!(users.get("carol").is_none(), "mkIf false defines nothing");
    assert_eq!(users["dave"], json!({ "uid": 4 }));
    assert_eq!(users["erin"]["shell"], json!("pkgs.fish"));
}

#[test]
fn conflicting_definitions_are_reported_not_thrown() {
    if !oracle::nix_available() {
        return;
    }
    let repo = scratch(&[
        (
            "host.nix",
            r#"{ pkgs, ... }: {
  imports = [ ./a.nix ];
  users.users.alice = { uid = 1000; description = "Alice"; shell = pkgs.zsh; isNormalUser = true; };
}"#,
        ),
        (
            "a.nix",
            r#"{ pkgs, ... }: {
  users.users.alice = { uid = 1001; description = "Alice"; shell = pkgs.zsh; isNormalUser = true; };
}"#,
        ),
    ]);
    let v = eval_in(repo.path(), &["host.nix"], None);
    let alice = &v["users"]["alice"];
    assert_eq!(alice["uid"]["__conflict"], json!([1000, 1001]));
    assert_eq!(alice["description"], json!("Alice"), "equal scalars merge");
    assert_eq!(alice["isNormalUser"], json!(true));
    // NixOS: a package option (shell) is unique even when both values agree
    assert_eq!(
        alice["shell"]["__conflict"],
        json!(["pkgs.zsh", "pkgs.zsh"])
    );
}

#[test]
fn a_moved_and_rebased_user_keeps_its_effective_value() {
    if !oracle::nix_available() {
        return;
    }
    let before = scratch(&[
        (
            "hosts/alpha/default.nix",
            r#"{ pkgs, ... }: {
  users.users.alice = {
    isNormalUser = true;
    extraGroups = [ "wheel" "audio" ];
    shell = pkgs.zsh;
    openssh.authorizedKeys.keyFiles = [ ../../keys/alice.pub ];
  };
  home-manager.users.alice = { pkgs, ... }: { home.packages = [ pkgs.htop ]; };
}"#,
        ),
        ("keys/alice.pub", "ssh-ed25519 AAAA alice\n"),
    ]);
    let after = scratch(&[
        (
            "hosts/alpha/default.nix",
            r#"{ ... }: {
  imports = [ ../../users/alice ];
  users.users.alice.extraGroups = [ "audio" ];
}"#,
        ),
        (
            "users/alice/default.nix",
            r#"{ pkgs, ... }: {
  users.users.alice = {
    isNormalUser = true;
    extraGroups = [ "wheel" ];
    shell = pkgs.zsh;
    openssh.authorizedKeys.keyFiles = [ ../../keys/alice.pub ];
  };
  home-manager.users.alice = import ./home.nix;
}"#,
        ),
        (
            "users/alice/home.nix",
            "{ pkgs, ... }: { home.packages = [ pkgs.htop ]; }\n",
        ),
        ("keys/alice.pub", "ssh-ed25519 AAAA alice\n"),
    ]);
    let b = eval_in(before.path(), &["hosts/alpha"], None);
    let a = eval_in(after.path(), &["hosts/alpha"], None);
    // raw: absolute paths in two different directories, list order changed
    assert_ne!(b["users"], a["users"]);
    let key_file = b["users"]["alice"]["openssh"]["authorizedKeys"]["keyFiles"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        key_file.starts_with('/') && key_file.ends_with("/keys/alice.pub"),
        "{key_file}"
    );
    oracle::assert_same_users(&b, &a);
    let n = oracle::normalise(&a);
    assert_eq!(
        n["users"]["alice"]["openssh"]["authorizedKeys"]["keyFiles"],
        json!(["./keys/alice.pub"])
    );
    assert_eq!(
        n["home-manager"]["alice"]["home"]["packages"],
        json!(["pkgs.htop"])
    );
}

#[test]
#[should_panic(expected = "users.bob.uid: 1 -> 2")]
fn assert_same_users_shows_what_changed() {
    let before = json!({ "repoRoot": "/r", "users": { "bob": { "uid": 1 } }, "home-manager": {} });
    let after = json!({ "repoRoot": "/s", "users": { "bob": { "uid": 2 } }, "home-manager": {} });
    oracle::assert_same_users(&before, &after);
}

#[test]
fn normalise_sorts_lists_and_relativises_repo_paths() {
    let v = json!({
        "repoRoot": "/tmp/repo",
        "users": { "a": {
            "extraGroups": ["wheel", "audio"],
            "keyFiles": ["/tmp/repo/keys/a.pub", "/tmp/repository/x", "/tmp/repo"],
            "subUidRanges": [{ "startUid": 2, "count": 1 }, { "count": 1, "startUid": 1 }]
        } },
        "home-manager": {}
    });
    let n = oracle::normalise(&v);
    assert_eq!(
        n,
        json!({
            "users": { "a": {
                "extraGroups": ["audio", "wheel"],
                "keyFiles": [".", "./keys/a.pub", "/tmp/repository/x"],
                "subUidRanges": [{ "count": 1, "startUid": 1 }, { "count": 1, "startUid": 2 }]
            } },
            "home-manager": {}
        })
    );
    assert_eq!(oracle::normalise(&n), n, "idempotent");
    assert!(oracle::users_diff(&v, &n).is_none());
    let moved = json!({
        "repoRoot": "/elsewhere",
        "users": { "a": {
            "extraGroups": ["audio", "wheel"],
            "keyFiles": ["/elsewhere", "/elsewhere/keys/a.pub", "/tmp/repository/x"],
            "subUidRanges": [{ "startUid": 1, "count": 1 }, { "startUid": 2, "count": 1 }]
        } },
        "home-manager": {}
    });
    oracle::assert_same_users(&v, &moved);
}

// ---------------------------------------------------------------------------
// The Clan `users` service
// ---------------------------------------------------------------------------

fn eval_clan(repo: &Path, host: &str, entries: &[&str], clan_file: Option<&str>) -> Value {
    let entries: Vec<PathBuf> = entries.iter().map(PathBuf::from).collect();
    oracle::effective_users_with_clan(repo, host, &entries, clan_file.map(Path::new))
        .unwrap_or_else(|e| {
            panic!(
                "oracle failed on {} {host} {entries:?}:\n{e}",
                repo.display()
            )
        })
}

fn eval_inventory(repo: &Path, host: &str, entries: &[&str], inventory: &str) -> Value {
    let entries: Vec<PathBuf> = entries.iter().map(PathBuf::from).collect();
    let opts = oracle::EvalOptions {
        host: Some(host),
        inventory_nix: Some(inventory),
        ..oracle::EvalOptions::default()
    };
    oracle::effective_users_with(repo, &entries, &opts).unwrap_or_else(|e| {
        panic!(
            "oracle failed on {} {host} {entries:?}:\n{e}",
            repo.display()
        )
    })
}

const ALICE_KEY: &str = "ssh-ed25519 AAAAC3Nza alice@laptop";

/// alice as plain NixOS modules, the host `alpha` before a migration.
fn plain_alice_repo() -> tempfile::TempDir {
    scratch(&[(
        "machines/alpha/configuration.nix",
        &format!(
            r#"{{ ... }}: {{
  users.users.alice = {{
    isNormalUser = true;
    uid = 1000;
    extraGroups = [ "wheel" ];
    hashedPassword = "$6$salt$hash";
    openssh.authorizedKeys.keys = [ "{ALICE_KEY}" ];
  }};
  users.users.bob.isNormalUser = true;
}}"#
        ),
    )])
}

/// The same host after moving alice into a `users` instance.
fn clan_alice_repo(clan_nix: &str) -> tempfile::TempDir {
    scratch(&[
        (
            "machines/alpha/configuration.nix",
            "{ ... }: { users.users.bob.isNormalUser = true; }\n",
        ),
        (
            "users/alice/extra.nix",
            "{ ... }: { users.users.alice.uid = 1000; }\n",
        ),
        ("clan.nix", clan_nix),
    ])
}

fn alice_clan_nix(roles_default: &str) -> String {
    format!(
        r#"{{
  meta.name = "test";
  inventory.machines.alpha = {{ }};
  inventory.machines.beta.tags = [ "desktop" ];
  inventory.instances.alice-user = {{
    module.name = "users";
    module.input = "clan-core";
    {roles_default}
  }};
}}
"#
    )
}

#[test]
fn clan_users_service_reproduces_a_plain_user() {
    if !oracle::nix_available() {
        return;
    }
    let before = plain_alice_repo();
    let after = clan_alice_repo(&alice_clan_nix(&format!(
        r#"roles.default.tags.all = {{ }};
    roles.default.settings = {{
      user = "alice";
      groups = [ "wheel" ];
      openssh.authorizedKeys.keys = [ "{ALICE_KEY}" ];
    }};
    roles.default.extraModules = [ ./users/alice/extra.nix ];"#
    )));
    let entries = ["machines/alpha/configuration.nix"];
    let b = eval_clan(before.path(), "alpha", &entries, None);
    let a = eval_clan(after.path(), "alpha", &entries, Some("clan.nix"));
    assert_eq!(b["clanServiceUsers"], json!([]));
    assert_eq!(a["clanServiceUsers"], json!(["alice"]));
    let alice = &a["users"]["alice"];
    assert_eq!(alice["isNormalUser"], json!(true));
    assert_eq!(alice["uid"], json!(1000), "from extraModules");
    assert_eq!(alice["extraGroups"], json!(["wheel"]));
    assert_eq!(
        alice["openssh"]["authorizedKeys"]["keys"],
        json!([ALICE_KEY])
    );
    assert_eq!(
        alice["hashedPasswordFile"],
        json!("<clan vars user-password-alice>")
    );
    assert_eq!(a["users"]["bob"], json!({ "isNormalUser": true }));
    // the password moved to clan vars: only the service-aware comparison agrees
    let report = oracle::users_diff(&b, &a).expect("passwords differ");
    assert!(report.contains("users.alice.hashedPassword:"), "{report}");
    assert!(
        report.contains("users.alice.hashedPasswordFile:"),
        "{report}"
    );
    oracle::assert_same_users_with_service(&b, &a);

    // without the extra module, the uid is missing and that is reported
    let no_extra = clan_alice_repo(&alice_clan_nix(&format!(
        r#"roles.default.tags = [ "all" ];
    roles.default.settings = {{
      user = "alice";
      groups = [ "wheel" ];
      openssh.authorizedKeys.keys = [ "{ALICE_KEY}" ];
    }};"#
    )));
    let a = eval_clan(no_extra.path(), "alpha", &entries, Some("clan.nix"));
    let report = oracle::users_diff_with_service(&b, &a).expect("uid is lost");
    assert!(
        report.contains("users.alice.uid: 1000 -> <absent>"),
        "{report}"
    );
    assert!(!report.contains("assword"), "{report}");
}

#[test]
fn clan_users_service_passwords_are_superseded_only_for_its_users() {
    let before = json!({ "repoRoot": "/r", "users": {
        "alice": { "hashedPassword": "x", "initialPassword": "y", "password": "p",
                   "initialHashedPassword": "h", "uid": 1 },
        "bob": { "hashedPassword": "x" }
    }, "home-manager": {}, "clanServiceUsers": [] });
    let after = json!({ "repoRoot": "/s", "users": {
        "alice": { "hashedPasswordFile": "<clan vars user-password-alice>", "uid": 1 },
        "bob": { }
    }, "home-manager": {}, "clanServiceUsers": ["alice"] });
    let report = oracle::users_diff_with_service(&before, &after).expect("bob differs");
    assert!(report.contains("users.bob.hashedPassword"), "{report}");
    assert!(!report.contains("alice"), "{report}");
    let (b, a) = oracle::supersede_service_passwords(&before, &after);
    assert_eq!(b["users"]["alice"], json!({ "uid": 1 }));
    assert_eq!(a["users"]["alice"], json!({ "uid": 1 }));
    assert_eq!(b["users"]["bob"], json!({ "hashedPassword": "x" }));
    // the uid is still compared
    let mut changed = after.clone();
    changed["users"]["alice"]["uid"] = json!(2);
    changed["users"]["bob"] = json!({ "hashedPassword": "x" });
    let report = oracle::users_diff_with_service(&before, &changed).expect("uid differs");
    assert!(report.contains("users.alice.uid: 1 -> 2"), "{report}");
}

#[test]
fn clan_users_service_machine_settings_add_to_role_settings() {
    if !oracle::nix_available() {
        return;
    }
    let repo = clan_alice_repo(&alice_clan_nix(
        r#"roles.default.tags.all = { };
    roles.default.settings = { user = "alice"; groups = [ "wheel" ]; };
    roles.default.machines.beta.settings = {
      groups = [ "video" ];
      openssh.authorizedKeys.keyFiles = [ ./keys/alice.pub ];
    };"#,
    ));
    fs::create_dir_all(repo.path().join("machines/beta")).unwrap();
    fs::write(
        repo.path().join("machines/beta/configuration.nix"),
        "{ ... }: { }\n",
    )
    .unwrap();
    let alpha = eval_clan(
        repo.path(),
        "alpha",
        &["machines/alpha/configuration.nix"],
        Some("clan.nix"),
    );
    let beta = eval_clan(
        repo.path(),
        "beta",
        &["machines/beta/configuration.nix"],
        Some("clan.nix"),
    );
    assert_eq!(alpha["users"]["alice"]["extraGroups"], json!(["wheel"]));
    assert!(alpha["users"]["alice"].get("openssh").is_none());
    assert_eq!(
        beta["users"]["alice"]["extraGroups"],
        json!(["wheel", "video"])
    );
    let key_files = strings(&beta["users"]["alice"]["openssh"]["authorizedKeys"]["keyFiles"]);
    assert_eq!(key_files.len(), 1);
    assert!(key_files[0].ends_with("/keys/alice.pub"), "{key_files:?}");
    assert_eq!(
        oracle::normalise(&beta)["users"]["alice"]["openssh"]["authorizedKeys"]["keyFiles"],
        json!(["./keys/alice.pub"])
    );
    assert_eq!(beta["users"].as_object().unwrap().len(), 1, "{beta}");
}

#[test]
fn clan_users_service_applies_only_where_tags_or_machines_say() {
    if !oracle::nix_available() {
        return;
    }
    let entries = ["machines/alpha/configuration.nix"];
    // alpha has no tag `desktop` (beta has): no alice on alpha
    let repo = clan_alice_repo(&alice_clan_nix(
        r#"roles.default.tags.desktop = { };
    roles.default.settings.user = "alice";
    roles.default.extraModules = [ ./users/alice/extra.nix ];"#,
    ));
    let alpha = eval_clan(repo.path(), "alpha", &entries, Some("clan.nix"));
    assert_eq!(user_names(&alpha), ["bob"]);
    assert_eq!(alpha["clanServiceUsers"], json!([]));
    // a list of tags, one of them alpha's implicit class tag
    let repo = clan_alice_repo(&alice_clan_nix(
        r#"roles.default.tags = [ "desktop" "nixos" ];
    roles.default.settings.user = "alice";"#,
    ));
    let alpha = eval_clan(repo.path(), "alpha", &entries, Some("clan.nix"));
    assert_eq!(user_names(&alpha), ["alice", "bob"]);
    // tagged through inventory.machines.<m>.tags
    let beta = scratch(&[
        ("machines/beta/configuration.nix", "{ ... }: { }\n"),
        (
            "clan.nix",
            &alice_clan_nix(
                r#"roles.default.tags.desktop = { };
    roles.default.settings.user = "alice";"#,
            ),
        ),
    ]);
    let b = eval_clan(
        beta.path(),
        "beta",
        &["machines/beta/configuration.nix"],
        Some("clan.nix"),
    );
    assert_eq!(user_names(&b), ["alice"]);
    // by machine name; the user defaults to the instance name
    let repo = clan_alice_repo(
        r#"{ lib, ... }: {
  inventory.instances.carol = {
    module.name = "users";
    roles.default.machines.alpha = { };
  };
  inventory.instances.dave = {
    module.name = "users";
    roles.default.machines.beta = { };
  };
}"#,
    );
    let alpha = eval_clan(repo.path(), "alpha", &entries, Some("clan.nix"));
    assert_eq!(user_names(&alpha), ["bob", "carol"]);
    assert_eq!(alpha["clanServiceUsers"], json!(["carol"]));
}

#[test]
fn clan_instances_of_other_services_are_ignored() {
    if !oracle::nix_available() {
        return;
    }
    let repo = clan_alice_repo(
        r#"{
  inventory.instances.sshd = {
    module.name = "sshd";
    roles.server.tags.all = { };
    roles.default.tags.all = { };
    roles.default.settings.user = "alice";
    roles.default.extraModules = [ ./users/alice/extra.nix ];
  };
  inventory.instances.mine = {
    module = { name = "users"; input = "self"; };
    roles.default.tags.all = { };
    roles.default.settings.user = "erin";
  };
  inventory.instances.root = {
    module.name = "users";
    roles.default.tags.all = { };
    roles.default.settings = { user = "root"; prompt = false; share = true; };
  };
}"#,
    );
    let alpha = eval_clan(
        repo.path(),
        "alpha",
        &["machines/alpha/configuration.nix"],
        Some("clan.nix"),
    );
    assert_eq!(user_names(&alpha), ["bob", "root"]);
    // root is not a normal user; NixOS's default false is left unset
    assert_eq!(
        alpha["users"]["root"],
        json!({ "hashedPasswordFile": "<clan vars user-password-root>" })
    );
}

#[test]
fn clan_inventory_can_be_given_inline() {
    if !oracle::nix_available() {
        return;
    }
    let repo = clan_alice_repo("{ }\n");
    let inventory = r#"{
  instances.alice-user = {
    module.name = "users";
    roles.default.tags.all = { };
    roles.default.settings = { user = "alice"; groups = [ "wheel" ]; };
    # a relative string: relative to the clan directory (the repository)
    roles.default.extraModules = [ "users/alice/extra.nix" ];
  };
}"#;
    let alpha = eval_inventory(
        repo.path(),
        "alpha",
        &["machines/alpha/configuration.nix"],
        inventory,
    );
    assert_eq!(alpha["users"]["alice"]["uid"], json!(1000));
    assert_eq!(alpha["users"]["alice"]["extraGroups"], json!(["wheel"]));
    assert_eq!(alpha["clanServiceUsers"], json!(["alice"]));
    // role and machine settings disagreeing on a scalar: an error, as in clan
    let conflicting = r#"{
  instances.x = {
    module.name = "users";
    roles.default.settings.user = "alice";
    roles.default.machines.alpha.settings.user = "erin";
  };
}"#;
    let opts = oracle::EvalOptions {
        host: Some("alpha"),
        inventory_nix: Some(conflicting),
        ..oracle::EvalOptions::default()
    };
    let err = oracle::effective_users_with(
        repo.path(),
        &[PathBuf::from("machines/alpha/configuration.nix")],
        &opts,
    )
    .unwrap_err();
    assert!(err.contains("conflicting settings for user"), "{err}");
}

#[test]
fn clan_flake_jon_has_alice_from_the_users_service() {
    if !oracle::nix_available() {
        return;
    }
    let repo = fixture("clan-flake");
    let jon = eval_clan(
        &repo,
        "jon",
        &["machines/jon/configuration.nix"],
        Some("clan.nix"),
    );
    assert_eq!(user_names(&jon), ["alice", "bob"]);
    assert_eq!(jon["clanServiceUsers"], json!(["alice"]));
    let alice = &jon["users"]["alice"];
    assert_eq!(alice["isNormalUser"], json!(true));
    assert_eq!(alice["extraGroups"], json!(["wheel"]));
    let hm = &jon["home-manager"]["alice"];
    assert_eq!(hm["programs"]["git"]["userName"], json!("Alice"));
    assert_eq!(hm["home"]["stateVersion"], json!("24.05"));
    // the same as evaluating the service's extra module as a host module,
    // apart from what the service itself sets
    let plain = eval_in(
        &repo,
        &["machines/jon/configuration.nix", "users/alice/home.nix"],
        None,
    );
    assert_eq!(plain["home-manager"], jon["home-manager"]);
    assert!(plain["users"].get("alice").is_none());
    let sara = eval_clan(
        &repo,
        "sara",
        &["machines/sara/configuration.nix"],
        Some("clan.nix"),
    );
    assert_eq!(user_names(&sara), ["alice", "carol"]);
    assert_eq!(sara["users"]["alice"], jon["users"]["alice"]);
}
