//! Verify: a changed file must parse and bind no attribute twice, and
//! every host's effective users must be what they were. "Effective" is the
//! merged view the module system computes: per host, per user and
//! attribute path, the multiset of definitions (list options as the
//! multiset of their elements, since NixOS concatenates them).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use rnix::Root;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use crate::analyse::dotted;
use crate::discover::Host;
use crate::index::{UserName, UserOption, Wrapper};
use crate::load::ModuleGraph;
use crate::syntax::{AttrName, attr_name, strip_parens};

pub mod eval;

/// One host's users: per (option, user), attribute path -> sorted
/// definitions. Borrowed from the module graph, so building it copies no
/// text.
pub type HostUsers<'g> = BTreeMap<(UserOption, Cow<'g, str>), BTreeMap<&'g [String], Vec<Def<'g>>>>;

/// Per host, its effective users.
pub type Effective<'g> = BTreeMap<String, HostUsers<'g>>;

/// One definition of an attribute, as the module system merges it. Two
/// are equal exactly when their written forms are: `element E`,
/// `[conditional-import|]W,W|VALUE` and `[conditional-import|]W,W|empty`
/// (a value `empty` is written as an empty definition is, so it is one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Def<'g> {
    /// An element of a list option, which NixOS concatenates.
    Element(&'g str),
    /// A value, behind its wrappers (the definition's, then the leaf's).
    Value {
        conditional: bool,
        wrappers: Vec<&'g Wrapper>,
        value: &'g str,
    },
    /// An empty definition (`alice = { };`).
    Empty {
        conditional: bool,
        wrappers: Vec<&'g Wrapper>,
    },
}

impl Def<'_> {
    /// Whether its written form ends in `|empty` and holds no `(` (a
    /// wrapper is written `If(…)`): an empty definition that adds nothing
    /// once the user has any attribute.
    fn adds_nothing(&self) -> bool {
        let plain = |v: &str| v.ends_with("|empty") && !v.contains('(');
        match self {
            Def::Element(e) => plain(e),
            Def::Value {
                wrappers, value, ..
            } => wrappers.is_empty() && plain(&format!("|{value}")),
            Def::Empty { wrappers, .. } => wrappers.is_empty(),
        }
    }
}

pub fn effective<'g>(
    hosts: &[Host],
    graph: &'g ModuleGraph,
    only: Option<&BTreeSet<String>>,
) -> Effective<'g> {
    use rayon::prelude::*;
    hosts
        .par_iter()
        .filter(|h| only.is_none_or(|o| o.contains(&h.name)))
        .map(|h| (h.name.clone(), host_effective(graph, h)))
        .collect()
}

/// One host's effective users.
fn host_effective<'g>(graph: &'g ModuleGraph, host: &Host) -> HostUsers<'g> {
    let mut users = HostUsers::new();
    for (id, conditional) in graph.closure(&graph.roots(host)) {
        for def in &graph.modules[id].definitions {
            let name = match &def.user {
                UserName::Static(n) => Cow::Borrowed(n.as_str()),
                UserName::Computed(t) | UserName::Generated(t) => {
                    Cow::Owned(format!("dynamic {t}"))
                }
            };
            let attrs = users.entry((def.option, name)).or_default();
            if def.leaves.is_empty() {
                attrs.entry(&[][..]).or_default().push(Def::Empty {
                    conditional,
                    wrappers: def.wrappers.iter().collect(),
                });
            }
            for leaf in &def.leaves {
                let wrapped = !def.wrappers.is_empty() || !leaf.wrappers.is_empty() || conditional;
                let slot = attrs.entry(&*leaf.path).or_default();
                match &leaf.elements {
                    Some(els) if !wrapped && def.option.is_list_option(&leaf.path) => {
                        slot.extend(els.iter().map(|e| Def::Element(e.as_str())));
                    }
                    _ => {
                        let wrappers = def.wrappers.iter().chain(&leaf.wrappers).collect();
                        slot.push(if leaf.value == "empty" {
                            Def::Empty {
                                conditional,
                                wrappers,
                            }
                        } else {
                            Def::Value {
                                conditional,
                                wrappers,
                                value: &leaf.value,
                            }
                        });
                    }
                }
            }
        }
    }
    for attrs in users.values_mut() {
        for v in attrs.values_mut() {
            v.sort_unstable();
        }
        // An empty definition (`alice = { };`) adds nothing once the
        // user has any attribute.
        if attrs.len() > 1 {
            attrs.retain(|path, defs| !(path.is_empty() && defs.iter().all(Def::adds_nothing)));
        }
    }
    users
}

/// The users a Clan `users` instance defines in `graph`.
pub fn service_users(graph: &ModuleGraph) -> BTreeSet<&str> {
    graph
        .inventories
        .iter()
        .flat_map(|i| i.service_users())
        .collect()
}

/// Forgets, on both sides, the passwords of every user a Clan `users`
/// instance defines on `after`'s side: the service supersedes them with
/// its generated password (the plan says how to keep the old one), and
/// nothing else about the user may change.
pub fn supersede_passwords(
    before: &mut Effective<'_>,
    after: &mut Effective<'_>,
    graph: &ModuleGraph,
) {
    let service = service_users(graph);
    for users in before.values_mut() {
        forget_passwords(users, &service);
    }
    for users in after.values_mut() {
        forget_passwords(users, &service);
    }
}

fn forget_passwords(users: &mut HostUsers<'_>, service: &BTreeSet<&str>) {
    if service.is_empty() {
        return;
    }
    for ((option, name), attrs) in users.iter_mut() {
        if *option == UserOption::Users && service.contains(name.as_ref()) {
            // The superseded passwords, and the file the service sets instead.
            attrs.retain(|path, _| {
                !(path.len() == 1
                    && (crate::inventory::PASSWORD_ATTRS.contains(&path[0].as_str())
                        || path[0] == "hashedPasswordFile"))
            });
        }
    }
}

/// The users whose effective definitions differ, on any host.
pub fn changed_users(before: &Effective, after: &Effective) -> BTreeSet<(UserOption, String)> {
    let mut out = BTreeSet::new();
    let empty = BTreeMap::new();
    for host in before.keys().chain(after.keys()) {
        let b = before.get(host).unwrap_or(&empty);
        let a = after.get(host).unwrap_or(&empty);
        for key in b.keys().chain(a.keys()) {
            if b.get(key) != a.get(key) {
                out.insert((key.0, key.1.to_string()));
            }
        }
    }
    out
}

/// Human lines describing how `after` differs from `before`.
pub fn differences(before: &Effective, after: &Effective) -> Vec<String> {
    let mut out = Vec::new();
    let empty = BTreeMap::new();
    for (host, users_before) in before {
        let users_after = after.get(host).unwrap_or(&empty);
        let keys: BTreeSet<&(UserOption, Cow<str>)> =
            users_before.keys().chain(users_after.keys()).collect();
        for key in keys {
            let none = BTreeMap::new();
            let b = users_before.get(key).unwrap_or(&none);
            let a = users_after.get(key).unwrap_or(&none);
            if a == b {
                continue;
            }
            let paths: BTreeSet<&&[String]> = b.keys().chain(a.keys()).collect();
            for p in paths {
                if b.get(p) != a.get(p) {
                    out.push(format!(
                        "host {host}: {}.{}.{} changed: {} definition(s) before, {} after",
                        key.0.as_str(),
                        key.1,
                        dotted(p),
                        b.get(p).map_or(0, Vec::len),
                        a.get(p).map_or(0, Vec::len),
                    ));
                }
            }
        }
    }
    out
}

/// How the effective users of some hosts differ between two graphs:
/// what `changed_users` and `differences` say of their `effective`, one
/// host at a time, so no fleet-wide map is ever held.
#[derive(Debug, Default)]
pub struct Comparison {
    pub changed: BTreeSet<(UserOption, String)>,
    /// As `differences` words them, by host.
    pub lines: Vec<String>,
}

pub fn compare(
    hosts: &[Host],
    before: &ModuleGraph,
    after: &ModuleGraph,
    only: Option<&BTreeSet<String>>,
) -> Comparison {
    use rayon::prelude::*;
    // By name, the last host of a name standing, as in `effective`.
    let mut by_name: BTreeMap<&str, &Host> = BTreeMap::new();
    for h in hosts {
        if only.is_none_or(|o| o.contains(&h.name)) {
            by_name.insert(&h.name, h);
        }
    }
    // Passwords the users service supersedes are not compared.
    let service = service_users(after);
    let per_host: Vec<Comparison> = by_name
        .par_iter()
        .map(|(name, h)| {
            let (mut hb, mut ha) = (host_effective(before, h), host_effective(after, h));
            forget_passwords(&mut hb, &service);
            forget_passwords(&mut ha, &service);
            let b = BTreeMap::from([(name.to_string(), hb)]);
            let a = BTreeMap::from([(name.to_string(), ha)]);
            if b == a {
                return Comparison::default();
            }
            Comparison {
                changed: changed_users(&b, &a),
                lines: differences(&b, &a),
            }
        })
        .collect();
    let mut out = Comparison::default();
    for c in per_host {
        out.changed.extend(c.changed);
        out.lines.extend(c.lines);
    }
    out
}

/// A changed file must parse and must not bind an attribute twice (which
/// rnix accepts and Nix rejects).
pub fn check_text(text: &str) -> Result<(), String> {
    check_parse(text, &Root::parse(text))
}

/// `check_text` on a parse the caller has already.
pub fn check_parse(text: &str, parse: &rnix::Parse<Root>) -> Result<(), String> {
    if let Some(e) = parse.errors().first() {
        return Err(format!("it would not parse: {e}"));
    }
    if crate::syntax::malformed(text, &parse.syntax()).is_some() {
        return Err("it would hold a path or string Nix rejects".into());
    }
    for node in parse.syntax().descendants() {
        if let Some(set) = ast::AttrSet::cast(node.clone()) {
            duplicates(&set)?;
        } else if let Some(l) = ast::LetIn::cast(node) {
            duplicates(&l)?;
        }
    }
    Ok(())
}

fn duplicates<N: HasEntry>(node: &N) -> Result<(), String> {
    // Two bindings can clash only when their paths start with the same
    // name; most sets have none such, and telling so needs no names
    // written out. A name that is not a plain identifier counts as
    // possibly shared.
    let mut first: Vec<Option<rowan::SyntaxToken<rnix::NixLanguage>>> = Vec::new();
    for entry in node.entries() {
        match &entry {
            ast::Entry::AttrpathValue(av) => {
                first.push(
                    av.attrpath()
                        .and_then(|p| p.attrs().next())
                        .and_then(|a| match a {
                            ast::Attr::Ident(i) => i.ident_token(),
                            _ => None,
                        }),
                );
            }
            ast::Entry::Inherit(_) => first.push(None),
        }
    }
    if first.iter().all(Option::is_some) {
        let mut names: Vec<&str> = first.iter().flatten().map(|t| t.text()).collect();
        names.sort_unstable();
        if names.windows(2).all(|w| w[0] != w[1]) {
            return Ok(());
        }
    }
    // Each path bound: whether its value is a set literal (which may merge).
    let mut bound: Vec<(Vec<String>, bool)> = Vec::new();
    for entry in node.entries() {
        let (paths, is_set): (Vec<Vec<String>>, bool) = match &entry {
            ast::Entry::AttrpathValue(av) => {
                let Some(path) = av.attrpath() else { continue };
                let names: Option<Vec<String>> = path
                    .attrs()
                    .map(|a| match attr_name(&a) {
                        AttrName::Static(s) => Some(s),
                        AttrName::Dynamic(_) => None,
                    })
                    .collect();
                let Some(names) = names else { continue };
                let is_set = matches!(av.value().map(strip_parens), Some(ast::Expr::AttrSet(s)) if s.rec_token().is_none());
                (vec![names], is_set)
            }
            ast::Entry::Inherit(inh) => (
                inh.attrs()
                    .filter_map(|a| attr_name(&a).as_static().map(|s| vec![s.to_string()]))
                    .collect(),
                false,
            ),
        };
        for p in paths {
            for (q, q_set) in &bound {
                let (short, short_set, long) = if q.len() <= p.len() {
                    (q, *q_set, &p)
                } else {
                    (&p, is_set, q)
                };
                if long.starts_with(short) {
                    let mergeable = if short.len() == long.len() {
                        is_set && *q_set
                    } else {
                        short_set
                    };
                    if !mergeable {
                        return Err(format!(
                            "attribute `{}` would be defined twice",
                            p.join(".")
                        ));
                    }
                }
            }
            bound.push((p, is_set));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_text;

    /// `compare` says what `changed_users` and `differences` say of the
    /// whole fleet's `effective`.
    #[test]
    fn compare_agrees_with_effective() {
        use crate::fs::{DiskFs, Fs, Overlay};
        use std::path::{Path, PathBuf};
        let dir = Path::new("testdata/example");
        let disk = DiskFs::new(dir);
        let discovery = crate::discover::discover(dir, &Default::default());
        let before = crate::load::load(&disk, &discovery, &crate::load::Silent);
        let alpha = PathBuf::from("hosts/alpha/default.nix");
        let text = disk.read(&alpha).unwrap();
        let edits = [
            ("\"networkmanager\"", "\"audio\""),
            ("shell = pkgs.zsh;", "shell = pkgs.fish;"),
            ("users.users.bob.isNormalUser = true;", ""),
            ("shell = pkgs.zsh;", "shell = lib.mkForce pkgs.zsh;"),
        ];
        for (from, to) in edits {
            assert!(text.contains(from));
            let mut overlay = Overlay::new(&disk);
            overlay.set(alpha.clone(), Some(text.replacen(from, to, 1).into()));
            let after = crate::load::load(&overlay, &discovery, &crate::load::Silent);
            let hosts = &discovery.hosts;
            for only in [None, Some(&["alpha".to_string()].into())] {
                let b = super::effective(hosts, &before, only);
                let a = super::effective(hosts, &after, only);
                let c = super::compare(hosts, &before, &after, only);
                assert!(!c.changed.is_empty(), "{to}");
                assert_eq!(c.changed, super::changed_users(&b, &a));
                assert_eq!(c.lines, super::differences(&b, &a));
            }
            let same = super::compare(&discovery.hosts, &before, &before, None);
            assert!(same.changed.is_empty() && same.lines.is_empty());
        }
    }

    #[test]
    fn duplicate_attributes_are_found_like_nix_does() {
        assert!(check_text("{ a = { x = 1; }; a.y = 2; }").is_ok());
        assert!(check_text("{ a.y = 2; a = { x = 1; }; }").is_ok());
        assert!(check_text("{ a = 1; a.y = 2; }").is_err());
        assert!(check_text("{ a.x = 1; a.x = 2; }").is_err());
        assert!(check_text("let a = 1; a = 2; in a").is_err());
        assert!(check_text("{ inherit a; a = 1; }").is_err());
        assert!(check_text("{ a = ").is_err());
        assert!(check_text("{ inherit a a; }").is_err());
        assert!(check_text("{ a.b = 1; \"a\".b = 2; }").is_err());
        assert!(check_text("{ a = 1; b = 2; c.d = 3; }").is_ok());
    }
}

/// What `verify --against REV` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The revision compared with, as `abc1234 (main)`.
    pub against: String,
    pub hosts: usize,
    pub differences: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "{0}: not inside a git repository; verify compares with a revision (run `git init` and commit first)"
    )]
    NotARepository(std::path::PathBuf),
    #[error("cannot resolve revision `{rev}`: {message}")]
    BadRevision { rev: String, message: String },
    #[error(
        "no revision to compare with: HEAD has no parent and no other branch; pass --against REV"
    )]
    NoBase,
    #[error(
        "the repository has no commits yet, so there is nothing to compare with; commit the configuration first"
    )]
    NoCommits,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("the work tree has errors: {0}")]
    Broken(String),
}

/// Compares every host's effective users in the work tree with `against`
/// (default: where this branch left another local branch, else HEAD~).
pub fn verify_against(
    dir: &std::path::Path,
    against: Option<&str>,
    opts: &crate::ScanOptions,
) -> Result<VerifyReport, VerifyError> {
    let (repo, prefix) = open_repo(dir)?;
    let (commit, label) = against_commit(&repo, against)?;
    let tree = commit.tree()?;
    let old = crate::gitfs::GitFs::from_tree(&repo, &tree, &prefix)?;
    let discovery = crate::discover::discover(dir, &opts.discover);
    let now = crate::load::load(
        &crate::fs::DiskFs::new(dir),
        &discovery,
        &crate::load::Silent,
    );
    // A host that cannot be found or a file that does not parse would
    // make the comparison meaningless: refuse, saying where.
    if let Some(e) = discovery
        .diagnostics
        .iter()
        .chain(&now.diagnostics)
        .find(|d| d.severity == crate::diagnostic::Severity::Error)
    {
        let at = e
            .location
            .as_ref()
            .map(|l| {
                format!(
                    "{}:{}:{}: ",
                    crate::source::display_path(&l.file),
                    l.start.line,
                    l.start.column
                )
            })
            .unwrap_or_default();
        return Err(VerifyError::Broken(format!("{at}{}", e.message)));
    }
    // Hosts whose files moved since (`--move-hosts`) are found in the
    // revision as it was, on a copy of its files.
    let moved = discovery
        .hosts
        .iter()
        .flat_map(|h| &h.modules)
        .any(|m| m.inline.is_none() && !crate::fs::Fs::is_file(&old, &m.file));
    let then;
    let old_discovery = if moved {
        let tmp = tempfile::tempdir().map_err(|e| VerifyError::Broken(e.to_string()))?;
        old.write_to(tmp.path())
            .map_err(|e| VerifyError::Broken(e.to_string()))?;
        then = crate::discover::discover(tmp.path(), &opts.discover);
        &then
    } else {
        &discovery
    };
    let before_graph = crate::load::load(&old, old_discovery, &crate::load::Silent);
    let mut before = effective(&old_discovery.hosts, &before_graph, None);
    let mut after = effective(&discovery.hosts, &now, None);
    supersede_passwords(&mut before, &mut after, &now);
    Ok(VerifyReport {
        against: label,
        hosts: discovery.hosts.len(),
        differences: differences(&before, &after),
    })
}

/// The repository holding `dir`, and `dir`'s path inside its work tree.
pub(crate) fn open_repo(
    dir: &std::path::Path,
) -> Result<(git2::Repository, std::path::PathBuf), VerifyError> {
    let repo = git2::Repository::discover(dir)
        .map_err(|_| VerifyError::NotARepository(dir.to_path_buf()))?;
    let workdir = repo
        .workdir()
        .ok_or_else(|| VerifyError::NotARepository(dir.to_path_buf()))?
        .to_path_buf();
    let abs = dir
        .canonicalize()
        .map_err(|_| VerifyError::NotARepository(dir.to_path_buf()))?;
    let prefix = abs
        .strip_prefix(workdir.canonicalize().unwrap_or(workdir.clone()))
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    Ok((repo, prefix))
}

/// The commit to compare with: `against`, or by default where this branch
/// left another local branch, else HEAD~; and how to name it
/// (`abc1234 (main)`).
pub(crate) fn against_commit<'r>(
    repo: &'r git2::Repository,
    against: Option<&str>,
) -> Result<(git2::Commit<'r>, String), VerifyError> {
    let (commit, label) = match against {
        Some(rev) => {
            let c = repo
                .revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map_err(|e| VerifyError::BadRevision {
                    rev: rev.to_string(),
                    message: e.message().to_string(),
                })?;
            (c, rev.to_string())
        }
        None => branch_point(repo)?,
    };
    let label = format!("{} ({label})", &commit.id().to_string()[..7]);
    Ok((commit, label))
}

/// The newest commit where HEAD's history meets another local branch's,
/// short of HEAD itself; else HEAD's first parent.
fn branch_point(repo: &git2::Repository) -> Result<(git2::Commit<'_>, String), VerifyError> {
    let head = match repo.head() {
        Ok(h) => h.peel_to_commit()?,
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => return Err(VerifyError::NoCommits),
        Err(e) => return Err(e.into()),
    };
    let mut best: Option<(git2::Commit<'_>, String)> = None;
    for branch in repo.branches(Some(git2::BranchType::Local))? {
        let (branch, _) = branch?;
        if branch.is_head() {
            continue;
        }
        let Some(name) = branch.name()?.map(str::to_string) else {
            continue;
        };
        let Ok(tip) = branch.get().peel_to_commit() else {
            continue;
        };
        let Ok(base) = repo.merge_base(head.id(), tip.id()) else {
            continue;
        };
        if base == head.id() {
            continue;
        }
        let base = repo.find_commit(base)?;
        if best
            .as_ref()
            .is_none_or(|(b, _)| base.time().seconds() > b.time().seconds())
        {
            best = Some((base, format!("branch point with {name}")));
        }
    }
    if let Some(b) = best {
        return Ok(b);
    }
    let parent = head.parent(0).map_err(|_| VerifyError::NoBase)?;
    Ok((parent, "HEAD~".to_string()))
}
