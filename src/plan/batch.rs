//! The fast planner: every user's move made at once, applied together and
//! verified in one pass; a user whose move fails verification is dropped
//! and the rest verified again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::context::{Ctx, Planned, files_of, movable};
use super::notice::{Notice, codes};
use super::sequential::read_trees;
use super::steps::steps_of;
use super::{FileChange, ParsedFile, Plan, Skipped, Step, Trees, UserMove, render, service};
use crate::analyse;
use crate::diagnostic::Severity;
use crate::fs::Overlay;
use crate::load::{self, FileCache};
use crate::verify;

/// Plans every user at once on the original files, renders all moves
/// together and verifies the result; a move the verification refuses is
/// dropped and the rest verified again. `None` when a refusal cannot be
/// pinned on a user.
pub(super) fn batched(
    ctx: &Ctx<'_>,
    graph: &load::ModuleGraph,
    analysis: &analyse::Analysis<'_>,
    names: &BTreeSet<String>,
    plan: &mut Plan,
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
                    .map(|()| {
                        load::Primed::new(
                            &overlay,
                            &ctx.discovery.flake_modules,
                            &file,
                            &parse.tree(),
                        )
                    })
                    .map_err(|e| (p.clone(), e))
            })
            .collect();
        let mut cache = base.clone();
        cache.invalidate_listings(finals.keys());
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
        let mut hosts: BTreeSet<String> =
            moves.iter().flat_map(|m| m.hosts.iter().cloned()).collect();
        // A host that lists a directory the plan writes to is affected too.
        let written: Vec<&PathBuf> = finals.keys().collect();
        hosts.extend(graph.hosts_listing(&ctx.discovery.hosts, &written));
        let comparison = verify::compare(&ctx.discovery.hosts, graph, &after_graph, Some(&hosts));
        let changed = comparison.changed;
        let new_errors = after_graph
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error);
        if changed.is_empty() && !new_errors {
            // The verified index is done with: freed now, its memory holds
            // the plan's files and diffs instead of adding to them.
            drop(after_graph);
            drop(cache);
            break;
        }
        if new_errors {
            return None;
        }
        let mut lines = comparison.lines;
        lines.extend(graph.listing_reasons(&written));
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
pub(super) fn notice_service(ctx: &Ctx<'_>, steps: &[Step], plan: &mut Plan) {
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
        let notice = match site.how {
            service::Mutable::Forced => Notice::note(
                codes::MUTABLE_USERS_FORCED,
                format!(
                    "users.mutableUsers = mkForce true overrides the users service's false on {}: passwords set with passwd survive there, and the service's password applies only to new accounts",
                    crate::report::host_list(on)
                ),
            ),
            _ => Notice::note(
                codes::MUTABLE_USERS_OVERRIDDEN,
                format!(
                    "users.mutableUsers = true gives way to the users service's false on {}: accounts not in the configuration are removed and passwords set with passwd are reset",
                    crate::report::host_list(on)
                ),
            ),
        };
        plan.notices.push(notice.at(site.location.clone()));
    }
}

/// Files a move edits (not counting the file it creates).
pub(super) fn touches(m: &UserMove, file: &Path) -> bool {
    m.deletions.contains_key(file) || m.import_adds.iter().any(|a| a.file == file)
}

pub(super) fn drop_moves(
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
pub(super) fn moves_by_file<'m>(moves: &[&'m UserMove]) -> HashMap<&'m Path, Vec<&'m UserMove>> {
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
pub(super) fn render_all(
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
