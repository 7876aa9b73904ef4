{
  description = "Workstations from mkNixOS, boxes from lib/box.nix";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = inputs@{ self, nixpkgs, ... }:
    let
      inherit (nixpkgs) lib;

      # Every workstation gets the common module and the base module.
      mkNixOS = name: lib.nixosSystem {
        system = "x86_64-linux";
        specialArgs = { inherit inputs; };
        modules = [
          ./common/default.nix
          ./${name}/configuration.nix
          self.nixosModules.base
        ];
      };

      nixosBox = import ./lib/box.nix { inherit inputs lib; };
    in
    {
      nixosModules.base = ./modules/base.nix;

      nixosConfigurations = {
        alpha = mkNixOS "alpha";
        beta = mkNixOS "beta";
        box1 = nixosBox { modules = [ ./boxes/box1 ]; };
        box2 = nixosBox {
          system = "aarch64-linux";
          modules = [ ./boxes/box2 { services.fwupd.enable = true; } ];
        };
      };
    };
}
