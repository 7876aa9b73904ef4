//! Parse errors in words a Nix user knows: shared by discovery and the
//! loader, so that neither depends on the other for them.

use rnix::{ParseError, SyntaxKind};

use crate::diagnostic::{Diagnostic, Location, codes};
use crate::source::SourceFile;

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

/// A path or string that rnix accepts but Nix rejects (`./x ${y}`).
pub fn malformed_diagnostic(file: &SourceFile, range: (usize, usize)) -> Diagnostic {
    Diagnostic::error(
        codes::PARSE_ERROR,
        "syntax error: this path or string is not valid Nix (an interpolation cannot follow a space in a path)",
    )
    .at(Location::new(file, range))
    .help("fix the syntax (check with `nix-instantiate --parse FILE`); this file is never edited while it does not parse")
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
