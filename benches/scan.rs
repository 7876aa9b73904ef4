//! Benchmark: `clan-migrate scan` against `nix-instantiate --parse` on a
//! synthetic fleet, in the same run.
//!
//! Goal (from the issue): scan takes at most 0.5x the time Nix needs just to
//! parse the same files, and its peak RSS stays under 100 MB, on each fleet
//! shape.
//!
//!     cargo bench --bench scan
//!     FLEET_SHAPE=wide cargo bench --bench scan
//!
//! Environment:
//!   FLEET_SHAPE   `roles`, `wide`, or both comma-separated (default both);
//!                 see `benches/plan.rs` and `fleet/`
//!   FLEET_HOSTS   hosts in the `roles` fleet (default 1000)
//!   FLEET_PEOPLE  people (default 40), FLEET_PER_HOST (default 6),
//!   FLEET_ROLES   (default 8), FLEET_SEED (default fixed)
//!   WIDE_HOSTS, WIDE_PEOPLE, WIDE_MIN, WIDE_MAX, WIDE_SEED
//!                 the `wide` fleet (1000 hosts, 200 people on 25 to 60 hosts)
//!   FLEET_DIR     generate under FLEET_DIR/<shape> and keep it (default: a
//!                 temp dir, removed)
//!   ROUNDS        timed rounds, median reported (default 3)
//!   NIX_BATCH     files per nix-instantiate call (default 500)
//!   NIX_INSTANTIATE  nix-instantiate binary (default from PATH)
//!   CLAN_MIGRATE_BIN binary to time (default: this package's release build)
//!
//! Always exits 0: it reports, it does not gate.

mod common;
mod fleet;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{Run, env_num, median, run_nix, run_timed, shapes, wide_spec};
use fleet::{FleetSpec, Shape};

const GOAL_RATIO: f64 = 0.50;
const GOAL_RSS_BYTES: u64 = 100_000_000;

fn main() {
    let shapes = shapes();
    let mut verdicts = Vec::new();
    for &shape in &shapes {
        println!("\n== scan ({} fleet) ==\n", shape.name());
        verdicts.push((shape, bench_scan(shape)));
    }
    if shapes.len() > 1 {
        println!("\n== summary ==\n");
        for (shape, verdict) in verdicts {
            println!("{:<6} {verdict}", shape.name());
        }
    }
}

/// Scan one fleet shape; the verdict line.
fn bench_scan(shape: Shape) -> String {
    let rounds: usize = env_num::<usize>("ROUNDS", 3).max(1);
    let batch: usize = env_num::<usize>("NIX_BATCH", 500).max(1);

    // Where the fleet lives: FLEET_DIR (kept) or a temp dir (removed on exit).
    let work = match common::workdir(
        std::env::var_os("FLEET_DIR").map(|d| PathBuf::from(d).join(shape.name())),
        "clan-migrate-fleet-",
    ) {
        Ok(w) => w,
        Err(e) => {
            println!("error: cannot create a temp dir: {e}");
            return format!("NOT RUN (cannot create a temp dir: {e})");
        }
    };
    let dir = work.path.clone();

    let t = Instant::now();
    let generated = match shape {
        Shape::Roles => fleet::generate(
            &FleetSpec {
                hosts: env_num("FLEET_HOSTS", 1000),
                people: env_num("FLEET_PEOPLE", 40),
                people_per_host: env_num("FLEET_PER_HOST", 6),
                roles: env_num("FLEET_ROLES", 8),
                seed: env_num("FLEET_SEED", FleetSpec::default().seed),
            },
            &dir,
        ),
        Shape::Wide => fleet::generate_wide(&wide_spec(), &dir),
    };
    let summary = match generated {
        Ok(s) => s,
        Err(e) => {
            println!("error: generating the fleet in {}: {e}", dir.display());
            return format!("NOT RUN (generating the fleet: {e})");
        }
    };
    let files = summary.nix_files();
    println!(
        "fleet: {} hosts, {} people ({} on 2+ hosts), {} inline user blocks, {} roles; \
         {} .nix files, {:.1} MB; generated in {:.2?} at {}",
        summary.host_names.len(),
        summary.people.len(),
        summary.repeated_people(),
        summary.inline_user_blocks,
        summary.roles,
        files.len(),
        summary.total_bytes as f64 / 1e6,
        t.elapsed(),
        dir.display()
    );

    let bin = common::subject_bin(env!("CARGO_BIN_EXE_clan-migrate"));
    let bin = bin.as_str();
    let nix = common::nix_bin();
    let nix_version = common::nix_version(&nix);
    match &nix_version {
        Some(v) => println!("baseline: {v}, --store dummy:// --parse, {batch} files per call"),
        None => println!("baseline: `{nix}` not found or not working; timing scan alone"),
    }
    println!("subject: {bin} scan --json <fleet>");
    println!("rounds: {rounds} (+1 warm-up), median reported\n");

    // Warm-up (page cache, dynamic loader), also a correctness check.
    let mut nix_ok = nix_version.is_some();
    if nix_ok {
        let r = run_nix(&nix, &files, batch);
        if let Some(err) = &r.failure {
            println!("baseline FAILED during warm-up: {err}");
            nix_ok = false;
        }
    }
    let warm = run_scan(bin, &dir, true);
    let output_ok = report_scan_output(&warm);

    let mut nix_times = Vec::new();
    let mut nix_rss = 0u64;
    let mut scan_times = Vec::new();
    let mut scan_rss = 0u64;
    let mut scan_failed: Option<String> = warm.failure.clone();
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        if nix_ok {
            let r = run_nix(&nix, &files, batch);
            match &r.failure {
                Some(err) => {
                    println!("baseline FAILED in round {round}: {err}");
                    nix_ok = false;
                }
                None => {
                    line += &format!(" nix parse {:.3}s", r.wall.as_secs_f64());
                    nix_times.push(r.wall);
                    nix_rss = nix_rss.max(r.max_rss);
                }
            }
        }
        let r = run_scan(bin, &dir, false);
        if nix_ok {
            line += " |";
        }
        line += &format!(
            " scan {:.3}s, peak RSS {:.1} MB{}",
            r.wall.as_secs_f64(),
            r.max_rss as f64 / 1e6,
            if r.failure.is_some() { " (FAILED)" } else { "" }
        );
        if scan_failed.is_none() {
            scan_failed = r.failure.clone();
        }
        scan_times.push(r.wall);
        scan_rss = scan_rss.max(r.max_rss);
        println!("{line}");
    }

    let scan_med = median(&scan_times);
    let nix_med = if nix_ok && !nix_times.is_empty() {
        Some(median(&nix_times))
    } else {
        None
    };
    let ratio = nix_med.map(|n| scan_med.as_secs_f64() / n.as_secs_f64());

    println!();
    println!("{:<34} {:>12}", "files (.nix)", files.len());
    println!(
        "{:<34} {:>12}",
        "bytes",
        format!(
            "{} ({:.1} MB)",
            summary.total_bytes,
            summary.total_bytes as f64 / 1e6
        )
    );
    match nix_med {
        Some(n) => {
            println!(
                "{:<34} {:>12.3}",
                "nix-instantiate --parse median (s)",
                n.as_secs_f64()
            );
            println!(
                "{:<34} {:>12.1}",
                "nix-instantiate peak RSS (MB)",
                nix_rss as f64 / 1e6
            );
        }
        None => println!("{:<34} {:>12}", "nix-instantiate --parse median (s)", "n/a"),
    }
    println!(
        "{:<34} {:>12.3}",
        "clan-migrate scan median (s)",
        scan_med.as_secs_f64()
    );
    match ratio {
        Some(r) => println!("{:<34} {:>12.3}", "ratio scan/nix", r),
        None => println!("{:<34} {:>12}", "ratio scan/nix", "n/a"),
    }
    println!(
        "{:<34} {:>12.1}",
        "scan peak RSS (MB)",
        scan_rss as f64 / 1e6
    );
    if let Some(err) = &scan_failed {
        println!("{:<34} {:>12}", "scan status", "FAILED");
        println!("  {err}");
    }

    let rss_met = scan_rss < GOAL_RSS_BYTES;
    let ratio_met = ratio.map(|r| r <= GOAL_RATIO);
    let verdict = match (scan_failed.is_none(), ratio_met, rss_met) {
        (false, _, _) => "NOT MET (scan failed)".to_string(),
        _ if !output_ok => "NOT MET (scan printed no valid JSON: stub or broken?)".to_string(),
        (true, Some(true), true) => "MET".to_string(),
        (true, None, true) => "UNKNOWN (no nix baseline; peak RSS met)".to_string(),
        (true, None, false) => "NOT MET (peak RSS; no nix baseline)".to_string(),
        (true, Some(r), m) => {
            let mut why = Vec::new();
            if !r {
                why.push("ratio");
            }
            if !m {
                why.push("peak RSS");
            }
            format!("NOT MET ({})", why.join(", "))
        }
    };
    let line = format!(
        "scan/nix {}, peak {:.1} MB; goal: ratio <= {GOAL_RATIO:.2}, peak < {} MB: {verdict}",
        ratio.map_or("n/a".to_string(), |r| format!("{r:.3}")),
        scan_rss as f64 / 1e6,
        GOAL_RSS_BYTES / 1_000_000
    );
    println!(
        "\ngoal: ratio <= {GOAL_RATIO:.2}, peak < {} MB: {verdict}",
        GOAL_RSS_BYTES / 1_000_000
    );
    line
}

fn run_scan(bin: &str, dir: &Path, capture: bool) -> Run {
    run_timed(
        bin,
        &["scan".as_ref(), "--json".as_ref(), dir.as_os_str()],
        "clan-migrate scan",
        capture,
    )
}

/// Print what the warm-up scan produced; true if it printed valid JSON.
fn report_scan_output(run: &Run) -> bool {
    if let Some(err) = &run.failure {
        println!("scan FAILED during warm-up: {err}\n");
        return false;
    }
    let out = run.stdout.as_deref().unwrap_or_default();
    let json = serde_json::from_slice::<serde_json::Value>(out);
    let shape = match &json {
        Ok(serde_json::Value::Object(m)) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).take(8).collect();
            format!("valid JSON object, keys: {}", keys.join(", "))
        }
        Ok(serde_json::Value::Array(a)) => format!("valid JSON array of {} items", a.len()),
        Ok(_) => "valid JSON (scalar)".to_string(),
        Err(e) => format!("NOT valid JSON ({e})"),
    };
    println!(
        "scan warm-up: {:.3}s, {} bytes of output, {shape}\n",
        run.wall.as_secs_f64(),
        out.len()
    );
    json.is_ok()
}
