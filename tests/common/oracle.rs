//! Test oracle: the effective `users.users` and `home-manager.users` of a
//! host, evaluated by real Nix (`nix-instantiate`, no daemon, no nixpkgs)
//! through the small module system in `tests/oracle/eval-users.nix`.
//!
//! ```ignore
//! if !oracle::nix_available() { return; }
//! let before = oracle::effective_users(&repo, &[PathBuf::from("hosts/alpha")], None)?;
//! // … run the migration …
//! let after = oracle::effective_users(&repo, &[PathBuf::from("hosts/alpha")], None)?;
//! oracle::assert_same_users(&before, &after);
//! ```
//!
//! Self-contained on purpose (no `super::`): `tests/oracle_selftest.rs`
//! includes this file with `#[path]`, `tests/common/mod.rs` as `pub mod oracle`.

#![allow(dead_code)]

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `tests/oracle/eval-users.nix`, absolute.
pub fn oracle_nix() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/eval-users.nix")
}

/// Whether `nix-instantiate` runs here. Missing locally: prints a note and
/// returns `false` (the caller skips). Missing with `CI=true`: panics, so a
/// runner without Nix cannot turn oracle tests into silent passes.
pub fn nix_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        Command::new("nix-instantiate")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !available {
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        if ci {
            panic!("nix-instantiate is not installed, but CI=true: the Nix oracle tests must run");
        }
        eprintln!("skipping: nix-instantiate not found (install nix to run the oracle tests)");
    }
    available
}

/// Evaluates one host: `entry_modules` are the host's entry modules (what
/// its `nixosSystem { modules = [..]; }` lists), absolute or relative to
/// `repo`; directories mean their `default.nix`. `special_args_nix` is a Nix
/// expression for `specialArgs`, e.g. `{ username = "dave"; }` (`inputs` and
/// `self` default to stubs). The expression is evaluated with `repo` as the
/// working directory.
///
/// Returns `{ "repoRoot": "<repo>", "users": {..}, "home-manager": {..},
/// "clanServiceUsers": [] }` with lists in NixOS merge order, paths
/// absolute, packages as `"pkgs.<name>"` and conflicting definitions as
/// `{ "__conflict": [..], "__reason": ".." }`. Use [`normalise`] before
/// comparing two evaluations.
pub fn effective_users(
    repo: &Path,
    entry_modules: &[PathBuf],
    special_args_nix: Option<&str>,
) -> Result<Value, String> {
    effective_users_with(
        repo,
        entry_modules,
        &EvalOptions {
            special_args_nix,
            ..EvalOptions::default()
        },
    )
}

/// Evaluates machine `host` of a Clan: its `entry_modules` (as in
/// [`effective_users`]) plus, when `clan_file` (absolute or relative to
/// `repo`, normally `clan.nix`) is given, every instance of clan-core's
/// `users` service in that file's `inventory.instances` that applies to
/// `host` (by `tags`, `machines.<host>` or `tags.all`), with its
/// `roles.default.extraModules`. `clan_file: None` is a plain evaluation.
///
/// The result's `clanServiceUsers` lists (sorted) the users those instances
/// define on `host`; [`users_diff_with_service`] uses it.
pub fn effective_users_with_clan(
    repo: &Path,
    host: &str,
    entry_modules: &[PathBuf],
    clan_file: Option<&Path>,
) -> Result<Value, String> {
    effective_users_with(
        repo,
        entry_modules,
        &EvalOptions {
            host: Some(host),
            clan_file,
            ..EvalOptions::default()
        },
    )
}

/// Everything [`effective_users_with`] can be told besides the entry modules.
#[derive(Clone, Copy, Debug, Default)]
pub struct EvalOptions<'a> {
    /// Nix expression for `specialArgs`, e.g. `{ username = "dave"; }`.
    pub special_args_nix: Option<&'a str>,
    /// The machine name in the Clan inventory (needed for the service).
    pub host: Option<&'a str>,
    /// `clan.nix` (absolute or relative to the repository): its `inventory`.
    pub clan_file: Option<&'a Path>,
    /// An inline inventory as a Nix expression, used instead of
    /// `clan_file`'s, e.g. `{ instances.a = { module.name = "users"; … }; }`.
    /// It is evaluated in the repository, so `./x.nix` is `<repo>/x.nix`, and
    /// relative strings in `extraModules` are relative to the repository.
    pub inventory_nix: Option<&'a str>,
}

/// The general form of [`effective_users`] / [`effective_users_with_clan`].
pub fn effective_users_with(
    repo: &Path,
    entry_modules: &[PathBuf],
    opts: &EvalOptions<'_>,
) -> Result<Value, String> {
    let repo = repo
        .canonicalize()
        .map_err(|e| format!("repository {}: {e}", repo.display()))?;
    let repo_str = utf8(&repo, "repository")?.to_owned();
    let mut modules = Vec::with_capacity(entry_modules.len());
    for m in entry_modules {
        let path = repo.join(m);
        let path = path
            .canonicalize()
            .map_err(|e| format!("entry module {}: {e}", path.display()))?;
        modules.push(utf8(&path, "entry module")?.to_owned());
    }
    let clan_file = match opts.clan_file {
        Some(f) => {
            let path = repo.join(f);
            let path = path
                .canonicalize()
                .map_err(|e| format!("clan file {}: {e}", path.display()))?;
            utf8(&path, "clan file")?.to_owned()
        }
        None => String::new(),
    };
    let modules_json = serde_json::to_string(&modules).map_err(|e| e.to_string())?;
    let oracle = oracle_nix();
    let oracle = utf8(&oracle, "oracle")?.to_owned();
    let special = opts.special_args_nix.unwrap_or("{ }");
    let inventory = opts.inventory_nix.unwrap_or("null");
    let expr = format!(
        "{{ oracle, modulesJson, repoRoot, hostName, clanFile }}: import oracle {{\n  \
         modules = builtins.fromJSON modulesJson;\n  \
         inherit repoRoot;\n  \
         specialArgs = (\n{special}\n);\n  \
         hostName = if hostName == \"\" then null else hostName;\n  \
         clanFile = if clanFile == \"\" then null else /. + clanFile;\n  \
         inventory = (\n{inventory}\n);\n  \
         inventoryDir = repoRoot;\n}}"
    );
    let output = Command::new("nix-instantiate")
        .current_dir(&repo)
        .args(["--store", "dummy://", "--eval", "--strict", "--json"])
        .args(["--expr", &expr])
        .args(["--argstr", "oracle", &oracle])
        .args(["--argstr", "modulesJson", &modules_json])
        .args(["--argstr", "repoRoot", &repo_str])
        .args(["--argstr", "hostName", opts.host.unwrap_or("")])
        .args(["--argstr", "clanFile", &clan_file])
        .output()
        .map_err(|e| format!("cannot run nix-instantiate: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "nix-instantiate failed ({}) for {modules:?}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "nix-instantiate printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn utf8<'p>(path: &'p Path, what: &str) -> Result<&'p str, String> {
    path.to_str()
        .ok_or_else(|| format!("{what} path is not UTF-8: {}", path.display()))
}

/// The comparable form of an [`effective_users`] result: every list sorted
/// (lists compare as multisets: DESIGN allows element order across modules
/// to change), absolute paths inside the repository made relative
/// (`"<repo>/keys/a.pub"` -> `"./keys/a.pub"`, the repository itself `"."`)
/// and the top-level `repoRoot` dropped. Idempotent.
pub fn normalise(v: &Value) -> Value {
    let root = v
        .get("repoRoot")
        .and_then(Value::as_str)
        .map(|r| r.trim_end_matches('/').to_owned())
        .filter(|r| !r.is_empty());
    let mut out = normalise_in(v, root.as_deref());
    if let Value::Object(map) = &mut out {
        map.remove("repoRoot");
    }
    out
}

fn normalise_in(v: &Value, root: Option<&str>) -> Value {
    match v {
        Value::String(s) => Value::String(relativise(s, root)),
        Value::Array(items) => {
            let mut items: Vec<(String, Value)> = items
                .iter()
                .map(|x| {
                    let x = normalise_in(x, root);
                    (canonical(&x), x)
                })
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Array(items.into_iter().map(|(_, x)| x).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), normalise_in(x, root)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn relativise(s: &str, root: Option<&str>) -> String {
    match root {
        Some(root) if s == root => ".".to_owned(),
        Some(root) => match s.strip_prefix(root) {
            Some(rest) if rest.starts_with('/') => format!(".{rest}"),
            _ => s.to_owned(),
        },
        None => s.to_owned(),
    }
}

/// JSON text with object keys sorted, whatever map type serde_json uses.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// `None` when both evaluations have the same users (after [`normalise`]);
/// otherwise a readable report: per differing user, the attribute paths that
/// differ and both sides' whole value as pretty JSON.
pub fn users_diff(before: &Value, after: &Value) -> Option<String> {
    let before = normalise(before);
    let after = normalise(after);
    let mut report = String::new();
    for section in ["users", "home-manager"] {
        let empty = Map::new();
        let b = before
            .get(section)
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let a = after
            .get(section)
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let names: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for name in names {
            let (bv, av) = (b.get(name.as_str()), a.get(name.as_str()));
            if bv == av {
                continue;
            }
            let _ = writeln!(report, "{section}.{name:?} differs:");
            let mut paths = Vec::new();
            diff_paths(bv, av, &format!("{section}.{name}"), &mut paths);
            for p in paths {
                let _ = writeln!(report, "  {p}");
            }
            let _ = writeln!(report, "  --- before\n{}", indent(&pretty(bv)));
            let _ = writeln!(report, "  +++ after\n{}", indent(&pretty(av)));
        }
    }
    (!report.is_empty()).then_some(report)
}

/// Panics with [`users_diff`]'s report unless both evaluations have the same
/// users and home-manager users (lists compared as multisets, paths
/// repo-relative).
#[track_caller]
pub fn assert_same_users(before: &Value, after: &Value) {
    if let Some(report) = users_diff(before, after) {
        panic!("effective users changed:\n{report}");
    }
}

/// The password options a Clan `users` service instance supersedes: the
/// migration keeps the password through `clan vars set`, and the service
/// sets `hashedPasswordFile` to the generated secret.
pub const SUPERSEDED_PASSWORD_OPTIONS: [&str; 5] = [
    "hashedPassword",
    "initialHashedPassword",
    "password",
    "initialPassword",
    "hashedPasswordFile",
];

/// `before` and `after` without [`SUPERSEDED_PASSWORD_OPTIONS`] for every
/// user in `after`'s `clanServiceUsers` (the users a `users` service
/// instance defines after the migration); everything else untouched.
pub fn supersede_service_passwords(before: &Value, after: &Value) -> (Value, Value) {
    let service_users: Vec<String> = after
        .get("clanServiceUsers")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(users) = v.get_mut("users").and_then(Value::as_object_mut) {
            for name in &service_users {
                if let Some(Value::Object(user)) = users.get_mut(name) {
                    for option in SUPERSEDED_PASSWORD_OPTIONS {
                        user.remove(option);
                    }
                }
            }
        }
        v
    };
    (strip(before), strip(after))
}

/// [`users_diff`] for a migration to the Clan `users` service: password
/// options of the users the service defines after are not compared (see
/// [`supersede_service_passwords`]); every other attribute is.
pub fn users_diff_with_service(before: &Value, after: &Value) -> Option<String> {
    let (before, after) = supersede_service_passwords(before, after);
    users_diff(&before, &after)
}

/// Panics with [`users_diff_with_service`]'s report unless the users are
/// the same up to superseded password options.
#[track_caller]
pub fn assert_same_users_with_service(before: &Value, after: &Value) {
    if let Some(report) = users_diff_with_service(before, after) {
        panic!("effective users changed:\n{report}");
    }
}

fn diff_paths(b: Option<&Value>, a: Option<&Value>, path: &str, out: &mut Vec<String>) {
    match (b, a) {
        (Some(Value::Object(bm)), Some(Value::Object(am))) => {
            let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
            for k in keys {
                let (bv, av) = (bm.get(k.as_str()), am.get(k.as_str()));
                if bv != av {
                    diff_paths(bv, av, &format!("{path}.{k}"), out);
                }
            }
        }
        _ => out.push(format!("{path}: {} -> {}", compact(b), compact(a))),
    }
}

fn compact(v: Option<&Value>) -> String {
    v.map_or_else(|| "<absent>".to_owned(), canonical)
}

fn pretty(v: Option<&Value>) -> String {
    v.map_or_else(
        || "<absent>".to_owned(),
        |v| serde_json::to_string_pretty(v).unwrap_or_else(|_| canonical(v)),
    )
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
