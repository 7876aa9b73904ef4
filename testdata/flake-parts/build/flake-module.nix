# The web front of the build farm.
{ inputs, lib, ... }:

{
  imports = [ ./nixos-modules.nix ];

  flake.nixosConfigurations.web = lib.nixosSystem {
    system = "x86_64-linux";
    specialArgs = { inherit inputs; };
    modules = [
      ../hosts/web/configuration.nix
      inputs.self.nixosModules.base
    ];
  };
}
