//! What moves for one repeated user, and the edits that move it: the
//! common part goes to a new shared module, each host keeps its residue and
//! imports the module. Every attribute that cannot move safely stays, with
//! the reason.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::{Path, PathBuf};

use rnix::ast::{self, HasEntry};
use rnix::{Root, SyntaxKind, SyntaxNode, TextRange, TextSize};
use rowan::ast::AstNode;

use super::edit::{Splice, comments_in, deletion, indent_at};
use super::extract::{Lifted, lift, relative_path};
use super::print::{self, Entry, Value};
use crate::analyse::{Placed, User, dotted};
use crate::canon::Canon;
use crate::fs::Fs;
use crate::index::{ImportTarget, Leaf, UserOption, walk_scope_at};
use crate::load::ModuleGraph;
use crate::scope::{Binding, Resolution};
use crate::source::SourceFile;
use crate::syntax::{Range, ident_text, range_of, strip_parens};

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
    let mut paths: Vec<&Vec<String>> = Vec::new();
    let mut seen_paths: HashSet<&Vec<String>> = HashSet::default();
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

    let mut sites_by_path: HashMap<&Vec<String>, Vec<usize>> = HashMap::default();
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
            withs.insert(path.clone(), lifted.withs.clone());
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
            path: path.clone(),
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
            let orders: BTreeSet<&Option<Vec<Canon>>> =
                by_host.values().map(|v| &v[0].leaf.elements).collect();
            return Decision::Whole {
                reordered: orders.len() > 1,
            };
        }
    }
    let forms: BTreeSet<(&Canon, &Vec<crate::index::Wrapper>)> = by_host
        .values()
        .map(|v| (&v[0].leaf.value, &v[0].leaf.wrappers))
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

/// Places in files: what a move deletes, or where its text came from.
type Places = Vec<(PathBuf, Range)>;

/// A moved value as the new file prints it.
struct Printed {
    value: Value,
    /// Source ranges whose text (comments included) it carries.
    lifted: Places,
    /// Comments above it in the source (and before it on its line).
    comments: Vec<String>,
    /// Comments after it on its line.
    trailing: Vec<String>,
}

/// The comments before a binding (the comment lines right above it and
/// any on its line before it) and after it on its line, outside `inner`.
fn comments_around(
    text: &str,
    comments: &[Range],
    entry: Range,
    inner: Range,
) -> (Vec<String>, Vec<String>) {
    let ls = super::edit::line_start(text, entry.0);
    let above = if text[ls..entry.0].trim().is_empty() {
        super::edit::comment_lines_above(text, ls)
    } else {
        // Other code before it on its line: only the comments between
        // that code and the binding are its own.
        super::edit::comments_just_before(text, comments, entry.0)
    };
    let leading = comments_in_outside(text, comments, (above, entry.0), &[inner]);
    let eol = super::edit::rest_of_line(text, entry.1).unwrap_or(entry.1);
    let trailing = comments_in(text, comments, (entry.1, eol));
    (leading, trailing)
}

fn lift_whole(
    parsed: &HashMap<PathBuf, Parsed<'_>>,
    new_dir: &Path,
    by_host: &BTreeMap<&str, Vec<&Site<'_>>>,
) -> Result<(Lifted, Printed, Places), String> {
    // Every host's copy means the same; take the one that needs the least
    // context (no copied bindings, no `with`) so the new file reads plainly.
    let mut best: Option<(Lifted, &Site<'_>)> = None;
    let mut first_err = None;
    for sites in by_host.values() {
        let s = sites[0];
        match lift(parsed[&s.file].file, &s.value, new_dir) {
            Ok(l) => {
                let cost = |l: &Lifted| l.bindings.len() + l.withs.len();
                let plain = cost(&l) == 0;
                if best.as_ref().is_none_or(|(b, _)| cost(&l) < cost(b)) {
                    best = Some((l, s));
                }
                if plain {
                    break;
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let Some((l, s)) = best else {
        return Err(first_err.unwrap_or_else(|| "no host's copy can be moved".into()));
    };
    let p = &parsed[&s.file];
    let start = usize::from(s.entry.text_range().start());
    let indent = indent_at(&p.file.text, start).len();
    // A list written on one line (maybe behind `with x;`) is laid out one
    // element per line in the new file, as nixfmt would.
    let mut lead = String::new();
    let mut list_node = s.value.clone();
    while let Some(w) = ast::With::cast(list_node.clone()) {
        let (Some(ns), Some(body)) = (w.namespace(), w.body()) else {
            break;
        };
        lead.push_str(&format!(
            "with {}; ",
            super::extract::rebased_text(p.file, ns.syntax(), new_dir)?
        ));
        list_node = body.syntax().clone();
    }
    let value = match ast::List::cast(list_node.clone()) {
        Some(list) if list.items().count() > 1 && !s.value.to_string().contains('\n') => {
            let items: Result<Vec<print::Element>, String> = list
                .items()
                .map(|i| {
                    Ok((
                        super::extract::rebased_text(p.file, i.syntax(), new_dir)?,
                        indent,
                        false,
                    ))
                })
                .collect();
            Value::Elements(lead, items?)
        }
        _ => Value::Text {
            text: l.text.clone(),
            indent,
            multiline_string: has_multiline_string(&s.value.to_string()),
        },
    };
    let deletions = by_host
        .values()
        .flatten()
        .map(|s| (s.file.clone(), range_of(&s.entry)))
        .collect();
    let value_range = range_of(&s.value);
    let (leading, trailing) =
        comments_around(&p.file.text, p.comments, range_of(&s.entry), value_range);
    let printed = Printed {
        value,
        lifted: vec![(s.file.clone(), value_range)],
        comments: leading,
        trailing,
    };
    Ok((l, printed, deletions))
}

fn lift_elements(
    parsed: &HashMap<PathBuf, Parsed<'_>>,
    new_dir: &Path,
    by_host: &BTreeMap<&str, Vec<&Site<'_>>>,
    common: &[Canon],
) -> Result<(Lifted, Printed, Removal), String> {
    // Each host gives up one occurrence of every common element.
    let mut elements = Vec::new();
    let mut entries = Vec::new();
    // The entries above, to look up: a fleet has hundreds of hosts.
    let mut whole: HashSet<(&Path, Range)> = HashSet::default();
    let mut source: Option<(Lifted, Vec<print::Element>, Places)> = None;
    let mut first_err = None;
    for sites in by_host.values() {
        let mut wanted: Vec<&Canon> = common.iter().collect();
        let mut taken: Vec<(&Site<'_>, SyntaxNode)> = Vec::new();
        for s in sites {
            let list = s.list.as_ref().expect("decided on literal lists");
            let els = s.leaf.elements.as_ref().expect("decided on known elements");
            let mut removed_all = true;
            for (item, canon) in list.items().zip(els) {
                if let Some(i) = wanted.iter().position(|w| *w == canon) {
                    wanted.remove(i);
                    taken.push((s, item.syntax().clone()));
                } else {
                    removed_all = false;
                }
            }
            if removed_all {
                entries.push((s.file.clone(), range_of(&s.entry)));
                whole.insert((s.file.as_path(), range_of(&s.entry)));
            }
        }
        for (s, node) in &taken {
            if !whole.contains(&(s.file.as_path(), range_of(&s.entry))) {
                elements.push((s.file.clone(), range_of(node)));
            }
        }
        if source.is_none() {
            let mut lifted = Lifted::default();
            let mut printed = Vec::new();
            let mut ranges = Vec::new();
            let mut ok = true;
            for (s, node) in &taken {
                let p = &parsed[&s.file];
                match lift(p.file, node, new_dir) {
                    Ok(l) => {
                        let start = usize::from(node.text_range().start());
                        printed.push((
                            l.text.clone(),
                            indent_at(&p.file.text, start).len(),
                            has_multiline_string(&node.to_string()),
                        ));
                        ranges.push((s.file.clone(), range_of(node)));
                        merge(&mut lifted, l)?;
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                source = Some((lifted, printed, ranges));
            }
        }
    }
    let Some((lifted, printed, ranges)) = source else {
        return Err(first_err.unwrap_or_else(|| "no host's elements can be moved".into()));
    };
    let comments = ranges
        .iter()
        .flat_map(|(f, r)| {
            let p = &parsed[f];
            let text = &p.file.text;
            comments_in_outside(text, p.comments, deletion(text, *r), &[*r])
        })
        .collect();
    let printed = Printed {
        value: Value::Elements(String::new(), printed),
        lifted: ranges,
        comments,
        trailing: Vec::new(),
    };
    Ok((lifted, printed, Removal::Elements { elements, entries }))
}

fn merge(into: &mut Lifted, l: Lifted) -> Result<(), String> {
    into.args.extend(l.args);
    for (n, b) in l.bindings {
        if let Some(existing) = into.bindings.get(&n)
            && existing.0 != b.0
        {
            return Err(format!(
                "its elements use two different bindings named `{n}`"
            ));
        }
        into.bindings.insert(n, b);
    }
    for w in l.withs {
        if !into.withs.contains(&w) {
            into.withs.push(w);
        }
    }
    Ok(())
}

fn has_multiline_string(text: &str) -> bool {
    let root = Root::parse(text).syntax();
    root.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.kind() == SyntaxKind::TOKEN_STRING_CONTENT && t.text().contains('\n'))
}

/// The attribute set of a module's body: through the module function,
/// `let` and `with`.
pub fn module_top(root: &Root, inline: Option<Range>) -> Option<ast::AttrSet> {
    let mut expr = match inline {
        None => root.expr()?,
        Some(r) => find_node(root, r).and_then(ast::Expr::cast)?,
    };
    loop {
        expr = match strip_parens(expr) {
            ast::Expr::Lambda(l) => l.body()?,
            ast::Expr::LetIn(l) => l.body()?,
            ast::Expr::With(w) => w.body()?,
            ast::Expr::AttrSet(s) => return Some(s),
            _ => return None,
        };
    }
}

/// The outermost node spanning exactly `range`.
pub fn find_node(root: &Root, range: Range) -> Option<SyntaxNode> {
    Finder::new(root).find(range)
}

/// Finds nodes by range, each search starting from where the last one
/// ended: ranges looked up one after the other are mostly close together
/// (the leaves of one definition), and going down from the root every
/// time, through the many entries of a host's top set, cost more than the
/// rest of planning a user.
pub struct Finder {
    last: SyntaxNode,
}

impl Finder {
    pub fn new(root: &Root) -> Self {
        Finder {
            last: root.syntax().clone(),
        }
    }

    /// The outermost node spanning exactly `range`.
    pub fn find(&mut self, range: Range) -> Option<SyntaxNode> {
        let tr = TextRange::new(
            TextSize::from(range.0 as u32),
            TextSize::from(range.1 as u32),
        );
        let mut from = self.last.clone();
        while !from.text_range().contains_range(tr) {
            from = from.parent()?;
        }
        let start = match from.covering_element(tr) {
            rowan::NodeOrToken::Node(n) => n,
            rowan::NodeOrToken::Token(t) => t.parent()?,
        };
        let found = start
            .ancestors()
            .take_while(|n| n.text_range() == tr)
            .last()?;
        self.last = found.clone();
        Some(found)
    }
}

fn locate<'a>(
    p: &Parsed,
    finder: &mut Finder,
    top: Option<&ast::AttrSet>,
    host: &'a str,
    leaf: &'a Leaf,
    def_blocked: Option<String>,
) -> Site<'a> {
    let mut site = Site {
        host,
        file: p.file.path.clone(),
        leaf,
        entry: p.root.syntax().clone(),
        value: p.root.syntax().clone(),
        list: None,
        blocked: def_blocked,
    };
    let Some(node) = finder.find(leaf.range) else {
        site.blocked
            .get_or_insert("its place in the file was not found".into());
        return site;
    };
    // `inherit x;`: the leaf is the name; the entry is the `inherit`.
    if let Some(inh) = node.parent().and_then(ast::Inherit::cast) {
        if inh.from().is_some() {
            site.blocked
                .get_or_insert("it is inherited from another value (`inherit (…)`)".into());
        } else if inh.attrs().count() != 1 {
            site.blocked
                .get_or_insert("it is inherited together with other names".into());
        }
        site.value = node.clone();
        site.entry = inh.syntax().clone();
    } else {
        // Up through wrappers to the binding.
        let mut value = node.clone();
        while let Some(parent) = value.parent() {
            match parent.kind() {
                SyntaxKind::NODE_PAREN | SyntaxKind::NODE_APPLY => value = parent,
                _ => break,
            }
        }
        match value.parent().and_then(ast::AttrpathValue::cast) {
            Some(av) if av.value().is_some_and(|v| v.syntax() == &value) => {
                site.entry = av.syntax().clone();
                site.value = value;
            }
            _ => {
                site.blocked.get_or_insert(
                    "it is nested in an expression (mkMerge, a function call)".into(),
                );
                return site;
            }
        }
        if let ast::Expr::List(l) =
            strip_parens(ast::Expr::cast(node).expect("value is an expression"))
        {
            site.list = Some(l);
        }
        if site.value.kind() == SyntaxKind::NODE_APPLY {
            site.list = None;
        }
    }
    // Between the binding and the module's top set: only sets and bindings.
    let top = top.map(|t| t.syntax().clone());
    let mut cur = site.entry.parent();
    while let Some(n) = cur {
        if Some(&n) == top.as_ref() {
            break;
        }
        match n.kind() {
            SyntaxKind::NODE_ATTR_SET
            | SyntaxKind::NODE_ATTRPATH_VALUE
            | SyntaxKind::NODE_PAREN => {}
            SyntaxKind::NODE_LET_IN | SyntaxKind::NODE_WITH => {}
            SyntaxKind::NODE_ROOT => {
                site.blocked
                    .get_or_insert("it is outside the module's attribute set".into());
                break;
            }
            _ => {
                site.blocked
                    .get_or_insert("it is inside a function call or list (mkIf, mkMerge)".into());
                break;
            }
        }
        cur = n.parent();
    }
    site
}

/// Node ranges to delete: the given ones, plus every set (and the binding
/// holding it) that they leave empty; a list left empty takes its binding
/// with it. `stop(r)`: do not look above binding `r`; `allow(r, deleted)`:
/// whether binding `r` may go, given what is deleted already.
pub fn cascade(
    root: &Root,
    ranges: &[Range],
    stop: &dyn Fn(Range) -> bool,
    allow: &dyn Fn(Range, &HashSet<Range>) -> bool,
) -> Vec<Range> {
    let mut deleted: HashSet<Range> = ranges.iter().copied().collect();
    let mut queue: Vec<Range> = ranges.iter().copied().filter(|r| !stop(*r)).collect();
    let mut finder = Finder::new(root);
    while let Some(r) = queue.pop() {
        let Some(node) = finder.find(r) else {
            continue;
        };
        let Some(parent) = node.parent() else {
            continue;
        };
        let container = match parent.kind() {
            SyntaxKind::NODE_ATTR_SET | SyntaxKind::NODE_LIST => parent,
            _ => continue,
        };
        let members: Vec<SyntaxNode> = container
            .children()
            .filter(|c| {
                matches!(
                    c.kind(),
                    SyntaxKind::NODE_ATTRPATH_VALUE | SyntaxKind::NODE_INHERIT
                ) || container.kind() == SyntaxKind::NODE_LIST
            })
            .collect();
        if !members.iter().all(|m| deleted.contains(&range_of(m))) {
            continue;
        }
        // Up through parentheses, and through `with x;` and `let … in`
        // whose body it is: they mean nothing once the set is gone.
        let mut holder = container.clone();
        while let Some(p) = holder.parent() {
            let is_body = match p.kind() {
                SyntaxKind::NODE_PAREN => true,
                SyntaxKind::NODE_WITH => ast::With::cast(p.clone())
                    .and_then(|w| w.body())
                    .is_some_and(|b| b.syntax() == &holder),
                SyntaxKind::NODE_LET_IN => ast::LetIn::cast(p.clone())
                    .and_then(|l| l.body())
                    .is_some_and(|b| b.syntax() == &holder),
                _ => false,
            };
            if is_body {
                holder = p;
            } else {
                break;
            }
        }
        if let Some(av) = holder.parent().and_then(ast::AttrpathValue::cast)
            && av.value().is_some_and(|v| v.syntax() == &holder)
        {
            let ar = range_of(av.syntax());
            if !deleted.contains(&ar) && allow(ar, &deleted) {
                deleted.insert(ar);
                if !stop(ar) {
                    queue.push(ar);
                }
            }
        }
    }
    let mut out: Vec<Range> = deleted.into_iter().collect();
    out.sort();
    out
}

/// `let` bindings used only by deleted code, removed with it (to a
/// fixpoint: a removed binding may have been the last user of another).
pub fn unused_bindings(root: &Root, text: &str, deleted: &[Range]) -> Vec<Range> {
    // Without the keyword there is no `let`, and no need to walk the tree
    // to find that out (most host files).
    if !text.contains("let") {
        return Vec::new();
    }
    let inside = |r: Range, del: &[Range]| del.iter().any(|d| d.0 <= r.0 && r.1 <= d.1);
    // Only names some `let` binds can resolve to a `let` binding.
    let let_names: HashSet<String> = root
        .syntax()
        .descendants()
        .filter_map(ast::LetIn::cast)
        .flat_map(|l| {
            l.attrpath_values()
                .filter_map(|av| av.attrpath()?.attrs().next())
                .filter_map(|a| crate::syntax::attr_name(&a).as_static().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect();
    if let_names.is_empty() {
        return Vec::new();
    }
    let mut del: Vec<Range> = deleted.to_vec();
    let mut extra = Vec::new();
    loop {
        let mut uses: HashMap<Range, (usize, usize)> = HashMap::default();
        for ident in root.syntax().descendants().filter_map(ast::Ident::cast) {
            let parent = ident.syntax().parent().map(|p| p.kind());
            if matches!(
                parent,
                Some(
                    SyntaxKind::NODE_ATTRPATH
                        | SyntaxKind::NODE_PAT_ENTRY
                        | SyntaxKind::NODE_IDENT_PARAM
                        | SyntaxKind::NODE_PAT_BIND
                )
            ) {
                continue;
            }
            let name = ident_text(&ident);
            if !let_names.contains(&name) {
                continue;
            }
            if let Resolution::Binding {
                binding: Binding::Expr(value),
                ..
            } = walk_scope_at(ident.syntax()).resolve(&name)
            {
                let Some(av) = value
                    .syntax()
                    .parent()
                    .filter(|p| p.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
                else {
                    continue;
                };
                if av.parent().map(|p| p.kind()) != Some(SyntaxKind::NODE_LET_IN) {
                    continue;
                }
                let e = uses.entry(range_of(&av)).or_default();
                if inside(range_of(ident.syntax()), &del) {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
        let newly: Vec<Range> = uses
            .into_iter()
            .filter(|(r, (i, o))| *i > 0 && *o == 0 && !inside(*r, &del))
            .map(|(r, _)| r)
            .collect();
        if newly.is_empty() {
            break;
        }
        del.extend(&newly);
        extra.extend(newly);
    }
    // A `let` with no bindings left goes too: from `let` to its body.
    for l in root.syntax().descendants().filter_map(ast::LetIn::cast) {
        let all_gone = l.entries().count() > 0
            && l.entries().all(|e| {
                del.contains(&range_of(e.syntax())) || extra.contains(&range_of(e.syntax()))
            });
        if all_gone && let (Some(let_tok), Some(body)) = (l.let_token(), l.body()) {
            extra.push((
                usize::from(let_tok.text_range().start()),
                usize::from(body.syntax().text_range().start()),
            ));
        }
    }
    extra
}

pub fn comments_in_outside(
    text: &str,
    comments: &[Range],
    r: Range,
    lifted: &[Range],
) -> Vec<String> {
    // Comments inside a lifted value travel with its text already.
    let mut out = Vec::new();
    let mut pieces = vec![r];
    for l in lifted {
        pieces = pieces
            .into_iter()
            .flat_map(|(s, e)| {
                if l.1 <= s || l.0 >= e {
                    vec![(s, e)]
                } else {
                    vec![(s, l.0.max(s)), (l.1.min(e), e)]
                }
            })
            .filter(|(s, e)| s < e)
            .collect();
    }
    for p in pieces {
        out.extend(comments_in(text, comments, p));
    }
    out
}

/// The splice adding `imports` to a module set's `imports` list (created
/// when missing), in the style of the surrounding code.
pub fn import_splice(text: &str, top: &ast::AttrSet, imports: &[String]) -> Result<Splice, String> {
    // New lines end the way the file's lines end.
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    for av in top.attrpath_values() {
        let names: Vec<String> = av
            .attrpath()
            .map(|p| p.attrs().map(|a| a.syntax().to_string()).collect())
            .unwrap_or_default();
        if names != ["imports"] {
            continue;
        }
        let mut value = av.value().map(strip_parens);
        while let Some(ast::Expr::BinOp(op)) = &value {
            value = op.lhs().map(strip_parens);
        }
        let Some(ast::Expr::List(list)) = value else {
            return Err("its `imports` is not a list the import can be added to".into());
        };
        let close = list.r_brack_token().ok_or("unclosed imports list")?;
        let at = usize::from(close.text_range().start());
        let list_text = list.syntax().to_string();
        if list_text.contains('\n') {
            let ls = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
            if text[ls..at].trim().is_empty() {
                let indent = list
                    .items()
                    .last()
                    .map(|i| indent_at(text, usize::from(i.syntax().text_range().start())))
                    .unwrap_or_else(|| format!("{}  ", &text[ls..at]));
                let lines: String = imports.iter().map(|i| format!("{indent}{i}{nl}")).collect();
                return Ok(Splice::insert(ls, lines));
            }
            return Ok(Splice::insert(at, format!(" {} ", imports.join(" "))));
        }
        let before_space = text[..at].ends_with(' ');
        let joined = imports.join(" ");
        return Ok(Splice::insert(
            at,
            if before_space {
                format!("{joined} ")
            } else {
                format!(" {joined} ")
            },
        ));
    }
    let open = top.l_curly_token().ok_or("module set without `{`")?;
    let at = usize::from(open.text_range().end());
    let indent = top
        .entries()
        .next()
        .map(|e| indent_at(text, usize::from(e.syntax().text_range().start())))
        .unwrap_or_else(|| "  ".into());
    let list = match imports {
        [one] => format!("[ {one} ]"),
        many => {
            let items: String = many.iter().map(|i| format!("{indent}  {i}{nl}")).collect();
            format!("[{nl}{items}{indent}]")
        }
    };
    Ok(Splice::insert(at, format!("{nl}{indent}imports = {list};")))
}

/// For the service target: moves an attribute the users service covers
/// into the instance's settings, returning the bindings to delete from
/// the hosts; `None` when it is not one, or is not plain data (then it
/// goes to the extra module like any other attribute).
fn to_settings(
    parsed: &HashMap<PathBuf, Parsed<'_>>,
    dir: &Path,
    path: &[String],
    decision: &Decision,
    by_host: &BTreeMap<&str, Vec<&Site<'_>>>,
    svc: &mut ServiceMove,
) -> Option<Places> {
    let all_entries = || -> Places {
        by_host
            .values()
            .flatten()
            .map(|s| (s.file.clone(), range_of(&s.entry)))
            .collect()
    };
    let name: Vec<&str> = path.iter().map(String::as_str).collect();
    if name == ["isNormalUser"] {
        // Eligibility made sure it is `true` on every host.
        if !matches!(decision, Decision::Whole { .. }) {
            return None;
        }
        svc.dropped.push("isNormalUser".into());
        return Some(all_entries());
    }
    let path_literals = match name.as_slice() {
        ["extraGroups"] | ["openssh", "authorizedKeys", "keys"] => false,
        ["openssh", "authorizedKeys", "keyFiles"] => true,
        _ => return None,
    };
    let (common, removal) = match decision {
        Decision::Whole { .. } => {
            let (_, printed, places) = lift_whole(parsed, dir, by_host).ok()?;
            (plain_elements(&printed.value, path_literals)?, places)
        }
        Decision::Elements { common, full } => {
            let (_, printed, removal) = lift_elements(parsed, dir, by_host, common).ok()?;
            let texts = plain_elements(&printed.value, path_literals)?;
            if *full {
                (texts, all_entries())
            } else if name == ["extraGroups"] {
                // Each host's own extra groups become that machine's settings.
                let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (host, sites) in by_host {
                    let mut wanted: Vec<&Canon> = common.iter().collect();
                    for s in sites {
                        let list = s.list.as_ref()?;
                        let els = s.leaf.elements.as_ref()?;
                        for (item, canon) in list.items().zip(els) {
                            if let Some(i) = wanted.iter().position(|w| *w == canon) {
                                wanted.remove(i);
                            } else {
                                let text = item.syntax().to_string();
                                plain(&text, false)?;
                                extra.entry(host.to_string()).or_default().push(text);
                            }
                        }
                    }
                }
                svc.machine_groups.extend(extra);
                (texts, all_entries())
            } else {
                // Per-host extra keys stay on their hosts.
                let Removal::Elements { elements, entries } = removal else {
                    return None;
                };
                (texts, elements.into_iter().chain(entries).collect())
            }
        }
        Decision::Stay(_) => return None,
    };
    let into = match name.as_slice() {
        ["extraGroups"] => &mut svc.groups,
        ["openssh", "authorizedKeys", "keys"] => &mut svc.keys,
        _ => &mut svc.key_files,
    };
    into.extend(common);
    Some(removal)
}

/// The element texts of a moved list, when each is plain data the
/// inventory can hold: a string without interpolation, or a relative path.
fn plain_elements(value: &Value, paths: bool) -> Option<Vec<String>> {
    let texts: Vec<String> = match value {
        Value::Elements(lead, items) if lead.is_empty() => {
            items.iter().map(|(t, _, _)| t.clone()).collect()
        }
        Value::Text { text, .. } => {
            let parse = Root::parse(text);
            match parse.tree().expr().map(crate::syntax::strip_parens) {
                Some(ast::Expr::List(l)) => l.items().map(|i| i.syntax().to_string()).collect(),
                _ => return None,
            }
        }
        _ => return None,
    };
    for t in &texts {
        plain(t, paths)?;
    }
    Some(texts)
}

fn plain(text: &str, path: bool) -> Option<()> {
    let parse = Root::parse(text);
    if !parse.errors().is_empty() {
        return None;
    }
    match parse.tree().expr()? {
        ast::Expr::Str(s) if !path => crate::syntax::string_literal(&s).map(|_| ()),
        ast::Expr::PathRel(p) if path => (!p.syntax().to_string().contains("${")).then_some(()),
        _ => None,
    }
}

/// The service move of a user already shared through one module that
/// every host imports (`--user NAME --to service`): what the service
/// covers leaves the module for the instance's settings, the hosts stop
/// importing it, and the module becomes the instance's extra module.
pub fn plan_shared_service(
    graph: &ModuleGraph,
    frozen: &BTreeSet<PathBuf>,
    trees: &Trees,
    user: &User<'_>,
    dir: &Path,
) -> Result<Option<UserMove>, String> {
    let [d] = user.definitions.as_slice() else {
        return Err("it is shared through more than one module".into());
    };
    let file = &d.module.file;
    if frozen.contains(file) || d.module.inline.is_some() {
        return Err(format!(
            "it is written inline in {}, which clan-migrate does not edit",
            file.display()
        ));
    }
    if !d.definition.wrappers.is_empty() || d.conditional_import {
        return Err("its module or definition is conditional".into());
    }
    let t = trees
        .get(file)
        .ok_or_else(|| format!("{} was not read", file.display()))?;
    let p = Parsed {
        root: t.parse.tree(),
        file: &t.file,
        comments: t.comments(),
    };
    let top = module_top(&p.root, None);
    let mut finder = Finder::new(&p.root);
    let mut svc = ServiceMove::default();
    let mut deletions: BTreeMap<PathBuf, Vec<Range>> = BTreeMap::new();
    let mut moved = Vec::new();
    let mut stays = Vec::new();
    let sites: Vec<Site<'_>> = d
        .definition
        .leaves
        .iter()
        .map(|leaf| locate(&p, &mut finder, top.as_ref(), "module", leaf, None))
        .collect();
    let parsed: HashMap<PathBuf, Parsed<'_>> = [(
        file.clone(),
        Parsed {
            root: p.root.clone(),
            file: p.file,
            comments: p.comments,
        },
    )]
    .into_iter()
    .collect();
    for s in &sites {
        let label = dotted(&s.leaf.path);
        if let Some(reason) = &s.blocked {
            stays.push(Stay {
                attr: label,
                host: None,
                reason: reason.clone(),
            });
            continue;
        }
        if is_password(&s.leaf.path) {
            let value =
                password_literal(s).ok_or_else(|| format!("{label} is not a plain string"))?;
            for h in d.hosts.iter() {
                svc.passwords.push(Password {
                    host: h.clone(),
                    attr: label.clone(),
                    value: value.clone(),
                });
            }
            deletions
                .entry(file.clone())
                .or_default()
                .push(range_of(&s.entry));
            continue;
        }
        let by_host: BTreeMap<&str, Vec<&Site<'_>>> = [("module", vec![s])].into_iter().collect();
        let decision = decide(user.option, &s.leaf.path, &by_host);
        match to_settings(&parsed, dir, &s.leaf.path, &decision, &by_host, &mut svc) {
            Some(places) => {
                if s.leaf.path != ["isNormalUser"] {
                    moved.push(label);
                }
                for (f, r) in places {
                    deletions.entry(f).or_default().push(r);
                }
            }
            None => stays.push(Stay {
                attr: label,
                host: None,
                reason: "the service does not cover it; it stays in the module, an extra module of the instance".into(),
            }),
        }
    }
    if !svc.dropped.contains(&"isNormalUser".to_string()) {
        return Err(
            "not plainly isNormalUser = true; the service only creates normal users".into(),
        );
    }
    // The hosts stop importing the module: the instance brings it.
    for m in &graph.modules {
        for i in &m.imports {
            if imports_file(i, file) {
                if frozen.contains(&m.key.file) {
                    return Err(format!(
                        "{} imports it inline in a file clan-migrate does not edit",
                        m.key.file.display()
                    ));
                }
                deletions
                    .entry(m.key.file.clone())
                    .or_default()
                    .push(i.location.range);
            }
        }
    }
    svc.extra_modules.push(relative_path(dir, file));
    let mut hosts: Vec<String> = d.hosts.to_vec();
    hosts.sort();
    Ok(Some(UserMove {
        user: user.name.clone(),
        option: user.option,
        hosts,
        moved,
        partial: Vec::new(),
        reordered: Vec::new(),
        stays,
        new_file: file.clone(),
        new_text: String::new(),
        deletions,
        import_adds: Vec::new(),
        service: Some(svc),
    }))
}

/// Whether an import names `file` (a directory import names its default.nix).
fn imports_file(i: &crate::index::Import, file: &Path) -> bool {
    let ImportTarget::Path(p) = &i.target else {
        return false;
    };
    p == file || (file.ends_with("default.nix") && file.parent() == Some(p.as_path()))
}

/// The files whose modules import `file`.
pub fn importers(graph: &ModuleGraph, file: &Path) -> Vec<PathBuf> {
    graph
        .modules
        .iter()
        .filter(|m| m.imports.iter().any(|i| imports_file(i, file)))
        .map(|m| m.key.file.clone())
        .collect()
}
