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
        to: target(select),
    }
}

/// What an empty plan says, by target.
fn nothing_to_do(target: plan::TargetKind) -> &'static str {
    match target {
        plan::TargetKind::Clan => "Nothing to do: the flake is a Clan flake already.\n",
        _ => "Nothing to do: no repeated user can be shared.\n",
    }
}

fn target(select: &Select) -> plan::TargetKind {
    match select.to {
        super::args::Target::Module => plan::TargetKind::Module,
        super::args::Target::Service => plan::TargetKind::Service,
        super::args::Target::Clan => plan::TargetKind::Clan,
    }
}

/// Runs the planner, printing why when it cannot plan.
fn make_plan(common: &Common, select: &Select, json: bool) -> Result<Plan, ExitCode> {
    report_plan(common, compute_plan(common, select), json)
}

/// Runs the planner with a progress bar, printing nothing else.
fn compute_plan(common: &Common, select: &Select) -> Result<Plan, PlanError> {
    let bar = progress::Bar::new(common.quiet);
    let clan = clan_migrate::clan::ClanOptions {
        name: select.clan_name.clone(),
        move_hosts: select.move_hosts,
    };
    let result = plan::plan_with(&common.dir, &options(common, select), &clan, &bar);
    bar.finish();
    result
}

/// Prints the plan's diagnostics, or why there is no plan. With `json`
/// the JSON carries the warnings, so only errors go to stderr.
fn report_plan(
    common: &Common,
    result: Result<Plan, PlanError>,
    json: bool,
) -> Result<Plan, ExitCode> {
    let color = use_color(common.color, std::io::stderr().is_terminal());
    match result {
        Ok(p) => {
            // The scan's warnings say what the plan cannot see or move.
            if !common.quiet && !json {
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
            match &e {
                PlanError::UnknownUser { .. } => eprintln!(
                    "  help: `clan-migrate scan` lists the users and where they are defined"
                ),
                PlanError::Clan(c) => eprintln!("  help: {}", c.help()),
                PlanError::NotClan(_) => eprintln!(
                    "  help: build the machines with `clan-core.lib.clan {{ self = self; imports = [ ./clan.nix ]; }}` first (https://docs.clan.lol/guides/migrations/migration-guide/), or share the users as modules with `--to module`"
                ),
                _ => {}
            }
            Err(ExitCode::from(EXIT_ERROR))
        }
    }
}

/// The summary in full: per user, hosts, what moves, what stays and why;
/// then the notices and what was skipped.
fn summary(p: &Plan, color: bool) -> String {
    summary_limited(p, color, None)
}

/// How much of each part of a summary is shown, in lines; `None` shows
/// everything. Together they keep `apply`'s summary under 100 lines for
/// any fleet.
#[derive(Debug, Clone, Copy)]
struct Limits {
    users: usize,
    notices: usize,
    skipped: usize,
    commits: usize,
}

/// `apply`'s default: the first few of each, then how many more.
const APPLY_LIMITS: Limits = Limits {
    users: 40,
    notices: 20,
    skipped: 10,
    commits: 10,
};

/// `items` (each one or more lines) while they fit in `budget` lines, then
/// how many more there are of `noun`. An item longer than the whole
/// budget is cut, so the bound holds whatever the items are.
fn limited(items: &[String], budget: Option<usize>, noun: &str) -> String {
    let Some(budget) = budget else {
        return items.concat();
    };
    let mut out = String::new();
    let mut used = 0;
    for (i, item) in items.iter().enumerate() {
        let lines = item.lines().count();
        if used + lines > budget {
            if i == 0 {
                for l in item.lines().take(budget) {
                    out.push_str(l);
                    out.push('\n');
                }
                out.push_str("  ... (-v shows the rest)\n");
            }
            let more = items.len() - i - usize::from(i == 0);
            if more > 0 {
                out.push_str(&format!("... and {more} more {noun} (-v shows all)\n"));
            }
            return out;
        }
        used += lines;
        out.push_str(item);
    }
    out
}

/// The summary with each part cut to `limits`.
fn summary_limited(p: &Plan, color: bool, limits: Option<Limits>) -> String {
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
    let mut users: Vec<String> = Vec::new();
    for step in &p.steps {
        let mut out = String::new();
        for m in &step.moves {
            out.push_str(&format!(
                "{} ({}) on {}\n",
                bold(&m.user),
                m.option.as_str(),
                clan_migrate::report::host_list(&m.hosts)
            ));
            if let Some(svc) = &m.service {
                let mut to = vec![format!("the {}-user instance of the users service", m.user)];
                if let Some((f, _)) = m.created() {
                    to.push(format!(
                        "{} (in its extraModules)",
                        clan_migrate::source::display_path(f)
                    ));
                }
                out.push_str(&format!("  to {}\n", to.join(" and ")));
                let mut settings: Vec<String> = Vec::new();
                if !svc.groups.is_empty() {
                    settings.push(format!("groups [ {} ]", svc.groups.join(" ")));
                }
                if !svc.keys.is_empty() {
                    settings.push(format!("{} authorized key(s)", svc.keys.len()));
                }
                if !svc.key_files.is_empty() {
                    settings.push(format!("keyFiles [ {} ]", svc.key_files.join(" ")));
                }
                for (h, g) in &svc.machine_groups {
                    settings.push(format!("groups [ {} ] on {h} only", g.join(" ")));
                }
                if !settings.is_empty() {
                    out.push_str(&format!("  settings: {}\n", settings.join(", ")));
                }
                if !svc.dropped.is_empty() {
                    out.push_str(&format!(
                        "  drops:  {} (the service sets it)\n",
                        svc.dropped.join(", ")
                    ));
                }
            } else {
                out.push_str(&format!(
                    "  to {}\n",
                    clan_migrate::source::display_path(&m.new_file)
                ));
            }
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
        users.push(out);
    }
    let mut notices: Vec<String> = Vec::new();
    for n in &p.notices {
        let mut out = format!("{} ", yellow(&format!("{}:", n.severity.as_str())));
        if let Some(l) = &n.location {
            out.push_str(&format!(
                "{}:{}:{}: ",
                clan_migrate::source::display_path(&l.file),
                l.start.line,
                l.start.column
            ));
        }
        out.push_str(&n.message);
        out.push('\n');
        for c in &n.commands {
            out.push_str(&format!("    {c}\n"));
        }
        notices.push(out);
    }
    let mut skipped: Vec<String> = Vec::new();
    for s in &p.skipped {
        skipped.push(format!(
            "{} {} ({}): {}\n",
            yellow("skipped"),
            s.user,
            s.option.as_str(),
            s.reason
        ));
    }
    let mut out = limited(&users, limits.map(|l| l.users), "users");
    out.push_str(&limited(&notices, limits.map(|l| l.notices), "notices"));
    out.push_str(&limited(&skipped, limits.map(|l| l.skipped), "skipped"));
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

/// Where a command's report goes: stdout, or nowhere with `-q` (which
/// prints nothing but errors, and those go to stderr).
fn data_out(quiet: bool) -> Box<dyn Write> {
    if quiet {
        Box::new(std::io::sink())
    } else {
        Box::new(std::io::stdout().lock())
    }
}

pub fn plan_cmd(args: &PlanArgs) -> ExitCode {
    let p = match make_plan(&args.common, &args.select, args.json) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if args.json {
        super::print_json(&plan::PlanReport::build(&p, target(&args.select)));
        let pending = args.check && !p.is_empty();
        std::mem::forget(p);
        return ExitCode::from(if pending { EXIT_PENDING } else { EXIT_OK });
    }
    let color = use_color(args.common.color, std::io::stdout().is_terminal());
    let mut out = String::new();
    if p.is_empty() {
        out.push_str(nothing_to_do(target(&args.select)));
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
            // The conversion to a Clan flake is a step, but not a user.
            let converts = p.steps.iter().any(|s| s.conversion.is_some());
            let users = p.steps.iter().filter(|s| s.conversion.is_none()).count();
            let mut parts = Vec::new();
            if converts {
                parts.push("the conversion to Clan".to_string());
            }
            if users > 0 || !converts {
                parts.push(plural(users, "user", "users"));
            }
            out.push_str(&format!(
                " {}, {} changed\n",
                parts.join(", "),
                plural(p.changed_files().len(), "file", "files")
            ));
        }
    }
    let mut sink = data_out(args.common.quiet);
    let _ = sink.write_all(out.as_bytes());
    if !p.is_empty() && !args.stat {
        write_diffs(&mut sink, p.changed_files(), color);
    }
    let _ = sink.flush();
    let pending = args.check && !p.is_empty();
    // The process ends here: freeing the plan's trees one by one would
    // only delay the exit.
    std::mem::forget(p);
    if pending {
        return ExitCode::from(EXIT_PENDING);
    }
    ExitCode::from(EXIT_OK)
}

/// Writes the diff of each file in order, made on every core a batch at a
/// time: the whole diff of a large fleet at once (megabytes) would be the
/// run's peak of memory.
fn write_diffs(sink: &mut dyn Write, files: &[plan::FileChange], color: bool) {
    use rayon::prelude::*;
    const BATCH: usize = 64;
    for batch in files.chunks(BATCH) {
        let diffs: Vec<String> = batch
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
        for d in &diffs {
            if sink.write_all(d.as_bytes()).is_err() {
                return;
            }
        }
    }
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
    // Whether the repository can take the commits is looked at while the
    // plan is made (both only read); a refusal wins, and then nothing of
    // the plan is printed.
    let (ready, planned) = std::thread::scope(|scope| {
        let ready = scope.spawn(|| {
            stage::check_ready(dir)?;
            if !args.no_commit {
                stage::check_branch(dir, branch)?;
            }
            Ok::<(), stage::StageError>(())
        });
        let planned = compute_plan(&args.common, &args.select);
        (ready.join(), planned)
    });
    match ready {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
        Err(_) => {
            eprintln!("error: looking at the repository failed");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let mut p = match report_plan(&args.common, planned, args.json) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Each step's texts move into its commit (a fleet's intermediate
    // texts are tens of megabytes: they are not copied, and the texts
    // before each step, which only `plan` prints, are dropped at once).
    let step_files = if args.no_commit || p.is_empty() {
        Vec::new()
    } else {
        p.take_step_files()
    };
    let p = p;
    // With --json, the summary is the JSON, printed once the commits exist.
    let quiet = args.common.quiet || args.json;
    let json = |branch: Option<&stage::Staged>, written: Vec<String>| {
        if args.json {
            super::print_json(&plan::ApplyReport {
                plan: plan::PlanReport::build(&p, target(&args.select)),
                branch: branch.map(|s| s.branch.clone()),
                base: branch.and_then(|s| s.original.clone()),
                commits: branch
                    .map(|s| {
                        s.commits
                            .iter()
                            .map(|(id, summary)| plan::report::CommitReport {
                                id: id.clone(),
                                summary: summary.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                written,
            });
        }
    };
    let color = use_color(args.common.color, std::io::stdout().is_terminal());
    // `-v` shows the whole summary; `-q` none of it.
    let limits = (args.common.verbose == 0).then_some(APPLY_LIMITS);
    let mut out = data_out(quiet);
    let _ = out.write_all(summary_limited(&p, color, limits).as_bytes());
    if p.is_empty() {
        let _ = write!(out, "{}", nothing_to_do(target(&args.select)));
        drop(out);
        json(None, Vec::new());
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
                drop(out);
                json(
                    None,
                    changes
                        .iter()
                        .map(|c| clan_migrate::source::display_path(&c.path))
                        .collect(),
                );
                ExitCode::from(EXIT_OK)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    let commits: Vec<stage::CommitSpec> = p
        .steps
        .iter()
        .zip(step_files)
        .map(|(s, files)| stage::CommitSpec {
            message: s.commit_message(),
            changes: files
                .into_iter()
                .map(|f| stage::FileChange {
                    path: f.path,
                    contents: f.after.map(String::into_bytes),
                })
                .collect(),
        })
        .collect();
    // Every commit must be valid Nix on its own; checked while the
    // commits are built, before any of them reaches the repository.
    let step_check = plan::StepCheck::new(&p);
    let check = |commit: &stage::CommitSpec| {
        let texts = commit.changes.iter().map(|f| {
            let text = f
                .contents
                .as_deref()
                .map(|b| std::str::from_utf8(b).expect("the planner writes UTF-8 text"));
            (f.path.as_path(), text)
        });
        step_check
            .check(texts)
            .map_err(|e| format!("an intermediate commit would not be valid Nix: {e}"))
    };
    let code = match stage::commit_checked(dir, branch, commits, &fault, &check) {
        Err(e @ stage::StageError::Invalid(_)) => {
            eprintln!("error: {e}");
            eprintln!(
                "  help: this is a bug in clan-migrate; apply one user at a time with --user meanwhile"
            );
            ExitCode::from(EXIT_ERROR)
        }
        Ok(staged) => {
            let _ = writeln!(
                out,
                "\nOn branch {} ({} commit{}{}):",
                staged.branch,
                staged.commits.len(),
                if staged.commits.len() == 1 { "" } else { "s" },
                staged
                    .original
                    .as_deref()
                    .map(|o| format!(" on top of {o}"))
                    .unwrap_or_default()
            );
            let shown = limits.map_or(usize::MAX, |l| l.commits);
            for (id, summary) in staged.commits.iter().take(shown) {
                let _ = writeln!(out, "  {id} {summary}");
            }
            if staged.commits.len() > shown {
                let _ = writeln!(
                    out,
                    "  ... and {} more commits (-v shows all)",
                    staged.commits.len() - shown
                );
            }
            if let Some(o) = &staged.original {
                let _ = writeln!(out, "Review with `git log -p {o}..{}`.", staged.branch);
            }
            let _ = out.flush();
            json(Some(&staged), Vec::new());
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    };
    // As for `plan`: the process ends here, and freeing the plan piece by
    // piece would only delay the exit.
    std::mem::forget(p);
    code
}

pub fn verify_cmd(args: &VerifyArgs) -> ExitCode {
    let opts = scan_options(&args.common);
    let dir = &args.common.dir;
    let against = args.against.as_deref();
    let mut ok = true;
    // With --eval, Nix's comparison runs even when the syntactic one
    // cannot (a work tree whose files the scan rejects may still evaluate),
    // but not when there is no revision to compare with at all.
    let mut eval = args.common.eval;
    let quiet = args.common.quiet;
    match clan_migrate::verify::verify_against(dir, against, &opts) {
        Ok(report) => {
            let mut out = data_out(quiet);
            let _ = writeln!(
                out,
                "Compared {} hosts with {}.",
                report.hosts, report.against
            );
            if report.differences.is_empty() {
                let _ = writeln!(out, "Every host's effective users are unchanged.");
            } else {
                // The differences are the error: with -q they still show, on stderr.
                let mut out = failure_out(quiet);
                for d in &report.differences {
                    let _ = writeln!(out, "  {d}");
                }
                let _ = writeln!(out, "{} differences.", report.differences.len());
                ok = false;
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            eval &= matches!(e, clan_migrate::verify::VerifyError::Broken(_));
            ok = false;
        }
    }
    if eval {
        ok &= verify_eval(dir, against, args.common.quiet);
    }
    ExitCode::from(if ok { EXIT_OK } else { EXIT_ERROR })
}

/// `verify --eval`: prints what Nix says; whether it agrees on every host.
fn verify_eval(dir: &std::path::Path, against: Option<&str>, quiet: bool) -> bool {
    use clan_migrate::verify::eval::{EvalError, Side, verify_eval};
    let report = match verify_eval(dir, against) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    let mut out = data_out(quiet);
    let _ = writeln!(
        out,
        "Nix: compared users.users of {} with {}.",
        hosts(report.compared.len()),
        report.against
    );
    for d in &report.differences {
        let _ = writeln!(failure_out(quiet), "  {d}");
    }
    if !quiet {
        for (host, user, path) in &report.reordered {
            let mut p = vec!["users".to_string(), "users".to_string(), user.clone()];
            p.extend(path.iter().cloned());
            let _ = writeln!(
                out,
                "  note: host {host}: {}: the same elements in another order (modules are merged in a new order)",
                clan_migrate::analyse::dotted(&p)
            );
        }
    }
    if !report.differences.is_empty() {
        let _ = writeln!(
            failure_out(quiet),
            "{} differences in what Nix evaluates.",
            report.differences.len()
        );
    } else if report.failures.is_empty() {
        let _ = writeln!(
            out,
            "Nix agrees: every host's users.users evaluates the same ({}).",
            hosts(report.compared.len())
        );
    }
    drop(out);
    for f in &report.failures {
        let what = match &f.host {
            Some(h) => format!("host `{h}`"),
            None => "the flake".to_string(),
        };
        let side = match f.side {
            Side::Before => format!("at {}", report.against),
            Side::After => "in the work tree".to_string(),
        };
        eprintln!("warning: Nix could not evaluate {what} {side}: {}", f.error);
    }
    if !report.failures.is_empty() {
        eprintln!(
            "error: could not verify with Nix: {} failed; what Nix did not evaluate on both sides is not compared",
            match report.failures.len() {
                1 => "1 evaluation".to_string(),
                n => format!("{n} evaluations"),
            }
        );
        if report.failures.iter().any(|f| {
            matches!(
                f.error,
                EvalError::Nix(clan_migrate::nix::NixError::Failed(_))
            )
        }) {
            eprintln!(
                "  help: make `nix eval .#nixosConfigurations.<host>.config.users.users` work offline (inputs locked and in the store), or drop --eval"
            );
        }
    }
    report.agrees()
}

/// Where a failed check's findings go: with the report on stdout, or on
/// stderr with `-q`, where they are the error.
fn failure_out(quiet: bool) -> Box<dyn Write> {
    if quiet {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    }
}

fn hosts(n: usize) -> String {
    format!("{n} host{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::limited;

    fn items(n: usize, lines: usize) -> Vec<String> {
        (0..n)
            .map(|i| (0..lines).map(|l| format!("item {i} line {l}\n")).collect())
            .collect()
    }

    #[test]
    fn limited_shows_whole_items_while_they_fit_then_how_many_more() {
        let all = items(10, 3);
        assert_eq!(limited(&all, None, "users"), all.concat());
        let out = limited(&all, Some(10), "users");
        assert_eq!(out.lines().count(), 10);
        assert!(out.starts_with(&all[..3].concat()));
        assert!(
            out.ends_with("... and 7 more users (-v shows all)\n"),
            "{out}"
        );
        assert_eq!(limited(&all[..2], Some(10), "users"), all[..2].concat());
    }

    #[test]
    fn limited_cuts_an_item_longer_than_the_budget() {
        let all = items(3, 500);
        let out = limited(&all, Some(20), "notices");
        assert_eq!(out.lines().count(), 22, "{out}");
        assert!(out.contains("  ... (-v shows the rest)\n"));
        assert!(
            out.ends_with("... and 2 more notices (-v shows all)\n"),
            "{out}"
        );
        let one = limited(&all[..1], Some(20), "notices");
        assert_eq!(one.lines().count(), 21, "{one}");
    }
}
