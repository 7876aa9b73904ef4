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
        flake_modules: HashMap::new(),
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
        for h in conventions::clan_machines(repo) {
            match hosts.iter_mut().find(|x| x.name == h.name) {
                // Clan imports `machines/<m>/configuration.nix` as well as
                // what the clan call's `machines.<m>` says.
                Some(x) if finder.clan_hosts.contains(&h.name) => x.modules.extend(h.modules),
                Some(_) => {}
                None => hosts.push(h),
            }
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
    /// `nixosModules.<name> = ./path;` written in the flake or its flake
    /// modules, so `self.nixosModules.<name>` in a host's modules is followed.
    flake_modules: HashMap<String, PathBuf>,
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
            if n < 2 || names[n - 2].as_deref() != Some("nixosModules") {
                continue;
            }
            let Some(Some(name)) = names.last().cloned() else {
                continue;
            };
            let target = match apply_chain(&strip_parens(value.clone())) {
                Some((head, args)) if head_name(&head).as_deref() == Some("import") => {
                    args.first().cloned().unwrap_or(value)
                }
                _ => value,
            };
            if let Some(StaticValue::Path(p)) =
                static_value(&target, &self.dir(), &StaticEnv::default())
            {
                self.flake_modules.entry(name).or_insert(p);
            }
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
            flake_modules: std::mem::take(&mut self.flake_modules),
            clan_files: std::mem::take(&mut self.clan_files),
            machine_mode: self.machine_mode,
            clan_hosts: std::mem::take(&mut self.clan_hosts),
        };
        sub.collect_flake_modules();
        f(&mut sub, expr);
        self.hosts = sub.hosts;
        self.computed = sub.computed;
        self.visited = sub.visited;
        self.flake_modules = sub.flake_modules;
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

    fn host_set(&mut self, value: ast::Expr, scope: &Scope, depth: usize) {
        match strip_parens(value.clone()) {
            ast::Expr::AttrSet(set) => {
                for entry in set.entries() {
                    match entry {
                        ast::Entry::AttrpathValue(av) => {
                            let (Some(path), Some(v)) = (av.attrpath(), av.value()) else {
                                continue;
                            };
                            let names = attrpath_names(&path);
                            match (names.len(), names[0].0.as_static()) {
                                (1, Some(host)) => {
                                    self.host(host.to_string(), v, scope, av.syntax())
                                }
                                _ => self.computed_at(av.syntax()),
                            }
                        }
                        ast::Entry::Inherit(inh) => {
                            for attr in inh.attrs() {
                                if let Some(name) = attr_name(&attr).as_static() {
                                    let text = name.to_string();
                                    match scope.resolve(&text) {
                                        Resolution::Binding {
                                            binding: Binding::Expr(e),
                                            scope,
                                        } => self.host(text, e, &scope, inh.syntax()),
                                        _ => self.computed_at(inh.syntax()),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            ast::Expr::Ident(i) if depth < MAX_DEPTH => match scope.resolve(&ident_text(&i)) {
                Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } => self.host_set(e, &scope, depth + 1),
                _ => self.computed_at(value.syntax()),
            },
            // `clan.config.nixosConfigurations // { old = …; }`: Clan's
            // machines are found in the clan call.
            ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Update) => {
                for side in [op.lhs(), op.rhs()].into_iter().flatten() {
                    if !matches!(strip_parens(side.clone()), ast::Expr::Select(_)) {
                        self.host_set(side, scope, depth + 1);
                    }
                }
            }
            other if self.listed_hosts(&other, scope) => {}
            other => match apply_chain(&other) {
                // `genAttrs [ "a" "b" ] (name: …)`: one host per literal name.
                Some((head, args))
                    if head_name(&head).as_deref() == Some("genAttrs") && args.len() == 2 =>
                {
                    let ast::Expr::List(list) = strip_parens(args[0].clone()) else {
                        return self.computed_at(value.syntax());
                    };
                    for item in list.items() {
                        let Some(StaticValue::Str(name)) =
                            static_value(&item, &self.dir(), &StaticEnv::default())
                        else {
                            self.computed_at(item.syntax());
                            continue;
                        };
                        self.generated_host(name, &args[1], Vec::new(), scope, item.syntax());
                    }
                }
                // `mapAttrs (name: value: …) { a = …; }`: one host per key.
                Some((head, args))
                    if head_name(&head).as_deref() == Some("mapAttrs") && args.len() == 2 =>
                {
                    let set = match strip_parens(args[1].clone()) {
                        ast::Expr::AttrSet(s) => Some(s),
                        ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
                            Resolution::Binding {
                                binding: Binding::Expr(e),
                                ..
                            } => match strip_parens(e) {
                                ast::Expr::AttrSet(s) => Some(s),
                                _ => None,
                            },
                            _ => None,
                        },
                        _ => None,
                    };
                    let Some(set) = set else {
                        return self.computed_at(value.syntax());
                    };
                    for av in set.attrpath_values() {
                        let (Some(path), Some(v)) = (av.attrpath(), av.value()) else {
                            continue;
                        };
                        let names = attrpath_names(&path);
                        match (names.len(), names[0].0.as_static()) {
                            (1, Some(name)) => self.generated_host(
                                name.to_string(),
                                &args[0],
                                vec![v],
                                scope,
                                av.syntax(),
                            ),
                            _ => self.computed_at(av.syntax()),
                        }
                    }
                }
                _ => self.computed_at(value.syntax()),
            },
        }
    }

    /// `mapAttrs (name: _: mkHost name) (filterAttrs … (readDir ./hosts))`
    /// and `genAttrs (attrNames (readDir ./machines)) mkHost`: one host
    /// per directory that exists, built by the function for its name.
    fn listed_hosts(&mut self, expr: &ast::Expr, scope: &Scope) -> bool {
        let Some((head, args)) = apply_chain(expr) else {
            return false;
        };
        let (names_arg, function, skip_value) = match (head_name(&head).as_deref(), args.as_slice())
        {
            (Some("mapAttrs"), [f, set]) => (set.clone(), f.clone(), true),
            (Some("genAttrs"), [names, f]) => (names.clone(), f.clone(), false),
            _ => return false,
        };
        // `hostNames = attrNames (readDir ./hosts);` bound once, used here.
        let mut names_arg = names_arg;
        for _ in 0..MAX_DEPTH {
            let ast::Expr::Ident(i) = strip_parens(names_arg.clone()) else {
                break;
            };
            match scope.resolve(&ident_text(&i)) {
                Resolution::Binding {
                    binding: Binding::Expr(e),
                    ..
                } => names_arg = e,
                _ => break,
            }
        }
        let Some(dir) = self.read_dir_of(&names_arg) else {
            return false;
        };
        let text = names_arg.syntax().to_string();
        let only_dirs = text.contains("\"directory\"");
        let nix_files = !only_dirs && text.contains("removeSuffix");
        let Ok(entries) = std::fs::read_dir(self.repo.join(&dir)) else {
            return false;
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    return None;
                }
                if e.path().is_dir() {
                    Some(name)
                } else if nix_files {
                    name.strip_suffix(".nix").map(str::to_string)
                } else {
                    None
                }
            })
            .collect();
        names.sort();
        let Some((lambda, lambda_scope)) = self.function(function, scope, 0) else {
            return false;
        };
        for name in names {
            let Some(param) = lambda.param() else {
                continue;
            };
            let ast::Param::IdentParam(p) = param else {
                continue;
            };
            let Some(ident) = p.ident() else { continue };
            let mut env = Env::default();
            env.statics
                .insert(ident_text(&ident), StaticValue::Str(name.clone()));
            let mut inner_scope = lambda_scope.with_params(lambda_params(&lambda), false);
            let Some(mut body) = lambda.body() else {
                continue;
            };
            if skip_value && let ast::Expr::Lambda(l) = strip_parens(body.clone()) {
                inner_scope = inner_scope.with_params(lambda_params(&l), false);
                match l.body() {
                    Some(b) => body = b,
                    None => continue,
                }
            }
            let at = expr.syntax().clone();
            self.host_in(name, body, &env, &inner_scope, &at, FoundBy::FlakeReadDir);
        }
        true
    }

    /// The directory `builtins.readDir <path>` lists inside `expr`.
    fn read_dir_of(&self, expr: &ast::Expr) -> Option<PathBuf> {
        expr.syntax().descendants().find_map(|node| {
            let apply = ast::Apply::cast(node)?;
            if head_name(&apply.lambda()?).as_deref() != Some("readDir") {
                return None;
            }
            match static_value(&apply.argument()?, &self.dir(), &StaticEnv::default())? {
                StaticValue::Path(p) => Some(p),
                StaticValue::Str(_) => None,
            }
        })
    }

    /// A function expression as a lambda, following let-bound names.
    fn function(
        &self,
        expr: ast::Expr,
        scope: &Scope,
        depth: usize,
    ) -> Option<(ast::Lambda, Scope)> {
        if depth > MAX_DEPTH {
            return None;
        }
        match strip_parens(expr) {
            ast::Expr::Lambda(l) => Some((l, scope.clone())),
            ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
                Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } => self.function(e, &scope, depth + 1),
                _ => None,
            },
            _ => None,
        }
    }

    /// `clan-core.lib.clan { machines = …; }`: each machine's module.
    fn clan_machines(&mut self, set: &ast::AttrSet, scope: &Scope, depth: usize) {
        let was = std::mem::replace(&mut self.machine_mode, true);
        let before = self.hosts.len();
        for av in set.attrpath_values() {
            let (Some(path), Some(value)) = (av.attrpath(), av.value()) else {
                continue;
            };
            let names = attrpath_names(&path);
            if names[0].0.as_static() != Some("machines") {
                continue;
            }
            match names.get(1).map(|(n, _)| n.as_static()) {
                None => self.host_set(value, scope, depth + 1),
                Some(Some(host)) if names.len() == 2 => {
                    self.host(host.to_string(), value, scope, av.syntax())
                }
                _ => self.computed_at(av.syntax()),
            }
        }
        self.machine_mode = was;
        let found: Vec<String> = self.hosts[before..]
            .iter()
            .map(|h| h.name.clone())
            .collect();
        self.clan_hosts.extend(found);
    }

    /// A host made by applying `f` to its name and `more` (`genAttrs`,
    /// `mapAttrs`).
    fn generated_host(
        &mut self,
        name: String,
        f: &ast::Expr,
        more: Vec<ast::Expr>,
        scope: &Scope,
        at: &rnix::SyntaxNode,
    ) {
        let literal = Root::parse(&crate::nix::string_literal(&name))
            .tree()
            .expr();
        let mut found_by = FoundBy::FlakeHelper;
        let construct = crate::syntax::short_text(f.syntax()).to_string();
        let entries = literal.and_then(|arg| {
            self.call(
                f.clone(),
                std::iter::once(arg).chain(more).collect(),
                &Env::default(),
                scope,
                &mut found_by,
                0,
            )
        });
        self.add_host(name, entries, found_by, &construct, at);
    }

    fn host(&mut self, name: String, value: ast::Expr, scope: &Scope, at: &rnix::SyntaxNode) {
        self.host_in(name, value, &Env::default(), scope, at, FoundBy::Flake);
    }

    fn host_in(
        &mut self,
        name: String,
        value: ast::Expr,
        env: &Env,
        scope: &Scope,
        at: &rnix::SyntaxNode,
        found_by: FoundBy,
    ) {
        let mut found_by = found_by;
        let construct = crate::syntax::short_text(value.syntax()).to_string();
        let entries = self.modules_of(value, env, scope, &mut found_by, 0);
        self.add_host(name, entries, found_by, &construct, at);
    }

    fn add_host(
        &mut self,
        name: String,
        entries: Option<Vec<Module>>,
        found_by: FoundBy,
        construct: &str,
        at: &rnix::SyntaxNode,
    ) {
        let Some(entries) = entries else {
            // Try the directory conventions for a host of that name before giving up.
            let fallback = ["hosts", "machines", "nixos/hosts"]
                .iter()
                .find_map(|dir| conventions::host_entry(self.repo, &Path::new(dir).join(&name)))
                .or_else(|| {
                    conventions::host_entry(
                        self.repo,
                        &Path::new("hosts").join(format!("{name}.nix")),
                    )
                });
            let mut diag = Diagnostic::warning(
                codes::HOST_MODULE_UNRESOLVED,
                format!("cannot tell statically which modules host `{name}` uses: `{construct}`"),
            )
            .at(Location::new(self.file, range_of(at)));
            let host = name.clone();
            match fallback {
                Some(root) => {
                    diag = diag.help(format!(
                        "using `{root}` by directory convention; to be exact, name it: `clan-migrate scan . --host {name}={root}`, or ask Nix for its files: `clan-migrate scan . --eval`",
                        root = root.display()
                    ));
                    self.hosts.push(Host {
                        name,
                        modules: vec![ModuleKey::file(root.clone())],
                        root,
                        found_by: FoundBy::Directory,
                    });
                }
                None => {
                    diag = diag.help(format!(
                        "name its main module: `clan-migrate scan . --host {name}=PATH` (PATH relative to the repository root), or ask Nix for its files: `clan-migrate scan . --eval`"
                    ));
                }
            }
            self.d.guessed.push((host, diag));
            return;
        };
        let mut modules = Vec::new();
        for e in entries {
            match e {
                Module::Path(p) => match conventions::host_entry(self.repo, &p) {
                    Some(main) => modules.push(ModuleKey::file(main)),
                    None => self.d.diagnostics.push(
                        Diagnostic::error(
                            codes::IMPORT_MISSING,
                            format!("host `{name}` uses `{}`, which does not exist", p.display()),
                        )
                        .at(Location::new(self.file, range_of(at)))
                        .help(format!("fix the path in {}", self.file.path.display())),
                    ),
                },
                Module::Inline(indexed) => {
                    if let Some(first) = indexed.first() {
                        modules.push(first.key.clone());
                    }
                    // A helper's inline module is the same module on every host.
                    for m in indexed {
                        if !self.d.inline_modules.iter().any(|x| x.key == m.key) {
                            self.d.inline_modules.push(m);
                        }
                    }
                }
            }
        }
        let root = own_file(&name, &modules).unwrap_or_else(|| self.file.path.clone());
        if self.hosts.iter().any(|h| h.name == name) {
            return;
        }
        self.hosts.push(Host {
            name,
            root,
            found_by,
            modules,
        });
    }

    /// The `modules` of a host expression: `….nixosSystem { modules = …; }`,
    /// directly or through helpers applied to literal arguments.
    fn modules_of(
        &mut self,
        expr: ast::Expr,
        env: &Env,
        scope: &Scope,
        found_by: &mut FoundBy,
        depth: usize,
    ) -> Option<Vec<Module>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match strip_parens(expr.clone()) {
            ast::Expr::LetIn(l) => {
                return self.modules_of(
                    l.body()?,
                    env,
                    &scope.with_bindings(&l),
                    found_by,
                    depth + 1,
                );
            }
            ast::Expr::Ident(i) => {
                if let Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } = scope.resolve(&ident_text(&i))
                {
                    return self.modules_of(e, env, &scope, found_by, depth + 1);
                }
                return None;
            }
            _ => {}
        }
        if self.machine_mode
            && let ast::Expr::AttrSet(set) = strip_parens(expr.clone())
        {
            return self.machine_module(&set, env, scope, depth + 1);
        }
        let (head, args) = apply_chain(&strip_parens(expr))?;
        if is_nixos_system(&head, scope, 0) {
            let ast::Expr::AttrSet(set) = strip_parens(args.last()?.clone()) else {
                return None;
            };
            return match get_attr(&set, &["modules"]) {
                Some(list) => self.module_list(list, env, scope, depth + 1),
                None => Some(Vec::new()),
            };
        }
        self.call(head, args, env, scope, found_by, depth)
    }

    /// A clan machine's module: its `imports`, or the whole module when it
    /// says more than that (then the module's own imports are followed).
    fn machine_module(
        &mut self,
        set: &ast::AttrSet,
        env: &Env,
        scope: &Scope,
        depth: usize,
    ) -> Option<Vec<Module>> {
        let only_imports = set.attrpath_values().all(|av| {
            av.attrpath().is_some_and(|p| {
                matches!(
                    attrpath_names(&p)[0].0.as_static(),
                    Some("imports" | "nixpkgs")
                )
            })
        }) && set.inherits().next().is_none();
        if !only_imports && env.exprs.is_empty() {
            let range = range_of(set.syntax());
            return Some(vec![Module::Inline(index_module_at(
                self.file, self.root, range,
            ))]);
        }
        match get_attr(set, &["imports"]) {
            Some(list) => self.module_list(list, env, scope, depth + 1),
            None => Some(Vec::new()),
        }
    }

    /// A helper (a `let`-bound name or a function written in place)
    /// applied to `args`: its parameters bound to them, then its body.
    fn call(
        &mut self,
        head: ast::Expr,
        args: Vec<ast::Expr>,
        env: &Env,
        scope: &Scope,
        found_by: &mut FoundBy,
        depth: usize,
    ) -> Option<Vec<Module>> {
        let (mut body, helper_scope) = match strip_parens(head) {
            lambda @ ast::Expr::Lambda(_) => (lambda, scope.clone()),
            ast::Expr::Ident(helper) => match scope.resolve(&ident_text(&helper)) {
                Resolution::Binding {
                    binding: Binding::Expr(body),
                    scope,
                } => (body, scope),
                _ => return None,
            },
            _ => return None,
        };
        if let Some((file, import_args)) = self.imported(&body) {
            // `nixosBox = import ./lib/box.nix { … };`: read the arguments
            // here, where they are written, and follow the helper there.
            let mut read: Vec<Arg> = import_args
                .iter()
                .map(|a| self.read_arg(a, env, &helper_scope))
                .collect();
            read.extend(args.iter().map(|a| self.read_arg(a, env, scope)));
            let mut out = None;
            let mut inner_found = *found_by;
            self.with_file(&file, false, |f, expr| {
                out = f.apply_read(expr, &read, &mut inner_found, depth + 1);
            });
            *found_by = match inner_found {
                FoundBy::Flake => FoundBy::FlakeHelper,
                other => other,
            };
            return out;
        }
        let mut inner = Env::default();
        let mut inner_scope = helper_scope;
        for arg in args {
            let ast::Expr::Lambda(l) = strip_parens(body) else {
                return None;
            };
            inner_scope = inner_scope.with_params(lambda_params(&l), false);
            match l.param()? {
                ast::Param::IdentParam(p) => {
                    let name = ident_text(&p.ident()?);
                    self.bind(&mut inner, name, arg.clone(), env);
                }
                ast::Param::Pattern(p) => {
                    let ast::Expr::AttrSet(set) = strip_parens(arg.clone()) else {
                        return None;
                    };
                    for entry in p.pat_entries() {
                        let Some(ident) = entry.ident() else { continue };
                        let name = ident_text(&ident);
                        if let Some(v) =
                            get_attr(&set, &[name.as_str()]).or_else(|| entry.default())
                        {
                            self.bind(&mut inner, name, v, env);
                        }
                    }
                    if let Some(b) = p.pat_bind().and_then(|b| b.ident()) {
                        inner.exprs.insert(ident_text(&b), arg.clone());
                    }
                }
            }
            body = l.body()?;
        }
        if *found_by == FoundBy::Flake {
            *found_by = FoundBy::FlakeHelper;
        }
        self.modules_of(body, &inner, &inner_scope, found_by, depth + 1)
    }

    /// `import <path> args…`: the file and the arguments given to it.
    fn imported(&self, expr: &ast::Expr) -> Option<(PathBuf, Vec<ast::Expr>)> {
        let (head, args) = apply_chain(&strip_parens(expr.clone()))?;
        if head_name(&head).as_deref() != Some("import") {
            return None;
        }
        let (path, rest) = args.split_first()?;
        match static_value(path, &self.dir(), &StaticEnv::default())? {
            StaticValue::Path(p) => Some((p, rest.to_vec())),
            StaticValue::Str(_) => None,
        }
    }

    /// Reads a call's argument where it is written (see `Arg`).
    fn read_arg(&mut self, arg: &ast::Expr, env: &Env, scope: &Scope) -> Arg {
        let fields = match strip_parens(arg.clone()) {
            ast::Expr::AttrSet(set) => Some(
                set.attrpath_values()
                    .filter_map(|av| {
                        let names = attrpath_names(&av.attrpath()?);
                        let [(name, _)] = names.as_slice() else {
                            return None;
                        };
                        let name = name.as_static()?.to_string();
                        Some((name, av.value()?))
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|(name, v)| (name, self.read_arg(&v, env, scope)))
                    .collect(),
            ),
            _ => None,
        };
        let list = if matches!(
            strip_parens(arg.clone()),
            ast::Expr::List(_) | ast::Expr::BinOp(_) | ast::Expr::Ident(_)
        ) {
            let before = self.d.diagnostics.len();
            let modules = self.module_list(arg.clone(), env, scope, 0);
            let diagnostics = self.d.diagnostics.split_off(before);
            modules.map(|modules| Read {
                modules,
                diagnostics,
            })
        } else {
            None
        };
        Arg {
            value: static_value(arg, &self.dir(), &env.statics),
            list,
            fields,
        }
    }

    /// A helper of this file applied to arguments read elsewhere.
    fn apply_read(
        &mut self,
        expr: ast::Expr,
        args: &[Arg],
        found_by: &mut FoundBy,
        depth: usize,
    ) -> Option<Vec<Module>> {
        let mut inner = Env::default();
        let mut scope = Scope::root();
        let mut body = expr;
        for arg in args {
            let ast::Expr::Lambda(l) = strip_parens(body) else {
                return None;
            };
            scope = scope.with_params(lambda_params(&l), false);
            match l.param()? {
                ast::Param::IdentParam(p) => inner.put(ident_text(&p.ident()?), arg),
                ast::Param::Pattern(p) => {
                    let fields = arg.fields.as_ref()?;
                    for entry in p.pat_entries() {
                        let Some(ident) = entry.ident() else { continue };
                        let name = ident_text(&ident);
                        match (fields.get(&name), entry.default()) {
                            (Some(a), _) => inner.put(name, a),
                            (None, Some(default)) => {
                                let outer = inner.clone();
                                self.bind(&mut inner, name, default, &outer);
                            }
                            (None, None) => {}
                        }
                    }
                    if let Some(b) = p.pat_bind().and_then(|b| b.ident()) {
                        inner.put(ident_text(&b), arg);
                    }
                }
            }
            body = l.body()?;
        }
        self.modules_of(body, &inner, &scope, found_by, depth + 1)
    }

    fn bind(&self, env: &mut Env, name: String, value: ast::Expr, outer: &Env) {
        if let Some(v) = static_value(&value, &self.dir(), &outer.statics) {
            env.statics.insert(name.clone(), v);
        }
        let value = match strip_parens(value.clone()) {
            ast::Expr::Ident(i) => outer.exprs.get(&ident_text(&i)).cloned().unwrap_or(value),
            _ => value,
        };
        env.exprs.insert(name, value);
    }

    fn module_list(
        &mut self,
        expr: ast::Expr,
        env: &Env,
        scope: &Scope,
        depth: usize,
    ) -> Option<Vec<Module>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match strip_parens(expr.clone()) {
            ast::Expr::List(list) => {
                let mut out = Vec::new();
                for item in list.items() {
                    self.module_item(item, env, scope, &mut out, depth + 1);
                }
                Some(out)
            }
            ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Concat) => {
                let mut l = self.module_list(op.lhs()?, env, scope, depth + 1)?;
                l.extend(self.module_list(op.rhs()?, env, scope, depth + 1)?);
                Some(l)
            }
            ast::Expr::Ident(i) => {
                let name = ident_text(&i);
                if let Some(read) = env.lists.get(&name) {
                    self.d.diagnostics.extend(read.diagnostics.iter().cloned());
                    return Some(read.modules.clone());
                }
                if let Some(e) = env.exprs.get(&name) {
                    return self.module_list(e.clone(), &Env::default(), scope, depth + 1);
                }
                match scope.resolve(&name) {
                    Resolution::Binding {
                        binding: Binding::Expr(e),
                        scope,
                    } => self.module_list(e, env, &scope, depth + 1),
                    _ => None,
                }
            }
            other => {
                let (head, args) = apply_chain(&other)?;
                match (head_name(&head).as_deref(), args.as_slice()) {
                    (Some("optionals"), [_, list]) => {
                        self.module_list(list.clone(), env, scope, depth + 1)
                    }
                    _ => None,
                }
            }
        }
    }

    fn module_item(
        &mut self,
        item: ast::Expr,
        env: &Env,
        scope: &Scope,
        out: &mut Vec<Module>,
        depth: usize,
    ) {
        let item = strip_parens(item);
        match &item {
            ast::Expr::AttrSet(_) | ast::Expr::Lambda(_) => {
                let range = range_of(item.syntax());
                out.push(Module::Inline(index_module_at(self.file, self.root, range)));
                return;
            }
            ast::Expr::Ident(i) if depth < MAX_DEPTH => {
                let name = ident_text(i);
                if let Some(read) = env.lists.get(&name) {
                    self.d.diagnostics.extend(read.diagnostics.iter().cloned());
                    out.extend(read.modules.iter().cloned());
                    return;
                }
                if let Some(e) = env.exprs.get(&name) {
                    return self.module_item(e.clone(), &Env::default(), scope, out, depth + 1);
                }
                if let Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } = scope.resolve(&name)
                {
                    return self.module_item(e, env, &scope, out, depth + 1);
                }
            }
            _ => {}
        }
        let target = match apply_chain(&item) {
            Some((head, args))
                if head_name(&head).as_deref() == Some("import") && args.len() == 1 =>
            {
                args[0].clone()
            }
            _ => item.clone(),
        };
        if let Some(p) = self.flake_module(&item) {
            out.push(Module::Path(p));
            return;
        }
        match static_value(&target, &self.dir(), &env.statics) {
            Some(StaticValue::Path(p)) => out.push(Module::Path(p)),
            _ if matches!(
                strip_parens(item.clone()),
                ast::Expr::Select(_) | ast::Expr::Ident(_)
            ) =>
            {
                // A module from a flake input (`inputs.x.nixosModules.y`): outside the repository.
            }
            _ => self.d.diagnostics.push(
                Diagnostic::warning(
                    codes::IMPORT_UNRESOLVED,
                    format!(
                        "cannot follow this module statically: `{}`",
                        crate::syntax::short_text(item.syntax())
                    ),
                )
                .at(Location::new(self.file, range_of(item.syntax())))
                .help("write it as a literal path; or `clan-migrate scan . --eval` asks Nix for the files that define each host's users"),
            ),
        }
    }

    /// `self.nixosModules.<name>` (or `config.flake.nixosModules.<name>`)
    /// naming a module this flake writes as a path.
    fn flake_module(&self, item: &ast::Expr) -> Option<PathBuf> {
        let ast::Expr::Select(_) = item else {
            return None;
        };
        let names = crate::syntax::dotted_name(item)?;
        let n = names.len();
        if n < 2 || names[n - 2] != "nixosModules" {
            return None;
        }
        self.flake_modules.get(&names[n - 1]).cloned()
    }

    /// A colmena hive: written here, or `import ./hive.nix inputs`, or
    /// `colmena.lib.makeHive (import ./hive.nix …)`.
    fn colmena(&mut self, value: ast::Expr, scope: &Scope, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let set = match strip_parens(value.clone()) {
            ast::Expr::AttrSet(s) => s,
            ast::Expr::LetIn(l) => {
                if let Some(b) = l.body() {
                    self.colmena(b, &scope.with_bindings(&l), depth + 1);
                }
                return;
            }
            ast::Expr::Lambda(l) => {
                if let Some(b) = l.body() {
                    self.colmena(b, &scope.with_params(lambda_params(&l), false), depth + 1);
                }
                return;
            }
            ast::Expr::Ident(i) => {
                if let Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } = scope.resolve(&ident_text(&i))
                {
                    self.colmena(e, &scope, depth + 1);
                }
                return;
            }
            other => match apply_chain(&other) {
                Some((head, args)) if head_name(&head).as_deref() == Some("import") => {
                    if let Some(StaticValue::Path(p)) = args
                        .first()
                        .and_then(|a| static_value(a, &self.dir(), &StaticEnv::default()))
                    {
                        self.in_file(&p, |f, expr| f.colmena(expr, &Scope::root(), depth + 1));
                    }
                    return;
                }
                Some((_, args)) => match args.last() {
                    Some(a) => {
                        self.colmena(a.clone(), scope, depth + 1);
                        return;
                    }
                    None => return,
                },
                None => return,
            },
        };
        let defaults = get_attr(&set, &["defaults"]).map(|e| range_of(strip_parens(e).syntax()));
        for av in set.attrpath_values() {
            let (Some(path), Some(v)) = (av.attrpath(), av.value()) else {
                continue;
            };
            let names = attrpath_names(&path);
            let Some(name) = names[0].0.as_static() else {
                continue;
            };
            if names.len() != 1 || name == "meta" || name == "defaults" {
                continue;
            }
            let node = strip_parens(v);
            let node_range = range_of(node.syntax());
            let mut modules = Vec::new();
            let mut root = None;
            let node_path = match apply_chain(&node) {
                Some((head, args)) if head_name(&head).as_deref() == Some("import") => {
                    args.first().cloned()
                }
                _ => Some(node.clone()),
            }
            .and_then(|e| static_value(&e, &self.dir(), &StaticEnv::default()));
            let inline: Vec<(usize, usize)> = match node_path {
                Some(StaticValue::Path(p)) => {
                    root = conventions::host_entry(self.repo, &p);
                    defaults.into_iter().collect()
                }
                _ => defaults.into_iter().chain([node_range]).collect(),
            };
            if let Some(r) = &root {
                modules.push(ModuleKey::file(r.clone()));
            }
            for range in inline {
                let indexed = index_module_at(self.file, self.root, range);
                if range == node_range {
                    root = indexed.first().and_then(|m| {
                        m.imports.iter().find_map(|i| match &i.target {
                            ImportTarget::Path(p) => conventions::host_entry(self.repo, p),
                            ImportTarget::Inline(_) => None,
                        })
                    });
                }
                self.d.inline_modules.extend(indexed);
                modules.push(ModuleKey {
                    file: self.file.path.clone(),
                    inline: Some(range),
                });
            }
            if self.hosts.iter().any(|h| h.name == name) {
                continue;
            }
            self.hosts.push(Host {
                name: name.to_string(),
                root: root.unwrap_or_else(|| self.file.path.clone()),
                found_by: FoundBy::Colmena,
                modules,
            });
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
            _ => false,
        },
        ast::Expr::IfElse(ie) => [ie.body(), ie.else_body()]
            .into_iter()
            .flatten()
            .any(|branch| is_nixos_system(&branch, scope, depth + 1)),
        other => head_name(&other).as_deref() == Some("nixosSystem"),
    }
}
