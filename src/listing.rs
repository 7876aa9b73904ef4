//! Directory listings evaluated over the tree: imports computed as
//! `map (f: ./modules + "/${f}") (attrNames (readDir ./modules))` (and the
//! `filter`/`filterAttrs`/`mapAttrsToList` spellings of it), and a flake's
//! `nixosModules` made from a listing (`importDir ./nixos …`, the blueprint
//! style). Only the few functions such listings are written with are
//! understood, on strings, paths, booleans, lists and sets; anything else
//! gives up, so what is followed is exactly what Nix would import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rnix::SyntaxNode;
use rnix::ast::{self, HasEntry, InterpolPart};
use rowan::ast::AstNode;

use crate::fs::Fs;
use crate::scope::{Binding, Resolution, Scope};
use crate::syntax::{
    PathPart, apply_chain, attrpath_names, head_name, ident_text, lambda_params, normalize,
    path_parts, string_parts, strip_parens,
};

/// How much evaluating one import may cost, so a listing over a large
/// tree or a function that recurses cannot stall the index.
const BUDGET: usize = 20_000;

/// How many directories one import may list.
const MAX_LISTINGS: usize = 64;

/// The module paths `expr` evaluates to, relative to the repository root,
/// and the directories it listed; `None` where any part of it is not
/// understood.
pub fn paths(
    fs: &dyn Fs,
    dir: &Path,
    expr: &ast::Expr,
    scope: &Scope,
) -> Option<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut ev = Eval::new(fs, dir);
    let Value::List(items) = ev.eval(expr, scope, &Locals::default())? else {
        return None;
    };
    let paths = items
        .into_iter()
        .map(module_path)
        .collect::<Option<Vec<_>>>()?;
    // Only a listing is evaluated here: literal lists have their own reader.
    (!ev.listed.is_empty()).then_some((paths, ev.listed))
}

/// The modules by name a set computed from a directory listing holds
/// (`nixosModules = importDir ./nixos …;`); `None` where any part of it
/// is not understood or a value is no path.
pub fn named_paths(
    fs: &dyn Fs,
    dir: &Path,
    expr: &ast::Expr,
    scope: &Scope,
) -> Option<BTreeMap<String, PathBuf>> {
    let mut ev = Eval::new(fs, dir);
    let Value::Set(set) = ev.eval(expr, scope, &Locals::default())? else {
        return None;
    };
    if ev.listed.is_empty() {
        return None;
    }
    set.into_iter()
        .map(|(name, v)| Some((name, module_path(v)?)))
        .collect()
}

/// The module files an expression gives where a module list or module is
/// expected (`"${self}/system/core.nix"`, `laptop ++ [ … ]` with `inherit
/// (import ./system) laptop;`): a path, or a list of paths. `None` where
/// any part is not understood.
pub fn module_paths(
    fs: &dyn Fs,
    dir: &Path,
    expr: &ast::Expr,
    scope: &Scope,
) -> Option<Vec<PathBuf>> {
    let mut ev = Eval::new(fs, dir);
    match ev.eval(expr, scope, &Locals::default())? {
        Value::List(items) => items.into_iter().map(module_path).collect(),
        v => Some(vec![module_path(v)?]),
    }
}

/// A value as a module: a path, or a file imported.
fn module_path(v: Value) -> Option<PathBuf> {
    match v {
        Value::Path(p) | Value::File(p) => Some(p),
        _ => None,
    }
}

#[derive(Clone)]
enum Value {
    Null,
    /// What `import` of this file gives: as a module, the file itself;
    /// looked into, its expression's value.
    File(PathBuf),
    Str(String),
    /// Relative to the repository root, normalised, never above it.
    Path(PathBuf),
    Bool(bool),
    List(Vec<Value>),
    Set(BTreeMap<String, Value>),
    Lambda(ast::Lambda, Scope, Locals),
    /// A known function applied to fewer arguments than it takes.
    Builtin(&'static str, Vec<Value>),
}

/// Values of the parameters of the functions being applied, by the
/// function that binds them (its node, so scoping is lexical, across files
/// too) and name.
#[derive(Clone, Default)]
struct Locals(Vec<((SyntaxNode, String), Value)>);

impl Locals {
    fn with(&self, lambda: &ast::Lambda, name: String, v: Value) -> Locals {
        let mut out = self.clone();
        out.0.push(((lambda.syntax().clone(), name), v));
        out
    }

    fn get(&self, binder: &SyntaxNode, name: &str) -> Option<Value> {
        self.0
            .iter()
            .rev()
            .find(|((r, n), _)| r == binder && n == name)
            .map(|(_, v)| v.clone())
    }
}

struct Eval<'a> {
    fs: &'a dyn Fs,
    /// The file's directory, which its relative paths start from.
    dir: &'a Path,
    budget: usize,
    listed: Vec<PathBuf>,
    /// Files imported while evaluating: each tree's root and its directory.
    files: Vec<(SyntaxNode, PathBuf)>,
}

impl<'a> Eval<'a> {
    fn new(fs: &'a dyn Fs, dir: &'a Path) -> Self {
        Eval {
            fs,
            dir,
            budget: BUDGET,
            listed: Vec::new(),
            files: Vec::new(),
        }
    }
}

/// The functions understood, by the last part of their name, and how many
/// arguments each takes.
const BUILTINS: &[(&str, usize)] = &[
    ("readDir", 1),
    ("attrNames", 1),
    ("attrValues", 1),
    ("filter", 2),
    ("map", 2),
    ("concatMap", 2),
    ("filterAttrs", 2),
    ("mapAttrsToList", 2),
    ("hasSuffix", 2),
    ("hasPrefix", 2),
    ("removeSuffix", 2),
    ("removePrefix", 2),
    ("elem", 2),
    ("mapAttrs", 2),
    ("mapAttrs'", 2),
    ("match", 2),
    ("head", 1),
    ("removeAttrs", 2),
    ("optionalAttrs", 2),
    ("optionals", 2),
    ("pathExists", 1),
    ("import", 1),
];

impl Eval<'_> {
    fn eval(&mut self, expr: &ast::Expr, scope: &Scope, locals: &Locals) -> Option<Value> {
        self.budget = self.budget.checked_sub(1)?;
        match strip_parens(expr.clone()) {
            ast::Expr::Ident(i) => self.ident(&i, scope, locals),
            ast::Expr::Str(s) => self.string(&s, scope, locals),
            ast::Expr::PathRel(p) => {
                let mut text = String::new();
                for part in path_parts(p.syntax())? {
                    match part {
                        PathPart::Literal(l) => text.push_str(&l),
                        PathPart::Interpolation(i) => match self.eval(&i.expr()?, scope, locals)? {
                            Value::Str(v) => text.push_str(&v),
                            _ => return None,
                        },
                    }
                }
                let dir = self.dir_of(p.syntax());
                inside(normalize(&dir.join(text)))
            }
            ast::Expr::AttrSet(set) => self.attr_set(&set, scope, locals),
            ast::Expr::List(l) => l
                .items()
                .map(|item| self.eval(&item, scope, locals))
                .collect::<Option<Vec<_>>>()
                .map(Value::List),
            ast::Expr::Lambda(l) => Some(Value::Lambda(l, scope.clone(), locals.clone())),
            ast::Expr::LetIn(l) => self.eval(&l.body()?, &scope.with_bindings(&l), locals),
            ast::Expr::IfElse(e) => match self.eval(&e.condition()?, scope, locals)? {
                Value::Bool(true) => self.eval(&e.body()?, scope, locals),
                Value::Bool(false) => self.eval(&e.else_body()?, scope, locals),
                _ => None,
            },
            ast::Expr::UnaryOp(u) if u.operator() == Some(ast::UnaryOpKind::Invert) => {
                match self.eval(&u.expr()?, scope, locals)? {
                    Value::Bool(b) => Some(Value::Bool(!b)),
                    _ => None,
                }
            }
            ast::Expr::BinOp(op) => self.binop(&op, scope, locals),
            ast::Expr::Select(s) => self.select(&s, scope, locals),
            apply @ ast::Expr::Apply(_) => {
                let (head, args) = apply_chain(&apply)?;
                let mut f = self.function(&head, scope, locals)?;
                for a in &args {
                    let v = self.eval(a, scope, locals)?;
                    f = self.apply(f, v)?;
                }
                Some(f)
            }
            _ => None,
        }
    }

    fn ident(&mut self, i: &ast::Ident, scope: &Scope, locals: &Locals) -> Option<Value> {
        let name = ident_text(i);
        match name.as_str() {
            "true" => return Some(Value::Bool(true)),
            "false" => return Some(Value::Bool(false)),
            "null" => return Some(Value::Null),
            _ => {}
        }
        match scope.resolve(&name) {
            Resolution::Binding {
                binding: Binding::Expr(e),
                scope,
            } => self.eval(&e, &scope, locals),
            // `inherit (import ./system) laptop;`
            Resolution::Binding {
                binding: Binding::InheritFrom(from, name),
                scope,
            } => {
                let Value::Set(mut set) = self
                    .eval(&from, &scope, locals)
                    .and_then(|v| self.force(v))?
                else {
                    return None;
                };
                set.remove(&name)
            }
            Resolution::Param => {
                let binder = binder(i.syntax(), &name)?;
                locals.get(&binder, &name)
            }
            // The flake, as a module argument: the repository root.
            Resolution::ModuleArg if name == "self" => Some(Value::Path(PathBuf::new())),
            _ => None,
        }
    }

    /// A function head: a known function by name, else a value.
    fn function(&mut self, head: &ast::Expr, scope: &Scope, locals: &Locals) -> Option<Value> {
        if let Some(name) = head_name(head)
            && let Some((known, _)) = BUILTINS.iter().find(|(n, _)| *n == name)
            && !bound_locally(head, scope)
        {
            return Some(Value::Builtin(known, Vec::new()));
        }
        self.eval(head, scope, locals)
    }

    fn apply(&mut self, f: Value, arg: Value) -> Option<Value> {
        self.budget = self.budget.checked_sub(1)?;
        match self.force(f)? {
            Value::Lambda(l, scope, locals) => {
                let inner = scope.with_params(lambda_params(&l), false);
                let locals = match l.param()? {
                    ast::Param::IdentParam(p) => locals.with(&l, ident_text(&p.ident()?), arg),
                    ast::Param::Pattern(p) => {
                        let Value::Set(set) = &arg else { return None };
                        let mut locals = locals;
                        for entry in p.pat_entries() {
                            let name = ident_text(&entry.ident()?);
                            let v = match set.get(&name) {
                                Some(v) => v.clone(),
                                None => self.eval(&entry.default()?, &inner, &locals)?,
                            };
                            locals = locals.with(&l, name, v);
                        }
                        if let Some(b) = p.pat_bind().and_then(|b| b.ident()) {
                            locals = locals.with(&l, ident_text(&b), arg.clone());
                        }
                        locals
                    }
                };
                self.eval(&l.body()?, &inner, &locals)
            }
            Value::Builtin(name, mut args) => {
                args.push(arg);
                let arity = BUILTINS.iter().find(|(n, _)| *n == name)?.1;
                if args.len() < arity {
                    return Some(Value::Builtin(name, args));
                }
                self.call(name, args)
            }
            _ => None,
        }
    }

    fn call(&mut self, name: &str, args: Vec<Value>) -> Option<Value> {
        // `import` takes the path itself; every other function the value.
        let args = if name == "import" {
            args
        } else {
            args.into_iter()
                .map(|a| self.force(a))
                .collect::<Option<Vec<_>>>()?
        };
        let mut args = args.into_iter();
        let a = args.next()?;
        let b = args.next();
        match (name, a, b) {
            ("readDir", Value::Path(p), None) => {
                if self.listed.len() >= MAX_LISTINGS {
                    return None;
                }
                let entries = self.fs.read_dir(&p)?;
                self.listed.push(p);
                Some(Value::Set(
                    entries
                        .into_iter()
                        .map(|(n, k)| (n, Value::Str(k.as_str().to_string())))
                        .collect(),
                ))
            }
            ("attrNames", Value::Set(s), None) => {
                Some(Value::List(s.into_keys().map(Value::Str).collect()))
            }
            ("attrValues", Value::Set(s), None) => Some(Value::List(s.into_values().collect())),
            ("filter", f, Some(Value::List(items))) => {
                let mut out = Vec::new();
                for item in items {
                    if self.truth(f.clone(), std::slice::from_ref(&item))? {
                        out.push(item);
                    }
                }
                Some(Value::List(out))
            }
            ("map", f, Some(Value::List(items))) => items
                .into_iter()
                .map(|item| self.apply(f.clone(), item))
                .collect::<Option<Vec<_>>>()
                .map(Value::List),
            ("concatMap", f, Some(Value::List(items))) => {
                let mut out = Vec::new();
                for item in items {
                    let Value::List(l) = self.apply(f.clone(), item)? else {
                        return None;
                    };
                    out.extend(l);
                }
                Some(Value::List(out))
            }
            ("filterAttrs", f, Some(Value::Set(set))) => {
                let mut out = BTreeMap::new();
                for (k, v) in set {
                    if self.truth(f.clone(), &[Value::Str(k.clone()), v.clone()])? {
                        out.insert(k, v);
                    }
                }
                Some(Value::Set(out))
            }
            ("mapAttrsToList", f, Some(Value::Set(set))) => {
                let mut out = Vec::new();
                for (k, v) in set {
                    let g = self.apply(f.clone(), Value::Str(k))?;
                    out.push(self.apply(g, v)?);
                }
                Some(Value::List(out))
            }
            ("hasSuffix", Value::Str(x), Some(Value::Str(s))) => Some(Value::Bool(s.ends_with(&x))),
            ("hasPrefix", Value::Str(x), Some(Value::Str(s))) => {
                Some(Value::Bool(s.starts_with(&x)))
            }
            ("removeSuffix", Value::Str(x), Some(Value::Str(s))) => Some(Value::Str(
                s.strip_suffix(x.as_str()).unwrap_or(&s).to_string(),
            )),
            ("removePrefix", Value::Str(x), Some(Value::Str(s))) => Some(Value::Str(
                s.strip_prefix(x.as_str()).unwrap_or(&s).to_string(),
            )),
            ("mapAttrs", f, Some(Value::Set(set))) => {
                let mut out = BTreeMap::new();
                for (k, v) in set {
                    let g = self.apply(f.clone(), Value::Str(k.clone()))?;
                    out.insert(k, self.apply(g, v)?);
                }
                Some(Value::Set(out))
            }
            ("mapAttrs'", f, Some(Value::Set(set))) => {
                let mut out = BTreeMap::new();
                for (k, v) in set {
                    let g = self.apply(f.clone(), Value::Str(k))?;
                    let Value::Set(mut pair) = self.apply(g, v)? else {
                        return None;
                    };
                    let (Some(Value::Str(name)), Some(value)) =
                        (pair.remove("name"), pair.remove("value"))
                    else {
                        return None;
                    };
                    out.insert(name, value);
                }
                Some(Value::Set(out))
            }
            // Nix matches the whole string, POSIX extended syntax; the
            // groups, or null.
            ("match", Value::Str(pattern), Some(Value::Str(s))) => {
                let re = regex::Regex::new(&format!("^(?:{pattern})$")).ok()?;
                Some(match re.captures(&s) {
                    None => Value::Null,
                    Some(c) => Value::List(
                        c.iter()
                            .skip(1)
                            .map(|g| g.map_or(Value::Null, |m| Value::Str(m.as_str().into())))
                            .collect(),
                    ),
                })
            }
            ("head", Value::List(items), None) => items.into_iter().next(),
            ("removeAttrs", Value::Set(mut set), Some(Value::List(names))) => {
                for n in names {
                    let Value::Str(n) = n else { return None };
                    set.remove(&n);
                }
                Some(Value::Set(set))
            }
            ("optionalAttrs", Value::Bool(b), Some(Value::Set(set))) => {
                Some(Value::Set(if b { set } else { BTreeMap::new() }))
            }
            ("optionals", Value::Bool(b), Some(Value::List(items))) => {
                Some(Value::List(if b { items } else { Vec::new() }))
            }
            ("import", Value::Path(p), None) => Some(Value::File(p)),
            ("pathExists", Value::Path(p), None) => {
                Some(Value::Bool(self.fs.is_file(&p) || self.fs.is_dir(&p)))
            }
            ("elem", x, Some(Value::List(items))) => {
                let mut found = false;
                for item in &items {
                    found |= equal(&x, item)?;
                }
                Some(Value::Bool(found))
            }
            _ => None,
        }
    }

    fn truth(&mut self, f: Value, args: &[Value]) -> Option<bool> {
        let mut v = f;
        for a in args {
            v = self.apply(v, a.clone())?;
        }
        match v {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn binop(&mut self, op: &ast::BinOp, scope: &Scope, locals: &Locals) -> Option<Value> {
        use ast::BinOpKind::*;
        let kind = op.operator()?;
        let lhs = self.eval(&op.lhs()?, scope, locals)?;
        // `&&` and `||` look at their right side only when Nix would.
        match (kind, &lhs) {
            (And, Value::Bool(false)) => return Some(Value::Bool(false)),
            (Or, Value::Bool(true)) => return Some(Value::Bool(true)),
            _ => {}
        }
        let rhs = self.eval(&op.rhs()?, scope, locals)?;
        match (kind, lhs, rhs) {
            (And | Or, _, Value::Bool(b)) => Some(Value::Bool(b)),
            (Equal, a, b) => equal(&a, &b).map(Value::Bool),
            (NotEqual, a, b) => equal(&a, &b).map(|e| Value::Bool(!e)),
            (Concat, Value::List(mut a), Value::List(b)) => {
                a.extend(b);
                Some(Value::List(a))
            }
            (Add, Value::Str(a), Value::Str(b)) => Some(Value::Str(a + &b)),
            (Add, Value::Path(a), Value::Str(b)) => join(&a, &b),
            (Update, Value::Set(mut a), Value::Set(b)) => {
                a.extend(b);
                Some(Value::Set(a))
            }
            _ => None,
        }
    }

    /// `set.name`, and `inputs.self`/`self`, the flake: the repository root.
    fn select(&mut self, s: &ast::Select, scope: &Scope, locals: &Locals) -> Option<Value> {
        if s.default_expr().is_some() {
            return None;
        }
        let base = s.expr()?;
        let names: Vec<String> = attrpath_names(&s.attrpath()?)
            .into_iter()
            .map(|(n, _)| n.as_static().map(str::to_string))
            .collect::<Option<_>>()?;
        if let ast::Expr::Ident(i) = strip_parens(base.clone())
            && ident_text(&i) == "inputs"
            && names == ["self"]
            && matches!(scope.resolve("inputs"), Resolution::ModuleArg)
        {
            return Some(Value::Path(PathBuf::new()));
        }
        let mut v = self.eval(&base, scope, locals)?;
        for n in names {
            let Value::Set(mut set) = self.force(v)? else {
                return None;
            };
            v = set.remove(&n)?;
        }
        Some(v)
    }

    /// An imported file's value, evaluated in its own directory.
    fn force(&mut self, v: Value) -> Option<Value> {
        let Value::File(p) = v else { return Some(v) };
        let file = if self.fs.is_file(&p) {
            p
        } else {
            p.join("default.nix")
        };
        let text = self.fs.read(&file).ok()?;
        let parse = rnix::Root::parse(&text);
        if !parse.errors().is_empty() {
            return None;
        }
        let root = parse.tree();
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        self.files.push((root.syntax().clone(), dir));
        self.eval(&root.expr()?, &Scope::root(), &Locals::default())
    }

    /// The directory relative paths at `node` start from: its file's.
    fn dir_of(&self, node: &SyntaxNode) -> PathBuf {
        let root = node.ancestors().last();
        self.files
            .iter()
            .find(|(r, _)| Some(r) == root.as_ref())
            .map_or_else(|| self.dir.to_path_buf(), |(_, d)| d.clone())
    }

    /// A set written out: plain names and `inherit`s (not `rec`).
    fn attr_set(&mut self, set: &ast::AttrSet, scope: &Scope, locals: &Locals) -> Option<Value> {
        if set.rec_token().is_some() {
            return None;
        }
        let mut out = BTreeMap::new();
        for entry in set.entries() {
            match entry {
                ast::Entry::AttrpathValue(av) => {
                    let names = attrpath_names(&av.attrpath()?);
                    let [(name, _)] = names.as_slice() else {
                        return None;
                    };
                    let v = self.eval(&av.value()?, scope, locals)?;
                    out.insert(name.as_static()?.to_string(), v);
                }
                ast::Entry::Inherit(inh) => {
                    if inh.from().is_some() {
                        return None;
                    }
                    for attr in inh.attrs() {
                        let ast::Attr::Ident(i) = attr else {
                            return None;
                        };
                        let v = self.ident(&i, scope, locals)?;
                        out.insert(ident_text(&i), v);
                    }
                }
            }
        }
        Some(Value::Set(out))
    }

    /// A string; one starting with an interpolated path is that path
    /// (`"${inputs.self}/users"`), as `import` reads it.
    fn string(&mut self, s: &ast::Str, scope: &Scope, locals: &Locals) -> Option<Value> {
        let mut base: Option<PathBuf> = None;
        let mut text = String::new();
        for (n, part) in string_parts(s)?.into_iter().enumerate() {
            match part {
                InterpolPart::Literal(l) => text.push_str(&l),
                InterpolPart::Interpolation(i) => match self.eval(&i.expr()?, scope, locals)? {
                    Value::Str(v) => text.push_str(&v),
                    Value::Path(p) if n == 0 => base = Some(p),
                    _ => return None,
                },
            }
        }
        match base {
            Some(p) => join(&p, &text),
            None => Some(Value::Str(text)),
        }
    }
}

/// The function whose parameter `name` is, seen from `node`.
fn binder(node: &SyntaxNode, name: &str) -> Option<SyntaxNode> {
    node.ancestors().find_map(|a| {
        let l = ast::Lambda::cast(a)?;
        let inside = l
            .body()
            .is_some_and(|b| b.syntax().text_range().contains_range(node.text_range()));
        (inside && lambda_params(&l).iter().any(|p| p == name)).then(|| l.syntax().clone())
    })
}

/// Whether a function head is a name the file binds (a helper called
/// `map`), so not the library function of that name.
fn bound_locally(head: &ast::Expr, scope: &Scope) -> bool {
    match strip_parens(head.clone()) {
        ast::Expr::Ident(i) => matches!(
            scope.resolve(&ident_text(&i)),
            Resolution::Binding { .. } | Resolution::Param | Resolution::ModuleArg
        ),
        _ => false,
    }
}

/// `==` on the values a listing holds; `None` for functions.
fn equal(a: &Value, b: &Value) -> Option<bool> {
    Some(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::File(x), Value::File(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Path(x), Value::Path(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Lambda(..) | Value::Builtin(..), _)
        | (_, Value::Lambda(..) | Value::Builtin(..)) => {
            return None;
        }
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .map(|(a, b)| equal(a, b))
                    .collect::<Option<Vec<_>>>()?
                    .into_iter()
                    .all(|e| e)
        }
        (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .map(|((ka, a), (kb, b))| Some(ka == kb && equal(a, b)?))
                    .collect::<Option<Vec<_>>>()?
                    .into_iter()
                    .all(|e| e)
        }
        _ => false,
    })
}

/// `path + "/rest"`, as Nix appends a string to a path.
fn join(base: &Path, rest: &str) -> Option<Value> {
    let joined = if base.as_os_str().is_empty() {
        // The root itself: only `"/…"` stays inside it.
        rest.strip_prefix('/')?.to_string()
    } else {
        format!("{}{rest}", base.display())
    };
    inside(normalize(Path::new(&joined)))
}

/// A path inside the repository.
fn inside(p: PathBuf) -> Option<Value> {
    (!p.starts_with("..") && !p.is_absolute()).then_some(Value::Path(p))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use rowan::ast::AstNode;

    use crate::fs::{DiskFs, Overlay};
    use crate::index::{ImportTarget, index_file, index_file_in};
    use crate::source::SourceFile;

    /// The paths `hosts/h/default.nix` (with `text`) imports, over a tree
    /// holding `files`, and whether anything stayed unresolved.
    fn imports(files: &[&str], text: &str) -> (Vec<String>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskFs::new(dir.path());
        let mut fs = Overlay::new(&disk);
        for f in files {
            fs.set(PathBuf::from(f), Some(Arc::from("{ }")));
        }
        let file = SourceFile::new(PathBuf::from("hosts/h/default.nix"), text.to_string());
        let root = rnix::Root::parse(text).tree();
        let m = index_file_in(&file, &root, &fs).remove(0);
        let paths = m
            .imports
            .iter()
            .filter_map(|i| match &i.target {
                ImportTarget::Path(p) => Some(p.display().to_string()),
                ImportTarget::Inline(_)
                | ImportTarget::FlakeModule(_)
                | ImportTarget::AllFlakeModules => None,
            })
            .collect();
        (paths, !m.diagnostics.is_empty())
    }

    const MODULES: &[&str] = &[
        "hosts/h/modules/b.nix",
        "hosts/h/modules/a.nix",
        "hosts/h/modules/README.md",
        "hosts/h/modules/sub/default.nix",
        "users/ana.nix",
        "users/lib.nix",
        "users/keys/ana",
    ];

    #[test]
    fn the_patterns_listing_gives_every_entry_in_name_order() {
        let (paths, unresolved) = imports(
            MODULES,
            r#"{ ... }: { imports = map (f: ./modules + "/${f}") (builtins.attrNames (builtins.readDir ./modules)); }"#,
        );
        assert!(!unresolved);
        let dir = "hosts/h/modules";
        assert_eq!(
            paths,
            [
                format!("{dir}/README.md"),
                format!("{dir}/a.nix"),
                format!("{dir}/b.nix"),
                format!("{dir}/sub"),
            ]
        );
    }

    #[test]
    fn filters_and_the_flake_root_are_followed() {
        let text = r#"{ inputs, lib, ... }:
let
  usersDir = "${inputs.self}/users";
  userFiles = builtins.filter (f: lib.hasSuffix ".nix" f && f != "lib.nix") (
    lib.attrNames (builtins.readDir usersDir)
  );
in
{ imports = map (f: usersDir + "/${f}") userFiles; }"#;
        assert_eq!(
            imports(MODULES, text),
            (vec!["users/ana.nix".into()], false)
        );
        let dirs = r#"{ lib, ... }: {
  imports = lib.mapAttrsToList (name: _: ./modules/${name}) (
    lib.filterAttrs (_: type: type == "directory") (builtins.readDir ./modules)
  );
}"#;
        let (paths, _) = imports(MODULES, dirs);
        assert_eq!(paths, ["hosts/h/modules/sub"]);
        let partial = r#"{ lib, ... }: {
  imports = map (f: ./modules/${f}) (builtins.filter (lib.hasSuffix ".nix") (builtins.attrNames (builtins.readDir ./modules)));
}"#;
        let (paths, _) = imports(MODULES, partial);
        assert_eq!(paths, ["hosts/h/modules/a.nix", "hosts/h/modules/b.nix"]);
        // A helper of the file's own named `map` is that helper.
        let own = r#"{ ... }: let map = f: l: [ ./one.nix ]; in { imports = map (f: ./modules/${f}) (builtins.attrNames (builtins.readDir ./modules)); }"#;
        assert_eq!(
            imports(MODULES, own),
            (vec!["hosts/h/one.nix".into()], false)
        );
    }

    /// The blueprint-style `importDir` a flake makes its `nixosModules`
    /// with: directories but `common`, and `.nix` files by their stem.
    #[test]
    fn named_modules_from_a_listing() {
        let text = r#"{ inputs, lib, ... }:
let
  importDir = path: fn:
    let
      entries = builtins.readDir path;
      onlyDirs = lib.filterAttrs (name: type: type == "directory" && (name != "common")) entries;
      dirPaths = lib.mapAttrs (name: type: { path = path + "/${name}"; inherit type; }) onlyDirs;
      nixPaths = removeAttrs (lib.mapAttrs' (name: type:
        let nixName = builtins.match "(.*)\.nix" name; in
        {
          name = if type == "directory" || nixName == null then "__junk" else (builtins.head nixName);
          value = { path = path + "/${name}"; inherit type; };
        }) entries) [ "__junk" ];
      combined = dirPaths // nixPaths;
    in
    lib.optionalAttrs (builtins.pathExists path) (fn combined);
  modules = path: importDir path (lib.mapAttrs (_name: { path, ... }: path));
in
{ flake.nixosModules = modules "${inputs.self}/modules/nixos"; }"#;
        let dir = tempfile::tempdir().unwrap();
        let disk = DiskFs::new(dir.path());
        let mut fs = Overlay::new(&disk);
        for f in [
            "modules/nixos/common/default.nix",
            "modules/nixos/builder/default.nix",
            "modules/nixos/nginx.nix",
            "modules/nixos/notes.txt",
        ] {
            fs.set(PathBuf::from(f), Some(Arc::from("{ }")));
        }
        let root = rnix::Root::parse(text).tree();
        let value = root
            .syntax()
            .descendants()
            .filter_map(rnix::ast::AttrpathValue::cast)
            .find(|av| {
                av.syntax()
                    .text()
                    .to_string()
                    .starts_with("flake.nixosModules")
            })
            .and_then(|av| av.value())
            .unwrap();
        let scope = crate::index::walk_scope_at(value.syntax());
        let got = super::named_paths(&fs, Path::new("modules"), &value, &scope).unwrap();
        let got: Vec<(String, String)> = got
            .into_iter()
            .map(|(k, v)| (k, v.display().to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("builder".to_string(), "modules/nixos/builder".to_string()),
                ("nginx".to_string(), "modules/nixos/nginx.nix".to_string()),
            ]
        );
    }

    #[test]
    fn what_is_not_understood_stays_unresolved() {
        for text in [
            // A function the evaluator does not know.
            r#"{ lib, ... }: { imports = lib.filesystem.listFilesRecursive ./modules; }"#,
            r#"{ lib, ... }: { imports = map (f: ./modules/${f}) (lib.sort lib.lessThan (builtins.attrNames (builtins.readDir ./modules))); }"#,
            // Outside the repository.
            r#"{ ... }: { imports = map (f: ../../../x/${f}) (builtins.attrNames (builtins.readDir ../../../x)); }"#,
            // A module argument other than the flake.
            r#"{ config, ... }: { imports = map (f: ./modules/${f}) (builtins.attrNames (builtins.readDir config.dir)); }"#,
            // No listing at all: a computed list is no listing.
            r#"{ lib, ... }: { imports = map (f: ./modules/${f}) [ "a.nix" ]; }"#,
        ] {
            let (paths, unresolved) = imports(MODULES, text);
            assert!(paths.is_empty() && unresolved, "{text}: {paths:?}");
        }
    }

    #[test]
    fn without_a_tree_a_listing_stays_unresolved() {
        let text = r#"{ ... }: { imports = map (f: ./modules + "/${f}") (builtins.attrNames (builtins.readDir ./modules)); }"#;
        let file = SourceFile::new(PathBuf::from("h.nix"), text.to_string());
        let m = index_file(&file, &rnix::Root::parse(text).tree()).remove(0);
        assert!(m.imports.is_empty() && !m.diagnostics.is_empty());
        assert!(m.listed.is_empty());
    }
}
