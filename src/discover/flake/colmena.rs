//! colmena hives: `colmena = { … }` in the flake or a hive in its own file,
//! `defaults` applied to every node.

use super::*;

impl Finder<'_> {
    /// A colmena hive: written here, or `import ./hive.nix inputs`, or
    /// `colmena.lib.makeHive (import ./hive.nix …)`.
    pub(super) fn colmena(&mut self, value: ast::Expr, scope: &Scope, depth: usize) {
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
                            ImportTarget::Inline(_)
                            | ImportTarget::FlakeModule(_)
                            | ImportTarget::AllFlakeModules => None,
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
