//! What Clan changes about a converted flake, and what to do about it:
//! the one place the conversion's notices are worded.

use rnix::ast::{self, HasEntry};
use rowan::ast::AstNode;

use super::convert::Converted;
use crate::plan::notice::{Notice, codes};
use crate::source::SourceFile;

/// NixOS modules clanCore imports itself, by the input that provides them.
const IMPORTED_BY_CLAN: [(&str, &str); 2] = [("sops-nix", "sops"), ("disko", "disko")];

pub(super) fn notices(
    file: &SourceFile,
    top: &ast::AttrSet,
    c: &Converted,
    clan_name: &str,
) -> Vec<Notice> {
    let mut out = vec![Notice::note(
        codes::CLAN_CONVERTED,
        format!(
            "flake.nix builds its machines with clan-core, clan.nix names the clan {}; each machine is built from what built it before",
            crate::nix::string_literal(clan_name)
        ),
    )];
    for m in &c.machines {
        let via = m
            .via
            .as_deref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default();
        out.push(Notice::note(
            codes::CLAN_MACHINE,
            format!("machine {}{via}: {}", m.name, m.built_from),
        ));
    }
    out.push(
        Notice::note(
            codes::CLAN_LOCK,
            "flake.lock: run `nix flake lock` to lock the new clan-core input (clan-migrate works offline and cannot)",
        )
        .command("nix flake lock"),
    );
    out.push(Notice::note(
        codes::CLAN_NIXPKGS_FOLLOWS,
        format!(
            "clan-core's nixpkgs follows `{}`, so the machines keep the nixpkgs they have",
            c.nixpkgs
        ),
    ));
    let without: Vec<&str> = c
        .machines
        .iter()
        .filter(|m| !m.special_args)
        .map(|m| m.name.as_str())
        .collect();
    if c.machines.iter().any(|m| m.special_args) && !without.is_empty() {
        out.push(Notice::note(
            codes::CLAN_SPECIAL_ARGS_GLOBAL,
            format!(
                "specialArgs now reach every machine (Clan's are one set for all), also {}, which had none",
                without.join(", ")
            ),
        ));
    }
    for input in input_names(top) {
        for (module_input, module) in IMPORTED_BY_CLAN {
            if input.contains(module_input) && file.text.contains(&format!("{input}.nixosModules"))
            {
                out.push(Notice {
                    severity: crate::diagnostic::Severity::Warning,
                    ..Notice::note(
                        codes::CLAN_IMPORTED_TWICE,
                        format!(
                            "clanCore imports {module_input}'s NixOS module itself; `{input}.nixosModules.{module}` imports it again, from your `{input}` input: add `clan-core.inputs.{module_input}.follows = \"{input}\";` to the inputs so both are the same, or drop the import"
                        ),
                    )
                });
            }
        }
    }
    for mv in &c.host_moves {
        out.push(Notice::note(
            codes::CLAN_HOST_MOVED,
            format!(
                "{}: {}/ moves to {}/ (git mv; Clan imports machines/{}/configuration.nix itself)",
                mv.machine,
                mv.from.display(),
                mv.to.display(),
                mv.machine
            ),
        ));
    }
    out.extend(
        c.stays
            .iter()
            .map(|s| Notice::note(codes::CLAN_HOST_STAYS, s.clone())),
    );
    out
}

/// `--user` given with `--to clan`, which moves no user.
pub fn users_ignored(users: &[String]) -> Notice {
    Notice::note(
        codes::CLAN_USERS_IGNORED,
        format!(
            "--user {} has no effect with --to clan: users stay where they are (--to service moves them)",
            users.join(" --user ")
        ),
    )
}

/// `--to clan` on a flake that is Clan already.
pub fn already_clan() -> Notice {
    Notice::note(
        codes::CLAN_ALREADY,
        "flake.nix builds its machines with Clan already: nothing to convert",
    )
}

/// The names of the flake's inputs.
fn input_names(top: &ast::AttrSet) -> Vec<String> {
    let mut out = Vec::new();
    for av in top.attrpath_values() {
        let Some(path) = av.attrpath() else { continue };
        let attrs: Vec<String> = path.attrs().map(|a| a.syntax().to_string()).collect();
        match attrs.as_slice() {
            [i, name, ..] if i == "inputs" => out.push(name.clone()),
            [i] if i == "inputs" => {
                if let Some(ast::Expr::AttrSet(set)) = av.value() {
                    for inner in set.attrpath_values() {
                        if let Some(a) = inner.attrpath().and_then(|p| p.attrs().next()) {
                            out.push(a.syntax().to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}
