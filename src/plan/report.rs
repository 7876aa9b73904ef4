//! The plan as plain data: what `plan --json` and `apply --json` print
//! (field names are a contract: add freely, never rename). Paths are
//! relative to the repository, lines and columns 1-based.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{FileChange, Notice, Plan, TargetKind, UserMove};
use crate::diagnostic::Severity;
use crate::index::UserOption;
use crate::report::DiagnosticReport;
use crate::source::display_path;

#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The target asked for (`--to`): `module` or `service`.
    pub target: &'static str,
    /// One entry per user and option that moves, in commit order.
    pub users: Vec<MoveReport>,
    /// Users asked for (or repeated) that do not move, and why.
    pub skipped: Vec<SkippedReport>,
    /// Notices not about a user that moves (those are in its entry).
    pub notices: Vec<NoticeReport>,
    /// Every file the plan creates, changes or deletes.
    pub files: FilesReport,
    /// The scan's findings the plan rests on.
    pub diagnostics: Vec<DiagnosticReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    pub name: String,
    /// `users.users` or `home-manager.users`.
    pub option: UserOption,
    /// Where this user goes: `module` or `service` (a user the service
    /// cannot take stays on `module`; its notice says why).
    pub target: &'static str,
    pub hosts: Vec<String>,
    /// The shared module the move creates, if any.
    pub module: Option<String>,
    /// The service target's inventory instance (`<name>-user`).
    pub instance: Option<String>,
    /// Attribute paths that move whole.
    pub moves: Vec<String>,
    /// List attributes whose elements common to every host move, the
    /// rest staying (their order across modules may change).
    pub moves_common_elements: Vec<String>,
    /// Lists the hosts wrote in different orders (the module keeps one).
    pub reordered: Vec<String>,
    pub stays: Vec<StayReport>,
    /// Attributes dropped because the service sets them.
    pub dropped: Vec<String>,
    /// For the service target: what the instance's settings get.
    pub settings: Option<SettingsReport>,
    pub files: FilesReport,
    pub notices: Vec<NoticeReport>,
}

/// What a users instance gets from a move. Elements are Nix expressions
/// as the inventory holds them (`"wheel"`, `./keys/bob.pub`).
#[derive(Debug, Clone, Serialize)]
pub struct SettingsReport {
    pub groups: Vec<String>,
    pub keys: Vec<String>,
    pub key_files: Vec<String>,
    /// Per host, the groups only that host gives the user.
    pub machine_groups: BTreeMap<String, Vec<String>>,
    /// The same password on every host: one shared secret.
    pub share: bool,
    /// Paths, relative to the inventory's file.
    pub extra_modules: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StayReport {
    pub attr: String,
    /// `null` when it stays on every host.
    pub host: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FilesReport {
    pub created: Vec<String>,
    pub changed: Vec<String>,
    pub deleted: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedReport {
    pub name: String,
    pub option: UserOption,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeReport {
    pub severity: Severity,
    pub code: &'static str,
    /// The user it is about, if any.
    pub user: Option<String>,
    /// And which of its options, where that matters.
    pub option: Option<UserOption>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    /// Shell command lines to run, in order (`clan vars set …`).
    pub commands: Vec<String>,
}

impl From<&Notice> for NoticeReport {
    fn from(n: &Notice) -> Self {
        NoticeReport {
            severity: n.severity,
            code: n.code,
            user: n.user.clone(),
            option: n.option,
            file: n.location.as_ref().map(|l| display_path(&l.file)),
            line: n.location.as_ref().map(|l| l.start.line),
            column: n.location.as_ref().map(|l| l.start.column),
            message: n.message.clone(),
            commands: n.commands.clone(),
        }
    }
}

/// What `apply --json` adds: what was committed (or written).
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    #[serde(flatten)]
    pub plan: PlanReport,
    /// The branch the commits are on; `null` with `--no-commit`.
    pub branch: Option<String>,
    /// The branch the new one starts from (it has not moved).
    pub base: Option<String>,
    /// The new commits, oldest first.
    pub commits: Vec<CommitReport>,
    /// With `--no-commit`: the files written into the work tree.
    pub written: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommitReport {
    /// The abbreviated commit id.
    pub id: String,
    pub summary: String,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Module => "module",
            TargetKind::Service => "service",
            TargetKind::Clan => "clan",
        }
    }
}

/// The files a move edits or creates.
fn touched(m: &UserMove) -> BTreeSet<&Path> {
    let mut files: BTreeSet<&Path> = m.deletions.keys().map(PathBuf::as_path).collect();
    files.extend(m.import_adds.iter().map(|a| a.file.as_path()));
    files.extend(m.created().map(|(f, _)| f.as_path()));
    files
}

impl FilesReport {
    fn add(&mut self, change: &FileChange) {
        let path = display_path(&change.path);
        match (&change.before, &change.after) {
            (None, _) => self.created.push(path),
            (_, None) => self.deleted.push(path),
            _ => self.changed.push(path),
        }
    }
}

impl PlanReport {
    pub fn build(plan: &Plan, target: TargetKind) -> Self {
        let changes: BTreeMap<&Path, &FileChange> = plan
            .changed_files()
            .iter()
            .map(|c| (c.path.as_path(), c))
            .collect();
        let moves: Vec<&UserMove> = plan.steps.iter().flat_map(|s| &s.moves).collect();
        // What no move touches is the inventory the service target
        // renders: every service move's instance lives there.
        let by_moves: BTreeSet<&Path> = moves.iter().flat_map(|m| touched(m)).collect();
        let inventory: Vec<&Path> = changes
            .keys()
            .copied()
            .filter(|p| !by_moves.contains(p))
            .collect();
        let moved: BTreeSet<(&str, UserOption)> =
            moves.iter().map(|m| (m.user.as_str(), m.option)).collect();
        // A notice about a user goes with the user's entry; the rest
        // (about the fleet, or a user that does not move) stand alone.
        let belongs = |n: &Notice, m: &UserMove| {
            n.user.as_deref() == Some(m.user.as_str()) && n.option.is_none_or(|o| o == m.option)
        };
        let users = moves
            .iter()
            .map(|m| {
                let mut files = FilesReport::default();
                let mut paths = touched(m);
                if m.service.is_some() {
                    paths.extend(inventory.iter().copied());
                }
                for p in paths {
                    if let Some(c) = changes.get(p) {
                        files.add(c);
                    }
                }
                MoveReport {
                    name: m.user.clone(),
                    option: m.option,
                    target: if m.service.is_some() {
                        "service"
                    } else {
                        "module"
                    },
                    hosts: m.hosts.clone(),
                    module: m.created().map(|(f, _)| display_path(f)),
                    instance: m.service.as_ref().map(|_| format!("{}-user", m.user)),
                    moves: m.moved.clone(),
                    moves_common_elements: m.partial.clone(),
                    reordered: m.reordered.clone(),
                    stays: m
                        .stays
                        .iter()
                        .map(|s| StayReport {
                            attr: s.attr.clone(),
                            host: s.host.clone(),
                            reason: s.reason.clone(),
                        })
                        .collect(),
                    dropped: m
                        .service
                        .as_ref()
                        .map(|s| s.dropped.clone())
                        .unwrap_or_default(),
                    settings: m.service.as_ref().map(|s| SettingsReport {
                        groups: s.groups.clone(),
                        keys: s.keys.clone(),
                        key_files: s.key_files.clone(),
                        machine_groups: s.machine_groups.clone(),
                        share: s.shared_password(&m.hosts),
                        extra_modules: s.extra_modules.clone(),
                    }),
                    files,
                    notices: plan
                        .notices
                        .iter()
                        .filter(|n| belongs(n, m))
                        .map(NoticeReport::from)
                        .collect(),
                }
            })
            .collect();
        let notices = plan
            .notices
            .iter()
            .filter(|n| {
                !n.user.as_deref().is_some_and(|u| match n.option {
                    Some(o) => moved.contains(&(u, o)),
                    None => moved.iter().any(|(name, _)| *name == u),
                })
            })
            .map(NoticeReport::from)
            .collect();
        let mut files = FilesReport::default();
        for c in changes.values() {
            files.add(c);
        }
        let mut diagnostics: Vec<_> = plan.diagnostics.iter().collect();
        diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let mut diagnostics: Vec<DiagnosticReport> = diagnostics
            .into_iter()
            .map(DiagnosticReport::from)
            .collect();
        diagnostics.dedup();
        PlanReport {
            target: target.as_str(),
            users,
            skipped: plan
                .skipped
                .iter()
                .map(|s| SkippedReport {
                    name: s.user.clone(),
                    option: s.option,
                    reason: s.reason.clone(),
                })
                .collect(),
            notices,
            files,
            diagnostics,
        }
    }
}
