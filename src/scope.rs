//! Lexical scopes of a Nix file, enough to say what a free name in a value
//! is bound to: a `let` or `rec` binding, a function parameter (the module
//! arguments among them), a `with` namespace, or a builtin.

use std::collections::HashMap;
use std::rc::Rc;

use rnix::ast::{self, HasEntry};

use crate::syntax::attr_name;

#[derive(Debug, Clone)]
pub enum Binding {
    /// `name = expr;`
    Expr(ast::Expr),
    /// `inherit (from) name;`
    InheritFrom(ast::Expr, String),
    /// `inherit name;`: the same name one scope further out.
    Inherit(String),
    /// `name.sub = expr;` in a `let`: a set built from paths. Kept opaque.
    Partial,
}

#[derive(Debug)]
enum Frame {
    Bindings(HashMap<String, Binding>),
    Params {
        names: Vec<String>,
        module_args: bool,
    },
    With(ast::Expr),
}

/// An immutable chain of frames; pushing a frame is cheap and shares the rest.
#[derive(Debug, Clone, Default)]
pub struct Scope(Option<Rc<Node>>);

#[derive(Debug)]
struct Node {
    frame: Frame,
    parent: Scope,
}

/// What a name resolves to.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Bound by a `let` or `rec`; evaluate the binding in `scope`.
    Binding { binding: Binding, scope: Scope },
    /// A parameter of the module function (`pkgs`, `lib`, `config`, …).
    ModuleArg,
    /// A parameter of some inner function.
    Param,
    /// Not bound lexically, but `with` namespaces are in scope (innermost
    /// first), so Nix looks it up there, then among builtins.
    With(Vec<(ast::Expr, Scope)>),
    /// Not bound at all: a builtin such as `true`, `import` or `builtins`.
    Global,
}

impl Scope {
    pub fn root() -> Self {
        Scope(None)
    }

    fn push(&self, frame: Frame) -> Self {
        Scope(Some(Rc::new(Node {
            frame,
            parent: self.clone(),
        })))
    }

    /// The scope inside `let … in` or a `rec { … }`: both see their own bindings.
    pub fn with_bindings<N: HasEntry>(&self, node: &N) -> Self {
        self.push(Frame::Bindings(collect_bindings(node)))
    }

    pub fn with_params(&self, names: Vec<String>, module_args: bool) -> Self {
        self.push(Frame::Params { names, module_args })
    }

    pub fn with_namespace(&self, namespace: ast::Expr) -> Self {
        self.push(Frame::With(namespace))
    }

    pub fn parent(&self) -> Scope {
        self.0
            .as_ref()
            .map(|n| n.parent.clone())
            .unwrap_or_default()
    }

    pub fn resolve(&self, name: &str) -> Resolution {
        let mut withs = Vec::new();
        let mut cur = self.clone();
        while let Some(node) = cur.0.clone() {
            match &node.frame {
                Frame::Bindings(map) => {
                    if let Some(b) = map.get(name) {
                        return Resolution::Binding {
                            binding: b.clone(),
                            scope: cur,
                        };
                    }
                }
                Frame::Params { names, module_args } => {
                    if names.iter().any(|n| n == name) {
                        return if *module_args {
                            Resolution::ModuleArg
                        } else {
                            Resolution::Param
                        };
                    }
                }
                Frame::With(ns) => withs.push((ns.clone(), node.parent.clone())),
            }
            cur = node.parent.clone();
        }
        // Nix's base environment is lexical: `true` or `map` under
        // `with lib;` are the builtins, whatever the namespace holds.
        if withs.is_empty() || is_base_env(name) {
            Resolution::Global
        } else {
            Resolution::With(withs)
        }
    }
}

/// Names Nix binds in the base environment, which no `with` can shadow.
fn is_base_env(name: &str) -> bool {
    const BASE: &[&str] = &[
        "true",
        "false",
        "null",
        "builtins",
        "import",
        "map",
        "toString",
        "throw",
        "abort",
        "baseNameOf",
        "dirOf",
        "derivation",
        "derivationStrict",
        "fetchGit",
        "fetchMercurial",
        "fetchTarball",
        "fetchTree",
        "fetchurl",
        "fromTOML",
        "isNull",
        "placeholder",
        "removeAttrs",
        "scopedImport",
    ];
    name.starts_with("__") || BASE.contains(&name)
}

fn collect_bindings<N: HasEntry>(node: &N) -> HashMap<String, Binding> {
    let mut map = HashMap::new();
    for entry in node.entries() {
        match entry {
            ast::Entry::AttrpathValue(av) => {
                let Some(path) = av.attrpath() else { continue };
                let mut attrs = path.attrs();
                let Some(first) = attrs.next() else { continue };
                let Some(name) = attr_name(&first).as_static().map(str::to_string) else {
                    continue;
                };
                let binding = match (attrs.next(), av.value()) {
                    (None, Some(v)) => Binding::Expr(v),
                    _ => Binding::Partial,
                };
                map.insert(name, binding);
            }
            ast::Entry::Inherit(inh) => {
                let from = inh.from().and_then(|f| f.expr());
                for attr in inh.attrs() {
                    let Some(name) = attr_name(&attr).as_static().map(str::to_string) else {
                        continue;
                    };
                    let binding = match &from {
                        Some(f) => Binding::InheritFrom(f.clone(), name.clone()),
                        None => Binding::Inherit(name.clone()),
                    };
                    map.insert(name, binding);
                }
            }
        }
    }
    map
}
