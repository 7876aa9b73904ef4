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
use crate::index::{ImportTarget, ModuleKey, index_module_at};
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
        d,
        hosts: Vec::new(),
        computed: Vec::new(),
        machine_mode: false,
        clan_hosts: Vec::new(),
    };
    let Some(ast::Expr::AttrSet(top)) = root.expr().map(strip_parens) else {
        return Vec::new();
    };
    let Some(outputs) = get_attr(&top, &["outputs"]) else {
        return Vec::new();
    };
    finder.search(outputs, Scope::root(), 0);

    let is_clan = file.text.contains("lib.clan")
        || file.text.contains("buildClan")
        || file.text.contains("clan-core.flakeModules");
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
        for node in computed {
            finder.d.diagnostics.push(
                Diagnostic::warning(
                    codes::HOSTS_COMPUTED,
                    "nixosConfigurations is computed; its hosts cannot be listed without evaluating",
                )
                .at(Location::new(&file, node))
                .help("run with --eval where Nix can evaluate the flake, or name the hosts with --host NAME=PATH; directory conventions are tried meanwhile"),
            );
        }
    }
    hosts
}

struct Finder<'a> {
    repo: &'a Path,
    file: &'a SourceFile,
    root: &'a Root,
    d: &'a mut Discovery,
    hosts: Vec<Host>,
    computed: Vec<(usize, usize)>,
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
}

impl Finder<'_> {
    fn dir(&self) -> PathBuf {
        PathBuf::new()
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
                            _ => self.computed.push(range_of(av.syntax())),
                        }
                    } else if names
                        .last()
                        .is_some_and(|n| n.as_deref() == Some("colmena"))
                    {
                        self.colmena(value, &scope);
                    } else if names == [Some("clan".to_string())]
                        && let ast::Expr::AttrSet(set) = strip_parens(value.clone())
                    {
                        // flake-parts: `clan = { machines = …; };`
                        self.clan_machines(&set, &scope, depth + 1);
                    } else {
                        self.search(value, scope.clone(), depth + 1);
                    }
                }
            }
            _ => {}
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
                                _ => self.computed.push(range_of(av.syntax())),
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
                                        _ => self.computed.push(range_of(inh.syntax())),
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
                _ => self.computed.push(range_of(value.syntax())),
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
            other => match apply_chain(&other) {
                // `genAttrs [ "a" "b" ] (name: …)`: one host per literal name.
                Some((head, args))
                    if head_name(&head).as_deref() == Some("genAttrs") && args.len() == 2 =>
                {
                    let ast::Expr::List(list) = strip_parens(args[0].clone()) else {
                        return self.computed.push(range_of(value.syntax()));
                    };
                    for item in list.items() {
                        let Some(StaticValue::Str(name)) =
                            static_value(&item, &self.dir(), &StaticEnv::default())
                        else {
                            self.computed.push(range_of(item.syntax()));
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
                        return self.computed.push(range_of(value.syntax()));
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
                            _ => self.computed.push(range_of(av.syntax())),
                        }
                    }
                }
                _ => self.computed.push(range_of(value.syntax())),
            },
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
                _ => self.computed.push(range_of(av.syntax())),
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
        self.add_host(name, entries, found_by, at);
    }

    fn host(&mut self, name: String, value: ast::Expr, scope: &Scope, at: &rnix::SyntaxNode) {
        let mut found_by = FoundBy::Flake;
        let entries = self.modules_of(value, &Env::default(), scope, &mut found_by, 0);
        self.add_host(name, entries, found_by, at);
    }

    fn add_host(
        &mut self,
        name: String,
        entries: Option<Vec<ImportTarget>>,
        found_by: FoundBy,
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
                format!("cannot tell statically which modules host `{name}` uses"),
            )
            .at(Location::new(self.file, range_of(at)));
            let host = name.clone();
            match fallback {
                Some(root) => {
                    diag = diag.help(format!(
                        "using `{}` by directory convention; pass --host {name}=PATH or --eval to be exact",
                        root.display()
                    ));
                    self.hosts.push(Host {
                        name,
                        modules: vec![ModuleKey::file(root.clone())],
                        root,
                        found_by: FoundBy::Directory,
                    });
                }
                None => {
                    diag = diag.help(format!("pass --host {name}=PATH, or run with --eval"));
                }
            }
            self.d.guessed.push((host, diag));
            return;
        };
        let mut modules = Vec::new();
        for e in entries {
            match e {
                ImportTarget::Path(p) => match conventions::host_entry(self.repo, &p) {
                    Some(main) => modules.push(ModuleKey::file(main)),
                    None => self.d.diagnostics.push(
                        Diagnostic::error(
                            codes::IMPORT_MISSING,
                            format!("host `{name}` uses `{}`, which does not exist", p.display()),
                        )
                        .at(Location::new(self.file, range_of(at)))
                        .help("fix the path in flake.nix"),
                    ),
                },
                ImportTarget::Inline(range) => {
                    let indexed = index_module_at(self.file, self.root, range);
                    modules.push(ModuleKey {
                        file: self.file.path.clone(),
                        inline: Some(range),
                    });
                    self.d.inline_modules.extend(indexed);
                }
            }
        }
        let root = modules
            .iter()
            .find(|m| m.inline.is_none())
            .map(|m| m.file.clone())
            .unwrap_or_else(|| PathBuf::from(FLAKE));
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
    ) -> Option<Vec<ImportTarget>> {
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
        if head_name(&head).as_deref() == Some("nixosSystem") {
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
    ) -> Option<Vec<ImportTarget>> {
        let only_imports = set.attrpath_values().all(|av| {
            av.attrpath().is_some_and(|p| {
                matches!(
                    attrpath_names(&p)[0].0.as_static(),
                    Some("imports" | "nixpkgs")
                )
            })
        }) && set.inherits().next().is_none();
        if !only_imports && env.exprs.is_empty() {
            return Some(vec![ImportTarget::Inline(range_of(set.syntax()))]);
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
    ) -> Option<Vec<ImportTarget>> {
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
        *found_by = FoundBy::FlakeHelper;
        self.modules_of(body, &inner, &inner_scope, found_by, depth + 1)
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
    ) -> Option<Vec<ImportTarget>> {
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
        out: &mut Vec<ImportTarget>,
        depth: usize,
    ) {
        let item = strip_parens(item);
        match &item {
            ast::Expr::AttrSet(_) | ast::Expr::Lambda(_) => {
                out.push(ImportTarget::Inline(range_of(item.syntax())));
                return;
            }
            ast::Expr::Ident(i) if depth < MAX_DEPTH => {
                let name = ident_text(i);
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
        match static_value(&target, &self.dir(), &env.statics) {
            Some(StaticValue::Path(p)) => out.push(ImportTarget::Path(p)),
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
                .help("write it as a literal path, or pass --host NAME=PATH"),
            ),
        }
    }

    fn colmena(&mut self, value: ast::Expr, scope: &Scope) {
        let set = match strip_parens(value.clone()) {
            ast::Expr::AttrSet(s) => s,
            other => match apply_chain(&other) {
                Some((_, args)) => match args.last().map(|a| strip_parens(a.clone())) {
                    Some(ast::Expr::AttrSet(s)) => s,
                    _ => return,
                },
                None => return,
            },
        };
        let _ = scope;
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
            let node_range = range_of(strip_parens(v).syntax());
            let mut modules = Vec::new();
            let mut root = None;
            for range in defaults.into_iter().chain([node_range]) {
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
            self.hosts.push(Host {
                name: name.to_string(),
                root: root.unwrap_or_else(|| PathBuf::from(FLAKE)),
                found_by: FoundBy::Colmena,
                modules,
            });
        }
    }
}
