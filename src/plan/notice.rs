//! What a plan tells the user beyond its diff: what the target changes
//! and what to do about it (the service target's superseded passwords,
//! with the commands that keep them, `users.mutableUsers`, users that stay
//! modules). Typed data, so that the terminal and `plan --json` draw the
//! same notices; each has a stable code (part of the JSON contract).

use crate::diagnostic::{Location, Severity};
use crate::index::UserOption;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: Severity,
    pub code: &'static str,
    /// The user it is about, if it is about one.
    pub user: Option<String>,
    /// And which of the user's options, where that matters.
    pub option: Option<UserOption>,
    pub location: Option<Location>,
    pub message: String,
    /// Shell command lines to run, in order, exactly as written
    /// (`clan vars set …` for a superseded password).
    pub commands: Vec<String>,
}

impl Notice {
    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Notice {
            severity: Severity::Note,
            code,
            user: None,
            option: None,
            location: None,
            message: message.into(),
            commands: Vec::new(),
        }
    }

    /// About `user` (and its `option`, when given).
    pub fn about(mut self, user: &str, option: Option<UserOption>) -> Self {
        self.user = Some(user.to_string());
        self.option = option;
        self
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn command(mut self, line: impl Into<String>) -> Self {
        self.commands.push(line.into());
        self
    }
}

/// Stable codes, one per kind of notice, so scripts can filter on them.
pub mod codes {
    /// A user the service target cannot take stays on the module target.
    pub const STAYS_ON_MODULE_TARGET: &str = "stays-on-module-target";
    /// What the users service sets for a user it takes.
    pub const SERVICE_SETS: &str = "service-sets";
    /// No password in the configuration: Clan prompts for one.
    pub const PASSWORD_PROMPTED: &str = "password-prompted";
    /// A password the service supersedes; `commands` keep it.
    pub const PASSWORD_SUPERSEDED: &str = "password-superseded";
    /// `users.mutableUsers = true` (or `mkDefault true`) gives way to the
    /// service's `false`.
    pub const MUTABLE_USERS_OVERRIDDEN: &str = "mutable-users-overridden";
    /// `users.mutableUsers = mkForce true` wins over the service.
    pub const MUTABLE_USERS_FORCED: &str = "mutable-users-forced";

    /// `--to clan`: the flake now builds its machines with clan-core.
    pub const CLAN_CONVERTED: &str = "clan-converted";
    /// `--to clan`: one machine, and what it is built from.
    pub const CLAN_MACHINE: &str = "clan-machine";
    /// `--to clan`: `flake.lock` needs `nix flake lock` (in `commands`).
    pub const CLAN_LOCK: &str = "clan-lock";
    /// `--to clan`: clan-core's nixpkgs follows the machines' nixpkgs.
    pub const CLAN_NIXPKGS_FOLLOWS: &str = "clan-nixpkgs-follows";
    /// `--to clan`: specialArgs become one set for every machine.
    pub const CLAN_SPECIAL_ARGS_GLOBAL: &str = "clan-special-args-global";
    /// `--to clan`: a module clanCore imports itself is imported again.
    pub const CLAN_IMPORTED_TWICE: &str = "clan-imported-twice";
    /// `--to clan --move-hosts`: a host directory moves to `machines/`.
    pub const CLAN_HOST_MOVED: &str = "clan-host-moved";
    /// `--to clan --move-hosts`: a host directory stays, and why.
    pub const CLAN_HOST_STAYS: &str = "clan-host-stays";
    /// `--user` with `--to clan`, which moves no user.
    pub const CLAN_USERS_IGNORED: &str = "clan-users-ignored";
    /// `--to clan` on a Clan flake: nothing to convert.
    pub const CLAN_ALREADY: &str = "clan-already";

    /// Every code above: each is unique, none is a diagnostic's.
    pub const ALL: &[&str] = &[
        STAYS_ON_MODULE_TARGET,
        SERVICE_SETS,
        PASSWORD_PROMPTED,
        PASSWORD_SUPERSEDED,
        MUTABLE_USERS_OVERRIDDEN,
        MUTABLE_USERS_FORCED,
        CLAN_CONVERTED,
        CLAN_MACHINE,
        CLAN_LOCK,
        CLAN_NIXPKGS_FOLLOWS,
        CLAN_SPECIAL_ARGS_GLOBAL,
        CLAN_IMPORTED_TWICE,
        CLAN_HOST_MOVED,
        CLAN_HOST_STAYS,
        CLAN_USERS_IGNORED,
        CLAN_ALREADY,
    ];
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_kebab_case_words() {
        let mut seen = std::collections::BTreeSet::new();
        for c in super::codes::ALL {
            assert!(seen.insert(c), "{c} twice");
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
    }
}
