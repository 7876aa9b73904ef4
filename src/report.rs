//! The scan report as plain data: what `scan --json` prints (field names
//! are a contract: add freely, never rename) and what the human report is
//! drawn from. Paths are relative to the repository, lines and columns
//! 1-based, lists sorted.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::analyse::{Analysis, Status, dotted};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::Host;
use crate::index::{Setting, UserOption};
use crate::load::ModuleGraph;
use crate::source::display_path;

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub hosts: Vec<HostReport>,
    pub users: Vec<UserReport>,
    pub diagnostics: Vec<DiagnosticReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub name: String,
    /// The host's own file: the module named after it (under its
    /// directory), the one only it starts from, or the one given with `--host`.
    pub root: String,
    pub found_by: &'static str,
    /// The host's modules that other hosts get too (a helper's common
    /// modules, colmena `defaults`, a module imported by several hosts).
    pub shared: Vec<String>,
    pub files: Vec<String>,
    /// Every definition of `users.mutableUsers` the host evaluates.
    pub mutable_users: Vec<SettingReport>,
}

/// A definition of a setting such as `users.mutableUsers`.
#[derive(Debug, Clone, Serialize)]
pub struct SettingReport {
    /// `true` or `false` when the value is a literal, else `null`.
    pub value: Option<bool>,
    /// The value's source text, wrappers removed.
    pub expression: String,
    /// The module system's priority (100 plain, `mkForce` 50, `mkDefault`
    /// 1000); `null` when it cannot be read.
    pub priority: Option<u32>,
    /// Under `mkIf`/`if`, or in a module imported under a condition.
    pub conditional: bool,
    pub file: String,
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserReport {
    pub name: String,
    /// `users.users` or `home-manager.users`.
    pub option: UserOption,
    pub status: Status,
    pub hosts: Vec<String>,
    pub definitions: Vec<DefinitionReport>,
    pub common: Vec<String>,
    pub differing: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DefinitionReport {
    /// The host whose own module holds the definition; `null` when the
    /// module is shared by several hosts (see `hosts`).
    pub host: Option<String>,
    /// Every host that evaluates this definition.
    pub hosts: Vec<String>,
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The option path as written: `users.users` or `users.extraUsers`.
    pub spelling: String,
    /// Attribute paths below the user that this definition sets.
    pub attrs: Vec<String>,
    /// Under `mkIf` (or `if`), or in a module imported only under a
    /// condition: applies only when the condition holds.
    pub conditional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticReport {
    pub severity: Severity,
    pub code: &'static str,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl From<&Diagnostic> for DiagnosticReport {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticReport {
            severity: d.severity,
            code: d.code,
            file: d.location.as_ref().map(|l| display_path(&l.file)),
            line: d.location.as_ref().map(|l| l.start.line),
            column: d.location.as_ref().map(|l| l.start.column),
            message: d.message.clone(),
            help: d.help.clone(),
        }
    }
}

impl ScanReport {
    pub fn build(
        hosts: &[Host],
        graph: &ModuleGraph,
        analysis: &Analysis<'_>,
        diagnostics: &[Diagnostic],
    ) -> Self {
        // How many hosts get each module.
        let mut reach = vec![0usize; graph.modules.len()];
        for ids in &analysis.host_modules {
            let unique: BTreeSet<usize> = ids.iter().map(|&(id, _)| id).collect();
            for id in unique {
                reach[id] += 1;
            }
        }
        let host_reports = hosts
            .iter()
            .zip(&analysis.host_modules)
            .map(|(h, ids)| {
                let files: BTreeSet<String> = ids
                    .iter()
                    .map(|&(id, _)| display_path(&graph.modules[id].key.file))
                    .collect();
                let mut mutable_users: Vec<SettingReport> = ids
                    .iter()
                    .flat_map(|&(id, conditional_import)| {
                        graph.modules[id]
                            .settings
                            .iter()
                            .filter(|s| s.setting == Setting::MutableUsers)
                            .map(move |s| SettingReport {
                                value: s.as_bool(),
                                expression: s.value.clone(),
                                priority: s.priority,
                                conditional: s.conditional || conditional_import,
                                file: display_path(&s.location.file),
                                line: s.location.start.line,
                                column: s.location.start.column,
                            })
                    })
                    .collect();
                mutable_users
                    .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
                mutable_users
                    .dedup_by(|a, b| (&a.file, a.line, a.column) == (&b.file, b.line, b.column));
                let root = display_path(&h.root);
                let shared: BTreeSet<String> = ids
                    .iter()
                    .filter(|&&(id, _)| reach[id] > 1)
                    .map(|&(id, _)| display_path(&graph.modules[id].key.file))
                    .filter(|f| *f != root)
                    .collect();
                HostReport {
                    name: h.name.clone(),
                    root,
                    found_by: h.found_by.as_str(),
                    shared: shared.into_iter().collect(),
                    files: files.into_iter().collect(),
                    mutable_users,
                }
            })
            .collect();
        use rayon::prelude::*;
        let users = analysis
            .users
            .par_iter()
            .map(|u| UserReport {
                name: u.name.clone(),
                option: u.option,
                status: u.status,
                hosts: u.hosts.clone(),
                definitions: u
                    .definitions
                    .iter()
                    .map(|p| {
                        let attrs: BTreeSet<String> = p
                            .definition
                            .leaves
                            .iter()
                            .map(|l| dotted(&l.path))
                            .collect();
                        DefinitionReport {
                            host: p.is_local().then(|| p.hosts[0].clone()),
                            hosts: p.hosts.to_vec(),
                            file: display_path(&p.definition.location.file),
                            line: p.definition.location.start.line,
                            column: p.definition.location.start.column,
                            spelling: p.definition.spelling.join("."),
                            attrs: attrs.into_iter().collect(),
                            conditional: p.definition.is_conditional() || p.conditional_import,
                        }
                    })
                    .collect(),
                common: u.common.clone(),
                differing: u.differing.clone(),
            })
            .collect();
        let mut diags: Vec<&Diagnostic> = diagnostics.iter().collect();
        diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let mut diagnostics: Vec<DiagnosticReport> =
            diags.into_iter().map(DiagnosticReport::from).collect();
        diagnostics.dedup();
        ScanReport {
            hosts: host_reports,
            users,
            diagnostics,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// A list of host names for people to read: all of them when few, else
/// the first ones and how many more, so a message about a user on 400
/// hosts stays one line.
pub fn host_list<S: AsRef<str>>(hosts: &[S]) -> String {
    const SHOWN: usize = 8;
    let names: Vec<&str> = hosts.iter().map(AsRef::as_ref).collect();
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more ({} hosts)",
            names[..SHOWN].join(", "),
            names.len() - SHOWN,
            names.len()
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_host_lists_are_shortened() {
        assert_eq!(super::host_list(&["a", "b"]), "a, b");
        let many: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
        assert_eq!(
            super::host_list(&many),
            "h0, h1, h2, h3, h4, h5, h6, h7 and 2 more (10 hosts)"
        );
    }
}
