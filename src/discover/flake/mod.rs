//! Hosts written in `flake.nix`: `nixosConfigurations` entries calling
//! `nixosSystem` directly or through a `let`-bound helper, colmena hives,
//! and Clan flakes (whose machines live in `machines/<h>/`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rnix::Root;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::conventions;
use super::host::{Discovery, FoundBy, Host};
use crate::diagnostic::{Diagnostic, Location, codes};
use crate::index::{ImportTarget, ModuleIndex, ModuleKey, index_module_at};
use crate::scope::{Binding, Resolution, Scope};
use crate::source::SourceFile;
use crate::syntax::{
    StaticEnv, StaticValue, apply_chain, attr_name, attrpath_names, get_attr, head_name,
    ident_text, lambda_params, range_of, static_value, strip_parens,
};

mod colmena;
mod helpers;
mod hosts;
mod lite_config;

const FLAKE: &str = "flake.nix";
pub const CLAN_NIX: &str = "clan.nix";
const MAX_DEPTH: usize = 32;

pub fn discover(repo: &Path, d: &mut Discovery) -> Vec<Host> {
    let Ok(text) = std::fs::read_to_string(repo.join(FLAKE)) else {
        return Vec::new();
    };
    let file = SourceFile::new(PathBuf::from(FLAKE), text);
    let parse = Root::parse(&file.text);
    if !parse.errors().is_empty() {
        d.diagnostics
            .extend(crate::parse_error::parse_diagnostics(&file, parse.errors()));
        d.broken_files.push(file.path.clone());
        return Vec::new();
    }
    if let Some(range) = crate::syntax::malformed(&file.text, &parse.syntax()) {
        d.diagnostics
            .push(crate::parse_error::malformed_diagnostic(&file, range));
        d.broken_files.push(file.path.clone());
        return Vec::new();
    }

    let root = parse.tree();
    let mut finder = Finder {
        repo,
        file: &file,
        root: &root,
        dir: PathBuf::new(),
        d,
        hosts: Vec::new(),
        computed: Vec::new(),
        machine_mode: false,
        clan_hosts: Vec::new(),
        visited: vec![file.path.clone()],
        clan_files: Vec::new(),
    };
    // Every flake module's `nixosModules` first, so a host in one flake
    // module can use a module another one names, in any order.
    finder.prescan();
    finder.visited = vec![file.path.clone()];
    let Some(ast::Expr::AttrSet(top)) = root.expr().map(strip_parens) else {
        return Vec::new();
    };
    let Some(outputs) = get_attr(&top, &["outputs"]) else {
        return Vec::new();
    };
    finder.search(outputs, Scope::root(), 0);

    let clan_files = std::mem::take(&mut finder.clan_files);
    let is_clan = file.text.contains("lib.clan")
        || file.text.contains("buildClan")
        || file.text.contains("clan-core.flakeModules")
        || !clan_files.is_empty();
    let mut hosts = std::mem::take(&mut finder.hosts);
    let computed = std::mem::take(&mut finder.computed);
    if is_clan {
        // Where the inventory can be: the flake itself, and `clan.nix`
        // when the flake names it (a file nothing imports is not wired).
        finder.d.clan = true;
        finder.d.inventory_files.push(file.path.clone());
        if file.text.contains("./clan.nix") && repo.join(CLAN_NIX).is_file() {
            finder.d.inventory_files.push(PathBuf::from(CLAN_NIX));
        }
        finder.d.inventory_files.extend(clan_files);
        // A darwin machine of the clan is built by nix-darwin: no NixOS host.
        let machines = conventions::clan_machines(repo);
        let names: Vec<String> = machines.iter().map(|h| h.name.clone()).collect();
        let darwin = conventions::darwin_machines(repo, &names, &finder.d.inventory_files);
        for h in machines {
            if darwin.iter().any(|(n, _)| *n == h.name) {
                continue;
            }
            match hosts.iter_mut().find(|x| x.name == h.name) {
                // Clan imports `machines/<m>/configuration.nix` as well as
                // what the clan call's `machines.<m>` says.
                Some(x) if finder.clan_hosts.contains(&h.name) => x.modules.extend(h.modules),
                Some(_) => {}
                None => hosts.push(h),
            }
        }
        hosts.retain(|h| !darwin.iter().any(|(n, _)| *n == h.name));
        for (name, at) in darwin {
            darwin_machine(finder.d, name, at);
        }
    }
    if hosts.is_empty() {
        let hints = conventions::host_flags(repo);
        for (at, construct) in computed {
            finder.d.diagnostics.push(
                Diagnostic::warning(
                    codes::HOSTS_COMPUTED,
                    format!("nixosConfigurations is computed (`{construct}`); its hosts cannot be listed without evaluating"),
                )
                .at(at)
                .help(format!(
                    "from the repository root, `clan-migrate scan . --eval` asks Nix for the hosts and the files that define each one's users (Nix must be able to evaluate the flake); or name each host's main module: `clan-migrate scan .{hints}` (or a [hosts] table in clan-migrate.toml); without either, hosts are guessed from directory conventions"
                )),
            );
        }
    }
    hosts
}

/// A machine the flake builds with nix-darwin: not a NixOS host, and not
/// an orphan either, said so once.
fn darwin_machine(d: &mut Discovery, name: String, at: Location) {
    d.diagnostics.push(
        Diagnostic::note(
            codes::NOT_NIXOS,
            format!("machine `{name}` is a darwin machine, built with nix-darwin: it is not scanned as a NixOS host"),
        )
        .at(at),
    );
    d.not_nixos.push(name);
}

struct Finder<'a> {
    repo: &'a Path,
    file: &'a SourceFile,
    root: &'a Root,
    /// The directory of `file`, which relative paths in it start from.
    dir: PathBuf,
    d: &'a mut Discovery,
    hosts: Vec<Host>,
    /// Host sets that cannot be listed: where, and the construct.
    computed: Vec<(Location, String)>,
    /// Files already followed (flake modules, hive files): each once.
    visited: Vec<PathBuf>,
    /// Files calling `clan-core.lib.clan` whose `nixosConfigurations` the
    /// flake inherits (`clan = import ./machines/inventory.nix self;`).
    clan_files: Vec<PathBuf>,
    /// Reading a clan call's `machines`: a host's value is a NixOS module
    /// (`{ imports = [ … ]; }`), not a `nixosSystem` call.
    machine_mode: bool,
    /// Hosts found in a clan call's `machines`.
    clan_hosts: Vec<String>,
}

/// Arguments bound while following a helper: literal ones as values,
/// the rest as expressions (a helper's `extraModules` list).
#[derive(Default, Clone)]
struct Env {
    statics: StaticEnv,
    exprs: HashMap<String, ast::Expr>,
    /// Module lists read where a helper in another file is called.
    lists: HashMap<String, Read>,
}

/// A module a host gets, resolved in the file that names it: a path
/// (relative to the repository), or an inline module, already indexed.
#[derive(Clone)]
enum Module {
    Path(PathBuf),
    Inline(Vec<ModuleIndex>),
}

/// A module list read in one file for use in another (a helper in
/// `lib/box.nix` called from flake.nix), with the diagnostics reading it
/// gave: they are reported only if the list is used as modules.
#[derive(Clone)]
struct Read {
    modules: Vec<Module>,
    diagnostics: Vec<Diagnostic>,
}

/// A call's argument read where the call is written: its literal value,
/// its module list, and the same for each attribute of a literal set.
#[derive(Clone, Default)]
struct Arg {
    value: Option<StaticValue>,
    list: Option<Read>,
    fields: Option<HashMap<String, Arg>>,
}

impl Env {
    fn put(&mut self, name: String, arg: &Arg) {
        if let Some(v) = &arg.value {
            self.statics.insert(name.clone(), v.clone());
        }
        if let Some(l) = &arg.list {
            self.lists.insert(name, l.clone());
        }
    }
}

impl Finder<'_> {
    fn dir(&self) -> PathBuf {
        self.dir.clone()
    }

    fn computed_at(&mut self, node: &rnix::SyntaxNode) {
        let at = Location::new(self.file, range_of(node));
        self.computed
            .push((at, crate::syntax::short_text(node).to_string()));
    }

    /// Records `nixosModules.<name> = <path>` anywhere in this file.
    fn collect_flake_modules(&mut self) {
        for node in self.root.syntax().descendants() {
            let Some(av) = ast::AttrpathValue::cast(node) else {
                continue;
            };
            let (Some(path), Some(value)) = (av.attrpath(), av.value()) else {
                continue;
            };
            let names: Vec<Option<String>> = attrpath_names(&path)
                .into_iter()
                .map(|(n, _)| n.as_static().map(str::to_string))
                .collect();
            let n = names.len();
            if names
                .last()
                .is_some_and(|l| l.as_deref() == Some("nixosModules"))
            {
                let (entries, complete) = self.module_entries(value, 0);
                for (name, p) in entries {
                    self.d.flake_modules.modules.entry(name).or_insert(p);
                }
                self.d.flake_modules.incomplete |= !complete;
                continue;
            }
            if n < 2 || names[n - 2].as_deref() != Some("nixosModules") {
                continue;
            }
            let Some(Some(name)) = names.last().cloned() else {
                continue;
            };
            if self.inline_flake_module(&name, &value) {
                continue;
            }
            let target = crate::syntax::import_target(&value);
            match static_value(&target, &self.dir(), &StaticEnv::default()) {
                Some(StaticValue::Path(p)) => {
                    self.d.flake_modules.modules.entry(name).or_insert(p);
                }
                _ => self.d.flake_modules.incomplete = true,
            }
        }
    }

    /// Records `value` as the flake's module `name` if it is written in
    /// place (`homelab = { lib, ... }: { … };`), indexed with the
    /// discovery's inline modules.
    fn inline_flake_module(&mut self, name: &str, value: &ast::Expr) -> bool {
        if !matches!(
            strip_parens(value.clone()),
            ast::Expr::AttrSet(_) | ast::Expr::Lambda(_)
        ) {
            return false;
        }
        let indexed = index_module_at(self.file, self.root, range_of(value.syntax()));
        if let Some(first) = indexed.first() {
            self.d
                .flake_modules
                .inline
                .entry(name.to_string())
                .or_insert(first.key.clone());
        }
        for m in indexed {
            if !self.d.inline_modules.iter().any(|x| x.key == m.key) {
                self.d.inline_modules.push(m);
            }
        }
        true
    }

    /// The modules a `nixosModules` set holds by name, and whether every
    /// one was read: a set of paths (`{ a = ./a.nix; b = import ./b.nix; }`),
    /// a file holding one (`import ./modules/nixos`), or a set made from a
    /// directory listing (`importDir ./nixos …`).
    fn module_entries(&mut self, value: ast::Expr, depth: usize) -> (Vec<(String, PathBuf)>, bool) {
        let value = strip_parens(value);
        if depth > MAX_DEPTH {
            return (Vec::new(), false);
        }
        if let ast::Expr::AttrSet(set) = &value {
            let mut out = Vec::new();
            let mut complete = set.inherits().next().is_none();
            for av in set.attrpath_values() {
                let (Some(path), Some(v)) = (av.attrpath(), av.value()) else {
                    continue;
                };
                let names = attrpath_names(&path);
                if let [(name, _)] = names.as_slice()
                    && let Some(name) = name.as_static()
                    && self.inline_flake_module(name, &v)
                {
                    continue;
                }
                let target = crate::syntax::import_target(&v);
                let name = match names.as_slice() {
                    [(name, _)] => name.as_static(),
                    _ => None,
                };
                match (
                    name,
                    static_value(&target, &self.dir(), &StaticEnv::default()),
                ) {
                    (Some(name), Some(StaticValue::Path(p))) => out.push((name.to_string(), p)),
                    _ => complete = false,
                }
            }
            return (out, complete);
        }
        let file = static_value(
            &crate::syntax::import_target(&value),
            &self.dir(),
            &StaticEnv::default(),
        );
        if let Some(StaticValue::Path(p)) = file {
            let mut found = (Vec::new(), false);
            self.with_file(&p, false, |f, expr| {
                found = f.module_entries(expr, depth + 1)
            });
            return found;
        }
        // `nixosModules = importDir ./nixos …;`: made from a listing.
        match self.evaluated(&value, crate::listing::named_paths) {
            Some(entries) => (entries.into_iter().collect(), true),
            None => (Vec::new(), false),
        }
    }

    /// Records the `nixosModules` of this file and of every file its
    /// `imports` lists name, transitively (each file once).
    fn prescan(&mut self) {
        self.collect_flake_modules();
        let lists: Vec<ast::List> = self
            .root
            .syntax()
            .descendants()
            .filter_map(ast::AttrpathValue::cast)
            .filter(|av| {
                av.attrpath().is_some_and(|p| {
                    let names = attrpath_names(&p);
                    names.len() == 1 && names[0].0.as_static() == Some("imports")
                })
            })
            .filter_map(|av| match av.value().map(strip_parens) {
                Some(ast::Expr::List(l)) => Some(l),
                _ => None,
            })
            .collect();
        for list in lists {
            for item in list.items() {
                if let Some(StaticValue::Path(p)) =
                    static_value(&item, &self.dir(), &StaticEnv::default())
                {
                    self.in_file(&p, |f, _| f.prescan());
                }
            }
        }
    }

    /// Runs `f` on the expression of another file of the repository
    /// (a flake module, a hive): each file once, broken files reported.
    fn in_file(&mut self, rel: &Path, f: impl FnOnce(&mut Finder<'_>, ast::Expr)) {
        self.with_file(rel, true, f)
    }

    /// Runs `f` on the expression of another file; `once`: only if no
    /// earlier call visited it (a helper's file is read for every call).
    fn with_file(&mut self, rel: &Path, once: bool, f: impl FnOnce(&mut Finder<'_>, ast::Expr)) {
        let Some(rel) = conventions::host_entry(self.repo, rel) else {
            return;
        };
        if (once && self.visited.contains(&rel))
            || self.visited.len() > 512
            || self.d.broken_files.contains(&rel)
        {
            return;
        }
        if !self.visited.contains(&rel) {
            self.visited.push(rel.clone());
        }
        let Ok(text) = std::fs::read_to_string(self.repo.join(&rel)) else {
            return;
        };
        let file = SourceFile::new(rel.clone(), text);
        let parse = Root::parse(&file.text);
        if !parse.errors().is_empty() {
            self.d
                .diagnostics
                .extend(crate::parse_error::parse_diagnostics(&file, parse.errors()));
            self.d.broken_files.push(rel);
            return;
        }
        if let Some(range) = crate::syntax::malformed(&file.text, &parse.syntax()) {
            self.d
                .diagnostics
                .push(crate::parse_error::malformed_diagnostic(&file, range));
            self.d.broken_files.push(rel);
            return;
        }
        let root = parse.tree();
        let Some(expr) = root.expr() else { return };
        let mut sub = Finder {
            repo: self.repo,
            file: &file,
            root: &root,
            dir: rel.parent().unwrap_or(Path::new("")).to_path_buf(),
            d: &mut *self.d,
            hosts: std::mem::take(&mut self.hosts),
            computed: std::mem::take(&mut self.computed),
            visited: std::mem::take(&mut self.visited),
            clan_files: std::mem::take(&mut self.clan_files),
            machine_mode: self.machine_mode,
            clan_hosts: std::mem::take(&mut self.clan_hosts),
        };
        sub.collect_flake_modules();
        f(&mut sub, expr);
        self.hosts = sub.hosts;
        self.computed = sub.computed;
        self.visited = sub.visited;
        self.clan_files = sub.clan_files;
        self.clan_hosts = sub.clan_hosts;
    }

    /// A flake-parts `imports` list: each flake module is searched too.
    fn flake_imports(&mut self, value: ast::Expr, depth: usize) {
        let ast::Expr::List(list) = strip_parens(value) else {
            return;
        };
        for item in list.items() {
            if let Some(StaticValue::Path(p)) =
                static_value(&item, &self.dir(), &StaticEnv::default())
            {
                self.in_file(&p, |f, expr| f.search(expr, Scope::root(), depth + 1));
            }
        }
    }

    /// Looks for `nixosConfigurations` and `colmena` anywhere in the outputs.
    fn search(&mut self, expr: ast::Expr, scope: Scope, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match strip_parens(expr) {
            ast::Expr::Lambda(l) => {
                if let Some(b) = l.body() {
                    self.search(b, scope.with_params(lambda_params(&l), false), depth + 1);
                }
            }
            ast::Expr::LetIn(l) => {
                let scope = scope.with_bindings(&l);
                // `let clan = clan-core.lib.clan { machines = …; }; in …`
                for av in l.attrpath_values() {
                    if let Some(v) = av.value()
                        && let Some((head, _)) = apply_chain(&strip_parens(v.clone()))
                        && matches!(head_name(&head).as_deref(), Some("clan" | "buildClan"))
                    {
                        self.search(v, scope.clone(), depth + 1);
                    }
                }
                if let Some(b) = l.body() {
                    self.search(b, scope, depth + 1);
                }
            }
            ast::Expr::With(w) => {
                if let Some(b) = w.body() {
                    self.search(b, scope, depth + 1);
                }
            }
            // `(flake-parts.lib.evalFlakeModule { … } { … }).config.flake`
            ast::Expr::Select(sel) => {
                if let Some(e) = sel.expr() {
                    self.search(e, scope, depth + 1);
                }
            }
            ast::Expr::BinOp(op) => {
                for side in [op.lhs(), op.rhs()].into_iter().flatten() {
                    self.search(side, scope.clone(), depth + 1);
                }
            }
            ast::Expr::Apply(a) => {
                if let Some((head, args)) = apply_chain(&ast::Expr::Apply(a.clone()))
                    && matches!(head_name(&head).as_deref(), Some("clan" | "buildClan"))
                    && let Some(ast::Expr::AttrSet(set)) = args.last().cloned().map(strip_parens)
                {
                    self.clan_machines(&set, &scope, depth + 1);
                }
                for part in [a.lambda(), a.argument()].into_iter().flatten() {
                    self.search(part, scope.clone(), depth + 1);
                }
            }
            ast::Expr::AttrSet(set) => {
                let scope = if set.rec_token().is_some() {
                    scope.with_bindings(&set)
                } else {
                    scope
                };
                for inh in set.inherits() {
                    self.inherited_hosts(&inh, &scope);
                }
                for av in set.attrpath_values() {
                    let (Some(path), Some(value)) = (av.attrpath(), av.value()) else {
                        continue;
                    };
                    let names: Vec<Option<String>> = attrpath_names(&path)
                        .into_iter()
                        .map(|(n, _)| n.as_static().map(str::to_string))
                        .collect();
                    // A flake module declaring options (`options.colmena =
                    // { hosts = mkOption …; }`) builds nothing.
                    if names
                        .first()
                        .is_some_and(|n| n.as_deref() == Some("options"))
                    {
                        continue;
                    }
                    if let Some(i) = names
                        .iter()
                        .position(|n| n.as_deref() == Some("nixosConfigurations"))
                    {
                        match names.get(i + 1) {
                            None => self.host_set(value, &scope, depth + 1),
                            Some(Some(host)) if names.len() == i + 2 => {
                                self.host(host.clone(), value, &scope, av.syntax())
                            }
                            _ => self.computed_at(av.syntax()),
                        }
                    } else if names
                        .last()
                        .is_some_and(|n| matches!(n.as_deref(), Some("colmena" | "colmenaHive")))
                    {
                        self.colmena(value, &scope, depth + 1);
                    } else if names == [Some("clan".to_string())]
                        && let ast::Expr::AttrSet(set) = strip_parens(value.clone())
                    {
                        // flake-parts: `clan = { machines = …; };`
                        self.clan_machines(&set, &scope, depth + 1);
                    } else if names == [Some("lite-config".to_string())] {
                        self.lite_config(value, &scope);
                    } else if names.len() == 1 && names[0].as_deref() == Some("imports") {
                        self.flake_imports(value, depth + 1);
                    } else {
                        self.search(value, scope.clone(), depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// `inherit (clan.config) nixosConfigurations;` with
    /// `clan = import ./machines/inventory.nix self;`, a file calling
    /// `clan-core.lib.clan`: the machines are Clan's.
    fn inherited_hosts(&mut self, inh: &ast::Inherit, scope: &Scope) {
        let names_hosts = inh
            .attrs()
            .any(|a| attr_name(&a).as_static() == Some("nixosConfigurations"));
        let Some(from) = inh.from().and_then(|f| f.expr()) else {
            return;
        };
        if !names_hosts {
            return;
        }
        let Some(base) = crate::syntax::dotted_name(&from).and_then(|n| n.into_iter().next())
        else {
            return;
        };
        let Resolution::Binding {
            binding: Binding::Expr(e),
            ..
        } = scope.resolve(&base)
        else {
            return;
        };
        let Some((file, _)) = self.imported(&e) else {
            return;
        };
        let Some(file) = conventions::host_entry(self.repo, &file) else {
            return;
        };
        let calls_clan = std::fs::read_to_string(self.repo.join(&file))
            .is_ok_and(|t| t.contains("lib.clan") || t.contains("buildClan"));
        if calls_clan && !self.clan_files.contains(&file) {
            self.clan_files.push(file);
        }
    }
}

/// The host's own file among its modules: the one that names the host
/// (`hosts/<h>.nix`, `machines/<h>/…`), else the first file.
pub(crate) fn own_file(name: &str, modules: &[ModuleKey]) -> Option<PathBuf> {
    let files = || {
        modules
            .iter()
            .filter(|m| m.inline.is_none())
            .map(|m| &m.file)
    };
    files()
        .find(|f| names_host(name, f))
        .or_else(|| files().next())
        .cloned()
}

/// Whether `file` is named after the host: `hosts/<h>.nix`, `machines/<h>/…`.
pub(crate) fn names_host(name: &str, file: &Path) -> bool {
    file.components().any(|c| c.as_os_str() == name) || file.file_stem().is_some_and(|s| s == name)
}

/// Whether `head` is `nixosSystem`: written so (`nixpkgs.lib.nixosSystem`),
/// or a name bound to it, also as one branch of an `if`
/// (`systemFunc = if darwin then darwinSystem else nixpkgs.lib.nixosSystem`).
fn is_nixos_system(head: &ast::Expr, scope: &Scope, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match strip_parens(head.clone()) {
        ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
            Resolution::Binding {
                binding: Binding::Expr(e),
                scope,
            } => is_nixos_system(&e, &scope, depth + 1),
            // `inherit (inputs.nixpkgs.lib) nixosSystem;`
            Resolution::Binding {
                binding: Binding::InheritFrom(_, name),
                ..
            } => name == "nixosSystem",
            _ => false,
        },
        ast::Expr::IfElse(ie) => [ie.body(), ie.else_body()]
            .into_iter()
            .flatten()
            .any(|branch| is_nixos_system(&branch, scope, depth + 1)),
        other => head_name(&other).as_deref() == Some("nixosSystem"),
    }
}
