{
  inputs = {
    clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
    nixpkgs.follows = "clan-core/nixpkgs";
    home-manager.url = "github:nix-community/home-manager";
    home-manager.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs =
    { self, clan-core, ... }:
    let
      # Usage see: https://docs.clan.lol
      clan = clan-core.lib.clan {
        self = self;
        imports = [ ./clan.nix ];
      };
    in
    {
      # Test with: nix eval .#nixosConfigurations --apply builtins.attrNames
      inherit (clan.config) nixosConfigurations nixosModules clanInternals;
      clan = clan.config;
    };
}
