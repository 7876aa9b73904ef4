//! Findings the tool reports to the user: each has a severity, a stable
//! code (part of the `scan --json` contract), a location and, where there
//! is one, the next step to take.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::source::{LineCol, SourceFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// Where a finding points: a file, and inside it a byte range already
/// resolved to a line and column (the text is not kept around).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: PathBuf,
    pub start: LineCol,
    pub range: (usize, usize),
}

impl Location {
    pub fn new(file: &SourceFile, range: (usize, usize)) -> Self {
        Location {
            file: file.path.clone(),
            start: file.line_col(range.0),
            range,
        }
    }

    /// A whole file, for findings about a file rather than a place in it.
    pub fn file(path: &Path) -> Self {
        Location {
            file: path.to_path_buf(),
            start: LineCol { line: 1, column: 1 },
            range: (0, 0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub location: Option<Location>,
    pub message: String,
    /// What the user can do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            location: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, message)
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sort key giving the report's order: by file, position, then code.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            self.location.as_ref().map(|l| (l.file.clone(), l.start)),
            self.code,
            &self.message,
        )
    }
}

/// Stable codes, one per kind of finding, so scripts can filter on them.
pub mod codes {
    pub const PARSE_ERROR: &str = "parse-error";
    pub const READ_ERROR: &str = "read-error";
    pub const IMPORT_MISSING: &str = "import-missing";
    pub const IMPORT_UNRESOLVED: &str = "import-unresolved";
    pub const HOSTS_COMPUTED: &str = "hosts-computed";
    pub const HOST_MODULE_UNRESOLVED: &str = "host-module-unresolved";
    pub const HOST_PATH_MISSING: &str = "host-path-missing";
    pub const NO_HOSTS: &str = "no-hosts";
    pub const HOST_NAME_GUESSED: &str = "host-name-guessed";
    pub const ORPHAN_HOST: &str = "orphan-host";
    pub const ORPHAN_MODULE: &str = "orphan-module";
    pub const DYNAMIC_USER_NAME: &str = "dynamic-user-name";
    pub const GENERATED_USERS: &str = "generated-users";
    pub const UNSUPPORTED_USERS_VALUE: &str = "unsupported-users-value";
    pub const EVAL_FAILED: &str = "eval-failed";
    pub const EVAL_FILE_OUTSIDE_REPO: &str = "eval-file-outside-repo";
    pub const CONFIG_ERROR: &str = "config-error";
    /// A machine of a Clan flake that is not NixOS (`machineClass = "darwin"`).
    pub const NOT_NIXOS: &str = "not-nixos";
}
