//! Diagnostics on stderr with the source snippet they point at, via miette.

use std::path::Path;

use clan_migrate::diagnostic::Severity;
use clan_migrate::report::DiagnosticReport;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

#[derive(Debug)]
struct Shown {
    d: DiagnosticReport,
    source: Option<NamedSource<String>>,
    span: Option<SourceSpan>,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.d.file, self.d.line, self.d.column) {
            (Some(file), Some(l), Some(c)) => write!(f, "{file}:{l}:{c}: {}", self.d.message),
            (Some(file), _, _) => write!(f, "{file}: {}", self.d.message),
            _ => write!(f, "{}", self.d.message),
        }
    }
}

impl std::error::Error for Shown {}

impl miette::Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            None, span,
        ))))
    }
}

/// Renders one diagnostic with its snippet (when the file can be read).
pub fn render(dir: &Path, d: &DiagnosticReport, color: bool) -> String {
    let (source, span) = match (&d.file, d.line, d.column) {
        (Some(file), Some(line), Some(col))
            if !(line == 1 && col == 1 && d.code != "parse-error") =>
        {
            match std::fs::read_to_string(dir.join(file)) {
                Ok(text) => {
                    let offset = offset_of(&text, line, col);
                    let len = text[offset..]
                        .chars()
                        .next()
                        .map(char::len_utf8)
                        .unwrap_or(0);
                    (
                        Some(NamedSource::new(file, text)),
                        Some(SourceSpan::from((offset, len))),
                    )
                }
                Err(_) => (None, None),
            }
        }
        _ => (None, None),
    };
    let shown = Shown {
        d: d.clone(),
        source,
        span,
    };
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    if handler.render_report(&mut out, &shown).is_err() {
        out = format!("{}: {shown}\n", d.severity.as_str());
    }
    out
}

fn offset_of(text: &str, line: u32, col: u32) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let rest = &text[start.min(text.len())..];
    start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1) as usize)
            .map(|(i, _)| i)
            .unwrap_or(rest.len())
}
