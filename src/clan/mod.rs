//! `--to clan`: a plain NixOS flake becomes a Clan flake. The machines are
//! built by `clan-core.lib.clan` from exactly what built them before (the
//! same modules, `system` as `nixpkgs.hostPlatform`, the same
//! `specialArgs`); `clan.nix` is created with `meta.name`; users stay where
//! they are. `read` finds what builds each machine, `convert` makes the
//! edits, `notices` says what Clan changes, `check` proves every host's
//! users unchanged on a scratch copy of the converted tree.

mod check;
mod convert;
mod hosts;
pub mod notices;
mod read;

use std::path::{Path, PathBuf};

use rnix::Root;
use rnix::ast;

use crate::diagnostic::Location;
use crate::plan::FileChange;
use crate::source::SourceFile;
use crate::syntax::strip_parens;

pub use check::Scratch;

pub const CLAN_CORE_URL: &str = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
const FLAKE: &str = "flake.nix";
const CLAN_NIX: &str = "clan.nix";

/// What `--to clan` may be told.
#[derive(Debug, Clone, Default)]
pub struct ClanOptions {
    /// `meta.name` (default: from the directory's name).
    pub name: Option<String>,
    /// Move each host's directory to `machines/<name>/` (Clan's layout).
    pub move_hosts: bool,
}

/// One machine and what it is built from, for the commit and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineReport {
    pub name: String,
    /// `flake.nix:12:5`.
    pub at: String,
    /// The helper call that builds it (`mkHost "alpha"`), if any.
    pub via: Option<String>,
    /// `system "x86_64-linux"; modules ./hosts/web, …; specialArgs`.
    pub built_from: String,
    /// Whether its `nixosSystem` call had specialArgs.
    pub special_args: bool,
}

/// The conversion of one flake: its files, what builds each machine, and
/// what the user should know.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub clan_name: String,
    pub machines: Vec<MachineReport>,
    /// `flake.nix`, the new `clan.nix`, and with `--move-hosts` the moved
    /// host files (deleted at the old path, created at the new one).
    pub files: Vec<FileChange>,
    /// `--move-hosts`: (from, to) directories.
    pub moved: Vec<(PathBuf, PathBuf)>,
    pub notices: Vec<crate::plan::notice::Notice>,
}

impl Conversion {
    pub fn commit_message(&self) -> String {
        let mut msg = String::from("clan: build the machines with clan-core\n\n");
        msg.push_str(&format!(
            "flake.nix builds its machines with clan-core; clan.nix names the clan\n{} and will hold its inventory. Each machine is built from what\nbuilt it before:\n",
            crate::nix::string_literal(&self.clan_name)
        ));
        for m in &self.machines {
            let via = m
                .via
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            msg.push_str(&format!("- {}{via}: {}\n", m.name, m.built_from));
        }
        for (from, to) in &self.moved {
            msg.push_str(&format!(
                "\nMoved {}/ to {}/ (Clan imports its configuration.nix itself).",
                from.display(),
                to.display()
            ));
        }
        if !self.moved.is_empty() {
            msg.push('\n');
        }
        msg.push_str("\nRun `nix flake lock` to lock the new clan-core input.\n");
        msg
    }
}

/// Why a flake is not converted. Each names the construct and where it is.
#[derive(Debug, thiserror::Error)]
pub enum ClanError {
    #[error("{0}: there is no flake.nix; --to clan converts a flake's nixosConfigurations")]
    NoFlake(PathBuf),
    #[error("{at}: flake.nix does not parse: {message}")]
    Unparsable { at: String, message: String },
    #[error("{at}: cannot convert {what}")]
    Unsupported { at: String, what: String },
    #[error("{at}: the flake's outputs have no nixosConfigurations to build the machines from")]
    NoMachines { at: String },
    #[error(
        "{at}: host `{host}` is built from `{input}`, the other machines from `{nixpkgs}`; a Clan builds every machine from one nixpkgs"
    )]
    SecondNixpkgs {
        at: String,
        host: String,
        input: String,
        nixpkgs: String,
    },
    #[error(
        "{at}: these specialArgs differ from those at {first}; Clan's specialArgs are one set for every machine"
    )]
    DifferingSpecialArgs { at: String, first: String },
    #[error("{at}: `{name}` is bound already; the conversion needs that name for the clan")]
    NameTaken { at: String, name: String },
    #[error(
        "Clan imports {path} into machine `{machine}` by itself, and the flake does not import it today: converting would change what {machine} evaluates to"
    )]
    AutoImport { machine: String, path: PathBuf },
    #[error("clan.nix exists already but nothing builds the machines with Clan")]
    ClanNixExists,
    #[error(
        "`{0}` is not a valid clan name: Clan's meta.name takes only letters, digits, `-` and `_`"
    )]
    BadName(String),
    #[error("the conversion would change what hosts evaluate to:\n  {}", .0.join("\n  "))]
    Changed(Vec<String>),
    #[error("the converted flake cannot be checked: {0}")]
    Broken(String),
    #[error("{0}")]
    Io(String),
}

impl ClanError {
    pub(crate) fn at(file: &SourceFile, range: (usize, usize)) -> String {
        let l = Location::new(file, range);
        format!(
            "{}:{}:{}",
            crate::source::display_path(&l.file),
            l.start.line,
            l.start.column
        )
    }

    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            ClanError::NoFlake(_) => "write a flake.nix whose nixosConfigurations build the machines, or share the users as modules with `--to module`".into(),
            ClanError::Unparsable { .. } => "fix the syntax error, then run again".into(),
            ClanError::Unsupported { .. } | ClanError::NoMachines { .. } => "convert by hand following https://docs.clan.lol/guides/migrations/convert-existing-NixOS-configuration/, or share the users as modules with `--to module`".into(),
            ClanError::SecondNixpkgs { input, nixpkgs, .. } => format!("build that host from `{nixpkgs}` too, or keep it outside the clan by hand (`nixosConfigurations = clan.config.nixosConfigurations // {{ … }}` with `{input}`); clan-migrate never moves a host to another nixpkgs silently"),
            ClanError::DifferingSpecialArgs { .. } => "give every host the same specialArgs (Clan passes one set to all machines), then run again".into(),
            ClanError::NameTaken { .. } => "rename that binding, then run again".into(),
            ClanError::AutoImport { machine, .. } => format!("import that file from {machine}'s modules, or move it out of machines/, then run again"),
            ClanError::ClanNixExists => "move clan.nix away, or wire it with clan-core.lib.clan by hand".into(),
            ClanError::BadName(_) => "pass --clan-name NAME with only [a-zA-Z0-9_-]".into(),
            ClanError::Changed(_) | ClanError::Broken(_) => "this is a bug in clan-migrate; please report it with the flake".into(),
            ClanError::Io(_) => "check the repository's permissions".into(),
        }
    }
}

/// Whether `name` is a valid Clan `meta.name`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A clan name from the directory's name: what Clan does not allow
/// becomes `-`.
fn derived_name(repo: &Path) -> String {
    let dir = repo
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name: String = dir
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    if name.is_empty() {
        "my-clan".into()
    } else {
        name
    }
}

/// Whether `flake.nix` builds its machines with Clan already (the same
/// test discovery makes).
pub fn is_clan_text(text: &str) -> bool {
    text.contains("lib.clan")
        || text.contains("buildClan")
        || text.contains("clan-core.flakeModules")
}

/// The conversion of the flake at `repo`, checked (every file reparses,
/// every host's users are unchanged) on the scratch copy returned with it;
/// `None` when it is a Clan flake already. Nothing in `repo` is written.
pub fn convert(
    repo: &Path,
    opts: &ClanOptions,
    scan: &crate::ScanOptions,
) -> Result<Option<(Conversion, Scratch)>, ClanError> {
    let name = match &opts.name {
        Some(n) if !valid_name(n) => return Err(ClanError::BadName(n.clone())),
        Some(n) => n.clone(),
        None => derived_name(repo),
    };
    let Ok(text) = std::fs::read_to_string(repo.join(FLAKE)) else {
        return Err(ClanError::NoFlake(repo.to_path_buf()));
    };
    if is_clan_text(&text) {
        return Ok(None);
    }
    let file = SourceFile::new(PathBuf::from(FLAKE), text);
    let parse = Root::parse(&file.text);
    if !parse.errors().is_empty() {
        let d = crate::parse_error::parse_diagnostics(&file, parse.errors());
        let first = d.first();
        return Err(ClanError::Unparsable {
            at: first
                .and_then(|d| d.location.as_ref())
                .map(|l| {
                    format!(
                        "{}:{}:{}",
                        crate::source::display_path(&l.file),
                        l.start.line,
                        l.start.column
                    )
                })
                .unwrap_or_else(|| FLAKE.to_string()),
            message: first.map(|d| d.message.clone()).unwrap_or_default(),
        });
    }
    if repo.join(CLAN_NIX).exists() {
        return Err(ClanError::ClanNixExists);
    }
    let Some(ast::Expr::AttrSet(top)) = parse.tree().expr().map(strip_parens) else {
        return Err(ClanError::Unsupported {
            at: ClanError::at(&file, (0, 0)),
            what: "a flake.nix that is not an attribute set".into(),
        });
    };
    let converted = convert::convert(&file, &top, opts.move_hosts.then_some(repo))?;
    let clan_nix = clan_nix(&name);
    for (path, t) in [(FLAKE, &converted.flake), (CLAN_NIX, &clan_nix)] {
        crate::verify::check_text(t).map_err(|e| ClanError::Broken(format!("{path}: {e}")))?;
    }
    let notices = notices::notices(&file, &top, &converted, &name);
    let mut files = vec![
        FileChange {
            path: PathBuf::from(CLAN_NIX),
            before: None,
            after: Some(clan_nix),
        },
        FileChange {
            path: PathBuf::from(FLAKE),
            before: Some(file.text.clone()),
            after: Some(converted.flake),
        },
    ];
    let mut moved = Vec::new();
    for mv in &converted.host_moves {
        for (old, new, text) in &mv.files {
            files.push(FileChange {
                path: old.clone(),
                before: Some(text.clone()),
                after: None,
            });
            files.push(FileChange {
                path: new.clone(),
                before: None,
                after: Some(text.clone()),
            });
        }
        moved.push((mv.from.clone(), mv.to.clone()));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let scratch = Scratch::new(repo, &files)?;
    let renames: Vec<(PathBuf, PathBuf)> = converted
        .host_moves
        .iter()
        .flat_map(|mv| {
            mv.files
                .iter()
                .map(|(old, new, _)| (old.clone(), new.clone()))
        })
        .collect();
    check::check_users(repo, scratch.path(), &converted.machines, &renames, scan)?;
    Ok(Some((
        Conversion {
            clan_name: name,
            machines: converted.machines,
            files,
            moved,
            notices,
        },
        scratch,
    )))
}

/// The new `clan.nix`, in nixfmt's style.
fn clan_nix(name: &str) -> String {
    format!(
        "{{\n  # Ensure this is unique among all clans you want to use.\n  meta.name = {};\n}}\n",
        crate::nix::string_literal(name)
    )
}
