{
  description = "Build farm, a laptop's home and a mac, in one flake";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    home-manager.url = "github:nix-community/home-manager/release-24.11";
    darwin.url = "github:LnL7/nix-darwin";
    darwin.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = { self, nixpkgs, home-manager, darwin, ... }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      # Shared by every builder.
      shared = [ ./modules/builder.nix ];
    in
    {
      # A tool the builders run; `nix build .#queue-runner`.
      packages.${system}.queue-runner = pkgs.writeShellScriptBin "queue-runner" ''
        exec ${pkgs.nix}/bin/nix build "$@"
      '';

      devShells.${system}.default = pkgs.mkShell {
        packages = [ pkgs.nixfmt-rfc-style ];
      };

      formatter.${system} = pkgs.nixfmt-rfc-style;

      nixosConfigurations = nixpkgs.lib.genAttrs [ "build1" "build2" ] (name:
        nixpkgs.lib.nixosSystem {
          inherit system;
          modules = shared ++ [ ./builders/${name}.nix ];
        });

      /* The laptop is not NixOS: only its home. */
      homeConfigurations."carla@laptop" = home-manager.lib.homeManagerConfiguration {
        inherit pkgs;
        modules = [ ./home/carla.nix ];
      };

      darwinConfigurations.studio = darwin.lib.darwinSystem {
        system = "aarch64-darwin";
        modules = [ { users.users.carla.home = "/Users/carla"; } ];
      };
    };
}
