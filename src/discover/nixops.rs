//! nixops networks: `deployments/*.nix` (and a root `nixops.nix`), each
//! an attribute set whose attributes are machine modules, `network`,
//! `defaults` and `resources` aside; `defaults` applies to every machine.

use std::path::{Path, PathBuf};

use rnix::Root;
use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::conventions;
use super::host::{Discovery, FoundBy, Host};
use crate::index::{ImportTarget, ModuleKey, index_module_at};
use crate::source::SourceFile;
use crate::syntax::{
    StaticEnv, StaticValue, apply_chain, attrpath_names, get_attr, head_name, range_of,
    static_value, strip_parens,
};

/// Attributes of a network that are not machines.
const NOT_MACHINES: &[&str] = &["network", "defaults", "resources", "require", "_file"];

/// The network files: `deployments/*.nix`, sorted, then `nixops.nix`.
fn network_files(repo: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo.join("deployments"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".nix")
                .then(|| Path::new("deployments").join(name))
        })
        .collect();
    out.sort();
    if repo.join("nixops.nix").is_file() {
        out.push(PathBuf::from("nixops.nix"));
    }
    out
}

pub fn discover(repo: &Path, d: &mut Discovery) -> Vec<Host> {
    let mut hosts: Vec<Host> = Vec::new();
    for rel in network_files(repo) {
        let Ok(text) = std::fs::read_to_string(repo.join(&rel)) else {
            continue;
        };
        let file = SourceFile::new(rel.clone(), text);
        let parse = Root::parse(&file.text);
        if !parse.errors().is_empty() {
            // The loader reports it when a machine imports it; a broken
            // network file holds no machine we can read.
            d.diagnostics
                .extend(crate::parse_error::parse_diagnostics(&file, parse.errors()));
            d.broken_files.push(rel);
            continue;
        }
        let root = parse.tree();
        let Some(set) = root.expr().and_then(network_set) else {
            continue;
        };
        // A network file is one whose set names a `network` or whose
        // machines set `deployment.*`; anything else is not nixops.
        let names_network = set.attrpath_values().any(|av| {
            av.attrpath()
                .is_some_and(|p| attrpath_names(&p)[0].0.as_static() == Some("network"))
        });
        if !names_network && !file.text.contains("deployment.") {
            continue;
        }
        let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let defaults = get_attr(&set, &["defaults"]).map(|e| range_of(strip_parens(e).syntax()));
        for av in set.attrpath_values() {
            let (Some(path), Some(value)) = (av.attrpath(), av.value()) else {
                continue;
            };
            let names = attrpath_names(&path);
            let Some(name) = names[0].0.as_static().map(str::to_string) else {
                continue;
            };
            if names.len() != 1
                || NOT_MACHINES.contains(&name.as_str())
                || hosts.iter().any(|h| h.name == name)
            {
                continue;
            }
            let node = strip_parens(value);
            let target = match apply_chain(&node) {
                Some((head, args)) if head_name(&head).as_deref() == Some("import") => {
                    args.first().cloned()
                }
                _ => Some(node.clone()),
            };
            let mut modules = Vec::new();
            let mut root_file = None;
            let mut inline = Vec::new();
            match target.and_then(|t| static_value(&t, &dir, &StaticEnv::default())) {
                Some(StaticValue::Path(p)) => {
                    if let Some(main) = conventions::host_entry(repo, &p) {
                        modules.push(ModuleKey::file(main.clone()));
                        root_file = Some(main);
                    }
                }
                _ => inline.push(range_of(node.syntax())),
            }
            for range in defaults.into_iter().chain(inline.iter().copied()) {
                let indexed = index_module_at(&file, &root, range);
                if inline.contains(&range) && root_file.is_none() {
                    root_file = indexed.first().and_then(|m| {
                        m.imports.iter().find_map(|i| match &i.target {
                            ImportTarget::Path(p) => conventions::host_entry(repo, p),
                            ImportTarget::Inline(_)
                            | ImportTarget::FlakeModule(_)
                            | ImportTarget::AllFlakeModules => None,
                        })
                    });
                }
                d.inline_modules.extend(indexed);
                modules.push(ModuleKey {
                    file: rel.clone(),
                    inline: Some(range),
                });
            }
            hosts.push(Host {
                name,
                root: root_file.unwrap_or_else(|| rel.clone()),
                found_by: FoundBy::Nixops,
                modules,
            });
        }
    }
    hosts
}

/// The attribute set a network file evaluates to, through `{ … }:` and `let`.
fn network_set(expr: ast::Expr) -> Option<ast::AttrSet> {
    let mut expr = strip_parens(expr);
    for _ in 0..8 {
        expr = match expr {
            ast::Expr::AttrSet(s) => return Some(s),
            ast::Expr::Lambda(l) => strip_parens(l.body()?),
            ast::Expr::LetIn(l) => strip_parens(l.body()?),
            _ => return None,
        };
    }
    None
}
