{
  description = "Every directory of hosts/ is a host module, imported by a helper";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { nixpkgs, ... }:
    let
      inherit (nixpkgs) lib;
      importConfig =
        path:
        (lib.mapAttrs (name: _value: import (path + "/${name}/default.nix")) (
          lib.filterAttrs (_: v: v == "directory") (builtins.readDir path)
        ));
    in
    {
      nixosConfigurations = builtins.mapAttrs (
        _name: value:
        nixpkgs.lib.nixosSystem {
          system = "x86_64-linux";
          modules = [
            value
            ./modules/common.nix
          ];
        }
      ) (importConfig ./hosts);
    };
}
