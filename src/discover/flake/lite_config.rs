//! lite-config (`inputs.lite-config.flakeModule`), a flake-parts module:
//! `lite-config = { hostModuleDir = ./hosts; hosts.<h>.system = "…";
//! systemModules = [ … ]; }` builds each host from `hostModuleDir/<h>` (or
//! its `hostModule`) and every `systemModules` entry, with `hostPlatform`
//! as a module argument; a host whose system is darwin is nix-darwin's.

use super::*;

impl Finder<'_> {
    pub(super) fn lite_config(&mut self, value: ast::Expr, scope: &Scope) {
        let Some((set, scope)) = module_set(value.clone(), scope) else {
            return self.computed_at(value.syntax());
        };
        let Some(ast::Expr::AttrSet(hosts)) = get_attr(&set, &["hosts"]).map(strip_parens) else {
            if let Some(hosts) = get_attr(&set, &["hosts"]) {
                self.computed_at(hosts.syntax());
            }
            return;
        };
        let dir = get_attr(&set, &["hostModuleDir"])
            .and_then(|e| static_value(&e, &self.dir(), &StaticEnv::default()));
        let system_modules = get_attr(&set, &["systemModules"]);
        let mut seen: Vec<String> = Vec::new();
        for av in hosts.attrpath_values() {
            let Some(path) = av.attrpath() else { continue };
            let Some(name) = attrpath_names(&path)[0].0.as_static().map(str::to_string) else {
                self.computed_at(av.syntax());
                continue;
            };
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            let system = match get_attr(&hosts, &[&name, "system"])
                .and_then(|e| static_value(&e, &self.dir(), &StaticEnv::default()))
            {
                Some(StaticValue::Str(s)) => Some(s),
                _ => None,
            };
            if system.as_deref().is_some_and(|s| s.ends_with("-darwin")) {
                darwin_machine(
                    self.d,
                    name,
                    Location::new(self.file, range_of(av.syntax())),
                );
                continue;
            }
            // What lite-config passes its modules as `hostPlatform`.
            let mut env = Env::default();
            if let Some(system) = system {
                let linux = system.ends_with("-linux");
                for (key, v) in [
                    ("isLinux", StaticValue::Bool(linux)),
                    ("isDarwin", StaticValue::Bool(false)),
                    ("system", StaticValue::Str(system)),
                ] {
                    env.statics.insert(format!("hostPlatform.{key}"), v);
                }
            }
            let mut modules = Vec::new();
            match get_attr(&hosts, &[&name, "hostModule"]) {
                Some(m) if m.syntax().text() != "null" => {
                    self.module_item(m, &env, &scope, &mut modules, 0)
                }
                _ => match &dir {
                    Some(StaticValue::Path(d)) => modules.push(Module::Path(d.join(&name))),
                    _ => {
                        let construct = "lite-config.hostModuleDir";
                        self.add_host(name, None, FoundBy::LiteConfig, construct, av.syntax());
                        continue;
                    }
                },
            }
            if let Some(list) = &system_modules {
                self.system_modules(list.clone(), &env, &scope, &mut modules);
            }
            let construct = format!("lite-config.hosts.{name}");
            self.add_host(
                name,
                Some(modules),
                FoundBy::LiteConfig,
                &construct,
                av.syntax(),
            );
        }
    }

    /// `systemModules`: a module that only imports (`{ hostPlatform, ... }:
    /// { imports = lib.optionals hostPlatform.isLinux [ … ]; }`) is its
    /// imports, chosen for this host; any other is a module of every host.
    fn system_modules(&mut self, list: ast::Expr, env: &Env, scope: &Scope, out: &mut Vec<Module>) {
        let ast::Expr::List(items) = strip_parens(list.clone()) else {
            out.extend(self.module_list(list, env, scope, 0).unwrap_or_default());
            return;
        };
        for item in items.items() {
            match imports_of(item.clone(), scope) {
                Some((imports, inner)) => out.extend(
                    self.module_list(imports, env, &inner, 0)
                        .unwrap_or_default(),
                ),
                None => self.module_item(item, env, scope, out, 0),
            }
        }
    }
}

/// The attribute set a module option's value is written as: a set, or a
/// function (of the module arguments) returning one, with what it binds.
fn module_set(expr: ast::Expr, scope: &Scope) -> Option<(ast::AttrSet, Scope)> {
    let mut expr = strip_parens(expr);
    let mut scope = scope.clone();
    for _ in 0..MAX_DEPTH {
        match expr {
            ast::Expr::AttrSet(set) => return Some((set, scope)),
            ast::Expr::Lambda(l) => {
                scope = scope.with_params(lambda_params(&l), true);
                expr = strip_parens(l.body()?);
            }
            ast::Expr::LetIn(l) => {
                scope = scope.with_bindings(&l);
                expr = strip_parens(l.body()?);
            }
            _ => return None,
        }
    }
    None
}

/// The `imports` of a module that says nothing else.
fn imports_of(item: ast::Expr, scope: &Scope) -> Option<(ast::Expr, Scope)> {
    let (set, scope) = module_set(item, scope)?;
    let only_imports = set.inherits().next().is_none()
        && set.attrpath_values().all(|av| {
            av.attrpath().is_some_and(|p| {
                let names = attrpath_names(&p);
                names.len() == 1 && names[0].0.as_static() == Some("imports")
            })
        });
    if !only_imports {
        return None;
    }
    Some((get_attr(&set, &["imports"])?, scope))
}
