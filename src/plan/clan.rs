//! `--to clan`, and `--to service` on a plain flake: the conversion is the
//! first step; the users' steps are planned on the converted tree.

use std::path::Path;
use std::sync::Arc;

use super::steps::merge_steps;
use super::{Plan, PlanError, PlanOptions, Step, StepFiles, TargetKind, plan_here};
use crate::clan::{self, ClanOptions};
use crate::load::Progress;

/// The plan when the flake is converted first; `None` when it is a Clan
/// flake already and the service target plans as usual.
pub(super) fn converting(
    repo: &Path,
    opts: &PlanOptions,
    clan_opts: &ClanOptions,
    progress: &dyn Progress,
) -> Result<Option<Plan>, PlanError> {
    let Some((conversion, scratch)) = clan::convert(repo, clan_opts, &opts.scan)? else {
        if opts.to == TargetKind::Clan {
            return Ok(Some(Plan {
                notices: vec![clan::notices::already_clan()],
                ..Plan::default()
            }));
        }
        return Ok(None);
    };
    let conversion = Arc::new(conversion);
    let mut notices = conversion.notices.clone();
    if opts.to == TargetKind::Clan && !opts.users.is_empty() {
        notices.push(clan::notices::users_ignored(&opts.users));
    }
    let mut per_step = vec![conversion.files.clone()];
    let mut plan = Plan {
        steps: vec![Step {
            user: String::new(),
            moves: Vec::new(),
            conversion: Some(conversion.clone()),
        }],
        notices,
        ..Plan::default()
    };
    if opts.to == TargetKind::Service {
        // The users service needs the Clan flake: plan it on the converted
        // copy, whose paths are the repository's.
        let inner = plan_here(scratch.path(), opts, progress)?;
        per_step.extend(inner.step_files());
        plan.steps.extend(inner.steps);
        plan.notices.extend(inner.notices);
        plan.skipped = inner.skipped;
        plan.diagnostics = inner.diagnostics;
    }
    plan.files = merge_steps(&per_step);
    plan.step_files = StepFiles::Known(per_step);
    Ok(Some(plan))
}
