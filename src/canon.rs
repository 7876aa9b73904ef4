//! Canonical forms of Nix values for structural comparison: whitespace,
//! comments, attribute order, `foo` vs `"foo"` and nesting style
//! (`a.b = 1` vs `a = { b = 1; }`) vanish; free names are replaced by what
//! they are bound to, so the same text bound to different things differs;
//! relative paths become repository paths, so `./a.pub` written in two
//! directories names two files.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use rnix::ast::{self, HasEntry, InterpolPart};
use rowan::ast::AstNode;

use crate::scope::{Binding, Resolution, Scope};
use crate::syntax::{attr_name, attrpath_names, ident_text, normalize, range_of, strip_parens};

/// A canonical form; equal forms mean equal values for our purposes.
pub type Canon = String;

/// Forms longer than this are replaced by a digest, keeping memory flat
/// when a large `let`-bound set is referenced from many places.
const MAX_INLINE: usize = 240;
/// How deep name resolution may go before the binding site stands in for
/// its value (guards against cycles and pathological nesting).
const MAX_DEPTH: usize = 24;

/// The form of a literal written on its own (`true`, `"a"`): the same
/// wherever it is written, since a literal names nothing.
pub fn literal(text: &str) -> Canon {
    let parse = rnix::Root::parse(text);
    let canon = Canonicalizer::new(Path::new(""));
    parse
        .tree()
        .expr()
        .map(|e| canon.canon(&e, &Scope::root()))
        .unwrap_or_default()
}

pub struct Canonicalizer<'a> {
    /// Directory of the file, relative to the repository root.
    dir: &'a Path,
    memo: RefCell<HashMap<(usize, usize), Canon>>,
    active: RefCell<HashSet<(usize, usize)>>,
}

impl<'a> Canonicalizer<'a> {
    pub fn new(dir: &'a Path) -> Self {
        Canonicalizer {
            dir,
            memo: RefCell::default(),
            active: RefCell::default(),
        }
    }

    pub fn canon(&self, expr: &ast::Expr, scope: &Scope) -> Canon {
        self.canon_depth(expr, scope, 0)
    }

    /// The form of a value bound by `inherit name;` (`from` absent) or
    /// `inherit (from) name;`: the same as `name` or `from.name` written out.
    pub fn canon_inherited(&self, from: Option<&ast::Expr>, name: &str, scope: &Scope) -> Canon {
        let mut out = String::new();
        match from {
            Some(f) => self.write_inherit_from(&mut out, f, name, scope, 0),
            None => self.write_name(&mut out, name, scope, 0),
        }
        digest_if_long(out)
    }

    /// The elements of the list a name is bound to, when known.
    pub fn name_elements(&self, name: &str, scope: &Scope) -> Option<Vec<Canon>> {
        match scope.resolve(name) {
            Resolution::Binding {
                binding: Binding::Expr(e),
                scope,
            } => self.list_elements_depth(&e, &scope, 1),
            _ => None,
        }
    }

    /// The elements of a list value, when the value is a list literal, a
    /// name bound to one, or a `++` of such; `None` when unknown.
    pub fn list_elements(&self, expr: &ast::Expr, scope: &Scope) -> Option<Vec<Canon>> {
        self.list_elements_depth(expr, scope, 0)
    }

    fn list_elements_depth(
        &self,
        expr: &ast::Expr,
        scope: &Scope,
        depth: usize,
    ) -> Option<Vec<Canon>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match strip_parens(expr.clone()) {
            ast::Expr::List(list) => Some(
                list.items()
                    .map(|i| self.canon_depth(&i, scope, depth + 1))
                    .collect(),
            ),
            ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Concat) => {
                let mut l = self.list_elements_depth(&op.lhs()?, scope, depth + 1)?;
                l.extend(self.list_elements_depth(&op.rhs()?, scope, depth + 1)?);
                Some(l)
            }
            ast::Expr::With(w) => {
                let inner = scope.with_namespace(w.namespace()?);
                self.list_elements_depth(&w.body()?, &inner, depth + 1)
            }
            ast::Expr::LetIn(l) => {
                let inner = scope.with_bindings(&l);
                self.list_elements_depth(&l.body()?, &inner, depth + 1)
            }
            ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
                Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } => self.list_elements_depth(&e, &scope, depth + 1),
                Resolution::Binding {
                    binding: Binding::Inherit(name),
                    scope,
                } => self.resolve_inherit_elements(&name, &scope, depth),
                _ => None,
            },
            _ => None,
        }
    }

    fn resolve_inherit_elements(
        &self,
        name: &str,
        scope: &Scope,
        depth: usize,
    ) -> Option<Vec<Canon>> {
        match scope.parent().resolve(name) {
            Resolution::Binding {
                binding: Binding::Expr(e),
                scope,
            } => self.list_elements_depth(&e, &scope, depth + 1),
            _ => None,
        }
    }

    fn canon_depth(&self, expr: &ast::Expr, scope: &Scope, depth: usize) -> Canon {
        let mut out = String::new();
        self.write(&mut out, expr, scope, depth);
        digest_if_long(out)
    }

    fn write(&self, out: &mut String, expr: &ast::Expr, scope: &Scope, depth: usize) {
        if depth > MAX_DEPTH {
            let (s, e) = range_of(expr.syntax());
            let _ = write!(out, "deep@{s}-{e}");
            return;
        }
        let d = depth + 1;
        match expr {
            ast::Expr::Paren(p) => match p.expr() {
                Some(e) => self.write(out, &e, scope, d),
                None => out.push_str("()"),
            },
            ast::Expr::Literal(l) => {
                let _ = write!(out, "lit:{}", l.syntax().text());
            }
            ast::Expr::Str(s) => {
                if let Some(text) = crate::syntax::plain_string(s) {
                    out.push_str("str(");
                    push_quoted(out, text.text());
                    out.push(')');
                    return;
                }
                let Some(parts) = crate::syntax::string_parts(s) else {
                    let _ = write!(out, "raw:{}", compact(Some(s.syntax().clone())));
                    return;
                };
                out.push_str("str(");
                for part in parts {
                    match part {
                        InterpolPart::Literal(l) => {
                            push_quoted(out, &l);
                        }
                        InterpolPart::Interpolation(i) => {
                            out.push_str("${");
                            if let Some(e) = i.expr() {
                                self.write(out, &e, scope, d);
                            }
                            out.push('}');
                        }
                    }
                }
                out.push(')');
            }
            ast::Expr::PathRel(p) => {
                let mut text = String::new();
                let mut exact = true;
                let Some(parts) = crate::syntax::path_parts(p.syntax()) else {
                    let _ = write!(out, "raw:{}", compact(Some(p.syntax().clone())));
                    return;
                };
                for part in parts {
                    match part {
                        crate::syntax::PathPart::Literal(l) => text.push_str(&l),
                        crate::syntax::PathPart::Interpolation(i) => {
                            exact = false;
                            text.push_str("${");
                            if let Some(e) = i.expr() {
                                self.write(&mut text, &e, scope, d);
                            }
                            text.push('}');
                        }
                    }
                }
                let resolved = if exact {
                    repo_path(&self.dir.join(&text))
                } else {
                    format!("{}/{}", repo_path(self.dir), text)
                };
                let _ = write!(out, "path:{resolved}");
            }
            ast::Expr::PathAbs(_) | ast::Expr::PathHome(_) | ast::Expr::PathSearch(_) => {
                let _ = write!(out, "path:{}", expr.syntax().text());
            }
            ast::Expr::Ident(i) => self.write_name(out, &ident_text(i), scope, depth),
            ast::Expr::Select(s) => {
                if let Some(v) = self.select_static(s, scope, d) {
                    out.push_str(&v);
                    return;
                }
                out.push_str("sel(");
                if let Some(def) = s.default_expr() {
                    if let Some(e) = s.expr() {
                        self.write(out, &e, scope, d);
                    }
                    if let Some(path) = s.attrpath() {
                        self.write_attrpath(out, &path, scope, d);
                    }
                    out.push_str(" or ");
                    self.write(out, &def, scope, d);
                } else if let Some((base, paths)) = flatten_select(s) {
                    self.write(out, &base, scope, d);
                    for path in paths {
                        self.write_attrpath(out, &path, scope, d);
                    }
                }
                out.push(')');
            }
            ast::Expr::Apply(a) => {
                out.push_str("app(");
                if let Some(f) = a.lambda() {
                    self.write(out, &f, scope, d);
                }
                out.push(' ');
                if let Some(x) = a.argument() {
                    self.write(out, &x, scope, d);
                }
                out.push(')');
            }
            ast::Expr::List(l) => {
                out.push('[');
                for item in l.items() {
                    self.write(out, &item, scope, d);
                    out.push(' ');
                }
                out.push(']');
            }
            ast::Expr::AttrSet(set) => {
                let inner;
                let scope = if set.rec_token().is_some() {
                    inner = scope.with_bindings(set);
                    &inner
                } else {
                    scope
                };
                self.write_set(out, set, scope, d);
            }
            ast::Expr::LetIn(l) => {
                let inner = scope.with_bindings(l);
                match l.body() {
                    Some(b) => self.write(out, &b, &inner, d),
                    None => out.push_str("let()"),
                }
            }
            ast::Expr::With(w) => {
                let inner = match w.namespace() {
                    Some(ns) => scope.with_namespace(ns),
                    None => scope.clone(),
                };
                match w.body() {
                    Some(b) => self.write(out, &b, &inner, d),
                    None => out.push_str("with()"),
                }
            }
            ast::Expr::Lambda(l) => {
                let names = crate::syntax::lambda_params(l);
                let inner = scope.with_params(names, false);
                let _ = write!(
                    out,
                    "fn({})",
                    compact(l.param().map(|p| p.syntax().clone()))
                );
                if let Some(b) = l.body() {
                    self.write(out, &b, &inner, d);
                }
            }
            ast::Expr::BinOp(b) => {
                let _ = write!(out, "op{:?}(", b.operator());
                if let Some(l) = b.lhs() {
                    self.write(out, &l, scope, d);
                }
                out.push(',');
                if let Some(r) = b.rhs() {
                    self.write(out, &r, scope, d);
                }
                out.push(')');
            }
            ast::Expr::UnaryOp(u) => {
                let _ = write!(out, "un{:?}(", u.operator());
                if let Some(e) = u.expr() {
                    self.write(out, &e, scope, d);
                }
                out.push(')');
            }
            ast::Expr::IfElse(i) => {
                out.push_str("if(");
                for e in [i.condition(), i.body(), i.else_body()]
                    .into_iter()
                    .flatten()
                {
                    self.write(out, &e, scope, d);
                    out.push(',');
                }
                out.push(')');
            }
            ast::Expr::Assert(a) => {
                out.push_str("assert(");
                for e in [a.condition(), a.body()].into_iter().flatten() {
                    self.write(out, &e, scope, d);
                    out.push(',');
                }
                out.push(')');
            }
            ast::Expr::HasAttr(h) => {
                out.push_str("has(");
                if let Some(e) = h.expr() {
                    self.write(out, &e, scope, d);
                }
                if let Some(p) = h.attrpath() {
                    self.write_attrpath(out, &p, scope, d);
                }
                out.push(')');
            }
            other => {
                let _ = write!(out, "raw:{}", compact(Some(other.syntax().clone())));
            }
        }
    }

    fn write_name(&self, out: &mut String, name: &str, scope: &Scope, depth: usize) {
        match scope.resolve(name) {
            Resolution::Binding { binding, scope } => match binding {
                Binding::Expr(e) => out.push_str(&self.memo_canon(&e, &scope, depth)),
                Binding::Inherit(n) => self.write_name(out, &n, &scope.parent(), depth + 1),
                Binding::InheritFrom(from, n) => {
                    self.write_inherit_from(out, &from, &n, &scope.parent(), depth + 1);
                }
                Binding::Partial => {
                    let _ = write!(out, "partial:{name}");
                }
            },
            Resolution::ModuleArg => {
                let _ = write!(out, "arg:{name}");
            }
            Resolution::Param => {
                let _ = write!(out, "var:{name}");
            }
            Resolution::With(namespaces) => {
                out.push_str("with(");
                for (ns, ns_scope) in &namespaces {
                    self.write(out, ns, ns_scope, depth + 1);
                    out.push(';');
                }
                let _ = write!(out, ").{name}");
            }
            Resolution::Global => {
                let _ = write!(out, "global:{name}");
            }
        }
    }

    /// Canonical form of a binding's value, computed once per binding site.
    fn memo_canon(&self, expr: &ast::Expr, scope: &Scope, depth: usize) -> Canon {
        let key = range_of(expr.syntax());
        if let Some(v) = self.memo.borrow().get(&key) {
            return v.clone();
        }
        if !self.active.borrow_mut().insert(key) {
            return format!("cycle@{}-{}", key.0, key.1);
        }
        let v = self.canon_depth(expr, scope, depth + 1);
        self.active.borrow_mut().remove(&key);
        self.memo.borrow_mut().insert(key, v.clone());
        v
    }

    /// `keys.alice` where `keys` is bound to a set literal: the value of
    /// `alice` in it, so a lookup compares like the value it finds.
    fn select_static(&self, s: &ast::Select, scope: &Scope, depth: usize) -> Option<Canon> {
        if s.default_expr().is_some() || depth > MAX_DEPTH {
            return None;
        }
        let names: Vec<String> = attrpath_names(&s.attrpath()?)
            .into_iter()
            .map(|(n, _)| n.as_static().map(str::to_string))
            .collect::<Option<_>>()?;
        let (set, set_scope) = self.resolve_to_set(&s.expr()?, scope, depth)?;
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let value = crate::syntax::get_attr(&set, &refs)?;
        let inner = if set.rec_token().is_some() {
            set_scope.with_bindings(&set)
        } else {
            set_scope
        };
        Some(self.canon_depth(&value, &inner, depth + 1))
    }

    fn resolve_to_set(
        &self,
        expr: &ast::Expr,
        scope: &Scope,
        depth: usize,
    ) -> Option<(ast::AttrSet, Scope)> {
        if depth > MAX_DEPTH {
            return None;
        }
        match strip_parens(expr.clone()) {
            ast::Expr::AttrSet(set) => Some((set, scope.clone())),
            ast::Expr::Ident(i) => match scope.resolve(&ident_text(&i)) {
                Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } => self.resolve_to_set(&e, &scope, depth + 1),
                _ => None,
            },
            _ => None,
        }
    }

    fn write_set(&self, out: &mut String, set: &ast::AttrSet, scope: &Scope, depth: usize) {
        let mut tree = SetTree::default();
        for entry in set.entries() {
            match entry {
                ast::Entry::AttrpathValue(av) => {
                    let keys: Vec<String> = av
                        .attrpath()
                        .map(|p| {
                            p.attrs()
                                .map(|a| match attr_name(&a) {
                                    crate::syntax::AttrName::Static(s) => format!("{s:?}"),
                                    crate::syntax::AttrName::Dynamic(_) => {
                                        let mut k = String::from("${");
                                        if let ast::Attr::Dynamic(d) = &a
                                            && let Some(e) = d.expr()
                                        {
                                            self.write(&mut k, &e, scope, depth);
                                        }
                                        k.push('}');
                                        k
                                    }
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let value = match av.value() {
                        Some(v) => self.canon_value_for_set(&v, scope, depth),
                        None => SetTree::Leaf(String::new()),
                    };
                    tree.insert(&keys, value);
                }
                ast::Entry::Inherit(inh) => {
                    let from = inh.from().and_then(|f| f.expr());
                    for attr in inh.attrs() {
                        let Some(name) = attr_name(&attr).as_static().map(str::to_string) else {
                            continue;
                        };
                        let mut v = String::new();
                        match &from {
                            Some(f) => self.write_inherit_from(&mut v, f, &name, scope, depth),
                            None => self.write_name(&mut v, &name, scope, depth),
                        }
                        tree.insert(&[format!("{name:?}")], SetTree::Leaf(v));
                    }
                }
            }
        }
        tree.write(out);
    }

    /// Nested literal sets are expanded into the tree so that `a.b = 1;`
    /// and `a = { b = 1; };` give the same form.
    fn canon_value_for_set(&self, value: &ast::Expr, scope: &Scope, depth: usize) -> SetTree {
        match strip_parens(value.clone()) {
            ast::Expr::AttrSet(inner) if inner.rec_token().is_none() => {
                let mut s = String::new();
                self.write_set(&mut s, &inner, scope, depth + 1);
                SetTree::Literal(s)
            }
            other => SetTree::Leaf(self.canon_depth(&other, scope, depth + 1)),
        }
    }

    /// `inherit (from) n;` means `from.n`, and is written exactly like it.
    fn write_inherit_from(
        &self,
        out: &mut String,
        from: &ast::Expr,
        n: &str,
        scope: &Scope,
        depth: usize,
    ) {
        out.push_str("sel(");
        match strip_parens(from.clone()) {
            ast::Expr::Select(s) if s.default_expr().is_none() => {
                if let Some((base, paths)) = flatten_select(&s) {
                    self.write(out, &base, scope, depth);
                    for path in paths {
                        self.write_attrpath(out, &path, scope, depth);
                    }
                }
            }
            other => self.write(out, &other, scope, depth),
        }
        out.push('.');
        push_quoted(out, n);
        out.push(')');
    }

    fn write_attrpath(&self, out: &mut String, path: &ast::Attrpath, scope: &Scope, depth: usize) {
        for attr in path.attrs() {
            out.push('.');
            match (attr_name(&attr), &attr) {
                (crate::syntax::AttrName::Static(s), _) => push_quoted(out, &s),
                (_, ast::Attr::Dynamic(d)) => {
                    out.push_str("${");
                    if let Some(e) = d.expr() {
                        self.write(out, &e, scope, depth);
                    }
                    out.push('}');
                }
                _ => out.push_str(&compact(Some(attr.syntax().clone()))),
            }
        }
    }
}

/// Attribute set under construction: dotted paths merge into nested sets.
#[derive(Debug, Default)]
enum SetTree {
    #[default]
    Empty,
    Leaf(Canon),
    /// A nested literal set, already written; re-parsed into a node on merge.
    Literal(String),
    Node(BTreeMap<String, SetTree>),
}

impl SetTree {
    fn insert(&mut self, keys: &[String], value: SetTree) {
        let Some((first, rest)) = keys.split_first() else {
            *self = value;
            return;
        };
        if !matches!(self, SetTree::Node(_)) {
            *self = SetTree::Node(BTreeMap::new());
        }
        let SetTree::Node(map) = self else {
            unreachable!("just made a node")
        };
        let slot = map.entry(first.clone()).or_default();
        if rest.is_empty() {
            match (std::mem::take(slot), value) {
                (SetTree::Empty, v) => *slot = v,
                (SetTree::Node(existing), SetTree::Literal(lit)) => {
                    // `a.b = 1; a = { c = 2; };`: keep both, order-free.
                    let mut merged = SetTree::Node(existing);
                    merged.insert(&["{literal}".to_string()], SetTree::Literal(lit));
                    *slot = merged;
                }
                (old, v) => {
                    let mut node = BTreeMap::new();
                    node.insert("{dup0}".to_string(), old);
                    node.insert("{dup1}".to_string(), v);
                    *slot = SetTree::Node(node);
                }
            }
        } else {
            if matches!(slot, SetTree::Literal(_)) {
                let SetTree::Literal(lit) = std::mem::take(slot) else {
                    unreachable!("checked above")
                };
                let mut node = SetTree::Node(BTreeMap::new());
                node.insert(&["{literal}".to_string()], SetTree::Literal(lit));
                *slot = node;
            }
            slot.insert(rest, value);
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            SetTree::Empty => out.push_str("{}"),
            SetTree::Leaf(c) | SetTree::Literal(c) => out.push_str(c),
            SetTree::Node(map) => {
                out.push('{');
                for (k, v) in map {
                    out.push_str(k);
                    out.push('=');
                    v.write(out);
                    out.push(';');
                }
                out.push('}');
            }
        }
    }
}

/// `(a.b).c` and `a.b.c` are the same lookup: the innermost base and every
/// attribute path in order, through parentheses.
fn flatten_select(s: &ast::Select) -> Option<(ast::Expr, Vec<ast::Attrpath>)> {
    let mut paths = vec![s.attrpath()?];
    let mut base = strip_parens(s.expr()?);
    while let ast::Expr::Select(inner) = &base {
        if inner.default_expr().is_some() {
            break;
        }
        paths.push(inner.attrpath()?);
        base = strip_parens(inner.expr()?);
    }
    paths.reverse();
    Some((base, paths))
}

/// Source text with trivia squeezed out, for shapes compared verbatim.
fn compact(node: Option<rnix::SyntaxNode>) -> String {
    let Some(node) = node else {
        return String::new();
    };
    let mut out = String::new();
    for tok in node
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
    {
        if crate::syntax::is_trivia(tok.kind()) {
            out.push(' ');
        } else {
            out.push_str(tok.text());
        }
    }
    out
}

/// `text` as `{:?}` writes it, without formatting machinery for the
/// common text that needs no escape (printable ASCII but `"` and `\\`).
fn push_quoted(out: &mut String, text: &str) {
    if text
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        let _ = write!(out, "{text:?}");
    }
}

fn digest_if_long(mut s: String) -> Canon {
    if s.len() <= MAX_INLINE {
        // Forms are kept for the whole run, tens of thousands of them on
        // a large fleet: without the room they grew into.
        s.shrink_to_fit();
        return s;
    }
    let mut a = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (s.len(), &s).hash(&mut b);
    format!("#{:016x}{:016x}", a.finish(), b.finish())
}

/// A repository-relative path as text with `/` separators.
pub fn repo_path(path: &Path) -> String {
    let p: PathBuf = normalize(path);
    let s = crate::source::display_path(&p);
    if s.is_empty() { ".".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rnix::Root;

    #[test]
    fn quoted_text_is_what_debug_writes() {
        for text in [
            "",
            "a",
            "ssh-ed25519 AAAA alice@x",
            "it's",
            "a\"b",
            "a\\b",
            "tab\there",
            "ü",
            "\u{7f}",
            "~ !#$%&()*+,-./:;<=>?@[]^_`{|}",
        ] {
            let mut out = String::new();
            push_quoted(&mut out, text);
            assert_eq!(out, format!("{text:?}"), "{text}");
        }
    }

    fn canon_of(src: &str, dir: &str) -> Canon {
        let root = Root::parse(src).tree();
        let expr = root.expr().unwrap();
        Canonicalizer::new(Path::new(dir)).canon(&expr, &Scope::root())
    }

    #[test]
    fn trivia_order_and_quoting_do_not_matter() {
        assert_eq!(
            canon_of("{ a = 1; /* c */ \"b\" = [ x ]; }", "."),
            canon_of("{\n  b = [x];\n  a = 1;\n}", ".")
        );
    }

    #[test]
    fn nested_and_dotted_sets_are_equal() {
        assert_eq!(
            canon_of("{ a.b = 1; a.c = 2; }", "."),
            canon_of("{ a = { c = 2; b = 1; }; }", ".")
        );
    }

    #[test]
    fn names_compare_by_binding() {
        assert_eq!(
            canon_of("let ks = [ \"k\" ]; in ks", "."),
            canon_of("[ \"k\" ]", ".")
        );
        assert_ne!(
            canon_of("let keys = import ../../keys.nix; in keys.erin", "hosts/a"),
            canon_of("let keys = import ./keys.nix; in keys.erin", "hosts/b")
        );
        assert_eq!(
            canon_of("let keys = import ../../keys.nix; in keys.erin", "hosts/a"),
            canon_of("let k = import ../../keys.nix; in k.erin", "hosts/b")
        );
    }

    #[test]
    fn relative_paths_are_rebased_to_the_repository() {
        assert_eq!(
            canon_of("../../keys/a.pub", "hosts/a"),
            canon_of("../keys/a.pub", "users")
        );
        assert_ne!(
            canon_of("./a.pub", "hosts/a"),
            canon_of("./a.pub", "hosts/b")
        );
    }

    #[test]
    fn inherit_from_equals_select() {
        assert_eq!(
            canon_of("{ c, ... }: { inherit (c.users.karl) openssh; }", "."),
            canon_of("{ c, ... }: { openssh = c.users.karl.openssh; }", ".")
        );
    }

    #[test]
    fn cycles_terminate() {
        let c = canon_of("let a = b; b = a; in a", ".");
        assert!(c.contains("cycle"), "{c}");
    }

    #[test]
    fn list_elements_follow_bindings_and_concatenation() {
        let root = Root::parse("let g = [ \"a\" ]; in g ++ [ \"b\" ]").tree();
        let expr = root.expr().unwrap();
        let ast::Expr::LetIn(l) = expr else { panic!() };
        let scope = Scope::root().with_bindings(&l);
        let c = Canonicalizer::new(Path::new("."));
        let els = c.list_elements(&l.body().unwrap(), &scope).unwrap();
        assert_eq!(
            els,
            vec!["str(\"a\")".to_string(), "str(\"b\")".to_string()]
        );
    }
}
