//! Analyse: group definitions by user across hosts, decide each user's
//! status, and for users repeated on several hosts find which attributes
//! are common to every copy and which differ.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::canon::Canon;
use crate::discover::Host;
use crate::index::{Definition, Leaf, ModuleKey, UserName, UserOption, Wrapper};
use crate::load::ModuleGraph;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Host-local definitions on enough hosts to share them.
    Repeated,
    /// Defined in a module that several hosts import already.
    Shared,
    /// On one host (or too few to share).
    Single,
    /// Computed name or generated set: reported, never moved.
    Dynamic,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Repeated => "repeated",
            Status::Shared => "shared",
            Status::Single => "single",
            Status::Dynamic => "dynamic",
        }
    }
}

/// One definition with the hosts that evaluate it.
#[derive(Debug, Clone)]
pub struct Placed<'g> {
    pub module: &'g ModuleKey,
    pub definition: &'g Definition,
    /// Shared by every definition of the same module.
    pub hosts: Arc<Vec<String>>,
    /// Its module is reached only through conditional imports.
    pub conditional_import: bool,
}

impl Placed<'_> {
    /// Host-local: only one host evaluates the module it is in.
    pub fn is_local(&self) -> bool {
        self.hosts.len() == 1
    }
}

#[derive(Debug, Clone)]
pub struct User<'g> {
    pub name: String,
    pub option: UserOption,
    pub status: Status,
    pub hosts: Vec<String>,
    pub definitions: Vec<Placed<'g>>,
    /// Attribute paths equal on every host that defines the user locally.
    pub common: Vec<String>,
    /// Attribute paths that differ, or that only some hosts set.
    pub differing: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Analysis<'g> {
    pub users: Vec<User<'g>>,
    /// Per host (in the order given), the ids of the modules it evaluates,
    /// each with whether it is reached only conditionally.
    pub host_modules: Vec<Vec<(usize, bool)>>,
}

pub fn analyse<'g>(hosts: &[Host], graph: &'g ModuleGraph, min_hosts: usize) -> Analysis<'g> {
    analyse_only(hosts, graph, min_hosts, None)
}

/// `analyse`, restricted to the users named `only` when given (the
/// planner re-analyses one user at a time).
pub fn analyse_only<'g>(
    hosts: &[Host],
    graph: &'g ModuleGraph,
    min_hosts: usize,
    only: Option<&str>,
) -> Analysis<'g> {
    let mut a = Analysis::default();
    let (module_hosts, always) = match only {
        // One user: walk back from the few modules that define it,
        // instead of computing every host's closure.
        Some(name) => {
            let relevant: Vec<usize> = graph
                .modules
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    m.definitions
                        .iter()
                        .any(|d| matches!(&d.user, UserName::Static(n) if n == name))
                })
                .map(|(i, _)| i)
                .collect();
            graph.hosts_reaching(hosts, &relevant)
        }
        None => {
            let mut module_hosts: Vec<Vec<String>> = vec![Vec::new(); graph.modules.len()];
            let mut always = vec![false; graph.modules.len()];
            use rayon::prelude::*;
            let closures: Vec<Vec<(usize, bool)>> = hosts
                .par_iter()
                .map(|h| graph.closure(&graph.roots(h)))
                .collect();
            for (host, closure) in hosts.iter().zip(closures) {
                for &(id, conditional) in &closure {
                    module_hosts[id].push(host.name.clone());
                    always[id] |= !conditional;
                }
                a.host_modules.push(closure);
            }
            (module_hosts, always)
        }
    };

    let mut groups: BTreeMap<(String, UserOption, bool), Vec<Placed<'g>>> = BTreeMap::new();
    for ((module, mut hosts), always) in graph.modules.iter().zip(module_hosts).zip(always) {
        if hosts.is_empty() || module.definitions.is_empty() {
            continue;
        }
        hosts.sort();
        hosts.dedup();
        let hosts = Arc::new(hosts);
        let key = &module.key;
        for def in &module.definitions {
            if let (Some(o), UserName::Static(n)) = (only, &def.user)
                && n != o
            {
                continue;
            }
            let (name, dynamic) = match &def.user {
                UserName::Static(n) => (n.clone(), false),
                UserName::Computed(t) => (t.clone(), true),
                UserName::Generated(t) => (t.clone(), true),
            };
            groups
                .entry((name, def.option, dynamic))
                .or_default()
                .push(Placed {
                    module: key,
                    definition: def,
                    hosts: Arc::clone(&hosts),
                    conditional_import: !always,
                });
        }
    }

    // Users are independent of each other: compare them in parallel.
    use rayon::prelude::*;
    let groups: Vec<((String, UserOption, bool), Vec<Placed<'g>>)> = groups.into_iter().collect();
    a.users = groups
        .into_par_iter()
        .map(|((name, option, dynamic), defs)| user(name, option, dynamic, defs, min_hosts))
        .collect();
    a
}

fn user<'g>(
    name: String,
    option: UserOption,
    dynamic: bool,
    mut defs: Vec<Placed<'g>>,
    min_hosts: usize,
) -> User<'g> {
    defs.sort_by(|a, b| a.definition.location.cmp(&b.definition.location));
    let hosts: Vec<String> = defs
        .iter()
        .flat_map(|d| d.hosts.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let local_hosts: BTreeSet<&str> = defs
        .iter()
        .filter(|d| d.is_local())
        .map(|d| d.hosts[0].as_str())
        .collect();
    let status = if dynamic {
        Status::Dynamic
    } else if local_hosts.len() >= min_hosts.max(2) {
        Status::Repeated
    } else if defs.iter().any(|d| !d.is_local()) {
        Status::Shared
    } else {
        Status::Single
    };
    let (common, differing) = if status == Status::Repeated {
        compare(option, &defs, &local_hosts)
    } else {
        (Vec::new(), Vec::new())
    };
    User {
        name,
        option,
        status,
        hosts,
        definitions: defs,
        common,
        differing,
    }
}

/// What one host sets at one attribute path.
#[derive(Debug, PartialEq, Eq)]
enum HostValue {
    /// A list option with known elements: compared as a set.
    Elements(BTreeSet<Canon>),
    /// Anything else: every definition's form, with its wrappers.
    Forms(BTreeSet<Canon>),
}

fn compare(
    option: UserOption,
    defs: &[Placed<'_>],
    local_hosts: &BTreeSet<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut per_host: BTreeMap<&str, BTreeMap<Vec<String>, HostValue>> = BTreeMap::new();
    for d in defs.iter().filter(|d| d.is_local()) {
        let host = d.hosts[0].as_str();
        let values = per_host.entry(host).or_default();
        for leaf in &d.definition.leaves {
            add_leaf(option, values, leaf, &d.definition.wrappers);
        }
    }
    let paths: BTreeSet<&Vec<String>> = per_host.values().flat_map(|m| m.keys()).collect();
    let mut common = Vec::new();
    let mut differing = Vec::new();
    for path in paths {
        let values: Vec<Option<&HostValue>> = local_hosts
            .iter()
            .map(|h| per_host.get(h).and_then(|m| m.get(path)))
            .collect();
        let everywhere = values.iter().all(Option::is_some);
        let values: Vec<&HostValue> = values.into_iter().flatten().collect();
        let label = dotted(path);
        let all_elements: Option<Vec<&BTreeSet<Canon>>> = values
            .iter()
            .map(|v| match v {
                HostValue::Elements(e) => Some(e),
                HostValue::Forms(_) => None,
            })
            .collect();
        match all_elements {
            Some(sets) if everywhere => {
                let shared: BTreeSet<&Canon> = sets[0]
                    .iter()
                    .filter(|e| sets.iter().all(|s| s.contains(*e)))
                    .collect();
                if !shared.is_empty() {
                    common.push(label.clone());
                }
                if sets.iter().any(|s| s.len() != shared.len()) {
                    differing.push(label);
                }
            }
            _ => {
                if everywhere && values.windows(2).all(|w| w[0] == w[1]) {
                    common.push(label);
                } else {
                    differing.push(label);
                }
            }
        }
    }
    (common, differing)
}

fn add_leaf(
    option: UserOption,
    values: &mut BTreeMap<Vec<String>, HostValue>,
    leaf: &Leaf,
    outer: &[Wrapper],
) {
    let wrapped = !outer.is_empty() || !leaf.wrappers.is_empty();
    let list = option.is_list_option(&leaf.path);
    let slot = values.entry(leaf.path.to_vec());
    match (&leaf.elements, list && !wrapped) {
        (Some(elements), true) => {
            let v = slot.or_insert_with(|| HostValue::Elements(BTreeSet::new()));
            match v {
                HostValue::Elements(set) => set.extend(elements.iter().cloned()),
                HostValue::Forms(set) => set.extend(elements.iter().cloned()),
            }
        }
        _ => {
            let form = if wrapped {
                let ws: Vec<String> = outer
                    .iter()
                    .chain(&leaf.wrappers)
                    .map(|w| format!("{w:?}"))
                    .collect();
                format!("{}|{}", ws.join(","), leaf.value)
            } else {
                leaf.value.clone()
            };
            let v = slot.or_insert_with(|| HostValue::Forms(BTreeSet::new()));
            match v {
                HostValue::Forms(set) => {
                    set.insert(form);
                }
                HostValue::Elements(set) => {
                    let mut forms: BTreeSet<Canon> = std::mem::take(set);
                    forms.insert(form);
                    *v = HostValue::Forms(forms);
                }
            }
        }
    }
}

/// `openssh.authorizedKeys.keys`; names that are not plain identifiers are
/// quoted as Nix would need them.
pub fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        return "<value>".to_string();
    }
    path.iter()
        .map(|s| {
            let plain = s
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_'-".contains(c));
            if plain || s.starts_with("${") {
                s.clone()
            } else {
                format!("{s:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}
