//! Discover: which hosts the repository defines and which modules each
//! host starts from. Sources, strongest first: explicit `--host` flags and
//! `clan-migrate.toml`, `--eval`, the flake's syntax, directory conventions.
//! Every host records how it was found.

mod config;
mod conventions;
pub mod eval;
pub mod flake;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diagnostic::{Diagnostic, codes};
use crate::index::{ModuleIndex, ModuleKey};

pub use config::{HostSpec, load_config};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoundBy {
    /// `--host NAME=PATH`.
    Flag,
    /// `[hosts]` in `clan-migrate.toml`.
    ConfigFile,
    /// Nix evaluated the flake's `nixosConfigurations`.
    Eval,
    /// `nixosConfigurations.<h> = ….nixosSystem { modules = …; }` written out.
    Flake,
    /// `nixosConfigurations.<h> = mkHost "<h>"` through a `let`-bound helper.
    FlakeHelper,
    /// A colmena hive's node.
    Colmena,
    /// A Clan flake's `machines/<h>/configuration.nix`.
    ClanMachines,
    /// `hosts/<h>/`, `machines/<h>/`, `hosts/<h>.nix`, …
    Directory,
    /// A lone `configuration.nix` at the root.
    ConfigurationNix,
}

impl FoundBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundBy::Flag => "flag",
            FoundBy::ConfigFile => "config-file",
            FoundBy::Eval => "eval",
            FoundBy::Flake => "flake",
            FoundBy::FlakeHelper => "flake-helper",
            FoundBy::Colmena => "colmena",
            FoundBy::ClanMachines => "clan-machines",
            FoundBy::Directory => "directory",
            FoundBy::ConfigurationNix => "configuration-nix",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// The host's main module file, relative to the repository root.
    pub root: PathBuf,
    pub found_by: FoundBy,
    /// The modules the host starts from (files and inline modules).
    pub modules: Vec<ModuleKey>,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub hosts: Vec<Host>,
    /// Inline modules discovery already indexed (written in `flake.nix`).
    pub inline_modules: Vec<ModuleIndex>,
    pub diagnostics: Vec<Diagnostic>,
    /// Files read while discovering that failed to parse.
    pub broken_files: Vec<PathBuf>,
    /// Findings about a host's modules guessed from syntax, by host: kept
    /// only if no stronger source settles that host.
    pub guessed: Vec<(String, Diagnostic)>,
    /// The flake builds its machines with Clan.
    pub clan: bool,
    /// Files that may hold the Clan inventory, read by `load` (so a
    /// planned change to them is seen when verifying).
    pub inventory_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    pub hosts: Vec<HostSpec>,
    pub eval: bool,
}

pub fn discover(repo: &Path, opts: &DiscoverOptions) -> Discovery {
    let mut d = Discovery::default();
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();

    let syntactic = flake::discover(repo, &mut d);
    let mut wired_dirs: Vec<PathBuf> = Vec::new();
    if syntactic.is_empty() {
        for h in conventions::discover(repo, &mut d, syntactic.is_empty()) {
            hosts.insert(h.name.clone(), h);
        }
    } else {
        for h in &syntactic {
            wired_dirs.extend(h.modules.iter().map(|m| m.file.clone()));
        }
        for h in syntactic {
            hosts.insert(h.name.clone(), h);
        }
        conventions::report_orphans(repo, &wired_dirs, &hosts, &mut d);
    }

    if opts.eval {
        eval::discover(repo, &mut hosts, &mut d);
    }

    let mut explicit = match load_config(repo) {
        Ok(specs) => specs,
        Err(diag) => {
            d.diagnostics.push(diag);
            Vec::new()
        }
    };
    explicit.extend(opts.hosts.iter().cloned());
    for spec in explicit {
        match conventions::host_entry(repo, &spec.path) {
            Some(root) => {
                hosts.insert(
                    spec.name.clone(),
                    Host {
                        name: spec.name,
                        modules: vec![ModuleKey::file(root.clone())],
                        root,
                        found_by: spec.found_by,
                    },
                );
            }
            None => d.diagnostics.push(
                Diagnostic::error(
                    codes::HOST_PATH_MISSING,
                    format!(
                        "host `{}`: `{}` is neither a .nix file nor a directory with default.nix or configuration.nix",
                        spec.name,
                        spec.path.display()
                    ),
                )
                .help("give the host's main module, relative to the repository root: --host NAME=hosts/NAME/default.nix"),
            ),
        }
    }

    // A syntactic guess about a host stands only if nothing stronger
    // (Nix's evaluation, an explicit --host) settled that host.
    for (name, diag) in std::mem::take(&mut d.guessed) {
        let settled = hosts.get(&name).is_some_and(|h| {
            matches!(
                h.found_by,
                FoundBy::Eval | FoundBy::Flag | FoundBy::ConfigFile
            )
        });
        if !settled {
            d.diagnostics.push(diag);
        }
    }
    d.hosts = hosts.into_values().collect();
    if d.hosts.is_empty() {
        d.diagnostics.push(
            Diagnostic::error(codes::NO_HOSTS, "no hosts found")
                .help("looked for flake.nix nixosConfigurations, colmena hives, hosts/<h>/ and machines/<h>/ directories and configuration.nix; name hosts with --host NAME=PATH or in clan-migrate.toml"),
        );
    }
    d
}
