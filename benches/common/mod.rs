//! Helpers shared by the benchmarks: environment knobs, scratch directories,
//! medians, and running a child process while measuring its wall time and
//! its own peak RSS (reaped with `wait4`).
//!
//! Self-contained (std, libc, tempfile, and the `fleet` module beside it) so
//! any bench can use it with `mod common; mod fleet;`.

#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::fleet::{Shape, WideSpec};

/// `name` from the environment as a number (decimal, or hex with `0x`);
/// `default` when unset, with a warning when it does not parse.
pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
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

/// FLEET_SHAPE (`roles`, `wide`, or both comma-separated) as a list of
/// shapes in the order given; both when unset or empty.
pub fn shapes() -> Vec<Shape> {
    let spec = std::env::var("FLEET_SHAPE").unwrap_or_default();
    let mut out = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        match word {
            "roles" => out.push(Shape::Roles),
            "wide" => out.push(Shape::Wide),
            other => println!("warning: ignoring FLEET_SHAPE entry {other:?} (roles or wide)"),
        }
    }
    if out.is_empty() {
        out = vec![Shape::Roles, Shape::Wide];
    }
    out
}

/// The `wide` fleet: WIDE_HOSTS, WIDE_PEOPLE, WIDE_MIN, WIDE_MAX (hosts per
/// person) and WIDE_SEED over [`WideSpec::default`].
pub fn wide_spec() -> WideSpec {
    let d = WideSpec::default();
    WideSpec {
        hosts: env_num("WIDE_HOSTS", d.hosts),
        people: env_num("WIDE_PEOPLE", d.people),
        min_hosts_per_person: env_num("WIDE_MIN", d.min_hosts_per_person),
        max_hosts_per_person: env_num("WIDE_MAX", d.max_hosts_per_person),
        seed: env_num("WIDE_SEED", d.seed),
    }
}

/// A directory to generate a fleet in: `keep` if given (left in place), else
/// a fresh temp dir that is removed when this value is dropped.
pub struct Workdir {
    _tmp: Option<tempfile::TempDir>,
    pub path: PathBuf,
}

pub fn workdir(keep: Option<PathBuf>, prefix: &str) -> std::io::Result<Workdir> {
    match keep {
        Some(path) => Ok(Workdir { _tmp: None, path }),
        None => {
            let t = tempfile::Builder::new().prefix(prefix).tempdir()?;
            let path = t.path().to_path_buf();
            Ok(Workdir {
                _tmp: Some(t),
                path,
            })
        }
    }
}

pub fn median(times: &[Duration]) -> Duration {
    let mut v = times.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

/// The binary under test: `CLAN_MIGRATE_BIN`, else `default` (the bench's
/// `env!("CARGO_BIN_EXE_clan-migrate")`).
pub fn subject_bin(default: &str) -> String {
    std::env::var("CLAN_MIGRATE_BIN").unwrap_or_else(|_| default.to_string())
}

/// The baseline binary: `NIX_INSTANTIATE`, else `nix-instantiate` from PATH.
pub fn nix_bin() -> String {
    std::env::var("NIX_INSTANTIATE").unwrap_or_else(|_| "nix-instantiate".into())
}

/// `nix --version`, or `None` if it cannot be run or fails.
pub fn nix_version(nix: &str) -> Option<String> {
    Command::new(nix)
        .arg("--version")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// One measured run (possibly several processes, run one after the other).
pub struct Run {
    pub wall: Duration,
    /// Largest peak RSS of the processes, in bytes.
    pub max_rss: u64,
    pub failure: Option<String>,
    pub stdout: Option<Vec<u8>>,
}

/// What `wait4` says about one finished child.
pub struct Reaped {
    pub status: ExitStatus,
    pub max_rss: u64,
}

/// Spawn `cmd`, collect its stderr (and stdout if piped) on threads, and reap
/// exactly this child with `wait4`, so that its own `ru_maxrss` is read and
/// not the maximum over all children of this process.
pub fn spawn_and_reap(cmd: &mut Command) -> std::io::Result<(Reaped, Vec<u8>, Option<Vec<u8>>)> {
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

/// The first lines of a child's stderr, indented for a report.
pub fn stderr_head(stderr: &[u8]) -> String {
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

/// `nix-instantiate --store dummy:// --parse` over `files`, `batch` files per
/// call, the calls one after the other; stops at the first failure.
pub fn run_nix(nix: &str, files: &[PathBuf], batch: usize) -> Run {
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

/// Run `bin args…` once (stdin closed; stdout captured if `capture`, else
/// discarded) and time it. `what` names the command in a failure message,
/// e.g. "clan-migrate scan".
pub fn run_timed(bin: &str, args: &[&std::ffi::OsStr], what: &str, capture: bool) -> Run {
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).stdout(if capture {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let start = Instant::now();
    match spawn_and_reap(&mut cmd) {
        Ok((r, stderr, stdout)) => {
            let wall = start.elapsed();
            let failure = (!r.status.success())
                .then(|| format!("{what} exited with {}; {}", r.status, stderr_head(&stderr)));
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

/// A label and value row of a report table, in the column layout every
/// bench uses.
pub fn row(label: &str, value: impl std::fmt::Display) -> String {
    format!("{label:<34} {value:>12}")
}
