//! The index: every definition in a module that reaches a user option, in
//! whatever spelling it was written, as plain data that outlives the tree.

pub mod options;
mod walk;
pub mod wrappers;

use std::path::PathBuf;

pub use options::{Setting, UserOption};
pub use walk::{index_file, index_file_in, index_module_at, scope_at as walk_scope_at};

use crate::canon::Canon;
use crate::diagnostic::{Diagnostic, Location};
use crate::syntax::Range;

/// A module: a whole file, or a module expression written inline in a
/// file (in a flake's `modules` list, an `imports` list, a colmena node).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleKey {
    pub file: PathBuf,
    pub inline: Option<Range>,
}

impl ModuleKey {
    pub fn file(file: PathBuf) -> Self {
        ModuleKey { file, inline: None }
    }
}

/// Which user a definition is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserName {
    Static(String),
    /// `users.users.${name}`: the source text of the name.
    Computed(String),
    /// `users.users = genAttrs …`: a whole set built by a function.
    Generated(String),
}

/// A module-system wrapper around (part of) a definition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Wrapper {
    /// `mkIf`, or one branch of an `if`: the condition's canonical form.
    If(Canon),
    /// `mkForce`, `mkDefault`, `mkOverride n`, `mkAfter`, …
    Priority(Canon),
}

/// One value set under a user, at a sub-path (`openssh.authorizedKeys.keys`).
///
/// Boxed slices rather than `Vec`s: an index of a large fleet holds a
/// hundred thousand leaves, and a `Vec`'s capacity word is a tenth of it.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub path: Box<[String]>,
    pub value: Canon,
    /// For list options whose elements are known: each element's form.
    pub elements: Option<Box<[Canon]>>,
    /// Wrappers between the user and this value, outermost first.
    pub wrappers: Box<[Wrapper]>,
    pub range: Range,
}

/// One place where a module binds a user: `users.users.alice = { … };`,
/// `users.users.alice.extraGroups = [ … ];`, `alice = { … };` inside
/// `users.users = { … };`, and so on.
#[derive(Debug, Clone)]
pub struct Definition {
    pub option: UserOption,
    /// The option path as written (`users.extraUsers` for the alias).
    pub spelling: &'static [&'static str],
    pub user: UserName,
    pub location: Location,
    /// The whole binding, `users.users.alice… = …;`.
    pub range: Range,
    /// Wrappers around the whole binding (a `mkIf` around `users.users`).
    pub wrappers: Vec<Wrapper>,
    pub leaves: Vec<Leaf>,
}

impl Definition {
    pub fn is_conditional(&self) -> bool {
        self.wrappers.iter().any(|w| matches!(w, Wrapper::If(_)))
            || self
                .leaves
                .iter()
                .any(|l| l.wrappers.iter().any(|w| matches!(w, Wrapper::If(_))))
    }
}

/// Where an `imports` entry (or a flake's `modules` entry) leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportTarget {
    /// A path inside the repository (relative to its root), not yet checked on disk.
    Path(PathBuf),
    /// A module written inline in the same file.
    Inline(Range),
    /// `self.nixosModules.<name>` (or `inputs.self.…`): a module the flake
    /// itself exports, found where the flake names it.
    FlakeModule(String),
    /// `attrValues self.nixosModules`: every module the flake exports.
    AllFlakeModules,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub target: ImportTarget,
    /// Under `lib.optionals cond`, `lib.optional cond` or `if`.
    pub conditional: bool,
    pub location: Location,
}

/// What one module contributes.
#[derive(Debug, Clone)]
pub struct ModuleIndex {
    pub key: ModuleKey,
    pub definitions: Vec<Definition>,
    pub imports: Vec<Import>,
    pub diagnostics: Vec<Diagnostic>,
    /// `networking.hostName`, when it is a literal: names a lone host.
    pub host_name: Option<String>,
    /// Definitions of the registered settings (`users.mutableUsers`).
    pub settings: Vec<SettingDef>,
    /// Directories an import was computed from (`readDir ./modules`),
    /// with where: a change below one can change what the module imports.
    pub listed: Vec<(PathBuf, Location)>,
}

impl ModuleIndex {
    /// Each listing of this module that covers one of `paths` (a file
    /// written below a directory it lists): the directory, where it is
    /// listed, and the path.
    pub fn listings_over<'a, 'p>(
        &'a self,
        paths: &'a [&'p PathBuf],
    ) -> impl Iterator<Item = (&'a PathBuf, &'a Location, &'p PathBuf)> + 'a {
        self.listed.iter().filter_map(|(dir, at)| {
            let p = paths.iter().find(|p| p.starts_with(dir))?;
            Some((dir, at, *p))
        })
    }
}

/// One place where a module defines a setting such as `users.mutableUsers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDef {
    pub setting: Setting,
    /// The value's source text, wrappers removed (`true`, `cfg.mutable`).
    pub value: String,
    /// The module system's priority: 100 for a plain definition, lower
    /// wins (`mkForce` 50, `mkDefault` 1000); `None` when an
    /// `mkOverride`'s argument is not a literal.
    pub priority: Option<u32>,
    /// Under `mkIf` or `if`: applies only when the condition holds.
    pub conditional: bool,
    /// The binding.
    pub location: Location,
}

impl SettingDef {
    /// The value, when it is a literal `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}
