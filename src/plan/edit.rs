//! Byte-range text edits. A plan is a set of splices per file; applying
//! them back to front leaves every byte outside them identical. Deleting a
//! binding or a list element takes its whole lines when it stands on lines
//! of its own (with the comments directly above it and after it), and
//! just the node and its spacing when it shares a line.

use crate::syntax::Range;

/// Replace `range` of the original text with `text`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Splice {
    pub range: Range,
    pub text: String,
}

impl Splice {
    pub fn delete(range: Range) -> Self {
        Splice {
            range,
            text: String::new(),
        }
    }

    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Splice {
            range: (at, at),
            text: text.into(),
        }
    }
}

/// Applies splices to the original text. Overlapping deletions merge
/// (a binding deleted inside a deleted block); an insertion strictly
/// inside a deletion, or a replacement overlapping anything, is a planner
/// bug and refused.
pub fn apply(original: &str, splices: &[Splice]) -> Result<String, String> {
    let mut sorted: Vec<Splice> = splices.to_vec();
    sorted.sort_by_key(|s| (s.range.0, s.range.1));
    let mut kept: Vec<Splice> = Vec::new();
    for s in sorted {
        if let Some(last) = kept.last_mut() {
            let last_is_deletion = last.text.is_empty() && last.range.0 < last.range.1;
            let is_deletion = s.text.is_empty() && s.range.0 < s.range.1;
            if last_is_deletion && is_deletion && s.range.0 < last.range.1 {
                last.range.1 = last.range.1.max(s.range.1);
                continue;
            }
            if s.range.0 < last.range.1 {
                return Err(format!(
                    "overlapping edits at bytes {}..{} and {}..{}",
                    last.range.0, last.range.1, s.range.0, s.range.1
                ));
            }
        }
        kept.push(s);
    }
    let mut out = String::with_capacity(original.len());
    let mut pos = 0;
    for s in kept {
        if s.range.1 > original.len()
            || !original.is_char_boundary(s.range.0)
            || !original.is_char_boundary(s.range.1)
        {
            return Err(format!(
                "edit {}..{} is outside the file",
                s.range.0, s.range.1
            ));
        }
        out.push_str(&original[pos..s.range.0]);
        out.push_str(&s.text);
        pos = s.range.1;
    }
    out.push_str(&original[pos..]);
    Ok(out)
}

pub fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

/// End of the trailing part of a line after `at`: spaces and a `#`
/// comment; returns the index of the newline (or the end), or `None` when
/// something else follows on the line.
pub fn rest_of_line(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let mut i = at + (rest.len() - trimmed.len());
    if trimmed.starts_with('#') {
        i += trimmed.find('\n').unwrap_or(trimmed.len());
        return Some(i);
    }
    if trimmed.is_empty() || trimmed.starts_with('\n') || trimmed.starts_with("\r\n") {
        return Some(i);
    }
    None
}

/// The comment lines directly above line `start` (no blank line between).
pub fn comment_lines_above(text: &str, start: usize) -> usize {
    let mut start = start;
    while start > 0 {
        let prev = line_start(text, start - 1);
        let line = text[prev..start - 1].trim();
        if line.starts_with('#') || (line.starts_with("/*") && line.ends_with("*/")) {
            start = prev;
        } else {
            break;
        }
    }
    start
}

/// The range to delete for a node at `range` (a binding with its `;`, or
/// a list element): whole lines when it stands alone, else the node and
/// the spaces after it (or before it, when it ends its line).
pub fn deletion(text: &str, range: Range) -> Range {
    let (s, e) = range;
    let ls = line_start(text, s);
    let alone_before = text[ls..s].trim().is_empty();
    match rest_of_line(text, e) {
        Some(eol) if alone_before => {
            let end = if text[eol..].starts_with("\r\n") {
                eol + 2
            } else if text[eol..].starts_with('\n') {
                eol + 1
            } else {
                eol
            };
            (comment_lines_above(text, ls), end)
        }
        _ => {
            let after = text[e..].len() - text[e..].trim_start_matches([' ', '\t']).len();
            if after > 0 {
                (s, e + after)
            } else {
                let before = text[..s].len() - text[..s].trim_end_matches([' ', '\t']).len();
                (s - before, e)
            }
        }
    }
}

/// The comments (`#` and `/* */`) inside `range`, for carrying them to
/// the new file; `comments` is where `text`'s comments are
/// ([`comment_ranges`](crate::syntax::comment_ranges)).
pub fn comments_in(text: &str, comments: &[Range], range: Range) -> Vec<String> {
    // Sorted and disjoint: skip to the first that starts inside.
    let from = comments.partition_point(|c| c.0 < range.0);
    comments[from..]
        .iter()
        .take_while(|c| c.0 < range.1)
        .filter(|c| c.1 <= range.1)
        .map(|c| text[c.0..c.1].trim_end().to_string())
        .collect()
}

/// Where the comments right before `at` start (only spaces between
/// them and `at`); `at` when there are none.
pub fn comments_just_before(text: &str, comments: &[Range], at: usize) -> usize {
    let mut p = at;
    loop {
        let trimmed = text[..p].trim_end_matches([' ', '\t']).len();
        match comments.iter().find(|c| c.1 == trimmed) {
            Some(c) => p = c.0,
            None => return p,
        }
    }
}

/// Deletions merged where they touch, then tidied so the code around
/// keeps its paragraphs: a blank line left between two others, or
/// before a closing bracket, or after an opening one, goes too.
pub fn tidy(text: &str, mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort();
    let mut merged: Vec<Range> = Vec::new();
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.0 <= last.1 => last.1 = last.1.max(r.1),
            _ => merged.push(r),
        }
    }
    let line_of = |at: usize| -> Option<&str> {
        if at >= text.len() {
            return None;
        }
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        Some(&text[at..end])
    };
    for r in &mut merged {
        let whole_lines = (r.0 == 0 || text[..r.0].ends_with('\n')) && text[..r.1].ends_with('\n');
        if !whole_lines {
            continue;
        }
        let prev = (r.0 > 0).then(|| {
            let p = line_start(text, r.0 - 1);
            (p, &text[p..r.0 - 1])
        });
        let next = line_of(r.1);
        let blank_before = prev.is_some_and(|(_, l)| l.trim().is_empty());
        let blank_after = next.is_some_and(|l| l.trim().is_empty());
        let opens_before = prev.is_some_and(|(_, l)| l.trim_end().ends_with(['{', '[']));
        let closes_after = next.is_some_and(|l| l.trim_start().starts_with(['}', ']']));
        if blank_after && (blank_before || opens_before) {
            let n = next.map_or(0, str::len);
            r.1 = (r.1 + n + 1).min(text.len());
        } else if blank_before
            && closes_after
            && let Some((p, _)) = prev
        {
            r.0 = p;
        }
    }
    merged
}

/// The indentation of the line `at` is on.
pub fn indent_at(text: &str, at: usize) -> String {
    let ls = line_start(text, at);
    text[ls..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// Moves every line after the first from `from` indentation to `to`,
/// unless a line is less indented than `from` or the text holds a string
/// spanning lines (whose content the shift would change).
pub fn reindent(text: &str, from: usize, to: usize, has_multiline_string: bool) -> String {
    if from == to || !text.contains('\n') || has_multiline_string {
        return text.to_string();
    }
    let mut lines = text.split('\n');
    let mut out = String::from(lines.next().unwrap_or(""));
    let rest: Vec<&str> = lines.collect();
    if rest
        .iter()
        .any(|l| !l.trim().is_empty() && l.len() - l.trim_start_matches(' ').len() < from)
    {
        return text.to_string();
    }
    for l in rest {
        out.push('\n');
        if l.trim().is_empty() {
            continue;
        }
        out.push_str(&" ".repeat(to));
        out.push_str(&l[from..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::comment_ranges;

    #[test]
    fn deletes_whole_lines_with_their_comments() {
        let t = "{\n  a = 1;\n  # about b\n  b = 2; # trailing\n  c = 3;\n}\n";
        let s = t.find("b = 2;").unwrap();
        let r = deletion(t, (s, s + 6));
        assert_eq!(
            apply(t, &[Splice::delete(r)]).unwrap(),
            "{\n  a = 1;\n  c = 3;\n}\n"
        );
        assert_eq!(
            comments_in(t, &comment_ranges(t), r),
            vec!["# about b", "# trailing"]
        );
        let t = "{ a = \"#x\"; /* b */ }";
        assert_eq!(comments_in(t, &comment_ranges(t), (0, 21)), vec!["/* b */"]);
    }

    fn tidy_apply(t: &str, ranges: Vec<Range>) -> String {
        let splices: Vec<Splice> = tidy(t, ranges).into_iter().map(Splice::delete).collect();
        apply(t, &splices).unwrap()
    }

    #[test]
    fn tidies_blank_lines_around_deletions() {
        let t = "{\n  a = 1;\n\n  b = 2;\n  c = 3;\n\n  d = 4;\n}\n";
        let b = t.find("  b").unwrap();
        let c = t.find("  c").unwrap();
        let out = tidy_apply(t, vec![(b, c), (c, c + 9)]);
        assert_eq!(out, "{\n  a = 1;\n\n  d = 4;\n}\n");
        let t = "{\n  a = 1;\n\n  b = 2;\n}\n";
        let b = t.find("  b").unwrap();
        assert_eq!(tidy_apply(t, vec![(b, b + 9)]), "{\n  a = 1;\n}\n");
        let t = "{\n  b = 2;\n\n  a = 1;\n}\n";
        let b = t.find("  b").unwrap();
        assert_eq!(tidy_apply(t, vec![(b, b + 9)]), "{\n  a = 1;\n}\n");
    }

    #[test]
    fn deletes_inline_nodes_with_their_spacing() {
        let t = "[ \"wheel\" \"docker\" ]";
        let s = t.find("\"docker\"").unwrap();
        let r = deletion(t, (s, s + 8));
        assert_eq!(apply(t, &[Splice::delete(r)]).unwrap(), "[ \"wheel\" ]");
        let s = t.find("\"wheel\"").unwrap();
        let r = deletion(t, (s, s + 7));
        assert_eq!(apply(t, &[Splice::delete(r)]).unwrap(), "[ \"docker\" ]");
    }

    #[test]
    fn nested_deletions_collapse_and_overlaps_are_refused() {
        let t = "0123456789";
        let out = apply(t, &[Splice::delete((2, 8)), Splice::delete((3, 4))]).unwrap();
        assert_eq!(out, "0189");
        assert_eq!(
            apply(t, &[Splice::delete((2, 5)), Splice::delete((4, 6))]).unwrap(),
            "016789"
        );
        let replace = Splice {
            range: (4, 6),
            text: "x".into(),
        };
        assert!(apply(t, &[Splice::delete((2, 5)), replace]).is_err());
        let out = apply(t, &[Splice::insert(3, "x"), Splice::insert(3, "y")]).unwrap();
        assert_eq!(out, "012xy3456789");
    }

    #[test]
    fn reindents_unless_unsafe() {
        assert_eq!(reindent("[\n    a\n  ]", 2, 4, false), "[\n      a\n    ]");
        assert_eq!(reindent("[\n a\n]", 2, 4, false), "[\n a\n]");
        assert_eq!(reindent("''\n    x\n  ''", 2, 4, true), "''\n    x\n  ''");
    }
}
