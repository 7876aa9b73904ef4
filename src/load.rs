//! Parse and index every module the hosts reach, following `imports`
//! breadth-first. Each file is read, parsed and indexed once, in parallel,
//! and its tree is dropped straight after: only the index is kept, so
//! memory stays flat on large fleets.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rnix::{ParseError, Root, SyntaxKind};

use crate::diagnostic::{Diagnostic, Location, codes};
use crate::discover::Discovery;
use crate::index::{ImportTarget, ModuleIndex, ModuleKey, index_file};
use crate::source::SourceFile;

/// Every module reached, the import edges between them, and per host the
/// set of modules it evaluates.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    pub modules: BTreeMap<ModuleKey, ModuleIndex>,
    pub edges: BTreeMap<ModuleKey, Vec<ModuleKey>>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files that failed to parse (never edited, reported as errors).
    pub broken_files: BTreeSet<PathBuf>,
}

/// Progress callbacks, so the caller can draw a bar; the library itself
/// knows nothing of terminals.
pub trait Progress: Sync {
    fn files_found(&self, _total: usize) {}
    fn file_done(&self, _path: &Path) {}
}

/// A progress sink that reports nothing.
pub struct Silent;
impl Progress for Silent {}

enum FileOutcome {
    Indexed(Vec<ModuleIndex>),
    Broken(Vec<Diagnostic>),
    Unreadable(Diagnostic),
}

pub fn load(repo: &Path, discovery: &Discovery, progress: &dyn Progress) -> ModuleGraph {
    let mut g = ModuleGraph::default();
    g.broken_files
        .extend(discovery.broken_files.iter().cloned());
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut frontier: Vec<PathBuf> = Vec::new();
    let mut pending: Vec<ModuleIndex> = discovery.inline_modules.clone();
    for host in &discovery.hosts {
        for m in &host.modules {
            if m.inline.is_none() && seen.insert(m.file.clone()) {
                frontier.push(m.file.clone());
            }
        }
    }
    let mut total = frontier.len();
    progress.files_found(total);
    loop {
        // Resolve the imports of every module indexed so far.
        for module in pending.drain(..) {
            let mut out = Vec::new();
            for import in &module.imports {
                match &import.target {
                    ImportTarget::Inline(range) => out.push(ModuleKey {
                        file: module.key.file.clone(),
                        inline: Some(*range),
                    }),
                    ImportTarget::Path(p) => match resolve_module_path(repo, p) {
                        Some(file) => {
                            if seen.insert(file.clone()) {
                                frontier.push(file.clone());
                            }
                            out.push(ModuleKey::file(file));
                        }
                        None => g.diagnostics.push(
                            Diagnostic::error(
                                codes::IMPORT_MISSING,
                                format!(
                                    "imported path `{}` does not exist",
                                    crate::source::display_path(p)
                                ),
                            )
                            .at(import.location.clone())
                            .help("fix or remove the import; Nix would fail to evaluate this host"),
                        ),
                    },
                }
            }
            g.edges.entry(module.key.clone()).or_default().extend(out);
            g.diagnostics.extend(module.diagnostics.iter().cloned());
            g.modules.insert(module.key.clone(), module);
        }
        if frontier.is_empty() {
            break;
        }
        let batch = std::mem::take(&mut frontier);
        let outcomes: Vec<(PathBuf, FileOutcome)> = batch
            .into_par_iter()
            .map(|path| {
                let outcome = process_file(repo, &path);
                progress.file_done(&path);
                (path, outcome)
            })
            .collect();
        for (path, outcome) in outcomes {
            match outcome {
                FileOutcome::Indexed(modules) => pending.extend(modules),
                FileOutcome::Broken(diags) => {
                    g.diagnostics.extend(diags);
                    g.broken_files.insert(path);
                }
                FileOutcome::Unreadable(d) => g.diagnostics.push(d),
            }
        }
        if frontier.len() + total > total {
            total += frontier.len();
            progress.files_found(total);
        }
    }
    g
}

impl ModuleGraph {
    /// Every module reachable from `roots` through `imports`.
    pub fn closure(&self, roots: &[ModuleKey]) -> BTreeSet<ModuleKey> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<ModuleKey> = roots.to_vec();
        while let Some(k) = stack.pop() {
            if !seen.insert(k.clone()) {
                continue;
            }
            if let Some(next) = self.edges.get(&k) {
                stack.extend(next.iter().cloned());
            }
        }
        seen
    }
}

/// `p` as a module file: a `.nix` file, or a directory's `default.nix`.
fn resolve_module_path(repo: &Path, p: &Path) -> Option<PathBuf> {
    let abs = repo.join(p);
    if abs.is_file() {
        Some(p.to_path_buf())
    } else if abs.join("default.nix").is_file() {
        Some(p.join("default.nix"))
    } else {
        None
    }
}

fn process_file(repo: &Path, path: &Path) -> FileOutcome {
    let text = match std::fs::read(repo.join(path)) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                return FileOutcome::Unreadable(
                    Diagnostic::error(
                        codes::READ_ERROR,
                        "file is not valid UTF-8; Nix source must be",
                    )
                    .at(Location::file(path)),
                );
            }
        },
        Err(e) => {
            return FileOutcome::Unreadable(
                Diagnostic::error(codes::READ_ERROR, format!("cannot read file: {e}"))
                    .at(Location::file(path)),
            );
        }
    };
    let file = SourceFile::new(path.to_path_buf(), text);
    let parse = Root::parse(&file.text);
    if !parse.errors().is_empty() {
        return FileOutcome::Broken(parse_diagnostics(&file, parse.errors()));
    }
    FileOutcome::Indexed(index_file(&file, &parse.tree()))
}

/// One diagnostic per parse error, in words a Nix user knows.
pub fn parse_diagnostics(file: &SourceFile, errors: &[ParseError]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for e in errors {
        let end = file.text.len();
        let (range, message) = match e {
            ParseError::Unexpected(r) => (span(*r), "unexpected input".to_string()),
            ParseError::UnexpectedExtra(r) => (
                span(*r),
                "unexpected input after the end of the expression".to_string(),
            ),
            ParseError::UnexpectedWanted(got, r, wanted) => (
                span(*r),
                format!(
                    "unexpected {}, expected {}",
                    token_name(*got),
                    one_of(wanted)
                ),
            ),
            ParseError::UnexpectedDoubleBind(r) => {
                (span(*r), "a function parameter is bound twice".to_string())
            }
            ParseError::UnexpectedEOF => ((end, end), "unexpected end of file".to_string()),
            ParseError::UnexpectedEOFWanted(wanted) => (
                (end, end),
                format!("unexpected end of file, expected {}", one_of(wanted)),
            ),
            ParseError::DuplicatedArgs(r, name) => {
                (span(*r), format!("argument `{name}` is listed twice"))
            }
            ParseError::RecursionLimitExceeded => {
                ((0, 0), "expression nested too deeply to parse".to_string())
            }
            other => ((0, 0), other.to_string()),
        };
        let d = Diagnostic::error(codes::PARSE_ERROR, format!("syntax error: {message}"))
            .at(Location::new(file, range))
            .help("fix the syntax (check with `nix-instantiate --parse FILE`); this file is never edited while it does not parse");
        // rnix often reports a cascade at the same place; one is enough.
        if !out.iter().any(|o| o.location == d.location) {
            out.push(d);
        }
    }
    out
}

fn span(r: rnix::TextRange) -> (usize, usize) {
    (usize::from(r.start()), usize::from(r.end()))
}

fn one_of(kinds: &[SyntaxKind]) -> String {
    let names: Vec<String> = kinds.iter().map(|k| token_name(*k)).collect();
    match names.len() {
        0 => "something else".to_string(),
        1 => names[0].clone(),
        _ => format!("one of {}", names.join(", ")),
    }
}

fn token_name(kind: SyntaxKind) -> String {
    use SyntaxKind::*;
    let s = match kind {
        TOKEN_SEMICOLON => "`;`",
        TOKEN_ASSIGN => "`=`",
        TOKEN_L_BRACE => "`{`",
        TOKEN_R_BRACE => "`}`",
        TOKEN_L_BRACK => "`[`",
        TOKEN_R_BRACK => "`]`",
        TOKEN_L_PAREN => "`(`",
        TOKEN_R_PAREN => "`)`",
        TOKEN_COLON => "`:`",
        TOKEN_COMMA => "`,`",
        TOKEN_DOT => "`.`",
        TOKEN_IN => "`in`",
        TOKEN_THEN => "`then`",
        TOKEN_ELSE => "`else`",
        TOKEN_IDENT | NODE_IDENT => "an identifier",
        TOKEN_STRING_START | NODE_STRING => "a string",
        TOKEN_STRING_END => "the end of the string",
        TOKEN_INTERPOL_END => "`}` closing the interpolation",
        NODE_ATTRPATH => "an attribute name",
        TOKEN_ERROR => "an invalid character",
        other => {
            return format!("{other:?}")
                .trim_start_matches("TOKEN_")
                .trim_start_matches("NODE_")
                .to_lowercase()
                .replace('_', " ");
        }
    };
    s.to_string()
}
