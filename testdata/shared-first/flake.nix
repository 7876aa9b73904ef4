{
  description = "Three servers; every one starts from the same two modules";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs, ... }:
    let
      common = [
        ./modules/base.nix
        ./modules/monitoring.nix
      ];
    in
    {
      nixosConfigurations = {
        db = nixpkgs.lib.nixosSystem {
          system = "x86_64-linux";
          modules = common ++ [ ./machines/db/configuration.nix ];
        };
        # the web front; its directory kept its old name
        web = nixpkgs.lib.nixosSystem {
          system = "x86_64-linux";
          modules = common ++ [ ./machines/frontend/configuration.nix ];
        };
        cache = nixpkgs.lib.nixosSystem {
          system = "x86_64-linux";
          modules = common ++ [ ./machines/cache/configuration.nix ];
        };
      };
    };
}
