//! Synthetic NixOS fleet generator for benchmarks.
//!
//! Writes a repository that looks like a hand-maintained multi-host flake:
//! `flake.nix` with one `nixosConfigurations.<host>` per host, per-host
//! modules under `hosts/<host>/` in which people are defined inline as whole
//! `users.users.<name> = { … };` blocks (repeated across many hosts, with
//! occasional per-host differences), role modules under `roles/` and a
//! `modules/common.nix` imported by every role.
//!
//! `wide.rs` writes the other shape: many people, each on many hosts, in
//! small files.
//!
//! Self-contained (std only, deterministic splitmix64 PRNG) so any bench can
//! use it with `mod fleet;`.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

mod wide;
pub use wide::{WideSpec, generate_wide};

/// The two shapes of fleet: [`generate`] (`roles`) and [`generate_wide`]
/// (`wide`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    Roles,
    Wide,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Roles => "roles",
            Shape::Wide => "wide",
        }
    }
}

/// Shape of a synthetic fleet.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// Number of hosts (`nixosConfigurations` entries).
    pub hosts: usize,
    /// Number of distinct people who may appear on hosts.
    pub people: usize,
    /// Average number of people defined inline on each host (varies by ±1).
    pub people_per_host: usize,
    /// Number of role modules under `roles/`.
    pub roles: usize,
    /// PRNG seed; the same spec always produces byte-identical output.
    pub seed: u64,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            hosts: 1000,
            people: 40,
            people_per_host: 6,
            roles: 8,
            seed: 0x5eed_c1a0_2024_0001,
        }
    }
}

impl FleetSpec {
    /// The default fleet with a different number of hosts.
    pub fn with_hosts(hosts: usize) -> Self {
        FleetSpec {
            hosts,
            ..FleetSpec::default()
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default)]
pub struct FleetSummary {
    /// The directory the fleet was written to.
    pub root: PathBuf,
    /// Every written file, relative to `root`, in write order.
    pub files: Vec<PathBuf>,
    /// Total bytes written.
    pub total_bytes: u64,
    /// Host names, in `flake.nix` order.
    pub host_names: Vec<String>,
    /// Names of the people (excluding the shared `ops` account in `modules/common.nix`).
    pub people: Vec<String>,
    /// For each entry of `people`, on how many hosts they are defined inline.
    pub hosts_per_person: Vec<usize>,
    /// Number of inline `users.users.<name>` blocks in host files.
    pub inline_user_blocks: usize,
    /// Number of `users.users.<name>.extraGroups` definitions in role modules.
    pub role_user_defs: usize,
    /// Number of role modules written.
    pub roles: usize,
}

impl FleetSummary {
    /// Absolute paths of every `.nix` file written.
    pub fn nix_files(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "nix"))
            .map(|p| self.root.join(p))
            .collect()
    }

    /// Number of people defined inline on at least two hosts.
    pub fn repeated_people(&self) -> usize {
        self.hosts_per_person.iter().filter(|&&n| n >= 2).count()
    }
}

/// Write the fleet described by `spec` into `dir` (created if missing; existing
/// files with the same names are overwritten).
pub fn generate(spec: &FleetSpec, dir: &Path) -> io::Result<FleetSummary> {
    let mut w = Writer {
        root: dir.to_path_buf(),
        summary: FleetSummary {
            root: dir.to_path_buf(),
            ..FleetSummary::default()
        },
    };
    fs::create_dir_all(dir)?;
    let mut rng = Rng::new(spec.seed);

    let people: Vec<Person> = (0..spec.people).map(|i| Person::new(i, &mut rng)).collect();
    let roles: Vec<Role> = (0..spec.roles.max(1))
        .map(|i| Role::new(i, spec.people, &mut rng))
        .collect();
    let hosts: Vec<Host> = (0..spec.hosts)
        .map(|i| Host::new(i, spec, &roles, &people, &mut rng))
        .collect();

    w.summary.people = people.iter().map(|p| p.name.clone()).collect();
    w.summary.hosts_per_person = vec![0; people.len()];
    w.summary.host_names = hosts.iter().map(|h| h.name.clone()).collect();
    w.summary.roles = roles.len();

    w.write("flake.nix", &flake_nix(&hosts))?;
    w.write("modules/common.nix", &common_nix(&mut rng))?;
    for role in &roles {
        let text = role_nix(role, &people);
        w.summary.role_user_defs += role.people.len();
        w.write(&format!("roles/{}.nix", role.name), &text)?;
    }
    for host in &hosts {
        for &p in &host.people {
            w.summary.hosts_per_person[p] += 1;
        }
        w.summary.inline_user_blocks += host.people.len();
        let users = users_body(host, &people, &mut rng);
        let (default, users_file) = if host.split_users {
            (
                host_default_nix(host, &roles, None, &mut rng),
                Some(users_nix(host, &users)),
            )
        } else {
            (host_default_nix(host, &roles, Some(&users), &mut rng), None)
        };
        w.write(&format!("hosts/{}/default.nix", host.name), &default)?;
        w.write(
            &format!("hosts/{}/hardware-configuration.nix", host.name),
            &hardware_nix(host, &mut rng),
        )?;
        w.write(
            &format!("hosts/{}/networking.nix", host.name),
            &networking_nix(host),
        )?;
        if let Some(text) = users_file {
            w.write(&format!("hosts/{}/users.nix", host.name), &text)?;
        }
    }
    Ok(w.summary)
}

struct Writer {
    root: PathBuf,
    summary: FleetSummary,
}

impl Writer {
    fn write(&mut self, rel: &str, text: &str) -> io::Result<()> {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, text)?;
        self.summary.total_bytes += text.len() as u64;
        self.summary.files.push(PathBuf::from(rel));
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// PRNG

/// splitmix64: tiny, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }
}

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const CRYPT64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";

fn ed25519_key(rng: &mut Rng, comment: &str) -> String {
    // Real ed25519 public keys are "AAAAC3NzaC1lZDI1NTE5AAAAI" + 43 base64 chars.
    format!(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} {comment}",
        rng.string(BASE64, 43)
    )
}

fn sha512_crypt(rng: &mut Rng) -> String {
    format!("$6${}${}", rng.string(CRYPT64, 16), rng.string(CRYPT64, 86))
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        rng.string(HEX, 8),
        rng.string(HEX, 4),
        rng.string(HEX, 4),
        rng.string(HEX, 4),
        rng.string(HEX, 12)
    )
}

// ---------------------------------------------------------------------------
// Model

const FIRST_NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy", "yara",
    "zoe", "mika", "noor", "omar", "priya", "quinn", "ravi", "sara", "tariq", "uma", "vera",
    "xenia", "yusuf", "zhang", "lena", "kai", "jonas", "ines", "hugo",
];

const SURNAMES: &[&str] = &[
    "Anderson",
    "Becker",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
];

const TEAMS: &[&str] = &[
    "SRE",
    "platform team",
    "database team",
    "security",
    "networking",
    "build infrastructure",
    "data engineering",
    "on-call rotation",
];

const HOST_EXTRA_GROUPS: &[(&str, &str)] = &[
    ("docker", "runs the CI containers here"),
    ("libvirtd", "manages the test VMs"),
    ("dialout", "serial console access"),
    ("video", ""),
    ("audio", ""),
    ("podman", ""),
    ("kvm", ""),
    ("systemd-journal", "reads logs without sudo"),
    ("adm", ""),
    ("input", ""),
];

const PERSON_PACKAGES: &[&str] = &[
    "tmux", "ripgrep", "fd", "jq", "htop", "git", "neovim", "bat", "direnv", "nix-tree",
];

struct Person {
    name: String,
    full_name: String,
    team: &'static str,
    uid: u32,
    shell: &'static str,
    groups: Vec<&'static str>,
    keys: Vec<String>,
    hashed_password: Option<String>,
    pin_uid: bool,
    packages: Vec<&'static str>,
    /// Relative weight when hosts pick their people.
    weight: u64,
}

impl Person {
    fn new(i: usize, rng: &mut Rng) -> Self {
        let first = FIRST_NAMES[i % FIRST_NAMES.len()];
        let name = if i < FIRST_NAMES.len() {
            first.to_string()
        } else {
            format!("{first}{}", i / FIRST_NAMES.len() + 1)
        };
        let mut cap = first.to_string();
        cap[..1].make_ascii_uppercase();
        let full_name = format!("{cap} {}", rng.pick(SURNAMES));
        let shell = match rng.below(10) {
            0..=4 => "zsh",
            5..=7 => "bash",
            _ => "fish",
        };
        let mut groups = vec!["wheel"];
        if rng.chance(40) {
            groups.push("networkmanager");
        }
        if rng.chance(20) {
            groups.push("systemd-journal");
        }
        let mut keys = vec![ed25519_key(rng, &format!("{name}@laptop"))];
        if rng.chance(35) {
            keys.push(ed25519_key(rng, &format!("{name}@desktop")));
        }
        if rng.chance(10) {
            keys.push(ed25519_key(rng, &format!("{name}@yubikey")));
        }
        let hashed_password = rng.chance(30).then(|| sha512_crypt(rng));
        let pin_uid = rng.chance(50);
        let packages = if rng.chance(25) {
            let n = 1 + rng.below(3);
            let start = rng.below(PERSON_PACKAGES.len());
            (0..n)
                .map(|k| PERSON_PACKAGES[(start + k) % PERSON_PACKAGES.len()])
                .collect()
        } else {
            Vec::new()
        };
        // Mildly skewed popularity: a few people are on most machines.
        let weight = 1000 / (1 + i as u64 / 4) + 50;
        Person {
            name,
            full_name,
            team: TEAMS[rng.below(TEAMS.len())],
            uid: 1000 + i as u32,
            shell,
            groups,
            keys,
            hashed_password,
            pin_uid,
            packages,
            weight,
        }
    }
}

struct RoleKind {
    name: &'static str,
    comment: &'static str,
    /// Group members of this role get (empty: none).
    group: &'static str,
    /// Lines of the module body, already indented by two spaces.
    body: &'static str,
    workstation: bool,
}

const ROLE_KINDS: &[RoleKind] = &[
    RoleKind {
        name: "server",
        comment: "Baseline for every rack server.",
        group: "systemd-journal",
        body: r#"  services.fail2ban.enable = true;
  services.journald.extraConfig = ''
    SystemMaxUse=2G
  '';

  documentation.nixos.enable = false;
"#,
        workstation: false,
    },
    RoleKind {
        name: "web",
        comment: "Public web frontends behind the load balancer.",
        group: "nginx",
        body: r#"  services.nginx = {
    enable = true;
    recommendedTlsSettings = true;
    recommendedProxySettings = true;
    recommendedGzipSettings = true;
  };

  networking.firewall.allowedTCPPorts = [
    80
    443
  ];
"#,
        workstation: false,
    },
    RoleKind {
        name: "database",
        comment: "PostgreSQL primaries and replicas.",
        group: "postgres",
        body: r#"  services.postgresql = {
    enable = true;
    package = pkgs.postgresql_15;
    settings = {
      max_connections = 200;
      shared_buffers = "4GB";
    };
  };

  services.postgresqlBackup = {
    enable = true;
    startAt = "*-*-* 03:15:00";
  };
"#,
        workstation: false,
    },
    RoleKind {
        name: "builder",
        comment: "Remote Nix builders used by CI.",
        group: "kvm",
        body: r#"  nix.settings = {
    max-jobs = lib.mkDefault 16;
    system-features = [
      "big-parallel"
      "kvm"
      "nixos-test"
    ];
    trusted-users = [ "@wheel" ];
  };

  boot.binfmt.emulatedSystems = [ "aarch64-linux" ];
"#,
        workstation: false,
    },
    RoleKind {
        name: "monitoring",
        comment: "Prometheus exporters and the Grafana host.",
        group: "",
        body: r#"  services.prometheus.exporters.node = {
    enable = true;
    enabledCollectors = [
      "systemd"
      "processes"
    ];
    openFirewall = true;
  };
"#,
        workstation: false,
    },
    RoleKind {
        name: "workstation",
        comment: "Desks in the office; people log in locally here.",
        group: "video",
        body: r#"  services.xserver.enable = true;
  services.displayManager.sddm.enable = true;
  services.desktopManager.plasma6.enable = true;

  hardware.pulseaudio.enable = false;
  services.pipewire = {
    enable = true;
    alsa.enable = true;
    pulse.enable = true;
  };

  environment.systemPackages = with pkgs; [
    firefox
    thunderbird
    vlc
  ];
"#,
        workstation: true,
    },
    RoleKind {
        name: "storage",
        comment: "ZFS storage nodes exporting NFS.",
        group: "storage",
        body: r#"  boot.supportedFilesystems = [ "zfs" ];
  services.zfs.autoScrub.enable = true;

  users.groups.storage = { };

  services.nfs.server = {
    enable = true;
    exports = ''
      /tank 10.0.0.0/16(rw,no_subtree_check)
    '';
  };
"#,
        workstation: false,
    },
    RoleKind {
        name: "gateway",
        comment: "Edge routers: NAT and WireGuard.",
        group: "",
        body: r#"  boot.kernel.sysctl."net.ipv4.ip_forward" = 1;

  networking.nat = {
    enable = true;
    externalInterface = "eno1";
    internalInterfaces = [ "wg0" ];
  };

  networking.wireguard.interfaces.wg0 = {
    listenPort = 51820;
    privateKeyFile = "/var/lib/wireguard/private";
  };
"#,
        workstation: false,
    },
];

struct Role {
    name: String,
    kind: &'static RoleKind,
    /// People who get the role's group in the role module.
    people: Vec<usize>,
}

impl Role {
    fn new(i: usize, people: usize, rng: &mut Rng) -> Self {
        let kind = &ROLE_KINDS[i % ROLE_KINDS.len()];
        let name = if i < ROLE_KINDS.len() {
            kind.name.to_string()
        } else {
            format!("{}-{}", kind.name, i / ROLE_KINDS.len() + 1)
        };
        let mut members = Vec::new();
        if !kind.group.is_empty() && people > 0 {
            for _ in 0..rng.below(4) {
                let p = rng.below(people);
                if !members.contains(&p) {
                    members.push(p);
                }
            }
            members.sort_unstable();
        }
        Role {
            name,
            kind,
            people: members,
        }
    }
}

struct Host {
    name: String,
    index: usize,
    roles: Vec<usize>,
    people: Vec<usize>,
    system: &'static str,
    workstation: bool,
    split_users: bool,
    nested_users: bool,
    efi: bool,
    intel: bool,
}

impl Host {
    fn new(i: usize, spec: &FleetSpec, roles: &[Role], people: &[Person], rng: &mut Rng) -> Self {
        let width = spec.hosts.to_string().len().max(4);
        let name = format!("host{:0width$}", i + 1);
        let mut host_roles = vec![rng.below(roles.len())];
        if roles.len() > 1 && rng.chance(35) {
            let second = rng.below(roles.len());
            if second != host_roles[0] {
                host_roles.push(second);
            }
        }
        let workstation = host_roles.iter().any(|&r| roles[r].kind.workstation);

        // Pick people_per_host ± 1 distinct people, weighted by popularity.
        let n = if spec.people_per_host == 0 {
            0
        } else {
            (spec.people_per_host + rng.below(3))
                .saturating_sub(1)
                .max(1)
        }
        .min(people.len());
        let people = pick_people(n, people, rng);

        Host {
            name,
            index: i,
            roles: host_roles,
            people,
            system: if rng.chance(8) {
                "aarch64-linux"
            } else {
                "x86_64-linux"
            },
            workstation,
            split_users: rng.chance(15),
            nested_users: rng.chance(5),
            efi: rng.chance(75),
            intel: rng.chance(60),
        }
    }
}

fn pick_people(n: usize, people: &[Person], rng: &mut Rng) -> Vec<usize> {
    let total = people.len();
    let weights: Vec<u64> = people.iter().map(|p| p.weight).collect();
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let mut chosen = Vec::with_capacity(n);
    let mut guard = 0;
    while chosen.len() < n && guard < n * 50 {
        guard += 1;
        let mut x = rng.next_u64() % sum;
        let mut pick = 0;
        for (j, &w) in weights.iter().enumerate() {
            if x < w {
                pick = j;
                break;
            }
            x -= w;
        }
        if !chosen.contains(&pick) {
            chosen.push(pick);
        }
    }
    // Fall back to the first unused people if the weighted draw got stuck.
    let mut j = 0;
    while chosen.len() < n && j < total {
        if !chosen.contains(&j) {
            chosen.push(j);
        }
        j += 1;
    }
    chosen.sort_unstable();
    chosen
}

// ---------------------------------------------------------------------------
// Rendering helpers (nixfmt / RFC 166 style)

/// One list element: rendered expression plus an optional trailing comment.
struct Item {
    expr: String,
    comment: String,
}

fn item(expr: impl Into<String>) -> Item {
    Item {
        expr: expr.into(),
        comment: String::new(),
    }
}

fn quoted(s: &str) -> Item {
    item(format!("\"{s}\""))
}

/// `<pad><lhs> = [ … ];` — inline for at most one element without comment,
/// one element per line otherwise.
fn list(out: &mut String, pad: &str, lhs: &str, prefix: &str, items: &[Item]) {
    // nixfmt keeps a short single-element list on one line (width 100).
    let inline = items.len() <= 1
        && items.iter().all(|i| i.comment.is_empty())
        && pad.len() + lhs.len() + prefix.len() + items.first().map_or(0, |i| i.expr.len()) + 8
            <= 100;
    if inline {
        match items.first() {
            Some(i) => writeln!(out, "{pad}{lhs} = {prefix}[ {} ];", i.expr).unwrap(),
            None => writeln!(out, "{pad}{lhs} = {prefix}[ ];").unwrap(),
        }
        return;
    }
    writeln!(out, "{pad}{lhs} = {prefix}[").unwrap();
    for i in items {
        if i.comment.is_empty() {
            writeln!(out, "{pad}  {}", i.expr).unwrap();
        } else {
            writeln!(out, "{pad}  {} # {}", i.expr, i.comment).unwrap();
        }
    }
    writeln!(out, "{pad}];").unwrap();
}

fn module_args(out: &mut String, args: &[&str]) {
    if args.len() <= 2 {
        writeln!(out, "{{ {} }}:", args.join(", ")).unwrap();
    } else {
        out.push_str("{\n");
        for a in args {
            if *a == "..." {
                out.push_str("  ...\n");
            } else {
                writeln!(out, "  {a},").unwrap();
            }
        }
        out.push_str("}:\n");
    }
    out.push('\n');
}

// ---------------------------------------------------------------------------
// Files

fn flake_nix(hosts: &[Host]) -> String {
    let mut out = String::with_capacity(hosts.len() * 160 + 512);
    out.push_str(
        r#"{
  description = "Fleet configuration for all machines";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
  };

  outputs =
    { self, nixpkgs, ... }:
    {
"#,
    );
    for (i, h) in hosts.iter().enumerate() {
        if i > 0 && i % 100 == 0 {
            writeln!(out, "\n      # Rack {}: {} onwards.", i / 100 + 1, h.name).unwrap();
        }
        write!(
            out,
            r#"      nixosConfigurations.{name} = nixpkgs.lib.nixosSystem {{
        system = "{system}";
        modules = [ ./hosts/{name} ];
      }};
"#,
            name = h.name,
            system = h.system
        )
        .unwrap();
    }
    out.push_str("    };\n}\n");
    out
}

fn common_nix(rng: &mut Rng) -> String {
    let mut out = String::new();
    out.push_str("# Settings shared by every machine; imported by all roles.\n");
    module_args(&mut out, &["config", "lib", "pkgs", "..."]);
    out.push_str("{\n");
    out.push_str("  # Accounts are declared here and in the host files only.\n");
    out.push_str("  users.mutableUsers = false;\n\n");
    out.push_str("  # Break-glass account, present on every machine.\n");
    out.push_str("  users.users.ops = {\n");
    out.push_str("    isNormalUser = true;\n");
    out.push_str("    description = \"Operations (shared break-glass account)\";\n");
    out.push_str("    uid = 1999;\n");
    list(&mut out, "    ", "extraGroups", "", &[quoted("wheel")]);
    writeln!(out, "    hashedPassword = \"{}\";", sha512_crypt(rng)).unwrap();
    let keys = [
        quoted(&ed25519_key(rng, "ops@vault")),
        quoted(&ed25519_key(rng, "ops@bastion")),
    ];
    list(&mut out, "    ", "openssh.authorizedKeys.keys", "", &keys);
    out.push_str("  };\n\n");
    out.push_str("  programs.zsh.enable = true;\n");
    out.push_str("  programs.fish.enable = true;\n\n");
    out.push_str("  security.sudo.wheelNeedsPassword = false;\n\n");
    list(
        &mut out,
        "  ",
        "nix.settings.experimental-features",
        "",
        &[quoted("nix-command"), quoted("flakes")],
    );
    out.push_str(
        "  nix.gc = {\n    automatic = true;\n    options = \"--delete-older-than 30d\";\n  };\n\n",
    );
    out.push_str("  i18n.defaultLocale = \"en_US.UTF-8\";\n");
    out.push_str("  console.keyMap = lib.mkDefault \"us\";\n\n");
    list(
        &mut out,
        "  ",
        "environment.systemPackages",
        "with pkgs; ",
        &[item("vim"), item("git"), item("htop"), item("curl")],
    );
    out.push_str("}\n");
    out
}

fn role_nix(role: &Role, people: &[Person]) -> String {
    let mut out = String::new();
    writeln!(out, "# Role `{}`: {}", role.name, role.kind.comment).unwrap();
    module_args(&mut out, &["config", "lib", "pkgs", "..."]);
    out.push_str("{\n");
    list(
        &mut out,
        "  ",
        "imports",
        "",
        &[item("../modules/common.nix")],
    );
    out.push('\n');
    out.push_str(role.kind.body);
    if !role.people.is_empty() {
        writeln!(
            out,
            "\n  # People who look after the {} machines.",
            role.name
        )
        .unwrap();
        for &p in &role.people {
            list(
                &mut out,
                "  ",
                &format!("users.users.{}.extraGroups", people[p].name),
                "",
                &[quoted(role.kind.group)],
            );
        }
    }
    out.push_str("}\n");
    out
}

/// The user definitions of one host, indented for the top level of a module.
fn users_body(host: &Host, people: &[Person], rng: &mut Rng) -> String {
    let mut out = String::new();
    if host.nested_users {
        out.push_str("  users.users = {\n");
        for (k, &p) in host.people.iter().enumerate() {
            if k > 0 {
                out.push('\n');
            }
            user_block(&mut out, "    ", &people[p].name, &people[p], host, rng);
        }
        out.push_str("  };\n");
    } else {
        for (k, &p) in host.people.iter().enumerate() {
            if k > 0 {
                out.push('\n');
            }
            let lhs = format!("users.users.{}", people[p].name);
            user_block(&mut out, "  ", &lhs, &people[p], host, rng);
        }
    }
    out
}

fn user_block(out: &mut String, pad: &str, lhs: &str, p: &Person, host: &Host, rng: &mut Rng) {
    match rng.below(10) {
        0..=2 => writeln!(out, "{pad}# {} ({})", p.full_name, p.team).unwrap(),
        3 => writeln!(
            out,
            "{pad}# {}, added for the {} migration",
            p.full_name, p.team
        )
        .unwrap(),
        _ => {}
    }
    writeln!(out, "{pad}{lhs} = {{").unwrap();
    let inner = format!("{pad}  ");
    writeln!(out, "{inner}isNormalUser = true;").unwrap();
    writeln!(out, "{inner}description = \"{}\";", p.full_name).unwrap();

    // uid: usually the person's canonical one; occasionally a per-host value.
    if rng.chance(4) {
        writeln!(
            out,
            "{inner}uid = {}; # clashed with a local account on this box",
            p.uid + 1000
        )
        .unwrap();
    } else if p.pin_uid {
        writeln!(out, "{inner}uid = {};", p.uid).unwrap();
    }

    let mut groups: Vec<Item> = p.groups.iter().map(|g| quoted(g)).collect();
    if host.workstation && !p.groups.contains(&"networkmanager") {
        groups.push(quoted("networkmanager"));
    }
    let extras = match rng.below(100) {
        0..=59 => 0,
        60..=89 => 1,
        _ => 2,
    };
    for _ in 0..extras {
        let (g, why) = *rng.pick(HOST_EXTRA_GROUPS);
        let expr = format!("\"{g}\"");
        if groups.iter().any(|i| i.expr == expr) {
            continue;
        }
        let mut it = item(expr);
        if !why.is_empty() && rng.chance(40) {
            it.comment = why.to_string();
        }
        groups.push(it);
    }
    let shell_line = format!("{inner}shell = pkgs.{};", p.shell);
    let swap = rng.chance(10);
    if swap {
        writeln!(out, "{shell_line}").unwrap();
    }
    list(out, &inner, "extraGroups", "", &groups);
    if !swap {
        writeln!(out, "{shell_line}").unwrap();
    }

    if rng.chance(3) {
        writeln!(
            out,
            "{inner}# Temporary password while the key is being re-issued."
        )
        .unwrap();
        writeln!(out, "{inner}hashedPassword = \"{}\";", sha512_crypt(rng)).unwrap();
    } else if let Some(h) = &p.hashed_password {
        writeln!(out, "{inner}hashedPassword = \"{h}\";").unwrap();
    }

    let mut keys: Vec<Item> = p.keys.iter().map(|k| quoted(k)).collect();
    if rng.chance(5) {
        let mut k = quoted(&ed25519_key(rng, &format!("{}@{}", p.name, host.name)));
        k.comment = "local key, see ticket OPS-1".to_string() + &rng.below(900).to_string();
        keys.push(k);
    }
    list(out, &inner, "openssh.authorizedKeys.keys", "", &keys);

    if !p.packages.is_empty() && rng.chance(60) {
        let pkgs: Vec<Item> = p.packages.iter().map(|s| item(*s)).collect();
        list(out, &inner, "packages", "with pkgs; ", &pkgs);
    }
    writeln!(out, "{pad}}};").unwrap();
}

fn host_default_nix(host: &Host, roles: &[Role], users: Option<&str>, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(4096);
    let role_names: Vec<&str> = host.roles.iter().map(|&r| roles[r].name.as_str()).collect();
    writeln!(
        out,
        "# {}: {} (rack {}, slot {})",
        host.name,
        role_names.join(" + "),
        host.index / 40 + 1,
        host.index % 40 + 1
    )
    .unwrap();
    module_args(&mut out, &["config", "pkgs", "lib", "..."]);
    out.push_str("{\n");

    let mut imports = vec![
        item("./hardware-configuration.nix"),
        item("./networking.nix"),
    ];
    for &r in &host.roles {
        imports.push(item(format!("../../roles/{}.nix", roles[r].name)));
    }
    if users.is_none() {
        imports.push(item("./users.nix"));
    }
    list(&mut out, "  ", "imports", "", &imports);
    out.push('\n');

    writeln!(out, "  networking.hostName = \"{}\";", host.name).unwrap();
    out.push_str("  networking.domain = \"fleet.example.internal\";\n\n");

    if host.efi {
        out.push_str("  boot.loader.systemd-boot.enable = true;\n");
        out.push_str("  boot.loader.efi.canTouchEfiVariables = true;\n");
    } else {
        out.push_str(
            "  boot.loader.grub = {\n    enable = true;\n    device = \"/dev/sda\";\n  };\n",
        );
    }
    if rng.chance(20) {
        out.push_str("  boot.kernelPackages = pkgs.linuxPackages_latest;\n");
    }
    out.push('\n');
    writeln!(
        out,
        "  time.timeZone = \"{}\";",
        rng.pick(&[
            "Europe/Berlin",
            "Europe/Amsterdam",
            "UTC",
            "America/New_York"
        ])
    )
    .unwrap();
    out.push('\n');

    out.push_str("  services.openssh = {\n    enable = true;\n    settings = {\n");
    out.push_str("      PasswordAuthentication = false;\n      PermitRootLogin = \"no\";\n");
    out.push_str("    };\n  };\n");
    out.push_str("  networking.firewall.allowedTCPPorts = config.services.openssh.ports;\n\n");

    if rng.chance(30) {
        out.push_str("  # Keep this one on the stable kernel until the NIC firmware is fixed.\n");
        out.push_str("  services.fwupd.enable = lib.mkForce false;\n\n");
    }

    if let Some(users) = users {
        out.push_str(users);
        out.push('\n');
    }

    let pkgs: Vec<Item> = [
        "tcpdump",
        "iotop",
        "lsof",
        "strace",
        "pciutils",
        "smartmontools",
    ]
    .iter()
    .filter(|_| rng.chance(50))
    .map(|s| item(*s))
    .collect();
    if !pkgs.is_empty() {
        list(
            &mut out,
            "  ",
            "environment.systemPackages",
            "with pkgs; ",
            &pkgs,
        );
        out.push('\n');
    }

    out.push_str("  # This value determines the NixOS release from which the default\n");
    out.push_str("  # settings for stateful data were taken. Do not change it.\n");
    writeln!(
        out,
        "  system.stateVersion = \"{}\";",
        rng.pick(&["22.11", "23.05", "23.11", "24.05"])
    )
    .unwrap();
    out.push_str("}\n");
    out
}

fn users_nix(host: &Host, users: &str) -> String {
    let mut out = String::new();
    writeln!(out, "# People with a login on {}.", host.name).unwrap();
    module_args(&mut out, &["pkgs", "..."]);
    out.push_str("{\n");
    out.push_str(users);
    out.push_str("}\n");
    out
}

fn hardware_nix(host: &Host, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(1536);
    out.push_str(
        "# Do not modify this file!  It was generated by ‘nixos-generate-config’\n\
         # and may be overwritten by future invocations.  Please make changes\n\
         # to /etc/nixos/configuration.nix instead.\n",
    );
    module_args(&mut out, &["config", "lib", "pkgs", "modulesPath", "..."]);
    out.push_str("{\n");
    list(
        &mut out,
        "  ",
        "imports",
        "",
        &[item("(modulesPath + \"/installer/scan/not-detected.nix\")")],
    );
    out.push('\n');
    let mods: &[&str] = if host.system == "aarch64-linux" {
        &["xhci_pci", "usbhid", "usb_storage"]
    } else if rng.chance(50) {
        &["xhci_pci", "ahci", "nvme", "usbhid", "sd_mod"]
    } else {
        &[
            "ehci_pci",
            "ahci",
            "megaraid_sas",
            "usbhid",
            "sd_mod",
            "sr_mod",
        ]
    };
    let mods: Vec<Item> = mods.iter().map(|m| quoted(m)).collect();
    list(
        &mut out,
        "  ",
        "boot.initrd.availableKernelModules",
        "",
        &mods,
    );
    out.push_str("  boot.initrd.kernelModules = [ ];\n");
    let kvm = if host.intel { "kvm-intel" } else { "kvm-amd" };
    list(&mut out, "  ", "boot.kernelModules", "", &[quoted(kvm)]);
    out.push_str("  boot.extraModulePackages = [ ];\n\n");

    writeln!(
        out,
        "  fileSystems.\"/\" = {{\n    device = \"/dev/disk/by-uuid/{}\";\n    fsType = \"ext4\";\n  }};\n",
        uuid(rng)
    )
    .unwrap();
    if host.efi {
        writeln!(
            out,
            "  fileSystems.\"/boot\" = {{\n    device = \"/dev/disk/by-uuid/{}-{}\";\n    fsType = \"vfat\";",
            rng.string(b"0123456789ABCDEF", 4),
            rng.string(b"0123456789ABCDEF", 4)
        )
        .unwrap();
        list(
            &mut out,
            "    ",
            "options",
            "",
            &[quoted("fmask=0077"), quoted("dmask=0077")],
        );
        out.push_str("  };\n\n");
    }
    if rng.chance(40) {
        writeln!(
            out,
            "  swapDevices = [ {{ device = \"/dev/disk/by-uuid/{}\"; }} ];\n",
            uuid(rng)
        )
        .unwrap();
    } else {
        out.push_str("  swapDevices = [ ];\n\n");
    }
    out.push_str(
        "  # Enables DHCP on each ethernet and wireless interface. In case of scripted networking\n\
         \x20 # (the default) this is the recommended approach. When using systemd-networkd it's\n\
         \x20 # still possible to use this option, but it's recommended to use it in conjunction\n\
         \x20 # with explicit per-interface declarations with `networking.interfaces.<interface>.useDHCP`.\n\
         \x20 networking.useDHCP = lib.mkDefault true;\n\n",
    );
    writeln!(
        out,
        "  nixpkgs.hostPlatform = lib.mkDefault \"{}\";",
        host.system
    )
    .unwrap();
    if host.system == "x86_64-linux" {
        let vendor = if host.intel { "intel" } else { "amd" };
        writeln!(
            out,
            "  hardware.cpu.{vendor}.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;"
        )
        .unwrap();
    }
    out.push_str("}\n");
    out
}

fn networking_nix(host: &Host) -> String {
    let subnet = host.index / 200;
    let octet = host.index % 200 + 10;
    let mut out = String::new();
    writeln!(
        out,
        "# Static addressing for {} (exported from IPAM, edit there first).",
        host.name
    )
    .unwrap();
    module_args(&mut out, &["lib", "..."]);
    out.push_str("{\n");
    out.push_str("  networking.useDHCP = false;\n");
    writeln!(
        out,
        "  networking.interfaces.eno1.ipv4.addresses = [\n    {{\n      address = \"10.0.{subnet}.{octet}\";\n      prefixLength = 24;\n    }}\n  ];"
    )
    .unwrap();
    writeln!(out, "  networking.defaultGateway = \"10.0.{subnet}.1\";").unwrap();
    list(
        &mut out,
        "  ",
        "networking.nameservers",
        "",
        &[quoted("10.0.0.53"), quoted("10.0.1.53")],
    );
    out.push_str("  networking.search = lib.mkDefault [ \"fleet.example.internal\" ];\n");
    out.push_str("}\n");
    out
}
