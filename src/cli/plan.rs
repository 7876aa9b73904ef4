//! `plan`, `apply` and `verify`: the migration's subcommands.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clan_migrate::plan::{self, Plan, PlanError, PlanOptions};
use clan_migrate::stage;

use super::args::{ApplyArgs, Common, PlanArgs, Select, VerifyArgs};
use super::{EXIT_ERROR, EXIT_OK, diagnostics, progress, scan_options, use_color};

pub const EXIT_PENDING: u8 = 2;

fn options(common: &Common, select: &Select) -> PlanOptions {
    PlanOptions {
        scan: scan_options(common),
        users: select.users.clone(),
    }
}

/// Runs the planner, printing why when it cannot plan.
fn make_plan(common: &Common, select: &Select) -> Result<Plan, ExitCode> {
    let bar = progress::Bar::new(common.quiet);
    let result = plan::plan(&common.dir, &options(common, select), &bar);
    bar.finish();
    let color = use_color(common.color, std::io::stderr().is_terminal());
    match result {
        Ok(p) => {
            // The scan's warnings say what the plan cannot see or move.
            if !common.quiet {
                let mut err = std::io::stderr().lock();
                for d in &p.diagnostics {
                    let report = clan_migrate::report::DiagnosticReport::from(d);
                    let _ =
                        err.write_all(diagnostics::render(&common.dir, &report, color).as_bytes());
                }
            }
            Ok(p)
        }
        Err(PlanError::Blocked { diagnostics: diags }) => {
            let mut err = std::io::stderr().lock();
            for d in diags
                .iter()
                .filter(|d| d.severity == clan_migrate::diagnostic::Severity::Error)
            {
                let report = clan_migrate::report::DiagnosticReport::from(d);
                let _ = err.write_all(diagnostics::render(&common.dir, &report, color).as_bytes());
            }
            let _ = writeln!(
                err,
                "error: the scan found errors; nothing is planned until they are fixed"
            );
            Err(ExitCode::from(EXIT_ERROR))
        }
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e, PlanError::UnknownUser { .. }) {
                eprintln!("  help: `clan-migrate scan` lists the users and where they are defined");
            }
            Err(ExitCode::from(EXIT_ERROR))
        }
    }
}

/// Per user: hosts, what moves, what stays and why; then what was skipped.
fn summary(p: &Plan, color: bool) -> String {
    let bold = |s: &str| {
        if color {
            let st = Style::new().bold();
            format!("{}{s}{}", st.render(), st.render_reset())
        } else {
            s.to_string()
        }
    };
    let yellow = |s: &str| {
        if color {
            let st = Style::new().fg_color(Some(AnsiColor::Yellow.into()));
            format!("{}{s}{}", st.render(), st.render_reset())
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for step in &p.steps {
        for m in &step.moves {
            out.push_str(&format!(
                "{} ({}) on {}\n",
                bold(&m.user),
                m.option.as_str(),
                clan_migrate::report::host_list(&m.hosts)
            ));
            out.push_str(&format!(
                "  to {}\n",
                clan_migrate::source::display_path(&m.new_file)
            ));
            if !m.moved.is_empty() {
                out.push_str(&format!("  moves:  {}\n", m.moved.join(", ")));
            }
            for a in &m.reordered {
                out.push_str(&format!(
                    "  note:   {a}: the hosts list the same elements in different orders; the shared module keeps one order\n"
                ));
            }
            for a in &m.partial {
                out.push_str(&format!("  moves:  {a} (elements common to every host; their order across modules may change)\n"));
            }
            for s in &m.stays {
                out.push_str(&format!("  stays:  {s}\n"));
            }
        }
    }
    for s in &p.skipped {
        out.push_str(&format!(
            "{} {} ({}): {}\n",
            yellow("skipped"),
            s.user,
            s.option.as_str(),
            s.reason
        ));
    }
    out
}

fn colour_diff(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    let paint = |c: AnsiColor, l: &str| {
        let st = Style::new().fg_color(Some(c.into()));
        format!("{}{l}{}\n", st.render(), st.render_reset())
    };
    let mut out = String::new();
    for line in diff.lines() {
        if line.starts_with("+++") || line.starts_with("---") || line.starts_with("diff ") {
            out.push_str(&format!(
                "{}{line}{}\n",
                Style::new().bold().render(),
                Style::new().bold().render_reset()
            ));
        } else if line.starts_with('+') {
            out.push_str(&paint(AnsiColor::Green, line));
        } else if line.starts_with('-') {
            out.push_str(&paint(AnsiColor::Red, line));
        } else if line.starts_with("@@") {
            out.push_str(&paint(AnsiColor::Cyan, line));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

pub fn plan_cmd(args: &PlanArgs) -> ExitCode {
    let p = match make_plan(&args.common, &args.select) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let color = use_color(args.common.color, std::io::stdout().is_terminal());
    let mut out = String::new();
    if p.is_empty() {
        out.push_str("Nothing to do: no repeated user can be shared.\n");
        out.push_str(&summary(&p, color));
    } else {
        out.push_str(&summary(&p, color));
        out.push('\n');
        if args.stat {
            for f in p.changed_files() {
                let diff = similar::TextDiff::from_lines(
                    f.before.as_deref().unwrap_or(""),
                    f.after.as_deref().unwrap_or(""),
                );
                let (mut add, mut del) = (0, 0);
                for c in diff.iter_all_changes() {
                    match c.tag() {
                        similar::ChangeTag::Insert => add += 1,
                        similar::ChangeTag::Delete => del += 1,
                        similar::ChangeTag::Equal => {}
                    }
                }
                out.push_str(&format!(
                    " {} | +{add} -{del}\n",
                    clan_migrate::source::display_path(&f.path)
                ));
            }
            let plural = |n: usize, one: &str, many: &str| {
                format!("{n} {}", if n == 1 { one } else { many })
            };
            out.push_str(&format!(
                " {}, {} changed\n",
                plural(p.steps.len(), "user", "users"),
                plural(p.changed_files().len(), "file", "files")
            ));
        } else {
            use rayon::prelude::*;
            let diffs: Vec<String> = p
                .changed_files()
                .par_iter()
                .map(|f| {
                    let diff = plan::unified_diff(f);
                    if color {
                        colour_diff(&diff, color)
                    } else {
                        diff
                    }
                })
                .collect();
            out.reserve(diffs.iter().map(String::len).sum());
            for d in diffs {
                out.push_str(&d);
            }
        }
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    let pending = args.check && !p.is_empty();
    // The process ends here: freeing the plan's trees one by one would
    // only delay the exit.
    std::mem::forget(p);
    if pending {
        return ExitCode::from(EXIT_PENDING);
    }
    ExitCode::from(EXIT_OK)
}

/// A fault injection point for tests: `CLAN_MIGRATE_TEST_FAULT=POINT`
/// fails there, `POINT:sleep` waits there so a test can kill the process
/// (saying so on stderr first, so the test knows when). For the
/// `--no-commit` writer, `write-N:enospc` and `write-N:eacces` make writing
/// the N-th file fail as on a full disk or an unwritable file (see
/// [`stage::FaultPoint`] for the points).
struct EnvFault(Option<String>);

impl stage::FaultPoint for EnvFault {
    fn at(&self, point: &str) -> Result<(), String> {
        match self.0.as_deref() {
            Some(spec) if spec == point => Err(format!("test fault at {point}")),
            Some(spec) if spec.strip_suffix(":sleep") == Some(point) => {
                eprintln!("clan-migrate: test fault: sleeping 60 s at {point}");
                std::thread::sleep(std::time::Duration::from_secs(60));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn io_error(&self, point: &str) -> Option<std::io::Error> {
        use std::io::{Error, ErrorKind};
        let (at, what) = self.0.as_deref()?.split_once(':')?;
        if at != point {
            return None;
        }
        match what {
            "enospc" => Some(Error::new(
                ErrorKind::StorageFull,
                "No space left on device (simulated by CLAN_MIGRATE_TEST_FAULT)",
            )),
            "eacces" => Some(Error::new(
                ErrorKind::PermissionDenied,
                "Permission denied (simulated by CLAN_MIGRATE_TEST_FAULT)",
            )),
            _ => None,
        }
    }
}

pub fn apply_cmd(args: &ApplyArgs) -> ExitCode {
    let dir = &args.common.dir;
    if !dir.is_dir() {
        eprintln!("error: {}: no such directory", dir.display());
        eprintln!(
            "  help: pass the path of the configuration repository, e.g. `clan-migrate apply ~/nixos-config`"
        );
        return ExitCode::from(EXIT_ERROR);
    }
    let branch = args.branch.as_deref().unwrap_or("clan-migrate/users");
    if let Err(e) = stage::check_ready(dir) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    if !args.no_commit
        && let Err(e) = stage::check_branch(dir, branch)
    {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let p = match make_plan(&args.common, &args.select) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let color = use_color(args.common.color, std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(summary(&p, color).as_bytes());
    if p.is_empty() {
        let _ = writeln!(out, "Nothing to do: no repeated user can be shared.");
        return ExitCode::from(EXIT_OK);
    }
    let to_change = |f: &plan::FileChange| stage::FileChange {
        path: f.path.clone(),
        contents: f.after.as_ref().map(|t| t.as_bytes().to_vec()),
    };
    let fault = EnvFault(std::env::var("CLAN_MIGRATE_TEST_FAULT").ok());
    if args.no_commit {
        let changes: Vec<stage::FileChange> = p.files().iter().map(to_change).collect();
        return match stage::write_worktree(dir, &changes, &fault) {
            Ok(()) => {
                let _ = writeln!(
                    out,
                    "Wrote {} files; review with `git diff`, commit when ready.",
                    changes.len()
                );
                ExitCode::from(EXIT_OK)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    let step_files = p.step_files();
    if let Err(e) = plan::check_steps(&step_files) {
        eprintln!("error: an intermediate commit would not be valid Nix: {e}");
        eprintln!(
            "  help: this is a bug in clan-migrate; apply one user at a time with --user meanwhile"
        );
        return ExitCode::from(EXIT_ERROR);
    }
    let commits: Vec<stage::CommitSpec> = p
        .steps
        .iter()
        .zip(&step_files)
        .map(|(s, files)| stage::CommitSpec {
            message: s.commit_message(),
            changes: files.iter().map(to_change).collect(),
        })
        .collect();
    match stage::commit(dir, branch, &commits, &fault) {
        Ok(staged) => {
            let _ = writeln!(
                out,
                "\nOn branch {} ({} commits{}):",
                staged.branch,
                staged.commits.len(),
                staged
                    .original
                    .as_deref()
                    .map(|o| format!(" on top of {o}"))
                    .unwrap_or_default()
            );
            for (id, summary) in &staged.commits {
                let _ = writeln!(out, "  {id} {summary}");
            }
            if let Some(o) = &staged.original {
                let _ = writeln!(out, "Review with `git log -p {o}..{}`.", staged.branch);
            }
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

pub fn verify_cmd(args: &VerifyArgs) -> ExitCode {
    let opts = scan_options(&args.common);
    match clan_migrate::verify::verify_against(&args.common.dir, args.against.as_deref(), &opts) {
        Ok(report) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "Compared {} hosts with {}.",
                report.hosts, report.against
            );
            if report.differences.is_empty() {
                let _ = writeln!(out, "Every host's effective users are unchanged.");
                ExitCode::from(EXIT_OK)
            } else {
                for d in &report.differences {
                    let _ = writeln!(out, "  {d}");
                }
                let _ = writeln!(out, "{} differences.", report.differences.len());
                ExitCode::from(EXIT_ERROR)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
