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

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

/// End of the trailing part of a line after `at`: spaces and a `#`
/// comment; returns the index of the newline (or the end), or `None` when
/// something else follows on the line.
fn rest_of_line(text: &str, at: usize) -> Option<usize> {
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
fn comment_lines_above(text: &str, start: usize) -> usize {
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
            let start = comment_lines_above(text, ls);
            // Between two blank lines, take one with it, so the code
            // around keeps its paragraph spacing instead of gaining a gap.
            let blank_before =
                start > 0 && text[line_start(text, start - 1)..start].trim().is_empty();
            let next_end = text[end..].find('\n').map(|i| end + i + 1);
            match next_end {
                Some(n) if blank_before && text[end..n].trim().is_empty() => (start, n),
                _ => (start, end),
            }
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

/// The comments a deletion removes, for carrying them to the new file.
pub fn comments_in(text: &str, range: Range) -> Vec<String> {
    let mut out = Vec::new();
    for line in text[range.0..range.1].lines() {
        if let Some(i) = line.find('#') {
            // Only a `#` outside strings starts a comment; a line whose
            // quotes balance before it is good enough for our own edits.
            if line[..i].matches('"').count() % 2 == 0 && !line[..i].contains("''") {
                out.push(line[i..].trim_end().to_string());
            }
        }
    }
    out
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

    #[test]
    fn deletes_whole_lines_with_their_comments() {
        let t = "{\n  a = 1;\n  # about b\n  b = 2; # trailing\n  c = 3;\n}\n";
        let s = t.find("b = 2;").unwrap();
        let r = deletion(t, (s, s + 6));
        assert_eq!(
            apply(t, &[Splice::delete(r)]).unwrap(),
            "{\n  a = 1;\n  c = 3;\n}\n"
        );
        assert_eq!(comments_in(t, r), vec!["# about b", "# trailing"]);
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
