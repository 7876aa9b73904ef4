//! `verify --eval`: ask Nix for every host's `config.users.users` at the
//! revision and in the work tree, and compare them per host, user and
//! attribute.
//!
//! Each side is copied into a temporary directory (see [`crate::nix`]) and
//! evaluated with one `nix eval` returning every `nixosConfigurations`
//! host's users at once; only when that fails is each host evaluated on
//! its own, so the failure can name the host. A side Nix cannot evaluate
//! is a [`EvalFailure`], never "unchanged".
//!
//! Values are made plain data inside Nix first: derivations (`shell =
//! pkgs.bash`, `packages`) become `<derivation NAME>`, other values with an
//! `outPath` that path, functions are dropped; store paths of flake
//! sources (`${self}`, `toString ./keys`) become `<source>`, since a
//! migrated tree is a new source with a new hash. Lists compare as
//! multisets: NixOS concatenates list options in module order, and moving
//! a definition to a shared module may reorder them ([`EvalReport::reordered`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::VerifyError;
use crate::nix::{self, CopyError, FlakeCopy, NixError};

/// Maps a flake's `nixosConfigurations` to each host's users as plain data.
const CLEAN: &str = r#"let
  clean = depth: v:
    if depth > 64 then "<too deep>"
    else if builtins.isList v then
      map (clean (depth + 1)) (builtins.filter (x: !builtins.isFunction x) v)
    else if builtins.isAttrs v then
      if (v.type or null) == "derivation" then "<derivation ${v.name or "?"}>"
      else if v ? outPath then toString v.outPath
      else builtins.listToAttrs (builtins.concatMap (n:
        let x = v.${n}; in
        if builtins.isFunction x then [ ] else [ { name = n; value = clean (depth + 1) x; } ]
      ) (builtins.attrNames v))
    else v;
  users = c: builtins.mapAttrs (_: clean 0) c.config.users.users;
in"#;

/// Which tree a result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// The revision compared with.
    Before,
    /// The work tree.
    After,
}

/// Something that kept Nix from evaluating one side (of one host, or of
/// the whole flake).
#[derive(Debug, Clone)]
pub struct EvalFailure {
    pub side: Side,
    /// `None`: the whole flake (no host could be listed).
    pub host: Option<String>,
    pub error: EvalError,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum EvalError {
    #[error(
        "no flake.nix: --eval compares the flake's nixosConfigurations; drop --eval for a configuration without a flake"
    )]
    NoFlake,
    #[error(
        "the flake has no nixosConfigurations, so there is nothing for Nix to compare; drop --eval"
    )]
    NoHosts,
    #[error(transparent)]
    Nix(#[from] NixError),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

/// A user attribute whose evaluated value differs.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalDifference {
    pub host: String,
    /// `None`: the host itself is missing on one side.
    pub user: Option<String>,
    /// The attribute path below the user (empty: the whole user).
    pub path: Vec<String>,
    /// `None`: absent on that side.
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// What `verify --eval` found.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    /// The revision compared with, as `abc1234 (main)`.
    pub against: String,
    /// Hosts evaluated on both sides (and so compared), sorted.
    pub compared: Vec<String>,
    pub differences: Vec<EvalDifference>,
    /// `(host, user, path)` of lists with the same elements in another
    /// order: not a difference, but worth a note.
    pub reordered: Vec<(String, String, Vec<String>)>,
    pub failures: Vec<EvalFailure>,
}

impl EvalReport {
    /// Nix could evaluate every host on both sides and found no difference.
    pub fn agrees(&self) -> bool {
        self.failures.is_empty() && self.differences.is_empty() && !self.compared.is_empty()
    }
}

/// Per host, per user, the evaluated `users.users.<user>`.
type Users = BTreeMap<String, BTreeMap<String, Value>>;

/// One side's result: the hosts Nix evaluated and those it could not.
struct Evaluated {
    users: Users,
    failures: Vec<(Option<String>, EvalError)>,
}

/// Compares every host's evaluated `config.users.users` in the work tree
/// of the repository containing `dir` with `against` (default, as for
/// [`super::verify_against`]: where this branch left another local
/// branch, else HEAD~).
pub fn verify_eval(dir: &Path, against: Option<&str>) -> Result<EvalReport, VerifyError> {
    let (repo, prefix) = super::open_repo(dir)?;
    let (commit, against) = super::against_commit(&repo, against)?;
    let tree = commit.tree()?;
    // git2 objects stay on this thread; the copies are plain directories.
    let before = FlakeCopy::of_tree(&repo, &tree, &prefix);
    let after = FlakeCopy::of_worktree(&repo, &prefix);
    let (before, after) = rayon::join(|| evaluate_copy(before), || evaluate_copy(after));
    Ok(EvalReport {
        against,
        ..compare(before, after)
    })
}

fn evaluate_copy(copy: Result<FlakeCopy, CopyError>) -> Evaluated {
    match copy {
        Ok(c) => evaluate(&c),
        Err(e) => Evaluated {
            users: Users::new(),
            failures: vec![(None, e.into())],
        },
    }
}

/// Every host's users in one evaluation; host by host when that fails.
fn evaluate(copy: &FlakeCopy) -> Evaluated {
    let whole = |error: EvalError| Evaluated {
        users: Users::new(),
        failures: vec![(None, error)],
    };
    if !copy.path().join("flake.nix").is_file() {
        return whole(EvalError::NoFlake);
    }
    let flake = copy.flake_ref();
    let all = nix::eval_json(
        &flake,
        "nixosConfigurations",
        &format!("{CLEAN} cs: builtins.mapAttrs (_: users) cs"),
    );
    match all.and_then(|v| parse_users(v, None)) {
        Ok(users) if users.is_empty() => whole(EvalError::NoHosts),
        Ok(users) => Evaluated {
            users,
            failures: Vec::new(),
        },
        Err(all_failed) => {
            let names = match nix::eval_json(&flake, "nixosConfigurations", "builtins.attrNames") {
                Ok(v) => serde_json::from_value::<Vec<String>>(v)
                    .map_err(|e| NixError::Output(e.to_string())),
                Err(e) => Err(e),
            };
            let names = match names {
                Ok(n) if n.is_empty() => return whole(EvalError::NoHosts),
                Ok(n) => n,
                // Not even the host names: the whole flake fails, and
                // the first error says why.
                Err(_) => return whole(all_failed.into()),
            };
            use rayon::prelude::*;
            let results: Vec<(String, Result<Users, NixError>)> = names
                .into_par_iter()
                .map(|h| {
                    let apply = format!(
                        "{CLEAN} cs: {{ {name} = users cs.{name}; }}",
                        name = nix::string_literal(&h)
                    );
                    let r = nix::eval_json(&flake, "nixosConfigurations", &apply)
                        .and_then(|v| parse_users(v, Some(&h)));
                    (h, r)
                })
                .collect();
            let mut out = Evaluated {
                users: Users::new(),
                failures: Vec::new(),
            };
            for (host, r) in results {
                match r {
                    Ok(u) => out.users.extend(u),
                    Err(e) => out.failures.push((Some(host), e.into())),
                }
            }
            out
        }
    }
}

/// Nix's JSON as hosts -> users -> value, with source store paths
/// replaced by `<source>`.
fn parse_users(v: Value, only: Option<&str>) -> Result<Users, NixError> {
    let Value::Object(hosts) = v else {
        return Err(NixError::Output(
            "expected an attribute set of hosts".into(),
        ));
    };
    let mut out = Users::new();
    for (host, users) in hosts {
        if only.is_some_and(|o| o != host) {
            continue;
        }
        let Value::Object(users) = users else {
            return Err(NixError::Output(format!(
                "host `{host}`: users.users is not an attribute set"
            )));
        };
        out.insert(
            host,
            users
                .into_iter()
                .map(|(u, mut v)| {
                    normalise(&mut v);
                    (u, v)
                })
                .collect(),
        );
    }
    Ok(out)
}

/// Replaces `/nix/store/<hash>-source` (a flake's source, whose hash
/// changes with any file of the tree) by `<source>` in every string.
fn normalise(v: &mut Value) {
    match v {
        Value::String(s) if s.contains("/nix/store/") => *s = replace_sources(s),
        Value::Array(items) => items.iter_mut().for_each(normalise),
        Value::Object(map) => map.values_mut().for_each(normalise),
        _ => {}
    }
}

fn replace_sources(s: &str) -> String {
    const STORE: &str = "/nix/store/";
    const HASH: usize = 32;
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(STORE) {
        out.push_str(&rest[..i]);
        let after = &rest[i + STORE.len()..];
        let is_source = after.len() >= HASH + 7
            && after.as_bytes()[..HASH]
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && after[HASH..].starts_with("-source")
            && !after[HASH + 7..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || "-_.+?=".contains(c));
        if is_source {
            out.push_str("<source>");
            rest = &after[HASH + 7..];
        } else {
            out.push_str(STORE);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn compare(before: Evaluated, after: Evaluated) -> EvalReport {
    let mut report = EvalReport::default();
    for (side, e) in [(Side::Before, &before), (Side::After, &after)] {
        for (host, error) in &e.failures {
            report.failures.push(EvalFailure {
                side,
                host: host.clone(),
                error: error.clone(),
            });
        }
    }
    let failed = |e: &Evaluated, h: &str| {
        e.failures
            .iter()
            .any(|(f, _)| f.is_none() || f.as_deref() == Some(h))
    };
    let hosts: BTreeSet<&String> = before.users.keys().chain(after.users.keys()).collect();
    let empty = BTreeMap::new();
    for host in hosts {
        if failed(&before, host) || failed(&after, host) {
            continue;
        }
        let (b, a) = (before.users.get(host), after.users.get(host));
        if b.is_none() || a.is_none() {
            report.differences.push(EvalDifference {
                host: host.clone(),
                user: None,
                path: Vec::new(),
                before: b.map(|_| Value::String("<host>".into())),
                after: a.map(|_| Value::String("<host>".into())),
            });
            continue;
        }
        report.compared.push(host.clone());
        let (b, a) = (b.unwrap_or(&empty), a.unwrap_or(&empty));
        let users: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for user in users {
            let mut at = At {
                host,
                user,
                path: Vec::new(),
                report: &mut report,
            };
            at.diff(b.get(user), a.get(user));
        }
    }
    report
}

/// Where in the comparison we are, and where findings go.
struct At<'a> {
    host: &'a str,
    user: &'a str,
    path: Vec<String>,
    report: &'a mut EvalReport,
}

impl At<'_> {
    fn diff(&mut self, before: Option<&Value>, after: Option<&Value>) {
        match (before, after) {
            (Some(Value::Object(b)), Some(Value::Object(a))) => {
                let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
                for k in keys {
                    self.path.push(k.clone());
                    self.diff(b.get(k), a.get(k));
                    self.path.pop();
                }
            }
            (Some(Value::Array(b)), Some(Value::Array(a))) if b != a => {
                if sorted(b) == sorted(a) {
                    self.report.reordered.push((
                        self.host.to_string(),
                        self.user.to_string(),
                        self.path.clone(),
                    ));
                } else {
                    self.push(before, after);
                }
            }
            (b, a) if b != a => self.push(b, a),
            _ => {}
        }
    }

    fn push(&mut self, before: Option<&Value>, after: Option<&Value>) {
        self.report.differences.push(EvalDifference {
            host: self.host.to_string(),
            user: Some(self.user.to_string()),
            path: self.path.clone(),
            before: before.cloned(),
            after: after.cloned(),
        });
    }
}

/// A list's elements in a canonical order (by their JSON text; objects'
/// keys are sorted already).
fn sorted(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(Value::to_string).collect();
    v.sort();
    v
}

impl EvalDifference {
    /// `users.users.alice.extraGroups`, or `nixosConfigurations.gamma`.
    pub fn attribute(&self) -> String {
        match &self.user {
            None => format!(
                "nixosConfigurations.{}",
                crate::analyse::dotted(std::slice::from_ref(&self.host))
            ),
            Some(u) => {
                let mut p = vec!["users".to_string(), "users".to_string(), u.clone()];
                p.extend(self.path.iter().cloned());
                crate::analyse::dotted(&p)
            }
        }
    }

    /// `before → after`, each side shortened; for two lists, the elements
    /// one has and the other lacks.
    pub fn change(&self) -> String {
        const WIDTH: usize = 60;
        let show = |v: &Option<Value>| match v {
            None => "absent".to_string(),
            Some(v) => shorten(&v.to_string(), WIDTH),
        };
        if let (Some(Value::Array(b)), Some(Value::Array(a))) = (&self.before, &self.after) {
            let (b, a) = (sorted(b), sorted(a));
            let mut removed = Vec::new();
            let mut added = a.clone();
            for x in &b {
                match added.iter().position(|y| y == x) {
                    Some(i) => {
                        added.remove(i);
                    }
                    None => removed.push(x.clone()),
                }
            }
            let list = |xs: &[String]| {
                xs.iter()
                    .map(|x| shorten(x, WIDTH))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return match (removed.is_empty(), added.is_empty()) {
                (false, true) => format!("lost {}", list(&removed)),
                (true, false) => format!("gained {}", list(&added)),
                _ => format!("lost {}; gained {}", list(&removed), list(&added)),
            };
        }
        format!("{} → {}", show(&self.before), show(&self.after))
    }
}

/// `s` cut to about `width` characters, keeping its start and its end
/// (where ssh keys and paths differ).
fn shorten(s: &str, width: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= width {
        return s.to_string();
    }
    let head = width * 2 / 3;
    let tail = width - head - 1;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

impl std::fmt::Display for EvalDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {}: {}: {}",
            self.host,
            self.attribute(),
            self.change()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn side(hosts: Value) -> Evaluated {
        Evaluated {
            users: parse_users(hosts, None).unwrap(),
            failures: Vec::new(),
        }
    }

    #[test]
    fn source_store_paths_are_replaced() {
        let h = "0123456789abcdfghijklmnpqrsvwxyz";
        assert_eq!(
            replace_sources(&format!("/nix/store/{h}-source/keys/a.pub")),
            "<source>/keys/a.pub"
        );
        assert_eq!(
            replace_sources(&format!("/nix/store/{h}-bash-5.2/bin/bash")),
            format!("/nix/store/{h}-bash-5.2/bin/bash")
        );
        assert_eq!(
            replace_sources(&format!("/nix/store/{h}-sourcehut")),
            format!("/nix/store/{h}-sourcehut")
        );
    }

    #[test]
    fn differences_name_host_user_and_attribute() {
        let before = side(json!({
            "alpha": { "alice": { "uid": 1000, "extraGroups": ["wheel", "docker"] } },
            "beta": { "alice": { "uid": 1000 } },
        }));
        let after = side(json!({
            "alpha": { "alice": { "uid": 1001, "extraGroups": ["docker", "wheel"] } },
            "beta": { "alice": { "uid": 1000 }, "bob": { "uid": 7 } },
        }));
        let r = compare(before, after);
        assert_eq!(r.compared, ["alpha", "beta"]);
        let lines: Vec<String> = r.differences.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            [
                "host alpha: users.users.alice.uid: 1000 → 1001",
                "host beta: users.users.bob: absent → {\"uid\":7}",
            ]
        );
        assert_eq!(
            r.reordered,
            [(
                "alpha".into(),
                "alice".into(),
                vec!["extraGroups".to_string()]
            )]
        );
        assert!(!r.agrees());
    }

    #[test]
    fn list_differences_say_what_was_lost_and_gained() {
        let before = side(json!({ "a": { "u": { "g": ["wheel", "docker"] } } }));
        let after = side(json!({ "a": { "u": { "g": ["audio", "wheel"] } } }));
        let r = compare(before, after);
        assert_eq!(
            r.differences[0].to_string(),
            "host a: users.users.u.g: lost \"docker\"; gained \"audio\""
        );
    }

    #[test]
    fn a_failed_host_is_not_compared_and_not_unchanged() {
        let before = side(json!({ "a": { "u": {} }, "b": { "u": {} } }));
        let mut after = side(json!({ "a": { "u": {} } }));
        after.failures.push((
            Some("b".into()),
            NixError::Failed("error: boom".into()).into(),
        ));
        let r = compare(before, after);
        assert_eq!(r.compared, ["a"]);
        assert!(r.differences.is_empty());
        assert_eq!(r.failures.len(), 1);
        assert!(!r.agrees());
    }

    #[test]
    fn long_values_keep_both_ends() {
        let s =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIu8jzPde0IgxLd6GncfBAepfJBd0Kh8oO alice@laptop";
        let short = shorten(s, 40);
        assert_eq!(short.chars().count(), 40);
        assert!(short.starts_with("ssh-ed25519"));
        assert!(short.ends_with("alice@laptop"));
    }
}
