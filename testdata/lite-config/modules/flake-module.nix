# The flake's nixosModules: every .nix file and directory of ./exported,
# by name, so hosts can import `inputs.self.nixosModules.<name>`.
{ lib, ... }:
let
  modulesIn =
    dir:
    lib.mapAttrs' (name: _: {
      name = lib.removeSuffix ".nix" name;
      value = dir + "/${name}";
    }) (lib.filterAttrs (name: type: type == "directory" || lib.hasSuffix ".nix" name) (builtins.readDir dir));
in
{
  flake.nixosModules = modulesIn ./exported;
}
