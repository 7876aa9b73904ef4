//! Hosts found by where files sit: `hosts/<h>/`, `machines/<h>/`,
//! `nixos/hosts/<h>/`, single files `hosts/<h>.nix`, and a lone
//! `configuration.nix` at the root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::host::{Discovery, FoundBy, Host};
use crate::diagnostic::{Diagnostic, Location, codes};
use crate::index::ModuleKey;
use crate::syntax::normalize;
use rnix::ast;
use rowan::ast::AstNode;

/// Directories whose children are hosts.
const HOST_DIRS: &[&str] = &["hosts", "machines", "nixos/hosts", "nixos/machines"];

/// Text a host's main module nearly always contains; a file under
/// `hosts/` with none of it is a shared module, not a host.
const HOST_MARKERS: &[&str] = &[
    "hostName",
    "hardware-configuration",
    "fileSystems",
    "boot.loader",
    "boot = {",
    "stateVersion",
];

/// The main module of a host at `rel` (a file, or a directory holding
/// `default.nix` or `configuration.nix`), relative to the repository.
pub fn host_entry(repo: &Path, rel: &Path) -> Option<PathBuf> {
    let rel = if rel.is_absolute() {
        rel.strip_prefix(repo).ok()?.to_path_buf()
    } else {
        normalize(rel)
    };
    let abs = repo.join(&rel);
    if abs.is_file() {
        return Some(rel);
    }
    if abs.is_dir() {
        for name in ["default.nix", "configuration.nix"] {
            if abs.join(name).is_file() {
                return Some(rel.join(name));
            }
        }
    }
    None
}

/// Candidate hosts by directory convention: name, main module.
fn candidates(repo: &Path, known: &dyn Fn(&str) -> bool) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for dir in HOST_DIRS {
        let Ok(entries) = std::fs::read_dir(repo.join(dir)) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || known(name.trim_end_matches(".nix")) {
                continue;
            }
            let rel = Path::new(dir).join(&name);
            let path = entry.path();
            let (host, main) = if path.is_dir() {
                match host_entry(repo, &rel) {
                    Some(main) => (name.clone(), main),
                    None => continue,
                }
            } else if let Some(stem) = name.strip_suffix(".nix") {
                if stem == "default" {
                    continue;
                }
                (stem.to_string(), rel)
            } else {
                continue;
            };
            if looks_like_host(repo, &main) {
                out.entry(host).or_insert(main);
            }
        }
    }
    out
}

fn looks_like_host(repo: &Path, main: &Path) -> bool {
    if main.file_name().is_some_and(|n| n == "configuration.nix") {
        return true;
    }
    let dir_has_hardware = main.parent().is_some_and(|d| {
        main.file_name().is_some_and(|n| n == "default.nix")
            && repo.join(d).join("hardware-configuration.nix").is_file()
    });
    dir_has_hardware
        || std::fs::read_to_string(repo.join(main))
            .is_ok_and(|text| HOST_MARKERS.iter().any(|m| text.contains(m)))
}

pub fn discover(repo: &Path, d: &mut Discovery, allow_lone: bool) -> Vec<Host> {
    let mut hosts: Vec<Host> = candidates(repo, &|_| false)
        .into_iter()
        .map(|(name, root)| Host {
            name,
            modules: vec![ModuleKey::file(root.clone())],
            root,
            found_by: FoundBy::Directory,
        })
        .collect();
    if hosts.is_empty() && allow_lone && repo.join("configuration.nix").is_file() {
        let root = PathBuf::from("configuration.nix");
        let name = lone_host_name(repo).unwrap_or_else(|| {
            d.diagnostics.push(
                Diagnostic::note(
                    codes::HOST_NAME_GUESSED,
                    "configuration.nix sets no literal networking.hostName; the host is named after the directory",
                )
                .at(Location::file(&root)),
            );
            repo.canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "configuration".to_string())
        });
        hosts.push(Host {
            name,
            modules: vec![ModuleKey::file(root.clone())],
            root,
            found_by: FoundBy::ConfigurationNix,
        });
    }
    hosts
}

fn lone_host_name(repo: &Path) -> Option<String> {
    let text = std::fs::read_to_string(repo.join("configuration.nix")).ok()?;
    let parse = rnix::Root::parse(&text);
    if !parse.errors().is_empty() || crate::syntax::malformed(&text, &parse.syntax()).is_some() {
        return None;
    }
    let file = crate::source::SourceFile::new("configuration.nix".into(), text);
    crate::index::index_file(&file, &parse.tree())
        .into_iter()
        .find_map(|m| m.host_name)
}

/// `--host` flags naming every conventional host candidate, for a help
/// text that gives the exact command line (empty when there are none).
pub fn host_flags(repo: &Path) -> String {
    let found = candidates(repo, &|_| false);
    if found.is_empty() {
        return " --host NAME=PATH".to_string();
    }
    found
        .iter()
        .map(|(name, main)| format!(" --host {name}={}", main.display()))
        .collect()
}

/// Conventional host directories that nothing wires up: worth a note,
/// since the user may expect them to be migrated.
pub fn report_orphans(
    repo: &Path,
    wired: &[PathBuf],
    known: &dyn Fn(&str) -> bool,
    built_by: &str,
    d: &mut Discovery,
) {
    for (name, main) in candidates(repo, known) {
        let dir = main.parent().unwrap_or(Path::new(""));
        let used = wired
            .iter()
            .any(|w| w == &main || (dir.components().count() > 1 && w.starts_with(dir)));
        if !used {
            let shown = if dir.components().count() > 1 {
                dir
            } else {
                main.as_path()
            };
            let scan = format!("clan-migrate scan . --host {name}={}", main.display());
            let note = match named_in_flake(repo, shown) {
                // Named, but by something that is no NixOS build the tool
                // reads (a nixbsdSystem, a darwinSystem, a script).
                Some(at) => Diagnostic::note(
                    codes::ORPHAN_HOST,
                    format!(
                        "{} is named in flake.nix ({}:{}:{}), but no NixOS host is built from it: it looks like the host `{name}`, but it is not scanned",
                        shown.display(),
                        at.file.display(),
                        at.start.line,
                        at.start.column,
                    ),
                )
                .help(format!("if it is a NixOS host, scan it with `{scan}`")),
                None => Diagnostic::note(
                    codes::ORPHAN_HOST,
                    format!(
                        "{} is built by nothing in {built_by}: it looks like the host `{name}`, but it is not scanned",
                        shown.display(),
                    ),
                )
                .help(format!(
                    "if it is a host, build it in {built_by}, or scan it with `{scan}`"
                )),
            };
            d.diagnostics.push(note.at(Location::file(&main)));
        }
    }
}

/// Where flake.nix names `path` as a path literal (`./hosts/freebsd`, also
/// inside a longer one), if it does.
fn named_in_flake(repo: &Path, path: &Path) -> Option<Location> {
    let text = std::fs::read_to_string(repo.join("flake.nix")).ok()?;
    let root = rnix::Root::parse(&text).tree();
    let file = crate::source::SourceFile::new(PathBuf::from("flake.nix"), text.clone());
    let node = root.syntax().descendants().find(|n| {
        ast::PathRel::cast(n.clone()).is_some_and(|p| {
            let literal = crate::syntax::normalize(Path::new(&p.syntax().text().to_string()));
            literal.starts_with(path)
        })
    })?;
    Some(Location::new(&file, crate::syntax::range_of(&node)))
}

/// The Clan machines (of `names`) said not to be NixOS, with where:
/// `machines.<name>.machineClass = "darwin"` in one of `inventory` (the
/// flake's inventory files, each read once), or `nixpkgs.hostPlatform =
/// "…-darwin"` in the machine's `machines/<name>/configuration.nix`. Clan
/// builds such a machine with nix-darwin, so it is not a NixOS host.
pub fn darwin_machines(
    repo: &Path,
    names: &[String],
    inventory: &[PathBuf],
) -> Vec<(String, Location)> {
    let mut out: Vec<(String, Location)> = Vec::new();
    for file in inventory {
        for (path, value, at) in string_bindings(repo, file) {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            if let [.., "machines", m, "machineClass"] = path.as_slice()
                && value == "darwin"
                && names.iter().any(|n| n == m)
                && !out.iter().any(|(n, _)| n == m)
            {
                out.push((m.to_string(), at));
            }
        }
    }
    for name in names {
        if out.iter().any(|(n, _)| n == name) {
            continue;
        }
        let own = Path::new("machines").join(name).join("configuration.nix");
        let platform = string_bindings(repo, &own)
            .into_iter()
            .find(|(path, value, _)| {
                path.ends_with(&["nixpkgs", "hostPlatform"].map(String::from))
                    && value.ends_with("-darwin")
            });
        if let Some((_, _, at)) = platform {
            out.push((name.clone(), at));
        }
    }
    out
}

/// Every binding to a literal string in `file`, with its attribute path
/// from the outermost set and where it is; none for a file that never
/// says "darwin", the only strings asked for.
fn string_bindings(repo: &Path, file: &Path) -> Vec<(Vec<String>, String, Location)> {
    let Ok(text) = std::fs::read_to_string(repo.join(file)) else {
        return Vec::new();
    };
    if !text.contains("darwin") {
        return Vec::new();
    }
    let root = rnix::Root::parse(&text).tree();
    let source = crate::source::SourceFile::new(file.to_path_buf(), text.clone());
    let mut out = Vec::new();
    for av in root
        .syntax()
        .descendants()
        .filter_map(ast::AttrpathValue::cast)
    {
        let Some(value) = av.value() else { continue };
        let Some(crate::syntax::StaticValue::Str(v)) =
            crate::syntax::static_value(&value, Path::new(""), &Default::default())
        else {
            continue;
        };
        out.push((
            attr_path_up(&av),
            v,
            Location::new(&source, crate::syntax::range_of(av.syntax())),
        ));
    }
    out
}

/// The attribute path of `av` from the outermost attribute set down,
/// through enclosing bindings (`machines = { evo = { machineClass = …; }; }`
/// gives `machines.evo.machineClass`).
fn attr_path_up(av: &ast::AttrpathValue) -> Vec<String> {
    let names = |av: &ast::AttrpathValue| -> Vec<String> {
        av.attrpath()
            .map(|p| p.attrs().map(|a| a.syntax().to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = names(av);
    let mut node = av.syntax().parent();
    while let Some(n) = node {
        if let Some(outer) = ast::AttrpathValue::cast(n.clone()) {
            let mut p = names(&outer);
            p.extend(out);
            out = p;
        }
        node = n.parent();
    }
    out
}

/// Clan flakes take every `machines/<h>/configuration.nix` as a machine.
pub fn clan_machines(repo: &Path) -> Vec<Host> {
    let Ok(entries) = std::fs::read_dir(repo.join("machines")) else {
        return Vec::new();
    };
    let mut hosts: Vec<Host> = entries
        .flatten()
        .filter(|e| e.path().join("configuration.nix").is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let root = Path::new("machines").join(&name).join("configuration.nix");
            Host {
                name,
                modules: vec![ModuleKey::file(root.clone())],
                root,
                found_by: FoundBy::ClanMachines,
            }
        })
        .collect();
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    hosts
}
