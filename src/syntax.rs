//! Small, total helpers over rnix's typed syntax tree. Every function here
//! answers `None` for shapes it does not understand instead of guessing, so
//! callers can turn the unknown into a diagnostic.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rnix::ast::{self, HasEntry, InterpolPart};
use rnix::{SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;

/// A byte range in a file, as plain numbers so it outlives the tree.
pub type Range = (usize, usize);

pub fn range_of(node: &SyntaxNode) -> Range {
    let r = node.text_range();
    (usize::from(r.start()), usize::from(r.end()))
}

/// Looks through any number of parentheses.
pub fn strip_parens(mut expr: ast::Expr) -> ast::Expr {
    while let ast::Expr::Paren(p) = &expr {
        match p.expr() {
            Some(inner) => expr = inner,
            None => break,
        }
    }
    expr
}

/// One segment of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrName {
    /// `alice`, `"alice"`, `${"alice"}`: all the same name.
    Static(String),
    /// `${username}`: known only at evaluation time; holds the source text.
    Dynamic(String),
}

impl AttrName {
    pub fn as_static(&self) -> Option<&str> {
        match self {
            AttrName::Static(s) => Some(s),
            AttrName::Dynamic(_) => None,
        }
    }
}

pub fn attr_name(attr: &ast::Attr) -> AttrName {
    match attr {
        ast::Attr::Ident(i) => AttrName::Static(ident_text(i)),
        ast::Attr::Str(s) => match string_literal(s) {
            Some(v) => AttrName::Static(v),
            None => AttrName::Dynamic(attr.syntax().to_string()),
        },
        ast::Attr::Dynamic(d) => match d.expr().map(strip_parens) {
            Some(ast::Expr::Str(s)) => match string_literal(&s) {
                Some(v) => AttrName::Static(v),
                None => AttrName::Dynamic(attr.syntax().to_string()),
            },
            _ => AttrName::Dynamic(attr.syntax().to_string()),
        },
    }
}

pub fn attrpath_names(path: &ast::Attrpath) -> Vec<(AttrName, Range)> {
    path.attrs()
        .map(|a| (attr_name(&a), range_of(a.syntax())))
        .collect()
}

pub fn ident_text(ident: &ast::Ident) -> String {
    ident
        .ident_token()
        .map(|t| t.text().to_string())
        .unwrap_or_else(|| ident.syntax().to_string())
}

/// A string's parts, or `None` when rnix built a string node Nix itself
/// would reject (rnix's own accessors assert on such nodes).
pub fn string_parts(s: &ast::Str) -> Option<Vec<InterpolPart<String>>> {
    let well_formed = s.syntax().children_with_tokens().all(|c| match c {
        rowan::NodeOrToken::Token(t) => matches!(
            t.kind(),
            SyntaxKind::TOKEN_STRING_START
                | SyntaxKind::TOKEN_STRING_END
                | SyntaxKind::TOKEN_STRING_CONTENT
        ),
        rowan::NodeOrToken::Node(n) => n.kind() == SyntaxKind::NODE_INTERPOL,
    });
    well_formed.then(|| s.normalized_parts())
}

/// The value of a `"…"` string with no escape and no interpolation,
/// which is its text as written: the common case, read without building
/// [`string_parts`]'s pieces. `None` for any other string.
pub fn plain_string(s: &ast::Str) -> Option<rnix::SyntaxToken> {
    let mut children = s.syntax().children_with_tokens();
    let start = children.next()?.into_token()?;
    if start.kind() != SyntaxKind::TOKEN_STRING_START || start.text() != "\"" {
        return None;
    }
    let content = children.next()?.into_token()?;
    let end = children.next()?.into_token()?;
    let plain = content.kind() == SyntaxKind::TOKEN_STRING_CONTENT
        && end.kind() == SyntaxKind::TOKEN_STRING_END
        && children.next().is_none()
        && !content.text().contains(['\\', '"', '$']);
    plain.then_some(content)
}

/// One piece of a path literal: its text, or an interpolation.
pub enum PathPart {
    Literal(String),
    Interpolation(ast::Interpol),
}

/// A path's parts, or `None` for a path node Nix would reject (rnix
/// accepts `./x ${y}` as one path and its accessor then panics).
pub fn path_parts(node: &SyntaxNode) -> Option<Vec<PathPart>> {
    node.children_with_tokens()
        .map(|c| match c {
            rowan::NodeOrToken::Token(t) => matches!(
                t.kind(),
                SyntaxKind::TOKEN_PATH_ABS
                    | SyntaxKind::TOKEN_PATH_REL
                    | SyntaxKind::TOKEN_PATH_HOME
            )
            .then(|| PathPart::Literal(t.text().to_string())),
            rowan::NodeOrToken::Node(n) => ast::Interpol::cast(n).map(PathPart::Interpolation),
        })
        .collect()
}

/// Where a tree holds a path or string node Nix would reject although
/// rnix parsed it without error: reported as a syntax error.
pub fn malformed(text: &str, root: &SyntaxNode) -> Option<Range> {
    // Only an interpolation makes rnix build such a node; most files have
    // none, and walking every node costs a tenth of a scan.
    if !text.contains("${") {
        return None;
    }
    root.descendants().find_map(|n| {
        let bad = match n.kind() {
            SyntaxKind::NODE_PATH_ABS | SyntaxKind::NODE_PATH_REL | SyntaxKind::NODE_PATH_HOME => {
                path_parts(&n).is_none()
            }
            SyntaxKind::NODE_STRING => {
                ast::Str::cast(n.clone()).is_some_and(|s| string_parts(&s).is_none())
            }
            _ => false,
        };
        bad.then(|| range_of(&n))
    })
}

/// The value of a string without interpolations.
pub fn string_literal(s: &ast::Str) -> Option<String> {
    if s.syntax().children().next().is_some() {
        return None;
    }
    let mut out = String::new();
    for part in string_parts(s)? {
        match part {
            InterpolPart::Literal(l) => out.push_str(&l),
            InterpolPart::Interpolation(_) => return None,
        }
    }
    Some(out)
}

/// Splits `f a b c` into `f` and `[a, b, c]`.
pub fn apply_chain(expr: &ast::Expr) -> Option<(ast::Expr, Vec<ast::Expr>)> {
    let ast::Expr::Apply(mut app) = expr.clone() else {
        return None;
    };
    let mut args = Vec::new();
    loop {
        args.push(app.argument()?);
        match strip_parens(app.lambda()?) {
            ast::Expr::Apply(inner) => app = inner,
            head => {
                args.reverse();
                return Some((head, args));
            }
        }
    }
}

/// The dotted name of a function head such as `lib.mkIf` or `mkIf`, if it
/// is a plain identifier or a select with static names.
pub fn dotted_name(expr: &ast::Expr) -> Option<Vec<String>> {
    match strip_parens(expr.clone()) {
        ast::Expr::Ident(i) => Some(vec![ident_text(&i)]),
        ast::Expr::Select(s) => {
            if s.default_expr().is_some() {
                return None;
            }
            let mut names = dotted_name(&s.expr()?)?;
            for (name, _) in attrpath_names(&s.attrpath()?) {
                names.push(name.as_static()?.to_string());
            }
            Some(names)
        }
        _ => None,
    }
}

/// What a module item names: `import ./x.nix` is the module in `./x.nix`,
/// anything else is itself. (`import ./x.nix { … }` is what x.nix returns
/// when called, so it stays as it is.)
pub fn import_target(item: &ast::Expr) -> ast::Expr {
    match apply_chain(&strip_parens(item.clone())) {
        Some((head, mut args))
            if head_name(&head).as_deref() == Some("import") && args.len() == 1 =>
        {
            args.remove(0)
        }
        _ => item.clone(),
    }
}

/// A name for the flake's own `nixosModules`: `self.nixosModules…`,
/// `inputs.self.…`, `outputs.…` (the flake's outputs passed to modules, as
/// nix-starter-configs does) or, in a flake-parts module,
/// `config.flake.…`. Gives the name it starts from and what follows
/// `nixosModules` (nothing for the whole set).
pub fn own_modules_path(expr: &ast::Expr) -> Option<(String, Vec<String>)> {
    let names = dotted_name(expr)?;
    let skip = match names
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["self" | "outputs", "nixosModules", ..] => 2,
        ["inputs", "self", "nixosModules", ..] | ["config", "flake", "nixosModules", ..] => 3,
        _ => return None,
    };
    Some((names[0].clone(), names[skip..].to_vec()))
}

/// The last name of a function head: `lib.modules.mkIf` -> `mkIf`.
pub fn head_name(expr: &ast::Expr) -> Option<String> {
    dotted_name(expr).and_then(|mut v| v.pop())
}

/// Identifiers bound by a function's parameter: `{ pkgs, lib, ... } @ args`.
pub fn lambda_params(lambda: &ast::Lambda) -> Vec<String> {
    let mut out = Vec::new();
    match lambda.param() {
        Some(ast::Param::IdentParam(p)) => {
            if let Some(i) = p.ident() {
                out.push(ident_text(&i));
            }
        }
        Some(ast::Param::Pattern(p)) => {
            for e in p.pat_entries() {
                if let Some(i) = e.ident() {
                    out.push(ident_text(&i));
                }
            }
            if let Some(i) = p.pat_bind().and_then(|b| b.ident()) {
                out.push(ident_text(&i));
            }
        }
        None => {}
    }
    out
}

/// Finds the value of a static top-level key in an attribute set, looking
/// through nested paths: `get_attr(set, &["a", "b"])` finds `a.b = v`,
/// `a = { b = v; }` and `a = { b.c = 1; }` (as a partial set, `None`).
pub fn get_attr(set: &ast::AttrSet, path: &[&str]) -> Option<ast::Expr> {
    for entry in set.attrpath_values() {
        let Some(attrpath) = entry.attrpath() else {
            continue;
        };
        let names = attrpath_names(&attrpath);
        let n = names.len().min(path.len());
        if names[..n]
            .iter()
            .zip(&path[..n])
            .any(|((a, _), b)| a.as_static() != Some(*b))
        {
            continue;
        }
        if names.len() == path.len() {
            return entry.value();
        }
        if names.len() < path.len()
            && let Some(ast::Expr::AttrSet(inner)) = entry.value().map(strip_parens)
            && let Some(v) = get_attr(&inner, &path[names.len()..])
        {
            return Some(v);
        }
    }
    None
}

/// A value the discovery stage can compute without Nix: strings, paths and
/// booleans built from literals and from names bound to literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticValue {
    Str(String),
    /// An absolute, normalised path on disk.
    Path(PathBuf),
    /// `true`/`false`, so that `if` over a helper's flag can be followed
    /// (`./${if darwin then "darwin" else "nixos"}.nix`).
    Bool(bool),
}

/// Names bound to static values, e.g. a helper's `name` parameter.
pub type StaticEnv = HashMap<String, StaticValue>;

/// Evaluates path and string expressions such as `./hosts/${name}` or
/// `./machines + "/${hostname}"`, relative to `dir`.
pub fn static_value(expr: &ast::Expr, dir: &Path, env: &StaticEnv) -> Option<StaticValue> {
    match strip_parens(expr.clone()) {
        ast::Expr::Str(s) => {
            let mut out = String::new();
            for part in string_parts(&s)? {
                match part {
                    InterpolPart::Literal(l) => out.push_str(&l),
                    InterpolPart::Interpolation(i) => match static_value(&i.expr()?, dir, env)? {
                        StaticValue::Str(v) => out.push_str(&v),
                        StaticValue::Path(p) => out.push_str(&p.to_string_lossy()),
                        // Nix refuses to interpolate a boolean.
                        StaticValue::Bool(_) => return None,
                    },
                }
            }
            Some(StaticValue::Str(out))
        }
        ast::Expr::PathRel(p) => {
            let mut text = String::new();
            for part in path_parts(p.syntax())? {
                match part {
                    PathPart::Literal(l) => text.push_str(&l),
                    PathPart::Interpolation(i) => match static_value(&i.expr()?, dir, env)? {
                        StaticValue::Str(v) => text.push_str(&v),
                        StaticValue::Path(_) | StaticValue::Bool(_) => return None,
                    },
                }
            }
            Some(StaticValue::Path(normalize(&dir.join(text))))
        }
        ast::Expr::Ident(i) => {
            let name = ident_text(&i);
            env.get(&name).cloned().or(match name.as_str() {
                "true" => Some(StaticValue::Bool(true)),
                "false" => Some(StaticValue::Bool(false)),
                _ => None,
            })
        }
        // `hostPlatform.isDarwin`, where a builder's argument is known by
        // its dotted name.
        select @ ast::Expr::Select(_) => env.get(&dotted_name(&select)?.join(".")).cloned(),
        ast::Expr::IfElse(e) => match static_value(&e.condition()?, dir, env)? {
            StaticValue::Bool(true) => static_value(&e.body()?, dir, env),
            StaticValue::Bool(false) => static_value(&e.else_body()?, dir, env),
            _ => None,
        },
        ast::Expr::UnaryOp(u) if u.operator() == Some(ast::UnaryOpKind::Invert) => {
            match static_value(&u.expr()?, dir, env)? {
                StaticValue::Bool(b) => Some(StaticValue::Bool(!b)),
                _ => None,
            }
        }
        ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Concat) => None,
        ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Add) => {
            let lhs = static_value(&op.lhs()?, dir, env)?;
            let rhs = static_value(&op.rhs()?, dir, env)?;
            match (lhs, rhs) {
                (StaticValue::Str(a), StaticValue::Str(b)) => Some(StaticValue::Str(a + &b)),
                (StaticValue::Path(a), StaticValue::Str(b)) => {
                    let joined = format!("{}{}", a.to_string_lossy(), b);
                    Some(StaticValue::Path(normalize(Path::new(&joined))))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Lexically normalises `a/./b/../c` to `a/c`, as Nix does for path literals.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// True for comment tokens, used when comparing values whitespace- and
/// comment-blind.
pub fn is_trivia(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        SyntaxKind::TOKEN_WHITESPACE | SyntaxKind::TOKEN_COMMENT
    )
}

/// The first line of a node's text, shortened for messages.
pub fn short_text(node: &SyntaxNode) -> String {
    let text = node.to_string();
    let line = text.lines().next().unwrap_or("").trim();
    let mut s: String = line.chars().take(60).collect();
    if s.len() < line.len() || text.lines().nth(1).is_some() {
        s.push('…');
    }
    s
}

/// Where the comments of `text` are, in order: found by Nix's own
/// tokens, so a `#` in a string is not mistaken for one.
pub fn comment_ranges(text: &str) -> Vec<Range> {
    let mut out = Vec::new();
    let mut at = 0;
    for (kind, piece) in rnix::tokenize(text) {
        if kind == rnix::SyntaxKind::TOKEN_COMMENT {
            out.push((at, at + piece.len()));
        }
        at += piece.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_string_reads_as_its_parts_do() {
        let strings = [
            r#""a""#,
            r#""ssh-ed25519 AAAAC3Nza alice@laptop""#,
            r#""Alice Liddell ü""#,
            r#""""#,
            r#""a\nb""#,
            r#""a\"b""#,
            r#""$a""#,
            r#""a${b}c""#,
            r#""${b}""#,
            "''\n  a\n''",
            "''a''",
            "\"a\nb\"",
            "\"a\r\nb\"",
        ];
        for text in strings {
            let root = rnix::Root::parse(text).tree();
            let s = root
                .syntax()
                .descendants()
                .find_map(ast::Str::cast)
                .unwrap_or_else(|| panic!("{text}"));
            let parts = string_parts(&s);
            match plain_string(&s) {
                Some(token) => {
                    let Some([InterpolPart::Literal(l)]) = parts.as_deref() else {
                        panic!("{text}: plain, but its parts are not one literal");
                    };
                    assert_eq!(token.text(), l, "{text}");
                }
                None => {
                    let plain_expected = text.starts_with('"')
                        && text.len() > 2
                        && !text[1..text.len() - 1].contains(['\\', '"', '$']);
                    assert!(!plain_expected, "{text}: should be plain");
                }
            }
        }
    }

    #[test]
    fn booleans_and_if_are_static_where_their_condition_is() {
        let eval = |text: &str, env: &StaticEnv| {
            let root = rnix::Root::parse(text).tree();
            static_value(&root.expr().unwrap(), Path::new("/r"), env)
        };
        let mut env = StaticEnv::new();
        env.insert("darwin".into(), StaticValue::Bool(false));
        assert_eq!(
            eval(r#"./${if darwin then "darwin" else "nixos"}.nix"#, &env),
            Some(StaticValue::Path(PathBuf::from("/r/nixos.nix")))
        );
        assert_eq!(
            eval(r#"if !darwin then "a" else "b""#, &env),
            Some(StaticValue::Str("a".into()))
        );
        // A condition that is not static, and a boolean in a string, are not.
        assert_eq!(eval(r#"if wsl then "a" else "b""#, &env), None);
        assert_eq!(eval(r#""x${true}""#, &env), None);
        // A name bound in the environment wins over the builtin.
        env.insert("true".into(), StaticValue::Str("t".into()));
        assert_eq!(eval("true", &env), Some(StaticValue::Str("t".into())));
    }

    #[test]
    fn paths_nix_rejects_are_malformed_not_a_panic() {
        // rnix parses this without error; Nix says "unexpected DOLLAR_CURLY".
        let bad = "{ imports = [ ./x ${x} ]; }";
        let parse = rnix::Root::parse(bad);
        assert!(parse.errors().is_empty());
        assert!(malformed(bad, &parse.syntax()).is_some());
        let good = "{ imports = [ ./x/${y} \"a${b}\" ]; }";
        assert!(malformed(good, &rnix::Root::parse(good).syntax()).is_none());
    }
}
