{
  description = "Hosts made from the flake's own nixosModules, with flake-parts' evalFlakeModule";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-parts.url = "github:hercules-ci/flake-parts";
    srvos.url = "github:nix-community/srvos";
  };

  outputs =
    { flake-parts, ... }@inputs:
    (flake-parts.lib.evalFlakeModule { inherit inputs; } (
      { self, inputs, ... }:
      {
        systems = [ "x86_64-linux" ];
        imports = [ ./configurations.nix ];
      }
    )).config.flake;
}
