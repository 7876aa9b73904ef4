//! The byte-range edits that make a plain flake build its machines with
//! `clan-core.lib.clan`, and the new `clan.nix`.
//!
//! Each `nixosSystem { system = S; specialArgs = A; modules = M; }` a
//! machine is built with becomes, in place, the machine module
//! `{ nixpkgs.hostPlatform = S; imports = M; }` (a helper stays a helper,
//! returning that module); the `nixosConfigurations` bindings move into the
//! clan call as `machines`, with their comments; `specialArgs` (one set,
//! Clan's are global) moves there too. Every other byte stays where it was.

use std::collections::BTreeSet;

use rnix::SyntaxKind;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::hosts;
use super::read::{self, Outputs};
use super::{CLAN_CORE_URL, ClanError, MachineReport};
use crate::source::SourceFile;
use crate::syntax::{Range, get_attr, range_of, short_text, strip_parens};

/// A replacement of `text[start..end]`.
#[derive(Debug, Clone)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

pub(super) struct Converted {
    pub flake: String,
    /// `--move-hosts`: the host directories that move, and why others stay.
    pub host_moves: Vec<hosts::HostMove>,
    pub stays: Vec<String>,
    pub machines: Vec<MachineReport>,
    /// The flake input every machine's nixpkgs comes from.
    pub nixpkgs: String,
}

/// `move_hosts`: the repository, when `--move-hosts` asks for the host
/// directories to move to `machines/<name>/`.
pub(super) fn convert(
    file: &SourceFile,
    top: &ast::AttrSet,
    move_hosts: Option<&std::path::Path>,
) -> Result<Converted, ClanError> {
    let text = file.text.as_str();
    let o = read::outputs(file, top)?;
    let here = |r: Range| ClanError::at(file, r);

    // One nixpkgs for every machine.
    let nixpkgs = o.calls[o.machines[0].call].input.clone();
    if let Some(m) = o.machines.iter().find(|m| o.calls[m.call].input != nixpkgs) {
        return Err(ClanError::SecondNixpkgs {
            at: here(m.at),
            host: m.name.clone(),
            input: o.calls[m.call].input.clone(),
            nixpkgs,
        });
    }
    // One specialArgs for every machine.
    let mut special: Option<(&ast::AttrpathValue, String)> = None;
    for c in &o.calls {
        let Some(sa) = &c.special_args else { continue };
        let norm = squash(
            &sa.value()
                .map(|v| v.syntax().to_string())
                .unwrap_or_default(),
        );
        match &special {
            None => special = Some((sa, norm)),
            Some((first, n)) if *n != norm => {
                return Err(ClanError::DifferingSpecialArgs {
                    at: here(range_of(sa.syntax())),
                    first: ClanError::at(file, range_of(first.syntax())),
                });
            }
            Some(_) => {}
        }
    }
    check_names_free(file, &o)?;

    let mut edits: Vec<Edit> = Vec::new();
    for c in &o.calls {
        call_edits(text, c, &mut edits);
    }
    let (host_moves, stays) = match move_hosts {
        Some(repo) => hosts::plan(repo, text, &o),
        None => (Vec::new(), Vec::new()),
    };
    for mv in &host_moves {
        // Clan imports machines/<name>/configuration.nix itself.
        let (span, whole) = line_span(text, mv.item.0, mv.item.1);
        let end = if whole {
            span.1
        } else {
            span.1 + text[span.1..].len() - text[span.1..].trim_start().len()
        };
        edits.push(Edit {
            start: span.0,
            end,
            text: String::new(),
        });
    }
    if let Some(parts) = &o.parts {
        let flake = convert_parts(text, top, &o, parts, edits, special.map(|(sa, _)| sa));
        let machines = o.machines.iter().map(|m| describe(file, &o, m)).collect();
        return Ok(Converted {
            flake,
            host_moves,
            stays,
            machines,
            nixpkgs,
        });
    }

    // The clan call, bound next to the helpers (or in a new `let`).
    let pattern = match o.lambda.param() {
        Some(ast::Param::Pattern(p)) => Some(p),
        _ => None,
    };
    let inputs_name = match o.lambda.param() {
        Some(ast::Param::IdentParam(p)) => p.ident().map(|i| i.syntax().to_string()),
        _ => None,
    };
    let (core, self_line) = match &inputs_name {
        Some(i) => (format!("{i}.clan-core"), format!("self = {i}.self;")),
        None => ("clan-core".to_string(), "inherit self;".to_string()),
    };
    if let Some(p) = &pattern {
        pattern_edits(text, p, &["self", "clan-core"], &mut edits);
    }
    let (binding_indent, insert): (usize, Box<dyn Fn(String) -> Edit>) = match &o.let_in {
        Some(l) => {
            let last = l.entries().last().map(|e| range_of(e.syntax()));
            let in_at = l.in_token().map(|t| usize::from(t.text_range().start()));
            match (last, in_at) {
                (Some(last), Some(in_at)) => {
                    let ind = indent_of(text, last.0);
                    let eol = line_end(text, last.1);
                    let multi = text[last.1..in_at].contains('\n');
                    (
                        ind,
                        Box::new(move |b: String| {
                            if multi {
                                Edit {
                                    start: eol + 1,
                                    end: eol + 1,
                                    text: format!("\n{}{b}\n", " ".repeat(ind)),
                                }
                            } else {
                                Edit {
                                    start: last.1,
                                    end: last.1,
                                    text: format!(" {b}"),
                                }
                            }
                        }),
                    )
                }
                _ => {
                    return Err(ClanError::Unsupported {
                        at: here(range_of(l.syntax())),
                        what: "an empty `let` around the outputs".into(),
                    });
                }
            }
        }
        None => {
            let colon = o
                .lambda
                .token_colon()
                .map(|t| usize::from(t.text_range().end()))
                .unwrap_or(0);
            let body = range_of(o.set.syntax()).0;
            let li = if text[colon..body].contains('\n') {
                indent_of(text, body)
            } else {
                indent_of(text, range_of(o.lambda.syntax()).0) + 2
            };
            let pad = " ".repeat(li);
            (
                li + 2,
                Box::new(move |b: String| Edit {
                    start: colon,
                    end: body,
                    text: format!("\n{pad}let\n{pad}  {b}\n{pad}in\n{pad}"),
                }),
            )
        }
    };
    let inner = binding_indent + 2;
    let pad = " ".repeat(inner);
    let mut binding =
        format!("clan = {core}.lib.clan {{\n{pad}{self_line}\n{pad}imports = [ ./clan.nix ];\n");
    binding.push_str(&clan_body(
        text,
        &o,
        &edits,
        special.map(|(sa, _)| sa),
        inner,
    ));
    binding.push_str(&format!("{}}};", " ".repeat(binding_indent)));

    // The moved bindings leave; Clan's outputs take the first one's place.
    let mut outer: Vec<Edit> = edits
        .iter()
        .filter(|ed| {
            !o.entries
                .iter()
                .any(|e| inside(range_of(e.node.syntax()), (ed.start, ed.end)))
        })
        .cloned()
        .collect();
    let keys: BTreeSet<String> = o
        .set
        .attrpath_values()
        .filter_map(|av| {
            av.attrpath()?
                .attrs()
                .next()
                .map(|a| a.syntax().to_string())
        })
        .collect();
    let mut outs = vec!["nixosConfigurations"];
    if !keys.contains("nixosModules") {
        outs.push("nixosModules");
    }
    outs.push("clanInternals");
    for (k, e) in o.entries.iter().enumerate() {
        let r = range_of(e.node.syntax());
        let start = leading_comments_start(e.node.syntax()).unwrap_or(r.0);
        let (span, whole_lines) = line_span(text, start, r.1);
        if k == 0 {
            let ind = " ".repeat(indent_of(text, r.0));
            let lines = format!(
                "inherit (clan.config) {};\n{ind}clan = clan.config;",
                outs.join(" ")
            );
            outer.push(Edit {
                start: span.0,
                end: span.1,
                text: if whole_lines {
                    format!("{ind}{lines}\n")
                } else {
                    lines
                },
            });
        } else {
            let start = if whole_lines {
                blank_lines_before(text, span.0)
            } else {
                span.0
            };
            outer.push(Edit {
                start,
                end: span.1,
                text: String::new(),
            });
        }
    }
    outer.push(insert(binding));
    inputs_edit(text, top, &nixpkgs, &mut outer);

    let flake = apply(text, &outer, (0, text.len()));
    let machines = o.machines.iter().map(|m| describe(file, &o, m)).collect();
    Ok(Converted {
        flake,
        host_moves,
        stays,
        machines,
        nixpkgs,
    })
}

/// The clan's `specialArgs` and `machines`, at `inner` columns, one
/// binding a line; machines keep their comments and the blank lines
/// between them.
fn clan_body(
    text: &str,
    o: &Outputs,
    edits: &[Edit],
    special: Option<&ast::AttrpathValue>,
    inner: usize,
) -> String {
    let pad = " ".repeat(inner);
    let mut out = String::new();
    if let Some(sa) = special {
        let v = sa.value().expect("specialArgs has a value");
        let from = indent_of(text, range_of(sa.syntax()).0);
        let moved = moved_text(text, edits, range_of(v.syntax()), from, inner);
        out.push_str(&format!("{pad}specialArgs = {moved};\n"));
    }
    for (k, e) in o.entries.iter().enumerate() {
        let start = leading_comments_start(e.node.syntax()).unwrap_or(range_of(e.node.syntax()).0);
        if k > 0 && blank_lines_before(text, line_start(text, start)) < line_start(text, start) {
            out.push('\n');
        }
        for c in leading_comments(e.node.syntax()) {
            out.push_str(&format!("{pad}{c}\n"));
        }
        let from = indent_of(text, range_of(e.node.syntax()).0);
        let v = moved_text(text, edits, range_of(e.value.syntax()), from, inner);
        match &e.key {
            Some(k) => out.push_str(&format!("{pad}machines.{k} = {v};\n")),
            None => out.push_str(&format!("{pad}machines = {v};\n")),
        }
    }
    out
}

/// A flake-parts flake: clan-core's flake module in the module's
/// `imports`, and a `clan = { … };` block in the module, which sets the
/// flake's `nixosConfigurations` itself.
fn convert_parts(
    text: &str,
    top: &ast::AttrSet,
    o: &Outputs,
    parts: &read::Parts,
    mut edits: Vec<Edit>,
    special: Option<&ast::AttrpathValue>,
) -> String {
    // How the module names the clan-core input.
    let core = match o.lambda.param() {
        Some(ast::Param::IdentParam(p)) => p.ident().map(|i| format!("{}.clan-core", i.syntax())),
        Some(ast::Param::Pattern(p)) => p
            .pat_bind()
            .and_then(|b| b.ident())
            .map(|i| format!("{}.clan-core", i.syntax())),
        None => None,
    };
    let core = match core {
        Some(c) => c,
        None => {
            if let Some(ast::Param::Pattern(p)) = o.lambda.param() {
                pattern_edits(text, &p, &["clan-core"], &mut edits);
            }
            "clan-core".to_string()
        }
    };
    let module = &parts.module;
    let first = module.entries().next().map(|e| range_of(e.syntax()));
    let ind = first.map_or(2, |r| indent_of(text, r.0));
    let pad = " ".repeat(ind);
    let block = format!(
        "clan = {{\n{pad}  imports = [ ./clan.nix ];\n{}{pad}}};",
        clan_body(text, o, &edits, special, ind + 2)
    );
    let mut outer: Vec<Edit> = edits
        .iter()
        .filter(|ed| {
            !o.entries
                .iter()
                .any(|e| inside(range_of(e.node.syntax()), (ed.start, ed.end)))
        })
        .cloned()
        .collect();
    // The machines leave `flake`; a `flake` left with nothing goes too.
    let all_machines = parts.flake.as_ref().is_some_and(|f| {
        o.entries.len()
            == f.value()
                .map(strip_parens)
                .and_then(|v| match v {
                    ast::Expr::AttrSet(s) => Some(s.entries().count()),
                    _ => None,
                })
                .unwrap_or(usize::MAX)
    });
    let gone: Vec<&rnix::SyntaxNode> = match (&parts.flake, all_machines) {
        (Some(f), true) => vec![f.syntax()],
        _ => o.entries.iter().map(|e| e.node.syntax()).collect(),
    };
    for node in gone {
        let r = range_of(node);
        let start = leading_comments_start(node).unwrap_or(r.0);
        let (span, whole) = line_span(text, start, r.1);
        outer.push(Edit {
            start: if whole {
                blank_lines_before(text, span.0)
            } else {
                span.0
            },
            end: span.1,
            text: String::new(),
        });
    }
    let flake_module = format!("{core}.flakeModules.default");
    let imports = module.attrpath_values().find(|av| {
        av.attrpath()
            .is_some_and(|p| p.syntax().to_string() == "imports")
    });
    match imports.as_ref().and_then(|i| i.value()).map(strip_parens) {
        Some(ast::Expr::List(list)) => {
            let close = list
                .r_brack_token()
                .map(|t| usize::from(t.text_range().start()))
                .unwrap_or(range_of(list.syntax()).1);
            match list.items().last() {
                Some(last) if text[range_of(last.syntax()).1..close].contains('\n') => {
                    let r = range_of(last.syntax());
                    let i = " ".repeat(indent_of(text, r.0));
                    outer.push(Edit {
                        start: r.1,
                        end: r.1,
                        text: format!("\n{i}{flake_module}"),
                    });
                }
                _ => outer.push(Edit {
                    start: close,
                    end: close,
                    text: format!("{flake_module} "),
                }),
            }
            let at = line_end(text, range_of(imports.as_ref().expect("found").syntax()).1);
            outer.push(Edit {
                start: at,
                end: at,
                text: format!("\n\n{pad}{block}"),
            });
        }
        _ => {
            let at = first.map_or(range_of(module.syntax()).0 + 1, |r| line_start(text, r.0));
            outer.push(Edit {
                start: at,
                end: at,
                text: format!("{pad}imports = [ {flake_module} ];\n\n{pad}{block}\n\n"),
            });
        }
    }
    inputs_edit(text, top, &o.calls[0].input, &mut outer);
    apply(text, &outer, (0, text.len()))
}

/// Refuses when a name the conversion introduces is taken already.
fn check_names_free(file: &SourceFile, o: &Outputs) -> Result<(), ClanError> {
    let mut taken: Vec<(String, Range)> = Vec::new();
    if let Some(l) = &o.let_in {
        for e in l.entries() {
            if let ast::Entry::AttrpathValue(av) = e
                && let Some(a) = av.attrpath().and_then(|p| p.attrs().next())
            {
                taken.push((a.syntax().to_string(), range_of(av.syntax())));
            }
        }
    }
    let module = o.parts.as_ref().map(|p| p.module.attrpath_values());
    for av in o.set.attrpath_values().chain(module.into_iter().flatten()) {
        if let Some(a) = av.attrpath().and_then(|p| p.attrs().next()) {
            let n = a.syntax().to_string();
            if n == "clan" || n == "clanInternals" {
                taken.push((n, range_of(av.syntax())));
            }
        }
    }
    if let Some(ast::Param::Pattern(p)) = o.lambda.param() {
        for e in p.pat_entries() {
            if let Some(i) = e.ident() {
                taken.push((i.syntax().to_string(), range_of(e.syntax())));
            }
        }
    }
    match taken
        .into_iter()
        .find(|(n, _)| n == "clan" || n == "clanInternals")
    {
        Some((name, r)) => Err(ClanError::NameTaken {
            at: ClanError::at(file, r),
            name,
        }),
        None => Ok(()),
    }
}

/// `nixpkgs.lib.nixosSystem { system = S; specialArgs = A; modules = M; }`
/// -> `{ nixpkgs.hostPlatform = S; imports = M; }`.
fn call_edits(text: &str, c: &read::Call, edits: &mut Vec<Edit>) {
    let call = range_of(c.node.syntax());
    let args = range_of(c.args.syntax());
    edits.push(Edit {
        start: call.0,
        end: args.0,
        text: String::new(),
    });
    if let Some(p) = c.system.as_ref().and_then(|s| s.attrpath()) {
        let r = range_of(p.syntax());
        edits.push(Edit {
            start: r.0,
            end: r.1,
            text: "nixpkgs.hostPlatform".into(),
        });
    }
    if let Some(inh) = &c.inherit_system {
        let r = range_of(inh.syntax());
        edits.push(Edit {
            start: r.0,
            end: r.1,
            text: "nixpkgs.hostPlatform = system;".into(),
        });
    }
    if let Some(p) = c.modules.as_ref().and_then(|m| m.attrpath()) {
        let r = range_of(p.syntax());
        edits.push(Edit {
            start: r.0,
            end: r.1,
            text: "imports".into(),
        });
    }
    if let Some(sa) = &c.special_args {
        let r = range_of(sa.syntax());
        let start = leading_comments_start(sa.syntax()).unwrap_or(r.0);
        let (span, _) = line_span(text, start, r.1);
        edits.push(Edit {
            start: span.0,
            end: span.1,
            text: String::new(),
        });
    }
}

/// Adds the names in `want` the outputs' argument pattern lacks.
fn pattern_edits(text: &str, p: &ast::Pattern, want: &[&str], edits: &mut Vec<Edit>) {
    let names: Vec<String> = p
        .pat_entries()
        .filter_map(|e| e.ident().map(|i| i.syntax().to_string()))
        .collect();
    let add: Vec<&str> = want
        .iter()
        .copied()
        .filter(|w| !names.iter().any(|n| n == w))
        .collect();
    if add.is_empty() {
        return;
    }
    match p.pat_entries().last() {
        Some(last) => {
            let end = range_of(last.syntax()).1;
            // A pattern written one entry a line gets one more line.
            let after = &text[end..];
            let comma = after
                .find(|c: char| !c.is_whitespace())
                .filter(|&i| after[i..].starts_with(','));
            match comma {
                Some(i)
                    if after[i + 1..].starts_with('\n')
                        || after[i + 1..].trim_start_matches(' ').starts_with('\n') =>
                {
                    let ind = " ".repeat(indent_of(text, end));
                    let at = end + i + 1;
                    let lines: String = add.iter().map(|a| format!("\n{ind}{a},")).collect();
                    edits.push(Edit {
                        start: at,
                        end: at,
                        text: lines,
                    });
                }
                _ => edits.push(Edit {
                    start: end,
                    end,
                    text: add.iter().map(|a| format!(", {a}")).collect(),
                }),
            }
        }
        None => {
            let at = p
                .syntax()
                .children_with_tokens()
                .find(|t| t.kind() == SyntaxKind::TOKEN_L_BRACE)
                .map(|t| usize::from(t.text_range().end()))
                .unwrap_or(range_of(p.syntax()).0 + 1);
            edits.push(Edit {
                start: at,
                end: at,
                text: add.iter().map(|a| format!(" {a},")).collect(),
            });
        }
    }
}

/// Adds the `clan-core` input, following the machines' nixpkgs.
fn inputs_edit(text: &str, top: &ast::AttrSet, nixpkgs: &str, edits: &mut Vec<Edit>) {
    if get_attr(top, &["inputs", "clan-core"]).is_some() {
        return;
    }
    let url = format!(
        "clan-core.url = {};",
        crate::nix::string_literal(CLAN_CORE_URL)
    );
    let follows = format!(
        "clan-core.inputs.nixpkgs.follows = {};",
        crate::nix::string_literal(nixpkgs)
    );
    let inputs: Vec<ast::AttrpathValue> = top
        .attrpath_values()
        .filter(|av| {
            av.attrpath()
                .and_then(|p| p.attrs().next())
                .is_some_and(|a| a.syntax().to_string() == "inputs")
        })
        .collect();
    let whole = inputs
        .iter()
        .find(|av| av.attrpath().is_some_and(|p| p.attrs().count() == 1));
    if let Some(av) = whole
        && let Some(ast::Expr::AttrSet(set)) = av.value().map(strip_parens)
    {
        let close = set
            .r_curly_token()
            .map(|t| usize::from(t.text_range().start()))
            .unwrap_or(range_of(set.syntax()).1);
        match set.entries().last() {
            Some(last) if text[range_of(last.syntax()).1..close].contains('\n') => {
                let r = range_of(last.syntax());
                let ind = " ".repeat(indent_of(text, r.0));
                let eol = line_end(text, r.1);
                edits.push(Edit {
                    start: eol,
                    end: eol,
                    text: format!("\n{ind}{url}\n{ind}{follows}"),
                });
            }
            _ => edits.push(Edit {
                start: close,
                end: close,
                text: format!("{url} {follows} "),
            }),
        }
        return;
    }
    let (at, ind, before) = match inputs.last() {
        Some(last) => {
            let r = range_of(last.syntax());
            (line_end(text, r.1), indent_of(text, r.0), true)
        }
        None => {
            let outputs = top.attrpath_values().find(|av| {
                av.attrpath()
                    .and_then(|p| p.attrs().next())
                    .is_some_and(|a| a.syntax().to_string() == "outputs")
            });
            let r = outputs.map(|o| range_of(o.syntax())).unwrap_or((0, 0));
            (line_start(text, r.0), indent_of(text, r.0), false)
        }
    };
    let ind = " ".repeat(ind);
    edits.push(Edit {
        start: at,
        end: at,
        text: if before {
            format!("\n{ind}inputs.{url}\n{ind}inputs.{follows}")
        } else {
            format!("{ind}inputs.{url}\n{ind}inputs.{follows}\n\n")
        },
    });
}

/// What a machine is built from, for the commit message and the summary.
fn describe(file: &SourceFile, o: &Outputs, m: &read::Machine) -> MachineReport {
    let c = &o.calls[m.call];
    let lc = file.line_col(m.at.0);
    let mut parts = Vec::new();
    if let Some(s) = c.system.as_ref().and_then(|s| s.value()) {
        parts.push(format!("system {}", s.syntax()));
    } else if c.inherit_system.is_some() {
        parts.push("system (inherited)".to_string());
    }
    match c.modules.as_ref().and_then(|m| m.value()) {
        Some(v) => parts.push(format!("modules {}", module_items(&v).join(", "))),
        None => parts.push("no modules".to_string()),
    }
    if c.special_args.is_some() {
        parts.push("specialArgs".to_string());
    }
    MachineReport {
        name: m.name.clone(),
        at: format!("{}:{}:{}", file.path.display(), lc.line, lc.column),
        via: m.via.clone(),
        built_from: parts.join("; "),
        special_args: c.special_args.is_some(),
    }
}

/// A module list's items as written: `./hosts/web`, `common (a shared
/// list)`, `{ users.users.erin… }`.
fn module_items(expr: &ast::Expr) -> Vec<String> {
    match strip_parens(expr.clone()) {
        ast::Expr::List(l) => l.items().map(|i| short_text(i.syntax())).collect(),
        ast::Expr::BinOp(op) if op.operator() == Some(ast::BinOpKind::Concat) => {
            let mut v = op.lhs().map(|e| module_items(&e)).unwrap_or_default();
            v.extend(op.rhs().map(|e| module_items(&e)).unwrap_or_default());
            v
        }
        ast::Expr::Ident(i) => vec![format!("{} (a shared list)", i.syntax())],
        other => vec![short_text(other.syntax())],
    }
}

/// The text of `range` with the edits inside it, re-indented from
/// `from` to `to` columns.
fn moved_text(text: &str, edits: &[Edit], range: Range, from: usize, to: usize) -> String {
    reindent(&apply(text, edits, range), to as isize - from as isize)
}

/// `text[range]` with the edits inside `range` applied.
fn apply(text: &str, edits: &[Edit], range: Range) -> String {
    let mut inside: Vec<&Edit> = edits
        .iter()
        .filter(|e| e.start >= range.0 && e.end <= range.1)
        .collect();
    inside.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(range.1 - range.0);
    let mut at = range.0;
    for e in inside {
        if e.start < at {
            // Overlapping edits are a bug; the reparse would catch what it leaves.
            continue;
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..range.1]);
    out
}

/// Shifts every line's indentation by `delta` columns, only where the
/// line break is whitespace between tokens: strings and comments keep
/// their bytes, and blank lines stay blank.
fn reindent(text: &str, delta: isize) -> String {
    if delta == 0 {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (kind, piece) in rnix::tokenize(text) {
        if kind != SyntaxKind::TOKEN_WHITESPACE || !piece.contains('\n') {
            out.push_str(piece);
            continue;
        }
        let (head, last) = piece.rsplit_once('\n').expect("has a newline");
        out.push_str(head);
        out.push('\n');
        let spaces = last.len() - last.trim_start_matches(' ').len();
        let new = (spaces as isize + delta).max(0) as usize;
        out.push_str(&" ".repeat(new));
        out.push_str(&last[spaces..]);
    }
    out
}

fn inside(outer: Range, inner: Range) -> bool {
    inner.0 >= outer.0 && inner.1 <= outer.1
}

/// The comments on the lines right above a binding (no blank line between).
fn leading_comments(node: &rnix::SyntaxNode) -> Vec<String> {
    leading_comment_tokens(node)
        .iter()
        .map(|t| t.text().to_string())
        .collect()
}

fn leading_comments_start(node: &rnix::SyntaxNode) -> Option<usize> {
    leading_comment_tokens(node)
        .first()
        .map(|t| usize::from(t.text_range().start()))
}

fn leading_comment_tokens(node: &rnix::SyntaxNode) -> Vec<rnix::SyntaxToken> {
    let mut out = Vec::new();
    let mut cur = node.prev_sibling_or_token();
    while let Some(el) = cur {
        match el.kind() {
            SyntaxKind::TOKEN_WHITESPACE => {
                let t = el.as_token().expect("a token").text().to_string();
                if t.matches('\n').count() != 1 {
                    break;
                }
            }
            SyntaxKind::TOKEN_COMMENT => {
                let tok = el.as_token().expect("a token").clone();
                // A comment after a binding on its own line belongs to it.
                let own_line = match tok.prev_sibling_or_token() {
                    Some(p) if p.kind() == SyntaxKind::TOKEN_WHITESPACE => {
                        p.as_token().is_some_and(|t| t.text().contains('\n'))
                    }
                    Some(_) => false,
                    None => true,
                };
                if !own_line {
                    break;
                }
                out.push(tok);
            }
            _ => break,
        }
        cur = el.prev_sibling_or_token();
    }
    out.reverse();
    out
}

/// Whitespace-blind text, to compare two expressions.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The offset of the newline ending the line `at` is on (or the end).
fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i)
}

/// The indentation (in columns) of the line `at` is on.
fn indent_of(text: &str, at: usize) -> usize {
    let ls = line_start(text, at);
    text[ls..].len() - text[ls..].trim_start_matches(' ').len()
}

/// `[start, end)` grown to whole lines when nothing else is on them, and
/// whether it was.
fn line_span(text: &str, start: usize, end: usize) -> (Range, bool) {
    let ls = line_start(text, start);
    let le = line_end(text, end);
    let before_blank = text[ls..start].trim().is_empty();
    let after_blank = text[end..le].trim().is_empty();
    if before_blank && after_blank {
        ((ls, (le + 1).min(text.len())), true)
    } else {
        ((start, end), false)
    }
}

/// The start of the blank lines right before the line starting at `at`.
fn blank_lines_before(text: &str, at: usize) -> usize {
    let mut start = at;
    while start > 0 {
        let prev = line_start(text, start - 1);
        if text[prev..start].trim().is_empty() {
            start = prev;
        } else {
            break;
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindent_moves_code_not_strings() {
        let text = "{\n  a = ''\n    x\n  '';\n\n  b = 1;\n}";
        assert_eq!(
            reindent(text, 2),
            "{\n    a = ''\n    x\n  '';\n\n    b = 1;\n  }"
        );
        assert_eq!(reindent("{\n    b = 1;\n  }", -2), "{\n  b = 1;\n}");
    }
}
