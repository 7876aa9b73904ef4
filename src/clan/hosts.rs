//! `--move-hosts`: a host's directory moves to `machines/<name>/`, its
//! `default.nix` becoming `configuration.nix`, which Clan imports by itself,
//! so the machine no longer lists it. Only where every path stays right:
//! the directory is two levels down like `machines/<name>/`, nothing
//! outside it names it, and nothing in it reaches a sibling directory.

use std::path::{Path, PathBuf};

use rnix::ast;
use rowan::ast::AstNode;

use super::read::Outputs;
use crate::syntax::{Range, StaticEnv, StaticValue, range_of, static_value, strip_parens};

/// One host directory's move.
pub(super) struct HostMove {
    pub machine: String,
    pub from: PathBuf,
    pub to: PathBuf,
    /// Each file: old path, new path, text.
    pub files: Vec<(PathBuf, PathBuf, String)>,
    /// The `modules` item naming the host's entry, which goes.
    pub item: Range,
}

/// The moves `--move-hosts` can make, and why the other hosts stay.
pub(super) fn plan(repo: &Path, flake: &str, o: &Outputs) -> (Vec<HostMove>, Vec<String>) {
    let mut moves = Vec::new();
    let mut stays = Vec::new();
    for m in &o.machines {
        let shared = o.machines.iter().filter(|x| x.call == m.call).count() > 1;
        let result = if shared {
            Err("it is built by a helper shared with other machines".to_string())
        } else {
            one(repo, flake, o, m.call, &m.name)
        };
        match result {
            Ok(mv) => moves.push(mv),
            Err(why) => stays.push(format!("{} stays where it is: {why}", m.name)),
        }
    }
    (moves, stays)
}

fn one(repo: &Path, flake: &str, o: &Outputs, call: usize, name: &str) -> Result<HostMove, String> {
    let to = Path::new("machines").join(name);
    if repo.join(&to).exists() {
        return Err(format!("{} exists already", to.display()));
    }
    let Some(ast::Expr::List(list)) = o.calls[call]
        .modules
        .as_ref()
        .and_then(|m| m.value())
        .map(strip_parens)
    else {
        return Err("its modules are not one literal list".into());
    };
    // The first item that is a host directory (or its entry file).
    let found = list.items().find_map(|item| {
        let StaticValue::Path(p) = static_value(&item, Path::new(""), &StaticEnv::default())?
        else {
            return None;
        };
        let dir = if repo.join(&p).is_dir() {
            p.clone()
        } else {
            match p.file_name()?.to_str()? {
                "default.nix" | "configuration.nix" => p.parent()?.to_path_buf(),
                _ => return None,
            }
        };
        let entry = ["configuration.nix", "default.nix"]
            .into_iter()
            .find(|e| repo.join(&dir).join(e).is_file())?;
        Some((item, dir, entry))
    });
    let Some((item, dir, entry)) = found else {
        return Err(
            "no module of it is a host directory with default.nix or configuration.nix".into(),
        );
    };
    if dir.components().count() != 2 {
        return Err(format!(
            "{} is not two levels down like machines/{name}/, so its relative paths would change",
            dir.display()
        ));
    }
    if entry == "default.nix" && repo.join(&dir).join("configuration.nix").exists() {
        return Err(format!(
            "{} has both default.nix and configuration.nix",
            dir.display()
        ));
    }
    let base = dir
        .file_name()
        .and_then(|b| b.to_str())
        .unwrap_or_default()
        .to_string();
    let named = |text: &str| text.contains(&format!("/{base}"));
    // flake.nix names it once: the item that goes.
    if flake.matches(&format!("/{base}")).count() != 1 {
        return Err(format!("flake.nix names {} more than once", dir.display()));
    }
    let mut files = Vec::new();
    collect(repo, &dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    for other in nix_files_outside(repo, &dir) {
        if other != Path::new("flake.nix")
            && std::fs::read_to_string(repo.join(&other)).is_ok_and(|t| named(&t))
        {
            return Err(format!("{} names {}", other.display(), dir.display()));
        }
    }
    let mut out = Vec::new();
    for rel in files {
        let Ok(text) = std::fs::read_to_string(repo.join(&rel)) else {
            return Err(format!("{} is not text", rel.display()));
        };
        if rel.extension().is_some_and(|e| e == "nix") && reaches_a_sibling(&text) {
            return Err(format!(
                "{} reaches a directory next to {}",
                rel.display(),
                dir.display()
            ));
        }
        let inside = rel.strip_prefix(&dir).expect("collected under dir");
        let new = if inside == Path::new(entry) {
            to.join("configuration.nix")
        } else {
            to.join(inside)
        };
        out.push((rel, new, text));
    }
    Ok(HostMove {
        machine: name.to_string(),
        from: dir,
        to,
        files: out,
        item: range_of(item.syntax()),
    })
}

/// Whether a `../` run stops after one step: `../x` names a sibling of
/// the file's directory, which moves elsewhere (`../../x` does not).
fn reaches_a_sibling(text: &str) -> bool {
    let mut rest = text;
    while let Some(i) = rest.find("../") {
        let before_is_dot = i > 0 && rest.as_bytes()[i - 1] == b'.';
        let mut run = 1;
        let mut after = &rest[i + 3..];
        while let Some(r) = after.strip_prefix("../") {
            run += 1;
            after = r;
        }
        if run == 1 && !before_is_dot {
            return true;
        }
        rest = after;
    }
    false
}

fn collect(repo: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(repo.join(dir))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let rel = dir.join(e.file_name());
        let ty = e.file_type()?;
        if ty.is_dir() {
            collect(repo, &rel, out)?;
        } else if ty.is_file() {
            out.push(rel);
        } else {
            return Err(std::io::Error::other(format!(
                "{} is a link",
                rel.display()
            )));
        }
    }
    Ok(())
}

fn nix_files_outside(repo: &Path, dir: &Path) -> Vec<PathBuf> {
    fn walk(repo: &Path, rel: &Path, skip: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(repo.join(rel)) else {
            return;
        };
        for e in entries.flatten() {
            let p = rel.join(e.file_name());
            if p == skip || e.file_name() == ".git" {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(repo, &p, skip, out),
                Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "nix") => out.push(p),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(repo, Path::new(""), dir, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_step_up_reaches_a_sibling() {
        assert!(reaches_a_sibling("imports = [ ../common.nix ];"));
        assert!(!reaches_a_sibling(
            "imports = [ ../../modules/common.nix ./hw.nix ];"
        ));
        assert!(!reaches_a_sibling("{ }"));
    }
}
