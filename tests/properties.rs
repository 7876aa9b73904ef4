//! Property test: random fleets, `apply`, nothing a host sees changes.
//!
//! A generated fleet is a flake with 2–5 literal
//! `nixosConfigurations.<h> = nixpkgs.lib.nixosSystem { modules = [ ./hosts/<h> ]; }`
//! hosts and 1–4 people, each on a random subset of the hosts, each
//! definition in a random spelling of `../shared/PATTERNS.md`: dotted block,
//! one-attribute dotted lines (sometimes spread over two files), a set of
//! users, nested `users = { users = { … }; }`, mixed in one `users = { … }`
//! block (`users.bob.uid = …; extraUsers.carol = { … };`),
//! `users.extraUsers`, quoted names (`"d.ops"` always), inside
//! `config = { … }` of a module that declares `options`, `let`-bound
//! `extraGroups` with `inherit extraGroups;`, keys inline, from
//! `let keys = import ../../keys.nix`, `with sshKeys; [ alice.laptop ]` or
//! `builtins.readFile`, relative `keyFiles` with real files, `mkIf` /
//! `mkMerge` / `mkAfter` / `mkDefault` / `mkForce`, `packages = with pkgs;`,
//! `home-manager.users.<name>`, `root` keys inline and from a shared
//! `modules/common.nix`, comments, and imports as one list, `++` or
//! `lib.optionals`; the definitions sit in the host's `default.nix` or in
//! modules it imports (one and two directories down), with random per-host
//! differences (extra groups, uid, hashedPassword, key spelling, packages,
//! home-manager settings).
//!
//! The property: after `clan-migrate apply` (exit 0) on the committed
//! fleet, every host's effective users (evaluated by real Nix through
//! `tests/common/oracle.rs`) are what they were, every `.nix` file passes
//! `nix-instantiate --parse`, `plan --check` exits 0 and
//! `verify --against main` exits 0.
//!
//! `PROPTEST_CASES` sets the number of cases (default 24). A failure is
//! shrunk; the smallest failing fleet is written to
//! `target/proptest-failures/<name>/` (with the failure in its README.md)
//! for turning into a `testdata/prop-*` fixture. Without `nix-instantiate`
//! the test skips, except with `CI=true`, where it fails.

mod common;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;

use common::{Sandbox, nix_files, nix_parse_failures, oracle};

const HOSTS: [&str; 5] = ["alpha", "beta", "gamma", "delta", "epsilon"];
const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "d.ops"];
const BASE_GROUPS: [&str; 4] = ["wheel", "networkmanager", "video", "audio"];
const EXTRA_GROUPS: [&str; 3] = ["docker", "libvirtd", "dialout"];
const HASHES: [&str; 2] = [
    "$y$j9T$nhFyJfm5di4PzJ59FHz5r1$pY4OjE2jBMptUsGr7CmY.uCu3ZR1zTOlUcR64cXQLio",
    "$6$rounds=5000$saltsalt$hashhashhashhash",
];
/// Argument patterns of the host modules.
const HEADERS: [&str; 3] = [
    "{ config, lib, pkgs, ... }:",
    "args@{ config, lib, pkgs, ... }:",
    "{ pkgs\n, lib\n, config\n, ...\n}:",
];
const ADMIN_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPropTestAdminKey admin@bastion";

/// Where a host's definitions live: `default.nix`, a sibling module, or a
/// module one directory further down (so relative paths differ in depth).
const HOST_FILES: [&str; 3] = ["default.nix", "users.nix", "people/team.nix"];

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    /// `users.users.alice = { … };`
    DottedBlock,
    /// `users.users.alice.uid = 1000;` …
    DottedLines,
    /// `users.users = { alice = { … }; };`
    UsersSet,
    /// `users = { users = { alice = { … }; }; };`
    Nested,
    /// `users.extraUsers.alice = { … };`
    ExtraUsers,
    /// `users.users."alice" = { … };`
    Quoted,
    /// `users = { users.alice.uid = 1000; … };`
    MixedLines,
    /// `users = { extraUsers.alice = { … }; };`
    MixedExtra,
}

impl Spelling {
    /// One line per attribute (no block to wrap).
    fn lines(self) -> bool {
        matches!(self, Spelling::DottedLines | Spelling::MixedLines)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// `openssh.authorizedKeys.keys = [ "ssh-ed25519 …" ];`
    Inline,
    /// `let keys = import ../../keys.nix; in … keys.alice`
    LetImport,
    /// `let sshKeys = import ../../ssh-keys.nix; in … with sshKeys; [ alice.laptop ]`
    With,
    /// `lib.splitString "\n" (lib.removeSuffix "\n" (builtins.readFile ../../keys/alice.pub))`
    ReadFile,
    /// `let hostKeys = import ./host-keys.nix; in … hostKeys.alice`: the
    /// same text on every host, bound to each host's own file (whose
    /// contents differ on odd hosts).
    HostLet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFile {
    None,
    /// `keyFiles = [ ../../keys/alice.pub ];` (one file for the fleet)
    Shared,
    /// `keyFiles = [ ./keys/alice.pub ];` (next to the host's module)
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uid {
    Base,
    Absent,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    None,
    /// `users.users.alice = lib.mkIf true { … };` (block spellings only)
    MkIfWhole,
    /// `extraGroups = lib.mkAfter [ … ];`
    MkAfterGroups,
    /// `description = lib.mkDefault "…";`
    MkDefaultDescription,
    /// `shell = lib.mkForce pkgs.zsh;`
    MkForceShell,
    /// `users.users.alice = lib.mkMerge [ { … } { … } ];` (block spellings only)
    MkMerge,
}

/// One person's definition on one host.
#[derive(Debug, Clone)]
struct Def {
    spelling: Spelling,
    /// Index into [`HOST_FILES`].
    file: usize,
    /// `let extraGroups = [ … ]; in … inherit extraGroups;` (the first
    /// such definition of a file gets it; others write the list).
    groups_let: bool,
    keys: Keys,
    key_file: KeyFile,
    /// Which of [`EXTRA_GROUPS`] this host adds.
    extra: [bool; 3],
    uid: Uid,
    /// Index into [`HASHES`]; `HASHES.len()`: `hashedPasswordFile =
    /// config.sops.secrets."<name>-password".path` (needs `config`).
    password: Option<usize>,
    /// A custom sub-option: `allowedHosts = [ … ]` (`true`: this host's
    /// name added).
    custom: Option<bool>,
    wrapper: Wrapper,
    /// Bits 0–3: where comments go; bits 4–7: rotation of the attributes.
    comments: u8,
    /// Bit 0: `with pkgs; { … shell = zsh; }` around a block; bit 1:
    /// `openssh = { authorizedKeys = { keys = …; }; };` nested; bit 2:
    /// `description = ''…'';`; bit 3: `"isNormalUser" = true;`.
    style: u8,
    /// Line spellings: `extraGroups` is written in the next host file
    /// (a feature module adds a group).
    split: bool,
    /// `home-manager.users.<name>`: bit 0 the e-mail, bit 1 dotted lines,
    /// bit 2 `programs.git.enable`, bit 3 a function `{ pkgs, ... }: { … }`.
    home: Option<u8>,
    /// `packages = with pkgs; [ git vim ]`, `true`: and `htop`.
    packages: Option<bool>,
}

#[derive(Debug, Clone)]
struct Person {
    /// Which of [`BASE_GROUPS`] (after `wheel`, always there) everyone gets.
    groups: [bool; 3],
    /// `shell = pkgs.zsh` (`false`) / `pkgs.bash` (`true`).
    shell: Option<bool>,
    two_keys: bool,
    /// Every host has the values of the first definition (keys and their
    /// spelling, key files, extra groups, uid, password, packages, home):
    /// only the spelling and the place differ, so more moves.
    uniform: bool,
    /// One entry per host: the definition there, if any.
    on: Vec<Option<Def>>,
}

impl Person {
    /// The definition on host `h` as rendered: with the values of the first
    /// definition when [`Person::uniform`].
    fn def_on(&self, h: usize) -> Option<Def> {
        let mut def = self.on[h].clone()?;
        if self.uniform
            && let Some(first) = self.on.iter().flatten().next()
        {
            def.keys = first.keys;
            def.key_file = first.key_file;
            def.extra = first.extra;
            def.uid = first.uid;
            def.password = first.password;
            def.packages = first.packages;
            def.home = first.home;
            def.custom = first.custom;
        }
        Some(def)
    }
}

#[derive(Debug, Clone)]
struct HostCfg {
    /// Per [`HOST_FILES`] entry: write it as `{ options = …; config = { … }; }`.
    wrap: [bool; 3],
    /// `mutableUsers = false;` next to a nested `users = { users = … }`.
    mutable_users: bool,
    /// `users.users.root.openssh.authorizedKeys.keys = [ admin ];` inline.
    root: bool,
    /// Imports `../../modules/common.nix` (root's keys, shared).
    common: bool,
    /// 0: `imports = [ a b ]`, 1: `[ a ] ++ [ b ]`, 2: `[ a ] ++ lib.optionals true [ b ]`.
    imports: u8,
    /// The modules' argument pattern, one of [`HEADERS`].
    header: usize,
    /// A computed name: `let service = "backup"; in … users.users.${service} = { … };`.
    dynamic: bool,
    /// `users.users.mirror = { …; inherit (config.users.users.<someone>) openssh; };`
    /// (one user copying another's settings), when the host has someone.
    mirror: bool,
}

#[derive(Debug, Clone)]
struct Fleet {
    hosts: Vec<HostCfg>,
    people: Vec<Person>,
    /// Migrate one person first (`apply --user <name>`), the rest in a
    /// second run (`apply --branch …`), as an incremental migration would.
    incremental: bool,
}

// ---------------------------------------------------------------------------
// Strategies (the first variant of each is the simplest: shrinking goes there)
// ---------------------------------------------------------------------------

fn spelling() -> impl Strategy<Value = Spelling> {
    prop_oneof![
        Just(Spelling::DottedBlock),
        Just(Spelling::DottedLines),
        Just(Spelling::UsersSet),
        Just(Spelling::Nested),
        Just(Spelling::ExtraUsers),
        Just(Spelling::Quoted),
        Just(Spelling::MixedLines),
        Just(Spelling::MixedExtra),
    ]
}

fn def() -> impl Strategy<Value = Def> {
    let how = (
        spelling(),
        prop_oneof![3 => Just(0usize), 2 => Just(1usize), 1 => Just(2usize)],
        proptest::bool::weighted(0.3),
        prop_oneof![
            3 => Just(Keys::Inline),
            2 => Just(Keys::LetImport),
            1 => Just(Keys::With),
            1 => Just(Keys::ReadFile),
            1 => Just(Keys::HostLet)
        ],
        prop_oneof![
            2 => Just(KeyFile::None),
            1 => Just(KeyFile::Shared),
            1 => Just(KeyFile::Local)
        ],
    );
    let what = (
        proptest::array::uniform3(proptest::bool::weighted(0.3)),
        prop_oneof![4 => Just(Uid::Base), 1 => Just(Uid::Absent), 1 => Just(Uid::Other)],
        proptest::option::weighted(0.4, 0usize..=HASHES.len()),
        prop_oneof![
            6 => Just(Wrapper::None),
            1 => Just(Wrapper::MkIfWhole),
            1 => Just(Wrapper::MkAfterGroups),
            1 => Just(Wrapper::MkDefaultDescription),
            1 => Just(Wrapper::MkForceShell),
            1 => Just(Wrapper::MkMerge)
        ],
        any::<u8>(),
        any::<u8>(),
    );
    let more = (
        proptest::bool::weighted(0.25),
        proptest::option::weighted(0.3, 0u8..16),
        proptest::option::weighted(0.3, any::<bool>()),
        proptest::option::weighted(0.2, any::<bool>()),
    );
    (how, what, more).prop_map(
        |(
            (spelling, file, groups_let, keys, key_file),
            (extra, uid, password, wrapper, comments, style),
            (split, home, packages, custom),
        )| Def {
            spelling,
            file,
            groups_let,
            keys,
            key_file,
            extra,
            uid,
            password,
            wrapper,
            comments,
            style,
            split,
            home,
            packages,
            custom,
        },
    )
}

fn person(hosts: usize) -> impl Strategy<Value = Person> {
    (
        proptest::array::uniform3(any::<bool>()),
        proptest::option::of(any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(proptest::option::weighted(0.8, def()), hosts),
    )
        .prop_map(|(groups, shell, two_keys, uniform, on)| Person {
            groups,
            shell,
            two_keys,
            uniform,
            on,
        })
}

fn host_cfg() -> impl Strategy<Value = HostCfg> {
    (
        proptest::array::uniform3(proptest::bool::weighted(0.25)),
        any::<bool>(),
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.3),
        0u8..3,
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.2),
        0..HEADERS.len(),
    )
        .prop_map(
            |(wrap, mutable_users, root, common, imports, dynamic, mirror, header)| HostCfg {
                header,
                wrap,
                mutable_users,
                root,
                common,
                imports,
                dynamic,
                mirror,
            },
        )
}

fn fleet() -> impl Strategy<Value = Fleet> {
    (2usize..=HOSTS.len()).prop_flat_map(|n| {
        (
            proptest::collection::vec(host_cfg(), n),
            proptest::collection::vec(person(n), 1..=PEOPLE.len()),
            proptest::bool::weighted(0.25),
        )
            .prop_map(|(hosts, people, incremental)| Fleet {
                hosts,
                people,
                incremental,
            })
    })
}

// ---------------------------------------------------------------------------
// Rendering a fleet to files
// ---------------------------------------------------------------------------

/// `alice`, or `"d.ops"` where the name needs quotes (or `quote` asks).
fn attr_name(name: &str, quote: bool) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain && !quote {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

const DEVICES: [&str; 2] = ["laptop", "phone"];

fn key_of(person: usize, n: usize) -> String {
    let name = PEOPLE[person];
    let device = DEVICES[n];
    format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPropTest{person}x{n}Key {name}@{device}")
}

fn key_count(fleet: &Fleet, person: usize) -> usize {
    if fleet.people[person].two_keys { 2 } else { 1 }
}

fn keys_of(fleet: &Fleet, person: usize) -> Vec<String> {
    (0..key_count(fleet, person))
        .map(|k| key_of(person, k))
        .collect()
}

fn nix_list(items: &[String]) -> String {
    if items.is_empty() {
        "[ ]".to_string()
    } else {
        format!("[ {} ]", items.join(" "))
    }
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// One attribute of a user: `path = value;` (or a whole `inherit` line).
struct Attr {
    path: String,
    value: String,
    /// `inherit extraGroups;` in block form.
    inherit: bool,
    before: Option<String>,
    after: Option<String>,
}

impl Attr {
    fn new(path: &str, value: String) -> Attr {
        Attr {
            path: path.to_string(),
            value,
            inherit: false,
            before: None,
            after: None,
        }
    }

    /// `prefix path = value;` on its own line(s) at `pad`.
    fn line(&self, out: &mut String, pad: &str, prefix: &str) {
        if let Some(c) = &self.before {
            let _ = writeln!(out, "{pad}{c}");
        }
        if self.inherit && prefix.is_empty() {
            let _ = write!(out, "{pad}inherit {};", self.path);
        } else {
            let _ = write!(out, "{pad}{prefix}{} = {};", self.path, self.value);
        }
        match &self.after {
            Some(c) => {
                let _ = writeln!(out, " {c}");
            }
            None => out.push('\n'),
        }
    }
}

/// What a file needs in its `let`.
#[derive(Default)]
struct LetNeeds {
    service: bool,
    keys: bool,
    host_keys: bool,
    ssh_keys: bool,
    groups: Option<Vec<String>>,
}

/// `../../` from host file `file` up to the repository root.
fn up(file: usize) -> String {
    "../".repeat(HOST_FILES[file].matches('/').count() + 2)
}

/// The attributes of person `p`'s definition on host `h`; the
/// `extraGroups` attribute separately when the definition is split.
fn user_attrs(
    fleet: &Fleet,
    p: usize,
    h: usize,
    def: &Def,
    needs: &mut LetNeeds,
    extra_files: &mut BTreeMap<String, String>,
) -> (Vec<Attr>, Option<Attr>) {
    let person = &fleet.people[p];
    let name = PEOPLE[p];
    let host = HOSTS[h];
    let up = up(def.file);
    let mut attrs = Vec::new();
    attrs.push(Attr::new("isNormalUser", "true".into()));
    let description = quoted(&format!("{name} (fleet)"));
    attrs.push(Attr::new(
        "description",
        if def.wrapper == Wrapper::MkDefaultDescription {
            format!("lib.mkDefault {description}")
        } else {
            description
        },
    ));
    match def.uid {
        Uid::Base => attrs.push(Attr::new("uid", (1000 + p).to_string())),
        Uid::Other => attrs.push(Attr::new("uid", (2000 + p * 10 + h).to_string())),
        Uid::Absent => {}
    }
    let groups: Vec<String> = std::iter::once("wheel")
        .chain(
            BASE_GROUPS[1..]
                .iter()
                .zip(person.groups)
                .filter(|(_, on)| *on)
                .map(|(g, _)| *g),
        )
        .chain(
            EXTRA_GROUPS
                .iter()
                .zip(def.extra)
                .filter(|(_, on)| *on)
                .map(|(g, _)| *g),
        )
        .map(quoted)
        .collect();
    let after_groups = (def.comments & 2 != 0).then(|| "# groups differ per host".to_string());
    let split = def.split && def.spelling.lines();
    let mut group_attr = if def.groups_let && !split && needs.groups.is_none() {
        needs.groups = Some(groups);
        if def.wrapper == Wrapper::MkAfterGroups {
            Attr::new("extraGroups", "lib.mkAfter extraGroups".into())
        } else {
            let mut a = Attr::new("extraGroups", "extraGroups".into());
            a.inherit = true;
            a
        }
    } else {
        let list = nix_list(&groups);
        Attr::new(
            "extraGroups",
            if def.wrapper == Wrapper::MkAfterGroups {
                format!("lib.mkAfter {list}")
            } else {
                list
            },
        )
    };
    group_attr.after = after_groups;
    let split_attr = if split {
        Some(group_attr)
    } else {
        attrs.push(group_attr);
        None
    };
    let with_pkgs = with_pkgs(def);
    let pkgs = if with_pkgs { "" } else { "pkgs." };
    if let Some(bash) = person.shell {
        let shell = if bash {
            format!("{pkgs}bash")
        } else {
            format!("{pkgs}zsh")
        };
        attrs.push(Attr::new(
            "shell",
            if def.wrapper == Wrapper::MkForceShell {
                format!("lib.mkForce {shell}")
            } else {
                shell
            },
        ));
    }
    if let Some(more) = def.packages {
        let extra = if more { " htop" } else { "" };
        attrs.push(Attr::new(
            "packages",
            if with_pkgs {
                format!("[ git vim{extra} ]")
            } else {
                format!("with pkgs; [ git vim{extra} ]")
            },
        ));
    }
    let key_value = match def.keys {
        Keys::Inline => {
            let ks: Vec<String> = keys_of(fleet, p).iter().map(|k| quoted(k)).collect();
            nix_list(&ks)
        }
        Keys::LetImport => {
            needs.keys = true;
            format!("keys.{}", attr_name(name, false))
        }
        Keys::With => {
            needs.ssh_keys = true;
            let refs: Vec<String> = DEVICES[..key_count(fleet, p)]
                .iter()
                .map(|d| {
                    if attr_name(name, false) == name {
                        format!("{name}.{d}")
                    } else {
                        format!("sshKeys.{}.{d}", attr_name(name, false))
                    }
                })
                .collect();
            format!("with sshKeys; {}", nix_list(&refs))
        }
        Keys::HostLet => {
            needs.host_keys = true;
            let dir = Path::new(HOST_FILES[def.file])
                .parent()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rel = if dir.is_empty() {
                format!("hosts/{host}/host-keys.nix")
            } else {
                format!("hosts/{host}/{dir}/host-keys.nix")
            };
            let mut text = String::from("{\n");
            for (q, other) in PEOPLE.iter().enumerate().take(fleet.people.len()) {
                let mut ks: Vec<String> = keys_of(fleet, q).iter().map(|k| quoted(k)).collect();
                if h % 2 == 1 {
                    ks.push(quoted(&format!(
                        "ssh-ed25519 AAAAHostOnly{h} {other}@{host}"
                    )));
                }
                let _ = writeln!(text, "  {} = {};", attr_name(other, false), nix_list(&ks));
            }
            text.push_str("}\n");
            extra_files.insert(rel, text);
            format!("hostKeys.{}", attr_name(name, false))
        }
        Keys::ReadFile => format!(
            "lib.splitString \"\\n\" (lib.removeSuffix \"\\n\" (builtins.readFile {up}keys/{name}.pub))"
        ),
    };
    let mut keys = Attr::new("openssh.authorizedKeys.keys", key_value);
    if def.comments & 4 != 0 {
        keys.before = Some("/* the person's own keys */".into());
    }
    attrs.push(keys);
    match def.key_file {
        KeyFile::None => {}
        KeyFile::Shared => attrs.push(Attr::new(
            "openssh.authorizedKeys.keyFiles",
            format!("[ {up}keys/{name}.pub ]"),
        )),
        KeyFile::Local => {
            let dir = Path::new(HOST_FILES[def.file])
                .parent()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rel = if dir.is_empty() {
                format!("hosts/{host}/keys/{name}.pub")
            } else {
                format!("hosts/{host}/{dir}/keys/{name}.pub")
            };
            extra_files.insert(rel, format!("{} {host}-local\n", key_of(p, 0)));
            attrs.push(Attr::new(
                "openssh.authorizedKeys.keyFiles",
                format!("[ ./keys/{name}.pub ]"),
            ));
        }
    }
    match def.password {
        Some(k) if k < HASHES.len() => {
            attrs.push(Attr::new("hashedPassword", quoted(HASHES[k])));
        }
        Some(_) => attrs.push(Attr::new(
            "hashedPasswordFile",
            format!("config.sops.secrets.\"{name}-password\".path"),
        )),
        None => {}
    }
    if let Some(this_host) = def.custom {
        let mut hosts = vec![quoted("bastion")];
        if this_host {
            hosts.push(quoted(host));
        }
        attrs.push(Attr::new("allowedHosts", nix_list(&hosts)));
    }
    if def.style & 2 != 0 {
        // openssh = { authorizedKeys = { keys = …; keyFiles = …; }; };
        let (ssh, mut rest): (Vec<Attr>, Vec<Attr>) = attrs
            .into_iter()
            .partition(|a| a.path.starts_with("openssh.authorizedKeys."));
        let before = ssh.iter().find_map(|a| a.before.clone());
        let inner: Vec<String> = ssh
            .iter()
            .map(|a| {
                let leaf = a.path.trim_start_matches("openssh.authorizedKeys.");
                format!("{leaf} = {};", a.value)
            })
            .collect();
        let mut nested = Attr::new(
            "openssh",
            format!("{{ authorizedKeys = {{ {} }}; }}", inner.join(" ")),
        );
        nested.before = before;
        rest.push(nested);
        attrs = rest;
    }
    for a in &mut attrs {
        if def.style & 4 != 0 && a.path == "description" {
            a.value = a.value.replace(
                &quoted(&format!("{name} (fleet)")),
                &format!("''{name} (fleet)''"),
            );
        }
        if def.style & 8 != 0 && a.path == "isNormalUser" {
            a.path = quoted("isNormalUser");
        }
    }
    let n = attrs.len();
    attrs.rotate_left(usize::from(def.comments >> 4) % n);
    (attrs, split_attr)
}

/// Whether the definition is written `with pkgs; { … }` (a block whose
/// value is not wrapped in a function call).
fn with_pkgs(def: &Def) -> bool {
    def.style & 1 != 0
        && !def.spelling.lines()
        && !matches!(def.wrapper, Wrapper::MkIfWhole | Wrapper::MkMerge)
}

/// `{ a = 1; … }` at `indent` (the braces' indentation).
fn block(attrs: &[Attr], indent: usize, comment_inside: bool) -> String {
    let pad = "  ".repeat(indent + 1);
    let mut out = String::from("{\n");
    if comment_inside {
        let _ = writeln!(out, "{pad}# managed by hand");
    }
    for a in attrs {
        a.line(&mut out, &pad, "");
    }
    let _ = write!(out, "{}}}", "  ".repeat(indent));
    out
}

/// The definition as the value of `<prefix> = …;` (block spellings).
fn user_value(attrs: &[Attr], def: &Def, indent: usize) -> String {
    let comment = def.comments & 8 != 0;
    match def.wrapper {
        Wrapper::MkIfWhole => format!("lib.mkIf true {}", block(attrs, indent, comment)),
        Wrapper::MkMerge => {
            let (a, b) = attrs.split_at(attrs.len() / 2);
            let pad = "  ".repeat(indent + 1);
            format!(
                "lib.mkMerge [\n{pad}{}\n{pad}{}\n{}]",
                block(a, indent + 1, comment),
                block(b, indent + 1, false),
                "  ".repeat(indent)
            )
        }
        _ if with_pkgs(def) => format!("with pkgs; {}", block(attrs, indent, comment)),
        _ => block(attrs, indent, comment),
    }
}

/// `home-manager.users.<name>` on host `h`, as top-level binding(s).
fn home_binding(p: usize, h: usize, bits: u8) -> String {
    let name = PEOPLE[p];
    let key = attr_name(name, false);
    let email = if bits & 1 == 0 {
        format!("{name}@example.com")
    } else {
        format!("{name}@{}.example.com", HOSTS[h])
    };
    let mut attrs = vec![
        Attr::new("home.stateVersion", quoted("24.05")),
        Attr::new("programs.git.userName", quoted(name)),
        Attr::new("programs.git.userEmail", quoted(&email)),
    ];
    if bits & 4 != 0 {
        attrs.push(Attr::new("programs.git.enable", "true".into()));
    }
    let mut out = String::new();
    if bits & 8 != 0 {
        attrs.push(Attr::new("home.packages", "[ pkgs.git ]".into()));
        let _ = writeln!(
            out,
            "  home-manager.users.{key} = {{ pkgs, ... }}: {};\n",
            block(&attrs, 1, false)
        );
    } else if bits & 2 != 0 {
        for a in &attrs {
            a.line(&mut out, "  ", &format!("home-manager.users.{key}."));
        }
        out.push('\n');
    } else {
        let _ = writeln!(
            out,
            "  home-manager.users.{key} = {};\n",
            block(&attrs, 1, false)
        );
    }
    out
}

/// The text of one host module: `bindings` are complete top-level
/// bindings (each ending in a newline, indented by one level).
fn module_text(
    host: &HostCfg,
    file: usize,
    h: usize,
    imports: &[String],
    needs: &LetNeeds,
    bindings: &[String],
) -> String {
    let up = up(file);
    let mut out = format!("{}\n\n", HEADERS[host.header]);
    if needs.service || needs.keys || needs.host_keys || needs.ssh_keys || needs.groups.is_some() {
        out.push_str("let\n");
        if needs.service {
            out.push_str("  service = \"backup\";\n");
        }
        if needs.keys {
            let _ = writeln!(out, "  keys = import {up}keys.nix;");
        }
        if needs.host_keys {
            out.push_str("  hostKeys = import ./host-keys.nix;\n");
        }
        if needs.ssh_keys {
            let _ = writeln!(out, "  sshKeys = import {up}ssh-keys.nix;");
        }
        if let Some(g) = &needs.groups {
            let _ = writeln!(out, "  extraGroups = {};", nix_list(g));
        }
        out.push_str("in\n");
    }
    out.push_str("{\n");
    if !imports.is_empty() {
        let (first, rest) = imports.split_at(1);
        let list = match host.imports {
            _ if rest.is_empty() => nix_list(imports),
            0 => nix_list(imports),
            1 => format!("{} ++ {}", nix_list(first), nix_list(rest)),
            _ => format!(
                "{} ++ lib.optionals true {}",
                nix_list(first),
                nix_list(rest)
            ),
        };
        let _ = writeln!(out, "  imports = {list};\n");
    }
    if host.wrap[file] {
        let stem = Path::new(HOST_FILES[file])
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let _ = writeln!(
            out,
            "  options.fleet.{stem}.enable = lib.mkEnableOption \"{stem} of {}\";\n",
            HOSTS[h]
        );
        out.push_str("  config = {\n");
        for b in bindings {
            out.push_str(&indent(b, "  "));
        }
        out.push_str("  };\n");
    } else {
        for b in bindings {
            out.push_str(b);
        }
    }
    out.push_str("}\n");
    out
}

/// `text` with every non-empty line prefixed by `by`.
fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{by}{l}\n")
            }
        })
        .collect()
}

/// What goes into one host file.
#[derive(Default)]
struct FileParts {
    needs: LetNeeds,
    /// Top-level bindings.
    bindings: Vec<String>,
    /// Container entries: (spelling, text at indentation 1 for a set entry
    /// `alice = { … };`, the same as a `users = { … }` block entry).
    container: Vec<(Spelling, String, String)>,
}

/// Every file of the fleet: relative path -> text.
fn render(fleet: &Fleet) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let hosts = &fleet.hosts;

    let mut flake = String::from(
        "{\n  description = \"A generated fleet\";\n\n  \
         inputs.nixpkgs.url = \"github:NixOS/nixpkgs/nixos-24.05\";\n\n  \
         outputs = { self, nixpkgs, ... }: {\n",
    );
    for name in &HOSTS[..hosts.len()] {
        let _ = writeln!(
            flake,
            "    nixosConfigurations.{name} = nixpkgs.lib.nixosSystem {{\n      \
             system = \"x86_64-linux\";\n      \
             modules = [ ./hosts/{name} ];\n    }};"
        );
    }
    flake.push_str("  };\n}\n");
    files.insert("flake.nix".to_string(), flake);

    let mut keys_nix = String::from("# Everyone's public keys.\n{\n");
    let mut ssh_keys_nix = String::from("# Everyone's public keys, per device.\n{\n");
    for (p, person) in PEOPLE.iter().enumerate().take(fleet.people.len()) {
        let name = attr_name(person, false);
        let ks: Vec<String> = keys_of(fleet, p).iter().map(|k| quoted(k)).collect();
        let _ = writeln!(keys_nix, "  {name} = {};", nix_list(&ks));
        let devices: Vec<String> = (0..key_count(fleet, p))
            .map(|k| format!("{} = {};", DEVICES[k], quoted(&key_of(p, k))))
            .collect();
        let _ = writeln!(ssh_keys_nix, "  {name} = {{ {} }};", devices.join(" "));
        files.insert(format!("keys/{person}.pub"), format!("{}\n", key_of(p, 0)));
    }
    keys_nix.push_str("}\n");
    ssh_keys_nix.push_str("}\n");
    files.insert("keys.nix".to_string(), keys_nix);
    files.insert("ssh-keys.nix".to_string(), ssh_keys_nix);
    if hosts.iter().any(|h| h.common) {
        files.insert(
            "modules/common.nix".to_string(),
            format!(
                "# What every machine gets.\n{{ ... }}:\n\n{{\n  users.mutableUsers = false;\n\n  \
                 # Admins reach root from the bastion.\n  \
                 users.users.root.openssh.authorizedKeys.keys = [ {} ];\n}}\n",
                quoted(ADMIN_KEY)
            ),
        );
    }

    for (h, host) in hosts.iter().enumerate() {
        let name = HOSTS[h];
        let mut extra_files = BTreeMap::new();
        let mut parts: Vec<FileParts> = (0..HOST_FILES.len())
            .map(|_| FileParts::default())
            .collect();
        let mut used = [true, false, false];
        for (p, person) in fleet.people.iter().enumerate() {
            let Some(def) = &person.def_on(h) else {
                continue;
            };
            used[def.file] = true;
            let (attrs, split) = {
                let part = &mut parts[def.file];
                user_attrs(fleet, p, h, def, &mut part.needs, &mut extra_files)
            };
            let pname = PEOPLE[p];
            let key = attr_name(pname, false);
            let mut text = String::new();
            if def.comments & 1 != 0 {
                let _ = writeln!(text, "  # {pname} on {name}");
            }
            let part = &mut parts[def.file];
            match def.spelling {
                Spelling::DottedBlock | Spelling::ExtraUsers | Spelling::Quoted => {
                    let prefix = match def.spelling {
                        Spelling::ExtraUsers => "users.extraUsers",
                        _ => "users.users",
                    };
                    let key = attr_name(pname, def.spelling == Spelling::Quoted);
                    let _ = writeln!(text, "  {prefix}.{key} = {};\n", user_value(&attrs, def, 1));
                    part.bindings.push(text);
                }
                Spelling::DottedLines => {
                    for a in &attrs {
                        a.line(&mut text, "  ", &format!("users.users.{key}."));
                    }
                    text.push('\n');
                    part.bindings.push(text);
                }
                Spelling::UsersSet | Spelling::Nested | Spelling::MixedExtra => {
                    let value = user_value(&attrs, def, 1);
                    let entry = format!("{text}  {key} = {value};\n");
                    let prefix = if def.spelling == Spelling::MixedExtra {
                        "extraUsers"
                    } else {
                        "users"
                    };
                    let in_block = format!("{text}  {prefix}.{key} = {value};\n");
                    part.container.push((def.spelling, entry, in_block));
                }
                Spelling::MixedLines => {
                    for a in &attrs {
                        a.line(&mut text, "  ", &format!("users.{key}."));
                    }
                    part.container.push((def.spelling, String::new(), text));
                }
            }
            if let Some(bits) = def.home {
                parts[def.file].bindings.push(home_binding(p, h, bits));
            }
            if let Some(a) = split {
                // a feature module adds the groups
                let other = (def.file + 1) % HOST_FILES.len();
                used[other] = true;
                let mut line = String::new();
                a.line(&mut line, "  ", &format!("users.users.{key}."));
                line.push('\n');
                parts[other].bindings.push(line);
            }
        }
        let imports: Vec<String> = (1..HOST_FILES.len())
            .filter(|f| used[*f])
            .map(|f| format!("./{}", HOST_FILES[f]))
            .chain(host.common.then(|| "../../modules/common.nix".to_string()))
            .collect();
        for (f, part) in parts.into_iter().enumerate() {
            if !used[f] {
                continue;
            }
            let FileParts {
                mut needs,
                mut bindings,
                container,
            } = part;
            if f == 0 {
                bindings.insert(0, format!("  networking.hostName = \"{name}\";\n\n"));
                for (p, person) in fleet.people.iter().enumerate() {
                    if person
                        .def_on(h)
                        .is_some_and(|d| d.password == Some(HASHES.len()))
                    {
                        let secret = format!("{}-password", PEOPLE[p]);
                        bindings.push(format!(
                            "  sops.secrets.\"{secret}\".path = \"/run/secrets/{secret}\";\n\n"
                        ));
                    }
                }
                if host.dynamic {
                    needs.service = true;
                    bindings.push(
                        "  # the backup service account, named once above\n  \
                         users.users.${service} = {\n    isSystemUser = true;\n    \
                         group = \"nogroup\";\n  };\n\n"
                            .to_string(),
                    );
                }
                let first = (0..fleet.people.len()).find(|p| fleet.people[*p].def_on(h).is_some());
                if let (true, Some(p)) = (host.mirror, first) {
                    bindings.push(format!(
                        "  users.users.mirror = {{\n    isNormalUser = true;\n    \
                         inherit (config.users.users.{}) openssh;\n  }};\n\n",
                        attr_name(PEOPLE[p], false)
                    ));
                }
                if host.root {
                    bindings.push(format!(
                        "  users.users.root.openssh.authorizedKeys.keys = [ {} ];\n\n",
                        quoted(ADMIN_KEY)
                    ));
                }
                bindings.push("  system.stateVersion = \"24.05\";\n".to_string());
            }
            if !container.is_empty() {
                let mixed = container
                    .iter()
                    .any(|(s, _, _)| matches!(s, Spelling::MixedLines | Spelling::MixedExtra));
                let nested = container.iter().any(|(s, _, _)| *s == Spelling::Nested);
                let text = if mixed || nested {
                    let mut body = String::new();
                    if host.mutable_users {
                        body.push_str("    mutableUsers = false;\n");
                    }
                    if mixed {
                        for (_, _, in_block) in &container {
                            body.push_str(&indent(in_block, "  "));
                        }
                    } else {
                        let entries: String = container
                            .iter()
                            .map(|(_, entry, _)| indent(entry, "    "))
                            .collect();
                        let _ = write!(body, "    users = {{\n{entries}    }};\n");
                    }
                    format!("  users = {{\n{body}  }};\n\n")
                } else {
                    let entries: String = container
                        .iter()
                        .map(|(_, entry, _)| indent(entry, "  "))
                        .collect();
                    format!("  users.users = {{\n{entries}  }};\n\n")
                };
                let at = usize::from(f == 0);
                bindings.insert(at.min(bindings.len()), text);
            }
            let text = module_text(
                host,
                f,
                h,
                if f == 0 { &imports } else { &[] },
                &needs,
                &bindings,
            );
            files.insert(format!("hosts/{name}/{}", HOST_FILES[f]), text);
        }
        files.extend(extra_files);
    }
    files
}

fn write_fleet(root: &Path, files: &BTreeMap<String, String>) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

// ---------------------------------------------------------------------------
// ---------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------

/// Every host's effective users, by real Nix, the hosts evaluated in
/// parallel.
fn evaluate(repo: &Path, hosts: usize) -> Result<Vec<Value>, String> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = HOSTS[..hosts]
            .iter()
            .map(|h| {
                s.spawn(move || {
                    oracle::effective_users(repo, &[PathBuf::from(format!("hosts/{h}"))], None)
                        .map_err(|e| format!("host {h}: {e}"))
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().expect("oracle thread"))
            .collect()
    })
}

fn fail(what: &str, run: &common::Run) -> TestCaseError {
    TestCaseError::fail(format!(
        "{what}: exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        run.code, run.stdout, run.stderr
    ))
}

/// Applies the migration to the rendered fleet and checks the property.
/// `Ok(commits apply made)`.
fn check_fleet(fleet: &Fleet) -> Result<usize, TestCaseError> {
    let files = render(fleet);
    let sb = Sandbox::empty();
    write_fleet(&sb.repo, &files);
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-q", "-m", "generated fleet"]);
    let hosts = fleet.hosts.len();

    // The generator's own promise: the fleet parses and evaluates.
    let parse = nix_parse_failures(&nix_files(&sb.repo));
    assert!(
        parse.is_empty(),
        "generated fleet does not parse: {parse:?}"
    );
    let before = evaluate(&sb.repo, hosts)
        .unwrap_or_else(|e| panic!("generated fleet does not evaluate: {e}"));

    // The person defined on the most hosts goes first when incremental.
    let first = (0..fleet.people.len())
        .filter(|p| fleet.people[*p].on.iter().any(Option::is_some))
        .max_by_key(|p| fleet.people[*p].on.iter().flatten().count());
    if let (true, Some(p)) = (fleet.incremental, first) {
        let apply = sb.run(&["apply", ".", "--user", PEOPLE[p], "--color", "never", "-q"]);
        if apply.code != Some(0) {
            return Err(fail(&format!("apply --user {}", PEOPLE[p]), &apply));
        }
        let rest = sb.run(&[
            "apply",
            ".",
            "--branch",
            "clan-migrate/rest",
            "--color",
            "never",
            "-q",
        ]);
        if rest.code != Some(0) {
            return Err(fail("apply (the rest, after --user)", &rest));
        }
    } else {
        let apply = sb.run(&["apply", ".", "--color", "never", "-q"]);
        if apply.code != Some(0) {
            return Err(fail("apply", &apply));
        }
    }
    let after = evaluate(&sb.repo, hosts)
        .map_err(|e| TestCaseError::fail(format!("after apply, a host does not evaluate: {e}")))?;
    let mut report = String::new();
    for (h, (b, a)) in before.iter().zip(&after).enumerate() {
        if let Some(diff) = oracle::users_diff(b, a) {
            let _ = writeln!(report, "host {}:\n{diff}", HOSTS[h]);
        }
    }
    if !report.is_empty() {
        return Err(TestCaseError::fail(format!(
            "effective users changed:\n{report}"
        )));
    }
    let parse = nix_parse_failures(&nix_files(&sb.repo));
    if !parse.is_empty() {
        return Err(TestCaseError::fail(format!(
            "after apply, files do not parse:\n{}",
            parse.join("\n")
        )));
    }
    let check = sb.run(&["plan", ".", "--check", "--color", "never"]);
    if check.code != Some(0) {
        return Err(fail("plan --check after apply", &check));
    }
    let verify = sb.run(&["verify", ".", "--against", "main", "--color", "never"]);
    if verify.code != Some(0) {
        return Err(fail("verify --against main", &verify));
    }
    let commits = sb.git(&["rev-list", "--count", "main..HEAD"]);
    Ok(commits.parse().unwrap_or(0))
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// Writes the failing fleet under `target/proptest-failures/` and returns
/// the directory.
fn save_failure(fleet: &Fleet, reason: &str) -> PathBuf {
    let files = render(fleet);
    let hash = common::fnv1a(format!("{fleet:?}").as_bytes());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/proptest-failures")
        .join(format!("prop-{hash:016x}"));
    let _ = std::fs::remove_dir_all(&dir);
    write_fleet(&dir, &files);
    let readme = format!(
        "# Shrunk property-test failure (tests/properties.rs)\n\n\
         Failure:\n\n```\n{reason}\n```\n\nFleet:\n\n```\n{fleet:#?}\n```\n"
    );
    std::fs::write(dir.join("README.md"), readme).unwrap();
    dir
}

#[test]
fn apply_keeps_every_hosts_users() {
    if !oracle::nix_available() || !common::require_tool("git") {
        return;
    }
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_time: 300_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let (runs, migrated, commits) = (Cell::new(0), Cell::new(0), Cell::new(0));
    let result = runner.run(&fleet(), |f| {
        let made = check_fleet(&f)?;
        runs.set(runs.get() + 1);
        migrated.set(migrated.get() + usize::from(made > 0));
        commits.set(commits.get() + made);
        Ok(())
    });
    let (runs, migrated, commits) = (runs.get(), migrated.get(), commits.get());
    eprintln!("{runs} fleets passed, {migrated} of them migrated ({commits} commits)");
    match result {
        Ok(()) => {
            // Guard against a vacuous property: most fleets repeat someone.
            assert!(
                runs < 8 || migrated * 2 >= runs,
                "only {migrated} of {runs} fleets had anything to migrate"
            );
        }
        Err(TestError::Fail(reason, fleet)) => {
            let dir = save_failure(&fleet, &reason.to_string());
            panic!(
                "property failed: {reason}\nshrunk fleet written to {}\n{fleet:#?}",
                dir.display()
            );
        }
        Err(e) => panic!("{e}"),
    }
}

/// Writes a few generated fleets to `target/proptest-samples/` to look at:
/// `cargo test --test properties -- --ignored sample_fleets`.
#[test]
#[ignore = "writes sample fleets for a human to read"]
fn sample_fleets() {
    use proptest::strategy::ValueTree;
    let mut runner = TestRunner::deterministic();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/proptest-samples");
    let _ = std::fs::remove_dir_all(&root);
    for i in 0..cases().min(50) {
        let fleet = fleet().new_tree(&mut runner).unwrap().current();
        write_fleet(&root.join(format!("fleet-{i}")), &render(&fleet));
    }
    eprintln!("written to {}", root.display());
}

/// The generator itself: every spelling and wrapper renders to a fleet Nix
/// parses and evaluates to the users it was given.
#[test]
fn generator_covers_every_spelling() {
    if !oracle::nix_available() {
        return;
    }
    let spellings = [
        Spelling::DottedBlock,
        Spelling::DottedLines,
        Spelling::UsersSet,
        Spelling::Nested,
        Spelling::ExtraUsers,
        Spelling::Quoted,
        Spelling::MixedLines,
        Spelling::MixedExtra,
    ];
    let wrappers = [
        Wrapper::None,
        Wrapper::MkIfWhole,
        Wrapper::MkAfterGroups,
        Wrapper::MkDefaultDescription,
        Wrapper::MkForceShell,
        Wrapper::MkMerge,
    ];
    let keys = [
        Keys::Inline,
        Keys::LetImport,
        Keys::With,
        Keys::ReadFile,
        Keys::HostLet,
    ];
    let mut people = Vec::new();
    for p in 0..PEOPLE.len() {
        let on = (0..HOSTS.len())
            .map(|h| {
                let k = p * HOSTS.len() + h;
                Some(Def {
                    spelling: spellings[k % spellings.len()],
                    file: k % HOST_FILES.len(),
                    groups_let: k.is_multiple_of(2),
                    keys: keys[k % keys.len()],
                    key_file: [KeyFile::None, KeyFile::Shared, KeyFile::Local][k % 3],
                    extra: [k % 2 == 1, k % 3 == 1, k % 5 == 1],
                    uid: [Uid::Base, Uid::Absent, Uid::Other][k % 3],
                    password: k.is_multiple_of(4).then_some(k % (HASHES.len() + 1)),
                    wrapper: wrappers[k % wrappers.len()],
                    comments: (k as u8).wrapping_mul(37),
                    style: (k as u8).wrapping_mul(11),
                    split: k.is_multiple_of(3),
                    home: (k % 2 == 1).then_some((k % 16) as u8),
                    packages: [None, Some(false), Some(true)][k % 3],
                    custom: [None, Some(false), Some(true)][k % 3],
                })
            })
            .collect();
        people.push(Person {
            groups: [p % 2 == 0, true, false],
            shell: [None, Some(false), Some(true)][p % 3],
            two_keys: p % 2 == 1,
            uniform: p == 2,
            on,
        });
    }
    let fleet = Fleet {
        hosts: (0..HOSTS.len())
            .map(|h| HostCfg {
                wrap: [h == 1, h == 2, h == 3],
                mutable_users: h % 2 == 0,
                root: h % 2 == 1,
                common: h % 3 != 1,
                imports: (h % 3) as u8,
                header: h % HEADERS.len(),
                dynamic: h % 2 == 0,
                mirror: h % 2 == 1,
            })
            .collect(),
        people,
        incremental: false,
    };
    let dir = tempfile::tempdir().unwrap();
    write_fleet(dir.path(), &render(&fleet));
    let parse = nix_parse_failures(&nix_files(dir.path()));
    assert!(parse.is_empty(), "{parse:?}");
    let users = evaluate(dir.path(), HOSTS.len()).unwrap();
    for (h, v) in users.iter().enumerate() {
        let v = oracle::normalise(v);
        for name in PEOPLE {
            let user = &v["users"][name];
            assert_eq!(user["isNormalUser"], true, "{} {name}: {v}", HOSTS[h]);
            let groups = user["extraGroups"].as_array().unwrap();
            assert!(groups.contains(&"wheel".into()), "{} {name}: {v}", HOSTS[h]);
            assert!(
                !user["openssh"]["authorizedKeys"]["keys"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            );
        }
    }
    // and the tool sees every host and every person
    let report = clan_migrate::scan(
        dir.path(),
        &clan_migrate::ScanOptions::default(),
        &clan_migrate::Silent,
    )
    .unwrap();
    assert_eq!(report.hosts.len(), HOSTS.len());
    for name in PEOPLE {
        assert!(
            report.users.iter().any(|u| u.name == name),
            "{name} not found by scan"
        );
    }
}
