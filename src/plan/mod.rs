//! Plan: the edits that share each repeated user, one user at a time.
//! Each user's move is applied in memory, every touched file re-parsed and
//! checked, the tree re-indexed (only changed files), and every affected
//! host's effective users compared with what they were; a move that
//! changes anything is refused and left out, with the reason.

pub(crate) mod edit;
mod extract;
pub mod moves;
mod print;
mod render;
pub mod service;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analyse::{self, Status};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover;
use crate::fs::{DiskFs, Fs, Overlay};
use crate::index::UserOption;
use crate::load::{self, FileCache, Progress};
use crate::verify;
use crate::{Error, ScanOptions};

pub use moves::{ParsedFile, Password, ServiceMove, Stay, Target, Trees, UserMove};

use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub scan: ScanOptions,
    /// Only these users; all repeated users when empty.
    pub users: Vec<String>,
    pub to: TargetKind,
}

/// `--to module` or `--to service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetKind {
    #[default]
    Module,
    Service,
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
}

impl Step {
    /// `users: share alice across alpha, beta` and a body saying what
    /// moved and what stayed.
    pub fn commit_message(&self) -> String {
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
    pub notices: Vec<String>,
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

/// Indexes the plan was made and verified with, kept only to be freed
/// with the plan.
#[derive(Clone, Default)]
struct Retained(Vec<Arc<dyn std::any::Any + Send + Sync>>);

impl std::fmt::Debug for Retained {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Retained({})", self.0.len())
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

    /// Per step, the files it changes, from their contents after the
    /// previous step to their contents after this one: one commit each.
    pub fn step_files(&self) -> Vec<Vec<FileChange>> {
        match &self.step_files {
            StepFiles::None => vec![Vec::new(); self.steps.len()],
            StepFiles::Known(v) => v.clone(),
            StepFiles::Render(trees, home) => {
                files_of_steps(trees, home.as_ref(), &self.steps, &self.files)
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
    #[error("cannot place the users instances: {0}")]
    NoInventory(String),
    #[error("no user named {}; the users defined here are: {}", .unknown.join(", "), .known.join(", "))]
    UnknownUser {
        unknown: Vec<String>,
        known: Vec<String>,
    },
}

pub fn plan(repo: &Path, opts: &PlanOptions, progress: &dyn Progress) -> Result<Plan, PlanError> {
    if !repo.is_dir() {
        return Err(Error::MissingDir {
            path: repo.to_path_buf(),
        }
        .into());
    }
    let disk = DiskFs::new(repo);
    let discovery = discover::discover(repo, &opts.scan.discover);
    let graph = load::load_keeping_parses(&disk, &discovery, progress);
    let mut diagnostics = discovery.diagnostics.clone();
    diagnostics.extend(graph.diagnostics.iter().cloned());
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
        TargetKind::Module => None,
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
    let mut retained = Vec::new();
    let batch = batched(&ctx, &graph, &analysis, &names, &mut plan, &mut retained);
    drop(analysis);
    match batch {
        Some((steps, files, trees)) => {
            plan.steps = steps;
            plan.files = files;
            plan.step_files =
                StepFiles::Render(Arc::new(trees), ctx.service.map(|s| s.home.clone()));
            retained.push(Arc::new(graph));
            plan.index = Retained(retained);
        }
        None => {
            // Some refusal could not be pinned on one user: plan them one
            // at a time, verifying each on its own.
            plan.skipped.retain(|s| !names.contains(&s.user));
            let (steps, per_step) = sequential(&ctx, graph, &names, &mut plan);
            plan.files = merge_steps(&per_step);
            plan.steps = steps;
            plan.step_files = StepFiles::Known(per_step);
        }
    }
    Ok(plan)
}

/// What both planners need.
struct Ctx<'a> {
    disk: &'a DiskFs,
    discovery: &'a discover::Discovery,
    frozen: &'a BTreeSet<PathBuf>,
    opts: &'a PlanOptions,
    service: Option<&'a ServiceCtx>,
}

/// Repeated, or shared but picked for the service (`names` decides).
fn movable(u: &analyse::User<'_>) -> bool {
    u.status == Status::Repeated || (u.status == Status::Shared && u.option == UserOption::Users)
}

/// The files a user's move reads: where it is defined on each host, or,
/// for a shared user, its module and the files importing it.
fn files_of(graph: &load::ModuleGraph, u: &analyse::User<'_>) -> Vec<PathBuf> {
    if u.status == Status::Shared {
        let mut out: Vec<PathBuf> = u
            .definitions
            .iter()
            .map(|d| d.module.file.clone())
            .collect();
        for d in &u.definitions {
            out.extend(moves::importers(graph, &d.module.file));
        }
        return out;
    }
    u.definitions
        .iter()
        .filter(|d| d.is_local())
        .map(|d| d.module.file.clone())
        .collect()
}

/// A user's move (or why there is none) and a notice if its target changed.
type Planned = (Result<Option<UserMove>, String>, Option<String>);

/// The service target's plan-wide facts.
struct ServiceCtx {
    home: service::Home,
    /// Users the service takes (the rest stay on the module target).
    users: BTreeSet<String>,
    /// Discovery as it will be after the change (a created clan.nix is
    /// an inventory file too).
    after: discover::Discovery,
    /// Where `users.mutableUsers = true` is set, and the hosts it is on.
    mutable: Vec<(service::MutableSite, Vec<String>)>,
}

fn service_ctx(
    repo: &Path,
    discovery: &discover::Discovery,
    graph: &load::ModuleGraph,
    analysis: &analyse::Analysis<'_>,
    names: &BTreeSet<String>,
    plan: &mut Plan,
) -> Result<ServiceCtx, PlanError> {
    if !discovery.clan {
        return Err(PlanError::NotClan(repo.display().to_string()));
    }
    // `tags.all` reaches every machine of the clan, including any the
    // inventory names that clan-migrate found no configuration for.
    let mut machines: Vec<String> = discovery.hosts.iter().map(|h| h.name.clone()).collect();
    for m in graph.inventories.iter().flat_map(|i| &i.machines) {
        if !machines.contains(m) {
            machines.push(m.clone());
        }
    }
    let home = service::locate(&graph.inventories, machines).map_err(PlanError::NoInventory)?;
    let mut after = discovery.clone();
    if !after.inventory_files.contains(&home.file) {
        after.inventory_files.push(home.file.clone());
    }
    let existing = verify::service_users(graph);
    let mutable = mutable_sites(repo, discovery, graph);
    let conflicts: BTreeMap<&str, &service::MutableSite> = mutable
        .iter()
        .filter(|(s, _)| s.how == service::Mutable::Conflict)
        .flat_map(|(s, hosts)| hosts.iter().map(move |h| (h.as_str(), s)))
        .collect();
    let mut users = BTreeSet::new();
    for u in analysis
        .users
        .iter()
        .filter(|u| u.option == UserOption::Users && movable(u))
        .filter(|u| names.contains(&u.name))
    {
        let clash = u
            .hosts
            .iter()
            .find_map(|h| conflicts.get(h.as_str()).map(|s| (h, s)));
        let why = if existing.contains(u.name.as_str()) {
            Some("a users instance for it exists already".to_string())
        } else if let Some(reason) = service::ineligible(u) {
            Some(reason)
        } else if let Some((h, site)) = clash {
            Some(format!(
                "{site} sets users.mutableUsers = true, which the users service's false would contradict: {h} would no longer evaluate; remove that line (or write lib.mkDefault true) and run again"
            ))
        } else {
            None
        };
        match why {
            Some(reason) => plan
                .notices
                .push(format!("{} stays on the module target: {reason}", u.name)),
            None => {
                users.insert(u.name.clone());
            }
        }
    }
    Ok(ServiceCtx {
        home,
        users,
        after,
        mutable,
    })
}

/// Every `users.mutableUsers = true` some host evaluates, with those hosts.
fn mutable_sites(
    repo: &Path,
    discovery: &discover::Discovery,
    graph: &load::ModuleGraph,
) -> Vec<(service::MutableSite, Vec<String>)> {
    let mut hosts_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for h in &discovery.hosts {
        for (id, _) in graph.closure(&graph.roots(h)) {
            hosts_of
                .entry(graph.modules[id].key.file.clone())
                .or_default()
                .insert(h.name.clone());
        }
    }
    let disk = DiskFs::new(repo);
    let found: Vec<Vec<(service::MutableSite, Vec<String>)>> = hosts_of
        .par_iter()
        .map(|(file, hosts)| {
            let Ok(text) = disk.read(file) else {
                return Vec::new();
            };
            // Cheap test first: most files never mention it.
            if !text.contains("mutableUsers") {
                return Vec::new();
            }
            let f = crate::source::SourceFile::new(file.clone(), text);
            service::mutable_users(&f)
                .into_iter()
                .map(|s| (s, hosts.iter().cloned().collect()))
                .collect()
        })
        .collect();
    found.into_iter().flatten().collect()
}

impl Ctx<'_> {
    /// The target a user's move is planned for.
    fn target(&self, name: &str) -> Target {
        match self.service {
            Some(s) if s.users.contains(name) => Target::Service { dir: s.home.dir() },
            _ => Target::Module,
        }
    }

    /// Plans a user for its target; a user the service cannot take after
    /// all is planned as a module, saying why.
    fn plan_user(
        &self,
        fs: &dyn Fs,
        graph: &load::ModuleGraph,
        trees: &Trees,
        user: &analyse::User<'_>,
    ) -> Planned {
        let target = self.target(&user.name);
        if user.status == Status::Shared {
            return match &target {
                Target::Service { dir } => (
                    moves::plan_shared_service(graph, self.frozen, trees, user, dir),
                    None,
                ),
                Target::Module => (
                    Err("already shared through a module every host imports".into()),
                    None,
                ),
            };
        }
        let first = moves::plan_user(fs, graph, self.frozen, trees, user, &target);
        match (&target, first) {
            (Target::Service { .. }, Err(reason)) => (
                moves::plan_user(fs, graph, self.frozen, trees, user, &Target::Module),
                Some(format!(
                    "{} ({}) stays on the module target: {reason}",
                    user.name,
                    user.option.as_str()
                )),
            ),
            (_, r) => (r, None),
        }
    }

    /// Discovery as the change leaves it.
    fn after(&self) -> &discover::Discovery {
        self.service.map_or(self.discovery, |s| &s.after)
    }

    /// Reads the inventory files the service renders.
    fn inventory_files(&self) -> Vec<PathBuf> {
        self.service.map(|s| s.home.files()).unwrap_or_default()
    }
    fn note_nothing(&self, plan: &mut Plan, name: &str, option: UserOption) {
        if !self.opts.users.is_empty() {
            plan.skipped.push(Skipped {
                user: name.to_string(),
                option,
                reason: "nothing left that every host has in common".into(),
            });
        }
    }
}

/// Plans every user at once on the original files, renders all moves
/// together and verifies the result; a move the verification refuses is
/// dropped and the rest verified again. `None` when a refusal cannot be
/// pinned on a user.
fn batched(
    ctx: &Ctx<'_>,
    graph: &load::ModuleGraph,
    analysis: &analyse::Analysis<'_>,
    names: &BTreeSet<String>,
    plan: &mut Plan,
    retained: &mut Vec<Arc<dyn std::any::Any + Send + Sync>>,
) -> Option<(Vec<Step>, Vec<FileChange>, Trees)> {
    let users: Vec<&analyse::User<'_>> = analysis
        .users
        .iter()
        .filter(|u| movable(u) && names.contains(&u.name))
        .collect();
    let files: Vec<PathBuf> = users.iter().flat_map(|u| files_of(graph, u)).collect();
    // The scan parsed these files already.
    let kept: HashMap<&PathBuf, &Arc<ParsedFile>> = graph.parses().collect();
    let mut trees = Trees::default();
    for f in &files {
        if let Some(p) = kept.get(f) {
            trees.insert(f.clone(), Arc::clone(p));
        }
    }
    if read_trees(ctx.disk, &mut trees, &files).is_err() {
        return None;
    }
    if read_trees(ctx.disk, &mut trees, &ctx.inventory_files()).is_err() {
        return None;
    }
    let planned: Vec<Planned> = users
        .par_iter()
        .map(|u| ctx.plan_user(ctx.disk, graph, &trees, u))
        .collect();
    let mut moves: Vec<UserMove> = Vec::new();
    for (u, (result, notice)) in users.iter().zip(planned) {
        plan.notices.extend(notice);
        match result {
            Ok(Some(mv)) => moves.push(mv),
            Ok(None) => ctx.note_nothing(plan, &u.name, u.option),
            Err(reason) => plan.skipped.push(Skipped {
                user: u.name.clone(),
                option: u.option,
                reason,
            }),
        }
    }
    // Commit order: by user, NixOS part first.
    moves.sort_by(|a, b| (&a.user, a.option).cmp(&(&b.user, b.option)));
    let base = {
        let mut c = FileCache::default();
        c.absorb(graph);
        c
    };
    let mut finals;
    loop {
        let refs: Vec<&UserMove> = moves.iter().collect();
        finals = match render_all(ctx, &trees, &refs) {
            Ok(f) => f,
            Err((file, reason)) => {
                // Drop the moves that touch the file that would not render.
                let before = moves.len();
                drop_moves(&mut moves, plan, |m| touches(m, &file), &reason);
                if moves.len() == before {
                    return None;
                }
                continue;
            }
        };
        let mut overlay = Overlay::new(ctx.disk);
        for (p, t) in &finals {
            overlay.set(p.clone(), Some(Arc::from(t.as_str())));
        }
        // Parse, check and index every file in parallel, each parse freed
        // as soon as its file is indexed; the first refusal in path order
        // counts.
        let checked: Vec<Result<load::Primed, (PathBuf, String)>> = finals
            .par_iter()
            .map(|(p, t)| {
                let file = crate::source::SourceFile::new(p.clone(), t.clone());
                let parse = rnix::Root::parse(&file.text);
                verify::check_parse(&file.text, &parse)
                    .map(|()| load::Primed::new(&overlay, &file, &parse.tree()))
                    .map_err(|e| (p.clone(), e))
            })
            .collect();
        let mut cache = base.clone();
        let mut bad = None;
        for c in checked {
            match c {
                Ok(primed) => cache.insert(primed),
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if let Some(bad) = bad {
            let before = moves.len();
            let reason = format!("{}: {}", bad.0.display(), bad.1);
            drop_moves(
                &mut moves,
                plan,
                |m| {
                    touches(m, &bad.0)
                        || m.new_file == bad.0
                        || m.service.is_some() && ctx.inventory_files().contains(&bad.0)
                },
                &reason,
            );
            if moves.len() == before {
                return None;
            }
            continue;
        }
        let after_graph = load::load_with(&overlay, ctx.after(), &load::Silent, &cache);
        let hosts: BTreeSet<String> = moves.iter().flat_map(|m| m.hosts.iter().cloned()).collect();
        let comparison = verify::compare(&ctx.discovery.hosts, graph, &after_graph, Some(&hosts));
        let changed = comparison.changed;
        let new_errors = after_graph
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
        if changed.is_empty() && !new_errors {
            retained.push(Arc::new(after_graph));
            retained.push(Arc::new(cache));
            break;
        }
        if new_errors {
            return None;
        }
        let lines = comparison.lines;
        let before_len = moves.len();
        let culprit = |m: &UserMove| changed.contains(&(m.option, m.user.clone()));
        let reason = format!(
            "verification refused the move, which would change: {}",
            lines.join("; ")
        );
        drop_moves(&mut moves, plan, culprit, &reason);
        if moves.len() == before_len {
            return None;
        }
    }
    let files = finals
        .into_iter()
        .map(|(path, after)| FileChange {
            before: trees.get(&path).map(|t| t.file.text.clone()),
            after: Some(after),
            path,
        })
        .filter(|c| c.before != c.after)
        .collect();
    let steps = steps_of(moves);
    notice_service(ctx, &steps, plan);
    Some((steps, files, trees))
}

/// What the service changes that the diff does not show: passwords and
/// `users.mutableUsers`.
fn notice_service(ctx: &Ctx<'_>, steps: &[Step], plan: &mut Plan) {
    if ctx.service.is_none() {
        return;
    }
    let mut hosts: BTreeSet<&str> = BTreeSet::new();
    for m in steps
        .iter()
        .flat_map(|s| &s.moves)
        .filter(|m| m.service.is_some())
    {
        plan.notices.extend(service::notices(m));
        hosts.extend(m.hosts.iter().map(String::as_str));
    }
    let Some(svc) = ctx.service else { return };
    for (site, on) in &svc.mutable {
        if site.how == service::Mutable::Conflict || !on.iter().any(|h| hosts.contains(h.as_str()))
        {
            continue;
        }
        plan.notices.push(match site.how {
            service::Mutable::Forced => format!(
                "{site}: users.mutableUsers = mkForce true overrides the users service's false on {}: passwords set with passwd survive there, and the service's password applies only to new accounts",
                crate::report::host_list(on)
            ),
            _ => format!(
                "{site}: users.mutableUsers = true gives way to the users service's false on {}: accounts not in the configuration are removed and passwords set with passwd are reset",
                crate::report::host_list(on)
            ),
        });
    }
}

/// Files a move edits (not counting the file it creates).
fn touches(m: &UserMove, file: &Path) -> bool {
    m.deletions.contains_key(file) || m.import_adds.iter().any(|a| a.file == file)
}

fn drop_moves(
    moves: &mut Vec<UserMove>,
    plan: &mut Plan,
    which: impl Fn(&UserMove) -> bool,
    reason: &str,
) {
    moves.retain(|m| {
        if which(m) {
            plan.skipped.push(Skipped {
                user: m.user.clone(),
                option: m.option,
                reason: reason.to_string(),
            });
            false
        } else {
            true
        }
    });
}

/// The moves touching each file, in move order: rendering a file looks
/// only at its own moves.
fn moves_by_file<'m>(moves: &[&'m UserMove]) -> HashMap<&'m Path, Vec<&'m UserMove>> {
    let mut by_file: HashMap<&Path, Vec<&UserMove>> = HashMap::new();
    for m in moves {
        let mut files: BTreeSet<&Path> = m.deletions.keys().map(PathBuf::as_path).collect();
        files.extend(m.import_adds.iter().map(|a| a.file.as_path()));
        for f in files {
            by_file.entry(f).or_default().push(m);
        }
    }
    by_file
}

/// Every file's final text after `moves`, new files included.
fn render_all(
    ctx: &Ctx<'_>,
    trees: &Trees,
    moves: &[&UserMove],
) -> Result<BTreeMap<PathBuf, String>, (PathBuf, String)> {
    let by_file = moves_by_file(moves);
    let rendered: Vec<(PathBuf, Result<String, String>)> = by_file
        .par_iter()
        .map(|(f, ms)| (f.to_path_buf(), render::render_file(&trees[*f], ms)))
        .collect();
    let mut out = BTreeMap::new();
    for (f, r) in rendered {
        out.insert(f.clone(), r.map_err(|e| (f, e))?);
    }
    for m in moves {
        if let Some((f, t)) = m.created() {
            out.insert(f.clone(), t.clone());
        }
    }
    if let Some(s) = ctx.service {
        let files = service::render(&s.home, trees, moves).map_err(|e| (s.home.file.clone(), e))?;
        out.extend(files);
    }
    Ok(out)
}

/// One step per user (moves come sorted by user).
fn steps_of(moves: Vec<UserMove>) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for mv in moves {
        match steps.last_mut() {
            Some(s) if s.user == mv.user => s.moves.push(mv),
            _ => steps.push(Step {
                user: mv.user.clone(),
                moves: vec![mv],
            }),
        }
    }
    steps
}

/// Each step's files, every file rendered with every move up to that
/// step, so each commit holds exactly that user's change.
/// Each changed file's text once every step is applied (deleted files
/// have none).
fn final_texts(files: &[FileChange]) -> HashMap<&Path, &str> {
    files
        .iter()
        .filter_map(|f| Some((f.path.as_path(), f.after.as_deref()?)))
        .collect()
}

fn files_of_steps(
    trees: &Trees,
    home: Option<&service::Home>,
    steps: &[Step],
    finals: &[FileChange],
) -> Vec<Vec<FileChange>> {
    // A file's last step leaves it as the whole plan does: rendered already.
    let finals = final_texts(finals);
    // Per file, the steps that touch it and their moves, in order; files
    // are independent, so each file's history is rendered in parallel.
    let mut per_file: HashMap<&Path, Vec<(usize, Vec<&UserMove>)>> = HashMap::new();
    for (k, step) in steps.iter().enumerate() {
        let refs: Vec<&UserMove> = step.moves.iter().collect();
        for (f, ms) in moves_by_file(&refs) {
            per_file.entry(f).or_default().push((k, ms));
        }
    }
    let rendered: Vec<(usize, FileChange)> = per_file
        .par_iter()
        .flat_map_iter(|(f, history)| {
            let pf = &trees[*f];
            let mut so_far: Vec<&UserMove> = Vec::new();
            let mut before = pf.file.text.clone();
            history
                .iter()
                .enumerate()
                .map(|(i, (k, ms))| {
                    so_far.extend(ms);
                    let after = match finals.get(f) {
                        Some(text) if i + 1 == history.len() => text.to_string(),
                        _ => render::render_file(pf, &so_far).expect("rendered in full before"),
                    };
                    let change = FileChange {
                        path: f.to_path_buf(),
                        before: Some(std::mem::replace(&mut before, after.clone())),
                        after: Some(after),
                    };
                    (*k, change)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out: Vec<Vec<FileChange>> = vec![Vec::new(); steps.len()];
    for (k, change) in rendered {
        out[k].push(change);
    }
    // The inventory after each step holds the instances up to it.
    let mut so_far: Vec<&UserMove> = Vec::new();
    let mut current: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
    for (changes, step) in out.iter_mut().zip(steps) {
        for m in &step.moves {
            if let Some((f, t)) = m.created() {
                changes.push(FileChange {
                    path: f.clone(),
                    before: None,
                    after: Some(t.clone()),
                });
            }
        }
        if let Some(home) = home {
            so_far.extend(step.moves.iter());
            let files = service::render(home, trees, &so_far).expect("rendered in full before");
            for (path, text) in files {
                let before = current
                    .get(&path)
                    .cloned()
                    .unwrap_or_else(|| trees.get(&path).map(|t| t.file.text.clone()));
                if before.as_deref() != Some(text.as_str()) {
                    changes.push(FileChange {
                        path: path.clone(),
                        before,
                        after: Some(text.clone()),
                    });
                    current.insert(path, Some(text));
                }
            }
        }
        changes.sort_by(|a, b| a.path.cmp(&b.path));
    }
    out
}

/// The net change of consecutive steps, per file.
fn merge_steps(per_step: &[Vec<FileChange>]) -> Vec<FileChange> {
    let mut out: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
    for f in per_step.iter().flatten() {
        out.entry(f.path.clone())
            .and_modify(|c| c.after = f.after.clone())
            .or_insert_with(|| f.clone());
    }
    out.into_values().filter(|c| c.before != c.after).collect()
}

/// Checks that every file of every step of `plan` parses and binds nothing
/// twice: each commit must be a valid configuration on its own.
///
/// A file's text after its last step is its final text, which the planner
/// has checked already (both planners refuse a plan whose final files do
/// not pass [`verify::check_parse`]): only the texts in between are parsed
/// here.
pub fn check_steps(plan: &Plan, step_files: &[Vec<FileChange>]) -> Result<(), String> {
    let finals = final_texts(&plan.files);
    let all: Vec<&FileChange> = step_files
        .iter()
        .flatten()
        .filter(|c| c.after.as_deref() != finals.get(c.path.as_path()).copied())
        .collect();
    all.par_iter()
        .filter_map(|c| {
            let text = c.after.as_deref()?;
            verify::check_text(text)
                .err()
                .map(|e| format!("{}: {e}", c.path.display()))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .next()
        .map_or(Ok(()), Err)
}

/// One user at a time on an overlay, each move verified on its own:
/// slower, but every refusal is exact.
fn sequential(
    ctx: &Ctx<'_>,
    graph: load::ModuleGraph,
    names: &BTreeSet<String>,
    plan: &mut Plan,
) -> (Vec<Step>, Vec<Vec<FileChange>>) {
    let mut steps = Vec::new();
    let mut per_step = Vec::new();
    let mut overlay = Overlay::new(ctx.disk);
    let mut trees = Trees::default();
    let mut cache = FileCache::default();
    cache.absorb(&graph);
    let mut graph = graph;
    // The inventory is rendered from its original text with every move
    // accepted so far.
    let mut inventory = Trees::default();
    let _ = read_trees(ctx.disk, &mut inventory, &ctx.inventory_files());
    let mut accepted: Vec<UserMove> = Vec::new();
    for name in names {
        let mut step = Step {
            user: name.clone(),
            moves: Vec::new(),
        };
        let mut step_files: Vec<FileChange> = Vec::new();
        for option in [UserOption::Users, UserOption::HomeManager] {
            let analysis = analyse::analyse_only(
                &ctx.discovery.hosts,
                &graph,
                ctx.opts.scan.min_hosts,
                Some(name),
            );
            let Some(user) = analysis
                .users
                .iter()
                .find(|u| &u.name == name && u.option == option && movable(u))
            else {
                continue;
            };
            let files: Vec<PathBuf> = files_of(&graph, user);
            if let Err(reason) = read_trees(&overlay, &mut trees, &files) {
                plan.skipped.push(Skipped {
                    user: name.clone(),
                    option,
                    reason,
                });
                continue;
            }
            let (planned, notice) = ctx.plan_user(&overlay, &graph, &trees, user);
            plan.notices.extend(notice);
            let mv = match planned {
                Ok(Some(mv)) => mv,
                Ok(None) => {
                    ctx.note_nothing(plan, name, option);
                    continue;
                }
                Err(reason) => {
                    plan.skipped.push(Skipped {
                        user: name.clone(),
                        option,
                        reason,
                    });
                    continue;
                }
            };
            let hosts: BTreeSet<String> = mv.hosts.iter().cloned().collect();
            drop(analysis);
            let inventory_after = match ctx.service {
                Some(s) if mv.service.is_some() => {
                    let mut all: Vec<&UserMove> = accepted.iter().collect();
                    all.push(&mv);
                    match service::render(&s.home, &inventory, &all) {
                        Ok(f) => f,
                        Err(reason) => {
                            plan.skipped.push(Skipped {
                                user: name.clone(),
                                option,
                                reason,
                            });
                            continue;
                        }
                    }
                }
                _ => Vec::new(),
            };
            match try_move(
                ctx,
                &mut overlay,
                &mut cache,
                &mut trees,
                &graph,
                &mv,
                &inventory_after,
                &hosts,
            ) {
                Ok((new_graph, changes)) => {
                    if mv.service.is_some() {
                        accepted.push(mv.clone());
                    }
                    graph = new_graph;
                    for c in changes {
                        match step_files.iter_mut().find(|f| f.path == c.path) {
                            Some(f) => f.after = c.after,
                            None => step_files.push(c),
                        }
                    }
                    step.moves.push(mv);
                }
                Err(reason) => plan.skipped.push(Skipped {
                    user: name.clone(),
                    option,
                    reason,
                }),
            }
        }
        if !step.moves.is_empty() {
            step_files.sort_by(|a, b| a.path.cmp(&b.path));
            steps.push(step);
            per_step.push(step_files);
        }
    }
    (steps, per_step)
}

/// A file as it was before a move: to restore if the move is refused.
type Previous = (PathBuf, Option<Arc<str>>, Option<Arc<ParsedFile>>);

/// Parses, in parallel, the files not parsed yet.
fn read_trees(fs: &dyn Fs, trees: &mut Trees, files: &[PathBuf]) -> Result<(), String> {
    let missing: BTreeSet<&PathBuf> = files.iter().filter(|f| !trees.contains_key(*f)).collect();
    let texts: Vec<(PathBuf, String)> = missing
        .into_iter()
        .map(|p| {
            fs.read(p)
                .map(|t| (p.clone(), t))
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
        })
        .collect::<Result<_, _>>()?;
    let parsed: Vec<(PathBuf, ParsedFile)> = texts
        .into_par_iter()
        .map(|(p, t)| (p.clone(), ParsedFile::new(p, t)))
        .collect();
    for (p, f) in parsed {
        trees.insert(p, Arc::new(f));
    }
    Ok(())
}

/// Applies one move to the overlay and verifies it; on any failure the
/// overlay is restored and the reason returned.
#[allow(clippy::too_many_arguments)]
fn try_move(
    ctx: &Ctx<'_>,
    overlay: &mut Overlay<'_>,
    cache: &mut FileCache,
    trees: &mut Trees,
    graph: &load::ModuleGraph,
    mv: &UserMove,
    inventory: &[(PathBuf, String)],
    hosts: &BTreeSet<String>,
) -> Result<(load::ModuleGraph, Vec<FileChange>), String> {
    let discovery = ctx.discovery;
    let mut changes = Vec::new();
    let mut files: BTreeSet<&PathBuf> = mv.deletions.keys().collect();
    files.extend(mv.import_adds.iter().map(|a| &a.file));
    for path in files {
        let tree = trees
            .get(path)
            .ok_or_else(|| format!("{} was not read", path.display()))?;
        let before = tree.file.text.clone();
        let after = render::render_file(tree, &[mv])?;
        changes.push(FileChange {
            path: path.clone(),
            before: Some(before),
            after: Some(after),
        });
    }
    if let Some((f, t)) = mv.created() {
        changes.push(FileChange {
            path: f.clone(),
            before: None,
            after: Some(t.clone()),
        });
    }
    for (path, text) in inventory {
        changes.push(FileChange {
            path: path.clone(),
            before: overlay.read(path).ok(),
            after: Some(text.clone()),
        });
    }
    // Parse every changed file once: to check it and to index it.
    let parsed: Vec<ParsedFile> = changes
        .par_iter()
        .map(|c| ParsedFile::new(c.path.clone(), c.after.clone().unwrap_or_default()))
        .collect();
    for p in &parsed {
        verify::check_parse(&p.file.text, &p.parse)
            .map_err(|e| format!("{}: {e}", p.file.path.display()))?;
    }
    let previous: Vec<Previous> = changes
        .iter()
        .map(|c| {
            (
                c.path.clone(),
                c.before.as_deref().map(Arc::from),
                trees.get(&c.path).cloned(),
            )
        })
        .collect();
    for c in &changes {
        overlay.set(c.path.clone(), c.after.as_deref().map(Arc::from));
    }
    let touched: Vec<PathBuf> = changes.iter().map(|c| c.path.clone()).collect();
    for p in parsed {
        cache.prime(&*overlay, &p.file, &p.parse.tree());
        trees.insert(p.file.path.clone(), Arc::new(p));
    }
    let new_graph = load::load_with(&*overlay, ctx.after(), &load::Silent, cache);
    let diffs = verify::compare(&discovery.hosts, graph, &new_graph, Some(hosts)).lines;
    let new_errors: Vec<&Diagnostic> = new_graph
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    if !diffs.is_empty() || !new_errors.is_empty() {
        for (path, text, tree) in previous {
            overlay.set(path.clone(), text);
            match tree {
                Some(t) => trees.insert(path, t),
                None => trees.remove(&path),
            };
        }
        cache.invalidate(&touched);
        let mut reasons = diffs;
        reasons.extend(new_errors.iter().map(|d| d.message.clone()));
        return Err(format!(
            "verification refused the move, which would change: {}",
            reasons.join("; ")
        ));
    }
    cache.absorb(&new_graph);
    Ok((new_graph, changes))
}

/// A unified diff of one file, `a/` and `b/` prefixed so `git apply`
/// takes it; plain text, for the caller to colour.
pub fn unified_diff(change: &FileChange) -> String {
    let path = crate::source::display_path(&change.path);
    let before = change.before.as_deref().unwrap_or("");
    let after = change.after.as_deref().unwrap_or("");
    let old = if change.before.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".into()
    };
    let new = if change.after.is_some() {
        format!("b/{path}")
    } else {
        "/dev/null".into()
    };
    let diff = similar::TextDiff::from_lines(before, after);
    let mut out = format!("diff --git a/{path} b/{path}\n");
    if change.before.is_none() {
        out.push_str("new file mode 100644\n");
    } else if change.after.is_none() {
        out.push_str("deleted file mode 100644\n");
    }
    out.push_str(
        &diff
            .unified_diff()
            .context_radius(3)
            .header(&old, &new)
            .to_string(),
    );
    out
}

#[cfg(test)]
mod check_steps_tests {
    use super::*;

    fn change(path: &str, after: &str) -> FileChange {
        FileChange {
            path: PathBuf::from(path),
            before: None,
            after: Some(after.to_string()),
        }
    }

    fn plan_with_finals(finals: &[(&str, &str)]) -> Plan {
        Plan {
            files: finals.iter().map(|(p, t)| change(p, t)).collect(),
            ..Plan::default()
        }
    }

    #[test]
    fn an_intermediate_text_that_would_not_parse_is_refused() {
        let plan = plan_with_finals(&[("a.nix", "{ x = 1; }\n")]);
        for bad in ["{ x = ; }\n", "{ x = 1; x = 2; }\n"] {
            let steps = vec![
                vec![change("a.nix", bad)],
                vec![change("a.nix", "{ x = 1; }\n")],
            ];
            let err = check_steps(&plan, &steps).unwrap_err();
            assert!(err.starts_with("a.nix: "), "{err}");
        }
        let fine = vec![
            vec![change("a.nix", "{ x = 1; y = 2; }\n")],
            vec![change("a.nix", "{ x = 1; }\n")],
        ];
        assert_eq!(check_steps(&plan, &fine), Ok(()));
    }

    #[test]
    fn final_texts_are_left_to_the_planner_that_checked_them() {
        // Not something a planner produces: it shows which texts are
        // parsed here (a final one is not; the same text elsewhere is).
        let plan = plan_with_finals(&[("a.nix", "{ x = ; }\n")]);
        assert_eq!(
            check_steps(&plan, &[vec![change("a.nix", "{ x = ; }\n")]]),
            Ok(())
        );
        assert!(check_steps(&plan, &[vec![change("b.nix", "{ x = ; }\n")]]).is_err());
    }
}
