//! Lifting: printing a user's common attributes (whole bindings or the
//! common elements of a list) for the new shared module, with the comments
//! that belong to them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use edit::{comments_in, deletion, indent_at};
use extract::{Lifted, lift};
use rnix::ast;
use rnix::{Root, SyntaxKind, SyntaxNode};
use rowan::ast::AstNode;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::print::{self, Value};
use super::{Parsed, Removal, Site, comments_in_outside};
use crate::canon::Canon;
use crate::plan::{edit, extract};
use crate::syntax::{Range, range_of};

/// Places in files: what a move deletes, or where its text came from.
pub(super) type Places = Vec<(PathBuf, Range)>;

/// A moved value as the new file prints it.
pub(super) struct Printed {
    pub(super) value: Value,
    /// Source ranges whose text (comments included) it carries.
    pub(super) lifted: Places,
    /// Comments above it in the source (and before it on its line).
    pub(super) comments: Vec<String>,
    /// Comments after it on its line.
    pub(super) trailing: Vec<String>,
}

/// The comments before a binding (the comment lines right above it and
/// any on its line before it) and after it on its line, outside `inner`.
pub(super) fn comments_around(
    text: &str,
    comments: &[Range],
    entry: Range,
    inner: Range,
) -> (Vec<String>, Vec<String>) {
    let ls = edit::line_start(text, entry.0);
    let above = if text[ls..entry.0].trim().is_empty() {
        edit::comment_lines_above(text, ls)
    } else {
        // Other code before it on its line: only the comments between
        // that code and the binding are its own.
        edit::comments_just_before(text, comments, entry.0)
    };
    let leading = comments_in_outside(text, comments, (above, entry.0), &[inner]);
    let eol = edit::rest_of_line(text, entry.1).unwrap_or(entry.1);
    let trailing = comments_in(text, comments, (entry.1, eol));
    (leading, trailing)
}

pub(super) fn lift_whole(
    parsed: &HashMap<PathBuf, Parsed<'_>>,
    new_dir: &Path,
    by_host: &BTreeMap<&str, Vec<&Site<'_>>>,
) -> Result<(Lifted, Printed, Places), String> {
    // Every host's copy means the same; take the one that needs the least
    // context (no copied bindings, no `with`) so the new file reads plainly.
    let mut best: Option<(Lifted, &Site<'_>)> = None;
    let mut first_err = None;
    for sites in by_host.values() {
        let s = sites[0];
        match lift(parsed[&s.file].file, &s.value, new_dir) {
            Ok(l) => {
                let cost = |l: &Lifted| l.bindings.len() + l.withs.len();
                let plain = cost(&l) == 0;
                if best.as_ref().is_none_or(|(b, _)| cost(&l) < cost(b)) {
                    best = Some((l, s));
                }
                if plain {
                    break;
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let Some((l, s)) = best else {
        return Err(first_err.unwrap_or_else(|| "no host's copy can be moved".into()));
    };
    let p = &parsed[&s.file];
    let start = usize::from(s.entry.text_range().start());
    let indent = indent_at(&p.file.text, start).len();
    // A list written on one line (maybe behind `with x;`) is laid out one
    // element per line in the new file, as nixfmt would.
    let mut lead = String::new();
    let mut list_node = s.value.clone();
    while let Some(w) = ast::With::cast(list_node.clone()) {
        let (Some(ns), Some(body)) = (w.namespace(), w.body()) else {
            break;
        };
        lead.push_str(&format!(
            "with {}; ",
            extract::rebased_text(p.file, ns.syntax(), new_dir)?
        ));
        list_node = body.syntax().clone();
    }
    let value = match ast::List::cast(list_node.clone()) {
        Some(list) if list.items().count() > 1 && !s.value.to_string().contains('\n') => {
            let items: Result<Vec<print::Element>, String> = list
                .items()
                .map(|i| {
                    Ok((
                        extract::rebased_text(p.file, i.syntax(), new_dir)?,
                        indent,
                        false,
                    ))
                })
                .collect();
            Value::Elements(lead, items?)
        }
        _ => Value::Text {
            text: l.text.clone(),
            indent,
            multiline_string: has_multiline_string(&s.value.to_string()),
        },
    };
    let deletions = by_host
        .values()
        .flatten()
        .map(|s| (s.file.clone(), range_of(&s.entry)))
        .collect();
    let value_range = range_of(&s.value);
    let (leading, trailing) =
        comments_around(&p.file.text, p.comments, range_of(&s.entry), value_range);
    let printed = Printed {
        value,
        lifted: vec![(s.file.clone(), value_range)],
        comments: leading,
        trailing,
    };
    Ok((l, printed, deletions))
}

pub(super) fn lift_elements(
    parsed: &HashMap<PathBuf, Parsed<'_>>,
    new_dir: &Path,
    by_host: &BTreeMap<&str, Vec<&Site<'_>>>,
    common: &[Canon],
) -> Result<(Lifted, Printed, Removal), String> {
    // Each host gives up one occurrence of every common element.
    let mut elements = Vec::new();
    let mut entries = Vec::new();
    // The entries above, to look up: a fleet has hundreds of hosts.
    let mut whole: HashSet<(&Path, Range)> = HashSet::default();
    let mut source: Option<(Lifted, Vec<print::Element>, Places)> = None;
    let mut first_err = None;
    for sites in by_host.values() {
        let mut wanted: Vec<&Canon> = common.iter().collect();
        let mut taken: Vec<(&Site<'_>, SyntaxNode)> = Vec::new();
        for s in sites {
            let list = s.list.as_ref().expect("decided on literal lists");
            let els = s.leaf.elements.as_ref().expect("decided on known elements");
            let mut removed_all = true;
            for (item, canon) in list.items().zip(els) {
                if let Some(i) = wanted.iter().position(|w| *w == canon) {
                    wanted.remove(i);
                    taken.push((s, item.syntax().clone()));
                } else {
                    removed_all = false;
                }
            }
            if removed_all {
                entries.push((s.file.clone(), range_of(&s.entry)));
                whole.insert((s.file.as_path(), range_of(&s.entry)));
            }
        }
        for (s, node) in &taken {
            if !whole.contains(&(s.file.as_path(), range_of(&s.entry))) {
                elements.push((s.file.clone(), range_of(node)));
            }
        }
        if source.is_none() {
            let mut lifted = Lifted::default();
            let mut printed = Vec::new();
            let mut ranges = Vec::new();
            let mut ok = true;
            for (s, node) in &taken {
                let p = &parsed[&s.file];
                match lift(p.file, node, new_dir) {
                    Ok(l) => {
                        let start = usize::from(node.text_range().start());
                        printed.push((
                            l.text.clone(),
                            indent_at(&p.file.text, start).len(),
                            has_multiline_string(&node.to_string()),
                        ));
                        ranges.push((s.file.clone(), range_of(node)));
                        merge(&mut lifted, l)?;
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                source = Some((lifted, printed, ranges));
            }
        }
    }
    let Some((lifted, printed, ranges)) = source else {
        return Err(first_err.unwrap_or_else(|| "no host's elements can be moved".into()));
    };
    let comments = ranges
        .iter()
        .flat_map(|(f, r)| {
            let p = &parsed[f];
            let text = &p.file.text;
            comments_in_outside(text, p.comments, deletion(text, *r), &[*r])
        })
        .collect();
    let printed = Printed {
        value: Value::Elements(String::new(), printed),
        lifted: ranges,
        comments,
        trailing: Vec::new(),
    };
    Ok((lifted, printed, Removal::Elements { elements, entries }))
}

pub(super) fn merge(into: &mut Lifted, l: Lifted) -> Result<(), String> {
    into.args.extend(l.args);
    for (n, b) in l.bindings {
        if let Some(existing) = into.bindings.get(&n)
            && existing.0 != b.0
        {
            return Err(format!(
                "its elements use two different bindings named `{n}`"
            ));
        }
        into.bindings.insert(n, b);
    }
    for w in l.withs {
        if !into.withs.contains(&w) {
            into.withs.push(w);
        }
    }
    Ok(())
}

pub(super) fn has_multiline_string(text: &str) -> bool {
    let root = Root::parse(text).syntax();
    root.descendants_with_tokens()
        .filter_map(|e| e.into_token())
        .any(|t| t.kind() == SyntaxKind::TOKEN_STRING_CONTENT && t.text().contains('\n'))
}
