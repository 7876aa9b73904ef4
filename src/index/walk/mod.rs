//! Walks one module's syntax tree the way the module system reads it and
//! records what reaches a user option. One walker serves every spelling:
//! the attribute path built so far is classified by `options::classify`,
//! wrappers are recognised by `wrappers::recognise`, and scopes are
//! tracked so values can be compared by what their names are bound to.

use std::path::{Path, PathBuf};

use rnix::ast::{self, HasEntry};
use rnix::{Root, SyntaxNode, TextRange, TextSize};
use rowan::ast::AstNode;

use super::options::{Place, Setting, Spelling, classify};
use super::wrappers::{WrapperKind, recognise};
use super::{Definition, Leaf, ModuleIndex, ModuleKey, SettingDef, UserName, Wrapper};
use crate::canon::Canonicalizer;
use crate::diagnostic::{Diagnostic, Location, codes};
use crate::fs::Fs;
use crate::scope::{Binding, Resolution, Scope};
use crate::source::SourceFile;
use crate::syntax::{
    AttrName, Range, apply_chain, attr_name, attrpath_names, get_attr, head_name, ident_text,
    lambda_params, range_of, short_text, strip_parens,
};

mod imports;
mod user;

/// Keys of a module that are not configuration.
const MODULE_META_KEYS: &[&str] = &[
    "imports",
    "options",
    "_file",
    "key",
    "disabledModules",
    "freeformType",
    "_class",
    "meta",
];

/// Bounds following `let` bindings from a user option's value, so a
/// binding that refers to itself cannot loop.
const MAX_FOLLOW: usize = 16;

/// Indexes a whole file as a module, plus the inline modules in its `imports`.
pub fn index_file(file: &SourceFile, root: &Root) -> Vec<ModuleIndex> {
    index(file, root, None)
}

/// Like [`index_file`], reading the tree `fs` where an import is computed
/// from a directory listing, so such imports are followed too.
pub fn index_file_in(file: &SourceFile, root: &Root, fs: &dyn Fs) -> Vec<ModuleIndex> {
    index(file, root, Some(fs))
}

fn index(file: &SourceFile, root: &Root, fs: Option<&dyn Fs>) -> Vec<ModuleIndex> {
    let Some(expr) = root.expr() else {
        return vec![empty(ModuleKey::file(file.path.clone()))];
    };
    Walker::run(
        file,
        ModuleKey::file(file.path.clone()),
        expr,
        Scope::root(),
        fs,
    )
}

/// Indexes a module written inline at `range` of a file (a flake's
/// `modules` entry, a colmena node), with the scope it sees there.
pub fn index_module_at(file: &SourceFile, root: &Root, range: Range) -> Vec<ModuleIndex> {
    let key = ModuleKey {
        file: file.path.clone(),
        inline: Some(range),
    };
    let text_range = TextRange::new(
        TextSize::from(range.0 as u32),
        TextSize::from(range.1 as u32),
    );
    let node = match root.syntax().covering_element(text_range) {
        rowan::NodeOrToken::Node(n) => n,
        rowan::NodeOrToken::Token(t) => match t.parent() {
            Some(p) => p,
            None => return vec![empty(key)],
        },
    };
    let Some(expr) = node
        .ancestors()
        .filter(|n| n.text_range() == text_range)
        .find_map(ast::Expr::cast)
    else {
        return vec![empty(key)];
    };
    let scope = scope_at(&node);
    Walker::run(file, key, expr, scope, None)
}

fn empty(key: ModuleKey) -> ModuleIndex {
    ModuleIndex {
        key,
        definitions: Vec::new(),
        imports: Vec::new(),
        diagnostics: Vec::new(),
        host_name: None,
        settings: Vec::new(),
        listed: Vec::new(),
    }
}

/// The lexical scope a node sees: every enclosing `let`, `rec`, function
/// and `with`, outermost first.
pub fn scope_at(node: &SyntaxNode) -> Scope {
    let mut ancestors: Vec<SyntaxNode> = node.ancestors().skip(1).collect();
    ancestors.reverse();
    let mut scope = Scope::root();
    let inside = |outer: Option<SyntaxNode>| {
        outer.is_some_and(|o| o.text_range().contains_range(node.text_range()))
    };
    for a in ancestors {
        if let Some(l) = ast::LetIn::cast(a.clone()) {
            scope = scope.with_bindings(&l);
        } else if let Some(l) = ast::Lambda::cast(a.clone()) {
            if inside(l.body().map(|b| b.syntax().clone())) {
                scope = scope.with_params(lambda_params(&l), is_module_function(&a));
            }
        } else if let Some(w) = ast::With::cast(a.clone()) {
            if inside(w.body().map(|b| b.syntax().clone()))
                && let Some(ns) = w.namespace()
            {
                scope = scope.with_namespace(ns);
            }
        } else if let Some(s) = ast::AttrSet::cast(a.clone())
            && s.rec_token().is_some()
        {
            scope = scope.with_bindings(&s);
        }
    }
    scope
}

/// A function that is a module: the whole file, or an element of an
/// `imports` or `modules` list. Its parameters are module arguments.
fn is_module_function(lambda: &SyntaxNode) -> bool {
    let mut up = lambda.parent();
    while let Some(p) = &up {
        if p.kind() == rnix::SyntaxKind::NODE_PAREN {
            up = p.parent();
        } else {
            break;
        }
    }
    match up {
        Some(p) if p.kind() == rnix::SyntaxKind::NODE_ROOT => true,
        Some(p) if p.kind() == rnix::SyntaxKind::NODE_LIST => p
            .parent()
            .and_then(ast::AttrpathValue::cast)
            .and_then(|av| av.attrpath())
            .and_then(|path| path.attrs().last())
            .is_some_and(|last| {
                matches!(attr_name(&last).as_static(), Some("imports" | "modules"))
            }),
        _ => false,
    }
}

struct Walker<'a> {
    file: &'a SourceFile,
    /// The file's directory, relative to the repository root.
    dir: PathBuf,
    canon: Canonicalizer<'a>,
    out: ModuleIndex,
    /// Inline modules found in `imports`, indexed after this one.
    inline: Vec<(ast::Expr, Scope)>,
    /// The outermost binding being walked: where findings about a value
    /// computed deep inside it are reported.
    entry: Option<SyntaxNode>,
    /// The tree, for imports computed from a directory listing.
    fs: Option<&'a dyn Fs>,
}

/// An attribute path as walked so far, with each segment's range.
type AttrPath = Vec<(AttrName, Range)>;

impl<'a> Walker<'a> {
    fn run(
        file: &'a SourceFile,
        key: ModuleKey,
        expr: ast::Expr,
        scope: Scope,
        fs: Option<&'a dyn Fs>,
    ) -> Vec<ModuleIndex> {
        let mut results = Vec::new();
        let mut queue = vec![(key, expr, scope)];
        while let Some((key, expr, scope)) = queue.pop() {
            let dir = file
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let mut w = Walker {
                file,
                canon: Canonicalizer::new(file.path.parent().unwrap_or(Path::new(""))),
                dir,
                out: empty(key),
                inline: Vec::new(),
                entry: None,
                fs,
            };
            w.module(expr, scope);
            for (e, s) in std::mem::take(&mut w.inline) {
                let k = ModuleKey {
                    file: file.path.clone(),
                    inline: Some(range_of(e.syntax())),
                };
                queue.push((k, e, s));
            }
            results.push(w.out);
        }
        results
    }

    fn loc(&self, node: &SyntaxNode) -> Location {
        Location::new(self.file, range_of(node))
    }

    fn diag(&mut self, d: Diagnostic, node: &SyntaxNode) {
        let loc = self.loc(node);
        self.out.diagnostics.push(d.at(loc));
    }

    // ---- module structure -------------------------------------------------

    fn module(&mut self, expr: ast::Expr, scope: Scope) {
        match strip_parens(expr) {
            ast::Expr::Lambda(l) => {
                let inner = scope.with_params(lambda_params(&l), true);
                if let Some(body) = l.body() {
                    self.module(body, inner);
                }
            }
            ast::Expr::LetIn(l) => {
                let inner = scope.with_bindings(&l);
                if let Some(body) = l.body() {
                    self.module(body, inner);
                }
            }
            ast::Expr::With(w) => {
                let inner = match w.namespace() {
                    Some(ns) => scope.with_namespace(ns),
                    None => scope,
                };
                if let Some(body) = w.body() {
                    self.module(body, inner);
                }
            }
            ast::Expr::AttrSet(set) => self.module_set(&set, scope),
            other => {
                // A module that is itself a wrapper (`lib.mkIf c { … }`) is
                // configuration all the way down; anything else is opaque.
                if recognise(&other).is_some() {
                    self.walk_above(&[], other, scope, &[], 0);
                } else {
                    self.diag(
                        Diagnostic::warning(
                            codes::UNSUPPORTED_USERS_VALUE,
                            "this module is not an attribute set or a function returning one; users it defines cannot be seen",
                        )
                        .help("write the module as `{ … }: { … }`, or pass the real module with --host NAME=PATH"),
                        other.syntax(),
                    );
                }
            }
        }
    }

    fn module_set(&mut self, set: &ast::AttrSet, scope: Scope) {
        let scope = if set.rec_token().is_some() {
            scope.with_bindings(set)
        } else {
            scope
        };
        // A module with `config` or `options` keeps its configuration under
        // `config`; otherwise the whole set is configuration.
        let explicit = set
            .attrpath_values()
            .any(|av| first_static(&av).is_some_and(|n| n == "config" || n == "options"));
        for entry in set.entries() {
            match entry {
                ast::Entry::AttrpathValue(av) => {
                    let (Some(path), Some(value)) = (av.attrpath(), av.value()) else {
                        continue;
                    };
                    let names = attrpath_names(&path);
                    let first = names[0].0.as_static().unwrap_or("");
                    if first == "imports" && names.len() == 1 {
                        self.imports(value, &scope, false, 0);
                    } else if MODULE_META_KEYS.contains(&first) {
                    } else if explicit {
                        if first == "config" {
                            self.walk_entry(&[], &names[1..], value, av.syntax(), &scope, &[]);
                        }
                    } else {
                        self.walk_entry(&[], &names, value, av.syntax(), &scope, &[]);
                    }
                }
                ast::Entry::Inherit(inh) => {
                    if !explicit {
                        self.walk_inherit(&[], &inh, &scope, &[]);
                    }
                }
            }
        }
        let host_name = get_attr(set, &["networking", "hostName"])
            .or_else(|| get_attr(set, &["config", "networking", "hostName"]));
        if let Some(ast::Expr::Str(s)) = host_name.map(strip_parens) {
            self.out.host_name = crate::syntax::string_literal(&s);
        }
    }

    // ---- configuration above the users -------------------------------------

    /// An entry `names = value;` found under the attribute path `prefix`.
    fn walk_entry(
        &mut self,
        prefix: &[(AttrName, Range)],
        names: &[(AttrName, Range)],
        value: ast::Expr,
        entry: &SyntaxNode,
        scope: &Scope,
        wrappers: &[Wrapper],
    ) {
        let full: AttrPath = prefix.iter().chain(names).cloned().collect();
        let plain: Vec<AttrName> = full.iter().map(|(n, _)| n.clone()).collect();
        match classify(&plain) {
            Place::Elsewhere => {
                if let Some(setting) = super::options::setting(&plain) {
                    self.setting(setting, value, entry, wrappers);
                }
            }
            Place::Unknown => self.diag(
                Diagnostic::warning(
                    codes::UNSUPPORTED_USERS_VALUE,
                    "a computed attribute name where a user option may be; users defined here cannot be seen",
                )
                .help("write the option path with literal names"),
                entry,
            ),
            Place::Above { .. } => {
                let outer = self.entry.is_none();
                if outer {
                    self.entry = Some(entry.clone());
                }
                self.walk_above(&full, value, scope.clone(), wrappers, 0);
                if outer {
                    self.entry = None;
                }
            }
            Place::User {
                spelling,
                name_at,
                name,
            } => {
                let user = match name {
                    AttrName::Static(s) => UserName::Static(s.clone()),
                    AttrName::Dynamic(t) => {
                        self.diag(
                            Diagnostic::warning(
                                codes::DYNAMIC_USER_NAME,
                                format!("user name `{t}` is computed; this definition is reported as dynamic and never moved"),
                            )
                            .help("write the user name literally to let clan-migrate share it"),
                            entry,
                        );
                        UserName::Computed(t.clone())
                    }
                };
                let sub_path: Vec<String> = plain[name_at + 1..].iter().map(segment_text).collect();
                let mut def = Definition {
                    option: spelling.option,
                    spelling: spelling.path,
                    user,
                    location: self.loc(entry),
                    range: range_of(entry),
                    wrappers: wrappers.to_vec(),
                    leaves: Vec::new(),
                };
                let mut leaves = Vec::new();
                self.walk_user(spelling.option, value, sub_path, scope.clone(), Vec::new(), &mut leaves, 0);
                // Kept for the whole run: without the room it grew into.
                leaves.shrink_to_fit();
                def.leaves = leaves;
                self.out.definitions.push(def);
            }
        }
    }

    fn walk_inherit(
        &mut self,
        prefix: &[(AttrName, Range)],
        inh: &ast::Inherit,
        scope: &Scope,
        wrappers: &[Wrapper],
    ) {
        for attr in inh.attrs() {
            let name = attr_name(&attr);
            let mut plain: Vec<AttrName> = prefix.iter().map(|(n, _)| n.clone()).collect();
            plain.push(name.clone());
            match classify(&plain) {
                Place::User {
                    spelling,
                    name: AttrName::Static(user),
                    ..
                } => {
                    let value = self.inherit_canon(inh, user, scope);
                    self.out.definitions.push(Definition {
                        option: spelling.option,
                        spelling: spelling.path,
                        user: UserName::Static(user.clone()),
                        location: self.loc(inh.syntax()),
                        range: range_of(inh.syntax()),
                        wrappers: wrappers.to_vec(),
                        leaves: vec![Leaf {
                            path: Box::default(),
                            value,
                            elements: None,
                            wrappers: Box::default(),
                            range: range_of(attr.syntax()),
                        }],
                    });
                }
                Place::Above { .. } => {
                    self.generated(prefix_spelling(&plain), inh.syntax(), wrappers)
                }
                _ => {}
            }
        }
    }

    /// A value at a prefix of the user options (`users`, `users.users`, or
    /// the configuration root): look inside for user definitions.
    fn walk_above(
        &mut self,
        path: &[(AttrName, Range)],
        value: ast::Expr,
        scope: Scope,
        wrappers: &[Wrapper],
        depth: usize,
    ) {
        let value = strip_parens(value);
        match &value {
            ast::Expr::AttrSet(set) => {
                let scope = if set.rec_token().is_some() {
                    scope.with_bindings(set)
                } else {
                    scope
                };
                for entry in set.entries() {
                    match entry {
                        ast::Entry::AttrpathValue(av) => {
                            if let (Some(p), Some(v)) = (av.attrpath(), av.value()) {
                                let names = attrpath_names(&p);
                                self.walk_entry(path, &names, v, av.syntax(), &scope, wrappers);
                            }
                        }
                        ast::Entry::Inherit(inh) => self.walk_inherit(path, &inh, &scope, wrappers),
                    }
                }
                return;
            }
            ast::Expr::LetIn(l) => {
                if let Some(b) = l.body() {
                    self.walk_above(path, b, scope.with_bindings(l), wrappers, depth + 1);
                }
                return;
            }
            ast::Expr::With(w) => {
                if let (Some(ns), Some(b)) = (w.namespace(), w.body()) {
                    self.walk_above(path, b, scope.with_namespace(ns), wrappers, depth + 1);
                }
                return;
            }
            ast::Expr::IfElse(i) => {
                let cond = i
                    .condition()
                    .map(|c| self.canon.canon(&c, &scope))
                    .unwrap_or_default();
                for (branch, c) in [
                    (i.body(), cond.clone()),
                    (i.else_body(), format!("not({cond})")),
                ] {
                    if let Some(b) = branch {
                        let mut w = wrappers.to_vec();
                        w.push(Wrapper::If(c));
                        self.walk_above(path, b, scope.clone(), &w, depth + 1);
                    }
                }
                return;
            }
            ast::Expr::Ident(i) if depth < MAX_FOLLOW => {
                if let Resolution::Binding {
                    binding: Binding::Expr(e),
                    scope,
                } = scope.resolve(&ident_text(i))
                {
                    self.walk_above(path, e, scope, wrappers, depth + 1);
                    return;
                }
            }
            _ => {}
        }
        if let Some(w) = recognise(&value) {
            if let Some(ws) = self.wrap(&w, &scope, wrappers) {
                self.walk_above(path, w.inner, scope, &ws, depth + 1);
                return;
            }
            if let ast::Expr::List(list) = strip_parens(w.inner.clone()) {
                for item in list.items() {
                    self.walk_above(path, item, scope.clone(), wrappers, depth + 1);
                }
                return;
            }
        }
        let plain: Vec<AttrName> = path.iter().map(|(n, _)| n.clone()).collect();
        if path.is_empty() {
            self.diag(
                Diagnostic::warning(
                    codes::UNSUPPORTED_USERS_VALUE,
                    format!(
                        "configuration computed by `{}`; users defined in it cannot be seen",
                        short_text(value.syntax())
                    ),
                )
                .help("write the configuration as an attribute set"),
                value.syntax(),
            );
            return;
        }
        self.generated(prefix_spelling(&plain), value.syntax(), wrappers);
    }

    /// `setting = value;`: its value without wrappers, its priority and
    /// whether a condition guards it (here or around an enclosing set).
    fn setting(
        &mut self,
        setting: Setting,
        value: ast::Expr,
        entry: &SyntaxNode,
        wrappers: &[Wrapper],
    ) {
        let mut conditional = wrappers.iter().any(|w| matches!(w, Wrapper::If(_)));
        // The innermost priority wins; outer ones count when there is none.
        let mut priority = wrappers.iter().rev().find_map(|w| match w {
            Wrapper::Priority(p) => {
                let (name, arg) = p.split_once(' ').unwrap_or((p, ""));
                let arg = arg.trim_start_matches("lit:");
                match name {
                    // Its argument may not be a literal: a priority all the same.
                    "mkOverride" => Some(super::wrappers::priority(name, Some(arg))),
                    // Orderings (`mkAfter`) set none.
                    _ => super::wrappers::priority(name, None).map(Some),
                }
            }
            Wrapper::If(_) => None,
        });
        let mut value = strip_parens(value);
        while let Some(w) = recognise(&value) {
            match w.kind {
                WrapperKind::If => conditional = true,
                WrapperKind::Priority => {
                    let arg = w.leading.as_ref().map(|a| a.syntax().to_string());
                    priority = Some(super::wrappers::priority(w.name, arg.as_deref()));
                }
                WrapperKind::Order | WrapperKind::Merge => break,
            }
            value = strip_parens(w.inner);
        }
        if let ast::Expr::IfElse(_) = value {
            conditional = true;
        }
        let location = self.loc(entry);
        self.out.settings.push(SettingDef {
            setting,
            value: value
                .syntax()
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            priority: priority.unwrap_or(Some(100)),
            conditional,
            location,
        });
    }

    /// A whole set of users built by an expression (`genAttrs`, `mapAttrs`,
    /// `listToAttrs`, `import`): reported, never guessed.
    fn generated(&mut self, spelling: &'static Spelling, node: &SyntaxNode, wrappers: &[Wrapper]) {
        let head = ast::Expr::cast(node.clone())
            .and_then(|e| apply_chain(&e))
            .and_then(|(h, _)| head_name(&h));
        let (what, name) = match &head {
            Some(h) => (format!("`{h}`"), format!("({h} …)")),
            None => (
                "an expression".to_string(),
                format!("({} …)", short_text(node)),
            ),
        };
        let at = self.entry.clone().unwrap_or_else(|| node.clone());
        self.diag(
            Diagnostic::warning(
                codes::GENERATED_USERS,
                format!("`{}` is built by {what}; the users it makes are reported as dynamic and never moved", spelling.path.join(".")),
            )
            .help("define each shared user literally (`users.users.alice = { … };`) to let clan-migrate move it"),
            &at,
        );
        let loc = self.loc(&at);
        self.out.definitions.push(Definition {
            option: spelling.option,
            spelling: spelling.path,
            user: UserName::Generated(name),
            location: loc,
            range: range_of(node),
            wrappers: wrappers.to_vec(),
            leaves: Vec::new(),
        });
    }

    /// The wrapper list extended by `w`, or `None` for `mkMerge`, whose
    /// list the caller walks element by element.
    fn wrap(
        &self,
        w: &super::wrappers::Wrapped,
        scope: &Scope,
        outer: &[Wrapper],
    ) -> Option<Vec<Wrapper>> {
        let mut ws = outer.to_vec();
        match w.kind {
            WrapperKind::Merge => return None,
            WrapperKind::If => {
                let cond = w
                    .leading
                    .as_ref()
                    .map(|c| self.canon.canon(c, scope))
                    .unwrap_or_default();
                ws.push(Wrapper::If(cond));
            }
            WrapperKind::Priority | WrapperKind::Order => {
                let arg = w
                    .leading
                    .as_ref()
                    .map(|c| format!(" {}", self.canon.canon(c, scope)))
                    .unwrap_or_default();
                ws.push(Wrapper::Priority(format!("{}{arg}", w.name)));
            }
        }
        Some(ws)
    }
}

fn first_static(av: &ast::AttrpathValue) -> Option<String> {
    let attr = av.attrpath()?.attrs().next()?;
    attr_name(&attr).as_static().map(str::to_string)
}

/// The spelling a prefix path belongs to (for messages about whole sets).
fn prefix_spelling(path: &[AttrName]) -> &'static Spelling {
    let names: Vec<&str> = path.iter().filter_map(|n| n.as_static()).collect();
    super::options::SPELLINGS
        .iter()
        .find(|s| s.path.starts_with(&names))
        .unwrap_or(&super::options::SPELLINGS[0])
}

fn segment_text(name: &AttrName) -> String {
    match name {
        AttrName::Static(s) => s.clone(),
        AttrName::Dynamic(t) => t.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::index::Setting;
    use crate::source::SourceFile;

    /// `(value, priority, conditional, line)` of every `users.mutableUsers`.
    fn mutable(text: &str) -> Vec<(String, Option<u32>, bool, u32)> {
        let f = SourceFile::new(PathBuf::from("m.nix"), text.to_string());
        let root = rnix::Root::parse(&f.text).tree();
        super::index_file(&f, &root)
            .iter()
            .flat_map(|m| m.settings.clone())
            .filter(|s| s.setting == Setting::MutableUsers)
            .map(|s| (s.value, s.priority, s.conditional, s.location.start.line))
            .collect()
    }

    fn plain(value: &str, line: u32) -> (String, Option<u32>, bool, u32) {
        (value.to_string(), Some(100), false, line)
    }

    #[test]
    fn mutable_users_in_every_spelling() {
        assert_eq!(
            mutable("{ users.mutableUsers = true; }"),
            [plain("true", 1)]
        );
        assert_eq!(
            mutable("{ lib, ... }:\n{\n  users = {\n    mutableUsers = false;\n  };\n}"),
            [plain("false", 4)]
        );
        assert_eq!(
            mutable(
                "{\n  options.my.x = 1;\n  config = {\n    users.mutableUsers = true;\n  };\n}"
            ),
            [plain("true", 4)]
        );
        assert_eq!(
            mutable("{ config = { users = { mutableUsers = true; }; }; }"),
            [plain("true", 1)]
        );
        assert_eq!(
            mutable("{ lib, ... }: { users.mutableUsers = lib.mkForce true; }"),
            [("true".into(), Some(50), false, 1)]
        );
        assert_eq!(
            mutable("{ lib, ... }: { users = { mutableUsers = (lib.mkDefault true); }; }"),
            [("true".into(), Some(1000), false, 1)]
        );
        assert_eq!(
            mutable("{ lib, ... }: { users.mutableUsers = lib.mkOverride 900 true; }"),
            [("true".into(), Some(900), false, 1)]
        );
        assert_eq!(
            mutable("{ lib, c, ... }: { users.mutableUsers = lib.mkIf c true; }"),
            [("true".into(), Some(100), true, 1)]
        );
        // Wrappers around the enclosing set count too.
        assert_eq!(
            mutable(
                "{ lib, c, ... }: lib.mkIf c { users = lib.mkForce { mutableUsers = true; }; }"
            ),
            [("true".into(), Some(50), true, 1)]
        );
        assert_eq!(
            mutable("{ lib, ... }: { config = lib.mkMerge [ { users.mutableUsers = false; } ]; }"),
            [plain("false", 1)]
        );
        assert_eq!(
            mutable("{ c, ... }: { users.mutableUsers = c.mutable; }"),
            [plain("c.mutable", 1)]
        );
    }

    #[test]
    fn what_is_not_mutable_users() {
        assert!(mutable("{ services.x.users.mutableUsers = true; }").is_empty());
        assert!(mutable("{ users.users.mutableUsers = { isNormalUser = true; }; }").is_empty());
        assert!(mutable("{\n  # users.mutableUsers = true;\n}").is_empty());
        assert!(mutable("{ options.users.mutableUsers = 1; config = { }; }").is_empty());
        assert!(mutable("{ my.users.mutableUsers = true; }").is_empty());
    }
}
