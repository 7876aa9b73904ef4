//! The exact planner: one user at a time on an overlay, each move verified
//! on its own, so every refusal names the user it belongs to.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use super::context::{Ctx, files_of, movable};
use super::{FileChange, ParsedFile, Plan, Skipped, Step, Trees, UserMove, render, service};
use crate::analyse;
use crate::diagnostic::{Diagnostic, Severity};
use crate::fs::{Fs, Overlay};
use crate::index::UserOption;
use crate::load::{self, FileCache};
use crate::verify;

/// One user at a time on an overlay, each move verified on its own:
/// slower, but every refusal is exact.
pub(super) fn sequential(
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
            conversion: None,
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
pub(super) type Previous = (PathBuf, Option<Arc<str>>, Option<Arc<ParsedFile>>);

/// Parses, in parallel, the files not parsed yet.
pub(super) fn read_trees(fs: &dyn Fs, trees: &mut Trees, files: &[PathBuf]) -> Result<(), String> {
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
pub(super) fn try_move(
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
    cache.invalidate_listings(&touched);
    for p in parsed {
        cache.prime(
            &*overlay,
            &discovery.flake_modules,
            &p.file,
            &p.parse.tree(),
        );
        trees.insert(p.file.path.clone(), Arc::new(p));
    }
    let new_graph = load::load_with(&*overlay, ctx.after(), &load::Silent, cache);
    // A host that lists a directory the step writes to is affected too.
    let written: Vec<&PathBuf> = touched.iter().collect();
    let mut hosts = hosts.clone();
    hosts.extend(graph.hosts_listing(&discovery.hosts, &written));
    let mut diffs = verify::compare(&discovery.hosts, graph, &new_graph, Some(&hosts)).lines;
    if !diffs.is_empty() {
        diffs.extend(graph.listing_reasons(&written));
    }
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
        cache.invalidate_listings(&touched);
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
