//! Benchmark: `clan-migrate plan` and `clan-migrate apply` against
//! `nix-instantiate --parse` of the same files, in the same run.
//!
//! Goals (issue 13), on each fleet shape: `plan` takes at most 1x the time
//! Nix needs just to parse the same files, and `apply` of every repeated
//! user (one commit each) at most 4x; peak RSS of `plan` under 100 MB and of
//! `apply` under 150 MB.
//!
//!     cargo bench --bench plan
//!     FLEET_SHAPE=wide ROUNDS=5 cargo bench --bench plan
//!
//! Two shapes of 1,000-host fleet (see `fleet/`), selected by FLEET_SHAPE
//! (`roles`, `wide`, or both comma-separated; default `roles,wide`):
//!   roles  a few popular people per host next to role modules, 3 files
//!          per host; plan on 40 people, apply on 200 people all on 2+ hosts
//!   wide   200 people, each on 25 to 60 hosts, in about 2,000 small
//!          files; plan and apply on the same fleet
//!
//! Environment:
//!   FLEET_HOSTS   hosts in the `roles` plan fleet (default 1000)
//!   FLEET_PEOPLE  people (default 40), FLEET_PER_HOST (default 6),
//!   FLEET_ROLES   (default 8), FLEET_SEED (default fixed): as for `scan`
//!   APPLY_HOSTS   hosts in the `roles` apply fleet (default 1000)
//!   APPLY_USERS   people in the `roles` apply fleet, all on 2+ hosts (default 200)
//!   WIDE_HOSTS, WIDE_PEOPLE, WIDE_MIN, WIDE_MAX, WIDE_SEED
//!                 the `wide` fleet: hosts (1000), people (200), hosts per
//!                 person (25 to 60), seed (fixed)
//!   FLEET_DIR     generate under FLEET_DIR/<shape>-plan and
//!                 FLEET_DIR/<shape>-apply and keep them (replaced on each
//!                 run; default: temp dirs, removed)
//!   ROUNDS        timed rounds, median reported (default 3)
//!   NIX_BATCH     files per nix-instantiate call (default 500)
//!   NIX_INSTANTIATE  nix-instantiate binary (default from PATH)
//!   CLAN_MIGRATE_BIN binary to time (default: this package's release build)
//!   SKIP_PLAN / SKIP_APPLY  set to 1 to run one half only
//!
//! Each `apply` round creates a new branch `bench-<round>` (round 0 is the
//! warm-up) from `main`; between rounds, untimed, `git checkout -q main &&
//! git branch -D bench-<round>`, then `git reflog expire --expire=now --all
//! && git prune --expire=now` and the removal of the packs the round
//! wrote put the repository back, its new objects included.
//!
//! Always exits 0: it reports, it does not gate.

mod common;
mod fleet;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, env_num, median, row, run_nix, run_timed, shapes, wide_spec};
use fleet::{FleetSpec, FleetSummary, Shape, WideSpec};

const GOAL_PLAN_RATIO: f64 = 1.0;
const GOAL_APPLY_RATIO: f64 = 4.0;
const GOAL_PLAN_RSS_BYTES: u64 = 100_000_000;
const GOAL_APPLY_RSS_BYTES: u64 = 150_000_000;

/// What one half of the benchmark found, for the closing summary.
struct Outcome {
    ratio: Option<f64>,
    /// Median wall time of the subject, if any round ran.
    median: Option<Duration>,
    /// Peak RSS over every run of the subject, in bytes.
    rss: u64,
    verdict: String,
}

/// Shared settings of both halves.
struct Ctx {
    bin: String,
    nix: String,
    /// `nix-instantiate --version`, if it runs.
    nix_version: Option<String>,
    rounds: usize,
    batch: usize,
}

fn main() {
    let nix = common::nix_bin();
    let ctx = Ctx {
        bin: common::subject_bin(env!("CARGO_BIN_EXE_clan-migrate")),
        nix_version: common::nix_version(&nix),
        nix,
        rounds: env_num::<usize>("ROUNDS", 3).max(1),
        batch: env_num::<usize>("NIX_BATCH", 500).max(1),
    };
    let keep = std::env::var_os("FLEET_DIR").map(PathBuf::from);

    match &ctx.nix_version {
        Some(v) => println!(
            "baseline: {v}, --store dummy:// --parse, {} files per call",
            ctx.batch
        ),
        None => println!(
            "baseline: `{}` not found or not working; timing clan-migrate alone",
            ctx.nix
        ),
    }
    println!("rounds: {} (+1 warm-up), median reported", ctx.rounds);

    let mut results = Vec::new();
    for shape in shapes() {
        let plan = if flag("SKIP_PLAN") {
            None
        } else {
            Some(bench_plan(&ctx, keep.as_deref(), shape))
        };
        let apply = if flag("SKIP_APPLY") {
            None
        } else {
            Some(bench_apply(&ctx, keep.as_deref(), shape))
        };
        results.push((shape, plan, apply));
    }

    println!("\n== summary ==\n");
    for (shape, plan, apply) in &results {
        let shape = shape.name();
        for (name, goal, rss_goal, outcome) in [
            ("plan/nix", GOAL_PLAN_RATIO, GOAL_PLAN_RSS_BYTES, plan),
            ("apply/nix", GOAL_APPLY_RATIO, GOAL_APPLY_RSS_BYTES, apply),
        ] {
            match outcome {
                Some(o) => println!(
                    "{shape:<6} {name:<10} {:>8}   peak {:>6} MB   goal <= {goal:.1}, < {} MB: {}",
                    opt3(o.ratio),
                    mb(o.rss),
                    rss_goal / 1_000_000,
                    o.verdict
                ),
                None => println!("{shape:<6} {name:<10} {:>8}   skipped", "-"),
            }
        }
        // For reading only: the fleets of the two halves differ for `roles`.
        if let (Some(Some(p)), Some(Some(a))) = (
            plan.as_ref().map(|o| o.median),
            apply.as_ref().map(|o| o.median),
        ) {
            println!(
                "{shape:<6} {:<10} {:>8.3}   (not a goal)",
                "apply/plan",
                a.as_secs_f64() / p.as_secs_f64()
            );
        }
    }
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

// ---------------------------------------------------------------------------
// plan

fn bench_plan(ctx: &Ctx, keep: Option<&Path>, shape: Shape) -> Outcome {
    println!(
        "\n== plan ({} fleet): {} <fleet> --color never ==\n",
        shape.name(),
        ctx.bin
    );
    let work = match fresh_workdir(keep, &format!("{}-plan", shape.name())) {
        Ok(w) => w,
        Err(e) => return failed(&e),
    };
    let dir = work.path.as_path();
    let generated = match shape {
        Shape::Roles => generate(
            &FleetSpec {
                hosts: env_num("FLEET_HOSTS", 1000),
                people: env_num("FLEET_PEOPLE", 40),
                people_per_host: env_num("FLEET_PER_HOST", 6),
                roles: env_num("FLEET_ROLES", 8),
                seed: env_num("FLEET_SEED", FleetSpec::default().seed),
            },
            dir,
        ),
        Shape::Wide => generate_wide(&wide_spec(), dir),
    };
    let summary = match generated {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let files = summary.nix_files();
    let args: Vec<&OsStr> = vec![
        "plan".as_ref(),
        dir.as_os_str(),
        "--color".as_ref(),
        "never".as_ref(),
    ];

    // Warm-up (page cache, dynamic loader), also a correctness check.
    let mut nix_ok = ctx.nix_version.is_some();
    if nix_ok {
        let r = run_nix(&ctx.nix, &files, ctx.batch);
        if let Some(err) = &r.failure {
            println!("baseline FAILED during warm-up: {err}");
            nix_ok = false;
        }
    }
    let warm = run_timed(&ctx.bin, &args, "clan-migrate plan", true);
    let output_ok = report_plan_output(&warm);

    let mut nix_times = Vec::new();
    let mut nix_rss = 0u64;
    let mut times = Vec::new();
    let mut rss = 0u64;
    let mut failure = warm.failure.clone();
    for round in 1..=ctx.rounds {
        let mut line = format!("round {round}:");
        if nix_ok {
            nix_ok = nix_round(ctx, &files, round, &mut line, &mut nix_times, &mut nix_rss);
        }
        let r = run_timed(&ctx.bin, &args, "clan-migrate plan", false);
        line += &format!(
            "{} plan {:.3}s, peak RSS {:.1} MB{}",
            if nix_ok { " |" } else { "" },
            r.wall.as_secs_f64(),
            r.max_rss as f64 / 1e6,
            if r.failure.is_some() { " (FAILED)" } else { "" }
        );
        if failure.is_none() {
            failure = r.failure.clone();
        }
        times.push(r.wall);
        rss = rss.max(r.max_rss);
        println!("{line}");
    }

    let med = median(&times);
    let nix_med = (nix_ok && !nix_times.is_empty()).then(|| median(&nix_times));
    let ratio = nix_med.map(|n| med.as_secs_f64() / n.as_secs_f64());
    let rss = rss.max(warm.max_rss);

    println!();
    print_fleet_rows(&summary, files.len());
    print_nix_rows(nix_med, nix_rss);
    println!("{}", row("clan-migrate plan median (s)", secs(med)));
    println!("{}", row("ratio plan/nix", opt3(ratio)));
    println!("{}", row("plan peak RSS (MB)", mb(rss)));
    if let Some(err) = &failure {
        println!("{}", row("plan status", "FAILED"));
        println!("  {err}");
    }

    let verdict = if failure.is_some() {
        "NOT MET (plan failed)".to_string()
    } else if !output_ok {
        "NOT MET (plan printed no diff: stub or broken?)".to_string()
    } else {
        verdict(ratio, GOAL_PLAN_RATIO, rss, GOAL_PLAN_RSS_BYTES)
    };
    println!(
        "\ngoal: ratio plan/nix <= {GOAL_PLAN_RATIO:.2}, peak < {} MB: {verdict}",
        GOAL_PLAN_RSS_BYTES / 1_000_000
    );
    Outcome {
        ratio,
        median: Some(med),
        rss,
        verdict,
    }
}

/// Print what the warm-up plan produced; true if it printed a diff.
fn report_plan_output(run: &Run) -> bool {
    if let Some(err) = &run.failure {
        println!("plan FAILED during warm-up: {err}\n");
        return false;
    }
    let out = run.stdout.as_deref().unwrap_or_default();
    let text = String::from_utf8_lossy(out);
    let diffs = text
        .lines()
        .filter(|l| l.starts_with("diff --git "))
        .count();
    let new_files = text
        .lines()
        .filter(|l| l.starts_with("new file mode "))
        .count();
    let skipped = text.lines().filter(|l| l.starts_with("skipped ")).count();
    println!(
        "plan warm-up: {:.3}s, {} bytes of output, {} lines; {diffs} files in the diff \
         ({new_files} new), {skipped} users skipped\n",
        run.wall.as_secs_f64(),
        out.len(),
        text.lines().count(),
    );
    diffs > 0
}

// ---------------------------------------------------------------------------
// apply

fn bench_apply(ctx: &Ctx, keep: Option<&Path>, shape: Shape) -> Outcome {
    let wide = wide_spec();
    let users: usize = match shape {
        Shape::Roles => env_num("APPLY_USERS", 200),
        Shape::Wide => wide.people,
    };
    println!(
        "\n== apply ({} fleet): {} <fleet> --branch bench-N --color never ({users} users) ==\n",
        shape.name(),
        ctx.bin
    );
    let work = match fresh_workdir(keep, &format!("{}-apply", shape.name())) {
        Ok(w) => w,
        Err(e) => return failed(&e),
    };
    let dir = work.path.as_path();
    let generated = match shape {
        Shape::Roles => roles_apply_fleet(dir, users),
        Shape::Wide => generate_wide(&wide, dir),
    };
    let summary = match generated {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let repeated = summary.repeated_people();
    if repeated != users {
        println!("  warning: only {repeated} of {users} people are on 2+ hosts; going on");
    }
    let files = summary.nix_files();

    let t = Instant::now();
    if let Err(e) = make_repo(dir) {
        return failed(&format!("making the git repository: {e}"));
    }
    println!(
        "git: {} files committed on `main` in {:.2?}",
        summary.files.len(),
        t.elapsed()
    );

    // Warm-up: nix once, apply once on bench-0 (checked, then reset).
    let mut nix_ok = ctx.nix_version.is_some();
    if nix_ok {
        let r = run_nix(&ctx.nix, &files, ctx.batch);
        if let Some(err) = &r.failure {
            println!("baseline FAILED during warm-up: {err}");
            nix_ok = false;
        }
    }
    let warm = apply_round(ctx, dir, 0);
    let mut failure = warm.failure.clone();
    match &warm.failure {
        Some(err) => println!("apply FAILED during warm-up: {err}\n"),
        None => println!(
            "apply warm-up: {:.3}s, {} commits on bench-0, {} bytes of output\n",
            warm.run.wall.as_secs_f64(),
            show_commits(warm.commits),
            warm.run.stdout.as_ref().map_or(0, Vec::len)
        ),
    }

    let mut nix_times = Vec::new();
    let mut nix_rss = 0u64;
    let mut times = Vec::new();
    let mut rss = 0u64;
    let mut commits: Vec<Option<usize>> = Vec::new();
    if warm.reset_ok {
        for round in 1..=ctx.rounds {
            let mut line = format!("round {round}:");
            if nix_ok {
                nix_ok = nix_round(ctx, &files, round, &mut line, &mut nix_times, &mut nix_rss);
            }
            let r = apply_round(ctx, dir, round);
            line += &format!(
                "{} apply {:.3}s, {} commits, peak RSS {:.1} MB{}",
                if nix_ok { " |" } else { "" },
                r.run.wall.as_secs_f64(),
                show_commits(r.commits),
                r.run.max_rss as f64 / 1e6,
                if r.failure.is_some() { " (FAILED)" } else { "" }
            );
            println!("{line}");
            if failure.is_none() {
                failure = r.failure.clone();
            }
            times.push(r.run.wall);
            rss = rss.max(r.run.max_rss);
            commits.push(r.commits);
            if !r.reset_ok {
                println!("stopping: the repository could not be put back for the next round");
                break;
            }
        }
    } else {
        println!("skipping the timed rounds: the repository could not be put back");
    }

    let med = (!times.is_empty()).then(|| median(&times));
    let nix_med = (nix_ok && !nix_times.is_empty()).then(|| median(&nix_times));
    let ratio = med
        .zip(nix_med)
        .map(|(a, n)| a.as_secs_f64() / n.as_secs_f64());
    let all_commits: Vec<Option<usize>> = std::iter::once(warm.commits).chain(commits).collect();
    let commits_ok = all_commits.iter().all(|&c| c == Some(users));

    println!();
    print_fleet_rows(&summary, files.len());
    println!("{}", row("people on 2+ hosts", repeated));
    println!(
        "{}",
        row(
            "commits (warm-up/rounds)",
            all_commits
                .iter()
                .map(|&c| show_commits(c))
                .collect::<Vec<_>>()
                .join("/")
        )
    );
    print_nix_rows(nix_med, nix_rss);
    println!(
        "{}",
        row(
            "clan-migrate apply median (s)",
            med.map_or("n/a".into(), secs)
        )
    );
    println!("{}", row("ratio apply/nix", opt3(ratio)));
    let rss = rss.max(warm.run.max_rss);
    println!("{}", row("apply peak RSS (MB)", mb(rss)));
    if let Some(err) = &failure {
        println!("{}", row("apply status", "FAILED"));
        println!("  {err}");
    }

    let verdict = if failure.is_some() {
        "NOT MET (apply failed)".to_string()
    } else if !commits_ok {
        format!(
            "NOT MET (commits: {} instead of {users})",
            all_commits
                .iter()
                .map(|&c| show_commits(c))
                .collect::<Vec<_>>()
                .join("/")
        )
    } else {
        verdict(ratio, GOAL_APPLY_RATIO, rss, GOAL_APPLY_RSS_BYTES)
    };
    println!(
        "\ngoal: {users} commits, ratio apply/nix <= {GOAL_APPLY_RATIO:.2}, peak < {} MB: {verdict}",
        GOAL_APPLY_RSS_BYTES / 1_000_000
    );
    Outcome {
        ratio,
        median: med,
        rss,
        verdict,
    }
}

/// The `roles` fleet for apply: every person on at least two hosts. Start
/// from a plausible spec and widen it (more people per host, then more
/// hosts) until that holds.
fn roles_apply_fleet(dir: &Path, users: usize) -> Result<FleetSummary, String> {
    let mut spec = FleetSpec {
        hosts: env_num("APPLY_HOSTS", 1000),
        people: users,
        people_per_host: 6,
        ..FleetSpec::default()
    };
    let mut summary = None;
    for attempt in 1..=8 {
        if attempt > 1 {
            std::fs::remove_dir_all(dir)
                .and_then(|()| std::fs::create_dir(dir))
                .map_err(|e| format!("clearing {}: {e}", dir.display()))?;
        }
        let s = generate(&spec, dir)?;
        let repeated = s.repeated_people();
        summary = Some(s);
        if repeated == users {
            break;
        }
        println!(
            "  {repeated} of {users} people on 2+ hosts with {} hosts, {} per host; widening",
            spec.hosts, spec.people_per_host
        );
        if spec.people_per_host < 24 {
            spec.people_per_host *= 2;
        } else {
            spec.hosts *= 2;
        }
    }
    summary.ok_or_else(|| "no fleet generated".to_string())
}

/// One `apply` on a new branch `bench-<round>`, then (untimed) the count of
/// its commits and the reset to `main`.
struct ApplyRound {
    run: Run,
    /// `git rev-list --count main..bench-<round>`, if the branch exists.
    commits: Option<usize>,
    failure: Option<String>,
    /// The repository is back on a clean `main` without the branch.
    reset_ok: bool,
}

fn apply_round(ctx: &Ctx, dir: &Path, round: usize) -> ApplyRound {
    let branch = format!("bench-{round}");
    let args: Vec<&OsStr> = vec![
        "apply".as_ref(),
        dir.as_os_str(),
        "--branch".as_ref(),
        branch.as_ref(),
        "--color".as_ref(),
        "never".as_ref(),
    ];
    let packs_before = pack_files(dir);
    let run = run_timed(&ctx.bin, &args, "clan-migrate apply", round == 0);
    let mut failure = run.failure.clone();
    let commits = git(dir, &["rev-list", "--count", &format!("main..{branch}")])
        .ok()
        .and_then(|s| s.trim().parse().ok());

    // Put the repository back: on `main`, the branch gone, the tree clean,
    // and its objects gone too, so that every round writes every object
    // (objects already present are not written again, which would flatter
    // every round after the first).
    let reset = || -> Result<(), String> {
        git(dir, &["checkout", "-q", "main"])?;
        if commits.is_some() {
            git(dir, &["branch", "-D", "-q", &branch])?;
        }
        git(dir, &["reflog", "expire", "--expire=now", "--all"])?;
        git(dir, &["prune", "--expire=now"])?;
        // A pack the round wrote holds only the branch's objects.
        for pack in pack_files(dir).difference(&packs_before) {
            std::fs::remove_file(pack).map_err(|e| format!("{}: {e}", pack.display()))?;
        }
        let status = git(dir, &["status", "--porcelain"])?;
        if !status.trim().is_empty() {
            return Err(format!(
                "work tree not clean after the reset: {}",
                status.lines().take(3).collect::<Vec<_>>().join("; ")
            ));
        }
        Ok(())
    };
    let reset_ok = match reset() {
        Ok(()) => true,
        Err(e) => {
            let msg = format!("resetting after apply on {branch}: {e}");
            println!("  {msg}");
            failure.get_or_insert(msg);
            false
        }
    };
    ApplyRound {
        run,
        commits,
        failure,
        reset_ok,
    }
}

/// The files of `.git/objects/pack`.
fn pack_files(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    std::fs::read_dir(dir.join(".git/objects/pack"))
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

/// `git init`, commit everything as `main`, and set a repo-local identity
/// (apply needs one).
fn make_repo(dir: &Path) -> Result<(), String> {
    git(dir, &["init", "-q", "-b", "main"])?;
    git(dir, &["add", "-A"])?;
    git(
        dir,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-qm",
            "fleet",
        ],
    )?;
    git(dir, &["config", "user.name", "bench"])?;
    git(dir, &["config", "user.email", "bench@example.com"])?;
    Ok(())
}

/// `git -C dir args…`; its stdout, or why it failed.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`git {}` exited with {}; {}",
            args.join(" "),
            out.status,
            common::stderr_head(&out.stderr)
        ))
    }
}

fn show_commits(c: Option<usize>) -> String {
    c.map_or("no branch".to_string(), |n| n.to_string())
}

// ---------------------------------------------------------------------------
// shared

/// FLEET_DIR/<name>, emptied, or a new temp dir.
fn fresh_workdir(keep: Option<&Path>, name: &str) -> Result<common::Workdir, String> {
    let keep = keep.map(|k| k.join(name));
    if let Some(d) = &keep
        && d.exists()
    {
        std::fs::remove_dir_all(d).map_err(|e| format!("clearing {}: {e}", d.display()))?;
    }
    let w = common::workdir(keep, &format!("clan-migrate-{name}-"))
        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
    std::fs::create_dir_all(&w.path).map_err(|e| format!("creating {}: {e}", w.path.display()))?;
    Ok(w)
}

fn generate(spec: &FleetSpec, dir: &Path) -> Result<FleetSummary, String> {
    generated(dir, || fleet::generate(spec, dir))
}

fn generate_wide(spec: &WideSpec, dir: &Path) -> Result<FleetSummary, String> {
    generated(dir, || fleet::generate_wide(spec, dir))
}

/// Run a fleet generator and say what it wrote.
fn generated(
    dir: &Path,
    generator: impl FnOnce() -> std::io::Result<FleetSummary>,
) -> Result<FleetSummary, String> {
    let t = Instant::now();
    let summary =
        generator().map_err(|e| format!("generating the fleet in {}: {e}", dir.display()))?;
    println!(
        "fleet: {} hosts, {} people ({} on 2+ hosts), {} inline user blocks, {} roles; \
         {} .nix files, {:.1} MB; generated in {:.2?} at {}",
        summary.host_names.len(),
        summary.people.len(),
        summary.repeated_people(),
        summary.inline_user_blocks,
        summary.roles,
        summary.nix_files().len(),
        summary.total_bytes as f64 / 1e6,
        t.elapsed(),
        dir.display()
    );
    Ok(summary)
}

/// One timed nix round; appends to `line`. False if nix failed (and is off
/// from now on).
fn nix_round(
    ctx: &Ctx,
    files: &[PathBuf],
    round: usize,
    line: &mut String,
    times: &mut Vec<Duration>,
    rss: &mut u64,
) -> bool {
    let r = run_nix(&ctx.nix, files, ctx.batch);
    match &r.failure {
        Some(err) => {
            println!("baseline FAILED in round {round}: {err}");
            false
        }
        None => {
            *line += &format!(" nix parse {:.3}s", r.wall.as_secs_f64());
            times.push(r.wall);
            *rss = (*rss).max(r.max_rss);
            true
        }
    }
}

fn print_fleet_rows(summary: &FleetSummary, nix_files: usize) {
    println!("{}", row("files (.nix)", nix_files));
    println!(
        "{}",
        row(
            "bytes",
            format!(
                "{} ({:.1} MB)",
                summary.total_bytes,
                summary.total_bytes as f64 / 1e6
            )
        )
    );
}

fn print_nix_rows(nix_med: Option<Duration>, nix_rss: u64) {
    match nix_med {
        Some(n) => {
            println!("{}", row("nix-instantiate --parse median (s)", secs(n)));
            println!("{}", row("nix-instantiate peak RSS (MB)", mb(nix_rss)));
        }
        None => println!("{}", row("nix-instantiate --parse median (s)", "n/a")),
    }
}

fn verdict(ratio: Option<f64>, goal: f64, rss: u64, rss_goal: u64) -> String {
    let rss_met = rss < rss_goal;
    match ratio {
        Some(r) if r <= goal && rss_met => "MET".to_string(),
        Some(r) if r <= goal => "NOT MET (peak RSS)".to_string(),
        Some(_) if rss_met => "NOT MET (ratio)".to_string(),
        Some(_) => "NOT MET (ratio, peak RSS)".to_string(),
        None if rss_met => "UNKNOWN (no nix baseline; peak RSS met)".to_string(),
        None => "NOT MET (peak RSS; no nix baseline)".to_string(),
    }
}

fn failed(err: &str) -> Outcome {
    println!("error: {err}");
    Outcome {
        ratio: None,
        median: None,
        rss: 0,
        verdict: format!("NOT RUN ({err})"),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1e6)
}

fn opt3(x: Option<f64>) -> String {
    x.map_or("n/a".to_string(), |x| format!("{x:.3}"))
}
