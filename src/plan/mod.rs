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

pub use moves::{ParsedFile, Stay, Trees, UserMove};

use rayon::prelude::*;

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub scan: ScanOptions,
    /// Only these users; all repeated users when empty.
    pub users: Vec<String>,
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
    /// Findings of the scan the plan rests on (warnings and notes).
    pub diagnostics: Vec<Diagnostic>,
    /// Every changed file, from its original to its final contents.
    files: Vec<FileChange>,
    /// Where each step's files come from: worked out already, or to be
    /// rendered from the parsed originals when asked for (only `apply`
    /// needs them, so `plan` does not pay for them).
    step_files: StepFiles,
}

#[derive(Clone, Default)]
enum StepFiles {
    #[default]
    None,
    Known(Vec<Vec<FileChange>>),
    Render(Arc<Trees>),
}

impl std::fmt::Debug for StepFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepFiles::None => f.write_str("None"),
            StepFiles::Known(v) => write!(f, "Known({} steps)", v.len()),
            StepFiles::Render(t) => write!(f, "Render({} files)", t.len()),
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
            StepFiles::Render(trees) => files_of_steps(trees, &self.steps),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Scan(#[from] Error),
    #[error("the scan found errors; nothing is planned until they are fixed")]
    Blocked { diagnostics: Vec<Diagnostic> },
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
    let mut names: BTreeSet<String> = BTreeSet::new();
    for u in &analysis.users {
        if !wanted(&u.name) || u.status == Status::Dynamic {
            continue;
        }
        if u.status == Status::Repeated {
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

    let frozen: BTreeSet<PathBuf> = discovery
        .inline_modules
        .iter()
        .map(|m| m.key.file.clone())
        .collect();
    let ctx = Ctx {
        disk: &disk,
        discovery: &discovery,
        frozen: &frozen,
        opts,
    };
    let batch = batched(&ctx, &graph, &analysis, &names, &mut plan);
    drop(analysis);
    match batch {
        Some((steps, files, trees)) => {
            plan.steps = steps;
            plan.files = files;
            plan.step_files = StepFiles::Render(Arc::new(trees));
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
}

impl Ctx<'_> {
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
) -> Option<(Vec<Step>, Vec<FileChange>, Trees)> {
    let users: Vec<&analyse::User<'_>> = analysis
        .users
        .iter()
        .filter(|u| u.status == Status::Repeated && names.contains(&u.name))
        .collect();
    let files: Vec<PathBuf> = users
        .iter()
        .flat_map(|u| {
            u.definitions
                .iter()
                .filter(|d| d.is_local())
                .map(|d| d.module.file.clone())
        })
        .collect();
    // The scan parsed these files already.
    let kept: HashMap<&PathBuf, &Arc<ParsedFile>> = graph.parses().collect();
    let mut trees = Trees::new();
    for f in &files {
        if let Some(p) = kept.get(f) {
            trees.insert(f.clone(), Arc::clone(p));
        }
    }
    if read_trees(ctx.disk, &mut trees, &files).is_err() {
        return None;
    }
    let planned: Vec<Result<Option<UserMove>, String>> = users
        .par_iter()
        .map(|u| moves::plan_user(ctx.disk, graph, ctx.frozen, &trees, u))
        .collect();
    let mut moves: Vec<UserMove> = Vec::new();
    for (u, result) in users.iter().zip(planned) {
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
        finals = match render_all(&trees, &refs) {
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
        let mut cache = base.clone();
        // Parse and check every file in parallel; the first refusal in
        // path order counts.
        let parsed: Vec<(ParsedFile, Result<(), String>)> = finals
            .par_iter()
            .map(|(p, t)| {
                let parsed = ParsedFile::new(p.clone(), t.clone());
                let checked = verify::check_parse(&parsed.file.text, &parsed.parse);
                (parsed, checked)
            })
            .collect();
        if let Some(bad) = parsed.iter().find_map(|(p, checked)| {
            checked
                .as_ref()
                .err()
                .map(|e| (p.file.path.clone(), e.clone()))
        }) {
            let before = moves.len();
            let reason = format!("{}: {}", bad.0.display(), bad.1);
            drop_moves(
                &mut moves,
                plan,
                |m| touches(m, &bad.0) || m.new_file == bad.0,
                &reason,
            );
            if moves.len() == before {
                return None;
            }
            continue;
        }
        for (p, t) in &finals {
            overlay.set(p.clone(), Some(Arc::from(t.as_str())));
        }
        let parsed: Vec<ParsedFile> = parsed.into_iter().map(|(p, _)| p).collect();
        cache.prime_all(&overlay, &parsed);
        drop(parsed);
        let after_graph = load::load_with(&overlay, ctx.discovery, &load::Silent, &cache);
        let hosts: BTreeSet<String> = moves.iter().flat_map(|m| m.hosts.iter().cloned()).collect();
        let comparison = verify::compare(&ctx.discovery.hosts, graph, &after_graph, Some(&hosts));
        let changed = comparison.changed;
        let new_errors = after_graph
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
        if changed.is_empty() && !new_errors {
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
    Some((steps_of(moves), files, trees))
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
        out.insert(m.new_file.clone(), m.new_text.clone());
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
fn files_of_steps(trees: &Trees, steps: &[Step]) -> Vec<Vec<FileChange>> {
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
                .map(|(k, ms)| {
                    so_far.extend(ms);
                    let after = render::render_file(pf, &so_far).expect("rendered in full before");
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
    for (changes, step) in out.iter_mut().zip(steps) {
        for m in &step.moves {
            changes.push(FileChange {
                path: m.new_file.clone(),
                before: None,
                after: Some(m.new_text.clone()),
            });
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

/// Checks that every file of every step parses and binds nothing twice:
/// each commit must be a valid configuration on its own.
pub fn check_steps(step_files: &[Vec<FileChange>]) -> Result<(), String> {
    let all: Vec<&FileChange> = step_files.iter().flatten().collect();
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
    let mut trees = Trees::new();
    let mut cache = FileCache::default();
    cache.absorb(&graph);
    let mut graph = graph;
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
                .find(|u| &u.name == name && u.option == option && u.status == Status::Repeated)
            else {
                continue;
            };
            let files: Vec<PathBuf> = user
                .definitions
                .iter()
                .filter(|d| d.is_local())
                .map(|d| d.module.file.clone())
                .collect();
            if let Err(reason) = read_trees(&overlay, &mut trees, &files) {
                plan.skipped.push(Skipped {
                    user: name.clone(),
                    option,
                    reason,
                });
                continue;
            }
            let mv = match moves::plan_user(&overlay, &graph, ctx.frozen, &trees, user) {
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
            match try_move(
                &mut overlay,
                &mut cache,
                &mut trees,
                ctx.discovery,
                &graph,
                &mv,
                &hosts,
            ) {
                Ok((new_graph, changes)) => {
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
fn try_move(
    overlay: &mut Overlay<'_>,
    cache: &mut FileCache,
    trees: &mut Trees,
    discovery: &discover::Discovery,
    graph: &load::ModuleGraph,
    mv: &UserMove,
    hosts: &BTreeSet<String>,
) -> Result<(load::ModuleGraph, Vec<FileChange>), String> {
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
    changes.push(FileChange {
        path: mv.new_file.clone(),
        before: None,
        after: Some(mv.new_text.clone()),
    });
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
    let new_graph = load::load_with(&*overlay, discovery, &load::Silent, cache);
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
