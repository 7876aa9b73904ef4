//! What a host file needs once a user's common part has left it: the
//! containers and `let` bindings left empty or unused, and the import of
//! the new module.

use rnix::ast::{self, HasEntry};
use rnix::{Root, SyntaxKind};
use rowan::ast::AstNode;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::Finder;
use crate::index::walk_scope_at;
use crate::plan::edit::{Splice, comments_in, indent_at};
use crate::scope::{Binding, Resolution};
use crate::syntax::{Range, ident_text, range_of, strip_parens};

/// Node ranges to delete: the given ones, plus every set (and the binding
/// holding it) that they leave empty; a list left empty takes its binding
/// with it. `stop(r)`: do not look above binding `r`; `allow(r, deleted)`:
/// whether binding `r` may go, given what is deleted already.
pub fn cascade(
    root: &Root,
    ranges: &[Range],
    stop: &dyn Fn(Range) -> bool,
    allow: &dyn Fn(Range, &HashSet<Range>) -> bool,
) -> Vec<Range> {
    let mut deleted: HashSet<Range> = ranges.iter().copied().collect();
    let mut queue: Vec<Range> = ranges.iter().copied().filter(|r| !stop(*r)).collect();
    let mut finder = Finder::new(root);
    while let Some(r) = queue.pop() {
        let Some(node) = finder.find(r) else {
            continue;
        };
        let Some(parent) = node.parent() else {
            continue;
        };
        let container = match parent.kind() {
            SyntaxKind::NODE_ATTR_SET | SyntaxKind::NODE_LIST => parent,
            _ => continue,
        };
        // Stops at the first member that stays: a host's top set has many.
        let emptied = container
            .children()
            .filter(|c| {
                matches!(
                    c.kind(),
                    SyntaxKind::NODE_ATTRPATH_VALUE | SyntaxKind::NODE_INHERIT
                ) || container.kind() == SyntaxKind::NODE_LIST
            })
            .all(|m| deleted.contains(&range_of(&m)));
        if !emptied {
            continue;
        }
        // Up through parentheses, and through `with x;` and `let … in`
        // whose body it is: they mean nothing once the set is gone.
        let mut holder = container.clone();
        while let Some(p) = holder.parent() {
            let is_body = match p.kind() {
                SyntaxKind::NODE_PAREN => true,
                SyntaxKind::NODE_WITH => ast::With::cast(p.clone())
                    .and_then(|w| w.body())
                    .is_some_and(|b| b.syntax() == &holder),
                SyntaxKind::NODE_LET_IN => ast::LetIn::cast(p.clone())
                    .and_then(|l| l.body())
                    .is_some_and(|b| b.syntax() == &holder),
                _ => false,
            };
            if is_body {
                holder = p;
            } else {
                break;
            }
        }
        if let Some(av) = holder.parent().and_then(ast::AttrpathValue::cast)
            && av.value().is_some_and(|v| v.syntax() == &holder)
        {
            let ar = range_of(av.syntax());
            if !deleted.contains(&ar) && allow(ar, &deleted) {
                deleted.insert(ar);
                if !stop(ar) {
                    queue.push(ar);
                }
            }
        }
    }
    let mut out: Vec<Range> = deleted.into_iter().collect();
    out.sort();
    out
}

/// `let` bindings used only by deleted code, removed with it (to a
/// fixpoint: a removed binding may have been the last user of another).
pub fn unused_bindings(root: &Root, text: &str, deleted: &[Range]) -> Vec<Range> {
    // Without the keyword there is no `let`, and no need to walk the tree
    // to find that out (most host files).
    if !text.contains("let") {
        return Vec::new();
    }
    let inside = |r: Range, del: &[Range]| del.iter().any(|d| d.0 <= r.0 && r.1 <= d.1);
    // Only names some `let` binds can resolve to a `let` binding.
    let let_names: HashSet<String> = root
        .syntax()
        .descendants()
        .filter_map(ast::LetIn::cast)
        .flat_map(|l| {
            l.attrpath_values()
                .filter_map(|av| av.attrpath()?.attrs().next())
                .filter_map(|a| crate::syntax::attr_name(&a).as_static().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect();
    if let_names.is_empty() {
        return Vec::new();
    }
    let mut del: Vec<Range> = deleted.to_vec();
    let mut extra = Vec::new();
    loop {
        let mut uses: HashMap<Range, (usize, usize)> = HashMap::default();
        for ident in root.syntax().descendants().filter_map(ast::Ident::cast) {
            let parent = ident.syntax().parent().map(|p| p.kind());
            if matches!(
                parent,
                Some(
                    SyntaxKind::NODE_ATTRPATH
                        | SyntaxKind::NODE_PAT_ENTRY
                        | SyntaxKind::NODE_IDENT_PARAM
                        | SyntaxKind::NODE_PAT_BIND
                )
            ) {
                continue;
            }
            let name = ident_text(&ident);
            if !let_names.contains(&name) {
                continue;
            }
            if let Resolution::Binding {
                binding: Binding::Expr(value),
                ..
            } = walk_scope_at(ident.syntax()).resolve(&name)
            {
                let Some(av) = value
                    .syntax()
                    .parent()
                    .filter(|p| p.kind() == SyntaxKind::NODE_ATTRPATH_VALUE)
                else {
                    continue;
                };
                if av.parent().map(|p| p.kind()) != Some(SyntaxKind::NODE_LET_IN) {
                    continue;
                }
                let e = uses.entry(range_of(&av)).or_default();
                if inside(range_of(ident.syntax()), &del) {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
        let newly: Vec<Range> = uses
            .into_iter()
            .filter(|(r, (i, o))| *i > 0 && *o == 0 && !inside(*r, &del))
            .map(|(r, _)| r)
            .collect();
        if newly.is_empty() {
            break;
        }
        del.extend(&newly);
        extra.extend(newly);
    }
    // A `let` with no bindings left goes too: from `let` to its body.
    for l in root.syntax().descendants().filter_map(ast::LetIn::cast) {
        let all_gone = l.entries().count() > 0
            && l.entries().all(|e| {
                del.contains(&range_of(e.syntax())) || extra.contains(&range_of(e.syntax()))
            });
        if all_gone && let (Some(let_tok), Some(body)) = (l.let_token(), l.body()) {
            extra.push((
                usize::from(let_tok.text_range().start()),
                usize::from(body.syntax().text_range().start()),
            ));
        }
    }
    extra
}

pub fn comments_in_outside(
    text: &str,
    comments: &[Range],
    r: Range,
    lifted: &[Range],
) -> Vec<String> {
    // Comments inside a lifted value travel with its text already.
    let mut out = Vec::new();
    let mut pieces = vec![r];
    for l in lifted {
        pieces = pieces
            .into_iter()
            .flat_map(|(s, e)| {
                if l.1 <= s || l.0 >= e {
                    vec![(s, e)]
                } else {
                    vec![(s, l.0.max(s)), (l.1.min(e), e)]
                }
            })
            .filter(|(s, e)| s < e)
            .collect();
    }
    for p in pieces {
        out.extend(comments_in(text, comments, p));
    }
    out
}

/// The splice adding `imports` to a module set's `imports` list (created
/// when missing), in the style of the surrounding code.
pub fn import_splice(text: &str, top: &ast::AttrSet, imports: &[String]) -> Result<Splice, String> {
    // New lines end the way the file's lines end.
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    for av in top.attrpath_values() {
        let names: Vec<String> = av
            .attrpath()
            .map(|p| p.attrs().map(|a| a.syntax().to_string()).collect())
            .unwrap_or_default();
        if names != ["imports"] {
            continue;
        }
        let mut value = av.value().map(strip_parens);
        while let Some(ast::Expr::BinOp(op)) = &value {
            value = op.lhs().map(strip_parens);
        }
        let Some(ast::Expr::List(list)) = value else {
            return Err("its `imports` is not a list the import can be added to".into());
        };
        let close = list.r_brack_token().ok_or("unclosed imports list")?;
        let at = usize::from(close.text_range().start());
        let list_text = list.syntax().to_string();
        if list_text.contains('\n') {
            let ls = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
            if text[ls..at].trim().is_empty() {
                let indent = list
                    .items()
                    .last()
                    .map(|i| indent_at(text, usize::from(i.syntax().text_range().start())))
                    .unwrap_or_else(|| format!("{}  ", &text[ls..at]));
                let lines: String = imports.iter().map(|i| format!("{indent}{i}{nl}")).collect();
                return Ok(Splice::insert(ls, lines));
            }
            return Ok(Splice::insert(at, format!(" {} ", imports.join(" "))));
        }
        let before_space = text[..at].ends_with(' ');
        let joined = imports.join(" ");
        return Ok(Splice::insert(
            at,
            if before_space {
                format!("{joined} ")
            } else {
                format!(" {joined} ")
            },
        ));
    }
    let open = top.l_curly_token().ok_or("module set without `{`")?;
    let at = usize::from(open.text_range().end());
    let indent = top
        .entries()
        .next()
        .map(|e| indent_at(text, usize::from(e.syntax().text_range().start())))
        .unwrap_or_else(|| "  ".into());
    let list = match imports {
        [one] => format!("[ {one} ]"),
        many => {
            let items: String = many.iter().map(|i| format!("{indent}  {i}{nl}")).collect();
            format!("[{nl}{items}{indent}]")
        }
    };
    Ok(Splice::insert(at, format!("{nl}{indent}imports = {list};")))
}
