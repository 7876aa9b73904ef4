//! What discovery finds: hosts, how each was found, and what else it
//! learnt on the way. A module of its own so that the finders and
//! `discover` itself depend on it, not on each other.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::index::{ModuleIndex, ModuleKey};

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
    /// `mapAttrs`/`genAttrs` over `builtins.readDir ./<dir>` in the flake:
    /// one host per directory there.
    FlakeReadDir,
    /// A host of lite-config's `lite-config.hosts` (a flake-parts module).
    LiteConfig,
    /// A colmena hive's node.
    Colmena,
    /// A machine of a nixops network (`deployments/*.nix`, `nixops.nix`).
    Nixops,
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
            FoundBy::FlakeReadDir => "flake-read-dir",
            FoundBy::LiteConfig => "lite-config",
            FoundBy::Colmena => "colmena",
            FoundBy::Nixops => "nixops",
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
    /// Machines of the clan that are not NixOS (darwin): not hosts, and
    /// not orphans either.
    pub not_nixos: Vec<String>,
    /// The flake's own `nixosModules.<name> = ./path;`, so a module that
    /// imports `self.nixosModules.<name>` is followed to that file.
    pub flake_modules: FlakeModules,
}

/// A flake's `nixosModules` written as paths, by name.
#[derive(Debug, Clone, Default)]
pub struct FlakeModules {
    pub modules: BTreeMap<String, PathBuf>,
    /// Those written in place in the flake (or a flake module), indexed
    /// with the discovery's inline modules.
    pub inline: BTreeMap<String, ModuleKey>,
    /// Some could not be read, so `attrValues self.nixosModules` is not
    /// known whole.
    pub incomplete: bool,
}
