//! The registry of options that define users. A new spelling of a user
//! option is one more row here; the walker and everything after it stay
//! the same.

use crate::syntax::AttrName;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum UserOption {
    /// `users.users.<name>` (alias `users.extraUsers.<name>`).
    #[serde(rename = "users.users")]
    Users,
    /// `home-manager.users.<name>`.
    #[serde(rename = "home-manager.users")]
    HomeManager,
}

impl UserOption {
    pub fn as_str(self) -> &'static str {
        match self {
            UserOption::Users => "users.users",
            UserOption::HomeManager => "home-manager.users",
        }
    }

    /// Sub-options whose definitions NixOS concatenates across modules
    /// (lists), as opposed to scalars that must agree.
    pub fn is_list_option(self, path: &[String]) -> bool {
        let list_options: &[&[&str]] = match self {
            UserOption::Users => &[
                &["extraGroups"],
                &["packages"],
                &["openssh", "authorizedKeys", "keys"],
                &["openssh", "authorizedKeys", "keyFiles"],
                &["subUidRanges"],
                &["subGidRanges"],
            ],
            UserOption::HomeManager => &[&["home", "packages"], &["imports"]],
        };
        list_options
            .iter()
            .any(|o| o.len() == path.len() && o.iter().zip(path).all(|(a, b)| a == b))
    }
}

/// Options that are not users but change what a migration means for
/// them. The walker records every definition of each, in every spelling
/// it knows for users (dotted, nested, `config`, `mkIf`, priorities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Setting {
    /// `users.mutableUsers`: the users service forces it to `false`.
    #[serde(rename = "users.mutableUsers")]
    MutableUsers,
}

/// Where each setting lives in the configuration.
pub const SETTINGS: &[(&[&str], Setting)] = &[(&["users", "mutableUsers"], Setting::MutableUsers)];

impl Setting {
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::MutableUsers => "users.mutableUsers",
        }
    }
}

/// The setting at exactly `path`, if any.
pub fn setting(path: &[AttrName]) -> Option<Setting> {
    SETTINGS.iter().find_map(|(p, s)| {
        (p.len() == path.len() && p.iter().zip(path).all(|(a, b)| b.as_static() == Some(*a)))
            .then_some(*s)
    })
}

#[derive(Debug, PartialEq, Eq)]
pub struct Spelling {
    pub path: &'static [&'static str],
    pub option: UserOption,
}

/// Every attribute path under which a module defines users.
pub const SPELLINGS: &[Spelling] = &[
    Spelling {
        path: &["users", "users"],
        option: UserOption::Users,
    },
    Spelling {
        path: &["users", "extraUsers"],
        option: UserOption::Users,
    },
    Spelling {
        path: &["home-manager", "users"],
        option: UserOption::HomeManager,
    },
];

/// Where an attribute path of the configuration stands relative to the
/// user options.
#[derive(Debug, PartialEq, Eq)]
pub enum Place<'a> {
    /// A proper prefix of a user option (`users`, `users.users`): the
    /// value may contain user definitions, so keep walking.
    Above { exact: Option<&'static Spelling> },
    /// At or below one user: `users.users.alice` and its sub-path.
    User {
        spelling: &'static Spelling,
        /// Index into the path of the user-name segment.
        name_at: usize,
        name: &'a AttrName,
    },
    /// A computed name where a prefix of a user option was expected:
    /// statically unknown.
    Unknown,
    /// Not about users.
    Elsewhere,
}

pub fn classify(path: &[AttrName]) -> Place<'_> {
    let mut unknown = false;
    for spelling in SPELLINGS {
        let n = spelling.path.len();
        let common = path.len().min(n);
        let mut matches = true;
        for (seg, want) in path[..common].iter().zip(spelling.path) {
            match seg {
                AttrName::Static(s) if s == want => {}
                AttrName::Static(_) => {
                    matches = false;
                    break;
                }
                AttrName::Dynamic(_) => {
                    unknown = true;
                    matches = false;
                    break;
                }
            }
        }
        if !matches {
            continue;
        }
        if path.len() > n {
            return Place::User {
                spelling,
                name_at: n,
                name: &path[n],
            };
        }
        return Place::Above {
            exact: (path.len() == n).then_some(spelling),
        };
    }
    if unknown {
        Place::Unknown
    } else {
        Place::Elsewhere
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(names: &[&str]) -> Vec<AttrName> {
        names
            .iter()
            .map(|n| match n.strip_prefix('$') {
                Some(d) => AttrName::Dynamic(d.to_string()),
                None => AttrName::Static(n.to_string()),
            })
            .collect()
    }

    #[test]
    fn prefixes_users_and_traps() {
        assert!(matches!(classify(&p(&[])), Place::Above { exact: None }));
        assert!(matches!(classify(&p(&["users"])), Place::Above { .. }));
        assert!(matches!(
            classify(&p(&["users", "extraUsers"])),
            Place::Above { exact: Some(_) }
        ));
        assert!(matches!(
            classify(&p(&["users", "users", "alice", "uid"])),
            Place::User { name_at: 2, .. }
        ));
        assert!(matches!(
            classify(&p(&["home-manager", "users", "alice"])),
            Place::User { .. }
        ));
        for trap in [
            &["users", "groups", "media"][..],
            &["users", "extraGroups", "docker"],
            &["users", "mutableUsers"],
            &["my", "users", "storage"],
            &["services", "foo", "extraUsers"],
            &["containers", "web", "config", "users", "users", "www"],
        ] {
            assert_eq!(classify(&p(trap)), Place::Elsewhere, "{trap:?}");
        }
        assert_eq!(classify(&p(&["users", "$x"])), Place::Unknown);
    }
}
