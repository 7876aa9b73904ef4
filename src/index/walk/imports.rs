//! How a module's `imports` are followed: literal paths, lists joined
//! with `++`, `lib.optionals` (conditional), and what cannot be followed
//! statically, which is reported rather than dropped.

use rnix::ast;
use rowan::ast::AstNode;

use super::{MAX_FOLLOW, Walker};
use crate::diagnostic::{Diagnostic, codes};
use crate::index::{Import, ImportTarget};
use crate::scope::{Binding, Resolution, Scope};
use crate::syntax::{
    StaticEnv, StaticValue, apply_chain, head_name, ident_text, range_of, short_text, static_value,
    strip_parens,
};

impl Walker<'_> {
    pub(super) fn imports(
        &mut self,
        expr: ast::Expr,
        scope: &Scope,
        conditional: bool,
        depth: usize,
    ) {
        if depth > MAX_FOLLOW {
            return;
        }
        let expr = strip_parens(expr);
        match &expr {
            ast::Expr::List(list) => {
                for item in list.items() {
                    self.import_item(item, scope, conditional, depth);
                }
                return;
            }
            ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Concat) => {
                for side in [op.lhs(), op.rhs()].into_iter().flatten() {
                    self.imports(side, scope, conditional, depth + 1);
                }
                return;
            }
            ast::Expr::LetIn(l) => {
                let inner = scope.with_bindings(l);
                if let Some(b) = l.body() {
                    self.imports(b, &inner, conditional, depth + 1);
                }
                return;
            }
            ast::Expr::With(w) => {
                let inner = match w.namespace() {
                    Some(ns) => scope.with_namespace(ns),
                    None => scope.clone(),
                };
                if let Some(b) = w.body() {
                    self.imports(b, &inner, conditional, depth + 1);
                }
                return;
            }
            ast::Expr::IfElse(i) => {
                for side in [i.body(), i.else_body()].into_iter().flatten() {
                    self.imports(side, scope, true, depth + 1);
                }
                return;
            }
            ast::Expr::Ident(i) => {
                if let Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } = scope.resolve(&ident_text(i))
                {
                    self.imports(e, &scope, conditional, depth + 1);
                    return;
                }
            }
            _ => {}
        }
        if let Some((head, args)) = apply_chain(&expr) {
            match (head_name(&head).as_deref(), args.as_slice()) {
                (Some("optionals"), [_, list]) => {
                    self.imports(list.clone(), scope, true, depth + 1);
                    return;
                }
                (Some("optional"), [_, item]) => {
                    self.import_item(item.clone(), scope, true, depth + 1);
                    return;
                }
                // `lib.flatten [ ./a.nix [ ./b.nix ] … ]`: nested lists are
                // one list.
                (Some("flatten"), [list]) => {
                    self.flattened(list.clone(), scope, conditional, depth + 1);
                    return;
                }
                // `builtins.attrValues outputs.nixosModules`: every one.
                (Some("attrValues"), [set])
                    if own_modules_path(set, scope).is_some_and(|rest| rest.is_empty()) =>
                {
                    let location = self.loc(expr.syntax());
                    self.out.imports.push(Import {
                        target: ImportTarget::AllFlakeModules,
                        conditional,
                        location,
                    });
                    return;
                }
                _ => {}
            }
        }
        if let Some(fs) = self.fs
            && let Some((paths, listed)) = crate::listing::paths(fs, &self.dir, &expr, scope)
        {
            let location = self.loc(expr.syntax());
            for p in paths {
                self.out.imports.push(Import {
                    target: ImportTarget::Path(p),
                    conditional,
                    location: location.clone(),
                });
            }
            let listed = listed.into_iter().map(|dir| (dir, location.clone()));
            self.out.listed.extend(listed);
            return;
        }
        self.unresolved_import(&expr);
    }

    fn flattened(&mut self, expr: ast::Expr, scope: &Scope, conditional: bool, depth: usize) {
        match strip_parens(expr) {
            ast::Expr::List(list) if depth <= MAX_FOLLOW => {
                for item in list.items() {
                    self.flattened(item, scope, conditional, depth + 1);
                }
            }
            // A list made some other way (`++`, `lib.optionals`, a `map`).
            other @ ast::Expr::BinOp(_) => self.imports(other, scope, conditional, depth + 1),
            other
                if apply_chain(&other).is_some_and(|(head, _)| {
                    matches!(
                        head_name(&head).as_deref(),
                        Some("optionals" | "flatten" | "map" | "concatMap" | "attrValues")
                    )
                }) =>
            {
                self.imports(other, scope, conditional, depth + 1)
            }
            other => self.import_item(other, scope, conditional, depth),
        }
    }

    pub(super) fn import_item(
        &mut self,
        item: ast::Expr,
        scope: &Scope,
        conditional: bool,
        depth: usize,
    ) {
        let item = strip_parens(item);
        let location = self.loc(item.syntax());
        match &item {
            ast::Expr::AttrSet(_) | ast::Expr::Lambda(_) => {
                self.out.imports.push(Import {
                    target: ImportTarget::Inline(range_of(item.syntax())),
                    conditional,
                    location,
                });
                self.inline.push((item.clone(), scope.clone()));
                return;
            }
            ast::Expr::Ident(i) => {
                if let Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } = scope.resolve(&ident_text(i))
                    && depth < MAX_FOLLOW
                {
                    self.import_item(e, &scope, conditional, depth + 1);
                    return;
                }
            }
            _ => {}
        }
        let target_expr = crate::syntax::import_target(&item);
        if let Some(name) = own_flake_module(&target_expr, scope) {
            self.out.imports.push(Import {
                target: ImportTarget::FlakeModule(name),
                conditional,
                location,
            });
            return;
        }
        match static_value(&target_expr, &self.dir, &StaticEnv::new()) {
            Some(StaticValue::Path(p)) => {
                self.out.imports.push(Import {
                    target: ImportTarget::Path(p),
                    conditional,
                    location,
                });
            }
            _ if is_external(&target_expr, scope) => {}
            // `"${self}/modules/x.nix"`, a path built from let bindings.
            _ if let Some(paths) = self.fs.and_then(|fs| {
                crate::listing::module_paths(fs, &self.dir, &target_expr, scope)
            }) =>
            {
                for p in paths {
                    self.out.imports.push(Import {
                        target: ImportTarget::Path(p),
                        conditional,
                        location: location.clone(),
                    });
                }
            }
            _ => self.unresolved_import(&item),
        }
    }

    pub(super) fn unresolved_import(&mut self, expr: &ast::Expr) {
        self.diag(
            Diagnostic::warning(
                codes::IMPORT_UNRESOLVED,
                format!(
                    "cannot follow this import statically: `{}`; users defined in the files it brings in are not seen",
                    short_text(expr.syntax())
                ),
            )
            .help("list the modules as literal paths, run with --eval where Nix can evaluate the flake, or name the host's files with --host NAME=PATH"),
            expr.syntax(),
        );
    }
}

/// One of the flake's own modules by name (`self.nixosModules.<name>`
/// and the other spellings of [`crate::syntax::own_modules_path`]).
fn own_flake_module(expr: &ast::Expr, scope: &Scope) -> Option<String> {
    match own_modules_path(expr, scope)?.as_slice() {
        [name] => Some(name.clone()),
        _ => None,
    }
}

/// What follows `nixosModules` in a name of the flake's own modules, where
/// the name it starts from is a module argument (not a `let` of the file).
fn own_modules_path(expr: &ast::Expr, scope: &Scope) -> Option<Vec<String>> {
    let (first, rest) = crate::syntax::own_modules_path(expr)?;
    matches!(
        scope.resolve(&first),
        Resolution::ModuleArg | Resolution::Global
    )
    .then_some(rest)
}

/// A module from outside the repository: a flake input's module, a
/// nixpkgs module under `modulesPath`, a `<nixpkgs/…>` path.
fn is_external(expr: &ast::Expr, scope: &Scope) -> bool {
    external_within(expr, scope, 0)
}

fn external_within(expr: &ast::Expr, scope: &Scope, depth: usize) -> bool {
    if depth > MAX_FOLLOW {
        return false;
    }
    match strip_parens(expr.clone()) {
        ast::Expr::PathSearch(_) | ast::Expr::PathAbs(_) => true,
        ast::Expr::Select(s) => s
            .expr()
            .is_some_and(|e| external_within(&e, scope, depth + 1)),
        ast::Expr::BinOp(op) => op
            .lhs()
            .is_some_and(|e| external_within(&e, scope, depth + 1)),
        ast::Expr::Str(s) => s
            .syntax()
            .children()
            .filter_map(ast::Interpol::cast)
            .any(|i| {
                i.expr()
                    .is_some_and(|e| external_within(&e, scope, depth + 1))
            }),
        // A name bound to a flake input: `inherit (inputs) srvos;`,
        // `srvos = inputs.srvos;`.
        ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
            Resolution::Binding {
                binding: Binding::InheritFrom(from, _),
                scope,
            } => external_within(&from, &scope, depth + 1),
            Resolution::Binding {
                binding: Binding::Expr(e),
                scope,
            } if matches!(
                strip_parens(e.clone()),
                ast::Expr::Select(_) | ast::Expr::Ident(_)
            ) =>
            {
                external_within(&e, &scope, depth + 1)
            }
            Resolution::Binding { .. } | Resolution::Param => false,
            _ => true,
        },
        _ => false,
    }
}
