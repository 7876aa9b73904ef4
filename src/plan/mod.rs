//! Plan: the edits that share each repeated user, one user at a time.
//! Each user's move is applied in memory, every touched file re-parsed and
//! checked, the tree re-indexed (only changed files), and every affected
//! host's effective users compared with what they were; a move that
//! changes anything is refused and left out, with the reason.

mod edit;
mod extract;
pub mod moves;
mod print;

use std::collections::{BTreeMap, BTreeSet};
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
    pub files: Vec<FileChange>,
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
        let mut msg = format!("users: share {} across {}\n", self.user, hosts.join(", "));
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
                    let on = s
                        .host
                        .as_deref()
                        .map(|h| format!(" on {h}"))
                        .unwrap_or_default();
                    msg.push_str(&format!("- {}{on}: {}\n", s.attr, s.reason));
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
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Every changed file, from its original to its final contents.
    pub fn files(&self) -> Vec<FileChange> {
        let mut out: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
        for step in &self.steps {
            for f in &step.files {
                out.entry(f.path.clone())
                    .and_modify(|c| c.after = f.after.clone())
                    .or_insert_with(|| f.clone());
            }
        }
        out.into_values().filter(|c| c.before != c.after).collect()
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
    let graph = load::load(&disk, &discovery, progress);
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
                    _ => format!("defined on {} only", u.hosts.join(", ")),
                },
            });
        }
    }
    drop(analysis);

    let frozen: BTreeSet<PathBuf> = discovery
        .inline_modules
        .iter()
        .map(|m| m.key.file.clone())
        .collect();
    let mut overlay = Overlay::new(&disk);
    let mut trees = Trees::new();
    let mut cache = FileCache::default();
    cache.absorb(&graph);
    let mut graph = graph;
    for name in names {
        let mut step = Step {
            user: name.clone(),
            moves: Vec::new(),
            files: Vec::new(),
        };
        for option in [UserOption::Users, UserOption::HomeManager] {
            let analysis =
                analyse::analyse_only(&discovery.hosts, &graph, opts.scan.min_hosts, Some(&name));
            let Some(user) = analysis
                .users
                .iter()
                .find(|u| u.name == name && u.option == option && u.status == Status::Repeated)
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
            let mv = match moves::plan_user(&overlay, &graph, &frozen, &trees, user) {
                Ok(Some(mv)) => mv,
                Ok(None) => {
                    if !opts.users.is_empty() {
                        plan.skipped.push(Skipped {
                            user: name.clone(),
                            option,
                            reason: "nothing left that every host has in common".into(),
                        });
                    }
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
                &discovery,
                &graph,
                &mv,
                &hosts,
            ) {
                Ok((new_graph, changes)) => {
                    graph = new_graph;
                    for c in changes {
                        match step.files.iter_mut().find(|f| f.path == c.path) {
                            Some(f) => f.after = c.after,
                            None => step.files.push(c),
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
            step.files.sort_by(|a, b| a.path.cmp(&b.path));
            plan.steps.push(step);
        }
    }
    Ok(plan)
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
    for (path, splices) in &mv.splices {
        let before = trees
            .get(path)
            .map(|t| t.file.text.clone())
            .ok_or_else(|| format!("{} was not read", path.display()))?;
        let after =
            edit::apply(&before, splices).map_err(|e| format!("{}: {e}", path.display()))?;
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
        verify::check_parse(&p.parse).map_err(|e| format!("{}: {e}", p.file.path.display()))?;
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
    let before = verify::effective(&discovery.hosts, graph, Some(hosts));
    let after = verify::effective(&discovery.hosts, &new_graph, Some(hosts));
    let diffs = verify::differences(&before, &after);
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
