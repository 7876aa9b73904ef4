{
  description = "Home lab, deployed with colmena; the hive lives in hive.nix";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    colmena.url = "github:zhaofengli/colmena";
  };

  outputs = inputs@{ self, nixpkgs, colmena, ... }: {
    colmena = import ./hive.nix inputs;
    colmenaHive = colmena.lib.makeHive (import ./hive.nix inputs);
  };
}
