//! The service target: which users the Clan `users` service can take,
//! where its instances go in the inventory, and the text of each
//! instance. Moves themselves are planned by `moves` like any other; this
//! module renders what they give the inventory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::edit::{self, Splice, indent_at, line_start};
use super::moves::{ParsedFile, Trees, UserMove, import_splice, module_top};
use super::notice::{Notice, codes};
use super::print::attr;
use crate::analyse::User;
use crate::diagnostic::Location;
use crate::discover::flake::CLAN_NIX;
use crate::index::{Setting, SettingDef, UserOption};
use crate::inventory::Inventory;
use crate::syntax::Range;

/// Why a repeated user is not a service user (it stays on the module
/// target), or `None` when the service can take it.
pub fn ineligible(user: &User<'_>) -> Option<String> {
    if user.name == "root" {
        return Some(
            "the service would give root a generated password and isNormalUser = false".into(),
        );
    }
    let local: Vec<_> = user.definitions.iter().filter(|d| d.is_local()).collect();
    if local.iter().any(|d| {
        d.definition.leaves.iter().any(|l| {
            *l.path == ["isSystemUser"]
                || *l.path == ["hashedPasswordFile"]
                || *l.path == ["passwordFile"]
        })
    }) {
        let system = local.iter().any(|d| {
            d.definition
                .leaves
                .iter()
                .any(|l| *l.path == ["isSystemUser"])
        });
        return Some(if system {
            "it is a system user (isSystemUser); the service creates normal users".into()
        } else {
            "its password comes from a file, which the service would replace with its own".into()
        });
    }
    let hosts: BTreeSet<&str> = local.iter().map(|d| d.hosts[0].as_str()).collect();
    for h in hosts {
        let normal = local.iter().filter(|d| d.hosts[0] == h).any(|d| {
            d.definition.wrappers.is_empty()
                && d.definition.leaves.iter().any(|l| {
                    *l.path == ["isNormalUser"] && l.wrappers.is_empty() && is_true(&l.value)
                })
        });
        if !normal {
            return Some(format!(
                "not plainly isNormalUser = true on {h}; the service only creates normal users"
            ));
        }
    }
    None
}

fn is_true(canon: &str) -> bool {
    thread_local! {
        static TRUE: String = crate::canon::literal("true");
    }
    TRUE.with(|t| t == canon)
}

/// Where new instances go.
#[derive(Debug, Clone)]
pub struct Home {
    pub file: PathBuf,
    pub how: How,
    /// Every machine of the clan: a user on all of them gets `tags.all`.
    pub machines: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum How {
    /// Into an existing `inventory.instances = { … }`.
    IntoSet(Range),
    /// As a new binding `key = { … };` in an existing set.
    Binding { set: Range, key: String },
    /// A new `clan.nix`, imported from the clan call in `file`.
    Create { flake: PathBuf, clan_set: Range },
}

impl Home {
    /// The files rendering reads (and may change).
    pub fn files(&self) -> Vec<PathBuf> {
        match &self.how {
            How::Create { flake, .. } => vec![flake.clone()],
            _ => vec![self.file.clone()],
        }
    }

    /// The directory instance paths are relative to.
    pub fn dir(&self) -> PathBuf {
        self.file.parent().unwrap_or(Path::new("")).to_path_buf()
    }
}

/// Where the inventory of this Clan flake takes new instances.
pub fn locate(inventories: &[Inventory], machines: Vec<String>) -> Result<Home, String> {
    let order = |inv: &&Inventory| inv.file != Path::new(CLAN_NIX);
    let mut invs: Vec<&Inventory> = inventories.iter().collect();
    invs.sort_by_key(order);
    let set_at = |inv: &Inventory, path: &[&str]| {
        let prefix = inv.prefix.clone().unwrap_or_default();
        let full: Vec<String> = prefix
            .iter()
            .cloned()
            .chain(path.iter().map(|s| s.to_string()))
            .collect();
        inv.sets.iter().find(|s| s.path == full).map(|s| s.range)
    };
    for inv in &invs {
        if inv.prefix.is_some()
            && let Some(r) = set_at(inv, &["inventory", "instances"])
        {
            return Ok(Home {
                file: inv.file.clone(),
                how: How::IntoSet(r),
                machines,
            });
        }
    }
    for inv in &invs {
        if inv.prefix.is_none() {
            continue;
        }
        if let Some(r) = set_at(inv, &["inventory"]) {
            return Ok(binding(inv, r, "instances", machines));
        }
        if let Some(r) = set_at(inv, &[]) {
            return Ok(binding(inv, r, "inventory.instances", machines));
        }
    }
    // No inventory yet: a wired clan.nix takes one, else clan.nix is
    // created and imported from the flake's clan call.
    if let Some(inv) = invs.iter().find(|i| i.file == Path::new(CLAN_NIX))
        && let Some(r) = inv.clan_set
    {
        return Ok(binding(inv, r, "inventory.instances", machines));
    }
    if let Some(inv) = invs.iter().find(|i| i.clan_set.is_some()) {
        return Ok(Home {
            file: PathBuf::from(CLAN_NIX),
            how: How::Create {
                flake: inv.file.clone(),
                clan_set: inv.clan_set.expect("found"),
            },
            machines,
        });
    }
    Err("no Clan inventory and no `clan-core.lib.clan { … }` call was found to add one to".into())
}

/// A new `key = { … };` binding in the set at `set` of `inv`'s file.
fn binding(inv: &Inventory, set: Range, key: &str, machines: Vec<String>) -> Home {
    Home {
        file: inv.file.clone(),
        how: How::Binding {
            set,
            key: key.into(),
        },
        machines,
    }
}

/// The inventory files after `moves` (those with a service part).
pub fn render(
    home: &Home,
    trees: &Trees,
    moves: &[&UserMove],
) -> Result<Vec<(PathBuf, String)>, String> {
    let mut users: Vec<&str> = Vec::new();
    for m in moves.iter().filter(|m| m.service.is_some()) {
        if !users.contains(&m.user.as_str()) {
            users.push(&m.user);
        }
    }
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let instances = |indent: usize| -> String {
        users
            .iter()
            .map(|u| {
                let mine: Vec<&UserMove> = moves.iter().copied().filter(|m| m.user == *u).collect();
                instance(u, &mine, &home.machines, indent)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let tree = |p: &Path| {
        trees
            .get(p)
            .ok_or_else(|| format!("{} was not read", p.display()))
    };
    match &home.how {
        How::IntoSet(range) => {
            let pf = tree(&home.file)?;
            let set = set_node(pf, *range)?;
            let text = append(&pf.file.text, &set, &|ind| instances(ind), true)?;
            Ok(vec![(home.file.clone(), text)])
        }
        How::Binding { set, key } => {
            let pf = tree(&home.file)?;
            let node = set_node(pf, *set)?;
            let binding = |ind: usize| {
                format!(
                    "{pad}{key} = {{\n{}{pad}}};\n",
                    instances(ind + 2),
                    pad = " ".repeat(ind)
                )
            };
            let text = append(&pf.file.text, &node, &binding, false)?;
            Ok(vec![(home.file.clone(), text)])
        }
        How::Create { flake, clan_set } => {
            let pf = tree(flake)?;
            let node = set_node(pf, *clan_set)?;
            let splice = import_splice(&pf.file.text, &node, &["./clan.nix".to_string()])?;
            let flake_text = edit::apply(&pf.file.text, &[splice])?;
            let clan = format!(
                "{{\n  inventory.instances = {{\n{}  }};\n}}\n",
                instances(4)
            );
            Ok(vec![(flake.clone(), flake_text), (home.file.clone(), clan)])
        }
    }
}

fn set_node(pf: &ParsedFile, range: Range) -> Result<ast::AttrSet, String> {
    module_top(&pf.parse.tree(), Some(range))
        .ok_or_else(|| format!("{}: the inventory set moved", pf.file.path.display()))
}

/// `text` with `lines(indent)` added as the last bindings of `set`.
/// `blank` separates them from existing bindings by an empty line.
fn append(
    text: &str,
    set: &ast::AttrSet,
    lines: &dyn Fn(usize) -> String,
    blank: bool,
) -> Result<String, String> {
    let close = set
        .r_curly_token()
        .ok_or("an inventory set has no closing brace")?;
    let close = usize::from(close.text_range().start());
    let open = usize::from(set.syntax().text_range().start());
    let base = indent_at(text, open).len();
    let ls = line_start(text, close);
    let splice = if text[ls..close].trim().is_empty() && text[open..close].contains('\n') {
        // `}` on a line of its own: the bindings go just above it.
        let inner = indent_at(text, close).len() + 2;
        let has_bindings =
            set.attrpath_values().next().is_some() || set.inherits().next().is_some();
        let sep = if blank && has_bindings { "\n" } else { "" };
        Splice::insert(ls, format!("{sep}{}", lines(inner)))
    } else {
        // `{ }` or bindings and `}` on one line: open it up.
        let inner = base + 2;
        let inside = text[open + 1..close].trim();
        let mut body = String::from("{\n");
        if !inside.is_empty() {
            body.push_str(&format!("{}{inside}\n", " ".repeat(inner)));
            if blank {
                body.push('\n');
            }
        }
        body.push_str(&lines(inner));
        body.push_str(&" ".repeat(base));
        body.push('}');
        Splice {
            range: (open, close + 1),
            text: body,
        }
    };
    edit::apply(text, &[splice])
}

/// One instance, `indent` spaces in, in nixfmt's layout.
fn instance(user: &str, moves: &[&UserMove], machines: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let nixos = moves.iter().find(|m| m.option == UserOption::Users);
    let hosts: Vec<String> = nixos
        .or(moves.first())
        .map(|m| m.hosts.clone())
        .unwrap_or_default();
    let svc = |f: &dyn Fn(&super::ServiceMove) -> Vec<String>| -> Vec<String> {
        moves
            .iter()
            .filter_map(|m| m.service.as_ref())
            .flat_map(f)
            .collect()
    };
    let groups = svc(&|s| s.groups.clone());
    let keys = svc(&|s| s.keys.clone());
    let key_files = svc(&|s| s.key_files.clone());
    let extra = svc(&|s| s.extra_modules.clone());
    let mut machine_groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in moves.iter().filter_map(|m| m.service.as_ref()) {
        for (h, g) in &m.machine_groups {
            machine_groups
                .entry(h.clone())
                .or_default()
                .extend(g.iter().cloned());
        }
    }
    let share = nixos
        .and_then(|m| m.service.as_ref().map(|s| s.shared_password(&m.hosts)))
        .unwrap_or(false);
    let everywhere = {
        let mine: BTreeSet<&String> = hosts.iter().collect();
        let all: BTreeSet<&String> = machines.iter().collect();
        mine == all
    };
    out.push_str(&format!("{pad}{} = {{\n", attr(&format!("{user}-user"))));
    let p2 = " ".repeat(indent + 2);
    out.push_str(&format!("{p2}module.name = \"users\";\n"));
    if everywhere {
        out.push_str(&format!("{p2}roles.default.tags.all = {{ }};\n"));
    } else {
        for h in &hosts {
            if !machine_groups.contains_key(h) {
                out.push_str(&format!(
                    "{p2}roles.default.machines.{} = {{ }};\n",
                    attr(h)
                ));
            }
        }
    }
    out.push_str(&format!("{p2}roles.default.settings = {{\n"));
    let p4 = " ".repeat(indent + 4);
    out.push_str(&format!(
        "{p4}user = {};\n",
        crate::nix::string_literal(user)
    ));
    if !groups.is_empty() {
        out.push_str(&format!("{p4}groups = {};\n", list(&groups, indent + 4)));
    }
    if !keys.is_empty() {
        out.push_str(&format!(
            "{p4}openssh.authorizedKeys.keys = {};\n",
            list(&keys, indent + 4)
        ));
    }
    if !key_files.is_empty() {
        out.push_str(&format!(
            "{p4}openssh.authorizedKeys.keyFiles = {};\n",
            list(&key_files, indent + 4)
        ));
    }
    if share {
        out.push_str(&format!("{p4}share = true;\n"));
    }
    out.push_str(&format!("{p2}}};\n"));
    for (h, g) in &machine_groups {
        out.push_str(&format!(
            "{p2}roles.default.machines.{}.settings.groups = {};\n",
            attr(h),
            list(g, indent + 2)
        ));
    }
    if !extra.is_empty() {
        out.push_str(&format!(
            "{p2}roles.default.extraModules = {};\n",
            list(&extra, indent + 2)
        ));
    }
    out.push_str(&format!("{pad}}};\n"));
    out
}

/// A list as nixfmt lays it out: one element inline, several one per line.
fn list(items: &[String], indent: usize) -> String {
    match items {
        // nixfmt keeps a short list on its line (100 columns).
        [one] if !one.contains('\n') && indent + one.len() + 40 <= 100 => format!("[ {one} ]"),
        _ => {
            let pad = " ".repeat(indent + 2);
            let mut s = String::from("[\n");
            for i in items {
                s.push_str(&format!("{pad}{i}\n"));
            }
            s.push_str(&" ".repeat(indent));
            s.push(']');
            s
        }
    }
}

/// What the service changes for one user, for the plan's summary and
/// the commit message: passwords it supersedes, with the commands that
/// keep them.
pub fn notices(m: &UserMove) -> Vec<Notice> {
    let Some(svc) = &m.service else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if m.option != UserOption::Users {
        return out;
    }
    let about = |n: Notice| n.about(&m.user, Some(m.option));
    let generator = format!("user-password-{}", m.user);
    out.push(about(Notice::note(codes::SERVICE_SETS, format!(
        "the service sets isNormalUser, the password (hashedPasswordFile from the vars generator {generator}) and users.mutableUsers = false on {}",
        crate::report::host_list(&m.hosts)
    ))));
    if svc.passwords.is_empty() {
        out.push(about(Notice::note(codes::PASSWORD_PROMPTED, format!(
            "{} has no password in the configuration today; Clan prompts for one (or generates it) on the next deploy",
            m.user
        ))));
        return out;
    }
    let share = svc.shared_password(&m.hosts);
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for p in &svc.passwords {
        if share && !seen.is_empty() {
            break;
        }
        if !seen.insert((&p.host, &p.attr)) {
            continue;
        }
        let hashed = p.attr.contains("ashed");
        let on = if share {
            format!("{} (shared by every machine)", p.host)
        } else {
            p.host.clone()
        };
        let notice = about(Notice::note(
            codes::PASSWORD_SUPERSEDED,
            format!(
                "{attr} on {on} is superseded; to keep it, before deploying run:",
                attr = p.attr
            ),
        ));
        let value = p.value.replace('\'', "'\\''");
        out.push(if hashed {
            notice
                .command(format!(
                    "printf '%s' '{value}' | clan vars set {} {generator}/user-password-hash",
                    p.host
                ))
                .command(format!(
                    "clan vars set {} {generator}/user-password   # the clear password, or Clan regenerates both",
                    p.host
                ))
        } else {
            notice
                .command(format!(
                    "printf '%s' '{value}' | clan vars set {} {generator}/user-password",
                    p.host
                ))
                .command(format!(
                    "printf '%s' '{value}' | mkpasswd -s | clan vars set {} {generator}/user-password-hash",
                    p.host
                ))
        });
    }
    out
}

/// How a module sets `users.mutableUsers = true`, against the service's
/// plain `users.mutableUsers = false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutable {
    /// A plain `true`: two definitions disagree, the machine no longer
    /// evaluates.
    Conflict,
    /// `mkDefault true` and the like: the service's `false` wins.
    Overridden,
    /// `mkForce true`: it wins over the service, whose users then stay
    /// mutable.
    Forced,
}

/// A place that sets `users.mutableUsers = true`.
#[derive(Debug, Clone)]
pub struct MutableSite {
    /// The binding.
    pub location: Location,
    pub how: Mutable,
}

impl std::fmt::Display for MutableSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            crate::source::display_path(&self.location.file),
            self.location.start.line,
            self.location.start.column
        )
    }
}

/// How a definition of `users.mutableUsers` (from the index) stands
/// against the service's plain `false`: `None` unless it is `true`.
pub fn mutable_site(def: &SettingDef) -> Option<MutableSite> {
    if def.setting != Setting::MutableUsers || def.as_bool() != Some(true) {
        return None;
    }
    let how = match def.priority {
        Some(100) => Mutable::Conflict,
        Some(p) if p > 100 => Mutable::Overridden,
        // mkForce, or an mkOverride whose priority is not known: assume
        // it wins, as the stronger warning.
        _ => Mutable::Forced,
    };
    Some(MutableSite {
        location: def.location.clone(),
        how,
    })
}

/// The commit message's account of what a move gives the instance.
pub fn describe(m: &UserMove, svc: &super::ServiceMove) -> String {
    let mut out = String::new();
    if m.option == UserOption::Users {
        out.push_str(&format!(
            "Moved to the {}-user instance of the Clan users service:\n",
            m.user
        ));
        for (what, items) in [
            ("groups", &svc.groups),
            ("openssh.authorizedKeys.keys", &svc.keys),
            ("openssh.authorizedKeys.keyFiles", &svc.key_files),
        ] {
            if !items.is_empty() {
                out.push_str(&format!("- {what}: {}\n", items.join(" ")));
            }
        }
        for (h, g) in &svc.machine_groups {
            out.push_str(&format!("- groups on {h}: {}\n", g.join(" ")));
        }
        for d in &svc.dropped {
            out.push_str(&format!("- {d} (set by the service)\n"));
        }
        for n in notices(m) {
            out.push_str(&format!("{}\n", n.message));
            for c in &n.commands {
                out.push_str(&format!("  {c}\n"));
            }
        }
        out.push('\n');
    }
    if let Some((f, _)) = m.created() {
        out.push_str(&format!(
            "{} is in the instance's extraModules.\n",
            crate::source::display_path(f)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended(text: &str, blank: bool) -> String {
        let parse = rnix::Root::parse(text);
        let set = parse
            .tree()
            .syntax()
            .descendants()
            .filter_map(ast::AttrSet::cast)
            .last()
            .expect("a set");
        append(
            text,
            &set,
            &|ind| format!("{}x = 1;\n", " ".repeat(ind)),
            blank,
        )
        .unwrap()
    }

    #[test]
    fn appending_to_sets_of_every_layout() {
        assert_eq!(
            appended("{\n  a.b = { };\n}\n", false),
            "{\n  a.b = {\n    x = 1;\n  };\n}\n"
        );
        assert_eq!(
            appended("{\n  s = {\n    y = 2;\n  };\n}\n", true),
            "{\n  s = {\n    y = 2;\n\n    x = 1;\n  };\n}\n"
        );
        assert_eq!(
            appended("{\n  s = { y = 2; };\n}\n", true),
            "{\n  s = {\n    y = 2;\n\n    x = 1;\n  };\n}\n"
        );
        assert_eq!(
            appended("{\n  s = {\n  };\n}\n", true),
            "{\n  s = {\n    x = 1;\n  };\n}\n"
        );
    }

    #[test]
    fn lists_are_laid_out_as_nixfmt_does() {
        assert_eq!(list(&["\"a\"".into()], 4), "[ \"a\" ]");
        assert_eq!(
            list(&["\"a\"".into(), "\"b\"".into()], 4),
            "[\n      \"a\"\n      \"b\"\n    ]"
        );
        let long = format!("\"{}\"", "k".repeat(90));
        assert!(list(&[long], 4).starts_with("[\n"));
    }

    #[test]
    fn mutable_users_true_is_found_with_its_spellings() {
        let sites = |text: &str| -> Vec<Mutable> {
            let f = crate::source::SourceFile::new(PathBuf::from("a.nix"), text.to_string());
            let root = rnix::Root::parse(&f.text).tree();
            crate::index::index_file(&f, &root)
                .iter()
                .flat_map(|m| &m.settings)
                .filter_map(mutable_site)
                .map(|s| s.how)
                .collect()
        };
        assert_eq!(sites("{ users.mutableUsers = true; }"), [Mutable::Conflict]);
        assert_eq!(
            sites("{ users = { mutableUsers = lib.mkDefault true; }; }"),
            [Mutable::Overridden]
        );
        assert_eq!(
            sites("{ users.mutableUsers = lib.mkForce true; }"),
            [Mutable::Forced]
        );
        assert!(sites("{ users.mutableUsers = false; }").is_empty());
        assert!(sites("{\n  # users.mutableUsers = true;\n}").is_empty());
        assert!(sites("{ services.x.mutableUsers = true; }").is_empty());
    }

    #[test]
    fn a_password_is_shared_only_when_every_host_has_the_same() {
        let pw = |h: &str, v: &str| super::super::Password {
            host: h.into(),
            attr: "hashedPassword".into(),
            value: v.into(),
        };
        let hosts = vec!["a".to_string(), "b".to_string()];
        let mut svc = super::super::ServiceMove {
            passwords: vec![pw("a", "x"), pw("b", "x")],
            ..Default::default()
        };
        assert!(svc.shared_password(&hosts));
        svc.passwords = vec![pw("a", "x"), pw("b", "y")];
        assert!(!svc.shared_password(&hosts));
        svc.passwords = vec![pw("a", "x")];
        assert!(!svc.shared_password(&hosts));
    }
}
