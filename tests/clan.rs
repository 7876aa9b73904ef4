//! `clan-migrate plan/apply --to clan`: a plain NixOS flake becomes a Clan
//! flake (one commit), and `--to service` on a plain flake converts it
//! first.
//!
//! Covered: snapshots of the plan (`clan-<case>`), each fixture's README
//! facts, `--check` pending then done, the commit and its body, `verify`
//! after the conversion, every written file parsed by `nix-instantiate`,
//! the stand-in evaluation (`tests/oracle/flake-machines.nix`: what builds
//! each machine, before and after, compared machine by machine), other
//! outputs and comments byte for byte, refusals by name with nothing
//! written, an already-Clan flake left alone, and `--to service` (all
//! users, and `--user` one at a time) on a plain flake.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::{
    Run, Sandbox, diff_part, entry_modules, fixture, nix_files, nix_parse_failures, oracle,
    require_tool, tree_fingerprint,
};

const BRANCH: &str = "clan-migrate/users";
const CONVERTED: [&str; 4] = [
    "convert-literal",
    "convert-helper",
    "convert-other-outputs",
    "convert-flake-parts",
];

/// `clan-migrate plan <fixture> --to clan --color never <extra>` (plan writes nothing).
fn plan_fixture(case: &str, extra: &[&str]) -> Run {
    let sb = Sandbox::empty();
    let dir = fixture(case);
    let mut args = vec![
        "plan",
        dir.to_str().unwrap(),
        "--to",
        "clan",
        "--color",
        "never",
    ];
    args.extend_from_slice(extra);
    sb.run(&args)
}

/// What builds each machine of the flake in `dir`, by the stand-in inputs.
fn machines_report(dir: &Path) -> Value {
    let nix = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/flake-machines.nix");
    let expr = format!(
        "import {} {{ flakeDir = {}; }}",
        nix.display(),
        dir.canonicalize().unwrap().display()
    );
    let out = Command::new("nix-instantiate")
        .args([
            "--store", "dummy://", "--eval", "--strict", "--json", "--expr",
        ])
        .arg(&expr)
        .output()
        .expect("run nix-instantiate");
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn plan_snapshots() {
    for case in CONVERTED {
        let run = plan_fixture(case, &[]);
        run.expect_code(0);
        insta::assert_snapshot!(format!("clan-{case}"), run.stdout);
    }
}

#[test]
fn readme_facts() {
    // convert-literal: three literal hosts, comments travel with them.
    let out = plan_fixture("convert-literal", &[]).stdout;
    for fact in [
        "clan.nix names the clan \"convert-literal\"",
        "machine kitchen: system \"x86_64-linux\"; modules ./hosts/kitchen/configuration.nix, home-manager.nixosModules.home-manager, { users.users.lena.extraGroups = [ \"audio\" ]; }; specialArgs",
        "machine attic: system \"aarch64-linux\"",
        "+        # The media PC next to the fridge.\n+        machines.kitchen = {",
        "+          nixpkgs.hostPlatform = \"aarch64-linux\";",
        "+        specialArgs = { inherit inputs; };",
        "+    clan-core.inputs.nixpkgs.follows = \"nixpkgs\";",
        "+    inherit (clan.config) nixosConfigurations nixosModules clanInternals;",
        "flake.lock: run `nix flake lock`",
    ] {
        assert!(
            out.contains(fact),
            "convert-literal: missing {fact:?} in\n{out}"
        );
    }
    // convert-helper: the helper stays, returning the machine module.
    let out = plan_fixture("convert-helper", &[]).stdout;
    for fact in [
        "machine reception (mkHost \"reception\"): system \"x86_64-linux\"; modules common (a shared list), ./hosts/${name}.nix; specialArgs",
        "+      mkHost = name: {\n+        nixpkgs.hostPlatform = \"x86_64-linux\";\n+        imports = common ++ [ ./hosts/${name}.nix ];",
        "+        machines = {\n+          reception = mkHost \"reception\";",
        "+  outputs = { self, nixpkgs, home-manager, clan-core }:",
        "+  inputs.clan-core.url = \"https://git.clan.lol/clan/clan-core/archive/main.tar.gz\";",
    ] {
        assert!(
            out.contains(fact),
            "convert-helper: missing {fact:?} in\n{out}"
        );
    }
    // convert-other-outputs: genAttrs over a literal list.
    let out = plan_fixture("convert-other-outputs", &[]).stdout;
    for fact in [
        "machine build1 (genAttrs [ \"build1\" \"build2\" ]): system (inherited); modules shared (a shared list), ./builders/${name}.nix",
        "+        machines = nixpkgs.lib.genAttrs [ \"build1\" \"build2\" ] (name:",
        "+            nixpkgs.hostPlatform = system;",
    ] {
        assert!(
            out.contains(fact),
            "convert-other-outputs: missing {fact:?} in\n{out}"
        );
    }
}

#[test]
fn apply_makes_one_commit_and_check_goes_from_pending_to_done() {
    for case in CONVERTED {
        let sb = Sandbox::committed(case);
        sb.run(&["plan", ".", "--to", "clan", "--check"])
            .expect_code(2);
        let run = sb.run(&["apply", ".", "--to", "clan"]);
        run.expect_code(0);
        assert!(
            run.stdout.contains("(1 commit on top of main)"),
            "{case}: {}",
            run.stdout
        );
        assert_eq!(sb.head_branch(), BRANCH);
        assert_eq!(
            sb.status(),
            "",
            "{case}: the work tree is what was committed"
        );
        let log = sb.git(&["log", "--format=%B", "main..HEAD"]);
        assert!(
            log.starts_with("clan: build the machines with clan-core\n"),
            "{case}: {log}"
        );
        let report = machines_of(case);
        for m in &report {
            assert!(
                log.contains(&format!("- {m}")),
                "{case}: {m} not in the body:\n{log}"
            );
        }
        assert!(log.contains("nix flake lock"), "{case}: {log}");
        let changed = sb.git(&["diff", "--name-only", "main..HEAD"]);
        assert_eq!(changed, "clan.nix\nflake.nix", "{case}");
        // Converted: nothing left to do, and every host's users are as they were.
        let again = sb.run(&["plan", ".", "--to", "clan", "--check"]);
        again.expect_code(0);
        assert!(
            again.stdout.contains("nothing to convert"),
            "{case}: {}",
            again.stdout
        );
        let verify = sb.run(&["verify", "."]);
        verify.expect_code(0);
        assert!(
            verify
                .stdout
                .contains("Every host's effective users are unchanged."),
            "{case}: {}",
            verify.stdout
        );
        // The scan sees the same hosts, now found in the clan call.
        let scan = sb.run(&["scan", ".", "--json"]);
        scan.expect_code(0);
        let json: Value = serde_json::from_str(&scan.stdout).unwrap();
        let hosts: Vec<&str> = json["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        let mut expected = report.clone();
        expected.sort();
        assert_eq!(hosts, expected, "{case}");
    }
}

/// The machines each converted fixture's flake builds (its README).
fn machines_of(case: &str) -> Vec<String> {
    let names: &[&str] = match case {
        "convert-literal" => &["kitchen", "study", "attic"],
        "convert-helper" => &["reception", "accounting", "office"],
        "convert-other-outputs" => &["build1", "build2"],
        "convert-flake-parts" => &["pi", "nuc"],
        other => panic!("no machines listed for {other}"),
    };
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_written_file_parses_and_each_machine_is_built_from_what_built_it() {
    if !require_tool("nix-instantiate") {
        return;
    }
    for case in CONVERTED {
        let sb = Sandbox::committed(case);
        let before = machines_report(&sb.repo);
        sb.run(&["apply", ".", "--to", "clan", "--no-commit"])
            .expect_code(0);
        let failures = nix_parse_failures(&nix_files(&sb.repo));
        assert!(failures.is_empty(), "{case}: {failures:#?}");
        let after = machines_report(&sb.repo);
        let (b, a) = (&before["machines"], &after["machines"]);
        assert_eq!(
            b.as_object().unwrap().keys().collect::<Vec<_>>(),
            a.as_object().unwrap().keys().collect::<Vec<_>>(),
            "{case}: the machines"
        );
        for (name, was) in b.as_object().unwrap() {
            assert_eq!(
                &a[name], was,
                "{case}: machine {name} is built from something else"
            );
        }
        // Every machine now comes from the clan call, which reads clan.nix.
        for n in after["clanNames"].as_array().unwrap() {
            // The sandbox's directory is `repo`.
            assert_eq!(n.as_str(), Some("repo"), "{case}: meta.name");
        }
        assert!(
            before["clanNames"]
                .as_array()
                .unwrap()
                .iter()
                .all(Value::is_null)
        );
    }
}

#[test]
fn other_outputs_and_comments_stay_byte_for_byte() {
    let before =
        std::fs::read_to_string(fixture("convert-other-outputs").join("flake.nix")).unwrap();
    let sb = Sandbox::committed("convert-other-outputs");
    sb.run(&["apply", ".", "--to", "clan", "--no-commit"])
        .expect_code(0);
    let after = sb.read("flake.nix");
    let pieces = [
        "      # A tool the builders run; `nix build .#queue-runner`.\n      packages.${system}.queue-runner = pkgs.writeShellScriptBin \"queue-runner\" ''\n        exec ${pkgs.nix}/bin/nix build \"$@\"\n      '';\n",
        "      devShells.${system}.default = pkgs.mkShell {\n        packages = [ pkgs.nixfmt-rfc-style ];\n      };\n",
        "      formatter.${system} = pkgs.nixfmt-rfc-style;\n",
        "      /* The laptop is not NixOS: only its home. */\n      homeConfigurations.\"carla@laptop\" = home-manager.lib.homeManagerConfiguration {\n        inherit pkgs;\n        modules = [ ./home/carla.nix ];\n      };\n",
        "      darwinConfigurations.studio = darwin.lib.darwinSystem {\n        system = \"aarch64-darwin\";\n        modules = [ { users.users.carla.home = \"/Users/carla\"; } ];\n      };\n",
        "  description = \"Build farm, a laptop's home and a mac, in one flake\";\n",
        "      system = \"x86_64-linux\";\n      pkgs = nixpkgs.legacyPackages.${system};\n      # Shared by every builder.\n      shared = [ ./modules/builder.nix ];\n",
    ];
    for p in pieces {
        assert!(before.contains(p), "the fixture changed: {p:?}");
        assert!(after.contains(p), "not kept byte for byte: {p:?}\n{after}");
    }
    // Lines the conversion does not need to touch are all still there, in order.
    let removed: Vec<&str> = similar::TextDiff::from_lines(before.as_str(), after.as_str())
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .map(|c| c.value())
        .collect();
    for line in &removed {
        let l = line.trim();
        assert!(
            l.starts_with("nixosConfigurations")
                || l.starts_with("outputs =")
                || l.starts_with("nixpkgs.lib.nixosSystem")
                || l.starts_with("inherit system;")
                || l.starts_with("modules = shared")
                || l == "});",
            "removed a line it had no reason to: {line:?}"
        );
    }
}

#[test]
fn an_already_clan_flake_is_left_alone() {
    for case in ["clan-flake", "service", "service-flake-parts"] {
        for extra in [&[][..], &["--check"][..]] {
            let run = plan_fixture(case, extra);
            run.expect_code(0);
            assert!(
                run.stdout.contains("nothing to convert"),
                "{case}: {}",
                run.stdout
            );
            assert!(
                run.stdout
                    .starts_with("Nothing to do: the flake is a Clan flake already.\n"),
                "{case}: {}",
                run.stdout
            );
            assert!(diff_part(&run.stdout).is_empty(), "{case}: {}", run.stdout);
        }
    }
    let sb = Sandbox::committed("clan-flake");
    let files = tree_fingerprint(&sb.repo);
    sb.run(&["apply", ".", "--to", "clan"]).expect_code(0);
    assert_eq!(tree_fingerprint(&sb.repo), files);
    assert_eq!(sb.branches(), ["main"]);
}

#[test]
fn refusals_name_the_construct_and_write_nothing() {
    let broken = Sandbox::committed("convert-literal");
    broken.write(
        "flake.nix",
        &broken.read("flake.nix").replace(
            "modules = [ ./hosts/study/configuration.nix ];",
            "modules = [ ./hosts/study/configuration.nix ;",
        ),
    );
    broken.git(&["commit", "-qam", "typo"]);
    let cases: Vec<(Sandbox, Vec<&str>, Vec<&str>)> = vec![
        (
            Sandbox::committed("colmena"),
            vec![],
            vec!["flake.nix:38:27: cannot convert a colmena hive"],
        ),
        (
            Sandbox::committed("dir-conventions"),
            vec![],
            vec!["there is no flake.nix"],
        ),
        (broken, vec![], vec!["flake.nix:", "does not parse"]),
        (
            Sandbox::committed("convert-second-nixpkgs"),
            vec![],
            vec![
                "flake.nix:",
                "host `legacy` is built from `nixpkgs-old`",
                "never moves a host to another nixpkgs",
            ],
        ),
        (
            Sandbox::committed("convert-literal"),
            vec!["--clan-name", "my clan"],
            vec!["`my clan` is not a valid clan name"],
        ),
    ];
    for (sb, extra, facts) in cases {
        let files = tree_fingerprint(&sb.repo);
        for cmd in ["plan", "apply"] {
            let mut args = vec![cmd, ".", "--to", "clan"];
            args.extend(&extra);
            let run = sb.run(&args);
            run.expect_code(1);
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
            for f in &facts {
                assert!(
                    run.stderr.contains(f),
                    "{args:?}: {f:?} not in {}",
                    run.stderr
                );
            }
            assert!(run.stderr.contains("help:"), "{args:?}: {}", run.stderr);
        }
        assert_eq!(tree_fingerprint(&sb.repo), files, "a refused run wrote");
        assert_eq!(sb.branches(), ["main"]);
    }
}

#[test]
fn clan_name_is_taken_from_the_flag() {
    let sb = Sandbox::committed("convert-literal");
    sb.run(&[
        "apply",
        ".",
        "--to",
        "clan",
        "--clan-name",
        "mueller_home-1",
    ])
    .expect_code(0);
    assert!(
        sb.read("clan.nix")
            .contains("meta.name = \"mueller_home-1\";")
    );
}

#[test]
fn service_on_a_plain_flake_converts_first_then_one_commit_per_user() {
    let sb = Sandbox::committed("convert-literal");
    sb.run(&["plan", ".", "--to", "service", "--check"])
        .expect_code(2);
    let run = sb.run(&["apply", ".", "--to", "service"]);
    run.expect_code(0);
    let subjects = sb.git(&["log", "--reverse", "--format=%s", "main..HEAD"]);
    assert_eq!(
        subjects,
        "clan: build the machines with clan-core\nusers: share jonas across attic, kitchen, study\nusers: share lena across attic, kitchen, study"
    );
    // The instances went into the new clan.nix.
    let clan = sb.read("clan.nix");
    assert!(clan.contains("meta.name = \"repo\";"), "{clan}");
    assert!(
        clan.contains("jonas-user = {") && clan.contains("lena-user = {"),
        "{clan}"
    );
    sb.run(&["verify", "."]).expect_code(0);
    let again = sb.run(&["plan", ".", "--to", "service", "--check"]);
    again.expect_code(0);
    assert!(diff_part(&again.stdout).is_empty(), "{}", again.stdout);
    // Real Nix: every host's users as they were, jonas and lena now from
    // the users service of the new clan.nix.
    if oracle::nix_available() {
        let hosts = entry_modules(&sb.repo);
        sb.git(&["checkout", "-q", "main"]);
        assert_eq!(entry_modules(&sb.repo), hosts, "the hosts' entry modules");
        let before = oracle_users(&sb.repo, &hosts);
        sb.git(&["checkout", "-q", BRANCH]);
        let after = oracle_users(&sb.repo, &hosts);
        for (((host, _), b), a) in hosts.iter().zip(&before).zip(&after) {
            assert_eq!(
                a["clanServiceUsers"],
                serde_json::json!(["jonas", "lena"]),
                "{host}"
            );
            if let Some(diff) = oracle::users_diff_with_service(b, a) {
                panic!("host {host}: users changed:\n{diff}");
            }
        }
    }
    if require_tool("nix-instantiate") {
        let failures = nix_parse_failures(&nix_files(&sb.repo));
        assert!(failures.is_empty(), "{failures:#?}");
    }
}

#[test]
fn service_user_by_user_ends_where_one_run_ends() {
    let all = Sandbox::committed("convert-literal");
    all.run(&["apply", ".", "--to", "service"]).expect_code(0);

    let one = Sandbox::committed("convert-literal");
    one.run(&[
        "apply",
        ".",
        "--to",
        "service",
        "--user",
        "jonas",
        "--branch",
        "step/jonas",
    ])
    .expect_code(0);
    let first = one.git(&["log", "--reverse", "--format=%s", "main..HEAD"]);
    assert_eq!(
        first,
        "clan: build the machines with clan-core\nusers: share jonas across attic, kitchen, study"
    );
    one.run(&[
        "apply",
        ".",
        "--to",
        "service",
        "--user",
        "lena",
        "--branch",
        "step/lena",
    ])
    .expect_code(0);
    let second = one.git(&["log", "--reverse", "--format=%s", "step/jonas..HEAD"]);
    assert_eq!(second, "users: share lena across attic, kitchen, study");
    assert_eq!(one.files(), all.files());
}

/// A scratch flake with hosts `alpha` and `beta` (`hosts/<h>.nix`, each
/// with the same user) whose flake.nix is `flake`; committed.
fn two_host_flake(flake: &str) -> Sandbox {
    let sb = Sandbox::empty();
    sb.write("flake.nix", flake);
    for h in ["alpha", "beta"] {
        sb.write(
            &format!("hosts/{h}.nix"),
            &format!("{{ ... }}:\n\n{{\n  networking.hostName = \"{h}\";\n  users.users.ada.isNormalUser = true;\n}}\n"),
        );
    }
    sb.git(&["init", "-q", "-b", "main"]);
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-q", "-m", "NixOS configuration"]);
    sb
}

#[test]
fn sops_nix_and_disko_imported_again_are_named_with_follows_advice() {
    let sb = two_host_flake(
        "{\n  inputs.nixpkgs.url = \"github:NixOS/nixpkgs/nixos-24.11\";\n  inputs.sops-nix.url = \"github:Mic92/sops-nix\";\n  inputs.disko.url = \"github:nix-community/disko\";\n\n  outputs = { self, nixpkgs, sops-nix, disko }: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem {\n      system = \"x86_64-linux\";\n      modules = [ ./hosts/alpha.nix sops-nix.nixosModules.sops disko.nixosModules.disko ];\n    };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem {\n      system = \"x86_64-linux\";\n      modules = [ ./hosts/beta.nix sops-nix.nixosModules.sops ];\n    };\n  };\n}\n",
    );
    let run = sb.run(&["plan", ".", "--to", "clan"]);
    run.expect_code(0);
    for fact in [
        "clanCore imports sops-nix's NixOS module itself; `sops-nix.nixosModules.sops` imports it again, from your `sops-nix` input: add `clan-core.inputs.sops-nix.follows = \"sops-nix\";`",
        "clanCore imports disko's NixOS module itself; `disko.nixosModules.disko` imports it again, from your `disko` input: add `clan-core.inputs.disko.follows = \"disko\";`",
    ] {
        assert!(run.stdout.contains(fact), "{fact:?} not in\n{}", run.stdout);
    }
    // The modules stay: the machine is built from what built it.
    assert!(run.stdout.contains("+          imports = [ ./hosts/alpha.nix sops-nix.nixosModules.sops disko.nixosModules.disko ];"), "{}", run.stdout);
    if require_tool("nix-instantiate") {
        let before = machines_report(&sb.repo);
        sb.run(&["apply", ".", "--to", "clan", "--no-commit"])
            .expect_code(0);
        assert_eq!(machines_report(&sb.repo)["machines"], before["machines"]);
    }
}

#[test]
fn specialargs_on_some_hosts_reach_all_with_a_warning_and_differing_ones_are_refused() {
    let some = two_host_flake(
        "{\n  outputs = { self, nixpkgs, ... }@inputs: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem {\n      specialArgs = { inherit inputs; };\n      modules = [ ./hosts/alpha.nix ];\n    };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem { modules = [ ./hosts/beta.nix ]; };\n  };\n}\n",
    );
    let run = some.run(&["plan", ".", "--to", "clan"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("specialArgs now reach every machine (Clan's are one set for all), also beta, which had none"),
        "{}",
        run.stdout
    );
    // No inputs block at all: the clan-core input is written before the outputs.
    assert!(
        run.stdout.contains("+  inputs.clan-core.url = "),
        "{}",
        run.stdout
    );

    let differing = two_host_flake(
        "{\n  outputs = { self, nixpkgs, ... }@inputs: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem {\n      specialArgs = { inherit inputs; role = \"desk\"; };\n      modules = [ ./hosts/alpha.nix ];\n    };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem {\n      specialArgs = { inherit inputs; role = \"server\"; };\n      modules = [ ./hosts/beta.nix ];\n    };\n  };\n}\n",
    );
    let files = tree_fingerprint(&differing.repo);
    let run = differing.run(&["apply", ".", "--to", "clan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("flake.nix:8:7: these specialArgs differ from those at flake.nix:4:7; Clan's specialArgs are one set for every machine"),
        "{}",
        run.stderr
    );
    assert_eq!(tree_fingerprint(&differing.repo), files);

    // A nixosSystem argument Clan has no place for is named.
    let pkgs = two_host_flake(
        "{\n  outputs = { self, nixpkgs, ... }: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem {\n      pkgs = import nixpkgs { system = \"x86_64-linux\"; };\n      modules = [ ./hosts/alpha.nix ];\n    };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem { modules = [ ./hosts/beta.nix ]; };\n  };\n}\n",
    );
    let run = pkgs.run(&["plan", ".", "--to", "clan"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("flake.nix:4:7: cannot convert nixosSystem argument `pkgs`"),
        "{}",
        run.stderr
    );
}

#[test]
fn service_on_a_plain_flake_parts_flake() {
    let sb = Sandbox::committed("convert-flake-parts");
    sb.run(&["apply", ".", "--to", "service"]).expect_code(0);
    let subjects = sb.git(&["log", "--reverse", "--format=%s", "main..HEAD"]);
    assert_eq!(
        subjects,
        "clan: build the machines with clan-core\nusers: share sam across nuc, pi"
    );
    assert!(sb.read("clan.nix").contains("sam-user = {"));
    sb.run(&["verify", "."]).expect_code(0);
    sb.run(&["plan", ".", "--to", "service", "--check"])
        .expect_code(0);
}

#[test]
fn a_helper_that_builds_more_than_the_machines_is_refused() {
    let sb = two_host_flake(
        "{\n  outputs = { self, nixpkgs, ... }:\n    let\n      mkHost = name: nixpkgs.lib.nixosSystem { modules = [ ./hosts/${name}.nix ]; };\n    in\n    {\n      nixosConfigurations.alpha = mkHost \"alpha\";\n      nixosConfigurations.beta = mkHost \"beta\";\n      packages.x86_64-linux.vm = (mkHost \"alpha\").config.system.build.vm;\n    };\n}\n",
    );
    let files = tree_fingerprint(&sb.repo);
    let run = sb.run(&["apply", ".", "--to", "clan"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("flake.nix:9:35: cannot convert helper `mkHost`, which is used here too"),
        "{}",
        run.stderr
    );
    assert_eq!(tree_fingerprint(&sb.repo), files);
}

#[test]
fn move_hosts_moves_each_host_directory_to_machines_with_its_history() {
    let sb = Sandbox::committed("convert-literal");
    let before = require_tool("nix-instantiate").then(|| machines_report(&sb.repo));
    let run = sb.run(&["apply", ".", "--to", "clan", "--move-hosts"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("kitchen: hosts/kitchen/ moves to machines/kitchen/ (git mv; Clan imports machines/kitchen/configuration.nix itself)"),
        "{}",
        run.stdout
    );
    assert!(!sb.repo.join("hosts").exists());
    for h in ["kitchen", "study", "attic"] {
        for f in ["configuration.nix", "hardware-configuration.nix"] {
            let moved = fixture("convert-literal").join("hosts").join(h).join(f);
            assert_eq!(
                sb.read(&format!("machines/{h}/{f}")),
                std::fs::read_to_string(moved).unwrap(),
                "{h}/{f} moves unchanged"
            );
        }
        // git follows the move: the file's history goes back to the start.
        let history = sb.git(&[
            "log",
            "--follow",
            "--format=%s",
            "--",
            &format!("machines/{h}/configuration.nix"),
        ]);
        assert_eq!(
            history, "clan: build the machines with clan-core\nNixOS configuration",
            "{h}"
        );
    }
    let flake = sb.read("flake.nix");
    assert!(!flake.contains("./hosts/"), "{flake}");
    assert!(flake.contains("          imports = [\n            home-manager.nixosModules.home-manager\n            # the kids may play music here\n"), "{flake}");
    let body = sb.git(&["log", "-1", "--format=%B"]);
    assert!(
        body.contains(
            "Moved hosts/study/ to machines/study/ (Clan imports its configuration.nix itself)."
        ),
        "{body}"
    );
    sb.run(&["verify", "."]).expect_code(0);
    sb.run(&["plan", ".", "--to", "clan", "--check"])
        .expect_code(0);
    // What builds each machine: the same files, Clan importing the moved one.
    if let Some(before) = before {
        let after = machines_report(&sb.repo);
        for (name, was) in before["machines"].as_object().unwrap() {
            let now = &after["machines"][name];
            let mut modules: Vec<String> = now["modules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .filter(|m| *m != format!("auto:machines/{name}/hardware-configuration.nix"))
                .map(|m| {
                    m.replace(
                        &format!("auto:machines/{name}/"),
                        &format!("path:hosts/{name}/"),
                    )
                })
                .collect();
            let mut had: Vec<String> = was["modules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            modules.sort();
            had.sort();
            assert_eq!(modules, had, "{name}");
            for k in ["system", "specialArgs", "nixpkgs"] {
                assert_eq!(now[k], was[k], "{name}: {k}");
            }
        }
    }
}

#[test]
fn move_hosts_leaves_what_it_cannot_move_safely_and_says_why() {
    let run = plan_fixture("convert-helper", &["--move-hosts"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "reception stays where it is: it is built by a helper shared with other machines"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("+++ b/machines/"), "{}", run.stdout);
    // A host file reaching a sibling directory would break if moved.
    let sb = two_host_flake(
        "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem { modules = [ ./hosts/alpha ]; };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem { modules = [ ./hosts/beta ]; };\n  };\n}\n",
    );
    for h in ["alpha", "beta"] {
        sb.write(
            &format!("hosts/{h}/default.nix"),
            &format!("{{ ... }}:\n{{\n  imports = [ ../shared.nix ];\n  networking.hostName = \"{h}\";\n  users.users.ada.isNormalUser = true;\n}}\n"),
        );
    }
    sb.write(
        "hosts/shared.nix",
        "{ ... }: { time.timeZone = \"UTC\"; }\n",
    );
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-qm", "directories"]);
    let run = sb.run(&["plan", ".", "--to", "clan", "--move-hosts"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("alpha stays where it is: hosts/alpha/default.nix reaches a directory next to hosts/alpha"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_machines_file_clan_would_import_by_itself_is_refused() {
    let sb = two_host_flake(
        "{\n  outputs = { self, nixpkgs }: {\n    nixosConfigurations.alpha = nixpkgs.lib.nixosSystem { modules = [ ./hosts/alpha.nix ]; };\n    nixosConfigurations.beta = nixpkgs.lib.nixosSystem { modules = [ ./hosts/beta.nix ./machines/beta/configuration.nix ]; };\n  };\n}\n",
    );
    // beta imports its machines/ file already: nothing changes for it.
    sb.write(
        "machines/beta/configuration.nix",
        "{ ... }: { services.openssh.enable = true; }\n",
    );
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-qm", "beta's machine file"]);
    sb.run(&["plan", ".", "--to", "clan"]).expect_code(0);
    // An old file nothing imports would join alpha.
    sb.write(
        "machines/alpha/configuration.nix",
        "{ ... }: { services.openssh.enable = false; }\n",
    );
    sb.git(&["add", "-A"]);
    sb.git(&["commit", "-qm", "a stray file"]);
    let files = tree_fingerprint(&sb.repo);
    let run = sb.run(&["apply", ".", "--to", "clan"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("Clan imports machines/alpha/configuration.nix into machine `alpha` by itself, and the flake does not import it today"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("help: import that file from alpha's modules"),
        "{}",
        run.stderr
    );
    assert_eq!(tree_fingerprint(&sb.repo), files);
}

/// Every host's effective users by the Nix oracle, with the users
/// instances of `clan.nix` when there is one.
fn oracle_users(repo: &Path, hosts: &[(String, Vec<std::path::PathBuf>)]) -> Vec<Value> {
    let clan_file = Path::new("clan.nix");
    let clan_file = repo.join(clan_file).is_file().then_some(clan_file);
    hosts
        .iter()
        .map(|(host, modules)| {
            let opts = oracle::EvalOptions {
                host: Some(host),
                clan_file,
                ..Default::default()
            };
            oracle::effective_users_with(repo, modules, &opts)
                .unwrap_or_else(|e| panic!("host {host}: {e}"))
        })
        .collect()
}

#[test]
fn map_attrs_over_a_literal_set_converts_too() {
    let sb = two_host_flake(
        "{\n  outputs = { self, nixpkgs }:\n    let\n      hosts = {\n        alpha = { system = \"x86_64-linux\"; };\n        beta = { system = \"aarch64-linux\"; };\n      };\n    in\n    {\n      nixosConfigurations = nixpkgs.lib.mapAttrs (name: cfg: nixpkgs.lib.nixosSystem {\n        system = cfg.system;\n        modules = [ ./hosts/${name}.nix ];\n      }) hosts;\n    };\n}\n",
    );
    let run = sb.run(&["plan", ".", "--to", "clan", "--color", "never"]);
    run.expect_code(0);
    for fact in [
        "machine alpha (mapAttrs): system cfg.system; modules ./hosts/${name}.nix",
        "+        machines = nixpkgs.lib.mapAttrs (name: cfg: {\n+          nixpkgs.hostPlatform = cfg.system;\n+          imports = [ ./hosts/${name}.nix ];\n+        }) hosts;",
    ] {
        assert!(run.stdout.contains(fact), "{fact:?} not in\n{}", run.stdout);
    }
    let before = require_tool("nix-instantiate").then(|| machines_report(&sb.repo));
    sb.run(&["apply", ".", "--to", "clan"]).expect_code(0);
    sb.run(&["verify", "."]).expect_code(0);
    if let Some(before) = before {
        assert_eq!(machines_report(&sb.repo)["machines"], before["machines"]);
    }
}

#[test]
fn plan_json_carries_the_conversion_notices_with_their_codes() {
    let run = plan_fixture("convert-literal", &["--json"]);
    let v: Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    assert_eq!(v["target"], "clan");
    let notices = v["notices"].as_array().expect("notices");
    let codes: Vec<&str> = notices.iter().filter_map(|n| n["code"].as_str()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "clan-machine").count(), 3);
    assert!(codes.contains(&"clan-converted"), "{codes:?}");
    let lock = notices
        .iter()
        .find(|n| n["code"] == "clan-lock")
        .expect("the lock notice");
    assert_eq!(lock["commands"], serde_json::json!(["nix flake lock"]));
    let changed = &v["files"];
    assert!(
        changed.to_string().contains("clan.nix") && changed.to_string().contains("flake.nix"),
        "{changed}"
    );
}

#[test]
fn stat_counts_the_conversion_apart_from_users() {
    let run = plan_fixture("convert-literal", &["--stat"]);
    assert!(
        run.stdout
            .ends_with(" the conversion to Clan, 2 files changed\n"),
        "{}",
        run.stdout
    );
    let sb = Sandbox::empty();
    let dir = fixture("convert-literal");
    let run = sb.run(&["plan", dir.to_str().unwrap(), "--to", "service", "--stat"]);
    assert!(
        run.stdout
            .ends_with(" the conversion to Clan, 2 users, 7 files changed\n"),
        "{}",
        run.stdout
    );
}
