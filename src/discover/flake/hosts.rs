//! The host sets a flake writes (`nixosConfigurations = …`, a clan
//! call's `machines`, `genAttrs`/`mapAttrs` over literals or a `readDir`
//! listing) and the entry each host gets.

use super::*;

impl Finder<'_> {
    pub(super) fn host_set(&mut self, value: ast::Expr, scope: &Scope, depth: usize) {
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
            ast::Expr::LetIn(l) if depth < MAX_DEPTH => {
                if let Some(body) = l.body() {
                    self.host_set(body, &scope.with_bindings(&l), depth + 1);
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
                        // `mapAttrs (name: module: nixosSystem { modules = [ module ]; }) self.nixosModules`
                        select @ ast::Expr::Select(_) => self.own_modules_set(&select),
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
                        // `mapAttrs (_: value: nixosSystem { modules = [ value ]; })
                        // (importConfig ./hosts)`: a set of modules made from a
                        // directory listing.
                        if self.listed_modules(&args[0], &args[1], scope, value.syntax()) {
                            return;
                        }
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

    /// `mapAttrs f set` where `set` evaluates, from a directory listing,
    /// to modules by name (`import (path + "/${name}/default.nix")`): one
    /// host per name, built by `f` from its name and module file.
    fn listed_modules(
        &mut self,
        f: &ast::Expr,
        set: &ast::Expr,
        scope: &Scope,
        at: &rnix::SyntaxNode,
    ) -> bool {
        let Some(modules) = self.evaluated(set, crate::listing::named_paths) else {
            return false;
        };
        // Each module as a path literal seen from this file.
        let up = "../".repeat(self.dir().components().count());
        for (name, path) in modules {
            let literal = format!("./{up}{}", path.display());
            let Some(expr) = Root::parse(&literal).tree().expr() else {
                continue;
            };
            if !matches!(expr, ast::Expr::PathRel(_)) {
                continue;
            }
            let before = self.hosts.len();
            self.generated_host(name, f, vec![expr], scope, at);
            for h in &mut self.hosts[before..] {
                h.found_by = FoundBy::FlakeReadDir;
            }
        }
        true
    }

    /// `self.nixosModules` (or `inputs.self.…`, `config.flake.…`) where
    /// this file writes the flake's `nixosModules` as a literal set.
    pub(super) fn own_modules_set(&self, expr: &ast::Expr) -> Option<ast::AttrSet> {
        let (_, rest) = crate::syntax::own_modules_path(expr)?;
        if !rest.is_empty() {
            return None;
        }
        self.root
            .syntax()
            .descendants()
            .filter_map(ast::AttrpathValue::cast)
            .find_map(|av| {
                let names = attrpath_names(&av.attrpath()?);
                let last = names.last()?.0.as_static()?;
                let flake_level = names.len() == 1 || names[0].0.as_static() == Some("flake");
                if last != "nixosModules" || !flake_level {
                    return None;
                }
                match strip_parens(av.value()?) {
                    ast::Expr::AttrSet(s) => Some(s),
                    _ => None,
                }
            })
    }

    /// `mapAttrs (name: _: mkHost name) (filterAttrs … (readDir ./hosts))`
    /// and `genAttrs (attrNames (readDir ./machines)) mkHost`: one host
    /// per directory that exists, built by the function for its name.
    pub(super) fn listed_hosts(&mut self, expr: &ast::Expr, scope: &Scope) -> bool {
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
    pub(super) fn read_dir_of(&self, expr: &ast::Expr) -> Option<PathBuf> {
        expr.syntax().descendants().find_map(|node| {
            let apply = ast::Apply::cast(node)?;
            if head_name(&apply.lambda()?).as_deref() != Some("readDir") {
                return None;
            }
            match static_value(&apply.argument()?, &self.dir(), &StaticEnv::default())? {
                StaticValue::Path(p) => Some(p),
                StaticValue::Str(_) | StaticValue::Bool(_) => None,
            }
        })
    }

    /// A function expression as a lambda, following let-bound names.
    pub(super) fn function(
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
    pub(super) fn clan_machines(&mut self, set: &ast::AttrSet, scope: &Scope, depth: usize) {
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
    pub(super) fn generated_host(
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

    pub(super) fn host(
        &mut self,
        name: String,
        value: ast::Expr,
        scope: &Scope,
        at: &rnix::SyntaxNode,
    ) {
        self.host_in(name, value, &Env::default(), scope, at, FoundBy::Flake);
    }

    pub(super) fn host_in(
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

    pub(super) fn add_host(
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
        // Files an inline module of this host imports directly: its own
        // file may be one (`{ imports = common ++ [ ./hosts/<h>.nix ]; }`).
        let mut imported: Vec<PathBuf> = Vec::new();
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
                        for i in &first.imports {
                            if let ImportTarget::Path(p) = &i.target
                                && let Some(main) = conventions::host_entry(self.repo, p)
                            {
                                imported.push(main);
                            }
                        }
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
        let named = imported.into_iter().find(|f| names_host(&name, f));
        let root = own_file(&name, &modules)
            .filter(|f| names_host(&name, f))
            .or(named)
            .or_else(|| own_file(&name, &modules))
            .unwrap_or_else(|| self.file.path.clone());
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
}
