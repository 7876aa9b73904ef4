//! Finding the syntax the index points at again: a module's top-level set
//! and the nodes of a user's leaves in a parsed file.

use rnix::ast;
use rnix::{Root, SyntaxKind, SyntaxNode, TextRange, TextSize};
use rowan::ast::AstNode;

use super::{Parsed, Site};
use crate::index::Leaf;
use crate::syntax::{Range, strip_parens};

/// The attribute set of a module's body: through the module function,
/// `let` and `with`.
pub fn module_top(root: &Root, inline: Option<Range>) -> Option<ast::AttrSet> {
    let mut expr = match inline {
        None => root.expr()?,
        Some(r) => find_node(root, r).and_then(ast::Expr::cast)?,
    };
    loop {
        expr = match strip_parens(expr) {
            ast::Expr::Lambda(l) => l.body()?,
            ast::Expr::LetIn(l) => l.body()?,
            ast::Expr::With(w) => w.body()?,
            ast::Expr::AttrSet(s) => return Some(s),
            _ => return None,
        };
    }
}

/// The outermost node spanning exactly `range`.
pub fn find_node(root: &Root, range: Range) -> Option<SyntaxNode> {
    Finder::new(root).find(range)
}

/// Finds nodes by range, each search starting from where the last one
/// ended: ranges looked up one after the other are mostly close together
/// (the leaves of one definition), and going down from the root every
/// time, through the many entries of a host's top set, cost more than the
/// rest of planning a user.
pub struct Finder {
    last: SyntaxNode,
}

impl Finder {
    pub fn new(root: &Root) -> Self {
        Finder {
            last: root.syntax().clone(),
        }
    }

    /// The outermost node spanning exactly `range`.
    pub fn find(&mut self, range: Range) -> Option<SyntaxNode> {
        let tr = TextRange::new(
            TextSize::from(range.0 as u32),
            TextSize::from(range.1 as u32),
        );
        let mut from = self.last.clone();
        while !from.text_range().contains_range(tr) {
            from = from.parent()?;
        }
        let start = match from.covering_element(tr) {
            rowan::NodeOrToken::Node(n) => n,
            rowan::NodeOrToken::Token(t) => t.parent()?,
        };
        let found = start
            .ancestors()
            .take_while(|n| n.text_range() == tr)
            .last()?;
        self.last = found.clone();
        Some(found)
    }
}

pub(super) fn locate<'a>(
    p: &Parsed,
    finder: &mut Finder,
    top: Option<&ast::AttrSet>,
    host: &'a str,
    leaf: &'a Leaf,
    def_blocked: Option<String>,
) -> Site<'a> {
    let mut site = Site {
        host,
        file: p.file.path.clone(),
        leaf,
        entry: p.root.syntax().clone(),
        value: p.root.syntax().clone(),
        list: None,
        blocked: def_blocked,
    };
    let Some(node) = finder.find(leaf.range) else {
        site.blocked
            .get_or_insert("its place in the file was not found".into());
        return site;
    };
    // `inherit x;`: the leaf is the name; the entry is the `inherit`.
    if let Some(inh) = node.parent().and_then(ast::Inherit::cast) {
        if inh.from().is_some() {
            site.blocked
                .get_or_insert("it is inherited from another value (`inherit (…)`)".into());
        } else if inh.attrs().count() != 1 {
            site.blocked
                .get_or_insert("it is inherited together with other names".into());
        }
        site.value = node.clone();
        site.entry = inh.syntax().clone();
    } else {
        // Up through wrappers to the binding.
        let mut value = node.clone();
        while let Some(parent) = value.parent() {
            match parent.kind() {
                SyntaxKind::NODE_PAREN | SyntaxKind::NODE_APPLY => value = parent,
                _ => break,
            }
        }
        match value.parent().and_then(ast::AttrpathValue::cast) {
            Some(av) if av.value().is_some_and(|v| v.syntax() == &value) => {
                site.entry = av.syntax().clone();
                site.value = value;
            }
            _ => {
                site.blocked.get_or_insert(
                    "it is nested in an expression (mkMerge, a function call)".into(),
                );
                return site;
            }
        }
        if let ast::Expr::List(l) =
            strip_parens(ast::Expr::cast(node).expect("value is an expression"))
        {
            site.list = Some(l);
        }
        if site.value.kind() == SyntaxKind::NODE_APPLY {
            site.list = None;
        }
    }
    // Between the binding and the module's top set: only sets and bindings.
    let top = top.map(|t| t.syntax().clone());
    let mut cur = site.entry.parent();
    while let Some(n) = cur {
        if Some(&n) == top.as_ref() {
            break;
        }
        match n.kind() {
            SyntaxKind::NODE_ATTR_SET
            | SyntaxKind::NODE_ATTRPATH_VALUE
            | SyntaxKind::NODE_PAREN => {}
            SyntaxKind::NODE_LET_IN | SyntaxKind::NODE_WITH => {}
            SyntaxKind::NODE_ROOT => {
                site.blocked
                    .get_or_insert("it is outside the module's attribute set".into());
                break;
            }
            _ => {
                site.blocked
                    .get_or_insert("it is inside a function call or list (mkIf, mkMerge)".into());
                break;
            }
        }
        cur = n.parent();
    }
    site
}
