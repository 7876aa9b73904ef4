//! The registry of module-system functions that wrap a definition without
//! changing where it goes: conditions, merges, priorities and orderings.

use rnix::ast;

use crate::syntax::{apply_chain, head_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrapperKind {
    /// `mkIf cond value`
    If,
    /// `mkMerge [ a b ]`
    Merge,
    /// `mkDefault v`, `mkForce v`, `mkOverride n v`, …
    Priority,
    /// `mkBefore v`, `mkAfter v`, `mkOrder n v`
    Order,
}

struct Known {
    name: &'static str,
    kind: WrapperKind,
    /// Arguments before the wrapped value (the condition, the priority).
    leading: usize,
    /// The priority it gives (lib/modules.nix; lower wins, a plain
    /// definition has 100); `mkOverride` takes it as its argument.
    priority: Option<u32>,
}

#[rustfmt::skip]
const KNOWN: &[Known] = &[
    Known { name: "mkIf", kind: WrapperKind::If, leading: 1, priority: None },
    Known { name: "mkMerge", kind: WrapperKind::Merge, leading: 0, priority: None },
    Known { name: "mkDefault", kind: WrapperKind::Priority, leading: 0, priority: Some(1000) },
    Known { name: "mkForce", kind: WrapperKind::Priority, leading: 0, priority: Some(50) },
    Known { name: "mkOverride", kind: WrapperKind::Priority, leading: 1, priority: None },
    Known { name: "mkOptionDefault", kind: WrapperKind::Priority, leading: 0, priority: Some(1500) },
    Known { name: "mkImageMediaOverride", kind: WrapperKind::Priority, leading: 0, priority: Some(60) },
    Known { name: "mkVMOverride", kind: WrapperKind::Priority, leading: 0, priority: Some(10) },
    Known { name: "mkBefore", kind: WrapperKind::Order, leading: 0, priority: None },
    Known { name: "mkAfter", kind: WrapperKind::Order, leading: 0, priority: None },
    Known { name: "mkOrder", kind: WrapperKind::Order, leading: 1, priority: None },
];

/// The priority the wrapper `name` gives its value; `arg` is the text of
/// `mkOverride`'s argument. `None` for wrappers that set none (or an
/// argument that is not a literal number).
pub fn priority(name: &str, arg: Option<&str>) -> Option<u32> {
    let known = KNOWN.iter().find(|k| k.name == name)?;
    match (known.priority, name) {
        (Some(p), _) => Some(p),
        (None, "mkOverride") => arg?.trim().parse().ok(),
        _ => None,
    }
}

/// A recognised wrapper application.
pub struct Wrapped {
    pub kind: WrapperKind,
    pub name: &'static str,
    /// The condition or priority argument, if the wrapper takes one.
    pub leading: Option<ast::Expr>,
    pub inner: ast::Expr,
}

pub fn recognise(expr: &ast::Expr) -> Option<Wrapped> {
    let (head, mut args) = apply_chain(expr)?;
    let name = head_name(&head)?;
    let known = KNOWN.iter().find(|k| k.name == name)?;
    if args.len() != known.leading + 1 {
        return None;
    }
    let inner = args.pop()?;
    Some(Wrapped {
        kind: known.kind,
        name: known.name,
        leading: args.pop(),
        inner,
    })
}
