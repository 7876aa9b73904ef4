//! The converted tree, laid out on a scratch copy of the repository (the
//! discovery stage reads a directory), and the proof that every host's
//! users are what they were.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{ClanError, MachineReport};
use crate::ScanOptions;
use crate::fs::DiskFs;
use crate::plan::FileChange;

/// A copy of the repository's files (not its `.git`) with changes laid over it.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(repo: &Path, files: &[FileChange]) -> Result<Scratch, ClanError> {
        let io = |e: std::io::Error| {
            ClanError::Io(format!(
                "copying the repository to check the conversion: {e}"
            ))
        };
        let dir = tempfile::Builder::new()
            .prefix("clan-migrate-")
            .tempdir()
            .map_err(io)?;
        copy_tree(repo, dir.path()).map_err(io)?;
        for f in files {
            let to = dir.path().join(&f.path);
            match &f.after {
                Some(t) => {
                    if let Some(parent) = to.parent() {
                        std::fs::create_dir_all(parent).map_err(io)?;
                    }
                    std::fs::write(&to, t).map_err(io)?;
                }
                None => {
                    let _ = std::fs::remove_file(&to);
                }
            }
        }
        Ok(Scratch { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Files larger than this (not `.nix`) are copied empty.
const BLOB: u64 = 8 << 20;

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let ty = entry.file_type()?;
        let (src, dst) = (entry.path(), to.join(&name));
        if ty.is_dir() {
            copy_tree(&src, &dst)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if ty.is_file() {
            // The pipeline reads Nix files and asks whether others exist:
            // a large blob (a disk image, a tarball) is not worth copying.
            if src.extension().is_some_and(|e| e == "nix") || entry.metadata()?.len() <= BLOB {
                std::fs::copy(&src, &dst)?;
            } else {
                std::fs::File::create(&dst)?;
            }
        }
    }
    Ok(())
}

/// Every converted machine is a host of the converted flake, and every
/// host's effective users are unchanged.
pub(super) fn check_users(
    repo: &Path,
    scratch: &Path,
    machines: &[MachineReport],
    renames: &[(PathBuf, PathBuf)],
    scan: &ScanOptions,
) -> Result<(), ClanError> {
    let load = |dir: &Path| {
        let d = crate::discover::discover(dir, &scan.discover);
        let g = crate::load::load(&DiskFs::new(dir), &d, &crate::load::Silent);
        (d, g)
    };
    let (d0, g0) = load(repo);
    // Clan imports machines/<m>/configuration.nix and
    // hardware-configuration.nix by itself: each must be one the host
    // imports today (at its old path, if it moved).
    for m in machines {
        let Some(host) = d0.hosts.iter().find(|h| h.name == m.name) else {
            continue;
        };
        let today: BTreeSet<&Path> = g0
            .closure(&g0.roots(host))
            .into_iter()
            .map(|(id, _)| g0.modules[id].key.file.as_path())
            .collect();
        for f in ["configuration.nix", "hardware-configuration.nix"] {
            let path = Path::new("machines").join(&m.name).join(f);
            let was = renames
                .iter()
                .find(|(_, new)| *new == path)
                .map_or(path.as_path(), |(old, _)| old.as_path());
            if scratch.join(&path).is_file() && !today.contains(was) {
                return Err(ClanError::AutoImport {
                    machine: m.name.clone(),
                    path,
                });
            }
        }
    }
    let (d1, g1) = load(scratch);
    if let Some(e) = d1
        .diagnostics
        .iter()
        .chain(&g1.diagnostics)
        .find(|d| d.severity == crate::diagnostic::Severity::Error)
    {
        return Err(ClanError::Broken(e.message.clone()));
    }
    let after: BTreeSet<&str> = d1.hosts.iter().map(|h| h.name.as_str()).collect();
    let missing: Vec<String> = machines
        .iter()
        .filter(|m| !after.contains(m.name.as_str()))
        .map(|m| format!("machine `{}` is not found in the converted flake", m.name))
        .collect();
    if !missing.is_empty() {
        return Err(ClanError::Changed(missing));
    }
    let before: BTreeSet<&str> = d0.hosts.iter().map(|h| h.name.as_str()).collect();
    let both: BTreeSet<String> = before.intersection(&after).map(|s| s.to_string()).collect();
    let e0 = crate::verify::effective(&d0.hosts, &g0, Some(&both));
    let e1 = crate::verify::effective(&d1.hosts, &g1, Some(&both));
    let diffs = crate::verify::differences(&e0, &e1);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(ClanError::Changed(diffs))
    }
}
