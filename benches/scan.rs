//! Benchmark: `clan-migrate scan` against `nix-instantiate --parse` on a
//! synthetic fleet, in the same run.
//!
//! Goal (from the issue): scan takes at most 0.5x the time Nix needs just to
//! parse the same files, and its peak RSS stays under 100 MB.
//!
//!     cargo bench --bench scan
//!
//! Environment:
//!   FLEET_HOSTS   hosts in the generated fleet (default 1000)
//!   FLEET_PEOPLE  people (default 40), FLEET_PER_HOST (default 6),
//!   FLEET_ROLES   (default 8), FLEET_SEED (default fixed)
//!   FLEET_DIR     generate here and keep it (default: a temp dir, removed)
//!   ROUNDS        timed rounds, median reported (default 3)
//!   NIX_BATCH     files per nix-instantiate call (default 500)
//!   NIX_INSTANTIATE  nix-instantiate binary (default from PATH)
//!   CLAN_MIGRATE_BIN binary to time (default: this package's release build)
//!
//! Always exits 0: it reports, it does not gate.

mod fleet;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use fleet::FleetSpec;

const GOAL_RATIO: f64 = 0.50;
const GOAL_RSS_BYTES: u64 = 100_000_000;

fn main() {
    let spec = FleetSpec {
        hosts: env_num("FLEET_HOSTS", 1000),
        people: env_num("FLEET_PEOPLE", 40),
        people_per_host: env_num("FLEET_PER_HOST", 6),
        roles: env_num("FLEET_ROLES", 8),
        seed: env_num("FLEET_SEED", FleetSpec::default().seed),
    };
    let rounds: usize = env_num::<usize>("ROUNDS", 3).max(1);
    let batch: usize = env_num::<usize>("NIX_BATCH", 500).max(1);

    // Where the fleet lives: FLEET_DIR (kept) or a temp dir (removed on exit).
    let (_tmp, dir) = match std::env::var_os("FLEET_DIR") {
        Some(d) => (None, PathBuf::from(d)),
        None => match tempfile::Builder::new()
            .prefix("clan-migrate-fleet-")
            .tempdir()
        {
            Ok(t) => {
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
            Err(e) => {
                println!("error: cannot create a temp dir: {e}");
                return;
            }
        },
    };

    let t = Instant::now();
    let summary = match fleet::generate(&spec, &dir) {
        Ok(s) => s,
        Err(e) => {
            println!("error: generating the fleet in {}: {e}", dir.display());
            return;
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

    let bin = std::env::var("CLAN_MIGRATE_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_clan-migrate").to_string());
    let bin = bin.as_str();
    let nix = std::env::var("NIX_INSTANTIATE").unwrap_or_else(|_| "nix-instantiate".into());
    let nix_version = Command::new(&nix)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
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
    println!(
        "\ngoal: ratio <= {GOAL_RATIO:.2}, peak < {} MB: {verdict}",
        GOAL_RSS_BYTES / 1_000_000
    );
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16)
                    .ok()
                    .and_then(|n| n.to_string().parse().ok()),
                None => v.parse().ok(),
            };
            parsed.unwrap_or_else(|| {
                println!("warning: ignoring {name}={v:?} (not a number)");
                default
            })
        }
        Err(_) => default,
    }
}

fn median(times: &[Duration]) -> Duration {
    let mut v = times.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

/// One measured run (possibly several processes, run one after the other).
struct Run {
    wall: Duration,
    /// Largest peak RSS of the processes, in bytes.
    max_rss: u64,
    failure: Option<String>,
    stdout: Option<Vec<u8>>,
}

/// What `wait4` says about one finished child.
struct Reaped {
    status: ExitStatus,
    max_rss: u64,
}

/// Spawn `cmd`, collect its stderr (and stdout if piped) on threads, and reap
/// exactly this child with `wait4`, so that its own `ru_maxrss` is read and
/// not the maximum over all children of this process.
fn spawn_and_reap(cmd: &mut Command) -> std::io::Result<(Reaped, Vec<u8>, Option<Vec<u8>>)> {
    use std::os::unix::process::ExitStatusExt;

    let mut child = cmd.stderr(Stdio::piped()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let err_thread = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = e.read_to_end(&mut buf);
            buf
        })
    });
    let out_thread = child.stdout.take().map(|mut o| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = o.read_to_end(&mut buf);
            buf
        })
    });

    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = loop {
        // SAFETY: pid is our own un-reaped child; both pointers are valid.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break rc;
    };
    if rc == -1 {
        return Err(std::io::Error::last_os_error());
    }
    // The child is reaped: `child` must not be waited on again; dropping it
    // only closes handles.
    drop(child);
    let stderr = err_thread
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    let stdout = out_thread.map(|t| t.join().unwrap_or_default());
    // ru_maxrss is in KiB on Linux (bytes on macOS).
    let max_rss = if cfg!(target_os = "macos") {
        usage.ru_maxrss as u64
    } else {
        usage.ru_maxrss as u64 * 1024
    };
    Ok((
        Reaped {
            status: ExitStatus::from_raw(status),
            max_rss,
        },
        stderr,
        stdout,
    ))
}

fn stderr_head(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().take(8).collect();
    let more = text.lines().count().saturating_sub(lines.len());
    let mut s = lines.join("\n  | ");
    if more > 0 {
        s += &format!("\n  | … ({more} more lines)");
    }
    if s.is_empty() {
        "(no stderr)".into()
    } else {
        format!("stderr:\n  | {s}")
    }
}

fn run_nix(nix: &str, files: &[PathBuf], batch: usize) -> Run {
    let start = Instant::now();
    let mut max_rss = 0;
    for chunk in files.chunks(batch) {
        let mut cmd = Command::new(nix);
        cmd.args(["--store", "dummy://", "--parse"])
            .args(chunk)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        match spawn_and_reap(&mut cmd) {
            Ok((r, stderr, _)) => {
                max_rss = max_rss.max(r.max_rss);
                if !r.status.success() {
                    return Run {
                        wall: start.elapsed(),
                        max_rss,
                        failure: Some(format!(
                            "{nix} exited with {}; {}",
                            r.status,
                            stderr_head(&stderr)
                        )),
                        stdout: None,
                    };
                }
            }
            Err(e) => {
                return Run {
                    wall: start.elapsed(),
                    max_rss,
                    failure: Some(format!("cannot run {nix}: {e}")),
                    stdout: None,
                };
            }
        }
    }
    Run {
        wall: start.elapsed(),
        max_rss,
        failure: None,
        stdout: None,
    }
}

fn run_scan(bin: &str, dir: &Path, capture: bool) -> Run {
    let mut cmd = Command::new(bin);
    cmd.arg("scan")
        .arg("--json")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let start = Instant::now();
    match spawn_and_reap(&mut cmd) {
        Ok((r, stderr, stdout)) => {
            let wall = start.elapsed();
            let failure = (!r.status.success()).then(|| {
                format!(
                    "clan-migrate scan exited with {}; {}",
                    r.status,
                    stderr_head(&stderr)
                )
            });
            Run {
                wall,
                max_rss: r.max_rss,
                failure,
                stdout,
            }
        }
        Err(e) => Run {
            wall: start.elapsed(),
            max_rss: 0,
            failure: Some(format!("cannot run {bin}: {e}")),
            stdout: None,
        },
    }
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
