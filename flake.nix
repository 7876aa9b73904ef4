{
  description = "clan-migrate: move a multi-host NixOS configuration's users to Clan";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      cargoToml = lib.importTOML ./Cargo.toml;

      # What cargo needs to build and test the crate: the fixtures are part
      # of the tests, the benches are targets Cargo.toml declares.
      src = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [
          ./Cargo.toml
          ./Cargo.lock
          ./README.md
          ./src
          ./tests
          ./testdata
          ./benches
        ];
      };

      package =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = cargoToml.package.name;
          inherit (cargoToml.package) version;
          inherit src;
          cargoLock.lockFile = ./Cargo.lock;

          # libgit2 is vendored (no openssl, no ssh: the tool only writes
          # to local repositories); zlib comes from nixpkgs.
          nativeBuildInputs = [
            pkgs.pkg-config
            pkgs.installShellFiles
          ];
          buildInputs = [ pkgs.zlib ] ++ lib.optionals pkgs.stdenv.hostPlatform.isDarwin [ pkgs.libiconv ];

          # The tests judge every written file with nix-instantiate and
          # build repositories with git; CI=true makes a missing nix fail
          # them instead of skipping.
          nativeCheckInputs = [
            pkgs.nix
            pkgs.git
          ];
          preCheck = ''
            export HOME=$TMPDIR
            export CI=true
          '';

          postInstall = lib.optionalString (pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform) ''
            installShellCompletion --cmd clan-migrate \
              --bash <($out/bin/clan-migrate completions bash) \
              --zsh <($out/bin/clan-migrate completions zsh) \
              --fish <($out/bin/clan-migrate completions fish)
            $out/bin/clan-migrate man > clan-migrate.1
            for sub in scan plan apply verify completions; do
              $out/bin/clan-migrate man $sub > clan-migrate-$sub.1
            done
            installManPage clan-migrate.1 clan-migrate-*.1
          '';

          meta = {
            inherit (cargoToml.package) description;
            homepage = cargoToml.package.repository;
            license = lib.licenses.mit;
            mainProgram = "clan-migrate";
          };
        };
    in
    {
      packages = forAllSystems (pkgs: rec {
        clan-migrate = package pkgs;
        default = clan-migrate;
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.default;
          meta.description = cargoToml.package.description;
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.cargo
            pkgs.rustc
            pkgs.clippy
            pkgs.rustfmt
            pkgs.nix
            pkgs.git
            pkgs.pkg-config
            pkgs.zlib
          ];
        };
      });

      checks = forAllSystems (pkgs: {
        # The build runs the whole test suite.
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        fmt = pkgs.runCommand "clan-migrate-fmt" { nativeBuildInputs = [ pkgs.rustfmt ]; } ''
          cd ${src}
          rustfmt --check --edition 2024 src/main.rs src/lib.rs tests/*.rs benches/*.rs
          touch $out
        '';
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt);
    };
}
