{
  description = "A Clan flake whose clan call lives in clan/default.nix";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";
    clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
    clan-core.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = inputs@{ self, nixpkgs, ... }:
    let
      clan = import ./clan self;
    in
    {
      inherit (clan.config) nixosConfigurations clanInternals;
      clan = clan.config;
    };
}
