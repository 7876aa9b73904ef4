//! What moves for one repeated user, and the edits that move it: the
//! common part goes to a new shared module, each host keeps its residue and
//! imports the module. Every attribute that cannot move safely stays, with
//! the reason.

mod cleanup;
mod lift;
mod locate;
mod shared_service;

pub use cleanup::{cascade, comments_in_outside, import_splice, unused_bindings};
pub use locate::{Finder, find_node, module_top};
pub use shared_service::{importers, plan_shared_service};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rnix::ast;
use rnix::{Root, SyntaxNode};
use rowan::ast::AstNode;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::edit::{deletion, indent_at};
use super::extract::relative_path;
use super::print::{self, Entry};
use crate::analyse::{Placed, User, dotted};
use crate::canon::Canon;
use crate::fs::Fs;
use crate::index::{ImportTarget, Leaf, UserOption};
use crate::load::ModuleGraph;
use crate::source::SourceFile;
use crate::syntax::{Range, range_of};

/// Something that stays on a host, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stay {
    /// The attribute path below the user.
    pub attr: String,
    /// `None` when it stays on every host.
    pub host: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Stay {
    /// `extraGroups on beta: differs between hosts`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(h) = &self.host {
            write!(f, " on {h}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Where a repeated user goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `users/<name>/default.nix`, imported by each host.
    Module,
    /// A Clan `users` instance in the inventory, which lives in `dir`
    /// (paths in its settings are written relative to it).
    Service { dir: PathBuf },
}

fn is_password(path: &[String]) -> bool {
    path.len() == 1 && crate::inventory::PASSWORD_ATTRS.contains(&path[0].as_str())
}

/// A password written as a plain string, unwrapped: what the command
/// that keeps it can carry.
fn password_literal(s: &Site<'_>) -> Option<String> {
    ast::Str::cast(s.value.clone())
        .and_then(|v| crate::syntax::string_literal(&v))
        .filter(|_| s.leaf.wrappers.is_empty())
}

/// A password a host set, which the service supersedes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Password {
    pub host: String,
    pub attr: String,
    pub value: String,
}

/// What a move gives a Clan `users` instance: plain-data settings and
/// extra modules (element texts as the inventory will hold them).
#[derive(Debug, Clone, Default)]
pub struct ServiceMove {
    pub groups: Vec<String>,
    pub keys: Vec<String>,
    pub key_files: Vec<String>,
    /// Per host, groups only that host gave the user.
    pub machine_groups: BTreeMap<String, Vec<String>>,
    pub passwords: Vec<Password>,
    /// Paths relative to the inventory's directory.
    pub extra_modules: Vec<String>,
    /// Attributes the service sets itself, dropped from the hosts.
    pub dropped: Vec<String>,
}

impl ServiceMove {
    /// The same password literal on every host: the service can share one.
    pub fn shared_password(&self, hosts: &[String]) -> bool {
        let first = self.passwords.first();
        first.is_some_and(|f| {
            hosts.iter().all(|h| {
                self.passwords
                    .iter()
                    .any(|p| &p.host == h && p.attr == f.attr && p.value == f.value)
            }) && self
                .passwords
                .iter()
                .all(|p| p.attr == f.attr && p.value == f.value)
        })
    }
}

#[derive(Debug, Clone)]
pub struct UserMove {
    pub user: String,
    pub option: UserOption,
    pub hosts: Vec<String>,
    /// Attribute paths that move whole.
    pub moved: Vec<String>,
    /// List attributes whose common elements move, the rest staying.
    pub partial: Vec<String>,
    /// Lists that hosts wrote in different orders: on some hosts the
    /// order of the merged list changes.
    pub reordered: Vec<String>,
    pub stays: Vec<Stay>,
    pub new_file: PathBuf,
    pub new_text: String,
    /// Nodes to delete per file (bindings, list elements), by range in
    /// the file the move was planned on.
    pub deletions: BTreeMap<PathBuf, Vec<Range>>,
    /// Imports of the new module to add.
    pub import_adds: Vec<ImportAdd>,
    /// For the service target, what the instance gets.
    pub service: Option<ServiceMove>,
}

impl UserMove {
    /// The file the move creates, if any (a service move may put
    /// everything into the instance).
    pub fn created(&self) -> Option<(&PathBuf, &String)> {
        (!self.new_text.is_empty()).then_some((&self.new_file, &self.new_text))
    }
}

/// `path` added to the `imports` of the module at `inline` (or the whole
/// file) in `file`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportAdd {
    pub file: PathBuf,
    pub inline: Option<Range>,
    pub path: String,
}

use super::moves::{
    lift::has_multiline_string, lift::lift_elements, lift::lift_whole, locate::locate,
    shared_service::to_settings,
};
pub use crate::load::ParsedFile;

/// Parsed files by path, as they are in the overlay now.
pub type Trees = HashMap<PathBuf, std::sync::Arc<ParsedFile>>;

/// A parsed file the plan edits.
struct Parsed<'t> {
    file: &'t SourceFile,
    root: Root,
    comments: &'t [Range],
}

/// One leaf of the user on one host, with its place in the tree.
struct Site<'a> {
    host: &'a str,
    file: PathBuf,
    leaf: &'a Leaf,
    /// The binding (or `inherit`) that sets the leaf; what gets deleted.
    entry: SyntaxNode,
    /// The expression that is copied: the binding's value, wrappers included.
    value: SyntaxNode,
    /// The list literal, for list options written literally.
    list: Option<ast::List>,
    /// Why the binding cannot be deleted surgically, if so.
    blocked: Option<String>,
}

/// The move for one repeated user; `Ok(None)` when nothing is common to
/// every host (say, after an earlier run moved the common part).
///
/// `frozen` files hold inline modules that discovery read (a flake's
/// `modules` lists, colmena nodes); they are never edited, since their
/// modules could not be re-read to verify the edit.
pub fn plan_user(
    fs: &dyn Fs,
    graph: &ModuleGraph,
    frozen: &BTreeSet<PathBuf>,
    trees: &Trees,
    user: &User<'_>,
    target: &Target,
) -> Result<Option<UserMove>, String> {
    let name = &user.name;
    let service_dir = match target {
        Target::Service { dir } => Some(dir.as_path()),
        Target::Module => None,
    };
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(format!(
            "the name `{name}` cannot be a directory under users/"
        ));
    }
    let dir = Path::new("users").join(name);
    let new_file = match user.option {
        UserOption::Users => dir.join("default.nix"),
        UserOption::HomeManager => dir.join("home.nix"),
    };
    let local: Vec<&Placed<'_>> = user.definitions.iter().filter(|d| d.is_local()).collect();
    let hosts: Vec<String> = local
        .iter()
        .map(|d| d.hosts[0].clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut parsed: HashMap<PathBuf, Parsed<'_>> = HashMap::default();
    for d in &local {
        let path = &d.module.file;
        if !parsed.contains_key(path) {
            let t = trees
                .get(path)
                .ok_or_else(|| format!("{} was not read", path.display()))?;
            if !t.parse.errors().is_empty() {
                return Err(format!("{} does not parse", path.display()));
            }
            parsed.insert(
                path.clone(),
                Parsed {
                    root: t.parse.tree(),
                    file: &t.file,
                    comments: t.comments(),
                },
            );
        }
    }

    // Every leaf on every host, located in its tree.
    let mut sites: Vec<Site<'_>> = Vec::new();
    for d in &local {
        let p = &parsed[&d.module.file];
        let top = module_top(&p.root, d.module.inline);
        let def_blocked = if frozen.contains(&d.module.file) {
            Some(format!(
                "it is written inline in {}, which clan-migrate does not edit",
                d.module.file.display()
            ))
        } else if !d.definition.wrappers.is_empty() {
            Some("the whole definition is conditional or prioritised".to_string())
        } else if d.conditional_import {
            Some("its module is imported only under a condition".to_string())
        } else {
            None
        };
        let mut finder = Finder::new(&p.root);
        for leaf in &d.definition.leaves {
            sites.push(locate(
                p,
                &mut finder,
                top.as_ref(),
                d.hosts[0].as_str(),
                leaf,
                def_blocked.clone(),
            ));
        }
    }

    let mut mv = UserMove {
        user: name.clone(),
        option: user.option,
        hosts: hosts.clone(),
        moved: Vec::new(),
        partial: Vec::new(),
        reordered: Vec::new(),
        stays: Vec::new(),
        new_file: new_file.clone(),
        new_text: String::new(),
        deletions: BTreeMap::new(),
        import_adds: Vec::new(),
        service: service_dir.map(|_| ServiceMove::default()),
    };

    // Paths in the order the first host writes them.
    let mut paths: Vec<&[String]> = Vec::new();
    let mut seen_paths: HashSet<&[String]> = HashSet::default();
    for s in &sites {
        if seen_paths.insert(&s.leaf.path) {
            paths.push(&s.leaf.path);
        }
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut args = BTreeSet::new();
    let mut bindings: BTreeMap<String, (usize, bool, String)> = BTreeMap::new();
    let mut binding_sites: BTreeMap<String, (usize, usize, PathBuf)> = BTreeMap::new();
    let mut withs: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    // By file; sorted once at the end (paths compare slowly, and there
    // is one file per host).
    let mut deleted: HashMap<PathBuf, Vec<Range>> = HashMap::default();
    let mut lifted_ranges: HashMap<PathBuf, Vec<Range>> = HashMap::default();

    let mut sites_by_path: HashMap<&[String], Vec<usize>> = HashMap::default();
    for (i, site) in sites.iter().enumerate() {
        sites_by_path.entry(&site.leaf.path).or_default().push(i);
    }
    for path in paths {
        let label = dotted(path);
        let mut by_host: BTreeMap<&str, Vec<&Site<'_>>> =
            hosts.iter().map(|h| (h.as_str(), Vec::new())).collect();
        for &i in &sites_by_path[path] {
            let site = &sites[i];
            by_host.entry(site.host).or_default().push(site);
        }
        if let Some(svc) = mv.service.as_mut()
            && user.option == UserOption::Users
            && is_password(path)
        {
            // Superseded on every host that sets it, whatever it says.
            for s in by_host.values().flatten() {
                if let Some(reason) = &s.blocked {
                    return Err(format!("{label} on {}: {reason}", s.host));
                }
                let Some(value) = password_literal(s) else {
                    return Err(format!(
                        "{label} on {} is not a plain string, so the command that keeps it cannot be written",
                        s.host
                    ));
                };
                svc.passwords.push(Password {
                    host: s.host.to_string(),
                    attr: label.clone(),
                    value,
                });
                deleted
                    .entry(s.file.clone())
                    .or_default()
                    .push(range_of(&s.entry));
            }
            continue;
        }
        let missing: Vec<&str> = by_host
            .iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(h, _)| *h)
            .collect();
        if !missing.is_empty() {
            let on: Vec<&str> = by_host
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(h, _)| *h)
                .collect();
            mv.stays.push(Stay {
                attr: label,
                host: None,
                reason: format!("set on {} only", crate::report::host_list(&on)),
            });
            continue;
        }
        if let Some(s) = sites_by_path[path]
            .iter()
            .map(|&i| &sites[i])
            .find(|s| s.blocked.is_some())
        {
            mv.stays.push(Stay {
                attr: label,
                host: Some(s.host.to_string()),
                reason: s.blocked.clone().unwrap_or_default(),
            });
            continue;
        }
        let decision = decide(user.option, path, &by_host);
        if let (Some(dir), Some(svc)) = (service_dir, mv.service.as_mut())
            && user.option == UserOption::Users
            && let Some(done) = to_settings(&parsed, dir, path, &decision, &by_host, svc)
        {
            for (file, r) in done {
                deleted.entry(file).or_default().push(r);
            }
            continue;
        }
        let (lifted, entry_value, removals) = match decision {
            Decision::Stay(reason) => {
                mv.stays.push(Stay {
                    attr: label,
                    host: None,
                    reason,
                });
                continue;
            }
            Decision::Whole { reordered } => match lift_whole(&parsed, &dir, &by_host) {
                Ok((l, v, site_ranges)) => {
                    if reordered {
                        mv.reordered.push(label.clone());
                    }
                    (l, v, Removal::Entries(site_ranges))
                }
                Err(reason) => {
                    mv.stays.push(Stay {
                        attr: label,
                        host: None,
                        reason,
                    });
                    continue;
                }
            },
            Decision::Elements { common, full } => {
                match lift_elements(&parsed, &dir, &by_host, &common) {
                    Ok((l, v, Removal::Elements { elements, entries })) if full => (
                        l,
                        v,
                        Removal::Entries(elements.into_iter().chain(entries).collect()),
                    ),
                    Ok((l, v, r)) => (l, v, r),
                    Err(reason) => {
                        mv.stays.push(Stay {
                            attr: label,
                            host: None,
                            reason,
                        });
                        continue;
                    }
                }
            }
        };
        // Bindings must not clash with another path's bindings of the same name.
        if let Some(clash) = lifted.bindings.iter().find(|(n, (site, _))| {
            binding_sites
                .get(*n)
                .is_some_and(|existing| existing != site)
        }) {
            mv.stays.push(Stay {
                attr: label,
                host: None,
                reason: format!(
                    "it uses a binding `{}` that another moved attribute binds differently",
                    clash.0
                ),
            });
            continue;
        }
        for (n, (site, text)) in &lifted.bindings {
            let p = &parsed[&site.2];
            let indent = indent_at(&p.file.text, site.0).len();
            let multiline = has_multiline_string(&p.file.text[site.0..site.1]);
            binding_sites.insert(n.clone(), site.clone());
            bindings.insert(n.clone(), (indent, multiline, text.clone()));
        }
        args.extend(lifted.args.iter().cloned());
        if !lifted.withs.is_empty() {
            withs.insert(path.to_vec(), lifted.withs.clone());
        }
        match &removals {
            Removal::Entries(list) => {
                mv.moved.push(label);
                for (file, r) in list {
                    deleted.entry(file.clone()).or_default().push(*r);
                }
            }
            Removal::Elements { elements, entries } => {
                mv.partial.push(label.clone());
                for (file, r) in elements.iter().chain(entries) {
                    deleted.entry(file.clone()).or_default().push(*r);
                }
                mv.stays.push(Stay {
                    attr: label,
                    host: None,
                    reason: "the elements not on every host stay".into(),
                });
            }
        }
        for (f, r) in &entry_value.lifted {
            lifted_ranges.entry(f.clone()).or_default().push(*r);
        }
        entries.push(Entry {
            path: path.to_vec(),
            value: entry_value.value,
            comments: entry_value.comments,
            trailing: entry_value.trailing,
        });
    }
    let service_part = mv.service.as_ref().is_some_and(|svc| {
        !svc.dropped.is_empty()
            || !svc.groups.is_empty()
            || !svc.keys.is_empty()
            || !svc.key_files.is_empty()
            || !svc.passwords.is_empty()
    });
    if entries.is_empty() && !service_part {
        if fs.is_file(&new_file) {
            return Ok(None);
        }
        let reasons: Vec<String> = mv
            .stays
            .iter()
            .map(|s| format!("{}: {}", s.attr, s.reason))
            .collect();
        return Err(format!("nothing can move ({})", reasons.join("; ")));
    }
    if !entries.is_empty() && fs.is_file(&new_file) {
        return Err(format!(
            "{} is common to every host, but `{}` exists already; add it there by hand, or move the file away and run again",
            mv.moved
                .iter()
                .chain(&mv.partial)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            new_file.display()
        ));
    }

    // Deletions, with the user's own containers they leave empty (up to
    // the binding that names the user); what lies above is shared with
    // other users and left to rendering, which sees every move together.
    let own_entries: HashSet<Range> = local.iter().map(|d| d.definition.range).collect();
    let mut carried: Vec<String> = Vec::new();
    let mut deleted: Vec<(PathBuf, Vec<Range>)> = deleted.into_iter().collect();
    deleted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut deletions = Vec::with_capacity(deleted.len());
    for (file, ranges) in deleted {
        let p = &parsed[&file];
        let nodes = cascade(&p.root, &ranges, &|r| own_entries.contains(&r), &|_, _| {
            true
        });
        let lifted_here: &[Range] = lifted_ranges.get(&file).map_or(&[], Vec::as_slice);
        for &n in &nodes {
            let r = deletion(&p.file.text, n);
            for c in comments_in_outside(&p.file.text, p.comments, r, lifted_here) {
                let attached = entries
                    .iter()
                    .any(|e| e.comments.contains(&c) || e.trailing.contains(&c));
                if !attached && !carried.contains(&c) {
                    carried.push(c);
                }
            }
        }
        deletions.push((file, nodes));
    }
    // Sorted already: built in one pass.
    mv.deletions = deletions.into_iter().collect();

    // Each host imports the new module from the file that defined the user.
    let mut by_host: HashMap<&str, Vec<&&Placed<'_>>> = HashMap::default();
    for d in &local {
        if !frozen.contains(&d.module.file) {
            by_host.entry(d.hosts[0].as_str()).or_default().push(d);
        }
    }
    let import_hosts: &[String] = if service_dir.is_some() { &[] } else { &hosts };
    let mut added: HashSet<ImportAdd> = HashSet::default();
    for host in import_hosts {
        // The first file of the host's own that defines the user: a whole
        // file rather than an inline module, and never a frozen file.
        let mut own: Vec<&&Placed<'_>> = by_host.remove(host.as_str()).unwrap_or_default();
        own.sort_by_key(|d| d.module.inline.is_some());
        let Some(d) = own.first() else {
            return Err(format!(
                "host {host} defines the user only inline in a file clan-migrate does not edit"
            ));
        };
        let module = graph.get(d.module);
        let target = if user.option == UserOption::Users {
            dir.clone()
        } else {
            new_file.clone()
        };
        let already = module.is_some_and(|m| {
            m.imports.iter().any(
                |i| matches!(&i.target, ImportTarget::Path(p) if p == &target || p == &new_file),
            )
        });
        if already {
            continue;
        }
        let p = &parsed[&d.module.file];
        if module_top(&p.root, d.module.inline).is_none() {
            return Err(format!(
                "{} is not a module set the import can be added to",
                d.module.file.display()
            ));
        }
        let from_dir = d.module.file.parent().unwrap_or(Path::new(""));
        let add = ImportAdd {
            file: d.module.file.clone(),
            inline: d.module.inline,
            path: relative_path(from_dir, &target),
        };
        if added.insert(add.clone()) {
            mv.import_adds.push(add);
        }
    }

    if entries.is_empty() {
        return Ok(Some(mv));
    }
    let mut imports: Vec<String> = Vec::new();
    if let (Some(dir), Some(svc)) = (service_dir, mv.service.as_mut()) {
        svc.extra_modules.push(relative_path(dir, &new_file));
        if user.option == UserOption::HomeManager {
            // As the Clan documentation does: the extra module brings
            // home-manager's NixOS module (imported once, by path).
            args.insert("self".to_string());
            imports.push("self.inputs.home-manager.nixosModules.default".to_string());
        }
    }
    let option_head = user.option.as_str().to_string();
    mv.new_text = print::module(&print::Module {
        imports: &imports,
        args: &args,
        bindings: &bindings,
        withs: &withs,
        option: &option_head,
        user: name,
        comments: &carried,
        entries: &entries,
    });
    Ok(Some(mv))
}

enum Decision {
    Stay(String),
    /// Moves whole; `reordered` when hosts list the same elements in
    /// different orders (the new module keeps one host's order).
    Whole {
        reordered: bool,
    },
    /// A list option: these elements (canonical forms, with multiplicity)
    /// move; `full` when they are every element on every host.
    Elements {
        common: Vec<Canon>,
        full: bool,
    },
}

enum Removal {
    Entries(Vec<(PathBuf, Range)>),
    Elements {
        elements: Vec<(PathBuf, Range)>,
        entries: Vec<(PathBuf, Range)>,
    },
}

fn decide(
    option: UserOption,
    path: &[String],
    by_host: &BTreeMap<&str, Vec<&Site<'_>>>,
) -> Decision {
    let literal_lists = by_host
        .values()
        .flatten()
        .all(|s| s.list.is_some() && s.leaf.elements.is_some() && s.leaf.wrappers.is_empty());
    if option.is_list_option(path) && literal_lists {
        let multisets: Vec<Vec<&Canon>> = by_host
            .values()
            .map(|sites| {
                let mut v: Vec<&Canon> = sites
                    .iter()
                    .flat_map(|s| s.leaf.elements.iter().flatten())
                    .collect();
                v.sort();
                v
            })
            .collect();
        let common = multiset_intersection(&multisets);
        if common.is_empty() {
            return Decision::Stay("no element is common to every host".into());
        }
        let full = multisets.iter().all(|m| m.len() == common.len());
        return Decision::Elements {
            common: common.into_iter().cloned().collect(),
            full,
        };
    }
    if by_host.values().any(|v| v.len() != 1) {
        return Decision::Stay("set more than once on a host".into());
    }
    // A list written differently (a `let`-bound list here, a literal in
    // another order there) with the same elements everywhere moves whole.
    if option.is_list_option(path) {
        let sets: Option<BTreeSet<Vec<&Canon>>> = by_host
            .values()
            .map(|v| {
                let s = v[0];
                s.leaf.wrappers.is_empty().then_some(())?;
                let mut els: Vec<&Canon> = s.leaf.elements.as_ref()?.iter().collect();
                els.sort();
                Some(els)
            })
            .collect();
        if sets.is_some_and(|s| s.len() == 1) {
            let orders: BTreeSet<&Option<Box<[Canon]>>> =
                by_host.values().map(|v| &v[0].leaf.elements).collect();
            return Decision::Whole {
                reordered: orders.len() > 1,
            };
        }
    }
    let forms: BTreeSet<(&Canon, &[crate::index::Wrapper])> = by_host
        .values()
        .map(|v| (&v[0].leaf.value, &*v[0].leaf.wrappers))
        .collect();
    if forms.len() != 1 {
        return Decision::Stay("differs between hosts".into());
    }
    Decision::Whole { reordered: false }
}

fn multiset_intersection<'c>(sets: &[Vec<&'c Canon>]) -> Vec<&'c Canon> {
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut remaining: Vec<Vec<&Canon>> = rest.to_vec();
    for e in first {
        let everywhere = remaining.iter().all(|s| s.contains(e));
        if everywhere {
            for s in &mut remaining {
                let i = s.iter().position(|x| x == e).expect("checked");
                s.remove(i);
            }
            out.push(*e);
        }
    }
    out
}
