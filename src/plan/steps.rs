//! From moves to steps: one step (one commit) per user, the files each
//! step leaves, and the check that every intermediate file parses.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::batch::moves_by_file;
use super::{FileChange, Plan, Step, Trees, UserMove, render, service};
use crate::verify;

/// One step per user (moves come sorted by user).
pub(super) fn steps_of(moves: Vec<UserMove>) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for mv in moves {
        match steps.last_mut() {
            Some(s) if s.user == mv.user => s.moves.push(mv),
            _ => steps.push(Step {
                user: mv.user.clone(),
                moves: vec![mv],
                conversion: None,
            }),
        }
    }
    steps
}

/// Each changed file's text once every step is applied (deleted files
/// have none).
pub(super) fn final_texts(files: &[FileChange]) -> HashMap<&Path, &str> {
    files
        .iter()
        .filter_map(|f| Some((f.path.as_path(), f.after.as_deref()?)))
        .collect()
}

/// Each step's files, every file rendered with every move up to that
/// step, so each commit holds exactly that user's change.
///
/// Without `keep_before`, each change's `before` is `None`: a commit needs
/// only the new contents, and on a large fleet the old ones would double
/// the texts held at once.
pub(super) fn files_of_steps(
    trees: &Trees,
    home: Option<&service::Home>,
    steps: &[Step],
    finals: &[FileChange],
    keep_before: bool,
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
            let mut before = if keep_before {
                pf.file.text.clone()
            } else {
                String::new()
            };
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
                        before: keep_before.then(|| std::mem::replace(&mut before, after.clone())),
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
        if !keep_before {
            changes.iter_mut().for_each(|c| c.before = None);
        }
    }
    out
}

/// The net change of consecutive steps, per file.
pub(super) fn merge_steps(per_step: &[Vec<FileChange>]) -> Vec<FileChange> {
    let mut out: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
    for f in per_step.iter().flatten() {
        out.entry(f.path.clone())
            .and_modify(|c| c.after = f.after.clone())
            .or_insert_with(|| f.clone());
    }
    out.into_values().filter(|c| c.before != c.after).collect()
}

/// Checks that the files of a plan's steps parse and bind nothing twice:
/// each commit must be a valid configuration on its own. It knows the
/// plan's final texts once, so it can take the steps one at a time.
///
/// A file's text after its last step is its final text, which the planner
/// has checked already (both planners refuse a plan whose final files do
/// not pass [`verify::check_parse`]): only the texts in between are parsed
/// here.
pub struct StepCheck<'p> {
    finals: HashMap<&'p Path, &'p str>,
}

impl<'p> StepCheck<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        StepCheck {
            finals: final_texts(&plan.files),
        }
    }

    /// Checks `changes` (one step's, or several steps'); the first
    /// refusal in their order counts.
    pub fn check<'a>(
        &self,
        changes: impl IntoIterator<Item = (&'a Path, Option<&'a str>)>,
    ) -> Result<(), String> {
        let all: Vec<(&Path, &str)> = changes
            .into_iter()
            .filter_map(|(path, after)| Some((path, after?)))
            .filter(|(path, after)| Some(*after) != self.finals.get(path).copied())
            .collect();
        all.par_iter()
            .filter_map(|(path, text)| {
                verify::check_text(text)
                    .err()
                    .map(|e| format!("{}: {e}", path.display()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .next()
            .map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, after: &str) -> FileChange {
        FileChange {
            path: PathBuf::from(path),
            before: None,
            after: Some(after.to_string()),
        }
    }

    fn check(plan: &Plan, steps: &[Vec<FileChange>]) -> Result<(), String> {
        StepCheck::new(plan).check(
            steps
                .iter()
                .flatten()
                .map(|c| (c.path.as_path(), c.after.as_deref())),
        )
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
            let err = check(&plan, &steps).unwrap_err();
            assert!(err.starts_with("a.nix: "), "{err}");
        }
        let fine = vec![
            vec![change("a.nix", "{ x = 1; y = 2; }\n")],
            vec![change("a.nix", "{ x = 1; }\n")],
        ];
        assert_eq!(check(&plan, &fine), Ok(()));
    }

    #[test]
    fn final_texts_are_left_to_the_planner_that_checked_them() {
        // Not something a planner produces: it shows which texts are
        // parsed here (a final one is not; the same text elsewhere is).
        let plan = plan_with_finals(&[("a.nix", "{ x = ; }\n")]);
        assert_eq!(
            check(&plan, &[vec![change("a.nix", "{ x = ; }\n")]]),
            Ok(())
        );
        assert!(check(&plan, &[vec![change("b.nix", "{ x = ; }\n")]]).is_err());
    }
}
