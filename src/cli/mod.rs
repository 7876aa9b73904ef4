//! Argument parsing and the subcommands' glue.

mod args;
mod diagnostics;
mod human;
mod plan;
mod progress;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clan_migrate::{ScanOptions, ScanReport};
use clap::{CommandFactory, Parser};

use args::{Cli, ColorChoice, Command, Common};

/// Exit codes, as documented in `--help`.
pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => scan(&args.common, args.json),
        Command::Plan(args) => plan::plan_cmd(&args),
        Command::Apply(args) => plan::apply_cmd(&args),
        Command::Verify(args) => plan::verify_cmd(&args),
        Command::Completions(args) => completions(args.shell),
        Command::Man(args) => man(args.subcommand.as_deref()),
    }
}

/// The completion script for `shell`, from the same definition that
/// parses the arguments.
fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a failed write (a closed
    // pipe), and nothing may panic.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "clan-migrate", &mut script);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => write_failed(e),
    }
}

/// The man page, as roff: `clan-migrate(1)`, or with a subcommand's
/// name that subcommand's own page (`clan-migrate-plan(1)`, as git does).
fn man(subcommand: Option<&str>) -> ExitCode {
    let cmd = Cli::command();
    let page = match subcommand {
        None => cmd,
        Some(name) => {
            let Some(sub) = cmd.find_subcommand(name) else {
                eprintln!("error: there is no subcommand `{name}`");
                return ExitCode::from(EXIT_ERROR);
            };
            let full = format!("clan-migrate-{name}");
            sub.clone()
                .name(full)
                .version(env!("CARGO_PKG_VERSION"))
                .bin_name(format!("clan-migrate {name}"))
        }
    };
    let mut roff = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut roff) {
        return write_failed(e);
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(&roff).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => write_failed(e),
    }
}

fn write_failed(e: std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::from(EXIT_OK);
    }
    eprintln!("error: writing to standard output: {e}");
    ExitCode::from(EXIT_ERROR)
}

/// Colour is used only on a terminal, and never when `NO_COLOR` is set,
/// unless asked for explicitly.
fn use_color(choice: ColorChoice, stream_is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

fn scan_options(common: &Common) -> ScanOptions {
    ScanOptions {
        discover: clan_migrate::DiscoverOptions {
            hosts: common.host.clone(),
            eval: common.eval,
        },
        min_hosts: common.min_hosts,
    }
}

fn scan(common: &Common, json: bool) -> ExitCode {
    let opts = scan_options(common);
    let bar = progress::Bar::new(common.quiet);
    let result = clan_migrate::scan(&common.dir, &opts, &bar);
    bar.finish();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "  help: pass the path of the configuration repository, e.g. `clan-migrate scan ~/nixos-config`"
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let stdout = std::io::stdout();
    let color_out = use_color(common.color, stdout.is_terminal());
    let color_err = use_color(common.color, std::io::stderr().is_terminal());
    if json {
        print_json(&report);
    } else if !common.quiet {
        let _ = stdout
            .lock()
            .write_all(human::render(&report, color_out).as_bytes());
    }
    print_diagnostics(&common.dir, &report, json, common.quiet, color_err);
    if report.has_errors() {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

/// Prints one JSON object on stdout: indented for a person at a
/// terminal, compact for the tools it is piped into (half the bytes on a
/// large fleet). A closed pipe (`| head`) is not an error worth a panic.
fn print_json(value: &impl serde::Serialize) {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let _ = if stdout.is_terminal() {
        serde_json::to_writer_pretty(&mut out, value)
    } else {
        serde_json::to_writer(&mut out, value)
    };
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

/// Diagnostics go to stderr: all of them for the human report, only
/// errors with `--json` (the JSON carries the rest).
fn print_diagnostics(
    dir: &std::path::Path,
    report: &ScanReport,
    json: bool,
    quiet: bool,
    color: bool,
) {
    let mut err = std::io::stderr().lock();
    for d in &report.diagnostics {
        let is_error = d.severity == clan_migrate::diagnostic::Severity::Error;
        if (json || quiet) && !is_error {
            continue;
        }
        let _ = err.write_all(diagnostics::render(dir, d, color).as_bytes());
    }
}
