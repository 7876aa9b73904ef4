//! `clan_migrate::scan` on every fixture under `testdata/`: the JSON report
//! is snapshotted (`tests/snapshots/scan-<case>.snap`), the `scan --json`
//! contract is checked structurally, and the facts each fixture's README
//! states are asserted one by one, so a snapshot update cannot quietly
//! accept a regression.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use clan_migrate::{DiscoverOptions, ScanOptions, ScanReport, Silent};
use serde_json::Value;

use common::{fixture, require_tool};

const USERS: &str = "users.users";
const HM: &str = "home-manager.users";

// ---------------------------------------------------------------------------
// Running a scan
// ---------------------------------------------------------------------------

fn run(repo: &Path, opts: &ScanOptions) -> ScanReport {
    clan_migrate::scan(repo, opts, &Silent)
        .unwrap_or_else(|e| panic!("scan {} failed: {e}", repo.display()))
}

/// Snapshots `report` as `tests/snapshots/<name>.snap`, checks the JSON
/// contract, and returns the report as JSON for fact assertions.
fn snapshot_and_check(name: &str, repo: &Path, report: &ScanReport) -> Value {
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_json_snapshot!(name, report);
    });
    let text = serde_json::to_string(report).unwrap();
    let repo_str = repo.to_string_lossy();
    assert!(
        !text.contains(repo_str.as_ref()),
        "{name}: the report leaks the absolute repository path {repo_str}; paths must be relative to DIR"
    );
    let json: Value = serde_json::from_str(&text).unwrap();
    check_contract(name, &json);
    json
}

/// Scans a scratch repository made of `(path, contents)` pairs, with
/// default options, and returns the report as JSON.
fn scan_scratch(files: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let v = serde_json::to_value(run(dir.path(), &ScanOptions::default())).unwrap();
    check_contract("scratch", &v);
    v
}

/// Scans `testdata/<case>` with default options.
fn scan_case(case: &str) -> Value {
    let repo = fixture(case);
    let report = run(&repo, &ScanOptions::default());
    snapshot_and_check(&format!("scan-{case}"), &repo, &report)
}

// ---------------------------------------------------------------------------
// Reading the JSON report
// ---------------------------------------------------------------------------

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a JSON string, got {v}"))
}

fn strs(v: &Value) -> Vec<&str> {
    arr(v).iter().map(s).collect()
}

fn num(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a JSON number, got {v}"))
}

fn host_names(r: &Value) -> Vec<&str> {
    arr(&r["hosts"]).iter().map(|h| s(&h["name"])).collect()
}

fn host<'a>(r: &'a Value, name: &str) -> &'a Value {
    arr(&r["hosts"])
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host `{name}`; hosts: {:?}", host_names(r)))
}

fn user_keys(r: &Value) -> Vec<(&str, &str)> {
    arr(&r["users"])
        .iter()
        .map(|u| (s(&u["name"]), s(&u["option"])))
        .collect()
}

/// The user `name` under `option` (`users.users` or `home-manager.users`).
fn find_user<'a>(r: &'a Value, name: &str, option: &str) -> Option<&'a Value> {
    arr(&r["users"])
        .iter()
        .find(|u| u["name"] == name && u["option"] == option)
}

fn user<'a>(r: &'a Value, name: &str, option: &str) -> &'a Value {
    find_user(r, name, option)
        .unwrap_or_else(|| panic!("no user ({name}, {option}); users: {:?}", user_keys(r)))
}

/// Whether any user entry (under any option) is called `name`.
fn has_user_named(r: &Value, name: &str) -> bool {
    arr(&r["users"]).iter().any(|u| u["name"] == name)
}

/// Asserts a user's status and hosts, and returns it.
fn assert_user<'a>(
    r: &'a Value,
    name: &str,
    option: &str,
    status: &str,
    hosts: &[&str],
) -> &'a Value {
    let u = user(r, name, option);
    assert_eq!(u["status"], status, "status of ({name}, {option})");
    assert_eq!(strs(&u["hosts"]), hosts, "hosts of ({name}, {option})");
    u
}

fn assert_compare(u: &Value, common: &[&str], differing: &[&str]) {
    let who = format!("({}, {})", u["name"], u["option"]);
    assert_eq!(strs(&u["common"]), common, "common of {who}");
    assert_eq!(strs(&u["differing"]), differing, "differing of {who}");
}

/// `(host or "-", file, line, column)` of each definition.
fn def_locations(u: &Value) -> Vec<(String, String, u64, u64)> {
    arr(&u["definitions"])
        .iter()
        .map(|d| {
            (
                d["host"].as_str().unwrap_or("-").to_string(),
                s(&d["file"]).to_string(),
                num(&d["line"]),
                num(&d["column"]),
            )
        })
        .collect()
}

fn def_files(u: &Value) -> BTreeSet<&str> {
    arr(&u["definitions"])
        .iter()
        .map(|d| s(&d["file"]))
        .collect()
}

fn all_definition_files(r: &Value) -> BTreeSet<&str> {
    arr(&r["users"]).iter().flat_map(def_files).collect()
}

fn diags<'a>(r: &'a Value, code: &str) -> Vec<&'a Value> {
    arr(&r["diagnostics"])
        .iter()
        .filter(|d| d["code"] == code)
        .collect()
}

fn diag_summary(r: &Value) -> Vec<String> {
    arr(&r["diagnostics"])
        .iter()
        .map(|d| {
            format!(
                "{} {} {}:{}:{}",
                d["severity"], d["code"], d["file"], d["line"], d["column"]
            )
        })
        .collect()
}

/// Asserts a diagnostic `code` of `severity` at `file:line:col` exists.
fn assert_diag_at<'a>(
    r: &'a Value,
    severity: &str,
    code: &str,
    file: &str,
    line: u64,
    col: u64,
) -> &'a Value {
    arr(&r["diagnostics"])
        .iter()
        .find(|d| {
            d["severity"] == severity
                && d["code"] == code
                && d["file"] == file
                && d["line"] == line
                && d["column"] == col
        })
        .unwrap_or_else(|| {
            panic!(
                "no {severity} `{code}` at {file}:{line}:{col}; diagnostics: {:#?}",
                diag_summary(r)
            )
        })
}

fn assert_no_diagnostics(r: &Value) {
    assert!(
        arr(&r["diagnostics"]).is_empty(),
        "expected no diagnostics, got {:#?}",
        diag_summary(r)
    );
}

fn assert_found_by(r: &Value, found_by: &str) {
    for h in arr(&r["hosts"]) {
        assert_eq!(h["found_by"], found_by, "found_by of host {}", h["name"]);
    }
}

fn host_files<'a>(r: &'a Value, name: &str) -> Vec<&'a str> {
    strs(&host(r, name)["files"])
}

// ---------------------------------------------------------------------------
// The `scan --json` contract, checked on every report
// ---------------------------------------------------------------------------

fn assert_sorted_unique(what: &str, items: &[&str]) {
    assert!(
        items.windows(2).all(|w| w[0] < w[1]),
        "{what} must be sorted and without duplicates: {items:?}"
    );
}

fn assert_relative(what: &str, path: &str) {
    assert!(
        !path.is_empty() && !path.starts_with('/') && !path.starts_with("./"),
        "{what}: `{path}` must be relative to DIR"
    );
}

fn check_contract(name: &str, r: &Value) {
    let top: BTreeSet<&str> = r
        .as_object()
        .expect("report is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["hosts", "users", "diagnostics"] {
        assert!(top.contains(key), "{name}: missing top-level `{key}`");
    }

    // hosts
    let hosts = host_names(r);
    assert_sorted_unique(&format!("{name}: host names"), &hosts);
    for h in arr(&r["hosts"]) {
        let hn = s(&h["name"]);
        assert_relative(&format!("{name}: root of {hn}"), s(&h["root"]));
        assert!(!s(&h["found_by"]).is_empty(), "{name}: found_by of {hn}");
        let files = strs(&h["files"]);
        assert_sorted_unique(&format!("{name}: files of {hn}"), &files);
        for f in &files {
            assert_relative(&format!("{name}: file of {hn}"), f);
        }
        let shared = strs(&h["shared"]);
        assert_sorted_unique(&format!("{name}: shared of {hn}"), &shared);
        for f in &shared {
            assert!(
                files.contains(f),
                "{name}: {hn}'s shared {f} is not among its files"
            );
            assert_ne!(
                *f,
                s(&h["root"]),
                "{name}: {hn}'s root is its own, not shared"
            );
        }
        if !files.is_empty() {
            assert!(
                files.contains(&s(&h["root"])),
                "{name}: host {hn}'s root {} is not among its files {files:?}",
                h["root"]
            );
        }
    }

    // users
    let names: Vec<&str> = arr(&r["users"]).iter().map(|u| s(&u["name"])).collect();
    assert!(
        names.windows(2).all(|w| w[0] <= w[1]),
        "{name}: users must be sorted by name: {names:?}"
    );
    let mut seen = BTreeSet::new();
    for u in arr(&r["users"]) {
        let un = s(&u["name"]);
        let option = s(&u["option"]);
        let who = format!("{name}: ({un}, {option})");
        assert!(seen.insert((un, option)), "{who} listed twice");
        assert!(
            [USERS, HM].contains(&option),
            "{who}: unknown option {option}"
        );
        assert!(
            ["single", "shared", "repeated", "dynamic"].contains(&s(&u["status"])),
            "{who}: unknown status {}",
            u["status"]
        );
        let uhosts = strs(&u["hosts"]);
        assert_sorted_unique(&format!("{who} hosts"), &uhosts);
        for h in &uhosts {
            assert!(hosts.contains(h), "{who}: host {h} is not a reported host");
        }
        assert_sorted_unique(&format!("{who} common"), &strs(&u["common"]));
        assert_sorted_unique(&format!("{who} differing"), &strs(&u["differing"]));
        let defs = arr(&u["definitions"]);
        assert!(!defs.is_empty(), "{who}: no definitions");
        let mut def_hosts = BTreeSet::new();
        let mut prev: Option<(&str, u64, u64)> = None;
        for d in defs {
            let file = s(&d["file"]);
            assert_relative(&format!("{who} definition"), file);
            let (line, col) = (num(&d["line"]), num(&d["column"]));
            assert!(
                line >= 1 && col >= 1,
                "{who}: {file}:{line}:{col} not 1-based"
            );
            let here = (file, line, col);
            if let Some(p) = prev {
                assert!(
                    p <= here,
                    "{who}: definitions not sorted: {p:?} before {here:?}"
                );
            }
            prev = Some(here);
            assert_sorted_unique(&format!("{who} attrs at {file}:{line}"), &strs(&d["attrs"]));
            assert!(d["conditional"].is_boolean(), "{who}: conditional flag");
            assert!(d["spelling"].is_string(), "{who}: spelling");
            let dhosts = strs(&d["hosts"]);
            assert!(
                !dhosts.is_empty(),
                "{who}: definition at {file}:{line} on no host"
            );
            assert_sorted_unique(&format!("{who} definition hosts"), &dhosts);
            match d["host"].as_str() {
                Some(h) => assert_eq!(dhosts, [h], "{who}: local definition's hosts"),
                None => assert!(
                    dhosts.len() > 1,
                    "{who}: a shared definition must be on several hosts"
                ),
            }
            for h in &dhosts {
                assert!(
                    uhosts.contains(h),
                    "{who}: definition host {h} not in user hosts"
                );
                assert!(
                    host_files(r, h).contains(&file),
                    "{who}: {file} is not among host {h}'s files"
                );
                def_hosts.insert(*h);
            }
        }
        assert_eq!(
            def_hosts.into_iter().collect::<Vec<_>>(),
            uhosts,
            "{who}: user hosts are exactly the definitions' hosts"
        );
    }

    // diagnostics
    let mut prev: Option<(Option<&str>, Option<u64>, Option<u64>)> = None;
    for d in arr(&r["diagnostics"]) {
        for key in ["severity", "code", "file", "line", "column", "message"] {
            assert!(
                d.get(key).is_some(),
                "{name}: diagnostic without `{key}`: {d}"
            );
        }
        assert!(
            ["error", "warning", "note"].contains(&s(&d["severity"])),
            "{name}: severity {}",
            d["severity"]
        );
        assert!(!s(&d["code"]).is_empty(), "{name}: empty code");
        assert!(!s(&d["message"]).is_empty(), "{name}: empty message");
        let file = d["file"].as_str();
        if let Some(f) = file {
            assert_relative(&format!("{name}: diagnostic"), f);
        }
        let (line, col) = (d["line"].as_u64(), d["column"].as_u64());
        assert!(line != Some(0) && col != Some(0), "{name}: 1-based: {d}");
        let here = (file, line, col);
        if let Some(p) = prev {
            assert!(
                p <= here,
                "{name}: diagnostics not sorted: {p:?} before {here:?}"
            );
        }
        prev = Some(here);
    }
}

// ---------------------------------------------------------------------------
// One test per fixture
// ---------------------------------------------------------------------------

#[test]
fn already_shared() {
    let r = scan_case("already-shared");
    assert_eq!(host_names(&r), ["desktop", "laptop"]);
    assert_found_by(&r, "flake");
    for h in ["desktop", "laptop"] {
        assert!(host_files(&r, h).contains(&"users/alice/default.nix"));
    }

    let alice = assert_user(&r, "alice", USERS, "shared", &["desktop", "laptop"]);
    assert_eq!(
        def_locations(alice)
            .into_iter()
            .map(|(h, f, ..)| (h, f))
            .collect::<Vec<_>>(),
        [
            ("laptop".into(), "machines/laptop/default.nix".into()),
            ("-".into(), "users/alice/default.nix".into()),
        ]
    );
    let residue = &arr(&alice["definitions"])[0];
    assert_eq!(strs(&residue["attrs"]), ["extraGroups"]);
    let shared = &arr(&alice["definitions"])[1];
    assert_eq!(strs(&shared["hosts"]), ["desktop", "laptop"]);

    // users/bob/default.nix is imported by no host: not a host user.
    assert!(!has_user_named(&r, "bob"), "bob is on no host");
    // Diagnostics: at most the orphan note about users/bob.
    for d in arr(&r["diagnostics"]) {
        assert_eq!(d["severity"], "note", "only a note expected: {d}");
        assert_eq!(d["file"], "users/bob/default.nix");
    }
}

#[test]
fn broken_file() {
    let r = scan_case("broken-file");
    assert_eq!(host_names(&r), ["alpha", "beta"]);
    assert_found_by(&r, "flake");

    let d = assert_diag_at(&r, "error", "parse-error", "hosts/beta/users.nix", 6, 17);
    assert!(
        s(&d["message"]).contains("syntax error"),
        "message: {}",
        d["message"]
    );
    let errors: Vec<_> = arr(&r["diagnostics"])
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "one error: {:#?}", diag_summary(&r));

    let alice = assert_user(&r, "alice", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(
        alice,
        &["extraGroups", "isNormalUser", "openssh.authorizedKeys.keys"],
        &[],
    );

    // beta's bob is in the broken file: only alpha's definition is usable.
    let bob = assert_user(&r, "bob", USERS, "single", &["alpha"]);
    assert_eq!(
        def_locations(bob),
        [("alpha".into(), "hosts/alpha/default.nix".into(), 19, 3)]
    );
    assert!(!all_definition_files(&r).contains("hosts/beta/users.nix"));
}

#[test]
fn clan_flake() {
    let r = scan_case("clan-flake");
    assert_eq!(host_names(&r), ["jon", "sara"]);
    assert_found_by(&r, "clan-machines");
    assert_eq!(host(&r, "jon")["root"], "machines/jon/configuration.nix");
    assert_eq!(host(&r, "sara")["root"], "machines/sara/configuration.nix");
    for h in ["jon", "sara"] {
        assert!(
            host_files(&r, h)
                .contains(&format!("machines/{h}/hardware-configuration.nix").as_str())
        );
    }

    assert_user(&r, "bob", USERS, "single", &["jon"]);
    assert_user(&r, "carol", USERS, "single", &["sara"]);
    // alice is already migrated to the users service: no host writes
    // users.users.alice; the clan.nix instance gives it to every machine,
    // with home-manager from its extraModules.
    assert_user(&r, "alice", USERS, "shared", &["jon", "sara"]);
    assert_user(&r, "alice", HM, "shared", &["jon", "sara"]);
    let alice = find_user(&r, "alice", USERS).unwrap();
    assert_eq!(alice["definitions"][0]["file"], "clan.nix");
    let home = find_user(&r, "alice", HM).unwrap();
    assert_eq!(home["definitions"][0]["file"], "users/alice/home.nix");
    assert_no_diagnostics(&r);
}

#[test]
fn clan_inherited() {
    let r = scan_case("clan-inherited");
    assert_eq!(host_names(&r), ["north", "south"]);
    assert_found_by(&r, "clan-machines");
    let ola = assert_user(&r, "ola", USERS, "repeated", &["north", "south"]);
    assert_compare(ola, &["extraGroups", "isNormalUser"], &[]);
    assert_no_diagnostics(&r);
    let d =
        clan_migrate::discover::discover(&fixture("clan-inherited"), &DiscoverOptions::default());
    assert!(d.clan, "the flake builds its machines with Clan");
    assert!(
        d.inventory_files
            .contains(&std::path::PathBuf::from("clan/default.nix")),
        "the clan call's file may hold the inventory: {:?}",
        d.inventory_files
    );
}

#[test]
fn colmena() {
    let r = scan_case("colmena");
    assert_eq!(
        host_names(&r),
        ["db", "web1", "web2"],
        "meta/defaults are not hosts"
    );
    assert_found_by(&r, "colmena");
    for h in ["db", "web1", "web2"] {
        let files = host_files(&r, h);
        for f in [
            "modules/base.nix".to_string(),
            format!("hosts/{h}/default.nix"),
            format!("hosts/{h}/hardware-configuration.nix"),
        ] {
            assert!(files.contains(&f.as_str()), "{h} lacks {f}: {files:?}");
        }
    }

    let carol = assert_user(&r, "carol", USERS, "repeated", &["db", "web1", "web2"]);
    assert_compare(
        carol,
        &[
            "description",
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
        ],
        &[],
    );

    let dave = assert_user(&r, "dave", USERS, "shared", &["db", "web1", "web2"]);
    let defs = arr(&dave["definitions"]);
    let local = defs
        .iter()
        .find(|d| d["host"] == "db")
        .expect("db's host-local addition to dave");
    assert_eq!(local["file"], "flake.nix");
    assert_eq!(strs(&local["attrs"]), ["extraGroups"]);
    let shared = defs
        .iter()
        .find(|d| d["host"].is_null())
        .expect("dave's shared definition");
    assert_eq!(shared["file"], "modules/base.nix");
    assert_eq!(strs(&shared["hosts"]), ["db", "web1", "web2"]);

    let root = assert_user(&r, "root", USERS, "shared", &["db", "web1", "web2"]);
    assert_eq!(def_files(root), BTreeSet::from(["modules/base.nix"]));
    assert_no_diagnostics(&r);
}

#[test]
fn colmena_hive() {
    let r = scan_case("colmena-hive");
    assert_eq!(host_names(&r), ["alpha", "beta", "gamma"]);
    assert_found_by(&r, "colmena");
    let roots: Vec<&str> = arr(&r["hosts"]).iter().map(|h| s(&h["root"])).collect();
    assert_eq!(
        roots,
        [
            "nodes/alpha.nix",
            "nodes/beta/default.nix",
            "nodes/gamma.nix"
        ]
    );
    for h in ["alpha", "beta", "gamma"] {
        let files = host_files(&r, h);
        assert!(
            files.contains(&"modules/base.nix"),
            "{h}: defaults: {files:?}"
        );
    }
    assert!(host_files(&r, "beta").contains(&"nodes/beta/hardware-configuration.nix"));
    let ines = assert_user(&r, "ines", USERS, "repeated", &["alpha", "beta", "gamma"]);
    assert_compare(
        ines,
        &["description", "extraGroups", "isNormalUser"],
        &["extraGroups"],
    );
    let lab = assert_user(&r, "lab", USERS, "shared", &["alpha", "beta", "gamma"]);
    assert_eq!(def_files(lab), BTreeSet::from(["modules/base.nix"]));
    assert_eq!(arr(&r["users"]).len(), 2, "users: {:?}", user_keys(&r));
    assert_no_diagnostics(&r);
}

#[test]
fn computed_hosts() {
    let r = scan_case("computed-hosts");
    assert_eq!(host_names(&r), ["ash", "elm"]);
    assert_found_by(&r, "directory");
    let lena = assert_user(&r, "lena", USERS, "repeated", &["ash", "elm"]);
    assert_compare(lena, &["extraGroups", "isNormalUser"], &[]);
    let d = assert_diag_at(&r, "warning", "hosts-computed", "flake.nix", 16, 29);
    assert!(
        s(&d["message"]).contains("`lib.listToAttrs (map"),
        "the construct is named: {d}"
    );
    let help = s(&d["help"]);
    for cmd in [
        "`clan-migrate scan . --eval`",
        "`clan-migrate scan . --host ash=hosts/ash/default.nix --host elm=hosts/elm/default.nix`",
    ] {
        assert!(help.contains(cmd), "help gives {cmd}: {help}");
    }
    assert_eq!(arr(&r["diagnostics"]).len(), 1, "{:#?}", diag_summary(&r));

    // The hints are the host set: no directory guesses beside them.
    let opts = ScanOptions {
        discover: DiscoverOptions {
            hosts: vec!["ash=hosts/ash".parse().unwrap()],
            ..DiscoverOptions::default()
        },
        ..ScanOptions::default()
    };
    let hinted = serde_json::to_value(run(&fixture("computed-hosts"), &opts)).unwrap();
    check_contract("computed-hosts --host", &hinted);
    assert_eq!(host_names(&hinted), ["ash"]);
    assert_user(&hinted, "lena", USERS, "single", &["ash"]);
}

#[test]
fn dir_conventions() {
    let r = scan_case("dir-conventions");
    assert_eq!(host_names(&r), ["alpha", "beta", "gamma"]);
    assert_found_by(&r, "directory");
    assert_eq!(host(&r, "alpha")["root"], "hosts/alpha/configuration.nix");
    assert_eq!(host(&r, "beta")["root"], "hosts/beta/default.nix");
    assert_eq!(host(&r, "gamma")["root"], "hosts/gamma.nix");
    for h in ["alpha", "beta", "gamma"] {
        assert!(host_files(&r, h).contains(&"common/users.nix"));
    }

    let bob = assert_user(&r, "bob", USERS, "repeated", &["alpha", "beta", "gamma"]);
    assert_compare(
        bob,
        &[
            "description",
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
        ],
        &["uid"],
    );
    let root = assert_user(&r, "root", USERS, "shared", &["alpha", "beta", "gamma"]);
    assert_eq!(def_files(root), BTreeSet::from(["common/users.nix"]));
    assert_no_diagnostics(&r);
}

#[test]
fn dynamic_users() {
    let r = scan_case("dynamic-users");
    assert_eq!(host_names(&r), ["alpha", "beta"]);
    assert_found_by(&r, "flake");

    // One diagnostic per computed name or generated set.
    // The `${username}` names are reported at the attribute path.
    for (file, line) in [
        ("hosts/alpha/default.nix", 17),
        ("hosts/beta/default.nix", 16),
        ("modules/admin.nix", 4),
    ] {
        assert_diag_at(&r, "warning", "dynamic-user-name", file, line, 3);
    }
    // The generated sets (genAttrs, mapAttrs, listToAttrs): README says
    // column 3 (the `users.users =` binding); only file and line are
    // asserted here (see the report: the column differs).
    let mut places: Vec<(&str, u64)> = arr(&r["diagnostics"])
        .iter()
        .map(|d| (s(&d["file"]), num(&d["line"])))
        .collect();
    places.sort();
    assert_eq!(
        places,
        [
            ("hosts/alpha/default.nix", 17),
            ("hosts/alpha/remote.nix", 3),
            ("hosts/alpha/team.nix", 3),
            ("hosts/beta/default.nix", 16),
            ("hosts/beta/people.nix", 10),
            ("modules/admin.nix", 4),
        ],
        "exactly one diagnostic per dynamic definition"
    );
    for (file, line) in [
        ("hosts/alpha/team.nix", 3),
        ("hosts/alpha/remote.nix", 3),
        ("hosts/beta/people.nix", 10),
    ] {
        let d = arr(&r["diagnostics"])
            .iter()
            .find(|d| d["file"] == file && d["line"] == line)
            .unwrap();
        assert_eq!(d["code"], "generated-users", "{file}:{line}");
    }

    // Every dynamic definition shows up under a dynamic user.
    let dynamic_places: BTreeSet<(String, u64)> = arr(&r["users"])
        .iter()
        .filter(|u| u["status"] == "dynamic")
        .flat_map(|u| def_locations(u).into_iter().map(|(_, f, l, _)| (f, l)))
        .collect();
    let expected: BTreeSet<(String, u64)> =
        places.iter().map(|(f, l)| (f.to_string(), *l)).collect();
    assert_eq!(dynamic_places, expected);

    let erin = assert_user(&r, "erin", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(erin, &["description", "extraGroups", "isNormalUser"], &[]);

    for u in arr(&r["users"]) {
        if u["name"] != "erin" {
            assert_eq!(u["status"], "dynamic", "only erin is static: {}", u["name"]);
        }
    }
    for name in ["alice", "bob", "carol", "dave", "frank", "gina"] {
        assert!(!has_user_named(&r, name), "{name} must not be guessed");
    }
}

#[test]
fn eval_flake_without_eval() {
    let r = scan_case("eval-flake");
    assert!(host_names(&r).is_empty(), "nothing is reachable statically");
    for u in arr(&r["users"]) {
        assert!(
            arr(&u["hosts"]).is_empty(),
            "{} is attributed to a host without --eval",
            u["name"]
        );
    }
    let no_hosts = diags(&r, "no-hosts");
    assert_eq!(no_hosts.len(), 1);
    assert_eq!(no_hosts[0]["severity"], "error");
}

#[test]
fn example() {
    let r = scan_case("example");
    assert_eq!(host_names(&r), ["alpha", "beta", "gamma"]);
    assert_found_by(&r, "flake");
    for h in ["alpha", "beta", "gamma"] {
        let files = host_files(&r, h);
        for f in [
            format!("hosts/{h}/default.nix"),
            format!("hosts/{h}/hardware-configuration.nix"),
            "modules/common.nix".to_string(),
        ] {
            assert!(files.contains(&f.as_str()), "{h} lacks {f}: {files:?}");
        }
        assert_eq!(
            files.contains(&format!("hosts/{h}/docker.nix").as_str()),
            h != "gamma",
            "docker.nix on alpha and beta only"
        );
    }

    let alice = assert_user(&r, "alice", USERS, "repeated", &["alpha", "beta", "gamma"]);
    assert_compare(
        alice,
        &[
            "description",
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
            "shell",
        ],
        &["extraGroups", "hashedPassword"],
    );

    let bob = assert_user(&r, "bob", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(bob, &["extraGroups", "isNormalUser"], &[]);
    let bob_defs: Vec<(String, String)> = def_locations(bob)
        .into_iter()
        .map(|(h, f, ..)| (h, f))
        .collect();
    assert_eq!(
        bob_defs,
        [
            ("alpha".into(), "hosts/alpha/default.nix".into()),
            ("alpha".into(), "hosts/alpha/docker.nix".into()),
            ("beta".into(), "hosts/beta/default.nix".into()),
            ("beta".into(), "hosts/beta/docker.nix".into()),
        ]
    );

    let root = assert_user(&r, "root", USERS, "repeated", &["alpha", "beta", "gamma"]);
    assert_compare(root, &["openssh.authorizedKeys.keys"], &[]);
    assert_user(&r, "carol", USERS, "single", &["gamma"]);
    let dave = assert_user(&r, "dave", USERS, "shared", &["alpha", "beta", "gamma"]);
    assert_eq!(def_files(dave), BTreeSet::from(["modules/common.nix"]));

    let hm = assert_user(&r, "alice", HM, "repeated", &["alpha", "beta"]);
    assert_compare(
        hm,
        &[
            "home.stateVersion",
            "programs.git.enable",
            "programs.git.userEmail",
            "programs.git.userName",
        ],
        &[],
    );
    assert_eq!(arr(&r["users"]).len(), 6, "users: {:?}", user_keys(&r));
    assert_no_diagnostics(&r);
}

#[test]
fn flake_parts() {
    let r = scan_case("flake-parts");
    assert_eq!(host_names(&r), ["builder1", "builder2", "web"]);
    assert_found_by(&r, "flake");
    assert_eq!(
        host_files(&r, "web"),
        [
            "hosts/web/configuration.nix",
            "hosts/web/hardware-configuration.nix",
            "modules/base.nix"
        ]
    );
    for h in ["builder1", "builder2"] {
        assert_eq!(
            host_files(&r, h),
            [
                format!("hosts/{h}/default.nix").as_str(),
                "modules/base.nix"
            ]
        );
    }

    let mira = assert_user(
        &r,
        "mira",
        USERS,
        "repeated",
        &["builder1", "builder2", "web"],
    );
    assert_compare(
        mira,
        &[
            "description",
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
        ],
        &["extraGroups"],
    );
    let builder = assert_user(&r, "builder", USERS, "repeated", &["builder1", "builder2"]);
    assert_compare(
        builder,
        &["isNormalUser", "openssh.authorizedKeys.keys"],
        &[],
    );
    let oncall = assert_user(
        &r,
        "oncall",
        USERS,
        "shared",
        &["builder1", "builder2", "web"],
    );
    assert_eq!(def_files(oncall), BTreeSet::from(["modules/base.nix"]));
    assert_eq!(arr(&r["users"]).len(), 3, "users: {:?}", user_keys(&r));
    assert_no_diagnostics(&r);
}

#[test]
fn flake_helper() {
    let r = scan_case("flake-helper");
    assert_eq!(host_names(&r), ["alpha", "beta", "gamma"]);
    assert_found_by(&r, "flake-helper");
    assert_eq!(
        host_files(&r, "alpha"),
        ["common/default.nix", "hosts/alpha.nix"]
    );
    assert_eq!(
        host_files(&r, "beta"),
        ["common/default.nix", "hosts/beta.nix"]
    );
    assert_eq!(host_files(&r, "gamma"), ["machines/gamma/default.nix"]);

    let alice = assert_user(&r, "alice", USERS, "repeated", &["alpha", "beta", "gamma"]);
    assert_compare(
        alice,
        &[
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
            "uid",
        ],
        &["extraGroups"],
    );
    let dave = assert_user(&r, "dave", USERS, "shared", &["alpha", "beta"]);
    assert_eq!(def_files(dave), BTreeSet::from(["common/default.nix"]));
    assert_no_diagnostics(&r);
}

#[test]
fn flake_literal() {
    let r = scan_case("flake-literal");
    assert_eq!(host_names(&r), ["mail", "storage.home", "web"]);
    assert_found_by(&r, "flake");
    assert!(host_files(&r, "storage.home").contains(&"extra.nix"));
    assert!(
        host_files(&r, "web").contains(&"flake.nix"),
        "web's inline module"
    );

    let erin = assert_user(&r, "erin", USERS, "repeated", &["storage.home", "web"]);
    assert_compare(
        erin,
        &[
            "description",
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
        ],
        &["extraGroups"],
    );
    let web_files: BTreeSet<String> = def_locations(erin)
        .into_iter()
        .filter(|(h, ..)| h == "web")
        .map(|(_, f, ..)| f)
        .collect();
    assert_eq!(
        web_files,
        BTreeSet::from(["flake.nix".to_string(), "hosts/web/default.nix".to_string()])
    );
    let inline = arr(&erin["definitions"])
        .iter()
        .find(|d| d["file"] == "flake.nix")
        .unwrap();
    assert_eq!(strs(&inline["attrs"]), ["extraGroups"]);

    let root = assert_user(&r, "root", USERS, "repeated", &["mail", "web"]);
    assert_compare(root, &["openssh.authorizedKeys.keys"], &[]);
    let alice = assert_user(&r, "alice", USERS, "single", &["storage.home"]);
    assert_eq!(def_files(alice), BTreeSet::from(["extra.nix"]));
    assert_user(&r, "erin", HM, "single", &["storage.home"]);
    assert_no_diagnostics(&r);
}

#[test]
fn helper_modules() {
    let r = scan_case("helper-modules");
    assert_eq!(host_names(&r), ["alpha", "beta", "box1", "box2"]);
    assert_found_by(&r, "flake-helper");
    for h in ["alpha", "beta"] {
        assert_eq!(
            host_files(&r, h),
            [
                format!("{h}/configuration.nix").as_str(),
                &format!("{h}/hardware-configuration.nix"),
                "common/default.nix",
                "modules/base.nix"
            ]
        );
        assert_eq!(host(&r, h)["root"], format!("{h}/configuration.nix"));
    }
    // `../modules/${if darwin then "darwin" else "nixos"}-extras.nix`,
    // with the helper's `darwin ? false`, is followed.
    assert_eq!(
        host_files(&r, "box1"),
        [
            "boxes/box1/default.nix",
            "modules/linux.nix",
            "modules/nixos-extras.nix"
        ]
    );
    assert_eq!(
        host_files(&r, "box2"),
        [
            "boxes/box2/default.nix",
            "flake.nix",
            "modules/linux.nix",
            "modules/nixos-extras.nix"
        ],
        "box2: its inline module is in flake.nix"
    );
    let facts = |r: &Value| {
        let sam = assert_user(
            r,
            "sam",
            USERS,
            "repeated",
            &["alpha", "beta", "box1", "box2"],
        );
        assert_compare(
            sam,
            &["extraGroups", "isNormalUser", "uid"],
            &["extraGroups"],
        );
        let kim = assert_user(r, "kim", USERS, "shared", &["alpha", "beta"]);
        assert_eq!(def_files(kim), BTreeSet::from(["common/default.nix"]));
        let root = assert_user(r, "root", USERS, "shared", &["alpha", "beta"]);
        assert_eq!(def_files(root), BTreeSet::from(["modules/base.nix"]));
        let backup = assert_user(r, "backup", USERS, "shared", &["box1", "box2"]);
        assert_eq!(def_files(backup), BTreeSet::from(["modules/linux.nix"]));
        assert_eq!(arr(&r["users"]).len(), 4, "users: {:?}", user_keys(r));
        assert_no_diagnostics(r);
    };
    facts(&r);

    // Naming a host with --host keeps what the helper adds to it.
    let repo = fixture("helper-modules");
    let opts = ScanOptions {
        discover: DiscoverOptions {
            hosts: vec![
                "alpha=alpha/configuration.nix".parse().unwrap(),
                "box1=boxes/box1".parse().unwrap(),
            ],
            ..DiscoverOptions::default()
        },
        ..ScanOptions::default()
    };
    let hinted: Value = serde_json::to_value(run(&repo, &opts)).unwrap();
    check_contract("helper-modules --host", &hinted);
    assert_eq!(host_names(&hinted), ["alpha", "beta", "box1", "box2"]);
    assert_eq!(host(&hinted, "alpha")["found_by"], "flag");
    assert_eq!(host_files(&hinted, "alpha"), host_files(&r, "alpha"));
    assert_eq!(host_files(&hinted, "box1"), host_files(&r, "box1"));
    facts(&hinted);
}

#[test]
fn imports() {
    let r = scan_case("imports");
    assert_eq!(host_names(&r), ["alpha", "beta", "gamma"]);
    assert_found_by(&r, "flake");
    let alpha = host_files(&r, "alpha");
    for f in [
        "common/default.nix",
        "hosts/alpha/hardware-configuration.nix",
        "roles/desktop.nix",
        "roles/server.nix",
    ] {
        assert!(alpha.contains(&f), "alpha lacks {f}: {alpha:?}");
    }
    let beta = host_files(&r, "beta");
    for f in [
        "common/default.nix",
        "hosts/beta/modules/backup.nix",
        "hosts/beta/modules/nginx.nix",
    ] {
        assert!(beta.contains(&f), "beta lacks {f}: {beta:?}");
    }
    assert!(
        !beta.iter().any(|f| f.starts_with("hosts/beta/extra/")),
        "files behind the computed import are not beta's: {beta:?}"
    );

    assert_diag_at(
        &r,
        "warning",
        "import-unresolved",
        "hosts/beta/default.nix",
        10,
        8,
    );
    assert_diag_at(
        &r,
        "error",
        "import-missing",
        "hosts/gamma/default.nix",
        6,
        5,
    );
    assert_eq!(
        arr(&r["diagnostics"]).len(),
        2,
        "nothing else (modulesPath imports are external): {:#?}",
        diag_summary(&r)
    );

    for name in ["alice", "root"] {
        let u = assert_user(&r, name, USERS, "shared", &["alpha", "beta", "gamma"]);
        assert_eq!(def_files(u), BTreeSet::from(["common/default.nix"]));
    }
    let bob = assert_user(&r, "bob", USERS, "single", &["alpha"]);
    assert_eq!(def_files(bob), BTreeSet::from(["roles/server.nix"]));
    let carol = assert_user(&r, "carol", USERS, "single", &["alpha"]);
    assert_eq!(def_files(carol), BTreeSet::from(["roles/desktop.nix"]));
    // README: carol is conditional (roles/desktop.nix comes in through
    // `lib.optionals false`). Not asserted: the report does not mark it.

    let erin = assert_user(&r, "erin", USERS, "repeated", &["alpha", "gamma"]);
    assert_compare(
        erin,
        &["description", "extraGroups", "isNormalUser"],
        &["extraGroups"],
    );
    // dave comes in through the directory listing; ci only through the
    // import that cannot be followed.
    let dave = assert_user(&r, "dave", USERS, "single", &["beta"]);
    assert_eq!(
        def_files(dave),
        BTreeSet::from(["hosts/beta/modules/backup.nix"])
    );
    assert!(!has_user_named(&r, "ci"));
    assert!(!all_definition_files(&r).contains("hosts/beta/extra/ci.nix"));
}

#[test]
fn lone_configuration() {
    let r = scan_case("lone-configuration");
    assert_eq!(host_names(&r), ["homeserver"]);
    assert_found_by(&r, "configuration-nix");
    let h = host(&r, "homeserver");
    assert_eq!(h["root"], "configuration.nix");
    assert_eq!(
        strs(&h["files"]),
        ["configuration.nix", "hardware-configuration.nix"]
    );
    assert_user(&r, "alice", USERS, "single", &["homeserver"]);
    assert_user(&r, "bob", USERS, "single", &["homeserver"]);
    assert_eq!(
        user_keys(&r),
        [("alice", USERS), ("bob", USERS)],
        "users.groups.media is a group, not a user"
    );
    // At most a note about the modulesPath import.
    for d in arr(&r["diagnostics"]) {
        assert_eq!(d["severity"], "note", "only notes allowed: {d}");
    }
}

#[test]
fn machines_dir() {
    let r = scan_case("machines-dir");
    assert_eq!(host_names(&r), ["desktop", "laptop"]);
    assert_found_by(&r, "directory");
    for h in ["desktop", "laptop"] {
        assert_eq!(
            host_files(&r, h),
            [
                format!("machines/{h}/configuration.nix"),
                format!("machines/{h}/hardware-configuration.nix")
            ]
        );
        assert_eq!(
            host(&r, h)["root"],
            format!("machines/{h}/configuration.nix")
        );
    }
    let alice = assert_user(&r, "alice", USERS, "repeated", &["desktop", "laptop"]);
    assert_compare(
        alice,
        &["extraGroups", "home", "initialPassword", "isNormalUser"],
        &["extraGroups"],
    );
    assert_no_diagnostics(&r);
}

#[test]
fn nixops() {
    let r = scan_case("nixops");
    assert_eq!(host_names(&r), ["db1", "web1", "web2"]);
    assert_found_by(&r, "nixops");
    for h in ["db1", "web1", "web2"] {
        assert_eq!(host(&r, h)["root"], format!("hosts/{h}.nix"));
    }
    assert_eq!(host_files(&r, "db1"), ["hosts/db1.nix"]);
    for h in ["web1", "web2"] {
        assert_eq!(
            host_files(&r, h),
            [
                "deployments/web.nix",
                format!("hosts/{h}.nix").as_str(),
                "modules/base.nix"
            ]
        );
    }
    let tomas = assert_user(&r, "tomas", USERS, "repeated", &["db1", "web1", "web2"]);
    assert_compare(
        tomas,
        &["description", "isNormalUser", "openssh.authorizedKeys.keys"],
        &["extraGroups"],
    );
    let ops = assert_user(&r, "ops", USERS, "shared", &["web1", "web2"]);
    assert_eq!(def_files(ops), BTreeSet::from(["modules/base.nix"]));
    assert_eq!(arr(&r["users"]).len(), 2, "users: {:?}", user_keys(&r));
    assert_no_diagnostics(&r);
}

#[test]
fn read_dir() {
    let r = scan_case("read-dir");
    assert_eq!(host_names(&r), ["atlas", "boreas", "cirrus"]);
    assert_found_by(&r, "flake-read-dir");
    for h in ["atlas", "boreas"] {
        assert_eq!(
            host_files(&r, h),
            [
                format!("hosts/{h}/default.nix").as_str(),
                &format!("hosts/{h}/hardware-configuration.nix"),
                "modules/common.nix"
            ]
        );
    }
    assert_eq!(
        host_files(&r, "cirrus"),
        ["machines/cirrus/configuration.nix"]
    );
    let noor = assert_user(
        &r,
        "noor",
        USERS,
        "repeated",
        &["atlas", "boreas", "cirrus"],
    );
    assert_compare(
        noor,
        &["description", "extraGroups", "isNormalUser"],
        &["extraGroups", "shell"],
    );
    let deploy = assert_user(&r, "deploy", USERS, "shared", &["atlas", "boreas"]);
    assert_eq!(def_files(deploy), BTreeSet::from(["modules/common.nix"]));
    assert_eq!(arr(&r["users"]).len(), 2, "users: {:?}", user_keys(&r));
    assert_no_diagnostics(&r);

    // A directory added later is a host at once; a file is not.
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&fixture("read-dir"), tmp.path());
    let dir = tmp.path().join("hosts/delta");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("default.nix"),
        "{ ... }: {\n  networking.hostName = \"delta\";\n  users.users.noor.isNormalUser = true;\n}\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("hosts/notes.nix"), "{ }\n").unwrap();
    let grown: Value = serde_json::to_value(run(tmp.path(), &ScanOptions::default())).unwrap();
    check_contract("read-dir + delta", &grown);
    assert_eq!(host_names(&grown), ["atlas", "boreas", "cirrus", "delta"]);
}

#[test]
fn shared_first() {
    let r = scan_case("shared-first");
    assert_eq!(host_names(&r), ["cache", "db", "web"]);
    assert_found_by(&r, "flake");
    for (h, dir) in [("cache", "cache"), ("db", "db"), ("web", "frontend")] {
        assert_eq!(
            host(&r, h)["root"],
            format!("machines/{dir}/configuration.nix"),
            "{h}: its own file is its root, not the first shared module"
        );
        assert_eq!(
            strs(&host(&r, h)["shared"]),
            ["modules/base.nix", "modules/monitoring.nix"]
        );
    }
    assert_user(&r, "yara", USERS, "repeated", &["cache", "db", "web"]);
    let prom = assert_user(&r, "prom", USERS, "shared", &["cache", "db", "web"]);
    assert_eq!(def_files(prom), BTreeSet::from(["modules/monitoring.nix"]));
    assert_no_diagnostics(&r);

    // --host names the root; the shared modules stay listed.
    let opts = ScanOptions {
        discover: DiscoverOptions {
            hosts: vec!["web=machines/frontend".parse().unwrap()],
            ..DiscoverOptions::default()
        },
        ..ScanOptions::default()
    };
    let hinted = serde_json::to_value(run(&fixture("shared-first"), &opts)).unwrap();
    check_contract("shared-first --host", &hinted);
    assert_eq!(
        host(&hinted, "web")["root"],
        "machines/frontend/configuration.nix"
    );
    assert_eq!(host(&hinted, "web")["shared"], host(&r, "web")["shared"]);

    // The table shows each host's own file, and its shared modules below it.
    let out = Command::new(env!("CARGO_BIN_EXE_clan-migrate"))
        .args(["scan", "--color", "never"])
        .arg(fixture("shared-first"))
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    let web = lines
        .iter()
        .position(|l| l.trim_start().starts_with("web "))
        .unwrap_or_else(|| panic!("no row for web:\n{table}"));
    assert!(
        lines[web].contains("machines/frontend/configuration.nix"),
        "{table}"
    );
    assert_eq!(
        lines[web + 1].trim(),
        "shared: modules/base.nix, modules/monitoring.nix",
        "{table}"
    );
}

#[test]
fn spellings() {
    let r = scan_case("spellings");
    assert_eq!(host_names(&r), ["alpha", "beta"]);
    assert_found_by(&r, "flake");
    let alpha: Vec<String> = [
        "base-users",
        "default",
        "hardware-configuration",
        "interns",
        "lab",
        "my",
        "staff",
        "team",
    ]
    .iter()
    .map(|f| format!("hosts/alpha/{f}.nix"))
    .collect();
    assert_eq!(host_files(&r, "alpha"), alpha);
    let beta: Vec<String> = ["default", "hardware-configuration", "my", "people"]
        .iter()
        .map(|f| format!("hosts/beta/{f}.nix"))
        .collect();
    assert_eq!(host_files(&r, "beta"), beta);

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
    let keys = user_keys(&r);
    assert_eq!(
        keys,
        expected.iter().map(|n| (*n, USERS)).collect::<Vec<_>>(),
        "exactly the 15 users (mutableUsers, defaultUserShell, my.enable are not users)"
    );
    for name in expected {
        let u = assert_user(&r, name, USERS, "repeated", &["alpha", "beta"]);
        assert!(!arr(&u["common"]).is_empty(), "{name}: something common");
        // lena: README says equal (`inherit (config.users.users.karl) openssh`
        // vs `openssh = config.users.users.karl.openssh`); not asserted,
        // the report calls `openssh` differing.
        if name != "lena" {
            assert_eq!(
                strs(&u["differing"]),
                Vec::<&str>::new(),
                "{name}: nothing differs"
            );
        }
    }

    // Multi-file one-attribute definitions.
    for name in ["alice", "oscar"] {
        let files = def_files(user(&r, name, USERS));
        assert!(
            files.contains("hosts/alpha/default.nix") && files.contains("hosts/alpha/my.nix"),
            "{name} over two alpha files: {files:?}"
        );
    }
    // The extraUsers alias is recorded as written.
    for name in ["frank", "gina"] {
        let u = user(&r, name, USERS);
        let alpha_def = arr(&u["definitions"])
            .iter()
            .find(|d| d["host"] == "alpha")
            .unwrap();
        assert_eq!(alpha_def["spelling"], "users.extraUsers", "{name} on alpha");
    }
    // heidi is under mkIf on both hosts.
    for d in arr(&user(&r, "heidi", USERS)["definitions"]) {
        assert_eq!(
            d["conditional"], true,
            "heidi at {}:{}",
            d["file"], d["line"]
        );
    }
    // Wrappers survive comparison: ivan's mkForce shell and mkAfter groups.
    let ivan = user(&r, "ivan", USERS);
    assert_compare(ivan, &["extraGroups", "isNormalUser", "shell"], &[]);
    // karl: same elements in another order are still common.
    let karl = user(&r, "karl", USERS);
    assert_compare(
        karl,
        &["extraGroups", "isNormalUser", "openssh.authorizedKeys.keys"],
        &[],
    );
    // Conditional only where written so.
    for u in arr(&r["users"]) {
        if u["name"] != "heidi" {
            for d in arr(&u["definitions"]) {
                assert_eq!(d["conditional"], false, "{} at {}", u["name"], d["file"]);
            }
        }
    }
    assert_no_diagnostics(&r);
}

#[test]
fn traps() {
    let r = scan_case("traps");
    assert_eq!(host_names(&r), ["alpha", "beta"]);
    assert_found_by(&r, "flake");
    for h in ["alpha", "beta"] {
        let files = host_files(&r, h);
        assert!(files.contains(&"modules/my.nix") && files.contains(&"modules/foo.nix"));
    }

    let alice = assert_user(&r, "alice", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(
        alice,
        &["extraGroups", "isNormalUser"],
        &["openssh.authorizedKeys.keys"],
    );
    assert_eq!(
        def_files(alice),
        BTreeSet::from(["hosts/alpha/alice.nix", "hosts/beta/alice.nix"])
    );
    let root = assert_user(&r, "root", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(root, &["openssh.authorizedKeys.keys"], &[]);
    assert_user(&r, "sonarr", USERS, "single", &["alpha"]);
    assert_user(&r, "hydra-www", USERS, "single", &["beta"]);

    let names: BTreeSet<&str> = arr(&r["users"]).iter().map(|u| s(&u["name"])).collect();
    assert_eq!(
        names,
        BTreeSet::from(["alice", "hydra-www", "root", "sonarr"]),
        "nothing else is a host user"
    );
    for not_user in [
        "www",
        "media",
        "docker",
        "storage",
        "defaultUserShell",
        "mutableUsers",
    ] {
        assert!(!has_user_named(&r, not_user), "{not_user} is not a user");
    }
    let files = all_definition_files(&r);
    for f in [
        "keys.nix",
        "hosts/beta/keys.nix",
        "modules/my.nix",
        "modules/foo.nix",
    ] {
        assert!(!files.contains(f), "no user is defined in {f}");
    }
    assert_no_diagnostics(&r);
}

/// Every fixture has a test above (and the list in `common` is complete).
#[test]
fn clan_darwin() {
    let r = scan_case("clan-darwin");
    // mini is a darwin machine of the clan: not a NixOS host, not an orphan.
    assert_eq!(host_names(&r), ["office", "studio"]);
    assert_found_by(&r, "clan-machines");
    let ana = assert_user(&r, "ana", USERS, "repeated", &["office", "studio"]);
    assert_compare(ana, &["description", "extraGroups", "isNormalUser"], &[]);
    let note = assert_diag_at(&r, "note", "not-nixos", "clan.nix", 10, 7);
    assert!(
        s(&note["message"]).contains("`mini` is a darwin machine"),
        "{note}"
    );
    assert_eq!(arr(&r["diagnostics"]).len(), 1, "{:#?}", diag_summary(&r));
}

#[test]
fn unbuilt_machine() {
    let r = scan_case("unbuilt-machine");
    assert_eq!(host_names(&r), ["hel", "osl"]);
    assert_found_by(&r, "flake");
    let rune = assert_user(&r, "rune", USERS, "repeated", &["hel", "osl"]);
    assert_compare(rune, &["description", "extraGroups", "isNormalUser"], &[]);
    assert!(!has_user_named(&r, "media"), "old-nas is built by nothing");
    let note = assert_diag_at(
        &r,
        "note",
        "orphan-host",
        "machines/old-nas/configuration.nix",
        1,
        1,
    );
    assert!(
        s(&note["message"]).starts_with("machines/old-nas is built by nothing in flake.nix"),
        "{note}"
    );
    assert!(
        s(&note["help"])
            .contains("`clan-migrate scan . --host old-nas=machines/old-nas/configuration.nix`"),
        "{note}"
    );
    // bsd-box is named in flake.nix, by a nixbsd build: said so.
    let bsd = assert_diag_at(
        &r,
        "note",
        "orphan-host",
        "machines/bsd-box/configuration.nix",
        1,
        1,
    );
    assert!(
        s(&bsd["message"]).starts_with(
            "machines/bsd-box is named in flake.nix (flake.nix:20:19), but no NixOS host is built from it"
        ),
        "{bsd}"
    );
    assert_eq!(arr(&r["diagnostics"]).len(), 2, "{:#?}", diag_summary(&r));

    let with_hints = |hints: &[&str]| {
        let opts = ScanOptions {
            discover: DiscoverOptions {
                hosts: hints.iter().map(|h| h.parse().unwrap()).collect(),
                ..DiscoverOptions::default()
            },
            ..ScanOptions::default()
        };
        let v = serde_json::to_value(run(&fixture("unbuilt-machine"), &opts)).unwrap();
        check_contract(&format!("unbuilt-machine {hints:?}"), &v);
        v
    };
    // A hint replaces discovery for the host it names, and adds nothing else.
    let hel = with_hints(&["hel=machines/hel/configuration.nix"]);
    assert_eq!(host_names(&hel), ["hel", "osl"]);
    assert_eq!(host(&hel, "hel")["found_by"], "flag");
    assert_eq!(host(&hel, "osl")["found_by"], "flake");
    assert_eq!(diags(&hel, "orphan-host").len(), 2);
    // Naming the unbuilt machine scans it, and the note goes.
    let nas = with_hints(&["old-nas=machines/old-nas"]);
    assert_eq!(host_names(&nas), ["hel", "old-nas", "osl"]);
    assert_user(&nas, "media", USERS, "single", &["old-nas"]);
    assert_eq!(
        diags(&nas, "orphan-host").len(),
        1,
        "only bsd-box's: {:#?}",
        diag_summary(&nas)
    );
}

#[test]
fn lite_config() {
    let r = scan_case("lite-config");
    // mac01 is a darwin host of lite-config: not NixOS, not an orphan.
    assert_eq!(host_names(&r), ["build01", "edge", "web01"]);
    assert_found_by(&r, "lite-config");
    for (h, root) in [
        ("build01", "hosts/build01/default.nix"),
        ("edge", "machines/edge.nix"),
        ("web01", "hosts/web01/default.nix"),
    ] {
        assert_eq!(host(&r, h)["root"], root);
        // systemModules: only the Linux branch of the `hostPlatform` choice,
        // and the users the listing of users/ brings in, not users/lib.nix;
        // web01 also imports `inputs.self.nixosModules.nginx`, which the
        // flake makes from a listing of modules/exported.
        let mut files = vec![
            root,
            "modules/nix.nix",
            "modules/nixos/default.nix",
            "users/ana.nix",
            "users/ben.nix",
        ];
        if h == "web01" {
            files.insert(1, "modules/exported/nginx.nix");
        }
        assert_eq!(host_files(&r, h), files);
    }
    let deploy = assert_user(&r, "deploy", USERS, "single", &["web01"]);
    assert_eq!(
        def_files(deploy),
        BTreeSet::from(["modules/exported/nginx.nix"])
    );
    let kim = assert_user(&r, "kim", USERS, "repeated", &["build01", "edge", "web01"]);
    assert_compare(
        kim,
        &["description", "extraGroups", "isNormalUser"],
        &["extraGroups"],
    );
    for name in ["ana", "ben"] {
        let u = assert_user(&r, name, USERS, "shared", &["build01", "edge", "web01"]);
        assert_eq!(
            def_files(u),
            BTreeSet::from([format!("users/{name}.nix").as_str()])
        );
    }
    assert_user(&r, "oncall", USERS, "shared", &["build01", "edge", "web01"]);
    assert!(
        !has_user_named(&r, "macadmin"),
        "modules/darwin is the Macs'"
    );
    let note = assert_diag_at(&r, "note", "not-nixos", "flake.nix", 36, 13);
    assert!(
        s(&note["message"]).contains("`mac01` is a darwin machine"),
        "{note}"
    );
    assert_eq!(arr(&r["diagnostics"]).len(), 1, "{:#?}", diag_summary(&r));
}

/// `self.nixosModules.<n>` in a host's module is the flake's own module:
/// followed where the flake names it as a path, a warning where it does not
/// (it used to pass silently as a flake input's module).
#[test]
fn own_flake_modules_are_followed_or_reported() {
    let r = scan_scratch(&[
        (
            "flake.nix",
            "{\n  outputs = { self, nixpkgs, ... }: {\n    nixosModules.base = ./modules/base.nix;\n    nixosModules.gen = import ./modules/gen.nix { };\n    nixosModules.inline = { users.users.inl.isNormalUser = true; };\n    nixosConfigurations.a = nixpkgs.lib.nixosSystem { modules = [ ./hosts/a ]; };\n    nixosConfigurations.b = nixpkgs.lib.nixosSystem { modules = [ ./hosts/b ]; };\n  };\n}\n",
        ),
        (
            "hosts/a/default.nix",
            "{ self, inputs, ... }:\n{\n  imports = [\n    inputs.self.nixosModules.base\n    self.nixosModules.extra\n    self.nixosModules.inline\n  ];\n}\n",
        ),
        (
            "hosts/b/default.nix",
            "{ self, ... }:\n{\n  imports = builtins.attrValues self.nixosModules;\n}\n",
        ),
        (
            "modules/gen.nix",
            "{ }: { users.users.gen.isNormalUser = true; }\n",
        ),
        (
            "modules/base.nix",
            "{ ... }:\n{\n  users.users.ops.isNormalUser = true;\n}\n",
        ),
    ]);
    // A module the flake writes in place is followed too.
    assert_eq!(
        host_files(&r, "a"),
        ["flake.nix", "hosts/a/default.nix", "modules/base.nix"]
    );
    assert_user(&r, "inl", USERS, "shared", &["a", "b"]);
    // `import ./modules/gen.nix { }` is what gen.nix returns, not gen.nix:
    // all of nixosModules is not known, and b's import says so.
    assert_eq!(
        host_files(&r, "b"),
        ["flake.nix", "hosts/b/default.nix", "modules/base.nix"]
    );
    assert_user(&r, "ops", USERS, "shared", &["a", "b"]);
    assert!(!has_user_named(&r, "gen"));
    let all = assert_diag_at(
        &r,
        "warning",
        "import-unresolved",
        "hosts/b/default.nix",
        3,
        13,
    );
    assert!(
        s(&all["message"]).contains("not all of them are written as paths"),
        "{all}"
    );
    let w = assert_diag_at(
        &r,
        "warning",
        "import-unresolved",
        "hosts/a/default.nix",
        5,
        5,
    );
    assert!(s(&w["message"]).contains("`nixosModules.extra`"), "{w}");
    assert_eq!(arr(&r["diagnostics"]).len(), 2, "{:#?}", diag_summary(&r));
}

#[test]
fn module_set() {
    let r = scan_case("module-set");
    assert_eq!(host_names(&r), ["alpha", "beta"]);
    assert_found_by(&r, "flake-helper");
    for h in ["alpha", "beta"] {
        let root = format!("hosts/{h}.nix");
        assert_eq!(host(&r, h)["root"], root.as_str());
        assert_eq!(
            host_files(&r, h),
            [
                "configurations.nix",
                root.as_str(),
                "modules/users/admins.nix"
            ]
        );
    }
    let ci = assert_user(&r, "ci", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(ci, &["description", "isNormalUser"], &[]);
    let joerg = assert_user(&r, "joerg", USERS, "shared", &["alpha", "beta"]);
    assert_eq!(
        def_files(joerg),
        BTreeSet::from(["modules/users/admins.nix"])
    );
    assert!(arr(&r["diagnostics"]).is_empty(), "{:#?}", diag_summary(&r));
}

#[test]
fn read_dir_modules() {
    let r = scan_case("read-dir-modules");
    assert_eq!(host_names(&r), ["db", "web.example.org"]);
    assert_found_by(&r, "flake-read-dir");
    for h in ["db", "web.example.org"] {
        let root = format!("hosts/{h}/default.nix");
        assert_eq!(host(&r, h)["root"], root.as_str());
        assert_eq!(host_files(&r, h), [root.as_str(), "modules/common.nix"]);
    }
    let ofborg = assert_user(&r, "ofborg", USERS, "repeated", &["db", "web.example.org"]);
    assert_compare(ofborg, &["description", "isNormalUser"], &[]);
    assert_user(&r, "root", USERS, "shared", &["db", "web.example.org"]);
    assert!(arr(&r["diagnostics"]).is_empty(), "{:#?}", diag_summary(&r));
}

#[test]
fn starter_configs() {
    let r = scan_case("starter-configs");
    assert_eq!(host_names(&r), ["desktop", "laptop"]);
    assert_found_by(&r, "flake");
    for h in ["desktop", "laptop"] {
        let root = format!("hosts/{h}/default.nix");
        assert_eq!(
            host_files(&r, h),
            [
                "hosts/common/global/default.nix",
                root.as_str(),
                "modules/nixos/backup.nix",
                "modules/nixos/printing.nix"
            ]
        );
    }
    let gabriel = assert_user(&r, "gabriel", USERS, "repeated", &["desktop", "laptop"]);
    assert_compare(
        gabriel,
        &["description", "extraGroups", "isNormalUser"],
        &[],
    );
    let restic = assert_user(&r, "restic", USERS, "shared", &["desktop", "laptop"]);
    assert_eq!(
        def_files(restic),
        BTreeSet::from(["modules/nixos/backup.nix"])
    );
    assert!(arr(&r["diagnostics"]).is_empty(), "{:#?}", diag_summary(&r));
}

/// A flake module declaring `options.colmena = { hosts = mkOption …; }`
/// (NixOS/infra) builds no hive: its option names are no hosts.
#[test]
fn option_declarations_are_no_hosts() {
    let r = scan_scratch(&[
        (
            "flake.nix",
            "{\n  outputs = inputs@{ flake-parts, nixpkgs, ... }: flake-parts.lib.mkFlake { inherit inputs; } {\n    imports = [ ./colmena.nix ];\n    flake.nixosConfigurations.web = nixpkgs.lib.nixosSystem { modules = [ ./hosts/web ]; };\n  };\n}\n",
        ),
        (
            "colmena.nix",
            "{ lib, ... }:\n{\n  options.colmena = {\n    hosts = lib.mkOption { type = lib.types.attrs; };\n    system = lib.mkOption { type = lib.types.str; };\n  };\n}\n",
        ),
        (
            "hosts/web/default.nix",
            "{ ... }:\n{\n  users.users.ops.isNormalUser = true;\n}\n",
        ),
    ]);
    assert_eq!(host_names(&r), ["web"]);
    assert!(arr(&r["diagnostics"]).is_empty(), "{:#?}", diag_summary(&r));
}

#[test]
fn let_host_set() {
    let r = scan_case("let-host-set");
    assert_eq!(host_names(&r), ["ganymede", "io"]);
    assert_found_by(&r, "flake");
    let profile = [
        "system/core/default.nix",
        "system/hardware/bluetooth.nix",
        "system/users.nix",
    ];
    for h in ["ganymede", "io"] {
        let root = format!("hosts/{h}/default.nix");
        assert_eq!(host(&r, h)["root"], root.as_str());
        let mut files = vec![root.as_str()];
        files.extend(profile);
        if h == "io" {
            files.insert(3, "system/programs/games.nix");
        }
        assert_eq!(host_files(&r, h), files);
    }
    let guest = assert_user(&r, "guest", USERS, "repeated", &["ganymede", "io"]);
    assert_compare(guest, &["description", "isNormalUser"], &[]);
    assert_user(&r, "mihai", USERS, "shared", &["ganymede", "io"]);
    assert_user(&r, "steam-runner", USERS, "single", &["io"]);
    assert!(arr(&r["diagnostics"]).is_empty(), "{:#?}", diag_summary(&r));
}

/// `imports = lib.flatten [ … [ … ] … ]` (EmergentMind's nix-config): every
/// element of the nested lists is an import, each followed or reported on
/// its own.
#[test]
fn flattened_imports_are_followed_one_by_one() {
    let r = scan_scratch(&[
        (
            "flake.nix",
            "{\n  outputs = { nixpkgs, ... }: {\n    nixosConfigurations.a = nixpkgs.lib.nixosSystem { modules = [ ./hosts/a ]; };\n  };\n}\n",
        ),
        (
            "hosts/a/default.nix",
            "{ lib, configLib, ... }:\n{\n  imports = lib.flatten [\n    ./hardware.nix\n    [ ../../users/ops.nix ]\n    (lib.optionals false [ ./never.nix ])\n    (configLib.relativeToRoot \"hosts/common/core\")\n  ];\n}\n",
        ),
        ("hosts/a/hardware.nix", "{ ... }: { }\n"),
        ("hosts/a/never.nix", "{ ... }: { }\n"),
        (
            "users/ops.nix",
            "{ ... }:\n{\n  users.users.ops.isNormalUser = true;\n}\n",
        ),
    ]);
    assert_eq!(
        host_files(&r, "a"),
        [
            "hosts/a/default.nix",
            "hosts/a/hardware.nix",
            "hosts/a/never.nix",
            "users/ops.nix"
        ]
    );
    assert_user(&r, "ops", USERS, "single", &["a"]);
    let w = assert_diag_at(
        &r,
        "warning",
        "import-unresolved",
        "hosts/a/default.nix",
        7,
        6,
    );
    assert!(s(&w["message"]).contains("configLib.relativeToRoot"), "{w}");
    assert_eq!(arr(&r["diagnostics"]).len(), 1, "{:#?}", diag_summary(&r));
}

/// `inputs.srvos.nixosModules.server` is srvos' module, even when the flake
/// has a `nixosModules.server` of its own.
#[test]
fn an_inputs_module_is_not_the_flakes_own_of_that_name() {
    let r = scan_scratch(&[
        (
            "flake.nix",
            "{\n  outputs = { self, nixpkgs, srvos, ... }@inputs: {\n    nixosModules.server = ./modules/server.nix;\n    nixosConfigurations.a = nixpkgs.lib.nixosSystem { modules = [ ./hosts/a inputs.srvos.nixosModules.server ]; };\n    nixosConfigurations.b = nixpkgs.lib.nixosSystem { modules = [ ./hosts/b self.nixosModules.server ]; };\n  };\n}\n",
        ),
        ("hosts/a/default.nix", "{ ... }: { }\n"),
        ("hosts/b/default.nix", "{ ... }: { }\n"),
        (
            "modules/server.nix",
            "{ ... }:\n{\n  users.users.srv.isNormalUser = true;\n}\n",
        ),
    ]);
    assert_eq!(host_files(&r, "a"), ["hosts/a/default.nix"]);
    assert_eq!(
        host_files(&r, "b"),
        ["hosts/b/default.nix", "modules/server.nix"]
    );
    assert_user(&r, "srv", USERS, "single", &["b"]);
}

#[test]
fn listed_users() {
    let r = scan_case("listed-users");
    assert_eq!(host_names(&r), ["a", "b", "c"]);
    let ops = assert_user(&r, "ops", USERS, "single", &["a"]);
    assert_eq!(def_files(ops), BTreeSet::from(["users/ops/default.nix"]));
    assert_user(&r, "zed", USERS, "repeated", &["b", "c"]);
    assert!(arr(&r["diagnostics"]).is_empty(), "{:#?}", diag_summary(&r));
}

#[test]
fn every_fixture_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        common::CASES,
        "testdata/ and common::CASES disagree"
    );
}

// ---------------------------------------------------------------------------
// --eval
// ---------------------------------------------------------------------------

#[test]
fn eval_flake_with_eval() {
    if !require_tool("nix") {
        return;
    }
    let tmp = common::git_fixture("eval-flake");
    let before = common::tree_fingerprint(tmp.path());
    let opts = ScanOptions {
        discover: DiscoverOptions {
            eval: true,
            ..DiscoverOptions::default()
        },
        ..ScanOptions::default()
    };
    let report = run(tmp.path(), &opts);
    let r = snapshot_and_check("scan-eval-flake-eval", tmp.path(), &report);

    assert!(
        diags(&r, "eval-failed").is_empty(),
        "nix eval failed: {:#?}",
        diags(&r, "eval-failed")
    );
    assert_eq!(host_names(&r), ["alpha", "beta"]);
    assert_found_by(&r, "eval");
    assert_eq!(
        host_files(&r, "alpha"),
        ["hosts/alpha/users.nix", "modules/common.nix"]
    );
    assert_eq!(
        host_files(&r, "beta"),
        ["hosts/beta/users.nix", "modules/common.nix"]
    );

    let alice = assert_user(&r, "alice", USERS, "repeated", &["alpha", "beta"]);
    assert_compare(
        alice,
        &[
            "description",
            "extraGroups",
            "isNormalUser",
            "openssh.authorizedKeys.keys",
        ],
        &["extraGroups"],
    );
    let dave = assert_user(&r, "dave", USERS, "shared", &["alpha", "beta"]);
    assert_eq!(def_files(dave), BTreeSet::from(["modules/common.nix"]));
    assert!(!report.has_errors(), "{:#?}", diag_summary(&r));

    assert_eq!(
        common::tree_fingerprint(tmp.path()),
        before,
        "--eval must not write into the repository (flake.lock, …)"
    );
}

// ---------------------------------------------------------------------------
// The fixtures themselves are valid Nix (except the one that must not be)
// ---------------------------------------------------------------------------

const BROKEN: &str = "broken-file/hosts/beta/users.nix";

fn nix_parse(file: &Path) -> std::process::Output {
    Command::new("nix-instantiate")
        .args(["--store", "dummy://", "--parse"])
        .arg(file)
        .output()
        .expect("run nix-instantiate")
}

#[test]
fn fixtures_parse_with_nix_instantiate() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let root = fixture("");
    let files = common::nix_files(&root);
    assert!(files.len() > 50, "found only {} .nix files", files.len());
    let mut failures = Vec::new();
    let mut saw_broken = false;
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let out = nix_parse(file);
        if rel == Path::new(BROKEN) {
            saw_broken = true;
            assert!(!out.status.success(), "{BROKEN} must not parse");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("syntax error") && stderr.contains(":6:17"),
                "nix-instantiate reports the error at 6:17: {stderr}"
            );
        } else if !out.status.success() {
            failures.push(format!(
                "{}: {}",
                rel.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(saw_broken, "{BROKEN} is missing");
    assert!(
        failures.is_empty(),
        "fixtures that do not parse:\n{}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Progress callbacks
// ---------------------------------------------------------------------------

/// Records the progress events in the order they arrive.
#[derive(Default)]
struct Recorder {
    events: std::sync::Mutex<Vec<Event>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Found(usize),
    Done(std::path::PathBuf),
}

impl clan_migrate::Progress for Recorder {
    fn files_found(&self, total: usize) {
        self.events.lock().unwrap().push(Event::Found(total));
    }

    fn file_done(&self, path: &Path) {
        self.events
            .lock()
            .unwrap()
            .push(Event::Done(path.to_path_buf()));
    }
}

#[test]
fn progress_reports_each_file_once() {
    for case in common::CASES {
        let rec = Recorder::default();
        let report = clan_migrate::scan(&fixture(case), &ScanOptions::default(), &rec).unwrap();
        let events = rec.events.into_inner().unwrap();
        let done: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Done(p) => Some(p.to_string_lossy().into_owned()),
                Event::Found(_) => None,
            })
            .collect();
        let unique: BTreeSet<&str> = done.iter().map(String::as_str).collect();
        assert_eq!(
            unique.len(),
            done.len(),
            "{case}: a file reported twice: {done:?}"
        );
        let totals: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                Event::Found(n) => Some(*n),
                Event::Done(_) => None,
            })
            .collect();
        assert!(
            matches!(events.first(), Some(Event::Found(_))) || events.is_empty(),
            "{case}: the total comes first: {events:?}"
        );
        assert!(
            totals.windows(2).all(|w| w[0] <= w[1]),
            "{case}: totals only grow: {totals:?}"
        );
        // Every file a host evaluates was parsed (and reported) once;
        // flake.nix, and the files whose inline modules discovery indexed
        // (a hive, a nixops network), are read during discovery instead.
        let discovered =
            clan_migrate::discover::discover(&fixture(case), &DiscoverOptions::default());
        let read_by_discovery: BTreeSet<String> = discovered
            .inline_modules
            .iter()
            .map(|m| m.key.file.to_string_lossy().into_owned())
            .collect();
        let host_files: BTreeSet<String> = report
            .hosts
            .iter()
            .flat_map(|h| h.files.iter().cloned())
            .filter(|f| f != "flake.nix" && !read_by_discovery.contains(f))
            .collect();
        let done_set: BTreeSet<String> = done.iter().cloned().collect();
        assert!(
            host_files.is_subset(&done_set),
            "{case}: host files not reported done: {:?}",
            host_files.difference(&done_set).collect::<Vec<_>>()
        );
    }
}
