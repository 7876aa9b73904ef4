//! `--eval`: ask Nix which hosts the flake defines and which files define
//! each host's users (`options.users.users.definitionsWithLocations`), and
//! map the store paths back to repository paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::host::{Discovery, FoundBy, Host};
use crate::diagnostic::{Diagnostic, codes};
use crate::index::ModuleKey;

const APPLY: &str = "cs: builtins.mapAttrs (n: c: map (d: toString d.file) (c.options.users.users.definitionsWithLocations or [])) cs";

pub fn discover(repo: &Path, hosts: &mut BTreeMap<String, Host>, d: &mut Discovery) {
    let files = match evaluate(repo) {
        Ok(f) => f,
        Err(message) => {
            d.diagnostics.push(
                Diagnostic::error(codes::EVAL_FAILED, message)
                    .help("check that `nix` is installed and `nix eval .#nixosConfigurations` works in the repository; drop --eval to scan by syntax alone"),
            );
            return;
        }
    };
    for (name, paths) in files {
        let mut modules = Vec::new();
        for p in paths {
            match repo_relative(repo, &p) {
                Some(rel) => modules.push(ModuleKey::file(rel)),
                None => {
                    if !p.starts_with("/nix/store/") || !p.contains("-source/") {
                        d.diagnostics.push(Diagnostic::note(
                            codes::EVAL_FILE_OUTSIDE_REPO,
                            format!("host `{name}`: users are also defined in `{p}`, outside the repository"),
                        ));
                    }
                }
            }
        }
        match hosts.get_mut(&name) {
            Some(h) => {
                // A directory-convention guess is now what Nix said.
                if h.found_by == FoundBy::Directory {
                    h.found_by = FoundBy::Eval;
                }
                for m in modules {
                    if !h.modules.contains(&m) {
                        h.modules.push(m);
                    }
                }
            }
            None => {
                let root = modules
                    .first()
                    .map(|m| m.file.clone())
                    .unwrap_or_else(|| PathBuf::from("flake.nix"));
                hosts.insert(
                    name.clone(),
                    Host {
                        name,
                        root,
                        found_by: FoundBy::Eval,
                        modules,
                    },
                );
            }
        }
    }
}

/// `nix eval` of the flake at `repo` as its work tree would be committed
/// (see [`crate::nix`]): a git flake reference would hide untracked files,
/// such as the `users/<name>/default.nix` that `apply --no-commit` writes.
fn evaluate(repo: &Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let copy = crate::nix::FlakeCopy::of_worktree_at(repo).map_err(|e| e.to_string())?;
    let flake = match &copy {
        Some(c) => c.flake_ref(),
        None => {
            let abs = repo
                .canonicalize()
                .map_err(|e| format!("{}: {e}", repo.display()))?;
            format!("path:{}", abs.display())
        }
    };
    match crate::nix::eval_json(&flake, "nixosConfigurations", APPLY) {
        Ok(v) => {
            serde_json::from_value(v).map_err(|e| format!("unexpected output from `nix eval`: {e}"))
        }
        Err(crate::nix::NixError::Failed(first)) => {
            Err(format!("`nix eval .#nixosConfigurations` failed: {first}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// `/nix/store/<hash>-source/hosts/a.nix` -> `hosts/a.nix`, if that file
/// exists in the repository; also accepts paths already inside it.
fn repo_relative(repo: &Path, p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if let Ok(canon) = repo.canonicalize()
        && let Ok(rel) = path.strip_prefix(&canon)
    {
        return Some(rel.to_path_buf());
    }
    let rest = p.strip_prefix("/nix/store/")?;
    let (_, rel) = rest.split_once('/')?;
    let rel = PathBuf::from(rel);
    repo.join(&rel).is_file().then_some(rel)
}
