//! New files, printed the way nixfmt (RFC 166 style) would lay them out:
//! two-space indents, one binding per line, lists of several elements one
//! element per line, `let … in` on lines of their own.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// One binding under the user in the new module.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Attribute path below the user; empty for the user's whole value.
    pub path: Vec<String>,
    pub value: Value,
    /// Comment lines above the binding.
    pub comments: Vec<String>,
    /// Comments after the binding on its line.
    pub trailing: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Value {
    /// An expression's text, already rebased; with its source indentation.
    Text {
        text: String,
        indent: usize,
        multiline_string: bool,
    },
    /// List elements, each with its source indentation, after a prefix
    /// such as `with pkgs; ` that the list was written behind.
    Elements(String, Vec<Element>),
}

/// A list element's rebased text, its source indentation, and whether it
/// holds a string spanning lines.
pub type Element = (String, usize, bool);

pub struct Module<'a> {
    pub args: &'a BTreeSet<String>,
    pub bindings: &'a BTreeMap<String, (usize, bool, String)>,
    pub withs: &'a BTreeMap<Vec<String>, Vec<String>>,
    /// `users.users` or `home-manager.users`.
    pub option: &'a str,
    pub user: &'a str,
    pub comments: &'a [String],
    pub entries: &'a [Entry],
    /// Module imports the new file needs (home-manager's NixOS module
    /// when the file becomes a service's extra module).
    pub imports: &'a [String],
}

pub fn module(m: &Module<'_>) -> String {
    let mut out = String::new();
    let mut args: Vec<&str> = m.args.iter().map(String::as_str).collect();
    args.push("...");
    let _ = writeln!(out, "{{ {} }}:", args.join(", "));
    if !m.bindings.is_empty() {
        out.push_str("let\n");
        for (name, (indent, multiline, text)) in m.bindings {
            let text = super::edit::reindent(text, *indent, 2, *multiline);
            let _ = writeln!(out, "  {} = {text};", attr(name));
        }
        out.push_str("in\n");
    }
    out.push_str("{\n");
    if !m.imports.is_empty() {
        let _ = writeln!(out, "  imports = [ {} ];\n", m.imports.join(" "));
    }
    for c in m.comments {
        let _ = writeln!(out, "  {c}");
    }
    let head = format!("{}.{}", m.option, attr(m.user));
    if let [whole] = m.entries
        && whole.path.is_empty()
    {
        for c in &whole.comments {
            let _ = writeln!(out, "  {c}");
        }
        let _ = writeln!(
            out,
            "  {head} = {};",
            value(&whole.value, &with_of(m, &whole.path), 2)
        );
    } else {
        let _ = writeln!(out, "  {head} = {{");
        let refs: Vec<&Entry> = m.entries.iter().collect();
        nested(&mut out, m, &refs, 0, 4);
        out.push_str("  };\n");
    }
    out.push_str("}\n");
    out
}

/// Entries sharing a first name are written as one nested set (as people
/// write `programs.git = { … };`); a lone entry keeps its dotted path.
fn nested(out: &mut String, m: &Module<'_>, entries: &[&Entry], depth: usize, indent: usize) {
    let pad = " ".repeat(indent);
    let mut i = 0;
    while i < entries.len() {
        let first = &entries[i].path[depth];
        let group: Vec<&Entry> = entries[i..]
            .iter()
            .take_while(|e| e.path.len() > depth && &e.path[depth] == first)
            .copied()
            .collect();
        // Entries with the same first name that are not adjacent stay apart.
        i += group.len();
        if group.len() == 1 || group.iter().any(|e| e.path.len() == depth + 1) {
            for e in group {
                for c in &e.comments {
                    let _ = writeln!(out, "{pad}{c}");
                }
                let key: Vec<String> = e.path[depth..].iter().map(|s| attr(s)).collect();
                let text = value(&e.value, &with_of(m, &e.path), indent);
                let after: String = e.trailing.iter().map(|c| format!(" {c}")).collect();
                if key.len() == 1 && text == key[0] {
                    // `x = x;` from a copied binding reads as it was written.
                    let _ = writeln!(out, "{pad}inherit {text};{after}");
                } else {
                    let _ = writeln!(out, "{pad}{} = {text};{after}", key.join("."));
                }
            }
            continue;
        }
        // Extend the key while every entry shares the next name too.
        let mut end = depth + 1;
        while group
            .iter()
            .all(|e| e.path.len() > end + 1 && e.path[end] == group[0].path[end])
        {
            end += 1;
        }
        let key: Vec<String> = group[0].path[depth..end].iter().map(|s| attr(s)).collect();
        let _ = writeln!(out, "{pad}{} = {{", key.join("."));
        nested(out, m, &group, end, indent + 2);
        let _ = writeln!(out, "{pad}}};");
    }
}

fn with_of(m: &Module<'_>, path: &[String]) -> Vec<String> {
    m.withs.get(path).cloned().unwrap_or_default()
}

fn value(v: &Value, withs: &[String], indent: usize) -> String {
    let prefix: String = withs.iter().map(|w| format!("with {w}; ")).collect();
    let body = match v {
        Value::Text {
            text,
            indent: from,
            multiline_string,
        } => super::edit::reindent(text, *from, indent, *multiline_string),
        Value::Elements(lead, items) => {
            let lead = lead.as_str();
            let single = items.len() == 1 && !items[0].0.contains('\n') && items[0].0.len() <= 60;
            if single {
                format!("{lead}[ {} ]", items[0].0)
            } else if items.is_empty() {
                format!("{lead}[ ]")
            } else {
                let mut s = format!("{lead}[\n");
                for (text, from, multiline) in items {
                    let t = super::edit::reindent(text, *from, indent + 2, *multiline);
                    let _ = writeln!(s, "{}{t}", " ".repeat(indent + 2));
                }
                s.push_str(&" ".repeat(indent));
                s.push(']');
                s
            }
        }
    };
    format!("{prefix}{body}")
}

/// An attribute name as Nix needs it written: bare when it is a plain
/// identifier that is not a keyword, quoted otherwise.
pub fn attr(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
    ];
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_'-".contains(c))
        && !KEYWORDS.contains(&name);
    if plain {
        name.to_string()
    } else {
        crate::nix::string_literal(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting() {
        assert_eq!(attr("alice"), "alice");
        assert_eq!(attr("ls1.internet"), "\"ls1.internet\"");
        assert_eq!(attr("in"), "\"in\"");
        assert_eq!(attr("hydra-www"), "hydra-www");
    }
}
