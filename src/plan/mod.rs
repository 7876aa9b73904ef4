//! Plan: the edits that share each repeated user, one user at a time.
//! Each user's move is applied in memory, every touched file re-parsed and
//! checked, the tree re-indexed (only changed files), and every affected
//! host's effective users compared with what they were; a move that
//! changes anything is refused and left out, with the reason.

pub(crate) mod edit;
mod extract;
pub mod moves;
pub mod notice;
mod print;
mod render;
pub mod report;
pub mod service;

mod batch;
mod clan;
mod context;
mod diff;
mod sequential;
mod steps;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analyse::{self, Status};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover;
use crate::fs::DiskFs;
use crate::index::UserOption;
use crate::load::{self, Progress};
use crate::verify;
use crate::{Error, ScanOptions};

pub use diff::unified_diff;
pub use moves::{ParsedFile, Password, ServiceMove, Stay, Target, Trees, UserMove};
pub use notice::Notice;
pub use report::{ApplyReport, PlanReport};
pub use steps::StepCheck;

use batch::batched;
use context::{Ctx, service_ctx};
use sequential::sequential;
use steps::{files_of_steps, merge_steps};

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub scan: ScanOptions,
    /// Only these users; all repeated users when empty.
    pub users: Vec<String>,
    pub to: TargetKind,
}

/// `--to module`, `--to service` or `--to clan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetKind {
    #[default]
    Module,
    Service,
    /// The flake becomes a Clan flake; users stay where they are.
    Clan,
}

/// One file's contents before and after a step (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: PathBuf,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Everything that shares one user: its NixOS and home-manager parts.
#[derive(Debug, Clone)]
pub struct Step {
    pub user: String,
    pub moves: Vec<UserMove>,
    /// The step that makes a plain flake a Clan flake (no user, no moves).
    pub conversion: Option<Arc<crate::clan::Conversion>>,
}

impl Step {
    /// `users: share alice across alpha, beta` and a body saying what
    /// moved and what stayed.
    pub fn commit_message(&self) -> String {
        if let Some(c) = &self.conversion {
            return c.commit_message();
        }
        let hosts: BTreeSet<&str> = self
            .moves
            .iter()
            .flat_map(|m| m.hosts.iter().map(String::as_str))
            .collect();
        let hosts: Vec<&str> = hosts.into_iter().collect();
        let across = if hosts.len() <= 8 {
            hosts.join(", ")
        } else {
            format!("{} hosts", hosts.len())
        };
        let mut msg = format!("users: share {} across {across}\n", self.user);
        for m in &self.moves {
            msg.push('\n');
            if let Some(svc) = &m.service {
                msg.push_str(&service::describe(m, svc));
                if m.created().is_none() {
                    continue;
                }
            }
            msg.push_str(&format!(
                "Moved to {}:\n",
                crate::source::display_path(&m.new_file)
            ));
            for a in &m.moved {
                msg.push_str(&format!("- {a}\n"));
            }
            for a in &m.partial {
                msg.push_str(&format!("- {a} (the elements common to every host)\n"));
            }
            if !m.stays.is_empty() {
                msg.push_str("Stays on the hosts:\n");
                for s in &m.stays {
                    msg.push_str(&format!("- {s}\n"));
                }
            }
        }
        msg
    }
}

/// A user that was asked for (or is repeated) but is not moved, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub user: String,
    pub option: UserOption,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub skipped: Vec<Skipped>,
    /// What the target changes beyond the move and what the user should
    /// know or do (service target: superseded passwords, mutableUsers,
    /// users that stay modules).
    pub notices: Vec<Notice>,
    /// Findings of the scan the plan rests on (warnings and notes).
    pub diagnostics: Vec<Diagnostic>,
    /// Every changed file, from its original to its final contents.
    files: Vec<FileChange>,
    /// Where each step's files come from: worked out already, or to be
    /// rendered from the parsed originals when asked for (only `apply`
    /// needs them, so `plan` does not pay for them).
    step_files: StepFiles,
    /// The fleet's index the plan was made from. The plan no longer needs
    /// it, but freeing it is work: it goes when the plan goes (and a
    /// command that ends with the plan need never free it).
    index: Retained,
}

/// The index the plan was made from, kept only to be freed with the plan.
#[derive(Clone, Default)]
struct Retained(Option<Arc<load::ModuleGraph>>);

impl std::fmt::Debug for Retained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Retained" } else { "None" })
    }
}

#[derive(Clone, Default)]
enum StepFiles {
    #[default]
    None,
    Known(Vec<Vec<FileChange>>),
    Render(Arc<Trees>, Option<service::Home>),
}

impl std::fmt::Debug for StepFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepFiles::None => f.write_str("None"),
            StepFiles::Known(v) => write!(f, "Known({} steps)", v.len()),
            StepFiles::Render(t, _) => write!(f, "Render({} files)", t.len()),
        }
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Every changed file, from its original to its final contents.
    pub fn files(&self) -> Vec<FileChange> {
        self.files.clone()
    }

    /// `files`, without copying them.
    pub fn changed_files(&self) -> &[FileChange] {
        &self.files
    }

    /// Each step's files, as [`Plan::step_files`], but only their new
    /// contents (each change's `before` is `None`), for `apply`; then the
    /// plan lets go of what they were rendered from. Everything else the
    /// plan kept (the index, the parses of files no step changes) goes
    /// first, so that the texts, and then the commits' objects, reuse its
    /// memory.
    pub fn take_step_files(&mut self) -> Vec<Vec<FileChange>> {
        self.index = Retained::default();
        match std::mem::take(&mut self.step_files) {
            StepFiles::None => vec![Vec::new(); self.steps.len()],
            StepFiles::Known(mut v) => {
                v.iter_mut().flatten().for_each(|c| c.before = None);
                v
            }
            StepFiles::Render(trees, home) => {
                files_of_steps(&trees, home.as_ref(), &self.steps, &self.files, false)
            }
        }
    }

    /// Per step, the files it changes, from their contents after the
    /// previous step to their contents after this one: one commit each.
    pub fn step_files(&self) -> Vec<Vec<FileChange>> {
        match &self.step_files {
            StepFiles::None => vec![Vec::new(); self.steps.len()],
            StepFiles::Known(v) => v.clone(),
            StepFiles::Render(trees, home) => {
                files_of_steps(trees, home.as_ref(), &self.steps, &self.files, true)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Scan(#[from] Error),
    #[error("the scan found errors; nothing is planned until they are fixed")]
    Blocked { diagnostics: Vec<Diagnostic> },
    #[error("{0} is not a Clan flake: an inventory in clan.nix would reach no machine")]
    NotClan(String),
    #[error(transparent)]
    Clan(#[from] crate::clan::ClanError),
    #[error("cannot place the users instances: {0}")]
    NoInventory(String),
    #[error("no user named {}; the users defined here are: {}", .unknown.join(", "), .known.join(", "))]
    UnknownUser {
        unknown: Vec<String>,
        known: Vec<String>,
    },
}

pub fn plan(repo: &Path, opts: &PlanOptions, progress: &dyn Progress) -> Result<Plan, PlanError> {
    plan_with(repo, opts, &crate::clan::ClanOptions::default(), progress)
}

/// `plan`, with what `--to clan` (and `--to service` on a plain flake,
/// which converts it first) may be told.
pub fn plan_with(
    repo: &Path,
    opts: &PlanOptions,
    clan_opts: &crate::clan::ClanOptions,
    progress: &dyn Progress,
) -> Result<Plan, PlanError> {
    if opts.to != TargetKind::Module
        && repo.is_dir()
        && let Some(p) = clan::converting(repo, opts, clan_opts, progress)?
    {
        return Ok(p);
    }
    plan_here(repo, opts, progress)
}

/// The users' moves, on the flake as it is.
fn plan_here(repo: &Path, opts: &PlanOptions, progress: &dyn Progress) -> Result<Plan, PlanError> {
    if !repo.is_dir() {
        return Err(Error::MissingDir {
            path: repo.to_path_buf(),
        }
        .into());
    }
    let disk = DiskFs::new(repo);
    let discovery = discover::discover(repo, &opts.scan.discover);
    let graph = load::load_keeping_parses(&disk, &discovery, progress);
    let diagnostics = crate::findings(&discovery, &graph);
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(PlanError::Blocked { diagnostics });
    }
    let analysis = analyse::analyse(&discovery.hosts, &graph, opts.scan.min_hosts);

    let known: BTreeSet<&str> = analysis
        .users
        .iter()
        .filter(|u| u.status != Status::Dynamic)
        .map(|u| u.name.as_str())
        .collect();
    let unknown: Vec<String> = opts
        .users
        .iter()
        .filter(|u| !known.contains(u.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(PlanError::UnknownUser {
            unknown,
            known: known.iter().map(|s| s.to_string()).collect(),
        });
    }
    let mut plan = Plan {
        diagnostics,
        ..Plan::default()
    };
    let wanted = |name: &str| opts.users.is_empty() || opts.users.iter().any(|u| u == name);
    let service_users = verify::service_users(&graph);
    let mut names: BTreeSet<String> = BTreeSet::new();
    for u in &analysis.users {
        if !wanted(&u.name) || u.status == Status::Dynamic {
            continue;
        }
        // A user already shared through a module can still become a
        // service instance, when asked for by name.
        let to_service = opts.to == TargetKind::Service
            && u.status == Status::Shared
            && u.option == UserOption::Users
            && !opts.users.is_empty()
            && !service_users.contains(u.name.as_str());
        if u.status == Status::Repeated || to_service {
            names.insert(u.name.clone());
        } else if !opts.users.is_empty() {
            plan.skipped.push(Skipped {
                user: u.name.clone(),
                option: u.option,
                reason: match u.status {
                    Status::Shared => "already shared through a module every host imports".into(),
                    _ => format!("defined on {} only", crate::report::host_list(&u.hosts)),
                },
            });
        }
    }

    let mut frozen: BTreeSet<PathBuf> = discovery
        .inline_modules
        .iter()
        .map(|m| m.key.file.clone())
        .collect();
    frozen.extend(discovery.inventory_files.iter().cloned());
    let service = match opts.to {
        TargetKind::Module | TargetKind::Clan => None,
        TargetKind::Service => Some(service_ctx(
            repo, &discovery, &graph, &analysis, &names, &mut plan,
        )?),
    };
    let ctx = Ctx {
        disk: &disk,
        discovery: &discovery,
        frozen: &frozen,
        opts,
        service: service.as_ref(),
    };
    let notices_before = plan.notices.len();
    let batch = if force_sequential() {
        None
    } else {
        batched(&ctx, &graph, &analysis, &names, &mut plan)
    };
    drop(analysis);
    match batch {
        Some((steps, files, trees)) => {
            plan.steps = steps;
            plan.files = files;
            plan.step_files =
                StepFiles::Render(Arc::new(trees), ctx.service.map(|s| s.home.clone()));
            plan.index = Retained(Some(Arc::new(graph)));
        }
        None => {
            // Some refusal could not be pinned on one user: plan them one
            // at a time, verifying each on its own.
            plan.skipped.retain(|s| !names.contains(&s.user));
            // Its notices too: they were about moves it gave up on.
            plan.notices.truncate(notices_before);
            let (steps, per_step) = sequential(&ctx, graph, &names, &mut plan);
            batch::notice_service(&ctx, &steps, &mut plan);
            plan.files = merge_steps(&per_step);
            plan.steps = steps;
            plan.step_files = StepFiles::Known(per_step);
        }
    }
    Ok(plan)
}

/// Only tests take the one-at-a-time planner on purpose.
#[cfg(not(test))]
fn force_sequential() -> bool {
    false
}
#[cfg(test)]
use tests::force_sequential;

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::Path;

    use super::*;

    thread_local! {
        static SEQUENTIAL: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn force_sequential() -> bool {
        SEQUENTIAL.with(Cell::get)
    }

    fn plan_of(case: &str, to: TargetKind, sequential: bool) -> Plan {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(case);
        let opts = PlanOptions {
            scan: ScanOptions::default(),
            users: Vec::new(),
            to,
        };
        SEQUENTIAL.with(|s| s.set(sequential));
        let p = plan(&repo, &opts, &crate::Silent).unwrap();
        SEQUENTIAL.with(|s| s.set(false));
        p
    }

    /// The fallback planner tells the user the same things: the service
    /// target's superseded passwords and `users.mutableUsers`, each once.
    #[test]
    fn both_planners_give_the_same_notices_and_files() {
        for (case, to) in [
            ("service", TargetKind::Service),
            ("service-bare", TargetKind::Service),
            ("example", TargetKind::Module),
        ] {
            let batch = plan_of(case, to, false);
            let one_by_one = plan_of(case, to, true);
            assert!(!batch.steps.is_empty(), "{case}");
            assert_eq!(batch.notices, one_by_one.notices, "{case}");
            assert_eq!(batch.changed_files(), one_by_one.changed_files(), "{case}");
            let users = |p: &Plan| p.steps.iter().map(|s| s.user.clone()).collect::<Vec<_>>();
            assert_eq!(users(&batch), users(&one_by_one), "{case}");
        }
        let service = plan_of("service", TargetKind::Service, true);
        assert!(
            service
                .notices
                .iter()
                .any(|n| n.code == notice::codes::PASSWORD_SUPERSEDED && !n.commands.is_empty())
        );
    }
}
