//! Lifting a value out of its file: its text with relative paths rebased
//! to the new file's directory, and what it needs to keep its meaning
//! there (module arguments, `let` bindings it uses, enclosing `with`s).
//! A value whose meaning cannot be carried along is refused with a reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use rnix::ast::{self, HasEntry};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

use crate::index::walk_scope_at;
use crate::scope::{Binding, Resolution};
use crate::source::SourceFile;
use crate::syntax::{attr_name, ident_text, lambda_params, normalize, range_of};

/// A value ready to be written in another file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifted {
    pub text: String,
    /// Module arguments the text uses (`pkgs`, `lib`, `config`, …).
    pub args: BTreeSet<String>,
    /// `let` bindings to copy along, by name: (binding site, rebased text
    /// of its value).
    pub bindings: BTreeMap<String, ((usize, usize, PathBuf), String)>,
    /// Enclosing `with` namespaces (rebased text), outermost first.
    pub withs: Vec<String>,
}

/// Lifts `node` (an expression in `file`) for a file in `new_dir`.
pub fn lift(file: &SourceFile, node: &SyntaxNode, new_dir: &Path) -> Result<Lifted, String> {
    let mut out = Lifted {
        text: rebased_text(file, node, new_dir)?,
        ..Lifted::default()
    };
    let mut visiting = BTreeSet::new();
    needs(file, node, new_dir, &mut out, &mut visiting, 0)?;
    Ok(out)
}

fn needs(
    file: &SourceFile,
    node: &SyntaxNode,
    new_dir: &Path,
    out: &mut Lifted,
    visiting: &mut BTreeSet<(usize, usize)>,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Err("its bindings nest too deeply to copy".into());
    }
    let Some(expr) = ast::Expr::cast(node.clone()) else {
        return Ok(());
    };
    let mut free = Vec::new();
    free_vars(&expr, &mut Vec::new(), &mut free);
    for (name, ident) in free {
        match walk_scope_at(&ident).resolve(&name) {
            Resolution::Global => {}
            Resolution::ModuleArg => {
                out.args.insert(name);
            }
            Resolution::Param => {
                return Err(format!(
                    "it uses `{name}`, a parameter of an enclosing function"
                ));
            }
            Resolution::With(namespaces) => {
                // Namespaces of `with`s inside the value travel with it.
                let inside = |ns: &ast::Expr| {
                    let r = range_of(ns.syntax());
                    let n = range_of(node);
                    n.0 <= r.0 && r.1 <= n.1
                };
                for (ns, _) in namespaces.iter().rev().filter(|(ns, _)| !inside(ns)) {
                    let text = rebased_text(file, ns.syntax(), new_dir)?;
                    if !out.withs.contains(&text) {
                        needs(file, ns.syntax(), new_dir, out, visiting, depth + 1)?;
                        out.withs.push(text);
                    }
                }
            }
            Resolution::Binding { binding, .. } => match binding {
                Binding::Expr(value) => {
                    let site = range_of(value.syntax());
                    let key = (site.0, site.1, file.path.clone());
                    if let Some((existing, _)) = out.bindings.get(&name) {
                        if existing != &key {
                            return Err(format!("it uses two different bindings named `{name}`"));
                        }
                        continue;
                    }
                    if !visiting.insert(site) {
                        continue;
                    }
                    let text = rebased_text(file, value.syntax(), new_dir)?;
                    out.bindings.insert(name.clone(), (key, text));
                    needs(file, value.syntax(), new_dir, out, visiting, depth + 1)?;
                }
                _ => {
                    return Err(format!(
                        "it uses `{name}`, bound by `inherit` or a nested path, which is not copied"
                    ));
                }
            },
        }
    }
    Ok(())
}

/// Names used but not bound inside `expr`, with the identifier nodes.
fn free_vars(expr: &ast::Expr, bound: &mut Vec<String>, out: &mut Vec<(String, SyntaxNode)>) {
    let visit = |e: Option<ast::Expr>, bound: &mut Vec<String>, out: &mut Vec<_>| {
        if let Some(e) = e {
            free_vars(&e, bound, out);
        }
    };
    match expr {
        ast::Expr::Ident(i) => {
            let name = ident_text(i);
            if !bound.contains(&name) {
                // Under an inner `with`, an unbound name may come from the
                // namespace; it is only a dependency if something outside
                // binds it lexically (which wins over `with`).
                // Under an inner `with` an unbound name may come from its
                // namespace, or, when that lacks it, from a `with` further
                // out; `needs` keeps the outer ones only.
                out.push((name, i.syntax().clone()));
            }
        }
        ast::Expr::Lambda(l) => {
            let n = bound.len();
            bound.extend(lambda_params(l));
            if let Some(ast::Param::Pattern(p)) = l.param() {
                for entry in p.pat_entries() {
                    visit(entry.default(), bound, out);
                }
            }
            visit(l.body(), bound, out);
            bound.truncate(n);
        }
        ast::Expr::LetIn(l) => {
            let n = bound.len();
            bound.extend(entry_names(l));
            entries_free(l, bound, out);
            visit(l.body(), bound, out);
            bound.truncate(n);
        }
        ast::Expr::AttrSet(set) => {
            let n = bound.len();
            if set.rec_token().is_some() {
                bound.extend(entry_names(set));
            }
            entries_free(set, bound, out);
            bound.truncate(n);
        }
        ast::Expr::With(w) => {
            visit(w.namespace(), bound, out);
            if let Some(b) = w.body() {
                free_vars(&b, bound, out);
            }
        }
        ast::Expr::Select(s) => {
            visit(s.expr(), bound, out);
            if let Some(p) = s.attrpath() {
                attrpath_free(&p, bound, out);
            }
            visit(s.default_expr(), bound, out);
        }
        ast::Expr::HasAttr(h) => {
            visit(h.expr(), bound, out);
            if let Some(p) = h.attrpath() {
                attrpath_free(&p, bound, out);
            }
        }
        _ => {
            for child in expr.syntax().children() {
                if let Some(e) = ast::Expr::cast(child.clone()) {
                    free_vars(&e, bound, out);
                } else {
                    // Interpolations, list items wrapped in other nodes.
                    for e in child.children().filter_map(ast::Expr::cast) {
                        free_vars(&e, bound, out);
                    }
                }
            }
        }
    }
}

fn entries_free<N: HasEntry>(
    node: &N,
    bound: &mut Vec<String>,
    out: &mut Vec<(String, SyntaxNode)>,
) {
    for entry in node.entries() {
        match entry {
            ast::Entry::AttrpathValue(av) => {
                if let Some(p) = av.attrpath() {
                    attrpath_free(&p, bound, out);
                }
                if let Some(v) = av.value() {
                    free_vars(&v, bound, out);
                }
            }
            ast::Entry::Inherit(inh) => match inh.from().and_then(|f| f.expr()) {
                Some(from) => free_vars(&from, bound, out),
                None => {
                    for attr in inh.attrs() {
                        if let ast::Attr::Ident(i) = &attr {
                            let name = ident_text(i);
                            // `inherit x;` in a `let` or `rec` reads x from outside.
                            out.push((name, i.syntax().clone()));
                        }
                    }
                }
            },
        }
    }
}

fn attrpath_free(
    path: &ast::Attrpath,
    bound: &mut Vec<String>,
    out: &mut Vec<(String, SyntaxNode)>,
) {
    for attr in path.attrs() {
        if let ast::Attr::Dynamic(d) = attr
            && let Some(e) = d.expr()
        {
            free_vars(&e, bound, out);
        }
    }
}

fn entry_names<N: HasEntry>(node: &N) -> Vec<String> {
    let mut names = Vec::new();
    for entry in node.entries() {
        match entry {
            ast::Entry::AttrpathValue(av) => {
                if let Some(first) = av.attrpath().and_then(|p| p.attrs().next())
                    && let Some(n) = attr_name(&first).as_static()
                {
                    names.push(n.to_string());
                }
            }
            ast::Entry::Inherit(inh) => {
                for attr in inh.attrs() {
                    if let Some(n) = attr_name(&attr).as_static() {
                        names.push(n.to_string());
                    }
                }
            }
        }
    }
    names
}

/// The node's text with every relative path literal rewritten to point at
/// the same file from `new_dir`.
pub fn rebased_text(
    file: &SourceFile,
    node: &SyntaxNode,
    new_dir: &Path,
) -> Result<String, String> {
    let dir = file.path.parent().unwrap_or(Path::new(""));
    let base = usize::from(node.text_range().start());
    let text = node.to_string();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for path in node
        .descendants()
        .filter(|n| n.kind() == SyntaxKind::NODE_PATH_REL)
    {
        if path.children().next().is_some() {
            return Err(format!(
                "the relative path `{path}` is interpolated and cannot be rebased"
            ));
        }
        let (s, e) = range_of(&path);
        let target = normalize(&dir.join(path.to_string()));
        out.push_str(&text[last..s - base]);
        out.push_str(&relative_path(new_dir, &target));
        last = e - base;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// A Nix path literal for `target` written in a file in `from_dir` (both
/// relative to the repository root): `./x`, `../../keys/a.pub`.
pub fn relative_path(from_dir: &Path, target: &Path) -> String {
    let (from_dir, target) = (normalize(from_dir), normalize(target));
    let from: Vec<Component> = from_dir.components().collect();
    let to: Vec<Component> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..from.len() {
        parts.push("..".into());
    }
    for c in &to[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        return "./.".into();
    }
    if parts[0] != ".." {
        parts.insert(0, ".".into());
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("users/alice"), Path::new("hosts/a/keys/a.pub")),
            "../../hosts/a/keys/a.pub"
        );
        assert_eq!(
            relative_path(Path::new("hosts/a"), Path::new("users/alice")),
            "../../users/alice"
        );
        assert_eq!(
            relative_path(Path::new(""), Path::new("users/bob")),
            "./users/bob"
        );
        assert_eq!(
            relative_path(Path::new("users/x"), Path::new("users/x/y.nix")),
            "./y.nix"
        );
    }

    fn lift_in(src: &str, find: &str) -> Result<Lifted, String> {
        let file = SourceFile::new("hosts/a/default.nix".into(), src.to_string());
        let root = rnix::Root::parse(src).tree();
        let start = src.find(find).unwrap();
        let node = root
            .syntax()
            .descendants()
            .find(|n| usize::from(n.text_range().start()) == start && n.to_string() == find)
            .unwrap();
        lift(&file, &node, Path::new("users/alice"))
    }

    #[test]
    fn lifts_args_bindings_and_paths() {
        let src = "{ pkgs, ... }: let keys = import ../../keys.nix; in { x = [ keys.alice ./a.pub pkgs.zsh ]; }";
        let l = lift_in(src, "[ keys.alice ./a.pub pkgs.zsh ]").unwrap();
        assert_eq!(l.text, "[ keys.alice ../../hosts/a/a.pub pkgs.zsh ]");
        assert!(l.args.contains("pkgs"));
        assert_eq!(l.bindings["keys"].1, "import ../../keys.nix");
    }

    #[test]
    fn refuses_enclosing_function_parameters() {
        let src = "{ ... }: { x = map (n: { y = n; }) [ 1 ]; }";
        assert!(lift_in(src, "{ y = n; }").is_err());
        assert!(lift_in(src, "map (n: { y = n; }) [ 1 ]").is_ok());
    }

    #[test]
    fn keeps_with_namespaces() {
        let src = "{ pkgs, ... }: with pkgs; { x = [ git ]; }";
        let l = lift_in(src, "[ git ]").unwrap();
        assert_eq!(l.withs, vec!["pkgs".to_string()]);
        assert!(l.args.contains("pkgs"));
    }
}
