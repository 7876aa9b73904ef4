//! Discover: which hosts the repository defines and which modules each
//! host starts from. Sources, strongest first: explicit `--host` flags and
//! `clan-migrate.toml`, `--eval`, the flake's syntax, directory conventions.
//! Every host records how it was found.

mod config;
mod conventions;
pub mod eval;
pub mod flake;
mod host;
mod nixops;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, codes};
use crate::index::ModuleKey;

pub use config::{HostSpec, load_config};
pub use host::{Discovery, FlakeModules, FoundBy, Host};

#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    pub hosts: Vec<HostSpec>,
    pub eval: bool,
}

pub fn discover(repo: &Path, opts: &DiscoverOptions) -> Discovery {
    let mut d = Discovery::default();
    let mut hosts: BTreeMap<String, Host> = BTreeMap::new();

    // Hosts the repository's own files build: the flake's, then nixops
    // networks' (a flake's host of the same name wins).
    let mut syntactic = flake::discover(repo, &mut d);
    let networks = nixops::discover(repo, &mut d);
    let mut sources = Vec::new();
    if repo.join("flake.nix").is_file() {
        sources.push("flake.nix");
    }
    if !networks.is_empty() {
        sources.push("the nixops networks");
    }
    for h in networks {
        if !syntactic.iter().any(|x| x.name == h.name) {
            syntactic.push(h);
        }
    }
    let mut explicit = match load_config(repo) {
        Ok(specs) => specs,
        Err(diag) => {
            d.diagnostics.push(diag);
            Vec::new()
        }
    };
    explicit.extend(opts.hosts.iter().cloned());

    // Directory conventions stand in for a flake whose hosts cannot be
    // read, unless the user named the hosts: then the hints are the host
    // set, and a guessed `machines/x` the flake may never build is not added.
    let guess = !repo.join("flake.nix").is_file() || explicit.is_empty();
    if syntactic.is_empty() && guess {
        for h in conventions::discover(repo, &mut d, true) {
            hosts.insert(h.name.clone(), h);
        }
    } else if !syntactic.is_empty() {
        let mut wired: Vec<PathBuf> = Vec::new();
        for h in &syntactic {
            wired.push(h.root.clone());
            wired.extend(h.modules.iter().map(|m| m.file.clone()));
        }
        for h in syntactic {
            hosts.insert(h.name.clone(), h);
        }
        // A host named with --host is scanned, whatever builds it.
        let not_nixos = d.not_nixos.clone();
        let known = |name: &str| {
            hosts.contains_key(name)
                || explicit.iter().any(|s| s.name == name)
                || not_nixos.iter().any(|n| n == name)
        };
        conventions::report_orphans(repo, &wired, &known, &sources.join(" or "), &mut d);
    }

    settle_roots(&mut hosts);

    if opts.eval {
        eval::discover(repo, &mut hosts, &mut d);
    }

    for spec in explicit {
        match conventions::host_entry(repo, &spec.path) {
            Some(root) => {
                // The hint names the host's own file; what a helper adds
                // to every host it builds still comes with it.
                let own = ModuleKey::file(root.clone());
                let mut modules = vec![own.clone()];
                if let Some(found) = hosts.get(&spec.name) {
                    modules.extend(
                        found
                            .modules
                            .iter()
                            .filter(|m| **m != own && (m.inline.is_some() || m.file != found.root))
                            .cloned(),
                    );
                }
                hosts.insert(
                    spec.name.clone(),
                    Host {
                        name: spec.name,
                        modules,
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

/// A host's root is its own file. Where no file it starts from is named
/// after it (`common ++ [ ./machines/database/configuration.nix ]`), that
/// is the first one no other host starts from, not a shared module.
fn settle_roots(hosts: &mut BTreeMap<String, Host>) {
    let mut starts: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for h in hosts.values() {
        let files: std::collections::BTreeSet<&PathBuf> = h
            .modules
            .iter()
            .filter(|m| m.inline.is_none())
            .map(|m| &m.file)
            .collect();
        for f in files {
            *starts.entry(f.clone()).or_default() += 1;
        }
    }
    for h in hosts.values_mut() {
        if flake::names_host(&h.name, &h.root) || starts.get(&h.root).is_none_or(|&n| n < 2) {
            continue;
        }
        if let Some(own) = h
            .modules
            .iter()
            .filter(|m| m.inline.is_none())
            .find(|m| starts.get(&m.file).is_some_and(|&n| n == 1))
        {
            h.root = own.file.clone();
        }
    }
}
