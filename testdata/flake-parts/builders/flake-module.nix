# The builders: same hardware, one module each.
{ inputs, config, ... }:

let
  inherit (inputs.nixpkgs) lib;
in
{
  flake = {
    nixosConfigurations = {
      builder1 = lib.nixosSystem {
        system = "aarch64-linux";
        modules = [
          ../hosts/builder1
          config.flake.nixosModules.base
        ];
      };
      builder2 = lib.nixosSystem {
        system = "aarch64-linux";
        modules = [
          ../hosts/builder2
          config.flake.nixosModules.base
        ];
      };
    };
  };
}
