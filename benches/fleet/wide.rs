//! The second shape of synthetic fleet: many people, each on many hosts, in
//! small files.
//!
//! Where the default fleet puts a handful of popular people on each host
//! next to role modules, this one spreads every person over a wide, random
//! set of hosts (by default 200 people, each on 25 to 60 of 1,000 hosts, so
//! about 40 user blocks per person and 8 per host). Each host is two small
//! files, `hosts/<host>/default.nix` (the people inline, or in `users.nix`)
//! and `hardware-configuration.nix`; all import `modules/common.nix`. This is
//! the shape in which per-user-per-host work in the planner shows.

use super::*;

/// Shape of a wide fleet.
#[derive(Debug, Clone)]
pub struct WideSpec {
    pub hosts: usize,
    pub people: usize,
    /// Each person is on a uniformly drawn number of hosts in this range
    /// (clamped to the number of hosts).
    pub min_hosts_per_person: usize,
    pub max_hosts_per_person: usize,
    /// PRNG seed; the same spec always produces byte-identical output.
    pub seed: u64,
}

impl Default for WideSpec {
    fn default() -> Self {
        WideSpec {
            hosts: 1000,
            people: 200,
            min_hosts_per_person: 25,
            max_hosts_per_person: 60,
            seed: 0x5eed_c1a0_2026_0013,
        }
    }
}

/// Write the wide fleet described by `spec` into `dir`.
pub fn generate_wide(spec: &WideSpec, dir: &Path) -> io::Result<FleetSummary> {
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
    let mut hosts: Vec<Host> = (0..spec.hosts)
        .map(|i| wide_host(i, spec, &mut rng))
        .collect();

    // Each person draws their hosts: a partial Fisher-Yates shuffle of the
    // host indices, so the draw is uniform and the hosts distinct.
    let lo = spec.min_hosts_per_person.min(spec.hosts);
    let hi = spec.max_hosts_per_person.clamp(lo, spec.hosts);
    let mut order: Vec<usize> = (0..spec.hosts).collect();
    w.summary.hosts_per_person = vec![0; people.len()];
    for (p, count) in w.summary.hosts_per_person.iter_mut().enumerate() {
        let n = lo + rng.below(hi - lo + 1);
        for k in 0..n {
            let j = k + rng.below(order.len() - k);
            order.swap(k, j);
            hosts[order[k]].people.push(p);
        }
        *count = n;
    }

    w.summary.people = people.iter().map(|p| p.name.clone()).collect();
    w.summary.host_names = hosts.iter().map(|h| h.name.clone()).collect();

    w.write("flake.nix", &flake_nix(&hosts))?;
    w.write("modules/common.nix", &common_nix(&mut rng))?;
    for host in &hosts {
        w.summary.inline_user_blocks += host.people.len();
        let users = users_body(host, &people, &mut rng);
        let (default, users_file) = if host.split_users {
            (wide_default_nix(host, None), Some(users_nix(host, &users)))
        } else {
            (wide_default_nix(host, Some(&users)), None)
        };
        w.write(&format!("hosts/{}/default.nix", host.name), &default)?;
        w.write(
            &format!("hosts/{}/hardware-configuration.nix", host.name),
            &hardware_nix(host, &mut rng),
        )?;
        if let Some(text) = users_file {
            w.write(&format!("hosts/{}/users.nix", host.name), &text)?;
        }
    }
    Ok(w.summary)
}

/// A host without roles; its people are filled in afterwards (sorted, as
/// the people are drawn in order).
fn wide_host(i: usize, spec: &WideSpec, rng: &mut Rng) -> Host {
    let width = spec.hosts.to_string().len().max(4);
    Host {
        name: format!("host{:0width$}", i + 1),
        index: i,
        roles: Vec::new(),
        people: Vec::new(),
        system: if rng.chance(8) {
            "aarch64-linux"
        } else {
            "x86_64-linux"
        },
        workstation: rng.chance(10),
        split_users: rng.chance(5),
        nested_users: rng.chance(5),
        efi: rng.chance(75),
        intel: rng.chance(60),
    }
}

fn wide_default_nix(host: &Host, users: Option<&str>) -> String {
    let mut out = String::with_capacity(512 + users.map_or(0, str::len));
    writeln!(out, "# {} (rack {})", host.name, host.index / 40 + 1).unwrap();
    module_args(&mut out, &["pkgs", "..."]);
    out.push_str("{\n");
    let mut imports = vec![
        item("./hardware-configuration.nix"),
        item("../../modules/common.nix"),
    ];
    if users.is_none() {
        imports.push(item("./users.nix"));
    }
    list(&mut out, "  ", "imports", "", &imports);
    out.push('\n');
    writeln!(out, "  networking.hostName = \"{}\";", host.name).unwrap();
    if host.efi {
        out.push_str("  boot.loader.systemd-boot.enable = true;\n\n");
    } else {
        out.push_str("  boot.loader.grub.device = \"/dev/sda\";\n\n");
    }
    if let Some(users) = users {
        out.push_str(users);
        out.push('\n');
    }
    out.push_str("  system.stateVersion = \"24.05\";\n");
    out.push_str("}\n");
    out
}
