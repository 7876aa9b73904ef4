//! A Clan inventory read as the module system would see it: each
//! `inventory.instances.<name>` of the `users` service becomes the NixOS
//! module the service gives every machine it applies to (clan-core
//! `clanServices/users`), so the rest of the tool treats a service user
//! like any other definition: scan reports it, verify compares it, plan
//! knows it is already shared.
//!
//! The inventory may sit in `clan.nix`, in the argument of
//! `clan-core.lib.clan { … }` in `flake.nix`, or under a flake-parts
//! `clan = { … }`: every attribute set in the file is flattened to static
//! paths and the ones running through `inventory.instances` are read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rnix::Root;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use crate::canon::Canonicalizer;
use crate::diagnostic::{Diagnostic, Location};
use crate::index::{
    Definition, Import, ImportTarget, Leaf, ModuleIndex, ModuleKey, UserName, UserOption,
    walk_scope_at,
};
use crate::source::SourceFile;
use crate::syntax::{
    Range, StaticEnv, StaticValue, attrpath_names, range_of, static_value, strip_parens,
};

/// The value the service gives `hashedPasswordFile`: the path of a vars
/// file, which no hand-written configuration has.
pub const PASSWORD_FILE_MARK: &str = "clan vars generator user-password-";

/// Password attributes a host may write that the service's generated
/// password supersedes.
pub const PASSWORD_ATTRS: &[&str] = &[
    "hashedPassword",
    "initialHashedPassword",
    "password",
    "initialPassword",
];

/// Diagnostic code for inventory entries the tool cannot read.
pub const UNSUPPORTED_INVENTORY: &str = "unsupported-inventory";

/// One attribute at a static path, after flattening nested sets.
#[derive(Clone)]
struct Flat {
    path: Vec<String>,
    value: ast::Expr,
    /// The binding that sets it.
    entry: Range,
}

/// An attribute set literal and the static path it is the value of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPlace {
    pub path: Vec<String>,
    /// The `{ … }` node.
    pub range: Range,
}

/// What the tool needs to know of one instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    /// `module.name`, when literal.
    pub module: Option<String>,
    /// `settings.user` (the instance name when unset), for `users` instances.
    pub user: Option<String>,
    /// The first binding of the instance.
    pub range: Range,
}

/// A file's inventory: its instances and where a new one would go.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub file: PathBuf,
    /// The path leading to `inventory` (`[]` in clan.nix, `["clan"]` under
    /// flake-parts), `None` when the file has none.
    pub prefix: Option<Vec<String>>,
    pub instances: Vec<Instance>,
    /// Every attribute set literal, by path: where insertions go.
    pub sets: Vec<SetPlace>,
    /// The set a clan is configured by: `clan.nix`'s module, the argument
    /// of `clan-core.lib.clan`, or a flake-parts `clan = { … }`.
    pub clan_set: Option<Range>,
    /// The machines `inventory.machines` names.
    pub machines: Vec<String>,
    /// `inventory.machines.<m>.tags`, when literal.
    pub machine_tags: BTreeMap<String, Vec<String>>,
    /// The synthetic modules of `users` instances, and per host the ones
    /// it evaluates.
    pub modules: Vec<ModuleIndex>,
    pub roots: HashMap<String, Vec<ModuleKey>>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Inventory {
    /// The users that `users` instances define already.
    pub fn service_users(&self) -> BTreeSet<&str> {
        self.instances
            .iter()
            .filter(|i| i.module.as_deref() == Some("users"))
            .filter_map(|i| i.user.as_deref())
            .collect()
    }
}

/// Reads the inventory in `file`; `hosts` are the clan's machines (what
/// `tags.all` means).
pub fn read(file: &SourceFile, root: &Root, hosts: &[String]) -> Inventory {
    let mut inv = Inventory {
        file: file.path.clone(),
        prefix: None,
        instances: Vec::new(),
        sets: Vec::new(),
        clan_set: None,
        machines: Vec::new(),
        machine_tags: BTreeMap::new(),
        modules: Vec::new(),
        roots: HashMap::new(),
        diagnostics: Vec::new(),
    };
    let mut flats: Vec<Flat> = Vec::new();
    for set in root_sets(root) {
        flatten(&set, &mut Vec::new(), &mut flats, &mut inv.sets);
    }
    inv.clan_set = clan_set(file, root, &inv.sets);
    // `inventory` as a path step; the prefix before it is where it lives.
    let at = |path: &[String]| path.iter().position(|p| p == "inventory");
    for f in &flats {
        if let Some(i) = at(&f.path) {
            inv.prefix.get_or_insert_with(|| f.path[..i].to_vec());
        }
    }
    for s in &inv.sets {
        if let Some(i) = at(&s.path) {
            inv.prefix.get_or_insert_with(|| s.path[..i].to_vec());
        }
    }
    let Some(prefix) = inv.prefix.clone() else {
        return inv;
    };
    let under = |path: &[String], rest: &[&str]| -> bool {
        path.len() >= prefix.len() + rest.len()
            && path[..prefix.len()] == prefix[..]
            && path[prefix.len()..prefix.len() + rest.len()]
                .iter()
                .zip(rest)
                .all(|(a, b)| a == b)
    };
    // Machines and their tags.
    let mut machine_names: BTreeSet<String> = BTreeSet::new();
    for f in &flats {
        if under(&f.path, &["inventory", "machines"]) && f.path.len() > prefix.len() + 2 {
            let m = f.path[prefix.len() + 2].clone();
            machine_names.insert(m.clone());
            if f.path.len() == prefix.len() + 4 && f.path[prefix.len() + 3] == "tags" {
                inv.machine_tags
                    .insert(m, strings(&f.value).unwrap_or_default());
            }
        }
    }
    inv.machines = machine_names.iter().cloned().collect();
    let mut clan_hosts: Vec<String> = hosts.to_vec();
    for m in machine_names {
        if !clan_hosts.contains(&m) {
            clan_hosts.push(m);
        }
    }
    // Instances, each with its attributes relative to it.
    let base = prefix.len() + 3;
    let mut by_instance: BTreeMap<String, Vec<Flat>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for f in &flats {
        if under(&f.path, &["inventory", "instances"]) && f.path.len() >= base {
            let name = f.path[base - 1].clone();
            if !by_instance.contains_key(&name) {
                order.push(name.clone());
            }
            let mut rel = f.clone();
            rel.path = f.path[base..].to_vec();
            by_instance.entry(name).or_default().push(rel);
        }
    }
    for name in order {
        let attrs = &by_instance[&name];
        let get = |p: &[&str]| {
            attrs
                .iter()
                .find(|a| a.path.iter().map(String::as_str).eq(p.iter().copied()))
        };
        let module = get(&["module", "name"]).and_then(|f| string(&f.value));
        let range = span(attrs.iter());
        let is_users = module.as_deref() == Some("users")
            && get(&["module", "input"])
                .is_none_or(|f| string(&f.value).as_deref() == Some("clan-core"));
        let user = if is_users {
            match get(&["roles", "default", "settings", "user"]) {
                Some(f) => string(&f.value),
                None => Some(name.clone()),
            }
        } else {
            None
        };
        if is_users {
            match &user {
                Some(u) => users_instance(file, &mut inv, &name, u, attrs, &clan_hosts),
                None => inv.diagnostics.push(
                    Diagnostic::warning(
                        UNSUPPORTED_INVENTORY,
                        format!("instance `{name}` names its user with an expression"),
                    )
                    .at(Location::new(file, range))
                    .help("write `roles.default.settings.user` as a string literal"),
                ),
            }
        }
        inv.instances.push(Instance {
            name,
            module,
            user,
            range,
        });
    }
    inv
}

/// The modules one `users` instance contributes, and the hosts they reach.
fn users_instance(
    file: &SourceFile,
    inv: &mut Inventory,
    name: &str,
    user: &str,
    attrs: &[Flat],
    clan_hosts: &[String],
) {
    let dir = file.path.parent().unwrap_or(Path::new("")).to_path_buf();
    let canon = Canonicalizer::new(&dir);
    let role: Vec<&Flat> = attrs
        .iter()
        .filter(|a| a.path.len() >= 2 && a.path[0] == "roles" && a.path[1] == "default")
        .collect();
    let unsupported = |what: String, range: Range, inv: &mut Inventory| {
        inv.diagnostics.push(
            Diagnostic::warning(UNSUPPORTED_INVENTORY, what)
                .at(Location::new(file, range))
                .help("clan-migrate reads literal tags, machines, settings and extraModules"),
        );
    };
    // Which machines the role applies to.
    let mut hosts: BTreeSet<String> = BTreeSet::new();
    let mut machine_settings: BTreeMap<String, Vec<&Flat>> = BTreeMap::new();
    for a in &role {
        let rest = &a.path[2..];
        match rest.first().map(String::as_str) {
            Some("tags") => {
                let tags: Vec<String> = if rest.len() >= 2 {
                    vec![rest[1].clone()]
                } else if let Some(list) = strings(&a.value) {
                    list
                } else {
                    unsupported(
                        format!("instance `{name}`: tags are computed"),
                        a.entry,
                        inv,
                    );
                    continue;
                };
                for t in tags {
                    for h in clan_hosts {
                        // Every machine has the tag `all` and its class (`nixos`).
                        if t == "all"
                            || t == "nixos"
                            || inv.machine_tags.get(h).is_some_and(|ts| ts.contains(&t))
                        {
                            hosts.insert(h.clone());
                        }
                    }
                }
            }
            Some("machines") if rest.len() >= 2 => {
                hosts.insert(rest[1].clone());
                if rest.len() >= 3 && rest[2] == "settings" {
                    machine_settings.entry(rest[1].clone()).or_default().push(a);
                }
            }
            _ => {}
        }
    }
    let settings: Vec<&Flat> = role
        .iter()
        .copied()
        .filter(|a| a.path.len() >= 3 && a.path[2] == "settings")
        .collect();
    let (mut leaves, extra) = settings_leaves(&canon, &settings, 3);
    if let Some(unknown) = extra {
        unsupported(
            format!("instance `{name}`: setting `{unknown}` is not one clan-migrate models"),
            role.first().map_or(Range::default(), |a| a.entry),
            inv,
        );
    }
    let root_user = user == "root";
    leaves.insert(
        0,
        literal_leaf("isNormalUser", if root_user { "false" } else { "true" }),
    );
    leaves.push(literal_leaf(
        "hashedPasswordFile",
        &format!("\"{PASSWORD_FILE_MARK}{user}\""),
    ));
    let range = span(attrs.iter());
    let key = ModuleKey {
        file: file.path.clone(),
        inline: Some(range),
    };
    let mut imports = Vec::new();
    for a in &role {
        if a.path.len() == 3 && a.path[2] == "extraModules" {
            match strip_parens(a.value.clone()) {
                ast::Expr::List(list) => {
                    for item in list.items() {
                        match static_value(&item, &dir, &StaticEnv::new()) {
                            Some(StaticValue::Path(p)) => imports.push(Import {
                                target: ImportTarget::Path(p),
                                conditional: false,
                                location: Location::new(file, range_of(item.syntax())),
                            }),
                            _ => unsupported(
                                format!("instance `{name}`: an extraModules entry is not a path"),
                                range_of(item.syntax()),
                                inv,
                            ),
                        }
                    }
                }
                _ => unsupported(
                    format!("instance `{name}`: extraModules is not a list literal"),
                    a.entry,
                    inv,
                ),
            }
        }
    }
    inv.modules
        .push(module(file, key.clone(), user, range, leaves, imports));
    for h in &hosts {
        inv.roots.entry(h.clone()).or_default().push(key.clone());
    }
    for (h, flats) in machine_settings {
        let (leaves, extra) = settings_leaves(&canon, &flats, 5);
        let range = span(flats.iter().copied());
        if let Some(unknown) = extra {
            unsupported(
                format!(
                    "instance `{name}`: setting `{unknown}` on {h} is not one clan-migrate models"
                ),
                range,
                inv,
            );
        }
        let key = ModuleKey {
            file: file.path.clone(),
            inline: Some(range),
        };
        inv.modules
            .push(module(file, key.clone(), user, range, leaves, Vec::new()));
        inv.roots.entry(h).or_default().push(key);
    }
}

fn module(
    file: &SourceFile,
    key: ModuleKey,
    user: &str,
    range: Range,
    leaves: Vec<Leaf>,
    imports: Vec<Import>,
) -> ModuleIndex {
    ModuleIndex {
        key,
        definitions: vec![Definition {
            option: UserOption::Users,
            spelling: &["users", "users"],
            user: UserName::Static(user.to_string()),
            location: Location::new(file, range),
            range,
            wrappers: Vec::new(),
            leaves,
        }],
        imports,
        diagnostics: Vec::new(),
        host_name: None,
        settings: Vec::new(),
        listed: Vec::new(),
    }
}

/// The settings the service turns into `users.users.<user>` attributes;
/// the name of the first setting it does not model, if any. `depth` is
/// where the setting's name starts in each path.
fn settings_leaves(
    canon: &Canonicalizer<'_>,
    flats: &[&Flat],
    depth: usize,
) -> (Vec<Leaf>, Option<String>) {
    let mut leaves = Vec::new();
    let mut unknown = None;
    for f in flats {
        let name: Vec<&str> = f.path[depth..].iter().map(String::as_str).collect();
        let target: &[&str] = match name.as_slice() {
            ["groups"] => &["extraGroups"],
            ["openssh", "authorizedKeys", "keys"] => &["openssh", "authorizedKeys", "keys"],
            ["openssh", "authorizedKeys", "keyFiles"] => &["openssh", "authorizedKeys", "keyFiles"],
            ["user"] | ["share"] | ["prompt"] => continue,
            ["systemUser"] | ["identity", ..] => continue,
            _ => {
                unknown.get_or_insert_with(|| name.join("."));
                continue;
            }
        };
        let scope = walk_scope_at(f.value.syntax());
        let elements = canon.list_elements(&f.value, &scope);
        if elements.as_ref().is_some_and(Vec::is_empty) {
            continue;
        }
        leaves.push(Leaf {
            path: target.iter().map(|s| s.to_string()).collect(),
            value: canon.canon(&f.value, &scope),
            elements: elements.map(Vec::into_boxed_slice),
            wrappers: Box::default(),
            range: range_of(f.value.syntax()),
        });
    }
    (leaves, unknown)
}

/// A leaf whose value is a literal the service writes.
fn literal_leaf(name: &str, text: &str) -> Leaf {
    Leaf {
        path: Box::new([name.to_string()]),
        value: crate::canon::literal(text),
        elements: None,
        wrappers: Box::default(),
        range: Range::default(),
    }
}

/// Attribute sets that are not the value of a binding in another set: the
/// file's module, a call's argument, a `let` body.
fn root_sets(root: &Root) -> Vec<ast::AttrSet> {
    root.syntax()
        .descendants()
        .filter_map(ast::AttrSet::cast)
        .filter(|s| {
            let parent = s.syntax().parent();
            !parent.is_some_and(|p| {
                ast::AttrpathValue::cast(p.clone()).is_some()
                    || (p.kind() == rnix::SyntaxKind::NODE_PAREN
                        && p.parent().and_then(ast::AttrpathValue::cast).is_some())
            })
        })
        .collect()
}

/// Every binding of `set` at its full static path, descending into
/// attribute set values; records every set literal on the way.
fn flatten(
    set: &ast::AttrSet,
    path: &mut Vec<String>,
    out: &mut Vec<Flat>,
    sets: &mut Vec<SetPlace>,
) {
    sets.push(SetPlace {
        path: path.clone(),
        range: range_of(set.syntax()),
    });
    for entry in set.attrpath_values() {
        let (Some(attrpath), Some(value)) = (entry.attrpath(), entry.value()) else {
            continue;
        };
        let names = attrpath_names(&attrpath);
        let Some(names): Option<Vec<String>> = names
            .iter()
            .map(|(n, _)| n.as_static().map(str::to_string))
            .collect()
        else {
            continue;
        };
        let depth = path.len();
        path.extend(names);
        match strip_parens(value.clone()) {
            ast::Expr::AttrSet(inner) if inner.attrpath_values().next().is_some() => {
                flatten(&inner, path, out, sets)
            }
            other => {
                if let ast::Expr::AttrSet(inner) = &other {
                    sets.push(SetPlace {
                        path: path.clone(),
                        range: range_of(inner.syntax()),
                    });
                }
                out.push(Flat {
                    path: path.clone(),
                    value,
                    entry: range_of(entry.syntax()),
                })
            }
        }
        path.truncate(depth);
    }
}

fn string(expr: &ast::Expr) -> Option<String> {
    match static_value(expr, Path::new(""), &StaticEnv::new())? {
        StaticValue::Str(s) => Some(s),
        StaticValue::Path(_) | StaticValue::Bool(_) => None,
    }
}

fn strings(expr: &ast::Expr) -> Option<Vec<String>> {
    match strip_parens(expr.clone()) {
        ast::Expr::List(l) => l.items().map(|i| string(&i)).collect(),
        _ => None,
    }
}

/// From the first binding's start to the last one's end.
fn span<'f>(flats: impl Iterator<Item = &'f Flat>) -> Range {
    let mut out: Option<Range> = None;
    for f in flats {
        out = Some(match out {
            None => f.entry,
            Some((a, b)) => (a.min(f.entry.0), b.max(f.entry.1)),
        });
    }
    out.unwrap_or_default()
}

fn clan_set(file: &SourceFile, root: &Root, sets: &[SetPlace]) -> Option<Range> {
    if file.path.file_name().is_some_and(|n| n == "clan.nix") {
        let mut expr = root.expr()?;
        loop {
            expr = match strip_parens(expr) {
                ast::Expr::Lambda(l) => l.body()?,
                ast::Expr::LetIn(l) => l.body()?,
                ast::Expr::AttrSet(s) => return Some(range_of(s.syntax())),
                _ => return None,
            };
        }
    }
    for apply in root.syntax().descendants().filter_map(ast::Apply::cast) {
        let Some(f) = apply.lambda() else { continue };
        let name = f.syntax().to_string();
        if (name.ends_with("lib.clan") || name.ends_with("buildClan"))
            && let Some(ast::Expr::AttrSet(set)) = apply.argument().map(strip_parens)
        {
            return Some(range_of(set.syntax()));
        }
    }
    if file.text.contains("flakeModules") {
        return sets.iter().find(|s| s.path == ["clan"]).map(|s| s.range);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(path: &str, text: &str, hosts: &[&str]) -> Inventory {
        let file = SourceFile::new(PathBuf::from(path), text.to_string());
        let parse = Root::parse(text);
        assert!(parse.errors().is_empty(), "{:?}", parse.errors());
        let hosts: Vec<String> = hosts.iter().map(|s| s.to_string()).collect();
        read(&file, &parse.tree(), &hosts)
    }

    fn leaf<'i>(inv: &'i Inventory, key: &ModuleKey, path: &[&str]) -> Option<&'i Leaf> {
        let m = inv.modules.iter().find(|m| &m.key == key)?;
        m.definitions[0]
            .leaves
            .iter()
            .find(|l| l.path.iter().map(String::as_str).eq(path.iter().copied()))
    }

    #[test]
    fn users_instances_in_every_spelling() {
        let inv = read_text(
            "clan.nix",
            r#"{ ... }: {
  inventory.machines.a.tags = [ "web" ];
  inventory.machines.b = { };
  inventory.instances = {
    alice-user = {
      module.name = "users";
      roles.default.tags.all = { };
      roles.default.settings = { user = "alice"; groups = [ "wheel" ]; };
      roles.default.machines.b.settings.groups = [ "docker" ];
      roles.default.extraModules = [ ./users/alice/default.nix ];
    };
    bob = {
      module = { name = "users"; input = "clan-core"; };
      roles.default.tags = [ "web" ];
    };
    sshd = { module.name = "sshd"; roles.server.tags.all = { }; };
    other.module.name = "users";
    other.module.input = "self";
  };
}"#,
            &["a", "b"],
        );
        assert_eq!(inv.prefix, Some(vec![]));
        assert_eq!(inv.machines, ["a", "b"]);
        let users: Vec<(&str, Option<&str>)> = inv
            .instances
            .iter()
            .map(|i| (i.name.as_str(), i.user.as_deref()))
            .collect();
        assert_eq!(
            users,
            [
                ("alice-user", Some("alice")),
                ("bob", Some("bob")),
                ("sshd", None),
                ("other", None)
            ]
        );
        assert_eq!(
            inv.service_users().into_iter().collect::<Vec<_>>(),
            ["alice", "bob"]
        );
        // alice: tags.all reaches both machines, b also gets its settings.
        let a = &inv.roots["a"];
        let b = &inv.roots["b"];
        assert_eq!(a.len(), 2, "alice and bob (tag web) on a: {a:?}");
        assert_eq!(b.len(), 2, "alice's role and b's machine settings: {b:?}");
        let role = &a[0];
        assert_eq!(
            leaf(&inv, role, &["extraGroups"])
                .unwrap()
                .elements
                .as_ref()
                .unwrap()
                .len(),
            1
        );
        assert!(leaf(&inv, role, &["isNormalUser"]).is_some());
        assert!(leaf(&inv, role, &["hashedPasswordFile"]).is_some());
        let m = inv.modules.iter().find(|m| &m.key == role).unwrap();
        assert_eq!(m.imports.len(), 1, "extraModules become imports");
        assert!(matches!(&m.imports[0].target,
            ImportTarget::Path(p) if p == Path::new("users/alice/default.nix")));
        assert!(leaf(&inv, &b[1], &["extraGroups"]).is_some());
        assert!(inv.diagnostics.is_empty(), "{:?}", inv.diagnostics);
    }

    #[test]
    fn flake_parts_prefix_and_the_clan_call() {
        let inv = read_text(
            "flake.nix",
            r#"{ outputs = inputs: inputs.flake-parts.lib.mkFlake { inherit inputs; } {
  imports = [ inputs.clan-core.flakeModules.default ];
  clan = { meta.name = "x"; inventory.instances = { }; };
}; }"#,
            &["one"],
        );
        assert_eq!(inv.prefix, Some(vec!["clan".to_string()]));
        assert!(
            inv.sets
                .iter()
                .any(|s| s.path == ["clan", "inventory", "instances"])
        );
        assert!(inv.clan_set.is_some());
        let call = read_text(
            "flake.nix",
            "{ outputs = { self, clan-core, ... }: let clan = clan-core.lib.clan { self = self; }; in { }; }",
            &[],
        );
        assert_eq!(call.prefix, None, "no inventory yet");
        let set = call.clan_set.expect("the lib.clan argument");
        assert!(set.1 > set.0);
    }

    #[test]
    fn computed_settings_are_reported() {
        let inv = read_text(
            "clan.nix",
            r#"{ inventory.instances.x = {
  module.name = "users";
  roles.default.settings.user = name;
  roles.default.tags = tagsOf x;
}; }"#,
            &["a"],
        );
        assert_eq!(inv.instances[0].user, None);
        assert_eq!(inv.diagnostics.len(), 1);
        assert!(
            inv.diagnostics[0]
                .message
                .contains("names its user with an expression")
        );
        assert!(inv.roots.is_empty());
    }
}
