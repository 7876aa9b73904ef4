//! Rendering: the text of a file after a set of moves. Moves are planned
//! independently on the original files; rendering applies any prefix of
//! them together, so containers that several users share go only when
//! all of them have left, and one `imports` list takes every new import.

use std::collections::BTreeMap;

use rustc_hash::FxHashSet as HashSet;

use super::edit::{self, Splice, deletion};
use super::moves::{
    ParsedFile, UserMove, cascade, comments_in_outside, import_splice, module_top, unused_bindings,
};
use crate::syntax::Range;

/// `file`'s text after `moves` (those touching it; others are ignored).
pub fn render_file(pf: &ParsedFile, moves: &[&UserMove]) -> Result<String, String> {
    let text = &pf.file.text;
    let comments = pf.comments();
    let root = pf.parse.tree();
    let mut ranges: Vec<Range> = Vec::new();
    let mut imports: BTreeMap<Option<Range>, Vec<String>> = BTreeMap::new();
    for m in moves {
        if let Some(d) = m.deletions.get(&pf.file.path) {
            ranges.extend(d.iter().copied());
        }
        for add in m
            .import_adds
            .iter()
            .filter(|a| a.file.as_os_str() == pf.file.path.as_os_str())
        {
            let list = imports.entry(add.inline).or_default();
            if !list.contains(&add.path) {
                list.push(add.path.clone());
            }
        }
    }
    // A shared container goes once every member has gone, unless it
    // holds comments of its own, which are never dropped.
    let keeps_comments = |r: Range, deleted: &HashSet<Range>| {
        let inner: Vec<Range> = deleted
            .iter()
            .filter(|d| d.0 >= r.0 && d.1 <= r.1)
            .map(|d| deletion(text, *d))
            .collect();
        comments_in_outside(text, comments, deletion(text, r), &inner).is_empty()
    };
    let mut nodes = cascade(&root, &ranges, &|_| false, &keeps_comments);
    let unused: Vec<Range> = unused_bindings(&root, text, &nodes)
        .into_iter()
        .filter(|r| comments_in_outside(text, comments, deletion(text, *r), &[]).is_empty())
        .collect();
    nodes.extend(unused);
    let ranges: Vec<Range> = nodes.iter().map(|n| deletion(text, *n)).collect();
    let mut splices: Vec<Splice> = edit::tidy(text, ranges)
        .into_iter()
        .map(Splice::delete)
        .collect();
    for (inline, paths) in &imports {
        let top = module_top(&root, *inline).ok_or_else(|| {
            format!(
                "{} has no module set to import into",
                pf.file.path.display()
            )
        })?;
        splices.push(import_splice(text, &top, paths)?);
    }
    edit::apply(text, &splices).map_err(|e| format!("{}: {e}", pf.file.path.display()))
}
