//! `clan-migrate plan/apply --to service`: repeated users become instances
//! of Clan's `users` service in the inventory (clan.nix, or the inventory
//! inline in flake.nix), the options the service has no setting for go to
//! `users/<name>` modules listed in the instance's `extraModules`, and
//! users the service cannot take (root, system users) stay on the module
//! target.
//!
//! Covered: snapshots of the plan (`service-<case>`), the facts of each
//! fixture's README asserted one by one, `apply --to service` invariants on
//! a scratch git copy (one commit per user, exactly the planned files, the
//! result parses, a second plan is empty, verify agrees), every host's
//! effective users before and after by real Nix (the oracle, which
//! evaluates the `users` instances), refusals and `--user` /
//! `--no-commit` runs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clan_migrate::index::UserOption;
use clan_migrate::plan::{self, PlanOptions, TargetKind};
use clan_migrate::source::SourceFile;
use clan_migrate::{ScanOptions, Silent};
use rnix::SyntaxKind;
use serde_json::Value;

use common::{
    Run, Sandbox, diff_part, diff_sections, entry_modules, fixture, nix_parse_failures, oracle,
    read_tree, require_tool, tree_fingerprint,
};

const BRANCH: &str = "clan-migrate/users";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The library's `--to service` plan of `repo` (all users, or `users`).
fn service_plan(repo: &Path, users: &[&str]) -> plan::Plan {
    let opts = PlanOptions {
        scan: ScanOptions::default(),
        users: users.iter().map(|u| u.to_string()).collect(),
        to: TargetKind::Service,
    };
    plan::plan(repo, &opts, &Silent).unwrap_or_else(|e| panic!("plan {}: {e}", repo.display()))
}

/// `clan-migrate plan <fixture> --to service --color never <extra>`, run on
/// the fixture itself (plan writes nothing; `plan_touches_nothing` checks
/// that for the module target, `refused_on_a_flake_that_cannot_become_a_clan` here).
fn plan_fixture(case: &str, extra: &[&str]) -> Run {
    let sb = Sandbox::empty();
    let dir = fixture(case);
    let mut args = vec![
        "plan",
        dir.to_str().unwrap(),
        "--to",
        "service",
        "--color",
        "never",
    ];
    args.extend_from_slice(extra);
    sb.run(&args)
}

/// The planned files of the fixture: path -> (before, after).
fn planned_files(case: &str, users: &[&str]) -> BTreeMap<String, (Option<String>, String)> {
    service_plan(&fixture(case), users)
        .files()
        .into_iter()
        .map(|f| {
            let after = f
                .after
                .unwrap_or_else(|| panic!("{case}: {} is deleted", f.path.display()));
            (f.path.to_str().unwrap().to_string(), (f.before, after))
        })
        .collect()
}

/// `after` text of a planned file, which must be planned.
#[track_caller]
fn after<'a>(files: &'a BTreeMap<String, (Option<String>, String)>, path: &str) -> &'a str {
    &files
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not planned: {:?}", files.keys()))
        .1
}

/// Whitespace runs squashed to one space: layout-independent text.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the binding `name = …;` (attribute path exactly `name`) in
/// `text`, squashed; `None` if there is none.
fn binding(text: &str, name: &str) -> Option<String> {
    let root = rnix::Root::parse(text).syntax();
    let found: Vec<String> = root
        .descendants()
        .filter(|n| n.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
        .filter(|n| {
            n.children()
                .find(|c| c.kind() == SyntaxKind::NODE_ATTRPATH)
                .is_some_and(|a| a.text() == name)
        })
        .map(|n| squash(&n.text().to_string()))
        .collect();
    assert!(found.len() <= 1, "{name} is bound {} times", found.len());
    found.into_iter().next()
}

/// The argument of `clan-core.lib.clan { … }` in `text`, squashed.
fn clan_call_argument(text: &str) -> String {
    let root = rnix::Root::parse(text).syntax();
    root.descendants()
        .filter(|n| n.kind() == SyntaxKind::NODE_APPLY)
        .find_map(|n| {
            let mut kids = n.children();
            let f = kids.next()?;
            let arg = kids.next()?;
            (f.text() == "clan-core.lib.clan").then(|| squash(&arg.text().to_string()))
        })
        .expect("a clan-core.lib.clan call")
}

/// The inventory written inline in `flake_text` (the argument of
/// `clan-core.lib.clan`, or a flake-parts `clan = { … }`) as a Nix
/// expression for the oracle, read with the tool's own inventory reader:
/// the `inventory = { … }` set, or `{ machines = { … }; instances = { … }; }`
/// from the sets bound below `inventory`. `None` when the flake has none.
fn inline_inventory(flake_text: &str, hosts: &[String]) -> Option<String> {
    let root = rnix::Root::parse(flake_text).tree();
    let file = SourceFile::new(PathBuf::from("flake.nix"), flake_text.to_string());
    let inv = clan_migrate::inventory::read(&file, &root, hosts);
    let mut path = inv.prefix.clone()?;
    path.push("inventory".to_string());
    let text_of = |(a, b): (usize, usize)| flake_text[a..b].to_string();
    if let Some(s) = inv.sets.iter().find(|s| s.path == path) {
        return Some(text_of(s.range));
    }
    let mut seen = BTreeSet::new();
    let parts: Vec<String> = inv
        .sets
        .iter()
        .filter(|s| s.path.len() == path.len() + 1 && s.path.starts_with(&path))
        .filter(|s| seen.insert(s.path.clone()))
        .map(|s| format!("{} = {};", s.path.last().unwrap(), text_of(s.range)))
        .collect();
    assert!(
        !parts.is_empty(),
        "an inventory without sets below it: {:?}",
        inv.sets
    );
    Some(format!("{{\n{}\n}}", parts.join("\n")))
}

/// Every host's effective users by the oracle, with the clan's `users`
/// instances: from `clan.nix` when it exists, else from the inventory
/// inline in `flake.nix`, else none.
fn eval_hosts(repo: &Path, hosts: &[(String, Vec<PathBuf>)]) -> Vec<Value> {
    let clan_file = Path::new("clan.nix");
    let clan_file = repo.join(clan_file).is_file().then_some(clan_file);
    let names: Vec<String> = hosts.iter().map(|(h, _)| h.clone()).collect();
    let inline = match clan_file {
        Some(_) => None,
        None => std::fs::read_to_string(repo.join("flake.nix"))
            .ok()
            .and_then(|t| inline_inventory(&t, &names)),
    };
    hosts
        .iter()
        .map(|(host, modules)| {
            let opts = oracle::EvalOptions {
                host: Some(host),
                clan_file,
                inventory_nix: inline.as_deref(),
                ..Default::default()
            };
            oracle::effective_users_with(repo, modules, &opts)
                .unwrap_or_else(|e| panic!("host {host}: {e}"))
        })
        .collect()
}

fn service_users(v: &Value) -> BTreeSet<String> {
    v["clanServiceUsers"]
        .as_array()
        .unwrap_or_else(|| panic!("no clanServiceUsers in {v}"))
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect()
}

/// Commits `range`, oldest first.
fn commits(sb: &Sandbox, range: &str) -> Vec<String> {
    let out = sb.git(&["rev-list", "--reverse", range]);
    out.lines().map(str::to_string).collect()
}

fn subjects(sb: &Sandbox, range: &str) -> Vec<String> {
    commits(sb, range)
        .iter()
        .map(|c| sb.git(&["log", "-1", "--format=%s", c]))
        .collect()
}

/// `apply . --to service` (quiet) plus `extra`, which must succeed.
#[track_caller]
fn apply_ok(sb: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["apply", ".", "--to", "service", "--color", "never"];
    args.extend_from_slice(extra);
    let run = sb.run(&args);
    run.expect_code(0);
    run
}

#[track_caller]
fn assert_nothing_to_do(sb: &Sandbox, args: &[&str]) {
    let run = sb.run(args);
    run.expect_code(0);
    assert!(
        run.stdout.starts_with("Nothing to do"),
        "{args:?}: {}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------
// 1. Snapshots of `plan --to service`
// ---------------------------------------------------------------------------

fn snapshot(case: &str, extra: &[&str]) {
    let run = plan_fixture(case, extra);
    run.expect_code(0);
    assert!(
        !run.stdout.contains('\x1b'),
        "{case}: --color never printed escape codes"
    );
    assert!(run.stdout.contains("diff --git"), "{case}: {}", run.stdout);
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(format!("service-{case}"), run.stdout);
    });
}

#[test]
fn snapshot_service() {
    snapshot("service", &[]);
}

#[test]
fn snapshot_service_bare() {
    snapshot("service-bare", &[]);
}

#[test]
fn snapshot_service_flake_parts() {
    snapshot("service-flake-parts", &[]);
}

#[test]
fn snapshot_service_inline() {
    snapshot("service-inline", &[]);
}

#[test]
fn snapshot_already_shared_clan_gina() {
    snapshot("already-shared-clan", &["--user", "gina"]);
}

// ---------------------------------------------------------------------------
// 2. The facts of each fixture's README
// ---------------------------------------------------------------------------

#[test]
fn service_fixture_facts() {
    let files = planned_files("service", &[]);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "clan.nix",
            "machines/alpha/configuration.nix",
            "machines/beta/configuration.nix",
            "machines/gamma/configuration.nix",
            "users/alice/default.nix",
            "users/alice/home.nix",
            "users/backup/default.nix",
            "users/root/default.nix",
        ]
    );
    let clan_before = files["clan.nix"].0.clone().expect("clan.nix exists");
    let clan = after(&files, "clan.nix");

    // alice-user: everywhere, shared password, beta's docker, both modules.
    let alice = binding(clan, "alice-user").expect("an alice-user instance");
    for fact in [
        "module.name = \"users\";",
        "roles.default.tags.all = { };",
        "user = \"alice\";",
        "groups = [ \"wheel\" \"networkmanager\" ];",
        "openssh.authorizedKeys.keys = [ \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0n/R1JXET3SLm9CENr5rXB+nahX0LcniRRStQj2JJw alice@laptop\" ];",
        "share = true;",
        "roles.default.machines.beta.settings.groups = [ \"docker\" ];",
        "roles.default.extraModules = [ ./users/alice/default.nix ./users/alice/home.nix ];",
    ] {
        assert!(alice.contains(fact), "alice-user lacks `{fact}`:\n{alice}");
    }
    assert!(!alice.contains("hashedPassword"), "{alice}");

    // bob-user: alpha and beta only, key file rebased, passwords differ.
    let bob = binding(clan, "bob-user").expect("a bob-user instance");
    for fact in [
        "module.name = \"users\";",
        "roles.default.machines.alpha = { };",
        "roles.default.machines.beta = { };",
        "user = \"bob\";",
        "groups = [ \"wheel\" ];",
        "openssh.authorizedKeys.keyFiles = [ ./keys/bob.pub ];",
    ] {
        assert!(bob.contains(fact), "bob-user lacks `{fact}`:\n{bob}");
    }
    for absent in ["tags", "share", "extraModules", "gamma", "initialPassword"] {
        assert!(!bob.contains(absent), "bob-user has `{absent}`:\n{bob}");
    }

    // backup and root are no instances; nothing else is.
    for name in ["backup-user", "root-user", "carol-user"] {
        assert_eq!(binding(clan, name), None, "{name} in clan.nix:\n{clan}");
    }
    // sshd-basic and its comment are untouched, and come first.
    let start = clan_before
        .find("    # OpenSSH host keys")
        .expect("the comment");
    let end = start + clan_before[start..].find("    };\n").unwrap() + "    };\n".len();
    let sshd = &clan_before[start..end];
    assert!(sshd.contains("sshd-basic = {"), "{sshd}");
    assert!(clan.contains(sshd), "sshd-basic changed:\n{clan}");
    assert!(
        clan.starts_with(&clan_before[..end]),
        "bytes before the new instances changed:\n{clan}"
    );
    assert!(clan.find(sshd) < clan.find("alice-user"));

    // The modules next to the instance hold what the service cannot set.
    let alice_nix = squash(after(&files, "users/alice/default.nix"));
    for fact in [
        "uid = 1000;",
        "shell = pkgs.zsh;",
        "description = \"Alice Liddell\";",
    ] {
        assert!(alice_nix.contains(fact), "{alice_nix}");
    }
    for absent in [
        "isNormalUser",
        "extraGroups",
        "authorizedKeys",
        "hashedPassword",
    ] {
        assert!(
            !alice_nix.contains(absent),
            "users/alice/default.nix has {absent}: {alice_nix}"
        );
    }
    let home = squash(after(&files, "users/alice/home.nix"));
    assert!(
        home.contains("imports = [ self.inputs.home-manager.nixosModules.default ];")
            && home.contains("home-manager.users.alice = {")
            && home.contains("home.stateVersion = \"24.05\";"),
        "{home}"
    );
    // backup and root: plain modules, as the module target makes them.
    let backup = squash(after(&files, "users/backup/default.nix"));
    assert!(backup.contains("isSystemUser = true;"), "{backup}");
    let root = squash(after(&files, "users/root/default.nix"));
    assert!(root.contains("admin@desk"), "{root}");

    // Hosts: alice, home-manager alice and bob leave; backup and root are
    // imported as modules; host options and carol stay.
    for host in ["alpha", "beta", "gamma"] {
        let text = after(&files, &format!("machines/{host}/configuration.nix"));
        for gone in [
            "users.users.alice",
            "home-manager.users.alice",
            "users.users.bob",
            "users.users.backup",
            "users.users.root",
            "hashedPassword",
            "initialPassword",
            "users/alice",
            "users/bob",
        ] {
            assert!(!text.contains(gone), "{host} still has {gone}:\n{text}");
        }
        for stays in [
            "home-manager.useGlobalPkgs = true;",
            "programs.zsh.enable = true;",
            "../../users/root",
        ] {
            assert!(text.contains(stays), "{host} lacks {stays}:\n{text}");
        }
        let backup = host != "gamma";
        assert_eq!(text.contains("../../users/backup"), backup, "{host}");
        assert_eq!(
            text.contains("users.groups.backup = { };"),
            backup,
            "{host}"
        );
    }
    let gamma = after(&files, "machines/gamma/configuration.nix");
    assert!(gamma.contains("users.users.carol = {"), "{gamma}");
    // The tool names mutableUsers; it does not edit it.
    assert!(
        gamma.contains("users.mutableUsers = lib.mkDefault true;"),
        "{gamma}"
    );

    // stdout: why backup and root stay, the vars commands, mutableUsers.
    let run = plan_fixture("service", &[]);
    run.expect_code(0);
    let out = &run.stdout;
    for note in [
        "note: backup stays on the module target: it is a system user",
        "note: root stays on the module target: the service would give root",
        "clan vars set alpha user-password-alice/user-password-hash",
        "clan vars set alpha user-password-bob/user-password\n",
        "clan vars set beta user-password-bob/user-password\n",
        "printf '%s' 'changeme-alpha' | clan vars set alpha user-password-bob/user-password",
        "printf '%s' 'changeme-beta' | clan vars set beta user-password-bob/user-password",
    ] {
        assert!(out.contains(note), "stdout lacks {note:?}:\n{out}");
    }
    // alice's password is shared: one command, on one machine.
    assert_eq!(
        out.matches("user-password-alice/user-password-hash")
            .count(),
        1,
        "{out}"
    );
    assert!(
        !out.contains("clan vars set beta user-password-alice")
            && !out.contains("clan vars set gamma user-password-alice"),
        "{out}"
    );
    let mutable = out
        .lines()
        .find(|l| l.contains("mutableUsers = true"))
        .unwrap_or_else(|| panic!("no mutableUsers note:\n{out}"));
    assert!(
        mutable.starts_with("note: machines/gamma/configuration.nix:17:3: ")
            && mutable.contains("gives way to the users service's false on gamma"),
        "{mutable}"
    );
    assert!(!out.contains("machines/alpha/configuration.nix:"), "{out}");
}

#[test]
fn service_bare_fixture_facts() {
    let files = planned_files("service-bare", &[]);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "clan.nix",
            "flake.nix",
            "machines/north/configuration.nix",
            "machines/south/configuration.nix",
        ]
    );
    assert_eq!(files["clan.nix"].0, None, "clan.nix is created");
    let clan = after(&files, "clan.nix");
    let frank = binding(clan, "frank-user").expect("frank-user");
    for fact in [
        "module.name = \"users\";",
        "roles.default.tags.all = { };",
        "user = \"frank\";",
        "groups = [ \"wheel\" ];",
    ] {
        assert!(frank.contains(fact), "{frank}");
    }
    for absent in ["share", "extraModules", "authorizedKeys"] {
        assert!(!frank.contains(absent), "{frank}");
    }
    assert!(
        squash(clan).starts_with("{ inventory.instances = { frank-user = {"),
        "{clan}"
    );
    // flake.nix: the clan call imports it; nothing else changes.
    let (flake_before, flake) = (
        &files["flake.nix"].0.clone().unwrap(),
        after(&files, "flake.nix"),
    );
    let arg = clan_call_argument(flake);
    assert!(arg.contains("imports = [ ./clan.nix ];"), "{arg}");
    assert!(arg.contains("meta.name = \"bare\";"), "{arg}");
    let added: Vec<&str> = flake
        .lines()
        .filter(|l| !flake_before.lines().any(|b| b == *l))
        .collect();
    assert_eq!(added, ["        imports = [ ./clan.nix ];"]);
    assert_eq!(flake.lines().count(), flake_before.lines().count() + 1);
    for host in ["north", "south"] {
        let text = after(&files, &format!("machines/{host}/configuration.nix"));
        assert!(!text.contains("users.users.frank"), "{text}");
        assert!(!text.contains("users/frank"), "{text}");
    }
    let run = plan_fixture("service-bare", &[]);
    run.expect_code(0);
    assert!(!run.stdout.contains("warning"), "{}", run.stdout);
}

/// service-inline and service-flake-parts: the instance goes into the
/// inventory in flake.nix; no clan.nix.
fn inline_facts(case: &str, user: &str, hosts: [&str; 2], prefix: &[&str], facts: &[&str]) {
    let files = planned_files(case, &[]);
    assert!(
        !files.contains_key("clan.nix"),
        "{case}: {:?}",
        files.keys()
    );
    let flake = after(&files, "flake.nix");
    let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    let root = rnix::Root::parse(flake).tree();
    let inv = clan_migrate::inventory::read(
        &SourceFile::new(PathBuf::from("flake.nix"), flake.to_string()),
        &root,
        &names,
    );
    assert_eq!(
        inv.prefix.as_deref(),
        Some(&prefix.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]),
        "{case}"
    );
    let instance = format!("{user}-user");
    let found: Vec<_> = inv
        .instances
        .iter()
        .filter(|i| i.name == instance)
        .collect();
    assert_eq!(found.len(), 1, "{case}: {:?}", inv.instances);
    assert_eq!(found[0].module.as_deref(), Some("users"));
    assert_eq!(found[0].user.as_deref(), Some(user));
    // Inside the inventory.instances set that was there.
    let mut path: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
    path.extend(["inventory".to_string(), "instances".to_string()]);
    let set = inv
        .sets
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("{case}: no {path:?} set"));
    assert!(
        set.range.0 < found[0].range.0 && found[0].range.1 < set.range.1,
        "{case}: the instance is outside inventory.instances"
    );
    assert_eq!(flake.matches("inventory.instances").count(), 1, "{flake}");
    let block = binding(flake, &instance).unwrap();
    for fact in facts {
        assert!(block.contains(fact), "{case}: no `{fact}` in {block}");
    }
    assert!(block.contains("roles.default.tags.all = { };"), "{block}");
    assert!(!block.contains("share"), "{block}");
    for host in hosts {
        let text = after(&files, &format!("machines/{host}/configuration.nix"));
        assert!(!text.contains(&format!("users.users.{user}")), "{text}");
    }
}

#[test]
fn service_inline_fixture_facts() {
    inline_facts(
        "service-inline",
        "dana",
        ["web", "db"],
        &[],
        &[
            "groups = [ \"wheel\" ];",
            "openssh.authorizedKeys.keys = [ \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID4voyzR6+11Vj9Ay5HOjlEG9JxztjMh4sX0Qk143p5Y dana@work\" ];",
        ],
    );
    let files = planned_files("service-inline", &[]);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "flake.nix",
            "machines/db/configuration.nix",
            "machines/web/configuration.nix"
        ]
    );
    assert!(
        !binding(after(&files, "flake.nix"), "dana-user")
            .unwrap()
            .contains("extraModules")
    );
}

#[test]
fn service_flake_parts_fixture_facts() {
    inline_facts(
        "service-flake-parts",
        "erin",
        ["one", "two"],
        &["clan"],
        &[
            "groups = [ \"wheel\" \"audio\" ];",
            "roles.default.extraModules = [ ./users/erin/default.nix ];",
        ],
    );
    let files = planned_files("service-flake-parts", &[]);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "flake.nix",
            "machines/one/configuration.nix",
            "machines/two/configuration.nix",
            "users/erin/default.nix",
        ]
    );
    let erin = squash(after(&files, "users/erin/default.nix"));
    assert!(erin.contains("description = \"Erin Example\";"), "{erin}");
    for absent in ["isNormalUser", "extraGroups"] {
        assert!(!erin.contains(absent), "{erin}");
    }
}

#[test]
fn already_shared_clan_gina_facts() {
    // Without --user: nothing repeated, nothing to do.
    let run = plan_fixture("already-shared-clan", &[]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("Nothing to do"), "{}", run.stdout);

    let files = planned_files("already-shared-clan", &["gina"]);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "clan.nix",
            "machines/desktop/configuration.nix",
            "machines/laptop/configuration.nix",
            "users/gina/default.nix",
        ]
    );
    let gina = binding(after(&files, "clan.nix"), "gina-user").expect("gina-user");
    for fact in [
        "module.name = \"users\";",
        "roles.default.tags.all = { };",
        "user = \"gina\";",
        "groups = [ \"wheel\" \"video\" ];",
        "gina@x\" ];",
        "roles.default.extraModules = [ ./users/gina/default.nix ];",
    ] {
        assert!(gina.contains(fact), "{gina}");
    }
    assert!(!gina.contains("share"), "{gina}");
    let module = squash(after(&files, "users/gina/default.nix"));
    assert_eq!(module, "{ ... }: { users.users.gina = { uid = 1001; }; }");
    for host in ["desktop", "laptop"] {
        let text = after(&files, &format!("machines/{host}/configuration.nix"));
        assert!(!text.contains("users/gina"), "{text}");
        assert!(text.contains("./hardware-configuration.nix"), "{text}");
    }
}

// ---------------------------------------------------------------------------
// 3 + 4. apply --to service: git, files, parse, idempotence, verify, oracle
// ---------------------------------------------------------------------------

struct ApplyCase {
    case: &'static str,
    users: &'static [&'static str],
    subjects: &'static [&'static str],
    /// Users a `users` instance defines after the apply, and where.
    service_users: &'static [(&'static str, &'static [&'static str])],
}

fn apply_to_service(c: &ApplyCase) {
    let case = c.case;
    let sb = Sandbox::committed(case);
    let main = sb.rev("main").unwrap();
    let before = read_tree(&sb.repo);
    let hosts = entry_modules(&sb.repo);
    assert!(hosts.len() >= 2, "{case}: {hosts:?}");
    let nix = oracle::nix_available();
    let users_before = nix.then(|| eval_hosts(&sb.repo, &hosts));

    let p = service_plan(&sb.repo, c.users);
    let planned: BTreeMap<PathBuf, Option<String>> =
        p.files().into_iter().map(|f| (f.path, f.after)).collect();
    let user_args: Vec<&str> = c.users.iter().flat_map(|u| ["--user", *u]).collect();
    let mut plan_args = vec!["plan", ".", "--to", "service", "--color", "never"];
    plan_args.extend(&user_args);
    let plan_run = sb.run(&plan_args);
    plan_run.expect_code(0);
    let diff_files: BTreeSet<PathBuf> = diff_sections(diff_part(&plan_run.stdout))
        .into_iter()
        .map(|(p, _)| PathBuf::from(p))
        .collect();
    assert_eq!(
        diff_files,
        planned.keys().cloned().collect(),
        "{case}: the printed diff vs the library plan"
    );

    let run = apply_ok(&sb, &user_args);
    assert!(
        run.stdout.contains(&format!("On branch {BRANCH}")),
        "{case}: {}",
        run.stdout
    );

    // Git: one commit per user, as the plan's steps say; main unmoved.
    assert_eq!(sb.rev("main").as_deref(), Some(main.as_str()), "{case}");
    assert_eq!(sb.head_branch(), BRANCH, "{case}");
    assert_eq!(sb.branches(), [BRANCH, "main"], "{case}");
    assert_eq!(sb.status(), "", "{case}: the work tree is the last commit");
    let new_commits = commits(&sb, &format!("main..{BRANCH}"));
    assert_eq!(
        subjects(&sb, &format!("main..{BRANCH}")),
        c.subjects,
        "{case}"
    );
    assert_eq!(new_commits.len(), p.steps.len(), "{case}: one per user");
    for (commit, step) in new_commits.iter().zip(&p.steps) {
        let message = sb.git(&["log", "-1", "--format=%B", commit]);
        assert_eq!(message.trim_end(), step.commit_message().trim_end());
        if step.moves.iter().any(|m| m.service.is_some()) {
            assert!(
                message.contains(&format!(
                    "Moved to the {}-user instance of the Clan users service:",
                    step.user
                )),
                "{case}: {message}"
            );
        }
    }
    assert_eq!(
        sb.git(&["rev-parse", &format!("{}^", new_commits[0])]),
        main,
        "{case}: the branch starts at main"
    );

    // Files: exactly the planned ones changed, as planned; the rest
    // byte-identical, nothing deleted.
    let (after_tree, changed) = common::changed_by_apply(&sb, &before, case);
    assert_eq!(changed, diff_files, "{case}: changed files vs the diff");
    for (path, text) in &planned {
        assert_eq!(
            after_tree.get(path).map(|b| String::from_utf8_lossy(b)),
            text.as_deref().map(Into::into),
            "{case}: {} is not what was planned",
            path.display()
        );
    }

    // Every changed .nix file parses with Nix.
    if require_tool("nix-instantiate") {
        let nix_files: Vec<PathBuf> = changed
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "nix"))
            .map(|p| sb.repo.join(p))
            .collect();
        assert!(!nix_files.is_empty());
        let failures = nix_parse_failures(&nix_files);
        assert!(failures.is_empty(), "{case}:\n{}", failures.join("\n"));
    }

    // Idempotent on both targets; verify agrees.
    assert_nothing_to_do(
        &sb,
        &[
            "plan", ".", "--to", "service", "--check", "--color", "never",
        ],
    );
    // The module target has nothing left either: the service users are
    // shared by their instances, the others by their modules.
    assert_nothing_to_do(&sb, &["plan", ".", "--check", "--color", "never"]);
    for args in [
        &["verify", "."][..],
        &["verify", ".", "--against", "main"][..],
    ] {
        let verify = sb.run(args);
        verify.expect_code(0);
        assert!(
            verify.stdout.contains("unchanged"),
            "{case} {args:?}: {}",
            verify.stdout
        );
    }

    // The oracle: same users on every host, the moved ones now by the service.
    let Some(users_before) = users_before else {
        return;
    };
    assert_eq!(entry_modules(&sb.repo), hosts, "{case}: hosts changed");
    let users_after = eval_hosts(&sb.repo, &hosts);
    let mut report = String::new();
    for (((host, _), b), a) in hosts.iter().zip(&users_before).zip(&users_after) {
        if let Some(diff) = oracle::users_diff_with_service(b, a) {
            report.push_str(&format!("host {host}:\n{diff}\n"));
        }
        let expected: BTreeSet<String> = c
            .service_users
            .iter()
            .filter(|(_, on)| on.contains(&host.as_str()))
            .map(|(u, _)| u.to_string())
            .collect();
        assert_eq!(service_users(a), expected, "{case}: host {host} after");
        assert!(
            service_users(b).is_disjoint(&expected),
            "{case}: host {host} before: {b}"
        );
        assert!(
            b["users"].as_object().is_some_and(|u| !u.is_empty()),
            "{case}: host {host} has no users before"
        );
    }
    assert!(
        report.is_empty(),
        "{case}: effective users changed:\n{report}"
    );
    for ((_, b), a) in hosts.iter().zip(&users_before).zip(&users_after) {
        oracle::assert_same_users_with_service(b, a);
    }
}

#[test]
fn apply_service() {
    apply_to_service(&ApplyCase {
        case: "service",
        users: &[],
        subjects: &[
            "users: share alice across alpha, beta, gamma",
            "users: share backup across alpha, beta",
            "users: share bob across alpha, beta",
            "users: share root across alpha, beta, gamma",
        ],
        service_users: &[
            ("alice", &["alpha", "beta", "gamma"]),
            ("bob", &["alpha", "beta"]),
        ],
    });
}

#[test]
fn apply_service_bare() {
    apply_to_service(&ApplyCase {
        case: "service-bare",
        users: &[],
        subjects: &["users: share frank across north, south"],
        service_users: &[("frank", &["north", "south"])],
    });
}

#[test]
fn apply_service_inline() {
    apply_to_service(&ApplyCase {
        case: "service-inline",
        users: &[],
        subjects: &["users: share dana across db, web"],
        service_users: &[("dana", &["db", "web"])],
    });
}

#[test]
fn apply_service_flake_parts() {
    apply_to_service(&ApplyCase {
        case: "service-flake-parts",
        users: &[],
        subjects: &["users: share erin across one, two"],
        service_users: &[("erin", &["one", "two"])],
    });
}

#[test]
fn apply_already_shared_clan_gina() {
    apply_to_service(&ApplyCase {
        case: "already-shared-clan",
        users: &["gina"],
        subjects: &["users: share gina across desktop, laptop"],
        service_users: &[("gina", &["desktop", "laptop"])],
    });
}

#[test]
fn inline_inventory_reads_what_flake_nix_says() {
    // The oracle's view of an inline inventory is only as good as this.
    let text = std::fs::read_to_string(fixture("service-inline").join("flake.nix")).unwrap();
    let inv = inline_inventory(&text, &["web".into(), "db".into()]).unwrap();
    assert_eq!(
        squash(&inv),
        "{ machines = { web = { }; db = { }; }; instances = { }; }"
    );
    let text = std::fs::read_to_string(fixture("service-flake-parts").join("flake.nix")).unwrap();
    let inv = inline_inventory(&text, &["one".into(), "two".into()]).unwrap();
    assert_eq!(squash(&inv), "{ instances = { }; }");
    let text = std::fs::read_to_string(fixture("service-bare").join("flake.nix")).unwrap();
    assert_eq!(inline_inventory(&text, &["north".into()]), None);
}

#[test]
fn oracle_sees_a_tampered_instance() {
    // Guard against a vacuous oracle test: the service's groups count.
    if !oracle::nix_available() {
        return;
    }
    let sb = Sandbox::committed("service");
    let hosts = entry_modules(&sb.repo);
    let before = eval_hosts(&sb.repo, &hosts);
    apply_ok(&sb, &[]);
    let text = sb.read("clan.nix");
    let alice = text.find("alice-user = {").unwrap();
    let wheel = alice + text[alice..].find("\"wheel\"").unwrap();
    sb.write(
        "clan.nix",
        &format!("{}{}", &text[..wheel], &text[wheel + "\"wheel\"".len()..]),
    );
    let after = eval_hosts(&sb.repo, &hosts);
    for (((host, _), b), a) in hosts.iter().zip(&before).zip(&after) {
        let diff = oracle::users_diff_with_service(b, a)
            .unwrap_or_else(|| panic!("host {host}: the tampered instance is not seen"));
        assert!(diff.contains("users.alice.extraGroups"), "{host}: {diff}");
        assert!(!diff.contains("users.bob"), "{host}: {diff}");
    }
    // verify sees it too.
    let run = sb.run(&["verify", ".", "--against", "main"]);
    run.expect_code(1);
    assert!(
        run.stdout
            .contains("host alpha: users.users.alice.extraGroups changed"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------
// 5. Refusals and edge cases
// ---------------------------------------------------------------------------

#[test]
fn refused_on_a_flake_that_cannot_become_a_clan() {
    // A plain flake is converted first (tests/clan.rs); a colmena hive
    // cannot be, and is refused by name, with nothing written.
    let sb = Sandbox::committed("colmena");
    let files = tree_fingerprint(&sb.repo);
    for args in [
        &["plan", ".", "--to", "service"][..],
        &["plan", ".", "--to", "service", "--check"][..],
        &["apply", ".", "--to", "service"][..],
    ] {
        let run = sb.run(args);
        run.expect_code(1);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("flake.nix:") && run.stderr.contains("a colmena hive"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains("help:") && run.stderr.contains("--to module"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(tree_fingerprint(&sb.repo), files, "a refused run wrote");
    assert_eq!(sb.branches(), ["main"]);
    assert_eq!(sb.status(), "");
    // The library refuses the same way.
    let opts = PlanOptions {
        scan: ScanOptions::default(),
        users: Vec::new(),
        to: TargetKind::Service,
    };
    let err = plan::plan(&sb.repo, &opts, &Silent).expect_err("a colmena hive");
    assert!(err.to_string().contains("a colmena hive"), "{err}");
}

#[test]
fn a_clan_flake_already_migrated_has_nothing_to_do() {
    for extra in [&[][..], &["--check"][..]] {
        let run = plan_fixture("clan-flake", extra);
        run.expect_code(0);
        assert!(
            run.stdout.starts_with("Nothing to do"),
            "{extra:?}: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("diff --git"), "{}", run.stdout);
    }
}

#[test]
fn user_moves_one_user_and_a_later_run_the_rest() {
    let sb = Sandbox::committed("service");
    let main = sb.rev("main").unwrap();
    apply_ok(&sb, &["--user", "bob"]);
    assert_eq!(sb.head_branch(), BRANCH);
    assert_eq!(
        subjects(&sb, "main..HEAD"),
        ["users: share bob across alpha, beta"]
    );
    let clan = sb.read("clan.nix");
    assert!(binding(&clan, "bob-user").is_some(), "{clan}");
    assert_eq!(binding(&clan, "alice-user"), None, "{clan}");
    assert!(!sb.repo.join("users").exists(), "bob needs no module");
    let alpha = sb.read("machines/alpha/configuration.nix");
    assert!(
        !alpha.contains("users.users.bob") && alpha.contains("users.users.alice"),
        "{alpha}"
    );
    // bob is a service user now; the rest is still pending.
    let check = sb.run(&[
        "plan", ".", "--to", "service", "--check", "--color", "never",
    ]);
    check.expect_code(2);
    assert!(!check.stdout.contains("bob ("), "{}", check.stdout);
    assert!(
        check.stdout.contains("alice (users.users)"),
        "{}",
        check.stdout
    );

    let tip = sb.rev("HEAD").unwrap();
    apply_ok(&sb, &["--branch", "users-rest"]);
    assert_eq!(sb.head_branch(), "users-rest");
    assert_eq!(sb.rev(BRANCH).unwrap(), tip, "the first branch never moves");
    assert_eq!(
        subjects(&sb, &format!("{BRANCH}..HEAD")),
        [
            "users: share alice across alpha, beta, gamma",
            "users: share backup across alpha, beta",
            "users: share root across alpha, beta, gamma",
        ]
    );
    let clan = sb.read("clan.nix");
    assert!(
        binding(&clan, "bob-user").is_some() && binding(&clan, "alice-user").is_some(),
        "{clan}"
    );
    assert_nothing_to_do(
        &sb,
        &[
            "plan", ".", "--to", "service", "--check", "--color", "never",
        ],
    );
    assert_eq!(sb.rev("main").unwrap(), main);
    let verify = sb.run(&["verify", ".", "--against", "main"]);
    verify.expect_code(0);
    assert!(verify.stdout.contains("unchanged"), "{}", verify.stdout);

    // Two runs end where one run ends, except for the order of the
    // instances in clan.nix (bob-user came first).
    let one = Sandbox::committed("service");
    apply_ok(&one, &[]);
    let (mut two_runs, mut one_run) = (read_tree(&sb.repo), read_tree(&one.repo));
    let clan_two = String::from_utf8(two_runs.remove(Path::new("clan.nix")).unwrap()).unwrap();
    let clan_one = String::from_utf8(one_run.remove(Path::new("clan.nix")).unwrap()).unwrap();
    assert_eq!(two_runs, one_run);
    for name in ["sshd-basic", "alice-user", "bob-user"] {
        assert_eq!(binding(&clan_two, name), binding(&clan_one, name), "{name}");
    }
    assert_eq!(clan_two.len(), clan_one.len());
}

#[test]
fn no_commit_writes_the_work_tree_only() {
    let sb = Sandbox::committed("service");
    let head = sb.rev("HEAD").unwrap();
    let expected = service_plan(&sb.repo, &[]).files();
    let run = sb.run(&[
        "apply",
        ".",
        "--to",
        "service",
        "--no-commit",
        "--color",
        "never",
    ]);
    run.expect_code(0);
    let status = common::assert_written_uncommitted(&sb, &head, &expected);
    // (`Sandbox::git` trims the first line's leading space.)
    assert!(
        status.lines().any(|l| l.trim_start() == "M clan.nix"),
        "{status}"
    );
    assert!(status.contains("?? users/alice/default.nix"), "{status}");
}

#[test]
fn only_service_moves_name_the_instance() {
    // Cross-check of the library plan: exactly alice and bob get a service
    // part, backup and root stay modules, and the reason is a notice.
    let p = service_plan(&fixture("service"), &[]);
    let with_service: BTreeSet<(&str, UserOption)> = p
        .steps
        .iter()
        .flat_map(|s| &s.moves)
        .filter(|m| m.service.is_some())
        .map(|m| (m.user.as_str(), m.option))
        .collect();
    assert_eq!(
        with_service,
        [
            ("alice", UserOption::Users),
            ("alice", UserOption::HomeManager),
            ("bob", UserOption::Users),
        ]
        .into_iter()
        .collect()
    );
    for user in ["backup", "root"] {
        assert!(
            p.notices.iter().any(|n| n.code == "stays-on-module-target"
                && n.user.as_deref() == Some(user)
                && n.message
                    .starts_with(&format!("{user} stays on the module target"))),
            "{:?}",
            p.notices
        );
    }
}

#[test]
fn a_plain_mutable_users_true_keeps_the_host_s_users_modules() {
    // The service's plain `users.mutableUsers = false` and a host's plain
    // `true` are conflicting definitions: the machine would not evaluate.
    // Its users stay on the module target, and the plan says where and why.
    let sb = Sandbox::committed("service-inline");
    let web = sb.read("machines/web/configuration.nix");
    let web = web.replacen(
        "  services.nginx.enable = true;",
        "  services.nginx.enable = true;\n  users.mutableUsers = true;",
        1,
    );
    sb.write("machines/web/configuration.nix", &web);
    sb.git(&["commit", "-qam", "web: mutable users"]);
    let run = sb.run(&["plan", ".", "--to", "service", "--color", "never"]);
    run.expect_code(0);
    let out = &run.stdout;
    assert!(
        out.contains(
            "note: dana stays on the module target: machines/web/configuration.nix:15:3 sets users.mutableUsers = true"
        ) && out.contains("web would no longer evaluate"),
        "{out}"
    );
    assert!(!out.contains("dana-user"), "no instance is planned:\n{out}");
    assert!(out.contains("b/users/dana/default.nix"), "{out}");
    // Written as lib.mkDefault, it gives way: dana becomes an instance.
    sb.write(
        "machines/web/configuration.nix",
        &web.replace(
            "users.mutableUsers = true;",
            "users.mutableUsers = lib.mkDefault true;",
        ),
    );
    sb.git(&["commit", "-qam", "web: mutable users by default"]);
    let run = sb.run(&["plan", ".", "--to", "service", "--color", "never"]);
    run.expect_code(0);
    assert!(run.stdout.contains("dana-user = {"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("machines/web/configuration.nix:15:3: users.mutableUsers = true gives way"),
        "{}",
        run.stdout
    );
}
