//! The service target's side of a move: attributes the users service
//! covers become settings, and a user already shared through one module
//! becomes an instance (`--user NAME --to service`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rnix::Root;
use rnix::ast;
use rowan::ast::AstNode;
use rustc_hash::FxHashMap as HashMap;

use super::lift::{Places, lift_elements, lift_whole};
use super::locate::locate;
use super::print::Value;
use super::{
    Decision, Finder, Parsed, Password, Removal, ServiceMove, Site, Stay, Trees, UserMove, decide,
    is_password, module_top, password_literal,
};
use crate::analyse::{User, dotted};
use crate::canon::Canon;
use crate::index::ImportTarget;
use crate::load::ModuleGraph;
use crate::plan::extract::relative_path;
use crate::syntax::{Range, range_of};

/// For the service target: moves an attribute the users service covers
/// into the instance's settings, returning the bindings to delete from
/// the hosts; `None` when it is not one, or is not plain data (then it
/// goes to the extra module like any other attribute).
pub(super) fn to_settings(
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
pub(super) fn plain_elements(value: &Value, paths: bool) -> Option<Vec<String>> {
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

pub(super) fn plain(text: &str, path: bool) -> Option<()> {
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
                if *s.leaf.path != ["isNormalUser"] {
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
pub(super) fn imports_file(i: &crate::index::Import, file: &Path) -> bool {
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
