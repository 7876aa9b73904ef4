//! Source text of one file with a line index, so byte offsets from the
//! parser can be reported as 1-based `line:column` the way editors count.

use std::path::{Path, PathBuf};

/// A 1-based line and column; the column counts characters, not bytes,
/// so a location next to a non-ASCII name still lands on the right glyph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the repository root, with `/` separators.
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<u32>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(
                text.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i as u32 + 1),
            )
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn line_col(&self, offset: usize) -> LineCol {
        line_col(&self.text, &self.line_starts, offset)
    }
}

fn line_col(text: &str, line_starts: &[u32], offset: usize) -> LineCol {
    let offset = offset.min(text.len());
    let line = match line_starts.binary_search(&(offset as u32)) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    let start = line_starts[line] as usize;
    let column = text
        .get(start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(offset - start);
    LineCol {
        line: line as u32 + 1,
        column: column as u32 + 1,
    }
}

/// Renders a repository-relative path with `/` separators on every platform.
pub fn display_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based_and_count_chars() {
        let f = SourceFile::new("a.nix".into(), "ab\nüx = 1;\n".into());
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        // 'x' sits after the two-byte 'ü'.
        assert_eq!(f.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(f.line_col(999), LineCol { line: 3, column: 1 });
    }
}
