//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clan_migrate::HostSpec;
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0  done, or nothing to do
  1  error: bad input, a file that does not parse, a missing import
  2  `plan --check` found pending changes

Examples:
  clan-migrate scan                      scan the repository in this directory
  clan-migrate scan ~/nixos --json       the same report as JSON, for scripts
  clan-migrate scan --host web=hosts/web/default.nix
  clan-migrate plan                      the diff that sharing repeated users makes
  clan-migrate plan --check              exit 2 while anything is left to share
  clan-migrate apply --user alice        share alice only, as a commit on a new branch
  clan-migrate verify                    effective users unchanged since the branch point
  clan-migrate verify --eval             and Nix evaluates every host's users.users the same
";

#[derive(Parser, Debug)]
#[command(
    name = "clan-migrate",
    version,
    about = "Move a multi-host NixOS configuration's users to Clan: find users repeated across hosts and share them",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report hosts, users, and which users repeat across hosts.
    #[command(after_help = AFTER_HELP)]
    Scan(ScanArgs),
    /// Show what sharing the repeated users would change, as a diff; touch nothing.
    #[command(after_help = AFTER_HELP)]
    Plan(PlanArgs),
    /// Share the repeated users: one commit per user on a new branch.
    #[command(after_help = AFTER_HELP)]
    Apply(ApplyArgs),
    /// Check that every host's effective users are unchanged since a revision.
    #[command(after_help = AFTER_HELP)]
    Verify(VerifyArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_HELP)]
    Completions(CompletionsArgs),
    /// Print the man page (roff), e.g. `clan-migrate man | man -l -`.
    Man(ManArgs),
}

const COMPLETIONS_HELP: &str = "\
Install:
  bash  clan-migrate completions bash > ~/.local/share/bash-completion/completions/clan-migrate
  zsh   clan-migrate completions zsh > ~/.zfunc/_clan-migrate   (with fpath+=(~/.zfunc) before compinit)
  fish  clan-migrate completions fish > ~/.config/fish/completions/clan-migrate.fish
";

#[derive(Args, Debug)]
pub struct ManArgs {
    /// A subcommand whose own page to print (`plan` gives clan-migrate-plan(1)).
    #[arg(value_parser = ["scan", "plan", "apply", "verify", "completions"])]
    pub subcommand: Option<String>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct Select {
    /// Move only this user (repeatable); a later run moves the rest.
    #[arg(long = "user", value_name = "NAME")]
    pub users: Vec<String>,
    /// Where shared users go (`clan`: make the flake a Clan flake, users stay).
    #[arg(long, value_enum, default_value_t = Target::Module)]
    pub to: Target,
    /// The clan's meta.name when the flake becomes a Clan flake [default: the directory's name].
    #[arg(long, value_name = "NAME")]
    pub clan_name: Option<String>,
    /// When the flake becomes a Clan flake, also move each host's directory to machines/<name>/.
    #[arg(long)]
    pub move_hosts: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// users/<name>/default.nix, imported by each host
    Module,
    /// Clan `users` service instances in the inventory (clan.nix); a plain flake is converted first
    Service,
    /// The flake builds its machines with clan-core; users stay where they are
    Clan,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub select: Select,
    /// Exit 2 when anything is pending, 0 when nothing is (for CI).
    #[arg(long)]
    pub check: bool,
    /// A summary per user and file instead of the diff.
    #[arg(long)]
    pub stat: bool,
    /// Print the plan as JSON instead (the format is a stable contract).
    #[arg(long, conflicts_with = "stat")]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub select: Select,
    /// The branch to create for the commits [default: clan-migrate/users].
    #[arg(long)]
    pub branch: Option<String>,
    /// Write the files into the work tree instead of committing.
    #[arg(long, conflicts_with = "branch")]
    pub no_commit: bool,
    /// Print what was planned and committed as JSON (a stable contract).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: Common,
    /// The revision to compare with (default: where this branch left
    /// another local branch, else HEAD~).
    #[arg(long, value_name = "REV")]
    pub against: Option<String>,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print the report as JSON (the format is a stable contract).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct Common {
    /// The configuration repository.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// A host and its main module, relative to DIR; wins over discovery. Repeatable.
    #[arg(long, value_name = "NAME=PATH")]
    pub host: Vec<HostSpec>,
    /// Ask Nix for the hosts and the files defining their users (needs `nix` and an evaluable flake);
    /// with `verify`, also compare every host's evaluated `users.users`.
    #[arg(long)]
    pub eval: bool,
    /// Hosts a user must be defined on, in their own files, to count as repeated.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(usize))]
    pub min_hosts: usize,
    /// When to colour output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print nothing but errors (on stderr); the exit code is unchanged.
    /// What `--json` asks for is still printed.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Show all of `apply`'s summary and commits (by default the first few,
    /// then how many more).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
