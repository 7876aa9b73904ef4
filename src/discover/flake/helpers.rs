//! What a host is built from: `nixosSystem`'s `modules`, followed through
//! helpers (let-bound, written in place, or imported from another file)
//! and the lists they put together.

use super::*;

/// What `nixosSystem`'s argument says its modules are.
enum ModulesArg {
    /// No `modules`: none.
    Absent,
    /// The list, read where it is written.
    Expr(ast::Expr),
    /// The list, already read where a helper was called with it.
    Read(Read),
}

impl Finder<'_> {
    /// The `modules` of a host expression: `….nixosSystem { modules = …; }`,
    /// directly or through helpers applied to literal arguments.
    pub(super) fn modules_of(
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
            return match self.modules_arg(args.last()?.clone(), env, scope, depth + 1)? {
                ModulesArg::Expr(list) => self.module_list(list, env, scope, depth + 1),
                ModulesArg::Read(read) => {
                    self.d.diagnostics.extend(read.diagnostics);
                    Some(read.modules)
                }
                ModulesArg::Absent => Some(Vec::new()),
            };
        }
        self.call(head, args, env, scope, found_by, depth)
    }

    /// The `modules` of `nixosSystem`'s argument: a set, or sets joined
    /// with `//` (the right one wins), also through a helper's parameter
    /// (`nixosSystem = args: lib.nixosSystem ({ specialArgs = …; } // args)`);
    /// `None` where it cannot be read.
    fn modules_arg(
        &self,
        arg: ast::Expr,
        env: &Env,
        scope: &Scope,
        depth: usize,
    ) -> Option<ModulesArg> {
        if depth > MAX_DEPTH {
            return None;
        }
        match strip_parens(arg) {
            ast::Expr::AttrSet(set) => Some(match get_attr(&set, &["modules"]) {
                Some(list) => ModulesArg::Expr(list),
                None => ModulesArg::Absent,
            }),
            ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Update) => {
                match self.modules_arg(op.rhs()?, env, scope, depth + 1)? {
                    ModulesArg::Absent => self.modules_arg(op.lhs()?, env, scope, depth + 1),
                    found => Some(found),
                }
            }
            ast::Expr::Ident(i) => {
                let name = ident_text(&i);
                if let Some(read) = env.lists.get(&format!("{name}.modules")) {
                    return Some(ModulesArg::Read(read.clone()));
                }
                match scope.resolve(&name) {
                    Resolution::Binding {
                        binding: Binding::Expr(e),
                        scope,
                    } => self.modules_arg(e, env, &scope, depth + 1),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// A clan machine's module: its `imports`, or the whole module when it
    /// says more than that (then the module's own imports are followed).
    pub(super) fn machine_module(
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
    pub(super) fn call(
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
                    // `nixosSystem { modules = [ module ]; }` through a helper
                    // `args: lib.nixosSystem (… // args)`: the modules are
                    // read here, where their names are bound.
                    if let ast::Expr::AttrSet(set) = strip_parens(arg.clone())
                        && let Some(list) = get_attr(&set, &["modules"])
                    {
                        let before = self.d.diagnostics.len();
                        if let Some(modules) = self.module_list(list, env, scope, depth + 1) {
                            let diagnostics = self.d.diagnostics.split_off(before);
                            let read = Read {
                                modules,
                                diagnostics,
                            };
                            inner.lists.insert(format!("{name}.modules"), read);
                        }
                    }
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
    pub(super) fn imported(&self, expr: &ast::Expr) -> Option<(PathBuf, Vec<ast::Expr>)> {
        let (head, args) = apply_chain(&strip_parens(expr.clone()))?;
        if head_name(&head).as_deref() != Some("import") {
            return None;
        }
        let (path, rest) = args.split_first()?;
        match static_value(path, &self.dir(), &StaticEnv::default())? {
            StaticValue::Path(p) => Some((p, rest.to_vec())),
            StaticValue::Str(_) | StaticValue::Bool(_) => None,
        }
    }

    /// Reads a call's argument where it is written (see `Arg`).
    pub(super) fn read_arg(&mut self, arg: &ast::Expr, env: &Env, scope: &Scope) -> Arg {
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
    pub(super) fn apply_read(
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

    pub(super) fn bind(&self, env: &mut Env, name: String, value: ast::Expr, outer: &Env) {
        if let Some(v) = static_value(&value, &self.dir(), &outer.statics) {
            env.statics.insert(name.clone(), v);
        }
        let value = match strip_parens(value.clone()) {
            ast::Expr::Ident(i) => outer.exprs.get(&ident_text(&i)).cloned().unwrap_or(value),
            _ => value,
        };
        env.exprs.insert(name, value);
    }

    /// A module list; where it cannot be read piece by piece, the list
    /// evaluated whole, if it is a list of files (`laptop ++ [ ./io ]` with
    /// `inherit (import ./system) laptop;`).
    pub(super) fn module_list(
        &mut self,
        expr: ast::Expr,
        env: &Env,
        scope: &Scope,
        depth: usize,
    ) -> Option<Vec<Module>> {
        let before = self.d.diagnostics.len();
        if let Some(list) = self.module_list_parts(expr.clone(), env, scope, depth) {
            return Some(list);
        }
        let paths = self.evaluated_paths(&expr)?;
        self.d.diagnostics.truncate(before);
        Some(paths.into_iter().map(Module::Path).collect())
    }

    /// The files `expr` evaluates to (a path or a list of them), by the
    /// listing evaluator.
    fn evaluated_paths(&self, expr: &ast::Expr) -> Option<Vec<PathBuf>> {
        self.evaluated(expr, crate::listing::module_paths)
    }

    /// `expr` read by one of the listing evaluator's entry points, over
    /// the work tree, in this file's directory and with the lexical scope
    /// `expr` has where it is written.
    pub(super) fn evaluated<T>(
        &self,
        expr: &ast::Expr,
        read: fn(&dyn crate::fs::Fs, &Path, &ast::Expr, &Scope) -> Option<T>,
    ) -> Option<T> {
        let fs = crate::fs::DiskFs::new(self.repo);
        let lexical = crate::index::walk_scope_at(expr.syntax());
        read(&fs, &self.dir(), expr, &lexical)
    }

    fn module_list_parts(
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
                // A condition known here (a builder's `hostPlatform.isDarwin`)
                // decides; any other keeps the modules, as they may apply.
                let known_false = |cond: &ast::Expr| {
                    static_value(cond, &self.dir(), &env.statics) == Some(StaticValue::Bool(false))
                };
                match (head_name(&head).as_deref(), args.as_slice()) {
                    (Some("optionals" | "optional"), [cond, _]) if known_false(cond) => {
                        Some(Vec::new())
                    }
                    (Some("optionals"), [_, list]) => {
                        self.module_list(list.clone(), env, scope, depth + 1)
                    }
                    (Some("optional"), [_, item]) => {
                        let mut out = Vec::new();
                        self.module_item(item.clone(), env, scope, &mut out, depth + 1);
                        Some(out)
                    }
                    _ => None,
                }
            }
        }
    }

    pub(super) fn module_item(
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
        let target = crate::syntax::import_target(&item);
        if let Some(m) = self.flake_module(&item) {
            out.push(m);
            return;
        }
        match static_value(&target, &self.dir(), &env.statics) {
            Some(StaticValue::Path(p)) => out.push(Module::Path(p)),
            // `"${mod}/core/x.nix"` with `mod = "${self}/system";`
            _ if let Some(paths) = self.evaluated_paths(&target) => {
                out.extend(paths.into_iter().map(Module::Path));
            }
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
    /// naming a module this flake writes as a path, or in place.
    pub(super) fn flake_module(&self, item: &ast::Expr) -> Option<Module> {
        let (_, rest) = crate::syntax::own_modules_path(item)?;
        let [name] = rest.as_slice() else {
            return None;
        };
        if let Some(p) = self.d.flake_modules.modules.get(name) {
            return Some(Module::Path(p.clone()));
        }
        let key = self.d.flake_modules.inline.get(name)?;
        let indexed = self.d.inline_modules.iter().find(|m| m.key == *key)?;
        Some(Module::Inline(vec![indexed.clone()]))
    }
}
