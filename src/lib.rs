//! clan-migrate: move a multi-host NixOS configuration's users to Clan.
//!
//! The pipeline, one module (or folder) per stage, data flowing one way:
//!
//! ```text
//! discover/      hosts and the modules each one starts from (flake/: host sets, helpers, colmena; conventions, nixops, --eval, --host)
//!   -> load      parse every module reached (rnix; parse_error words its errors)
//!      index/    and record what reaches a user option, in every spelling (walk/, options, wrappers),
//!                and settings such as users.mutableUsers
//!   -> analyse   group definitions by user, compare values (canon, scope)
//!   -> report    what `scan` shows
//!   -> plan/     the edits: per user a move (moves/), rendered into files (render, print, edit),
//!                planned all at once (batch) or one at a time (sequential), cut into steps;
//!                what to tell the user (notice) and `plan --json` (report)
//!   -> verify    re-index the planned files and compare every host's effective users;
//!                verify/eval asks Nix where it can
//!   -> stage/    preflight refusals, build commits in memory, write one pack, check out
//!                (or worktree: --no-commit with undo), all through git2
//! ```
//!
//! Beside the stages: `clan` (`--to clan`: a plain flake made a Clan flake), `inventory` (a Clan inventory's users instances, read
//! as modules), `diagnostic` (typed, located messages), `source`/`syntax`
//! (text and tree helpers), `listing` (directory listings evaluated over
//! the tree: computed imports and `nixosModules`), `fs`/`gitfs` (reading a work tree or a
//! revision), `nix` (running Nix, quoting its strings). The library knows
//! nothing of terminals: `src/cli/` draws, on top of everything.

pub mod analyse;
pub mod canon;
pub mod clan;
pub mod diagnostic;
pub mod discover;
pub mod fs;
pub mod gitfs;
pub mod index;
pub mod inventory;
pub mod listing;
pub mod load;
pub mod nix;
pub mod parse_error;
pub mod plan;
pub mod report;
pub mod scope;
pub mod source;
pub mod stage;
pub mod syntax;
pub mod verify;

use std::path::{Path, PathBuf};

use diagnostic::{Diagnostic, Location, codes};
pub use discover::{DiscoverOptions, HostSpec};
pub use load::{Progress, Silent};
pub use report::ScanReport;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub discover: DiscoverOptions,
    /// A user counts as repeated when defined host-locally on this many hosts.
    pub min_hosts: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            discover: DiscoverOptions::default(),
            min_hosts: 2,
        }
    }
}

/// Failures that stop a run before there is anything to report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: no such directory")]
    MissingDir { path: PathBuf },
    #[error("{path}: not a directory")]
    NotADir { path: PathBuf },
}

/// Scans the repository at `repo`: hosts, users, what repeats.
pub fn scan(repo: &Path, opts: &ScanOptions, progress: &dyn Progress) -> Result<ScanReport, Error> {
    if !repo.exists() {
        return Err(Error::MissingDir {
            path: repo.to_path_buf(),
        });
    }
    if !repo.is_dir() {
        return Err(Error::NotADir {
            path: repo.to_path_buf(),
        });
    }
    let discovery = discover::discover(repo, &opts.discover);
    let graph = load::load(&fs::DiskFs::new(repo), &discovery, progress);
    let analysis = analyse::analyse(&discovery.hosts, &graph, opts.min_hosts);
    let mut diagnostics = findings(&discovery, &graph);
    diagnostics.extend(orphan_user_modules(repo, &graph));
    Ok(ScanReport::build(
        &discovery.hosts,
        &graph,
        &analysis,
        &diagnostics,
    ))
}

/// What discovery and loading found, together. A file discovery took for
/// an unbuilt host (`machines/vm-shared.nix`) but that a host imports is a
/// shared module: its note goes, now that the module trees are known.
pub(crate) fn findings(
    discovery: &discover::Discovery,
    graph: &load::ModuleGraph,
) -> Vec<Diagnostic> {
    let imported = |d: &Diagnostic| {
        d.location
            .as_ref()
            .is_some_and(|l| graph.get(&index::ModuleKey::file(l.file.clone())).is_some())
    };
    let mut out: Vec<Diagnostic> = discovery
        .diagnostics
        .iter()
        .filter(|d| !(d.code == codes::ORPHAN_HOST && imported(d)))
        .cloned()
        .collect();
    out.extend(graph.diagnostics.iter().cloned());
    out
}

/// `users/<name>/default.nix` that no host imports: likely a forgotten
/// shared module, worth telling the user about.
fn orphan_user_modules(repo: &Path, graph: &load::ModuleGraph) -> Vec<Diagnostic> {
    let Ok(entries) = std::fs::read_dir(repo.join("users")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let file = Path::new("users").join(&name).join("default.nix");
        if repo.join(&file).is_file() && graph.get(&index::ModuleKey::file(file.clone())).is_none()
        {
            out.push(
                Diagnostic::note(
                    codes::ORPHAN_MODULE,
                    format!("`{}` is a user module that no host imports", file.display()),
                )
                .at(Location::file(&file))
                .help("import it from the hosts that should have the user, or delete it"),
            );
        }
    }
    out
}
