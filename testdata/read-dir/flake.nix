{
  description = "Every directory under hosts/ and machines/ is a machine";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs, ... }:
    let
      inherit (nixpkgs) lib;

      mkHost = name: lib.nixosSystem {
        system = "x86_64-linux";
        modules = [
          ./hosts/${name}
          ./modules/common.nix
        ];
      };

      # The old layout, moved over one machine at a time.
      machineNames = builtins.attrNames (builtins.readDir ./machines);
      mkMachine = name: lib.nixosSystem {
        system = "x86_64-linux";
        modules = [ (./machines + "/${name}/configuration.nix") ];
      };
    in
    {
      nixosConfigurations =
        builtins.mapAttrs (name: _: mkHost name)
          (lib.filterAttrs (_: type: type == "directory") (builtins.readDir ./hosts))
        // lib.genAttrs machineNames mkMachine;
    };
}
